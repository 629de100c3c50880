"""Azure Monitor for the blue/green web apps: a Log Analytics workspace, diagnostic settings, metric alerts.

:class:`LogAnalyticsWorkspace` is one workspace per environment with a retention from config.
:class:`AppMonitoring` sends each app's HTTP, console and application logs from both slots to it (a swap
moves the content, not the diagnostic settings, so both slots need them) and alerts an action group of
e-mail receivers on HTTP 5xx errors, failing health checks and slow responses.

azure-native v3 has no ``insights`` module: diagnostic settings, action groups and metric alerts are in
``monitor``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import monitor, operationalinsights, resources

from platform_infra.environment import Environment
from platform_infra.validation import ValidationError, require_email

#: Workspace-level (interactive) retention the API accepts for the PerGB2018 and CapacityReservation SKUs;
#: longer archives are set per table, up to 12 years.
MIN_WORKSPACE_RETENTION_DAYS = 30
MAX_WORKSPACE_RETENTION_DAYS = 730
WORKSPACE_SKUS = ("PerGB2018", "CapacityReservation")
#: Commitment tiers (GB/day) of the CapacityReservation SKU.
CAPACITY_RESERVATION_LEVELS = (100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 25000, 50000)

#: App Service log categories sent to the workspace (valid for sites and for their slots).
APP_LOG_CATEGORIES = ("AppServiceHTTPLogs", "AppServiceConsoleLogs", "AppServiceAppLogs")
#: Metric namespace of a web app (its production slot).
WEB_APP_METRIC_NAMESPACE = "Microsoft.Web/sites"

APP_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
SLOT_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
ISO_DURATION_CHOICES = ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H")
WINDOW_CHOICES = ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D")


def require_workspace_retention(key: str, value: object, *, stack: str | None = None) -> int:
    """A workspace retention the Log Analytics API accepts: 30 to 730 days."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or int(value) != value
        or not MIN_WORKSPACE_RETENTION_DAYS <= value <= MAX_WORKSPACE_RETENTION_DAYS
    ):
        raise ValidationError(
            key,
            "is not a workspace retention Log Analytics accepts",
            value=value,
            allowed=f"{MIN_WORKSPACE_RETENTION_DAYS} to {MAX_WORKSPACE_RETENTION_DAYS} days",
            stack=stack,
        )
    return int(value)


@dataclass(frozen=True)
class LogAnalyticsWorkspaceArgs:
    """Arguments of :class:`LogAnalyticsWorkspace`.

    :param environment: the environment (location, tags, tier: prod is protected).
    :param retention_days: interactive retention, 30 to 730 days.
    :param sku: PerGB2018 (pay as you go) or CapacityReservation (a daily commitment).
    :param capacity_reservation_gb: the commitment tier in GB/day; required with CapacityReservation.
    :param resource_group_name: an existing resource group; by default ``rg-<env>-monitoring`` is created.
    """

    environment: Environment
    retention_days: int = 30
    sku: str = "PerGB2018"
    capacity_reservation_gb: int | None = None
    resource_group_name: str | None = None


class LogAnalyticsWorkspace(pulumi.ComponentResource):
    """The environment's Log Analytics workspace (type ``platform:monitoring:LogAnalyticsWorkspace``)."""

    workspace: operationalinsights.Workspace
    """The workspace."""
    workspace_id: pulumi.Output[str]
    """The workspace's ARM resource id (what diagnostic settings and App Insights take)."""
    customer_id: pulumi.Output[str]
    """The workspace (customer) GUID used by queries and agents."""
    resource_group_name: str
    """The resource group holding the workspace (and the alerts of :class:`AppMonitoring`)."""

    def __init__(
        self, name: str, args: LogAnalyticsWorkspaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        prefix = f"LogAnalyticsWorkspace({name})"
        require_workspace_retention(f"{prefix}.retention_days", args.retention_days)
        if args.sku not in WORKSPACE_SKUS:
            raise ValidationError(
                f"{prefix}.sku", "is not a workspace SKU", value=args.sku, allowed=", ".join(WORKSPACE_SKUS)
            )
        if (args.sku == "CapacityReservation") != (args.capacity_reservation_gb is not None) or (
            args.capacity_reservation_gb is not None
            and args.capacity_reservation_gb not in CAPACITY_RESERVATION_LEVELS
        ):
            raise ValidationError(
                f"{prefix}.capacity_reservation_gb",
                "must be a commitment tier with CapacityReservation and unset otherwise",
                value=args.capacity_reservation_gb,
                allowed=", ".join(str(level) for level in CAPACITY_RESERVATION_LEVELS),
            )

        super().__init__("platform:monitoring:LogAnalyticsWorkspace", name, None, opts)
        env = args.environment
        # Prod logs outlive a mistaken `pulumi destroy` or a refactoring.
        protected = pulumi.ResourceOptions(parent=self, protect=env.is_prod, retain_on_delete=env.is_prod)
        depends: list[pulumi.Resource] = []
        if args.resource_group_name is None:
            self.resource_group_name = f"rg-{env.name}-monitoring"
            depends.append(
                resources.ResourceGroup(
                    f"{name}-rg",
                    resources.ResourceGroupArgs(
                        resource_group_name=self.resource_group_name,
                        location=env.azure.location,
                        tags=dict(env.tags),
                    ),
                    opts=protected,
                )
            )
        else:
            self.resource_group_name = args.resource_group_name

        self.workspace = operationalinsights.Workspace(
            f"{name}-workspace",
            operationalinsights.WorkspaceArgs(
                workspace_name=f"log-{env.name}-{name}",
                resource_group_name=self.resource_group_name,
                location=env.azure.location,
                retention_in_days=args.retention_days,
                sku=operationalinsights.WorkspaceSkuArgs(
                    name=args.sku, capacity_reservation_level=args.capacity_reservation_gb
                ),
                tags=dict(env.tags),
            ),
            opts=pulumi.ResourceOptions.merge(protected, pulumi.ResourceOptions(depends_on=depends)),
        )
        self.workspace_id = self.workspace.id
        self.customer_id = self.workspace.customer_id
        self.register_outputs(
            {
                "workspaceId": self.workspace_id,
                "customerId": self.customer_id,
                "resourceGroupName": self.resource_group_name,
                "retentionDays": args.retention_days,
            }
        )


@dataclass(frozen=True)
class MonitoredApp:
    """A web app to monitor.

    :param name: short name used in resource names, e.g. ``web``.
    :param slot_resource_ids: ARM id of every slot by slot name, e.g. ``{"production": id, "staging": id}``.
    :param web_app_resource_id: ARM id of the web app itself (its metrics are the production slot's).
    """

    name: str
    slot_resource_ids: Mapping[str, pulumi.Input[str]]
    web_app_resource_id: pulumi.Input[str]


@dataclass(frozen=True)
class AppAlertThresholds:
    """When the app alerts fire (each over ``window`` and checked every ``frequency``).

    :param http_5xx_count: alert when the app returns more than this many 5xx responses in the window.
    :param response_time_seconds: alert when the average response time exceeds this many seconds.
    :param health_check_percent: alert when the average share of healthy instances falls below this.
    :param window: ISO 8601 window the metrics are aggregated over.
    :param frequency: ISO 8601 evaluation frequency (no longer than the window).
    """

    http_5xx_count: float = 10
    response_time_seconds: float = 1.0
    health_check_percent: float = 100
    window: str = "PT5M"
    frequency: str = "PT1M"


def validate_thresholds(thresholds: AppAlertThresholds, prefix: str, *, stack: str | None = None) -> None:
    """Check ``thresholds``; errors name ``<prefix>.<field>``."""
    checks: list[tuple[str, float, float, float]] = [
        ("http_5xx_count", thresholds.http_5xx_count, 0, 1e9),
        ("response_time_seconds", thresholds.response_time_seconds, 0.001, 230),
        ("health_check_percent", thresholds.health_check_percent, 1, 100),
    ]
    for attribute, value, low, high in checks:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValidationError(
                f"{prefix}.{attribute}",
                "is out of range",
                value=value,
                allowed=f"{low:g} to {high:g}",
                stack=stack,
            )
    if thresholds.window not in WINDOW_CHOICES:
        raise ValidationError(
            f"{prefix}.window",
            "is not an alert window",
            value=thresholds.window,
            allowed=", ".join(WINDOW_CHOICES),
        )
    if thresholds.frequency not in ISO_DURATION_CHOICES or WINDOW_CHOICES.index(
        thresholds.frequency
    ) > WINDOW_CHOICES.index(thresholds.window):
        raise ValidationError(
            f"{prefix}.frequency",
            "is not an evaluation frequency no longer than the window",
            value=thresholds.frequency,
            allowed=", ".join(ISO_DURATION_CHOICES),
            stack=stack,
        )


@dataclass(frozen=True)
class AppMonitoringArgs:
    """Arguments of :class:`AppMonitoring`.

    :param environment: the environment.
    :param apps: the apps to monitor.
    :param workspace_id: ARM id of the Log Analytics workspace receiving the logs.
    :param resource_group_name: resource group for the action group and the alerts.
    :param emails: e-mail receivers of the action group (the same people as the AWS alarm topic).
    :param thresholds: when the alerts fire.
    """

    environment: Environment
    apps: Sequence[MonitoredApp]
    workspace_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    emails: Sequence[str] = field(default_factory=tuple)
    thresholds: AppAlertThresholds = field(default_factory=AppAlertThresholds)


@dataclass(frozen=True)
class _AlertRule:
    suffix: str
    metric: str
    aggregation: str
    operator: str
    threshold: float
    severity: int
    description: str


class AppMonitoring(pulumi.ComponentResource):
    """Diagnostic settings and metric alerts for web apps (type ``platform:monitoring:AppMonitoring``).

    Children: one ``monitor.DiagnosticSetting`` per app and slot, one ``monitor.ActionGroup`` (when there
    are e-mail receivers) and three ``monitor.MetricAlert`` per app: HTTP 5xx, health check, response time.
    """

    diagnostic_settings: dict[str, monitor.DiagnosticSetting]
    """Diagnostic settings by ``<app>-<slot>``."""
    action_group: monitor.ActionGroup | None
    """The action group the alerts notify (None without e-mail receivers)."""
    alerts: dict[str, monitor.MetricAlert]
    """Metric alerts by ``<app>-<kind>``."""

    def __init__(
        self, name: str, args: AppMonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        prefix = f"AppMonitoring({name})"
        seen: set[str] = set()
        for index, app in enumerate(args.apps):
            if not isinstance(app.name, str) or not APP_NAME_PATTERN.fullmatch(app.name) or app.name in seen:
                raise ValidationError(
                    f"{prefix}.apps[{index}].name",
                    "must be a unique short lower-case name",
                    value=app.name,
                    allowed="1-40 lower-case letters, digits or '-'",
                )
            seen.add(app.name)
            if not app.slot_resource_ids:
                raise ValidationError(
                    f"{prefix}.apps[{index}].slot_resource_ids", "must name at least one slot"
                )
            for slot in app.slot_resource_ids:
                if not isinstance(slot, str) or not SLOT_NAME_PATTERN.fullmatch(slot):
                    raise ValidationError(
                        f"{prefix}.apps[{index}].slot_resource_ids",
                        "has an invalid slot name",
                        value=slot,
                        allowed="lower-case letters, digits or '-'",
                    )
        for index, email in enumerate(args.emails):
            require_email(f"{prefix}.emails[{index}]", email)
        validate_thresholds(args.thresholds, f"{prefix}.thresholds")

        super().__init__("platform:monitoring:AppMonitoring", name, None, opts)
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)

        self.diagnostic_settings = {}
        for app in args.apps:
            for slot, resource_id in app.slot_resource_ids.items():
                self.diagnostic_settings[f"{app.name}-{slot}"] = monitor.DiagnosticSetting(
                    f"{name}-{app.name}-{slot}-diagnostics",
                    monitor.DiagnosticSettingArgs(
                        name="send-to-log-analytics",
                        resource_uri=resource_id,
                        workspace_id=args.workspace_id,
                        logs=[
                            monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True)
                            for category in APP_LOG_CATEGORIES
                        ],
                    ),
                    opts=child,
                )

        self.action_group = None
        actions: list[monitor.MetricAlertActionArgs] = []
        if args.emails:
            self.action_group = monitor.ActionGroup(
                f"{name}-action-group",
                monitor.ActionGroupInitArgs(
                    action_group_name=f"ag-{env.name}-{name}",
                    # Shown as the sender of SMS/e-mail; Azure allows 12 characters.
                    group_short_name=f"{env.name}-alerts"[:12],
                    resource_group_name=args.resource_group_name,
                    location="Global",
                    enabled=True,
                    email_receivers=[
                        monitor.MicrosoftCommonEmailReceiverArgs(
                            name=f"email-{index}", email_address=email, use_common_alert_schema=True
                        )
                        for index, email in enumerate(args.emails)
                    ],
                    tags=dict(env.tags),
                ),
                opts=child,
            )
            actions.append(monitor.MetricAlertActionArgs(action_group_id=self.action_group.id))

        t = args.thresholds
        rules = (
            _AlertRule(
                "http5xx", "Http5xx", "Total", "GreaterThan", t.http_5xx_count, 1,
                f"more than {t.http_5xx_count:g} HTTP 5xx responses in {t.window}",
            ),
            _AlertRule(
                "health-check", "HealthCheckStatus", "Average", "LessThan", t.health_check_percent, 1,
                f"fewer than {t.health_check_percent:g}% of instances pass the health check",
            ),
            _AlertRule(
                "response-time", "HttpResponseTime", "Average", "GreaterThan", t.response_time_seconds, 2,
                f"average response time above {t.response_time_seconds:g} s over {t.window}",
            ),
        )  # fmt: skip
        self.alerts = {}
        for app in args.apps:
            for rule in rules:
                self.alerts[f"{app.name}-{rule.suffix}"] = monitor.MetricAlert(
                    f"{name}-{app.name}-{rule.suffix}",
                    monitor.MetricAlertArgs(
                        rule_name=f"{env.name}-{app.name}-{rule.suffix}",
                        resource_group_name=args.resource_group_name,
                        location="global",
                        description=f"{app.name} ({env.name}): {rule.description}",
                        severity=rule.severity,
                        enabled=True,
                        auto_mitigate=True,
                        scopes=[app.web_app_resource_id],
                        evaluation_frequency=t.frequency,
                        window_size=t.window,
                        criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                            odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                            all_of=[
                                monitor.MetricCriteriaArgs(
                                    criterion_type="StaticThresholdCriterion",
                                    name=rule.suffix,
                                    metric_name=rule.metric,
                                    metric_namespace=WEB_APP_METRIC_NAMESPACE,
                                    operator=rule.operator,
                                    threshold=float(rule.threshold),
                                    time_aggregation=rule.aggregation,
                                )
                            ],
                        ),
                        actions=actions,
                        tags=dict(env.tags),
                    ),
                    opts=child,
                )
        self.register_outputs(
            {
                "diagnosticSettings": sorted(self.diagnostic_settings),
                "alerts": sorted(self.alerts),
                "actionGroupId": self.action_group.id if self.action_group is not None else None,
            }
        )
