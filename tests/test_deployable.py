"""The shipped dev, staging and prod stacks work once deployed, checked against Azure's documented behaviour.

* Key Vault references resolve only when the app reaches the vault: both slots are VNet-integrated
  (``virtualNetworkSubnetId`` on site *and* slot, all outbound traffic routed into the VNet), the vault
  has a private endpoint whose A record lives in ``privatelink.vaultcore.azure.net``, linked to that VNet
  (MicrosoftDocs/azure-docs ``app-service/overview-vnet-integration.md``, "Private endpoints" and "Azure DNS
  private zones"; ``app-service-key-vault-references.md``, "Access network-restricted vaults").
* Integration subnets: delegated to Microsoft.Web/serverFarms, one per App Service plan.
* ``acrUseManagedIdentityCreds`` pulls with the slot's own identity, which needs AcrPull on the registry.
* App settings (whose update restarts the site and resolves references) wait for the role assignments and
  the private endpoint's DNS record.
* Staging slots and SCM sites deny everyone but the configured callers; production stays public.
* Prod plans are zone-redundant where the SKU and region allow.
"""

from __future__ import annotations

import re

import pytest
from platform_infra.cli.mocks import MockRun

from tests.conftest import ShippedRuns

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
STACKS = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def shipped(shipped_runs: ShippedRuns) -> dict[str, MockRun]:
    return {stack: shipped_runs(stack)[1] for stack in STACKS}


def _by_name(run: MockRun, type_: str) -> dict[str, object]:
    return {r.name: r for r in run.of_type(type_)}


def _id_of(run: MockRun, type_: str, name: str) -> str:
    """The id the mocks gave a resource (how other resources' inputs refer to it)."""
    resource = run.one(type_, name)
    return next(
        value
        for r in run.resources
        for value in _strings(r.plain_inputs)
        # ARM ids end with the resource's own (given or autonamed) name, not its logical name.
        if value.endswith(f"/{resource.outputs.get('name') or resource.name}")
        and value.startswith("/subscriptions/")
    )


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("stack", STACKS)
def test_every_slot_is_vnet_integrated_through_its_apps_own_delegated_subnet(
    shipped: dict[str, MockRun], stack: str
) -> None:
    run = shipped[stack]
    subnets = {
        r.name: r.plain_inputs for r in run.of_type("azure-native:network:Subnet") if "-app-" in r.name
    }
    apps = [r.name for r in run.of_type("platform:app:BlueGreenAppService")]
    assert sorted(subnets) == sorted(f"network-app-{app}-subnet" for app in apps)
    for inputs in subnets.values():
        assert inputs["delegations"] == [{"name": "app-service", "serviceName": "Microsoft.Web/serverFarms"}]
    sites = run.of_type("azure-native:web:WebApp") + run.of_type("azure-native:web:WebAppSlot")
    assert len(sites) == 2 * len(apps)
    used = set()
    for site in sites:
        app = site.name.split("-", 1)[0]
        inputs = site.plain_inputs
        # The subnet's ARM id (azure-native's network:Subnet path): .../virtualNetworks/<vnet>/subnets/<name>
        assert re.search(
            rf"/virtualNetworks/[^/]+/subnets/snet-app-{app}$", inputs["virtualNetworkSubnetId"]
        ), site.name
        assert inputs["outboundVnetRouting"] == {"applicationTraffic": True}, site.name
        assert inputs["siteConfig"]["vnetRouteAllEnabled"] is True, site.name
        used.add((app, inputs["virtualNetworkSubnetId"]))
    # One subnet per plan (Azure: an integration subnet serves one App Service plan).
    assert len({subnet for _, subnet in used}) == len(apps)


@pytest.mark.parametrize("stack", STACKS)
def test_vault_is_reached_through_its_private_endpoint_and_dns_zone(
    shipped: dict[str, MockRun], stack: str
) -> None:
    run = shipped[stack]
    vault_id = _id_of(run, "azure-native:keyvault:Vault", "vault")
    endpoint = run.one("azure-native:network:PrivateEndpoint").plain_inputs
    (connection,) = endpoint["privateLinkServiceConnections"]
    assert connection["privateLinkServiceId"] == vault_id
    assert connection["groupIds"] == ["vault"]
    assert re.search(r"/virtualNetworks/[^/]+/subnets/snet-private-endpoints$", endpoint["subnet"]["id"])
    zone = run.one("azure-native:privatedns:PrivateZone").plain_inputs
    assert zone["privateZoneName"] == "privatelink.vaultcore.azure.net"
    assert zone["location"] == "global"
    link = run.one("azure-native:privatedns:VirtualNetworkLink").plain_inputs
    assert link["virtualNetwork"]["id"].endswith(f"/providers/Microsoft.Network/virtualNetworks/vnet-{stack}")
    assert link["registrationEnabled"] is False
    group = run.one("azure-native:network:PrivateDnsZoneGroup").plain_inputs
    assert [c["privateDnsZoneId"] for c in group["privateDnsZoneConfigs"]] == [
        _id_of(run, "azure-native:privatedns:PrivateZone", "network-vaultcore-zone")
    ]
    vnet = run.one("azure-native:network:VirtualNetwork").plain_inputs
    assert vnet["addressSpace"]["addressPrefixes"] and "subnets" not in vnet


@pytest.mark.parametrize("stack", STACKS)
def test_every_slot_of_every_container_app_pulls_with_acrpull(
    shipped: dict[str, MockRun], stack: str
) -> None:
    run = shipped[stack]
    container_sites = [
        s
        for s in run.of_type("azure-native:web:WebApp") + run.of_type("azure-native:web:WebAppSlot")
        if s.plain_inputs["siteConfig"]["linuxFxVersion"].startswith("DOCKER|")
    ]
    assert container_sites
    pulls = {
        r.name: r.plain_inputs
        for r in run.of_type("azure-native:authorization:RoleAssignment")
        if r.plain_inputs["roleDefinitionId"].endswith(f"/{ACR_PULL}")
    }
    registry = (
        f"/subscriptions/{run.stack_outputs['azureSubscriptionId']}/resourceGroups/rg-platform-registry"
    )
    for site in container_sites:
        inputs = site.plain_inputs
        assert inputs["siteConfig"]["acrUseManagedIdentityCreds"] is True
        image_host = inputs["siteConfig"]["linuxFxVersion"].removeprefix("DOCKER|").split("/")[0]
        app = site.name.split("-", 1)[0]
        slot = "staging" if site.type.endswith("WebAppSlot") else "production"
        grant = pulls[f"{app}-{slot}-acr-pull"]
        assert grant["scope"].startswith(registry)
        assert grant["scope"].endswith("/registries/" + image_host.split(".")[0])
        assert grant["principalType"] == "ServicePrincipal"
        # The principal is that slot's own system-assigned identity.
        assert grant["principalId"] == site.outputs["identity"]["principalId"]
    runtime_apps = {
        s.name.split("-", 1)[0]
        for s in run.of_type("azure-native:web:WebApp")
        if not s.plain_inputs["siteConfig"]["linuxFxVersion"].startswith("DOCKER|")
    }
    assert runtime_apps and not [n for n in pulls if n.split("-", 1)[0] in runtime_apps]


@pytest.mark.parametrize("stack", STACKS)
def test_settings_wait_for_their_role_assignments_and_the_private_dns_record(
    shipped: dict[str, MockRun], stack: str
) -> None:
    run = shipped[stack]
    assignments = {r.name: r.urn for r in run.of_type("azure-native:authorization:RoleAssignment")}
    dns_record = run.one("azure-native:network:PrivateDnsZoneGroup").urn
    settings = run.of_type("azure-native:web:WebAppApplicationSettings") + run.of_type(
        "azure-native:web:WebAppApplicationSettingsSlot"
    )
    checked = 0
    for resource in settings:
        app = resource.name.split("-", 1)[0]
        slot = "staging" if resource.type.endswith("Slot") else "production"
        needed = {urn for name, urn in assignments.items() if name.startswith(f"{app}-{slot}-")}
        values = resource.plain_inputs["properties"].values()
        if any(str(v).startswith("@Microsoft.KeyVault(") for v in values):
            assert assignments[f"{app}-{slot}-secrets-user"] in needed
            assert dns_record in resource.depends_on, resource.name
            checked += 1
        assert needed <= set(resource.depends_on), resource.name
    assert checked == 2  # api's production and staging settings


@pytest.mark.parametrize("stack", STACKS)
def test_staging_and_scm_answer_only_the_trusted_callers_production_stays_public(
    shipped: dict[str, MockRun], stack: str
) -> None:
    run = shipped[stack]
    allowed = [{"name": "allow-ip-0", "action": "Allow", "priority": 100.0, "ipAddress": "198.51.100.0/24"}]
    for slot in run.of_type("azure-native:web:WebAppSlot"):
        config = slot.plain_inputs["siteConfig"]
        assert config["ipSecurityRestrictions"] == allowed
        assert config["ipSecurityRestrictionsDefaultAction"] == "Deny"
    for site in run.of_type("azure-native:web:WebApp") + run.of_type("azure-native:web:WebAppSlot"):
        config = site.plain_inputs["siteConfig"]
        assert config["scmIpSecurityRestrictions"] == allowed
        assert config["scmIpSecurityRestrictionsDefaultAction"] == "Deny"
        assert config["scmIpSecurityRestrictionsUseMain"] is False
    for site in run.of_type("azure-native:web:WebApp"):
        config = site.plain_inputs["siteConfig"]
        assert "ipSecurityRestrictions" not in config and "ipSecurityRestrictionsDefaultAction" not in config


def test_prod_plans_are_zone_redundant_and_the_others_are_not(shipped: dict[str, MockRun]) -> None:
    """P1v3 in westeurope (availability zones) with 2+ instances: zone-redundant by default in prod."""
    for stack in STACKS:
        plans = {r.name: r.plain_inputs for r in shipped[stack].of_type("azure-native:web:AppServicePlan")}
        assert plans
        for name, inputs in plans.items():
            assert inputs.get("zoneRedundant", False) is (stack == "prod"), (stack, name)
            if stack == "prod":
                assert inputs["sku"]["capacity"] >= 2
