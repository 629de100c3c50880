"""Where the stacks keep their Pulumi state, and the keys that encrypt their secrets.

AWS (:class:`AwsStateBackend`): an S3 bucket with versioning, SSE-KMS under a dedicated customer-managed key
(rotation on), every public-access block, a bucket policy that refuses plain HTTP, a lifecycle that expires
old object versions, optional cross-region replication to a replica bucket encrypted under its own key; and
one KMS key + alias per environment used as that stack's ``--secrets-provider``. The pipeline role reaches
the bucket and keys through these resources' own policies (same account), so the pipeline role itself keeps
a single permission.

Azure (:class:`AzureStateBackend`): a StorageV2 / Standard_GRS account (TLS 1.2, HTTPS only, no public
blob access, no shared keys), blob versioning and soft delete, a private container; a Key Vault (RBAC,
purge protection) with one RSA key per environment for ``azurekeyvault://`` secrets providers.

Each component exposes :attr:`login_url` and :attr:`secrets_providers` (environment -> provider string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native

from platform_infra.deploy_role import POLICY_VERSION, PRINCIPAL_ARN_PATTERN
from platform_infra.environment import AWS_REGION_PATTERN, AZURE_LOCATION_PATTERN, ENVIRONMENT_NAME_PATTERN
from platform_infra.key_vault import VAULT_NAME_ALLOWED, VAULT_NAME_PATTERN
from platform_infra.purpose import PURPOSE_TAG, STATE_BUCKET, STATE_REPLICA
from platform_infra.rbac import BUILTIN_ROLE_GUIDS, role_assignment_name, role_definition_id
from platform_infra.validation import (
    AWS_ACCOUNT_ID_PATTERN,
    AZURE_RESOURCE_GROUP_ALLOWED,
    AZURE_RESOURCE_GROUP_PATTERN,
    GUID_PATTERN,
    ValidationError,
    require_int,
    require_pattern,
)

# S3 bucket names: 3-63 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit.
BUCKET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
KMS_ALIAS_PATTERN = re.compile(r"^[A-Za-z0-9/_-]{1,200}$")
STORAGE_ACCOUNT_PATTERN = re.compile(r"^[a-z0-9]{3,24}$")
CONTAINER_PATTERN = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# Public IPv4 address or CIDR range: storage account IP rules refuse private (RFC 1918) ranges, IPv6 and
# /31 or /32 prefixes (a single address is written without a prefix).
IP_RANGE_PATTERN = re.compile(
    r"^(?!10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.)"
    r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:/(?:[0-9]|[12]\d|30))?$"
)

#: Built-in Azure roles the pipeline needs on the state backend (data plane).
STORAGE_BLOB_DATA_CONTRIBUTOR = BUILTIN_ROLE_GUIDS["Storage Blob Data Contributor"]
STORAGE_BLOB_DATA_READER = BUILTIN_ROLE_GUIDS["Storage Blob Data Reader"]
KEY_VAULT_CRYPTO_USER = BUILTIN_ROLE_GUIDS["Key Vault Crypto User"]

#: What Pulumi's awskms secrets provider calls on its key.
KMS_CRYPTO_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)
#: What the Pulumi S3 backend needs on its bucket and objects.
STATE_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket")
STATE_OBJECT_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")


def key_policy(account_root: str, users: Sequence[str], *, description: str) -> dict[str, Any]:
    """A KMS key policy: the account administers it through IAM; ``users`` may use it for crypto only."""
    statements: list[dict[str, Any]] = [
        {
            # Without this statement the key could become unmanageable (no principal could edit it).
            "Sid": "AccountAdministersKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if users:
        statements.append(
            {
                "Sid": f"Use{description}",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(users)},
                "Action": list(KMS_CRYPTO_ACTIONS),
                "Resource": "*",
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


def bucket_policy(bucket_arn: str, users: Sequence[str]) -> dict[str, Any]:
    """The state bucket policy: TLS only; ``users`` may read and write state objects."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if users:
        statements += [
            {
                "Sid": "PipelineListsState",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(users)},
                "Action": list(STATE_BUCKET_ACTIONS),
                "Resource": bucket_arn,
            },
            {
                "Sid": "PipelineReadsAndWritesState",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(users)},
                "Action": list(STATE_OBJECT_ACTIONS),
                "Resource": f"{bucket_arn}/*",
            },
        ]
    return {"Version": POLICY_VERSION, "Statement": statements}


@dataclass(frozen=True)
class StateAccess:
    """Who may use one environment's state and secrets key.

    :param writers: principals that deploy the environment: read and write its stack objects (and locks),
        encrypt and decrypt with its secrets key.
    :param readers: principals that only preview it: read its stack objects, decrypt with its key.
    :param stacks: the stack names these principals reach, in S3 wildcard syntax (default: the
        environment's own name; ``pr-*`` for the review stacks).
    """

    writers: Sequence[pulumi.Input[str]] = ()
    readers: Sequence[pulumi.Input[str]] = ()
    stacks: str | None = None


def stack_object_patterns(bucket_arn: str, environment: str) -> list[str]:
    """The object ARNs of one stack in Pulumi's DIY backend (project layout).

    pulumi/pulumi pkg/backend/diy keeps ``.pulumi/stacks/<project>/<stack>.json`` (and ``.json.bak``,
    ``.json.gz``), and per stack ``.pulumi/history/<project>/<stack>/``,
    ``.pulumi/backups/<project>/<stack>/`` and ``.pulumi/locks/<project>/<stack>/``; the stack name is the
    environment name. Since Pulumi 3.211 every operation, previews included, also reads the stack's tags
    file ``.pulumi/stacks/<project>/<stack>.pulumi-tags`` (``stack_tags.go``: ``stackTagsPath``,
    ``loadStackTags``, called from ``getTarget`` in ``state.go``): a missing file is fine (only gocloud's
    ``NotFound`` is tolerated), but S3 answers a GetObject the policy does not allow with 403 AccessDenied,
    which gocloud's s3blob reports as ``PermissionDenied``, and the run fails ("failed to read stack tags
    file"), whether or not the file exists.
    """
    base = f"{bucket_arn}/.pulumi"
    return [
        f"{base}/stacks/*/{environment}.json*",
        f"{base}/stacks/*/{environment}.pulumi-tags",
        f"{base}/history/*/{environment}/*",
        f"{base}/backups/*/{environment}/*",
        f"{base}/locks/*/{environment}/*",
    ]


#: What a preview needs on its key: Pulumi's awskms provider unwraps the stack's data key
#: (``encryptedkey`` in Pulumi.<stack>.yaml) with kms:Decrypt; a preview never encrypts.
KMS_DECRYPT_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")


def decrypting_key_policy(
    account_root: str, users: Sequence[str], readers: Sequence[str], *, description: str, readers_sid: str
) -> dict[str, Any]:
    """:func:`key_policy` for ``users``, plus ``readers`` (in the order given) who may only decrypt."""
    policy = key_policy(account_root, users, description=description)
    if readers:
        policy["Statement"].append(
            {
                "Sid": readers_sid,
                "Effect": "Allow",
                "Principal": {"AWS": list(readers)},
                "Action": list(KMS_DECRYPT_ACTIONS),
                "Resource": "*",
            }
        )
    return policy


def environment_key_policy(account_root: str, access: StateAccess, environment: str) -> dict[str, Any]:
    """One environment's secrets key: writers use it fully, readers only decrypt, nobody else."""
    return decrypting_key_policy(
        account_root,
        [str(w) for w in access.writers],
        sorted(str(r) for r in access.readers),
        description=f"Deploy{_camel(environment)}",
        readers_sid=f"Preview{_camel(environment)}",
    )


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def environment_bucket_statements(bucket_arn: str, access: Mapping[str, StateAccess]) -> list[dict[str, Any]]:
    """Per environment: its writers read and write its stack objects, its readers read them."""
    statements: list[dict[str, Any]] = []
    everyone = sorted({str(p) for a in access.values() for p in (*a.writers, *a.readers)})
    if everyone:
        statements.append(
            {
                # Listing is needed to find stacks; it reveals names, not contents.
                "Sid": "PipelinesListState",
                "Effect": "Allow",
                "Principal": {"AWS": everyone},
                "Action": list(STATE_BUCKET_ACTIONS),
                "Resource": bucket_arn,
            }
        )
        statements.append(
            {
                # The backend reads .pulumi/meta.yaml (its layout version) before anything else.
                "Sid": "PipelinesReadBackendMetadata",
                "Effect": "Allow",
                "Principal": {"AWS": everyone},
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/.pulumi/meta.yaml",
            }
        )
    for env, grant in access.items():
        if grant.writers:
            statements.append(
                {
                    "Sid": f"Deploy{_camel(env)}State",
                    "Effect": "Allow",
                    "Principal": {"AWS": sorted(str(w) for w in grant.writers)},
                    "Action": list(STATE_OBJECT_ACTIONS),
                    "Resource": stack_object_patterns(bucket_arn, grant.stacks or env),
                }
            )
        if grant.readers:
            statements.append(
                {
                    # pulumi preview takes no lock in the DIY backend (pkg/backend/diy/backend.go:
                    # Preview calls apply directly; Update/Refresh/Destroy call b.Lock), so read is enough.
                    "Sid": f"Preview{_camel(env)}State",
                    "Effect": "Allow",
                    "Principal": {"AWS": sorted(str(r) for r in grant.readers)},
                    "Action": "s3:GetObject",
                    "Resource": stack_object_patterns(bucket_arn, grant.stacks or env),
                }
            )
    return statements


@dataclass(frozen=True)
class AwsReplication:
    """Cross-region replication of the state bucket.

    :param region: the replica's region (must differ from the source's).
    :param bucket_name: the replica bucket's name.
    :param provider: an AWS provider for the same account in ``region``.
    """

    region: str
    bucket_name: str
    provider: aws.Provider


@dataclass(frozen=True)
class AwsStateBackendArgs:
    """Arguments of :class:`AwsStateBackend`.

    :param bucket_name: globally unique S3 bucket name for the state.
    :param account_id: the account the bucket lives in (shared services).
    :param region: the bucket's region (the component's provider must be in it).
    :param environments: environments that get a secrets-provider key ``alias/<alias_prefix>-<env>``.
    :param user_arns: principals that may read/write every stack's state and use every key (legacy: one
        pipeline for all environments; prefer ``environment_access``).
    :param environment_access: per environment, who deploys it and who only previews it: each principal
        reaches only that environment's stack objects and secrets key.
    :param alias_prefix: prefix of the secrets-provider key aliases.
    :param noncurrent_version_days: days old state versions are kept before expiring.
    :param replication: optional cross-region replica.
    :param key_deletion_window_days: KMS deletion window, 7 to 30 days.
    :param protect: protect the bucket and keys from deletion (``pulumi destroy`` must not take state along).
    :param partition: ARN partition.
    :param wait_for: resources to create first, typically the pipeline role: KMS and S3 refuse a policy
        naming a principal that does not exist yet (a component's ``depends_on`` does not reach children).
    :param access_log_bucket_name: bucket receiving the state bucket's server access logs (who read or wrote
        which state object); default ``<bucket_name>-access-logs``.
    :param access_log_days: days access logs are kept.
    """

    bucket_name: str
    account_id: str
    region: str
    environments: Sequence[str]
    user_arns: Sequence[str] = ()
    environment_access: Mapping[str, StateAccess] = field(default_factory=dict)
    alias_prefix: str = "pulumi-secrets"
    noncurrent_version_days: int = 90
    replication: AwsReplication | None = None
    key_deletion_window_days: int = 30
    protect: bool = True
    partition: str = "aws"
    wait_for: Sequence[pulumi.Resource] = ()
    access_log_bucket_name: str | None = None
    access_log_days: int = 365

    @property
    def resolved_access_log_bucket_name(self) -> str:
        """The access-log bucket's name (explicit, or ``<bucket_name>-access-logs``)."""
        return self.access_log_bucket_name or f"{self.bucket_name}-access-logs"


class AwsStateBackend(pulumi.ComponentResource):
    """The S3 state bucket (hardened, optionally replicated) and one KMS secrets key per environment."""

    bucket: aws.s3.Bucket
    """The state bucket."""
    state_key: aws.kms.Key
    """The bucket's dedicated SSE-KMS key."""
    secrets_keys: dict[str, aws.kms.Key]
    """Secrets-provider key per environment."""
    secrets_aliases: dict[str, aws.kms.Alias]
    """Alias per environment (``alias/<prefix>-<env>``)."""
    replica_bucket: aws.s3.Bucket | None
    """The replica bucket, when replication is on."""
    access_log_bucket: aws.s3.Bucket
    """The bucket receiving the state bucket's server access logs."""
    login_url: str
    """``pulumi login`` URL of the backend."""
    secrets_providers: dict[str, str]
    """``--secrets-provider`` string per environment."""

    def __init__(
        self, name: str, args: AwsStateBackendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        _validate_aws(name, args)
        super().__init__("platform:state:AwsStateBackend", name, None, opts)
        waits = list(args.wait_for) or None
        child = pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=waits)
        root = f"arn:{args.partition}:iam::{args.account_id}:root"
        users = list(dict.fromkeys(args.user_arns))
        bucket_arn = f"arn:{args.partition}:s3:::{args.bucket_name}"
        # SSE-KMS: reading or writing any state object needs the bucket key; which objects is the
        # bucket policy's business. Readers only decrypt: downloading an SSE-KMS object needs kms:Decrypt,
        # uploading one kms:GenerateDataKey (S3 user guide, "Using server-side encryption with AWS KMS keys
        # (SSE-KMS)", Permissions).
        state_key_users = list(
            dict.fromkeys([*users, *(str(p) for a in args.environment_access.values() for p in a.writers)])
        )
        state_key_readers = [
            r
            for r in dict.fromkeys(str(p) for a in args.environment_access.values() for p in a.readers)
            if r not in state_key_users
        ]
        state_key_policy = decrypting_key_policy(
            root,
            state_key_users,
            state_key_readers,
            description="StateEncryption",
            readers_sid="StateDecryption",
        )

        self.state_key = aws.kms.Key(
            f"{name}-state",
            aws.kms.KeyArgs(
                description=f"SSE-KMS key of the Pulumi state bucket {args.bucket_name}",
                enable_key_rotation=True,
                deletion_window_in_days=args.key_deletion_window_days,
                policy=json.dumps(state_key_policy),
            ),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-state",
            # KMS alias names allow letters, digits, '/', '_' and '-' only; bucket names may hold '.'.
            aws.kms.AliasArgs(
                name=f"alias/{args.bucket_name.replace('.', '-')}", target_key_id=self.state_key.key_id
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket, self._source_versioning = _hardened_bucket(
            name,
            self,
            args.bucket_name,
            bucket_arn,
            self.state_key,
            users,
            args.protect,
            None,
            args.wait_for,
            environment_bucket_statements(bucket_arn, args.environment_access),
            purpose=STATE_BUCKET,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=self.bucket.bucket,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="expire-old-state-versions",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        noncurrent_version_expiration=(
                            aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                                noncurrent_days=args.noncurrent_version_days
                            )
                        ),
                        abort_incomplete_multipart_upload=(
                            aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                                days_after_initiation=7
                            )
                        ),
                    )
                ],
            ),
            # Noncurrent-version rules are meant for a versioned bucket: versioning is switched on first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._source_versioning]),
        )

        self.access_log_bucket = self._access_logs(name, args, bucket_arn)

        self.replica_bucket = None
        if args.replication is not None:
            self.replica_bucket = self._replicate(name, args, root)

        self.secrets_keys = {}
        self.secrets_aliases = {}
        self.secrets_providers = {}
        for env in args.environments:
            alias_name = f"alias/{args.alias_prefix}-{env}"
            key = aws.kms.Key(
                f"{name}-secrets-{env}",
                aws.kms.KeyArgs(
                    description=f"Pulumi secrets provider of the {env} stack",
                    enable_key_rotation=True,
                    deletion_window_in_days=args.key_deletion_window_days,
                    policy=json.dumps(
                        environment_key_policy(root, args.environment_access[env], env)
                        if env in args.environment_access
                        else key_policy(root, users, description="SecretsProvider")
                    ),
                ),
                opts=child,
            )
            self.secrets_keys[env] = key
            self.secrets_aliases[env] = aws.kms.Alias(
                f"{name}-secrets-{env}",
                aws.kms.AliasArgs(name=alias_name, target_key_id=key.key_id),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.secrets_providers[env] = f"awskms://{alias_name}?region={args.region}"

        self.login_url = f"s3://{args.bucket_name}?region={args.region}"
        self.register_outputs(
            {
                "bucket": self.bucket.bucket,
                "loginUrl": self.login_url,
                "secretsProviders": self.secrets_providers,
                "stateKeyArn": self.state_key.arn,
            }
        )

    def _access_logs(self, name: str, args: AwsStateBackendArgs, source_arn: str) -> aws.s3.Bucket:
        """Server access logging of the state bucket into its own hardened, expiring log bucket.

        Amazon S3 User Guide, "Enabling Amazon S3 server access logging": the destination's default
        encryption may only be SSE-S3 (not SSE-KMS), and with ACLs disabled (BucketOwnerEnforced) the
        logging service principal ``logging.s3.amazonaws.com`` is granted s3:PutObject by bucket policy,
        limited with aws:SourceArn and aws:SourceAccount to this source bucket.
        """
        log_name = args.resolved_access_log_bucket_name
        log_arn = f"arn:{args.partition}:s3:::{log_name}"
        opts = pulumi.ResourceOptions(parent=self)
        logs = aws.s3.Bucket(
            f"{name}-access-logs",
            aws.s3.BucketArgs(bucket=log_name, force_destroy=False),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-access-logs-encryption",
            aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                bucket=logs.bucket,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=(
                            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                                sse_algorithm="AES256"
                            )
                        )
                    )
                ],
            ),
            opts=opts,
        )
        public_access = _block_public_access(f"{name}-access-logs", logs, opts)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-access-logs-lifecycle",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=logs.bucket,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="expire-access-logs",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                            days=args.access_log_days
                        ),
                        abort_incomplete_multipart_upload=(
                            aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                                days_after_initiation=7
                            )
                        ),
                    )
                ],
            ),
            opts=opts,
        )
        policy = aws.s3.BucketPolicy(
            f"{name}-access-logs-policy",
            aws.s3.BucketPolicyArgs(
                bucket=logs.bucket,
                policy=json.dumps(access_log_bucket_policy(log_arn, source_arn, args.account_id)),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        aws.s3.BucketLogging(
            f"{name}-access-logging",
            aws.s3.BucketLoggingInitArgs(
                bucket=self.bucket.bucket, target_bucket=logs.bucket, target_prefix="state/"
            ),
            # The service may write only once the policy grants it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        return logs

    def _replicate(self, name: str, args: AwsStateBackendArgs, root: str) -> aws.s3.Bucket:
        """The replica bucket (own key, same hardening) in another region, and the replication rule."""
        replication = args.replication
        assert replication is not None
        replica_opts = pulumi.ResourceOptions(
            parent=self, provider=replication.provider, protect=args.protect
        )
        replica_arn = f"arn:{args.partition}:s3:::{replication.bucket_name}"
        replica_key = aws.kms.Key(
            f"{name}-replica",
            aws.kms.KeyArgs(
                description=f"SSE-KMS key of the Pulumi state replica {replication.bucket_name}",
                enable_key_rotation=True,
                deletion_window_in_days=args.key_deletion_window_days,
                policy=json.dumps(key_policy(root, [], description="Replica")),
            ),
            opts=replica_opts,
        )
        replica, replica_versioning = _hardened_bucket(
            f"{name}-replica",
            self,
            replication.bucket_name,
            replica_arn,
            replica_key,
            [],
            args.protect,
            replication.provider,
            (),
            purpose=STATE_REPLICA,
        )
        # The replica keeps old state versions exactly as long as the source does (not forever).
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-replica-lifecycle",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=replica.bucket, rules=[_noncurrent_expiry_rule(args.noncurrent_version_days)]
            ),
            opts=pulumi.ResourceOptions(
                parent=self, provider=replication.provider, depends_on=[replica_versioning]
            ),
        )
        source_arn = f"arn:{args.partition}:s3:::{args.bucket_name}"
        role = aws.iam.Role(
            f"{name}-replication",
            aws.iam.RoleArgs(
                name=f"{args.bucket_name}-replication"[:64],
                description=f"S3 replication of {args.bucket_name} to {replication.bucket_name}",
                assume_role_policy=json.dumps(
                    {
                        "Version": POLICY_VERSION,
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "s3.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}},
                            }
                        ],
                    }
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = pulumi.Output.all(self.state_key.arn, replica_key.arn).apply(
            lambda arns: json.dumps(
                _replication_policy(
                    source_arn, replica_arn, arns[0], arns[1], args.region, replication.region
                )
            )
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-replication",
            aws.iam.RolePolicyArgs(name="replicate-state", role=role.name, policy=policy),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-replication",
            aws.s3.BucketReplicationConfigArgs(
                bucket=self.bucket.bucket,
                role=role.arn,
                rules=[
                    aws.s3.BucketReplicationConfigRuleArgs(
                        id="replicate-state",
                        status="Enabled",
                        filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                        delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                            status="Enabled"
                        ),
                        source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                            sse_kms_encrypted_objects=(
                                aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                                    status="Enabled"
                                )
                            )
                        ),
                        destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                            bucket=replica_arn,
                            storage_class="STANDARD",
                            encryption_configuration=(
                                aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                                    replica_kms_key_id=replica_key.arn
                                )
                            ),
                        ),
                    )
                ],
            ),
            # S3 refuses a replication rule until versioning is on at both ends and the role can act.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self._source_versioning, replica_versioning, role_policy]
            ),
        )
        return replica


def _noncurrent_expiry_rule(days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """Old state versions expire after ``days``; incomplete uploads after 7 days."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="expire-old-state-versions",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=days
        ),
        abort_incomplete_multipart_upload=(
            aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(days_after_initiation=7)
        ),
    )


def access_log_bucket_policy(log_arn: str, source_arn: str, account_id: str) -> dict[str, Any]:
    """TLS only; S3's logging service may write the source bucket's logs, for that bucket and account only."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [log_arn, f"{log_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "S3ServerAccessLogsPolicy",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{log_arn}/state/*",
                "Condition": {
                    "ArnLike": {"aws:SourceArn": source_arn},
                    "StringEquals": {"aws:SourceAccount": account_id},
                },
            },
        ],
    }


def _replication_policy(
    source_arn: str,
    replica_arn: str,
    source_key: str,
    replica_key: str,
    source_region: str,
    replica_region: str,
) -> dict[str, Any]:
    """What S3 replication needs: read source versions, write replicas, decrypt/encrypt with the two keys."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ReadSourceConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source_arn,
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": f"{source_arn}/*",
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"],
                "Resource": f"{replica_arn}/*",
            },
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": source_key,
                "Condition": {"StringLike": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"}},
            },
            {
                "Sid": "EncryptReplica",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": replica_key,
                "Condition": {"StringLike": {"kms:ViaService": f"s3.{replica_region}.amazonaws.com"}},
            },
        ],
    }


def _block_public_access(
    prefix: str, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions
) -> aws.s3.BucketPublicAccessBlock:
    """Every public-access block on and ACLs disabled (bucket owner enforced), for a state-backend bucket."""
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{prefix}-public-access",
        aws.s3.BucketPublicAccessBlockArgs(
            bucket=bucket.bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        ),
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{prefix}-ownership",
        aws.s3.BucketOwnershipControlsArgs(
            bucket=bucket.bucket,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        ),
        opts=opts,
    )
    return public_access


def _hardened_bucket(
    name: str,
    owner: AwsStateBackend,
    bucket_name: str,
    bucket_arn: str,
    key: aws.kms.Key,
    users: Sequence[str],
    protect: bool,
    provider: aws.Provider | None,
    wait_for: Sequence[pulumi.Resource],
    extra_statements: Sequence[dict[str, Any]] = (),
    *,
    purpose: str,
) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
    """A bucket with versioning, SSE-KMS under ``key``, public access blocked and a TLS-only policy.

    ``purpose`` is tagged as :data:`~platform_infra.purpose.PURPOSE_TAG`: the policy pack finds state
    buckets by it (``s3-state-bucket-access-logging``).
    """
    opts = pulumi.ResourceOptions(parent=owner, provider=provider)
    bucket = aws.s3.Bucket(
        name,
        aws.s3.BucketArgs(bucket=bucket_name, force_destroy=False, tags={PURPOSE_TAG: purpose}),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=protect)),
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        aws.s3.BucketVersioningInitArgs(
            bucket=bucket.bucket,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        ),
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
            bucket=bucket.bucket,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=(
                        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="aws:kms", kms_master_key_id=key.arn
                        )
                    ),
                    bucket_key_enabled=True,
                )
            ],
        ),
        opts=opts,
    )
    public_access = _block_public_access(name, bucket, opts)
    aws.s3.BucketPolicy(
        f"{name}-policy",
        aws.s3.BucketPolicyArgs(
            bucket=bucket.bucket,
            policy=json.dumps(
                {
                    **(doc := bucket_policy(bucket_arn, users)),
                    "Statement": [*doc["Statement"], *extra_statements],
                }
            ),
        ),
        # The public access block must exist first, or S3 may evaluate the policy without it.
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[public_access, *wait_for])
        ),
    )
    return bucket, versioning


def _validate_aws(name: str, args: AwsStateBackendArgs) -> None:
    prefix = f"AwsStateBackend({name})"
    require_pattern(
        f"{prefix}.bucket_name",
        args.bucket_name,
        BUCKET_NAME_PATTERN,
        "3-63 lower-case letters, digits, '-', '.'",
    )
    require_pattern(f"{prefix}.account_id", args.account_id, AWS_ACCOUNT_ID_PATTERN, "a 12-digit account id")
    require_pattern(f"{prefix}.region", args.region, AWS_REGION_PATTERN, "an AWS region like eu-west-1")
    require_pattern(
        f"{prefix}.access_log_bucket_name",
        args.resolved_access_log_bucket_name,
        BUCKET_NAME_PATTERN,
        "3-63 lower-case letters, digits, '-', '.' (the default <bucket_name>-access-logs may be too long)",
    )
    if args.resolved_access_log_bucket_name == args.bucket_name:
        raise ValidationError(
            f"{prefix}.access_log_bucket_name", "equals bucket_name", value=args.bucket_name
        )
    require_int(f"{prefix}.access_log_days", args.access_log_days, minimum=1, maximum=3650)
    require_pattern(f"{prefix}.alias_prefix", args.alias_prefix, KMS_ALIAS_PATTERN, "letters, digits, /_-")
    if args.alias_prefix.lower().startswith("aws"):
        raise ValidationError(
            f"{prefix}.alias_prefix", "uses the reserved aws prefix", value=args.alias_prefix
        )
    _validate_environments(prefix, args.environments)
    for index, arn in enumerate(args.user_arns):
        require_pattern(f"{prefix}.user_arns[{index}]", arn, PRINCIPAL_ARN_PATTERN, "a role or user ARN")
    for env, access in args.environment_access.items():
        if env not in args.environments:
            raise ValidationError(
                f"{prefix}.environment_access",
                "names an environment without a key",
                value=env,
                allowed=", ".join(args.environments),
            )
        for kind, principals in (("writers", access.writers), ("readers", access.readers)):
            for index, arn in enumerate(principals):
                # Key and bucket policies are plain JSON: the ARNs must be known strings, not Outputs.
                require_pattern(
                    f"{prefix}.environment_access[{env}].{kind}[{index}]",
                    arn,
                    PRINCIPAL_ARN_PATTERN,
                    "a role ARN (a plain string)",
                )
    require_int(f"{prefix}.noncurrent_version_days", args.noncurrent_version_days, minimum=1, maximum=3650)
    require_int(f"{prefix}.key_deletion_window_days", args.key_deletion_window_days, minimum=7, maximum=30)
    if args.replication is not None:
        replication = args.replication
        require_pattern(
            f"{prefix}.replication.region", replication.region, AWS_REGION_PATTERN, "an AWS region"
        )
        if replication.region == args.region:
            raise ValidationError(
                f"{prefix}.replication.region",
                "is the source bucket's region; a replica must be in another region",
                value=replication.region,
            )
        require_pattern(
            f"{prefix}.replication.bucket_name",
            replication.bucket_name,
            BUCKET_NAME_PATTERN,
            "3-63 lower-case letters, digits, '-', '.'",
        )
        if replication.bucket_name == args.bucket_name:
            raise ValidationError(
                f"{prefix}.replication.bucket_name",
                "equals the source bucket name",
                value=replication.bucket_name,
            )


def _validate_environments(prefix: str, environments: Sequence[str]) -> None:
    if not environments:
        raise ValidationError(f"{prefix}.environments", "must list at least one environment")
    for index, env in enumerate(environments):
        require_pattern(
            f"{prefix}.environments[{index}]", env, ENVIRONMENT_NAME_PATTERN, "an environment name"
        )
    if len(set(environments)) != len(environments):
        raise ValidationError(
            f"{prefix}.environments", "lists an environment twice", value=list(environments)
        )


@dataclass(frozen=True)
class AzureStateBackendArgs:
    """Arguments of :class:`AzureStateBackend`.

    :param resource_group_name: resource group to create for the backend.
    :param location: Azure location.
    :param tenant_id: Entra ID tenant of the key vault.
    :param storage_account_name: globally unique storage account name (3-24 lower-case letters/digits).
    :param container_name: blob container holding the state.
    :param key_vault_name: globally unique key vault name (3-24 characters).
    :param environments: environments that get a secrets-provider key ``<key_prefix>-<env>``.
    :param user_principal_ids: principals granted blob data and key crypto roles on everything (legacy).
    :param environment_access: per environment, its deploying identities (blob data contributor on the
        container, crypto user on that environment's key only) and preview identities (blob data reader,
        crypto user on that key). Azure RBAC cannot scope below the container without ABAC conditions,
        so blob access is per container (see docs/bootstrap.md).
    :param subscription_id: subscription of the backend (for role definition ids).
    :param soft_delete_days: blob and container soft-delete retention, 7 to 90 days (the vault keeps 90).
    :param key_prefix: prefix of the key names.
    :param allowed_ip_ranges: public IPv4 addresses or CIDR ranges that may reach the vault and the storage
        account (e.g. self-hosted runners, the operators' egress); everything else is denied. A single
        address is written without ``/32``, which the storage firewall refuses.
    :param protect: protect the account, vault and keys from deletion.
    :param tags: tags for the resources.
    """

    resource_group_name: str
    location: str
    tenant_id: str
    subscription_id: str
    storage_account_name: str
    key_vault_name: str
    environments: Sequence[str]
    container_name: str = "pulumi-state"
    user_principal_ids: Sequence[pulumi.Input[str]] = ()
    environment_access: Mapping[str, StateAccess] = field(default_factory=dict)
    soft_delete_days: int = 30
    key_prefix: str = "pulumi-secrets"
    allowed_ip_ranges: Sequence[str] = ()
    protect: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)


class AzureStateBackend(pulumi.ComponentResource):
    """A hardened storage account + container for state and a Key Vault with one key per environment."""

    resource_group: azure_native.resources.ResourceGroup
    """The backend's resource group."""
    account: azure_native.storage.StorageAccount
    """The storage account."""
    container: azure_native.storage.BlobContainer
    """The state container."""
    vault: azure_native.keyvault.Vault
    """The key vault holding the secrets-provider keys."""
    keys: dict[str, azure_native.keyvault.Key]
    """Secrets-provider key per environment."""
    login_url: str
    """``pulumi login`` URL of the backend's shared container."""
    containers: dict[str, azure_native.storage.BlobContainer]
    """One container per environment with ``environment_access`` (its identities reach only that one)."""
    login_urls: dict[str, str]
    """``pulumi login`` URL per environment: its own container, or the shared one."""
    secrets_providers: dict[str, str]
    """``--secrets-provider`` string per environment."""

    def __init__(
        self, name: str, args: AzureStateBackendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        _validate_azure(name, args)
        super().__init__("platform:state:AzureStateBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)
        tags = dict(args.tags) or None

        self.resource_group = azure_native.resources.ResourceGroup(
            name,
            azure_native.resources.ResourceGroupArgs(
                resource_group_name=args.resource_group_name, location=args.location, tags=tags
            ),
            opts=protected,
        )
        rg = self.resource_group.name
        self.account = azure_native.storage.StorageAccount(
            f"{name}-account",
            azure_native.storage.StorageAccountArgs(
                account_name=args.storage_account_name,
                resource_group_name=rg,
                location=args.location,
                kind=azure_native.storage.Kind.STORAGE_V2,
                sku=azure_native.storage.SkuArgs(name=azure_native.storage.SkuName.STANDARD_GRS),
                access_tier=azure_native.storage.AccessTier.HOT,
                minimum_tls_version=azure_native.storage.MinimumTlsVersion.TLS1_2,
                enable_https_traffic_only=True,
                allow_blob_public_access=False,
                # Pulumi's azblob backend signs in with Entra ID (az login / federated identity): no keys.
                allow_shared_key_access=False,
                default_to_o_auth_authentication=True,
                allow_cross_tenant_replication=False,
                network_rule_set=azure_native.storage.NetworkRuleSetArgs(
                    default_action=azure_native.storage.DefaultAction.DENY,
                    bypass=azure_native.storage.Bypass.AZURE_SERVICES,
                    ip_rules=[
                        azure_native.storage.IPRuleArgs(i_p_address_or_range=ip)
                        for ip in args.allowed_ip_ranges
                    ],
                ),
                tags=tags,
            ),
            opts=protected,
        )
        azure_native.storage.BlobServiceProperties(
            f"{name}-blob-service",
            azure_native.storage.BlobServicePropertiesArgs(
                account_name=self.account.name,
                resource_group_name=rg,
                blob_services_name="default",
                is_versioning_enabled=True,
                delete_retention_policy=azure_native.storage.DeleteRetentionPolicyArgs(
                    enabled=True, days=args.soft_delete_days
                ),
                container_delete_retention_policy=azure_native.storage.DeleteRetentionPolicyArgs(
                    enabled=True, days=args.soft_delete_days
                ),
            ),
            opts=child,
        )
        self.container = azure_native.storage.BlobContainer(
            f"{name}-container",
            azure_native.storage.BlobContainerArgs(
                account_name=self.account.name,
                resource_group_name=rg,
                container_name=args.container_name,
                public_access=azure_native.storage.PublicAccess.NONE,
            ),
            opts=protected,
        )
        self.vault = azure_native.keyvault.Vault(
            f"{name}-vault",
            azure_native.keyvault.VaultArgs(
                vault_name=args.key_vault_name,
                resource_group_name=rg,
                location=args.location,
                properties=azure_native.keyvault.VaultPropertiesArgs(
                    tenant_id=args.tenant_id,
                    sku=azure_native.keyvault.SkuArgs(
                        family=azure_native.keyvault.SkuFamily.A, name=azure_native.keyvault.SkuName.STANDARD
                    ),
                    enable_rbac_authorization=True,
                    enable_soft_delete=True,
                    soft_delete_retention_in_days=90,
                    enable_purge_protection=True,
                    enabled_for_deployment=False,
                    enabled_for_disk_encryption=False,
                    enabled_for_template_deployment=False,
                    network_acls=azure_native.keyvault.NetworkRuleSetArgs(
                        default_action=azure_native.keyvault.NetworkRuleAction.DENY,
                        bypass=azure_native.keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                        ip_rules=[
                            azure_native.keyvault.IPRuleArgs(value=ip) for ip in args.allowed_ip_ranges
                        ],
                    ),
                ),
                tags=tags,
            ),
            opts=protected,
        )
        self.keys = {}
        self.secrets_providers = {}
        for env in args.environments:
            key_name = f"{args.key_prefix}-{env}"
            self.keys[env] = azure_native.keyvault.Key(
                f"{name}-key-{env}",
                azure_native.keyvault.KeyArgs(
                    key_name=key_name,
                    vault_name=self.vault.name,
                    resource_group_name=rg,
                    properties=azure_native.keyvault.KeyPropertiesArgs(
                        kty=azure_native.keyvault.JsonWebKeyType.RSA,
                        key_size=3072,
                        key_ops=[
                            azure_native.keyvault.JsonWebKeyOperation.WRAP_KEY,
                            azure_native.keyvault.JsonWebKeyOperation.UNWRAP_KEY,
                            azure_native.keyvault.JsonWebKeyOperation.ENCRYPT,
                            azure_native.keyvault.JsonWebKeyOperation.DECRYPT,
                        ],
                        # No automatic rotation: the provider URL names no key version, and gocloud.dev's
                        # azurekeyvault keeper (secrets/azurekeyvault/akv.go, used by Pulumi's
                        # azurekeyvault:// provider) then encrypts *and decrypts* with the latest version.
                        # A rotated key could no longer unwrap the data key in every Pulumi.<stack>.yaml.
                        # Rotate with `pulumi stack change-secrets-provider` instead (docs/bootstrap.md).
                    ),
                    tags=tags,
                ),
                opts=protected,
            )
            self.secrets_providers[env] = (
                f"azurekeyvault://{args.key_vault_name}.vault.azure.net/keys/{key_name}"
            )

        for index, principal_id in enumerate(args.user_principal_ids):
            for grant, scope, scope_id, role in (
                (
                    "blob",
                    self.container.id,
                    f"container/{args.storage_account_name}/{args.container_name}",
                    STORAGE_BLOB_DATA_CONTRIBUTOR,
                ),
                ("crypto", self.vault.id, f"vault/{args.key_vault_name}", KEY_VAULT_CRYPTO_USER),
            ):
                azure_native.authorization.RoleAssignment(
                    f"{name}-{grant}-{index}",
                    azure_native.authorization.RoleAssignmentArgs(
                        role_assignment_name=role_assignment_name(scope_id, f"{name}-{index}", role),
                        scope=scope,
                        principal_id=principal_id,
                        principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                        role_definition_id=role_definition_id(args.subscription_id, role),
                    ),
                    # The name is fixed per index: a new principal there (a reordered list, a recreated
                    # identity) needs the old assignment gone first; Azure refuses a second of that name.
                    opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
                )

        self.login_url = f"azblob://{args.container_name}?storage_account={args.storage_account_name}"
        self.containers = {}
        self.login_urls = {env: self.login_url for env in args.environments}
        for env in args.environment_access:
            # Azure RBAC scopes blob roles to a container at the finest (short of ABAC conditions), so each
            # environment's state gets its own container: dev's identity cannot touch prod's stack.
            container_name = f"{args.container_name}-{env}"
            self.containers[env] = azure_native.storage.BlobContainer(
                f"{name}-container-{env}",
                azure_native.storage.BlobContainerArgs(
                    account_name=self.account.name,
                    resource_group_name=rg,
                    container_name=container_name,
                    public_access=azure_native.storage.PublicAccess.NONE,
                ),
                opts=protected,
            )
            self.login_urls[env] = f"azblob://{container_name}?storage_account={args.storage_account_name}"

        for env, access in args.environment_access.items():
            for kind, principals, blob_role in (
                ("deploy", access.writers, STORAGE_BLOB_DATA_CONTRIBUTOR),
                ("preview", access.readers, STORAGE_BLOB_DATA_READER),
            ):
                for index, principal_id in enumerate(principals):
                    label = f"{name}-{kind}-{env}-{index}"
                    for grant, scope, scope_id, role in (
                        (
                            "blob",
                            self.containers[env].id,
                            f"container/{args.storage_account_name}/{args.container_name}-{env}",
                            blob_role,
                        ),
                        (
                            "crypto",
                            # A key's ARM id is its vault's id + /keys/<name> (known before the key exists).
                            self.vault.id.apply(
                                lambda vault_id, env=env: f"{vault_id}/keys/{args.key_prefix}-{env}"
                            ),
                            f"vault/{args.key_vault_name}/keys/{args.key_prefix}-{env}",
                            KEY_VAULT_CRYPTO_USER,
                        ),
                    ):
                        azure_native.authorization.RoleAssignment(
                            f"{label}-{grant}",
                            azure_native.authorization.RoleAssignmentArgs(
                                role_assignment_name=role_assignment_name(scope_id, label, role),
                                scope=scope,
                                principal_id=principal_id,
                                principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                                role_definition_id=role_definition_id(args.subscription_id, role),
                            ),
                            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
                        )

        self.register_outputs(
            {
                "storageAccount": self.account.name,
                "loginUrl": self.login_url,
                "secretsProviders": self.secrets_providers,
                "vaultUri": f"https://{args.key_vault_name}.vault.azure.net/",
            }
        )


def _validate_azure(name: str, args: AzureStateBackendArgs) -> None:
    prefix = f"AzureStateBackend({name})"
    require_pattern(
        f"{prefix}.resource_group_name",
        args.resource_group_name,
        AZURE_RESOURCE_GROUP_PATTERN,
        AZURE_RESOURCE_GROUP_ALLOWED,
    )
    require_pattern(f"{prefix}.location", args.location, AZURE_LOCATION_PATTERN, "an Azure location")
    require_pattern(f"{prefix}.tenant_id", args.tenant_id, GUID_PATTERN, "a GUID")
    require_pattern(f"{prefix}.subscription_id", args.subscription_id, GUID_PATTERN, "a GUID")
    require_pattern(
        f"{prefix}.storage_account_name",
        args.storage_account_name,
        STORAGE_ACCOUNT_PATTERN,
        "3-24 lower-case letters and digits",
    )
    require_pattern(
        f"{prefix}.container_name",
        args.container_name,
        CONTAINER_PATTERN,
        "3-63 lower-case letters, digits, '-'",
    )
    require_pattern(f"{prefix}.key_vault_name", args.key_vault_name, VAULT_NAME_PATTERN, VAULT_NAME_ALLOWED)
    require_pattern(
        f"{prefix}.key_prefix", args.key_prefix, re.compile(r"^[A-Za-z0-9-]{1,100}$"), "letters, digits, '-'"
    )
    require_int(f"{prefix}.soft_delete_days", args.soft_delete_days, minimum=7, maximum=90)
    for index, ip in enumerate(args.allowed_ip_ranges):
        require_pattern(
            f"{prefix}.allowed_ip_ranges[{index}]", ip, IP_RANGE_PATTERN, "an IPv4 address or CIDR"
        )
    _validate_environments(prefix, args.environments)

    for env in args.environment_access:
        if env not in args.environments:
            raise ValidationError(
                f"{prefix}.environment_access",
                "names an environment without a key",
                value=env,
                allowed=", ".join(args.environments),
            )
        if len(f"{args.container_name}-{env}") > 63:
            raise ValidationError(
                f"{prefix}.container_name",
                f"is too long for the per-environment container {args.container_name}-{env}",
                value=args.container_name,
                allowed="a container name short enough that <name>-<environment> has at most 63 characters",
            )
