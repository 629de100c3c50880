"""stacks/config/observability.py: platform:logs, platform:alarms and platform:monitoring."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from platform_infra.config import DictConfigSource, load_stack_config
from platform_infra.config.observability import ObservabilityConfig
from platform_infra.validation import ValidationError

BASE: dict[str, Any] = {
    "environment": "prod",
    "tier": "prod",
    "aws": {"accountId": "333333333333", "region": "eu-west-1", "deployRoleName": "platform-deploy"},
    "azure": {
        "subscriptionId": "33333333-3333-4333-8333-333333333333",
        "tenantId": "99999999-9999-4999-8999-999999999999",
        "location": "westeurope",
    },
    "tags": {"owner": "platform-team", "cost-centre": "CC-2001"},
    "logs": {
        "retentionDays": 365,
        "kmsKeyArn": "arn:aws:kms:eu-west-1:333333333333:key/abcd-1234",
        "logGroups": [{"name": "/svc/api"}, {"name": "/svc/audit", "retentionDays": 2557}],
        "enforcer": {
            "schedule": "rate(12 hours)",
            "maxRetentionDays": 2557,
            "exclude": ["/audit/trail"],
            "excludePrefixes": ["/aws/vendedlogs/"],
        },
    },
    "alarms": {
        "emails": ["oncall@example.com"],
        "httpsEndpoints": ["https://alerts.example.com/sns"],
        "presets": [
            {"preset": "apiGateway5xx", "target": "orders", "stage": "prod"},
            {"preset": "lambdaErrors", "target": "worker", "threshold": 3},
        ],
        "alarms": [
            {
                "name": "queue-age",
                "namespace": "AWS/SQS",
                "metric": "ApproximateAgeOfOldestMessage",
                "dimensions": {"QueueName": "orders"},
                "statistic": "Maximum",
                "period": 300,
                "evaluationPeriods": 2,
                "datapointsToAlarm": 2,
                "threshold": 900,
                "comparison": "GreaterThanThreshold",
                "treatMissingData": "notBreaching",
            }
        ],
    },
    "monitoring": {
        "retentionDays": 180,
        "alerts": {"http5xxCount": 25, "window": "PT15M", "frequency": "PT5M"},
    },
}


def _load(changes: dict[str, Any] | None = None, delete: tuple[str, ...] = ()) -> ObservabilityConfig:
    config = copy.deepcopy(BASE)
    for path, value in (changes or {}).items():
        *parents, last = path.split(".")
        target: Any = config
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    for path in delete:
        *parents, last = path.split(".")
        target = config
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[int(last) if isinstance(target, list) else last]
    return load_stack_config("prod", DictConfigSource(config)).observability


def test_valid_config_becomes_typed_objects() -> None:
    config = _load()
    assert config.logs is not None and config.alarms is not None and config.monitoring is not None
    assert config.logs.retention_days == 365
    assert [(g.name, g.retention_days) for g in config.logs.log_groups] == [
        ("/svc/api", None),
        ("/svc/audit", 2557),
    ]
    enforcer = config.logs.enforcer
    assert enforcer is not None
    assert (enforcer.retention_days, enforcer.max_retention_days, enforcer.schedule) == (
        365,
        2557,
        "rate(12 hours)",
    )
    assert enforcer.exclude_names == ("/audit/trail",) and enforcer.exclude_prefixes == ("/aws/vendedlogs/",)
    assert config.alarms.emails == ("oncall@example.com",)
    names = [a.name for a in config.alarms.alarms]
    assert names == ["apigw-orders-prod-5xx", "lambda-worker-errors", "queue-age"]
    assert config.alarms.alarms[1].threshold == 3
    queue = config.alarms.alarms[2]
    assert (queue.metric_name, queue.period, queue.evaluation_periods, queue.threshold) == (
        "ApproximateAgeOfOldestMessage",
        300,
        2,
        900,
    )
    assert config.monitoring.retention_days == 180
    assert config.monitoring.thresholds.http_5xx_count == 25
    assert config.monitoring.thresholds.window == "PT15M"


def test_sections_are_optional_and_the_enforcer_can_be_disabled() -> None:
    config = _load(delete=("alarms", "monitoring"))
    assert config.alarms is None and config.monitoring is None
    assert _load({"logs.enforcer": {"enabled": False}}).logs.enforcer is None  # type: ignore[union-attr]
    defaults = _load({"logs.enforcer": {"enabled": True}}, delete=("logs.kmsKeyArn",)).logs
    assert defaults is not None and defaults.enforcer is not None
    assert defaults.enforcer.schedule == "rate(1 day)"
    assert defaults.enforcer.retention_days == 365  # falls back to platform:logs.retentionDays


@pytest.mark.parametrize(
    ("changes", "delete", "key"),
    [
        ({"logs.retentionDays": 42}, (), "platform:logs.retentionDays"),
        ({"logs.logGroups.1.retentionDays": 42}, (), "platform:logs.logGroups[1].retentionDays"),
        ({"logs.logGroups.1.name": "/svc/api"}, (), "platform:logs.logGroups[1].name"),
        ({"logs.enforcer.retentionDays": 42}, (), "platform:logs.enforcer.retentionDays"),
        ({"logs.enforcer.maxRetentionDays": 30}, (), "platform:logs.enforcer.maxRetentionDays"),
        ({"logs.enforcer.schedule": "daily"}, (), "platform:logs.enforcer.schedule"),
        ({"logs.enforcer.exclude": ["ok", ""]}, (), "platform:logs.enforcer.exclude[1]"),
        ({"logs.kmsKeyArn": "alias/logs"}, (), "platform:logs.kmsKeyArn"),
        ({"logs.retention": 30}, (), "platform:logs.retention"),
        ({"alarms.emails": ["oncall@example.com", "not-an-email"]}, (), "platform:alarms.emails[1]"),
        ({"alarms.emails": ["oncall at example.com"]}, (), "platform:alarms.emails[0]"),
        ({"alarms.httpsEndpoints": ["http://plain.example.com"]}, (), "platform:alarms.httpsEndpoints[0]"),
        ({"alarms.kmsKeyArn": "alias/aws/sns"}, (), "platform:alarms.kmsKeyArn"),
        ({}, ("alarms.alarms.0.threshold",), "platform:alarms.alarms[0].threshold"),
        ({"alarms.alarms.0.threshold": "high"}, (), "platform:alarms.alarms[0].threshold"),
        ({"alarms.alarms.0.period": 45}, (), "platform:alarms.alarms[0].period"),
        ({"alarms.alarms.0.comparison": ">"}, (), "platform:alarms.alarms[0].comparison"),
        ({"alarms.alarms.0.metricName": "x"}, (), "platform:alarms.alarms[0].metricName"),
        ({"alarms.presets.0.preset": "cpuHigh"}, (), "platform:alarms.presets[0].preset"),
        ({"alarms.presets.1.stage": "prod"}, (), "platform:alarms.presets[1].stage"),
        ({"alarms.presets.1.threshold": "x"}, (), "platform:alarms.presets[1].threshold"),
        ({"alarms.alarms.0.name": "apigw-orders-prod-5xx"}, (), "platform:alarms.alarms[0]"),
        ({"monitoring.retentionDays": 7}, (), "platform:monitoring.retentionDays"),
        ({"monitoring.retentionDays": 1000}, (), "platform:monitoring.retentionDays"),
        ({"monitoring.sku": "Free"}, (), "platform:monitoring.sku"),
        ({"monitoring.capacityReservationGb": 100}, (), "platform:monitoring.capacityReservationGb"),
        ({"monitoring.alerts.healthCheckPercent": 0}, (), "platform:monitoring.alerts.healthCheckPercent"),
        ({"monitoring.alerts.frequency": "PT1H"}, (), "platform:monitoring.alerts.frequency"),
    ],
)
def test_invalid_values_name_the_key(changes: dict[str, Any], delete: tuple[str, ...], key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _load(changes, delete)
    assert caught.value.key == key
    assert "stack 'prod'" in str(caught.value)


def test_retention_42_message_lists_what_cloudwatch_accepts() -> None:
    with pytest.raises(ValidationError) as caught:
        _load({"logs.retentionDays": 42})
    message = str(caught.value)
    assert "platform:logs.retentionDays" in message and "(got 42)" in message and "2557" in message


def test_missing_threshold_is_refused_with_no_default() -> None:
    with pytest.raises(ValidationError, match=r"platform:alarms\.alarms\[0\]\.threshold: is required"):
        _load(delete=("alarms.alarms.0.threshold",))
