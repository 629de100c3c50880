"""The offline plan: a stack's program run under Pulumi's mock runtime, with no CLI, credentials or network.

It reads ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` the way the Pulumi CLI would, runs ``stacks.program``
and reports every registered resource with its type, logical name, parent, provider and inputs (camelCase,
as registered). Secret values only ever appear as ``[secret]``. Encrypted (``secure:``) config cannot be
decrypted here, so each one is replaced by a placeholder that is itself a secret, and the plan says which.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from infra.mocks import (
    STACK_TYPE,
    MockRun,
    RegisteredResource,
    is_secret_value,
    redact_secrets,
    run_with_mocks,
    unwrap_secrets,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
"""A stack name as ``Pulumi.<stack>.yaml`` spells it (no organisation or project prefix)."""
SECRET = "[secret]"
SECRET_PLACEHOLDER = "offline-plan-placeholder-secret"


class PlanError(Exception):
    """The plan cannot be produced (missing stack file, resource on a default provider, ...)."""


@dataclass
class StackFiles:
    """A stack's config as the Pulumi CLI would hand it to the program."""

    project: str
    stack: str
    config: dict[str, str]
    secret_keys: list[str]
    substituted_secrets: list[str] = field(default_factory=list)
    disabled_default_providers: list[str] = field(default_factory=list)


def read_stack_config(stack: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The ``config`` mapping of ``Pulumi.<stack>.yaml`` as written in the file.

    :raises PlanError: a bad stack name, or a missing or malformed stack file.
    """
    if not STACK_NAME_PATTERN.fullmatch(stack) or stack.strip(".") == "":
        raise PlanError(f"stack {stack!r}: not a stack name (letters, digits, '-', '_' and '.')")
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        known = sorted(
            p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
        )
        raise PlanError(f"stack '{stack}': {stack_file.name} not found; known stacks: {', '.join(known)}")
    stack_doc = _load_yaml(stack_file, f"stack '{stack}': ") or {}
    if not isinstance(stack_doc, Mapping):
        raise PlanError(f"stack '{stack}': {stack_file}: must be a mapping with a 'config' key")
    raw = stack_doc.get("config") or {}
    if not isinstance(raw, Mapping):
        raise PlanError(f"stack '{stack}': {stack_file}: 'config' must be a mapping of keys to values")
    return dict(raw)


def read_stack_files(
    stack: str, root: Path = PROJECT_ROOT, overrides: Mapping[str, Any] | None = None
) -> StackFiles:
    """Read ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` into runtime config.

    :param overrides: config values (full keys) that replace or add to the stack file's, e.g. in tests.
    """
    if not STACK_NAME_PATTERN.fullmatch(stack) or stack.strip(".") == "":
        raise PlanError(f"stack {stack!r}: not a stack name (letters, digits, '-', '_' and '.')")
    project_file = root / "Pulumi.yaml"
    if not project_file.exists():
        raise PlanError(f"{project_file} not found")
    project_doc = _load_yaml(project_file)
    project = project_doc.get("name") if isinstance(project_doc, Mapping) else None
    if not isinstance(project, str) or not project:
        raise PlanError(f"{project_file}: has no project 'name'")
    raw = read_stack_config(stack, root)
    raw.update(overrides or {})

    files = StackFiles(project=project, stack=stack, config={}, secret_keys=[])
    for key, value in raw.items():
        full_key = key if ":" in key else f"{project}:{key}"
        plain, had_secret = _substitute_secure(value)
        if had_secret:
            files.secret_keys.append(full_key)
            files.substituted_secrets.append(full_key)
        files.config[full_key] = plain if isinstance(plain, str) else json.dumps(plain)
        if full_key == "pulumi:disable-default-providers":
            files.disabled_default_providers = list(plain if isinstance(plain, list) else [])
    return files


def _load_yaml(path: Path, context: str = "") -> Any:
    """The YAML document in ``path``; a PlanError naming the file and line when it is not valid YAML."""
    try:
        return yaml.safe_load(path.read_text())
    except OSError as error:
        raise PlanError(f"{context}{path}: cannot be read ({error.strerror or error})") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise PlanError(f"{context}{path}: not valid YAML{where} ({problem})") from error


def write_output(path: str | Path, text: str) -> None:
    """Write a command's ``-o`` file; a PlanError naming the file when it cannot be written."""
    try:
        Path(path).write_text(text)
    except OSError as error:
        raise PlanError(f"cannot write {path}: {error.strerror or error}") from error


def _substitute_secure(value: Any) -> tuple[Any, bool]:
    """Replace every ``{secure: ...}`` in a config value by a placeholder; report whether there was one."""
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        result = {}
        for k, v in value.items():
            result[k], had = _substitute_secure(v)
            found = found or had
        return result, found
    if isinstance(value, list):
        items = [_substitute_secure(v) for v in value]
        return [v for v, _ in items], any(had for _, had in items)
    return value, False


def _default_program() -> None:
    from stacks.program import main

    main()


def run_stack(
    stack: str,
    root: Path = PROJECT_ROOT,
    overrides: Mapping[str, Any] | None = None,
    program: Callable[[], Any] = _default_program,
) -> tuple[StackFiles, MockRun]:
    """Run a stack's program under mocks with its stack file's config."""
    files = read_stack_files(stack, root, overrides)
    run = run_with_mocks(
        program, stack=stack, project=files.project, config=files.config, secret_keys=files.secret_keys
    )
    return files, run


def resources_on_default_providers(run: MockRun) -> list[RegisteredResource]:
    """Custom resources that name no explicit provider (they would use the deployer's own credentials)."""
    return [r for r in run.resources if r.custom and not r.is_provider and not r.provider]


def _replace_placeholder(value: Any) -> Any:
    if value == SECRET_PLACEHOLDER:
        return SECRET
    if isinstance(value, Mapping):
        return {k: _replace_placeholder(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_placeholder(v) for v in value]
    return value


def describe_assets(value: Any) -> Any:
    """``value`` with Pulumi assets and archives (a Lambda's code) replaced by JSON descriptions of them."""
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {name: describe_assets(item) for name, item in sorted(value.assets.items())}}
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        path = Path(value.path)
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(PROJECT_ROOT)
        return {"file" if isinstance(value, pulumi.FileAsset) else "fileArchive": str(path)}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, pulumi.RemoteAsset | pulumi.RemoteArchive):
        return {"uri": value.uri}
    if isinstance(value, Mapping):
        return {k: describe_assets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [describe_assets(v) for v in value]
    return value


def _readable_inputs(resource: RegisteredResource) -> dict[str, Any]:
    """Inputs with secrets redacted; provider config (JSON-encoded by the SDK) decoded for reading.

    The SDK encodes a provider's nested config as one JSON string, so a single secret inside (the AWS
    external id inside ``assumeRoles``) makes the whole string secret. Provider config comes from stack
    config only, and offline its only secrets are this plan's own placeholders: where the placeholder is
    what made the string secret, the structure is shown with just the placeholder redacted.
    """
    inputs = redact_secrets(resource.inputs, SECRET)
    if resource.is_provider:
        for key, raw in resource.inputs.items():
            value = unwrap_secrets(raw)
            if not (isinstance(value, str) and value[:1] in "[{"):
                continue
            if is_secret_value(raw) and SECRET_PLACEHOLDER not in value:
                continue
            with contextlib.suppress(ValueError):
                inputs[key] = _replace_placeholder(json.loads(value))
    return inputs


def build_plan(files: StackFiles, run: MockRun) -> dict[str, Any]:
    """The machine-readable plan document (what ``infra plan STACK --json`` prints)."""
    if "*" in files.disabled_default_providers:
        offenders = resources_on_default_providers(run)
        if offenders:
            names = ", ".join(f"{r.type} '{r.name}'" for r in offenders)
            raise PlanError(
                f"stack '{files.stack}': default providers are disabled but these resources have no explicit "
                f"provider: {names}"
            )
    resources = []
    for resource in sorted(run.resources, key=lambda r: r.urn):
        entry: dict[str, Any] = {
            "urn": resource.urn,
            "type": resource.type,
            "name": resource.name,
            "parent": resource.parent or None,
            "provider": resource.provider_urn or None,
            "custom": resource.custom,
            "inputs": describe_assets(_readable_inputs(resource)),
        }
        options = {
            "protect": resource.protect,
            "retainOnDelete": resource.retain_on_delete,
            "ignoreChanges": resource.ignore_changes,
            "dependsOn": resource.depends_on,
            "deleteBeforeReplace": resource.delete_before_replace,
            "replaceOnChanges": resource.replace_on_changes,
            "additionalSecretOutputs": resource.additional_secret_outputs,
        }
        options = {k: v for k, v in options.items() if v}
        if options:
            entry["options"] = options
        if not resource.custom and resource.outputs:
            entry["outputs"] = redact_secrets(resource.outputs, SECRET)
        resources.append(entry)
    return {
        "stack": files.stack,
        "project": files.project,
        "substitutedSecrets": files.substituted_secrets,
        "outputs": redact_secrets(run.stack_outputs, SECRET),
        "resources": resources,
    }


def plan_stack(
    stack: str, root: Path = PROJECT_ROOT, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Run a stack offline and return its plan document."""
    files, run = run_stack(stack, root, overrides)
    return build_plan(files, run)


def _short(value: Any, limit: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_tree(plan: Mapping[str, Any], max_inputs: int = 12) -> str:
    """The human-readable plan: the resource tree with type, logical name, provider and key inputs."""
    by_parent: dict[str | None, list[Mapping[str, Any]]] = {}
    for resource in plan["resources"]:
        by_parent.setdefault(resource["parent"], []).append(resource)
    lines = [f"Offline plan of stack '{plan['stack']}' (project '{plan['project']}')"]
    if plan["substitutedSecrets"]:
        lines.append(
            "Encrypted config replaced by secret placeholders (cannot be decrypted offline): "
            + ", ".join(plan["substitutedSecrets"])
        )
    custom = sum(1 for r in plan["resources"] if r["custom"])
    lines.append(
        f"{len(plan['resources'])} resources ({custom} custom, {len(plan['resources']) - custom} components)"
    )
    lines.append("")

    def walk(resource: Mapping[str, Any], depth: int) -> None:
        indent = "    " * depth
        provider = resource["provider"].rsplit("::", 1)[-1] if resource["provider"] else None
        suffix = f"  [provider: {provider}]" if provider else ""
        options = resource.get("options", {})
        flags = [k for k in ("protect", "retainOnDelete") if options.get(k)]
        if options.get("ignoreChanges"):
            flags.append("ignoreChanges=" + ",".join(options["ignoreChanges"]))
        if flags:
            suffix += "  {" + "; ".join(flags) + "}"
        lines.append(f"{indent}+ {resource['type']}  {resource['name']}{suffix}")
        items = list(resource["inputs"].items())
        for key, value in items[:max_inputs]:
            lines.append(f"{indent}      {key}: {_short(value)}")
        if len(items) > max_inputs:
            lines.append(f"{indent}      ... {len(items) - max_inputs} more inputs (see --json)")
        for child in by_parent.get(resource["urn"], []):
            walk(child, depth + 1)

    for root in by_parent.get(None, []):
        walk(root, 0)
    if plan["outputs"]:
        lines.append("")
        lines.append("Outputs:")
        for key, value in sorted(plan["outputs"].items()):
            lines.append(f"    {key}: {_short(value, 140)}")
    return "\n".join(lines)


def is_stack_resource(resource: Mapping[str, Any]) -> bool:
    """True for the root ``pulumi:pulumi:Stack`` entry of a plan."""
    return resource["type"] == STACK_TYPE
