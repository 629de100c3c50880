"""stacks/program.py: every shipped stack runs offline, and nothing uses a default provider."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT

SHIPPED_STACKS = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO_ROOT.glob("Pulumi.*.yaml")
)


def test_the_three_environments_are_shipped() -> None:
    assert {"dev", "staging", "prod"} <= set(SHIPPED_STACKS)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_resource_uses_an_explicit_provider_of_this_run(shipped_runs, stack: str) -> None:
    _, run = shipped_runs(stack)
    provider_urns = {r.urn for r in run.resources if r.is_provider}
    custom = [r for r in run.resources if r.custom and not r.is_provider]
    for resource in custom:
        assert resource.provider, f"{resource.type} '{resource.name}' would use a default provider"
        assert resource.provider_urn in provider_urns, (
            f"{resource.name}: provider {resource.provider_urn} unknown"
        )
    assert not [r for r in run.resources if r.is_provider and r.name.startswith("default")]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_environment_stacks_export_where_they_deploy(shipped_runs, stack: str) -> None:
    outputs = shipped_runs(stack)[1].stack_outputs
    assert outputs["environment"] == stack
    assert outputs["tier"] == stack
    assert outputs["awsDeployRoleArn"].startswith(f"arn:aws:iam::{outputs['awsAccountId']}:role/")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_apps_read_their_secrets_from_the_stacks_vault_with_both_slots(shipped_runs, stack: str) -> None:
    _, run = shipped_runs(stack)
    vault_name = run.one("azure-native:keyvault:Vault").inputs["vaultName"]
    reference = f"@Microsoft.KeyVault(SecretUri=https://{vault_name}.vault.azure.net/secrets/database-admin-password/)"
    for settings_type in ("WebAppApplicationSettings", "WebAppApplicationSettingsSlot"):
        (api_settings,) = [
            r for r in run.of_type(f"azure-native:web:{settings_type}") if r.name.startswith("api-")
        ]
        assert api_settings.inputs["properties"]["DATABASE_PASSWORD"] == reference
    granted = {
        r.name
        for r in run.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith("4633458b-17de-408a-b874-0445c86b69e6")
    }
    # Only the app that reads the vault (keyVaultSettings) gets Secrets User, on both slots.
    assert granted == {f"api-{slot}-secrets-user" for slot in ("production", "staging")}
