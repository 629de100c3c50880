"""Azure built-in role GUIDs in the code against Azure's own table (rbac/builtin_roles.json).

The data file is copied from Azure's built-in roles reference
(learn.microsoft.com/azure/role-based-access-control/built-in-roles, the 'Built-in role | Description | ID'
tables); it names its source. A role GUID that is
not Azure's (the old table's User Access Administrator ``...7773c6a72e9c``) passed the privileged-role
guard and granted the real role unrestricted; these tests make such a typo fail.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest
from platform_infra import key_vault, state_backend
from platform_infra.config.bootstrap import AZURE_BUILTIN_ROLES, AZURE_PRIVILEGED_ROLES
from platform_infra.pipeline_identity import AzureRoleGrant, constrained_assignment_condition
from platform_infra.rbac import (
    BUILTIN_ROLE_GUIDS,
    PRIVILEGED_ROLE_GUIDS,
    RBAC_ADMINISTRATOR,
    ROLE_ASSIGNMENT_NAMESPACE,
    is_privileged_role,
)
from platform_infra.validation import ValidationError

from tests.conftest import REPO_ROOT

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _azure_table() -> dict[str, str]:
    data: dict[str, Any] = json.loads(
        resources.files("platform_infra.rbac").joinpath("builtin_roles.json").read_text(encoding="utf-8")
    )
    assert "learn.microsoft.com" in data["source"]
    return data["roles"]


def test_every_named_role_guid_is_azures() -> None:
    table = _azure_table()
    for name, guid in {**BUILTIN_ROLE_GUIDS, **PRIVILEGED_ROLE_GUIDS}.items():
        assert table[name] == guid, name
    assert AZURE_BUILTIN_ROLES == BUILTIN_ROLE_GUIDS
    assert AZURE_PRIVILEGED_ROLES == PRIVILEGED_ROLE_GUIDS
    assert table["Key Vault Secrets User"] == key_vault.KEY_VAULT_SECRETS_USER
    assert table["Key Vault Secrets Officer"] == key_vault.KEY_VAULT_SECRETS_OFFICER
    assert table["Storage Blob Data Contributor"] == state_backend.STORAGE_BLOB_DATA_CONTRIBUTOR
    assert table["Key Vault Crypto User"] == state_backend.KEY_VAULT_CRYPTO_USER
    assert table["Role Based Access Control Administrator"] == RBAC_ADMINISTRATOR


def test_no_guid_literal_in_the_source_is_an_unknown_role() -> None:
    """Any GUID written in the package is a role from Azure's table, or the assignment-name namespace."""
    known = {g.lower() for g in _azure_table().values()} | {str(ROLE_ASSIGNMENT_NAMESPACE)}
    unknown = []
    for path in (REPO_ROOT / "components" / "platform_infra").rglob("*.py"):
        for guid in GUID.findall(path.read_text(encoding="utf-8")):
            # Placeholder ids in docstrings (all zeros / repeated digits) are not roles.
            if len(set(guid.replace("-", ""))) <= 2:
                continue
            if guid.lower() not in known:
                unknown.append((path.name, guid))
    assert unknown == []


@pytest.mark.parametrize(
    "role", ["Owner", "User Access Administrator", "Role Based Access Control Administrator"]
)
def test_privileged_roles_are_recognised_by_name_and_by_guid(role: str) -> None:
    guid = _azure_table()[role]
    assert is_privileged_role(role)
    assert is_privileged_role(guid)
    assert is_privileged_role(guid.upper())
    assert not is_privileged_role(_azure_table()["Contributor"])


@pytest.mark.parametrize("role", ["User Access Administrator", "Owner"])
def test_a_privileged_guid_is_refused_as_a_grant_and_as_an_assignable_role(role: str) -> None:
    from platform_infra.pipeline_identity import (
        AzurePipelineIdentity,
        AzurePipelineIdentityArgs,
        GitHubSubjects,
    )

    guid = _azure_table()[role]
    grant = AzureRoleGrant(
        name="x",
        scope="/subscriptions/11111111-1111-4111-8111-111111111111",
        role_definition_guid=guid,
        subscription_id="11111111-1111-4111-8111-111111111111",
    )
    with pytest.raises(ValidationError, match="privileged role"):
        AzurePipelineIdentity(
            "p",
            AzurePipelineIdentityArgs(
                identity_name="platform-pipeline",
                resource_group_name="rg",
                location="westeurope",
                github=GitHubSubjects(repository="o/r", environments=["dev"]),
                grants=[grant],
            ),
        )
    with pytest.raises(ValidationError, match="privileged role"):
        constrained_assignment_condition([guid])
