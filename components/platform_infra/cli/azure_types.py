"""Where each azure-native resource type lives in Azure Resource Manager: ARM type, name parameter, id path.

The mocks use it to hand out resource ids and names in ARM's real format, and ``infra export --format arm``
to write each resource with its ARM type. All three come from azure-native's own metadata: its
``reports/tokenPaths.json`` maps every resource token to the ARM REST path its provider sends the PUT to
(e.g. ``azure-native:keyvault:Vault`` -> ``.../providers/Microsoft.KeyVault/vaults/{vaultName}``). The package
vendors the entries of the tokens this library declares in ``cli/data/azure_native_token_paths.json``
(repository, path and commit recorded there; refreshed by ``tools/extract_token_paths.py``), and
:func:`arm_placement` reads the ARM type and the name parameter off each path. An unlisted type is reported
as having no ARM counterpart, never guessed.

Autonaming follows azure-native's provider (``provider/pkg/provider/provider.go``, ``getDefaultName``):
``random`` is the logical name plus 8 random hex characters, ``uuid`` a random UUID (role assignments),
and a fixed name is what the API requires (``default``, ``appsettings``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

TOKEN_PATHS = "data/azure_native_token_paths.json"


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


@dataclass(frozen=True)
class ArmPlacement:
    """What an ARM REST path says about its resource."""

    arm_type: str
    """Provider namespace plus every resource type segment, e.g. ``Microsoft.Web/sites/slots``."""
    name_param: str | None
    """The path parameter naming the resource itself (None when the last segment is fixed)."""
    fixed_name: str | None
    """The last segment when it is a literal (``.../config/appsettings`` -> ``appsettings``)."""
    id_template: str
    """The path as a resource id template: the own name as ``{@}``, a scope parameter without its slash."""


# A resource group's path has no provider segment; its ARM type is Microsoft.Resources/resourceGroups
# (ARM template reference, "Microsoft.Resources resourceGroups"), and ARM writes the segment resourceGroups.
_RESOURCE_GROUP = re.compile(r"^/subscriptions/\{subscriptionId\}/resource[gG]roups/\{(\w+)\}$")
_PLACEHOLDER = re.compile(r"^\{([^}]+)\}$")


def arm_placement(path: str) -> ArmPlacement:
    """The ARM type, own-name parameter and id template of an ARM REST path from azure-native's metadata.

    The resource is the part after the last ``/providers/`` (an extension resource such as a role assignment
    or a diagnostic setting sits under its scope's path): the provider namespace, then alternating type and
    name segments. ``/{scope}/...`` and ``/{resourceUri}/...`` take a full resource id, which starts with its
    own slash.
    """
    rg = _RESOURCE_GROUP.match(path)
    if rg:
        template = "/subscriptions/{subscriptionId}/resourceGroups/{@}"
        return ArmPlacement("Microsoft.Resources/resourceGroups", rg.group(1), None, template)
    head, found, tail = path.rpartition("/providers/")
    segments = tail.split("/")
    if not found or len(segments) < 3 or len(segments) % 2 == 0 or any(not s for s in segments):
        raise ValueError(f"not an ARM resource path (namespace, then type/name pairs): {path}")
    namespace, rest = segments[0], segments[1:]
    own = _PLACEHOLDER.match(rest[-1])
    arm_type = "/".join([namespace, *rest[0::2]])
    # Some specs spell the segment resourcegroups; ids are case-insensitive and ARM returns resourceGroups.
    head = re.sub(r"/resourcegroups/", "/resourceGroups/", head)
    if re.match(r"^/\{[^}]+\}$", head):  # an extension resource's scope is itself an id
        head = head[1:]
    template = "/".join([head + "/providers", namespace, *rest[:-1], "{@}"])
    if own:
        return ArmPlacement(arm_type, own.group(1), None, template)
    return ArmPlacement(arm_type, None, rest[-1], template)


@functools.cache
def token_paths() -> dict[str, Any]:
    """The vendored extract of azure-native's ``reports/tokenPaths.json`` (``source`` and ``tokenPaths``)."""
    return json.loads(resources.files("platform_infra.cli").joinpath(TOKEN_PATHS).read_text())


# What the path cannot say. Role assignments are autonamed with a UUID (the API requires a GUID name;
# provider.go getDefaultName). A storage account's blob service is always named "default": the installed
# SDK documents blob_services_name as "Blob Service Name must be 'default'"
# (pulumi_azure_native/storage/blob_service_properties.py), while the path keeps it a parameter.
_AUTONAME = {"azure-native:authorization:RoleAssignment": "uuid"}
_FIXED_NAME = {"azure-native:storage:BlobServiceProperties": "default"}


def _azure_types() -> dict[str, AzureType]:
    types: dict[str, AzureType] = {}
    for token, path in token_paths()["tokenPaths"].items():
        placement = arm_placement(path)
        fixed = _FIXED_NAME.get(token, placement.fixed_name)
        types[token] = AzureType(
            placement.arm_type,
            None if fixed else placement.name_param,
            placement.id_template,
            autoname=_AUTONAME.get(token, "random"),
            fixed_name=fixed,
        )
    return types


AZURE_TYPES: dict[str, AzureType] = _azure_types()
"""ARM placement of every azure-native type this library declares (from the vendored token paths)."""

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
