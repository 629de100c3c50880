"""``platform:environment``, ``platform:tier``, ``platform:aws``, ``platform:azure``, ``platform:tags``."""

from __future__ import annotations

import re

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
        region=aws.string("region", pattern=AWS_REGION_PATTERN, allowed="an AWS region like eu-west-1"),
        deploy_role_name=aws.string(
            "deployRoleName",
            pattern=IAM_ROLE_NAME_PATTERN,
            allowed="an IAM role name: 1-64 of letters, digits, +=,.@_-",
        ),
        session_duration_seconds=aws.integer(
            "sessionDurationSeconds", default=3600, minimum=MIN_SESSION_SECONDS, maximum=MAX_SESSION_SECONDS
        ),
        external_id=reader.secret("awsExternalId"),
    )

    azure = reader.section("azure", required=True)
    azure.reject_unknown({"subscriptionId", "tenantId", "location"})
    azure_target = AzureTarget(
        subscription_id=azure.string("subscriptionId", pattern=GUID_PATTERN, allowed=GUID_ALLOWED).lower(),
        tenant_id=azure.string("tenantId", pattern=GUID_PATTERN, allowed=GUID_ALLOWED).lower(),
        location=azure.string(
            "location", pattern=AZURE_LOCATION_PATTERN, allowed="an Azure location like westeurope"
        ),
    )

    tags = _read_tags(reader)
    return Environment(name=name, tier=tier, aws=aws_target, azure=azure_target, tags=tags)


def _read_tags(reader: ConfigReader) -> dict[str, str]:
    section = reader.section("tags", required=True)
    tags: dict[str, str] = {}
    for key in section.values:
        if not isinstance(key, str) or not TAG_KEY_PATTERN.fullmatch(key):
            raise section.error(
                str(key), "is not a valid tag name", allowed="1-128 letters, digits and _.:/=+@-"
            )
        if key == "environment":
            raise section.error(key, "is set from platform:environment and cannot be overridden")
        tags[key] = section.string(key, allowed="a non-empty tag value")
    for required in REQUIRED_TAGS:
        section.string(required, allowed="a non-empty tag value")
    return tags
