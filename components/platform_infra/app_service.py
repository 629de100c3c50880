"""Blue/green Azure App Service: a Linux plan, a web app (production slot) and a ``staging`` slot.

The infrastructure (plan, slots, TLS, identity, health check, settings) belongs to Pulumi; the application
version belongs to the release flow (:mod:`platform_infra.release.flow`, ``infra release``), which deploys to
``staging``, verifies it and swaps. So that a later ``pulumi up`` never undoes a release:

* the container image (``siteConfig.linuxFxVersion``) is only set when a slot is created and is listed in
  ``ignore_changes`` on both slots; after a swap each slot keeps whatever image the release put there;
* app settings live in their own resources (``WebAppApplicationSettings``/``...Slot``), so changing a
  setting never re-sends the site (and with it a stale image) to Azure;
* both slots get the same non-sticky settings, so a swap, which moves non-sticky settings with the
  content, changes nothing Pulumi manages; a value that differs per slot must be slot-sticky;
* production's routing rules (``siteConfig.experiments``, canary releases) and the release record tags
  are the release flow's too, so they are in the production site's ``ignore_changes``;
* both slots carry Azure's swap warm-up gate (``WEBSITE_SWAP_WARMUP_PING_PATH`` = the health path,
  ``WEBSITE_SWAP_WARMUP_PING_STATUSES``), so Azure itself aborts a swap to a candidate that fails its
  health check under production's sticky settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import applicationinsights, authorization, resources, web

from platform_infra.environment import Environment, Tier
from platform_infra.rbac import BUILTIN_ROLE_GUIDS, role_assignment_name, role_definition_id
from platform_infra.release.probe import HEALTHY_STATUS
from platform_infra.validation import ValidationError
from platform_infra.validation.limits import AZURE_ZONAL_LOCATIONS, require_public_ipv4_range

STAGING_SLOT = "staging"
"""Name of the pre-production slot every app gets."""

PRODUCTION_SLOT = "production"
"""The name Azure's swap API uses for the app itself."""

DEFAULT_HEALTH_CHECK_PATH = "/healthz"

IMAGE_IGNORE_CHANGES = ["siteConfig.linuxFxVersion"]
"""Property path (engine names) of the deployed image, owned by the release flow once a slot exists."""

RELEASE_TAG_PREFIX = "platform-release-"
"""Site tags the release flow writes (its release record and lock), kept across ``pulumi up``."""

RELEASE_TAGS = ("previous", "current", "at", "lock")
"""Suffixes of the release flow's tags on the production site (``platform-release-current``...)."""

RELEASE_IGNORE_CHANGES = [
    # rampUpRules (canary routing) live in production's siteConfig.experiments and belong to `infra release`.
    "siteConfig.experiments",
    *(f'tags["{RELEASE_TAG_PREFIX}{suffix}"]' for suffix in RELEASE_TAGS),
]
"""Property paths of the production site owned by the release flow (routing rules, release record)."""

SWAP_WARMUP_PATH_SETTING = "WEBSITE_SWAP_WARMUP_PING_PATH"
SWAP_WARMUP_STATUSES_SETTING = "WEBSITE_SWAP_WARMUP_PING_STATUSES"
SWAP_WARMUP_STATUSES = str(HEALTHY_STATUS)
"""The only warm-up answer that lets a swap proceed: a redirect (Easy Auth login) or 5xx aborts it.

App Service docs, "Set up staging environments" > "Specify custom warm-up": during a swap Azure pings
``WEBSITE_SWAP_WARMUP_PING_PATH`` on every instance of the source slot *after* applying the target's
slot-sticky settings, and stops the swap when the answer is not in ``WEBSITE_SWAP_WARMUP_PING_STATUSES``
(by default every status is accepted and the path is ``/``).
"""

APP_INSIGHTS_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
"""Set per slot when Application Insights is on; always slot-sticky so telemetry stays with its slot."""

MIN_PROD_CAPACITY = 2

APP_SETTING_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")
APP_SETTING_NAME_ALLOWED = "1-128 letters, digits and _.:- starting with a letter or _"
HEALTH_CHECK_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9/._~!$&'()*+,;=:@%-]{0,255}$")
HEALTH_CHECK_PATH_ALLOWED = "an absolute URL path like /healthz"
IMAGE_PATTERN = re.compile(
    r"^[a-z0-9][a-z0-9._/-]*(:[0-9]+)?(/[a-z0-9._-]+)*(:[A-Za-z0-9_.-]{1,128})?(@sha256:[0-9a-f]{64})?$"
)
IMAGE_ALLOWED = "a container image reference like myregistry.azurecr.io/web:1.4.2"
RUNTIME_PATTERN = re.compile(r"^[A-Z]+\|[A-Za-z0-9._-]+$")
RUNTIME_ALLOWED = "a Linux runtime stack like PYTHON|3.12 or NODE|20-lts"
SITE_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,57}[a-z0-9])?$")
SITE_NAME_ALLOWED = "2-59 lower-case letters, digits or '-', not starting or ending with '-'"


@dataclass(frozen=True)
class SkuTier:
    """An App Service plan pricing tier that supports deployment slots.

    :param tier: the tier name Azure expects next to the SKU name (``PremiumV3``).
    :param pattern: SKU names of this tier.
    :param min_capacity: fewest instances the tier runs.
    :param max_capacity: most instances the tier allows.
    """

    tier: str
    pattern: re.Pattern[str]
    min_capacity: int
    max_capacity: int


SLOT_TIERS: tuple[SkuTier, ...] = (
    SkuTier("Standard", re.compile(r"^S[1-3]$"), 1, 10),
    SkuTier("Premium", re.compile(r"^P[1-3]$"), 1, 20),
    SkuTier("PremiumV2", re.compile(r"^P[1-3]v2$"), 1, 30),
    SkuTier("Premium0V3", re.compile(r"^P0v3$"), 1, 30),
    SkuTier("PremiumV3", re.compile(r"^P[1-3]v3$"), 1, 30),
    SkuTier("PremiumMV3", re.compile(r"^P[1-5]mv3$"), 1, 30),
    SkuTier("PremiumV4", re.compile(r"^P[0-3]v4$"), 1, 30),
    SkuTier("PremiumMV4", re.compile(r"^P[1-5]mv4$"), 1, 30),
    SkuTier("Isolated", re.compile(r"^I[1-3]$"), 1, 100),
    SkuTier("IsolatedV2", re.compile(r"^I[1-6]v2$"), 1, 100),
    SkuTier("IsolatedMV2", re.compile(r"^I[1-5]mv2$"), 1, 100),
)
"""Tiers whose plans have deployment slots (Free, Shared and Basic have none).

The tier labels are the ones Azure reports for each SKU (and the Azure CLI sends): ``P0v3`` is
``Premium0V3`` and the memory-optimised ``P1mv3`` is ``PremiumMV3``, not ``PremiumV3``.
"""

NO_SLOT_SKUS = re.compile(r"^(F1|D1|B[1-3]|Y1|EP[1-3]|FC1)$")
SKU_ALLOWED = "a Standard (S1-S3), Premium (P1v3, P1mv3, P1v2, ...) or Isolated (I1v2, ...) SKU"


def sku_tier(key: str, sku: object, capacity: object, tier: Tier, *, stack: str | None = None) -> SkuTier:
    """Validate a plan SKU and instance count for an environment tier; return the SKU's pricing tier.

    :param key: the config key or argument to name in errors (``platform:apps[0].sku``); the capacity is
        reported under the sibling key ``capacity``.
    :param sku: SKU name such as ``P1v3``.
    :param capacity: number of instances.
    :param tier: the environment's tier; prod needs at least two instances.
    :param stack: stack for the error message (the running stack by default).
    """
    if not isinstance(sku, str):
        raise ValidationError(key, "must be a SKU name", value=sku, allowed=SKU_ALLOWED, stack=stack)
    capacity_key = key.rsplit(".", 1)[0] + ".capacity" if "." in key else f"{key}.capacity"
    if NO_SLOT_SKUS.match(sku):
        raise ValidationError(
            key,
            "has no deployment slots (Free, Shared, Basic and consumption plans cannot run blue/green)",
            value=sku,
            allowed=SKU_ALLOWED,
            stack=stack,
        )
    found = next((t for t in SLOT_TIERS if t.pattern.match(sku)), None)
    if found is None:
        raise ValidationError(
            key, "is not a known App Service SKU", value=sku, allowed=SKU_ALLOWED, stack=stack
        )
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise ValidationError(capacity_key, "must be a whole number", value=capacity, stack=stack)
    minimum = max(found.min_capacity, MIN_PROD_CAPACITY if tier is Tier.PROD else 0)
    if capacity < minimum or capacity > found.max_capacity:
        if tier is Tier.PROD and found.min_capacity <= capacity < MIN_PROD_CAPACITY:
            problem = (
                f"must be at least {MIN_PROD_CAPACITY} in prod (one instance is a single point of failure)"
            )
        else:
            problem = f"is out of range for a {found.tier} plan"
        raise ValidationError(
            capacity_key, problem, value=capacity, allowed=f"{minimum} to {found.max_capacity}", stack=stack
        )
    return found


ZONE_REDUNDANT_TIERS = frozenset(
    {
        "PremiumV2",
        "Premium0V3",
        "PremiumV3",
        "PremiumMV3",
        "PremiumV4",
        "PremiumMV4",
        "IsolatedV2",
        "IsolatedMV2",
    }
)
"""Tiers whose plans can be zone-redundant ("Reliability in Azure App Service", availability zone support:
Premium v2, v3 and v4 and Isolated v2, in a region with availability zones)."""
MIN_ZONE_REDUNDANT_CAPACITY = 2
"""The current rule ("Reliability in Azure App Service"): a zone-redundant plan runs at least two instances
(it used to be three; Azure spreads them over the region's zones)."""
ISOLATED_TIERS = frozenset({"Isolated", "IsolatedV2", "IsolatedMV2"})
"""Isolated plans exist only inside an App Service Environment (they are its dedicated workers)."""
ASE_ID_PATTERN = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Web/hostingEnvironments/[^/]+$",
    re.IGNORECASE,
)
ASE_ID_ALLOWED = (
    "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Web/hostingEnvironments/<name>"
)
SUBNET_ID_PATTERN = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network/"
    r"virtualNetworks/[^/]+/subnets/[^/]+$",
    re.IGNORECASE,
)
SUBNET_ID_ALLOWED = "a subnet resource id (/subscriptions/.../virtualNetworks/<vnet>/subnets/<name>)"
ACR_PULL_ROLE = BUILTIN_ROLE_GUIDS["AcrPull"]
"""Built-in role AcrPull ("Pull artifacts from a container registry"; source in rbac/builtin_roles.json)."""


def zone_redundancy(
    key: str,
    requested: bool | None,
    sku: str,
    capacity: int,
    location: str,
    tier: Tier,
    *,
    stack: str | None = None,
) -> bool:
    """Whether a plan is zone-redundant: as requested, or by default in prod where the SKU and region allow.

    :param key: the config key or argument to name in errors (``platform:apps[0].zoneRedundant``).
    :param requested: the explicit choice, or None for the default.
    :param sku: the plan SKU (already accepted by :func:`sku_tier`).
    """
    found = next((t for t in SLOT_TIERS if t.pattern.match(sku)), None)
    tier_name = found.tier if found is not None else sku
    possible = tier_name in ZONE_REDUNDANT_TIERS and location in AZURE_ZONAL_LOCATIONS
    if requested is None:
        return possible and tier is Tier.PROD and capacity >= MIN_ZONE_REDUNDANT_CAPACITY
    if requested and tier_name not in ZONE_REDUNDANT_TIERS:
        raise ValidationError(
            key,
            f"is not available for a {tier_name} plan",
            value=True,
            allowed="a Premium v2/v3/v4 or Isolated v2 SKU, or false",
            stack=stack,
        )
    if requested and location not in AZURE_ZONAL_LOCATIONS:
        raise ValidationError(
            key,
            f"is not available in {location} (no availability zones)",
            value=True,
            allowed="a location with availability zones, or false",
            stack=stack,
        )
    if requested and capacity < MIN_ZONE_REDUNDANT_CAPACITY:
        raise ValidationError(
            key,
            f"needs at least {MIN_ZONE_REDUNDANT_CAPACITY} instances (capacity is {capacity})",
            value=True,
            allowed=f"capacity >= {MIN_ZONE_REDUNDANT_CAPACITY}, or false",
            stack=stack,
        )
    return bool(requested)


def require_environment_for_isolated(
    key: str, found: SkuTier, environment_id: object, *, sku_key: str, stack: str | None = None
) -> str | None:
    """An Isolated SKU needs an App Service Environment id, and only an Isolated SKU takes one.

    :param key: the key of the environment id (``platform:apps[0].appServiceEnvironmentId``).
    :param sku_key: the key of the SKU, named when an Isolated SKU has no environment.
    """
    isolated = found.tier in ISOLATED_TIERS
    if environment_id is None:
        if isolated:
            raise ValidationError(
                sku_key,
                f"is an {found.tier} SKU, which runs only in an App Service Environment",
                allowed=f"set {key}, or a Standard/Premium SKU",
                stack=stack,
            )
        return None
    if not isolated:
        raise ValidationError(
            key, f"applies to Isolated SKUs only, not {found.tier}", value=environment_id, stack=stack
        )
    if not isinstance(environment_id, str) or not ASE_ID_PATTERN.fullmatch(environment_id):
        raise ValidationError(
            key,
            "is not an App Service Environment id",
            value=environment_id,
            allowed=ASE_ID_ALLOWED,
            stack=stack,
        )
    return environment_id


@dataclass(frozen=True)
class AccessRestrictions:
    """Who may reach a site: everything else gets 403 (``ipSecurityRestrictions`` with a Deny default).

    :param ip_ranges: public IPv4 ranges allowed in (e.g. the pipeline runners' egress addresses).
    :param subnet_ids: subnets allowed in through their ``Microsoft.Web`` service endpoint (e.g. self-hosted
        runners inside the VNet).
    """

    ip_ranges: Sequence[str] = ()
    subnet_ids: Sequence[str] = ()


@dataclass(frozen=True)
class SlotRoleGrant:
    """A role each slot's identity gets on some scope (a vault, a registry).

    The assignment's name is a uuid5 of ``scope_key``, ``<app>-<slot>`` and the role, so it is the same on
    every run. The app's settings depend on it: App Service resolves Key Vault references and pulls the image
    when the settings change (the update restarts the site), which must happen after access exists.

    :param label: short name of the grant (``secrets-user``, ``acr-pull``), part of the resource name.
    :param scope: the ARM id the role is granted on.
    :param scope_key: the same id as a plain string (known before deployment) for the name.
    :param role_definition_guid: the built-in role's GUID.
    :param subscription_id: the subscription of the role definition id.
    :param previous_name: former logical name, ``{app}``/``{slot}`` filled in, kept as an alias so a stack
        that declared the grant elsewhere adopts it instead of creating a duplicate (Azure refuses one).
    :param previous_parent_urn: the former parent's URN for that alias.
    """

    label: str
    scope: pulumi.Input[str]
    scope_key: str
    role_definition_guid: str
    subscription_id: str
    previous_name: str | None = None
    previous_parent_urn: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class BlueGreenAppServiceArgs:
    """Arguments of :class:`BlueGreenAppService`.

    :param environment: the environment (tier, location and tags come from it).
    :param sku: plan SKU, e.g. ``P1v3``; Free, Shared and Basic are refused (no slots).
    :param capacity: plan instances; prod needs at least 2.
    :param container_image: initial container image (``registry/name:tag``); later versions are deployed by
        the release flow and Pulumi does not reset them. Exactly one of this and ``runtime``.
    :param runtime: Linux runtime stack (``PYTHON|3.12``) for code deployments, owned by Pulumi.
    :param health_check_path: path App Service and the release flow probe; default ``/healthz``.
    :param app_settings: settings for both slots; values may be Outputs such as Key Vault references
        ``@Microsoft.KeyVault(SecretUri=...)``.
    :param staging_app_settings: per-slot overrides for ``staging``; every key must also be sticky.
    :param sticky_settings: setting names that stay with their slot during a swap.
    :param staging_always_on: keep the staging slot warm; may be false outside prod only.
    :param application_insights: create one Application Insights component per slot.
    :param log_analytics_workspace_id: workspace the Application Insights components store data in;
        required with ``application_insights`` (Azure no longer creates classic components).
    :param resource_group_name: an existing resource group to use instead of creating one.
    :param site_name: the globally unique site name (``<site_name>.azurewebsites.net``); generated when unset.
    :param virtual_network_subnet_id: regional VNet integration for both slots (a subnet delegated to
        Microsoft.Web/serverFarms, used by this plan only); all outbound traffic is then routed into the VNet
        (``outboundVnetRouting.applicationTraffic``, formerly ``vnetRouteAllEnabled``), which Key Vault
        references to a vault behind a private endpoint need.
    :param app_service_environment_id: the App Service Environment an Isolated plan runs in (required for
        Isolated SKUs, refused otherwise); its apps are in the VNet already, so no integration subnet.
    :param zone_redundant: spread the plan over availability zones (Premium v2+/Isolated v2, 2+ instances).
    :param staging_access: who may reach the staging slot and both SCM (Kudu) sites; None leaves them open.
    :param production_access: who may reach production; None keeps it public (the usual case).
    :param registry_id: ARM id of the Azure Container Registry the image comes from; both slots get AcrPull
        on it and pull with their own identity (``acrUseManagedIdentityCreds``).
    :param registry_scope_key: the registry id as a plain string (for deterministic assignment names).
    :param role_grants: further roles both slots' identities need (e.g. Key Vault Secrets User).
    :param settings_depend_on: what must exist before the settings are applied (the update restarts the
        site, which then resolves Key Vault references), e.g. the vault's private endpoint and DNS record.
    """

    environment: Environment
    sku: str
    capacity: int
    container_image: str | None = None
    runtime: str | None = None
    health_check_path: str = DEFAULT_HEALTH_CHECK_PATH
    app_settings: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    staging_app_settings: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    sticky_settings: Sequence[str] = ()
    staging_always_on: bool = True
    application_insights: bool = False
    log_analytics_workspace_id: pulumi.Input[str] | None = None
    resource_group_name: pulumi.Input[str] | None = None
    site_name: str | None = None
    virtual_network_subnet_id: pulumi.Input[str] | None = None
    app_service_environment_id: str | None = None
    zone_redundant: bool = False
    staging_access: AccessRestrictions | None = None
    production_access: AccessRestrictions | None = None
    registry_id: pulumi.Input[str] | None = None
    registry_scope_key: str | None = None
    role_grants: Sequence[SlotRoleGrant] = ()
    settings_depend_on: Sequence[pulumi.Resource] = ()


def validate_access(key: str, access: AccessRestrictions, *, stack: str | None = None) -> None:
    """Allow rules App Service accepts: public IPv4 ranges (not everyone) and subnet ids; at least one."""
    if not access.ip_ranges and not access.subnet_ids:
        raise ValidationError(
            key,
            "allows no one (the site would answer 403 to everything, the pipeline's checks included)",
            allowed="at least one IP range or subnet",
            stack=stack,
        )
    for index, ip_range in enumerate(access.ip_ranges):
        require_public_ipv4_range(f"{key}.ip_ranges[{index}]", ip_range, allow_any=False, stack=stack)
    for index, subnet in enumerate(access.subnet_ids):
        if not isinstance(subnet, str) or not SUBNET_ID_PATTERN.fullmatch(subnet):
            raise ValidationError(
                f"{key}.subnet_ids[{index}]",
                "is not a subnet id",
                value=subnet,
                allowed=SUBNET_ID_ALLOWED,
                stack=stack,
            )


def validate_args(name: str, args: BlueGreenAppServiceArgs) -> SkuTier:
    """Check every argument; raise a ValidationError naming ``BlueGreenAppService(<name>).<arg>``."""

    def key(arg: str) -> str:
        return f"BlueGreenAppService({name}).{arg}"

    found = sku_tier(key("sku"), args.sku, args.capacity, args.environment.tier)
    if (args.container_image is None) == (args.runtime is None):
        raise ValidationError(
            key("container_image"),
            "exactly one of container_image and runtime must be given",
            value={"container_image": args.container_image, "runtime": args.runtime},
            allowed="a container image or a runtime stack",
        )
    if args.container_image is not None and not IMAGE_PATTERN.match(args.container_image):
        raise ValidationError(
            key("container_image"),
            "is not an image reference",
            value=args.container_image,
            allowed=IMAGE_ALLOWED,
        )
    if args.runtime is not None and not RUNTIME_PATTERN.match(args.runtime):
        raise ValidationError(
            key("runtime"), "is not a runtime stack", value=args.runtime, allowed=RUNTIME_ALLOWED
        )
    if not isinstance(args.health_check_path, str) or not HEALTH_CHECK_PATH_PATTERN.match(
        args.health_check_path
    ):
        raise ValidationError(
            key("health_check_path"),
            "is not a URL path",
            value=args.health_check_path,
            allowed=HEALTH_CHECK_PATH_ALLOWED,
        )
    if args.site_name is not None and not SITE_NAME_PATTERN.match(args.site_name):
        raise ValidationError(
            key("site_name"), "is not a valid site name", value=args.site_name, allowed=SITE_NAME_ALLOWED
        )
    for arg, settings in (
        ("app_settings", args.app_settings),
        ("staging_app_settings", args.staging_app_settings),
    ):
        for setting in settings:
            if not APP_SETTING_NAME_PATTERN.match(setting):
                raise ValidationError(
                    f"{key(arg)}.{setting}",
                    "is not a valid app setting name",
                    allowed=APP_SETTING_NAME_ALLOWED,
                )
            if args.application_insights and setting == APP_INSIGHTS_SETTING:
                raise ValidationError(
                    f"{key(arg)}.{setting}",
                    "is set by the component when application_insights is on",
                    allowed="remove it, or turn application_insights off",
                )
    sticky = set(args.sticky_settings)
    for setting in args.sticky_settings:
        if not APP_SETTING_NAME_PATTERN.match(setting):
            raise ValidationError(
                key("sticky_settings"),
                "holds an invalid app setting name",
                value=setting,
                allowed=APP_SETTING_NAME_ALLOWED,
            )
    for setting in args.staging_app_settings:
        if setting not in sticky:
            # A non-sticky value that differs per slot would move with a swap; the next `pulumi up` would
            # then move it back, changing production behind the release's back.
            raise ValidationError(
                f"{key('staging_app_settings')}.{setting}",
                "differs per slot, so it must be slot-sticky",
                allowed="add it to sticky_settings",
            )
    if args.application_insights and args.log_analytics_workspace_id is None:
        # Without a workspace the component would be a classic one: retired since February 2024 and
        # refused by Azure in newer regions.
        raise ValidationError(
            key("log_analytics_workspace_id"),
            "is required with application_insights (classic Application Insights is retired)",
            allowed="a Log Analytics workspace id, or application_insights off",
        )
    require_environment_for_isolated(
        key("app_service_environment_id"), found, args.app_service_environment_id, sku_key=key("sku")
    )
    if args.app_service_environment_id is not None and args.virtual_network_subnet_id is not None:
        raise ValidationError(
            key("virtual_network_subnet_id"),
            "does not apply in an App Service Environment (its apps are in the VNet already)",
            allowed="no integration subnet for an Isolated plan",
        )
    if args.zone_redundant:
        zone_redundancy(
            key("zone_redundant"),
            True,
            args.sku,
            args.capacity,
            args.environment.azure.location,
            args.environment.tier,
        )
    for arg, access in (
        ("staging_access", args.staging_access),
        ("production_access", args.production_access),
    ):
        if access is not None:
            validate_access(key(arg), access)
    if (args.registry_id is None) != (args.registry_scope_key is None):
        raise ValidationError(
            key("registry_id"), "and registry_scope_key go together", allowed="both or neither"
        )
    if args.registry_id is not None and args.container_image is None:
        raise ValidationError(
            key("registry_id"), "applies to container apps only", allowed="container_image, or no registry"
        )
    labels = [grant.label for grant in args.role_grants]
    if len(set(labels)) != len(labels) or ("acr-pull" in labels and args.registry_id is not None):
        raise ValidationError(key("role_grants"), "repeats a label", value=labels, allowed="unique labels")
    if not args.staging_always_on and args.environment.tier is Tier.PROD:
        raise ValidationError(
            key("staging_always_on"),
            "must be true in prod (a cold staging slot makes swaps slow and health checks flaky)",
            value=False,
            allowed="true",
        )
    return found


class BlueGreenAppService(pulumi.ComponentResource):
    """A Linux web app with a production slot and a ``staging`` slot, ready for blue/green releases.

    Both slots: system-assigned identity, HTTPS only, TLS 1.2 minimum (site and SCM), FTP/FTPS disabled,
    HTTP/2, a health check path, the same app settings and the same container image or runtime at creation.
    Slot-sticky setting names are declared with ``WebAppSlotConfigurationNames``. Optionally one
    workspace-based Application Insights component per slot.
    """

    resource_group_name: pulumi.Output[str]
    """The resource group holding the plan and the app."""
    plan: web.AppServicePlan
    """The Linux App Service plan."""
    web_app: web.WebApp
    """The web app (its production slot)."""
    staging_slot: web.WebAppSlot
    """The ``staging`` deployment slot."""
    app_name: pulumi.Output[str]
    """The site name, as the release flow's ``--app`` expects it."""
    default_host_name: pulumi.Output[str]
    """Host name of the production slot."""
    staging_host_name: pulumi.Output[str]
    """Host name of the staging slot."""
    production_principal_id: pulumi.Output[str]
    """Object id of the production slot's managed identity."""
    staging_principal_id: pulumi.Output[str]
    """Object id of the staging slot's managed identity (slots have their own identities)."""
    principal_ids: dict[str, pulumi.Output[str]]
    """``{"production": ..., "staging": ...}``: grant both access to what the app reads (e.g. Key Vault)."""
    slot_resource_ids: dict[str, pulumi.Output[str]]
    """``{"production": web app id, "staging": slot id}``, for diagnostic settings and alerts."""
    insights: dict[str, applicationinsights.Component]
    """Application Insights component per slot label (empty unless enabled)."""
    health_check_path: str
    """The path both slots answer their health check on."""
    logical_name: str
    """The component's logical name (the app's short name in stack config)."""

    def __init__(
        self, name: str, args: BlueGreenAppServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        found = validate_args(name, args)
        super().__init__("platform:app:BlueGreenAppService", name, None, opts)
        env = args.environment
        tags = dict(env.tags)
        location = env.azure.location
        child = pulumi.ResourceOptions(parent=self)
        self.health_check_path = args.health_check_path
        self.logical_name = name

        if args.resource_group_name is None:
            group = resources.ResourceGroup(
                f"{name}-rg", resources.ResourceGroupArgs(location=location, tags=tags), opts=child
            )
            self.resource_group_name = group.name
        else:
            self.resource_group_name = pulumi.Output.from_input(args.resource_group_name)
        rg = self.resource_group_name

        self.plan = web.AppServicePlan(
            f"{name}-plan",
            web.AppServicePlanArgs(
                resource_group_name=rg,
                location=location,
                kind="linux",
                reserved=True,  # Linux plan
                sku=web.SkuDescriptionArgs(name=args.sku, tier=found.tier, capacity=args.capacity),
                zone_redundant=True if args.zone_redundant else None,
                hosting_environment_profile=web.HostingEnvironmentProfileArgs(
                    id=args.app_service_environment_id
                )
                if args.app_service_environment_id
                else None,
                tags=tags,
            ),
            opts=child,
        )

        self.insights = {}
        if args.application_insights:
            for label in (PRODUCTION_SLOT, STAGING_SLOT):
                self.insights[label] = applicationinsights.Component(
                    f"{name}-{label}-insights",
                    applicationinsights.ComponentArgs(
                        resource_group_name=rg,
                        location=location,
                        kind="web",
                        application_type=applicationinsights.ApplicationType.WEB,
                        ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
                        workspace_resource_id=args.log_analytics_workspace_id,
                        tags={**tags, "slot": label},
                    ),
                    opts=child,
                )

        linux_fx_version = f"DOCKER|{args.container_image}" if args.container_image else args.runtime
        kind = "app,linux,container" if args.container_image else "app,linux"
        # Only a container image is a release concern; a runtime stack (PYTHON|3.12) stays Pulumi's.
        image_opts = IMAGE_IGNORE_CHANGES if args.container_image else []

        integrated = args.virtual_network_subnet_id is not None
        scm_rules = _allow_rules(args.staging_access) if args.staging_access is not None else None

        def site_config(always_on: bool, access: AccessRestrictions | None) -> web.SiteConfigArgs:
            main_rules = _allow_rules(access) if access is not None else None
            return web.SiteConfigArgs(
                always_on=always_on,
                ftps_state=web.FtpsState.DISABLED,
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                scm_min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                http20_enabled=True,
                health_check_path=args.health_check_path,
                linux_fx_version=linux_fx_version,
                # Registry pulls with the slot's own identity (AcrPull below): no registry password anywhere.
                acr_use_managed_identity_creds=True if args.registry_id is not None else None,
                # Key Vault references to a vault behind a private endpoint resolve only when the app's
                # traffic goes through the VNet ("Access network-restricted vaults"; same flag as the site's
                # outboundVnetRouting.applicationTraffic in newer API versions).
                vnet_route_all_enabled=True if integrated else None,
                # Access restrictions (MicrosoftDocs/azure-docs app-service-ip-restrictions.md): rules for the
                # site and, separately, for its SCM (Kudu) site; unmatched traffic is denied.
                ip_security_restrictions=main_rules,
                ip_security_restrictions_default_action=web.DefaultAction.DENY if main_rules else None,
                scm_ip_security_restrictions=scm_rules,
                scm_ip_security_restrictions_default_action=web.DefaultAction.DENY if scm_rules else None,
                scm_ip_security_restrictions_use_main=False if scm_rules else None,
            )

        outbound = web.OutboundVnetRoutingArgs(application_traffic=True) if integrated else None

        identity = web.ManagedServiceIdentityArgs(type=web.ManagedServiceIdentityType.SYSTEM_ASSIGNED)
        self.web_app = web.WebApp(
            f"{name}-app",
            web.WebAppArgs(
                name=args.site_name,
                resource_group_name=rg,
                location=location,
                kind=kind,
                reserved=True,
                server_farm_id=self.plan.id,
                https_only=True,
                # Stateless apps: users spread evenly, nobody pinned to an instance being recycled. The
                # release flow does not need affinity: it credits each probe to the instance the app names
                # in its answer (WEBSITE_INSTANCE_ID), not to the ARRAffinity cookie (release/probe.py).
                client_affinity_enabled=False,
                identity=identity,
                key_vault_reference_identity="SystemAssigned",
                site_config=site_config(always_on=True, access=args.production_access),
                virtual_network_subnet_id=args.virtual_network_subnet_id,
                outbound_vnet_routing=outbound,
                tags={**tags, "slot": PRODUCTION_SLOT},
            ),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=[*image_opts, *RELEASE_IGNORE_CHANGES]),
        )
        self.app_name = self.web_app.name

        self.staging_slot = web.WebAppSlot(
            f"{name}-{STAGING_SLOT}",
            web.WebAppSlotArgs(
                name=self.web_app.name,
                slot=STAGING_SLOT,
                resource_group_name=rg,
                location=location,
                kind=kind,
                reserved=True,
                server_farm_id=self.plan.id,
                https_only=True,
                client_affinity_enabled=False,  # as production (see there)
                identity=identity,
                key_vault_reference_identity="SystemAssigned",
                # Pre-release code: closed to everyone but the configured ranges (the pipeline's checks).
                site_config=site_config(always_on=args.staging_always_on, access=args.staging_access),
                # A slot has its own networking settings; without these it would not be integrated.
                virtual_network_subnet_id=args.virtual_network_subnet_id,
                outbound_vnet_routing=outbound,
                tags={**tags, "slot": STAGING_SLOT},
            ),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=image_opts),
        )

        self.production_principal_id = _principal_id(self.web_app.identity)
        self.staging_principal_id = _principal_id(self.staging_slot.identity)
        self.principal_ids = {
            PRODUCTION_SLOT: self.production_principal_id,
            STAGING_SLOT: self.staging_principal_id,
        }
        grants = list(args.role_grants)
        if args.registry_id is not None and args.registry_scope_key is not None:
            grants.append(
                SlotRoleGrant(
                    label="acr-pull",
                    scope=args.registry_id,
                    scope_key=args.registry_scope_key,
                    role_definition_guid=ACR_PULL_ROLE,
                    subscription_id=env.azure.subscription_id,
                )
            )
        self.role_assignments: dict[str, authorization.RoleAssignment] = {}
        for grant in grants:
            for slot, principal in self.principal_ids.items():
                aliases: list[pulumi.Input[pulumi.Alias]] = []
                if grant.previous_name is not None:
                    aliases.append(
                        pulumi.Alias(
                            name=grant.previous_name.format(app=name, slot=slot),
                            parent=grant.previous_parent_urn,
                        )
                    )
                self.role_assignments[f"{slot}/{grant.label}"] = authorization.RoleAssignment(
                    f"{name}-{slot}-{grant.label}",
                    authorization.RoleAssignmentArgs(
                        role_assignment_name=role_assignment_name(
                            grant.scope_key, f"{name}-{slot}", grant.role_definition_guid
                        ),
                        scope=grant.scope,
                        principal_id=principal,
                        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                        role_definition_id=role_definition_id(
                            grant.subscription_id, grant.role_definition_guid
                        ),
                        description=f"{grant.label} for {name}-{slot}",
                    ),
                    # The name is fixed per app, slot and role: a replacement must delete the old one first.
                    opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, aliases=aliases),
                )
        slot_grants = {
            slot: [a for label, a in self.role_assignments.items() if label.startswith(f"{slot}/")]
            for slot in (PRODUCTION_SLOT, STAGING_SLOT)
        }

        # Azure's own swap gate on both slots, non-sticky (same value everywhere, so a swap moves nothing).
        base_settings: dict[str, pulumi.Input[str]] = {
            SWAP_WARMUP_PATH_SETTING: args.health_check_path,
            SWAP_WARMUP_STATUSES_SETTING: SWAP_WARMUP_STATUSES,
        }
        if args.container_image:
            # A container app must not mount the shared /home storage unless it asks for it.
            base_settings["WEBSITES_ENABLE_APP_SERVICE_STORAGE"] = "false"
        base_settings.update(args.app_settings)
        production_settings = dict(base_settings)
        staging_settings = {**base_settings, **args.staging_app_settings}
        sticky = list(dict.fromkeys(args.sticky_settings))
        if self.insights:
            production_settings[APP_INSIGHTS_SETTING] = self.insights[PRODUCTION_SLOT].connection_string
            staging_settings[APP_INSIGHTS_SETTING] = self.insights[STAGING_SLOT].connection_string
            if APP_INSIGHTS_SETTING not in sticky:
                sticky.append(APP_INSIGHTS_SETTING)

        # Sticky names first: a swap right after creation must already keep per-slot values in place.
        self.slot_configuration_names = web.WebAppSlotConfigurationNames(
            f"{name}-sticky-settings",
            web.WebAppSlotConfigurationNamesArgs(
                name=self.web_app.name, resource_group_name=rg, app_setting_names=sorted(sticky)
            ),
            opts=child,
        )
        self.production_settings = web.WebAppApplicationSettings(
            f"{name}-app-settings",
            web.WebAppApplicationSettingsArgs(
                name=self.web_app.name, resource_group_name=rg, properties=production_settings
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    self.slot_configuration_names,
                    *slot_grants[PRODUCTION_SLOT],
                    *args.settings_depend_on,
                ],
            ),
        )
        self.staging_settings = web.WebAppApplicationSettingsSlot(
            f"{name}-{STAGING_SLOT}-settings",
            web.WebAppApplicationSettingsSlotArgs(
                name=self.web_app.name, slot=STAGING_SLOT, resource_group_name=rg, properties=staging_settings
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    self.staging_slot,
                    self.slot_configuration_names,
                    *slot_grants[STAGING_SLOT],
                    *args.settings_depend_on,
                ],
            ),
        )

        self.default_host_name = self.web_app.default_host_name
        self.staging_host_name = self.staging_slot.default_host_name
        self.slot_resource_ids = {PRODUCTION_SLOT: self.web_app.id, STAGING_SLOT: self.staging_slot.id}
        self.register_outputs(
            {
                "resourceGroupName": self.resource_group_name,
                "appName": self.app_name,
                "defaultHostName": self.default_host_name,
                "stagingHostName": self.staging_host_name,
                "healthCheckPath": self.health_check_path,
                "principalIds": self.principal_ids,
                "slotResourceIds": self.slot_resource_ids,
            }
        )


def _allow_rules(access: AccessRestrictions) -> list[web.IpSecurityRestrictionArgs]:
    rules = [
        web.IpSecurityRestrictionArgs(
            name=f"allow-ip-{index}", action="Allow", priority=100 + index, ip_address=ip_range
        )
        for index, ip_range in enumerate(access.ip_ranges)
    ]
    rules += [
        web.IpSecurityRestrictionArgs(
            name=f"allow-subnet-{index}", action="Allow", priority=200 + index, vnet_subnet_resource_id=subnet
        )
        for index, subnet in enumerate(access.subnet_ids)
    ]
    return rules


def _principal_id(
    identity: pulumi.Output[web.outputs.ManagedServiceIdentityResponse | None],
) -> pulumi.Output[str]:
    return identity.apply(lambda i: i.principal_id if i is not None else "")


__all__ = [
    "ACR_PULL_ROLE",
    "DEFAULT_HEALTH_CHECK_PATH",
    "PRODUCTION_SLOT",
    "SLOT_TIERS",
    "STAGING_SLOT",
    "AccessRestrictions",
    "BlueGreenAppService",
    "BlueGreenAppServiceArgs",
    "SkuTier",
    "SlotRoleGrant",
    "sku_tier",
]
