"""An Azure-only team: a blue/green web app whose slots read a generated database password from Key Vault."""

import pulumi
from components.naming import vault_name  # the team's own `components` package, beside this file
from platform_infra import (
    AzureTarget,
    BlueGreenAppService,
    BlueGreenAppServiceArgs,
    Environment,
    EnvironmentProviders,
    EnvironmentProvidersArgs,
    GeneratedSecretSpec,
    SecretVault,
    SecretVaultArgs,
    VaultAccess,
    VaultAccessArgs,
)

config = pulumi.Config()
environment = Environment(
    name=pulumi.get_stack(),
    tier=config.require("tier"),
    azure=AzureTarget(
        subscription_id=config.require("subscriptionId"),
        tenant_id=config.require("tenantId"),
        location=config.require("location"),
    ),
    tags={"owner": config.require("owner"), "cost-centre": config.require("costCentre")},
)
providers = EnvironmentProviders(
    environment.name, EnvironmentProvidersArgs(environment=environment, project=pulumi.get_project())
)
opts = providers.resource_options()

vault = SecretVault(
    "shop",
    SecretVaultArgs(
        environment=environment,
        vault_name=vault_name("shop", environment.name),
        secrets=[GeneratedSecretSpec("db-password")],
        purge_protection=environment.is_prod,
    ),
    opts=opts,
)
app = BlueGreenAppService(
    "shop",
    BlueGreenAppServiceArgs(
        environment=environment,
        sku="S1",
        capacity=1,
        runtime="PYTHON|3.12",
        app_settings={"DB_PASSWORD": vault.reference("db-password")},
    ),
    opts=opts,
)
VaultAccess(
    "shop-vault-access",
    VaultAccessArgs(
        vault=vault,
        app_principals={f"shop-{slot}": principal for slot, principal in app.principal_ids.items()},
    ),
    opts=opts,
)
pulumi.export("url", app.default_host_name.apply(lambda host: f"https://{host}"))
