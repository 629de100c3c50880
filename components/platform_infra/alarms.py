"""CloudWatch metric alarms that notify an encrypted SNS topic.

:class:`AlarmTopic` is one SNS topic per environment, encrypted with a customer-managed KMS key, whose
policy lets CloudWatch (of this account only) publish to it, with e-mail and HTTPS subscriptions.
:class:`MetricAlarms` declares alarms from typed :class:`MetricAlarmSpec` objects, which the preset
functions below build for the usual cases (API Gateway errors and latency, Lambda errors and throttles,
SQS dead-letter queues). Prod alarms also notify when they return to OK.

Why not ``alias/aws/sns``: CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS
key, because that key's policy does not let CloudWatch use it and cannot be changed. Alarms would fire and
nobody would be told. The topic therefore uses its own key (or a given one whose policy allows CloudWatch).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from platform_infra.environment import Environment
from platform_infra.log_groups import KMS_KEY_ARN_ALLOWED, KMS_KEY_ARN_PATTERN
from platform_infra.validation import ValidationError, require_email, validate_when_known

COMPARISONS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
PERCENTILE_PATTERN = re.compile(r"^p(\d{1,2}(\.\d{1,2})?|100)$")
TREAT_MISSING_DATA = ("missing", "notBreaching", "breaching", "ignore")
ALARM_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
NAMESPACE_PATTERN = re.compile(r"^[^:][^:]{0,254}$")
HTTPS_URL_PATTERN = re.compile(r"^https://[^\s/$.?#][^\s]*$")
MAX_DIMENSIONS = 30
ONE_DAY = 86_400
SEVEN_DAYS = 7 * ONE_DAY


@dataclass(frozen=True)
class MetricAlarmSpec:
    """One CloudWatch metric alarm.

    :param name: short name, unique in the environment; the alarm is named ``<environment>-<name>``.
    :param namespace: metric namespace, e.g. ``AWS/Lambda``.
    :param metric_name: metric name, e.g. ``Errors``.
    :param threshold: the value compared with the statistic (required: there is no sensible default).
    :param dimensions: metric dimensions, e.g. ``{"FunctionName": "orders"}``.
    :param statistic: SampleCount, Average, Sum, Minimum, Maximum, or a percentile such as ``p99``.
    :param period: seconds per data point: 10, 30 or a multiple of 60.
    :param evaluation_periods: how many recent periods are evaluated.
    :param comparison: how the statistic is compared with the threshold.
    :param treat_missing_data: missing, notBreaching, breaching or ignore.
    :param datapoints_to_alarm: how many of the evaluated periods must breach (default: all of them).
    :param description: shown in the notification.
    """

    name: str
    namespace: str
    metric_name: str
    threshold: float
    dimensions: Mapping[str, str] = field(default_factory=dict)
    statistic: str = "Sum"
    period: int = 60
    evaluation_periods: int = 1
    comparison: str = "GreaterThanOrEqualToThreshold"
    treat_missing_data: str = "notBreaching"
    datapoints_to_alarm: int | None = None
    description: str = ""


#: How each MetricAlarmSpec field is spelled in stack config (for error messages naming the config key).
CONFIG_FIELD_NAMES = {
    "name": "name",
    "namespace": "namespace",
    "metric_name": "metric",
    "threshold": "threshold",
    "dimensions": "dimensions",
    "statistic": "statistic",
    "period": "period",
    "evaluation_periods": "evaluationPeriods",
    "comparison": "comparison",
    "treat_missing_data": "treatMissingData",
    "datapoints_to_alarm": "datapointsToAlarm",
    "description": "description",
}


def validate_alarm_spec(
    spec: MetricAlarmSpec,
    prefix: str,
    *,
    field_names: Mapping[str, str] | None = None,
    stack: str | None = None,
) -> MetricAlarmSpec:
    """Check every field of ``spec``; errors name ``<prefix>.<field>`` (spelled per ``field_names``)."""

    def key(attribute: str) -> str:
        return f"{prefix}.{(field_names or {}).get(attribute, attribute)}"

    def fail(attribute: str, problem: str, value: object, allowed: str) -> ValidationError:
        return ValidationError(key(attribute), problem, value=value, allowed=allowed, stack=stack)

    if not isinstance(spec.name, str) or not ALARM_NAME_PATTERN.fullmatch(spec.name):
        raise fail("name", "is not a valid alarm name", spec.name, "1-200 letters, digits and ._-")
    for attribute in ("namespace", "metric_name"):
        value = getattr(spec, attribute)
        if not isinstance(value, str) or not NAMESPACE_PATTERN.fullmatch(value):
            raise fail(attribute, "must be a non-empty string without ':'", value, "e.g. AWS/Lambda, Errors")
    if (
        isinstance(spec.threshold, bool)
        or not isinstance(spec.threshold, int | float)
        or not math.isfinite(spec.threshold)
    ):
        raise fail("threshold", "must be a number", spec.threshold, "a finite number")
    if not isinstance(spec.dimensions, Mapping) or len(spec.dimensions) > MAX_DIMENSIONS:
        raise fail("dimensions", "must map at most 30 names to values", spec.dimensions, "name: value")
    for dimension, value in spec.dimensions.items():
        if not isinstance(dimension, str) or not dimension or not isinstance(value, str) or not value:
            raise fail("dimensions", "must map names to non-empty strings", {dimension: value}, "name: value")
    if spec.statistic not in STATISTICS and not PERCENTILE_PATTERN.fullmatch(str(spec.statistic)):
        raise fail("statistic", "is not a statistic", spec.statistic, ", ".join(STATISTICS) + " or p0-p100")
    if (
        isinstance(spec.period, bool)
        or not isinstance(spec.period, int)
        or not (spec.period in (10, 30) or (spec.period >= 60 and spec.period % 60 == 0))
    ):
        raise fail("period", "is not a valid period", spec.period, "10, 30 or a multiple of 60 (seconds)")
    if isinstance(spec.evaluation_periods, bool) or not isinstance(spec.evaluation_periods, int):
        raise fail("evaluation_periods", "must be a whole number", spec.evaluation_periods, ">= 1")
    # CloudWatch evaluates at most one day of data (seven days when the period is an hour or longer).
    longest = SEVEN_DAYS if spec.period >= 3600 else ONE_DAY
    if spec.evaluation_periods < 1 or spec.evaluation_periods * spec.period > longest:
        raise fail(
            "evaluation_periods",
            "is out of range",
            spec.evaluation_periods,
            f"1 to {longest // spec.period} for a period of {spec.period} s",
        )
    if spec.comparison not in COMPARISONS:
        raise fail("comparison", "is not a comparison operator", spec.comparison, ", ".join(COMPARISONS))
    if spec.treat_missing_data not in TREAT_MISSING_DATA:
        raise fail(
            "treat_missing_data", "is not allowed", spec.treat_missing_data, ", ".join(TREAT_MISSING_DATA)
        )
    if spec.datapoints_to_alarm is not None and (
        isinstance(spec.datapoints_to_alarm, bool)
        or not isinstance(spec.datapoints_to_alarm, int)
        or not 1 <= spec.datapoints_to_alarm <= spec.evaluation_periods
    ):
        raise fail(
            "datapoints_to_alarm",
            "is out of range",
            spec.datapoints_to_alarm,
            f"1 to evaluation periods ({spec.evaluation_periods})",
        )
    return spec


# -- presets: the usual alarms, with thresholds that can be overridden --


def api_gateway_5xx(api_name: str, *, stage: str | None = None, threshold: float = 10) -> MetricAlarmSpec:
    """API Gateway (REST) server errors: at least ``threshold`` 5XX responses in one minute."""
    return _api_gateway("5xx", "5XXError", api_name, stage, threshold, "Sum", 1, "5XX responses per minute")


def api_gateway_4xx(api_name: str, *, stage: str | None = None, threshold: float = 10) -> MetricAlarmSpec:
    """API Gateway (REST) client errors: at least ``threshold`` 4XX responses in one minute."""
    return _api_gateway("4xx", "4XXError", api_name, stage, threshold, "Sum", 1, "4XX responses per minute")


def api_gateway_latency(
    api_name: str, *, stage: str | None = None, threshold: float = 1000
) -> MetricAlarmSpec:
    """API Gateway (REST) average latency of at least ``threshold`` ms in 3 of the last 5 minutes."""
    spec = _api_gateway(
        "latency", "Latency", api_name, stage, threshold, "Average", 5, "average latency (ms)"
    )
    return MetricAlarmSpec(**{**spec.__dict__, "datapoints_to_alarm": 3})


def lambda_errors(function_name: str, *, threshold: float = 5, period: int = 120) -> MetricAlarmSpec:
    """Lambda function errors: more than ``threshold`` in ``period`` seconds (2 minutes by default)."""
    return _lambda_sum_alarm(function_name, "Errors", threshold, period)


def lambda_throttles(function_name: str, *, threshold: float = 1, period: int = 120) -> MetricAlarmSpec:
    """Lambda function throttles: more than ``threshold`` in ``period`` seconds (2 minutes by default)."""
    return _lambda_sum_alarm(function_name, "Throttles", threshold, period)


def _lambda_sum_alarm(function_name: str, metric: str, threshold: float, period: int) -> MetricAlarmSpec:
    return MetricAlarmSpec(
        name=f"lambda-{function_name}-{metric.lower()}",
        namespace="AWS/Lambda",
        metric_name=metric,
        dimensions={"FunctionName": function_name},
        statistic="Sum",
        period=period,
        evaluation_periods=1,
        threshold=threshold,
        comparison="GreaterThanThreshold",
        description=f"Lambda {function_name}: more than {threshold:g} {metric.lower()} in {period} s",
    )


def sqs_dead_letter(queue_name: str, *, threshold: float = 1) -> MetricAlarmSpec:
    """Messages waiting in a dead-letter queue: more than ``threshold`` visible."""
    return MetricAlarmSpec(
        name=f"sqs-{queue_name}-dead-letters",
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue_name},
        statistic="Maximum",
        period=60,
        evaluation_periods=1,
        threshold=threshold,
        comparison="GreaterThanThreshold",
        description=f"SQS dead-letter queue {queue_name}: more than {threshold:g} messages",
    )


def _api_gateway(
    suffix: str,
    metric: str,
    api_name: str,
    stage: str | None,
    threshold: float,
    statistic: str,
    evaluation_periods: int,
    what: str,
) -> MetricAlarmSpec:
    dimensions = {"ApiName": api_name, **({"Stage": stage} if stage else {})}
    label = f"{api_name}-{stage}" if stage else api_name
    return MetricAlarmSpec(
        name=f"apigw-{label}-{suffix}",
        namespace="AWS/ApiGateway",
        metric_name=metric,
        dimensions=dimensions,
        statistic=statistic,
        period=60,
        evaluation_periods=evaluation_periods,
        threshold=threshold,
        comparison="GreaterThanOrEqualToThreshold",
        description=f"API {label}: {what} >= {threshold:g}",
    )


PresetFactory = Callable[..., MetricAlarmSpec]

#: Presets by the name used in stack config, with the target they take (API, function or queue name).
PRESETS: dict[str, PresetFactory] = {
    "apiGateway5xx": api_gateway_5xx,
    "apiGateway4xx": api_gateway_4xx,
    "apiGatewayLatency": api_gateway_latency,
    "lambdaErrors": lambda_errors,
    "lambdaThrottles": lambda_throttles,
    "sqsDeadLetter": sqs_dead_letter,
}
#: Presets that take an API Gateway stage.
STAGED_PRESETS = frozenset({"apiGateway5xx", "apiGateway4xx", "apiGatewayLatency"})


# -- the topic --


@dataclass(frozen=True)
class AlarmTopicArgs:
    """Arguments of :class:`AlarmTopic`.

    :param environment: the environment (account and region scope the topic policy).
    :param emails: e-mail addresses subscribed to the topic (each must confirm the subscription).
    :param https_endpoints: HTTPS URLs subscribed to the topic (each must confirm the subscription).
    :param kms_key_arn: a customer-managed KMS key ARN whose policy lets ``cloudwatch.amazonaws.com`` use
        ``kms:GenerateDataKey*`` and ``kms:Decrypt``; when None the topic gets its own such key.
    """

    environment: Environment
    emails: Sequence[str] = field(default_factory=tuple)
    https_endpoints: Sequence[str] = field(default_factory=tuple)
    kms_key_arn: pulumi.Input[str] | None = None


def require_topic_kms_key(key: str, value: object, *, stack: str | None = None) -> str:
    """A customer-managed KMS key ARN; the AWS-managed SNS key is refused (CloudWatch cannot use it)."""
    if isinstance(value, str) and value.startswith("alias/aws/"):
        raise ValidationError(
            key,
            "is an AWS-managed key, which CloudWatch alarms cannot use: notifications would be dropped",
            value=value,
            allowed="a customer-managed key ARN whose policy allows cloudwatch.amazonaws.com, or unset",
            stack=stack,
        )
    if not isinstance(value, str) or not KMS_KEY_ARN_PATTERN.fullmatch(value):
        raise ValidationError(
            key, "is not a KMS key ARN", value=value, allowed=KMS_KEY_ARN_ALLOWED, stack=stack
        )
    return value


def require_https_endpoint(key: str, value: object, *, stack: str | None = None) -> str:
    """An ``https://`` URL (plain HTTP would send alarm contents unencrypted)."""
    if not isinstance(value, str) or not HTTPS_URL_PATTERN.fullmatch(value):
        raise ValidationError(
            key, "is not an https:// URL", value=value, allowed="https://host/path", stack=stack
        )
    return value


class AlarmTopic(pulumi.ComponentResource):
    """The environment's alarm topic (type ``platform:alarms:AlarmTopic``).

    Children: a KMS key and alias (unless a key is given), the topic, its policy, and one subscription per
    e-mail address and HTTPS endpoint.
    """

    topic: aws.sns.Topic
    """The SNS topic."""
    topic_arn: pulumi.Output[str]
    """The topic's ARN: what alarms name in their actions."""
    kms_key_arn: pulumi.Output[str]
    """The key encrypting the topic."""

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        prefix = f"AlarmTopic({name})"
        for index, email in enumerate(args.emails):
            require_email(f"{prefix}.emails[{index}]", email)
        for index, url in enumerate(args.https_endpoints):
            require_https_endpoint(f"{prefix}.https_endpoints[{index}]", url)
        given_key_arn = args.kms_key_arn
        if given_key_arn is not None:
            given_key_arn = validate_when_known(
                given_key_arn, lambda known: require_topic_kms_key(f"{prefix}.kms_key_arn", known)
            )

        super().__init__("platform:alarms:AlarmTopic", name, None, opts)
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)
        partition, region, account = env.aws.partition, env.aws.region, env.aws.account_id
        topic_name = f"{env.name}-{name}"

        if given_key_arn is None:
            key = aws.kms.Key(
                f"{name}-key",
                aws.kms.KeyArgs(
                    description=f"Encrypts the {topic_name} SNS topic; usable by CloudWatch alarms",
                    enable_key_rotation=True,
                    deletion_window_in_days=30,
                    policy=json.dumps(topic_key_policy(partition, account), sort_keys=True),
                ),
                opts=child,
            )
            aws.kms.Alias(
                f"{name}-key-alias",
                aws.kms.AliasArgs(name=f"alias/{topic_name}", target_key_id=key.arn),
                opts=child,
            )
            self.kms_key_arn = key.arn
        else:
            self.kms_key_arn = pulumi.Output.from_input(given_key_arn)

        self.topic = aws.sns.Topic(
            f"{name}-topic",
            aws.sns.TopicArgs(name=topic_name, kms_master_key_id=self.kms_key_arn),
            opts=child,
        )
        self.topic_arn = self.topic.arn
        aws.sns.TopicPolicy(
            f"{name}-policy",
            aws.sns.TopicPolicyArgs(
                arn=self.topic.arn,
                policy=pulumi.Output.json_dumps(topic_policy(self.topic.arn, partition, region, account)),
            ),
            opts=child,
        )
        for index, email in enumerate(args.emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}",
                aws.sns.TopicSubscriptionArgs(topic=self.topic.arn, protocol="email", endpoint=email),
                opts=child,
            )
        for index, url in enumerate(args.https_endpoints):
            aws.sns.TopicSubscription(
                f"{name}-https-{index}",
                aws.sns.TopicSubscriptionArgs(
                    topic=self.topic.arn, protocol="https", endpoint=url, endpoint_auto_confirms=False
                ),
                opts=child,
            )
        self.register_outputs({"topicArn": self.topic_arn, "kmsKeyArn": self.kms_key_arn})


def topic_key_policy(partition: str, account: str) -> dict:
    """Key policy: the account administers the key (through IAM); CloudWatch may encrypt for the topic."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
        ],
    }


def topic_policy(
    topic_arn: pulumi.Input[str], partition: str, region: str, account: str
) -> dict[str, object]:
    """Topic policy: the account manages the topic; CloudWatch alarms of this account may publish."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManages",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": [
                    "sns:GetTopicAttributes",
                    "sns:SetTopicAttributes",
                    "sns:AddPermission",
                    "sns:RemovePermission",
                    "sns:DeleteTopic",
                    "sns:Subscribe",
                    "sns:ListSubscriptionsByTopic",
                    "sns:Publish",
                ],
                "Resource": topic_arn,
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*"},
                },
            },
        ],
    }


# -- the alarms --


@dataclass(frozen=True)
class MetricAlarmsArgs:
    """Arguments of :class:`MetricAlarms`.

    :param environment: the environment (alarm names are prefixed with its name).
    :param alarms: the alarms to declare.
    :param topic_arn: the SNS topic notified when an alarm fires.
    :param notify_on_ok: also notify when an alarm returns to OK; default: only in prod.
    """

    environment: Environment
    alarms: Sequence[MetricAlarmSpec]
    topic_arn: pulumi.Input[str]
    notify_on_ok: bool | None = None


class MetricAlarms(pulumi.ComponentResource):
    """CloudWatch metric alarms notifying one topic (type ``platform:alarms:MetricAlarms``)."""

    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    """The alarms by spec name."""

    def __init__(self, name: str, args: MetricAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        seen: set[str] = set()
        for index, spec in enumerate(args.alarms):
            validate_alarm_spec(spec, f"MetricAlarms({name}).alarms[{index}]")
            if spec.name in seen:
                raise ValidationError(
                    f"MetricAlarms({name}).alarms[{index}].name", "is used by two alarms", value=spec.name
                )
            seen.add(spec.name)

        super().__init__("platform:alarms:MetricAlarms", name, None, opts)
        env = args.environment
        notify_on_ok = env.is_prod if args.notify_on_ok is None else args.notify_on_ok
        self.alarms = {}
        for spec in args.alarms:
            percentile = PERCENTILE_PATTERN.fullmatch(spec.statistic) is not None
            self.alarms[spec.name] = aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.name}",
                aws.cloudwatch.MetricAlarmArgs(
                    name=f"{env.name}-{spec.name}",
                    alarm_description=spec.description or None,
                    namespace=spec.namespace,
                    metric_name=spec.metric_name,
                    dimensions=dict(spec.dimensions) or None,
                    statistic=None if percentile else spec.statistic,
                    extended_statistic=spec.statistic if percentile else None,
                    period=spec.period,
                    evaluation_periods=spec.evaluation_periods,
                    datapoints_to_alarm=spec.datapoints_to_alarm,
                    threshold=float(spec.threshold),
                    comparison_operator=spec.comparison,
                    treat_missing_data=spec.treat_missing_data,
                    alarm_actions=[args.topic_arn],
                    ok_actions=[args.topic_arn] if notify_on_ok else None,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"alarmArns": {n: a.arn for n, a in self.alarms.items()}})
