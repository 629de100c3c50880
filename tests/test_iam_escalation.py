"""Privilege escalation: every IAM policy the shipped stacks declare, against the known escalation paths.

The paths (iam_escalation.py): creating or changing roles' permissions without the iam:PermissionsBoundary
condition or on every role; iam:PassRole on every role or without iam:PassedToService; policy versions,
trust policies, boundaries, users' and groups' policies and credentials, sts:AssumeRole and other Lambda
functions' code on every resource (Rhino Security Labs' AWS IAM privilege escalation methods; AWS IAM User
Guide: permissions boundaries, passing a role to a service).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from platform_infra.cli.main import main
from platform_infra.cli.mocks import MockRun
from platform_infra.iam_escalation import escalation_findings

from tests.conftest import ShippedRuns

POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")

#: The deploy role's actions before this change: every one of them on "*".
OLD_DEPLOY_ACTIONS = [
    "cloudwatch:*",
    "events:*",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "kms:CreateKey",
    "lambda:*",
    "logs:*",
    "sns:*",
]


def _documents(run: MockRun) -> list[tuple[str, Any]]:
    found = []
    for resource in run.resources:
        if resource.type in POLICY_TYPES:
            found.append((resource.name, json.loads(resource.plain_inputs["policy"])))
        if resource.type == "aws:iam/role:Role":
            for inline in resource.plain_inputs.get("inlinePolicies") or []:
                found.append((resource.name, json.loads(inline["policy"])))
    return found


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "shared"])
def test_no_shipped_iam_policy_allows_an_escalation_path(stack: str, shipped_runs: ShippedRuns) -> None:
    documents = _documents(shipped_runs(stack)[1])
    assert documents, stack
    findings = {name: escalation_findings(document) for name, document in documents}
    assert {name: f for name, f in findings.items() if f} == {}


def test_the_shared_stack_declares_the_deploy_roles_policies_with_a_boundary(
    shipped_runs: ShippedRuns,
) -> None:
    names = {name for name, _ in _documents(shipped_runs("shared")[1])}
    assert {"deploy-dev-deploy", "deploy-prod-deploy", "deploy-prod-boundary"} <= names


def test_the_old_deploy_actions_are_escalation_paths() -> None:
    findings = escalation_findings(
        {"Statement": [{"Effect": "Allow", "Action": OLD_DEPLOY_ACTIONS, "Resource": "*"}]}
    )
    text = "\n".join(findings)
    assert "iam:CreateRole without the iam:PermissionsBoundary condition" in text
    assert "iam:PutRolePolicy without the iam:PermissionsBoundary condition" in text
    assert "iam:PassRole on every role" in text
    assert "iam:PassRole without the iam:PassedToService condition" in text
    assert "iam:UpdateAssumeRolePolicy on every resource" in text
    assert "lambda:UpdateFunctionCode on every resource" in text


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Action": "iam:*", "Resource": "*"}, "iam:CreatePolicyVersion on every resource"),
        ({"Action": "*", "Resource": "*"}, "iam:AttachRolePolicy without the iam:PermissionsBoundary"),
        ({"Action": "iam:Put*", "Resource": "arn:aws:iam::1:role/*"}, "iam:PutRolePolicy without"),
        (
            {
                "Action": "iam:CreateRole",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"}},
            },
            "iam:CreateRole on every role (no role path)",
        ),
        (
            {"Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/platform/*"},
            "iam:PassRole without the iam:PassedToService condition",
        ),
        ({"Action": "sts:AssumeRole", "Resource": "*"}, "sts:AssumeRole on every resource"),
        ({"NotAction": "s3:*", "Resource": "*"}, "NotAction"),
    ],
)
def test_escalation_fixtures_fail(statement: dict[str, Any], expected: str) -> None:
    findings = escalation_findings({"Statement": [{"Effect": "Allow", **statement}]})
    assert any(expected in f for f in findings), findings


@pytest.mark.parametrize(
    "statement",
    [
        {
            "Action": ["iam:CreateRole", "iam:PutRolePolicy"],
            "Resource": "arn:aws:iam::1:role/platform/*",
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/platform/b"}},
        },
        {
            "Action": "iam:PassRole",
            "Resource": "arn:aws:iam::1:role/platform/*",
            "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        },
        {"Action": "lambda:*", "Resource": "arn:aws:lambda:*:1:function:dev-*"},
        {"Action": ["logs:*", "sns:*"], "Resource": "*"},
        {"Action": "sts:AssumeRole", "Resource": "arn:aws:iam::1:role/platform-deploy"},
    ],
)
def test_fenced_rights_pass(statement: dict[str, Any]) -> None:
    assert escalation_findings({"Statement": [{"Effect": "Allow", **statement}]}) == []


def test_infra_check_refuses_the_old_broad_actions_naming_the_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    actions = "[" + ", ".join(OLD_DEPLOY_ACTIONS) + "]"
    code = main(["check", "shared", "--set", f"platform:bootstrap.targets[0].allowedActions={actions}"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[MANDATORY] iam-no-privilege-escalation: aws:iam/rolePolicy:RolePolicy" in out
    assert "[MANDATORY] iam-role-changes-need-boundary: aws:iam/rolePolicy:RolePolicy" in out
    assert "iam:PassRole on every role" in out
