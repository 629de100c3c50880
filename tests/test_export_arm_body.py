"""``infra export --format arm``: the request body's shape (what sits under ``properties``, at every level).

The placements come from ``cli/data/azure_arm_body_shapes.json`` (built by
``tools/extract_arm_body_shapes.py`` from the installed azure-native SDK and the Azure SDK for Python's
models). The expected paths below are the
REST API's own, each checked against the spec the SDKs are generated from (Azure/azure-rest-api-specs):
``x-ms-client-flatten`` on ``properties`` of Site, Subnet, Delegation, PrivateEndpoint,
PrivateLinkServiceConnection, SecurityRule, StorageAccountCreateParameters, Workspace; ``x-ms-client-name``
``EnableHttpsTrafficOnly`` on ``supportsHttpsTrafficOnly`` and ``NetworkRuleSet`` on ``networkAcls``
(storage.json); Key Vault's ``exp``/``nbf`` (``expires``/``notBefore``); Application Insights'
``Application_Type`` and ``WorkspaceResourceId`` (components_API.json).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pytest
from platform_infra.cli import export
from platform_infra.cli.azure_types import api_version, token_paths
from platform_infra.cli.export import arm_body, arm_body_shapes, arm_template
from platform_infra.cli.plan import build_plan, run_stack

from tests.conftest import REPO_ROOT, ShippedRuns, make_environment, make_providers

SUB = "/subscriptions/11111111-1111-4111-8111-111111111111"


@pytest.fixture(scope="module")
def templates(shipped_runs: ShippedRuns) -> dict[str, dict[str, Any]]:
    """The ARM export of the shipped runs (shared by the session; the export only reads them)."""
    result = {}
    for stack in ("dev", "staging", "shared"):
        files, run = shipped_runs(stack)
        result[stack] = arm_template(files, run, build_plan(files, run))
    return result


def _resources(template: dict[str, Any], arm_type: str) -> list[dict[str, Any]]:
    found = [r for r in template["resources"] if r["type"] == arm_type]
    assert found, arm_type
    return found


def test_every_input_of_the_shipped_stacks_is_placed(templates: dict) -> None:
    for stack, template in templates.items():
        assert template["metadata"]["pulumi"]["unmappedProperties"] == {}, stack
        assert not [
            w for w in template["metadata"]["pulumi"]["withoutCounterpart"] if "body shape" in w["reason"]
        ]


def test_api_version_differences_are_named_in_the_export(templates: dict) -> None:
    """The workspace's placements from the 2025-07-01 SDK model were checked against azure-native's own
    2023-09-01 spec (Workspaces.json: ``properties`` flattened, holding sku, retentionInDays,
    workspaceCapping, features, publicNetworkAccessFor*, forceCmkForQuery): the same."""
    differs = templates["dev"]["metadata"]["pulumi"]["bodyShapes"]["apiVersionDiffers"]
    assert differs["azure-native:operationalinsights:Workspace"] == (
        "azure-native 2023-09-01, azure-mgmt-loganalytics==14.0.0 2025-07-01"
    )
    assert "azure-native:web:WebApp" not in differs  # the same version: nothing to review
    assert "azure-native:keyvault:Key" not in differs  # not in dev's export


def test_a_type_without_a_body_shape_is_listed_not_exported(
    shipped_runs: ShippedRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = arm_body_shapes()
    resources = {k: v for k, v in data["resources"].items() if k != "azure-native:keyvault:Vault"}
    monkeypatch.setattr(export, "arm_body_shapes", lambda: {**data, "resources": resources})
    files, run = shipped_runs("dev")
    template = arm_template(files, run, build_plan(files, run))
    assert not [r for r in template["resources"] if r["type"] == "Microsoft.KeyVault/vaults"]
    (listed,) = [
        w for w in template["metadata"]["pulumi"]["withoutCounterpart"] if w["type"].endswith(":Vault")
    ]
    assert "no ARM body shape" in listed["reason"] and listed["urn"].endswith("keyvault:Vault::vault")


def test_web_app_flattens_its_properties_but_not_site_config(templates: dict) -> None:
    for site in _resources(templates["dev"], "Microsoft.Web/sites"):
        assert set(site) >= {"location", "tags", "properties"} and "serverFarmId" not in site
        properties = site["properties"]
        assert properties["serverFarmId"].startswith(SUB) and properties["httpsOnly"] is True
        # siteConfig is a property of SiteProperties; SiteConfig itself is not flattened.
        assert properties["siteConfig"]["minTlsVersion"] == "1.2"
        assert "properties" not in properties["siteConfig"] and "siteConfig" not in site
        assert properties["siteConfig"]["scmIpSecurityRestrictions"][0]["action"] == "Allow"


def test_subnet_delegations_are_flattened_per_item(templates: dict) -> None:
    subnets = {
        s["name"]: s for s in _resources(templates["dev"], "Microsoft.Network/virtualNetworks/subnets")
    }
    api = subnets["vnet-dev/snet-app-api"]["properties"]
    assert api["addressPrefix"] == "10.10.1.64/26"
    (delegation,) = api["delegations"]
    assert delegation == {"name": "app-service", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}


def test_private_endpoint_connections_are_flattened_per_item(templates: dict) -> None:
    (endpoint,) = _resources(templates["dev"], "Microsoft.Network/privateEndpoints")
    (connection,) = endpoint["properties"]["privateLinkServiceConnections"]
    assert set(connection) == {"name", "properties"}
    assert connection["properties"]["privateLinkServiceId"].endswith("/vaults/kv-platform-dev-001")
    assert connection["properties"]["groupIds"] == ["vault"]
    # The subnet reference is a Subnet object: its id at the top, its own settings under properties.
    subnet = endpoint["properties"]["subnet"]
    assert subnet["id"].endswith("/subnets/snet-private-endpoints") and "addressPrefix" not in subnet


def test_vault_properties_are_not_flattened_and_secret_attributes_use_wire_names(templates: dict) -> None:
    (vault,) = _resources(templates["dev"], "Microsoft.KeyVault/vaults")
    assert vault["properties"]["networkAcls"]["defaultAction"] == "Deny"
    assert vault["properties"]["sku"] == {"family": "A", "name": "standard"}  # VaultProperties.sku
    assert "sku" not in vault
    for secret in _resources(templates["dev"], "Microsoft.KeyVault/vaults/secrets"):
        attributes = secret["properties"]["attributes"]
        assert "exp" in attributes and "expires" not in attributes


def test_storage_account_renamed_properties_are_the_wire_names(templates: dict) -> None:
    """The old rule wrote ``properties.networkRuleSet`` and ``properties.enableHttpsTrafficOnly``: names ARM
    does not have, so Checkov saw neither the firewall nor HTTPS-only."""
    (account,) = _resources(templates["shared"], "Microsoft.Storage/storageAccounts")
    properties = account["properties"]
    assert properties["supportsHttpsTrafficOnly"] is True and "enableHttpsTrafficOnly" not in properties
    assert "defaultAction" in properties["networkAcls"] and "networkRuleSet" not in properties
    assert set(account) >= {"sku", "kind", "location"} and "minimumTlsVersion" in properties


def test_workspace_sku_and_insights_pascal_case_names(templates: dict) -> None:
    (workspace,) = _resources(templates["dev"], "Microsoft.OperationalInsights/workspaces")
    assert "sku" not in workspace and workspace["properties"]["sku"]["name"]
    assert "retentionInDays" in workspace["properties"]
    for component in _resources(templates["staging"], "Microsoft.Insights/components"):
        assert component["properties"]["Application_Type"] == "web"
        assert component["properties"]["WorkspaceResourceId"].endswith("/workspaces/log-staging-platform")
        assert "applicationType" not in component["properties"] and "kind" in component


def test_metric_alert_criteria_follow_their_discriminator(templates: dict) -> None:
    alerts = _resources(templates["dev"], "Microsoft.Insights/metricAlerts")
    for alert in alerts:
        criteria = alert["properties"]["criteria"]
        assert criteria["odata.type"].startswith("Microsoft.Azure.Monitor.") and "odataType" not in criteria
        assert all("criterionType" in c for c in criteria["allOf"])


def test_unknown_inputs_and_members_are_listed_not_guessed() -> None:
    inputs = {
        "resourceGroupName": "rg",
        "name": "app",
        "location": "westeurope",
        "serverFarmId": "/x",
        "notAnInput": 1,
        "siteConfig": {"minTlsVersion": "1.2", "madeUp": True},
    }
    body, unmapped = arm_body("azure-native:web:WebApp", inputs, {"resourceGroupName", "name"})
    assert body == {
        "location": "westeurope",
        "properties": {"serverFarmId": "/x", "siteConfig": {"minTlsVersion": "1.2"}},
    }
    assert unmapped == ["notAnInput", "siteConfig.madeUp"]
    criteria = {"odataType": "Microsoft.Azure.Monitor.Unknown", "allOf": []}
    body, unmapped = arm_body(
        "azure-native:monitor:MetricAlert", {"criteria": criteria, "enabled": True}, set()
    )
    assert body == {"properties": {"enabled": True}} and unmapped == ["criteria"]


def test_user_assigned_identities_become_arms_map() -> None:
    identity = {"type": "UserAssigned", "userAssignedIdentities": [f"{SUB}/id-1"]}
    body, unmapped = arm_body("azure-native:web:WebApp", {"identity": identity}, set())
    assert body == {"identity": {"type": "UserAssigned", "userAssignedIdentities": {f"{SUB}/id-1": {}}}}
    assert unmapped == []


def test_inline_subnets_and_security_rules_nest_their_properties() -> None:
    """A VNet declaring subnets inline, one with an inline NSG: three levels of flattening."""

    def program() -> None:
        providers = make_providers(make_environment("dev"))
        network = azure_native.network
        rule = network.SecurityRuleArgs(
            name="deny-all",
            access="Deny",
            direction="Inbound",
            priority=4096,
            protocol="*",
            source_address_prefix="*",
            source_port_range="*",
            destination_address_prefix="*",
            destination_port_range="*",
        )
        network.VirtualNetwork(
            "vnet",
            network.VirtualNetworkInitArgs(
                resource_group_name="rg",
                virtual_network_name="vnet-x",
                address_space=network.AddressSpaceArgs(address_prefixes=["10.0.0.0/16"]),
                subnets=[
                    network.SubnetArgs(
                        name="a",
                        address_prefix="10.0.0.0/24",
                        network_security_group=network.NetworkSecurityGroupArgs(security_rules=[rule]),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(provider=providers.azure),
        )

    files, run = run_stack("dev", program=program)
    template = arm_template(files, run, build_plan(files, run))
    (vnet,) = template["resources"]
    (subnet,) = vnet["properties"]["subnets"]
    assert subnet["name"] == "a" and subnet["properties"]["addressPrefix"] == "10.0.0.0/24"
    (security_rule,) = subnet["properties"]["networkSecurityGroup"]["properties"]["securityRules"]
    assert security_rule["name"] == "deny-all"
    assert security_rule["properties"]["access"] == "Deny" and security_rule["properties"]["priority"] == 4096
    assert template["metadata"]["pulumi"]["unmappedProperties"] == {}


def test_the_vendored_shapes_cover_every_placed_type_for_the_installed_azure_native() -> None:
    data = arm_body_shapes()
    assert set(data["resources"]) == set(token_paths()["tokenPaths"])
    installed = importlib.metadata.version("pulumi-azure-native")
    assert data["source"]["azureNative"] == f"pulumi-azure-native=={installed}", "rerun the tool"
    referenced: set[str] = set()

    def collect(entries: dict[str, Any]) -> None:
        for entry in entries.values():
            if isinstance(entry, dict):
                referenced.update([entry["shape"]] if "shape" in entry else entry.get("oneOf", {}).values())

    for token, resource in data["resources"].items():
        assert resource["azureNativeApiVersion"] == api_version(token), token
        assert resource["sdk"] in data["source"]["azureSdk"], token
        collect(resource["body"])
    for shape in data["shapes"].values():
        collect(shape)
    assert referenced <= set(data["shapes"])
    for label, record in data["source"]["azureSdk"].items():
        assert label.startswith("azure-mgmt-") and len(record["sha256"]) == 64, label


def _load_tool() -> Any:
    name = "extract_arm_body_shapes"
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    sys.modules[name] = tool  # dataclasses look their module up
    spec.loader.exec_module(tool)
    return tool


def test_the_tool_rebuilds_the_vendored_monitor_shapes_from_the_installed_sdk() -> None:
    """azure-mgmt-monitor 7.0.0 is installed (``infra release`` uses it): the tool, given its folder instead
    of the wheel, must give the vendored entries for every type recorded as coming from it."""
    tool = _load_tool()
    vendored = arm_body_shapes()
    label = f"azure-mgmt-monitor=={importlib.metadata.version('azure-mgmt-monitor')}"
    tokens = {
        t: p for t, p in token_paths()["tokenPaths"].items() if vendored["resources"][t]["sdk"] == label
    }
    assert "azure-native:monitor:MetricAlert" in tokens, f"{label} is not the recorded source"
    source = tool.read_folder(f"{label}={sysconfig.get_paths()['purelib']}")
    rebuilt = tool.extract([source], tokens)
    assert rebuilt["resources"] == {t: vendored["resources"][t] for t in tokens}
    assert rebuilt["shapes"] == {k: vendored["shapes"][k] for k in rebuilt["shapes"]}


MSREST_MODELS = """
class Resource(_serialization.Model):
    _validation = {"id": {"readonly": True}}
    _attribute_map = {"id": {"key": "id", "type": "str"}, "location": {"key": "location", "type": "str"}}

class Thing(Resource):
    _validation = {"id": {"readonly": True}, "state": {"readonly": True}}
    _attribute_map = {
        "id": {"key": "id", "type": "str"},
        "location": {"key": "location", "type": "str"},
        "enable_https": {"key": "properties.supportsHttps", "type": "bool"},
        "state": {"key": "properties.state", "type": "str"},
        "parts": {"key": "properties.parts", "type": "[Part]"},
    }

class Part(_serialization.Model):
    _attribute_map = {
        "name": {"key": "name", "type": "str"},
        "size": {"key": "properties.size", "type": "int"},
    }
"""

TYPESPEC_MODELS = """
class Thing(_Model):
    location: str = rest_field(visibility=["read", "create"])
    properties: Optional["_models.ThingProperties"] = rest_field(visibility=["read", "create", "update"])

class ThingProperties(_Model):
    enable_https: Optional[bool] = rest_field(name="supportsHttps", visibility=["read", "create"])
    state: Optional[str] = rest_field(visibility=["read"])
    parts: Optional[list["_models.Part"]] = rest_field(visibility=["read", "create"])

class Part(_Model):
    name: Optional[str] = rest_field(visibility=["read", "create"])
    properties: Optional["_models.PartProperties"] = rest_field(visibility=["read", "create"])

class PartProperties(_Model):
    size: Optional[int] = rest_field(visibility=["read", "create"])
"""

OPERATIONS = """
def build_things_create_or_update_request(name: str, subscription_id: str, **kwargs: Any) -> HttpRequest:
    api_version: str = kwargs.pop("api_version", _params.pop("api-version", "2024-05-01"))
    _url = "/subscriptions/{subscriptionId}/providers/Microsoft.Test/things/{thingName}"
    return HttpRequest(method="PUT", url=_url, **kwargs)

class ThingsOperations:
    def create_or_update(self, name: str, parameters: Union[_models.Thing, IO[bytes]]) -> _models.Thing:
        _request = build_things_create_or_update_request(name=name)
"""


@pytest.mark.parametrize("models", [MSREST_MODELS, TYPESPEC_MODELS], ids=["msrest", "typespec"])
def test_the_tool_reads_both_sdk_model_styles(models: str) -> None:
    """The join on a small package in each generator's style: flattening at two levels, a client name that
    differs from the wire name, a read-only field, the PUT operation found by its URL."""
    tool = _load_tool()
    source = tool.SdkSource(
        "azure-mgmt-test",
        "1.0.0",
        {
            "azure/mgmt/test/models/_models.py": models,
            "azure/mgmt/test/operations/_operations.py": OPERATIONS,
        },
    )
    (module,) = tool.api_modules(source, {"/subscriptions/{}/providers/microsoft.test/things/{}"})
    assert module.puts == {"/subscriptions/{}/providers/microsoft.test/things/{}": ("2024-05-01", "Thing")}
    builder = tool.Builder()
    inputs = [
        tool.Input("location", [], None),
        tool.Input("enableHttps", [], None),
        tool.Input("state", [], None),
        tool.Input("parts", [], "list"),
        tool.Input("thingName", [], None),
    ]
    found, missing = builder._join("test", inputs, module, "Thing")
    assert found["location"] == "location"
    assert found["enableHttps"] == "properties.supportsHttps"  # x-ms-client-name
    assert found["state"] == {"path": "properties.state", "readOnly": True}
    assert found["parts"] == "properties.parts"  # no nested *Args: a leaf here
    assert missing == ["thingName"]
    part = tool._body_fields(module, "Part")
    assert [f.wire for f in part if f.attribute == "size"] == [["properties", "size"]]


def test_the_vendored_file_is_in_the_tools_format() -> None:
    path = REPO_ROOT / "components/platform_infra/cli/data/azure_arm_body_shapes.json"
    assert path.read_text() == json.dumps(arm_body_shapes(), indent=1) + "\n"
    assert Path(_load_tool().VENDORED) == path
