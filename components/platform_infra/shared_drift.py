"""The read-only role a drift check of the shared (bootstrap) stack assumes in each account it reaches.

``pulumi preview --refresh`` reads every resource of the shared stack back from the cloud. Its AWS providers
act in the shared-services account (OIDC providers, pipeline roles, the state buckets and KMS keys) and in
every target account (deploy, preview and review roles, the permissions boundary): the drift role in each of
them may read exactly those resource types and nothing else.

Why not AWS's ``ReadOnlyAccess`` (what the environment stacks' preview roles held before
:mod:`platform_infra.preview_read`): it allows ``s3:Get*``
on every bucket, ``ssm:Get*`` and the like on ``*`` (AWS managed policy reference, ``ReadOnlyAccess`` and
``AmazonS3ReadOnlyAccess``: ``"s3:Get*", "s3:List*"`` on ``"Resource": "*"``), i.e. object contents in the
target accounts and SSM parameters. In the shared-services account the state bucket holds every stack's
checkpoint; ``ReadOnlyAccess`` holds no ``kms:Decrypt``, so SSE-KMS objects stay closed, but the access-log
bucket (SSE-S3) would be readable. A drift check needs none of that: refreshing a bucket reads its
configuration (``s3:GetBucket*``, ``s3:Get*Configuration``; ``HeadBucket`` needs ``s3:ListBucket``, which
lists object names, not contents), refreshing a key its metadata and policy (no ``kms:Decrypt``), refreshing
a role its policies. IAM read returns no secret material (a secret access key is returned only by
``CreateAccessKey``: IAM User Guide, "Manage access keys for IAM users").

What the drift identity can *decrypt* is the shared stack's own secrets key, through that key's policy
(``state_backend.environment_key_policy``), not through this role.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from platform_infra.deploy_role import POLICY_VERSION, SessionTag, trust_policy_json, validate_principal_arn
from platform_infra.environment import IAM_ROLE_NAME_PATTERN
from platform_infra.iam_escalation import ACCESS_TAG
from platform_infra.validation import ValidationError, require_pattern

#: What refreshing the shared stack's IAM resources reads, by resource type (roles with their inline and
#: attached policies and tags; managed policies such as the permissions boundary; OIDC providers). A role's
#: read is GetRole, then ListRolePolicies + GetRolePolicy (inline policies) and ListAttachedRolePolicies
#: (hashicorp/terraform-provider-aws ``internal/service/iam/role.go``, ``resourceRoleRead``; a v4-era copy
#: read here, the calls of the bridged v7 provider are not verified offline). Each is scoped to its own
#: resource type in the account (Checkov CKV_AWS_355: no "*" for restrictable actions).
IAM_ROLE_READ_ACTIONS = (
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
)
IAM_POLICY_READ_ACTIONS = (
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListPolicyTags",
    "iam:ListPolicyVersions",
)
IAM_OIDC_READ_ACTIONS = ("iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviderTags")
#: Bucket configuration only: no ``s3:GetObject*`` (every stack's checkpoint lives in the state bucket).
#: ``s3:ListBucket`` for HeadBucket, which a bucket's read starts with (S3 API Reference, HeadBucket:
#: "you must have permissions to perform the s3:ListBucket action"). ``s3:ListTagsForResource``: since
#: terraform-provider-aws 6.23 (PR #45251, ABAC for general purpose buckets; pulumi-aws 7.51 bridges a later
#: one) a bucket's read asks S3 Control's ListTagsForResource first and falls back to GetBucketTagging only
#: on a "not authorized" error (issue #45784): allowed, the read needs no fallback and leaves no denied call.
S3_CONFIG_READ_ACTIONS = (
    "s3:GetAccelerateConfiguration",
    "s3:GetBucket*",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:ListBucket",
    "s3:ListTagsForResource",
)
#: Key metadata, rotation, policy and tags: never Decrypt, Encrypt or GenerateDataKey.
KMS_READ_ACTIONS = ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags")
#: Actions without a resource type (IAM's Service Authorization Reference lists none for them): only ``*``.
UNSCOPED_LIST_ACTIONS = ("iam:ListOpenIDConnectProviders",)
UNSCOPED_KMS_LIST_ACTIONS = ("kms:ListAliases",)


def drift_read_statements(
    partition: str, account_id: str, bucket_names: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The drift role's inline policy: IAM read of the account's roles, policies and OIDC providers; in the
    shared-services account (``bucket_names`` given) also the state buckets' configuration and the KMS keys'
    metadata."""
    iam = f"arn:{partition}:iam::{account_id}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadRoles",
            "Effect": "Allow",
            "Action": list(IAM_ROLE_READ_ACTIONS),
            "Resource": f"{iam}:role/*",
        },
        {
            "Sid": "ReadPolicies",
            "Effect": "Allow",
            "Action": list(IAM_POLICY_READ_ACTIONS),
            "Resource": f"{iam}:policy/*",
        },
        {
            "Sid": "ReadOidcProviders",
            "Effect": "Allow",
            "Action": list(IAM_OIDC_READ_ACTIONS),
            "Resource": f"{iam}:oidc-provider/*",
        },
        {
            "Sid": "ListOidcProviders",
            "Effect": "Allow",
            "Action": list(UNSCOPED_LIST_ACTIONS),
            "Resource": "*",
        },
    ]
    if bucket_names:
        statements += [
            {
                "Sid": "ReadStateBucketConfiguration",
                "Effect": "Allow",
                "Action": list(S3_CONFIG_READ_ACTIONS),
                "Resource": [f"arn:{partition}:s3:::{name}" for name in sorted(dict.fromkeys(bucket_names))],
            },
            {
                "Sid": "ReadKeyMetadata",
                "Effect": "Allow",
                "Action": list(KMS_READ_ACTIONS),
                "Resource": f"arn:{partition}:kms:*:{account_id}:key/*",
            },
            {
                "Sid": "ListKeyAliases",
                "Effect": "Allow",
                "Action": list(UNSCOPED_KMS_LIST_ACTIONS),
                "Resource": "*",
            },
        ]
    return statements


@dataclass(frozen=True)
class DriftReadRoleArgs:
    """Arguments of :class:`DriftReadRole`.

    :param role_name: the role's name (the shared stack's ``platform:aws.previewRoleName``).
    :param account_id: the account it lives in.
    :param trusted_principal_arn: the drift pipeline role (shared-services account), the only principal.
    :param partition: ARN partition.
    :param external_id: the external id the account's roles require (staging/prod targets), or None.
    :param session_tag: the session tag the account's roles require, or None.
    :param bucket_names: the state buckets whose configuration it reads (shared-services account only).
    :param tags: extra tags (the provider adds the environment's).
    :param wait_for: the drift pipeline role: IAM refuses a trust policy naming a role that does not exist.
    """

    role_name: str
    account_id: str
    trusted_principal_arn: str
    partition: str = "aws"
    external_id: pulumi.Input[str] | None = None
    session_tag: SessionTag | None = None
    bucket_names: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    wait_for: Sequence[pulumi.Resource] = ()


class DriftReadRole(pulumi.ComponentResource):
    """A read-only role only the shared stack's drift pipeline role may assume (tagged ``read-only``)."""

    role: aws.iam.Role
    """The IAM role."""
    arn: str
    """Its ARN (known before deployment)."""

    def __init__(
        self, name: str, args: DriftReadRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        prefix = f"DriftReadRole({name})"
        require_pattern(f"{prefix}.role_name", args.role_name, IAM_ROLE_NAME_PATTERN, "an IAM role name")
        validate_principal_arn(
            f"{prefix}.trusted_principal_arn", args.trusted_principal_arn, allow_account_root=False
        )
        if ":role/" not in args.trusted_principal_arn:
            raise ValidationError(
                f"{prefix}.trusted_principal_arn", "is not a role ARN", value=args.trusted_principal_arn
            )
        super().__init__("platform:iam:DriftReadRole", name, None, opts)
        self.arn = f"arn:{args.partition}:iam::{args.account_id}:role/{args.role_name}"
        trust = trust_policy_json([args.trusted_principal_arn], args.external_id, args.session_tag)
        self.role = aws.iam.Role(
            name,
            aws.iam.RoleArgs(
                name=args.role_name,
                description="Read-only drift check of the shared stack, assumed by "
                f"{args.trusted_principal_arn}",
                assume_role_policy=trust,
                max_session_duration=3600,
                force_detach_policies=True,
                tags={**args.tags, ACCESS_TAG: "read-only"},
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for) or None),
        )
        aws.iam.RolePolicy(
            f"{name}-read",
            aws.iam.RolePolicyArgs(
                name="platform-drift-read",
                role=self.role.name,
                policy=json.dumps(
                    {
                        "Version": POLICY_VERSION,
                        "Statement": drift_read_statements(
                            args.partition, args.account_id, args.bucket_names
                        ),
                    },
                    indent=2,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"arn": self.arn})
