"""Where raw stack configuration comes from: the Pulumi runtime, or plain dicts in tests and tools.

A source only hands out raw values and says which keys are secret; the models in this package validate them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import pulumi
from pulumi.runtime import config as pulumi_config

NAMESPACE = "platform"


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
