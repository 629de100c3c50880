"""Where each azure-native resource type lives in Azure Resource Manager: ARM type, name parameter, id path.

The mocks use it to hand out resource ids and names in ARM's real format, and ``infra export --format arm``
to write each resource with its ARM type. The ARM types and id paths are the ones the Azure REST API
reference gives for each operation's PUT path (e.g. ``PUT .../providers/Microsoft.KeyVault/vaults/
{vaultName}``); the name parameter is the one azure-native maps to the path's last segment. Only the types
this library declares are listed; an unlisted type is reported as having no ARM counterpart, never guessed.

Autonaming follows azure-native's provider (``provider/pkg/provider/provider.go``, ``getDefaultName``):
``random`` is the logical name plus 8 random hex characters, ``uuid`` a random UUID (role assignments),
and a fixed name is what the API requires (``default``, ``appsettings``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
IDENTITIES = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"


@dataclass(frozen=True)
class AzureType:
    """One azure-native resource type's place in ARM."""

    arm_type: str
    """ARM resource type, e.g. ``Microsoft.KeyVault/vaults``."""
    name_key: str | None
    """The input naming the resource itself (None: the name is fixed, see ``fixed_name``)."""
    path: str
    """Resource id with ``{input}`` placeholders; ``{@}`` is the resource's own name."""
    autoname: str = "random"
    """What azure-native does when the name input is absent: ``random`` or ``uuid``."""
    fixed_name: str | None = None


AZURE_TYPES: dict[str, AzureType] = {
    "azure-native:resources:ResourceGroup": AzureType(
        "Microsoft.Resources/resourceGroups",
        "resourceGroupName",
        "/subscriptions/{subscriptionId}/resourceGroups/{@}",
    ),
    "azure-native:keyvault:Vault": AzureType(
        "Microsoft.KeyVault/vaults", "vaultName", RG + "/providers/Microsoft.KeyVault/vaults/{@}"
    ),
    "azure-native:keyvault:Secret": AzureType(
        "Microsoft.KeyVault/vaults/secrets",
        "secretName",
        RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}/secrets/{@}",
    ),
    "azure-native:keyvault:Key": AzureType(
        "Microsoft.KeyVault/vaults/keys",
        "keyName",
        RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}/keys/{@}",
    ),
    "azure-native:storage:StorageAccount": AzureType(
        "Microsoft.Storage/storageAccounts",
        "accountName",
        RG + "/providers/Microsoft.Storage/storageAccounts/{@}",
    ),
    "azure-native:storage:BlobServiceProperties": AzureType(
        "Microsoft.Storage/storageAccounts/blobServices",
        None,
        RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/{@}",
        fixed_name="default",
    ),
    "azure-native:storage:BlobContainer": AzureType(
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "containerName",
        RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{@}",
    ),
    "azure-native:managedidentity:UserAssignedIdentity": AzureType(
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
        IDENTITIES + "/{@}",
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": AzureType(
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
        "federatedIdentityCredentialResourceName",
        IDENTITIES + "/{resourceName}/federatedIdentityCredentials/{@}",
    ),
    "azure-native:authorization:RoleAssignment": AzureType(
        "Microsoft.Authorization/roleAssignments",
        "roleAssignmentName",
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{@}",
        autoname="uuid",
    ),
    "azure-native:web:AppServicePlan": AzureType(
        "Microsoft.Web/serverfarms", "name", RG + "/providers/Microsoft.Web/serverfarms/{@}"
    ),
    "azure-native:web:WebApp": AzureType(
        "Microsoft.Web/sites", "name", RG + "/providers/Microsoft.Web/sites/{@}"
    ),
    "azure-native:web:WebAppSlot": AzureType(
        "Microsoft.Web/sites/slots", "slot", RG + "/providers/Microsoft.Web/sites/{name}/slots/{@}"
    ),
    "azure-native:web:WebAppApplicationSettings": AzureType(
        "Microsoft.Web/sites/config",
        None,
        RG + "/providers/Microsoft.Web/sites/{name}/config/{@}",
        fixed_name="appsettings",
    ),
    "azure-native:web:WebAppApplicationSettingsSlot": AzureType(
        "Microsoft.Web/sites/slots/config",
        None,
        RG + "/providers/Microsoft.Web/sites/{name}/slots/{slot}/config/{@}",
        fixed_name="appsettings",
    ),
    "azure-native:web:WebAppSlotConfigurationNames": AzureType(
        "Microsoft.Web/sites/config",
        None,
        RG + "/providers/Microsoft.Web/sites/{name}/config/{@}",
        fixed_name="slotConfigNames",
    ),
    "azure-native:operationalinsights:Workspace": AzureType(
        "Microsoft.OperationalInsights/workspaces",
        "workspaceName",
        RG + "/providers/Microsoft.OperationalInsights/workspaces/{@}",
    ),
    "azure-native:monitor:ActionGroup": AzureType(
        "Microsoft.Insights/actionGroups",
        "actionGroupName",
        RG + "/providers/Microsoft.Insights/actionGroups/{@}",
    ),
    "azure-native:monitor:MetricAlert": AzureType(
        "Microsoft.Insights/metricAlerts", "ruleName", RG + "/providers/Microsoft.Insights/metricAlerts/{@}"
    ),
    "azure-native:monitor:DiagnosticSetting": AzureType(
        "Microsoft.Insights/diagnosticSettings",
        "name",
        "{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{@}",
    ),
    "azure-native:applicationinsights:Component": AzureType(
        "Microsoft.Insights/components", "resourceName", RG + "/providers/Microsoft.Insights/components/{@}"
    ),
}
"""ARM placement of every azure-native type this library declares."""

_API_VERSION = re.compile(r"Uses Azure REST API version (\d{4}-\d{2}-\d{2}(?:-preview)?)\.")


@functools.cache
def api_version(type_token: str) -> str | None:
    """The ARM API version the installed azure-native SDK uses for ``type_token``, or None.

    azure-native generates each resource class with the sentence "Uses Azure REST API version <v>." in its
    docstring (e.g. ``pulumi_azure_native/keyvault/vault.py``); that is the version its provider sends.
    """
    _, module, cls = type_token.split(":")
    try:
        sdk = importlib.import_module(f"pulumi_azure_native.{module}")
        resource_class = getattr(sdk, cls)
    except (ImportError, AttributeError):
        return None
    # The sentence is in the docstrings of the typed __init__ overloads, which Python does not keep.
    source = Path(inspect.getsourcefile(resource_class) or "")
    match = _API_VERSION.search(source.read_text()) if source.is_file() else None
    return match.group(1) if match else None
