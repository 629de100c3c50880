"""The shared-services stack: what must exist before any environment can be deployed by the pipeline.

Run once with administrator credentials (see docs/bootstrap.md). Every AWS provider assumes the organization
role in exactly one account (``allowed_account_ids``); every azure-native provider is pinned to one
subscription. Declared in dependency order: providers, the pipeline identity (deploy roles trust its ARN,
which IAM checks exists), the deploy roles, then the state backends that grant the pipeline access.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native

from platform_infra.config.bootstrap import AzureDevOpsSettings, BootstrapConfig, BootstrapTarget
from platform_infra.deploy_role import DeployRole, DeployRoleArgs, boundary_policy_arn
from platform_infra.environment import (
    Environment,
    EnvironmentProviders,
    EnvironmentProvidersArgs,
    session_name,
)
from platform_infra.pipeline_identity import (
    AzureDevOpsOidcProvider,
    AzurePipelineIdentity,
    AzurePipelineIdentityArgs,
    AzureRoleGrant,
    FederatedSubject,
    GitHubOidcProvider,
    PipelineIdentity,
    PipelineIdentityArgs,
    azure_devops_subject,
    constrained_assignment_condition,
)
from platform_infra.preview_read import preview_read_statements
from platform_infra.rbac import BUILTIN_ROLE_GUIDS, RBAC_ADMINISTRATOR
from platform_infra.rbac.release import (
    RELEASE_ACTIONS,
    release_role_guid,
    release_role_name,
)
from platform_infra.review_stacks import (
    ENVIRONMENT_TAG,
    REVIEW_ENVIRONMENT,
    REVIEW_STACK_PATTERN,
    review_deploy_statements,
)
from platform_infra.shared_drift import DriftReadRole, DriftReadRoleArgs
from platform_infra.state_backend import (
    AwsReplication,
    AwsStateBackend,
    AwsStateBackendArgs,
    AzureStateBackend,
    AzureStateBackendArgs,
    StateAccess,
)


def declare_bootstrap(config: BootstrapConfig, project: str) -> dict[str, Any]:
    """Declare the shared-services stack and export the login URLs and secrets providers per environment.

    :returns: the exported values (also handy in tests).
    """
    shared_env = config.environment
    shared = EnvironmentProviders(
        shared_env.name, EnvironmentProvidersArgs(environment=shared_env, project=project)
    )
    targets = {
        target.name: EnvironmentProviders(
            f"target-{target.name}", EnvironmentProvidersArgs(environment=target.environment, project=project)
        )
        for target in config.targets
    }
    tag_session = config.session_tag is not None
    settings = config.pipeline
    shared_opts = shared.resource_options()

    # One OIDC provider per account and URL (IAM refuses a second): every pipeline role trusts this one.
    if settings.oidc_provider_arn is None:
        oidc_provider_arn: pulumi.Input[str] = GitHubOidcProvider("github-oidc", opts=shared_opts).arn
    else:
        oidc_provider_arn = settings.oidc_provider_arn

    # Azure DevOps pipelines reach AWS with their service connection's own OIDC token: one IAM provider for
    # the organization's issuer; each pipeline role trusts exactly its target's connection subject.
    ado_provider_arn: pulumi.Input[str] | None = None
    if settings.azure_devops is not None:
        ado_issuer = azure_devops_subject(settings.azure_devops.organization_id, "x", "x", "x").issuer
        ado_provider_arn = AzureDevOpsOidcProvider("azure-devops-oidc", ado_issuer, opts=shared_opts).arn

    # Per target: a deploying pipeline role trusted only by that target's GitHub environment, which may
    # assume only that target's deploy role; and a preview role trusted by pull requests (dev/staging) or
    # the default branch (prod), which may assume only that target's read-only role.
    pipelines: dict[str, PipelineIdentity] = {}
    previews: dict[str, PipelineIdentity] = {}
    deploy_roles: dict[str, DeployRole] = {}
    preview_roles: dict[str, DeployRole] = {}
    for target in config.targets:
        identities = target.identities
        pipelines[target.name] = PipelineIdentity(
            f"pipeline-{target.name}",
            PipelineIdentityArgs(
                account_id=shared_env.aws.account_id,
                role_name=f"{settings.role_name}-{target.name}",
                github=identities.deploy_github,
                deploy_role_arns=[target.deploy_role_arn],
                tag_session=tag_session,
                max_session_duration_seconds=settings.max_session_duration_seconds,
                oidc_provider_arn=oidc_provider_arn,
                partition=shared_env.aws.partition,
                purpose=f"deploy {target.name}",
                federated=_azure_devops(settings.azure_devops, identities.azure_devops_connection),
                federated_provider_arn=ado_provider_arn,
            ),
            opts=shared_opts,
        )
        previews[target.name] = PipelineIdentity(
            f"preview-{target.name}",
            PipelineIdentityArgs(
                account_id=shared_env.aws.account_id,
                role_name=f"{settings.preview_role_name}-{target.name}",
                github=identities.preview_github,
                deploy_role_arns=[target.preview_role_arn],
                tag_session=tag_session,
                max_session_duration_seconds=settings.max_session_duration_seconds,
                oidc_provider_arn=oidc_provider_arn,
                partition=shared_env.aws.partition,
                purpose=f"preview {target.name} (read-only)",
                read_only=True,
                federated=_azure_devops(settings.azure_devops, identities.azure_devops_preview_connection),
                federated_provider_arn=ado_provider_arn,
            ),
            opts=shared_opts,
        )

    for target in config.targets:
        role = target.deploy_role
        pipeline = pipelines[target.name]
        deploy_roles[target.name] = DeployRole(
            f"deploy-{target.name}",
            DeployRoleArgs(
                role_name=role.role_name,
                account_id=target.environment.aws.account_id,
                trusted_principal_arns=[pipeline.arn, *role.extra_trusted_principal_arns],
                trusted_account_id=shared_env.aws.account_id,
                allow_account_root=role.trust_account_root,
                external_id=role.external_id,
                session_tag=config.session_tag,
                max_session_duration_seconds=role.max_session_duration_seconds,
                permissions_boundary_arn=role.permissions_boundary_arn,
                policy_arns=role.policy_arns,
                allowed_actions=role.allowed_actions,
                administrator_access=role.administrator_access,
                manage_stack_roles=True,
                # The retention enforcer's function is <environment>-<name> (retention_enforcer.py).
                function_prefix=f"{target.name}-",
                partition=target.environment.aws.partition,
                # IAM refuses a trust policy naming a role that does not exist yet.
                wait_for=[pipeline.role],
            ),
            opts=targets[target.name].resource_options(),
        )
        preview = previews[target.name]
        preview_roles[target.name] = DeployRole(
            f"readonly-{target.name}",
            DeployRoleArgs(
                role_name=target.identities.preview_role_name,
                account_id=target.environment.aws.account_id,
                trusted_principal_arns=[preview.arn],
                trusted_account_id=shared_env.aws.account_id,
                external_id=role.external_id,
                session_tag=config.session_tag,
                max_session_duration_seconds=role.max_session_duration_seconds,
                # What `pulumi preview --refresh` of the stack reads (preview_read.PREVIEW_READ_ACTIONS),
                # not AWS's ReadOnlyAccess: pull requests obtain dev's and staging's role, and that policy
                # reads every log event, object and parameter of the account.
                read_statements=preview_read_statements(
                    target.environment.aws.partition,
                    target.environment.aws.account_id,
                    # The stacks' functions, as the deploy role's Lambda scope (retention_enforcer.py).
                    function_prefix=f"{target.name}-",
                ),
                partition=target.environment.aws.partition,
                wait_for=[preview.role],
                description=f"Read-only preview role of {target.name}, assumed by {preview.arn}",
            ),
            opts=targets[target.name].resource_options(),
        )

    review_pipeline: PipelineIdentity | None = None
    review_role: DeployRole | None = None
    review = config.review
    if review is not None:
        base = next(t for t in config.targets if t.name == review.target)
        base_aws = base.environment.aws
        review_role_arn = (
            f"arn:{base_aws.partition}:iam::{base_aws.account_id}:role/{review.deploy_role_name}"
        )
        # Trusted only by the review jobs' deployment environment: a pull_request subject is one any pull
        # request of the repository presents (GitHub OIDC reference), an environment's only its jobs.
        review_pipeline = PipelineIdentity(
            "pipeline-review",
            PipelineIdentityArgs(
                account_id=shared_env.aws.account_id,
                role_name=review.role_name,
                github=review.github,
                deploy_role_arns=[review_role_arn],
                tag_session=tag_session,
                max_session_duration_seconds=settings.max_session_duration_seconds,
                oidc_provider_arn=oidc_provider_arn,
                partition=shared_env.aws.partition,
                purpose=f"deploy review stacks {REVIEW_STACK_PATTERN} (pull-request code)",
                # The Azure DevOps review pipeline exchanges its connection's token for this role too.
                federated=_azure_devops(settings.azure_devops, review.azure_devops_connection),
                federated_provider_arn=ado_provider_arn,
            ),
            opts=shared_opts,
        )
        base_role = deploy_roles[base.name]
        review_role = DeployRole(
            "review-deploy",
            DeployRoleArgs(
                role_name=review.deploy_role_name,
                account_id=base_aws.account_id,
                trusted_principal_arns=[review_pipeline.arn],
                trusted_account_id=shared_env.aws.account_id,
                external_id=base.deploy_role.external_id,
                session_tag=config.session_tag,
                max_session_duration_seconds=base.deploy_role.max_session_duration_seconds,
                # The boundary of the stacks' own roles caps it too: logs and metrics, never IAM.
                permissions_boundary_arn=boundary_policy_arn(base_aws.partition, base_aws.account_id),
                extra_statements=review_deploy_statements(base_aws.partition, base_aws.account_id),
                partition=base_aws.partition,
                tags={ENVIRONMENT_TAG: REVIEW_ENVIRONMENT},
                wait_for=[review_pipeline.role, *([base_role.boundary] if base_role.boundary else [])],
                description=f"Review stacks {REVIEW_STACK_PATTERN} (pull-request code), assumed by "
                f"{review_pipeline.arn}",
            ),
            opts=targets[base.name].resource_options(),
        )

    state = config.state
    bucket_names = [
        state.bucket_name,
        state.access_log_bucket_name or f"{state.bucket_name}-access-logs",
        *([state.replica_bucket_name] if state.replica_bucket_name is not None else []),
    ]
    drift_pipeline: PipelineIdentity | None = None
    drift_roles: dict[str, DriftReadRole] = {}
    drift = config.drift
    if drift is not None:
        shared_aws = shared_env.aws
        accounts = [
            (shared_env.name, shared_env, shared),
            *((t.name, t.environment, targets[t.name]) for t in config.targets),
        ]
        read_arns = [
            f"arn:{env.aws.partition}:iam::{env.aws.account_id}:role/{drift.read_role_name}"
            for _, env, _ in accounts
        ]
        # Trusted only from the default branch (a scheduled run's ref), like prod's preview identity; may
        # assume only the read-only drift roles, one per account the stack's providers act in.
        drift_pipeline = PipelineIdentity(
            "pipeline-drift",
            PipelineIdentityArgs(
                account_id=shared_aws.account_id,
                role_name=drift.role_name,
                github=drift.github,
                deploy_role_arns=read_arns,
                tag_session=tag_session,
                max_session_duration_seconds=settings.max_session_duration_seconds,
                oidc_provider_arn=oidc_provider_arn,
                partition=shared_aws.partition,
                purpose=f"drift check of the {shared_env.name} stack (read-only)",
                read_only=True,
                federated=_azure_devops(settings.azure_devops, drift.azure_devops_connection),
                federated_provider_arn=ado_provider_arn,
            ),
            opts=shared_opts,
        )
        external_ids = {t.name: t.deploy_role.external_id for t in config.targets}
        for name, env, providers in accounts:
            is_shared = name == shared_env.name
            drift_roles[name] = DriftReadRole(
                f"drift-read-{name}",
                DriftReadRoleArgs(
                    role_name=drift.read_role_name,
                    account_id=env.aws.account_id,
                    trusted_principal_arn=drift_pipeline.arn,
                    partition=env.aws.partition,
                    external_id=shared_aws.external_id if is_shared else external_ids[name],
                    session_tag=config.session_tag,
                    # Only the shared-services account holds the state buckets and keys.
                    bucket_names=bucket_names if is_shared else (),
                    # The access report files the shared account's role under the shared stack.
                    tags={ENVIRONMENT_TAG: shared_env.name} if is_shared else {},
                    wait_for=[drift_pipeline.role],
                ),
                opts=providers.resource_options(),
            )

    replication = None
    if state.replica_region is not None and state.replica_bucket_name is not None:
        replica_provider = aws.Provider(
            f"{shared_env.name}-aws-replica",
            _replica_provider_args(shared_env, state.replica_region, project),
            opts=pulumi.ResourceOptions(parent=shared),
        )
        replication = AwsReplication(
            region=state.replica_region, bucket_name=state.replica_bucket_name, provider=replica_provider
        )
    environments = [t.name for t in config.targets]
    state_access = {
        env: StateAccess(writers=[pipelines[env].arn], readers=[previews[env].arn]) for env in environments
    }
    if review_pipeline is not None:
        # Its own secrets key and only the pr-* stack objects: never dev's state or key.
        state_access[REVIEW_ENVIRONMENT] = StateAccess(
            writers=[review_pipeline.arn], stacks=REVIEW_STACK_PATTERN
        )
    # This stack's own state and secrets key (alias/<prefix>-shared), once moved here from the local backend
    # (docs/bootstrap.md): written by the operator through the shared account's administrator role (the
    # profile's role for the apply), read and decrypted by the drift pipeline role only.
    state_access[shared_env.name] = StateAccess(
        writers=[shared_env.aws.deploy_role_arn],
        readers=[drift_pipeline.arn] if drift_pipeline is not None else [],
    )
    aws_backend = AwsStateBackend(
        "state",
        AwsStateBackendArgs(
            bucket_name=state.bucket_name,
            account_id=shared_env.aws.account_id,
            region=shared_env.aws.region,
            environments=list(state_access),
            environment_access=state_access,
            alias_prefix=state.alias_prefix,
            noncurrent_version_days=state.noncurrent_version_days,
            replication=replication,
            access_log_bucket_name=state.access_log_bucket_name,
            access_log_days=state.access_log_days,
            protect=state.protect,
            partition=shared_env.aws.partition,
            # Key and bucket policies name the pipeline roles, which must exist first.
            wait_for=[
                *(p.role for p in pipelines.values()),
                *(p.role for p in previews.values()),
                *([review_pipeline.role] if review_pipeline is not None else []),
                *([drift_pipeline.role] if drift_pipeline is not None else []),
            ],
        ),
        opts=shared.resource_options(),
    )

    azure_group = azure_native.resources.ResourceGroup(
        "pipeline",
        azure_native.resources.ResourceGroupArgs(
            resource_group_name=config.pipeline.azure_resource_group,
            location=shared_env.azure.location,
            tags=dict(shared_env.tags),
        ),
        opts=pulumi.ResourceOptions(provider=shared.azure),
    )
    azure_identities: dict[str, AzurePipelineIdentity] = {}
    azure_previews: dict[str, AzurePipelineIdentity] = {}
    release_roles = {target.name: _release_role(target, targets[target.name]) for target in config.targets}
    for target in config.targets:
        identities = target.identities
        azure_identities[target.name] = AzurePipelineIdentity(
            f"pipeline-azure-{target.name}",
            AzurePipelineIdentityArgs(
                identity_name=f"{settings.azure_identity_name}-{target.name}",
                resource_group_name=azure_group.name,
                location=shared_env.azure.location,
                github=identities.deploy_github,
                federated=_azure_devops(settings.azure_devops, identities.azure_devops_connection),
                grants=[
                    *_azure_deploy_grants(config, target, targets[target.name]),
                    *_release_grants(target, targets[target.name], release_roles[target.name]),
                ],
                tags=dict(shared_env.tags),
            ),
            opts=shared_opts,
        )
        azure_previews[target.name] = AzurePipelineIdentity(
            f"preview-azure-{target.name}",
            AzurePipelineIdentityArgs(
                identity_name=f"{settings.azure_preview_identity_name}-{target.name}",
                resource_group_name=azure_group.name,
                location=shared_env.azure.location,
                github=identities.preview_github,
                federated=_azure_devops(settings.azure_devops, identities.azure_devops_preview_connection),
                grants=[_azure_reader_grant(target, targets[target.name])],
                tags=dict(shared_env.tags),
            ),
            opts=shared_opts,
        )

    azure_review: AzurePipelineIdentity | None = None
    if review is not None:
        base = next(t for t in config.targets if t.name == review.target)
        azure_review = AzurePipelineIdentity(
            "review-azure",
            AzurePipelineIdentityArgs(
                identity_name=review.azure_identity_name,
                resource_group_name=azure_group.name,
                location=shared_env.azure.location,
                github=review.github,
                federated=_azure_devops(settings.azure_devops, review.azure_devops_connection),
                # Azure RBAC has no resource-name conditions for ARM writes (ABAC conditions cover storage
                # data actions and role assignments only): the base subscription, never staging or prod.
                grants=_azure_deploy_grants(config, base, targets[base.name]),
                tags=dict(shared_env.tags),
            ),
            opts=shared_opts,
        )

    azure_drift: AzurePipelineIdentity | None = None
    if drift is not None:
        # Its main-branch credential repeats prod's preview identity's subject: issuer and subject must be
        # unique per identity, not per tenant (Microsoft Learn, "Important considerations and restrictions
        # for federated identity credentials").
        # Reader wherever the stack's azure-native providers act: role assignments, identities, federated
        # credentials, custom role definitions and the state backend's control plane (Reader is */read on the
        # control plane: no data actions, no listKeys; Microsoft Learn, "Azure built-in roles for General").
        azure_drift = AzurePipelineIdentity(
            "drift-azure",
            AzurePipelineIdentityArgs(
                identity_name=drift.azure_identity_name,
                resource_group_name=azure_group.name,
                location=shared_env.azure.location,
                github=drift.github,
                federated=_azure_devops(settings.azure_devops, drift.azure_devops_connection),
                grants=[
                    _subscription_reader(
                        f"reader-{shared_env.name}", shared_env.azure.subscription_id, shared
                    ),
                    *(
                        _subscription_reader(
                            f"reader-{t.name}", t.environment.azure.subscription_id, targets[t.name]
                        )
                        for t in config.targets
                    ),
                ],
                tags=dict(shared_env.tags),
            ),
            opts=shared_opts,
        )

    azure_backend = None
    if state.azure is not None:
        azure_backend = AzureStateBackend(
            "state-azure",
            AzureStateBackendArgs(
                resource_group_name=state.azure.resource_group_name,
                location=shared_env.azure.location,
                tenant_id=shared_env.azure.tenant_id,
                subscription_id=shared_env.azure.subscription_id,
                storage_account_name=state.azure.storage_account_name,
                container_name=state.azure.container_name,
                key_vault_name=state.azure.key_vault_name,
                environments=[*environments, *([REVIEW_ENVIRONMENT] if azure_review is not None else [])],
                environment_access={
                    **{
                        env: StateAccess(
                            writers=[azure_identities[env].principal_id],
                            readers=[azure_previews[env].principal_id],
                        )
                        for env in environments
                    },
                    **(
                        {REVIEW_ENVIRONMENT: StateAccess(writers=[azure_review.principal_id])}
                        if azure_review is not None
                        else {}
                    ),
                },
                soft_delete_days=state.azure.soft_delete_days,
                allowed_ip_ranges=state.azure.allowed_ip_ranges,
                protect=state.protect,
                tags=dict(shared_env.tags),
            ),
            opts=shared.resource_options(),
        )

    backends: dict[str, dict[str, str]] = {}
    for env in environments:
        backends[env] = {
            "loginUrl": aws_backend.login_url,
            "secretsProvider": aws_backend.secrets_providers[env],
        }
        if azure_backend is not None:
            backends[env]["azureLoginUrl"] = azure_backend.login_urls[env]
            backends[env]["azureSecretsProvider"] = azure_backend.secrets_providers[env]

    exports: dict[str, Any] = {
        "environment": shared_env.name,
        "oidcProviderArn": oidc_provider_arn,
        # Per environment: what its GitHub environment's (or Azure DevOps service connection's) variables
        # must hold. Deploy identities go on the environment; preview identities on pull-request jobs.
        "pipelineRoleArns": {name: p.arn for name, p in pipelines.items()},
        "previewPipelineRoleArns": {name: p.arn for name, p in previews.items()},
        "pipelineSubjects": {name: p.subjects for name, p in pipelines.items()},
        "previewSubjects": {name: p.subjects for name, p in previews.items()},
        "deployRoleArns": {name: role.arn for name, role in deploy_roles.items()},
        "previewRoleArns": {name: role.arn for name, role in preview_roles.items()},
        "administratorDeployRoles": sorted(n for n, r in deploy_roles.items() if r.administrator_access),
        "stateBucket": state.bucket_name,
        "stateBackends": backends,
        "azureClientIds": {name: i.client_id for name, i in azure_identities.items()},
        "azurePreviewClientIds": {name: i.client_id for name, i in azure_previews.items()},
        "azurePrincipalIds": {name: i.principal_id for name, i in azure_identities.items()},
        # The identity that runs `infra release` (stack-deploy.yml, rollback.yml, the Azure DevOps release and
        # rollback steps) holds this role: exactly the release flow's ARM actions (rbac/release.py).
        "releaseRoleDefinitionIds": {name: r.id for name, r in release_roles.items()},
        "azureTenantId": shared_env.azure.tenant_id,
    }
    if review_pipeline is not None and review_role is not None and azure_review is not None:
        review_backend = {
            "loginUrl": aws_backend.login_url,
            "secretsProvider": aws_backend.secrets_providers[REVIEW_ENVIRONMENT],
        }
        if azure_backend is not None:
            review_backend["azureLoginUrl"] = azure_backend.login_urls[REVIEW_ENVIRONMENT]
            review_backend["azureSecretsProvider"] = azure_backend.secrets_providers[REVIEW_ENVIRONMENT]
        # The `review` GitHub environment's variables (docs/pipelines.md, Review stacks).
        exports["review"] = {
            "pipelineRoleArn": review_pipeline.arn,
            "subjects": review_pipeline.subjects,
            "deployRoleArn": review_role.arn,
            "azureClientId": azure_review.client_id,
            "azurePrincipalId": azure_review.principal_id,
            "stateBackend": review_backend,
        }
    # Where this stack's own state goes once moved out of the local backend (docs/bootstrap.md).
    exports["sharedStateBackend"] = {
        "loginUrl": aws_backend.login_url,
        "secretsProvider": aws_backend.secrets_providers[shared_env.name],
    }
    if drift_pipeline is not None and azure_drift is not None:
        # The drift workflow's repository variables AWS_DRIFT_ROLE_ARN / AZURE_DRIFT_CLIENT_ID.
        exports["drift"] = {
            "pipelineRoleArn": drift_pipeline.arn,
            "subjects": drift_pipeline.subjects,
            "readRoleArns": {name: role.arn for name, role in drift_roles.items()},
            "azureClientId": azure_drift.client_id,
            "azurePrincipalId": azure_drift.principal_id,
        }
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports


def _replica_provider_args(shared_env: Environment, region: str, project: str) -> aws.ProviderArgs:
    """The replica region's provider: the shared account's profile when set (the same inputs in the apply
    and in a drift check), else the shared account's role assumed by the provider itself."""
    target = shared_env.aws
    tags = aws.ProviderDefaultTagsArgs(tags=dict(shared_env.tags))
    if target.profile is not None:
        return aws.ProviderArgs(
            region=region, allowed_account_ids=[target.account_id], profile=target.profile, default_tags=tags
        )
    return aws.ProviderArgs(
        region=region,
        allowed_account_ids=[target.account_id],
        assume_roles=[
            aws.ProviderAssumeRoleArgs(
                role_arn=target.deploy_role_arn,
                session_name=session_name(project, pulumi.get_stack()),
                external_id=target.external_id,
                duration=f"{target.session_duration_seconds}s",
            )
        ],
        default_tags=tags,
    )


def _subscription_reader(name: str, subscription: str, providers: EnvironmentProviders) -> AzureRoleGrant:
    """Reader on a whole subscription, through that subscription's provider."""
    return AzureRoleGrant(
        name=name,
        scope=f"/subscriptions/{subscription}",
        role_definition_guid=BUILTIN_ROLE_GUIDS["Reader"],
        subscription_id=subscription,
        provider=providers.azure,
    )


def _azure_deploy_grants(
    config: BootstrapConfig, target: BootstrapTarget, providers: EnvironmentProviders
) -> list[AzureRoleGrant]:
    """The deploying identity's roles: only on its own target's subscription (through that provider)."""
    grants: list[AzureRoleGrant] = []
    subscription = target.environment.azure.subscription_id
    scope = f"/subscriptions/{subscription}"
    for role_name, guid in config.pipeline.azure_role_guids.items():
        grants.append(
            AzureRoleGrant(
                name=_slug(role_name),
                scope=scope,
                role_definition_guid=guid,
                subscription_id=subscription,
                provider=providers.azure,
            )
        )
    assignable = config.pipeline.azure_assignable_role_guids
    if assignable:
        # The stacks assign roles to app identities: allow exactly those roles, nothing else.
        grants.append(
            AzureRoleGrant(
                name="assign-roles",
                scope=scope,
                role_definition_guid=RBAC_ADMINISTRATOR,
                subscription_id=subscription,
                condition=constrained_assignment_condition(list(assignable.values())),
                provider=providers.azure,
            )
        )
    return grants


def _release_role(
    target: BootstrapTarget, providers: EnvironmentProviders
) -> azure_native.authorization.RoleDefinition:
    """The custom release role of ``target``'s subscription: the ARM actions ``infra release`` calls."""
    subscription = target.environment.azure.subscription_id
    scope = f"/subscriptions/{subscription}"
    return azure_native.authorization.RoleDefinition(
        f"release-role-{target.name}",
        azure_native.authorization.RoleDefinitionArgs(
            role_definition_id=release_role_guid(subscription),
            role_name=release_role_name(target.name),
            description=f"infra release on the {target.name} apps: read sites and metrics, change slot "
            "config and traffic routing, swap slots, write the release record tags",
            role_type="CustomRole",
            scope=scope,
            assignable_scopes=[scope],
            permissions=[azure_native.authorization.PermissionArgs(actions=sorted(RELEASE_ACTIONS))],
        ),
        opts=pulumi.ResourceOptions(provider=providers.azure),
    )


def _release_grants(
    target: BootstrapTarget,
    providers: EnvironmentProviders,
    role: azure_native.authorization.RoleDefinition,
) -> list[AzureRoleGrant]:
    """The release role on the target's app resource groups (``releaseScopes``), else its subscription."""
    subscription = target.environment.azure.subscription_id
    scopes = target.identities.release_scopes or (f"/subscriptions/{subscription}",)
    return [
        AzureRoleGrant(
            name=f"release-{index}" if len(scopes) > 1 else "release",
            scope=scope,
            role_definition_guid=release_role_guid(subscription),
            subscription_id=subscription,
            provider=providers.azure,
            wait_for=[role],
        )
        for index, scope in enumerate(scopes)
    ]


def _azure_reader_grant(target: BootstrapTarget, providers: EnvironmentProviders) -> AzureRoleGrant:
    """The preview identity's only role on its target's subscription: Reader."""
    subscription = target.environment.azure.subscription_id
    return AzureRoleGrant(
        name="reader",
        scope=f"/subscriptions/{subscription}",
        role_definition_guid=BUILTIN_ROLE_GUIDS["Reader"],
        subscription_id=subscription,
        provider=providers.azure,
    )


def _azure_devops(settings: AzureDevOpsSettings | None, connection: str | None) -> list[FederatedSubject]:
    """The Azure DevOps service connection federated with an identity, if any."""
    if settings is None or connection is None:
        return []
    return [
        azure_devops_subject(settings.organization_id, settings.organization, settings.project, connection)
    ]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
