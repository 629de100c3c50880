"""``platform:bootstrap``: the shared-services stack (pipeline identity, deploy roles, state backend).

A stack whose config holds ``platform:bootstrap`` is the one-time bootstrap (``Pulumi.shared.yaml``). It keeps
the usual ``platform:environment/tier/aws/azure/tags`` keys, which here describe the shared-services account
and subscription (``platform:aws.deployRoleName`` is the role the bootstrap assumes there, typically
``OrganizationAccountAccessRole``), and adds ``platform:bootstrap`` with the pipeline, state backend and one
entry per target environment. External ids are secrets at ``platform:externalId-<target>`` (the same value as
that environment stack's ``platform:awsExternalId``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi

from platform_infra.config.environment import read_environment
from platform_infra.config.reader import ConfigReader, ConfigSection
from platform_infra.deploy_role import (
    ACTION_PATTERN,
    ADMINISTRATOR_POLICY_PATTERN,
    MANAGED_POLICY_ARN_PATTERN,
    SessionTag,
    principal_account,
    validate_principal_arn,
)
from platform_infra.environment import (
    AWS_REGION_PATTERN,
    AZURE_LOCATION_PATTERN,
    ENVIRONMENT_NAME_PATTERN,
    IAM_ROLE_NAME_PATTERN,
    MAX_SESSION_SECONDS,
    AwsTarget,
    AzureTarget,
    Environment,
    Tier,
)
from platform_infra.key_vault import VAULT_NAME_ALLOWED, VAULT_NAME_PATTERN
from platform_infra.pipeline_identity import (
    AZURE_RESOURCE_NAME_PATTERN,
    BRANCH_PATTERN,
    GITHUB_ENVIRONMENT_PATTERN,
    REPOSITORY_PATTERN,
    GitHubSubjects,
)
from platform_infra.rbac import (
    BUILTIN_ROLE_GUIDS,
    PRIVILEGED_ROLE_GUIDS,
    is_privileged_role,
)
from platform_infra.state_backend import (
    BUCKET_NAME_PATTERN,
    CONTAINER_PATTERN,
    IP_RANGE_PATTERN,
    KMS_ALIAS_PATTERN,
    STORAGE_ACCOUNT_PATTERN,
)
from platform_infra.validation import (
    AWS_ACCOUNT_ID_ALLOWED,
    AWS_ACCOUNT_ID_PATTERN,
    AZURE_RESOURCE_GROUP_ALLOWED,
    AZURE_RESOURCE_GROUP_PATTERN,
    GUID_ALLOWED,
    GUID_PATTERN,
)
from platform_infra.validation.limits import require_s3_bucket_name, require_unique

BOOTSTRAP_KEY = "bootstrap"

#: The deploy role's default rights: what this platform's AWS capabilities declare (log groups, alarms,
#: topics and their KMS key, the retention enforcer's Lambda, its execution role and EventBridge schedule,
#: and tags). Anything more is added per target with allowedActions/policyArns. The IAM actions let the
#: role create roles and pass them to Lambda, and such a role is not bound by the deploy role's own
#: permissions boundary: narrow allowedActions where the pipeline must not be able to do that.
DEFAULT_DEPLOY_ACTIONS = (
    "cloudwatch:*",
    "events:*",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "kms:CreateAlias",
    "kms:CreateKey",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
    "lambda:*",
    "logs:*",
    "sns:*",
    "tag:GetResources",
)

#: Built-in Azure role names accepted in config, with their (global) role definition GUIDs.
AZURE_BUILTIN_ROLES = dict(BUILTIN_ROLE_GUIDS)
#: Roles that can grant any access; refused in azureRoles (use azureAssignableRoles for a constrained grant).
AZURE_PRIVILEGED_ROLES = dict(PRIVILEGED_ROLE_GUIDS)
SESSION_TAG_KEY_PATTERN = re.compile(r"^(?!aws:)[\w.:/=+@-]{1,128}$", re.IGNORECASE)
SESSION_TAG_VALUE_PATTERN = re.compile(r"^[\w.:/=+@ -]{1,256}$")


@dataclass(frozen=True)
class DeployRoleSettings:
    """How one target's deploy role is built (see :class:`platform_infra.deploy_role.DeployRoleArgs`)."""

    role_name: str
    max_session_duration_seconds: int
    extra_trusted_principal_arns: tuple[str, ...]
    trust_account_root: bool
    permissions_boundary_arn: str | None
    policy_arns: tuple[str, ...]
    allowed_actions: tuple[str, ...]
    administrator_access: bool
    external_id: pulumi.Output[str] | None


@dataclass(frozen=True)
class BootstrapTarget:
    """One environment the pipeline deploys to.

    :param environment: the target account and subscription, reached by the bootstrap through the
        organization role (``environment.aws.deploy_role_name``).
    :param deploy_role: the deploy role to create there.
    """

    environment: Environment
    deploy_role: DeployRoleSettings

    @property
    def name(self) -> str:
        """The environment name (also the stack name)."""
        return self.environment.name

    @property
    def deploy_role_arn(self) -> str:
        """ARN of the deploy role the pipeline assumes."""
        aws = self.environment.aws
        return f"arn:{aws.partition}:iam::{aws.account_id}:role/{self.deploy_role.role_name}"


@dataclass(frozen=True)
class PipelineSettings:
    """The pipeline identity: GitHub subjects, the AWS role and the Azure managed identity."""

    github: GitHubSubjects
    role_name: str
    max_session_duration_seconds: int
    oidc_provider_arn: str | None
    azure_identity_name: str
    azure_resource_group: str
    azure_role_guids: dict[str, str]
    azure_assignable_role_guids: dict[str, str]


@dataclass(frozen=True)
class AzureStateSettings:
    """The Azure state backend option."""

    resource_group_name: str
    storage_account_name: str
    container_name: str
    key_vault_name: str
    soft_delete_days: int
    allowed_ip_ranges: tuple[str, ...] = ()


@dataclass(frozen=True)
class StateBackendSettings:
    """The S3 state backend (always) and the Azure one (optional)."""

    bucket_name: str
    noncurrent_version_days: int
    alias_prefix: str
    replica_region: str | None
    replica_bucket_name: str | None
    protect: bool
    azure: AzureStateSettings | None


@dataclass(frozen=True)
class BootstrapConfig:
    """The whole shared-services stack, validated.

    :param environment: the shared-services account and subscription.
    :param organization_role_name: role the bootstrap assumes in every target account.
    :param session_tag: session tag the deploy roles require (None: not required).
    :param pipeline: the pipeline identity.
    :param state: the state backends.
    :param targets: the environments, in deployment order.
    """

    environment: Environment
    organization_role_name: str
    session_tag: SessionTag | None
    pipeline: PipelineSettings
    state: StateBackendSettings
    targets: tuple[BootstrapTarget, ...] = field(default_factory=tuple)

    @property
    def pipeline_role_arn(self) -> str:
        """ARN of the pipeline role (what every deploy role trusts)."""
        aws = self.environment.aws
        return f"arn:{aws.partition}:iam::{aws.account_id}:role/{self.pipeline.role_name}"


def is_bootstrap(reader: ConfigReader) -> bool:
    """True when the stack is the shared-services bootstrap (it sets ``platform:bootstrap``)."""
    return reader.value(BOOTSTRAP_KEY) is not None


def read_bootstrap(reader: ConfigReader) -> BootstrapConfig:
    """Validate the shared-services stack's config into a :class:`BootstrapConfig`."""
    environment = read_environment(reader)
    section = reader.section(BOOTSTRAP_KEY, required=True)
    section.reject_unknown({"organizationRoleName", "sessionTag", "pipeline", "stateBackend", "targets"})
    organization_role = section.string(
        "organizationRoleName", pattern=IAM_ROLE_NAME_PATTERN, allowed="an IAM role name"
    )
    session_tag = _read_session_tag(section)
    pipeline = _read_pipeline(section.section("pipeline", required=True))
    state = _read_state(section.section("stateBackend", required=True), environment)

    targets: list[BootstrapTarget] = []
    if "targets" not in section.values:
        raise section.error("targets", "is required but not set")
    for target_section in section.sections("targets"):
        targets.append(_read_target(reader, target_section, environment, organization_role))
    if not targets:
        raise section.error("targets", "must list at least one environment")
    names = [t.name for t in targets]
    for index, target in enumerate(targets):
        if target.name in names[:index] or target.name == environment.name:
            raise section.error(
                f"targets[{index}].name",
                "is used twice (or is the shared stack's own name)",
                value=target.name,
            )
    # One deploy role and one pipeline grant per account/subscription: two targets there would collide.
    require_unique(
        "targets",
        [
            (f"{section.key('targets')}[{i}].accountId", t.environment.aws.account_id)
            for i, t in enumerate(targets)
        ],
        what="AWS account",
        stack=reader.stack,
    )
    require_unique(
        "targets",
        [
            (f"{section.key('targets')}[{i}].subscriptionId", t.environment.azure.subscription_id)
            for i, t in enumerate(targets)
        ],
        what="Azure subscription",
        casefold=True,
        stack=reader.stack,
    )

    config = BootstrapConfig(
        environment=environment,
        organization_role_name=organization_role,
        session_tag=session_tag,
        pipeline=pipeline,
        state=state,
        targets=tuple(targets),
    )
    for index, target in enumerate(targets):
        key = f"targets[{index}].trustedPrincipalArns"
        for position, arn in enumerate(target.deploy_role.extra_trusted_principal_arns):
            if principal_account(arn) != environment.aws.account_id:
                raise section.error(
                    f"{key}[{position}]",
                    "is not a principal of the shared-services account",
                    value=arn,
                    allowed=f"a principal of account {environment.aws.account_id} (platform:aws.accountId)",
                )
    return config


def _read_session_tag(section: ConfigSection) -> SessionTag | None:
    if section.values.get("sessionTag") is None:
        return None
    tag = section.section("sessionTag")
    tag.reject_unknown({"key", "value"})
    return SessionTag(
        key=tag.string("key", pattern=SESSION_TAG_KEY_PATTERN, allowed="a tag key not starting with aws:"),
        value=tag.string("value", pattern=SESSION_TAG_VALUE_PATTERN, allowed="1-256 tag value characters"),
    )


def _read_pipeline(section: ConfigSection) -> PipelineSettings:
    section.reject_unknown(
        {
            "repository",
            "branches",
            "environments",
            "roleName",
            "maxSessionDurationSeconds",
            "oidcProviderArn",
            "azureIdentityName",
            "azureResourceGroup",
            "azureRoles",
            "azureAssignableRoles",
        }
    )
    github = GitHubSubjects(
        repository=section.string("repository", pattern=REPOSITORY_PATTERN, allowed="<org>/<repo>"),
        branches=tuple(
            section.strings("branches", pattern=BRANCH_PATTERN, allowed="an exact branch name (no wildcards)")
        ),
        environments=tuple(
            section.strings(
                "environments",
                pattern=GITHUB_ENVIRONMENT_PATTERN,
                allowed="an exact GitHub environment name (no wildcards)",
            )
        ),
    )
    if not github.branches and not github.environments:
        raise section.error(
            "branches", "no branch or environment given: nothing would be trusted", allowed="e.g. [main]"
        )
    oidc_arn = section.optional_string(
        "oidcProviderArn",
        pattern=re.compile(
            r"^arn:(aws|aws-cn|aws-us-gov):iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
        ),
        allowed="arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com",
    )
    roles = _azure_roles(section, "azureRoles", default=["Contributor"], privileged_allowed=False)
    assignable = _azure_roles(section, "azureAssignableRoles", default=[], privileged_allowed=False)
    return PipelineSettings(
        github=github,
        role_name=section.string(
            "roleName", default="platform-pipeline", pattern=IAM_ROLE_NAME_PATTERN, allowed="an IAM role name"
        ),
        max_session_duration_seconds=section.integer(
            "maxSessionDurationSeconds", default=3600, minimum=3600, maximum=MAX_SESSION_SECONDS
        ),
        oidc_provider_arn=oidc_arn,
        azure_identity_name=section.string(
            "azureIdentityName",
            default="platform-pipeline",
            pattern=AZURE_RESOURCE_NAME_PATTERN,
            allowed="3-128 letters, digits, '-' or '_'",
        ),
        azure_resource_group=section.string(
            "azureResourceGroup",
            default="platform-pipeline",
            pattern=AZURE_RESOURCE_GROUP_PATTERN,
            allowed=AZURE_RESOURCE_GROUP_ALLOWED,
        ),
        azure_role_guids=roles,
        azure_assignable_role_guids=assignable,
    )


def _azure_roles(
    section: ConfigSection, name: str, *, default: list[str], privileged_allowed: bool
) -> dict[str, str]:
    """Role names (built-in names or GUIDs) to GUIDs; privileged roles are refused."""
    values = section.strings(name) if name in section.values else default
    known = ", ".join(sorted(AZURE_BUILTIN_ROLES))
    result: dict[str, str] = {}
    for index, role in enumerate(values):
        key = f"{name}[{index}]"
        if is_privileged_role(role) and not privileged_allowed:
            raise section.error(
                key,
                "can grant any access on the subscription; list the roles the pipeline may hand out in "
                "azureAssignableRoles instead (a constrained Role Based Access Control Administrator grant)",
                value=role,
                allowed=known,
            )
        if role in AZURE_BUILTIN_ROLES:
            result[role] = AZURE_BUILTIN_ROLES[role]
        elif GUID_PATTERN.fullmatch(role):
            result[role.lower()] = role.lower()
        else:
            raise section.error(key, "is not a known built-in role name or a GUID", value=role, allowed=known)
    return result


def _read_state(section: ConfigSection, environment: Environment) -> StateBackendSettings:
    section.reject_unknown(
        {
            "bucketName",
            "noncurrentVersionDays",
            "secretsAliasPrefix",
            "replicaRegion",
            "replicaBucketName",
            "protect",
            "azure",
        }
    )
    bucket = require_s3_bucket_name(
        section.key("bucketName"),
        section.string(
            "bucketName", pattern=BUCKET_NAME_PATTERN, allowed="3-63 lower-case letters, digits, '-' and '.'"
        ),
        stack=section.stack,
    )
    replica_region = section.optional_string(
        "replicaRegion", pattern=AWS_REGION_PATTERN, allowed="an AWS region like eu-central-1"
    )
    replica_bucket = section.optional_string(
        "replicaBucketName",
        pattern=BUCKET_NAME_PATTERN,
        allowed="3-63 lower-case letters, digits, '-' and '.'",
    )
    if replica_bucket is not None:
        require_s3_bucket_name(section.key("replicaBucketName"), replica_bucket, stack=section.stack)
    if replica_region is not None and replica_region == environment.aws.region:
        raise section.error(
            "replicaRegion",
            "is the state bucket's own region",
            value=replica_region,
            allowed=f"a region other than {environment.aws.region}",
        )
    if (replica_region is None) != (replica_bucket is None):
        missing = "replicaBucketName" if replica_bucket is None else "replicaRegion"
        raise section.error(missing, "is required when the other replica key is set")
    if replica_bucket is not None and replica_bucket == bucket:
        raise section.error("replicaBucketName", "equals bucketName", value=replica_bucket)

    azure: AzureStateSettings | None = None
    if section.values.get("azure") is not None:
        az = section.section("azure")
        az.reject_unknown(
            {
                "resourceGroupName",
                "storageAccountName",
                "containerName",
                "keyVaultName",
                "softDeleteDays",
                "allowedIpRanges",
            }
        )
        azure = AzureStateSettings(
            resource_group_name=az.string(
                "resourceGroupName",
                default="platform-state",
                pattern=AZURE_RESOURCE_GROUP_PATTERN,
                allowed=AZURE_RESOURCE_GROUP_ALLOWED,
            ),
            storage_account_name=az.string(
                "storageAccountName",
                pattern=STORAGE_ACCOUNT_PATTERN,
                allowed="3-24 lower-case letters and digits",
            ),
            container_name=az.string(
                "containerName",
                default="pulumi-state",
                pattern=CONTAINER_PATTERN,
                allowed="3-63 lower-case letters, digits and '-'",
            ),
            key_vault_name=az.string(
                "keyVaultName",
                pattern=VAULT_NAME_PATTERN,
                allowed=VAULT_NAME_ALLOWED,
            ),
            soft_delete_days=az.integer("softDeleteDays", default=30, minimum=7, maximum=90),
            allowed_ip_ranges=tuple(
                az.strings(
                    "allowedIpRanges", pattern=IP_RANGE_PATTERN, allowed="a public IPv4 address or CIDR"
                )
            ),
        )
    return StateBackendSettings(
        bucket_name=bucket,
        noncurrent_version_days=section.integer("noncurrentVersionDays", default=90, minimum=1, maximum=3650),
        alias_prefix=_alias_prefix(section),
        replica_region=replica_region,
        replica_bucket_name=replica_bucket,
        protect=section.boolean("protect", default=True),
        azure=azure,
    )


def _alias_prefix(section: ConfigSection) -> str:
    prefix = section.string(
        "secretsAliasPrefix",
        default="pulumi-secrets",
        pattern=KMS_ALIAS_PATTERN,
        allowed="letters, digits, '/', '_' and '-'",
    )
    # KMS reserves alias/aws/ for AWS managed keys; the backend would refuse it only after registering.
    if prefix.lower().startswith("aws"):
        raise section.error(
            "secretsAliasPrefix", "uses the reserved aws prefix", value=prefix, allowed="e.g. pulumi-secrets"
        )
    return prefix


def _read_target(
    reader: ConfigReader, section: ConfigSection, shared: Environment, organization_role: str
) -> BootstrapTarget:
    section.reject_unknown(
        {
            "name",
            "tier",
            "accountId",
            "region",
            "subscriptionId",
            "location",
            "deployRoleName",
            "maxSessionDurationSeconds",
            "trustedPrincipalArns",
            "trustAccountRoot",
            "permissionsBoundaryArn",
            "policyArns",
            "allowedActions",
            "administratorAccess",
        }
    )
    name = section.string(
        "name", pattern=ENVIRONMENT_NAME_PATTERN, allowed="2-16 lower-case letters, digits or '-'"
    )
    tiers = [t.value for t in Tier]
    tier = Tier(section.choice("tier", tiers, default=name if name in tiers else None))
    account_id = section.string("accountId", pattern=AWS_ACCOUNT_ID_PATTERN, allowed=AWS_ACCOUNT_ID_ALLOWED)
    if account_id == shared.aws.account_id:
        raise section.error(
            "accountId", "is the shared-services account; targets must be separate accounts", value=account_id
        )
    environment = Environment(
        name=name,
        tier=tier,
        aws=AwsTarget(
            account_id=account_id,
            region=section.string(
                "region", default=shared.aws.region, pattern=AWS_REGION_PATTERN, allowed="an AWS region"
            ),
            # The bootstrap reaches the target through the organization role, not the deploy role it creates.
            deploy_role_name=organization_role,
            session_duration_seconds=shared.aws.session_duration_seconds,
        ),
        azure=AzureTarget(
            subscription_id=section.string(
                "subscriptionId", pattern=GUID_PATTERN, allowed=GUID_ALLOWED
            ).lower(),
            tenant_id=shared.azure.tenant_id,
            location=section.string(
                "location",
                default=shared.azure.location,
                pattern=AZURE_LOCATION_PATTERN,
                allowed="an Azure location",
            ),
        ),
        tags={k: v for k, v in shared.tags.items() if k != "environment"},
    )

    trust_root = section.boolean("trustAccountRoot", default=False)
    extra_principals: list[str] = []
    for index, arn in enumerate(section.strings("trustedPrincipalArns")):
        extra_principals.append(
            validate_principal_arn(
                f"{section.key('trustedPrincipalArns')}[{index}]",
                arn,
                allow_account_root=trust_root,
                stack=section.stack,
            )
        )
    administrator = section.boolean("administratorAccess", default=False)
    policy_arns = section.strings(
        "policyArns", pattern=MANAGED_POLICY_ARN_PATTERN, allowed="a managed policy ARN"
    )
    for index, arn in enumerate(policy_arns):
        if ADMINISTRATOR_POLICY_PATTERN.fullmatch(arn) and not administrator:
            raise section.error(
                f"policyArns[{index}]",
                "attaches AdministratorAccess; set administratorAccess: true if that is really meant",
                value=arn,
                allowed="least-privilege managed policies",
            )
    if "allowedActions" in section.values:
        actions = section.strings(
            "allowedActions", pattern=ACTION_PATTERN, allowed="service:Action or service:*"
        )
    else:
        actions = list(DEFAULT_DEPLOY_ACTIONS)
    for index, action in enumerate(actions):
        if action in {"*", "*:*"}:
            raise section.error(f"allowedActions[{index}]", "grants every action", value=action)

    deploy_role = DeployRoleSettings(
        role_name=section.string(
            "deployRoleName",
            default="platform-deploy",
            pattern=IAM_ROLE_NAME_PATTERN,
            allowed="an IAM role name",
        ),
        max_session_duration_seconds=section.integer(
            "maxSessionDurationSeconds", default=3600, minimum=3600, maximum=MAX_SESSION_SECONDS
        ),
        extra_trusted_principal_arns=tuple(extra_principals),
        trust_account_root=trust_root,
        permissions_boundary_arn=section.optional_string(
            "permissionsBoundaryArn", pattern=MANAGED_POLICY_ARN_PATTERN, allowed="a managed policy ARN"
        ),
        policy_arns=tuple(policy_arns),
        allowed_actions=tuple(actions),
        administrator_access=administrator,
        external_id=reader.secret(f"externalId-{name}"),
    )
    return BootstrapTarget(environment=environment, deploy_role=deploy_role)
