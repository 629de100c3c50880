"""The Pulumi program: composes the library's components for one stack from its config."""

from __future__ import annotations

import pulumi

from components.environment import EnvironmentProviders, EnvironmentProvidersArgs
from stacks.apps import app_outputs, declare_apps
from stacks.config import load_stack_config


def main() -> None:
    """Declare every resource of the current stack.

    Config is validated in full first, so a bad value stops the run before anything is registered.
    Capabilities are declared in dependency order: the Log Analytics workspace (logs land there), the
    Key Vault (apps reference its secrets), the apps, then what needs the apps (vault access for their
    identities, diagnostic settings and alerts), then the AWS logs and alarms.
    """
    stack = pulumi.get_stack()
    config = load_stack_config(stack)
    env = config.environment

    providers = EnvironmentProviders(env.name, EnvironmentProvidersArgs(environment=env, project=pulumi.get_project()))

    # -- capabilities (each adds its declare_* call here, in the order described above) --
    apps = declare_apps(config, providers)
    pulumi.export("apps", app_outputs(apps))

    pulumi.export("environment", env.name)
    pulumi.export("tier", env.tier.value)
    pulumi.export("awsDeployRoleArn", providers.aws_role_arn)
    pulumi.export("awsAccountId", env.aws.account_id)
    pulumi.export("azureSubscriptionId", env.azure.subscription_id)
