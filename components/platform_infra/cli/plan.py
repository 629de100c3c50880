"""The offline plan: a stack's program run under Pulumi's mock runtime, with no CLI, credentials or network.

It finds the project the way the Pulumi CLI does (the nearest ``Pulumi.yaml`` at or above the current
directory, or ``--root``), reads ``Pulumi.<stack>.yaml``, runs the program that ``Pulumi.yaml``'s ``main``
names the way Pulumi's Python language host does, and reports every registered resource with its type,
logical name, parent, provider and inputs (camelCase, as registered). Secret values only ever appear as
``[secret]``, masked at the leaf that holds them (a trust policy keeps its structure, with only the
external id masked). Encrypted (``secure:``) config cannot be decrypted here, so each one is replaced by a
placeholder that is itself a secret, and the plan says which.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import re
import runpy
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from platform_infra.cli import offline
from platform_infra.cli.mocks import (
    STACK_TYPE,
    MockRun,
    RegisteredResource,
    redact_secrets,
    run_with_mocks,
    secret_leaves,
)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The installed ``platform_infra`` package (assets inside it are reported relative to it)."""
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
    root: Path = field(default_factory=Path.cwd)
    """The project folder (holding ``Pulumi.yaml``)."""
    main: Path = field(default_factory=Path.cwd)
    """The program ``Pulumi.yaml``'s ``main`` names (default: the project folder)."""


def find_project_root(start: Path | None = None) -> Path:
    """The folder of the nearest ``Pulumi.yaml`` at or above ``start`` (the current directory by default).

    The Pulumi CLI looks for the project file the same way: in the working directory, then each parent.

    :raises PlanError: no ``Pulumi.yaml`` there or above.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise PlanError(
        f"no Pulumi.yaml in {here} or any folder above it (run inside a Pulumi project, or --root)"
    )


def project_stacks(root: Path | None = None) -> list[str]:
    """The stacks of a project: one per ``Pulumi.<stack>.yaml`` next to its ``Pulumi.yaml``, sorted."""
    root = find_project_root() if root is None else root
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml"))


def select_stacks(stacks: Sequence[str], every: bool, root: Path | None = None) -> list[str]:
    """The stacks a command runs over: those named, or with ``every`` (``--all``) all of the project's.

    :raises PlanError: none named and not ``every``, or both.
    """
    if every and stacks:
        raise PlanError(f"name stacks or --all, not both (got --all and {', '.join(stacks)})")
    if every:
        root = find_project_root() if root is None else root
        found = project_stacks(root)
        if not found:
            raise PlanError(f"--all: no Pulumi.<stack>.yaml in {root}")
        return found
    if not stacks:
        raise PlanError("name a stack (e.g. dev), several, or --all")
    return list(dict.fromkeys(stacks))


def read_stack_config(stack: str, root: Path | None = None) -> dict[str, Any]:
    """The ``config`` mapping of ``Pulumi.<stack>.yaml`` as written in the file.

    :param root: the project folder; by default the nearest one at or above the current directory.
    :raises PlanError: a bad stack name, or a missing or malformed stack file.
    """
    root = find_project_root() if root is None else root
    if not STACK_NAME_PATTERN.fullmatch(stack) or stack.strip(".") == "":
        raise PlanError(f"stack {stack!r}: not a stack name (letters, digits, '-', '_' and '.')")
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        known = project_stacks(root)
        raise PlanError(f"stack '{stack}': {stack_file.name} not found; known stacks: {', '.join(known)}")
    stack_doc = _load_yaml(stack_file, f"stack '{stack}': ") or {}
    if not isinstance(stack_doc, Mapping):
        raise PlanError(f"stack '{stack}': {stack_file}: must be a mapping with a 'config' key")
    raw = stack_doc.get("config") or {}
    if not isinstance(raw, Mapping):
        raise PlanError(f"stack '{stack}': {stack_file}: 'config' must be a mapping of keys to values")
    return dict(raw)


def read_stack_files(
    stack: str, root: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> StackFiles:
    """Read ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` into runtime config.

    :param root: the project folder; by default the nearest one at or above the current directory.
    :param overrides: config values (full keys) that replace or add to the stack file's, e.g. in tests.
    """
    root = find_project_root() if root is None else root
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

    main = project_doc.get("main", ".") if isinstance(project_doc, Mapping) else "."
    if not isinstance(main, str) or not main:
        raise PlanError(f"{project_file}: 'main' must be a path to the program (a folder or a .py file)")
    files = StackFiles(project=project, stack=stack, config={}, secret_keys=[], root=root, main=root / main)
    for key, value in raw.items():
        full_key = key if ":" in key else f"{project}:{key}"
        value = _json_ready(value, str(full_key), f"stack '{stack}': Pulumi.{stack}.yaml")
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
        return yaml.safe_load(path.read_bytes().decode("utf-8"))
    except OSError as error:
        raise PlanError(f"{context}{path}: cannot be read ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        # YAML files are UTF-8 (the Pulumi CLI reads them as such); say where the bad byte is.
        raise PlanError(f"{context}{path}: not valid UTF-8 at byte {error.start} ({error.reason})") from error
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


def _json_ready(value: Any, key: str, where: str) -> Any:
    """A config value as the CLI hands it to the program (JSON); a PlanError naming the key otherwise.

    YAML has types JSON lacks. An unquoted date (``expiresOn: 2027-12-31``) or timestamp becomes its ISO
    text, which is what was written; ``!!binary`` and non-finite numbers (``.nan``, ``.inf``) have no JSON
    form (the CLI's JSON encoding of config refuses them too), so they are refused here by key.
    """
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        raise PlanError(f"{where}: {key}: a !!binary value cannot be config; write the text itself")
    if isinstance(value, float) and not math.isfinite(value):
        raise PlanError(f"{where}: {key}: {value} is not a finite number; write a number")
    if isinstance(value, Mapping):
        result = {}
        for item_key, item in value.items():
            if not isinstance(item_key, str):
                item_key = _json_ready(item_key, key, where)
                if not isinstance(item_key, str):
                    item_key = json.dumps(item_key)
            result[item_key] = _json_ready(item, f"{key}.{item_key}", where)
        return result
    if isinstance(value, list):
        return [_json_ready(item, f"{key}[{index}]", where) for index, item in enumerate(value)]
    return value


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


def project_program(files: StackFiles) -> Callable[[], Any]:
    """The project's own program, run as Pulumi's Python language host runs it.

    The language host (``pulumi-language-python-exec`` in pulumi/pulumi, ``sdk/python/cmd``) changes to the
    project's working directory and calls ``runpy.run_path(PROGRAM, run_name="__main__")``; for a folder
    that runs its ``__main__.py`` with the folder first on ``sys.path`` (runpy removes it afterwards).
    """
    program = files.main
    if not program.exists():
        raise PlanError(f"{files.root / 'Pulumi.yaml'}: main program {program} does not exist")
    if program.is_dir() and not (program / "__main__.py").is_file():
        raise PlanError(f"{files.root / 'Pulumi.yaml'}: main folder {program} has no __main__.py")

    def run() -> None:
        previous = Path.cwd()
        os.chdir(files.root)
        try:
            runpy.run_path(str(program), run_name="__main__")
        finally:
            os.chdir(previous)

    return run


def run_stack(
    stack: str,
    root: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    program: Callable[[], Any] | None = None,
    offline_hooks: bool | None = None,
) -> tuple[StackFiles, MockRun]:
    """Run a stack's program under mocks with its stack file's config.

    :param program: what to run instead of the project's own program (``Pulumi.yaml``'s ``main``).
    :param offline_hooks: install the offline runner's hooks (:mod:`platform_infra.cli.offline`); off, the
        program runs as the SDK alone runs it (the plan document is the same either way: tested). Unset:
        as ``$PLATFORM_INFRA_OPTIMISATIONS`` says (:func:`platform_infra.cli.offline.optimised`).
    """
    if offline_hooks is None:
        offline_hooks = offline.optimised()
    files = read_stack_files(stack, root, overrides)
    run = run_with_mocks(
        program or project_program(files),
        stack=stack,
        project=files.project,
        config=files.config,
        secret_keys=files.secret_keys,
        transformations=offline.TRANSFORMATIONS if offline_hooks else (),
        stack_traces=not offline_hooks,
    )
    return files, run


def resources_on_default_providers(run: MockRun) -> list[RegisteredResource]:
    """Custom resources that name no explicit provider (they would use the deployer's own credentials)."""
    return [r for r in run.resources if r.custom and not r.is_provider and not r.provider]


def _asset_path(path: Path, root: Path | None) -> str:
    """A file asset's path as a plan shows it: the same wherever the library or project is installed."""
    # A relative asset path is relative to the program's working directory, which is the project folder.
    resolved = (path if path.is_absolute() else (root or Path.cwd()) / path).resolve()
    with contextlib.suppress(ValueError):
        return (Path(PACKAGE_ROOT.name) / resolved.relative_to(PACKAGE_ROOT)).as_posix()
    if root is not None:
        with contextlib.suppress(ValueError):
            return resolved.relative_to(root.resolve()).as_posix()
    return str(path)


def describe_assets(value: Any, root: Path | None = None) -> Any:
    """``value`` with Pulumi assets and archives (a Lambda's code) replaced by JSON descriptions of them.

    :param root: the project folder; files inside it, or inside this package, are shown relative to it.
    """
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {name: describe_assets(item, root) for name, item in sorted(value.assets.items())}}
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        kind = "file" if isinstance(value, pulumi.FileAsset) else "fileArchive"
        return {kind: _asset_path(Path(value.path), root)}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, pulumi.RemoteAsset | pulumi.RemoteArchive):
        return {"uri": value.uri}
    if isinstance(value, Mapping):
        return {k: describe_assets(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [describe_assets(v, root) for v in value]
    return value


def known_secrets(files: StackFiles, run: MockRun) -> set[str]:
    """The secret strings of a run: encrypted config (placeholders offline) and secrets the mocks produced.

    They let :func:`~platform_infra.cli.mocks.redact_secrets` mask a secret property at the leaf that holds
    one (the external id inside a trust policy) instead of the whole property.
    """
    known: set[str] = set()
    for key in files.secret_keys:
        value = files.config.get(key, "")
        document = None
        if value[:1] in "[{":
            with contextlib.suppress(ValueError):
                document = json.loads(value)
        known |= _string_leaves(document) if document is not None else {value}
    for resource in run.resources:
        known |= secret_leaves(resource.inputs) | secret_leaves(resource.outputs)
    return known


def _string_leaves(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        return set().union(*(_string_leaves(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_string_leaves(v) for v in value))
    return {value} if isinstance(value, str) else set()


def _readable_inputs(resource: RegisteredResource, known: Collection[str] = ()) -> dict[str, Any]:
    """Inputs with secrets redacted at the leaf; provider config (JSON-encoded by the SDK) decoded.

    The SDK encodes a provider's nested config as one JSON string, so a single secret inside (the AWS
    external id inside ``assumeRoles``) makes the whole string secret; redacted at the leaf, the string is
    decoded so the plan shows the structure with just the external id masked.
    """
    inputs = redact_secrets(resource.inputs, SECRET, known)
    if resource.is_provider:
        for key, value in inputs.items():
            if isinstance(value, str) and value[:1] in "[{" and value != SECRET:
                with contextlib.suppress(ValueError):
                    inputs[key] = json.loads(value)
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
    known = known_secrets(files, run)
    resources = []
    for resource in sorted(run.resources, key=lambda r: r.urn):
        entry: dict[str, Any] = {
            "urn": resource.urn,
            "type": resource.type,
            "name": resource.name,
            "parent": resource.parent or None,
            "provider": resource.provider_urn or None,
            "custom": resource.custom,
            "inputs": describe_assets(_readable_inputs(resource, known), files.root),
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
            entry["outputs"] = redact_secrets(resource.outputs, SECRET, known)
        resources.append(entry)
    return {
        "stack": files.stack,
        "project": files.project,
        "substitutedSecrets": files.substituted_secrets,
        "outputs": redact_secrets(run.stack_outputs, SECRET, known),
        "resources": resources,
    }


def plan_stack(
    stack: str,
    root: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    offline_hooks: bool | None = None,
) -> dict[str, Any]:
    """Run a stack offline and return its plan document (``offline_hooks``: see :func:`run_stack`)."""
    files, run = run_stack(stack, root, overrides, offline_hooks=offline_hooks)
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
