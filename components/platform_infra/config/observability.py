"""``platform:logs``, ``platform:alarms`` and ``platform:monitoring`` (see docs/observability.md).

Turns raw config into the typed arguments of :mod:`platform_infra.log_groups`,
:mod:`platform_infra.retention_enforcer`, :mod:`platform_infra.alarms` and
:mod:`platform_infra.azure_monitoring`.
Every value those components would refuse is refused here first, under its config key (for example
``platform:logs.retentionDays`` for a retention of 42, ``platform:alarms.alarms[0].threshold`` for an alarm
without a threshold, ``platform:alarms.emails[0]`` for a malformed address).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from platform_infra.alarms import (
    CONFIG_FIELD_NAMES,
    PRESETS,
    STAGED_PRESETS,
    MetricAlarmSpec,
    require_https_endpoint,
    require_topic_kms_key,
    validate_alarm_spec,
)
from platform_infra.azure_monitoring import (
    CAPACITY_RESERVATION_LEVELS,
    WORKSPACE_SKUS,
    AppAlertThresholds,
    require_workspace_retention,
    validate_thresholds,
)
from platform_infra.config.reader import ConfigReader, ConfigSection
from platform_infra.log_groups import (
    LogGroupSpec,
    require_kms_key_arn,
    require_log_group_name,
    require_retention_days,
)
from platform_infra.retention_enforcer import require_schedule
from platform_infra.validation import ValidationError, require_email

LOGS_KEYS = frozenset({"retentionDays", "kmsKeyArn", "logGroups", "enforcer"})
LOG_GROUP_KEYS = frozenset({"name", "retentionDays"})
ENFORCER_KEYS = frozenset(
    {"enabled", "schedule", "retentionDays", "maxRetentionDays", "exclude", "excludePrefixes"}
)
ALARMS_KEYS = frozenset({"emails", "httpsEndpoints", "kmsKeyArn", "notifyOnOk", "presets", "alarms"})
PRESET_KEYS = frozenset({"preset", "target", "stage", "threshold"})
ALARM_KEYS = frozenset(CONFIG_FIELD_NAMES.values())
MONITORING_KEYS = frozenset({"retentionDays", "sku", "capacityReservationGb", "alerts"})
ALERT_KEYS = frozenset({"http5xxCount", "responseTimeSeconds", "healthCheckPercent", "window", "frequency"})

DEFAULT_RETENTION_DAYS = 30
_NON_EMPTY = re.compile(r"^\S+$")


@dataclass(frozen=True)
class EnforcerConfig:
    """``platform:logs.enforcer``: the account-wide retention enforcer.

    :param retention_days: retention set on non-compliant groups (default: ``platform:logs.retentionDays``).
    :param max_retention_days: longest retention a group may keep (default: ``retention_days``).
    :param exclude_names: log groups never changed.
    :param exclude_prefixes: log group name prefixes never changed.
    :param schedule: EventBridge schedule expression.
    """

    retention_days: int
    max_retention_days: int | None = None
    exclude_names: tuple[str, ...] = ()
    exclude_prefixes: tuple[str, ...] = ()
    schedule: str = "rate(1 day)"


@dataclass(frozen=True)
class LogsConfig:
    """``platform:logs``: declared log groups and the enforcer.

    :param retention_days: default retention of declared groups (and of the enforcer's own group).
    :param kms_key_arn: optional KMS key ARN encrypting the declared groups.
    :param log_groups: groups to declare.
    :param enforcer: the enforcer, or None when disabled.
    """

    retention_days: int = DEFAULT_RETENTION_DAYS
    kms_key_arn: str | None = None
    log_groups: tuple[LogGroupSpec, ...] = ()
    enforcer: EnforcerConfig | None = None


@dataclass(frozen=True)
class AlarmsConfig:
    """``platform:alarms``: the alarm topic, its subscribers and the alarms.

    :param emails: e-mail subscribers (also the Azure action group's receivers).
    :param https_endpoints: HTTPS subscribers.
    :param kms_key_arn: customer-managed key for the topic; None creates one.
    :param notify_on_ok: also notify on return to OK; None means only in prod.
    :param alarms: every alarm, presets expanded.
    """

    emails: tuple[str, ...] = ()
    https_endpoints: tuple[str, ...] = ()
    kms_key_arn: str | None = None
    notify_on_ok: bool | None = None
    alarms: tuple[MetricAlarmSpec, ...] = ()


@dataclass(frozen=True)
class MonitoringConfig:
    """``platform:monitoring``: the Log Analytics workspace and the app alerts.

    :param retention_days: workspace retention, 30 to 730 days.
    :param sku: PerGB2018 or CapacityReservation.
    :param capacity_reservation_gb: commitment tier with CapacityReservation.
    :param thresholds: when the app alerts fire.
    """

    retention_days: int = DEFAULT_RETENTION_DAYS
    sku: str = "PerGB2018"
    capacity_reservation_gb: int | None = None
    thresholds: AppAlertThresholds = field(default_factory=AppAlertThresholds)


@dataclass(frozen=True)
class ObservabilityConfig:
    """The three observability sections; each is None when the stack does not set it."""

    logs: LogsConfig | None = None
    alarms: AlarmsConfig | None = None
    monitoring: MonitoringConfig | None = None


def read_observability(reader: ConfigReader) -> ObservabilityConfig:
    """Validate ``platform:logs``, ``platform:alarms`` and ``platform:monitoring``."""
    return ObservabilityConfig(
        logs=read_logs(reader) if reader.value("logs") is not None else None,
        alarms=read_alarms(reader) if reader.value("alarms") is not None else None,
        monitoring=read_monitoring(reader) if reader.value("monitoring") is not None else None,
    )


def _retention(section: ConfigSection, name: str, default: int | None = None) -> int | None:
    value = section.values.get(name)
    if value is None:
        return default
    return require_retention_days(section.key(name), value, stack=section.stack)


def _number(section: ConfigSection, name: str, default: float | None) -> float | None:
    value = section.values.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise section.error(name, "must be a number", value=value, allowed="a number")
    return value


def read_logs(reader: ConfigReader) -> LogsConfig:
    """``platform:logs``."""
    section = reader.section("logs")
    section.reject_unknown(LOGS_KEYS)
    retention = _retention(section, "retentionDays", DEFAULT_RETENTION_DAYS)
    assert retention is not None
    kms = section.optional_string("kmsKeyArn")
    if kms is not None:
        require_kms_key_arn(section.key("kmsKeyArn"), kms, stack=reader.stack)

    groups: list[LogGroupSpec] = []
    seen: set[str] = set()
    for item in section.sections("logGroups"):
        item.reject_unknown(LOG_GROUP_KEYS)
        name = require_log_group_name(item.key("name"), item.string("name"), stack=reader.stack)
        if name in seen:
            raise item.error("name", "is declared twice", value=name)
        seen.add(name)
        groups.append(LogGroupSpec(name=name, retention_days=_retention(item, "retentionDays")))

    enforcer: EnforcerConfig | None = None
    raw_enforcer = section.section("enforcer")
    raw_enforcer.reject_unknown(ENFORCER_KEYS)
    if raw_enforcer.values and raw_enforcer.boolean("enabled", default=True):
        enforcer_retention = _retention(raw_enforcer, "retentionDays", retention)
        assert enforcer_retention is not None
        maximum = _retention(raw_enforcer, "maxRetentionDays")
        if maximum is not None and maximum < enforcer_retention:
            raise raw_enforcer.error(
                "maxRetentionDays",
                "is shorter than the retention the enforcer sets",
                value=maximum,
                allowed=f">= {enforcer_retention}",
            )
        enforcer = EnforcerConfig(
            retention_days=enforcer_retention,
            max_retention_days=maximum,
            exclude_names=tuple(
                raw_enforcer.strings("exclude", pattern=_NON_EMPTY, allowed="a log group name")
            ),
            exclude_prefixes=tuple(
                raw_enforcer.strings("excludePrefixes", pattern=_NON_EMPTY, allowed="a log group name prefix")
            ),
            schedule=require_schedule(
                raw_enforcer.key("schedule"),
                raw_enforcer.string("schedule", default="rate(1 day)"),
                stack=reader.stack,
            ),
        )
    return LogsConfig(retention_days=retention, kms_key_arn=kms, log_groups=tuple(groups), enforcer=enforcer)


def read_alarms(reader: ConfigReader) -> AlarmsConfig:
    """``platform:alarms``."""
    section = reader.section("alarms")
    section.reject_unknown(ALARMS_KEYS)
    emails = tuple(
        require_email(f"{section.key('emails')}[{i}]", email, stack=reader.stack)
        for i, email in enumerate(_list(section, "emails"))
    )
    endpoints = tuple(
        require_https_endpoint(f"{section.key('httpsEndpoints')}[{i}]", url, stack=reader.stack)
        for i, url in enumerate(_list(section, "httpsEndpoints"))
    )
    kms = section.optional_string("kmsKeyArn")
    if kms is not None:
        require_topic_kms_key(section.key("kmsKeyArn"), kms, stack=reader.stack)
    notify_on_ok = section.boolean("notifyOnOk", default=False) if "notifyOnOk" in section.values else None

    alarms: list[tuple[str, MetricAlarmSpec]] = []
    for item in section.sections("presets"):
        alarms.append((item.path, _preset(item)))
    for item in section.sections("alarms"):
        alarms.append((item.path, _alarm(item)))
    seen: dict[str, str] = {}
    for path, spec in alarms:
        if spec.name in seen:
            raise ValidationError(
                path,
                f"declares alarm '{spec.name}', which {seen[spec.name]} declares too",
                allowed="unique alarm names (set a different target or name)",
                stack=reader.stack,
            )
        seen[spec.name] = path
    return AlarmsConfig(
        emails=emails,
        https_endpoints=endpoints,
        kms_key_arn=kms,
        notify_on_ok=notify_on_ok,
        alarms=tuple(spec for _, spec in alarms),
    )


def _list(section: ConfigSection, name: str) -> list[Any]:
    value = section.values.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise section.error(name, "must be a list", value=value)
    return value


def _preset(item: ConfigSection) -> MetricAlarmSpec:
    item.reject_unknown(PRESET_KEYS)
    preset = item.choice("preset", sorted(PRESETS))
    target = item.string("target", allowed="the API, function or queue name the alarm watches")
    kwargs: dict[str, Any] = {}
    if "stage" in item.values:
        if preset not in STAGED_PRESETS:
            raise item.error("stage", "only applies to API Gateway presets", value=item.values["stage"])
        kwargs["stage"] = item.string("stage")
    threshold = _number(item, "threshold", None)
    if threshold is not None:
        kwargs["threshold"] = threshold
    spec = PRESETS[preset](target, **kwargs)
    names = {attribute: "target" for attribute in CONFIG_FIELD_NAMES} | {"threshold": "threshold"}
    return validate_alarm_spec(spec, item.path, field_names=names, stack=item.stack)


def _alarm(item: ConfigSection) -> MetricAlarmSpec:
    item.reject_unknown(ALARM_KEYS)
    if item.values.get("threshold") is None:
        # No default: an alarm whose threshold nobody chose would page people or never fire.
        raise item.error("threshold", "is required but not set", allowed="a number")
    threshold = _number(item, "threshold", None)
    assert threshold is not None
    datapoints = item.values.get("datapointsToAlarm")
    spec = MetricAlarmSpec(
        name=item.string("name"),
        namespace=item.string("namespace"),
        metric_name=item.string("metric"),
        threshold=threshold,
        dimensions=item.string_map("dimensions"),
        statistic=item.string("statistic", default="Sum"),
        period=item.integer("period", default=60),
        evaluation_periods=item.integer("evaluationPeriods", default=1),
        comparison=item.string("comparison", default="GreaterThanOrEqualToThreshold"),
        treat_missing_data=item.string("treatMissingData", default="notBreaching"),
        datapoints_to_alarm=None if datapoints is None else item.integer("datapointsToAlarm"),
        description=item.string("description", default="") if item.values.get("description") else "",
    )
    return validate_alarm_spec(spec, item.path, field_names=CONFIG_FIELD_NAMES, stack=item.stack)


def read_monitoring(reader: ConfigReader) -> MonitoringConfig:
    """``platform:monitoring``."""
    section = reader.section("monitoring")
    section.reject_unknown(MONITORING_KEYS)
    retention = require_workspace_retention(
        section.key("retentionDays"),
        section.values.get("retentionDays", DEFAULT_RETENTION_DAYS),
        stack=reader.stack,
    )
    sku = section.choice("sku", WORKSPACE_SKUS, default="PerGB2018")
    capacity: int | None = None
    if sku == "CapacityReservation" or "capacityReservationGb" in section.values:
        capacity = section.integer("capacityReservationGb")
        if sku != "CapacityReservation" or capacity not in CAPACITY_RESERVATION_LEVELS:
            raise section.error(
                "capacityReservationGb",
                "must be a commitment tier, and only with sku CapacityReservation",
                value=capacity,
                allowed=", ".join(str(level) for level in CAPACITY_RESERVATION_LEVELS),
            )
    alerts = section.section("alerts")
    alerts.reject_unknown(ALERT_KEYS)
    defaults = AppAlertThresholds()
    thresholds = AppAlertThresholds(
        http_5xx_count=_number(alerts, "http5xxCount", defaults.http_5xx_count) or 0,
        response_time_seconds=_number(alerts, "responseTimeSeconds", defaults.response_time_seconds) or 0,
        health_check_percent=_number(alerts, "healthCheckPercent", defaults.health_check_percent) or 0,
        window=alerts.string("window", default=defaults.window),
        frequency=alerts.string("frequency", default=defaults.frequency),
    )
    _validate_alert_thresholds(thresholds, alerts)
    return MonitoringConfig(
        retention_days=retention, sku=sku, capacity_reservation_gb=capacity, thresholds=thresholds
    )


_ALERT_FIELD_NAMES = {
    "http_5xx_count": "http5xxCount",
    "response_time_seconds": "responseTimeSeconds",
    "health_check_percent": "healthCheckPercent",
    "window": "window",
    "frequency": "frequency",
}


def _validate_alert_thresholds(thresholds: AppAlertThresholds, alerts: ConfigSection) -> None:
    try:
        validate_thresholds(thresholds, alerts.path, stack=alerts.stack)
    except ValidationError as error:
        # Re-issue under the config spelling of the field (http5xxCount rather than http_5xx_count).
        attribute = error.key.rsplit(".", 1)[-1]
        raise ValidationError(
            alerts.key(_ALERT_FIELD_NAMES.get(attribute, attribute)),
            error.problem,
            value=getattr(thresholds, attribute, None),
            allowed=error.allowed,
            stack=alerts.stack,
        ) from None
