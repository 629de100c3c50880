"""Input validation shared by every component and by the stack configuration loader.

Every rejected input raises :class:`ValidationError`, whose message always names the stack, the config key
or component argument, the offending value (never the value of a secret) and what is allowed. It derives
from :class:`pulumi.RunError` so that a real ``pulumi up`` prints the message without a traceback.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Collection
from typing import TypeVar

import pulumi

T = TypeVar("T")

_NOT_GIVEN = object()
NOT_GIVEN = _NOT_GIVEN
"""Marks a ValidationError that has no value to show (``error.value is NOT_GIVEN``)."""

GUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
AWS_ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
#: Azure resource group names: 1-90 of letters, digits, '_', '-', '.', '(' and ')', not ending in '.'.
AZURE_RESOURCE_GROUP_PATTERN = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
AZURE_RESOURCE_GROUP_ALLOWED = "1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'"


def current_stack() -> str:
    """The running stack's name, or ``<unknown>`` outside a Pulumi program (e.g. a plain unit test)."""
    try:
        return pulumi.get_stack()
    except Exception:  # no Pulumi runtime configured: the error must still be raisable
        return "<unknown>"


class ValidationError(pulumi.RunError, ValueError):
    """An invalid config value or component argument, reported before any resource is registered.

    :param key: the config key (``platform:aws.accountId``) or argument (``BlueGreenAppService(web).sku``).
    :param problem: what is wrong, e.g. ``must be 12 digits``.
    :param value: the rejected value; omitted from the message when ``secret`` is true.
    :param allowed: what would have been accepted.
    :param stack: the stack being deployed; defaults to the running stack.
    :param secret: true when ``value`` is a secret and must never be printed.
    """

    def __init__(
        self,
        key: str,
        problem: str,
        *,
        value: object = _NOT_GIVEN,
        allowed: str | None = None,
        stack: str | None = None,
        secret: bool = False,
    ) -> None:
        self.key = key
        self.problem = problem
        self.stack = stack if stack is not None else current_stack()
        self.allowed = allowed
        self.value = value
        self.secret = secret
        parts = [f"stack '{self.stack}': {key}: {problem}"]
        if secret:
            parts.append("(value not shown: it is a secret)")
        elif value is not _NOT_GIVEN:
            parts.append(f"(got {value!r})")
        message = " ".join(parts)
        if allowed:
            message += f"; allowed: {allowed}"
        super().__init__(message)


def validate_when_known(value: pulumi.Input[T], check: Callable[[object], T]) -> pulumi.Input[T]:
    """``check(value)`` now for a plain value, or once the value is known for an output of another resource.

    Arguments that naturally come from other resources (a KMS key's ARN, a subnet's id) accept
    ``pulumi.Input``. A plain value is checked at once, before anything is registered; an ``Output`` is
    checked by ``apply`` when its value is known (under ``pulumi up``, and in previews where it is known),
    failing the deployment with the same one-line message. An unknown value in a preview is not checked.
    """
    if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
        return pulumi.Output.from_input(value).apply(check)
    return check(value)


def require_pattern(
    key: str, value: object, pattern: re.Pattern[str], allowed: str, *, stack: str | None = None
) -> str:
    """Return ``value`` if it is a string matching ``pattern``; raise a ValidationError otherwise."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValidationError(key, "has an invalid format", value=value, allowed=allowed, stack=stack)
    return value


GUID_ALLOWED = "a GUID like 00000000-0000-0000-0000-000000000000"
AWS_ACCOUNT_ID_ALLOWED = "a 12-digit AWS account id as a quoted string"
EMAIL_ALLOWED = "an e-mail address like team@example.com"


def require_guid(key: str, value: object, *, stack: str | None = None) -> str:
    """A GUID such as an Azure subscription or tenant id, normalised to lower case."""
    return require_pattern(key, value, GUID_PATTERN, GUID_ALLOWED, stack=stack).lower()


def require_aws_account_id(key: str, value: object, *, stack: str | None = None) -> str:
    """A 12-digit AWS account id given as a string (YAML would drop leading zeros from a number)."""
    return require_pattern(key, value, AWS_ACCOUNT_ID_PATTERN, AWS_ACCOUNT_ID_ALLOWED, stack=stack)


def require_email(key: str, value: object, *, stack: str | None = None) -> str:
    """An e-mail address of the form ``name@domain.tld``."""
    return require_pattern(key, value, EMAIL_PATTERN, EMAIL_ALLOWED, stack=stack)


def require_one_of(
    key: str, value: object, choices: Collection[object], *, stack: str | None = None
) -> object:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise ValidationError(
            key, "is not one of the allowed values", value=value, allowed=_list(choices), stack=stack
        )
    return value


def require_int(
    key: str,
    value: object,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    stack: str | None = None,
) -> int:
    """A whole number (bools are refused) within ``[minimum, maximum]``."""
    allowed = _range(minimum, maximum)
    # YAML's .nan and .inf arrive as floats; int() of them raises instead of comparing.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or int(value) != value
    ):
        raise ValidationError(key, "must be a whole number", value=value, allowed=allowed, stack=stack)
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValidationError(key, "is out of range", value=number, allowed=allowed, stack=stack)
    return number


def _range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{minimum} to {maximum}"
    if minimum is not None:
        return f">= {minimum}"
    if maximum is not None:
        return f"<= {maximum}"
    return "a whole number"


def _list(choices: Collection[object]) -> str:
    return ", ".join(str(choice) for choice in choices)
