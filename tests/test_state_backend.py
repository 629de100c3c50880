"""State backends: S3 bucket and KMS hardening, replication, Azure storage hardening, login/secrets URLs."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from platform_infra.cli.mocks import MockRun, run_with_mocks
from platform_infra.state_backend import (
    AwsReplication,
    AwsStateBackend,
    AwsStateBackendArgs,
    AzureStateBackend,
    AzureStateBackendArgs,
)
from platform_infra.validation import ValidationError

from tests.conftest import make_environment, make_providers

PIPELINE = "arn:aws:iam::444444444444:role/platform-pipeline"
BUCKET = "example-org-platform-pulumi-state"
REPLICA = "example-org-platform-pulumi-state-replica"
KEY = "aws:kms/key:Key"


def _aws_args(**overrides: Any) -> AwsStateBackendArgs:
    values: dict[str, Any] = {
        "bucket_name": BUCKET,
        "account_id": "444444444444",
        "region": "eu-west-1",
        "environments": ["dev", "prod"],
        "user_arns": [PIPELINE],
    }
    values.update(overrides)
    return AwsStateBackendArgs(**values)


@pytest.fixture(scope="module")
def aws_run() -> MockRun:
    def program() -> None:
        providers = make_providers(make_environment("prod"))
        replica = aws.Provider("replica", aws.ProviderArgs(region="eu-central-1"))
        backend = AwsStateBackend(
            "state",
            _aws_args(
                replication=AwsReplication(region="eu-central-1", bucket_name=REPLICA, provider=replica)
            ),
            opts=providers.resource_options(),
        )
        pulumi.export("login", backend.login_url)
        pulumi.export("secrets", backend.secrets_providers)

    return run_with_mocks(program, stack="shared")


def _for_bucket(run: MockRun, type_token: str, bucket: str) -> Any:
    found = [r for r in run.of_type(type_token) if r.inputs["bucket"] == bucket]
    assert len(found) == 1, type_token
    return found[0]


@pytest.mark.parametrize("bucket", [BUCKET, REPLICA])
def test_bucket_hardening(aws_run: MockRun, bucket: str) -> None:
    versioning = _for_bucket(aws_run, "aws:s3/bucketVersioning:BucketVersioning", bucket)
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    block = _for_bucket(aws_run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True, flag
    policy = json.loads(_for_bucket(aws_run, "aws:s3/bucketPolicy:BucketPolicy", bucket).inputs["policy"])
    deny = policy["Statement"][0]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    ownership = _for_bucket(aws_run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket)
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    assert aws_run.one("aws:s3/bucket:Bucket", "state" if bucket == BUCKET else "state-replica").protect


def test_sse_kms_with_the_dedicated_rotating_key(aws_run: MockRun) -> None:
    state_key = aws_run.one(KEY, "state-state")
    replica_key = aws_run.one(KEY, "state-replica")
    for bucket, key in ((BUCKET, state_key), (REPLICA, replica_key)):
        encryption = _for_bucket(
            aws_run,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            bucket,
        )
        default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.outputs["arn"]}
    for key in aws_run.of_type(KEY):
        assert key.inputs["enableKeyRotation"] is True, key.name
        assert key.protect, key.name


def test_lifecycle_expires_old_versions(aws_run: MockRun) -> None:
    lifecycle = _for_bucket(
        aws_run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", BUCKET
    )
    rule = lifecycle.inputs["rules"][0]
    assert rule["status"] == "Enabled"
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert rule["filter"] == {"prefix": ""}
    versioning = _for_bucket(aws_run, "aws:s3/bucketVersioning:BucketVersioning", BUCKET)
    assert versioning.urn in lifecycle.depends_on


def test_pipeline_reaches_state_and_keys_through_resource_policies(aws_run: MockRun) -> None:
    policy = json.loads(_for_bucket(aws_run, "aws:s3/bucketPolicy:BucketPolicy", BUCKET).inputs["policy"])
    allowed = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert {p for s in allowed for p in s["Principal"]["AWS"]} == {PIPELINE}
    assert {a for s in allowed for a in s["Action"]} == {
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    }
    key_policy = json.loads(aws_run.one(KEY, "state-secrets-prod").inputs["policy"])
    users = [s for s in key_policy["Statement"] if s["Sid"].startswith("Use")]
    assert users[0]["Principal"] == {"AWS": [PIPELINE]}
    assert "kms:*" not in users[0]["Action"]
    # The replica's key is not usable by the pipeline (only S3 replication writes there).
    replica_policy = json.loads(aws_run.one(KEY, "state-replica").inputs["policy"])
    assert [s["Sid"] for s in replica_policy["Statement"]] == ["AccountAdministersKeyThroughIam"]


def test_replication_to_the_replica_region(aws_run: MockRun) -> None:
    config = aws_run.one("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    rule = config.inputs["rules"][0]
    assert rule["destination"]["bucket"] == f"arn:aws:s3:::{REPLICA}"
    replica_key = aws_run.one(KEY, "state-replica")
    assert rule["destination"]["encryptionConfiguration"] == {"replicaKmsKeyId": replica_key.outputs["arn"]}
    assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"]["status"] == "Enabled"
    versionings = {r.urn for r in aws_run.of_type("aws:s3/bucketVersioning:BucketVersioning")}
    assert versionings <= set(config.depends_on)
    for name in ("state-replica", "state-replica-policy", "state-replica-versioning"):
        resource = next(r for r in aws_run.resources if r.name == name and r.custom)
        assert resource.provider_urn.endswith("::replica"), name
    role = aws_run.one("aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}


def test_login_url_and_secrets_providers(aws_run: MockRun) -> None:
    assert aws_run.stack_outputs["login"] == f"s3://{BUCKET}?region=eu-west-1"
    assert aws_run.stack_outputs["secrets"] == {
        "dev": "awskms://alias/pulumi-secrets-dev?region=eu-west-1",
        "prod": "awskms://alias/pulumi-secrets-prod?region=eu-west-1",
    }
    aliases = {a.inputs["name"]: a for a in aws_run.of_type("aws:kms/alias:Alias")}
    prod_key = aws_run.one(KEY, "state-secrets-prod")
    assert aliases["alias/pulumi-secrets-prod"].inputs["targetKeyId"] == prod_key.outputs["keyId"]


def test_state_key_alias_of_a_dotted_bucket_name_is_a_valid_kms_alias() -> None:
    def program() -> None:
        providers = make_providers(make_environment("prod"))
        AwsStateBackend(
            "state", _aws_args(bucket_name="state.example.org"), opts=providers.resource_options()
        )

    run = run_with_mocks(program, stack="shared")
    names = [a.inputs["name"] for a in run.of_type("aws:kms/alias:Alias")]
    assert "alias/state-example-org" in names
    # KMS refuses alias names with anything but letters, digits, '/', '_' and '-'.
    assert all(re.fullmatch(r"alias/[A-Za-z0-9/_-]+", name) for name in names), names


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bucket_name": "Bad_Bucket"}, r"bucket_name"),
        ({"environments": []}, r"environments: must list"),
        ({"user_arns": ["*"]}, r"user_arns\[0\]"),
        ({"noncurrent_version_days": 0}, r"noncurrent_version_days"),
        ({"alias_prefix": "aws-keys"}, r"alias_prefix"),
    ],
)
def test_refused_aws_arguments(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _aws_args_run(**overrides)


def _aws_args_run(**overrides: Any) -> MockRun:
    def program() -> None:
        providers = make_providers(make_environment("prod"))
        AwsStateBackend("state", _aws_args(**overrides), opts=providers.resource_options())

    return run_with_mocks(program, stack="shared")


@pytest.fixture(scope="module")
def azure_run() -> MockRun:
    def program() -> None:
        providers = make_providers(make_environment("prod"))
        backend = AzureStateBackend(
            "state-azure",
            AzureStateBackendArgs(
                resource_group_name="platform-state",
                location="westeurope",
                tenant_id="99999999-9999-4999-8999-999999999999",
                subscription_id="44444444-4444-4444-8444-444444444444",
                storage_account_name="exampleplatformstate",
                key_vault_name="example-platform-state",
                environments=["dev", "prod"],
                user_principal_ids=["aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"],
                allowed_ip_ranges=["203.0.113.0/24"],
            ),
            opts=providers.resource_options(),
        )
        pulumi.export("login", backend.login_url)
        pulumi.export("secrets", backend.secrets_providers)

    return run_with_mocks(program, stack="shared")


def test_azure_storage_hardening(azure_run: MockRun) -> None:
    account = azure_run.one("azure-native:storage:StorageAccount")
    assert account.inputs["kind"] == "StorageV2"
    assert account.inputs["sku"] == {"name": "Standard_GRS"}
    assert account.inputs["minimumTlsVersion"] == "TLS1_2"
    assert account.inputs["allowBlobPublicAccess"] is False
    assert account.inputs["enableHttpsTrafficOnly"] is True
    assert account.inputs["allowSharedKeyAccess"] is False
    assert account.protect
    assert account.inputs["networkRuleSet"] == {
        "defaultAction": "Deny",
        "bypass": "AzureServices",
        "ipRules": [{"iPAddressOrRange": "203.0.113.0/24", "action": "Allow"}],
    }
    service = azure_run.one("azure-native:storage:BlobServiceProperties")
    assert service.inputs["isVersioningEnabled"] is True
    assert service.inputs["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert service.inputs["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 30}
    container = azure_run.one("azure-native:storage:BlobContainer")
    assert container.inputs["publicAccess"] == "None"
    assert container.inputs["containerName"] == "pulumi-state"


def test_azure_key_vault_keys_and_urls(azure_run: MockRun) -> None:
    vault = azure_run.one("azure-native:keyvault:Vault").inputs["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert vault["networkAcls"] == {
        "defaultAction": "Deny",
        "bypass": "AzureServices",
        "ipRules": [{"value": "203.0.113.0/24"}],
    }
    keys = {k.inputs["keyName"]: k for k in azure_run.of_type("azure-native:keyvault:Key")}
    assert set(keys) == {"pulumi-secrets-dev", "pulumi-secrets-prod"}
    properties = keys["pulumi-secrets-prod"].inputs["properties"]
    assert properties["kty"] == "RSA"
    assert {"wrapKey", "unwrapKey"} <= set(properties["keyOps"])
    # No automatic rotation: the provider URL is versionless, and gocloud.dev's azurekeyvault keeper
    # (secrets/azurekeyvault/akv.go) decrypts with the latest version when the URL names none, so a rotated
    # key would no longer unwrap the data key stored in every stack file.
    assert "rotationPolicy" not in properties
    assert azure_run.stack_outputs["login"] == "azblob://pulumi-state?storage_account=exampleplatformstate"
    assert azure_run.stack_outputs["secrets"]["prod"] == (
        "azurekeyvault://example-platform-state.vault.azure.net/keys/pulumi-secrets-prod"
    )
    roles = sorted(
        a.inputs["roleDefinitionId"].rsplit("/", 1)[1]
        for a in azure_run.of_type("azure-native:authorization:RoleAssignment")
    )
    assert roles == ["12338af0-0e69-4776-bea7-57ae8d297424", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"]


def test_azure_role_assignments_are_deleted_before_they_are_replaced(azure_run: MockRun) -> None:
    # Their names are fixed per principal index: a different principal there reuses the name.
    assignments = azure_run.of_type("azure-native:authorization:RoleAssignment")
    assert assignments and all(a.delete_before_replace for a in assignments)


@pytest.mark.parametrize(
    "ip_range",
    ["203.0.113.7/32", "203.0.113.6/31", "10.1.0.0/16", "172.16.0.0/12", "192.168.1.1", "2001:db8::/32"],
)
def test_azure_ip_ranges_the_storage_firewall_refuses_are_refused(ip_range: str) -> None:
    with pytest.raises(ValidationError, match=r"allowed_ip_ranges\[1\]"):
        AzureStateBackend(
            "state-azure",
            AzureStateBackendArgs(
                resource_group_name="platform-state",
                location="westeurope",
                tenant_id="99999999-9999-4999-8999-999999999999",
                subscription_id="44444444-4444-4444-8444-444444444444",
                storage_account_name="exampleplatformstate",
                key_vault_name="example-platform-state",
                environments=["dev"],
                allowed_ip_ranges=["203.0.113.7", ip_range],
            ),
        )


def test_the_replica_expires_old_versions_like_the_source(aws_run: MockRun) -> None:
    """Without its own lifecycle rule, the replica would keep every old state version forever."""
    rules = {
        bucket: _for_bucket(
            aws_run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket
        )
        for bucket in (BUCKET, REPLICA)
    }
    assert rules[REPLICA].inputs["rules"] == rules[BUCKET].inputs["rules"]
    assert rules[REPLICA].inputs["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"] == 90
    replica_versioning = _for_bucket(aws_run, "aws:s3/bucketVersioning:BucketVersioning", REPLICA)
    assert replica_versioning.urn in rules[REPLICA].depends_on
    assert rules[REPLICA].provider_urn.endswith("::replica")


def test_state_access_is_logged_to_a_hardened_expiring_bucket(aws_run: MockRun) -> None:
    """Amazon S3 User Guide, "Enabling Amazon S3 server access logging": SSE-S3 on the destination (SSE-KMS
    is not supported there), and the logging service principal granted by bucket policy, limited to this
    source bucket and account."""
    logs = f"{BUCKET}-access-logs"
    logging = aws_run.one("aws:s3/bucketLogging:BucketLogging")
    assert (logging.inputs["bucket"], logging.inputs["targetBucket"], logging.inputs["targetPrefix"]) == (
        BUCKET,
        logs,
        "state/",
    )
    encryption = _for_bucket(
        aws_run,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        logs,
    )
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    block = _for_bucket(aws_run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", logs)
    assert all(
        block.inputs[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    )
    lifecycle = _for_bucket(aws_run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", logs)
    assert lifecycle.inputs["rules"][0]["expiration"]["days"] == 365
    policy_resource = _for_bucket(aws_run, "aws:s3/bucketPolicy:BucketPolicy", logs)
    statements = json.loads(policy_resource.inputs["policy"])["Statement"]
    [deliver] = [s for s in statements if s["Effect"] == "Allow"]
    assert deliver["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert deliver["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{BUCKET}"},
        "StringEquals": {"aws:SourceAccount": "444444444444"},
    }
    assert policy_resource.urn in logging.depends_on
    protected = [b for b in aws_run.of_type("aws:s3/bucket:Bucket") if b.inputs["bucket"] == logs]
    assert protected and protected[0].protect


def test_an_access_log_bucket_name_too_long_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"access_log_bucket_name"):
        AwsStateBackend("state", _aws_args(bucket_name="a" * 60))


# -- what Pulumi's S3 backend really reads and writes, against the shipped bucket policy --

PROJECT = "platform"
STATE_BUCKET_ARN = "arn:aws:s3:::example-org-platform-pulumi-state"
SHARED_ACCOUNT_ROLE = "arn:aws:iam::444444444444:role/{}"


def _preview_reads(stack: str) -> list[str]:
    """Objects a `pulumi preview` of ``stack`` reads from a DIY S3 backend (pulumi/pulumi pkg/backend/diy):
    ``.pulumi/meta.yaml`` (meta.go), the checkpoint (state.go ``stackPath``) and, since 3.211, the stack's
    tags file (stack_tags.go ``stackTagsPath``/``loadStackTags``, read by ``getTarget`` on every operation;
    only NotFound is tolerated, and S3 answers a denied GetObject with 403 whether or not the key exists)."""
    return [
        ".pulumi/meta.yaml",
        f".pulumi/stacks/{PROJECT}/{stack}.json",
        f".pulumi/stacks/{PROJECT}/{stack}.pulumi-tags",
    ]


def _update_writes(stack: str) -> list[str]:
    """Objects a `pulumi up` writes besides the checkpoint: its backup copy, history and backup entries, the
    lock (backend.go ``Lock``: ``.pulumi/locks/organization/<project>/<stack>/<id>.json``) and the tags."""
    return [
        f".pulumi/stacks/{PROJECT}/{stack}.json",
        f".pulumi/stacks/{PROJECT}/{stack}.json.bak",
        f".pulumi/stacks/{PROJECT}/{stack}.pulumi-tags",
        f".pulumi/history/{PROJECT}/{stack}/{stack}-1732900000000000000.history.json",
        f".pulumi/history/{PROJECT}/{stack}/{stack}-1732900000000000000.checkpoint.json",
        f".pulumi/backups/{PROJECT}/{stack}/{stack}.1732900000000000000.json",
        f".pulumi/locks/organization/{PROJECT}/{stack}/2f1c1f7e-0f7e-4b8e-9a5e-1c2d3e4f5a6b.json",
    ]


def _allows(policy: dict[str, Any], principal: str, action: str, key: str) -> bool:
    """IAM's evaluation for a request over TLS: an Allow naming the principal, action and object, and no
    Deny that applies (the shipped Deny only applies to aws:SecureTransport=false)."""
    from fnmatch import fnmatchcase

    resource = f"{STATE_BUCKET_ARN}/{key}"

    def matches(statement: dict[str, Any]) -> bool:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        principals = statement["Principal"]
        named = principals == "*" or principal in principals.get("AWS", [])
        return (
            named
            and any(fnmatchcase(action, a) for a in actions)
            and any(fnmatchcase(resource, r) for r in resources)
        )

    denied = any(
        s["Effect"] == "Deny"
        and matches(s)
        and s.get("Condition", {}).get("Bool", {}) != {"aws:SecureTransport": "false"}
        for s in policy["Statement"]
    )
    return not denied and any(s["Effect"] == "Allow" and matches(s) for s in policy["Statement"])


def test_every_pipeline_identity_can_read_and_write_what_the_s3_backend_touches(shipped_runs) -> None:
    """Each stack's readers can read every object a preview reads, its writers also write what an update
    writes, and nobody reaches another stack's objects. Without the tags file in the policy every pipeline
    preview and deploy failed with "failed to read stack tags file" (AccessDenied)."""
    run = shipped_runs("shared")[1]
    policy = json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy", "state-policy").inputs["policy"])
    role = SHARED_ACCOUNT_ROLE.format
    readers = {
        "dev": role("platform-preview-dev"),
        "staging": role("platform-preview-staging"),
        "prod": role("platform-preview-prod"),
        "shared": role("platform-drift"),
    }
    writers = {
        "dev": role("platform-pipeline-dev"),
        "staging": role("platform-pipeline-staging"),
        "prod": role("platform-pipeline-prod"),
        "pr-17": role("platform-review"),
    }
    for stack, principal in [*readers.items(), *writers.items()]:
        for key in _preview_reads(stack):
            assert _allows(policy, principal, "s3:GetObject", key), (principal, key)
        for other in ("dev", "staging", "prod", "shared", "pr-17"):
            if other != stack:
                assert not _allows(
                    policy, principal, "s3:GetObject", f".pulumi/stacks/{PROJECT}/{other}.json"
                )
                assert not _allows(
                    policy, principal, "s3:GetObject", f".pulumi/stacks/{PROJECT}/{other}.pulumi-tags"
                )
    for stack, principal in writers.items():
        for key in _update_writes(stack):
            assert _allows(policy, principal, "s3:PutObject", key), (principal, key)
            assert _allows(policy, principal, "s3:DeleteObject", key), (principal, key)
    for stack, principal in readers.items():
        for key in _update_writes(stack):
            assert not _allows(policy, principal, "s3:PutObject", key), (principal, key)


def test_readers_only_decrypt_with_the_state_buckets_key(shipped_runs) -> None:
    """A preview reads state objects (kms:Decrypt under SSE-KMS) and never writes one, so the read-only
    identities get no Encrypt/GenerateDataKey on the bucket's key; the writers keep them."""
    run = shipped_runs("shared")[1]
    [key] = [
        k
        for k in run.of_type(KEY)
        if "SSE-KMS key of the Pulumi state bucket" in str(k.inputs.get("description", ""))
        and "replica" not in k.name
    ]
    statements = json.loads(key.inputs["policy"])["Statement"]
    role = SHARED_ACCOUNT_ROLE.format

    def actions_of(principal: str) -> set[str]:
        return {
            a
            for s in statements
            if s["Effect"] == "Allow" and principal in s["Principal"].get("AWS", [])
            for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        }

    for reader in ("platform-preview-dev", "platform-preview-prod", "platform-drift"):
        assert actions_of(role(reader)) == {"kms:Decrypt", "kms:DescribeKey"}, reader
    for writer in ("platform-pipeline-dev", "platform-pipeline-prod", "platform-review"):
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions_of(role(writer)), writer
