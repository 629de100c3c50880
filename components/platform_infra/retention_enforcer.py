"""A scheduled Lambda function that keeps every log group of an account and region within retention policy.

Declared log groups get their retention from :mod:`platform_infra.log_groups`; everything else (groups that
AWS services or other teams create) is caught by this enforcer. Its code is :mod:`platform_infra.lambdas.
retention_enforcer`, packaged on its own. It runs on an EventBridge schedule (daily by default), with a
least-privilege role: it may list log groups and set their retention, and write its own logs, nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from platform_infra.deploy_role import MANAGED_ROLE_PATH, boundary_policy_arn
from platform_infra.environment import Environment
from platform_infra.log_groups import (
    declare_lambda_log_group,
    lambda_log_group_name,
    require_kms_key_arn,
    require_retention_days,
)
from platform_infra.validation import ValidationError

#: The Lambda's source: one self-contained module, deployed as ``retention_enforcer.py``.
HANDLER_SOURCE = Path(__file__).resolve().parent / "lambdas" / "retention_enforcer.py"
HANDLER = "retention_enforcer.handler"
RUNTIME = "python3.12"

SCHEDULE_PATTERN = re.compile(
    r"^(rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)|cron\(\S+( \S+){5}\))$"
)
SCHEDULE_ALLOWED = "an EventBridge schedule like rate(1 day), rate(12 hours) or cron(0 3 * * ? *)"


def require_schedule(key: str, value: object, *, stack: str | None = None) -> str:
    """An EventBridge ``rate(...)`` or ``cron(...)`` expression (singular unit for 1, plural otherwise)."""
    if not isinstance(value, str) or not SCHEDULE_PATTERN.fullmatch(value):
        raise ValidationError(
            key, "is not a schedule expression", value=value, allowed=SCHEDULE_ALLOWED, stack=stack
        )
    return value


@dataclass(frozen=True)
class RetentionEnforcerArgs:
    """Arguments of :class:`RetentionEnforcer`.

    :param environment: the environment (account, region, tier).
    :param retention_days: retention set on groups with none, or with more than ``max_retention_days``.
    :param max_retention_days: longest retention a group may keep; defaults to ``retention_days``. Set it
        above ``retention_days`` when some groups legitimately keep logs longer (audit).
    :param exclude_names: log group names the enforcer never changes.
    :param exclude_prefixes: log group name prefixes the enforcer never changes.
    :param schedule: EventBridge schedule expression.
    :param log_retention_days: retention of the enforcer's own log group.
    :param kms_key_arn: optional KMS key ARN for the enforcer's own log group.
    :param timeout_seconds: the function's timeout (it stops cleanly 10 s before).
    """

    environment: Environment
    retention_days: int
    max_retention_days: int | None = None
    exclude_names: Sequence[str] = field(default_factory=tuple)
    exclude_prefixes: Sequence[str] = field(default_factory=tuple)
    schedule: str = "rate(1 day)"
    log_retention_days: int = 30
    kms_key_arn: pulumi.Input[str] | None = None
    timeout_seconds: int = 300


class RetentionEnforcer(pulumi.ComponentResource):
    """The scheduled enforcer (type ``platform:logs:RetentionEnforcer``).

    Children: the function's log group (declared first), an IAM role with one inline policy, the function,
    an EventBridge rule and target, and the permission that lets EventBridge invoke the function.
    """

    function: aws.lambda_.Function
    """The enforcer function."""
    function_name: str
    """The function's physical name (also used in its alarms' dimensions)."""
    role: aws.iam.Role
    """The function's execution role."""
    log_group: aws.cloudwatch.LogGroup
    """The function's own log group."""
    rule: aws.cloudwatch.EventRule
    """The schedule."""

    def __init__(
        self, name: str, args: RetentionEnforcerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        prefix = f"RetentionEnforcer({name})"
        require_retention_days(f"{prefix}.retention_days", args.retention_days)
        require_retention_days(f"{prefix}.log_retention_days", args.log_retention_days)
        if args.max_retention_days is not None:
            require_retention_days(f"{prefix}.max_retention_days", args.max_retention_days)
            if args.max_retention_days < args.retention_days:
                raise ValidationError(
                    f"{prefix}.max_retention_days",
                    "is shorter than retention_days",
                    value=args.max_retention_days,
                    allowed=f">= {args.retention_days}",
                )
        require_schedule(f"{prefix}.schedule", args.schedule)
        # A plain ARN is checked here, before anything is registered; one that comes from another
        # resource is checked when known (declare_lambda_log_group does both).
        if isinstance(args.kms_key_arn, str):
            require_kms_key_arn(f"{prefix}.kms_key_arn", args.kms_key_arn)
        for attribute in ("exclude_names", "exclude_prefixes"):
            for index, item in enumerate(getattr(args, attribute)):
                if not isinstance(item, str) or not item:
                    raise ValidationError(f"{prefix}.{attribute}[{index}]", "must be a non-empty string")
        if not 30 <= args.timeout_seconds <= 900:
            raise ValidationError(
                f"{prefix}.timeout_seconds",
                "is out of range",
                value=args.timeout_seconds,
                allowed="30 to 900",
            )

        super().__init__("platform:logs:RetentionEnforcer", name, None, opts)
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)
        self.function_name = f"{env.name}-{name}"[:64]
        partition, region, account = env.aws.partition, env.aws.region, env.aws.account_id

        self.log_group = declare_lambda_log_group(
            f"{name}-logs",
            function_name=self.function_name,
            retention_days=args.log_retention_days,
            environment=env,
            kms_key_arn=args.kms_key_arn,
            opts=child,
        )

        self.role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(
                description=f"Runs {self.function_name}: sets retention on CloudWatch log groups",
                # The deploy role may create roles only under this path and only with this boundary
                # (deploy_role.managed_roles_statements); the boundary allows logs and metrics only.
                path=MANAGED_ROLE_PATH,
                permissions_boundary=boundary_policy_arn(partition, account),
                assume_role_policy=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                            }
                        ],
                    }
                ),
            ),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            aws.iam.RolePolicyArgs(
                role=self.role.id,
                # Built from known names rather than from the group's ARN output, so a preview shows it.
                policy=json.dumps(
                    enforcer_policy_document(
                        partition, region, account, lambda_log_group_name(self.function_name)
                    ),
                    sort_keys=True,
                ),
            ),
            opts=child,
        )

        self.function = aws.lambda_.Function(
            f"{name}-function",
            aws.lambda_.FunctionArgs(
                name=self.function_name,
                description="Sets retention on CloudWatch log groups that have none or too long a one",
                runtime=RUNTIME,
                handler=HANDLER,
                code=pulumi.AssetArchive({"retention_enforcer.py": pulumi.FileAsset(str(HANDLER_SOURCE))}),
                role=self.role.arn,
                timeout=args.timeout_seconds,
                memory_size=256,
                environment=aws.lambda_.FunctionEnvironmentArgs(
                    variables=enforcer_environment(args),
                ),
                logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                    log_format="Text", log_group=self.log_group.name
                ),
            ),
            # The group must exist before the function, or the first invocation creates it without retention;
            # the policy must exist too, or the first scheduled run fails on AccessDenied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy]),
        )

        self.rule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            aws.cloudwatch.EventRuleArgs(
                name=f"{self.function_name}-schedule"[:64],
                description="Runs the log retention enforcer",
                schedule_expression=args.schedule,
            ),
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            aws.lambda_.PermissionArgs(
                action="lambda:InvokeFunction",
                function=self.function.name,
                principal="events.amazonaws.com",
                source_arn=self.rule.arn,
            ),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            aws.cloudwatch.EventTargetArgs(rule=self.rule.name, arn=self.function.arn),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function.arn,
                "roleArn": self.role.arn,
                "schedule": args.schedule,
                "logGroupName": self.log_group.name,
            }
        )


def enforcer_environment(args: RetentionEnforcerArgs) -> dict[str, str]:
    """The function's environment variables (what :class:`RetentionPolicy.from_environment` reads)."""
    variables = {
        "RETENTION_DAYS": str(args.retention_days),
        "EXCLUDE_NAMES": json.dumps(list(args.exclude_names)),
        "EXCLUDE_PREFIXES": json.dumps(list(args.exclude_prefixes)),
    }
    if args.max_retention_days is not None:
        variables["MAX_RETENTION_DAYS"] = str(args.max_retention_days)
    return variables


def enforcer_policy_document(partition: str, region: str, account: str, own_log_group: str) -> dict:
    """The enforcer's permissions: list groups (the API has no resource scoping), set retention only on
    log groups of its own account and region, and write log streams of its own group ``own_log_group``."""
    own = f"arn:{partition}:logs:{region}:{account}:log-group:{own_log_group}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
            {
                "Sid": "SetRetention",
                "Effect": "Allow",
                "Action": "logs:PutRetentionPolicy",
                "Resource": f"arn:{partition}:logs:{region}:{account}:log-group:*",
            },
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [own, f"{own}:*"],
            },
        ],
    }
