"""Azure role-based access control helpers shared by every component that grants a role.

Role assignment names must be GUIDs and are part of the resource's identity: a random one per run would
replace the assignment on every deployment (and collide with the existing one). They are derived instead
from what the assignment *is* — scope, principal and role — so re-running never duplicates one.
"""

from __future__ import annotations

import uuid

#: Azure built-in role definition GUIDs this library uses (the same in every subscription). Each name and
#: GUID is checked by tests against ``builtin_roles.json``, copied from Azure's built-in roles reference.
BUILTIN_ROLE_GUIDS: dict[str, str] = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Monitoring Contributor": "749f88d5-cbae-40b8-bcfc-e573ddc772fa",
    "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
}
#: Roles that can grant any access (assign any role to anyone): never granted unconstrained. Refused by
#: name and by GUID, so a GUID typed into config cannot slip past the name check.
PRIVILEGED_ROLE_GUIDS: dict[str, str] = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}
RBAC_ADMINISTRATOR = PRIVILEGED_ROLE_GUIDS["Role Based Access Control Administrator"]


def is_privileged_role(role: str) -> bool:
    """True for a privileged role given by name or GUID (GUIDs compare case-insensitively, as ARM does)."""
    lowered = role.strip().lower()
    return role in PRIVILEGED_ROLE_GUIDS or lowered in {g.lower() for g in PRIVILEGED_ROLE_GUIDS.values()}


#: Namespace of the deterministic role-assignment names (uuid5).
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("6f1f8a0e-4a53-5d0c-9a52-6b6579766c74")


def role_definition_id(subscription_id: str, role_guid: str) -> str:
    """The full ARM id of a built-in role definition under ``subscription_id``.

    :param subscription_id: subscription GUID the assignment lives in.
    :param role_guid: the built-in role's GUID, e.g. 4633458b-17de-408a-b874-0445c86b69e6.
    """
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"


def role_assignment_name(scope: str, principal_label: str, role_guid: str) -> str:
    """A deterministic role assignment name: the same scope, principal and role give the same GUID.

    :param scope: ARM id the role is granted on (compared case-insensitively, as ARM does).
    :param principal_label: a stable label of the principal (e.g. ``web-production``), not its object id,
        which is only known after deployment.
    :param role_guid: the role definition's GUID.
    """
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, f"{scope.lower()}|{principal_label}|{role_guid}"))
