"""The custom Azure role ``infra release`` needs: exactly the ARM actions of the calls the release flow makes.

Each action is tied to the call in ``platform_infra.release`` that needs it (``flow.py``, ``gates.py``).
Action names: Microsoft Learn, "Azure permissions for Web and Mobile" (Microsoft.Web), "Azure permissions for
Monitor" (Microsoft.Insights) and "Azure permissions for Management and governance" (Microsoft.Resources);
the App Service REST reference for the operations (e.g. "Web Apps - Swap Slot Slot": ``POST .../sites/{name}/
slots/{slot}/slotsswap`` answering 202 with a ``Location`` to poll). The tags write goes through the Tags API
("Tags - Update At Scope", ``PATCH {scope}/providers/Microsoft.Resources/tags/default``), which Azure
authorizes as ``Microsoft.Resources/tags/write`` ("Use tags to organize your Azure resources": write access
to the ``Microsoft.Resources/tags`` resource type), so the release identity needs no ``Microsoft.Web/sites/
write`` (a site PATCH could change anything on the site).

The role is defined once per subscription (role definition GUIDs are deterministic, uuid5) and assigned to
the identity that runs ``infra release`` in the pipelines (docs/bootstrap.md, "Release grants").
"""

from __future__ import annotations

import uuid

from platform_infra.rbac import ROLE_ASSIGNMENT_NAMESPACE

#: ARM action -> the release flow's calls that need it.
RELEASE_ACTIONS: dict[str, str] = {
    "Microsoft.Web/sites/read": "web_apps.get: the production site, its tags (release record and lock), "
    "slotSwapStatus, targetSwapSlot, inProgressOperationId",
    "Microsoft.Web/sites/slots/read": "web_apps.get_slot: the staging slot and its host name",
    "Microsoft.Web/sites/config/read": "web_apps.get_configuration, list_slot_configuration_names: "
    "production's linuxFxVersion and rampUpRules, the sticky setting names",
    "Microsoft.Web/sites/slots/config/read": "web_apps.get_configuration_slot: the staging slot's image",
    "Microsoft.Web/sites/config/list/action": "web_apps.list_application_settings (POST .../config/"
    "appsettings/list): production's settings for the canary's sticky-settings check",
    "Microsoft.Web/sites/slots/config/list/action": "web_apps.list_application_settings_slot: staging's",
    "Microsoft.Web/sites/config/write": "web_apps.update_configuration: rampUpRules (canary steps, abort)",
    "Microsoft.Web/sites/slots/config/write": "web_apps.update_configuration_slot: the staging image "
    "(deploy --image)",
    "Microsoft.Web/sites/instances/read": "web_apps.list_instance_identifiers: production's instances",
    "Microsoft.Web/sites/slots/instances/read": "web_apps.list_instance_identifiers_slot: staging's",
    "Microsoft.Web/sites/slots/slotsswap/action": "web_apps.begin_swap_slot (POST .../slots/{slot}/"
    "slotsswap): the swap, the swap-back and the rollback",
    "Microsoft.Web/sites/slots/operationresults/read": "polling the swap's Location (long-running operation)",
    "Microsoft.Web/sites/slots/operations/read": "polling the swap's Azure-AsyncOperation status",
    "Microsoft.Resources/tags/write": "PATCH {site}/providers/Microsoft.Resources/tags/default: the release "
    "record (previous, current, at) and the release lock",
    "Microsoft.Insights/metrics/read": "MonitorManagementClient.metrics.list: Requests, Http5xx, "
    "HttpResponseTime, HealthCheckStatus of both slots (canary and bake gates)",
}

RELEASE_ROLE_NAME = "Platform App Service Release"
#: Namespace of the release role's definition GUIDs (one per subscription).
RELEASE_ROLE_NAMESPACE = uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, "role-definition/platform-release")


def release_role_guid(subscription_id: str) -> str:
    """The release role's definition GUID in ``subscription_id`` (the same on every run)."""
    return str(uuid.uuid5(RELEASE_ROLE_NAMESPACE, subscription_id.lower()))


def release_role_name(environment: str) -> str:
    """Role names are unique per tenant, so each environment's definition carries the environment's name."""
    return f"{RELEASE_ROLE_NAME} ({environment})"
