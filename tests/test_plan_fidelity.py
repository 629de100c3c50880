"""Plan fidelity: secrets masked at the leaf, ARNs and ids in each service's real format, Azure autonaming.

Formats, as the services document them:
- IAM is global, so its ARNs have no region: ``arn:aws:iam::<account>:role/<path><name>`` and, for an
  OIDC identity provider, ``arn:aws:iam::<account>:oidc-provider/<issuer host and path>`` (AWS IAM User
  Guide, "IAM identifiers" / IAM ARNs).
- S3 bucket ARNs have neither region nor account (``arn:aws:s3:::<bucket>``); CloudWatch Logs
  ``...:log-group:<name>``; alarms ``...:alarm:<name>``; EventBridge rules ``...:rule/<name>``; Lambda
  ``...:function:<name>``; KMS ``...:key/<key id>`` and ``...:alias/<name>``; SNS ``...:<topic>``.
- The AWS bridge autonames ``<logical name>-<7 hex>``; azure-native ``<logical name><8 hex>`` for most
  types and a UUID for role assignments (pulumi-azure-native provider.go, ``getDefaultName``).
"""

from __future__ import annotations

import json
import re

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pytest
from platform_infra.cli.mocks import FAKE_ACCOUNT, redact_secrets
from platform_infra.cli.plan import SECRET_PLACEHOLDER, build_plan, run_stack
from pulumi.runtime import rpc

from tests.conftest import ShippedRuns, make_environment, make_providers

SECRET = {rpc._special_sig_key: rpc._special_secret_sig}


@pytest.fixture(scope="module")
def shared_plan(shipped_runs: ShippedRuns) -> dict:
    return build_plan(*shipped_runs("shared"))


def _resource(plan: dict, type_token: str, name: str) -> dict:
    return next(r for r in plan["resources"] if r["type"] == type_token and r["name"] == name)


def test_trust_policy_shows_its_structure_with_only_the_external_id_masked(shared_plan: dict) -> None:
    role = _resource(shared_plan, "aws:iam/role:Role", "deploy-prod")
    policy = json.loads(role["inputs"]["assumeRolePolicy"])
    (statement,) = policy["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"]["AWS"] == ["arn:aws:iam::444444444444:role/platform-pipeline-prod"]
    assert statement["Condition"]["StringEquals"] == {"sts:ExternalId": "[secret]"}
    assert SECRET_PLACEHOLDER not in json.dumps(shared_plan)


def test_key_vault_secret_masks_the_value_and_shows_the_rest(shipped_runs: ShippedRuns) -> None:
    plan = build_plan(*shipped_runs("prod"))
    secret = _resource(plan, "azure-native:keyvault:Secret", "vault-database-admin-password")
    properties = secret["inputs"]["properties"]
    assert properties["value"] == "[secret]"
    assert properties["contentType"] == "text/plain" and properties["attributes"]["enabled"] is True


def test_a_secret_without_a_known_leaf_is_masked_whole() -> None:
    """A literal marked secret as a whole cannot be split: nothing of it is shown."""
    wrapped = {**SECRET, "value": {"user": "admin", "note": "public?"}}
    assert redact_secrets(wrapped, "[secret]", known={"unrelated"}) == "[secret]"
    # With a known secret inside, only that leaf goes; a JSON string stays a JSON string.
    document = {**SECRET, "value": json.dumps({"a": "x-s3cr3t-y", "b": [1, "open"]})}
    assert json.loads(redact_secrets(document, "[secret]", known={"s3cr3t"})) == {
        "a": "[secret]",
        "b": [1, "open"],
    }


def test_secret_outputs_of_the_mocks_are_masked_where_they_are_used() -> None:
    def program() -> None:
        providers = make_providers(make_environment("dev"))
        aws.ssm.Parameter(
            "token",
            aws.ssm.ParameterArgs(
                type="SecureString",
                value=pulumi.Output.secret("hunter2-value"),
                description="rotated monthly",
            ),
            opts=pulumi.ResourceOptions(provider=providers.aws),
        )
        pulumi.export("nested", {"plain": "shown", "hidden": pulumi.Output.secret("hunter2-output")})

    files, run = run_stack("dev", program=program)
    plan = build_plan(files, run)
    assert "hunter2" not in json.dumps(plan)
    parameter = next(r for r in plan["resources"] if r["type"] == "aws:ssm/parameter:Parameter")
    assert parameter["inputs"]["description"] == "rotated monthly"
    # The secret inside the export was never seen on its own: the whole export stays masked.
    assert plan["outputs"]["nested"] == "[secret]"


def test_oidc_provider_and_iam_arns_are_global(shared_plan: dict) -> None:
    role = _resource(shared_plan, "aws:iam/role:Role", "pipeline-prod")
    policy = json.loads(role["inputs"]["assumeRolePolicy"])
    federated = policy["Statement"][0]["Principal"]["Federated"]
    assert federated == "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com"


AWS_FORMATS = [
    (
        lambda p: aws.iam.Role("r", assume_role_policy="{}", name="deployer", path="/ci/", opts=p),
        "arn",
        r"arn:aws:iam::111111111111:role/ci/deployer",
    ),
    (
        lambda p: aws.iam.Role("auto-role", assume_role_policy="{}", opts=p),
        "arn",
        r"arn:aws:iam::111111111111:role/auto-role-[0-9a-f]{7}",
    ),
    (lambda p: aws.s3.Bucket("logs", opts=p), "arn", r"arn:aws:s3:::logs-[0-9a-f]{7}"),
    (
        lambda p: aws.cloudwatch.LogGroup("g", name="/platform/x", opts=p),
        "arn",
        r"arn:aws:logs:eu-west-1:111111111111:log-group:/platform/x",
    ),
    (
        lambda p: aws.cloudwatch.MetricAlarm(
            "a", name="high", comparison_operator="GreaterThanThreshold", evaluation_periods=1, opts=p
        ),
        "arn",
        r"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:high",
    ),
    (
        lambda p: aws.cloudwatch.EventRule("e", name="nightly", schedule_expression="rate(1 day)", opts=p),
        "arn",
        r"arn:aws:events:eu-west-1:111111111111:rule/nightly",
    ),
    (
        lambda p: aws.sns.Topic("t", name="alerts", opts=p),
        "arn",
        r"arn:aws:sns:eu-west-1:111111111111:alerts",
    ),
    (
        lambda p: aws.kms.Alias("k", name="alias/state", target_key_id="k", opts=p),
        "arn",
        r"arn:aws:kms:eu-west-1:111111111111:alias/state",
    ),
    (
        lambda p: aws.kms.Key("key", opts=p),
        "arn",
        r"arn:aws:kms:eu-west-1:111111111111:key/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    ),
]


@pytest.mark.parametrize(("declare", "output", "pattern"), AWS_FORMATS)
def test_aws_arns_have_each_services_format(pulumi_run, declare, output: str, pattern: str) -> None:
    def program() -> None:
        providers = make_providers(make_environment("dev"))
        declare(pulumi.ResourceOptions(provider=providers.aws))

    run = pulumi_run(program)
    (resource,) = [r for r in run.resources if r.custom and not r.is_provider]
    # The account and region are the ones the resource's provider targets, not a placeholder.
    assert FAKE_ACCOUNT not in resource.outputs[output]
    assert re.fullmatch(pattern, resource.outputs[output]), resource.outputs[output]


def test_azure_autonaming_and_ids(pulumi_run) -> None:
    def program() -> None:
        providers = make_providers(make_environment("dev"))
        opts = pulumi.ResourceOptions(provider=providers.azure)
        group = azure_native.resources.ResourceGroup("app-rg", opts=opts)
        azure_native.web.AppServicePlan("plan", resource_group_name=group.name, opts=opts)
        azure_native.authorization.RoleAssignment(
            "grant", principal_id="p", role_definition_id="/r", scope=group.id, opts=opts
        )

    run = pulumi_run(program)
    group = run.one("azure-native:resources:ResourceGroup")
    plan = run.one("azure-native:web:AppServicePlan")
    grant = run.one("azure-native:authorization:RoleAssignment")
    assert re.fullmatch(r"app-rg[0-9a-f]{8}", group.outputs["name"])
    assert re.fullmatch(r"plan[0-9a-f]{8}", plan.outputs["name"])
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", grant.outputs["name"]
    )
    subscription = make_environment("dev").azure.subscription_id
    assert plan.inputs["resourceGroupName"] == group.outputs["name"]
    assert grant.inputs["scope"] == f"/subscriptions/{subscription}/resourceGroups/{group.outputs['name']}"
