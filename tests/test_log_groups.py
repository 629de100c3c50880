"""components/log_groups.py: declared log groups always carry a retention CloudWatch accepts."""

from __future__ import annotations

from typing import Any

import pytest
from platform_infra.environment import Tier
from platform_infra.log_groups import (
    ALLOWED_RETENTION_DAYS,
    LogGroups,
    LogGroupsArgs,
    LogGroupSpec,
    declare_lambda_log_group,
    require_retention_days,
)
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY_ARN = "arn:aws:kms:eu-west-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _program(tier: Tier, **overrides: Any):
    def program() -> None:
        env = make_environment(tier)
        providers = make_providers(env)
        values: dict[str, Any] = {
            "environment": env,
            "groups": [LogGroupSpec("/svc/api"), LogGroupSpec("/svc/audit", retention_days=2557)],
            "retention_days": 14,
        }
        values.update(overrides)
        LogGroups("svc", LogGroupsArgs(**values), opts=providers.resource_options())
        declare_lambda_log_group(
            "fn-logs",
            function_name="prod-worker",
            retention_days=30,
            environment=env,
            opts=providers.resource_options(),
        )

    return program


def test_groups_get_their_retention_and_prod_retains_them(pulumi_run) -> None:
    run = pulumi_run(_program(Tier.PROD, kms_key_arn=KEY_ARN), stack="prod")
    groups = {r.plain_inputs["name"]: r for r in run.of_type(LOG_GROUP)}
    assert groups["/svc/api"].plain_inputs["retentionInDays"] == 14
    assert groups["/svc/audit"].plain_inputs["retentionInDays"] == 2557
    assert groups["/svc/api"].plain_inputs["kmsKeyId"] == KEY_ARN
    assert groups["/aws/lambda/prod-worker"].plain_inputs["retentionInDays"] == 30
    assert all(g.retain_on_delete for g in groups.values())
    assert all(g.plain_inputs["retentionInDays"] in ALLOWED_RETENTION_DAYS for g in groups.values())
    component = run.one("platform:logs:LogGroups", "svc")
    assert groups["/svc/api"].parent == component.urn
    assert groups["/svc/api"].provider  # an explicit provider, never the deployer's credentials


def test_dev_groups_are_deleted_with_the_stack(pulumi_run) -> None:
    run = pulumi_run(_program(Tier.DEV), stack="dev")
    groups = run.of_type(LOG_GROUP)
    assert len(groups) == 3
    assert not any(g.retain_on_delete for g in groups)
    assert all("kmsKeyId" not in g.plain_inputs for g in groups)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"retention_days": 42}, "LogGroups(svc).retention_days"),
        ({"groups": [LogGroupSpec("/svc/a", retention_days=42)]}, "LogGroups(svc).groups[0].retention_days"),
        ({"groups": [LogGroupSpec("bad name!")]}, "LogGroups(svc).groups[0].name"),
        ({"groups": [LogGroupSpec("/a"), LogGroupSpec("/a")]}, "LogGroups(svc).groups[1].name"),
        ({"kms_key_arn": "alias/logs"}, "LogGroups(svc).kms_key_arn"),
    ],
)
def test_invalid_arguments_are_refused_before_any_resource(pulumi_run, overrides, key) -> None:
    with pytest.raises(ValidationError) as caught:
        pulumi_run(_program(Tier.DEV, **overrides), stack="dev")
    assert caught.value.key == key
    assert "stack 'dev'" in str(caught.value)


def test_retention_42_names_the_key_and_lists_the_allowed_values() -> None:
    with pytest.raises(ValidationError) as caught:
        require_retention_days("platform:logs.retentionDays", 42, stack="prod")
    message = str(caught.value)
    assert "platform:logs.retentionDays" in message and "42" in message
    assert "1, 3, 5, 7, 14, 30" in message and "3653" in message


@pytest.mark.parametrize("value", [0, 2, 366, 730, 4000, True, "30", 30.5])
def test_values_cloudwatch_refuses_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        require_retention_days("k", value)


def test_every_allowed_value_is_accepted() -> None:
    assert [require_retention_days("k", v) for v in ALLOWED_RETENTION_DAYS] == list(ALLOWED_RETENTION_DAYS)
    assert len(ALLOWED_RETENTION_DAYS) == 22


def _with_key(key_alias: str | None):
    """A program whose log groups take their KMS key ARN from a key resource (an Output, not a string)."""

    def program() -> None:
        import pulumi
        import pulumi_aws as aws

        env = make_environment(Tier.PROD)
        providers = make_providers(env)
        key = aws.kms.Key("logs-key", opts=providers.resource_options())
        arn = key.arn if key_alias is None else pulumi.Output.from_input(key_alias)
        LogGroups(
            "svc",
            LogGroupsArgs(environment=env, groups=[LogGroupSpec("/svc/api")], kms_key_arn=arn),
            opts=providers.resource_options(),
        )

    return program


def test_kms_key_arn_may_come_from_another_resource(pulumi_run) -> None:
    """An Output is accepted and, once known, reaches the log group unchanged (validated when known)."""
    run = pulumi_run(_with_key(None))
    key_arn = run.one("aws:kms/key:Key").outputs["arn"]
    assert key_arn.startswith("arn:aws:kms:")
    assert run.one(LOG_GROUP).inputs["kmsKeyId"] == key_arn


def test_a_known_output_that_is_not_a_key_arn_is_refused_naming_the_argument(pulumi_run) -> None:
    with pytest.raises(Exception, match=r"LogGroups\(svc\).kms_key_arn: is not a KMS key ARN"):
        pulumi_run(_with_key("alias/not-an-arn"))


def test_a_created_customer_managed_key_encrypts_every_group(pulumi_run) -> None:
    """CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS": the key policy lets
    logs.<region>.amazonaws.com use the key with an encryption context naming this account's log groups."""
    import json as _json

    from platform_infra.log_groups import LogGroups, LogGroupsArgs, LogGroupSpec

    from tests.conftest import make_environment, make_providers

    def program() -> None:
        env = make_environment("prod")
        LogGroups(
            "svc",
            LogGroupsArgs(
                environment=env, groups=[LogGroupSpec("/platform/prod/audit")], create_kms_key=True
            ),
            opts=make_providers(env).resource_options(),
        )

    run = pulumi_run(program, stack="prod")
    key = run.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect
    statement = _json.loads(key.inputs["policy"])["Statement"][1]
    assert statement["Principal"]["Service"].startswith("logs.")
    assert statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].endswith(":log-group:*")
    group = run.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
