"""stacks/config/environment.py: every environment key is validated, and errors name stack and key."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from platform_infra.config import DictConfigSource, load_stack_config
from platform_infra.environment import Tier
from platform_infra.validation import ValidationError

VALID: dict[str, Any] = {
    "environment": "dev",
    "tier": "dev",
    "aws": {
        "accountId": "111111111111",
        "region": "eu-west-1",
        "deployRoleName": "platform-deploy",
        "sessionDurationSeconds": 3600,
    },
    "azure": {
        "subscriptionId": "11111111-1111-4111-8111-111111111111",
        "tenantId": "99999999-9999-4999-8999-999999999999",
        "location": "westeurope",
    },
    "tags": {"owner": "platform-team", "cost-centre": "CC-1001"},
}


class _Delete:
    """Marks a key to remove. Its fixed repr keeps the test ids identical in every process: pytest-xdist
    refuses to run when its workers collect different ids (an ``object()`` shows its memory address)."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


def _with(path: str, value: object) -> dict[str, Any]:
    """VALID with the dotted ``path`` set to ``value`` (or removed for DELETE)."""
    config = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target = config
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return config


def test_valid_config_becomes_typed_environment() -> None:
    env = load_stack_config("dev", DictConfigSource(VALID)).environment
    assert env.name == "dev"
    assert env.tier is Tier.DEV
    assert env.aws.deploy_role_arn == "arn:aws:iam::111111111111:role/platform-deploy"
    assert env.aws.session_duration_seconds == 3600
    assert env.azure.subscription_id == "11111111-1111-4111-8111-111111111111"
    assert env.tags == {"owner": "platform-team", "cost-centre": "CC-1001", "environment": "dev"}


def test_defaults_environment_name_to_stack_and_session_to_one_hour() -> None:
    config = _with("environment", DELETE)
    del config["aws"]["sessionDurationSeconds"]
    env = load_stack_config("qa", DictConfigSource(config)).environment
    assert env.name == "qa"
    assert env.aws.session_duration_seconds == 3600


def test_guids_are_normalised_to_lower_case() -> None:
    config = _with("azure.tenantId", "ABCDEF01-2345-4789-8BCD-EF0123456789")
    env = load_stack_config("dev", DictConfigSource(config)).environment
    assert env.azure.tenant_id == "abcdef01-2345-4789-8bcd-ef0123456789"


BAD_INPUTS = [
    # (dotted path in VALID, bad value, config key the error must name, text the error must contain)
    ("tier", "production", "platform:tier", "dev, staging, prod"),
    ("tier", DELETE, "platform:tier", "required"),
    ("environment", "Dev_1", "platform:environment", "lower-case"),
    ("aws", DELETE, "platform:aws", "required"),
    ("aws", "111111111111", "platform:aws", "mapping"),
    ("aws.accountId", "1234", "platform:aws.accountId", "12-digit"),
    ("aws.accountId", 111111111111, "platform:aws.accountId", "non-empty string"),
    ("aws.accountId", DELETE, "platform:aws.accountId", "required"),
    ("aws.region", "Europe", "platform:aws.region", "eu-west-1"),
    ("aws.deployRoleName", "deploy role!", "platform:aws.deployRoleName", "IAM role name"),
    ("aws.sessionDurationSeconds", 60, "platform:aws.sessionDurationSeconds", "900 to 43200"),
    ("aws.sessionDurationSeconds", 50000, "platform:aws.sessionDurationSeconds", "900 to 43200"),
    ("aws.sessionDurationSeconds", "an hour", "platform:aws.sessionDurationSeconds", "whole number"),
    ("aws.sessionDurationSecs", 3600, "platform:aws.sessionDurationSecs", "not a known key"),
    ("azure.subscriptionId", "not-a-guid", "platform:azure.subscriptionId", "GUID"),
    ("azure.tenantId", "1234", "platform:azure.tenantId", "GUID"),
    ("azure.tenantId", DELETE, "platform:azure.tenantId", "required"),
    ("azure.location", "West Europe", "platform:azure.location", "westeurope"),
    ("azure", DELETE, "platform:azure", "required"),
    ("tags.owner", DELETE, "platform:tags.owner", "required"),
    ("tags.cost-centre", "", "platform:tags.cost-centre", "non-empty"),
    ("tags.environment", "prod", "platform:tags.environment", "cannot be overridden"),
    ("tags.bad tag!", "x", "platform:tags.bad tag!", "tag name"),
    ("tags", DELETE, "platform:tags", "required"),
]


@pytest.mark.parametrize(
    ("path", "value", "key", "text"), BAD_INPUTS, ids=[f"{p}={v!r}" for p, v, _, _ in BAD_INPUTS]
)
def test_bad_input_is_refused_naming_stack_and_key(path: str, value: object, key: str, text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load_stack_config("staging", DictConfigSource(_with(path, value)))
    message = str(caught.value)
    assert message.startswith(f"stack 'staging': {key}:"), message
    assert text in message
    assert caught.value.key == key


def test_error_shows_the_bad_value_and_what_is_allowed() -> None:
    with pytest.raises(ValidationError) as caught:
        load_stack_config("prod", DictConfigSource(_with("aws.accountId", "12345")))
    assert "'12345'" in str(caught.value)
    assert re.search(r"allowed: a 12-digit AWS account id", str(caught.value))


def test_plain_text_external_id_is_refused_without_showing_it() -> None:
    config = {**VALID, "awsExternalId": "super-secret-external-id"}
    with pytest.raises(ValidationError) as caught:
        load_stack_config("prod", DictConfigSource(config))
    message = str(caught.value)
    assert "platform:awsExternalId" in message
    assert "must be set as a secret" in message
    assert "super-secret-external-id" not in message


def test_external_id_from_secret_config_stays_secret(pulumi_run) -> None:
    holder: dict[str, Any] = {}

    def program() -> None:
        env = load_stack_config(
            "prod", DictConfigSource(VALID, secrets={"awsExternalId": "ext-1"})
        ).environment
        holder["external_id"] = env.aws.external_id

    pulumi_run(program, stack="prod")
    external_id = holder["external_id"]
    assert external_id is not None
    from pulumi.runtime.sync_await import _sync_await

    assert _sync_await(external_id.is_secret()) is True
    assert _sync_await(external_id.future()) == "ext-1"


def test_the_old_per_job_role_override_is_refused_naming_the_variable() -> None:
    """PLATFORM_AWS_ROLE_NAME made a preview's provider assume another role than the apply's: a saved plan
    could then never be applied (pulumi/pulumi plan.go checkGoal: "violates plan"). It is refused, not
    silently ignored, so a workflow still setting it fails before anything is registered."""
    values = _role_override_values()
    with pytest.raises(ValidationError, match=r"stack 'dev': \$PLATFORM_AWS_ROLE_NAME: is no longer read"):
        load_stack_config(
            "dev", DictConfigSource(values), environ={"PLATFORM_AWS_ROLE_NAME": "platform-preview"}
        )
    unchanged = load_stack_config("dev", DictConfigSource(values), environ={"PLATFORM_AWS_ROLE_NAME": ""})
    assert unchanged.environment.aws.deploy_role_arn == "arn:aws:iam::111111111111:role/platform-deploy"
    assert unchanged.environment.aws.profile == "platform-dev"
    assert unchanged.environment.aws.preview_role_arn == "arn:aws:iam::111111111111:role/platform-preview"


def test_a_bad_profile_name_is_refused_naming_the_key() -> None:
    values = _role_override_values()
    values["aws"] = {**values["aws"], "profile": "has space"}  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match=r"stack 'dev': platform:aws.profile: .*allowed: 1-64 letters"):
        load_stack_config("dev", DictConfigSource(values), environ={})


def _role_override_values() -> dict[str, object]:
    import json as _json

    from platform_infra.cli.plan import read_stack_files

    files = read_stack_files("dev")
    values = {
        k.split(":", 1)[1]: _json.loads(v) if v[:1] in "[{" else v
        for k, v in files.config.items()
        if k.startswith("platform:")
    }
    # Only the environment's own keys: this test is about the provider's role.
    return {k: values[k] for k in ("environment", "tier", "aws", "azure", "tags")}
