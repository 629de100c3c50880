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
)
from platform_infra.network import (
    VAULT_PRIVATE_DNS_ZONE,
    EnvironmentNetwork,
    EnvironmentNetworkArgs,
    ServicePrivateEndpoint,
    ServicePrivateEndpointArgs,
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

# The vault denies public traffic, so the app reaches it privately: both slots are VNet-integrated and the
# vault has a private endpoint with its privatelink DNS zone linked to the VNet (docs/network.md).
network = EnvironmentNetwork(
    "network",
    EnvironmentNetworkArgs(
        environment=environment,
        address_space="10.20.0.0/16",
        private_endpoint_subnet="10.20.0.0/27",
        app_subnets={"shop": "10.20.1.0/26"},
    ),
    opts=opts,
)

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
endpoint = ServicePrivateEndpoint(
    "vault-endpoint",
    ServicePrivateEndpointArgs(
        environment=environment,
        resource_group_name=network.resource_group_name,
        subnet_id=network.private_endpoint_subnet_id,
        target_resource_id=vault.vault_id,
        group_id="vault",
        private_dns_zone_id=network.private_dns_zone_ids[VAULT_PRIVATE_DNS_ZONE],
    ),
    opts=opts,
)
# The settings wait for both slots' Secrets User grant and the vault's private DNS record: App Service
# resolves the reference when the settings change, and otherwise only once a day.
app = BlueGreenAppService(
    "shop",
    BlueGreenAppServiceArgs(
        environment=environment,
        sku="S1",
        capacity=1,
        runtime="PYTHON|3.12",
        app_settings={"DB_PASSWORD": vault.reference("db-password")},
        virtual_network_subnet_id=network.app_subnet_ids["shop"],
        role_grants=[vault.secrets_user_grant()],
        settings_depend_on=[endpoint.dns_zone_group],
    ),
    opts=opts,
)
pulumi.export("url", app.default_host_name.apply(lambda host: f"https://{host}"))
