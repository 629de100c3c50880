"""Pipeline identity: GitHub OIDC trust (audience, subjects), the single permission, Azure federation."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from platform_infra.cli.mocks import MockRun, run_with_mocks
from platform_infra.pipeline_identity import (
    AzurePipelineIdentity,
    AzurePipelineIdentityArgs,
    AzureRoleGrant,
    GitHubSubjects,
    PipelineIdentity,
    PipelineIdentityArgs,
    constrained_assignment_condition,
)
from platform_infra.rbac import role_assignment_name
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers

DEPLOY_ROLES = [
    "arn:aws:iam::111111111111:role/platform-deploy",
    "arn:aws:iam::333333333333:role/platform-deploy",
]
GITHUB = GitHubSubjects(repository="example-org/platform-infra", branches=["main"], environments=["prod"])
SUB = "11111111-1111-4111-8111-111111111111"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def _aws_args(**overrides: Any) -> PipelineIdentityArgs:
    values: dict[str, Any] = {
        "account_id": "444444444444",
        "role_name": "platform-pipeline",
        "github": GITHUB,
        "deploy_role_arns": DEPLOY_ROLES,
    }
    values.update(overrides)
    return PipelineIdentityArgs(**values)


def _run_aws(**overrides: Any) -> MockRun:
    def program() -> None:
        providers = make_providers(make_environment("prod"))
        PipelineIdentity("pipeline", _aws_args(**overrides), opts=providers.resource_options())

    return run_with_mocks(program, stack="shared")


@pytest.fixture(scope="module")
def aws_run() -> MockRun:
    return _run_aws()


def test_oidc_provider_is_githubs_with_the_sts_audience(aws_run: MockRun) -> None:
    provider = aws_run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_trust_policy_checks_audience_and_exact_subjects(aws_run: MockRun) -> None:
    provider = aws_run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    trust = json.loads(aws_run.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert len(trust["Statement"]) == 1
    statement = trust["Statement"][0]
    assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": [
                "repo:example-org/platform-infra:ref:refs/heads/main",
                "repo:example-org/platform-infra:environment:prod",
            ],
        }
    }


def test_only_permission_is_assuming_the_deploy_roles(aws_run: MockRun) -> None:
    policies = aws_run.of_type("aws:iam/rolePolicy:RolePolicy")
    assert len(policies) == 1
    assert aws_run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    assert not aws_run.one("aws:iam/role:Role").inputs.get("managedPolicyArns")
    document = json.loads(policies[0].inputs["policy"])
    assert document["Statement"] == [
        {"Sid": "AssumeDeployRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": DEPLOY_ROLES}
    ]


def test_tag_session_is_added_only_when_asked() -> None:
    run = _run_aws(tag_session=True, oidc_provider_arn="arn:aws:iam::444444444444:oidc-provider/x")
    document = json.loads(run.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert document["Statement"][0]["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    # An existing OIDC provider is reused, not created a second time.
    assert run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    trust = json.loads(run.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Federated": "arn:aws:iam::444444444444:oidc-provider/x"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"github": GitHubSubjects(repository="example-org/platform-infra", branches=["*"])},
            r"branches\[0\]",
        ),
        ({"github": GitHubSubjects(repository="example-org/*")}, r"github\.repository"),
        ({"github": GitHubSubjects(repository="example-org/platform-infra")}, r"nothing would be trusted"),
        ({"deploy_role_arns": ["*"]}, r"deploy_role_arns\[0\]"),
        ({"deploy_role_arns": []}, r"deploy_role_arns: must list"),
    ],
)
def test_refused_arguments(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _run_aws(**overrides)


@pytest.fixture(scope="module")
def azure_run() -> MockRun:
    def program() -> None:
        env = make_environment("prod")
        providers = make_providers(env)
        AzurePipelineIdentity(
            "pipeline-azure",
            AzurePipelineIdentityArgs(
                identity_name="platform-pipeline",
                resource_group_name="platform-pipeline",
                location="westeurope",
                github=GITHUB,
                grants=[
                    AzureRoleGrant("prod-contributor", f"/subscriptions/{SUB}", CONTRIBUTOR, SUB),
                    AzureRoleGrant(
                        "prod-assign",
                        f"/subscriptions/{SUB}",
                        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
                        SUB,
                        condition=constrained_assignment_condition([SECRETS_USER]),
                    ),
                ],
            ),
            opts=providers.resource_options(),
        )

    return run_with_mocks(program, stack="shared")


def test_federated_credentials_one_per_subject(azure_run: MockRun) -> None:
    credentials = azure_run.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert [c.inputs["subject"] for c in credentials] == [
        "repo:example-org/platform-infra:ref:refs/heads/main",
        "repo:example-org/platform-infra:environment:prod",
    ]
    for credential in credentials:
        assert credential.inputs["issuer"] == "https://token.actions.githubusercontent.com"
        assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
        assert credential.inputs["resourceName"] == "platform-pipeline"
    # Azure refuses concurrent credential writes on one identity: the second waits for the first.
    assert credentials[0].urn in credentials[1].depends_on


def test_subjects_that_share_a_credential_name_are_refused(pulumi_run) -> None:
    def program() -> None:
        AzurePipelineIdentity(
            "pipeline-azure",
            AzurePipelineIdentityArgs(
                identity_name="platform-pipeline",
                resource_group_name="platform-pipeline",
                location="westeurope",
                github=GitHubSubjects(
                    repository="example-org/platform-infra", branches=["release/1.0", "release-1.0"]
                ),
            ),
        )

    with pytest.raises(ValidationError, match="same federated credential name") as caught:
        pulumi_run(program, stack="shared")
    assert caught.value.key == "AzurePipelineIdentity(pipeline-azure).github"


def test_role_assignments_are_deterministic_and_constrained(azure_run: MockRun) -> None:
    identity = azure_run.one("azure-native:managedidentity:UserAssignedIdentity")
    assignments = {a.name: a for a in azure_run.of_type("azure-native:authorization:RoleAssignment")}
    contributor = assignments["pipeline-azure-prod-contributor"]
    assert contributor.inputs["principalId"] == identity.outputs["principalId"]
    assert contributor.inputs["principalType"] == "ServicePrincipal"
    assert contributor.inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
    )
    name = contributor.inputs["roleAssignmentName"]
    assert uuid.UUID(name).version == 5
    assert name == role_assignment_name(f"/subscriptions/{SUB}", "platform-pipeline", CONTRIBUTOR)
    assert "condition" not in contributor.inputs
    # The name stays when the identity (and so the principal) is recreated: delete the old one first.
    assert all(a.delete_before_replace for a in assignments.values())
    constrained = assignments["pipeline-azure-prod-assign"]
    assert constrained.inputs["conditionVersion"] == "2.0"
    assert f"GuidEquals {{{SECRETS_USER}}}" in constrained.inputs["condition"]
    assert "roleAssignments/write" in constrained.inputs["condition"]
    assert "roleAssignments/delete" in constrained.inputs["condition"]


def test_shipped_pipeline_may_assign_every_role_the_environment_stacks_assign(shipped_runs) -> None:
    """The constrained grant's condition must allow each role a stack assigns, or `pulumi up` is refused."""
    _, shared = shipped_runs("shared")
    conditions = [
        a.inputs["condition"]
        for a in shared.of_type("azure-native:authorization:RoleAssignment")
        if "condition" in a.inputs
    ]
    assert conditions
    _, prod = shipped_runs("prod")
    assigned = {
        a.inputs["roleDefinitionId"].rsplit("/", 1)[1]
        for a in prod.of_type("azure-native:authorization:RoleAssignment")
    }
    # Secrets User and Officer (the vault), AcrPull (container apps' slots on the registry).
    officer, acr_pull = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "7f951dda-4ed3-4680-a7ca-43fe172d538d"
    assert assigned == {SECRETS_USER, officer, acr_pull}
    for condition in conditions:
        allowed = condition.split("GuidEquals {", 1)[1].split("}", 1)[0].split(", ")
        assert assigned <= set(allowed), condition


def test_the_trust_policy_admits_an_azure_devops_connection_by_its_issuer_audience_and_exact_subject() -> (
    None
):
    """IAM condition keys of an OIDC provider are its URL without the scheme, path included; Azure DevOps
    tokens carry audience api://AzureADTokenExchange and subject sc://<org>/<project>/<connection>."""
    from platform_infra.pipeline_identity import azure_devops_subject, pipeline_trust_policy

    subject = azure_devops_subject("55555555-5555-4555-8555-555555555555", "org", "proj", "conn")
    provider = (
        "arn:aws:iam::444444444444:oidc-provider/vstoken.dev.azure.com/55555555-5555-4555-8555-555555555555"
    )
    policy = pipeline_trust_policy("arn:github", ["repo:o/r:environment:dev"], [(provider, subject)])
    github, ado = policy["Statement"]
    assert github["Principal"] == {"Federated": "arn:github"}
    host = "vstoken.dev.azure.com/55555555-5555-4555-8555-555555555555"
    assert ado["Principal"] == {"Federated": provider}
    assert ado["Condition"] == {
        "StringEquals": {f"{host}:aud": "api://AzureADTokenExchange", f"{host}:sub": ["sc://org/proj/conn"]}
    }


def test_federated_subjects_without_their_oidc_provider_are_refused(pulumi_run) -> None:
    from platform_infra.pipeline_identity import azure_devops_subject

    subject = azure_devops_subject("55555555-5555-4555-8555-555555555555", "org", "proj", "conn")

    def program() -> None:
        PipelineIdentity(
            "p",
            PipelineIdentityArgs(
                account_id="444444444444",
                role_name="platform-pipeline-dev",
                github=GitHubSubjects(repository="o/r", environments=("dev",)),
                deploy_role_arns=["arn:aws:iam::111111111111:role/platform-deploy"],
                oidc_provider_arn="arn:github",
                federated=[subject],
            ),
        )

    with pytest.raises(ValidationError, match=r"federated_provider_arn: is required with federated subjects"):
        pulumi_run(program)
