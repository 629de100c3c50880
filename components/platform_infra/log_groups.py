"""CloudWatch log groups whose retention is always declared and always a value CloudWatch accepts.

A log group that AWS creates on its own (a Lambda function's first log line, say) keeps its data forever.
:class:`LogGroups` declares a service's log groups up front with a retention from config, optionally
encrypted with a KMS key, and retained on ``pulumi destroy`` in prod so that deleting a stack never deletes
audit logs. :func:`declare_lambda_log_group` does the same for a Lambda function's own group, which must
exist before the function does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from platform_infra.environment import Environment, Tier
from platform_infra.validation import ValidationError, validate_when_known

#: Every retention (days) that ``PutRetentionPolicy`` accepts; anything else is refused by the API.
ALLOWED_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
ALLOWED_RETENTION = ", ".join(str(days) for days in ALLOWED_RETENTION_DAYS)

LOG_GROUP_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_./#-]{1,512}$")
LOG_GROUP_NAME_ALLOWED = "1-512 letters, digits and _-./#"
KMS_KEY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
KMS_KEY_ARN_ALLOWED = "a KMS key ARN like arn:aws:kms:eu-west-1:111111111111:key/<key-id>"


def require_retention_days(key: str, value: object, *, stack: str | None = None) -> int:
    """``value`` if it is one of CloudWatch's retention values; a ValidationError naming ``key`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value not in ALLOWED_RETENTION_DAYS:
        raise ValidationError(
            key,
            "is not a retention CloudWatch Logs accepts",
            value=value,
            allowed=ALLOWED_RETENTION,
            stack=stack,
        )
    return int(value)


def require_log_group_name(key: str, value: object, *, stack: str | None = None) -> str:
    """A valid CloudWatch log group name."""
    if not isinstance(value, str) or not LOG_GROUP_NAME_PATTERN.fullmatch(value):
        raise ValidationError(
            key, "is not a valid log group name", value=value, allowed=LOG_GROUP_NAME_ALLOWED, stack=stack
        )
    return value


def require_kms_key_arn(key: str, value: object, *, stack: str | None = None) -> str:
    """A KMS key ARN (CloudWatch Logs needs the ARN, not an alias or a bare key id)."""
    if not isinstance(value, str) or not KMS_KEY_ARN_PATTERN.fullmatch(value):
        raise ValidationError(
            key, "is not a KMS key ARN", value=value, allowed=KMS_KEY_ARN_ALLOWED, stack=stack
        )
    return value


def _checked_kms_key_arn(key: str, value: pulumi.Input[str] | None) -> pulumi.Input[str] | None:
    """``value`` checked as a KMS key ARN: now if it is plain, when known if it comes from a resource."""
    if value is None:
        return None
    return validate_when_known(value, lambda known: require_kms_key_arn(key, known))


def lambda_log_group_name(function_name: str) -> str:
    """The log group Lambda writes to by default: ``/aws/lambda/<function name>``."""
    return f"/aws/lambda/{function_name}"


@dataclass(frozen=True)
class LogGroupSpec:
    """One log group to declare.

    :param name: the log group's name, e.g. ``/platform/orders/api``.
    :param retention_days: overrides :attr:`LogGroupsArgs.retention_days` for this group (audit logs).
    """

    name: str
    retention_days: int | None = None


@dataclass(frozen=True)
class LogGroupsArgs:
    """Arguments of :class:`LogGroups`.

    :param environment: the environment (its tier decides ``retain_on_delete``).
    :param groups: the log groups to declare.
    :param retention_days: retention of every group that does not set its own.
    :param kms_key_arn: optional KMS key ARN encrypting every group; its key policy must allow
        ``logs.<region>.amazonaws.com`` to use it.
    :param create_kms_key: create a customer-managed key (rotation on) for the groups instead, whose policy
        lets CloudWatch Logs of this account and region use it for this account's log groups only.
    """

    environment: Environment
    groups: Sequence[LogGroupSpec] = field(default_factory=tuple)
    retention_days: int = 30
    kms_key_arn: pulumi.Input[str] | None = None
    create_kms_key: bool = False


def log_group_key_policy(partition: str, region: str, account: str) -> dict[str, object]:
    """Key policy of a log-group CMK (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using
    AWS KMS"): the account administers it; ``logs.<region>.amazonaws.com`` may use it only with an encryption
    context naming a log group of this account (``kms:EncryptionContext:aws:logs:arn``)."""
    groups = f"arn:{partition}:logs:{region}:{account}:log-group:*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersKeyThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchLogsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": [
                    "kms:Decrypt*",
                    "kms:Describe*",
                    "kms:Encrypt*",
                    "kms:GenerateDataKey*",
                    "kms:ReEncrypt*",
                ],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": groups}},
            },
        ],
    }


class LogGroups(pulumi.ComponentResource):
    """A service's CloudWatch log groups, each with an allowed retention (type ``platform:logs:LogGroups``).

    In prod every group is ``retain_on_delete``: removing it from the program or destroying the stack leaves
    the logs (and their retention) in place.
    """

    log_groups: dict[str, aws.cloudwatch.LogGroup]
    """The declared groups by log group name."""
    kms_key: aws.kms.Key | None
    """The groups' customer-managed key, when ``create_kms_key`` made one."""
    arns: dict[str, pulumi.Output[str]]
    """Each group's ARN by log group name."""

    def __init__(self, name: str, args: LogGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        prefix = f"LogGroups({name})"
        require_retention_days(f"{prefix}.retention_days", args.retention_days)
        kms_key_arn = _checked_kms_key_arn(f"{prefix}.kms_key_arn", args.kms_key_arn)
        seen: set[str] = set()
        for index, spec in enumerate(args.groups):
            require_log_group_name(f"{prefix}.groups[{index}].name", spec.name)
            if spec.retention_days is not None:
                require_retention_days(f"{prefix}.groups[{index}].retention_days", spec.retention_days)
            if spec.name in seen:
                raise ValidationError(f"{prefix}.groups[{index}].name", "is declared twice", value=spec.name)
            seen.add(spec.name)

        if args.create_kms_key and args.kms_key_arn is not None:
            raise ValidationError(
                f"{prefix}.create_kms_key", "conflicts with kms_key_arn", allowed="one of the two"
            )
        super().__init__("platform:logs:LogGroups", name, None, opts)
        self.kms_key = None
        if args.create_kms_key:
            env = args.environment.aws
            self.kms_key = aws.kms.Key(
                f"{name}-logs-key",
                aws.kms.KeyArgs(
                    description=f"Encrypts the {args.environment.name} log groups declared by {name}",
                    enable_key_rotation=True,
                    deletion_window_in_days=30,
                    policy=json.dumps(log_group_key_policy(env.partition, env.region, env.account_id)),
                ),
                opts=pulumi.ResourceOptions(parent=self, protect=args.environment.tier is Tier.PROD),
            )
            kms_key_arn = self.kms_key.arn
        self.log_groups = {}
        for spec in args.groups:
            resource_name = f"{name}-{spec.name.strip('/').replace('/', '-')}"
            self.log_groups[spec.name] = _log_group(
                resource_name,
                log_group_name=spec.name,
                retention_days=spec.retention_days or args.retention_days,
                environment=args.environment,
                kms_key_arn=kms_key_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.arns = {group_name: group.arn for group_name, group in self.log_groups.items()}
        self.register_outputs({"arns": self.arns})


def declare_lambda_log_group(
    resource_name: str,
    *,
    function_name: str,
    retention_days: int,
    environment: Environment,
    kms_key_arn: pulumi.Input[str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> aws.cloudwatch.LogGroup:
    """Declare ``/aws/lambda/<function_name>`` with a retention, for a function declared afterwards.

    Pass the result to the function's ``depends_on`` and ``logging_config.log_group``: if the function
    existed first, its first invocation would make Lambda create the group itself, without retention, and
    this declaration would then fail with "already exists".

    :param resource_name: Pulumi logical name of the log group.
    :param function_name: the function's explicit (physical) name.
    :param retention_days: one of :data:`ALLOWED_RETENTION_DAYS`.
    :param environment: the environment (prod retains the group on delete).
    :param kms_key_arn: optional KMS key ARN for the group.
    :param opts: resource options (parent, providers).
    """
    require_retention_days(f"declare_lambda_log_group({resource_name}).retention_days", retention_days)
    kms_key_arn = _checked_kms_key_arn(f"declare_lambda_log_group({resource_name}).kms_key_arn", kms_key_arn)
    return _log_group(
        resource_name,
        log_group_name=require_log_group_name(
            f"declare_lambda_log_group({resource_name}).function_name", lambda_log_group_name(function_name)
        ),
        retention_days=retention_days,
        environment=environment,
        kms_key_arn=kms_key_arn,
        opts=opts,
    )


def _log_group(
    resource_name: str,
    *,
    log_group_name: str,
    retention_days: int,
    environment: Environment,
    kms_key_arn: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions | None,
) -> aws.cloudwatch.LogGroup:
    # Retained in prod: a refactoring that drops a group from the program must not delete audit logs.
    options = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=environment.is_prod))
    return aws.cloudwatch.LogGroup(
        resource_name,
        aws.cloudwatch.LogGroupArgs(
            name=log_group_name,
            retention_in_days=retention_days,
            kms_key_id=kms_key_arn,
        ),
        opts=options,
    )
