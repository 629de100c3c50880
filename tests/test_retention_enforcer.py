"""components/retention_enforcer.py under mocks: schedule, least-privilege role, own log group first."""

from __future__ import annotations

import ast
import json
from typing import Any

import pulumi
import pytest
from platform_infra.cli.mocks import MockRun, run_with_mocks
from platform_infra.environment import Tier
from platform_infra.retention_enforcer import (
    HANDLER_SOURCE,
    RetentionEnforcer,
    RetentionEnforcerArgs,
    require_schedule,
)
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers

ACCOUNT = "333333333333"


def _program(**overrides: Any):
    def program() -> None:
        env = make_environment(Tier.PROD)
        values: dict[str, Any] = {
            "environment": env,
            "retention_days": 365,
            "max_retention_days": 2557,
            "exclude_names": ["/audit/trail"],
            "exclude_prefixes": ["/aws/vendedlogs/"],
            "log_retention_days": 90,
        }
        values.update(overrides)
        RetentionEnforcer(
            "enforcer", RetentionEnforcerArgs(**values), opts=make_providers(env).resource_options()
        )

    return program


@pytest.fixture(scope="module")
def run() -> MockRun:
    return run_with_mocks(_program(), stack="prod")


def test_function_runs_the_packaged_module_with_its_policy(run: MockRun) -> None:
    function = run.one("aws:lambda/function:Function")
    inputs = function.plain_inputs
    assert inputs["name"] == "prod-enforcer"
    assert inputs["handler"] == "retention_enforcer.handler"
    assert inputs["runtime"].startswith("python3.")
    archive = inputs["code"]
    assert isinstance(archive, pulumi.AssetArchive)
    asset = archive.assets["retention_enforcer.py"]
    assert isinstance(asset, pulumi.FileAsset) and asset.path == str(HANDLER_SOURCE)
    assert inputs["environment"]["variables"] == {
        "RETENTION_DAYS": "365",
        "MAX_RETENTION_DAYS": "2557",
        "EXCLUDE_NAMES": '["/audit/trail"]',
        "EXCLUDE_PREFIXES": '["/aws/vendedlogs/"]',
    }
    assert inputs["role"] == run.one("aws:iam/role:Role").outputs["arn"]


def test_own_log_group_is_declared_first_with_retention(run: MockRun) -> None:
    group = run.one("aws:cloudwatch/logGroup:LogGroup")
    function = run.one("aws:lambda/function:Function")
    assert group.plain_inputs["name"] == "/aws/lambda/prod-enforcer"
    assert group.plain_inputs["retentionInDays"] == 90
    assert function.plain_inputs["loggingConfig"]["logGroup"] == "/aws/lambda/prod-enforcer"
    assert group.urn in function.depends_on
    assert run.one("aws:iam/rolePolicy:RolePolicy").urn in function.depends_on
    assert group.retain_on_delete  # prod


def test_role_is_least_privilege(run: MockRun) -> None:
    role = run.one("aws:iam/role:Role")
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy").plain_inputs["policy"])
    by_action = {json.dumps(s["Action"]): s["Resource"] for s in policy["Statement"]}
    assert by_action == {
        '"logs:DescribeLogGroups"': "*",
        '"logs:PutRetentionPolicy"': f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:*",
        '["logs:CreateLogStream", "logs:PutLogEvents"]': [
            f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/prod-enforcer",
            f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/prod-enforcer:*",
        ],
    }
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])


def test_daily_schedule_invokes_the_function(run: MockRun) -> None:
    rule = run.one("aws:cloudwatch/eventRule:EventRule")
    target = run.one("aws:cloudwatch/eventTarget:EventTarget")
    permission = run.one("aws:lambda/permission:Permission")
    function = run.one("aws:lambda/function:Function")
    assert rule.plain_inputs["scheduleExpression"] == "rate(1 day)"
    assert target.plain_inputs["arn"] == function.outputs["arn"]
    assert target.plain_inputs["rule"] == rule.outputs["name"]
    assert permission.plain_inputs["principal"] == "events.amazonaws.com"
    assert permission.plain_inputs["sourceArn"] == rule.outputs["arn"]
    assert permission.plain_inputs["function"] == function.outputs["name"]
    component = run.one("platform:logs:RetentionEnforcer")
    assert component.outputs["schedule"] == "rate(1 day)"
    assert {r.parent for r in (rule, target, permission, function)} == {component.urn}


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"retention_days": 42}, "RetentionEnforcer(enforcer).retention_days"),
        ({"max_retention_days": 30}, "RetentionEnforcer(enforcer).max_retention_days"),
        ({"log_retention_days": 42}, "RetentionEnforcer(enforcer).log_retention_days"),
        ({"schedule": "every day"}, "RetentionEnforcer(enforcer).schedule"),
        ({"exclude_prefixes": [""]}, "RetentionEnforcer(enforcer).exclude_prefixes[0]"),
        ({"timeout_seconds": 1000}, "RetentionEnforcer(enforcer).timeout_seconds"),
    ],
)
def test_invalid_arguments_are_refused(pulumi_run, overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        pulumi_run(_program(**overrides), stack="prod")
    assert caught.value.key == key


@pytest.mark.parametrize(
    "schedule", ["rate(1 day)", "rate(12 hours)", "rate(30 minutes)", "cron(0 3 * * ? *)"]
)
def test_schedules_eventbridge_accepts(schedule: str) -> None:
    assert require_schedule("k", schedule) == schedule


@pytest.mark.parametrize(
    "schedule", ["rate(1 days)", "rate(2 day)", "rate(0 days)", "cron(0 3 * *)", "daily"]
)
def test_schedules_eventbridge_refuses(schedule: str) -> None:
    with pytest.raises(ValidationError):
        require_schedule("k", schedule)


def test_packaged_module_needs_nothing_but_the_lambda_runtime() -> None:
    """The archive holds one file: it may import the standard library and boto3/botocore only."""
    tree = ast.parse(HANDLER_SOURCE.read_text())
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "json", "logging", "os", "random", "time", "collections", "dataclasses",
                        "typing", "boto3", "botocore"}  # fmt: skip
