"""``platform:apps``: reading into AppConfig, every refusal naming its key, and declare_apps."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from platform_infra.config import DictConfigSource, StackConfig, load_stack_config
from platform_infra.config.apps import AppConfig
from platform_infra.environment import Tier
from platform_infra.program.apps import declare_apps
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers
from tests.test_config_environment import VALID

WEB = {"name": "web", "sku": "P1v3", "capacity": 2, "image": "myregistry.azurecr.io/web:1.0.0"}


def _read(apps: Any, tier: Tier = Tier.PROD, stack: str = "prod") -> tuple[AppConfig, ...]:
    values: dict[str, Any] = {**VALID, "tier": tier.value, "environment": tier.value}
    if apps is not None:
        values["apps"] = apps
    # What the apps refer to elsewhere in the stack (checked by config.references): a vault declaring the
    # secrets they read and a workspace for Application Insights.
    if isinstance(apps, list):
        names = {
            secret
            for app in apps
            if isinstance(app, dict)
            for secret in (app.get("keyVaultSettings") or {}).values()
            if isinstance(secret, str) and secret.replace("-", "").isalnum()
        }
        if names:
            values["vault"] = {"name": "kv-apps-test", "secrets": [{"name": name} for name in sorted(names)]}
        values["monitoring"] = {}
        # The network path, access lists and registry every stack with apps declares (docs/network.md).
        app_names = [
            app["name"] for app in apps if isinstance(app, dict) and isinstance(app.get("name"), str)
        ]
        values["network"] = {
            "addressSpace": "10.0.0.0/16",
            "privateEndpointSubnet": "10.0.0.0/27",
            "appSubnets": {
                name: f"10.0.{index + 1}.0/26" for index, name in enumerate(dict.fromkeys(app_names))
            },
        }
        values["access"] = {"trustedIpRanges": ["198.51.100.0/24"]}
        values["registry"] = {
            "id": f"/subscriptions/{VALID['azure']['subscriptionId']}/resourceGroups/rg-registry/providers/"
            "Microsoft.ContainerRegistry/registries/myregistry"
        }
    return load_stack_config(stack, DictConfigSource(values), environ={}).apps


def test_full_entry_is_read_into_typed_fields() -> None:
    (app,) = _read(
        [
            {
                **WEB,
                "siteName": "contoso-web-prod",
                "healthCheckPath": "/ready",
                "appSettings": {"WEBSITES_PORT": 8080, "DEBUG": False, "SLOT_NAME": "production"},
                "stagingAppSettings": {"SLOT_NAME": "staging"},
                "stickySettings": ["SLOT_NAME", "DB_PASSWORD"],
                "keyVaultSettings": {"DB_PASSWORD": "db-password"},
                "applicationInsights": True,
                "stagingAlwaysOn": True,
            }
        ]
    )
    assert app.key == "platform:apps[0]"
    assert (app.name, app.sku, app.capacity, app.health_check_path) == ("web", "P1v3", 2, "/ready")
    assert app.image == "myregistry.azurecr.io/web:1.0.0" and app.runtime is None
    assert app.app_settings == {"WEBSITES_PORT": "8080", "DEBUG": "false", "SLOT_NAME": "production"}
    assert app.staging_app_settings == {"SLOT_NAME": "staging"}
    assert app.sticky_settings == ("SLOT_NAME", "DB_PASSWORD")
    assert app.key_vault_settings == {"DB_PASSWORD": "db-password"}
    assert app.application_insights is True and app.staging_always_on is True
    assert app.site_name == "contoso-web-prod"


def test_defaults_and_no_apps() -> None:
    (app,) = _read([{"name": "api", "sku": "S1", "capacity": 1, "runtime": "NODE|20-lts"}], Tier.DEV, "dev")
    assert app.health_check_path == "/healthz"
    assert app.app_settings == {} and app.sticky_settings == () and app.key_vault_settings == {}
    assert app.application_insights is False and app.staging_always_on is True and app.site_name is None
    # The documented release contract: version and instance (WEBSITE_INSTANCE_ID) in the health JSON.
    assert (app.version_from, app.instance_from) == ("json:version", "json:instance")
    assert _read(None, Tier.DEV, "dev") == ()


@pytest.mark.parametrize(
    ("apps", "tier", "key", "fragment"),
    [
        ({"web": WEB}, Tier.PROD, "platform:apps", "must be a list"),
        (["web"], Tier.PROD, "platform:apps[0]", "must be a mapping"),
        ([{**WEB, "sku": "B1"}], Tier.PROD, "platform:apps[0].sku", "no deployment slots"),
        ([WEB, {**WEB, "name": "api", "sku": "F1"}], Tier.DEV, "platform:apps[1].sku", "no deployment slots"),
        ([{**WEB, "sku": "X1"}], Tier.PROD, "platform:apps[0].sku", "not a known App Service SKU"),
        ([{**WEB, "capacity": 1}], Tier.PROD, "platform:apps[0].capacity", "at least 2 in prod"),
        ([{**WEB, "capacity": 0}], Tier.DEV, "platform:apps[0].capacity", "out of range"),
        ([{**WEB, "capacity": "two"}], Tier.DEV, "platform:apps[0].capacity", "whole number"),
        ([{**WEB, "name": "Web"}], Tier.PROD, "platform:apps[0].name", "invalid format"),
        ([WEB, WEB], Tier.PROD, "platform:apps[1].name", "used twice"),
        ([{**WEB, "sizeGb": 3}], Tier.PROD, "platform:apps[0].sizeGb", "not a known key"),
        ([{**WEB, "runtime": "PYTHON|3.12"}], Tier.PROD, "platform:apps[0].image", "exactly one"),
        (
            [{k: v for k, v in WEB.items() if k != "image"}],
            Tier.PROD,
            "platform:apps[0].image",
            "exactly one",
        ),
        ([{**WEB, "image": "Not An Image"}], Tier.PROD, "platform:apps[0].image", "invalid format"),
        ([{**WEB, "versionFrom": "xml:v"}], Tier.PROD, "platform:apps[0].versionFrom", "invalid format"),
        ([{**WEB, "instanceFrom": "cookie"}], Tier.PROD, "platform:apps[0].instanceFrom", "invalid format"),
        (
            [{**WEB, "versionFrom": "path:/version"}],
            Tier.PROD,
            "platform:apps[0].instanceFrom",
            "cannot name its instance in JSON",
        ),
        (
            [{**WEB, "healthCheckPath": "healthz"}],
            Tier.PROD,
            "platform:apps[0].healthCheckPath",
            "invalid format",
        ),
        (
            [{**WEB, "appSettings": {"bad name": "x"}}],
            Tier.PROD,
            "platform:apps[0].appSettings.bad name",
            "not a",
        ),
        (
            [{**WEB, "appSettings": {"A": {"nested": 1}}}],
            Tier.PROD,
            "platform:apps[0].appSettings.A",
            "plain value",
        ),
        (
            [{**WEB, "stagingAppSettings": {"FLAG": "on"}}],
            Tier.PROD,
            "platform:apps[0].stagingAppSettings.FLAG",
            "must be slot-sticky",
        ),
        (
            [{**WEB, "stickySettings": ["NOPE"]}],
            Tier.PROD,
            "platform:apps[0].stickySettings[0]",
            "does not set",
        ),
        (
            [{**WEB, "keyVaultSettings": {"DB": "bad_name!"}}],
            Tier.PROD,
            "platform:apps[0].keyVaultSettings.DB",
            "invalid format",
        ),
        (
            [{**WEB, "appSettings": {"DB": "x"}, "keyVaultSettings": {"DB": "db"}}],
            Tier.PROD,
            "platform:apps[0].keyVaultSettings.DB",
            "also set in appSettings",
        ),
        (
            [
                {
                    **WEB,
                    "applicationInsights": True,
                    "appSettings": {"APPLICATIONINSIGHTS_CONNECTION_STRING": "x"},
                }
            ],
            Tier.PROD,
            "platform:apps[0].applicationInsights",
            "remove it",
        ),
        (
            [{**WEB, "stagingAlwaysOn": False}],
            Tier.PROD,
            "platform:apps[0].stagingAlwaysOn",
            "must be true in prod",
        ),
        (
            [{**WEB, "applicationInsights": "yes"}],
            Tier.PROD,
            "platform:apps[0].applicationInsights",
            "true or false",
        ),
        ([{**WEB, "siteName": "-web"}], Tier.PROD, "platform:apps[0].siteName", "invalid format"),
    ],
)
def test_bad_entries_name_the_key_and_stack(apps: Any, tier: Tier, key: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _read(apps, tier, stack=tier.value)
    assert caught.value.key == key
    assert fragment in str(caught.value)
    assert f"stack '{tier.value}'" in str(caught.value)


def test_staging_always_on_may_be_off_outside_prod() -> None:
    (app,) = _read([{**WEB, "capacity": 1, "stagingAlwaysOn": False}], Tier.STAGING, "staging")
    assert app.staging_always_on is False


def _config(*apps: AppConfig, tier: Tier = Tier.DEV) -> StackConfig:
    return StackConfig(environment=make_environment(tier), apps=apps)


def test_declare_apps_resolves_key_vault_settings_through_secret_reference(pulumi_run) -> None:
    (web,) = _read(
        [{**WEB, "keyVaultSettings": {"DB_PASSWORD": "db-password"}, "appSettings": {"MODE": "blue-green"}}],
        Tier.DEV,
        "dev",
    )
    asked: list[str] = []

    def secret_reference(name: str) -> pulumi.Output[str]:
        asked.append(name)
        return pulumi.Output.from_input(
            f"@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/{name})"
        )

    def program() -> None:
        config = _config(web)
        declare_apps(config, make_providers(config.environment), secret_reference=secret_reference)

    run = pulumi_run(program, stack="dev")
    assert asked == ["db-password"]
    for type_token in (
        "azure-native:web:WebAppApplicationSettings",
        "azure-native:web:WebAppApplicationSettingsSlot",
    ):
        settings = run.one(type_token).plain_inputs["properties"]
        assert (
            settings["DB_PASSWORD"]
            == "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db-password)"
        )
        assert settings["MODE"] == "blue-green"


def test_declare_apps_without_a_vault_refuses_key_vault_settings(pulumi_run) -> None:
    plain, with_vault = _read(
        [WEB, {**WEB, "name": "api", "keyVaultSettings": {"TOKEN": "api-token"}}], Tier.DEV, "dev"
    )

    def program() -> None:
        config = _config(plain, with_vault)
        declare_apps(config, make_providers(config.environment))

    with pytest.raises(ValidationError) as caught:
        pulumi_run(program, stack="dev")
    assert caught.value.key == "platform:apps[1].keyVaultSettings"
    assert "api-token" not in str(caught.value)  # names the settings, not the secrets


def test_declare_apps_without_a_workspace_refuses_application_insights(pulumi_run) -> None:
    plain, insights = _read([WEB, {**WEB, "name": "api", "applicationInsights": True}], Tier.DEV, "dev")

    def program() -> None:
        config = _config(plain, insights)
        declare_apps(config, make_providers(config.environment))

    with pytest.raises(ValidationError) as caught:
        pulumi_run(program, stack="dev")
    assert caught.value.key == "platform:apps[1].applicationInsights"
    assert "Log Analytics workspace" in str(caught.value)


def test_declare_apps_passes_the_workspace_only_to_apps_with_insights(pulumi_run) -> None:
    web, api = _read([{**WEB, "applicationInsights": True}, {**WEB, "name": "api"}], Tier.DEV, "dev")
    workspace = "/subscriptions/x/resourceGroups/logs/providers/Microsoft.OperationalInsights/workspaces/law"

    def program() -> None:
        config = _config(web, api)
        services = declare_apps(
            config, make_providers(config.environment), log_analytics_workspace_id=workspace
        )
        assert [s.logical_name for s in services] == ["web", "api"]

    run = pulumi_run(program, stack="dev")
    components = run.of_type("azure-native:applicationinsights:Component")
    assert sorted(r.name for r in components) == ["web-production-insights", "web-staging-insights"]
    assert all(r.plain_inputs["workspaceResourceId"] == workspace for r in components)
