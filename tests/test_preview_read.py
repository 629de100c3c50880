"""The environment stacks' preview roles: the refresh reads of exactly the AWS types the stacks declare.

``preview_read.PREVIEW_READ_ACTIONS`` is the one table of type -> actions (cited there from
terraform-provider-aws's read functions); here the types come from the offline plans of every shipped
environment stack and every example, so a new resource type without an entry fails before a real
``pulumi preview --refresh`` is refused with AccessDenied on it.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
from platform_infra.cli.mocks import MockRun
from platform_infra.cli.plan import run_stack
from platform_infra.deploy_role import READ_ACTION_PATTERN, DeployRole, DeployRoleArgs
from platform_infra.preview_read import (
    DATA_PLANE_ACTIONS,
    PREVIEW_READ_ACTIONS,
    UNSCOPED_ACTIONS,
    preview_read_actions,
    preview_read_statements,
)
from platform_infra.validation import ValidationError

from tests.conftest import REPO_ROOT, RunProgram, ShippedRuns

ENVIRONMENTS = ("dev", "staging", "prod")
EXAMPLES = ("aws-team", "azure-team", "both-clouds")


def aws_types(run: MockRun) -> set[str]:
    """The AWS resource types a plan declares (providers excluded: they are not read back)."""
    return {r.type for r in run.resources if r.type.startswith("aws:")}


def uncovered(types: set[str]) -> set[str]:
    """The types the preview role could not refresh: no entry in PREVIEW_READ_ACTIONS."""
    return types - set(PREVIEW_READ_ACTIONS)


@pytest.fixture(scope="module")
def example_types() -> dict[str, set[str]]:
    """Each example's AWS types (examples/<name>, its own stack file dev)."""
    return {name: aws_types(run_stack("dev", REPO_ROOT / "examples" / name)[1]) for name in EXAMPLES}


def test_every_aws_type_of_the_shipped_stacks_and_examples_has_read_actions(
    shipped_runs: ShippedRuns, example_types: dict[str, set[str]]
) -> None:
    declared = {stack: aws_types(shipped_runs(stack)[1]) for stack in ENVIRONMENTS} | example_types
    assert all(declared[stack] for stack in ENVIRONMENTS), declared
    assert {stack: uncovered(types) for stack, types in declared.items() if uncovered(types)} == {}
    # The table holds no type nobody declares (each entry is a read the role would hold for nothing).
    assert set(PREVIEW_READ_ACTIONS) == set().union(*declared.values())
    # A type the table lacks is reported (an S3 bucket in some stack would need its own reads).
    assert uncovered(declared["dev"] | {"aws:s3/bucket:Bucket"}) == {"aws:s3/bucket:Bucket"}


def _preview_policies(shared: MockRun) -> dict[str, dict[str, Any]]:
    return {
        env: json.loads(
            shared.one("aws:iam/rolePolicy:RolePolicy", f"readonly-{env}-deploy").inputs["policy"]
        )
        for env in ENVIRONMENTS
    }


def test_the_preview_roles_hold_exactly_the_table_scoped_to_their_account(shipped_runs: ShippedRuns) -> None:
    shared = shipped_runs("shared")[1]
    accounts = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
    for env, policy in _preview_policies(shared).items():
        allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
        assert allows == preview_read_statements("aws", accounts[env], f"{env}-")
        granted = sorted(a for s in allows for a in s["Action"])
        assert granted == preview_read_actions()
        for statement in allows:
            unscoped = set(statement["Action"]) <= UNSCOPED_ACTIONS
            # Only the actions without a resource type on *; every other one within this account.
            assert (statement["Resource"] == "*") == unscoped, statement
            assert unscoped or f":{accounts[env]}:" in statement["Resource"], statement
        [lambda_read] = [s for s in allows if s["Sid"] == "ReadLambda"]
        assert lambda_read["Resource"] == f"arn:aws:lambda:*:{accounts[env]}:function:{env}-*"
    # No managed policy on any preview role (ReadOnlyAccess was one).
    previews = {r.urn for r in shared.of_type("platform:iam:DeployRole") if r.name.startswith("readonly-")}
    assert len(previews) == 3
    attachments = shared.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert [a.name for a in attachments if a.parent in previews] == []


def _data_plane(action: str) -> list[str]:
    """The data-plane actions a granted action (possibly a wildcard) covers."""
    return [wanted for wanted in DATA_PLANE_ACTIONS if fnmatch.fnmatchcase(wanted, action)]


def test_the_preview_policy_reads_no_data_plane(shipped_runs: ShippedRuns) -> None:
    """No log events, objects, parameter or secret values, items, messages or decryption; every action a read
    by IAM's naming (Get, List, Describe), none a wildcard."""
    assert {a: _data_plane(a) for a in preview_read_actions() if _data_plane(a)} == {}
    assert all(READ_ACTION_PATTERN.fullmatch(a) for a in preview_read_actions())
    for policy in _preview_policies(shipped_runs("shared")[1]).values():
        granted = [a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]]
        assert [a for a in granted if _data_plane(a)] == []
    # What ReadOnlyAccess allows on * is caught (AWS managed policy reference: CloudWatchLogsReadOnlyAccess,
    # AmazonS3ReadOnlyAccess, AmazonSSMReadOnlyAccess, all part of it).
    assert _data_plane("logs:Get*") and _data_plane("s3:Get*") and _data_plane("ssm:Get*")
    assert _data_plane("logs:FilterLogEvents") and _data_plane("logs:StartQuery")


def test_a_deploy_role_refuses_a_write_among_its_read_statements(pulumi_run: RunProgram) -> None:
    """read_statements may read IAM configuration, so they must be reads: one line naming the argument."""

    def program() -> None:
        DeployRole(
            "readonly-dev",
            DeployRoleArgs(
                role_name="platform-preview",
                account_id="111111111111",
                trusted_principal_arns=["arn:aws:iam::444444444444:role/platform-preview-dev"],
                read_statements=[
                    {"Effect": "Allow", "Action": ["iam:GetRole", "iam:PutRolePolicy"], "Resource": "*"}
                ],
            ),
        )

    with pytest.raises(
        ValidationError,
        match=r"^stack 'dev': DeployRole\(readonly-dev\)\.read_statements\[0\]: .*'iam:PutRolePolicy'",
    ):
        pulumi_run(program)
