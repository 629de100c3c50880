"""An environment's private network path: a virtual network, App Service integration subnets, private
endpoints and the private DNS zones that make service names resolve to them.

Why (docs/network.md has the whole story): the Key Vault denies public traffic by default and App Service
is not one of Key Vault's trusted services, so an app can only resolve a ``@Microsoft.KeyVault(...)``
setting when it reaches the vault privately. Regional VNet integration sends the app's outbound traffic
into the VNet (MicrosoftDocs/azure-docs ``articles/app-service/overview-vnet-integration.md``; Key Vault
references over it: ``app-service-key-vault-references.md``, "Access network-restricted vaults"), and a
private endpoint with the ``privatelink.vaultcore.azure.net`` zone linked to the VNet makes
``<vault>.vault.azure.net`` resolve to the endpoint's private address ("Azure DNS private zones": apps use
the zones linked to their VNet when it has no custom DNS server).

Subnet rules enforced here, from the same VNet integration article ("Subnet requirements", "Limitations"):
one dedicated subnet per App Service plan, delegated to ``Microsoft.Web/serverFarms``, an IPv4 ``/28`` or
larger, IPv4-only address space; one address per plan instance and twice that during a scale operation
(``/28`` carries 5 instances, ``/27`` 13, ``/26`` 29).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native

from platform_infra.environment import Environment
from platform_infra.validation import (
    AZURE_RESOURCE_GROUP_ALLOWED,
    AZURE_RESOURCE_GROUP_PATTERN,
    ValidationError,
)
from platform_infra.validation.limits import require_private_ipv4_cidr

APP_SERVICE_DELEGATION = "Microsoft.Web/serverFarms"
"""The service an App Service integration subnet is delegated to."""

VAULT_PRIVATE_DNS_ZONE = "privatelink.vaultcore.azure.net"
"""Key Vault's private DNS zone (Azure Private Endpoint DNS configuration, "Security": Key Vault)."""

AZURE_RESERVED_ADDRESSES = 5
"""Azure keeps the first four and the last address of every subnet."""

MIN_INTEGRATION_PREFIX = 28
"""The smallest integration subnet Azure accepts (/28)."""

MIN_SUBNET_PREFIX = 29
"""The smallest subnet Azure creates at all (/29)."""


def max_integration_instances(prefix_length: int) -> int:
    """How many plan instances an integration subnet of ``/prefix_length`` carries.

    Each instance takes one address, and a scale-up or SKU change briefly needs twice as many, so half of
    the usable addresses (the VNet integration article's table: /28 -> 5, /27 -> 13, /26 -> 29).
    """
    usable = 2 ** (32 - prefix_length) - AZURE_RESERVED_ADDRESSES
    return usable // 2


@dataclass(frozen=True)
class EnvironmentNetworkArgs:
    """Arguments of :class:`EnvironmentNetwork`.

    :param environment: the environment (location, tags and name come from it).
    :param address_space: the VNet's private IPv4 range, e.g. ``10.10.0.0/16``.
    :param private_endpoint_subnet: the range private endpoints get their addresses from (``/29`` or larger).
    :param app_subnets: app name -> its integration subnet range (``/28`` or larger, ``/26`` recommended);
        one per app because each app has its own App Service plan and a subnet serves one plan.
    :param resource_group_name: an existing resource group; ``rg-<environment>-network`` is created when None.
    :param private_dns_zones: private DNS zones to create and link to the VNet; Key Vault's by default.
    """

    environment: Environment
    address_space: str
    private_endpoint_subnet: str
    app_subnets: Mapping[str, str] = field(default_factory=dict)
    resource_group_name: str | None = None
    private_dns_zones: Sequence[str] = (VAULT_PRIVATE_DNS_ZONE,)


def validate_network_plan(
    key: str,
    address_space: object,
    private_endpoint_subnet: object,
    app_subnets: Mapping[str, object],
    *,
    subnet_keys: Mapping[str, str] | None = None,
    stack: str | None = None,
) -> dict[str, ipaddress.IPv4Network]:
    """Check a VNet's address plan; return subnet label (``private-endpoints`` or app name) -> network.

    :param key: prefix of error keys (``platform:network`` or ``EnvironmentNetwork(dev)``).
    :param subnet_keys: how each subnet's key is spelled (label -> key); ``<key>.<label>`` otherwise.
    """
    names = dict(subnet_keys or {})

    def at(label: str) -> str:
        return names.get(label, f"{key}.{label}")

    space = require_private_ipv4_cidr(at("addressSpace"), address_space, stack=stack)
    wanted: dict[str, object] = {"private-endpoints": private_endpoint_subnet, **app_subnets}
    result: dict[str, ipaddress.IPv4Network] = {}
    for label, value in wanted.items():
        subnet = require_private_ipv4_cidr(at(label), value, stack=stack)
        if not subnet.subnet_of(space):
            raise ValidationError(
                at(label),
                "is outside the address space",
                value=value,
                allowed=f"a range inside {space}",
                stack=stack,
            )
        minimum = MIN_SUBNET_PREFIX if label == "private-endpoints" else MIN_INTEGRATION_PREFIX
        if subnet.prefixlen > minimum:
            raise ValidationError(
                at(label),
                f"is smaller than /{minimum}",
                value=value,
                allowed=f"/{minimum} or larger"
                + (" (/26 recommended)" if minimum == MIN_INTEGRATION_PREFIX else ""),
                stack=stack,
            )
        for other_label, other in result.items():
            if subnet.overlaps(other):
                raise ValidationError(
                    at(label),
                    f"overlaps {at(other_label)} ({other})",
                    value=value,
                    allowed="ranges that do not overlap",
                    stack=stack,
                )
        result[label] = subnet
    return result


class EnvironmentNetwork(pulumi.ComponentResource):
    """The environment's VNet (type ``platform:network:EnvironmentNetwork``).

    Subnets are separate resources created one after another: Azure refuses concurrent changes to subnets
    of one VNet ("another operation is in progress"), and the VNet itself does not list them, which
    pulumi-azure-native (issue #611) and ARM both treat as "keep the existing subnets".
    """

    resource_group_name: pulumi.Output[str]
    """The resource group holding the network."""
    vnet: azure_native.network.VirtualNetwork
    """The virtual network."""
    vnet_id: pulumi.Output[str]
    """ARM id of the virtual network."""
    private_endpoint_subnet_id: pulumi.Output[str]
    """Subnet private endpoints are placed in."""
    app_subnet_ids: dict[str, pulumi.Output[str]]
    """App name -> id of its integration subnet (delegated to Microsoft.Web/serverFarms)."""
    private_dns_zone_ids: dict[str, pulumi.Output[str]]
    """Zone name (``privatelink.vaultcore.azure.net``) -> zone id, each linked to the VNet."""

    def __init__(
        self, name: str, args: EnvironmentNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        arg = f"EnvironmentNetwork({name})"
        if args.resource_group_name is not None and not AZURE_RESOURCE_GROUP_PATTERN.fullmatch(
            args.resource_group_name
        ):
            raise ValidationError(
                f"{arg}.resource_group_name",
                "is not a valid resource group name",
                value=args.resource_group_name,
                allowed=AZURE_RESOURCE_GROUP_ALLOWED,
            )
        validate_network_plan(
            arg,
            args.address_space,
            args.private_endpoint_subnet,
            args.app_subnets,
            subnet_keys={
                "addressSpace": f"{arg}.address_space",
                "private-endpoints": f"{arg}.private_endpoint_subnet",
                **{app: f"{arg}.app_subnets.{app}" for app in args.app_subnets},
            },
        )
        super().__init__("platform:network:EnvironmentNetwork", name, None, opts)
        env = args.environment
        tags = dict(env.tags)
        child = pulumi.ResourceOptions(parent=self)

        if args.resource_group_name is None:
            group = azure_native.resources.ResourceGroup(
                f"{name}-rg",
                azure_native.resources.ResourceGroupArgs(
                    resource_group_name=f"rg-{env.name}-network", location=env.azure.location, tags=tags
                ),
                opts=child,
            )
            self.resource_group_name = group.name
        else:
            self.resource_group_name = pulumi.Output.from_input(args.resource_group_name)
        rg = self.resource_group_name

        self.vnet = azure_native.network.VirtualNetwork(
            f"{name}-vnet",
            azure_native.network.VirtualNetworkInitArgs(
                virtual_network_name=f"vnet-{env.name}",
                resource_group_name=rg,
                location=env.azure.location,
                address_space=azure_native.network.AddressSpaceArgs(address_prefixes=[args.address_space]),
                tags=tags,
            ),
            opts=child,
        )
        self.vnet_id = self.vnet.id

        previous: list[pulumi.Resource] = []

        def subnet(
            label: str,
            prefix: str,
            delegations: list[azure_native.network.DelegationArgs] | None = None,
            endpoint_policies: azure_native.network.VirtualNetworkPrivateEndpointNetworkPolicies
            | None = None,
        ) -> azure_native.network.Subnet:
            resource = azure_native.network.Subnet(
                f"{name}-{label}-subnet",
                azure_native.network.SubnetInitArgs(
                    subnet_name=f"snet-{label}",
                    virtual_network_name=self.vnet.name,
                    resource_group_name=rg,
                    address_prefix=prefix,
                    delegations=delegations,
                    private_endpoint_network_policies=endpoint_policies,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(previous)),
            )
            previous[:] = [resource]
            return resource

        endpoints = subnet(
            "private-endpoints",
            args.private_endpoint_subnet,
            # Network policies (NSG/UDR) on private endpoints stay off, as Azure creates them by default.
            endpoint_policies=azure_native.network.VirtualNetworkPrivateEndpointNetworkPolicies.DISABLED,
        )
        self.private_endpoint_subnet_id = endpoints.id.apply(lambda i: i or "")
        self.app_subnet_ids = {}
        for app, prefix in args.app_subnets.items():
            integration = subnet(
                f"app-{app}",
                prefix,
                delegations=[
                    azure_native.network.DelegationArgs(
                        name="app-service", service_name=APP_SERVICE_DELEGATION
                    )
                ],
            )
            self.app_subnet_ids[app] = integration.id.apply(lambda i: i or "")

        self.private_dns_zone_ids = {}
        for zone_name in args.private_dns_zones:
            label = zone_name.split(".")[1] if zone_name.startswith("privatelink.") else zone_name
            zone = azure_native.privatedns.PrivateZone(
                f"{name}-{label}-zone",
                azure_native.privatedns.PrivateZoneArgs(
                    private_zone_name=zone_name, resource_group_name=rg, location="global", tags=tags
                ),
                opts=child,
            )
            azure_native.privatedns.VirtualNetworkLink(
                f"{name}-{label}-link",
                azure_native.privatedns.VirtualNetworkLinkArgs(
                    private_zone_name=zone.name,
                    resource_group_name=rg,
                    virtual_network_link_name=f"vnet-{env.name}",
                    location="global",
                    # Resolution only: the endpoints' records come from their DNS zone groups.
                    registration_enabled=False,
                    virtual_network=azure_native.privatedns.SubResourceArgs(id=self.vnet.id),
                    tags=tags,
                ),
                opts=child,
            )
            self.private_dns_zone_ids[zone_name] = zone.id
        self.register_outputs(
            {
                "vnetId": self.vnet_id,
                "privateEndpointSubnetId": self.private_endpoint_subnet_id,
                "appSubnetIds": self.app_subnet_ids,
                "privateDnsZoneIds": self.private_dns_zone_ids,
            }
        )


@dataclass(frozen=True)
class ServicePrivateEndpointArgs:
    """Arguments of :class:`ServicePrivateEndpoint`.

    :param environment: the environment (location and tags).
    :param resource_group_name: where the endpoint is created (the network's group).
    :param subnet_id: the private endpoint subnet.
    :param target_resource_id: the service the endpoint connects to (the vault's id).
    :param group_id: the target's sub-resource (``vault`` for Key Vault).
    :param private_dns_zone_id: the zone the endpoint's A record is written to (through a DNS zone group).
    """

    environment: Environment
    resource_group_name: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    target_resource_id: pulumi.Input[str]
    group_id: str
    private_dns_zone_id: pulumi.Input[str]


class ServicePrivateEndpoint(pulumi.ComponentResource):
    """A private endpoint to one Azure service with its DNS record (type
    ``platform:network:ServicePrivateEndpoint``).

    The DNS zone group makes Azure maintain the A record ``<name>`` -> private address in the zone, so the
    service's public name resolves privately inside the VNet and publicly elsewhere.
    """

    endpoint: azure_native.network.PrivateEndpoint
    """The private endpoint."""

    def __init__(
        self, name: str, args: ServicePrivateEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.group_id not in ("vault", "registry", "blob", "sites"):
            raise ValidationError(
                f"ServicePrivateEndpoint({name}).group_id",
                "is not a supported private link sub-resource",
                value=args.group_id,
                allowed="vault, registry, blob, sites",
            )
        super().__init__("platform:network:ServicePrivateEndpoint", name, None, opts)
        env = args.environment
        self.endpoint = azure_native.network.PrivateEndpoint(
            f"{name}-pe",
            azure_native.network.PrivateEndpointArgs(
                private_endpoint_name=f"pe-{name}",
                resource_group_name=args.resource_group_name,
                location=env.azure.location,
                subnet=azure_native.network.SubnetArgs(id=args.subnet_id),
                private_link_service_connections=[
                    azure_native.network.PrivateLinkServiceConnectionArgs(
                        name=f"{name}-{args.group_id}",
                        private_link_service_id=args.target_resource_id,
                        group_ids=[args.group_id],
                    )
                ],
                tags=dict(env.tags),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dns_zone_group = azure_native.network.PrivateDnsZoneGroup(
            f"{name}-dns",
            azure_native.network.PrivateDnsZoneGroupArgs(
                private_dns_zone_group_name="default",
                private_endpoint_name=self.endpoint.name,
                resource_group_name=args.resource_group_name,
                private_dns_zone_configs=[
                    azure_native.network.PrivateDnsZoneConfigArgs(
                        name=args.group_id, private_dns_zone_id=args.private_dns_zone_id
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"endpointId": self.endpoint.id})


__all__ = [
    "APP_SERVICE_DELEGATION",
    "VAULT_PRIVATE_DNS_ZONE",
    "EnvironmentNetwork",
    "EnvironmentNetworkArgs",
    "ServicePrivateEndpoint",
    "ServicePrivateEndpointArgs",
    "max_integration_instances",
    "validate_network_plan",
]
