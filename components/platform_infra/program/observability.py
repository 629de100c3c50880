"""Declares a stack's log retention, alarms and Azure Monitor resources from ``platform:logs``,
``platform:alarms`` and ``platform:monitoring`` (see docs/observability.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from platform_infra.alarms import (
    AlarmTopic,
    AlarmTopicArgs,
    MetricAlarms,
    MetricAlarmsArgs,
    MetricAlarmSpec,
    lambda_errors,
)
from platform_infra.app_service import BlueGreenAppService
from platform_infra.azure_monitoring import (
    AppMonitoring,
    AppMonitoringArgs,
    LogAnalyticsWorkspace,
    LogAnalyticsWorkspaceArgs,
    MonitoredApp,
)
from platform_infra.config import StackConfig
from platform_infra.environment import EnvironmentProviders
from platform_infra.log_groups import LogGroups, LogGroupsArgs
from platform_infra.retention_enforcer import RetentionEnforcer, RetentionEnforcerArgs

ENFORCER_ERRORS_ALARM = "log-retention-enforcer-errors"


@dataclass
class AwsObservability:
    """What :func:`declare_aws_observability` declared (None where the config leaves it out)."""

    log_groups: LogGroups | None = None
    enforcer: RetentionEnforcer | None = None
    topic: AlarmTopic | None = None
    alarms: MetricAlarms | None = None


def declare_log_analytics(
    config: StackConfig, providers: EnvironmentProviders
) -> LogAnalyticsWorkspace | None:
    """The environment's Log Analytics workspace, or None without ``platform:monitoring``."""
    monitoring = config.observability.monitoring
    if monitoring is None:
        return None
    return LogAnalyticsWorkspace(
        "platform",
        LogAnalyticsWorkspaceArgs(
            environment=config.environment,
            retention_days=monitoring.retention_days,
            sku=monitoring.sku,
            capacity_reservation_gb=monitoring.capacity_reservation_gb,
        ),
        opts=providers.resource_options(),
    )


def declare_aws_observability(config: StackConfig, providers: EnvironmentProviders) -> AwsObservability:
    """Declared log groups, the retention enforcer, the alarm topic and the metric alarms.

    When both the enforcer and the topic exist, the enforcer gets an alarm of its own: it fails its
    invocation when it could not set a retention, and a daily job's single error must reach someone.
    """
    env = config.environment
    logs, alarms = config.observability.logs, config.observability.alarms
    result = AwsObservability()
    if logs is not None and logs.log_groups:
        result.log_groups = LogGroups(
            "service-logs",
            LogGroupsArgs(
                environment=env,
                groups=logs.group_specs,
                retention_days=logs.retention_days,
                kms_key_arn=logs.kms_key_arn,
                create_kms_key=logs.create_kms_key,
            ),
            opts=providers.resource_options(),
        )
    if logs is not None and logs.enforcer is not None:
        enforcer = logs.enforcer
        result.enforcer = RetentionEnforcer(
            "log-retention-enforcer",
            RetentionEnforcerArgs(
                environment=env,
                retention_days=logs.retention_days
                if enforcer.retention_days is None
                else enforcer.retention_days,
                max_retention_days=enforcer.max_retention_days,
                exclude_names=enforcer.exclude_names,
                exclude_prefixes=enforcer.exclude_prefixes,
                schedule=enforcer.schedule,
                log_retention_days=logs.retention_days,
                kms_key_arn=logs.kms_key_arn,
            ),
            opts=providers.resource_options(),
        )
    if alarms is not None:
        result.topic = AlarmTopic(
            "alarms",
            AlarmTopicArgs(
                environment=env,
                emails=alarms.emails,
                https_endpoints=alarms.https_endpoints,
                kms_key_arn=alarms.kms_key_arn,
            ),
            opts=providers.resource_options(),
        )
        specs: list[MetricAlarmSpec] = list(alarms.alarms)
        if result.enforcer is not None:
            specs.append(enforcer_errors_alarm(result.enforcer.function_name))
        if specs:
            result.alarms = MetricAlarms(
                "metric-alarms",
                MetricAlarmsArgs(
                    environment=env,
                    alarms=specs,
                    topic_arn=result.topic.topic_arn,
                    notify_on_ok=alarms.notify_on_ok,
                ),
                opts=providers.resource_options(),
            )
    return result


def enforcer_errors_alarm(function_name: str) -> MetricAlarmSpec:
    """Any failed enforcer run within an hour (it runs daily, so the usual errors preset would miss it)."""
    return dataclasses.replace(
        lambda_errors(function_name, threshold=0, period=3600),
        name=ENFORCER_ERRORS_ALARM,
        description=f"{function_name} could not set the retention of some log groups (see its logs)",
    )


def declare_app_monitoring(
    config: StackConfig,
    providers: EnvironmentProviders,
    apps: Sequence[MonitoredApp],
    workspace: LogAnalyticsWorkspace | None,
) -> AppMonitoring | None:
    """Diagnostic settings and alerts for ``apps``; None without a workspace or without apps.

    The action group's receivers are ``platform:alarms.emails``: the same people as the AWS alarms.
    """
    monitoring = config.observability.monitoring
    if workspace is None or monitoring is None or not apps:
        return None
    alarms = config.observability.alarms
    return AppMonitoring(
        "apps",
        AppMonitoringArgs(
            environment=config.environment,
            apps=apps,
            workspace_id=workspace.workspace_id,
            resource_group_name=workspace.resource_group_name,
            emails=alarms.emails if alarms is not None else (),
            thresholds=monitoring.thresholds,
        ),
        opts=providers.resource_options(),
    )


def observability_outputs(workspace: LogAnalyticsWorkspace | None, aws: AwsObservability) -> dict[str, Any]:
    """What operators look up (export as the ``observability`` stack output)."""
    outputs: dict[str, Any] = {}
    if workspace is not None:
        outputs["logAnalyticsWorkspaceId"] = workspace.workspace_id
        outputs["logAnalyticsCustomerId"] = workspace.customer_id
    if aws.topic is not None:
        outputs["alarmTopicArn"] = aws.topic.topic_arn
    if aws.enforcer is not None:
        outputs["retentionEnforcerFunction"] = aws.enforcer.function_name
    if aws.log_groups is not None:
        outputs["logGroups"] = sorted(aws.log_groups.log_groups)
    return outputs


def monitored_apps(services: Sequence[BlueGreenAppService]) -> list[MonitoredApp]:
    """Both slots of every blue/green app, and the web app itself for metric alerts."""
    return [
        MonitoredApp(
            name=service.logical_name,
            slot_resource_ids=dict(service.slot_resource_ids),
            web_app_resource_id=service.web_app.id,
        )
        for service in services
    ]
