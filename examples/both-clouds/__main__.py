import pulumi
from platform_infra import (
    AwsTarget,
    AzureTarget,
    Environment,
    EnvironmentProviders,
    EnvironmentProvidersArgs,
    GeneratedSecretSpec,
    LogGroups,
    LogGroupsArgs,
    LogGroupSpec,
    SecretVault,
    SecretVaultArgs,
)

env = Environment(
    name="dev",
    tier="dev",
    aws=AwsTarget(account_id="111111111111", region="eu-west-1", deploy_role_name="platform-deploy"),
    azure=AzureTarget(
        subscription_id="11111111-1111-4111-8111-111111111111",
        tenant_id="99999999-9999-4999-8999-999999999999",
        location="westeurope",
    ),
    tags={"owner": "team-a", "cost-centre": "CC-1"},
)
providers = EnvironmentProviders(
    "dev", EnvironmentProvidersArgs(environment=env, project=pulumi.get_project())
)

# Every component takes the providers through its options; its children inherit them.
LogGroups(
    "app",
    LogGroupsArgs(environment=env, groups=[LogGroupSpec("/team-a/api")], retention_days=30),
    opts=providers.resource_options(),
)
SecretVault(
    "team-a",
    SecretVaultArgs(environment=env, vault_name="kv-team-a-dev", secrets=[GeneratedSecretSpec("api-key")]),
    opts=providers.resource_options(),
)
