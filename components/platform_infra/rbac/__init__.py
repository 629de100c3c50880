"""Azure role-based access control helpers shared by every component that grants a role.

Role assignment names must be GUIDs and are part of the resource's identity: a random one per run would
replace the assignment on every deployment (and collide with the existing one). They are derived instead
from what the assignment *is* — scope, principal and role — so re-running never duplicates one.
"""

from __future__ import annotations

import uuid

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
