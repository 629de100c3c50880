"""BlueGreenAppService under mocks: slot settings, validation, ignore_changes, sticky settings, insights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from platform_infra.app_service import (
    IMAGE_IGNORE_CHANGES,
    RELEASE_IGNORE_CHANGES,
    BlueGreenAppService,
    BlueGreenAppServiceArgs,
)
from platform_infra.cli.mocks import MockRun, run_with_mocks
from platform_infra.environment import Tier
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers

APP = "platform:app:BlueGreenAppService"
WEB_APP = "azure-native:web:WebApp"
SLOT = "azure-native:web:WebAppSlot"
PLAN = "azure-native:web:AppServicePlan"
STICKY = "azure-native:web:WebAppSlotConfigurationNames"
SETTINGS = "azure-native:web:WebAppApplicationSettings"
SLOT_SETTINGS = "azure-native:web:WebAppApplicationSettingsSlot"
INSIGHTS = "azure-native:applicationinsights:Component"
KV_REFERENCE = "@Microsoft.KeyVault(SecretUri=https://kv-dev.vault.azure.net/secrets/db-password)"


ASE_ID = (
    "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-ase/providers/"
    "Microsoft.Web/hostingEnvironments/ase-prod"
)


def _args(tier: Tier = Tier.DEV, **overrides: Any) -> BlueGreenAppServiceArgs:
    values: dict[str, Any] = {
        "environment": make_environment(tier),
        "sku": "P1v3",
        "capacity": 2,
        "container_image": "myregistry.azurecr.io/web:1.0.0",
    }
    values.update(overrides)
    return BlueGreenAppServiceArgs(**values)


def _declare(
    name: str, args: BlueGreenAppServiceArgs, captured: dict[str, Any] | None = None
) -> Callable[[], None]:
    def program() -> None:
        providers = make_providers(args.environment)
        app = BlueGreenAppService(name, args, opts=providers.resource_options())
        if captured is not None:
            captured["app"] = app
            pulumi.export("principalIds", app.principal_ids)
            pulumi.export("slotIds", app.slot_resource_ids)
            pulumi.export("hosts", [app.default_host_name, app.staging_host_name, app.app_name])

    return program


@pytest.fixture(scope="module")
def container_app() -> MockRun:
    """One container app with settings, a Key Vault reference Output, a staging override and insights."""
    args = _args(
        Tier.STAGING,
        app_settings={
            "WEBSITES_PORT": "8080",
            "SLOT_NAME": "production",
            "DB_PASSWORD": pulumi.Output.from_input(KV_REFERENCE),
        },
        staging_app_settings={"SLOT_NAME": "staging"},
        sticky_settings=["SLOT_NAME"],
        application_insights=True,
        log_analytics_workspace_id="/subscriptions/x/resourceGroups/logs/providers/"
        "Microsoft.OperationalInsights/workspaces/law-staging",
        staging_always_on=False,
        site_name="web-staging-example",
    )
    return run_with_mocks(_declare("web", args, {}), stack="staging")


def test_both_slots_are_hardened_alike(container_app: MockRun) -> None:
    app = container_app.one(APP, "web")
    for resource in (container_app.one(WEB_APP, "web-app"), container_app.one(SLOT, "web-staging")):
        assert resource.parent == app.urn
        inputs = resource.plain_inputs
        assert inputs["httpsOnly"] is True
        assert inputs["identity"] == {"type": "SystemAssigned"}
        assert inputs["reserved"] is True and inputs["kind"] == "app,linux,container"
        site = inputs["siteConfig"]
        assert site["minTlsVersion"] == "1.2" and site["scmMinTlsVersion"] == "1.2"
        assert site["ftpsState"] == "Disabled"
        assert site["http20Enabled"] is True
        assert site["healthCheckPath"] == "/healthz"
        assert site["linuxFxVersion"] == "DOCKER|myregistry.azurecr.io/web:1.0.0"
        assert resource.ignore_changes[:1] == IMAGE_IGNORE_CHANGES == ["siteConfig.linuxFxVersion"]
        assert "dev-azure" not in resource.provider and "staging-azure" in resource.provider
    slot = container_app.one(SLOT, "web-staging").plain_inputs
    assert slot["slot"] == "staging" and slot["name"] == "web-staging-example"
    assert container_app.one(WEB_APP, "web-app").plain_inputs["siteConfig"]["alwaysOn"] is True
    assert slot["siteConfig"]["alwaysOn"] is False  # allowed outside prod


def test_release_owns_routing_rules_and_its_record_on_the_production_site(container_app: MockRun) -> None:
    """rampUpRules (production ``siteConfig.experiments``) and the release tags survive ``pulumi up``."""
    assert container_app.one(WEB_APP, "web-app").ignore_changes == [
        "siteConfig.linuxFxVersion",
        "siteConfig.experiments",
        'tags["platform-release-previous"]',
        'tags["platform-release-current"]',
        'tags["platform-release-at"]',
        'tags["platform-release-lock"]',
    ]
    assert container_app.one(SLOT, "web-staging").ignore_changes == ["siteConfig.linuxFxVersion"]


def test_swap_warm_up_gate_on_both_slots_is_not_sticky(container_app: MockRun) -> None:
    """Azure pings WEBSITE_SWAP_WARMUP_PING_PATH with production's sticky settings applied and aborts the
    swap unless the status is in WEBSITE_SWAP_WARMUP_PING_STATUSES (App Service docs, "Specify custom
    warm-up"). Same value on both slots and not sticky, so a swap moves nothing Pulumi manages."""
    production = container_app.one(SETTINGS, "web-app-settings").plain_inputs["properties"]
    staging = container_app.one(SLOT_SETTINGS, "web-staging-settings").plain_inputs["properties"]
    for settings in (production, staging):
        assert settings["WEBSITE_SWAP_WARMUP_PING_PATH"] == "/healthz"
        assert settings["WEBSITE_SWAP_WARMUP_PING_STATUSES"] == "200"
    sticky = container_app.one(STICKY, "web-sticky-settings").plain_inputs["appSettingNames"]
    assert not {"WEBSITE_SWAP_WARMUP_PING_PATH", "WEBSITE_SWAP_WARMUP_PING_STATUSES"} & set(sticky)


def test_plan_is_linux_with_the_sku_tier(container_app: MockRun) -> None:
    plan = container_app.one(PLAN, "web-plan").plain_inputs
    assert plan["kind"] == "linux" and plan["reserved"] is True
    assert plan["sku"] == {"name": "P1v3", "tier": "PremiumV3", "capacity": 2}
    assert plan["tags"]["environment"] == "staging"


def test_settings_per_slot_with_key_vault_reference_and_sticky_names(container_app: MockRun) -> None:
    production = container_app.one(SETTINGS, "web-app-settings").plain_inputs["properties"]
    staging = container_app.one(SLOT_SETTINGS, "web-staging-settings").plain_inputs
    assert staging["slot"] == "staging"
    staging_settings = staging["properties"]
    assert production["DB_PASSWORD"] == staging_settings["DB_PASSWORD"] == KV_REFERENCE
    assert production["SLOT_NAME"] == "production" and staging_settings["SLOT_NAME"] == "staging"
    assert production["WEBSITES_ENABLE_APP_SERVICE_STORAGE"] == "false"
    # Each slot reports to its own Application Insights component.
    assert (
        production["APPLICATIONINSIGHTS_CONNECTION_STRING"]
        != staging_settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    )
    assert production["APPLICATIONINSIGHTS_CONNECTION_STRING"].startswith("InstrumentationKey=")
    sticky = container_app.one(STICKY, "web-sticky-settings").plain_inputs
    assert sticky["appSettingNames"] == ["APPLICATIONINSIGHTS_CONNECTION_STRING", "SLOT_NAME"]
    # Settings are not in the site config: changing one must never re-send the (ignored) image.
    assert "appSettings" not in container_app.one(WEB_APP, "web-app").plain_inputs["siteConfig"]


def test_application_insights_per_slot_is_workspace_based(container_app: MockRun) -> None:
    components = {r.name: r.plain_inputs for r in container_app.of_type(INSIGHTS)}
    assert set(components) == {"web-production-insights", "web-staging-insights"}
    for inputs in components.values():
        assert inputs["ingestionMode"] == "LogAnalytics"
        assert inputs["workspaceResourceId"].endswith("/workspaces/law-staging")
        assert inputs["applicationType"] == "web"


def test_outputs_name_both_slots(container_app: MockRun) -> None:
    outputs = container_app.stack_outputs
    principals = outputs["principalIds"]
    assert set(principals) == {"production", "staging"}
    assert principals["production"] != principals["staging"] and all(principals.values())
    assert set(outputs["slotIds"]) == {"production", "staging"}
    assert outputs["hosts"] == [
        "web-staging-example.azurewebsites.net",
        "web-staging-example-staging.azurewebsites.net",
        "web-staging-example",
    ]


def test_runtime_app_keeps_the_runtime_under_pulumi_and_may_use_a_given_group(pulumi_run) -> None:
    args = _args(
        container_image=None,
        runtime="PYTHON|3.12",
        health_check_path="/health",
        resource_group_name="rg-shared",
    )
    run = pulumi_run(_declare("api", args), stack="dev")
    assert run.of_type("azure-native:resources:ResourceGroup") == []
    app = run.one(WEB_APP, "api-app")
    assert app.plain_inputs["resourceGroupName"] == "rg-shared"
    assert app.plain_inputs["kind"] == "app,linux"
    assert app.plain_inputs["siteConfig"]["linuxFxVersion"] == "PYTHON|3.12"
    assert app.plain_inputs["siteConfig"]["healthCheckPath"] == "/health"
    # The runtime stack is infrastructure, not a release; canary routing and the release record still are.
    assert app.ignore_changes == RELEASE_IGNORE_CHANGES
    assert run.of_type(INSIGHTS) == []
    assert run.one(STICKY).plain_inputs["appSettingNames"] == []


@pytest.mark.parametrize(
    ("overrides", "tier", "key", "fragment"),
    [
        ({"sku": "B1"}, Tier.DEV, "BlueGreenAppService(web).sku", "no deployment slots"),
        ({"sku": "F1"}, Tier.DEV, "BlueGreenAppService(web).sku", "no deployment slots"),
        ({"sku": "D1"}, Tier.DEV, "BlueGreenAppService(web).sku", "no deployment slots"),
        ({"sku": "Z9"}, Tier.DEV, "BlueGreenAppService(web).sku", "not a known App Service SKU"),
        ({"capacity": 0}, Tier.DEV, "BlueGreenAppService(web).capacity", "out of range"),
        ({"sku": "S1", "capacity": 11}, Tier.DEV, "BlueGreenAppService(web).capacity", "out of range"),
        ({"capacity": 1}, Tier.PROD, "BlueGreenAppService(web).capacity", "at least 2 in prod"),
        (
            {"staging_always_on": False},
            Tier.PROD,
            "BlueGreenAppService(web).staging_always_on",
            "must be true",
        ),
        ({"runtime": "PYTHON|3.12"}, Tier.DEV, "BlueGreenAppService(web).container_image", "exactly one"),
        (
            {"container_image": "Bad Image"},
            Tier.DEV,
            "BlueGreenAppService(web).container_image",
            "image reference",
        ),
        (
            {"health_check_path": "healthz"},
            Tier.DEV,
            "BlueGreenAppService(web).health_check_path",
            "URL path",
        ),
        (
            {"staging_app_settings": {"FLAG": "on"}},
            Tier.DEV,
            "BlueGreenAppService(web).staging_app_settings.FLAG",
            "must be slot-sticky",
        ),
        (
            {"application_insights": True},
            Tier.DEV,
            "BlueGreenAppService(web).log_analytics_workspace_id",
            "classic Application Insights is retired",
        ),
        (
            {"application_insights": True, "app_settings": {"APPLICATIONINSIGHTS_CONNECTION_STRING": "x"}},
            Tier.DEV,
            "BlueGreenAppService(web).app_settings.APPLICATIONINSIGHTS_CONNECTION_STRING",
            "set by the component",
        ),
    ],
)
def test_invalid_arguments_are_refused_before_any_resource(
    pulumi_run, overrides: dict[str, Any], tier: Tier, key: str, fragment: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        pulumi_run(_declare("web", _args(tier, **overrides)), stack=tier.value)
    assert caught.value.key == key
    assert fragment in str(caught.value)
    assert f"stack '{tier.value}'" in str(caught.value)


def test_prod_accepts_two_instances_and_isolated_and_standard_tiers(pulumi_run) -> None:
    def program() -> None:
        env = make_environment(Tier.PROD)
        providers = make_providers(env)
        for name, sku in (
            ("a", "S2"),
            ("b", "I1v2"),
            ("c", "P2mv3"),
            ("d", "P0v3"),
            ("e", "P3v3"),
            ("f", "P0v4"),
            ("g", "P1mv4"),
            ("h", "I2mv2"),
        ):
            ase = ASE_ID if sku.startswith("I") else None
            BlueGreenAppService(
                name,
                _args(Tier.PROD, sku=sku, app_service_environment_id=ase),
                opts=providers.resource_options(),
            )

    run = pulumi_run(program, stack="prod")
    tiers = {r.name: r.plain_inputs["sku"]["tier"] for r in run.of_type(PLAN)}
    # The tier Azure reports for each SKU, as the Azure CLI sends it with the SKU name.
    assert tiers == {
        "a-plan": "Standard",
        "b-plan": "IsolatedV2",
        "c-plan": "PremiumMV3",
        "d-plan": "Premium0V3",
        "e-plan": "PremiumV3",
        "f-plan": "PremiumV4",
        "g-plan": "PremiumMV4",
        "h-plan": "IsolatedMV2",
    }


@pytest.fixture(scope="module")
def shipped(shipped_runs) -> dict[str, MockRun]:
    """The three shipped stack files, each run once per session (shared, read only)."""
    return {stack: shipped_runs(stack)[1] for stack in ("dev", "staging", "prod")}


def test_shipped_stacks_declare_every_configured_app(shipped: dict[str, MockRun]) -> None:
    for stack, run in shipped.items():
        apps = {r.name for r in run.of_type(APP)}
        assert apps == {"web", "api"}, stack
        for app in apps:
            web_app = run.one(WEB_APP, f"{app}-app").plain_inputs
            slot = run.one(SLOT, f"{app}-staging").plain_inputs
            for site in (web_app, slot):
                assert site["httpsOnly"] is True
                assert site["siteConfig"]["minTlsVersion"] == "1.2"
                assert site["siteConfig"]["ftpsState"] == "Disabled"
                assert site["siteConfig"]["healthCheckPath"].startswith("/")
            assert slot["slot"] == "staging"
            plan = run.one(PLAN, f"{app}-plan").plain_inputs
            if stack == "prod":
                assert plan["sku"]["capacity"] >= 2
                assert slot["siteConfig"]["alwaysOn"] is True
        assert set(run.stack_outputs["apps"]) == {"web", "api"}
        assert run.stack_outputs["apps"]["web"]["healthCheckPath"] == "/healthz"
        # How infra release reads each app's version and instance, for the pipelines to pass along.
        assert run.stack_outputs["apps"]["web"]["versionFrom"] == "json:version"
        assert run.stack_outputs["apps"]["web"]["instanceFrom"] == "json:instance"


def test_staging_mirrors_prod_apart_from_sizes(shipped: dict[str, MockRun]) -> None:
    staging, prod = shipped["staging"], shipped["prod"]

    def shape(run: MockRun) -> dict[str, Any]:
        result = {}
        for resource in run.of_type(WEB_APP):
            inputs = resource.plain_inputs
            # Each environment pulls from the registry in its own subscription (platform{env}acr): the
            # repository and tag must match, the registry host is the environment's.
            result[resource.name] = (
                inputs["siteConfig"]["linuxFxVersion"].replace(f"platform{run.stack}acr", "ENVacr"),
                inputs["siteConfig"]["healthCheckPath"],
            )
        for resource in run.of_type(SETTINGS) + run.of_type(SLOT_SETTINGS):
            settings = dict(resource.plain_inputs["properties"])
            settings.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)  # per-stack component
            # Key Vault references point at each environment's own vault; the secret names must match.
            result[resource.name] = {k: v.replace(f"-{run.stack}-", "-{env}-") for k, v in settings.items()}
        return result

    assert shape(staging) == shape(prod)


def test_a_basic_sku_in_stack_config_names_the_key(stack_run) -> None:
    apps = [
        {"name": "web", "sku": "P1v3", "capacity": 2, "image": "myregistry.azurecr.io/web:1.0.0"},
        {"name": "api", "sku": "B1", "capacity": 2, "runtime": "PYTHON|3.12"},
    ]
    with pytest.raises(ValidationError) as caught:
        stack_run("prod", overrides={"platform:apps": apps})
    assert caught.value.key == "platform:apps[1].sku"
    assert "stack 'prod'" in str(caught.value)
