"""Environments and their cross-account providers.

An :class:`Environment` says where one stack deploys: an AWS account reached by assuming a deploy role, and
an Azure subscription. :class:`EnvironmentProviders` turns it into explicit providers; every component in
this library is meant to receive them through ``ResourceOptions(providers=...)`` so that no resource can
fall back to the deployer's own credentials (the stacks also set ``pulumi:disable-default-providers``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_random as random

from platform_infra.validation import (
    ValidationError,
    require_aws_account_id,
    require_guid,
    require_int,
    require_pattern,
)

ENVIRONMENT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,15}$")
AWS_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
AZURE_LOCATION_PATTERN = re.compile(r"^[a-z][a-z0-9]{2,39}$")
IAM_ROLE_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{1,64}$")
#: A named profile of the AWS shared config file (``[profile NAME]``): no spaces, brackets or '#'/';'.
AWS_PROFILE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=@-]{0,63}$")
SESSION_NAME_PATTERN = re.compile(r"[^\w+=,.@-]")
SESSION_TAG_KEY_PATTERN = re.compile(r"^(?![aA][wW][sS]:)[\w.:/=+@ -]{1,128}$")
SESSION_TAG_VALUE_PATTERN = re.compile(r"^[\w.:/=+@ -]{0,256}$")

MIN_SESSION_SECONDS = 900
MAX_SESSION_SECONDS = 43200

#: The tags every resource must carry; ``environment`` is always the environment's own name.
MANDATORY_TAGS = ("owner", "cost-centre", "environment")


class Tier(StrEnum):
    """How critical an environment is; components harden themselves by tier (e.g. prod is protected)."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


TIER_VALUES = frozenset(tier.value for tier in Tier)
"""The tiers' string values; a ``Tier`` compares equal to its value, so both are accepted."""


@dataclass(frozen=True)
class AwsTarget:
    """The AWS account a stack deploys into, reached by assuming ``deploy_role_name`` in it.

    :param account_id: 12-digit account id; also the only entry of the provider's ``allowed_account_ids``.
    :param region: AWS region, e.g. ``eu-west-1``.
    :param deploy_role_name: name of the IAM role in ``account_id`` that the pipeline identity assumes.
    :param session_duration_seconds: assumed-role session length, 900 to 43200 seconds.
    :param external_id: optional external id required by the role's trust policy (keep it a Pulumi secret).
    :param session_tags: session tags passed when assuming the role; a deploy role built with a required
        session tag (``DeployRoleArgs.session_tag``) refuses every AssumeRole that does not pass it.
    :param profile: a named profile of the AWS shared config file. When set, the provider's only credential
        input is this name (no ``assume_roles``): the profile says which role to assume, so every job that
        plans, previews, drift-checks or applies the stack gives the provider identical inputs while each
        job's profile names its own role (:mod:`platform_infra.aws_profile`, docs/pipelines.md).
        ``allowed_account_ids`` still refuses any other account. Session tags cannot be set in a profile.
    :param preview_role_name: the read-only role in ``account_id`` that preview and drift jobs assume (the
        shared stack's ``targets[].previewRoleName``); only used to write the preview jobs' profile.
    """

    account_id: str
    region: str
    deploy_role_name: str
    session_duration_seconds: int = 3600
    external_id: pulumi.Input[str] | None = None
    session_tags: Mapping[str, str] = field(default_factory=dict)
    profile: str | None = None
    preview_role_name: str = "platform-preview"

    def __post_init__(self) -> None:
        require_aws_account_id("AwsTarget.account_id", self.account_id)
        require_pattern("AwsTarget.region", self.region, AWS_REGION_PATTERN, "an AWS region like eu-west-1")
        require_pattern(
            "AwsTarget.deploy_role_name",
            self.deploy_role_name,
            IAM_ROLE_NAME_PATTERN,
            "1-64 characters of letters, digits and +=,.@_-",
        )
        require_pattern(
            "AwsTarget.preview_role_name",
            self.preview_role_name,
            IAM_ROLE_NAME_PATTERN,
            "1-64 characters of letters, digits and +=,.@_-",
        )
        if self.profile is not None:
            require_pattern(
                "AwsTarget.profile",
                self.profile,
                AWS_PROFILE_PATTERN,
                "1-64 letters, digits and _.+=@-, starting with a letter or digit",
            )
            if self.session_tags:
                raise ValidationError(
                    "AwsTarget.session_tags",
                    "cannot be passed through a named profile (a shared config file has no session tags)",
                    allowed="session_tags without profile, or profile without session_tags",
                )
        require_int(
            "AwsTarget.session_duration_seconds",
            self.session_duration_seconds,
            minimum=MIN_SESSION_SECONDS,
            maximum=MAX_SESSION_SECONDS,
        )
        for key, value in self.session_tags.items():
            require_pattern(
                "AwsTarget.session_tags",
                key,
                SESSION_TAG_KEY_PATTERN,
                "1-128 tag key characters, not starting with aws:",
            )
            require_pattern(
                f"AwsTarget.session_tags.{key}",
                value,
                SESSION_TAG_VALUE_PATTERN,
                "0-256 tag value characters",
            )

    @property
    def partition(self) -> str:
        """The ARN partition the region belongs to."""
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def deploy_role_arn(self) -> str:
        """ARN of the role the provider assumes."""
        return f"arn:{self.partition}:iam::{self.account_id}:role/{self.deploy_role_name}"

    @property
    def preview_role_arn(self) -> str:
        """ARN of the read-only role preview and drift jobs assume."""
        return f"arn:{self.partition}:iam::{self.account_id}:role/{self.preview_role_name}"


@dataclass(frozen=True)
class AzureTarget:
    """The Azure subscription a stack deploys into.

    :param subscription_id: subscription GUID the provider is pinned to.
    :param tenant_id: Entra ID tenant GUID.
    :param location: default Azure region, e.g. ``westeurope``.
    """

    subscription_id: str
    tenant_id: str
    location: str

    def __post_init__(self) -> None:
        require_guid("AzureTarget.subscription_id", self.subscription_id)
        require_guid("AzureTarget.tenant_id", self.tenant_id)
        require_pattern(
            "AzureTarget.location", self.location, AZURE_LOCATION_PATTERN, "an Azure location like westeurope"
        )


@dataclass(frozen=True, init=False)
class Environment:
    """One deployment environment (one stack), in AWS, Azure or both.

    :param name: short lower-case name used in resource names, e.g. ``dev``.
    :param tier: dev, staging or prod (a :class:`Tier` or its string value).
    :param aws: where AWS resources go; None for an Azure-only team.
    :param azure: where Azure resources go; None for an AWS-only team.
    :param tags: tags for every resource; must hold ``owner`` and ``cost-centre``; ``environment`` is added.
    """

    name: str
    tier: Tier
    aws_target: AwsTarget | None
    """The AWS target, or None (:attr:`aws` raises a clear error then)."""
    azure_target: AzureTarget | None
    """The Azure target, or None (:attr:`azure` raises a clear error then)."""
    tags: Mapping[str, str]

    def __init__(
        self,
        name: str,
        tier: Tier | str,
        aws: AwsTarget | None = None,
        azure: AzureTarget | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        require_pattern(
            "Environment.name",
            name,
            ENVIRONMENT_NAME_PATTERN,
            "2-16 lower-case letters, digits or '-', starting with a letter",
        )
        if tier not in TIER_VALUES:  # a Tier, or its plain string value ("dev" is Tier.DEV)
            raise ValidationError(
                "Environment.tier", "is not a tier", value=tier, allowed="dev, staging, prod"
            )
        if aws is None and azure is None:
            raise ValidationError(
                "Environment", "needs a cloud", allowed="aws=AwsTarget(...), azure=AzureTarget(...) or both"
            )
        merged = {**(tags or {}), "environment": name}
        for tag in MANDATORY_TAGS:
            if not merged.get(tag):
                raise ValidationError(f"Environment.tags.{tag}", "is required", allowed="a non-empty string")
        for attribute, value in (
            ("name", name),
            ("tier", Tier(tier)),
            ("aws_target", aws),
            ("azure_target", azure),
            ("tags", merged),
        ):
            object.__setattr__(self, attribute, value)

    @property
    def aws(self) -> AwsTarget:
        """The AWS target; a ValidationError naming the environment when it has none."""
        if self.aws_target is None:
            raise ValidationError(
                "Environment.aws",
                f"is not set: environment '{self.name}' has no AWS target for AWS resources",
                allowed="Environment(aws=AwsTarget(...))",
            )
        return self.aws_target

    @property
    def azure(self) -> AzureTarget:
        """The Azure target; a ValidationError naming the environment when it has none."""
        if self.azure_target is None:
            raise ValidationError(
                "Environment.azure",
                f"is not set: environment '{self.name}' has no Azure target for Azure resources",
                allowed="Environment(azure=AzureTarget(...))",
            )
        return self.azure_target

    @property
    def is_prod(self) -> bool:
        """True for the production tier."""
        return self.tier is Tier.PROD


def session_name(project: str, stack: str) -> str:
    """An STS session name that says which project and stack made a call (shows up in CloudTrail)."""
    return SESSION_NAME_PATTERN.sub("-", f"pulumi-{project}-{stack}")[:64]


@dataclass(frozen=True)
class EnvironmentProvidersArgs:
    """Arguments of :class:`EnvironmentProviders`.

    :param environment: the environment the providers deploy into.
    :param project: the Pulumi project name, used in the STS session name.
    """

    environment: Environment
    project: str


class EnvironmentProviders(pulumi.ComponentResource):
    """Explicit AWS, azure-native and random providers for one environment.

    The AWS provider assumes the environment's deploy role and refuses to act in any account other than the
    environment's own (``allowed_account_ids``); the azure-native provider is pinned to the environment's
    subscription and tenant. Pass :attr:`resource_options` (or ``providers=self.all``) to every component.
    """

    aws_provider: aws.Provider | None
    """Provider acting as the deploy role in the environment's AWS account (None without an AWS target)."""
    azure_provider: azure_native.Provider | None
    """Provider pinned to the environment's Azure subscription (None without an Azure target)."""
    random: random.Provider
    """Provider for pulumi_random (needed because default providers are disabled)."""
    aws_role_arn: str | None
    """The deploy role ARN the AWS provider assumes (None without an AWS target)."""

    def __init__(
        self, name: str, args: EnvironmentProvidersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("platform:env:EnvironmentProviders", name, None, opts)
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)
        self.environment = env
        self.aws_role_arn = env.aws.deploy_role_arn if env.aws_target is not None else None
        self.aws_provider = self._aws_provider(name, args, child) if env.aws_target is not None else None
        self.azure_provider = None
        if env.azure_target is not None:
            self.azure_provider = azure_native.Provider(
                f"{name}-azure",
                azure_native.ProviderArgs(
                    subscription_id=env.azure.subscription_id,
                    tenant_id=env.azure.tenant_id,
                    location=env.azure.location,
                ),
                opts=child,
            )
        self.random = random.Provider(f"{name}-random", opts=child)
        outputs: dict[str, object] = {}
        if env.aws_target is not None:
            outputs |= {"awsRoleArn": self.aws_role_arn, "allowedAccountIds": [env.aws.account_id]}
        if env.azure_target is not None:
            outputs["azureSubscriptionId"] = env.azure.subscription_id
        self.register_outputs(outputs)

    @staticmethod
    def _aws_provider(
        name: str, args: EnvironmentProvidersArgs, child: pulumi.ResourceOptions
    ) -> aws.Provider:
        env = args.environment
        target = env.aws
        if target.profile is not None:
            # The role lives in the profile, not in the provider's inputs: a saved plan made by the read-only
            # identity is applied by the deploying one, and `pulumi up --plan` refuses any provider input that
            # differs from the plan ("violates plan", pulumi/pulumi pkg/resource/deploy/plan.go checkGoal /
            # checkDiff); a drift check's provider would also show as changed (every explicit provider's
            # DiffConfig reports changed inputs, pulumi-terraform-bridge pkg/tfbridge/provider.go).
            return aws.Provider(
                f"{name}-aws",
                aws.ProviderArgs(
                    region=target.region,
                    allowed_account_ids=[target.account_id],
                    profile=target.profile,
                    default_tags=aws.ProviderDefaultTagsArgs(tags=dict(env.tags)),
                ),
                opts=child,
            )
        return aws.Provider(
            f"{name}-aws",
            aws.ProviderArgs(
                region=target.region,
                allowed_account_ids=[target.account_id],
                assume_roles=[
                    aws.ProviderAssumeRoleArgs(
                        role_arn=target.deploy_role_arn,
                        session_name=session_name(args.project, pulumi.get_stack()),
                        external_id=target.external_id,
                        duration=f"{target.session_duration_seconds}s",
                        tags=dict(target.session_tags) or None,
                    )
                ],
                default_tags=aws.ProviderDefaultTagsArgs(tags=dict(env.tags)),
            ),
            opts=child,
        )

    @property
    def aws(self) -> aws.Provider:
        """The AWS provider; a ValidationError naming the environment when it has no AWS target."""
        if self.aws_provider is None:
            self.environment.aws  # noqa: B018 (raises the error that names the environment)
        assert self.aws_provider is not None
        return self.aws_provider

    @property
    def azure(self) -> azure_native.Provider:
        """The azure-native provider; a ValidationError naming the environment when it has no Azure target."""
        if self.azure_provider is None:
            self.environment.azure  # noqa: B018 (raises the error that names the environment)
        assert self.azure_provider is not None
        return self.azure_provider

    @property
    def all(self) -> list[pulumi.ProviderResource]:
        """Every provider the environment has, for ``ResourceOptions(providers=...)``."""
        present = [self.aws_provider, self.azure_provider, self.random]
        return [provider for provider in present if provider is not None]

    def resource_options(self, **kwargs: object) -> pulumi.ResourceOptions:
        """Options that route a component's children to these providers (extra options pass through)."""
        return pulumi.ResourceOptions(providers=self.all, **kwargs)  # type: ignore[arg-type]
