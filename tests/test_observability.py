"""stacks/observability.py with the shipped stack files: what `infra plan <stack>` shows for issue 5."""

from __future__ import annotations

import json

import pytest
from platform_infra.cli.mocks import MockRun
from platform_infra.cli.plan import build_plan, run_stack
from platform_infra.log_groups import ALLOWED_RETENTION_DAYS
from platform_infra.validation import ValidationError


@pytest.fixture(scope="module")
def shipped(shipped_runs) -> dict[str, MockRun]:
    return {stack: shipped_runs(stack)[1] for stack in ("dev", "prod")}


def test_prod_declares_everything_the_issue_asks_for(shipped: dict[str, MockRun]) -> None:
    run = shipped["prod"]
    groups = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert groups and all(g.plain_inputs["retentionInDays"] in ALLOWED_RETENTION_DAYS for g in groups)
    assert all(g.retain_on_delete for g in groups)
    retention = {g.plain_inputs["name"]: g.plain_inputs["retentionInDays"] for g in groups}
    assert retention["/platform/prod/audit"] == 2557
    assert retention["/platform/prod/orders/api"] == 365

    function = run.one("aws:lambda/function:Function")
    assert function.plain_inputs["role"] == run.one("aws:iam/role:Role").outputs["arn"]
    assert run.one("aws:cloudwatch/eventRule:EventRule").plain_inputs["scheduleExpression"] == "rate(1 day)"

    topic = run.one("aws:sns/topic:Topic")
    assert topic.plain_inputs["kmsMasterKeyId"]
    alarms = run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(alarms) >= 7
    assert all(a.plain_inputs["alarmActions"] == [topic.outputs["arn"]] for a in alarms)
    assert all(a.plain_inputs["okActions"] == [topic.outputs["arn"]] for a in alarms)
    enforcer_alarm = next(a for a in alarms if a.plain_inputs["name"] == "prod-log-retention-enforcer-errors")
    assert enforcer_alarm.plain_inputs["dimensions"] == {"FunctionName": function.plain_inputs["name"]}

    workspace = run.one("azure-native:operationalinsights:Workspace")
    assert workspace.plain_inputs["retentionInDays"] == 365
    apps = {r.name for r in run.of_type("platform:app:BlueGreenAppService")}
    monitoring = run.one("platform:monitoring:AppMonitoring").urn
    diagnostics = [r for r in run.of_type("azure-native:monitor:DiagnosticSetting") if r.parent == monitoring]
    assert len(diagnostics) == 2 * len(apps)  # both slots of every app
    alerts = [r for r in run.of_type("azure-native:monitor:MetricAlert") if r.parent == monitoring]
    assert len(alerts) == 3 * len(apps)
    assert run.one("azure-native:monitor:ActionGroup").plain_inputs["emailReceivers"][0]["emailAddress"] == (
        "oncall@example.com"
    )
    # The apps' Application Insights store their data in the same workspace.
    insights = run.of_type("azure-native:applicationinsights:Component")
    assert insights
    component = run.one("platform:monitoring:LogAnalyticsWorkspace")
    assert all(
        i.plain_inputs.get("workspaceResourceId") == component.outputs["workspaceId"] for i in insights
    )


def test_dev_keeps_logs_briefly_and_does_not_notify_on_ok(shipped: dict[str, MockRun]) -> None:
    run = shipped["dev"]
    retention = {
        g.plain_inputs["name"]: g.plain_inputs["retentionInDays"]
        for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")
    }
    assert max(retention.values()) <= 14
    assert not any(g.retain_on_delete for g in run.of_type("aws:cloudwatch/logGroup:LogGroup"))
    variables = run.one("aws:lambda/function:Function").plain_inputs["environment"]["variables"]
    assert variables["RETENTION_DAYS"] == "14"
    assert all(
        "okActions" not in a.plain_inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    )


def test_plan_json_shows_the_lambda_code_archive(shipped_runs) -> None:
    files, run = shipped_runs("dev")
    plan = json.loads(json.dumps(build_plan(files, run)))
    function = next(r for r in plan["resources"] if r["type"] == "aws:lambda/function:Function")
    assert function["inputs"]["code"] == {
        "archive": {"retention_enforcer.py": {"file": "platform_infra/lambdas/retention_enforcer.py"}}
    }


def test_bad_stack_config_is_refused_naming_the_key() -> None:
    with pytest.raises(ValidationError, match=r"platform:logs\.retentionDays"):
        run_stack("prod", overrides={"platform:logs": {"retentionDays": 42}})
