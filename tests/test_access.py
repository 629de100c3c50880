"""``infra access``: reachability of the shipped shared stack as data, and the trust rules it must satisfy.

The matrix is computed from the offline plan (trust policies, role policies, bucket and key policies,
federated credentials, role assignments), not from the config: what IAM and Entra ID would evaluate.
Subject formats are GitHub's (OpenID Connect reference, "Example subject claims"): a job in environment E
presents ``repo:ORG/REPO:environment:E``, a pull-request job ``repo:ORG/REPO:pull_request``, a push to main
``repo:ORG/REPO:ref:refs/heads/main``. Azure DevOps service connections present ``sc://ORG/PROJECT/NAME``
issued by ``https://vstoken.dev.azure.com/<org-id>``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from platform_infra.cli.access import Access, Reach, analyse, violations
from platform_infra.cli.main import main
from platform_infra.cli.mocks import MockRun
from platform_infra.cli.plan import run_stack

from tests.conftest import ShippedRuns

REPO = "repo:example-org/platform-infra"
PR = f"{REPO}:pull_request"
MAIN = f"{REPO}:ref:refs/heads/main"
ADO = "sc://example-org/platform-infra"
PRODUCTION = {f"{REPO}:environment:production", f"{ADO}/platform-azure-prod"}
REVIEW = f"{REPO}:environment:review"
REVIEWERS = {REVIEW, f"{ADO}/platform-azure-review"}
# The shared stack's own drift check: the default branch (a schedule run's ref) and its ADO connection.
DRIFT_ROLE = "arn:aws:iam::444444444444:role/platform-drift"
DRIFT_IDENTITIES = {DRIFT_ROLE, "platform-drift"}
DRIFTERS = {MAIN, f"{ADO}/platform-azure-drift"}
EVERY_ACCOUNT_READ = {
    (cloud, env, "read") for cloud in ("aws", "azure") for env in ("shared", "dev", "staging", "prod")
}


def _problems(accesses: list[Access]) -> list[str]:
    """The trust rules with the shipped shared stack's subjects and identities."""
    return violations(
        accesses,
        production_subjects=PRODUCTION,
        review_subjects=REVIEWERS,
        drift_identities=DRIFT_IDENTITIES,
        drift_subjects=DRIFTERS,
    )


@pytest.fixture(scope="module")
def shared(shipped_runs: ShippedRuns) -> MockRun:
    return shipped_runs("shared")[1]


def _matrix(accesses: list[Access]) -> dict[str, set[tuple[str, str, str]]]:
    """subject -> {(cloud, environment, cloud access)}."""
    matrix: dict[str, set[tuple[str, str, str]]] = {}
    for access in accesses:
        for reach in access.reaches:
            matrix.setdefault(access.subject, set()).add((access.cloud, reach.environment, reach.cloud))
    return matrix


def test_the_shipped_shared_stack_satisfies_every_trust_rule(shared: MockRun) -> None:
    assert _problems(analyse(shared)) == []


def test_the_access_matrix_of_the_shipped_shared_stack(shared: MockRun) -> None:
    matrix = _matrix(analyse(shared))
    assert matrix == {
        # Pull requests: read-only previews of dev and staging, nothing else.
        PR: {
            ("aws", "dev", "read"),
            ("aws", "staging", "read"),
            ("azure", "dev", "read"),
            ("azure", "staging", "read"),
        },
        # The default branch: read-only prod (prod-plan job), and the shared stack's drift identity: read in
        # every account and subscription its providers act in (its state and key: see the drift tests).
        MAIN: {("aws", "prod", "read"), ("azure", "prod", "read")} | EVERY_ACCOUNT_READ,
        f"{ADO}/platform-azure-drift": EVERY_ACCOUNT_READ,
        f"{REPO}:environment:dev": {("aws", "dev", "deploy"), ("azure", "dev", "deploy")},
        f"{REPO}:environment:staging": {("aws", "staging", "deploy"), ("azure", "staging", "deploy")},
        f"{REPO}:environment:production": {("aws", "prod", "deploy"), ("azure", "prod", "deploy")},
        # Azure DevOps service connections: the same identities on both clouds (AWS through the IAM OIDC
        # provider of the organization's issuer, trusted by exactly one connection per pipeline role).
        f"{ADO}/platform-azure-dev": {("aws", "dev", "deploy"), ("azure", "dev", "deploy")},
        f"{ADO}/platform-azure-staging": {("aws", "staging", "deploy"), ("azure", "staging", "deploy")},
        f"{ADO}/platform-azure-prod": {("aws", "prod", "deploy"), ("azure", "prod", "deploy")},
        f"{ADO}/platform-azure-preview-dev": {("aws", "dev", "read"), ("azure", "dev", "read")},
        f"{ADO}/platform-azure-preview-staging": {("aws", "staging", "read"), ("azure", "staging", "read")},
        f"{ADO}/platform-azure-preview-prod": {("aws", "prod", "read"), ("azure", "prod", "read")},
        # Review stacks (pull-request code, GitHub environment `review`): AWS only through the review role
        # (log groups /platform/pr-*), the pr-* state and the review key; Azure on dev's subscription (RBAC
        # has no name conditions for ARM writes), with the review container and key, never dev's.
        REVIEW: {("aws", "review", "deploy"), ("azure", "dev", "deploy"), ("azure", "review", "")},
        f"{ADO}/platform-azure-review": {
            ("aws", "review", "deploy"),
            ("azure", "dev", "deploy"),
            ("azure", "review", ""),
        },
    }


def test_azure_devops_reaches_aws_only_through_its_organizations_issuer(shared: MockRun) -> None:
    """The AWS trust of an Azure DevOps connection names the organization's issuer
    (https://vstoken.dev.azure.com/<organizationId>) and its audience api://AzureADTokenExchange, and the
    IAM OIDC provider is created for exactly that issuer and audience."""
    issuer = "https://vstoken.dev.azure.com/55555555-5555-4555-8555-555555555555"
    aws = [a for a in analyse(shared) if a.cloud == "aws" and a.subject.startswith("sc://")]
    assert {a.issuer for a in aws} == {issuer}
    assert len(aws) == 8  # six target connections, the review and the drift connection
    [provider] = [
        r
        for r in shared.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
        if "vstoken" in str(r.inputs)
    ]
    assert provider.plain_inputs["url"] == issuer
    assert json.loads(json.dumps(provider.plain_inputs["clientIdLists"])) == ["api://AzureADTokenExchange"]
    # A connection named in another identity's trust is caught like any other subject.
    run = copy.deepcopy(shared)
    role = _role(run, "preview-dev")
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])
    ado = next(s for s in trust["Statement"] if s["Sid"] != "GitHubActions")
    key = next(k for k in ado["Condition"]["StringEquals"] if k.endswith(":sub"))
    ado["Condition"]["StringEquals"][key].append(f"{ADO}/platform-azure-preview-prod")
    role.inputs["assumeRolePolicy"] = json.dumps(trust)
    matrix = _matrix(analyse(run))
    assert {("aws", "dev", "read"), ("aws", "prod", "read")} <= matrix[f"{ADO}/platform-azure-preview-prod"]
    assert matrix != _matrix(analyse(shared))


def test_state_and_secrets_follow_the_same_boundaries(shared: MockRun) -> None:
    for access in analyse(shared):
        if access.subject in REVIEWERS or access.identity in DRIFT_IDENTITIES:
            continue  # test_the_review_subject_reaches_only_the_review_stacks, the drift tests
        [reach] = access.reaches  # exactly one environment per identity
        deploys = reach.cloud == "deploy"
        assert reach.state == ("write" if deploys else "read"), access
        # A preview decrypts (pulumi preview reads secret config); only deployers encrypt.
        expected = "encrypt+decrypt" if deploys or access.cloud == "azure" else "decrypt"
        assert reach.secrets == expected, access
        assert access.shared_state == (), access
    prod = [a for a in analyse(shared) if "prod" in a.environments]
    assert {a.subject for a in prod} == PRODUCTION | DRIFTERS | {f"{ADO}/platform-azure-preview-prod"}
    assert {a.identity for a in prod if a.subject in DRIFTERS - {MAIN}} == DRIFT_IDENTITIES


def test_the_review_subject_reaches_only_the_review_stacks(shared: MockRun) -> None:
    """From the plan: the review subject's AWS chain is the review pipeline role, then the review deploy role
    (not dev's deploy or preview role); state and secrets are the pr-* objects and the review key only."""
    reviews = [a for a in analyse(shared) if a.subject in REVIEWERS]
    aws = [a for a in reviews if a.cloud == "aws"]
    assert {a.subject for a in aws} == REVIEWERS  # the GitHub environment and the Azure DevOps connection
    for access in aws:
        assert access.identity == "arn:aws:iam::444444444444:role/platform-review"
        assert access.chain == ("arn:aws:iam::111111111111:role/platform-review-deploy",)
        assert access.reaches == (Reach("review", "deploy", "write", "encrypt+decrypt"),)
    for azure in (a for a in reviews if a.cloud == "azure"):
        # Contributor on dev's subscription lists keys: counted as reading dev's data (review code runs in
        # environment `review`, not as a pull-request subject).
        assert azure.reaches == (
            Reach("dev", "deploy", data="read"),
            Reach("review", "", "write", "encrypt+decrypt"),
        )
    # No pull-request subject reaches any deploy role (dev, staging, prod or review).
    deploy_roles = {"platform-deploy", "platform-review-deploy"}
    for access in analyse(shared):
        if access.subject.endswith(":pull_request"):
            assert not {arn.rsplit("/", 1)[-1] for arn in access.chain} & deploy_roles, access
            assert access.deploys == [], access
    # The review deploy role: the review log groups only, capped by the stacks' boundary, no IAM.
    role = _role(shared, "review-deploy")
    assert role.plain_inputs["permissionsBoundary"] == (
        "arn:aws:iam::111111111111:policy/platform/platform-deploy-boundary"
    )
    [policy] = [
        r for r in shared.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "review-deploy-deploy"
    ]
    allows = [s for s in json.loads(policy.plain_inputs["policy"])["Statement"] if s["Effect"] == "Allow"]
    assert {s["Resource"] for s in allows} == {
        "arn:aws:logs:*:111111111111:log-group:/platform/pr-*",
        "arn:aws:logs:*:111111111111:log-group:*",
    }
    assert all(
        a.startswith("logs:")
        for s in allows
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )
    bucket = shared.one("aws:s3/bucketPolicy:BucketPolicy", "state-policy")
    statements = json.loads(bucket.plain_inputs["policy"])["Statement"]
    reviewer = "arn:aws:iam::444444444444:role/platform-review"
    objects = [
        r
        for s in statements
        if isinstance(s["Principal"], dict) and reviewer in s["Principal"]["AWS"] and s["Effect"] == "Allow"
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        if "/.pulumi/" in r
    ]
    assert sorted(objects) == sorted(
        [
            "arn:aws:s3:::example-org-platform-pulumi-state/.pulumi/meta.yaml",
            "arn:aws:s3:::example-org-platform-pulumi-state/.pulumi/stacks/*/pr-*.json*",
            "arn:aws:s3:::example-org-platform-pulumi-state/.pulumi/stacks/*/pr-*.pulumi-tags",
            "arn:aws:s3:::example-org-platform-pulumi-state/.pulumi/history/*/pr-*/*",
            "arn:aws:s3:::example-org-platform-pulumi-state/.pulumi/backups/*/pr-*/*",
            "arn:aws:s3:::example-org-platform-pulumi-state/.pulumi/locks/*/pr-*/*",
        ]
    )


def test_review_code_reaching_dev_is_caught(shared: MockRun) -> None:
    """dev's deploy role trusting the review pipeline role would give pull-request code dev's rights."""
    run = copy.deepcopy(shared)
    deploy = _role(run, "deploy-dev")
    trust = json.loads(deploy.plain_inputs["assumeRolePolicy"])
    trust["Statement"][0]["Principal"]["AWS"].append("arn:aws:iam::444444444444:role/platform-review")
    deploy.inputs["assumeRolePolicy"] = json.dumps(trust)
    policy = next(
        r
        for r in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name == "pipeline-review-assume-deploy-roles"
    )
    document = json.loads(policy.plain_inputs["policy"])
    document["Statement"][0]["Resource"] = ["arn:aws:iam::111111111111:role/*"]
    policy.inputs["policy"] = json.dumps(document)
    problems = _problems(analyse(run))
    assert any(REVIEW in p and "review code reaches dev (aws)" in p for p in problems), problems


def test_a_pull_request_subject_on_the_review_identity_is_caught(shared: MockRun) -> None:
    """The review role trusting ``pull_request`` (any pull request, no environment protection) is refused."""
    run = copy.deepcopy(shared)
    role = _role(run, "pipeline-review")
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])
    trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] = [PR]
    role.inputs["assumeRolePolicy"] = json.dumps(trust)
    problems = _problems(analyse(run))
    assert any("a pull request can deploy review" in p for p in problems), problems
    assert any("reaches the review stacks but is not a review subject" in p for p in problems), problems


def _role(run: MockRun, name: str) -> Any:
    [role] = [r for r in run.of_type("aws:iam/role:Role") if r.name == name]
    return role


def test_a_pull_request_trusted_by_a_deploy_role_is_caught(shared: MockRun) -> None:
    run = copy.deepcopy(shared)
    role = _role(run, "pipeline-prod")
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])
    trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"].append(PR)
    role.inputs["assumeRolePolicy"] = json.dumps(trust)
    problems = _problems(analyse(run))
    assert any("a pull request can deploy prod" in p for p in problems), problems
    assert any("deploys prod but is not a production subject" in p for p in problems), problems


def test_a_pipeline_role_reaching_two_environments_is_caught(shared: MockRun) -> None:
    """The old single pipeline role: one identity that may assume every deploy role."""
    run = copy.deepcopy(shared)
    [policy] = [
        r
        for r in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name == "pipeline-dev-assume-deploy-roles"
    ]
    document = json.loads(policy.plain_inputs["policy"])
    document["Statement"][0]["Resource"] = [
        "arn:aws:iam::111111111111:role/platform-deploy",
        "arn:aws:iam::333333333333:role/platform-deploy",
    ]
    policy.inputs["policy"] = json.dumps(document)
    # Transitive reach needs the target to trust the role too: the prod deploy role trusts prod's pipeline
    # only, so widening the policy alone reaches nothing more...
    assert _problems(analyse(run)) == []
    # ...but with the old trust (every pipeline principal) it reaches prod from environment:dev.
    deploy = _role(run, "deploy-prod")
    trust = json.loads(deploy.plain_inputs["assumeRolePolicy"])
    trust["Statement"][0]["Principal"]["AWS"].append("arn:aws:iam::444444444444:role/platform-pipeline-dev")
    deploy.inputs["assumeRolePolicy"] = json.dumps(trust)
    problems = _problems(analyse(run))
    assert any("environment:dev" in p and "reaches ['dev', 'prod']" in p for p in problems), problems
    assert any("environment:dev" in p and "not a production subject" in p for p in problems), problems


def test_infra_access_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["access", "shared", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    subjects = {entry["subject"] for entry in report}
    assert PR in subjects and f"{REPO}:environment:production" in subjects
    assert main(["access", "shared"]) == 0
    text = capsys.readouterr().out
    assert f"{PR}  (https://token.actions.githubusercontent.com)" in text
    assert "prod: cloud=deploy state=write secrets=encrypt+decrypt" in text


@pytest.fixture(scope="module")
def shared_ref_template() -> MockRun:
    """The shipped shared stack with the repository's subject template set to [repo, context, ref]."""
    import yaml
    from platform_infra.cli.plan import read_stack_config

    bootstrap = copy.deepcopy(read_stack_config("shared")["platform:bootstrap"])
    bootstrap["pipeline"]["githubSubjectClaimKeys"] = ["repo", "context", "ref"]
    # Review stacks need the default template (refused with this one: test_config_bootstrap).
    bootstrap.pop("review")
    assert yaml.safe_dump(bootstrap)  # still plain config
    return run_stack("shared", overrides={"platform:bootstrap": bootstrap})[1]


def test_with_the_ref_subject_template_prod_deploys_only_from_production_on_the_default_branch(
    shared_ref_template: MockRun,
) -> None:
    """GitHub's customised template [repo, context, ref] (PUT /repos/{owner}/{repo}/actions/oidc/
    customization/sub) makes every subject name the git ref: repo:O/R:<context>:ref:<ref>. Prod's deploy
    identity then trusts only the production environment on main; pull requests (ref refs/pull/<n>/merge,
    a pattern) reach only AWS's read-only dev and staging roles, since Azure matches subjects exactly."""
    production = f"{REPO}:environment:production:ref:refs/heads/main"
    pull_requests = f"{REPO}:pull_request:ref:refs/pull/*/merge"
    main = f"{REPO}:ref:refs/heads/main:ref:refs/heads/main"
    accesses = analyse(shared_ref_template)
    problems = violations(
        accesses,
        production_subjects={production, f"{ADO}/platform-azure-prod"},
        drift_identities=DRIFT_IDENTITIES,
        drift_subjects={main, f"{ADO}/platform-azure-drift"},
    )
    assert problems == []
    matrix = _matrix(accesses)
    github = {subject: reach for subject, reach in matrix.items() if subject.startswith("repo:")}
    assert github == {
        pull_requests: {("aws", "dev", "read"), ("aws", "staging", "read")},
        # The shared stack's drift identity trusts the default branch in the same template.
        main: {("aws", "prod", "read"), ("azure", "prod", "read")} | EVERY_ACCOUNT_READ,
        f"{REPO}:environment:dev:ref:refs/heads/main": {("aws", "dev", "deploy"), ("azure", "dev", "deploy")},
        f"{REPO}:environment:staging:ref:refs/heads/main": {
            ("aws", "staging", "deploy"),
            ("azure", "staging", "deploy"),
        },
        production: {("aws", "prod", "deploy"), ("azure", "prod", "deploy")},
    }
    # The old default-format subjects reach nothing any more: a job from another branch gets no identity.
    assert f"{REPO}:environment:production" not in matrix
    # And a pull-request pattern on a deploy role is caught by the same rules.
    run = copy.deepcopy(shared_ref_template)
    role = _role(run, "pipeline-prod")
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])
    trust["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": trust["Statement"][0]["Principal"],
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": pull_requests},
            },
        }
    )
    role.inputs["assumeRolePolicy"] = json.dumps(trust)
    problems = violations(analyse(run), production_subjects={production})
    assert any("a pull request can deploy prod" in p for p in problems), problems


def test_an_unsupported_subject_template_is_refused_naming_the_key() -> None:
    import copy as _copy

    from platform_infra.cli.plan import read_stack_config
    from platform_infra.validation import ValidationError

    bootstrap = _copy.deepcopy(read_stack_config("shared")["platform:bootstrap"])
    bootstrap["pipeline"]["githubSubjectClaimKeys"] = ["repo", "ref"]
    with pytest.raises(
        ValidationError,
        match=r"stack 'shared': platform:bootstrap.pipeline.githubSubjectClaimKeys: is not a subject",
    ):
        run_stack("shared", overrides={"platform:bootstrap": bootstrap})


def _drift(shared: MockRun) -> list[Access]:
    return [a for a in analyse(shared) if a.identity in DRIFT_IDENTITIES]


def test_the_drift_identity_reads_every_account_and_only_the_shared_stacks_state_and_key(
    shared: MockRun,
) -> None:
    """The shared stack's drift identity, from the plan: obtained by the default branch's subject (a schedule
    run presents it: GitHub, "Events that trigger workflows", schedule runs on the default branch) and the
    Azure DevOps drift connection, never by a pull request; on AWS it chains to platform-drift-read in the
    shared account and every target account, reads only the shared stack's state objects and decrypts only
    its key (alias/pulumi-secrets-shared), which holds staging's and prod's external ids."""
    drift = _drift(shared)
    assert {(a.subject, a.cloud) for a in drift} == {(s, c) for s in DRIFTERS for c in ("aws", "azure")}
    for access in (a for a in drift if a.cloud == "aws"):
        assert access.identity == DRIFT_ROLE
        assert sorted(access.chain) == sorted(
            f"arn:aws:iam::{account}:role/platform-drift-read"
            for account in ("111111111111", "222222222222", "333333333333", "444444444444")
        )
        assert access.reaches == (
            Reach("dev", "read"),
            Reach("prod", "read"),
            Reach("shared", "read", "read", "decrypt"),
            Reach("staging", "read"),
        )
    for access in (a for a in drift if a.cloud == "azure"):
        assert access.reaches == tuple(Reach(e, "read") for e in ("dev", "prod", "shared", "staging"))
    # Nothing else reaches the shared stack's state or key: not a preview, deploy or review identity.
    others = [a for a in analyse(shared) if a.identity not in DRIFT_IDENTITIES]
    assert all("shared" not in a.environments for a in others)
    # Its key policy: the administrator role writes (the apply), the drift pipeline role only decrypts.
    key = shared.one("aws:kms/key:Key", "state-secrets-shared")
    statements = json.loads(key.plain_inputs["policy"])["Statement"]
    users = {
        tuple(s["Principal"]["AWS"]): s["Action"]
        for s in statements
        if s["Sid"] != "AccountAdministersKeyThroughIam"
    }
    assert users == {
        ("arn:aws:iam::444444444444:role/OrganizationAccountAccessRole",): [
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ],
        (DRIFT_ROLE,): ["kms:Decrypt", "kms:DescribeKey"],
    }


def test_the_drift_roles_read_no_object_and_decrypt_nothing(shared: MockRun) -> None:
    """Not ReadOnlyAccess (s3:Get* on every bucket, AWS managed policy reference): bucket configuration of
    the three state buckets, key metadata and IAM read only; the shared account's role carries the stack's
    tag so the report files it under the shared stack."""
    policies = {
        r.name: json.loads(r.plain_inputs["policy"])
        for r in shared.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name.startswith("drift-read-")
    }
    assert set(policies) == {f"drift-read-{e}-read" for e in ("shared", "dev", "staging", "prod")}
    actions = {a for p in policies.values() for s in p["Statement"] for a in s["Action"]}
    assert not {a for a in actions if a.startswith(("s3:GetObject", "kms:Decrypt", "kms:Encrypt", "kms:Gen"))}
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe")) for a in actions), actions
    [bucket] = [
        s
        for s in policies["drift-read-shared-read"]["Statement"]
        if s["Sid"] == "ReadStateBucketConfiguration"
    ]
    assert bucket["Resource"] == [
        "arn:aws:s3:::example-org-platform-pulumi-state",
        "arn:aws:s3:::example-org-platform-pulumi-state-access-logs",
        "arn:aws:s3:::example-org-platform-pulumi-state-replica",
    ]
    prod = policies["drift-read-prod-read"]["Statement"]
    assert [s["Sid"] for s in prod] == ["ReadRoles", "ReadPolicies", "ReadOidcProviders", "ListOidcProviders"]
    # Scoped to prod's own account, by resource type; only the list call without a resource type is on *.
    assert [s["Resource"] for s in prod] == [
        "arn:aws:iam::333333333333:role/*",
        "arn:aws:iam::333333333333:policy/*",
        "arn:aws:iam::333333333333:oidc-provider/*",
        "*",
    ]
    roles = {
        r.name: r.plain_inputs
        for r in shared.of_type("aws:iam/role:Role")
        if r.name.startswith("drift-read-")
    }
    assert roles["drift-read-shared"]["tags"]["platform:environment"] == "shared"
    # Staging's and prod's roles require their external id, like every role there trusting an AWS principal.
    assert "sts:ExternalId" in str(roles["drift-read-prod"]["assumeRolePolicy"])
    assert "sts:ExternalId" not in str(roles["drift-read-dev"]["assumeRolePolicy"])


def test_a_drift_identity_that_could_write_or_be_obtained_by_a_pull_request_is_caught(
    shared: MockRun,
) -> None:
    run = copy.deepcopy(shared)
    # The prod drift role gains a write action: it would no longer be read-only.
    policy = next(r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "drift-read-prod-read")
    document = json.loads(policy.plain_inputs["policy"])
    document["Statement"][0]["Action"].append("iam:PutRolePolicy")
    policy.inputs["policy"] = json.dumps(document)
    # Pull requests become trusted by the drift pipeline role.
    role = _role(run, "pipeline-drift")
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])
    trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"].append(PR)
    role.inputs["assumeRolePolicy"] = json.dumps(trust)
    problems = _problems(analyse(run))
    assert any(f"{MAIN} -> aws {DRIFT_ROLE}: the drift identity can change prod" in p for p in problems), (
        problems
    )
    assert any(f"{PR} -> aws {DRIFT_ROLE}: obtains the drift identity" in p for p in problems), problems
    assert any(f"{PR} -> aws {DRIFT_ROLE}" in p and "reaches prod" in p for p in problems), problems


def test_another_identity_reading_the_shared_stack_or_drift_reading_prods_state_is_caught(
    shared: MockRun,
) -> None:
    run = copy.deepcopy(shared)
    bucket = run.one("aws:s3/bucketPolicy:BucketPolicy", "state-policy")
    document = json.loads(bucket.plain_inputs["policy"])
    for statement in document["Statement"]:
        if statement["Sid"] == "PreviewSharedState":
            statement["Principal"]["AWS"].append("arn:aws:iam::444444444444:role/platform-preview-dev")
        if statement["Sid"] == "PreviewProdState":
            statement["Principal"]["AWS"].append(DRIFT_ROLE)
    bucket.inputs["policy"] = json.dumps(document)
    problems = _problems(analyse(run))
    assert any(
        "platform-preview-dev: reaches the shared stack but is not its drift identity" in p for p in problems
    ), problems
    assert any(f"{DRIFT_ROLE}: the drift identity reads prod's state or secrets" in p for p in problems), (
        problems
    )


def test_pull_request_identities_read_no_data_plane(shared: MockRun) -> None:
    """The preview roles pull requests obtain (dev, staging) read resource configuration only: no log events,
    objects or parameter values (preview_read.DATA_PLANE_ACTIONS) in any environment they reach."""
    pull_requests = [a for a in analyse(shared) if a.subject == PR]
    assert {(a.cloud, r.environment) for a in pull_requests for r in a.reaches} == {
        ("aws", "dev"),
        ("aws", "staging"),
        ("azure", "dev"),
        ("azure", "staging"),
    }
    assert all(r.data == "" for a in pull_requests for r in a.reaches), pull_requests
    # Deploying identities do read data (their services' actions on *): the rule is about pull requests.
    assert any(r.data for a in analyse(shared) if a.subject == f"{REPO}:environment:dev" for r in a.reaches)


def test_read_only_access_back_on_a_preview_role_is_caught(shared: MockRun) -> None:
    """Mutation: AWS's ReadOnlyAccess attached to dev's preview role again (logs:Get*, s3:Get*, ssm:Get* on
    *), or one data-plane action added to its inline policy: pull requests would read dev's data."""
    run = copy.deepcopy(shared)
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "readonly-dev-deploy")
    run.resources.append(
        dataclasses.replace(
            policy,
            urn=policy.urn.replace("readonly-dev-deploy", "readonly-dev-policy-0").replace(
                "aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
            ),
            type="aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            name="readonly-dev-policy-0",
            inputs={"role": policy.inputs["role"], "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        )
    )
    problems = _problems(analyse(run))
    reads_dev = [p for p in problems if f"{PR} -> aws" in p and "a pull request reads dev's data plane" in p]
    assert reads_dev, problems
    assert not any("staging's data plane" in p for p in problems), problems

    run = copy.deepcopy(shared)
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "readonly-staging-deploy")
    document = json.loads(policy.plain_inputs["policy"])
    document["Statement"][0]["Action"].append("logs:Get*")
    policy.inputs["policy"] = json.dumps(document)
    problems = _problems(analyse(run))
    assert any("a pull request reads staging's data plane" in p for p in problems), problems
