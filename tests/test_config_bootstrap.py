"""``platform:bootstrap``: the shared stack's config, its refusals, and the shipped Pulumi.shared.yaml."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from platform_infra.cli.mocks import MockRun, unwrap_secrets
from platform_infra.cli.plan import build_plan, read_stack_files
from platform_infra.config import DictConfigSource, load_stack_config
from platform_infra.preview_read import preview_read_statements
from platform_infra.validation import ValidationError

from tests.conftest import REPO_ROOT, ShippedRuns

ROLE = "aws:iam/role:Role"


def _stack_file(stack: str) -> dict[str, Any]:
    return yaml.safe_load((Path(REPO_ROOT) / f"Pulumi.{stack}.yaml").read_text())["config"]


def _shared_values() -> dict[str, Any]:
    """The shipped shared config without namespace or encrypted keys (those are passed as secrets)."""
    return {
        key.removeprefix("platform:"): value
        for key, value in _stack_file("shared").items()
        if key.startswith("platform:") and not (isinstance(value, dict) and "secure" in value)
    }


def _load(values: dict[str, Any], secrets: dict[str, str] | None = None) -> Any:
    return load_stack_config("shared", DictConfigSource(values, secrets))


def _with(change: Any) -> dict[str, Any]:
    values = copy.deepcopy(_shared_values())
    change(values["bootstrap"])
    return values


def test_shared_config_is_read_as_a_bootstrap() -> None:
    config = _load(_shared_values(), {"externalId-prod": "ext-prod"})
    bootstrap = config.bootstrap
    assert bootstrap is not None
    assert config.apps == ()
    assert bootstrap.environment.aws.account_id == "444444444444"
    assert [t.name for t in bootstrap.targets] == ["dev", "staging", "prod"]
    assert [t.environment.tier.value for t in bootstrap.targets] == ["dev", "staging", "prod"]
    prod = bootstrap.targets[2]
    # The bootstrap reaches a target through the organization role; the pipeline later uses the deploy role.
    assert prod.environment.aws.deploy_role_name == "OrganizationAccountAccessRole"
    assert prod.deploy_role_arn == "arn:aws:iam::333333333333:role/platform-deploy"
    assert prod.deploy_role.external_id is not None
    assert bootstrap.targets[0].deploy_role.external_id is None
    assert bootstrap.pipeline_role_arn("prod") == "arn:aws:iam::444444444444:role/platform-pipeline-prod"
    assert bootstrap.preview_pipeline_role_arn("dev") == "arn:aws:iam::444444444444:role/platform-preview-dev"
    # Each target trusts only its own GitHub environment; previews: pull requests below prod, main for prod.
    assert prod.identities.deploy_github.subjects == [
        "repo:example-org/platform-infra:environment:production"
    ]
    assert prod.identities.preview_github.subjects == ["repo:example-org/platform-infra:ref:refs/heads/main"]
    dev = bootstrap.targets[0]
    assert dev.identities.deploy_github.subjects == ["repo:example-org/platform-infra:environment:dev"]
    assert dev.identities.preview_github.subjects == ["repo:example-org/platform-infra:pull_request"]


def test_environment_stacks_have_no_bootstrap() -> None:
    values = {
        k.removeprefix("platform:"): v for k, v in _stack_file("dev").items() if k.startswith("platform:")
    }
    assert load_stack_config("dev", DictConfigSource(values)).bootstrap is None


def test_targets_match_the_environment_stacks() -> None:
    """Account ids and deploy role names in the shared stack are the ones the environment stacks assume."""
    targets = {t["name"]: t for t in _stack_file("shared")["platform:bootstrap"]["targets"]}
    for stack in ("dev", "staging", "prod"):
        env = _stack_file(stack)
        assert targets[stack]["accountId"] == env["platform:aws"]["accountId"]
        assert targets[stack]["deployRoleName"] == env["platform:aws"]["deployRoleName"]
        assert targets[stack]["subscriptionId"] == env["platform:azure"]["subscriptionId"]
        # A target whose stack sets an external id has one in the shared stack too.
        assert ("platform:awsExternalId" in env) == (f"platform:externalId-{stack}" in _stack_file("shared"))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (
            lambda b: b["targets"][0].update(trustedPrincipalArns=["*"]),
            r"platform:bootstrap\.targets\[0\]\.trustedPrincipalArns\[0\]: must not be a wildcard",
        ),
        (
            lambda b: b["targets"][1].update(trustedPrincipalArns=["arn:aws:iam::444444444444:root"]),
            r"platform:bootstrap\.targets\[1\]\.trustedPrincipalArns\[0\]: is a bare account root",
        ),
        (
            lambda b: b["targets"][0].update(trustedPrincipalArns=["arn:aws:iam::555555555555:role/ci"]),
            r"platform:bootstrap\.targets\[0\]\.trustedPrincipalArns\[0\]: is not a principal of the shared",
        ),
        (
            lambda b: b["targets"][2].update(policyArns=["arn:aws:iam::aws:policy/AdministratorAccess"]),
            r"platform:bootstrap\.targets\[2\]\.policyArns\[0\]: attaches AdministratorAccess",
        ),
        (
            lambda b: b["targets"][0].update(allowedActions=["*"]),
            r"platform:bootstrap\.targets\[0\]\.allowedActions\[0\]",
        ),
        (
            lambda b: b["targets"][0].update(accountId="444444444444"),
            r"platform:bootstrap\.targets\[0\]\.accountId: is the shared-services account",
        ),
        (
            lambda b: b["targets"][1].update(name="dev"),
            r"platform:bootstrap\.targets\[1\]\.name: is used twice",
        ),
        (
            lambda b: b["targets"][0].update(deployRole="x"),
            r"platform:bootstrap\.targets\[0\]\.deployRole: is not",
        ),
        (lambda b: b["pipeline"].update(defaultBranch="*"), r"platform:bootstrap\.pipeline\.defaultBranch"),
        (
            # The old shared list of subjects is gone: one identity trusted by every environment was the flaw.
            lambda b: b["pipeline"].update(environments=["dev", "staging", "production"]),
            r"platform:bootstrap\.pipeline\.environments: is not a known key",
        ),
        (
            lambda b: b["targets"][1].update(githubEnvironment="dev"),
            r"platform:bootstrap\.targets\[1\]\.githubEnvironment: is another target's GitHub environment",
        ),
        (
            lambda b: b["targets"][1].update(azureDevOpsServiceConnection="platform-azure-dev"),
            r"targets\[1\]\.azureDevOpsServiceConnection: is another identity's service connection",
        ),
        (
            lambda b: b["pipeline"].pop("azureDevOps"),
            r"platform:bootstrap\.targets\[0\]\.azureDevOpsServiceConnection: needs",
        ),
        (
            lambda b: b["pipeline"].update(previewRoleName="platform-pipeline"),
            r"platform:bootstrap\.pipeline\.previewRoleName: equals roleName",
        ),
        (
            # By GUID too: User Access Administrator's real id must not slip past the name check.
            lambda b: b["pipeline"].update(azureRoles=["18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"]),
            r"platform:bootstrap\.pipeline\.azureRoles\[0\]: can grant any access",
        ),
        (
            lambda b: b["pipeline"].update(azureRoles=["Owner"]),
            r"platform:bootstrap\.pipeline\.azureRoles\[0\]: can grant any access",
        ),
        (
            lambda b: b["stateBackend"].update(replicaRegion="eu-west-1"),
            r"platform:bootstrap\.stateBackend\.replicaRegion: is the state bucket's own region",
        ),
        (
            lambda b: b["stateBackend"].pop("replicaBucketName"),
            r"platform:bootstrap\.stateBackend\.replicaBucketName: is required",
        ),
        (
            lambda b: b["stateBackend"]["azure"].update(storageAccountName="Not-Valid"),
            r"platform:bootstrap\.stateBackend\.azure\.storageAccountName",
        ),
        (lambda b: b.pop("targets"), r"platform:bootstrap\.targets: is required"),
        # Review stacks run pull-request code: never in a staging or prod account, never with a target's
        # GitHub environment, role or service connection.
        (
            lambda b: b["review"].update(target="staging"),
            r"platform:bootstrap\.review\.target: is not a dev-tier target",
        ),
        (lambda b: b["review"].update(target="qa"), r"platform:bootstrap\.review\.target: is not one of"),
        (
            lambda b: b["review"].update(githubEnvironment="dev"),
            r"platform:bootstrap\.review\.githubEnvironment: is a target's GitHub environment",
        ),
        (
            lambda b: b["review"].update(deployRoleName="platform-deploy"),
            r"platform:bootstrap\.review\.deployRoleName: is one of the base target's own roles",
        ),
        (
            lambda b: b["review"].update(roleName="platform-pipeline-dev"),
            r"platform:bootstrap\.review\.roleName: is a target's pipeline role",
        ),
        (
            lambda b: b["pipeline"].update(githubSubjectClaimKeys=["repo", "context", "ref"]),
            r"platform:bootstrap\.review: needs GitHub's default subject template",
        ),
        (
            lambda b: b["review"].update(azureDevOpsServiceConnection="platform-azure-dev"),
            r"platform:bootstrap\.review\.azureDevOpsServiceConnection: is another identity's",
        ),
        (
            lambda b: b["stateBackend"]["azure"].update(allowedIpRanges=["0.0.0.0/99"]),
            r"platform:bootstrap\.stateBackend\.azure\.allowedIpRanges\[0\]",
        ),
    ],
)
def test_bad_bootstrap_config_is_refused_naming_the_key(change: Any, key: str) -> None:
    with pytest.raises(ValidationError, match=key) as raised:
        _load(_with(change))
    assert "stack 'shared'" in str(raised.value)


def test_plaintext_external_id_is_refused() -> None:
    values = {**_shared_values(), "externalId-prod": "plain-text"}
    with pytest.raises(ValidationError, match=r"platform:externalId-prod: must be set as a secret") as raised:
        _load(values)
    assert "plain-text" not in str(raised.value)


@pytest.fixture(scope="module")
def shared_run(shipped_runs: ShippedRuns) -> tuple[Any, MockRun]:
    return shipped_runs("shared")


def test_plan_shared_puts_every_resource_on_an_explicit_provider(shared_run: tuple[Any, MockRun]) -> None:
    files, run = shared_run
    assert files.disabled_default_providers == ["*"]
    build_plan(files, run)  # raises PlanError when a resource would use a default provider
    providers = {r.urn: r for r in run.resources if r.is_provider}
    for resource in run.resources:
        if resource.custom and not resource.is_provider:
            assert resource.provider_urn in providers, resource.name
    # Each AWS provider may act in exactly one account, through the organization role: named by the profile
    # the apply writes (infra aws-profile shared --access deploy), never by the provider's own inputs.
    from platform_infra.cli.aws_profile import stack_profiles

    admin = {section.name: section.role_arn for section in stack_profiles("shared", "deploy", environ={})}
    for provider in run.of_type("pulumi:providers:aws"):
        inputs = unwrap_secrets(provider.inputs)
        accounts = (
            json.loads(inputs["allowedAccountIds"])
            if isinstance(inputs["allowedAccountIds"], str)
            else (inputs["allowedAccountIds"])
        )
        assert len(accounts) == 1
        assert "assumeRoles" not in inputs, provider.name
        assert admin[inputs["profile"]] == f"arn:aws:iam::{accounts[0]}:role/OrganizationAccountAccessRole"


def test_plan_shared_deploy_roles_live_in_their_target_accounts(shared_run: tuple[Any, MockRun]) -> None:
    _, run = shared_run
    outputs = run.stack_outputs
    for target, account in (("dev", "111111111111"), ("staging", "222222222222"), ("prod", "333333333333")):
        pipeline_arn = f"arn:aws:iam::444444444444:role/platform-pipeline-{target}"
        role = run.one(ROLE, f"deploy-{target}")
        assert role.provider_urn.endswith(f"::target-{target}-aws")
        assert run.by_urn(role.parent).outputs["arn"] == f"arn:aws:iam::{account}:role/platform-deploy"
        trust = json.loads(unwrap_secrets(role.inputs["assumeRolePolicy"]))
        statement = trust["Statement"][0]
        # Only this target's own pipeline role: no other environment's identity can assume it.
        assert statement["Principal"] == {"AWS": [pipeline_arn]}
        has_external_id = "sts:ExternalId" in statement.get("Condition", {}).get("StringEquals", {})
        assert has_external_id == (target != "dev"), target
        # IAM refuses a trust policy naming a role that does not exist yet: the deploy role waits for it.
        assert run.one(ROLE, f"pipeline-{target}").urn in role.depends_on
        assert outputs["pipelineRoleArns"][target] == pipeline_arn
        # The pipeline role may assume exactly its own target's deploy role.
        policy = json.loads(
            run.one("aws:iam/rolePolicy:RolePolicy", f"pipeline-{target}-assume-deploy-roles").inputs[
                "policy"
            ]
        )
        assert policy["Statement"][0]["Resource"] == [outputs["deployRoleArns"][target]]
        # The preview role in the target account is read-only and trusts only the preview pipeline role.
        preview = run.one(ROLE, f"readonly-{target}")
        assert preview.provider_urn.endswith(f"::target-{target}-aws")
        preview_trust = json.loads(unwrap_secrets(preview.inputs["assumeRolePolicy"]))
        assert preview_trust["Statement"][0]["Principal"] == {
            "AWS": [f"arn:aws:iam::444444444444:role/platform-preview-{target}"]
        }
        attached = [
            a.inputs["policyArn"]
            for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.parent == preview.parent
        ]
        # No managed policy (ReadOnlyAccess reads every log event, object and parameter): the refresh reads
        # of the stack's resource types, in the target's own account (tests/test_preview_read.py).
        assert attached == []
        inline = json.loads(
            run.one("aws:iam/rolePolicy:RolePolicy", f"readonly-{target}-deploy").inputs["policy"]
        )
        account = outputs["previewRoleArns"][target].split(":")[4]
        allows = [s for s in inline["Statement"] if s["Effect"] == "Allow"]
        assert allows == preview_read_statements("aws", account, f"{target}-")
    for name in ("state-secrets-prod", "state-state"):
        assert run.one(ROLE, "pipeline-prod").urn in run.one("aws:kms/key:Key", name).depends_on, name
    assert (
        run.one(ROLE, "pipeline-dev").urn
        in run.one("aws:s3/bucketPolicy:BucketPolicy", "state-policy").depends_on
    )
    assert outputs["deployRoleArns"]["prod"] == "arn:aws:iam::333333333333:role/platform-deploy"
    assert outputs["administratorDeployRoles"] == []


def test_plan_shared_state_keys_and_objects_are_per_environment(shared_run: tuple[Any, MockRun]) -> None:
    """Each secrets key is used by its own environment's identities only; previews only decrypt."""
    _, run = shared_run
    key = json.loads(run.one("aws:kms/key:Key", "state-secrets-prod").inputs["policy"])
    users = {s["Sid"]: (s["Principal"]["AWS"], s["Action"]) for s in key["Statement"][1:]}
    assert users["UseDeployProd"][0] == ["arn:aws:iam::444444444444:role/platform-pipeline-prod"]
    assert users["PreviewProd"] == (
        ["arn:aws:iam::444444444444:role/platform-preview-prod"],
        ["kms:Decrypt", "kms:DescribeKey"],
    )
    bucket = json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy", "state-policy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in bucket["Statement"]}
    assert by_sid["DeployDevState"]["Principal"] == {
        "AWS": ["arn:aws:iam::444444444444:role/platform-pipeline-dev"]
    }
    assert all("/dev" in r for r in by_sid["DeployDevState"]["Resource"])
    assert by_sid["PreviewProdState"]["Action"] == "s3:GetObject"


def test_plan_shared_exports_login_urls_and_secrets_providers(shared_run: tuple[Any, MockRun]) -> None:
    _, run = shared_run
    backends = run.stack_outputs["stateBackends"]
    assert set(backends) == {"dev", "staging", "prod"}
    assert backends["staging"] == {
        "loginUrl": "s3://example-org-platform-pulumi-state?region=eu-west-1",
        "secretsProvider": "awskms://alias/pulumi-secrets-staging?region=eu-west-1",
        "azureLoginUrl": "azblob://pulumi-state-staging?storage_account=exampleplatformstate",
        "azureSecretsProvider": "azurekeyvault://example-platform-state.vault.azure.net/keys/pulumi-secrets-staging",
    }
    # prod's Azure identity gets Contributor, the constrained role-assignment grant and the release role on
    # prod's subscription only; the preview identity gets Reader there.
    assignments = run.of_type("azure-native:authorization:RoleAssignment")
    per_target = [a for a in assignments if a.name.startswith("pipeline-azure-prod-")]
    assert {a.inputs["scope"] for a in per_target} == {"/subscriptions/33333333-3333-4333-8333-333333333333"}
    assert all(a.provider_urn.endswith("::target-prod-azure") for a in per_target)
    assert len(per_target) == 3
    preview = [a for a in assignments if a.name.startswith("preview-azure-prod-")]
    assert [a.inputs["roleDefinitionId"].rsplit("/", 1)[1] for a in preview] == [
        "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    ]


def test_read_stack_files_sees_the_shared_external_ids_as_secrets() -> None:
    files = read_stack_files("shared")
    assert set(files.substituted_secrets) == {"platform:externalId-staging", "platform:externalId-prod"}


def _whole(change: Any) -> dict[str, Any]:
    values = copy.deepcopy(_shared_values())
    change(values)
    return values


@pytest.mark.parametrize(
    ("change", "key"),
    [
        # The drift check gives the providers the apply's inputs only through profiles.
        (
            lambda v: v["aws"].pop("profile"),
            r"platform:aws\.profile: is required with platform:bootstrap\.drift",
        ),
        (
            lambda v: v["aws"].update(profile="p" * 60),
            r"platform:aws\.profile: makes the targets' profiles <profile>-<target> too long or invalid "
            r"\(got \['p+-staging', 'p+-prod'\]\)",
        ),
        # The read-only role is created in every account: it must be no other role there.
        (
            lambda v: v["aws"].pop(
                "previewRoleName"
            ),  # the default, platform-preview: the targets' preview role
            r"platform:aws\.previewRoleName: is a target's previewRoleName \(dev\)",
        ),
        (
            lambda v: v["aws"].update(previewRoleName="OrganizationAccountAccessRole"),
            r"platform:aws\.previewRoleName: is platform:bootstrap\.organizationRoleName",
        ),
        (
            lambda v: v["aws"].update(previewRoleName="platform-review-deploy"),
            r"platform:aws\.previewRoleName: is platform:bootstrap\.review\.deployRoleName",
        ),
        (
            lambda v: v["bootstrap"]["drift"].update(roleName="platform-preview-prod"),
            r"platform:bootstrap\.drift\.roleName: is another pipeline role",
        ),
        (
            lambda v: v["bootstrap"]["drift"].update(azureIdentityName="platform-preview-prod"),
            r"platform:bootstrap\.drift\.azureIdentityName: is another pipeline identity",
        ),
        (
            lambda v: v["bootstrap"]["drift"].update(
                azureDevOpsServiceConnection="platform-azure-preview-prod"
            ),
            r"platform:bootstrap\.drift\.azureDevOpsServiceConnection: is another identity's service",
        ),
        (
            lambda v: v["bootstrap"]["drift"].update(roleName="*"),
            r"platform:bootstrap\.drift\.roleName",
        ),
    ],
)
def test_bad_drift_config_is_refused_in_one_line_naming_the_key(change: Any, key: str) -> None:
    with pytest.raises(ValidationError, match=key) as raised:
        _load(_whole(change))
    message = str(raised.value)
    assert "stack 'shared'" in message
    assert len(message.splitlines()) == 1, message


def test_without_drift_the_shared_stack_needs_no_profile_and_targets_keep_assuming_their_roles() -> None:
    """The drift section is optional: without it (and without a profile) the providers assume the
    administrator roles themselves, as before, and `infra aws-profile shared --access preview` has no
    read-only role to name."""

    def no_drift(values: dict[str, Any]) -> None:
        values["bootstrap"].pop("drift")
        values["aws"].pop("profile")
        values["aws"].pop("previewRoleName")

    config = _load(_whole(no_drift))
    assert config.bootstrap.drift is None
    assert config.environment.aws.profile is None
    assert all(t.environment.aws.profile is None for t in config.bootstrap.targets)


def test_the_drift_identity_trusts_the_default_branch_in_either_subject_template() -> None:
    """Prod's preview identity's subject derivation: GitHub's default template gives
    repo:<org>/<repo>:ref:refs/heads/main, [repo, context, ref] repeats the ref (GitHub docs, "Customizing the
    subject claims"); never an environment or a pull request."""
    drift = _load(_shared_values()).bootstrap.drift
    assert drift.github.subjects == ["repo:example-org/platform-infra:ref:refs/heads/main"]
    assert drift.github.patterns == []

    def ref_template(values: dict[str, Any]) -> None:
        values["bootstrap"]["pipeline"]["githubSubjectClaimKeys"] = ["repo", "context", "ref"]
        values["bootstrap"].pop("review")  # refused with that template

    config = _load(_whole(ref_template))
    prod_preview = next(t for t in config.bootstrap.targets if t.name == "prod").identities.preview_github
    assert (
        config.bootstrap.drift.github.subjects
        == prod_preview.subjects
        == ["repo:example-org/platform-infra:ref:refs/heads/main:ref:refs/heads/main"]
    )
