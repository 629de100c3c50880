"""``platform:network``, ``platform:access``, ``platform:registry``: what the apps need to work once deployed.

* ``platform:network``: the environment's VNet (docs/network.md). Each app gets its own integration subnet
  (one per App Service plan) and the vault a private endpoint, so Key Vault references resolve through the
  VNet while the vault denies public traffic.
* ``platform:access``: who may reach the staging slots and the SCM (Kudu) sites, which are closed to
  everyone else; optionally production too (public otherwise).
* ``platform:registry``: the Azure Container Registry the container apps pull from with their slots' own
  identities (AcrPull): an existing registry's resource id, or a registry the stack creates (admin user
  disabled).

Checks that need other keys (an app's subnet, the registry's subscription, an image's registry) are in
:mod:`platform_infra.config.references`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import model_validator

from platform_infra.config.base import (
    CheckedList,
    Choice,
    ConfigModel,
    PlainMap,
    Problem,
    Text,
    TextList,
    field,
)
from platform_infra.network import validate_network_plan
from platform_infra.registry import REGISTRY_NAME_PATTERN
from platform_infra.validation import (
    AZURE_RESOURCE_GROUP_ALLOWED,
    AZURE_RESOURCE_GROUP_PATTERN,
    ValidationError,
)
from platform_infra.validation.limits import require_public_ipv4_range

REGISTRY_ID_PATTERN = re.compile(
    r"^/subscriptions/(?P<subscription>[0-9a-fA-F-]{36})/resourceGroups/(?P<group>[^/]+)/providers/"
    r"Microsoft\.ContainerRegistry/registries/(?P<name>[A-Za-z0-9]{5,50})$",
    re.IGNORECASE,
)
REGISTRY_ID_ALLOWED = (
    "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<name>"
)
REGISTRY_NAME_ALLOWED = "5-50 letters and digits (Azure Container Registry names)"
SUBNET_ID_PATTERN = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network/"
    r"virtualNetworks/[^/]+/subnets/[^/]+$",
    re.IGNORECASE,
)
SUBNET_ID_ALLOWED = "a subnet resource id (/subscriptions/.../virtualNetworks/<vnet>/subnets/<name>)"
NETWORK_KEY = "platform:network"
_ResourceGroup = Annotated[str, Text(AZURE_RESOURCE_GROUP_PATTERN, AZURE_RESOURCE_GROUP_ALLOWED)]
_PublicRanges = Annotated[
    tuple[str, ...],
    CheckedList(require_public_ipv4_range, {"type": "string"}, allow_any=False),
]


class NetworkConfig(ConfigModel):
    """``platform:network``: the VNet the apps' outbound traffic and the vault's private endpoint use."""

    address_space: Annotated[str, Text(allowed="a private IPv4 range like 10.10.0.0/16")] = field(
        "The VNet's private IPv4 range (RFC 1918), e.g. 10.10.0.0/16."
    )
    private_endpoint_subnet: Annotated[str, Text(allowed="a range inside addressSpace")] = field(
        "The range private endpoints take their addresses from (/29 or larger), e.g. 10.10.0.0/27."
    )
    app_subnets: PlainMap = field(
        "App name -> its integration subnet (/28 or larger, /26 recommended; one per app, since a subnet "
        "serves one App Service plan).",
        {},
    )
    resource_group_name: _ResourceGroup | None = field(
        "An existing resource group for the network; unset creates rg-<environment>-network.", None
    )

    @model_validator(mode="after")
    def _address_plan(self) -> NetworkConfig:
        try:
            validate_network_plan(
                "",
                self.address_space,
                self.private_endpoint_subnet,
                self.app_subnets,
                subnet_keys={
                    "addressSpace": f"{NETWORK_KEY}.addressSpace",
                    "private-endpoints": f"{NETWORK_KEY}.privateEndpointSubnet",
                    **{app: f"{NETWORK_KEY}.appSubnets.{app}" for app in self.app_subnets},
                },
            )
        except ValidationError as error:
            # Keys are full so that "overlaps <other key>" names the other subnet as a user reads it.
            raise Problem.of(error, at=tuple(error.key.removeprefix(f"{NETWORK_KEY}.").split("."))) from None
        return self


class AccessConfig(ConfigModel):
    """``platform:access``: allow lists of the staging slots and SCM sites (and production when set)."""

    trusted_ip_ranges: _PublicRanges = field(
        "Public IPv4 ranges that may reach staging and SCM, e.g. the pipeline runners' egress addresses.", ()
    )
    trusted_subnet_ids: Annotated[tuple[str, ...], TextList(SUBNET_ID_PATTERN, SUBNET_ID_ALLOWED)] = field(
        "Subnets (with a Microsoft.Web service endpoint) that may reach staging and SCM, e.g. self-hosted "
        "runners in the VNet.",
        (),
    )
    production_ip_ranges: _PublicRanges = field(
        "When set, production accepts only these ranges (and trustedSubnetIds); unset keeps it public.", ()
    )

    @model_validator(mode="after")
    def _someone(self) -> AccessConfig:
        if not self.trusted_ip_ranges and not self.trusted_subnet_ids:
            raise Problem(
                "and trustedSubnetIds are both empty: staging and SCM would answer 403 to the pipeline too",
                allowed="the runners' egress ranges, or the subnet of self-hosted runners",
                at=("trustedIpRanges",),
            )
        return self


class RegistryConfig(ConfigModel):
    """``platform:registry``: exactly one of ``id`` (an existing registry) and ``name`` (created here)."""

    id: Annotated[str, Text(REGISTRY_ID_PATTERN, REGISTRY_ID_ALLOWED)] | None = field(
        "Resource id of an existing registry in this stack's subscription.", None
    )
    name: Annotated[str, Text(REGISTRY_NAME_PATTERN, REGISTRY_NAME_ALLOWED)] | None = field(
        "Name of a registry this stack creates (admin user disabled).", None
    )
    sku: Annotated[str, Choice("Basic", "Standard", "Premium")] | None = field(
        "SKU of a registry this stack creates; default Basic.", None
    )
    resource_group_name: _ResourceGroup | None = field(
        "Resource group of a registry this stack creates; unset creates rg-<environment>-registry.", None
    )

    @model_validator(mode="after")
    def _one_source(self) -> RegistryConfig:
        if (self.id is None) == (self.name is None):
            raise Problem(
                "exactly one of id (an existing registry) and name (one this stack creates) must be set",
                allowed="id or name",
                at=("id",),
            )
        if self.id is not None:
            for extra, value in (("sku", self.sku), ("resourceGroupName", self.resource_group_name)):
                if value is not None:
                    raise Problem(
                        "applies only to a registry the stack creates (name)", value=value, at=(extra,)
                    )
        return self

    @property
    def key(self) -> str:
        """The config key that names the registry (for errors found later)."""
        return "platform:registry.id" if self.id is not None else "platform:registry.name"

    @property
    def registry_name(self) -> str:
        """The registry's name, from ``name`` or from ``id``."""
        if self.name is not None:
            return self.name
        match = REGISTRY_ID_PATTERN.fullmatch(self.id or "")
        assert match is not None
        return match["name"]

    @property
    def subscription_id(self) -> str | None:
        """The subscription of an existing registry (lower case); None for one the stack creates."""
        match = REGISTRY_ID_PATTERN.fullmatch(self.id or "")
        return match["subscription"].lower() if match else None

    @property
    def login_server(self) -> str:
        """``<name>.azurecr.io``: what image references of this registry start with (public cloud)."""
        return f"{self.registry_name.lower()}.azurecr.io"


__all__ = ["AccessConfig", "NetworkConfig", "RegistryConfig"]
