"""Declares the stack's blue/green web apps (``platform:apps``) with :class:`BlueGreenAppService`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import pulumi

from platform_infra.app_service import (
    AccessRestrictions,
    BlueGreenAppService,
    BlueGreenAppServiceArgs,
    SlotRoleGrant,
    zone_redundancy,
)
from platform_infra.config import StackConfig
from platform_infra.environment import EnvironmentProviders
from platform_infra.key_vault import SecretVault
from platform_infra.network import EnvironmentNetwork
from platform_infra.program.network import RegistryRef
from platform_infra.validation import ValidationError

VAULT_ACCESS_TYPE = "platform:security:VaultAccess"

SecretReference = Callable[[str], pulumi.Output[str]]
"""Turns a Key Vault secret name into an app setting value ``@Microsoft.KeyVault(SecretUri=...)``."""


VAULT_ACCESS_NAME = "vault-access"
"""Logical name of the VaultAccess component that used to hold the apps' Secrets User assignments."""


def declare_apps(
    config: StackConfig,
    providers: EnvironmentProviders,
    *,
    secret_reference: SecretReference | None = None,
    log_analytics_workspace_id: pulumi.Input[str] | None = None,
    vault: SecretVault | None = None,
    network: EnvironmentNetwork | None = None,
    registry: RegistryRef | None = None,
    settings_depend_on: Sequence[pulumi.Resource] = (),
) -> list[BlueGreenAppService]:
    """One :class:`BlueGreenAppService` per entry of ``platform:apps``, in config order.

    Apps that read the vault (``keyVaultSettings``) get Key Vault Secrets User on it for both slots, and
    container apps on the registry get AcrPull; each app's settings wait for its grants. With a network,
    both slots are VNet-integrated through the app's own subnet. Staging slots and SCM sites accept only
    ``platform:access``'s callers; production too when ``productionIpRanges`` is set.

    :param config: the validated stack config.
    :param providers: the environment's providers (every child resource uses them).
    :param secret_reference: resolves ``keyVaultSettings`` secret names to Key Vault reference values;
        required as soon as any app has ``keyVaultSettings``.
    :param log_analytics_workspace_id: workspace for the apps' Application Insights components.
    :param vault: the stack's vault (the scope of the Secrets User grants).
    :param network: the stack's network (integration subnets).
    :param registry: the container registry (the scope of the AcrPull grants).
    :param settings_depend_on: what the settings wait for besides the grants (the vault's private endpoint).
    """
    # Check every app before declaring any, so a bad entry registers nothing.
    for app in config.apps:
        if app.key_vault_settings and secret_reference is None:
            raise ValidationError(
                f"{app.key}.keyVaultSettings",
                "needs a Key Vault, but this stack declares none",
                value=sorted(app.key_vault_settings),
                allowed="configure the stack's Key Vault, or move the values to appSettings",
                stack=pulumi.get_stack(),
            )
        if app.application_insights and log_analytics_workspace_id is None:
            raise ValidationError(
                f"{app.key}.applicationInsights",
                "needs a Log Analytics workspace (classic Application Insights is retired), "
                "but this stack declares none",
                value=True,
                allowed="configure platform:monitoring, or turn applicationInsights off",
                stack=pulumi.get_stack(),
            )
    services = []
    for app in config.apps:
        settings: dict[str, pulumi.Input[str]] = dict(app.app_settings)
        staging_settings: dict[str, pulumi.Input[str]] = dict(app.staging_app_settings)
        if app.secret_settings:
            # Which leaf of platform:apps was secure is unknown here: every value stays secret in state.
            settings = {k: pulumi.Output.secret(v) for k, v in settings.items()}
            staging_settings = {k: pulumi.Output.secret(v) for k, v in staging_settings.items()}
        if secret_reference is not None:
            for setting, secret_name in app.key_vault_settings.items():
                settings[setting] = secret_reference(secret_name)
        grants: list[SlotRoleGrant] = []
        if vault is not None and app.key_vault_settings:
            grants.append(
                dataclasses.replace(
                    vault.secrets_user_grant(),
                    # Declared by the VaultAccess component before: adopt those assignments, since Azure
                    # refuses a second one with the same name while the first still exists.
                    previous_name=f"{VAULT_ACCESS_NAME}-{{app}}-{{slot}}-secrets-user",
                    previous_parent_urn=pulumi.resource.create_urn(VAULT_ACCESS_NAME, VAULT_ACCESS_TYPE),
                )
            )
        on_registry = (
            registry is not None
            and config.registry is not None
            and app.image is not None
            and app.image.lower().startswith(config.registry.login_server + "/")
        )
        access = config.access
        services.append(
            BlueGreenAppService(
                app.name,
                BlueGreenAppServiceArgs(
                    environment=config.environment,
                    sku=app.sku,
                    capacity=app.capacity,
                    container_image=app.image,
                    runtime=app.runtime,
                    health_check_path=app.health_check_path,
                    app_settings=settings,
                    staging_app_settings=staging_settings,
                    sticky_settings=app.sticky_settings,
                    staging_always_on=app.staging_always_on,
                    application_insights=app.application_insights,
                    log_analytics_workspace_id=log_analytics_workspace_id
                    if app.application_insights
                    else None,
                    site_name=app.site_name,
                    virtual_network_subnet_id=network.app_subnet_ids.get(app.name) if network else None,
                    app_service_environment_id=app.app_service_environment_id,
                    zone_redundant=zone_redundancy(
                        f"{app.key}.zoneRedundant",
                        app.zone_redundant,
                        app.sku,
                        app.capacity,
                        config.environment.azure.location,
                        config.environment.tier,
                    ),
                    staging_access=AccessRestrictions(access.trusted_ip_ranges, access.trusted_subnet_ids)
                    if access is not None
                    else None,
                    production_access=AccessRestrictions(
                        access.production_ip_ranges, access.trusted_subnet_ids
                    )
                    if access is not None and access.production_ip_ranges
                    else None,
                    registry_id=registry.id if on_registry and registry is not None else None,
                    registry_scope_key=registry.scope if on_registry and registry is not None else None,
                    role_grants=grants,
                    settings_depend_on=list(settings_depend_on) if app.key_vault_settings else [],
                ),
                opts=providers.resource_options(),
            )
        )
    return services


def app_outputs(
    services: list[BlueGreenAppService], config: StackConfig | None = None
) -> dict[str, dict[str, pulumi.Output[str] | str]]:
    """What a release pipeline needs per app (export as the ``apps`` stack output).

    ``pulumi stack output apps`` then gives ``--resource-group``, ``--app``, ``--health-path`` and, from the
    stack config, ``--version-from`` and ``--instance-from`` for ``infra release``.
    """
    contracts = {app.name: app for app in (config.apps if config is not None else [])}
    outputs: dict[str, dict[str, pulumi.Output[str] | str]] = {}
    for service in services:
        outputs[service.logical_name] = {
            "resourceGroupName": service.resource_group_name,
            "appName": service.app_name,
            "productionHostName": service.default_host_name,
            "stagingHostName": service.staging_host_name,
            "healthCheckPath": service.health_check_path,
        }
        app = contracts.get(service.logical_name)
        if app is not None:
            outputs[service.logical_name] |= {
                "versionFrom": app.version_from,
                "instanceFrom": app.instance_from,
            }
    return outputs
