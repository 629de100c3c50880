"""The Pulumi program: composes the library's components for one stack from its config."""

from __future__ import annotations

import pulumi

from platform_infra.config import load_stack_config
from platform_infra.environment import EnvironmentProviders, EnvironmentProvidersArgs
from platform_infra.program.apps import app_outputs, declare_apps
from platform_infra.program.bootstrap import declare_bootstrap
from platform_infra.program.network import declare_network, declare_registry, declare_vault_endpoint
from platform_infra.program.observability import (
    declare_app_monitoring,
    declare_aws_observability,
    declare_log_analytics,
    monitored_apps,
    observability_outputs,
)
from platform_infra.program.secrets import declare_vault, declare_vault_access, vault_outputs


def main() -> None:
    """Declare every resource of the current stack.

    Config is validated in full first, so a bad value stops the run before anything is registered.
    Capabilities are declared in dependency order: the Log Analytics workspace (logs land there), the
    Key Vault (apps reference its secrets), the network and the vault's private endpoint (the apps reach
    the vault through it), the registry, the apps (with their own vault and registry grants), then what
    needs the apps (the deployer's vault access, diagnostic settings and alerts), then the AWS logs and
    alarms.
    """
    stack = pulumi.get_stack()
    config = load_stack_config(stack)
    if config.bootstrap is not None:
        # The shared-services stack (Pulumi.shared.yaml): pipeline identity, deploy roles, state backend.
        declare_bootstrap(config.bootstrap, pulumi.get_project())
        return
    env = config.environment

    providers = EnvironmentProviders(
        env.name, EnvironmentProvidersArgs(environment=env, project=pulumi.get_project())
    )

    workspace = declare_log_analytics(config, providers)
    workspace_id = workspace.workspace_id if workspace is not None else None
    vault = declare_vault(
        config, providers, log_analytics_workspace_id=workspace_id, deployment_id=config.deployment_id
    )
    network = declare_network(config, providers)
    # The vault reached privately: its private endpoint and DNS record exist before any app resolves it.
    endpoint = (
        declare_vault_endpoint(config, providers, network, vault)
        if network is not None and vault is not None
        else None
    )
    registry = declare_registry(config, providers)
    apps = declare_apps(
        config,
        providers,
        secret_reference=vault.reference if vault is not None else None,
        log_analytics_workspace_id=workspace_id,
        vault=vault,
        network=network,
        registry=registry,
        settings_depend_on=[endpoint.dns_zone_group] if endpoint is not None else [],
    )
    pulumi.export("apps", app_outputs(apps, config))
    if vault is not None:
        # The apps' own Secrets User grants live with each app (their settings wait for them); the vault
        # keeps the deployer's Secrets Officer.
        declare_vault_access(config, providers, vault, {})
        pulumi.export("vault", vault_outputs(vault))
    declare_app_monitoring(config, providers, monitored_apps(apps), workspace)
    aws_observability = declare_aws_observability(config, providers)
    pulumi.export("observability", observability_outputs(workspace, aws_observability))

    pulumi.export("environment", env.name)
    pulumi.export("tier", env.tier.value)
    pulumi.export("awsDeployRoleArn", providers.aws_role_arn)
    pulumi.export("awsAccountId", env.aws.account_id)
    pulumi.export("azureSubscriptionId", env.azure.subscription_id)
