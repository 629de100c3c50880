"""stacks/config/vault.py and the shipped stacks' vaults: keys validated and named in errors, no leaks."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest
from platform_infra.cli.mocks import is_secret_value, unwrap_secrets
from platform_infra.cli.plan import build_plan
from platform_infra.config import DictConfigSource, load_stack_config
from platform_infra.key_vault import RotationKind, RotationPolicy
from platform_infra.validation import ValidationError

from tests.conftest import ShippedRuns

ENVIRONMENT: dict[str, Any] = {
    "aws": {"accountId": "111111111111", "region": "eu-west-1", "deployRoleName": "platform-deploy"},
    "azure": {
        "subscriptionId": "11111111-1111-4111-8111-111111111111",
        "tenantId": "99999999-9999-4999-8999-999999999999",
        "location": "westeurope",
    },
    "tags": {"owner": "platform-team", "cost-centre": "CC-1001"},
}
VAULT: dict[str, Any] = {
    "name": "kv-platform-dev-001",
    "allowedIpRanges": ["203.0.113.0/24"],
    "deployerPrincipalId": "44444444-4444-4444-8444-44444444440A",
    "secrets": [
        {
            "name": "database-admin-password",
            "rotation": "every_90_days",
            "expiresInDays": 120,
            "specials": "!#",
        },
        {
            "name": "api-signing-key",
            "length": 64,
            "rotation": "every_deploy",
            "special": False,
            "minSpecial": 0,
        },
        {"name": "partner-webhook-secret", "rotation": {"policy": "every_n_days", "days": 7}},
        {"name": "legacy", "expiresOn": "2027-12-31", "contentType": "application/x-password"},
    ],
}


def _load(tier: str = "dev", **changes: Any) -> Any:
    vault = copy.deepcopy(VAULT)
    for path, value in changes.items():
        target: Any = vault
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    values = {**copy.deepcopy(ENVIRONMENT), "tier": tier, "environment": tier, "vault": vault}
    return load_stack_config(tier, DictConfigSource(values)).vault


def test_vault_config_becomes_typed_specs() -> None:
    vault = _load()
    assert vault.name == "kv-platform-dev-001"
    assert (vault.purge_protection, vault.public_network_access, vault.default_action) == (
        True,
        "Enabled",
        "Deny",
    )
    assert vault.allowed_ip_ranges == ("203.0.113.0/24",)
    assert vault.deployer_principal_id == "44444444-4444-4444-8444-44444444440a"
    db, signing, webhook, legacy = vault.secrets
    assert (db.rotation, db.expires_in_days, db.override_special, db.length) == (
        RotationPolicy.every_n_days(90),
        120,
        "!#",
        32,
    )
    assert (signing.rotation.kind, signing.length, signing.special) == (RotationKind.EVERY_DEPLOY, 64, False)
    assert webhook.rotation == RotationPolicy.every_n_days(7)
    assert (legacy.rotation.kind, legacy.expires_on, legacy.content_type) == (
        RotationKind.NEVER,
        date(2027, 12, 31),
        "application/x-password",
    )


def test_no_vault_key_means_no_vault() -> None:
    values = {**copy.deepcopy(ENVIRONMENT), "tier": "dev"}
    assert load_stack_config("dev", DictConfigSource(values)).vault is None


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"secrets__1__length": 16}, "platform:vault.secrets[1].length"),
        ({"secrets__0__name": "db_password"}, "platform:vault.secrets[0].name"),
        ({"secrets__0__name": "x" * 128}, "platform:vault.secrets[0].name"),
        ({"secrets__3__name": "API-signing-key"}, "platform:vault.secrets[3].name"),
        ({"secrets__0__rotation": "weekly"}, "platform:vault.secrets[0].rotation"),
        ({"secrets__0__rotation": {"policy": "every_n_days"}}, "platform:vault.secrets[0].rotation.days"),
        ({"secrets__0__rotation": {"policy": "never", "days": 3}}, "platform:vault.secrets[0].rotation.days"),
        ({"secrets__0__expiresInDays": 90}, "platform:vault.secrets[0].expiresInDays"),
        ({"secrets__3__expiresInDays": 30}, "platform:vault.secrets[3].expiresInDays"),
        ({"secrets__3__expiresOn": "next year"}, "platform:vault.secrets[3].expiresOn"),
        ({"secrets__0__minLower": 40}, "platform:vault.secrets[0].minLower"),
        ({"secrets__1__minSpecial": 1}, "platform:vault.secrets[1].minSpecial"),
        ({"secrets__0__specials": "abc"}, "platform:vault.secrets[0].specials"),
        ({"secrets__0__contentTyp": "text/plain"}, "platform:vault.secrets[0].contentTyp"),
        ({"name": "kv--platform"}, "platform:vault.name"),
        ({"allowedIpRanges": ["10.0.0.1/8"]}, "platform:vault.allowedIpRanges[0]"),
        ({"allowedSubnetIds": ["subnet-1"]}, "platform:vault.allowedSubnetIds[0]"),
        ({"deployerPrincipalId": "pipeline"}, "platform:vault.deployerPrincipalId"),
        ({"publicNetworkAccess": "enabled"}, "platform:vault.publicNetworkAccess"),
        ({"purgeProtecton": True}, "platform:vault.purgeProtecton"),
    ],
)
def test_bad_values_are_refused_naming_the_key(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _load(**changes)
    assert caught.value.key == key, str(caught.value)
    assert "stack 'dev'" in str(caught.value)


def test_purge_protection_off_is_refused_in_prod_only() -> None:
    with pytest.raises(ValidationError) as caught:
        _load("prod", purgeProtection=False)
    assert caught.value.key == "platform:vault.purgeProtection"
    assert "prod" in str(caught.value)
    assert _load("staging", purgeProtection=False).purge_protection is False


def test_firewall_allow_all_is_refused_in_prod() -> None:
    with pytest.raises(ValidationError, match=r"platform:vault\.defaultAction"):
        _load("prod", defaultAction="Allow")


# -- the shipped stacks ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_plan(shipped_runs: ShippedRuns) -> tuple[dict[str, Any], Any]:
    files, run = shipped_runs("prod")
    return build_plan(files, run), run


def test_prod_plan_has_a_purge_protected_rbac_vault(prod_plan: tuple[dict[str, Any], Any]) -> None:
    plan, _ = prod_plan
    (vault,) = [r for r in plan["resources"] if r["type"] == "azure-native:keyvault:Vault"]
    assert vault["inputs"]["properties"]["enablePurgeProtection"] is True
    assert vault["inputs"]["properties"]["enableRbacAuthorization"] is True
    assert vault["options"]["protect"] is True


def test_prod_plan_shows_secrets_as_secret_and_no_password_in_clear(
    prod_plan: tuple[dict[str, Any], Any],
) -> None:
    plan, run = prod_plan
    passwords = run.of_type("random:index/randomPassword:RandomPassword")
    assert len(passwords) == 3
    text = json.dumps(plan, default=str)  # as `infra plan --json` writes it (assets shown by name)
    for password in passwords:
        assert is_secret_value(password.outputs["result"])
        assert unwrap_secrets(password.outputs["result"]) not in text
    secrets = [r for r in plan["resources"] if r["type"] == "azure-native:keyvault:Secret"]
    # Redacted at the leaf: the value is masked, the rest of the secret's properties stays reviewable.
    assert [s["inputs"]["properties"]["value"] for s in secrets] == ["[secret]"] * len(secrets)
    assert {s["inputs"]["properties"]["contentType"] for s in secrets} == {"text/plain"}


def test_prod_exports_vault_and_secret_uris(prod_plan: tuple[dict[str, Any], Any]) -> None:
    plan, _ = prod_plan
    vault = plan["outputs"]["vault"]
    assert vault["uri"] == "https://kv-platform-prod-001.vault.azure.net/"
    assert vault["secretUris"]["database-admin-password"] == (
        "https://kv-platform-prod-001.vault.azure.net/secrets/database-admin-password"
    )


def test_prod_grants_both_slots_of_every_reading_app_and_the_deployer(
    prod_plan: tuple[dict[str, Any], Any],
) -> None:
    """Apps that read the vault (keyVaultSettings: api) get Secrets User per slot; web reads nothing."""
    _, run = prod_plan
    names = {
        r.name
        for r in run.of_type("azure-native:authorization:RoleAssignment")
        if r.name.endswith(("-secrets-user", "-secrets-officer"))
    }
    expected = {f"api-{slot}-secrets-user" for slot in ("production", "staging")}
    assert names == expected | {"vault-access-deployer-secrets-officer"}


def test_signing_key_rotates_every_deploy_in_dev_only(shipped_runs: ShippedRuns) -> None:
    rotations = {}
    for stack in ("dev", "staging", "prod"):
        _, run = shipped_runs(stack)
        keepers = run.one("random:index/randomPassword:RandomPassword", "vault-api-signing-key-password")
        rotations[stack] = keepers.inputs["keepers"]["rotation"]
    assert rotations == {"dev": "every_deploy", "staging": "every_30_days", "prod": "every_30_days"}


def test_prod_vault_logs_go_to_the_environment_workspace(prod_plan: tuple[dict[str, Any], Any]) -> None:
    _, run = prod_plan
    setting = run.one("azure-native:monitor:DiagnosticSetting", "vault-diagnostics")
    (workspace,) = run.of_type("azure-native:operationalinsights:Workspace")
    assert setting.inputs["workspaceId"].endswith(f"/{workspace.outputs['name']}")
    assert setting.inputs["resourceUri"].endswith("/providers/Microsoft.KeyVault/vaults/kv-platform-prod-001")
