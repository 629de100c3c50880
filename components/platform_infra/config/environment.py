"""``platform:environment``, ``platform:tier``, ``platform:aws``, ``platform:azure``, ``platform:tags``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from platform_infra.config.base import ConfigModel, Int, Problem, Problems, Rule, Text, field, rule, text
from platform_infra.environment import (
    AWS_PROFILE_PATTERN,
    AWS_REGION_PATTERN,
    AZURE_LOCATION_PATTERN,
    ENVIRONMENT_NAME_PATTERN,
    IAM_ROLE_NAME_PATTERN,
    MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS,
    AwsTarget,
    AzureTarget,
    Environment,
    Tier,
)
from platform_infra.validation import (
    AWS_ACCOUNT_ID_ALLOWED,
    AWS_ACCOUNT_ID_PATTERN,
    GUID_ALLOWED,
    GUID_PATTERN,
)
from platform_infra.validation.limits import (
    require_aws_region,
    require_azure_location,
    require_chained_session_duration,
    require_tags,
)

TAG_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:/=+@-]{1,128}$")
REQUIRED_TAGS = ("owner", "cost-centre")
ENVIRONMENT_NAME_ALLOWED = "2-16 lower-case letters, digits or '-', starting with a letter"
IAM_ROLE_NAME_ALLOWED = "an IAM role name: 1-64 of letters, digits, +=,.@_-"

AccountId = Annotated[str, Text(AWS_ACCOUNT_ID_PATTERN, AWS_ACCOUNT_ID_ALLOWED)]
AwsRegion = Annotated[
    str, Text(AWS_REGION_PATTERN, "an AWS region like eu-west-1", then=[require_aws_region])
]
AzureLocation = Annotated[
    str, Text(AZURE_LOCATION_PATTERN, "an Azure location like westeurope", then=[require_azure_location])
]
RoleName = Annotated[str, Text(IAM_ROLE_NAME_PATTERN, IAM_ROLE_NAME_ALLOWED)]
ProfileName = Annotated[
    str, Text(AWS_PROFILE_PATTERN, "1-64 letters, digits and _.+=@-, starting with a letter or digit")
]


def _guid(value: object) -> str:
    return text(value, GUID_PATTERN, GUID_ALLOWED).lower()


GuidLower = Annotated[
    str,
    Rule(_guid, {"type": "string", "pattern": GUID_PATTERN.pattern}, GUID_ALLOWED),
]
"""A GUID (subscription, tenant, principal), normalised to lower case."""


def _tier(value: object) -> Tier:
    if value not in [t.value for t in Tier]:
        raise Problem(
            "is not one of the allowed values", value=value, allowed=", ".join(t.value for t in Tier)
        )
    return Tier(value)


TierValue = Annotated[Tier, Rule(_tier, {"enum": [t.value for t in Tier]}, "dev, staging, prod")]


class AwsConfig(ConfigModel):
    """``platform:aws``: the AWS account the stack deploys into, through a role assumed there."""

    account_id: AccountId = field("12-digit AWS account id, quoted (YAML would drop leading zeros).")
    region: AwsRegion = field("AWS region of the stack's resources.")
    deploy_role_name: RoleName = field("IAM role in the account that the pipeline identity assumes.")
    # The pipeline reaches the deploy role from its own assumed role: role chaining, one hour at most.
    session_duration_seconds: Annotated[
        int, Int(MIN_SESSION_SECONDS, MAX_SESSION_SECONDS, then=[require_chained_session_duration])
    ] = field("Length of the assumed-role session (role chaining: at most 3600).", 3600)
    profile: ProfileName | None = field(
        "Named AWS profile the provider uses instead of assuming deployRoleName itself; each pipeline job "
        "writes it with its own role (infra aws-profile), so plan, preview, drift check and apply give the "
        "provider identical inputs (docs/pipelines.md).",
        None,
    )
    preview_role_name: RoleName = field(
        "The read-only role in the account that preview and drift jobs assume (bootstrap "
        "targets[].previewRoleName); in the shared stack, its drift check's role in every account.",
        "platform-preview",
    )


class AzureConfig(ConfigModel):
    """``platform:azure``: the Azure subscription the stack deploys into."""

    subscription_id: GuidLower = field("Subscription GUID the provider is pinned to.")
    tenant_id: GuidLower = field("Entra ID tenant GUID.")
    location: AzureLocation = field("Default Azure region of the stack's resources.")


def _tags(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise Problem("must be a mapping of keys to values", value=value)
    problems: list[Problem] = []
    tags: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not TAG_KEY_PATTERN.fullmatch(key):
            problems.append(
                Problem(
                    "is not a valid tag name", allowed="1-128 letters, digits and _.:=+@-", at=(str(key),)
                )
            )
        elif key.casefold() == "environment":
            problems.append(Problem("is set from platform:environment and cannot be overridden", at=(key,)))
        elif not isinstance(item, str) or not item.strip():
            problems.append(
                Problem("must be a non-empty string", value=item, allowed="a non-empty tag value", at=(key,))
            )
        else:
            tags[key] = item
    for required in REQUIRED_TAGS:
        if value.get(required) is None:
            problems.append(Problem("is required but not set", at=(required,)))
    if problems:
        raise Problems(problems)
    return rule(require_tags, tags)


Tags = Annotated[
    dict[str, str],
    Rule(
        _tags,
        {
            "type": "object",
            "required": list(REQUIRED_TAGS),
            "propertyNames": {"pattern": TAG_KEY_PATTERN.pattern, "not": {"const": "environment"}},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
        "tag names of 1-128 letters, digits and _.:=+@- (not environment); owner and cost-centre required",
    ),
]
"""Tags on every resource: ``owner`` and ``cost-centre`` are required; ``environment`` is always added."""

EnvironmentName = Annotated[str, Text(ENVIRONMENT_NAME_PATTERN, ENVIRONMENT_NAME_ALLOWED)]


def build_environment(
    name: str, tier: Tier, aws: AwsConfig, azure: AzureConfig, tags: Mapping[str, str], external_id: Any
) -> Environment:
    """The :class:`Environment` the components take, built 1:1 from the validated sections."""
    return Environment(
        name=name,
        tier=tier,
        aws=AwsTarget(
            account_id=aws.account_id,
            region=aws.region,
            deploy_role_name=aws.deploy_role_name,
            session_duration_seconds=aws.session_duration_seconds,
            external_id=external_id,
            profile=aws.profile,
            preview_role_name=aws.preview_role_name,
        ),
        azure=AzureTarget(
            subscription_id=azure.subscription_id, tenant_id=azure.tenant_id, location=azure.location
        ),
        tags=dict(tags),
    )


__all__ = ["AwsConfig", "AzureConfig", "Tags", "TierValue", "build_environment"]
