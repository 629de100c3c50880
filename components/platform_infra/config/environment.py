"""``platform:environment``, ``platform:tier``, ``platform:aws``, ``platform:azure``, ``platform:tags``."""

from __future__ import annotations

import re

import pulumi

from platform_infra.config.reader import ConfigReader
from platform_infra.environment import (
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
    require_external_id,
    require_tags,
)

TAG_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:/=+@-]{1,128}$")
REQUIRED_TAGS = ("owner", "cost-centre")


def read_environment(reader: ConfigReader) -> Environment:
    """Validate the environment keys into an :class:`Environment`."""
    top = reader.top()
    name = top.string(
        "environment",
        default=reader.stack,
        pattern=ENVIRONMENT_NAME_PATTERN,
        allowed="2-16 lower-case letters, digits or '-', starting with a letter",
    )
    tier = Tier(top.choice("tier", [t.value for t in Tier]))

    aws = reader.section("aws", required=True)
    aws.reject_unknown({"accountId", "region", "deployRoleName", "sessionDurationSeconds"})
    aws_target = AwsTarget(
        account_id=aws.string("accountId", pattern=AWS_ACCOUNT_ID_PATTERN, allowed=AWS_ACCOUNT_ID_ALLOWED),
        region=require_aws_region(
            aws.key("region"),
            aws.string("region", pattern=AWS_REGION_PATTERN, allowed="an AWS region like eu-west-1"),
            stack=reader.stack,
        ),
        deploy_role_name=aws.string(
            "deployRoleName",
            pattern=IAM_ROLE_NAME_PATTERN,
            allowed="an IAM role name: 1-64 of letters, digits, +=,.@_-",
        ),
        # The pipeline reaches the deploy role from its own assumed role: role chaining, one hour at most.
        session_duration_seconds=require_chained_session_duration(
            aws.key("sessionDurationSeconds"),
            aws.integer(
                "sessionDurationSeconds",
                default=3600,
                minimum=MIN_SESSION_SECONDS,
                maximum=MAX_SESSION_SECONDS,
            ),
            stack=reader.stack,
        ),
        external_id=_read_external_id(reader),
    )

    azure = reader.section("azure", required=True)
    azure.reject_unknown({"subscriptionId", "tenantId", "location"})
    azure_target = AzureTarget(
        subscription_id=azure.string("subscriptionId", pattern=GUID_PATTERN, allowed=GUID_ALLOWED).lower(),
        tenant_id=azure.string("tenantId", pattern=GUID_PATTERN, allowed=GUID_ALLOWED).lower(),
        location=require_azure_location(
            azure.key("location"),
            azure.string(
                "location", pattern=AZURE_LOCATION_PATTERN, allowed="an Azure location like westeurope"
            ),
            stack=reader.stack,
        ),
    )

    tags = _read_tags(reader)
    return Environment(name=name, tier=tier, aws=aws_target, azure=azure_target, tags=tags)


def _read_external_id(reader: ConfigReader) -> pulumi.Output[str] | None:
    """The secret ``platform:awsExternalId``, checked against STS's limits without printing it."""
    secret = reader.secret("awsExternalId")
    if secret is not None:
        # The program sees secret config in plain text too (Config.get); only its shape is checked here.
        plain = reader.value("awsExternalId")
        if plain is not None:
            require_external_id(reader.key("awsExternalId"), str(plain), stack=reader.stack)
    return secret


def _read_tags(reader: ConfigReader) -> dict[str, str]:
    section = reader.section("tags", required=True)
    for key in section.values:
        if not isinstance(key, str) or not TAG_KEY_PATTERN.fullmatch(key):
            raise section.error(
                str(key), "is not a valid tag name", allowed="1-128 letters, digits and _.:=+@-"
            )
        if key.casefold() == "environment":
            raise section.error(key, "is set from platform:environment and cannot be overridden")
        section.string(key, allowed="a non-empty tag value")
    tags = require_tags(section.path, section.values, stack=reader.stack)
    for required in REQUIRED_TAGS:
        section.string(required, allowed="a non-empty tag value")
    return tags
