"""Known IAM privilege-escalation paths, checked on a policy document (one definition for tests and pack).

A principal that may create or change IAM roles and policies, or hand roles to compute services, can
give itself any permission unless every such right is fenced in (Rhino Security Labs' catalogue of AWS IAM
privilege escalation methods; AWS IAM User Guide, "Permissions boundaries for IAM entities" and
"Granting a user permissions to pass a role to an AWS service"). The fences this checks for:

- creating or changing a role's permissions (``iam:CreateRole``, ``PutRolePolicy``, ``AttachRolePolicy``,
  ``DetachRolePolicy``, ``DeleteRolePolicy``, ``PutRolePermissionsBoundary``) only under a role path and
  only with the ``iam:PermissionsBoundary`` condition key naming a boundary (a role created without it
  could hold AdministratorAccess);
- ``iam:PassRole`` only on roles under a path and only to named services (``iam:PassedToService``);
- never on every resource: rewriting managed policy versions (``iam:CreatePolicyVersion``,
  ``SetDefaultPolicyVersion``), trust policies (``UpdateAssumeRolePolicy``), removing boundaries
  (``DeleteRolePermissionsBoundary``), users' and groups' policies and credentials (``CreateAccessKey``,
  ``CreateLoginProfile``, ``UpdateLoginProfile``, ``AttachUserPolicy``, ``PutUserPolicy``,
  ``AttachGroupPolicy``, ``PutGroupPolicy``, ``AddUserToGroup``), ``sts:AssumeRole``, and changing any
  Lambda function's code or role (``lambda:UpdateFunctionCode``, ``UpdateFunctionConfiguration``: the
  function runs with a role someone else chose).

Wildcards count: ``iam:*``, ``iam:Put*`` or ``*`` grant the actions they match.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

#: Role-permission changes: need a role path and the iam:PermissionsBoundary condition.
BOUNDED_ROLE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)
#: Never on every resource (and never without a path).
UNSCOPED_ESCALATION_ACTIONS = (
    "iam:AddUserToGroup",
    "iam:AttachGroupPolicy",
    "iam:AttachUserPolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreatePolicyVersion",
    "iam:DeleteRolePermissionsBoundary",
    "iam:PutGroupPolicy",
    "iam:PutUserPolicy",
    "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateLoginProfile",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "sts:AssumeRole",
)
PASS_ROLE = "iam:PassRole"
#: GitHub's OIDC issuer host: trust policies test ``<host>:sub`` and ``<host>:aud``.
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
#: Tag on pipeline roles: ``read-only`` or ``deploy`` (what the role can reach).
ACCESS_TAG = "platform:access"
BOUNDARY_KEY = "iam:PermissionsBoundary"
PASSED_TO_SERVICE_KEY = "iam:PassedToService"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _granted(statement: Mapping[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(a).lower()) for a in _list(statement.get("Action")))


def _condition_keys(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    condition = statement.get("Condition")
    if isinstance(condition, Mapping):
        for operator, body in condition.items():
            if isinstance(body, Mapping) and not str(operator).startswith("ForAnyValue"):
                for key, value in body.items():
                    keys.setdefault(str(key).lower(), []).extend(str(v) for v in _list(value))
    return keys


def _everywhere(resources: Iterable[str]) -> bool:
    """True when the resources cover every role/function: '*' or an ARN ending in a bare wildcard."""
    for resource in resources:
        tail = resource.split(":", 5)[-1] if resource.startswith("arn:") else resource
        if resource == "*" or tail in {"*", "role/*", "function:*", "policy/*", "user/*", "group/*"}:
            return True
    return False


def escalation_findings(document: Mapping[str, Any] | None) -> list[str]:
    """One line per escalation path the policy document allows (empty: none found)."""
    findings: list[str] = []
    if not isinstance(document, Mapping):
        return findings
    for index, statement in enumerate(_list(document.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        where = f"Statement[{index}]"
        if statement.get("NotAction") is not None:
            findings.append(f"{where} uses NotAction, which grants every IAM action it does not list")
            continue
        resources = [str(r) for r in _list(statement.get("Resource"))] or ["*"]
        everywhere = _everywhere(resources)
        keys = _condition_keys(statement)
        for action in BOUNDED_ROLE_ACTIONS:
            if not _granted(statement, action):
                continue
            if BOUNDARY_KEY.lower() not in keys:
                findings.append(f"{where} allows {action} without the {BOUNDARY_KEY} condition")
            elif everywhere:
                findings.append(f"{where} allows {action} on every role (no role path)")
        if _granted(statement, PASS_ROLE):
            if everywhere:
                findings.append(f"{where} allows {PASS_ROLE} on every role")
            if PASSED_TO_SERVICE_KEY.lower() not in keys:
                findings.append(f"{where} allows {PASS_ROLE} without the {PASSED_TO_SERVICE_KEY} condition")
        for action in UNSCOPED_ESCALATION_ACTIONS:
            if _granted(statement, action) and everywhere:
                findings.append(f"{where} allows {action} on every resource")
    return findings
