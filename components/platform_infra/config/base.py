"""The building blocks of the config models: one base class, field types with this project's wording, and
the translation of pydantic's errors into this project's one-line messages.

Every rule a field type or model validator applies raises :class:`Problem` (what is wrong, the value, what
is allowed, optionally a sub-key). Pydantic collects them for the whole stack file; :func:`collect` turns
each into a :class:`~platform_infra.validation.ValidationError` line naming the stack and the full key
(``platform:vault.secrets[1].length``). Pydantic's own wording never reaches a user: its few structural
error types (missing key, unknown key, not a mapping, not a list) are mapped to fixed sentences, anything
else becomes "is not valid".

Secrets: :class:`SecretValue` is the one marker of a value that must come from a ``secure:`` entry; and
:func:`collect` never shows a value under a top-level key the source reports as secret (Pulumi marks the
whole top-level key secret when any nested value of it is ``secure:``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from platform_infra.validation import NOT_GIVEN, ValidationError

NAMESPACE = "platform"

T = TypeVar("T")


class Problem(ValueError):
    """One rule violation found while validating config; formatted by :func:`collect`.

    :param problem: what is wrong (``is out of range``).
    :param value: the rejected value (never printed when the key is secret).
    :param allowed: what would have been accepted.
    :param at: a path below the validated value where the problem is (``("stickySettings", 0)``).
    :param secret: true when the value must never be printed.
    """

    def __init__(
        self,
        problem: str,
        *,
        value: object = NOT_GIVEN,
        allowed: str | None = None,
        at: Sequence[str | int] = (),
        secret: bool = False,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.value = value
        self.allowed = allowed
        self.at = tuple(at)
        self.secret = secret

    @classmethod
    def of(cls, error: ValidationError, at: Sequence[str | int] = ()) -> Problem:
        """The verdict of a component's :class:`ValidationError`, to be reported under the config key."""
        return cls(error.problem, value=error.value, allowed=error.allowed, at=at, secret=error.secret)


class Problems(ValueError):
    """Several independent problems found by one validator (each is reported on its own line)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.problem for p in problems))
        self.problems = tuple(problems)


def rule(
    check: Callable[..., T], value: object, *args: Any, at: Sequence[str | int] = (), **kwargs: Any
) -> T:
    """Apply a shared check ``check(key, value, ...)`` (raising ValidationError) as a config rule.

    The check gets the key ``""``; an error it names below that key (``".owner"``) is reported there.
    """
    try:
        return check("", value, *args, **kwargs)
    except ValidationError as error:
        below = (error.key[1:],) if error.key.startswith(".") else ()
        raise Problem.of(error, (*at, *below)) from None


def secret_refused() -> Problem:
    """The refusal of a ``secure:`` value where it would reach resource inputs in clear."""
    return Problem(
        "is stored as a secret (secure:), but its values go into resource inputs that Pulumi would keep in "
        "clear in state and previews (names, tags, regions are not secret)",
        allowed="a plain value (pulumi config set without --secret), or a Key Vault secret for sensitive "
        "app settings",
        secret=True,
    )


class ConfigErrors(ValidationError):
    """Every problem of a stack's config, one line each; ``key`` and ``problem`` are the first one's."""

    def __init__(self, errors: Sequence[ValidationError]) -> None:
        first = errors[0]
        super().__init__(
            first.key,
            first.problem,
            value=first.value,
            allowed=first.allowed,
            stack=first.stack,
            secret=first.secret,
        )
        self.errors = tuple(errors)
        self.args = ("\n".join(str(error) for error in errors),)


class ConfigModel(BaseModel):
    """Base of every config section: camelCase keys, unknown keys refused, immutable, ``null`` = unset."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        arbitrary_types_allowed=True,
    )

    @pydantic.model_validator(mode="before")
    @classmethod
    def _null_is_unset(cls, data: Any) -> Any:
        # YAML `key:` with no value, or `key: null`, means the default, as `pulumi config` reads it.
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v is not None}
        return data

    @classmethod
    def keys(cls) -> list[str]:
        """The config keys of this section, as spelled in a stack file."""
        return sorted(field.alias or name for name, field in cls.model_fields.items())


# -- field types: each checks with this project's wording and describes itself in the JSON Schema --------


def text(value: object, pattern: re.Pattern[str] | None, allowed: str) -> str:
    """``value`` if it is a non-empty string matching ``pattern``; a Problem otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise Problem("must be a non-empty string", value=value, allowed=allowed)
    if pattern is not None and not pattern.fullmatch(value):
        raise Problem("has an invalid format", value=value, allowed=allowed)
    return value


def _schema_pattern(pattern: re.Pattern[str] | None) -> dict[str, Any]:
    # Python-only syntax (inline flags) has no JSON Schema (ECMA 262) equivalent: leave such patterns out.
    if pattern is None or pattern.flags & re.IGNORECASE or "(?" in pattern.pattern.replace("(?!", ""):
        return {}
    return {"pattern": pattern.pattern}


class Rule:
    """Field metadata (``Annotated[str, Rule(...)]``): how a value is checked, and its JSON Schema.

    :param check: returns the accepted value or raises :class:`Problem`; pydantic's own checks never run,
        so every message is this project's.
    :param schema: what editors and ``infra schema`` are told about the value.
    :param allowed: what is accepted, in words (the generated docs' "allowed" column).
    """

    def __init__(
        self, check: Callable[[Any], Any], schema: Mapping[str, Any], allowed: str | None = None
    ) -> None:
        self.check = check
        self.schema = dict(schema)
        self.allowed = allowed

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        return dict(self.schema)


def _then(value: T, checks: Sequence[Callable[..., Any]]) -> T:
    for check in checks:
        value = rule(check, value)
    return value


def Text(
    pattern: re.Pattern[str] | None = None,
    allowed: str = "a string",
    *,
    then: Sequence[Callable[..., Any]] = (),
) -> Rule:
    """A non-empty string, matching ``pattern`` when given, then accepted by each shared check in ``then``."""
    return Rule(
        lambda v: _then(text(v, pattern, allowed), then),
        {"type": "string", "minLength": 1, **_schema_pattern(pattern)},
        None if allowed == "a string" else allowed,
    )


def _integer(value: object, minimum: int | None, maximum: int | None) -> int:
    from platform_infra.validation import require_int

    return rule(require_int, value, minimum=minimum, maximum=maximum)


def Int(
    minimum: int | None = None, maximum: int | None = None, *, then: Sequence[Callable[..., Any]] = ()
) -> Rule:
    """A whole number in ``[minimum, maximum]`` (booleans are refused), then accepted by ``then``."""
    schema: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    if minimum is not None and maximum is not None:
        allowed: str | None = f"{minimum} to {maximum}"
    elif minimum is not None:
        allowed = f">= {minimum}"
    else:
        allowed = f"<= {maximum}" if maximum is not None else None
    return Rule(lambda v: _then(_integer(v, minimum, maximum), then), schema, allowed)


def _boolean(value: object) -> bool:
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise Problem("must be true or false", value=value, allowed="true, false")
    return value


Bool = Annotated[bool, Rule(_boolean, {"type": "boolean"}, "true, false")]
"""true/false (the strings "true"/"false" are accepted too, as ``pulumi config set`` writes them)."""


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Problem("must be a number", value=value, allowed="a number")
    return value


Number = Annotated[float, Rule(_number, {"type": "number"}, "a number")]
"""A finite number."""


def _choice(value: object, choices: Collection[str]) -> str:
    if value not in choices:
        raise Problem("is not one of the allowed values", value=value, allowed=", ".join(choices))
    return str(value)


def Choice(*choices: str) -> Rule:
    """One of ``choices`` (case-sensitive, as the cloud APIs are)."""
    return Rule(lambda v: _choice(v, choices), {"enum": list(choices)}, ", ".join(choices))


def Checked(
    check: Callable[..., Any], schema: Mapping[str, Any], allowed: str | None = None, **kwargs: Any
) -> Rule:
    """A value accepted by a shared check ``check(key, value, ...)`` (the rule stated once)."""
    if allowed is None and "enum" in schema:
        allowed = ", ".join(str(value) for value in schema["enum"])
    return Rule(lambda v: rule(check, v, **kwargs), schema, allowed)


def plain_map(value: object) -> dict[str, str]:
    """A mapping of names to plain values, numbers and booleans turned into strings."""
    if not isinstance(value, Mapping):
        raise Problem("must be a mapping of keys to values", value=value)
    result: dict[str, str] = {}
    problems = []
    for key, item in value.items():
        if isinstance(item, Mapping | list) or item is None:
            problems.append(Problem("must be a plain value", value=item, at=(str(key),)))
            continue
        result[str(key)] = str(item).lower() if isinstance(item, bool) else str(item)
    if problems:
        raise Problems(problems)
    return result


PlainMap = Annotated[
    dict[str, str],
    Rule(plain_map, {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}),
]
"""A mapping of names to plain values (numbers and booleans become strings: app settings, dimensions)."""


def TextList(pattern: re.Pattern[str] | None = None, allowed: str = "a string") -> Rule:
    """A list of strings matching ``pattern``."""

    def check(value: object) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise Problem("must be a list", value=value)
        problems = [
            Problem("is not valid", value=item, allowed=allowed, at=(index,))
            for index, item in enumerate(value)
            if not isinstance(item, str) or (pattern is not None and not pattern.fullmatch(item))
        ]
        if problems:
            raise Problems(problems)
        return tuple(value)

    return Rule(
        check,
        {"type": "array", "items": {"type": "string", **_schema_pattern(pattern)}},
        None if allowed == "a string" else f"each: {allowed}",
    )


def each(check: Callable[..., T], **kwargs: Any) -> Callable[[object], tuple[T, ...]]:
    """A list validator applying a component's check to every item (problems keyed ``name[i]``)."""

    def validate(value: object) -> tuple[T, ...]:
        if not isinstance(value, list | tuple):
            raise Problem("must be a list", value=value)
        result: list[T] = []
        problems: list[Problem] = []
        for index, item in enumerate(value):
            try:
                result.append(rule(check, item, at=(index,), **kwargs))
            except Problem as problem:
                problems.append(problem)
        if problems:
            raise Problems(problems)
        return tuple(result)

    return validate


def CheckedList(check: Callable[..., Any], item_schema: Mapping[str, Any], **kwargs: Any) -> Rule:
    """A list whose every item passes a component's check."""
    return Rule(each(check, **kwargs), {"type": "array", "items": dict(item_schema)})


class SecretValue:
    """A value that came from a ``secure:`` entry (a Pulumi secret Output); the only kind of secret config.

    The loader wraps every key the source reports as secret in this class, so a model field typed
    :data:`Secret` accepts it and refuses plain text, and no error ever shows its value.
    """

    def __init__(self, output: Any, plain: Any = None) -> None:
        self.output = output
        self.plain = plain

    def __repr__(self) -> str:
        return "[secret]"


SECURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "secure": {"type": "string", "description": "ciphertext written by pulumi config set --secret"}
    },
    "required": ["secure"],
    "additionalProperties": False,
}


def secret_check(*checks: Callable[..., Any]) -> Rule:
    """A value that must be stored encrypted (``secure:``); its plain text must pass ``checks`` (their errors
    never show it). The model holds the secret Output."""

    def check(value: object) -> Any:
        if not isinstance(value, SecretValue):
            raise Problem("must be set as a secret", secret=True, allowed="pulumi config set --secret <key>")
        if value.plain is not None:
            for shape in checks:
                try:
                    shape("", value.plain)
                except ValidationError as error:
                    raise Problem(error.problem, allowed=error.allowed, secret=True) from None
        return value.output

    return Rule(check, SECURE_SCHEMA)


def is_secret_type(annotation: Any) -> bool:
    """True when a field's type is a secret value (built by :func:`secret_check`), possibly optional."""
    import typing

    if any(
        isinstance(m, Rule) and m.schema == SECURE_SCHEMA for m in getattr(annotation, "__metadata__", ())
    ):
        return True
    return any(is_secret_type(arg) for arg in typing.get_args(annotation))


Secret = Annotated[Any, secret_check()]
"""A config value that must be stored encrypted (``secure:``); the model holds its secret Output."""


def field(description: str, default: Any = ..., **kwargs: Any) -> Any:
    """A model field with its description (shown in editors and the generated docs)."""
    return Field(default, description=description, **kwargs)


# -- errors: pydantic's findings -> this project's one-line messages ----------------------------------------


def key_of(loc: Iterable[str | int]) -> str:
    """``("vault", "secrets", 1, "length")`` -> ``platform:vault.secrets[1].length``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else f"{NAMESPACE}:{part}"
    return text


def _known_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys of the model found at ``loc`` below ``model`` (for "is not a known key" messages)."""
    current: Any = model
    for part in loc:
        current = _inner(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, ConfigModel):
        return current.keys()
    return []


def _inner(annotation: Any, part: str | int) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if (info.alias or name) == part:
                return _unwrap(info.annotation)
        return None
    if isinstance(part, int):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return _unwrap(args[0]) if args else None
    return None


def _unwrap(annotation: Any) -> Any:
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


_STRUCTURE = {
    "missing": "is required but not set",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
}


def collect(
    error: pydantic.ValidationError,
    *,
    stack: str,
    model: type[BaseModel],
    prefix: Sequence[str | int] = (),
    secret_keys: Collection[str] = (),
) -> list[ValidationError]:
    """One :class:`ValidationError` per problem pydantic collected while validating ``model``.

    :param prefix: the location of ``model`` in the stack config (``("vault",)``), () for the whole config.
    :param secret_keys: top-level keys whose values must never be shown (secret in the source).
    """
    found: list[ValidationError] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        cause = (item.get("ctx") or {}).get("error")
        problems: Sequence[Problem]
        if isinstance(cause, Problems):
            problems = cause.problems
        elif isinstance(cause, Problem):
            problems = [cause]
        elif item["type"] == "extra_forbidden":
            known = _known_keys(model, loc[:-1])
            problems = [Problem("is not a known key", allowed=", ".join(known) or None)]
        elif item["type"] in _STRUCTURE:
            value = NOT_GIVEN if item["type"] == "missing" else item.get("input")
            problems = [Problem(_STRUCTURE[item["type"]], value=value)]
        else:  # never pydantic's own sentence
            problems = [Problem("is not valid", value=item.get("input"))]
        for problem in problems:
            path = (*prefix, *loc, *problem.at)
            secret = problem.secret or (bool(path) and path[0] in secret_keys)
            allowed = problem.allowed.replace("<key>", key_of(path)) if problem.allowed else None
            found.append(
                ValidationError(
                    key_of(path),
                    problem.problem,
                    value=NOT_GIVEN if secret else problem.value,
                    allowed=allowed,
                    stack=stack,
                    secret=secret and (problem.value is not NOT_GIVEN or problem.secret),
                )
            )
    return found


def validate_section(
    model: type[BaseModel],
    raw: object,
    *,
    stack: str,
    loc: Sequence[str | int],
    context: Mapping[str, Any],
    errors: list[ValidationError],
    secret_keys: Collection[str] = (),
) -> Any:
    """``model`` validated from ``raw``, or None with its problems appended to ``errors``."""
    try:
        return model.model_validate(raw, context=dict(context))
    except pydantic.ValidationError as error:
        errors.extend(collect(error, stack=stack, model=model, prefix=loc, secret_keys=secret_keys))
        return None


__all__ = [
    "BeforeValidator",
    "Bool",
    "Checked",
    "CheckedList",
    "Choice",
    "ConfigErrors",
    "ConfigModel",
    "Int",
    "Number",
    "PlainMap",
    "Problem",
    "Problems",
    "Secret",
    "SecretValue",
    "Text",
    "TextList",
    "collect",
    "field",
    "key_of",
    "rule",
]
