"""components/azure_monitoring.py under mocks: workspace retention, both slots' logs, alerts per app."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pytest
from platform_infra.azure_monitoring import (
    APP_LOG_CATEGORIES,
    AppAlertThresholds,
    AppMonitoring,
    AppMonitoringArgs,
    LogAnalyticsWorkspace,
    LogAnalyticsWorkspaceArgs,
    MonitoredApp,
    require_workspace_retention,
)
from platform_infra.cli.mocks import MockRun, run_with_mocks
from platform_infra.environment import Tier
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers

WORKSPACE = "azure-native:operationalinsights:Workspace"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
ALERT = "azure-native:monitor:MetricAlert"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
SITE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/{}"


def _apps() -> list[MonitoredApp]:
    return [
        MonitoredApp(
            name=name,
            slot_resource_ids={
                "production": SITE.format(name),
                "staging": SITE.format(name) + "/slots/staging",
            },
            web_app_resource_id=pulumi.Output.from_input(SITE.format(name)),
        )
        for name in ("web", "api")
    ]


def _program(
    tier: Tier,
    workspace: dict[str, Any] | None = None,
    monitoring: dict[str, Any] | None = None,
):
    def program() -> None:
        env = make_environment(tier)
        providers = make_providers(env)
        law = LogAnalyticsWorkspace(
            "platform",
            LogAnalyticsWorkspaceArgs(**{"environment": env, "retention_days": 90, **(workspace or {})}),
            opts=providers.resource_options(),
        )
        AppMonitoring(
            "apps",
            AppMonitoringArgs(
                **{
                    "environment": env,
                    "apps": _apps(),
                    "workspace_id": law.workspace_id,
                    "resource_group_name": law.resource_group_name,
                    "emails": ["oncall@example.com"],
                    **(monitoring or {}),
                }
            ),
            opts=providers.resource_options(),
        )

    return program


@pytest.fixture(scope="module")
def prod() -> MockRun:
    return run_with_mocks(_program(Tier.PROD), stack="prod")


def test_workspace_has_the_retention_and_prod_protection(prod: MockRun) -> None:
    workspace = prod.one(WORKSPACE)
    assert workspace.plain_inputs["retentionInDays"] == 90
    assert workspace.plain_inputs["sku"] == {"name": "PerGB2018"}
    assert workspace.plain_inputs["resourceGroupName"] == "rg-prod-monitoring"
    assert workspace.protect and workspace.retain_on_delete
    assert prod.one("azure-native:resources:ResourceGroup").urn in workspace.depends_on
    component = prod.one("platform:monitoring:LogAnalyticsWorkspace")
    # ARM's format (Workspaces - Create Or Update): the environment's subscription, group and name.
    subscription = make_environment("prod").azure.subscription_id
    assert component.outputs["workspaceId"] == (
        f"/subscriptions/{subscription}/resourceGroups/{workspace.inputs['resourceGroupName']}"
        f"/providers/Microsoft.OperationalInsights/workspaces/{workspace.inputs['workspaceName']}"
    )
    assert component.outputs["customerId"] == workspace.outputs["customerId"]


def test_both_slots_of_every_app_send_their_logs_to_the_workspace(prod: MockRun) -> None:
    workspace_component = prod.one("platform:monitoring:LogAnalyticsWorkspace")
    settings = {r.plain_inputs["resourceUri"]: r.plain_inputs for r in prod.of_type(DIAGNOSTICS)}
    expected = {SITE.format(a) + suffix for a in ("web", "api") for suffix in ("", "/slots/staging")}
    assert set(settings) == expected
    for inputs in settings.values():
        assert inputs["workspaceId"] == workspace_component.outputs["workspaceId"]
        assert [(log["category"], log["enabled"]) for log in inputs["logs"]] == [
            (category, True) for category in APP_LOG_CATEGORIES
        ]


def test_each_app_has_5xx_health_and_response_time_alerts_to_the_action_group(prod: MockRun) -> None:
    group = prod.one(ACTION_GROUP)
    assert group.plain_inputs["location"] == "Global"
    assert len(group.plain_inputs["groupShortName"]) <= 12
    assert [r["emailAddress"] for r in group.plain_inputs["emailReceivers"]] == ["oncall@example.com"]
    # The mock's ARM id for a resource ends with its name; the action group is the only one named so.
    group_id_suffix = f"/{group.outputs['name']}"

    alerts = {r.plain_inputs["ruleName"]: r.plain_inputs for r in prod.of_type(ALERT)}
    assert len(alerts) == 6
    for app in ("web", "api"):
        metrics = {}
        for kind in ("http5xx", "health-check", "response-time"):
            inputs = alerts[f"prod-{app}-{kind}"]
            assert inputs["scopes"] == [SITE.format(app)]
            (action,) = inputs["actions"]
            assert action["actionGroupId"].endswith(group_id_suffix)
            assert inputs["location"] == "global"
            (criterion,) = inputs["criteria"]["allOf"]
            assert criterion["metricNamespace"] == "Microsoft.Web/sites"
            metrics[criterion["metricName"]] = (
                criterion["timeAggregation"],
                criterion["operator"],
                criterion["threshold"],
            )
        assert metrics == {
            "Http5xx": ("Total", "GreaterThan", 10),
            "HealthCheckStatus": ("Average", "LessThan", 100),
            "HttpResponseTime": ("Average", "GreaterThan", 1.0),
        }


def test_without_receivers_there_is_no_action_group(pulumi_run) -> None:
    run = pulumi_run(_program(Tier.DEV, monitoring={"emails": []}), stack="dev")
    assert run.of_type(ACTION_GROUP) == []
    assert all(not a.plain_inputs.get("actions") for a in run.of_type(ALERT))
    assert not run.one(WORKSPACE).protect


@pytest.mark.parametrize(
    ("workspace", "monitoring", "key"),
    [
        ({"retention_days": 7}, None, "LogAnalyticsWorkspace(platform).retention_days"),
        ({"retention_days": 731}, None, "LogAnalyticsWorkspace(platform).retention_days"),
        ({"sku": "Free"}, None, "LogAnalyticsWorkspace(platform).sku"),
        ({"sku": "CapacityReservation"}, None, "LogAnalyticsWorkspace(platform).capacity_reservation_gb"),
        (None, {"emails": ["x@"]}, "AppMonitoring(apps).emails[0]"),
        (None, {"apps": [dataclasses.replace(_apps()[0], slot_resource_ids={})]},
         "AppMonitoring(apps).apps[0].slot_resource_ids"),
        (None, {"apps": _apps() + _apps()[:1]}, "AppMonitoring(apps).apps[2].name"),
        (None, {"thresholds": AppAlertThresholds(health_check_percent=0)},
         "AppMonitoring(apps).thresholds.health_check_percent"),
        (None, {"thresholds": AppAlertThresholds(window="PT5M", frequency="PT15M")},
         "AppMonitoring(apps).thresholds.frequency"),
    ],
)  # fmt: skip
def test_invalid_arguments_are_refused(pulumi_run, workspace, monitoring, key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        pulumi_run(_program(Tier.DEV, workspace, monitoring), stack="dev")
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("value", "ok"), [(30, True), (730, True), (365, True), (29, False), (731, False), (True, False)]
)
def test_workspace_retention_bounds(value: object, ok: bool) -> None:
    if ok:
        assert require_workspace_retention("k", value) == value
    else:
        with pytest.raises(ValidationError):
            require_workspace_retention("k", value)
