"""DeployRole: trust policy (principals, external id, session tag), permissions and refused inputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from platform_infra.cli.mocks import (
    MockRun,
    RegisteredResource,
    is_secret_value,
    run_with_mocks,
    unwrap_secrets,
)
from platform_infra.deploy_role import ADMINISTRATOR_TAG, DeployRole, DeployRoleArgs, SessionTag
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers

PIPELINE = "arn:aws:iam::444444444444:role/platform-pipeline"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def _args(**overrides: Any) -> DeployRoleArgs:
    values: dict[str, Any] = {
        "role_name": "platform-deploy",
        "account_id": "333333333333",
        "trusted_principal_arns": [PIPELINE],
        "trusted_account_id": "444444444444",
    }
    values.update(overrides)
    return DeployRoleArgs(**values)


def _run(**overrides: Any) -> MockRun:
    def program() -> None:
        providers = make_providers(make_environment("prod"))
        DeployRole("deploy-prod", _args(**overrides), opts=providers.resource_options())

    return run_with_mocks(program, stack="shared")


def _policy(resource: RegisteredResource, key: str) -> dict[str, Any]:
    return json.loads(unwrap_secrets(resource.inputs[key]))


@pytest.fixture(scope="module")
def hardened() -> MockRun:
    """A role with an external id, a session tag, a boundary and a longer session."""
    import pulumi

    return _run(
        external_id=pulumi.Output.secret("ext-1234"),
        session_tag=SessionTag(key="platform-pipeline", value="example-org/platform-infra"),
        permissions_boundary_arn="arn:aws:iam::333333333333:policy/platform-boundary",
        max_session_duration_seconds=7200,
        allowed_actions=["logs:*", "cloudwatch:PutMetricAlarm"],
        policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    )


def test_trust_policy_admits_only_the_pipeline_role_without_conditions_by_default() -> None:
    run = _run()
    trust = _policy(run.one(ROLE), "assumeRolePolicy")
    assert trust["Statement"] == [
        {
            "Sid": "PipelineAssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": [PIPELINE]},
            "Action": "sts:AssumeRole",
        }
    ]
    # Least privilege by default: no managed policy, the inline policy only denies self-modification.
    assert run.of_type(ATTACHMENT) == []
    inline = _policy(run.one(ROLE_POLICY), "policy")
    assert [s["Effect"] for s in inline["Statement"]] == ["Deny"]
    assert inline["Statement"][0]["Resource"] == "arn:aws:iam::333333333333:role/platform-deploy"
    assert "iam:UpdateAssumeRolePolicy" in inline["Statement"][0]["Action"]


def test_external_id_is_required_and_the_trust_policy_stays_secret(hardened: MockRun) -> None:
    role = hardened.one(ROLE)
    assert is_secret_value(role.inputs["assumeRolePolicy"])
    statement = _policy(role, "assumeRolePolicy")["Statement"][0]
    assert statement["Principal"] == {"AWS": [PIPELINE]}
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == "ext-1234"


def test_session_tag_is_required_and_tag_session_allowed(hardened: MockRun) -> None:
    statement = _policy(hardened.one(ROLE), "assumeRolePolicy")["Statement"][0]
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert (
        statement["Condition"]["StringEquals"]["aws:RequestTag/platform-pipeline"]
        == "example-org/platform-infra"
    )
    assert statement["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["platform-pipeline"]}


def test_boundary_session_length_and_policies(hardened: MockRun) -> None:
    role = hardened.one(ROLE)
    assert role.inputs["permissionsBoundary"] == "arn:aws:iam::333333333333:policy/platform-boundary"
    assert role.inputs["maxSessionDuration"] == 7200
    assert ADMINISTRATOR_TAG not in (role.inputs.get("tags") or {})
    inline = _policy(hardened.one(ROLE_POLICY), "policy")
    assert inline["Statement"][0] == {
        "Sid": "Deploy",
        "Effect": "Allow",
        "Action": ["cloudwatch:PutMetricAlarm", "logs:*"],
        "Resource": "*",
    }
    assert [a.inputs["policyArn"] for a in hardened.of_type(ATTACHMENT)] == [
        "arn:aws:iam::aws:policy/ReadOnlyAccess"
    ]
    # Every child of the component runs on the target account's explicit provider.
    for resource in hardened.resources:
        if resource.custom and not resource.is_provider:
            assert resource.provider_urn.endswith("::prod-aws"), resource.name


def test_administrator_access_only_when_asked_and_then_tagged() -> None:
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    with pytest.raises(
        ValidationError, match=r"DeployRole\(deploy-prod\)\.policy_arns\[0\].*AdministratorAccess"
    ):
        _run(policy_arns=[admin])
    run = _run(administrator_access=True)
    assert [a.inputs["policyArn"] for a in run.of_type(ATTACHMENT)] == [admin]
    assert run.one(ROLE).inputs["tags"][ADMINISTRATOR_TAG] == "true"
    component = run.one("platform:iam:DeployRole")
    assert component.outputs["administratorAccess"] is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"trusted_principal_arns": ["*"]}, r"trusted_principal_arns\[0\]: must not be a wildcard"),
        ({"trusted_principal_arns": [PIPELINE, "arn:aws:iam::*:root"]}, r"trusted_principal_arns\[1\]"),
        ({"trusted_principal_arns": ["arn:aws:iam::444444444444:root"]}, r"bare account root"),
        ({"trusted_principal_arns": ["arn:aws:iam::555555555555:role/x"]}, r"not a principal of the shared"),
        ({"trusted_principal_arns": []}, r"trusted_principal_arns: must list"),
        ({"allowed_actions": ["*:*"]}, r"allowed_actions\[0\]: grants every action"),
        ({"max_session_duration_seconds": 900}, r"max_session_duration_seconds: is out of range"),
        ({"session_tag": SessionTag(key="aws:foo", value="x")}, r"session_tag\.key"),
    ],
)
def test_refused_arguments_name_the_argument(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _run(**overrides)


def test_account_root_needs_the_explicit_flag() -> None:
    root = "arn:aws:iam::444444444444:root"
    run = _run(trusted_principal_arns=[root], allow_account_root=True)
    assert _policy(run.one(ROLE), "assumeRolePolicy")["Statement"][0]["Principal"] == {"AWS": [root]}


#: The IAM action creating each AWS resource type the environment stacks declare.
_CREATE_ACTIONS = {
    "aws:cloudwatch/logGroup:LogGroup": ["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["cloudwatch:PutMetricAlarm"],
    "aws:cloudwatch/eventRule:EventRule": ["events:PutRule"],
    "aws:cloudwatch/eventTarget:EventTarget": ["events:PutTargets"],
    "aws:sns/topic:Topic": ["sns:CreateTopic"],
    "aws:sns/topicPolicy:TopicPolicy": ["sns:SetTopicAttributes"],
    "aws:sns/topicSubscription:TopicSubscription": ["sns:Subscribe"],
    "aws:kms/key:Key": ["kms:CreateKey", "kms:EnableKeyRotation", "kms:TagResource"],
    "aws:kms/alias:Alias": ["kms:CreateAlias"],
    "aws:iam/role:Role": ["iam:CreateRole", "iam:TagRole"],
    "aws:iam/rolePolicy:RolePolicy": ["iam:PutRolePolicy"],
    "aws:lambda/function:Function": ["lambda:CreateFunction", "iam:PassRole"],
    "aws:lambda/permission:Permission": ["lambda:AddPermission"],
}


def _allowed(policy: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    """A small IAM evaluator for the shapes the deploy policy uses: Allow/Deny, wildcards, StringEquals."""
    from fnmatch import fnmatchcase

    def matches(statement: dict) -> bool:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if not any(fnmatchcase(action, a) for a in actions) or not any(
            fnmatchcase(resource, r) for r in resources
        ):
            return False
        for key, wanted in statement.get("Condition", {}).get("StringEquals", {}).items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if context.get(key) not in values:
                return False
        return True

    statements = policy["Statement"]
    return any(s["Effect"] == "Allow" and matches(s) for s in statements) and not any(
        s["Effect"] == "Deny" and matches(s) for s in statements
    )


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_default_deploy_role_can_deploy_what_the_environment_stacks_declare(
    shipped_runs, stack: str
) -> None:
    """Evaluated against the real resource ARNs: the enforcer's role under /platform/ with the boundary,
    passed to Lambda, and its function named <environment>-...; everything else on the default actions."""
    from platform_infra.config.bootstrap import DEFAULT_DEPLOY_ACTIONS
    from platform_infra.deploy_role import managed_roles_statements, permissions_policy

    _, run = shipped_runs(stack)
    account = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}[stack]
    policy = permissions_policy(
        f"arn:aws:iam::{account}:role/platform-deploy",
        DEFAULT_DEPLOY_ACTIONS,
        managed_roles_statements("aws", account, f"{stack}-"),
        f"arn:aws:iam::{account}:policy/platform/platform-deploy-boundary",
    )
    types = {r.type for r in run.resources if r.custom and r.type.startswith("aws:")}
    assert types <= set(_CREATE_ACTIONS), types - set(_CREATE_ACTIONS)
    missing = []
    for resource in run.resources:
        if not resource.custom or resource.type not in _CREATE_ACTIONS:
            continue
        inputs = resource.plain_inputs
        context: dict[str, str] = {}
        arn = "*"
        if resource.type == "aws:iam/role:Role":
            arn = f"arn:aws:iam::{account}:role{inputs.get('path', '/')}{resource.name}"
            context["iam:PermissionsBoundary"] = str(inputs.get("permissionsBoundary"))
        elif resource.type == "aws:iam/rolePolicy:RolePolicy":
            [role] = [r for r in run.of_type("aws:iam/role:Role") if r.parent == resource.parent]
            arn = f"arn:aws:iam::{account}:role{role.plain_inputs.get('path', '/')}{role.name}"
            context["iam:PermissionsBoundary"] = str(role.plain_inputs.get("permissionsBoundary"))
        elif resource.type in ("aws:lambda/function:Function", "aws:lambda/permission:Permission"):
            name = inputs.get("name") or inputs.get("function")
            arn = f"arn:aws:lambda:eu-west-1:{account}:function:{name}"
        for action in _CREATE_ACTIONS[resource.type]:
            target, extra = arn, context
            if action == "iam:PassRole":
                [role] = [r for r in run.of_type("aws:iam/role:Role") if r.parent == resource.parent]
                target = f"arn:aws:iam::{account}:role{role.plain_inputs.get('path', '/')}{role.name}"
                extra = {"iam:PassedToService": "lambda.amazonaws.com"}
            if not _allowed(policy, action, target, extra):
                missing.append((resource.type, action, target))
    assert not missing, f"the default deploy role could not deploy {stack}: {missing}"


def test_a_role_outside_the_path_or_without_the_boundary_cannot_be_created() -> None:
    from platform_infra.deploy_role import managed_roles_statements, permissions_policy

    policy = permissions_policy(
        "arn:aws:iam::111111111111:role/platform-deploy",
        (),
        managed_roles_statements("aws", "111111111111", "dev-"),
    )
    boundary = {
        "iam:PermissionsBoundary": "arn:aws:iam::111111111111:policy/platform/platform-deploy-boundary"
    }
    inside = "arn:aws:iam::111111111111:role/platform/x"
    assert _allowed(policy, "iam:CreateRole", inside, boundary)
    assert not _allowed(policy, "iam:CreateRole", inside, {})
    assert not _allowed(policy, "iam:CreateRole", "arn:aws:iam::111111111111:role/admin", boundary)
    assert not _allowed(policy, "iam:PassRole", inside, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not _allowed(
        policy, "lambda:UpdateFunctionCode", "arn:aws:lambda:eu-west-1:111111111111:function:x", {}
    )


@pytest.mark.parametrize("action", ["iam:PassRole", "sts:AssumeRole", "*", ["logs:CreateLogGroup", "iam:*"]])
def test_extra_statements_never_carry_iam_sts_or_every_action(action: object) -> None:
    """Extra statements scope a role resource by resource (the review role's log groups); IAM, STS or ``*``
    through them would reopen the escalation paths the boundary and path rules close."""
    args = DeployRoleArgs(
        role_name="platform-review-deploy",
        account_id="111111111111",
        trusted_principal_arns=["arn:aws:iam::444444444444:role/platform-review"],
        extra_statements=[{"Effect": "Allow", "Action": action, "Resource": "*"}],
    )
    with pytest.raises(ValidationError, match=r"DeployRole\(review\)\.extra_statements\[0\]: grants IAM"):
        DeployRole("review", args)
