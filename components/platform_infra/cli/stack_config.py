"""A stack's validated config read offline from its files, for commands that need only plain values.

``Pulumi.<stack>.yaml`` is validated exactly as ``pulumi up`` would validate it
(:func:`platform_infra.config.load_stack_config`), without the Pulumi runtime. Secret values stay the
ciphertext placeholders of the file: only plain keys (accounts, roles, apps, limits) may be used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from platform_infra.config import StackConfig


def offline_stack_config(stack: str, root: Path | None = None) -> tuple[StackConfig, str]:
    """The validated config of ``stack`` and the project's name.

    :param root: the project folder; by default the nearest one at or above the current directory.
    :raises PlanError: a missing or malformed stack file.
    :raises ConfigErrors: the config is invalid (one line per problem, naming the key and the stack).
    """
    from platform_infra.cli.plan import read_stack_files
    from platform_infra.config import DictConfigSource, load_stack_config

    files = read_stack_files(stack, root)
    values: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for full_key, raw in files.config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != "platform":
            continue
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        if full_key in files.secret_keys:
            secrets[key] = value if isinstance(value, str) else raw
        values[key] = value
    return load_stack_config(stack, DictConfigSource(values, secrets), environ={}), files.project
