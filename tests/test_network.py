"""network.py, registry.py and the app's network/registry arguments, at component level."""

from __future__ import annotations

import itertools
from typing import Any

import pulumi
import pytest
from platform_infra.app_service import AccessRestrictions, BlueGreenAppService, BlueGreenAppServiceArgs
from platform_infra.cli.plan import project_program, read_stack_files, run_stack
from platform_infra.network import EnvironmentNetwork, EnvironmentNetworkArgs, max_integration_instances
from platform_infra.validation import ValidationError

from tests.conftest import REPO_ROOT, make_environment, make_providers


def test_integration_subnet_capacity_is_the_documented_table() -> None:
    """overview-vnet-integration.md, "Subnet requirements": /28 -> 5, /27 -> 13, /26 -> 29 instances."""
    assert [max_integration_instances(p) for p in (28, 27, 26)] == [5, 13, 29]


def _network(**overrides: Any) -> EnvironmentNetworkArgs:
    values: dict[str, Any] = {
        "environment": make_environment(),
        "address_space": "10.10.0.0/16",
        "private_endpoint_subnet": "10.10.0.0/27",
        "app_subnets": {"web": "10.10.1.0/26", "api": "10.10.1.64/26"},
    }
    values.update(overrides)
    return EnvironmentNetworkArgs(**values)


def test_subnets_are_created_one_after_another_and_delegated(pulumi_run) -> None:
    def program() -> None:
        env = make_environment()
        EnvironmentNetwork("network", _network(environment=env), opts=make_providers(env).resource_options())

    run = pulumi_run(program)
    subnets = run.of_type("azure-native:network:Subnet")
    assert [s.name for s in subnets] == [
        "network-private-endpoints-subnet",
        "network-app-web-subnet",
        "network-app-api-subnet",
    ]
    # Azure refuses concurrent changes to one VNet's subnets: each waits for the previous one.
    for previous, subnet in itertools.pairwise(subnets):
        assert previous.urn in subnet.depends_on
    assert "delegations" not in subnets[0].plain_inputs
    assert subnets[0].plain_inputs["privateEndpointNetworkPolicies"] == "Disabled"
    for subnet in subnets[1:]:
        assert subnet.plain_inputs["delegations"][0]["serviceName"] == "Microsoft.Web/serverFarms"
    assert run.one("azure-native:privatedns:PrivateZone").plain_inputs["privateZoneName"] == (
        "privatelink.vaultcore.azure.net"
    )
    assert all(r.parent.endswith("::network") for r in run.resources if r.custom and not r.is_provider)


@pytest.mark.parametrize(
    ("overrides", "key", "problem"),
    [
        ({"address_space": "203.0.113.0/24"}, "address_space", "is not a private IPv4 range"),
        (
            {"private_endpoint_subnet": "10.20.0.0/27"},
            "private_endpoint_subnet",
            "is outside the address space",
        ),
        ({"app_subnets": {"web": "10.10.0.16/28"}}, "app_subnets.web", "overlaps"),
        ({"app_subnets": {"web": "10.10.1.0/29"}}, "app_subnets.web", "is smaller than /28"),
        ({"private_endpoint_subnet": "10.10.0.0/30"}, "private_endpoint_subnet", "is smaller than /29"),
        ({"resource_group_name": "bad/name"}, "resource_group_name", "is not a valid resource group name"),
    ],
)
def test_bad_address_plans_name_the_argument_and_register_nothing(
    pulumi_run, overrides: dict[str, Any], key: str, problem: str
) -> None:
    def program() -> None:
        EnvironmentNetwork("network", _network(**overrides))

    with pytest.raises(ValidationError, match=problem) as error:
        pulumi_run(program)
    assert error.value.key == f"EnvironmentNetwork(network).{key}"


def _app(**overrides: Any) -> BlueGreenAppServiceArgs:
    values: dict[str, Any] = {
        "environment": make_environment(),
        "sku": "P1v3",
        "capacity": 2,
        "container_image": "platformdevacr.azurecr.io/web:1.0.0",
    }
    values.update(overrides)
    return BlueGreenAppServiceArgs(**values)


@pytest.mark.parametrize(
    ("overrides", "key", "problem"),
    [
        ({"staging_access": AccessRestrictions()}, "staging_access", "allows no one"),
        (
            {"staging_access": AccessRestrictions(ip_ranges=["10.0.0.0/8"])},
            "staging_access.ip_ranges[0]",
            "public",
        ),
        (
            {"production_access": AccessRestrictions(ip_ranges=["0.0.0.0/0"])},
            "production_access.ip_ranges[0]",
            "every",
        ),
        (
            {"staging_access": AccessRestrictions(subnet_ids=["subnet-1"])},
            "staging_access.subnet_ids[0]",
            "subnet id",
        ),
        ({"registry_id": "/subscriptions/x/registries/r"}, "registry_id", "go together"),
        ({"sku": "I1v2"}, "sku", "App Service Environment"),
        ({"zone_redundant": True, "sku": "S1"}, "zone_redundant", "Standard plan"),
        ({"zone_redundant": True, "capacity": 1}, "zone_redundant", "at least 2 instances"),
    ],
)
def test_app_network_arguments_are_checked_before_registering(
    pulumi_run, overrides: dict[str, Any], key: str, problem: str
) -> None:
    def program() -> None:
        BlueGreenAppService("web", _app(**overrides))

    with pytest.raises(ValidationError, match=problem) as error:
        pulumi_run(program)
    assert error.value.key == f"BlueGreenAppService(web).{key}"


def test_production_access_closes_production_and_subnets_are_allowed_by_service_endpoint(pulumi_run) -> None:
    runner_subnet = (
        "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-ci/providers/"
        "Microsoft.Network/virtualNetworks/vnet-ci/subnets/runners"
    )

    def program() -> None:
        env = make_environment()
        BlueGreenAppService(
            "web",
            _app(
                environment=env,
                staging_access=AccessRestrictions(ip_ranges=["198.51.100.0/24"], subnet_ids=[runner_subnet]),
                production_access=AccessRestrictions(ip_ranges=["192.0.2.0/24"]),
            ),
            opts=make_providers(env).resource_options(),
        )

    run = pulumi_run(program)
    production = run.one("azure-native:web:WebApp").plain_inputs["siteConfig"]
    staging = run.one("azure-native:web:WebAppSlot").plain_inputs["siteConfig"]
    assert [r["ipAddress"] for r in production["ipSecurityRestrictions"]] == ["192.0.2.0/24"]
    assert production["ipSecurityRestrictionsDefaultAction"] == "Deny"
    assert staging["ipSecurityRestrictions"][1]["vnetSubnetResourceId"] == runner_subnet
    for config in (production, staging):
        assert [
            r.get("ipAddress") or r.get("vnetSubnetResourceId") for r in config["scmIpSecurityRestrictions"]
        ] == [
            "198.51.100.0/24",
            runner_subnet,
        ]


def test_the_stack_can_create_its_registry_with_the_admin_user_off(stack_run) -> None:
    run = stack_run("dev", overrides={"platform:registry": {"name": "platformdevacr"}})
    registry = run.one("azure-native:containerregistry:Registry")
    assert registry.plain_inputs["adminUserEnabled"] is False
    assert registry.plain_inputs["registryName"] == "platformdevacr"
    scope = (
        "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-dev-registry/providers/"
        "Microsoft.ContainerRegistry/registries/platformdevacr"
    )
    pulls = [
        r for r in run.of_type("azure-native:authorization:RoleAssignment") if r.name.endswith("-acr-pull")
    ]
    assert sorted(r.name for r in pulls) == ["web-production-acr-pull", "web-staging-acr-pull"]
    registry_id = next(s for s in (p.plain_inputs["scope"] for p in pulls) if "containerregistry" in s)
    assert all(r.plain_inputs["scope"] == registry_id for r in pulls)  # the created registry's own id
    assert registry.urn in pulls[0].depends_on
    # The assignment names are derived from the id computed from known names (stable before creation).
    from platform_infra.rbac import role_assignment_name

    assert pulls[0].plain_inputs["roleAssignmentName"] in {
        role_assignment_name(scope, f"web-{slot}", "7f951dda-4ed3-4680-a7ca-43fe172d538d")
        for slot in ("production", "staging")
    }


def test_secrets_user_assignments_keep_their_former_urns_as_aliases(stack_run) -> None:
    """They used to be children of the VaultAccess component; an alias adopts them instead of creating a
    duplicate, which Azure would refuse (same assignment name) before the old one is deleted."""
    seen: dict[str, list[Any]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        if args.type_ == "azure-native:authorization:RoleAssignment":
            seen[args.name] = list(args.opts.aliases or [])

    files = read_stack_files("prod", REPO_ROOT)
    program = project_program(files)

    def with_capture() -> None:
        pulumi.runtime.register_stack_transformation(capture)  # type: ignore[arg-type]
        program()

    run_stack("prod", REPO_ROOT, program=with_capture)

    def named(aliases: list[Any]) -> list[Any]:
        # The SDK adds parent-derived aliases (name left as `...`); ours is the one with a name.
        return [a for a in aliases if isinstance(a, pulumi.Alias) and isinstance(a.name, str)]

    (alias,) = named(seen["api-production-secrets-user"])
    assert alias.name == "vault-access-api-production-secrets-user"
    assert alias.parent is not None
    assert named(seen["web-production-acr-pull"]) == []
