"""An AWS-only team: log groups keep a retention CloudWatch accepts; Lambda alarms page on-call."""

import pulumi
from platform_infra import (
    AlarmTopic,
    AlarmTopicArgs,
    AwsTarget,
    Environment,
    EnvironmentProviders,
    EnvironmentProvidersArgs,
    LogGroups,
    LogGroupsArgs,
    LogGroupSpec,
    MetricAlarms,
    MetricAlarmsArgs,
)
from platform_infra.alarms import lambda_errors, lambda_throttles

config = pulumi.Config()
environment = Environment(
    name=pulumi.get_stack(),
    tier=config.require("tier"),  # "dev", "staging" or "prod"
    aws=AwsTarget(
        account_id=config.require("accountId"),
        region=config.require("region"),
        deploy_role_name=config.require("deployRoleName"),
    ),
    tags={"owner": config.require("owner"), "cost-centre": config.require("costCentre")},
)
providers = EnvironmentProviders(
    environment.name, EnvironmentProvidersArgs(environment=environment, project=pulumi.get_project())
)
opts = providers.resource_options()

LogGroups(
    "orders",
    LogGroupsArgs(
        environment=environment,
        groups=[LogGroupSpec("/orders/api"), LogGroupSpec("/orders/audit", retention_days=365)],
        retention_days=30,
    ),
    opts=opts,
)
topic = AlarmTopic(
    "oncall", AlarmTopicArgs(environment=environment, emails=[config.require("alarmEmail")]), opts=opts
)
MetricAlarms(
    "orders-worker",
    MetricAlarmsArgs(
        environment=environment,
        alarms=[lambda_errors("orders-worker"), lambda_throttles("orders-worker")],
        topic_arn=topic.topic_arn,
    ),
    opts=opts,
)
pulumi.export("alarmTopicArn", topic.topic_arn)
