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

from platform_infra.config.bootstrap import BootstrapConfig
from platform_infra.deploy_role import DeployRole, DeployRoleArgs
from platform_infra.environment import EnvironmentProviders, EnvironmentProvidersArgs, session_name
from platform_infra.pipeline_identity import (
    AzurePipelineIdentity,
    AzurePipelineIdentityArgs,
    AzureRoleGrant,
    PipelineIdentity,
    PipelineIdentityArgs,
    constrained_assignment_condition,
)
from platform_infra.rbac import RBAC_ADMINISTRATOR
from platform_infra.state_backend import (
    AwsReplication,
    AwsStateBackend,
    AwsStateBackendArgs,
    AzureStateBackend,
    AzureStateBackendArgs,
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

    pipeline = PipelineIdentity(
        "pipeline",
        PipelineIdentityArgs(
            account_id=shared_env.aws.account_id,
            role_name=config.pipeline.role_name,
            github=config.pipeline.github,
            deploy_role_arns=[t.deploy_role_arn for t in config.targets],
            tag_session=tag_session,
            max_session_duration_seconds=config.pipeline.max_session_duration_seconds,
            oidc_provider_arn=config.pipeline.oidc_provider_arn,
            partition=shared_env.aws.partition,
        ),
        opts=shared.resource_options(),
    )

    deploy_roles: dict[str, DeployRole] = {}
    for target in config.targets:
        settings = target.deploy_role
        deploy_roles[target.name] = DeployRole(
            f"deploy-{target.name}",
            DeployRoleArgs(
                role_name=settings.role_name,
                account_id=target.environment.aws.account_id,
                trusted_principal_arns=[pipeline.arn, *settings.extra_trusted_principal_arns],
                trusted_account_id=shared_env.aws.account_id,
                allow_account_root=settings.trust_account_root,
                external_id=settings.external_id,
                session_tag=config.session_tag,
                max_session_duration_seconds=settings.max_session_duration_seconds,
                permissions_boundary_arn=settings.permissions_boundary_arn,
                policy_arns=settings.policy_arns,
                allowed_actions=settings.allowed_actions,
                administrator_access=settings.administrator_access,
                partition=target.environment.aws.partition,
                # IAM refuses a trust policy naming a role that does not exist yet.
                wait_for=[pipeline.role],
            ),
            opts=targets[target.name].resource_options(),
        )

    state = config.state
    replication = None
    if state.replica_region is not None and state.replica_bucket_name is not None:
        replica_provider = aws.Provider(
            f"{shared_env.name}-aws-replica",
            aws.ProviderArgs(
                region=state.replica_region,
                allowed_account_ids=[shared_env.aws.account_id],
                assume_roles=[
                    aws.ProviderAssumeRoleArgs(
                        role_arn=shared_env.aws.deploy_role_arn,
                        session_name=session_name(project, pulumi.get_stack()),
                        external_id=shared_env.aws.external_id,
                        duration=f"{shared_env.aws.session_duration_seconds}s",
                    )
                ],
                default_tags=aws.ProviderDefaultTagsArgs(tags=dict(shared_env.tags)),
            ),
            opts=pulumi.ResourceOptions(parent=shared),
        )
        replication = AwsReplication(
            region=state.replica_region, bucket_name=state.replica_bucket_name, provider=replica_provider
        )
    environments = [t.name for t in config.targets]
    aws_backend = AwsStateBackend(
        "state",
        AwsStateBackendArgs(
            bucket_name=state.bucket_name,
            account_id=shared_env.aws.account_id,
            region=shared_env.aws.region,
            environments=environments,
            user_arns=[pipeline.arn],
            alias_prefix=state.alias_prefix,
            noncurrent_version_days=state.noncurrent_version_days,
            replication=replication,
            protect=state.protect,
            partition=shared_env.aws.partition,
            # Key and bucket policies name the pipeline role, which must exist first.
            wait_for=[pipeline.role],
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
    azure_identity = AzurePipelineIdentity(
        "pipeline-azure",
        AzurePipelineIdentityArgs(
            identity_name=config.pipeline.azure_identity_name,
            resource_group_name=azure_group.name,
            location=shared_env.azure.location,
            github=config.pipeline.github,
            grants=_azure_grants(config, targets),
            tags=dict(shared_env.tags),
        ),
        opts=shared.resource_options(),
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
                environments=environments,
                user_principal_ids=[azure_identity.principal_id],
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
            backends[env]["azureLoginUrl"] = azure_backend.login_url
            backends[env]["azureSecretsProvider"] = azure_backend.secrets_providers[env]

    exports: dict[str, Any] = {
        "environment": shared_env.name,
        "pipelineRoleArn": pipeline.arn,
        "oidcProviderArn": pipeline.oidc_provider_arn,
        "pipelineSubjects": pipeline.subjects,
        "deployRoleArns": {name: role.arn for name, role in deploy_roles.items()},
        "administratorDeployRoles": sorted(n for n, r in deploy_roles.items() if r.administrator_access),
        "stateBucket": state.bucket_name,
        "stateBackends": backends,
        "azurePipelineClientId": azure_identity.client_id,
        "azurePipelinePrincipalId": azure_identity.principal_id,
        "azureTenantId": shared_env.azure.tenant_id,
    }
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports


def _azure_grants(config: BootstrapConfig, targets: dict[str, EnvironmentProviders]) -> list[AzureRoleGrant]:
    """The pipeline identity's roles on every target subscription (through that subscription's provider)."""
    grants: list[AzureRoleGrant] = []
    assignable = config.pipeline.azure_assignable_role_guids
    for target in config.targets:
        subscription = target.environment.azure.subscription_id
        scope = f"/subscriptions/{subscription}"
        provider = targets[target.name].azure
        for role_name, guid in config.pipeline.azure_role_guids.items():
            grants.append(
                AzureRoleGrant(
                    name=f"{target.name}-{_slug(role_name)}",
                    scope=scope,
                    role_definition_guid=guid,
                    subscription_id=subscription,
                    provider=provider,
                )
            )
        if assignable:
            # The stacks assign roles to app identities: allow exactly those roles, nothing else.
            grants.append(
                AzureRoleGrant(
                    name=f"{target.name}-assign-roles",
                    scope=scope,
                    role_definition_guid=RBAC_ADMINISTRATOR,
                    subscription_id=subscription,
                    condition=constrained_assignment_condition(list(assignable.values())),
                    provider=provider,
                )
            )
    return grants


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
