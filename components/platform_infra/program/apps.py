"""Declares the stack's blue/green web apps (``platform:apps``) with :class:`BlueGreenAppService`."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from platform_infra.app_service import BlueGreenAppService, BlueGreenAppServiceArgs
from platform_infra.config import StackConfig
from platform_infra.environment import EnvironmentProviders
from platform_infra.validation import ValidationError

SecretReference = Callable[[str], pulumi.Output[str]]
"""Turns a Key Vault secret name into an app setting value ``@Microsoft.KeyVault(SecretUri=...)``."""


def declare_apps(
    config: StackConfig,
    providers: EnvironmentProviders,
    *,
    secret_reference: SecretReference | None = None,
    log_analytics_workspace_id: pulumi.Input[str] | None = None,
) -> list[BlueGreenAppService]:
    """One :class:`BlueGreenAppService` per entry of ``platform:apps``, in config order.

    :param config: the validated stack config.
    :param providers: the environment's providers (every child resource uses them).
    :param secret_reference: resolves ``keyVaultSettings`` secret names to Key Vault reference values;
        required as soon as any app has ``keyVaultSettings``.
    :param log_analytics_workspace_id: workspace for the apps' Application Insights components.
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
                ),
                opts=providers.resource_options(),
            )
        )
    return services


def app_outputs(services: list[BlueGreenAppService]) -> dict[str, dict[str, pulumi.Output[str] | str]]:
    """What a release pipeline needs per app (export as the ``apps`` stack output).

    ``pulumi stack output apps`` then gives ``--resource-group``, ``--app`` and ``--health-path`` for
    ``infra release``.
    """
    return {
        service.logical_name: {
            "resourceGroupName": service.resource_group_name,
            "appName": service.app_name,
            "productionHostName": service.default_host_name,
            "stagingHostName": service.staging_host_name,
            "healthCheckPath": service.health_check_path,
        }
        for service in services
    }
