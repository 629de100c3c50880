"""platform_infra: Pulumi components for multi-account AWS/Azure environments with safe continuous deployment.

Every public class is importable from here (``from platform_infra import BlueGreenAppService``) or from its
module (``platform_infra.app_service``). Names are resolved on first use, so ``import platform_infra`` loads
no provider SDK until a component is touched.

Subpackages that are not components: :mod:`platform_infra.config` (stack config as typed models),
:mod:`platform_infra.program` (the reference composition of a whole stack), :mod:`platform_infra.validation`,
:mod:`platform_infra.rbac`, :mod:`platform_infra.release` (``infra release``), :mod:`platform_infra.cli`
(``infra``) and :mod:`platform_infra.policy` (the policy pack).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "MetricAlarmSpec": "alarms",
    "AlarmTopicArgs": "alarms",
    "AlarmTopic": "alarms",
    "MetricAlarmsArgs": "alarms",
    "MetricAlarms": "alarms",
    "SkuTier": "app_service",
    "BlueGreenAppServiceArgs": "app_service",
    "BlueGreenAppService": "app_service",
    "LogAnalyticsWorkspaceArgs": "azure_monitoring",
    "LogAnalyticsWorkspace": "azure_monitoring",
    "MonitoredApp": "azure_monitoring",
    "AppAlertThresholds": "azure_monitoring",
    "AppMonitoringArgs": "azure_monitoring",
    "AppMonitoring": "azure_monitoring",
    "SessionTag": "deploy_role",
    "DeployRoleArgs": "deploy_role",
    "DeployRole": "deploy_role",
    "Tier": "environment",
    "AwsTarget": "environment",
    "AzureTarget": "environment",
    "Environment": "environment",
    "EnvironmentProvidersArgs": "environment",
    "EnvironmentProviders": "environment",
    "RotationKind": "key_vault",
    "RotationPolicy": "key_vault",
    "GeneratedSecretSpec": "key_vault",
    "SecretVaultArgs": "key_vault",
    "SecretVault": "key_vault",
    "VaultAccessArgs": "key_vault",
    "VaultAccess": "key_vault",
    "LogGroupSpec": "log_groups",
    "LogGroupsArgs": "log_groups",
    "LogGroups": "log_groups",
    "GitHubSubjects": "pipeline_identity",
    "PipelineIdentityArgs": "pipeline_identity",
    "PipelineIdentity": "pipeline_identity",
    "AzureRoleGrant": "pipeline_identity",
    "AzurePipelineIdentityArgs": "pipeline_identity",
    "AzurePipelineIdentity": "pipeline_identity",
    "RetentionEnforcerArgs": "retention_enforcer",
    "RetentionEnforcer": "retention_enforcer",
    "AwsReplication": "state_backend",
    "AwsStateBackendArgs": "state_backend",
    "AwsStateBackend": "state_backend",
    "AzureStateBackendArgs": "state_backend",
    "AzureStateBackend": "state_backend",
    "ValidationError": "validation",
}
"""Public name -> module of this package that defines it."""

__all__ = [
    "AlarmTopic",
    "AlarmTopicArgs",
    "AppAlertThresholds",
    "AppMonitoring",
    "AppMonitoringArgs",
    "AwsReplication",
    "AwsStateBackend",
    "AwsStateBackendArgs",
    "AwsTarget",
    "AzurePipelineIdentity",
    "AzurePipelineIdentityArgs",
    "AzureRoleGrant",
    "AzureStateBackend",
    "AzureStateBackendArgs",
    "AzureTarget",
    "BlueGreenAppService",
    "BlueGreenAppServiceArgs",
    "DeployRole",
    "DeployRoleArgs",
    "Environment",
    "EnvironmentProviders",
    "EnvironmentProvidersArgs",
    "GeneratedSecretSpec",
    "GitHubSubjects",
    "LogAnalyticsWorkspace",
    "LogAnalyticsWorkspaceArgs",
    "LogGroupSpec",
    "LogGroups",
    "LogGroupsArgs",
    "MetricAlarmSpec",
    "MetricAlarms",
    "MetricAlarmsArgs",
    "MonitoredApp",
    "PipelineIdentity",
    "PipelineIdentityArgs",
    "RetentionEnforcer",
    "RetentionEnforcerArgs",
    "RotationKind",
    "RotationPolicy",
    "SecretVault",
    "SecretVaultArgs",
    "SessionTag",
    "SkuTier",
    "Tier",
    "ValidationError",
    "VaultAccess",
    "VaultAccessArgs",
]

if TYPE_CHECKING:
    from platform_infra.alarms import (
        AlarmTopic,
        AlarmTopicArgs,
        MetricAlarms,
        MetricAlarmsArgs,
        MetricAlarmSpec,
    )
    from platform_infra.app_service import (
        BlueGreenAppService,
        BlueGreenAppServiceArgs,
        SkuTier,
    )
    from platform_infra.azure_monitoring import (
        AppAlertThresholds,
        AppMonitoring,
        AppMonitoringArgs,
        LogAnalyticsWorkspace,
        LogAnalyticsWorkspaceArgs,
        MonitoredApp,
    )
    from platform_infra.deploy_role import (
        DeployRole,
        DeployRoleArgs,
        SessionTag,
    )
    from platform_infra.environment import (
        AwsTarget,
        AzureTarget,
        Environment,
        EnvironmentProviders,
        EnvironmentProvidersArgs,
        Tier,
    )
    from platform_infra.key_vault import (
        GeneratedSecretSpec,
        RotationKind,
        RotationPolicy,
        SecretVault,
        SecretVaultArgs,
        VaultAccess,
        VaultAccessArgs,
    )
    from platform_infra.log_groups import (
        LogGroups,
        LogGroupsArgs,
        LogGroupSpec,
    )
    from platform_infra.pipeline_identity import (
        AzurePipelineIdentity,
        AzurePipelineIdentityArgs,
        AzureRoleGrant,
        GitHubSubjects,
        PipelineIdentity,
        PipelineIdentityArgs,
    )
    from platform_infra.retention_enforcer import (
        RetentionEnforcer,
        RetentionEnforcerArgs,
    )
    from platform_infra.state_backend import (
        AwsReplication,
        AwsStateBackend,
        AwsStateBackendArgs,
        AzureStateBackend,
        AzureStateBackendArgs,
    )
    from platform_infra.validation import ValidationError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'platform_infra' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"platform_infra.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
