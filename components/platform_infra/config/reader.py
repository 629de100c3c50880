"""Typed, path-aware access to raw stack configuration.

A :class:`ConfigSection` wraps one mapping of raw config (for example the value of ``platform:aws``) and
knows its full key, so every error it raises names the exact key (``platform:aws.accountId``) and the stack.
Unknown keys are refused too: a misspelled key must not silently fall back to a default.

Secure values: ``pulumi config set --secret --path 'platform:apps[0].appSettings.X'`` stores one encrypted
leaf, but the program only learns that the top-level key ``platform:apps`` holds a secret (the engine lists
top-level keys in the config's secret keys; pulumi/pulumi sdk/go/common/resource/config/value.go: an object
value is secure when any nested value is) and receives the whole object decrypted. So secretness is tracked
per top-level key: a section read from a secret key never prints a value in its errors, and a capability
must say that it can carry secrets (:meth:`ConfigReader.section` ``secret_allowed``); every other secret key
is refused naming the key, because its values would land in clear in resource inputs, state and previews.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

import pulumi
from pulumi.runtime import config as pulumi_config

from platform_infra.validation import ValidationError, require_int, require_one_of, require_pattern

NAMESPACE = "platform"
_T = TypeVar("_T")


def hide_value(error: ValidationError) -> ValidationError:
    """The same error without the offending value (for errors about a secret key)."""
    return ValidationError(error.key, error.problem, allowed=error.allowed, stack=error.stack, secret=True)


def secret_refused(key: str, stack: str) -> ValidationError:
    """The refusal of a secure value where the capability would put it into resource inputs in clear."""
    return ValidationError(
        key,
        "is stored as a secret (secure:), but its values go into resource inputs that Pulumi would keep in "
        "clear in state and previews (names, tags, regions are not secret)",
        allowed="a plain value (pulumi config set without --secret), or a Key Vault secret for sensitive "
        "app settings",
        stack=stack,
        secret=True,
    )


class ConfigSource(Protocol):
    """Where raw config comes from: the Pulumi runtime, or a dict in tests."""

    def get(self, key: str) -> Any | None:
        """The value of ``<namespace>:<key>`` (objects already parsed from JSON), or None when unset."""
        ...

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        """The value of a secret key as a secret Output, or None when unset."""
        ...

    def is_secret(self, key: str) -> bool:
        """True when the key is stored encrypted (``secure:``) in the stack file."""
        ...

    def present_keys(self) -> Iterable[str]:
        """Every key (without namespace) the stack sets in this namespace."""
        ...


class PulumiConfigSource:
    """Reads the ``platform`` namespace of the running stack's config."""

    def __init__(self, namespace: str = NAMESPACE) -> None:
        self._config = pulumi.Config(namespace)

    def get(self, key: str) -> Any | None:
        raw = self._config.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw  # a plain string value

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        return self._config.get_secret(key)

    def is_secret(self, key: str) -> bool:
        return pulumi.runtime.is_config_secret(self._config.full_key(key))

    def present_keys(self) -> Iterable[str]:
        # The language host hands the program the stack's whole config (set_all_config, or PULUMI_CONFIG
        # in older hosts), so the keys present can be listed even though pulumi.Config cannot.
        prefix = self._config.full_key("")
        present = set(pulumi_config.CONFIG.get()) | set(pulumi_config.get_config_env())
        return sorted(key.removeprefix(prefix) for key in present if key.startswith(prefix))


class DictConfigSource:
    """Config from plain dicts, for tests and for tools that already parsed a stack file.

    :param values: key (without namespace) to value.
    :param secrets: key to secret value; returned wrapped in ``Output.secret``.
    """

    def __init__(self, values: Mapping[str, Any], secrets: Mapping[str, str] | None = None) -> None:
        self._values = dict(values)
        self._secrets = dict(secrets or {})

    def get(self, key: str) -> Any | None:
        return self._values.get(key)

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        if key in self._secrets:
            return pulumi.Output.secret(self._secrets[key])
        return None

    def is_secret(self, key: str) -> bool:
        return key in self._secrets

    def present_keys(self) -> Iterable[str]:
        return sorted({*self._values, *self._secrets})


class ConfigSection:
    """A mapping of raw config at a known key path, with typed getters that raise ValidationError.

    :param path: full key of this mapping, e.g. ``platform:aws``.
    :param values: the raw mapping.
    :param stack: the stack, for error messages.
    :param secret: the values come from a secret (``secure:``) config key: errors never show a value.
    :param secret_probe: for the top-level section, tells which scalar keys are secret (refused).
    """

    def __init__(
        self,
        path: str,
        values: Mapping[str, Any],
        stack: str,
        *,
        secret: bool = False,
        secret_probe: Callable[[str], bool] | None = None,
    ) -> None:
        self.path = path
        self.values = values
        self.stack = stack
        self.secret = secret
        self._secret_probe = secret_probe

    def _checked(self, check: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run a shared validator; in a secret section its error loses the value."""
        try:
            return check(*args, **kwargs)
        except ValidationError as error:
            if self.secret:
                raise hide_value(error) from None
            raise

    def key(self, name: str) -> str:
        """Full key of ``name`` inside this section."""
        return f"{self.path}.{name}" if self.path else f"{NAMESPACE}:{name}"

    def error(self, name: str, problem: str, **kwargs: Any) -> ValidationError:
        """A ValidationError about ``name`` in this section (never with a value in a secret section)."""
        if self.secret:
            kwargs["secret"] = True
        return ValidationError(self.key(name), problem, stack=self.stack, **kwargs)

    def _raw(self, name: str) -> Any | None:
        if self._secret_probe is not None and self._secret_probe(name):
            raise secret_refused(self.key(name), self.stack)
        return self.values.get(name)

    def _get(self, name: str, required: bool) -> Any | None:
        value = self._raw(name)
        if value is None and required:
            raise self.error(name, "is required but not set")
        return value

    def reject_unknown(self, known: Collection[str]) -> None:
        """Refuse keys this section does not define (catches typos that would fall back to defaults)."""
        for name in self.values:
            if name not in known:
                raise self.error(name, "is not a known key", allowed=", ".join(sorted(known)))

    def string(
        self,
        name: str,
        *,
        default: str | None = None,
        required: bool = True,
        pattern: re.Pattern[str] | None = None,
        allowed: str = "a string",
    ) -> str:
        """A string, optionally matched against ``pattern``; ``default`` when unset (if given)."""
        value = self._get(name, required=required and default is None)
        if value is None:
            return default if default is not None else ""
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, "must be a non-empty string", value=value, allowed=allowed)
        if pattern is not None:
            self._checked(require_pattern, self.key(name), value, pattern, allowed, stack=self.stack)
        return value

    def optional_string(
        self, name: str, *, pattern: re.Pattern[str] | None = None, allowed: str = "a string"
    ) -> str | None:
        """A string or None when unset."""
        if self._raw(name) is None:
            return None
        return self.string(name, pattern=pattern, allowed=allowed)

    def integer(
        self, name: str, *, default: int | None = None, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        """A whole number in ``[minimum, maximum]``."""
        value = self._get(name, required=default is None)
        if value is None:
            assert default is not None
            return default
        return self._checked(
            require_int, self.key(name), value, minimum=minimum, maximum=maximum, stack=self.stack
        )

    def boolean(self, name: str, *, default: bool) -> bool:
        """true/false (YAML booleans; the strings "true"/"false" are accepted too)."""
        value = self._raw(name)
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise self.error(name, "must be true or false", value=value, allowed="true, false")
        return value

    def choice(self, name: str, choices: Collection[str], *, default: str | None = None) -> str:
        """One of ``choices``."""
        value = self._get(name, required=default is None)
        if value is None:
            assert default is not None
            return default
        self._checked(require_one_of, self.key(name), value, choices, stack=self.stack)
        return str(value)

    def section(self, name: str, *, required: bool = False) -> ConfigSection:
        """The nested mapping at ``name`` (empty when unset and not required)."""
        value = self._get(name, required=required)
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise self.error(name, "must be a mapping of keys to values", value=value)
        return ConfigSection(self.key(name), value, self.stack, secret=self.secret)

    def sections(self, name: str) -> Iterator[ConfigSection]:
        """Each mapping in the list at ``name`` (none when unset), keyed ``name[0]``, ``name[1]``, ..."""
        value = self._raw(name)
        if value is None:
            return
        if not isinstance(value, list):
            raise self.error(name, "must be a list", value=value)
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise ValidationError(
                    f"{self.key(name)}[{index}]",
                    "must be a mapping",
                    value=item,
                    stack=self.stack,
                    secret=self.secret,
                )
            yield ConfigSection(f"{self.key(name)}[{index}]", item, self.stack, secret=self.secret)

    def strings(
        self, name: str, *, pattern: re.Pattern[str] | None = None, allowed: str = "a string"
    ) -> list[str]:
        """The list of strings at ``name`` (empty when unset)."""
        value = self._raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(name, "must be a list", value=value)
        result = []
        for index, item in enumerate(value):
            item_key = f"{self.key(name)}[{index}]"
            if not isinstance(item, str) or (pattern is not None and not pattern.fullmatch(item)):
                raise ValidationError(
                    item_key,
                    "is not valid",
                    value=item,
                    allowed=allowed,
                    stack=self.stack,
                    secret=self.secret,
                )
            result.append(item)
        return result

    def string_map(self, name: str) -> dict[str, str]:
        """A mapping of string keys to string values (numbers and booleans are turned into strings)."""
        section = self.section(name)
        result = {}
        for item_key, item in section.values.items():
            if isinstance(item, Mapping | list) or item is None:
                raise section.error(str(item_key), "must be a plain value", value=item)
            result[str(item_key)] = str(item).lower() if isinstance(item, bool) else str(item)
        return result


class ConfigReader:
    """Entry point: the top-level keys of the ``platform`` namespace of one stack.

    :param stack: the stack name (for error messages).
    :param source: where the raw values come from.
    """

    def __init__(self, stack: str, source: ConfigSource) -> None:
        self.stack = stack
        self.source = _RecordingSource(source)

    def reject_unknown_keys(self) -> None:
        """Refuse top-level keys no reader asked for: a misspelled ``platform:montoring`` must not silently
        leave its section undeployed. Call after every capability has read its keys."""
        known = self.source.asked
        for name in self.source.present_keys():
            if name not in known:
                raise self.error(name, "is not a known key", allowed=", ".join(sorted(known)))

    def key(self, name: str) -> str:
        """Full key of a top-level name."""
        return f"{NAMESPACE}:{name}"

    def error(self, name: str, problem: str, **kwargs: Any) -> ValidationError:
        """A ValidationError about the top-level key ``name``."""
        return ValidationError(self.key(name), problem, stack=self.stack, **kwargs)

    def value(self, name: str) -> Any | None:
        """The raw value of a top-level key."""
        return self.source.get(name)

    def is_secret(self, name: str) -> bool:
        """True when the top-level key ``name`` is, or holds, a secure value."""
        return self.source.is_secret(name)

    def refuse_secret(self, name: str) -> None:
        """Refuse a secure value in the top-level key ``name`` (its values would land in clear)."""
        if self.source.is_secret(name):
            raise secret_refused(self.key(name), self.stack)

    def section(self, name: str, *, required: bool = False, secret_allowed: bool = False) -> ConfigSection:
        """The mapping at top-level key ``name``.

        :param secret_allowed: the caller carries this key's values to resources as secret Outputs; without
            it, a secure value anywhere in the key is refused naming the key.
        """
        secret = self.source.is_secret(name)
        if secret and not secret_allowed:
            raise secret_refused(self.key(name), self.stack)
        value = self.source.get(name)
        if value is None:
            if required:
                raise self.error(name, "is required but not set")
            value = {}
        if not isinstance(value, Mapping):
            raise self.error(name, "must be a mapping of keys to values", value=value, secret=secret)
        return ConfigSection(self.key(name), value, self.stack, secret=secret)

    def top(self) -> ConfigSection:
        """A section over scalar top-level keys (``platform:tier``), read lazily from the source.

        A secure scalar read through it is refused: such keys are names, tiers and flags, never secrets
        (secret scalars are read with :meth:`secret`)."""
        return ConfigSection("", _LazySource(self.source), self.stack, secret_probe=self.source.is_secret)

    def secret(self, name: str) -> pulumi.Output[str] | None:
        """A secret top-level key; plain text is refused (it would sit unencrypted in the stack file)."""
        if self.source.is_secret(name):
            return self.source.get_secret(name)
        if self.source.get(name) is not None:
            raise self.error(
                name,
                "must be set as a secret",
                secret=True,
                allowed=f"pulumi config set --secret {self.key(name)}",
            )
        return None


class _RecordingSource:
    """A ConfigSource that remembers which keys were asked for (see ConfigReader.reject_unknown_keys)."""

    def __init__(self, source: ConfigSource) -> None:
        self._source = source
        self.asked: set[str] = set()

    def get(self, key: str) -> Any | None:
        self.asked.add(key)
        return self._source.get(key)

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        self.asked.add(key)
        return self._source.get_secret(key)

    def is_secret(self, key: str) -> bool:
        self.asked.add(key)
        return self._source.is_secret(key)

    def present_keys(self) -> Iterable[str]:
        return self._source.present_keys()


class _LazySource(Mapping[str, Any]):
    """A read-only mapping view of a ConfigSource (it cannot list its keys, so iteration is empty)."""

    def __init__(self, source: ConfigSource) -> None:
        self._source = source

    def __getitem__(self, key: str) -> Any:
        value = self._source.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._source.get(key)
        return default if value is None else value

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
