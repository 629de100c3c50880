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
from typing import Annotated, Any

import pulumi
from pydantic import field_validator, model_validator

from platform_infra.config.base import (
    Bool,
    ConfigModel,
    Int,
    Problem,
    Problems,
    Rule,
    Text,
    TextList,
)
from platform_infra.config.base import (
    field as config_field,
)
from platform_infra.config.environment import (
    ENVIRONMENT_NAME_ALLOWED,
    AccountId,
    AwsRegion,
    AzureLocation,
    GuidLower,
)
from platform_infra.deploy_role import (
    ACTION_PATTERN,
    ADMINISTRATOR_POLICY_PATTERN,
    MANAGED_POLICY_ARN_PATTERN,
    SessionTag,
    principal_account,
    validate_principal_arn,
)
from platform_infra.environment import (
    AWS_PROFILE_PATTERN,
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
    DEFAULT_CLAIM_KEYS,
    GITHUB_ENVIRONMENT_PATTERN,
    REF_CLAIM_KEYS,
    REPOSITORY_PATTERN,
    SUPPORTED_CLAIM_KEYS,
    GitHubSubjects,
)
from platform_infra.rbac import BUILTIN_ROLE_GUIDS, PRIVILEGED_ROLE_GUIDS, is_privileged_role
from platform_infra.review_stacks import REVIEW_DEPLOY_ROLE, REVIEW_ENVIRONMENT
from platform_infra.state_backend import (
    BUCKET_NAME_PATTERN,
    CONTAINER_PATTERN,
    IP_RANGE_PATTERN,
    KMS_ALIAS_PATTERN,
    STORAGE_ACCOUNT_PATTERN,
)
from platform_infra.validation import (
    AZURE_RESOURCE_GROUP_ALLOWED,
    AZURE_RESOURCE_GROUP_PATTERN,
    GUID_PATTERN,
    ValidationError,
)
from platform_infra.validation.limits import require_s3_bucket_name, require_unique

BOOTSTRAP_KEY = "bootstrap"

#: The deploy role's default rights on every resource: what this platform's AWS capabilities declare (log
#: groups, alarms, topics and their KMS key, the EventBridge schedule, tags). IAM and Lambda are not here:
#: the deploy role manages only the stacks' own roles (under a path, with a permissions boundary, passed
#: only to Lambda) and functions (deploy_role.managed_roles_statements); anything more is added per target
#: with allowedActions/policyArns, and the policy pack refuses escalation paths among them.
DEFAULT_DEPLOY_ACTIONS = (
    "cloudwatch:*",
    "events:*",
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
    "logs:*",
    "sns:*",
    "tag:GetResources",
)

#: Built-in Azure role names accepted in config, with their (global) role definition GUIDs.
AZURE_BUILTIN_ROLES = dict(BUILTIN_ROLE_GUIDS)
#: Roles that can grant any access; refused in azureRoles (use azureAssignableRoles for a constrained grant).
AZURE_PRIVILEGED_ROLES = dict(PRIVILEGED_ROLE_GUIDS)
#: Prefix of the per-target IAM role names (``<prefix>-<target>`` must stay within IAM's 64 characters).
IAM_ROLE_PREFIX_PATTERN = re.compile(r"^[\w+=,.@-]{1,47}$")
IAM_ROLE_PREFIX_ALLOWED = "1-47 letters, digits and +=,.@_- (the target name is appended)"
#: Azure DevOps organization, project and service connection names (no '/', which would change the subject).
ADO_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,99}$")
SESSION_TAG_KEY_PATTERN = re.compile(r"^(?!aws:)[\w.:/=+@-]{1,128}$", re.IGNORECASE)
SESSION_TAG_VALUE_PATTERN = re.compile(r"^[\w.:/=+@ -]{1,256}$")
#: A resource group scope (the release grant's): /subscriptions/<guid>/resourceGroups/<name>.
RELEASE_SCOPE_PATTERN = re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w._()]{1,90}$")


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
class TargetIdentities:
    """Who may act on one target: the deploying identity and the read-only preview identity.

    :param github_environment: the GitHub environment the target's deploy job runs in (its OIDC subject).
    :param deploy_github: the GitHub subjects of the deploying identity (only that environment).
    :param preview_github: the GitHub subjects of the preview identity: pull requests for dev/staging
        tiers, only the default branch for the prod tier.
    :param azure_devops_connection: the Azure DevOps service connection that deploys (None: none).
    :param azure_devops_preview_connection: the Azure DevOps service connection pull-request builds use.
    :param preview_role_name: the read-only role created in the target account for previews.
    :param release_scopes: where the deploying identity holds the release role (empty: the subscription).
    """

    github_environment: str
    deploy_github: GitHubSubjects
    preview_github: GitHubSubjects
    azure_devops_connection: str | None
    azure_devops_preview_connection: str | None
    preview_role_name: str
    release_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BootstrapTarget:
    """One environment the pipeline deploys to.

    :param environment: the target account and subscription, reached by the bootstrap through the
        organization role (``environment.aws.deploy_role_name``).
    :param deploy_role: the deploy role to create there.
    :param identities: the target's own pipeline identities (deploy and preview).
    """

    environment: Environment
    deploy_role: DeployRoleSettings
    identities: TargetIdentities

    @property
    def name(self) -> str:
        """The environment name (also the stack name)."""
        return self.environment.name

    @property
    def deploy_role_arn(self) -> str:
        """ARN of the deploy role the pipeline assumes."""
        aws = self.environment.aws
        return f"arn:{aws.partition}:iam::{aws.account_id}:role/{self.deploy_role.role_name}"

    @property
    def preview_role_arn(self) -> str:
        """ARN of the read-only role in the target account that previews assume."""
        aws = self.environment.aws
        return f"arn:{aws.partition}:iam::{aws.account_id}:role/{self.identities.preview_role_name}"


@dataclass(frozen=True)
class AzureDevOpsSettings:
    """The Azure DevOps organization whose service connections federate with the Azure identities.

    :param organization_id: the organization's GUID (the issuer is ``https://vstoken.dev.azure.com/<id>``).
    :param organization: the organization name (subjects are ``sc://<organization>/<project>/<connection>``).
    :param project: the project holding the service connections.
    """

    organization_id: str
    organization: str
    project: str


@dataclass(frozen=True)
class PipelineSettings:
    """The pipeline identities: one deploying and one preview identity per target, on AWS and Azure.

    Names are prefixes: target ``dev`` gets ``<roleName>-dev`` (deploys) and ``<previewRoleName>-dev``
    (previews) in the shared-services account, and Azure identities ``<azureIdentityName>-dev`` and
    ``<azurePreviewIdentityName>-dev``.
    """

    repository: str
    default_branch: str
    role_name: str
    preview_role_name: str
    max_session_duration_seconds: int
    oidc_provider_arn: str | None
    azure_identity_name: str
    azure_preview_identity_name: str
    azure_resource_group: str
    azure_role_guids: dict[str, str]
    azure_assignable_role_guids: dict[str, str]
    azure_devops: AzureDevOpsSettings | None = None
    github_ref_claim: bool = False


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
    access_log_bucket_name: str | None = None
    access_log_days: int = 365


@dataclass(frozen=True)
class ReviewSettings:
    """The identity that deploys the per-pull-request review stacks ``pr-<n>`` (runs pull-request code).

    :param target: the base target whose account and subscription hold the review stacks (a dev tier).
    :param github: its GitHub subjects: only the deployment environment of the review jobs.
    :param role_name: the pipeline role in the shared-services account.
    :param deploy_role_name: the role the review stacks' AWS provider assumes in the base account.
    :param azure_identity_name: the managed identity.
    :param azure_devops_connection: the Azure DevOps service connection of review builds (None: none).
    """

    target: str
    github: GitHubSubjects
    role_name: str
    deploy_role_name: str
    azure_identity_name: str
    azure_devops_connection: str | None = None


@dataclass(frozen=True)
class DriftSettings:
    """The identity of the shared stack's own drift check (``pulumi preview --refresh --expect-no-changes``).

    :param role_name: the drift pipeline role in the shared-services account (its OIDC login).
    :param read_role_name: the read-only role it may assume in the shared-services account and in every
        target account (``platform:aws.previewRoleName`` of the shared stack: the role its profiles name for a
        drift check).
    :param github: its GitHub subjects: only the default branch (a ``schedule`` run presents the default
        branch's ref), in the repository's subject template.
    :param azure_identity_name: the drift managed identity (Reader on the shared and every target
        subscription).
    :param azure_devops_connection: the Azure DevOps service connection of the drift pipeline (None: none).
    """

    role_name: str
    read_role_name: str
    github: GitHubSubjects
    azure_identity_name: str
    azure_devops_connection: str | None = None


@dataclass(frozen=True)
class BootstrapConfig:
    """The whole shared-services stack, validated.

    :param environment: the shared-services account and subscription.
    :param organization_role_name: role the bootstrap assumes in every target account.
    :param session_tag: session tag the deploy roles require (None: not required).
    :param pipeline: the pipeline identity.
    :param state: the state backends.
    :param targets: the environments, in deployment order.
    :param review: the review stacks' identity (None: no review stacks).
    :param drift: the identity of this stack's own drift check (None: not checked).
    """

    environment: Environment
    organization_role_name: str
    session_tag: SessionTag | None
    pipeline: PipelineSettings
    state: StateBackendSettings
    targets: tuple[BootstrapTarget, ...] = field(default_factory=tuple)
    review: ReviewSettings | None = None
    drift: DriftSettings | None = None

    def pipeline_role_arn(self, target: str) -> str:
        """ARN of ``target``'s deploying pipeline role (the only principal its deploy role trusts)."""
        aws = self.environment.aws
        return f"arn:{aws.partition}:iam::{aws.account_id}:role/{self.pipeline.role_name}-{target}"

    def preview_pipeline_role_arn(self, target: str) -> str:
        """ARN of ``target``'s preview pipeline role (the only principal its preview role trusts)."""
        aws = self.environment.aws
        return f"arn:{aws.partition}:iam::{aws.account_id}:role/{self.pipeline.preview_role_name}-{target}"


ROLE_NAME = Annotated[str, Text(IAM_ROLE_NAME_PATTERN, "an IAM role name")]
MANAGED_POLICY_ARN = Annotated[str, Text(MANAGED_POLICY_ARN_PATTERN, "a managed policy ARN")]
BUCKET_NAME_ALLOWED = "3-63 lower-case letters, digits, '-' and '.'"
OIDC_PROVIDER_ARN_PATTERN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)


OidcProviderArn = Annotated[
    str,
    Text(
        OIDC_PROVIDER_ARN_PATTERN, "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com"
    ),
]


def require_alias_prefix(key: str, value: str) -> str:
    """KMS reserves ``alias/aws/`` for AWS managed keys; the backend would refuse it only once registered."""
    if value.lower().startswith("aws"):
        raise ValidationError(key, "uses the reserved aws prefix", value=value, allowed="e.g. pulumi-secrets")
    return value


def _azure_roles(value: object) -> dict[str, str]:
    """Role names (built-in names or GUIDs) to GUIDs; privileged roles are refused."""
    if not isinstance(value, list | tuple):
        raise Problem("must be a list", value=value)
    known = ", ".join(sorted(AZURE_BUILTIN_ROLES))
    result: dict[str, str] = {}
    problems = []
    for index, role in enumerate(value):
        if isinstance(role, str) and is_privileged_role(role):
            problems.append(
                Problem(
                    "can grant any access on the subscription; list the roles the pipeline may hand out in "
                    "azureAssignableRoles instead (a constrained Role Based Access Control Administrator "
                    "grant)",
                    value=role,
                    allowed=known,
                    at=(index,),
                )
            )
        elif role in AZURE_BUILTIN_ROLES:
            result[role] = AZURE_BUILTIN_ROLES[role]
        elif isinstance(role, str) and GUID_PATTERN.fullmatch(role):
            result[role.lower()] = role.lower()
        else:
            problems.append(
                Problem("is not a known built-in role name or a GUID", value=role, allowed=known, at=(index,))
            )
    if problems:
        raise Problems(problems)
    return result


AzureRoles = Annotated[
    dict[str, str],
    Rule(
        _azure_roles,
        {
            "type": "array",
            "items": {
                "anyOf": [
                    {"enum": sorted(AZURE_BUILTIN_ROLES)},
                    {"type": "string", "pattern": GUID_PATTERN.pattern},
                ]
            },
        },
        "built-in role names or role definition GUIDs; privileged roles are refused",
    ),
]
"""Azure role names or GUIDs, read as name -> role definition GUID."""


class SessionTagConfig(ConfigModel):
    """``platform:bootstrap.sessionTag``: a session tag every deploy role requires of its assumer."""

    key: Annotated[str, Text(SESSION_TAG_KEY_PATTERN, "a tag key not starting with aws:")] = config_field(
        "Tag key."
    )
    value: Annotated[str, Text(SESSION_TAG_VALUE_PATTERN, "1-256 tag value characters")] = config_field(
        "Required tag value."
    )


ROLE_PREFIX = Annotated[str, Text(IAM_ROLE_PREFIX_PATTERN, IAM_ROLE_PREFIX_ALLOWED)]
AZURE_IDENTITY_NAME = Annotated[str, Text(AZURE_RESOURCE_NAME_PATTERN, "3-128 letters, digits, '-' or '_'")]
ADO_NAME = Annotated[str, Text(ADO_NAME_PATTERN, "an Azure DevOps name (no '/')")]


class AzureDevOpsConfig(ConfigModel):
    """``platform:bootstrap.pipeline.azureDevOps``: the organization whose service connections federate.

    Azure DevOps workload identity federation presents issuer ``https://vstoken.dev.azure.com/<org-id>`` and
    subject ``sc://<organization>/<project>/<service-connection>``.
    """

    organization_id: GuidLower = config_field("The organization's GUID (the token issuer's last segment).")
    organization: ADO_NAME = config_field("The organization name (dev.azure.com/<name>).")
    project: ADO_NAME = config_field("The project holding the service connections.")


class PipelineConfig(ConfigModel):
    """``platform:bootstrap.pipeline``: per target, a deploying and a read-only preview identity.

    Target ``dev`` gets the AWS roles ``<roleName>-dev`` (trusted only by the GitHub environment of dev)
    and ``<previewRoleName>-dev`` (trusted by pull requests for dev/staging tiers, by the default branch
    for the prod tier), and the Azure identities ``<azureIdentityName>-dev`` and
    ``<azurePreviewIdentityName>-dev`` with the same subjects.
    """

    repository: Annotated[str, Text(REPOSITORY_PATTERN, "<org>/<repo>")] = config_field(
        "GitHub repository, <org>/<repo>."
    )
    default_branch: Annotated[str, Text(BRANCH_PATTERN, "an exact branch name (no wildcards)")] = (
        config_field("The only branch prod previews (read-only) run from.", "main")
    )
    role_name: ROLE_PREFIX = config_field("Prefix of the deploying pipeline roles.", "platform-pipeline")
    preview_role_name: ROLE_PREFIX = config_field("Prefix of the preview pipeline roles.", "platform-preview")
    max_session_duration_seconds: Annotated[int, Int(3600, MAX_SESSION_SECONDS)] = config_field(
        "Longest session of the pipeline roles.", 3600
    )
    oidc_provider_arn: OidcProviderArn | None = config_field(
        "An existing GitHub OIDC provider; unset creates one.", None
    )
    azure_identity_name: AZURE_IDENTITY_NAME = config_field(
        "Prefix of the deploying managed identities.", "platform-pipeline"
    )
    azure_preview_identity_name: AZURE_IDENTITY_NAME = config_field(
        "Prefix of the preview managed identities.", "platform-preview"
    )
    azure_resource_group: Annotated[str, Text(AZURE_RESOURCE_GROUP_PATTERN, AZURE_RESOURCE_GROUP_ALLOWED)] = (
        config_field("Resource group of the identities.", "platform-pipeline")
    )
    azure_roles: AzureRoles = config_field(
        "Roles of each deploying identity on its own target subscription (built-in names or GUIDs; "
        "privileged roles are refused).",
        {"Contributor": AZURE_BUILTIN_ROLES["Contributor"]},
    )
    azure_assignable_roles: AzureRoles = config_field(
        "Roles the pipeline may assign (a constrained Role Based Access Control Administrator grant).", {}
    )
    azure_dev_ops: AzureDevOpsConfig | None = config_field(
        "The Azure DevOps organization whose service connections federate with the identities.",
        None,
    )
    github_subject_claim_keys: Annotated[
        tuple[str, ...], TextList(re.compile(r"^[a-z_]{1,40}$"), "a claim key such as repo, context, ref")
    ] = config_field(
        "The repository's OIDC subject template (include_claim_keys, set with PUT /repos/{owner}/{repo}/"
        "actions/oidc/customization/sub before the bootstrap): [repo, context] is GitHub's default; "
        "[repo, context, ref] makes every deploy identity trust its environment only from defaultBranch "
        "(docs/bootstrap.md).",
        DEFAULT_CLAIM_KEYS,
    )

    @property
    def github_ref_claim(self) -> bool:
        """True when the subject template names the git ref (every subject ends in ``:ref:<ref>``)."""
        return tuple(self.github_subject_claim_keys) == REF_CLAIM_KEYS

    @model_validator(mode="after")
    def _distinct(self) -> PipelineConfig:
        problems = []
        if tuple(self.github_subject_claim_keys) not in SUPPORTED_CLAIM_KEYS:
            problems.append(
                Problem(
                    "is not a subject template this library computes subjects for",
                    value=list(self.github_subject_claim_keys),
                    allowed=" or ".join(f"[{', '.join(keys)}]" for keys in SUPPORTED_CLAIM_KEYS),
                    at=("githubSubjectClaimKeys",),
                )
            )
        if self.preview_role_name == self.role_name:
            problems.append(Problem("equals roleName", value=self.role_name, at=("previewRoleName",)))
        if self.azure_preview_identity_name == self.azure_identity_name:
            problems.append(
                Problem(
                    "equals azureIdentityName",
                    value=self.azure_identity_name,
                    at=("azurePreviewIdentityName",),
                )
            )
        if problems:
            raise Problems(problems)
        return self


class AzureStateConfig(ConfigModel):
    """``platform:bootstrap.stateBackend.azure``: the Azure Blob state backend and its Key Vault."""

    resource_group_name: Annotated[str, Text(AZURE_RESOURCE_GROUP_PATTERN, AZURE_RESOURCE_GROUP_ALLOWED)] = (
        config_field("Resource group of the state storage.", "platform-state")
    )
    storage_account_name: Annotated[
        str, Text(STORAGE_ACCOUNT_PATTERN, "3-24 lower-case letters and digits")
    ] = config_field("Globally unique storage account name.")
    container_name: Annotated[str, Text(CONTAINER_PATTERN, "3-63 lower-case letters, digits and '-'")] = (
        config_field("Blob container of the state.", "pulumi-state")
    )
    key_vault_name: Annotated[str, Text(VAULT_NAME_PATTERN, VAULT_NAME_ALLOWED)] = config_field(
        "Key Vault holding the secrets providers' keys."
    )
    soft_delete_days: Annotated[int, Int(7, 90)] = config_field(
        "Soft-delete retention of blobs and containers.", 30
    )
    allowed_ip_ranges: Annotated[
        tuple[str, ...], TextList(IP_RANGE_PATTERN, "a public IPv4 address or CIDR")
    ] = config_field("Public IPv4 addresses or ranges allowed through the storage firewall.", ())


class StateBackendConfig(ConfigModel):
    """``platform:bootstrap.stateBackend``: the S3 state bucket (always) and the Azure one (optional)."""

    bucket_name: Annotated[
        str, Text(BUCKET_NAME_PATTERN, BUCKET_NAME_ALLOWED, then=[require_s3_bucket_name])
    ] = config_field("The state bucket.")
    noncurrent_version_days: Annotated[int, Int(1, 3650)] = config_field(
        "Days old state versions are kept.", 90
    )
    secrets_alias_prefix: Annotated[
        str, Text(KMS_ALIAS_PATTERN, "letters, digits, '/', '_' and '-'", then=[require_alias_prefix])
    ] = config_field("Prefix of the per-environment KMS aliases of the secrets providers.", "pulumi-secrets")
    replica_region: AwsRegion | None = config_field("Region of the replica bucket.", None)
    replica_bucket_name: (
        Annotated[str, Text(BUCKET_NAME_PATTERN, BUCKET_NAME_ALLOWED, then=[require_s3_bucket_name])] | None
    ) = config_field("The replica bucket (with replicaRegion).", None)
    protect: Bool = config_field("Protect the state resources from deletion.", True)
    access_log_bucket_name: (
        Annotated[str, Text(BUCKET_NAME_PATTERN, BUCKET_NAME_ALLOWED, then=[require_s3_bucket_name])] | None
    ) = config_field(
        "Bucket of the state bucket's server access logs; default <bucketName>-access-logs.", None
    )
    access_log_days: Annotated[int, Int(1, 3650)] = config_field("Days access logs are kept.", 365)
    azure: AzureStateConfig | None = config_field("The Azure state backend.", None)

    @model_validator(mode="after")
    def _replica(self) -> StateBackendConfig:
        if (self.replica_region is None) != (self.replica_bucket_name is None):
            missing = "replicaBucketName" if self.replica_bucket_name is None else "replicaRegion"
            raise Problem("is required when the other replica key is set", at=(missing,))
        if self.replica_bucket_name is not None and self.replica_bucket_name == self.bucket_name:
            raise Problem("equals bucketName", value=self.replica_bucket_name, at=("replicaBucketName",))
        return self


class TargetConfig(ConfigModel):
    """One entry of ``platform:bootstrap.targets``: an environment the pipeline deploys to."""

    name: Annotated[str, Text(ENVIRONMENT_NAME_PATTERN, ENVIRONMENT_NAME_ALLOWED)] = config_field(
        "The environment (and stack) name."
    )
    tier: Annotated[str, Text()] | None = config_field(
        "dev, staging or prod; default the name when it is one of them.", None
    )
    account_id: AccountId = config_field("The target AWS account (not the shared-services one).")
    region: AwsRegion | None = config_field("AWS region; default platform:aws.region.", None)
    subscription_id: GuidLower = config_field("The target Azure subscription.")
    location: AzureLocation | None = config_field("Azure location; default platform:azure.location.", None)
    deploy_role_name: ROLE_NAME = config_field(
        "The deploy role created in the target account.", "platform-deploy"
    )
    max_session_duration_seconds: Annotated[int, Int(3600, MAX_SESSION_SECONDS)] = config_field(
        "Longest session of the deploy role.", 3600
    )
    trusted_principal_arns: Annotated[tuple[str, ...], TextList()] = config_field(
        "More principals of the shared-services account the deploy role trusts.", ()
    )
    trust_account_root: Bool = config_field("Allow a bare account root in trustedPrincipalArns.", False)
    permissions_boundary_arn: MANAGED_POLICY_ARN | None = config_field(
        "Permissions boundary of the deploy role.", None
    )
    policy_arns: Annotated[tuple[str, ...], TextList(MANAGED_POLICY_ARN_PATTERN, "a managed policy ARN")] = (
        config_field("Managed policies attached to the deploy role.", ())
    )
    allowed_actions: Annotated[tuple[str, ...], TextList(ACTION_PATTERN, "service:Action or service:*")] = (
        config_field(
            "Actions the deploy role may perform; default what this platform's AWS capabilities declare.",
            DEFAULT_DEPLOY_ACTIONS,
        )
    )
    administrator_access: Bool = config_field("Allow AdministratorAccess in policyArns.", False)
    github_environment: (
        Annotated[str, Text(GITHUB_ENVIRONMENT_PATTERN, "an exact GitHub environment name (no wildcards)")]
        | None
    ) = config_field("The GitHub environment of the target's deploy job; default the name.", None)
    preview_role_name: ROLE_NAME = config_field(
        "The read-only role created in the target account for previews.", "platform-preview"
    )
    azure_dev_ops_service_connection: ADO_NAME | None = config_field(
        "The Azure DevOps service connection that deploys this target.",
        None,
    )
    azure_dev_ops_preview_service_connection: ADO_NAME | None = config_field(
        "The Azure DevOps service connection that previews this target (pull-request builds).",
        None,
    )
    release_scopes: Annotated[
        tuple[str, ...], TextList(RELEASE_SCOPE_PATTERN, "/subscriptions/<target>/resourceGroups/<name>")
    ] = config_field(
        "Resource groups of the target's apps where the deploying identity may release (swap, tag, read "
        "metrics); default the whole target subscription.",
        (),
    )

    @property
    def resolved_github_environment(self) -> str:
        """The GitHub environment, defaulted from the name."""
        return self.github_environment or self.name

    @property
    def resolved_tier(self) -> Tier:
        """The tier, defaulted from the name."""
        return Tier(self.tier if self.tier is not None else self.name)

    @model_validator(mode="after")
    def _valid(self) -> TargetConfig:
        problems: list[Problem] = []
        tiers = [t.value for t in Tier]
        if self.tier is None and self.name not in tiers:
            problems.append(Problem("is required but not set", at=("tier",)))
        elif self.tier is not None and self.tier not in tiers:
            problems.append(
                Problem(
                    "is not one of the allowed values",
                    value=self.tier,
                    allowed=", ".join(tiers),
                    at=("tier",),
                )
            )
        for index, arn in enumerate(self.trusted_principal_arns):
            try:
                validate_principal_arn("x", arn, allow_account_root=self.trust_account_root)
            except ValidationError as error:
                problems.append(Problem.of(error, at=("trustedPrincipalArns", index)))
        for index, arn in enumerate(self.policy_arns):
            if ADMINISTRATOR_POLICY_PATTERN.fullmatch(arn) and not self.administrator_access:
                problems.append(
                    Problem(
                        "attaches AdministratorAccess; set administratorAccess: true if that is really meant",
                        value=arn,
                        allowed="least-privilege managed policies",
                        at=("policyArns", index),
                    )
                )
        for index, action in enumerate(self.allowed_actions):
            if action in {"*", "*:*"}:
                problems.append(Problem("grants every action", value=action, at=("allowedActions", index)))
        if self.preview_role_name == self.deploy_role_name:
            problems.append(
                Problem("equals deployRoleName", value=self.preview_role_name, at=("previewRoleName",))
            )
        for index, scope in enumerate(self.release_scopes):
            if scope.split("/")[2].lower() != self.subscription_id:
                problems.append(
                    Problem(
                        "is not in the target's subscription",
                        value=scope,
                        allowed=f"/subscriptions/{self.subscription_id}/resourceGroups/<name>",
                        at=("releaseScopes", index),
                    )
                )
        if problems:
            raise Problems(problems)
        return self


class ReviewConfig(ConfigModel):
    """``platform:bootstrap.review``: the identity that deploys per-pull-request review stacks (``pr-<n>``).

    It runs pull-request code by design, so it gets its own roles: an AWS pipeline role trusted only by the
    review jobs' GitHub environment, which may assume only ``deployRoleName`` in the base target's account
    (log groups ``/platform/pr-*`` only), state and a secrets key of the ``pr-*`` stacks only, and an Azure
    identity on the base target's subscription (docs/bootstrap.md, "Review stacks").
    """

    target: Annotated[str, Text(ENVIRONMENT_NAME_PATTERN, ENVIRONMENT_NAME_ALLOWED)] = config_field(
        "The dev-tier target whose account and subscription hold the review stacks.", "dev"
    )
    github_environment: Annotated[
        str, Text(GITHUB_ENVIRONMENT_PATTERN, "an exact GitHub environment name (no wildcards)")
    ] = config_field("The GitHub environment of the review deploy job (its OIDC subject).", "review")
    role_name: ROLE_NAME = config_field(
        "The review pipeline role (shared-services account).", "platform-review"
    )
    deploy_role_name: ROLE_NAME = config_field(
        "The role review stacks assume in the base account (infra review config's default).",
        REVIEW_DEPLOY_ROLE,
    )
    azure_identity_name: AZURE_IDENTITY_NAME = config_field("The review managed identity.", "platform-review")
    azure_dev_ops_service_connection: ADO_NAME | None = config_field(
        "The Azure DevOps service connection of review builds.", None
    )


class DriftConfig(ConfigModel):
    """``platform:bootstrap.drift``: the identity of this stack's own scheduled drift check.

    A pipeline role trusted only from ``pipeline.defaultBranch`` (as prod's preview identity), which may
    assume only the read-only role ``platform:aws.previewRoleName`` created in the shared-services account
    and in every target account; it reads this stack's state and decrypts its secrets key. On Azure a
    managed identity with Reader on the shared and every target subscription (docs/bootstrap.md, "Drift
    check of the shared stack"). Needs ``platform:aws.profile``: every provider of this stack reads its
    role from a job-written profile.
    """

    role_name: ROLE_NAME = config_field(
        "The drift pipeline role (shared-services account), trusted only from defaultBranch.",
        "platform-drift",
    )
    azure_identity_name: AZURE_IDENTITY_NAME = config_field(
        "The drift managed identity (Reader on the shared and every target subscription).", "platform-drift"
    )
    azure_dev_ops_service_connection: ADO_NAME | None = config_field(
        "The Azure DevOps service connection of the drift pipeline.", None
    )


class BootstrapSection(ConfigModel):
    """``platform:bootstrap``: the shared-services stack (pipeline identity, deploy roles, state backend)."""

    organization_role_name: ROLE_NAME = config_field(
        "Role the bootstrap assumes in every target account (e.g. OrganizationAccountAccessRole)."
    )
    session_tag: SessionTagConfig | None = config_field("Session tag the deploy roles require.", None)
    pipeline: PipelineConfig = config_field("The pipeline identity.")
    state_backend: StateBackendConfig = config_field("The state backends.")
    targets: tuple[TargetConfig, ...] = config_field("The environments, in deployment order.")
    review: ReviewConfig | None = config_field("The review stacks' identity; unset: no review stacks.", None)
    drift: DriftConfig | None = config_field(
        "The identity of this stack's own drift check; unset: the shared stack is not drift-checked.", None
    )

    @field_validator("targets")
    @classmethod
    def _some_targets(cls, targets: tuple[TargetConfig, ...]) -> tuple[TargetConfig, ...]:
        if not targets:
            raise Problem("must list at least one environment")
        return targets


def check_bootstrap(section: BootstrapSection, shared: Environment) -> None:
    """The rules that relate the bootstrap section to the shared stack's own account and region."""
    problems: list[Problem] = []
    names = [target.name for target in section.targets]
    for index, target in enumerate(section.targets):
        if target.name in names[:index] or target.name == shared.name:
            problems.append(
                Problem(
                    "is used twice (or is the shared stack's own name)",
                    value=target.name,
                    at=("targets", index, "name"),
                )
            )
        if target.account_id == shared.aws.account_id:
            problems.append(
                Problem(
                    "is the shared-services account; targets must be separate accounts",
                    value=target.account_id,
                    at=("targets", index, "accountId"),
                )
            )
        for position, arn in enumerate(target.trusted_principal_arns):
            if principal_account(arn) != shared.aws.account_id:
                problems.append(
                    Problem(
                        "is not a principal of the shared-services account",
                        value=arn,
                        allowed=f"a principal of account {shared.aws.account_id} (platform:aws.accountId)",
                        at=("targets", index, "trustedPrincipalArns", position),
                    )
                )
    # One subject per identity: a GitHub environment or service connection shared by two targets would let
    # one target's jobs sign in as the other's identity.
    environments = [t.resolved_github_environment for t in section.targets]
    connections: list[tuple[int, str, str]] = []
    for index, target in enumerate(section.targets):
        if environments[index] in environments[:index]:
            problems.append(
                Problem(
                    "is another target's GitHub environment: each environment gets its own identity",
                    value=environments[index],
                    at=("targets", index, "githubEnvironment"),
                )
            )
        for key, connection in (
            ("azureDevOpsServiceConnection", target.azure_dev_ops_service_connection),
            ("azureDevOpsPreviewServiceConnection", target.azure_dev_ops_preview_service_connection),
        ):
            if connection is None:
                continue
            if section.pipeline.azure_dev_ops is None:
                problems.append(
                    Problem(
                        "needs platform:bootstrap.pipeline.azureDevOps (organization and project)",
                        at=("targets", index, key),
                    )
                )
            if connection in [c for _, _, c in connections]:
                problems.append(
                    Problem(
                        "is another identity's service connection: each identity needs its own",
                        value=connection,
                        at=("targets", index, key),
                    )
                )
            connections.append((index, key, connection))
    review = section.review
    if review is not None and section.pipeline.github_ref_claim:
        # Under [repo, context, ref] a review job presents environment:review:ref:refs/pull/<n>/merge, one
        # subject per pull request: AWS could match it only with a pattern and Azure not at all.
        problems.append(
            Problem(
                "needs GitHub's default subject template: with githubSubjectClaimKeys [repo, context, ref] "
                "review jobs present a subject per pull request (ref refs/pull/<n>/merge)",
                at=("review",),
            )
        )
    if review is not None:
        base = next((t for t in section.targets if t.name == review.target), None)
        if base is None:
            problems.append(
                Problem(
                    "is not one of the targets",
                    value=review.target,
                    allowed=", ".join(names),
                    at=("review", "target"),
                )
            )
        elif base.resolved_tier is not Tier.DEV:
            # Review stacks run pull-request code: never in a staging or prod account.
            problems.append(
                Problem(
                    "is not a dev-tier target",
                    value=review.target,
                    allowed="a dev target",
                    at=("review", "target"),
                )
            )
        elif review.deploy_role_name in {base.deploy_role_name, base.preview_role_name}:
            problems.append(
                Problem(
                    "is one of the base target's own roles",
                    value=review.deploy_role_name,
                    at=("review", "deployRoleName"),
                )
            )
        if review.github_environment in environments:
            problems.append(
                Problem(
                    "is a target's GitHub environment: review jobs need their own",
                    value=review.github_environment,
                    at=("review", "githubEnvironment"),
                )
            )
        pipeline_roles = {
            f"{prefix}-{t.name}"
            for t in section.targets
            for prefix in (section.pipeline.role_name, section.pipeline.preview_role_name)
        }
        if review.role_name in pipeline_roles:
            problems.append(
                Problem("is a target's pipeline role", value=review.role_name, at=("review", "roleName"))
            )
        connection = review.azure_dev_ops_service_connection
        if connection is not None:
            if section.pipeline.azure_dev_ops is None:
                problems.append(
                    Problem(
                        "needs platform:bootstrap.pipeline.azureDevOps (organization and project)",
                        at=("review", "azureDevOpsServiceConnection"),
                    )
                )
            if connection in [c for _, _, c in connections]:
                problems.append(
                    Problem(
                        "is another identity's service connection: each identity needs its own",
                        value=connection,
                        at=("review", "azureDevOpsServiceConnection"),
                    )
                )
        if REVIEW_ENVIRONMENT in names:
            problems.append(
                Problem(
                    "is reserved for the review stacks' state and secrets key",
                    value=REVIEW_ENVIRONMENT,
                    at=("targets", names.index(REVIEW_ENVIRONMENT), "name"),
                )
            )
    # One deploy role and one pipeline grant per account/subscription: two targets there would collide.
    for name, values, casefold in (
        ("accountId", [t.account_id for t in section.targets], False),
        ("subscriptionId", [t.subscription_id for t in section.targets], True),
    ):
        keys = [f"platform:bootstrap.targets[{i}].{name}" for i in range(len(values))]
        try:
            what = "AWS account" if name == "accountId" else "Azure subscription"
            require_unique("targets", zip(keys, values, strict=True), what=what, casefold=casefold)
        except ValidationError as error:
            index = keys.index(error.key)
            problems.append(Problem.of(error, at=("targets", index, name)))
    replica = section.state_backend.replica_region
    if replica is not None and replica == shared.aws.region:
        problems.append(
            Problem(
                "is the state bucket's own region",
                value=replica,
                allowed=f"a region other than {shared.aws.region}",
                at=("stateBackend", "replicaRegion"),
            )
        )
    if problems:
        raise Problems(problems)


def check_shared_profiles(section: BootstrapSection, shared: Environment) -> list[Problem]:
    """The rules on ``platform:aws.profile``/``previewRoleName`` of the shared stack (``at`` from the root).

    With a profile every provider of the stack reads its role from a job-written profile: ``<profile>`` in
    the shared-services account, ``<profile>-<target>`` in each target account (``infra aws-profile shared``
    writes them all). The read-only role a drift check's profiles name is ``previewRoleName``, created in
    every one of those accounts, so it must be no other role there.
    """
    problems: list[Problem] = []
    aws = shared.aws
    drift = section.drift
    if drift is not None and aws.profile is None:
        problems.append(
            Problem(
                "is required with platform:bootstrap.drift: a drift check gives every provider of this stack "
                "the same inputs as the apply only through job-written profiles",
                allowed="a profile name, e.g. platform-shared",
                at=("aws", "profile"),
            )
        )
    if aws.profile is not None:
        invalid = [
            f"{aws.profile}-{t.name}"
            for t in section.targets
            if not AWS_PROFILE_PATTERN.fullmatch(f"{aws.profile}-{t.name}")
        ]
        if invalid:
            problems.append(
                Problem(
                    "makes the targets' profiles <profile>-<target> too long or invalid",
                    value=invalid,
                    allowed="at most 64 letters, digits and _.+=@- in <profile>-<target>",
                    at=("aws", "profile"),
                )
            )
    if drift is None:
        return problems
    read_role = aws.preview_role_name
    taken: dict[str, str] = {}
    taken.setdefault(section.organization_role_name, "platform:bootstrap.organizationRoleName")
    taken.setdefault(aws.deploy_role_name, "platform:aws.deployRoleName")
    taken.setdefault(drift.role_name, "platform:bootstrap.drift.roleName")
    for target in section.targets:
        taken.setdefault(target.deploy_role_name, f"a target's deployRoleName ({target.name})")
        taken.setdefault(target.preview_role_name, f"a target's previewRoleName ({target.name})")
        for prefix in (section.pipeline.role_name, section.pipeline.preview_role_name):
            taken.setdefault(f"{prefix}-{target.name}", f"a pipeline role ({target.name})")
    if section.review is not None:
        taken.setdefault(section.review.role_name, "platform:bootstrap.review.roleName")
        taken.setdefault(section.review.deploy_role_name, "platform:bootstrap.review.deployRoleName")
    if read_role in taken:
        problems.append(
            Problem(
                f"is {taken[read_role]}: the drift check's read-only role is created in the shared-services "
                "account and every target account and must be no other role there",
                value=read_role,
                allowed="its own name, e.g. platform-drift-read",
                at=("aws", "previewRoleName"),
            )
        )
    others = {
        f"{prefix}-{t.name}"
        for t in section.targets
        for prefix in (section.pipeline.role_name, section.pipeline.preview_role_name)
    } | ({section.review.role_name} if section.review is not None else set())
    if drift.role_name in others:
        problems.append(
            Problem("is another pipeline role", value=drift.role_name, at=("bootstrap", "drift", "roleName"))
        )
    identities = {
        f"{prefix}-{t.name}"
        for t in section.targets
        for prefix in (section.pipeline.azure_identity_name, section.pipeline.azure_preview_identity_name)
    } | ({section.review.azure_identity_name} if section.review is not None else set())
    if drift.azure_identity_name in identities:
        problems.append(
            Problem(
                "is another pipeline identity",
                value=drift.azure_identity_name,
                at=("bootstrap", "drift", "azureIdentityName"),
            )
        )
    connection = drift.azure_dev_ops_service_connection
    if connection is not None:
        if section.pipeline.azure_dev_ops is None:
            problems.append(
                Problem(
                    "needs platform:bootstrap.pipeline.azureDevOps (organization and project)",
                    at=("bootstrap", "drift", "azureDevOpsServiceConnection"),
                )
            )
        used = [
            c
            for t in section.targets
            for c in (t.azure_dev_ops_service_connection, t.azure_dev_ops_preview_service_connection)
        ] + ([section.review.azure_dev_ops_service_connection] if section.review is not None else [])
        if connection in used:
            problems.append(
                Problem(
                    "is another identity's service connection: each identity needs its own",
                    value=connection,
                    at=("bootstrap", "drift", "azureDevOpsServiceConnection"),
                )
            )
    return problems


def build_bootstrap(
    section: BootstrapSection, shared: Environment, external_ids: dict[str, Any]
) -> BootstrapConfig:
    """The :class:`BootstrapConfig` the program takes, built from the validated section."""
    pipeline = section.pipeline
    state = section.state_backend
    targets = []
    for target in section.targets:
        environment = Environment(
            name=target.name,
            tier=target.resolved_tier,
            aws=AwsTarget(
                account_id=target.account_id,
                region=target.region or shared.aws.region,
                # The bootstrap reaches the target through the organization role, not the deploy role.
                deploy_role_name=section.organization_role_name,
                session_duration_seconds=shared.aws.session_duration_seconds,
                # With the shared stack's profile, each target's provider reads <profile>-<target>: the
                # apply writes it with the organization role, a drift check with the read-only role.
                profile=f"{shared.aws.profile}-{target.name}" if shared.aws.profile is not None else None,
                preview_role_name=shared.aws.preview_role_name,
            ),
            azure=AzureTarget(
                subscription_id=target.subscription_id,
                tenant_id=shared.azure.tenant_id,
                location=target.location or shared.azure.location,
            ),
            tags={k: v for k, v in shared.tags.items() if k != "environment"},
        )
        targets.append(
            BootstrapTarget(
                environment=environment,
                deploy_role=DeployRoleSettings(
                    role_name=target.deploy_role_name,
                    max_session_duration_seconds=target.max_session_duration_seconds,
                    extra_trusted_principal_arns=target.trusted_principal_arns,
                    trust_account_root=target.trust_account_root,
                    permissions_boundary_arn=target.permissions_boundary_arn,
                    policy_arns=target.policy_arns,
                    allowed_actions=target.allowed_actions,
                    administrator_access=target.administrator_access,
                    external_id=external_ids.get(target.name),
                ),
                identities=TargetIdentities(
                    github_environment=target.resolved_github_environment,
                    # With the ref template, an environment's jobs are trusted only from the default branch.
                    deploy_github=GitHubSubjects(
                        repository=pipeline.repository,
                        environments=(target.resolved_github_environment,),
                        ref_claim=pipeline.github_ref_claim,
                        environment_branches=(pipeline.default_branch,),
                    ),
                    # Pull-request code may preview dev and staging (read-only); prod previews only from the
                    # default branch, so code nobody has reviewed never decrypts prod's secrets.
                    preview_github=(
                        GitHubSubjects(
                            repository=pipeline.repository,
                            branches=(pipeline.default_branch,),
                            ref_claim=pipeline.github_ref_claim,
                        )
                        if target.resolved_tier is Tier.PROD
                        else GitHubSubjects(
                            repository=pipeline.repository,
                            pull_requests=True,
                            ref_claim=pipeline.github_ref_claim,
                        )
                    ),
                    azure_devops_connection=target.azure_dev_ops_service_connection,
                    azure_devops_preview_connection=target.azure_dev_ops_preview_service_connection,
                    preview_role_name=target.preview_role_name,
                    release_scopes=target.release_scopes,
                ),
            )
        )
    azure = state.azure
    return BootstrapConfig(
        environment=shared,
        organization_role_name=section.organization_role_name,
        session_tag=SessionTag(key=section.session_tag.key, value=section.session_tag.value)
        if section.session_tag is not None
        else None,
        pipeline=PipelineSettings(
            repository=pipeline.repository,
            default_branch=pipeline.default_branch,
            role_name=pipeline.role_name,
            preview_role_name=pipeline.preview_role_name,
            max_session_duration_seconds=pipeline.max_session_duration_seconds,
            oidc_provider_arn=pipeline.oidc_provider_arn,
            azure_identity_name=pipeline.azure_identity_name,
            azure_preview_identity_name=pipeline.azure_preview_identity_name,
            azure_resource_group=pipeline.azure_resource_group,
            azure_role_guids=dict(pipeline.azure_roles),
            azure_assignable_role_guids=dict(pipeline.azure_assignable_roles),
            azure_devops=AzureDevOpsSettings(
                organization_id=pipeline.azure_dev_ops.organization_id,
                organization=pipeline.azure_dev_ops.organization,
                project=pipeline.azure_dev_ops.project,
            )
            if pipeline.azure_dev_ops is not None
            else None,
            github_ref_claim=pipeline.github_ref_claim,
        ),
        state=StateBackendSettings(
            bucket_name=state.bucket_name,
            noncurrent_version_days=state.noncurrent_version_days,
            alias_prefix=state.secrets_alias_prefix,
            replica_region=state.replica_region,
            replica_bucket_name=state.replica_bucket_name,
            protect=state.protect,
            access_log_bucket_name=state.access_log_bucket_name,
            access_log_days=state.access_log_days,
            azure=AzureStateSettings(
                resource_group_name=azure.resource_group_name,
                storage_account_name=azure.storage_account_name,
                container_name=azure.container_name,
                key_vault_name=azure.key_vault_name,
                soft_delete_days=azure.soft_delete_days,
                allowed_ip_ranges=azure.allowed_ip_ranges,
            )
            if azure is not None
            else None,
        ),
        targets=tuple(targets),
        review=ReviewSettings(
            target=section.review.target,
            github=GitHubSubjects(
                repository=pipeline.repository, environments=(section.review.github_environment,)
            ),
            role_name=section.review.role_name,
            deploy_role_name=section.review.deploy_role_name,
            azure_identity_name=section.review.azure_identity_name,
            azure_devops_connection=section.review.azure_dev_ops_service_connection,
        )
        if section.review is not None
        else None,
        drift=DriftSettings(
            role_name=section.drift.role_name,
            read_role_name=shared.aws.preview_role_name,
            # A schedule run presents the default branch's ref (GitHub, "Events that trigger workflows":
            # schedule, GITHUB_REF = the default branch): the subject prod's preview identity trusts.
            github=GitHubSubjects(
                repository=pipeline.repository,
                branches=(pipeline.default_branch,),
                ref_claim=pipeline.github_ref_claim,
            ),
            azure_identity_name=section.drift.azure_identity_name,
            azure_devops_connection=section.drift.azure_dev_ops_service_connection,
        )
        if section.drift is not None
        else None,
    )
