"""Declares the stack's network path (``platform:network``), the vault's private endpoint and the
container registry (``platform:registry``)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from platform_infra.config import StackConfig
from platform_infra.environment import EnvironmentProviders
from platform_infra.key_vault import SecretVault
from platform_infra.network import (
    VAULT_PRIVATE_DNS_ZONE,
    EnvironmentNetwork,
    EnvironmentNetworkArgs,
    ServicePrivateEndpoint,
    ServicePrivateEndpointArgs,
)
from platform_infra.registry import ContainerRegistry, ContainerRegistryArgs


@dataclass(frozen=True)
class RegistryRef:
    """The registry the container apps pull from.

    :param id: its ARM id (an Output when the stack creates it).
    :param scope: the same id as a plain string (for deterministic role assignment names).
    """

    id: pulumi.Input[str]
    scope: str


def declare_network(config: StackConfig, providers: EnvironmentProviders) -> EnvironmentNetwork | None:
    """The environment's VNet with one integration subnet per app, or None without ``platform:network``."""
    network = config.network
    if network is None:
        return None
    return EnvironmentNetwork(
        "network",
        EnvironmentNetworkArgs(
            environment=config.environment,
            address_space=network.address_space,
            private_endpoint_subnet=network.private_endpoint_subnet,
            app_subnets=network.app_subnets,
            resource_group_name=network.resource_group_name,
        ),
        opts=providers.resource_options(),
    )


def declare_vault_endpoint(
    config: StackConfig, providers: EnvironmentProviders, network: EnvironmentNetwork, vault: SecretVault
) -> ServicePrivateEndpoint:
    """The vault's private endpoint, its A record in ``privatelink.vaultcore.azure.net``."""
    return ServicePrivateEndpoint(
        "vault-endpoint",
        ServicePrivateEndpointArgs(
            environment=config.environment,
            resource_group_name=network.resource_group_name,
            subnet_id=network.private_endpoint_subnet_id,
            target_resource_id=vault.vault_id,
            group_id="vault",
            private_dns_zone_id=network.private_dns_zone_ids[VAULT_PRIVATE_DNS_ZONE],
        ),
        opts=providers.resource_options(),
    )


def declare_registry(config: StackConfig, providers: EnvironmentProviders) -> RegistryRef | None:
    """The registry of ``platform:registry``: the existing one by id, or one created here."""
    registry = config.registry
    if registry is None:
        return None
    if registry.id is not None:
        return RegistryRef(id=registry.id, scope=registry.id)
    created = ContainerRegistry(
        "registry",
        ContainerRegistryArgs(
            environment=config.environment,
            registry_name=registry.registry_name,
            sku=registry.sku or "Basic",
            resource_group_name=registry.resource_group_name,
        ),
        opts=providers.resource_options(),
    )
    return RegistryRef(id=created.registry_id, scope=created.scope)


__all__ = ["RegistryRef", "declare_network", "declare_registry", "declare_vault_endpoint"]
