"""The config reference tables of README.md and docs/*.md, generated from the config models.

Each table sits between ``<!-- generated: <section> -->`` and ``<!-- /generated -->`` in a Markdown file;
:func:`update` rewrites every such block from the models (key, type, default, what is allowed, and the
field's description), and a test fails while a checked-in block differs. Run
``python -m platform_infra.config.docs`` after changing a model.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from platform_infra.config import EnvironmentStack, SharedStack
from platform_infra.config.base import NAMESPACE, Rule, is_secret_type

#: The Markdown files holding generated tables (relative to the project root).
DOCUMENTS = (
    "README.md",
    "docs/app-service.md",
    "docs/key-vault.md",
    "docs/observability.md",
    "docs/config-reference.md",
)
BLOCK = re.compile(r"(<!-- generated: (?P<section>[^ ]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)
COMMON_KEYS = ("environment", "tier", "aws", "awsExternalId", "azure", "tags")


def _rule(info: FieldInfo) -> Rule | None:
    for item in [*info.metadata, *_annotated_metadata(info.annotation)]:
        if isinstance(item, Rule):
            return item
    return None


def _annotated_metadata(annotation: Any) -> list[Any]:
    found = list(getattr(annotation, "__metadata__", ()))
    for argument in typing.get_args(annotation):
        found.extend(getattr(argument, "__metadata__", ()))
    return found


def _model(annotation: Any) -> type[BaseModel] | None:
    """The config model a field holds (directly, optionally or as list items)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple, list, typing.Annotated):
        for argument in typing.get_args(annotation):
            found = _model(argument)
            if found is not None:
                return found
    return None


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_is_list(argument) for argument in typing.get_args(annotation))
    return origin in (tuple, list)


def _type(info: FieldInfo, rule: Rule | None) -> str:
    if is_secret_type(info.annotation):
        return "secret (`secure:`)"
    schema = rule.schema if rule is not None else {}
    kind = schema.get("type")
    if "enum" in schema:
        return "string"
    if kind == "array":
        return "list"
    if kind == "object" or (_model(info.annotation) is not None and not _is_list(info.annotation)):
        return "mapping"
    if _model(info.annotation) is not None:
        return "list"
    return {"integer": "int", "boolean": "bool"}.get(str(kind), str(kind) if kind else "string or mapping")


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    default = info.default
    if default is None or default is PydanticUndefined:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, dict):
        return "`{}`" if not default else ", ".join(f"`{key}`" for key in default)
    if isinstance(default, tuple | list):
        return "`[]`" if not default else f"{len(default)} entries (see description)"
    if isinstance(default, BaseModel):
        return "see below"
    return f"`{default}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows(model: type[BaseModel], prefix: str) -> list[str]:
    """One table row per key of ``model`` (nested sections flattened as ``enforcer.schedule``)."""
    lines: list[str] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        rule = _rule(info)
        nested = _model(info.annotation)
        allowed = rule.allowed if rule is not None and rule.allowed else ""
        if nested is not None:
            allowed = "see the keys below"
        lines.append(
            f"| `{key}` | {_type(info, rule)} | {_cell(_default(info))} | {_cell(allowed)} | "
            f"{_cell(info.description or '')} |"
        )
        if nested is not None:
            lines.extend(rows(nested, f"{key}[]." if _is_list(info.annotation) else f"{key}."))
    return lines


def table(section: str) -> str:
    """The Markdown table of one generated block: ``platform:vault``, ``platform:environment`` (the common
    keys of every stack) or ``platform:bootstrap``."""
    header = "| Key | Type | Default | Allowed | Description |\n|---|---|---|---|---|\n"
    name = section.removeprefix(f"{NAMESPACE}:")
    if name == "common":
        lines = []
        for key in COMMON_KEYS:
            info = next(i for n, i in EnvironmentStack.model_fields.items() if (i.alias or n) == key)
            sub = _model(info.annotation)
            rule = _rule(info)
            lines.append(
                f"| `{NAMESPACE}:{key}` | {_type(info, rule)} | {_cell(_default(info))} | "
                f"{_cell(rule.allowed or '' if rule else '')} | {_cell(info.description or '')} |"
            )
            if sub is not None:
                lines.extend(rows(sub, f"{NAMESPACE}:{key}."))
        return header + "\n".join(lines) + "\n"
    for model in (EnvironmentStack, SharedStack):
        for field_name, info in model.model_fields.items():
            if (info.alias or field_name) == name:
                nested = _model(info.annotation)
                assert nested is not None, section
                prefix = "[]." if _is_list(info.annotation) else ""
                return header + "\n".join(rows(nested, prefix)) + "\n"
    raise KeyError(section)


def render(text: str) -> str:
    """``text`` with every generated block rewritten from the models."""
    return BLOCK.sub(lambda m: m.group(1) + table(m.group("section")) + m.group(4), text)


def update(root: Path, *, check: bool = False) -> list[str]:
    """Rewrite the generated blocks under ``root``; with ``check``, only list the files that differ."""
    stale = []
    for name in DOCUMENTS:
        path = root / name
        text = path.read_text()
        rendered = render(text)
        if rendered != text:
            stale.append(name)
            if not check:
                path.write_text(rendered)
    return stale


if __name__ == "__main__":
    changed = update(Path.cwd(), check="--check" in sys.argv)
    print("\n".join(changed) or "config reference tables are up to date")
    sys.exit(1 if changed and "--check" in sys.argv else 0)
