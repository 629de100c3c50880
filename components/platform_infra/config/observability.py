"""``platform:logs``, ``platform:alarms`` and ``platform:monitoring`` (see docs/observability.md).

The values :mod:`platform_infra.log_groups`, :mod:`platform_infra.retention_enforcer`,
:mod:`platform_infra.alarms` and :mod:`platform_infra.azure_monitoring` would refuse are refused here by
the same checks (``require_retention_days``, ``validate_alarm_spec``, ``validate_thresholds`` ...), under
their config keys (``platform:logs.retentionDays``, ``platform:alarms.alarms[0].threshold``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import field_validator, model_validator

from platform_infra.alarms import (
    COMPARISONS,
    CONFIG_FIELD_NAMES,
    PRESETS,
    STAGED_PRESETS,
    TREAT_MISSING_DATA,
    MetricAlarmSpec,
    require_https_endpoint,
    require_topic_kms_key,
    validate_alarm_spec,
)
from platform_infra.azure_monitoring import (
    CAPACITY_RESERVATION_LEVELS,
    ISO_DURATION_CHOICES,
    MAX_WORKSPACE_RETENTION_DAYS,
    MIN_WORKSPACE_RETENTION_DAYS,
    WINDOW_CHOICES,
    WORKSPACE_SKUS,
    AppAlertThresholds,
    require_workspace_retention,
    validate_thresholds,
)
from platform_infra.config.base import (
    Bool,
    Checked,
    CheckedList,
    Choice,
    ConfigModel,
    Int,
    Number,
    PlainMap,
    Problem,
    Problems,
    Text,
    TextList,
    field,
)
from platform_infra.log_groups import (
    ALLOWED_RETENTION_DAYS,
    KMS_KEY_ARN_PATTERN,
    LOG_GROUP_NAME_PATTERN,
    LogGroupSpec,
    require_kms_key_arn,
    require_log_group_name,
    require_retention_days,
)
from platform_infra.retention_enforcer import SCHEDULE_PATTERN, require_schedule
from platform_infra.validation import EMAIL_PATTERN, ValidationError, require_email

DEFAULT_RETENTION_DAYS = 30
DEFAULT_SCHEDULE = "rate(1 day)"
_NON_EMPTY = re.compile(r"^\S+$")

Retention = Annotated[int, Checked(require_retention_days, {"enum": list(ALLOWED_RETENTION_DAYS)})]
KmsKeyArn = Annotated[
    str, Checked(require_kms_key_arn, {"type": "string", "pattern": KMS_KEY_ARN_PATTERN.pattern})
]


def _at(error: ValidationError, names: dict[str, str] | None = None) -> Problem:
    """A component check's error on ``x.<field>`` as a problem at the field's config key."""
    attribute = error.key.split(".", 1)[1] if "." in error.key else ""
    spelled = (names or {}).get(attribute, attribute)
    return Problem.of(error, at=(spelled,) if spelled else ())


class LogGroupConfig(ConfigModel):
    """One entry of ``platform:logs.logGroups``: a CloudWatch log group the stack declares."""

    name: Annotated[
        str, Checked(require_log_group_name, {"type": "string", "pattern": LOG_GROUP_NAME_PATTERN.pattern})
    ] = field("Log group name, unique in the stack.")
    retention_days: Retention | None = field(
        "Retention of this group; default platform:logs.retentionDays.", None
    )

    @property
    def spec(self) -> LogGroupSpec:
        """The component's argument."""
        return LogGroupSpec(name=self.name, retention_days=self.retention_days)


class EnforcerConfig(ConfigModel):
    """``platform:logs.enforcer``: the account-wide retention enforcer (a scheduled Lambda)."""

    enabled: Bool = field("Deploy the enforcer.", True)
    schedule: Annotated[
        str, Checked(require_schedule, {"type": "string", "pattern": SCHEDULE_PATTERN.pattern})
    ] = field("EventBridge schedule expression.", DEFAULT_SCHEDULE)
    retention_days: Retention | None = field(
        "Retention set on groups without a compliant one; default platform:logs.retentionDays.", None
    )
    max_retention_days: Retention | None = field(
        "Longest retention a group may keep (audit trails); default retentionDays.", None
    )
    exclude_names: Annotated[tuple[str, ...], TextList(_NON_EMPTY, "a log group name")] = field(
        "Log groups never changed.", (), alias="exclude"
    )
    exclude_prefixes: Annotated[tuple[str, ...], TextList(_NON_EMPTY, "a log group name prefix")] = field(
        "Log group name prefixes never changed.", ()
    )


class LogsConfig(ConfigModel):
    """``platform:logs``: declared CloudWatch log groups and the retention enforcer."""

    retention_days: Retention = field(
        "Default retention of declared groups (and of the enforcer's own group).", DEFAULT_RETENTION_DAYS
    )
    kms_key_arn: KmsKeyArn | None = field("KMS key ARN encrypting the declared groups.", None)
    create_kms_key: Bool = field(
        "Create a customer-managed KMS key (rotation on) for the declared groups (not with kmsKeyArn).",
        False,
    )
    log_groups: tuple[LogGroupConfig, ...] = field("Log groups to declare.", ())
    enforcer_section: EnforcerConfig | None = field("The retention enforcer.", None, alias="enforcer")

    @field_validator("log_groups")
    @classmethod
    def _unique(cls, groups: tuple[LogGroupConfig, ...]) -> tuple[LogGroupConfig, ...]:
        names = [group.name for group in groups]
        problems = [
            Problem("is declared twice", value=name, at=(index, "name"))
            for index, name in enumerate(names)
            if name in names[:index]
        ]
        if problems:
            raise Problems(problems)
        return groups

    @model_validator(mode="after")
    def _one_key(self) -> LogsConfig:
        if self.create_kms_key and self.kms_key_arn is not None:
            raise Problem(
                "conflicts with kmsKeyArn", allowed="one of createKmsKey and kmsKeyArn", at=("createKmsKey",)
            )
        return self

    @model_validator(mode="after")
    def _enforcer_bounds(self) -> LogsConfig:
        enforcer = self.enforcer
        if enforcer is not None and enforcer.max_retention_days is not None:
            assert enforcer.retention_days is not None
            if enforcer.max_retention_days < enforcer.retention_days:
                raise Problem(
                    "is shorter than the retention the enforcer sets",
                    value=enforcer.max_retention_days,
                    allowed=f">= {enforcer.retention_days}",
                    at=("enforcer", "maxRetentionDays"),
                )
        return self

    @property
    def enforcer(self) -> EnforcerConfig | None:
        """The enforcer with its retention resolved, or None when it is not set or disabled."""
        section = self.enforcer_section
        if section is None or not section.enabled:
            return None
        if section.retention_days is None:
            return section.model_copy(update={"retention_days": self.retention_days})
        return section

    @property
    def group_specs(self) -> tuple[LogGroupSpec, ...]:
        """The component's ``groups`` argument."""
        return tuple(group.spec for group in self.log_groups)


class PresetConfig(ConfigModel):
    """One entry of ``platform:alarms.presets``: a usual alarm with its thresholds."""

    preset: Annotated[str, Choice(*sorted(PRESETS))] = field("The preset.")
    target: Annotated[str, Text(allowed="the API, function or queue name the alarm watches")] = field(
        "API, function or queue name the alarm watches."
    )
    stage: Annotated[str, Text()] | None = field("API Gateway stage (API Gateway presets only).", None)
    threshold: Number | None = field("Overrides the preset's threshold.", None)

    @property
    def spec(self) -> MetricAlarmSpec:
        """The alarm this preset stands for."""
        kwargs: dict[str, Any] = {}
        if self.stage is not None:
            kwargs["stage"] = self.stage
        if self.threshold is not None:
            kwargs["threshold"] = self.threshold
        return PRESETS[self.preset](self.target, **kwargs)

    @model_validator(mode="after")
    def _valid(self) -> PresetConfig:
        if self.stage is not None and self.preset not in STAGED_PRESETS:
            raise Problem("only applies to API Gateway presets", value=self.stage, at=("stage",))
        names = {attribute: "target" for attribute in CONFIG_FIELD_NAMES} | {"threshold": "threshold"}
        try:
            validate_alarm_spec(self.spec, "x")
        except ValidationError as error:
            raise _at(error, names) from None
        return self


class AlarmConfig(ConfigModel):
    """One entry of ``platform:alarms.alarms``: a CloudWatch metric alarm."""

    name: Annotated[str, Text()] = field(
        "Short name, unique in the environment (the alarm is <environment>-<name>)."
    )
    namespace: Annotated[str, Text()] = field("Metric namespace, e.g. AWS/SQS.")
    metric_name: Annotated[str, Text()] = field("Metric name.", alias="metric")
    threshold: Number = field("Value the statistic is compared with (no default: choose it).")
    dimensions: PlainMap = field("Metric dimensions.", {})
    statistic: Annotated[str, Text()] = field(
        "SampleCount, Average, Sum, Minimum, Maximum or a percentile like p99.", "Sum"
    )
    period: Annotated[int, Int()] = field("Seconds per data point: 10, 30 or a multiple of 60.", 60)
    evaluation_periods: Annotated[int, Int()] = field("How many recent periods are evaluated.", 1)
    comparison: Annotated[str, Text()] = field(
        "One of " + ", ".join(COMPARISONS) + ".", "GreaterThanOrEqualToThreshold"
    )
    treat_missing_data: Annotated[str, Text()] = field(
        "One of " + ", ".join(TREAT_MISSING_DATA) + ".", "notBreaching"
    )
    datapoints_to_alarm: Annotated[int, Int()] | None = field(
        "How many evaluated periods must breach (default all).", None
    )
    description: str = field("Shown in the notification.", "")

    @property
    def spec(self) -> MetricAlarmSpec:
        """The component's alarm, built 1:1 from this entry."""
        return MetricAlarmSpec(**{name: getattr(self, name) for name in type(self).model_fields})

    @model_validator(mode="after")
    def _valid(self) -> AlarmConfig:
        try:
            validate_alarm_spec(self.spec, "x")
        except ValidationError as error:
            raise _at(error, CONFIG_FIELD_NAMES) from None
        return self


class AlarmsConfig(ConfigModel):
    """``platform:alarms``: the alarm topic, its subscribers and the CloudWatch alarms."""

    emails: Annotated[
        tuple[str, ...], CheckedList(require_email, {"type": "string", "pattern": EMAIL_PATTERN.pattern})
    ] = field("E-mail subscribers (also the Azure action group's receivers).", ())
    https_endpoints: Annotated[
        tuple[str, ...], CheckedList(require_https_endpoint, {"type": "string", "pattern": "^https://"})
    ] = field("HTTPS subscribers.", ())
    kms_key_arn: Annotated[str, Checked(require_topic_kms_key, {"type": "string"})] | None = field(
        "Customer-managed KMS key for the topic; unset creates one.", None
    )
    notify_on_ok: Bool | None = field("Also notify on return to OK; default: only in prod.", None)
    presets: tuple[PresetConfig, ...] = field("Usual alarms by preset.", ())
    custom_alarms: tuple[AlarmConfig, ...] = field("Metric alarms.", (), alias="alarms")

    @model_validator(mode="after")
    def _unique(self) -> AlarmsConfig:
        seen: dict[str, str] = {}
        problems = []
        for section, items in (("presets", self.presets), ("alarms", self.custom_alarms)):
            for index, item in enumerate(items):
                name = item.spec.name
                here = f"platform:alarms.{section}[{index}]"
                if name in seen:
                    problems.append(
                        Problem(
                            f"declares alarm '{name}', which {seen[name]} declares too",
                            allowed="unique alarm names (set a different target or name)",
                            at=(section, index),
                        )
                    )
                seen.setdefault(name, here)
        if problems:
            raise Problems(problems)
        return self

    @property
    def alarms(self) -> tuple[MetricAlarmSpec, ...]:
        """Every alarm, presets expanded first."""
        return tuple(item.spec for item in (*self.presets, *self.custom_alarms))


_ALERT_FIELD_NAMES = {
    "http_5xx_count": "http5xxCount",
    "response_time_seconds": "responseTimeSeconds",
    "health_check_percent": "healthCheckPercent",
}
_THRESHOLDS = AppAlertThresholds()


class AlertsConfig(ConfigModel):
    """``platform:monitoring.alerts``: when the app alerts fire."""

    http_5xx_count: Number = field(
        "Alert above this many 5xx responses in the window.", _THRESHOLDS.http_5xx_count, alias="http5xxCount"
    )
    response_time_seconds: Number = field(
        "Alert when the average response time exceeds this.", _THRESHOLDS.response_time_seconds
    )
    health_check_percent: Number = field(
        "Alert when the average share of healthy instances falls below this.",
        _THRESHOLDS.health_check_percent,
    )
    window: Annotated[str, Text()] = field("Window: " + ", ".join(WINDOW_CHOICES) + ".", _THRESHOLDS.window)
    frequency: Annotated[str, Text()] = field(
        "Evaluation frequency, no longer than the window: " + ", ".join(ISO_DURATION_CHOICES) + ".",
        _THRESHOLDS.frequency,
    )

    @property
    def thresholds(self) -> AppAlertThresholds:
        """The component's argument."""
        return AppAlertThresholds(**{name: getattr(self, name) for name in type(self).model_fields})

    @model_validator(mode="after")
    def _valid(self) -> AlertsConfig:
        try:
            validate_thresholds(self.thresholds, "x")
        except ValidationError as error:
            raise _at(error, _ALERT_FIELD_NAMES) from None
        return self


class MonitoringConfig(ConfigModel):
    """``platform:monitoring``: the Log Analytics workspace and the app alerts."""

    retention_days: Annotated[
        int,
        Checked(
            require_workspace_retention,
            {
                "type": "integer",
                "minimum": MIN_WORKSPACE_RETENTION_DAYS,
                "maximum": MAX_WORKSPACE_RETENTION_DAYS,
            },
            f"{MIN_WORKSPACE_RETENTION_DAYS} to {MAX_WORKSPACE_RETENTION_DAYS} days",
        ),
    ] = field("Workspace retention in days.", DEFAULT_RETENTION_DAYS)
    sku: Annotated[str, Choice(*WORKSPACE_SKUS)] = field("Workspace SKU.", "PerGB2018")
    capacity_reservation_gb: Annotated[int, Int()] | None = field(
        "Commitment tier (GB/day) with sku CapacityReservation: "
        + ", ".join(str(level) for level in CAPACITY_RESERVATION_LEVELS)
        + ".",
        None,
    )
    alerts: AlertsConfig = field("When the app alerts fire.", AlertsConfig())

    @model_validator(mode="after")
    def _capacity(self) -> MonitoringConfig:
        capacity = self.capacity_reservation_gb
        if (self.sku == "CapacityReservation" or capacity is not None) and (
            self.sku != "CapacityReservation" or capacity not in CAPACITY_RESERVATION_LEVELS
        ):
            raise Problem(
                "must be a commitment tier, and only with sku CapacityReservation",
                value=capacity,
                allowed=", ".join(str(level) for level in CAPACITY_RESERVATION_LEVELS),
                at=("capacityReservationGb",),
            )
        return self

    @property
    def thresholds(self) -> AppAlertThresholds:
        """When the app alerts fire."""
        return self.alerts.thresholds


@dataclass(frozen=True)
class ObservabilityConfig:
    """The three observability sections; each is None when the stack does not set it."""

    logs: LogsConfig | None = None
    alarms: AlarmsConfig | None = None
    monitoring: MonitoringConfig | None = None


__all__ = [
    "AlarmConfig",
    "AlarmsConfig",
    "AlertsConfig",
    "EnforcerConfig",
    "LogGroupConfig",
    "LogsConfig",
    "MonitoringConfig",
    "ObservabilityConfig",
    "PresetConfig",
]
