"""components/validation.py: the shared validators and the error message format."""

from __future__ import annotations

import pulumi
import pytest
from platform_infra.validation import (
    ValidationError,
    require_aws_account_id,
    require_email,
    require_guid,
    require_int,
    require_one_of,
)


def test_message_names_stack_key_value_and_allowed() -> None:
    error = ValidationError("platform:x", "is wrong", value=42, allowed="1 or 2", stack="prod")
    assert str(error) == "stack 'prod': platform:x: is wrong (got 42); allowed: 1 or 2"


def test_secret_values_are_never_in_the_message() -> None:
    error = ValidationError("platform:pw", "is too short", value="hunter2", secret=True, stack="dev")
    assert "hunter2" not in str(error)
    assert "value not shown" in str(error)


def test_is_a_run_error_so_pulumi_prints_no_traceback() -> None:
    assert issubclass(ValidationError, pulumi.RunError)


def test_stack_defaults_to_the_running_stack(pulumi_run) -> None:
    caught: list[ValidationError] = []

    def program() -> None:
        try:
            require_int("Thing.count", 0, minimum=1)
        except ValidationError as error:
            caught.append(error)

    pulumi_run(program, stack="staging")
    assert caught[0].stack == "staging"
    assert "allowed: >= 1" in str(caught[0])


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (require_aws_account_id, "12345678901"),
        (require_aws_account_id, "12345678901a"),
        (require_guid, "0000-0000"),
        (require_email, "team@localhost"),
        (require_email, "no-at-sign.example.com"),
    ],
)
def test_format_validators_refuse_bad_values(check, value: str) -> None:
    with pytest.raises(ValidationError, match="invalid format"):
        check("k", value, stack="dev")


def test_int_refuses_bools_and_fractions() -> None:
    with pytest.raises(ValidationError, match="whole number"):
        require_int("k", True, stack="dev")
    with pytest.raises(ValidationError, match="whole number"):
        require_int("k", 1.5, stack="dev")
    assert require_int("k", 7.0, minimum=1, maximum=10, stack="dev") == 7


def test_one_of_lists_the_choices() -> None:
    with pytest.raises(ValidationError, match="allowed: a, b"):
        require_one_of("k", "c", ["a", "b"], stack="dev")
