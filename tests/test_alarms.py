"""components/alarms.py under mocks: encrypted topic CloudWatch may publish to, alarms pointing at it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from platform_infra.alarms import (
    CONFIG_FIELD_NAMES,
    AlarmTopic,
    AlarmTopicArgs,
    MetricAlarms,
    MetricAlarmsArgs,
    MetricAlarmSpec,
    api_gateway_4xx,
    api_gateway_5xx,
    api_gateway_latency,
    lambda_errors,
    lambda_throttles,
    sqs_dead_letter,
    validate_alarm_spec,
)
from platform_infra.cli.mocks import MockRun, run_with_mocks
from platform_infra.environment import Tier
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SPECS = [
    api_gateway_5xx("orders", stage="prod"),
    lambda_errors("worker"),
    MetricAlarmSpec("p99-latency", "AWS/ApiGateway", "Latency", 2500, {"ApiName": "orders"}, statistic="p99"),
]


def _program(tier: Tier, topic_overrides: dict[str, Any] | None = None, alarms=SPECS):
    def program() -> None:
        env = make_environment(tier)
        providers = make_providers(env)
        topic = AlarmTopic(
            "alarms",
            AlarmTopicArgs(
                **{
                    "environment": env,
                    "emails": ["oncall@example.com", "team@example.org"],
                    "https_endpoints": ["https://alerts.example.com/hook"],
                    **(topic_overrides or {}),
                }
            ),
            opts=providers.resource_options(),
        )
        MetricAlarms(
            "alarms",
            MetricAlarmsArgs(environment=env, alarms=alarms, topic_arn=topic.topic_arn),
            opts=providers.resource_options(),
        )

    return program


@pytest.fixture(scope="module")
def prod() -> MockRun:
    return run_with_mocks(_program(Tier.PROD), stack="prod")


def test_topic_is_encrypted_with_its_own_key_cloudwatch_may_use(prod: MockRun) -> None:
    topic = prod.one(TOPIC)
    key = prod.one("aws:kms/key:Key")
    assert topic.plain_inputs["name"] == "prod-alarms"
    assert topic.plain_inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert key.plain_inputs["enableKeyRotation"] is True
    statements = json.loads(key.plain_inputs["policy"])["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_topic_policy_lets_only_this_accounts_alarms_publish(prod: MockRun) -> None:
    topic_arn = prod.one(TOPIC).outputs["arn"]
    policy = prod.one("aws:sns/topicPolicy:TopicPolicy").plain_inputs
    assert policy["arn"] == topic_arn
    statements = json.loads(policy["policy"])["Statement"]
    publish = next(s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"})
    assert publish["Action"] == "sns:Publish"
    assert publish["Resource"] == topic_arn
    assert publish["Condition"]["StringEquals"] == {"aws:SourceAccount": "333333333333"}
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"].startswith(
        "arn:aws:cloudwatch:eu-west-1:333333333333"
    )


def test_email_and_https_subscriptions(prod: MockRun) -> None:
    subscriptions = sorted(
        (s.plain_inputs["protocol"], s.plain_inputs["endpoint"])
        for s in prod.of_type("aws:sns/topicSubscription:TopicSubscription")
    )
    assert subscriptions == [
        ("email", "oncall@example.com"),
        ("email", "team@example.org"),
        ("https", "https://alerts.example.com/hook"),
    ]


def test_alarms_notify_the_topic_and_prod_also_on_ok(prod: MockRun) -> None:
    topic_arn = prod.one(TOPIC).outputs["arn"]
    alarms = {a.plain_inputs["name"]: a.plain_inputs for a in prod.of_type(ALARM)}
    assert set(alarms) == {"prod-apigw-orders-prod-5xx", "prod-lambda-worker-errors", "prod-p99-latency"}
    for inputs in alarms.values():
        assert inputs["alarmActions"] == [topic_arn]
        assert inputs["okActions"] == [topic_arn]
    apigw = alarms["prod-apigw-orders-prod-5xx"]
    assert apigw["dimensions"] == {"ApiName": "orders", "Stage": "prod"}
    assert (apigw["metricName"], apigw["statistic"], apigw["period"], apigw["threshold"]) == (
        "5XXError",
        "Sum",
        60,
        10,
    )
    assert apigw["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    p99 = alarms["prod-p99-latency"]
    assert p99["extendedStatistic"] == "p99" and "statistic" not in p99


def test_dev_alarms_do_not_notify_on_ok(pulumi_run) -> None:
    run = pulumi_run(_program(Tier.DEV), stack="dev")
    assert all("okActions" not in a.plain_inputs for a in run.of_type(ALARM))
    assert all(a.plain_inputs["alarmActions"] for a in run.of_type(ALARM))


def test_a_given_key_is_used_instead_of_a_new_one(pulumi_run) -> None:
    key = "arn:aws:kms:eu-west-1:111111111111:key/abcd"
    run = pulumi_run(_program(Tier.DEV, {"kms_key_arn": key}), stack="dev")
    assert run.one(TOPIC).plain_inputs["kmsMasterKeyId"] == key
    assert run.of_type("aws:kms/key:Key") == []


@pytest.mark.parametrize(
    ("topic_overrides", "alarms", "key", "fragment"),
    [
        ({"emails": ["not-an-email"]}, SPECS, "AlarmTopic(alarms).emails[0]", "e-mail"),
        (
            {"https_endpoints": ["http://x.example.com"]},
            SPECS,
            "AlarmTopic(alarms).https_endpoints[0]",
            "https",
        ),
        (
            {"kms_key_arn": "alias/aws/sns"},
            SPECS,
            "AlarmTopic(alarms).kms_key_arn",
            "CloudWatch alarms cannot",
        ),
        ({}, [SPECS[0], SPECS[0]], "MetricAlarms(alarms).alarms[1].name", "two alarms"),
        ({}, [dataclasses.replace(SPECS[0], period=90)], "MetricAlarms(alarms).alarms[0].period", "period"),
    ],
)
def test_invalid_arguments_are_refused(pulumi_run, topic_overrides, alarms, key: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        pulumi_run(_program(Tier.DEV, topic_overrides, alarms), stack="dev")
    assert caught.value.key == key
    assert fragment in str(caught.value)


def test_presets_match_the_usual_set() -> None:
    def shape(spec: MetricAlarmSpec) -> tuple[Any, ...]:
        return (
            spec.namespace,
            spec.metric_name,
            spec.statistic,
            spec.period,
            spec.comparison,
            spec.threshold,
        )

    assert shape(api_gateway_5xx("a")) == (
        "AWS/ApiGateway",
        "5XXError",
        "Sum",
        60,
        "GreaterThanOrEqualToThreshold",
        10,
    )
    assert shape(api_gateway_4xx("a")) == (
        "AWS/ApiGateway",
        "4XXError",
        "Sum",
        60,
        "GreaterThanOrEqualToThreshold",
        10,
    )
    latency = api_gateway_latency("a")
    assert shape(latency) == (
        "AWS/ApiGateway",
        "Latency",
        "Average",
        60,
        "GreaterThanOrEqualToThreshold",
        1000,
    )
    assert shape(lambda_errors("f")) == ("AWS/Lambda", "Errors", "Sum", 120, "GreaterThanThreshold", 5)
    assert shape(lambda_throttles("f")) == ("AWS/Lambda", "Throttles", "Sum", 120, "GreaterThanThreshold", 1)
    dlq = sqs_dead_letter("q")
    assert shape(dlq) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        60,
        "GreaterThanThreshold",
        1,
    )
    assert dlq.dimensions == {"QueueName": "q"}
    for spec in (latency, dlq, lambda_errors("f"), api_gateway_5xx("a", stage="s")):
        validate_alarm_spec(spec, "preset")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"statistic": "Median"}, "statistic"),
        ({"comparison": ">="}, "comparison"),
        ({"treat_missing_data": "zero"}, "treatMissingData"),
        ({"evaluation_periods": 1441}, "evaluationPeriods"),
        ({"datapoints_to_alarm": 2}, "datapointsToAlarm"),
        ({"threshold": float("nan")}, "threshold"),
        ({"name": "has spaces"}, "name"),
    ],
)
def test_spec_errors_name_the_field_as_configured(change: dict[str, Any], field: str) -> None:
    spec = dataclasses.replace(lambda_errors("f", period=60), **change)
    with pytest.raises(ValidationError) as caught:
        validate_alarm_spec(spec, "platform:alarms.alarms[3]", field_names=CONFIG_FIELD_NAMES, stack="dev")
    assert caught.value.key == f"platform:alarms.alarms[3].{field}"
