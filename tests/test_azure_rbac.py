"""components/azure_rbac.py: role definition ids and deterministic role assignment names."""

from __future__ import annotations

import uuid

from platform_infra.rbac import role_assignment_name, role_definition_id

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SUBSCRIPTION_SCOPE = "/subscriptions/11111111-1111-4111-8111-111111111111"
SCOPE = f"{SUBSCRIPTION_SCOPE}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"


def test_role_definition_id_is_the_full_arm_id() -> None:
    assert role_definition_id("11111111-1111-4111-8111-111111111111", SECRETS_USER) == (
        "/subscriptions/11111111-1111-4111-8111-111111111111/providers/Microsoft.Authorization/"
        f"roleDefinitions/{SECRETS_USER}"
    )


def test_assignment_name_is_a_stable_guid_per_scope_principal_and_role() -> None:
    name = role_assignment_name(SCOPE, "web-production", SECRETS_USER)
    assert uuid.UUID(name).version == 5
    assert name == role_assignment_name(SCOPE, "web-production", SECRETS_USER)
    # ARM compares scopes case-insensitively, so casing must not create a second assignment.
    assert name == role_assignment_name(SCOPE.upper(), "web-production", SECRETS_USER)


def test_assignment_name_differs_when_any_part_differs() -> None:
    names = {
        role_assignment_name(SCOPE, "web-production", SECRETS_USER),
        role_assignment_name(SCOPE, "web-staging", SECRETS_USER),
        role_assignment_name(SCOPE + "2", "web-production", SECRETS_USER),
        role_assignment_name(SCOPE, "web-production", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"),
    }
    assert len(names) == 4
