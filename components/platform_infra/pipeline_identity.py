"""The identity the CI pipeline runs as, federated with GitHub Actions OIDC (no stored cloud secrets).

AWS (:class:`PipelineIdentity`): the IAM OIDC provider for ``token.actions.githubusercontent.com`` in the
shared-services account and a role assumable with ``sts:AssumeRoleWithWebIdentity`` only by tokens whose
audience is ``sts.amazonaws.com`` and whose subject is one of the configured repository branches or GitHub
environments (exact matches, never wildcards). The role's only permission is ``sts:AssumeRole`` (plus
``sts:TagSession`` when the deploy roles require a session tag) on the deploy roles. Access to the state
bucket and KMS keys is granted by those resources' own policies, so this role's policy stays one statement.

Azure (:class:`AzurePipelineIdentity`): a user-assigned managed identity with one federated credential per
subject, and the role assignments the pipeline needs on each subscription (deterministic names).
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
from platform_infra.environment import AZURE_LOCATION_PATTERN, IAM_ROLE_NAME_PATTERN, MAX_SESSION_SECONDS
from platform_infra.iam_escalation import ACCESS_TAG, GITHUB_OIDC_HOST
from platform_infra.rbac import is_privileged_role, role_assignment_name, role_definition_id
from platform_infra.validation import (
    GUID_PATTERN,
    ValidationError,
    require_int,
    require_pattern,
)

GITHUB_OIDC_ISSUER = f"https://{GITHUB_OIDC_HOST}"
AWS_AUDIENCE = "sts.amazonaws.com"
AZURE_AUDIENCE = "api://AzureADTokenExchange"

REPOSITORY_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9_.-]{1,100}$")
# Git ref names: no wildcards (an exact subject is the whole point), no spaces, no '..'.
BRANCH_PATTERN = re.compile(r"^(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$")
GITHUB_ENVIRONMENT_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
AZURE_RESOURCE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")
ISSUER_PATTERN = re.compile(r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~/-]*)?$")
# An exact subject: no wildcard (Azure matches federated credentials literally anyway).
SUBJECT_PATTERN = re.compile(r"^[^*?\s]{1,600}$")
#: A user-assigned identity accepts at most 20 federated credentials.
MAX_FEDERATED_CREDENTIALS = 20


#: GitHub's default subject template (``include_claim_keys`` when ``use_default`` is true).
DEFAULT_CLAIM_KEYS = ("repo", "context")
#: The customised template that also names the git ref: ``repo:<org>/<repo>:<context>:ref:<ref>``.
REF_CLAIM_KEYS = ("repo", "context", "ref")
#: The subject templates this library computes subjects for (both read from GitHub's documentation).
SUPPORTED_CLAIM_KEYS = (DEFAULT_CLAIM_KEYS, REF_CLAIM_KEYS)


@dataclass(frozen=True)
class GitHubSubjects:
    """Which GitHub Actions runs may use the identity.

    :param repository: ``<org>/<repo>``.
    :param branches: branches whose workflow runs are trusted (``repo:<org>/<repo>:ref:refs/heads/<branch>``).
    :param environments: GitHub environments whose jobs are trusted (``repo:<org>/<repo>:environment:<env>``);
        a job that names an environment presents this subject instead of the branch one.
    :param pull_requests: trust ``repo:<org>/<repo>:pull_request``, the subject of every job triggered by a
        pull request (any branch of the repository, and no environment): only ever for read-only identities.
    :param ref_claim: the repository's subject template is customised to ``include_claim_keys: [repo,
        context, ref]`` (:data:`REF_CLAIM_KEYS`): every subject ends in ``:ref:<git ref>``, so an
        environment's jobs are trusted only from ``environment_branches``.
    :param environment_branches: with ``ref_claim``, the branches environment jobs may run from (the
        default branch).

    Subject formats: GitHub's OpenID Connect reference, "Example subject claims" (docs.github.com/actions/
    reference/openid-connect-reference): environment, ``pull_request`` and ``ref:refs/heads/<branch>``. With
    a customised template, "Customizing the subject claims for an organization or repository": the ``sub``
    is each listed claim as ``key:value`` joined by ``:``, ``repo`` for the repository and ``context`` for
    the part that follows it in the default format (e.g. ``repo:ORG/REPO:environment:prod:job_workflow_ref:
    ...``); the ``ref`` claim is the git ref that triggered the run, ``refs/pull/<n>/merge`` for a pull
    request, so pull-request subjects then differ per pull request (:attr:`patterns`).
    """

    repository: str
    branches: Sequence[str] = ()
    environments: Sequence[str] = ()
    pull_requests: bool = False
    ref_claim: bool = False
    environment_branches: Sequence[str] = ()

    def validate(self, prefix: str) -> None:
        """Refuse a malformed repository, wildcard branches/environments, or no subject at all."""
        require_pattern(f"{prefix}.repository", self.repository, REPOSITORY_PATTERN, "<org>/<repo>")
        for key, branches in (
            ("branches", self.branches),
            ("environment_branches", self.environment_branches),
        ):
            for index, branch in enumerate(branches):
                require_pattern(
                    f"{prefix}.{key}[{index}]", branch, BRANCH_PATTERN, "an exact branch name (no wildcards)"
                )
        for index, env in enumerate(self.environments):
            require_pattern(
                f"{prefix}.environments[{index}]",
                env,
                GITHUB_ENVIRONMENT_PATTERN,
                "an exact GitHub environment name (no wildcards)",
            )
        if not self.branches and not self.environments and not self.pull_requests:
            raise ValidationError(
                f"{prefix}.branches",
                "no branch or environment given: nothing would be trusted",
                allowed="at least one branch or environment",
            )
        if self.ref_claim and self.environments and not self.environment_branches:
            raise ValidationError(
                f"{prefix}.environment_branches",
                "is required with ref_claim: subjects name the branch an environment job runs from",
                allowed="e.g. the default branch",
            )

    @property
    def subjects(self) -> list[str]:
        """The exact ``sub`` claims accepted: branches, environments, then pull requests."""
        repo = f"repo:{self.repository}"
        if self.ref_claim:
            return [f"{repo}:ref:refs/heads/{b}:ref:refs/heads/{b}" for b in dict.fromkeys(self.branches)] + [
                f"{repo}:environment:{e}:ref:refs/heads/{b}"
                for e in dict.fromkeys(self.environments)
                for b in dict.fromkeys(self.environment_branches)
            ]
        subjects = [f"{repo}:ref:refs/heads/{b}" for b in dict.fromkeys(self.branches)] + [
            f"{repo}:environment:{e}" for e in dict.fromkeys(self.environments)
        ]
        if self.pull_requests:
            subjects.append(pull_request_subject(self.repository))
        return subjects

    @property
    def patterns(self) -> list[str]:
        """Wildcard subjects (AWS ``StringLike`` only): pull requests under the ``ref`` template.

        Azure federated credentials match subjects exactly (flexible federated identity credentials are a
        preview that Microsoft Learn documents as not yet available for managed identities), so an Azure
        identity gets no credential for these: under the ``ref`` template pull requests reach AWS only.
        """
        if self.ref_claim and self.pull_requests:
            return [f"repo:{self.repository}:pull_request:ref:refs/pull/*/merge"]
        return []


def pull_request_subject(repository: str) -> str:
    """The ``sub`` claim of every pull-request job of ``repository`` (GitHub's default subject format)."""
    return f"repo:{repository}:pull_request"


@dataclass(frozen=True)
class FederatedSubject:
    """A non-GitHub workload identity federation subject, e.g. an Azure DevOps service connection.

    Azure DevOps workload identity federation presents issuer ``https://vstoken.dev.azure.com/<org-id>`` and
    subject ``sc://<organization>/<project>/<service-connection>`` (Microsoft Learn, "Connect to Azure with an
    Azure Resource Manager service connection": workload identity federation, manual configuration).

    :param issuer: the token issuer.
    :param subject: the exact subject.
    """

    issuer: str
    subject: str


def azure_devops_subject(
    organization_id: str, organization: str, project: str, connection: str
) -> FederatedSubject:
    """The issuer and subject an Azure DevOps service connection presents (workload identity federation)."""
    return FederatedSubject(
        issuer=f"https://vstoken.dev.azure.com/{organization_id.lower()}",
        subject=f"sc://{organization}/{project}/{connection}",
    )


def issuer_host(issuer: str) -> str:
    """The issuer URL without ``https://``: the prefix of its IAM condition keys (``<host/path>:sub``).

    IAM names an OIDC provider's condition keys after its URL without the scheme, path included (IAM User
    Guide, "Available keys for AWS OIDC federation"; EKS: ``oidc.eks.<region>.amazonaws.com/id/<id>:sub``).
    """
    return issuer.removeprefix("https://").rstrip("/")


def pipeline_trust_policy(
    oidc_provider_arn: str,
    subjects: Sequence[str],
    federated: Sequence[tuple[str, FederatedSubject]] = (),
    patterns: Sequence[str] = (),
) -> dict[str, Any]:
    """Trust policy of the pipeline role: GitHub OIDC tokens with our audience and one of ``subjects``.

    :param federated: (IAM OIDC provider ARN, subject) pairs of other issuers, e.g. an Azure DevOps service
        connection: one statement per issuer, its audience ``api://AzureADTokenExchange`` (the audience
        Azure DevOps tokens carry for workload identity federation) and exact subjects.
    :param patterns: GitHub subjects with wildcards (:attr:`GitHubSubjects.patterns`), in a statement of
        their own: IAM ANDs the operators of one statement, so ``StringLike`` cannot sit beside the exact
        ``StringEquals`` subjects.
    """
    statements: list[dict[str, Any]] = []
    if patterns:
        statements.append(
            {
                "Sid": "GitHubActionsPatterns",
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AWS_AUDIENCE},
                    "StringLike": {f"{GITHUB_OIDC_HOST}:sub": list(patterns)},
                },
            }
        )
    if subjects:
        statements.append(
            {
                "Sid": "GitHubActions",
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": AWS_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": list(subjects),
                    }
                },
            }
        )
    by_issuer: dict[tuple[str, str], list[str]] = {}
    for provider_arn, subject in federated:
        by_issuer.setdefault((provider_arn, subject.issuer), []).append(subject.subject)
    for index, ((provider_arn, issuer), issued) in enumerate(sorted(by_issuer.items())):
        host = issuer_host(issuer)
        statements.append(
            {
                "Sid": f"Federated{index}",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host}:aud": AZURE_AUDIENCE,
                        f"{host}:sub": sorted(dict.fromkeys(issued)),
                    }
                },
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


def pipeline_permissions_policy(deploy_role_arns: Sequence[str], tag_session: bool) -> dict[str, Any]:
    """The pipeline role's only permission: assume the deploy roles (and tag the session if required)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "AssumeDeployRoles",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole",
                "Resource": sorted(dict.fromkeys(deploy_role_arns)),
            }
        ],
    }


@dataclass(frozen=True)
class PipelineIdentityArgs:
    """Arguments of :class:`PipelineIdentity`.

    :param account_id: the shared-services account the role lives in.
    :param role_name: name of the pipeline role.
    :param github: the repository and branches/environments that may assume it.
    :param deploy_role_arns: the deploy roles the pipeline may assume (nothing else).
    :param tag_session: also allow ``sts:TagSession`` on them (when they require a session tag).
    :param max_session_duration_seconds: longest session of the pipeline role, 3600 to 43200.
    :param oidc_provider_arn: an existing GitHub OIDC provider of the account; None creates one (an account
        can hold only one provider per URL, so several identities share one: see :class:`GitHubOidcProvider`).
    :param partition: ARN partition.
    :param purpose: what the role is for, in its description (e.g. ``deploy dev``, ``preview prod``).
    :param read_only: the role only reaches read-only roles (tagged :data:`ACCESS_TAG` = ``read-only``; the
        policy pack allows pull-request subjects only on such roles).
    :param federated: subjects of another issuer that may assume the role too (an Azure DevOps service
        connection: :func:`azure_devops_subject`), matched exactly.
    :param federated_provider_arn: the IAM OIDC provider of that issuer (:class:`AzureDevOpsOidcProvider`).
    """

    account_id: str
    role_name: str
    github: GitHubSubjects
    deploy_role_arns: Sequence[str]
    tag_session: bool = False
    max_session_duration_seconds: int = 3600
    oidc_provider_arn: pulumi.Input[str] | None = None
    partition: str = "aws"
    purpose: str = "deploy"
    read_only: bool = False
    federated: Sequence[FederatedSubject] = ()
    federated_provider_arn: pulumi.Input[str] | None = None


class AzureDevOpsOidcProvider(pulumi.ComponentResource):
    """An IAM OIDC provider for one Azure DevOps organization's tokens (``https://vstoken.dev.azure.com/<id>``).

    Azure DevOps issues a service connection's workload identity federation token with that issuer, audience
    ``api://AzureADTokenExchange`` and subject ``sc://<organization>/<project>/<connection>`` (Microsoft
    Learn, "Connect to Azure with an Azure Resource Manager service connection", workload identity
    federation); a pipeline gets it as ``$idToken`` from ``AzureCLI@2`` with ``addSpnToEnvironment``. No
    thumbprint is configured: IAM obtains and keeps it itself (IAM User Guide, "Create an OpenID Connect
    (OIDC) identity provider in IAM"). Not verifiable offline: that IAM accepts this issuer's discovery
    document and keys (docs/bootstrap.md).
    """

    provider: aws.iam.OpenIdConnectProvider
    """The OIDC provider."""
    arn: pulumi.Output[str]
    """Its ARN (what the pipeline roles' trust policies name as the federated principal)."""

    def __init__(self, name: str, issuer: str, opts: pulumi.ResourceOptions | None = None) -> None:
        require_pattern(f"AzureDevOpsOidcProvider({name}).issuer", issuer, ISSUER_PATTERN, "an https:// URL")
        super().__init__("platform:iam:AzureDevOpsOidcProvider", name, None, opts)
        self.provider = aws.iam.OpenIdConnectProvider(
            name,
            aws.iam.OpenIdConnectProviderArgs(url=issuer, client_id_lists=[AZURE_AUDIENCE]),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.provider.arn
        self.register_outputs({"arn": self.arn})


class GitHubOidcProvider(pulumi.ComponentResource):
    """The account's IAM OIDC provider for GitHub Actions (one per account and URL), shared by every role."""

    provider: aws.iam.OpenIdConnectProvider
    """The OIDC provider."""
    arn: pulumi.Output[str]
    """Its ARN (what the roles' trust policies name as the federated principal)."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:iam:GitHubOidcProvider", name, None, opts)
        # AWS validates GitHub's certificate against its own trusted CAs, so no thumbprint is configured.
        self.provider = aws.iam.OpenIdConnectProvider(
            name,
            aws.iam.OpenIdConnectProviderArgs(url=GITHUB_OIDC_ISSUER, client_id_lists=[AWS_AUDIENCE]),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.provider.arn
        self.register_outputs({"arn": self.arn})


class PipelineIdentity(pulumi.ComponentResource):
    """The GitHub Actions OIDC provider and the pipeline role in the shared-services account."""

    oidc_provider: aws.iam.OpenIdConnectProvider | None
    """The OIDC provider, when this component created it."""
    oidc_provider_arn: pulumi.Output[str]
    """ARN of the OIDC provider the role trusts."""
    role: aws.iam.Role
    """The pipeline role."""
    arn: str
    """The pipeline role's ARN (known before deployment; deploy roles trust it)."""
    subjects: list[str]
    """The exact ``sub`` claims the role accepts."""
    federated_subjects: list[str]
    """The exact subjects of other issuers (Azure DevOps) the role accepts."""

    def __init__(
        self, name: str, args: PipelineIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        prefix = f"PipelineIdentity({name})"
        require_pattern(f"{prefix}.role_name", args.role_name, IAM_ROLE_NAME_PATTERN, "an IAM role name")
        args.github.validate(f"{prefix}.github")
        require_int(
            f"{prefix}.max_session_duration_seconds",
            args.max_session_duration_seconds,
            minimum=3600,
            maximum=MAX_SESSION_SECONDS,
        )
        if not args.deploy_role_arns:
            raise ValidationError(f"{prefix}.deploy_role_arns", "must list at least one deploy role ARN")
        for index, arn in enumerate(args.deploy_role_arns):
            key = f"{prefix}.deploy_role_arns[{index}]"
            require_pattern(key, arn, PRINCIPAL_ARN_PATTERN, "an IAM role ARN (no wildcards)")
            if ":role/" not in arn:
                raise ValidationError(
                    key, "is not a role ARN", value=arn, allowed="arn:aws:iam::<acct>:role/<name>"
                )
        super().__init__("platform:iam:PipelineIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.arn = f"arn:{args.partition}:iam::{args.account_id}:role/{args.role_name}"
        self.subjects = args.github.subjects + args.github.patterns

        if args.oidc_provider_arn is None:
            # AWS validates GitHub's certificate against its own trusted CAs, so no thumbprint is configured.
            self.oidc_provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                aws.iam.OpenIdConnectProviderArgs(url=GITHUB_OIDC_ISSUER, client_id_lists=[AWS_AUDIENCE]),
                opts=child,
            )
            self.oidc_provider_arn = self.oidc_provider.arn
        else:
            self.oidc_provider = None
            self.oidc_provider_arn = pulumi.Output.from_input(args.oidc_provider_arn)

        subjects = args.github.subjects
        patterns = args.github.patterns
        federated = list(dict.fromkeys(args.federated))
        if federated and args.federated_provider_arn is None:
            raise ValidationError(
                f"{prefix}.federated_provider_arn",
                "is required with federated subjects (the IAM OIDC provider of their issuer)",
            )
        self.federated_subjects = [f.subject for f in federated]
        trust = pulumi.Output.all(
            self.oidc_provider_arn, pulumi.Output.from_input(args.federated_provider_arn or "")
        ).apply(
            lambda arns: json.dumps(
                pipeline_trust_policy(arns[0], subjects, [(arns[1], f) for f in federated], patterns),
                indent=2,
            )
        )
        self.role = aws.iam.Role(
            name,
            aws.iam.RoleArgs(
                name=args.role_name,
                description=f"CI pipeline of {args.github.repository}: {args.purpose} (GitHub Actions OIDC)",
                assume_role_policy=trust,
                max_session_duration=args.max_session_duration_seconds,
                force_detach_policies=True,
                tags={ACCESS_TAG: "read-only" if args.read_only else "deploy"},
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-assume-deploy-roles",
            aws.iam.RolePolicyArgs(
                name="assume-deploy-roles",
                role=self.role.name,
                policy=json.dumps(
                    pipeline_permissions_policy(args.deploy_role_arns, args.tag_session), indent=2
                ),
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "arn": self.arn,
                "oidcProviderArn": self.oidc_provider_arn,
                "subjects": self.subjects,
                "federatedSubjects": self.federated_subjects,
            }
        )


@dataclass(frozen=True)
class AzureRoleGrant:
    """One role the pipeline identity receives.

    :param name: short stable name of the grant (part of the logical name and of the uuid5 seed).
    :param scope: ARM scope, e.g. ``/subscriptions/<guid>``.
    :param role_definition_guid: built-in or custom role definition GUID.
    :param subscription_id: the subscription the role definition belongs to.
    :param condition: optional ABAC condition (version 2.0), e.g. limiting which roles may be assigned.
    :param provider: azure-native provider of the subscription the scope is in (default: the component's).
    :param wait_for: resources the assignment must follow, e.g. the custom role definition it names.
    """

    name: str
    scope: str
    role_definition_guid: str
    subscription_id: str
    condition: str | None = None
    provider: azure_native.Provider | None = None
    wait_for: Sequence[pulumi.Resource] = ()

    @property
    def role_definition_id(self) -> str:
        """Full role definition id in the grant's subscription."""
        return role_definition_id(self.subscription_id, self.role_definition_guid)


def constrained_assignment_condition(assignable_role_guids: Sequence[str]) -> str:
    """ABAC condition letting a role-assignment writer create and delete only ``assignable_role_guids``."""
    for guid in assignable_role_guids:
        if is_privileged_role(guid):
            # Letting the pipeline hand out Owner/User Access Administrator would undo the constraint.
            raise ValidationError(
                "constrained_assignment_condition.assignable_role_guids",
                "names a privileged role",
                value=guid,
                allowed="non-privileged role GUIDs",
            )
    guids = ", ".join(sorted(g.lower() for g in assignable_role_guids))
    attribute = "Microsoft.Authorization/roleAssignments:RoleDefinitionId"
    return (
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        f"(@Request[{attribute}] ForAnyOfAnyValues:GuidEquals {{{guids}}}))"
        " AND "
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
        f"(@Resource[{attribute}] ForAnyOfAnyValues:GuidEquals {{{guids}}}))"
    )


@dataclass(frozen=True)
class AzurePipelineIdentityArgs:
    """Arguments of :class:`AzurePipelineIdentity`.

    :param identity_name: name of the user-assigned managed identity.
    :param resource_group_name: resource group it lives in (created by the caller).
    :param location: Azure location.
    :param github: the repository and branches/environments that may sign in as it.
    :param grants: the roles it receives (per subscription, state container, key vault...).
    :param tags: tags for the identity.
    :param federated: further subjects from other issuers (Azure DevOps service connections).
    """

    identity_name: str
    resource_group_name: pulumi.Input[str]
    location: str
    github: GitHubSubjects
    grants: Sequence[AzureRoleGrant] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    federated: Sequence[FederatedSubject] = ()


class AzurePipelineIdentity(pulumi.ComponentResource):
    """A user-assigned managed identity federated with GitHub Actions, with its role assignments."""

    identity: azure_native.managedidentity.UserAssignedIdentity
    """The managed identity (its ``client_id`` goes into the workflow's azure/login step)."""
    principal_id: pulumi.Output[str]
    """Object id of the identity's service principal (what role assignments name)."""
    client_id: pulumi.Output[str]
    """Client id the workflow signs in with."""
    credentials: list[azure_native.managedidentity.FederatedIdentityCredential]
    """One federated credential per GitHub subject."""
    role_assignments: list[azure_native.authorization.RoleAssignment]
    """The pipeline's role assignments."""
    subjects: list[str]
    """The exact subjects federated."""

    def __init__(
        self, name: str, args: AzurePipelineIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        prefix = f"AzurePipelineIdentity({name})"
        require_pattern(
            f"{prefix}.identity_name",
            args.identity_name,
            AZURE_RESOURCE_NAME_PATTERN,
            "3-128 letters, digits, '-' or '_', starting with a letter or digit",
        )
        require_pattern(f"{prefix}.location", args.location, AZURE_LOCATION_PATTERN, "an Azure location")
        args.github.validate(f"{prefix}.github")
        for index, extra in enumerate(args.federated):
            require_pattern(
                f"{prefix}.federated[{index}].issuer", extra.issuer, ISSUER_PATTERN, "an https:// issuer URL"
            )
            require_pattern(
                f"{prefix}.federated[{index}].subject", extra.subject, SUBJECT_PATTERN, "an exact subject"
            )
        federations = [FederatedSubject(GITHUB_OIDC_ISSUER, s) for s in args.github.subjects]
        federations += list(dict.fromkeys(args.federated))
        subjects = [f.subject for f in federations]
        if len(subjects) > MAX_FEDERATED_CREDENTIALS:
            raise ValidationError(
                f"{prefix}.github",
                "has more subjects than a managed identity accepts federated credentials",
                value=len(subjects),
                allowed=f"at most {MAX_FEDERATED_CREDENTIALS} branches + environments",
            )
        credential_subjects: dict[str, str] = {}
        for subject in subjects:
            # Different subjects can slug to one credential name ('release/1' and 'release-1', or a
            # shared 120-character prefix): two resources for one Azure credential collide.
            credential = _credential_name(subject)
            if credential.lower() in credential_subjects:
                raise ValidationError(
                    f"{prefix}.github",
                    f"gives two subjects the same federated credential name {credential!r}",
                    value=[credential_subjects[credential.lower()], subject],
                    allowed="branch and environment names that differ in more than '/', '.' and the like",
                )
            credential_subjects[credential.lower()] = subject
        seen: set[str] = set()
        for index, grant in enumerate(args.grants):
            key = f"{prefix}.grants[{index}]"
            require_pattern(f"{key}.role_definition_guid", grant.role_definition_guid, GUID_PATTERN, "a GUID")
            require_pattern(f"{key}.subscription_id", grant.subscription_id, GUID_PATTERN, "a GUID")
            if not grant.scope.startswith("/"):
                raise ValidationError(f"{key}.scope", "is not an ARM scope", value=grant.scope)
            if grant.name in seen:
                raise ValidationError(f"{key}.name", "is used twice", value=grant.name)
            # Compared by GUID: a privileged role given by id must not pass where its name would not.
            if is_privileged_role(grant.role_definition_guid) and not grant.condition:
                raise ValidationError(
                    f"{key}.role_definition_guid",
                    "is a privileged role (it can grant any access) without an ABAC condition",
                    value=grant.role_definition_guid,
                    allowed="a non-privileged role, or a condition limiting the roles it may assign",
                )
            seen.add(grant.name)
        super().__init__("platform:iam:AzurePipelineIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.subjects = subjects

        # Keyword form: the SDK's *Args form passes ``resource_name`` twice (the identity's name property
        # collides with the logical-name parameter), so the name goes in as ``resource_name_``.
        self.identity = azure_native.managedidentity.UserAssignedIdentity(
            name,
            opts=child,
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags) or None,
        )
        self.principal_id = self.identity.principal_id
        self.client_id = self.identity.client_id

        self.credentials = []
        previous: pulumi.Resource | None = None
        for index, federation in enumerate(federations):
            # Azure refuses concurrent writes of federated credentials on one identity: chain them.
            self.credentials.append(
                azure_native.managedidentity.FederatedIdentityCredential(
                    f"{name}-federated-{index}",
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[previous] if previous else None),
                    resource_group_name=args.resource_group_name,
                    resource_name_=self.identity.name,
                    federated_identity_credential_resource_name=_credential_name(federation.subject),
                    issuer=federation.issuer,
                    subject=federation.subject,
                    audiences=[AZURE_AUDIENCE],
                )
            )
            previous = self.credentials[-1]

        self.role_assignments = []
        for grant in args.grants:
            self.role_assignments.append(
                azure_native.authorization.RoleAssignment(
                    f"{name}-{grant.name}",
                    azure_native.authorization.RoleAssignmentArgs(
                        role_assignment_name=role_assignment_name(
                            grant.scope, args.identity_name, grant.role_definition_guid
                        ),
                        scope=grant.scope,
                        principal_id=self.principal_id,
                        principal_type=azure_native.authorization.PrincipalType.SERVICE_PRINCIPAL,
                        role_definition_id=grant.role_definition_id,
                        condition=grant.condition,
                        condition_version="2.0" if grant.condition else None,
                        description=f"platform pipeline ({args.github.repository}): {grant.name}",
                    ),
                    # A new principal (the identity recreated) keeps the deterministic name: Azure refuses
                    # a second assignment of that name, so the old one must go first.
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        provider=grant.provider,
                        delete_before_replace=True,
                        depends_on=list(grant.wait_for) or None,
                    ),
                )
            )
        self.register_outputs(
            {"principalId": self.principal_id, "clientId": self.client_id, "subjects": self.subjects}
        )


def _credential_name(subject: str) -> str:
    """A valid credential name from a subject (3-120 letters, digits, '-' and '_')."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", subject.removeprefix("repo:").removeprefix("sc://")).strip("-")
    return slug[:120]
