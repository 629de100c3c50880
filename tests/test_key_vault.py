"""components/key_vault.py: vault hardening per tier, generated secrets, rotation, access, secrecy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pulumi
import pytest
from platform_infra.cli.mocks import (
    MockRun,
    PlatformMocks,
    is_secret_value,
    run_with_mocks,
    unwrap_secrets,
)
from platform_infra.key_vault import (
    KEY_VAULT_SECRETS_OFFICER,
    KEY_VAULT_SECRETS_USER,
    GeneratedSecretSpec,
    RotationKind,
    RotationPolicy,
    SecretVault,
    SecretVaultArgs,
    VaultAccess,
    VaultAccessArgs,
)
from platform_infra.validation import ValidationError
from pulumi.runtime.mocks import MockResourceArgs

from tests.conftest import make_environment, make_providers

VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
PASSWORD = "random:index/randomPassword:RandomPassword"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
SUBSCRIPTION = "11111111-1111-4111-8111-111111111111"
DEPLOYER = "44444444-4444-4444-8444-444444444444"
RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups"
WORKSPACE = f"{RG}/rg-logs/providers/Microsoft.OperationalInsights/workspaces/w"
SUBNET = f"{RG}/rg-net/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
# 2025-01-20 is day 20108 since 1970-01-01; 30-day periods start on days divisible by 30: this one on
# 2025-01-12 (day 20100), the next on 2025-02-11.
NOW = datetime(2025, 1, 20, 12, 0, tzinfo=UTC)
#: The prod vault's ARM id as the mocks give it: Azure's format (PUT path of Vaults - Create Or Update),
#: from the provider's subscription, the vault's resource group and its name.
VAULT_ID = f"{RG}/rg-prod-vault/providers/Microsoft.KeyVault/vaults/kv-platform-prod"

SPECS = (
    GeneratedSecretSpec(
        "database-admin-password",
        length=40,
        rotation=RotationPolicy.every_n_days(30),
        override_special="!#-_",
        min_special=2,
        content_type="text/plain; charset=utf-8",
        expires_in_days=45,
    ),
    GeneratedSecretSpec(
        "api-signing-key", length=64, special=False, min_special=0, rotation=RotationPolicy.every_deploy()
    ),
    GeneratedSecretSpec("partner-webhook-secret", expires_on=date(2027, 12, 31)),
)


@dataclass
class Result:
    """One program run and what it returned."""

    run: MockRun

    def password(self, secret: str) -> Any:
        return self.run.one(PASSWORD, f"vault-{secret}-password")

    def secret(self, secret: str) -> Any:
        return self.run.one(SECRET, f"vault-{secret}")

    def value(self, secret: str) -> str:
        return unwrap_secrets(self.secret(secret).inputs["properties"])["value"]


def _run(
    tier: str = "dev",
    *,
    specs: Sequence[GeneratedSecretSpec] = SPECS,
    now: datetime = NOW,
    deployment_id: str | None = "deploy-1",
    workspace: str | None = None,
    **overrides: Any,
) -> Result:
    def program() -> None:
        env = make_environment(tier)
        providers = make_providers(env)
        args = SecretVaultArgs(
            environment=env,
            vault_name=f"kv-platform-{tier}",
            secrets=specs,
            allowed_ip_ranges=("203.0.113.0/24", "198.51.100.7"),
            allowed_subnet_ids=(SUBNET,),
            log_analytics_workspace_id=workspace,
            now=now,
            deployment_id=deployment_id,
            **overrides,
        )
        vault = SecretVault("vault", args, opts=providers.resource_options())
        VaultAccess(
            "vault-access",
            VaultAccessArgs(
                vault=vault,
                app_principals={
                    "web-production": pulumi.Output.from_input("aaaaaaaa-0000-4000-8000-000000000001"),
                    "web-staging": pulumi.Output.from_input("aaaaaaaa-0000-4000-8000-000000000002"),
                },
                deployer_principal_id=DEPLOYER,
            ),
            opts=providers.resource_options(),
        )
        pulumi.export("secretUris", vault.secret_uris)
        pulumi.export("vaultUri", vault.vault_uri)
        pulumi.export("reference", vault.reference("database-admin-password"))

    return Result(run_with_mocks(program, stack=tier))


@pytest.fixture(scope="module")
def prod() -> Result:
    return _run("prod", workspace=WORKSPACE)


@pytest.fixture(scope="module")
def dev() -> Result:
    return _run("dev", purge_protection=False)


# -- the vault ---------------------------------------------------------------------------------------------


def test_prod_vault_is_rbac_soft_deleted_purge_protected_and_protected(prod: Result) -> None:
    vault = prod.run.one(VAULT, "vault")
    props = vault.inputs["properties"]
    assert vault.inputs["vaultName"] == "kv-platform-prod"
    assert props["enableRbacAuthorization"] is True
    assert props["accessPolicies"] == []
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == 90
    assert props["enablePurgeProtection"] is True
    assert props["tenantId"] == "99999999-9999-4999-8999-999999999999"
    assert (vault.protect, vault.retain_on_delete) == (True, True)
    resource_group = prod.run.one("azure-native:resources:ResourceGroup", "vault-rg")
    assert resource_group.protect and vault.inputs["resourceGroupName"] == "rg-prod-vault"
    assert resource_group.urn in vault.depends_on


def test_dev_vault_may_turn_purge_protection_off_and_is_not_protected(dev: Result) -> None:
    vault = dev.run.one(VAULT, "vault")
    assert "enablePurgeProtection" not in vault.inputs["properties"]
    assert vault.inputs["properties"]["enableRbacAuthorization"] is True
    assert (vault.protect, vault.retain_on_delete) == (False, False)


def test_firewall_denies_by_default_and_allows_the_listed_ranges_and_subnets(prod: Result) -> None:
    props = prod.run.one(VAULT, "vault").inputs["properties"]
    assert props["publicNetworkAccess"] == "Enabled"
    assert props["networkAcls"] == {
        "bypass": "AzureServices",
        "defaultAction": "Deny",
        "ipRules": [{"value": "203.0.113.0/24"}, {"value": "198.51.100.7"}],
        "virtualNetworkRules": [{"id": SUBNET}],
    }


def test_diagnostic_logs_go_to_the_workspace_only_when_one_is_given(prod: Result, dev: Result) -> None:
    setting = prod.run.one(DIAGNOSTICS)
    assert setting.inputs["workspaceId"] == WORKSPACE
    assert setting.inputs["resourceUri"] == VAULT_ID
    assert {log["categoryGroup"] for log in setting.inputs["logs"]} == {"audit", "allLogs"}
    assert dev.run.of_type(DIAGNOSTICS) == []


def test_resources_are_children_of_the_component_on_the_azure_and_random_providers(prod: Result) -> None:
    component = prod.run.one("platform:security:SecretVault", "vault")
    for resource in [*prod.run.of_type(SECRET), *prod.run.of_type(PASSWORD), prod.run.one(VAULT)]:
        assert resource.parent == component.urn
        expected = "prod-random" if resource.type == PASSWORD else "prod-azure"
        assert resource.provider_urn.endswith(f"::{expected}")


# -- generated secrets -------------------------------------------------------------------------------------


def test_one_secret_per_spec_with_content_type_and_stable_expiry(prod: Result) -> None:
    assert sorted(r.inputs["secretName"] for r in prod.run.of_type(SECRET)) == sorted(s.name for s in SPECS)
    db = unwrap_secrets(prod.secret("database-admin-password").inputs["properties"])
    assert db["contentType"] == "text/plain; charset=utf-8"
    # Period start 2025-01-12 + 45 days, independent of the time of day of the run.
    assert db["attributes"] == {"enabled": True, "expires": datetime(2025, 2, 26, tzinfo=UTC).timestamp()}
    signing = unwrap_secrets(prod.secret("api-signing-key").inputs["properties"])
    # every_deploy: the deployment's UTC day + 90 days, so a saved plan applied later that day still matches.
    assert signing["attributes"]["expires"] == datetime(2025, 4, 20, tzinfo=UTC).timestamp()
    webhook = unwrap_secrets(prod.secret("partner-webhook-secret").inputs["properties"])
    assert webhook["attributes"]["expires"] == datetime(2027, 12, 31, tzinfo=UTC).timestamp()
    assert webhook["contentType"] == "text/plain"
    assert prod.secret("api-signing-key").inputs["vaultName"] == "kv-platform-prod"


def test_password_generator_gets_length_classes_and_specials(prod: Result) -> None:
    db = prod.password("database-admin-password").inputs
    assert (db["length"], db["overrideSpecial"], db["minSpecial"], db["special"]) == (40, "!#-_", 2, True)
    signing = prod.password("api-signing-key").inputs
    assert (signing["length"], signing["special"], signing["minSpecial"]) == (64, False, 0)
    assert "overrideSpecial" not in signing
    assert "result" in prod.password("api-signing-key").additional_secret_outputs


def test_every_password_and_secret_value_is_a_pulumi_secret(prod: Result) -> None:
    for spec in SPECS:
        password = prod.password(spec.name)
        secret = prod.secret(spec.name)
        assert is_secret_value(password.outputs["result"])
        assert is_secret_value(secret.inputs["properties"])
        # The stored value is the generated password itself.
        assert prod.value(spec.name) == unwrap_secrets(password.outputs["result"])


def test_outputs_carry_versionless_uris_and_references_never_values(prod: Result) -> None:
    outputs = prod.run.stack_outputs
    uri = "https://kv-platform-prod.vault.azure.net/secrets/database-admin-password"
    assert outputs["secretUris"]["database-admin-password"] == uri
    assert outputs["reference"] == f"@Microsoft.KeyVault(SecretUri={uri}/)"
    assert outputs["vaultUri"] == "https://kv-platform-prod.vault.azure.net/"
    component = prod.run.one("platform:security:SecretVault", "vault")
    published = json.dumps([unwrap_secrets(outputs), unwrap_secrets(component.outputs)])
    for spec in SPECS:
        assert prod.value(spec.name) not in published


def test_unknown_secret_name_is_refused() -> None:
    def program() -> None:
        env = make_environment("dev")
        vault = SecretVault(
            "vault",
            SecretVaultArgs(environment=env, vault_name="kv-test", secrets=SPECS[:1], now=NOW),
            opts=make_providers(env).resource_options(),
        )
        vault.reference("no-such-secret")

    with pytest.raises(ValidationError, match=r"SecretVault\(kv-test\)\.secret_uri.*no-such-secret"):
        run_with_mocks(program, stack="dev")


# -- rotation ----------------------------------------------------------------------------------------------


def _fingerprint(result: Result) -> dict[str, Any]:
    """What decides each password: the generator's inputs (incl. keepers), its value and the expiry."""
    return {
        spec.name: (
            result.password(spec.name).inputs,
            result.value(spec.name),
            unwrap_secrets(result.secret(spec.name).inputs["properties"])["attributes"],
        )
        for spec in SPECS
    }


def _changed(before: Result, after: Result) -> set[str]:
    first, second = _fingerprint(before), _fingerprint(after)
    return {name for name in first if first[name] != second[name]}


def test_identical_runs_change_no_password(dev: Result) -> None:
    again = _run("dev", purge_protection=False)
    assert _fingerprint(again) == _fingerprint(dev)


def test_later_run_in_the_same_period_changes_nothing_but_every_deploy_secrets(dev: Result) -> None:
    # 2025-02-10 23:59 is the last minute of the period that started 2025-01-12.
    later = _run(
        "dev", purge_protection=False, now=datetime(2025, 2, 10, 23, 59, tzinfo=UTC), deployment_id="d2"
    )
    assert _changed(dev, later) == {"api-signing-key"}


def test_period_rollover_rotates_periodic_secrets_and_never_the_never_ones(dev: Result) -> None:
    rolled = _run("dev", purge_protection=False, now=datetime(2025, 2, 11, tzinfo=UTC), deployment_id="d3")
    assert _changed(dev, rolled) == {"database-admin-password", "api-signing-key"}
    assert rolled.password("database-admin-password").inputs["keepers"] == {
        "rotation": "every_30_days",
        "period": "2025-02-11",
    }
    years_later = _run("dev", purge_protection=False, now=datetime(2031, 6, 1, tzinfo=UTC))
    assert "partner-webhook-secret" not in _changed(dev, years_later)


def test_every_deploy_changes_with_each_deployment_id(dev: Result) -> None:
    assert dev.password("api-signing-key").inputs["keepers"] == {
        "rotation": "every_deploy",
        "deployment": "deploy-1",
    }
    redeploy = _run("dev", purge_protection=False, deployment_id="deploy-2")
    assert _changed(dev, redeploy) == {"api-signing-key"}


def _goal(resource: Any, state: Any) -> dict[str, Any]:
    """The inputs the engine diffs: the program's, with every ``ignore_changes`` path taken from the state's
    inputs (pulumi.com/docs/iac/concepts/options/ignorechanges, "How ignoreChanges works")."""
    goal = json.loads(json.dumps(unwrap_secrets(resource.inputs)))
    old = unwrap_secrets(state.inputs)
    for path in resource.ignore_changes:
        *parents, leaf = path.split(".")
        target, source = goal, old
        for part in parents:
            target, source = target[part], source[part]
        target[leaf] = source[leaf]
    return goal


def test_a_drift_check_holds_every_rotation_that_a_deployment_would_do(dev: Result) -> None:
    """A drift check runs on another day without the deploy's run id: every rotating secret would show a
    change (``every_deploy`` on every run). With hold_rotation the engine keeps keepers and expiry from state,
    so nothing but real drift is reported; without it the same run reports the rotations."""
    later = {"now": datetime(2025, 6, 1, tzinfo=UTC), "deployment_id": None}
    held = _run("dev", purge_protection=False, hold_rotation=True, **later)
    unheld = _run("dev", purge_protection=False, **later)
    for spec in SPECS:
        # The password's goal equals its state, so the engine keeps it and its result: the secret's value
        # (the mocks compute a new one from the new keepers) stays the state's too.
        password = dev.password(spec.name)
        assert _goal(held.password(spec.name), password) == unwrap_secrets(password.inputs), spec.name
        secret = dev.secret(spec.name)
        goal = _goal(held.secret(spec.name), secret)
        goal["properties"]["value"] = unwrap_secrets(secret.inputs)["properties"]["value"]
        assert goal == unwrap_secrets(secret.inputs), spec.name
    assert {
        spec.name
        for spec in SPECS
        if _goal(unheld.password(spec.name), dev.password(spec.name))
        != unwrap_secrets(dev.password(spec.name).inputs)
    } == {"database-admin-password", "api-signing-key"}
    assert held.password("api-signing-key").ignore_changes == ["keepers"]
    assert held.secret("api-signing-key").ignore_changes == ["properties.attributes.expires"]
    assert dev.password("api-signing-key").ignore_changes == []


@pytest.mark.parametrize(
    ("text", "kind", "days"),
    [
        ("never", RotationKind.NEVER, None),
        ("every_deploy", RotationKind.EVERY_DEPLOY, None),
        ("every_30_days", RotationKind.EVERY_N_DAYS, 30),
        ("every_1_day", RotationKind.EVERY_N_DAYS, 1),
    ],
)
def test_rotation_policy_parses_config_spellings(text: str, kind: RotationKind, days: int | None) -> None:
    policy = RotationPolicy.parse(text)
    assert (policy.kind, policy.days) == (kind, days)


@pytest.mark.parametrize("text", ["weekly", "every_0_days", "every_x_days", "every_9999_days", ""])
def test_rotation_policy_refuses_other_spellings(text: str) -> None:
    with pytest.raises(ValidationError, match=r"secrets\[0\]\.rotation"):
        RotationPolicy.parse(text, "secrets[0].rotation")


def test_periods_are_whole_utc_days_from_the_epoch() -> None:
    policy = RotationPolicy.every_n_days(7)
    assert policy.period_start(datetime(1970, 1, 7, 23, 59, tzinfo=UTC)) == datetime(1970, 1, 1, tzinfo=UTC)
    assert policy.period_start(datetime(1970, 1, 8, tzinfo=UTC)) == datetime(1970, 1, 8, tzinfo=UTC)


# -- access ------------------------------------------------------------------------------------------------


def _assignments(result: Result) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in result.run.of_type(ROLE_ASSIGNMENT)}


def test_both_slots_read_secrets_and_the_deployer_manages_them(prod: Result) -> None:
    assignments = _assignments(prod)
    assert set(assignments) == {
        "vault-access-web-production-secrets-user",
        "vault-access-web-staging-secrets-user",
        "vault-access-deployer-secrets-officer",
    }
    roles = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
    for slot, principal in (("production", "000000000001"), ("staging", "000000000002")):
        inputs = assignments[f"vault-access-web-{slot}-secrets-user"]
        assert inputs["roleDefinitionId"] == roles + KEY_VAULT_SECRETS_USER
        assert inputs["principalId"].endswith(principal)
        assert inputs["principalType"] == "ServicePrincipal"
        assert inputs["scope"] == VAULT_ID
    officer = assignments["vault-access-deployer-secrets-officer"]
    assert officer["roleDefinitionId"] == roles + KEY_VAULT_SECRETS_OFFICER
    assert officer["principalId"] == DEPLOYER
    for resource in prod.run.of_type(ROLE_ASSIGNMENT):
        assert resource.delete_before_replace


def test_role_assignment_names_are_deterministic_and_distinct(prod: Result, dev: Result) -> None:
    names = [inputs["roleAssignmentName"] for inputs in _assignments(prod).values()]
    assert len(set(names)) == 3
    again = _run("prod", workspace=WORKSPACE, now=NOW + timedelta(days=400), deployment_id="other")
    assert _assignments(again) == _assignments(prod)
    # Another vault (dev's) gets other names for the same labels.
    assert not set(names) & {inputs["roleAssignmentName"] for inputs in _assignments(dev).values()}


def test_access_refuses_a_deployer_that_is_not_a_guid() -> None:
    def program() -> None:
        env = make_environment("dev")
        providers = make_providers(env)
        vault = SecretVault(
            "vault",
            SecretVaultArgs(environment=env, vault_name="kv-test", now=NOW),
            opts=providers.resource_options(),
        )
        VaultAccess("access", VaultAccessArgs(vault=vault, deployer_principal_id="pipeline"))

    with pytest.raises(ValidationError, match=r"VaultAccess\(access\)\.deployer_principal_id"):
        run_with_mocks(program, stack="dev")


# -- refused inputs ----------------------------------------------------------------------------------------


def _declare(tier: str = "dev", **overrides: Any) -> MockRun:
    def program() -> None:
        env = make_environment(tier)
        args: dict[str, Any] = {"environment": env, "vault_name": "kv-test", "now": NOW, **overrides}
        SecretVault("vault", SecretVaultArgs(**args), opts=make_providers(env).resource_options())

    return run_with_mocks(program, stack=tier)


def _refused(key: str, tier: str = "dev", **overrides: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        _declare(tier, **overrides)
    assert caught.value.key == key, str(caught.value)
    assert f"stack '{tier}'" in str(caught.value)


@pytest.mark.parametrize("name", ["db_password", "", "a" * 128, "pass word", "pässword"])
def test_invalid_secret_names_are_refused(name: str) -> None:
    _refused("SecretVault(vault).secrets[1].name", secrets=[SPECS[0], GeneratedSecretSpec(name)])


@pytest.mark.parametrize("length", [23, 8, 1025])
def test_invalid_lengths_are_refused(length: int) -> None:
    _refused("SecretVault(vault).secrets[0].length", secrets=[GeneratedSecretSpec("ok", length=length)])


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        (GeneratedSecretSpec("x", min_lower=10, min_upper=10, min_numeric=10, min_special=10), "length"),
        (GeneratedSecretSpec("x", special=False), "min_special"),
        (GeneratedSecretSpec("x", override_special="abc"), "override_special"),
        (GeneratedSecretSpec("x", content_type=""), "content_type"),
        (GeneratedSecretSpec("x", expires_in_days=30), "expires_in_days"),
        (
            GeneratedSecretSpec("x", rotation=RotationPolicy.every_n_days(30), expires_in_days=30),
            "expires_in_days",
        ),
        (
            GeneratedSecretSpec("x", rotation=RotationPolicy.every_deploy(), expires_on=date(2030, 1, 1)),
            "expires_on",
        ),
    ],
)
def test_unusable_secret_specs_are_refused_naming_the_field(spec: GeneratedSecretSpec, key: str) -> None:
    _refused(f"SecretVault(vault).secrets[0].{key}", secrets=[spec])


def test_duplicate_secret_names_are_refused_case_insensitively() -> None:
    _refused(
        "SecretVault(vault).secrets[1].name", secrets=[GeneratedSecretSpec("Db"), GeneratedSecretSpec("db")]
    )


@pytest.mark.parametrize("name", ["kv", "1vault", "kv--platform", "kv-platform-", "k" * 25, "kv_platform"])
def test_invalid_vault_names_are_refused(name: str) -> None:
    _refused("SecretVault(vault).vault_name", vault_name=name)


def test_purge_protection_off_is_refused_in_prod_only() -> None:
    _refused("SecretVault(vault).purge_protection", tier="prod", purge_protection=False)
    _declare("staging", purge_protection=False)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"allowed_ip_ranges": ["10.0.0.0/33"]}, "allowed_ip_ranges[0]"),
        ({"allowed_ip_ranges": ["2001:db8::/32"]}, "allowed_ip_ranges[0]"),
        ({"allowed_subnet_ids": ["subnet-1"]}, "allowed_subnet_ids[0]"),
        ({"public_network_access": "enabled"}, "public_network_access"),
        ({"sku": "free"}, "sku"),
    ],
)
def test_invalid_network_settings_are_refused(overrides: dict[str, Any], key: str) -> None:
    _refused(f"SecretVault(vault).{key}", **overrides)


def test_firewall_allow_all_is_refused_in_prod() -> None:
    _refused("SecretVault(vault).default_action", tier="prod", default_action="Allow")


class _CountingMocks(PlatformMocks):
    """Mocks that remember the type of every resource registered."""

    def __init__(self) -> None:
        super().__init__()
        self.types: list[str] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.types.append(args.typ)
        return super().new_resource(args)


def test_a_refused_vault_registers_nothing() -> None:
    mocks = _CountingMocks()

    def program() -> None:
        env = make_environment("dev")
        SecretVault("vault", SecretVaultArgs(environment=env, vault_name="kv", secrets=SPECS, now=NOW))

    with pytest.raises(ValidationError):
        run_with_mocks(program, stack="dev", mocks=mocks)
    assert not [t for t in mocks.types if "keyvault" in t or "random" in t or "SecretVault" in t]


def test_naive_clock_is_refused() -> None:
    _refused("SecretVault(vault).now", now=datetime(2025, 1, 1))


def test_preview_and_later_up_of_one_pipeline_run_agree(dev: Result) -> None:
    """A plan saved at preview time must still match when `up --plan` applies it hours later."""
    preview = _run(
        "dev", purge_protection=False, now=datetime(2025, 1, 20, 8, 0, tzinfo=UTC), deployment_id="run-7"
    )
    up = _run(
        "dev", purge_protection=False, now=datetime(2025, 1, 20, 17, 45, tzinfo=UTC), deployment_id="run-7"
    )
    assert _fingerprint(preview) == _fingerprint(up)


def test_subnet_ids_may_come_from_a_subnet_resource() -> None:
    """An Output subnet id (another resource's `id`) is accepted and reaches the firewall rule once known."""
    run = _declare(allowed_subnet_ids=[pulumi.Output.from_input(SUBNET)])
    rules = run.one("azure-native:keyvault:Vault").inputs["properties"]["networkAcls"]["virtualNetworkRules"]
    assert rules == [{"id": SUBNET}]


def test_a_known_subnet_output_that_is_not_a_subnet_id_is_refused() -> None:
    with pytest.raises(Exception, match=r"allowed_subnet_ids\[0\]: is not a subnet id"):
        _declare(allowed_subnet_ids=[pulumi.Output.from_input("/subscriptions/x/not-a-subnet")])
