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
    assert violations(analyse(shared), production_subjects=PRODUCTION, review_subjects=REVIEWERS) == []


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
        # The default branch (prod-plan job): read-only prod.
        MAIN: {("aws", "prod", "read"), ("azure", "prod", "read")},
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
    assert len(aws) == 7  # six target connections and the review connection
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
        if access.subject in REVIEWERS:
            continue  # test_the_review_subject_reaches_only_the_review_stacks
        [reach] = access.reaches  # exactly one environment per identity
        deploys = reach.cloud == "deploy"
        assert reach.state == ("write" if deploys else "read"), access
        # A preview decrypts (pulumi preview reads secret config); only deployers encrypt.
        expected = "encrypt+decrypt" if deploys or access.cloud == "azure" else "decrypt"
        assert reach.secrets == expected, access
        assert access.shared_state == (), access
    prod = [a for a in analyse(shared) if "prod" in a.environments]
    assert {a.subject for a in prod} == PRODUCTION | {MAIN, f"{ADO}/platform-azure-preview-prod"}


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
        assert azure.reaches == (Reach("dev", "deploy"), Reach("review", "", "write", "encrypt+decrypt"))
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
    problems = violations(analyse(run), production_subjects=PRODUCTION, review_subjects=REVIEWERS)
    assert any(REVIEW in p and "review code reaches dev (aws)" in p for p in problems), problems


def test_a_pull_request_subject_on_the_review_identity_is_caught(shared: MockRun) -> None:
    """The review role trusting ``pull_request`` (any pull request, no environment protection) is refused."""
    run = copy.deepcopy(shared)
    role = _role(run, "pipeline-review")
    trust = json.loads(role.plain_inputs["assumeRolePolicy"])
    trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] = [PR]
    role.inputs["assumeRolePolicy"] = json.dumps(trust)
    problems = violations(analyse(run), production_subjects=PRODUCTION, review_subjects=REVIEWERS)
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
    problems = violations(analyse(run), production_subjects=PRODUCTION, review_subjects=REVIEWERS)
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
    assert violations(analyse(run), production_subjects=PRODUCTION, review_subjects=REVIEWERS) == []
    # ...but with the old trust (every pipeline principal) it reaches prod from environment:dev.
    deploy = _role(run, "deploy-prod")
    trust = json.loads(deploy.plain_inputs["assumeRolePolicy"])
    trust["Statement"][0]["Principal"]["AWS"].append("arn:aws:iam::444444444444:role/platform-pipeline-dev")
    deploy.inputs["assumeRolePolicy"] = json.dumps(trust)
    problems = violations(analyse(run), production_subjects=PRODUCTION, review_subjects=REVIEWERS)
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
    assert violations(accesses, production_subjects={production, f"{ADO}/platform-azure-prod"}) == []
    matrix = _matrix(accesses)
    github = {subject: reach for subject, reach in matrix.items() if subject.startswith("repo:")}
    assert github == {
        pull_requests: {("aws", "dev", "read"), ("aws", "staging", "read")},
        main: {("aws", "prod", "read"), ("azure", "prod", "read")},
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
