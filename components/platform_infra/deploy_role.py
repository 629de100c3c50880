"""The deploy role: the IAM role in a target account that the pipeline assumes to deploy an environment.

The trust policy names exactly the pipeline principal(s) of the shared-services account: a bare account
root (``arn:aws:iam::<acct>:root``, which admits every principal of that account that holds sts:AssumeRole)
only when asked for explicitly, and a ``*`` principal never. An external id and a session tag can be
required. Permissions are least privilege by default: nothing but the managed policies and actions the
caller lists; AdministratorAccess only with ``administrator_access=True``, and the role then carries the
tag :data:`ADMINISTRATOR_TAG` so that the policy pack warns about it.

Policy documents are plain JSON built here (no ``get_policy_document`` invoke), so the offline plan and
the tests see exactly what IAM receives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from platform_infra.environment import (
    IAM_ROLE_NAME_PATTERN,
    MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS,
)
from platform_infra.validation import ValidationError, require_int, require_pattern

POLICY_VERSION = "2012-10-17"
ADMINISTRATOR_TAG = "platform:administrator-access"
"""Tag set to ``"true"`` on a deploy role that holds AdministratorAccess (policy rules look for it)."""

PRINCIPAL_ARN_PATTERN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(role|user)/[\w+=,.@/-]{1,512}$"
)
ACCOUNT_ROOT_PATTERN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):root$")
MANAGED_POLICY_ARN_PATTERN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):iam::(aws|\d{12}):policy/[\w+=,.@/-]+$"
)
ADMINISTRATOR_POLICY_PATTERN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):iam::aws:policy/AdministratorAccess$"
)
ACTION_PATTERN = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*]+$")
#: A read action by IAM's naming (its List and Read access levels): Get, List or Describe, no wildcard.
READ_ACTION_PATTERN = re.compile(r"^[a-z0-9-]+:(Get|List|Describe)[A-Za-z0-9]*$")
TAG_KEY_PATTERN = re.compile(r"^[\w.:/=+@ -]{1,128}$")
TAG_VALUE_PATTERN = re.compile(r"^[\w.:/=+@ -]{0,256}$")
PARTITION_PATTERN = re.compile(r"^(aws|aws-cn|aws-us-gov)$")

#: What the deploy role may never do to itself, whatever else it is allowed: rewrite its own trust or
#: permissions, or drop its boundary. Without this, a pipeline with IAM rights could widen its own access.
SELF_PROTECTION_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
)

#: Roles the stacks create (e.g. the retention enforcer's) live under this path; the deploy role may create
#: and change roles only there, only with :data:`BOUNDARY_POLICY_NAME` as their permissions boundary, and pass
#: them only to :data:`PASSABLE_SERVICES`.
MANAGED_ROLE_PATH = "/platform/"
BOUNDARY_POLICY_NAME = "platform-deploy-boundary"
#: The services the stacks hand roles to (the retention enforcer is a Lambda function).
PASSABLE_SERVICES = ("lambda.amazonaws.com",)
#: IAM actions the deploy role holds on roles under :data:`MANAGED_ROLE_PATH` (iam:PermissionsBoundary is
#: a condition key of the first group only: AWS IAM service authorization reference).
BOUNDED_ROLE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
)
PATH_ROLE_ACTIONS = (
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
#: What roles under the boundary may ever do: write their logs and metrics. Everything IAM is denied, so a
#: role the pipeline creates can neither widen itself nor drop or change the boundary.
BOUNDARY_ALLOWED_ACTIONS = (
    "cloudwatch:PutMetricData",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "logs:*",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)

PolicyDocument = dict[str, Any]


def boundary_policy_arn(partition: str, account_id: str) -> str:
    """ARN of the permissions boundary every stack-created role must carry in ``account_id``."""
    return f"arn:{partition}:iam::{account_id}:policy{MANAGED_ROLE_PATH}{BOUNDARY_POLICY_NAME}"


def boundary_policy() -> PolicyDocument:
    """The boundary: logs and metrics only, and never anything IAM (no changing or removing a boundary)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "Workloads",
                "Effect": "Allow",
                "Action": list(BOUNDARY_ALLOWED_ACTIONS),
                "Resource": "*",
            },
            {"Sid": "NeverIam", "Effect": "Deny", "Action": ["iam:*", "sts:AssumeRole"], "Resource": "*"},
        ],
    }


def managed_roles_statements(
    partition: str, account_id: str, function_prefix: str | None
) -> list[dict[str, Any]]:
    """What lets the deploy role manage the stacks' own roles and functions, without an escalation path.

    Roles only under :data:`MANAGED_ROLE_PATH`, created and changed only with the boundary
    (``iam:PermissionsBoundary``), passed only to :data:`PASSABLE_SERVICES` (``iam:PassedToService``);
    Lambda only on functions named ``<function_prefix>*`` (changing another function's code would run it
    with that function's role).
    """
    roles = f"arn:{partition}:iam::{account_id}:role{MANAGED_ROLE_PATH}*"
    boundary = boundary_policy_arn(partition, account_id)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ManageRolesWithBoundary",
            "Effect": "Allow",
            "Action": list(BOUNDED_ROLE_ACTIONS),
            "Resource": roles,
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}},
        },
        {
            "Sid": "ManageRolesUnderPath",
            "Effect": "Allow",
            "Action": list(PATH_ROLE_ACTIONS),
            "Resource": roles,
        },
        {
            "Sid": "PassRolesToTheStacksServices",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": roles,
            "Condition": {"StringEquals": {"iam:PassedToService": list(PASSABLE_SERVICES)}},
        },
    ]
    if function_prefix is not None:
        statements.append(
            {
                "Sid": "ManageTheStacksFunctions",
                "Effect": "Allow",
                "Action": "lambda:*",
                "Resource": f"arn:{partition}:lambda:*:{account_id}:function:{function_prefix}*",
            }
        )
    return statements


@dataclass(frozen=True)
class SessionTag:
    """A session tag the assumer must pass (``aws:RequestTag/<key>`` = ``value``); allows sts:TagSession.

    :param key: tag key, e.g. ``platform-pipeline``.
    :param value: required tag value, e.g. ``example-org/platform-infra``.
    """

    key: str
    value: str


def validate_principal_arn(
    key: str, arn: object, *, allow_account_root: bool, stack: str | None = None
) -> str:
    """A trusted principal ARN: a role or user ARN, or an account root only with ``allow_account_root``.

    ``*`` (or any wildcard) is always refused: it would let anyone, in any account, assume the role.
    """
    if not isinstance(arn, str):
        raise ValidationError(key, "must be a string", value=arn, stack=stack)
    if "*" in arn or "?" in arn:
        raise ValidationError(
            key,
            "must not be a wildcard principal: it would let any principal assume the role",
            value=arn,
            allowed="the ARN of the pipeline role, e.g. arn:aws:iam::444444444444:role/platform-pipeline",
            stack=stack,
        )
    if ACCOUNT_ROOT_PATTERN.fullmatch(arn):
        if not allow_account_root:
            raise ValidationError(
                key,
                "is a bare account root, which trusts every principal of that account; name the pipeline "
                "role instead, or set the explicit account-root flag",
                value=arn,
                allowed="a role or user ARN",
                stack=stack,
            )
        return arn
    if not PRINCIPAL_ARN_PATTERN.fullmatch(arn):
        raise ValidationError(
            key,
            "is not an IAM role or user ARN",
            value=arn,
            allowed="arn:aws:iam::<12-digit account>:role/<name>",
            stack=stack,
        )
    return arn


def principal_account(arn: str) -> str:
    """The account id inside a principal ARN validated by :func:`validate_principal_arn`."""
    return arn.split(":")[4]


def trust_policy(
    principal_arns: Sequence[str], external_id: str | None, session_tag: SessionTag | None
) -> PolicyDocument:
    """The deploy role's trust policy: only ``principal_arns``, with the external id and session tag."""
    conditions: dict[str, dict[str, Any]] = {}
    actions = ["sts:AssumeRole"]
    if external_id is not None:
        conditions.setdefault("StringEquals", {})["sts:ExternalId"] = external_id
    if session_tag is not None:
        actions.append("sts:TagSession")
        conditions.setdefault("StringEquals", {})[f"aws:RequestTag/{session_tag.key}"] = session_tag.value
        # Only the required tag may be set: other tags could match some other role's tag condition.
        conditions["ForAllValues:StringEquals"] = {"aws:TagKeys": [session_tag.key]}
    statement: dict[str, Any] = {
        "Sid": "PipelineAssumeRole",
        "Effect": "Allow",
        "Principal": {"AWS": sorted(principal_arns)},
        "Action": actions if len(actions) > 1 else actions[0],
    }
    if conditions:
        statement["Condition"] = conditions
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def trust_policy_json(
    principal_arns: Sequence[str], external_id: pulumi.Input[str] | None, session_tag: SessionTag | None
) -> pulumi.Output[str]:
    """:func:`trust_policy` as a role's ``assume_role_policy``: secret when the external id is (a secret
    config value stays secret through ``apply``)."""
    if external_id is None:
        return pulumi.Output.from_input(json.dumps(trust_policy(principal_arns, None, session_tag), indent=2))
    return pulumi.Output.from_input(external_id).apply(
        lambda value: json.dumps(trust_policy(principal_arns, value, session_tag), indent=2)
    )


def permissions_policy(
    role_arn: str,
    allowed_actions: Sequence[str],
    extra_statements: Sequence[dict[str, Any]] = (),
    boundary_arn: str | None = None,
) -> PolicyDocument:
    """The deploy role's inline policy: ``allowed_actions`` on ``*``, ``extra_statements``, and denies on
    rewriting itself and (when given) the boundary policy."""
    statements: list[dict[str, Any]] = []
    if allowed_actions:
        statements.append(
            {"Sid": "Deploy", "Effect": "Allow", "Action": sorted(allowed_actions), "Resource": "*"}
        )
    statements += list(extra_statements)
    statements.append(
        {
            "Sid": "DenySelfModification",
            "Effect": "Deny",
            "Action": list(SELF_PROTECTION_ACTIONS),
            "Resource": role_arn,
        }
    )
    if boundary_arn is not None:
        statements.append(
            {
                "Sid": "DenyBoundaryChanges",
                "Effect": "Deny",
                "Action": [
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion",
                ],
                "Resource": boundary_arn,
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


@dataclass(frozen=True)
class DeployRoleArgs:
    """Arguments of :class:`DeployRole`.

    :param role_name: IAM role name in the target account (the environment stack's
        ``platform:aws.deployRoleName``).
    :param account_id: the target account (used to build the role's own ARN).
    :param trusted_principal_arns: the pipeline principal ARN(s) allowed to assume the role.
    :param trusted_account_id: when set, every trusted principal must belong to this (shared-services)
        account.
    :param allow_account_root: accept ``arn:aws:iam::<acct>:root`` among the principals (trusts the whole
        account).
    :param external_id: when set, callers must pass it (``sts:ExternalId``); keep it a Pulumi secret.
    :param session_tag: when set, callers must pass this session tag (and only it).
    :param max_session_duration_seconds: longest session, 3600 to 43200 seconds.
    :param permissions_boundary_arn: managed policy ARN used as the role's permissions boundary.
    :param policy_arns: managed policies to attach (AdministratorAccess only with ``administrator_access``).
    :param allowed_actions: IAM actions (``service:Action`` or ``service:*``) granted on every resource.
    :param administrator_access: attach AdministratorAccess; the role is tagged so policy checks warn.
    :param partition: ARN partition of the target account.
    :param tags: extra tags for the role (the provider adds the environment's tags).
    :param wait_for: resources the role must wait for, typically the pipeline role: IAM refuses a trust
        policy naming a principal that does not exist yet (a component's ``depends_on`` does not reach it).
    :param description: the role's description (default: a deploy role assumed by the pipeline).
    :param manage_stack_roles: create the permissions boundary policy in the target account and let the role
        manage the stacks' own roles (under :data:`MANAGED_ROLE_PATH`, with that boundary) and functions.
    :param function_prefix: name prefix of the Lambda functions the stacks create (``<environment>-``).
    :param extra_statements: further Allow statements of the inline policy, each scoped to its resources
        (e.g. :func:`platform_infra.review_stacks.review_deploy_statements`).
    :param read_statements: Allow statements of read actions only (``Get*``, ``List*``, ``Describe*``;
        IAM reads included), e.g. :func:`platform_infra.preview_read.preview_read_statements` of a preview
        role.
    """

    role_name: str
    account_id: str
    trusted_principal_arns: Sequence[str]
    trusted_account_id: str | None = None
    allow_account_root: bool = False
    external_id: pulumi.Input[str] | None = None
    session_tag: SessionTag | None = None
    max_session_duration_seconds: int = 3600
    permissions_boundary_arn: str | None = None
    policy_arns: Sequence[str] = ()
    allowed_actions: Sequence[str] = ()
    administrator_access: bool = False
    partition: str = "aws"
    tags: Mapping[str, str] = field(default_factory=dict)
    wait_for: Sequence[pulumi.Resource] = ()
    description: str | None = None
    manage_stack_roles: bool = False
    function_prefix: str | None = None
    extra_statements: Sequence[Mapping[str, Any]] = ()
    read_statements: Sequence[Mapping[str, Any]] = ()


class DeployRole(pulumi.ComponentResource):
    """An IAM deploy role in a target account that only the named pipeline principal(s) can assume."""

    role: aws.iam.Role
    """The IAM role."""
    arn: str
    """The role's ARN (known before deployment: ``arn:<partition>:iam::<account>:role/<name>``)."""
    administrator_access: bool
    """True when the role holds AdministratorAccess (also tagged :data:`ADMINISTRATOR_TAG`)."""
    trust_policy: pulumi.Output[str]
    """The trust policy JSON (secret when it holds an external id)."""
    boundary: aws.iam.Policy | None
    """The permissions boundary of the stacks' roles, when ``manage_stack_roles`` created it."""

    def __init__(self, name: str, args: DeployRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(name, args)
        super().__init__("platform:iam:DeployRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.arn = f"arn:{args.partition}:iam::{args.account_id}:role/{args.role_name}"
        self.administrator_access = args.administrator_access
        principals = list(dict.fromkeys(args.trusted_principal_arns))
        session_tag = args.session_tag

        self.trust_policy = trust_policy_json(principals, args.external_id, session_tag)

        tags = dict(args.tags)
        if args.administrator_access:
            tags[ADMINISTRATOR_TAG] = "true"
        self.role = aws.iam.Role(
            name,
            aws.iam.RoleArgs(
                name=args.role_name,
                description=args.description
                or f"Deploy role assumed by the platform pipeline ({', '.join(principals)})",
                assume_role_policy=self.trust_policy,
                max_session_duration=args.max_session_duration_seconds,
                permissions_boundary=args.permissions_boundary_arn,
                force_detach_policies=True,
                tags=tags or None,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for) or None),
        )
        extra: list[dict[str, Any]] = [dict(s) for s in (*args.extra_statements, *args.read_statements)]
        boundary_arn = None
        self.boundary = None
        if args.manage_stack_roles:
            boundary_arn = boundary_policy_arn(args.partition, args.account_id)
            self.boundary = aws.iam.Policy(
                f"{name}-boundary",
                aws.iam.PolicyArgs(
                    name=BOUNDARY_POLICY_NAME,
                    path=MANAGED_ROLE_PATH,
                    description="Permissions boundary of every role the platform's stacks create",
                    policy=json.dumps(boundary_policy(), indent=2),
                ),
                opts=child,
            )
            extra += managed_roles_statements(args.partition, args.account_id, args.function_prefix)
        aws.iam.RolePolicy(
            f"{name}-deploy",
            aws.iam.RolePolicyArgs(
                name="platform-deploy",
                role=self.role.name,
                policy=json.dumps(
                    permissions_policy(self.arn, args.allowed_actions, extra, boundary_arn), indent=2
                ),
            ),
            opts=child,
        )
        policy_arns = list(dict.fromkeys(args.policy_arns))
        if args.administrator_access:
            admin = f"arn:{args.partition}:iam::aws:policy/AdministratorAccess"
            policy_arns = [admin, *(arn for arn in policy_arns if arn != admin)]
        for index, policy_arn in enumerate(policy_arns):
            aws.iam.RolePolicyAttachment(
                f"{name}-policy-{index}",
                aws.iam.RolePolicyAttachmentArgs(role=self.role.name, policy_arn=policy_arn),
                opts=child,
            )
        self.register_outputs(
            {"arn": self.arn, "administratorAccess": self.administrator_access, "policyArns": policy_arns}
        )


def _statement_actions(statement: Mapping[str, Any]) -> list[Any]:
    """A policy statement's ``Action``: one action or a list of them (IAM accepts both)."""
    actions = statement.get("Action")
    return [actions] if isinstance(actions, str) else list(actions or [])


def _validate(name: str, args: DeployRoleArgs) -> None:
    """Refuse bad arguments before anything is registered."""
    prefix = f"DeployRole({name})"
    require_pattern(
        f"{prefix}.role_name", args.role_name, IAM_ROLE_NAME_PATTERN, "1-64 letters, digits and +=,.@_-"
    )
    require_pattern(f"{prefix}.partition", args.partition, PARTITION_PATTERN, "aws, aws-cn or aws-us-gov")
    if not args.trusted_principal_arns or isinstance(args.trusted_principal_arns, str):
        raise ValidationError(
            f"{prefix}.trusted_principal_arns",
            "must list at least one principal ARN",
            value=args.trusted_principal_arns,
            allowed="a list of role ARNs",
        )
    for index, arn in enumerate(args.trusted_principal_arns):
        key = f"{prefix}.trusted_principal_arns[{index}]"
        validate_principal_arn(key, arn, allow_account_root=args.allow_account_root)
        if args.trusted_account_id is not None and principal_account(arn) != args.trusted_account_id:
            raise ValidationError(
                key,
                "is not a principal of the shared-services account",
                value=arn,
                allowed=f"a principal of account {args.trusted_account_id}",
            )
    require_int(
        f"{prefix}.max_session_duration_seconds",
        args.max_session_duration_seconds,
        minimum=max(MIN_SESSION_SECONDS, 3600),
        maximum=MAX_SESSION_SECONDS,
    )
    if args.session_tag is not None:
        require_pattern(
            f"{prefix}.session_tag.key", args.session_tag.key, TAG_KEY_PATTERN, "1-128 tag key characters"
        )
        if args.session_tag.key.lower().startswith("aws:"):
            raise ValidationError(
                f"{prefix}.session_tag.key", "uses the reserved aws: prefix", value=args.session_tag.key
            )
        require_pattern(
            f"{prefix}.session_tag.value",
            args.session_tag.value,
            TAG_VALUE_PATTERN,
            "0-256 tag value characters",
        )
    if args.permissions_boundary_arn is not None:
        require_pattern(
            f"{prefix}.permissions_boundary_arn",
            args.permissions_boundary_arn,
            MANAGED_POLICY_ARN_PATTERN,
            "a managed policy ARN",
        )
    for index, arn in enumerate(args.policy_arns):
        key = f"{prefix}.policy_arns[{index}]"
        require_pattern(key, arn, MANAGED_POLICY_ARN_PATTERN, "a managed policy ARN")
        if ADMINISTRATOR_POLICY_PATTERN.fullmatch(arn) and not args.administrator_access:
            raise ValidationError(
                key,
                "attaches AdministratorAccess without the explicit administrator flag",
                value=arn,
                allowed="least-privilege policies, or set administrator_access",
            )
    for index, statement in enumerate(args.extra_statements):
        for action in _statement_actions(statement):
            # Extra statements widen a role resource by resource; IAM or every action never comes this way.
            if action in {"*", "*:*"} or str(action).lower().startswith(("iam:", "sts:")):
                raise ValidationError(
                    f"{prefix}.extra_statements[{index}]",
                    "grants IAM, STS or every action",
                    value=action,
                    allowed="service actions scoped to the stacks' own resources",
                )
    for index, statement in enumerate(args.read_statements):
        for action in _statement_actions(statement):
            # Read statements may read IAM configuration; they never change anything.
            if statement.get("Effect") != "Allow" or not READ_ACTION_PATTERN.fullmatch(str(action)):
                raise ValidationError(
                    f"{prefix}.read_statements[{index}]",
                    "is not an Allow of read actions",
                    value=action,
                    allowed="service:Get..., service:List... or service:Describe... actions",
                )
    for index, action in enumerate(args.allowed_actions):
        key = f"{prefix}.allowed_actions[{index}]"
        if action in {"*", "*:*"}:
            raise ValidationError(
                key,
                "grants every action; use the explicit administrator flag if that is really meant",
                value=action,
                allowed="service:Action or service:*",
            )
        require_pattern(key, action, ACTION_PATTERN, "service:Action or service:*, e.g. logs:*")
