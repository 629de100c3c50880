"""An Azure Container Registry the stack creates for its container apps (``platform:registry.name``).

Admin user disabled: apps pull with their slots' managed identities (AcrPull, granted by
:class:`~platform_infra.app_service.BlueGreenAppService`), so no registry password exists to leak. A stack
that uses an existing registry passes its id instead and creates nothing here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from platform_infra.environment import Environment
from platform_infra.validation import (
    AZURE_RESOURCE_GROUP_ALLOWED,
    AZURE_RESOURCE_GROUP_PATTERN,
    ValidationError,
)

REGISTRY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9]{5,50}$")
REGISTRY_SKUS = ("Basic", "Standard", "Premium")


@dataclass(frozen=True)
class ContainerRegistryArgs:
    """Arguments of :class:`ContainerRegistry`.

    :param environment: the environment (location, tags, subscription).
    :param registry_name: globally unique name, 5-50 letters and digits (``<name>.azurecr.io``).
    :param sku: ``Basic``, ``Standard`` or ``Premium``.
    :param resource_group_name: an existing group, or None for ``rg-<environment>-registry``.
    """

    environment: Environment
    registry_name: str
    sku: str = "Basic"
    resource_group_name: str | None = None


class ContainerRegistry(pulumi.ComponentResource):
    """A registry with the admin user disabled (type ``platform:registry:ContainerRegistry``)."""

    registry: azure_native.containerregistry.Registry
    """The registry."""
    registry_id: pulumi.Output[str]
    """Its ARM id (the scope of the apps' AcrPull)."""
    scope: str
    """The same id computed from known names (stable input for role assignment names)."""
    login_server: str
    """``<name>.azurecr.io``."""

    def __init__(
        self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        arg = f"ContainerRegistry({name})"
        if not REGISTRY_NAME_PATTERN.fullmatch(args.registry_name):
            raise ValidationError(
                f"{arg}.registry_name",
                "is not a registry name",
                value=args.registry_name,
                allowed="5-50 letters and digits",
            )
        if args.sku not in REGISTRY_SKUS:
            raise ValidationError(
                f"{arg}.sku", "is not a registry SKU", value=args.sku, allowed=", ".join(REGISTRY_SKUS)
            )
        if args.resource_group_name is not None and not AZURE_RESOURCE_GROUP_PATTERN.fullmatch(
            args.resource_group_name
        ):
            raise ValidationError(
                f"{arg}.resource_group_name",
                "is not a resource group name",
                value=args.resource_group_name,
                allowed=AZURE_RESOURCE_GROUP_ALLOWED,
            )
        super().__init__("platform:registry:ContainerRegistry", name, None, opts)
        env = args.environment
        tags = dict(env.tags)
        group_name = args.resource_group_name or f"rg-{env.name}-registry"
        depends: list[pulumi.Resource] = []
        if args.resource_group_name is None:
            depends.append(
                azure_native.resources.ResourceGroup(
                    f"{name}-rg",
                    azure_native.resources.ResourceGroupArgs(
                        resource_group_name=group_name, location=env.azure.location, tags=tags
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.registry = azure_native.containerregistry.Registry(
            name,
            azure_native.containerregistry.RegistryArgs(
                registry_name=args.registry_name,
                resource_group_name=group_name,
                location=env.azure.location,
                sku=azure_native.containerregistry.SkuArgs(name=args.sku),
                # Pulls use managed identities with AcrPull; an admin password would bypass RBAC.
                admin_user_enabled=False,
                anonymous_pull_enabled=False,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        self.registry_id = self.registry.id
        self.scope = (
            f"/subscriptions/{env.azure.subscription_id}/resourceGroups/{group_name}"
            f"/providers/Microsoft.ContainerRegistry/registries/{args.registry_name}"
        )
        self.login_server = f"{args.registry_name.lower()}.azurecr.io"
        self.register_outputs({"registryId": self.registry_id, "loginServer": self.login_server})


__all__ = ["ContainerRegistry", "ContainerRegistryArgs"]
