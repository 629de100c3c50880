"""Checks across capabilities: what one ``platform:*`` key names must be declared by another.

They run in :func:`platform_infra.config.load_stack_config`, after every key has been read and before the
program registers anything, so a dangling reference never leaves half a stack created (under ``pulumi up``
the resources declared before the failing one would already exist). Each error names the referring key.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from platform_infra.app_service import zone_redundancy
from platform_infra.network import max_integration_instances
from platform_infra.validation import ValidationError
from platform_infra.validation.limits import require_declared, require_unique

if TYPE_CHECKING:
    from platform_infra.config import StackConfig


def check_references(config: StackConfig, stack: str) -> None:
    """Refuse references to things the stack does not declare, and values that must be unique but are not.

    * ``platform:apps[i].keyVaultSettings`` needs ``platform:vault``, and each secret it names must be one
      of ``platform:vault.secrets`` (an unknown name would only fail once the vault exists);
    * ``platform:apps[i].applicationInsights`` needs ``platform:monitoring`` (its workspace);
    * ``platform:apps[i].siteName`` is globally unique in Azure, so at least unique in the stack;
    * alarm subscribers (``platform:alarms.emails``/``httpsEndpoints``) are listed once each: SNS keeps
      one subscription per endpoint, and a second one would be refused as a duplicate resource.
    """
    vault = config.vault
    declared = [spec.name for spec in vault.secrets] if vault is not None else []
    for app in config.apps:
        for setting, secret_name in app.key_vault_settings.items():
            key = f"{app.key}.keyVaultSettings.{setting}"
            if vault is None:
                raise ValidationError(
                    key,
                    "reads a Key Vault secret, but platform:vault is not set",
                    value=secret_name,
                    allowed="declare the vault and the secret in platform:vault, or use appSettings",
                    stack=stack,
                )
            require_declared(
                key, secret_name, declared, what="secret", where="platform:vault.secrets", stack=stack
            )
        if app.application_insights and config.observability.monitoring is None:
            raise ValidationError(
                f"{app.key}.applicationInsights",
                "needs the Log Analytics workspace of platform:monitoring, which is not set",
                value=True,
                allowed="set platform:monitoring, or turn applicationInsights off",
                stack=stack,
            )
    require_unique(
        "platform:apps",
        [(f"{app.key}.siteName", app.site_name) for app in config.apps if app.site_name],
        what="site name",
        casefold=True,
        stack=stack,
    )
    _check_network(config, stack)
    alarms = config.observability.alarms
    if alarms is not None:
        require_unique(
            "platform:alarms.emails",
            [(f"platform:alarms.emails[{i}]", email) for i, email in enumerate(alarms.emails)],
            what="subscriber",
            casefold=True,
            stack=stack,
        )
        require_unique(
            "platform:alarms.httpsEndpoints",
            [(f"platform:alarms.httpsEndpoints[{i}]", url) for i, url in enumerate(alarms.https_endpoints)],
            what="subscriber",
            stack=stack,
        )


ACR_HOST_SUFFIX = ".azurecr.io"


def _check_network(config: StackConfig, stack: str) -> None:
    """The apps' network path, access lists and registry fit together.

    * Key Vault references to a vault that denies public traffic (``defaultAction: Deny`` or public network
      access off) resolve only through the VNet: ``platform:network`` must be set. App Service is not a
      Key Vault trusted service, so ``bypass: AzureServices`` does not let it in.
    * Every app outside an App Service Environment has its own integration subnet (one plan per subnet),
      large enough for its instances; ``appSubnets`` names only apps of the stack.
    * A container app whose image is on Azure Container Registry pulls it with its slots' identities, so
      ``platform:registry`` must name that registry (it gets AcrPull).
    * With apps, ``platform:access`` says who may reach staging and SCM (closed to everyone else).
    """
    vault, network, env = config.vault, config.network, config.environment
    registry = config.registry
    if registry is not None and registry.subscription_id not in (None, env.azure.subscription_id):
        # The pipeline may assign roles only in the stack's own subscription (the shared stack's
        # constrained Role Based Access Control Administrator grant), so AcrPull elsewhere would be refused.
        raise ValidationError(
            "platform:registry.id",
            "is in another subscription: the pipeline grants AcrPull only in this stack's subscription",
            value=registry.id,
            allowed=f"a registry in subscription {env.azure.subscription_id}",
            stack=stack,
        )
    for app in config.apps:
        if app.zone_redundant is not None:
            zone_redundancy(
                f"{app.key}.zoneRedundant",
                app.zone_redundant,
                app.sku,
                app.capacity,
                env.azure.location,
                env.tier,
                stack=stack,
            )
        closed = vault is not None and (
            vault.default_action == "Deny" or vault.public_network_access == "Disabled"
        )
        if app.key_vault_settings and closed and network is None:
            assert vault is not None
            setting = sorted(app.key_vault_settings)[0]
            denying = "defaultAction" if vault.default_action == "Deny" else "publicNetworkAccess"
            raise ValidationError(
                f"{app.key}.keyVaultSettings.{setting}",
                f"cannot resolve: platform:vault.{denying} keeps App Service out (not a trusted service) "
                "and platform:network (VNet integration, the vault's private endpoint) is not set",
                allowed="set platform:network, or platform:vault.defaultAction: Allow outside prod",
                stack=stack,
            )
        if app.image is not None:
            host = app.image.split("/", 1)[0].lower()
            if host.endswith(ACR_HOST_SUFFIX):
                if registry is None:
                    raise ValidationError(
                        f"{app.key}.image",
                        f"is on Azure Container Registry {host}, but platform:registry is not set "
                        "(the slots pull with their own identities and need AcrPull on it)",
                        value=app.image,
                        allowed="set platform:registry.id (or name) to that registry",
                        stack=stack,
                    )
                if registry.login_server != host:
                    raise ValidationError(
                        f"{app.key}.image",
                        f"is on {host}, not on the registry {registry.key} names ({registry.login_server})",
                        value=app.image,
                        allowed=f"an image on {registry.login_server}",
                        stack=stack,
                    )
    if network is not None:
        apps = {app.name: app for app in config.apps}
        for name in network.app_subnets:
            if name not in apps:
                raise ValidationError(
                    f"platform:network.appSubnets.{name}",
                    "names no app of platform:apps",
                    allowed=", ".join(sorted(apps)) or "(no apps)",
                    stack=stack,
                )
        for app in config.apps:
            subnet = network.app_subnets.get(app.name)
            if app.app_service_environment_id is not None:
                if subnet is not None:
                    raise ValidationError(
                        f"platform:network.appSubnets.{app.name}",
                        "is for VNet integration, which apps in an App Service Environment do not use",
                        allowed="remove it",
                        stack=stack,
                    )
                continue
            if subnet is None:
                raise ValidationError(
                    f"platform:network.appSubnets.{app.name}",
                    "is not set: every app needs its own integration subnet (one per App Service plan)",
                    allowed="a /26 (or at least /28) inside platform:network.addressSpace",
                    stack=stack,
                )
            limit = max_integration_instances(ipaddress.ip_network(subnet).prefixlen)
            if app.capacity > limit:
                raise ValidationError(
                    f"{app.key}.capacity",
                    f"needs more addresses than platform:network.appSubnets.{app.name} ({subnet}) has: "
                    f"a scale operation briefly doubles them, so it carries {limit} instances",
                    value=app.capacity,
                    allowed=f"at most {limit}, or a larger subnet",
                    stack=stack,
                )
    if config.apps and config.access is None:
        raise ValidationError(
            "platform:access",
            "is not set: staging slots and SCM sites accept only listed callers, and none are listed",
            allowed="platform:access.trustedIpRanges (runner egress ranges) or trustedSubnetIds",
            stack=stack,
        )


__all__ = ["check_references"]
