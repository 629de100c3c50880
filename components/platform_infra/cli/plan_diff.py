"""``infra plan diff BASE.json HEAD.json``: what changes between two offline plans, as Markdown.

The plans are documents written by ``infra plan STACK --json -o FILE`` (e.g. the stack on main and on a pull
request). Resources are matched by their qualified type and logical name (the URN without stack and
project); inputs, provider, resource options and stack outputs are compared property by property, with
JSON-encoded strings (IAM policy documents) decoded so a change shows as ``assumeRolePolicy.Statement[0]...``.
Secret values only ever appear as ``[secret]``: the plans hold no secret values, and anything that looks
like a secret (Pulumi's secret wrapper, the offline placeholder) is redacted again here.

``--parity`` compares two different stacks instead (staging as BASE, prod as HEAD): each plan's environment
name is replaced by ``{env}`` before matching, and each difference is classified as *expected* (sizes and
capacities, names, retention, account/subscription ids, environment labels, tier hardening) or *unexpected*.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_infra.cli.mocks import redact_secrets
from platform_infra.cli.plan import SECRET, SECRET_PLACEHOLDER, plan_stack, write_output

MAX_VALUE = 80
_MISSING = object()


class PlanDiffError(Exception):
    """A plan document cannot be read."""


@dataclass(frozen=True)
class PropertyChange:
    """One property that differs: ``path`` such as ``siteConfig.minTlsVersion``; values None when absent."""

    path: str
    base: Any
    head: Any
    reason: str = ""
    """Why the difference is allowed (parity mode); empty when it is not."""


@dataclass
class ResourceChange:
    """A resource present in both plans whose properties differ."""

    type: str
    name: str
    changes: list[PropertyChange]


@dataclass
class PlanDiff:
    """The comparison of two plans."""

    base_stack: str
    head_stack: str
    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    unchanged: int = 0
    outputs: list[PropertyChange] = field(default_factory=list)
    parity: bool = False

    @property
    def unexpected(self) -> list[tuple[ResourceChange, PropertyChange]]:
        """Parity differences that are not in an allowed category."""
        return [(r, c) for r in self.changed for c in r.changes if not c.reason]

    @property
    def expected(self) -> list[tuple[ResourceChange, PropertyChange]]:
        """Parity differences in an allowed category."""
        return [(r, c) for r in self.changed for c in r.changes if c.reason]

    @property
    def is_empty(self) -> bool:
        """True when nothing differs."""
        return not (self.added or self.removed or self.changed or self.outputs)


def load_plan(path: Path) -> dict[str, Any]:
    """Read a plan document written by ``infra plan STACK --json``."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise PlanDiffError(f"{path}: not a readable plan document ({error})") from error
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
        raise PlanDiffError(f"{path}: not a plan document (write one with `infra plan STACK --json -o FILE`)")
    for field_name in ("outputs",):
        if document.get(field_name) is not None and not isinstance(document[field_name], dict):
            raise PlanDiffError(f"{path}: '{field_name}' must be an object")
    for index, resource in enumerate(document["resources"]):
        _check_resource(path, index, resource)
    return document


def _check_resource(path: Path, index: int, resource: Any) -> None:
    """Refuse a resource entry the comparison cannot read, naming it (instead of a KeyError later)."""
    where = f"{path}: resources[{index}]"
    if not isinstance(resource, dict):
        raise PlanDiffError(f"{where}: must be an object, got {type(resource).__name__}")
    for name in ("urn", "type", "name"):
        if not isinstance(resource.get(name), str) or not resource[name]:
            raise PlanDiffError(f"{where}: '{name}' must be a non-empty string")
    for name in ("inputs", "options"):
        if resource.get(name) is not None and not isinstance(resource[name], dict):
            raise PlanDiffError(f"{where} ({resource['name']}): '{name}' must be an object")
    if resource.get("provider") is not None and not isinstance(resource["provider"], str):
        raise PlanDiffError(f"{where} ({resource['name']}): 'provider' must be a string or null")


def _redact(value: Any) -> Any:
    value = redact_secrets(value, SECRET)
    if isinstance(value, str) and SECRET_PLACEHOLDER in value:
        return SECRET
    if isinstance(value, Mapping):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    """A JSON-encoded object or array decoded (policy documents, provider config); anything else as is."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of a nested value by path: ``{"a": {"b": [1]}}`` -> ``{"a.b[0]": 1}``; empty containers kept."""
    value = _decode(value)
    if isinstance(value, Mapping) and value:
        result: dict[str, Any] = {}
        for key, item in value.items():
            result.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return result
    if isinstance(value, list) and value:
        result = {}
        for index, item in enumerate(value):
            result.update(flatten(item, f"{prefix}[{index}]"))
        return result
    return {prefix: value}


def resource_key(resource: Mapping[str, Any]) -> str:
    """``<qualified type>::<name>``: the URN without stack and project, so two plans' resources match."""
    parts = str(resource["urn"]).split("::")
    return "::".join(parts[2:]) if len(parts) >= 4 else f"{resource['type']}::{resource['name']}"


def _view(resource: Mapping[str, Any]) -> dict[str, Any]:
    """What is compared of a resource: inputs, provider, options."""
    provider = resource.get("provider")
    view: dict[str, Any] = flatten(_redact(resource.get("inputs") or {}))
    view.pop("", None)
    if provider:
        view["(provider)"] = str(provider).split("::", 2)[-1]
    # Dependency order carries no meaning; compare option lists as sets.
    options = {k: sorted(v) if isinstance(v, list) else v for k, v in (resource.get("options") or {}).items()}
    for key, value in flatten(options).items():
        if key:
            view[f"(options).{key}"] = value
    return view


class _Normaliser:
    """Replaces environment names by ``{env}`` (parity mode); identity when there are none.

    Both plans get both names replaced: a name can also be a word of the other stack's resources (the
    blue/green ``staging`` slot exists in prod too), and replacing it on one side only would unmatch them.
    """

    def __init__(self, *envs: str) -> None:
        names = "|".join(re.escape(e) for e in sorted({e for e in envs if e}, key=len, reverse=True))
        self.pattern = re.compile(rf"(?<![A-Za-z0-9])({names})(?![A-Za-z0-9])") if names else None

    def __call__(self, value: Any) -> Any:
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.pattern.sub("{env}", value)
        if isinstance(value, Mapping):
            return {self(k): self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


def environment_name(plan: Mapping[str, Any]) -> str:
    """The plan's environment name (its ``environment`` output, else the stack name)."""
    outputs = plan.get("outputs") or {}
    env = outputs.get("environment")
    return env if isinstance(env, str) and env else str(plan.get("stack", ""))


SIZE_KEYS = {
    "sku", "capacity", "size", "family", "instancecount", "numberofworkers", "workersize", "workersizeid",
    "workercount", "maximumelasticworkercount", "minimumelasticinstancecount", "elasticwebappscalelimit",
    "prewarmedinstancecount", "memorysize", "reservedconcurrentexecutions", "dailyquotagb",
}  # fmt: skip
LABEL_TAGS = {"environment", "cost-centre", "tier"}
HARDENING_OPTIONS = {"(options).protect", "(options).retainOnDelete"}
_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_INDEX = re.compile(r"\[\d+\]")


def allowed_reason(path: str, base: Any, head: Any) -> str:
    """Why a staging/prod difference is allowed, or '' when it is not (see the module docstring)."""
    segments = [s for s in _INDEX.sub("", path).split(".") if s]
    lowered = [s.lower() for s in segments]
    last = lowered[-1] if lowered else ""
    if "sku" in lowered or last in SIZE_KEYS:
        return "size/capacity"
    if "retention" in last or any("retention" in s for s in lowered):
        return "retention"
    if last.endswith("name"):
        return "name"
    if len(lowered) >= 2 and lowered[-2] in {"tags", "defaulttags"} and last in LABEL_TAGS:
        return "environment label"
    if path in HARDENING_OPTIONS:
        return "tier hardening"
    if base is not None and head is not None:

        def mask(v: Any) -> str:
            # GUIDs first: a GUID's last group can be twelve digits, which looks like an account id.
            return _ACCOUNT.sub("{account}", _GUID.sub("{guid}", json.dumps(v, sort_keys=True)))

        if mask(base) == mask(head):
            return "account/subscription id"
    return ""


def _compare(base: Mapping[str, Any], head: Mapping[str, Any], parity: bool) -> list[PropertyChange]:
    changes = []
    for path in sorted(set(base) | set(head)):
        before, after = base.get(path, _MISSING), head.get(path, _MISSING)
        if before == after:
            continue
        b = None if before is _MISSING else before
        a = None if after is _MISSING else after
        reason = allowed_reason(path, b, a) if parity else ""
        changes.append(PropertyChange(path=path, base=b, head=a, reason=reason))
    return changes


def diff_plans(base: Mapping[str, Any], head: Mapping[str, Any], parity: bool = False) -> PlanDiff:
    """Compare two plan documents (``parity``: two stacks, environment names normalised)."""
    envs = (environment_name(base), environment_name(head)) if parity else ()
    norm_base = norm_head = _Normaliser(*envs)
    result = PlanDiff(base_stack=str(base.get("stack")), head_stack=str(head.get("stack")), parity=parity)

    def index(plan: Mapping[str, Any], norm: _Normaliser) -> dict[str, Mapping[str, Any]]:
        return {norm(resource_key(r)): r for r in plan["resources"] if r.get("type") != "pulumi:pulumi:Stack"}

    before, after = index(base, norm_base), index(head, norm_head)
    for key in sorted(set(after) - set(before)):
        result.added.append((after[key]["type"], after[key]["name"]))
    for key in sorted(set(before) - set(after)):
        result.removed.append((before[key]["type"], before[key]["name"]))
    for key in sorted(set(before) & set(after)):
        changes = _compare(norm_base(_view(before[key])), norm_head(_view(after[key])), parity)
        if changes:
            result.changed.append(
                ResourceChange(type=after[key]["type"], name=after[key]["name"], changes=changes)
            )
        else:
            result.unchanged += 1
    result.outputs = _compare(
        norm_base(flatten(_redact(base.get("outputs") or {}))),
        norm_head(flatten(_redact(head.get("outputs") or {}))),
        parity,
    )
    result.outputs = [c for c in result.outputs if c.path]
    return result


def _cell(value: Any) -> str:
    if value is None:
        return "_(absent)_"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if len(text) > MAX_VALUE:
        text = text[: MAX_VALUE - 3] + "..."
    text = text.replace("|", "\\|").replace("`", "'").replace("\n", " ")
    return f"`{text}`"


def _resource_rows(items: list[tuple[str, str]]) -> Iterator[str]:
    yield "| Type | Name |"
    yield "| --- | --- |"
    for type_, name in items:
        yield f"| `{type_}` | `{name}` |"


def render_markdown(diff: PlanDiff) -> str:
    """The Markdown summary (a PR comment's body)."""
    lines: list[str] = []
    if diff.parity:
        lines.append(f"## Parity: `{diff.base_stack}` vs `{diff.head_stack}`")
        lines.append("")
        lines.append(
            f"{len(diff.changed) + diff.unchanged} resources in both; "
            f"**{len(diff.unexpected)} unexpected difference(s)**, {len(diff.expected)} expected, "
            f"{len(diff.removed)} only in `{diff.base_stack}`, {len(diff.added)} only in `{diff.head_stack}`."
        )
        sections = [
            ("Unexpected differences", [(r, c) for r, c in diff.unexpected]),
            ("Expected differences", [(r, c) for r, c in diff.expected]),
        ]
        for title, rows in sections:
            if not rows:
                continue
            lines += ["", f"### {title}", ""]
            header = f"| Resource | Property | `{diff.base_stack}` | `{diff.head_stack}` |"
            lines.append(header + (" Allowed as |" if title.startswith("Expected") else ""))
            lines.append("| --- | --- | --- | --- |" + (" --- |" if title.startswith("Expected") else ""))
            for resource, change in rows:
                row = f"| `{resource.type}` `{resource.name}` | `{change.path}` | {_cell(change.base)} | "
                row += _cell(change.head) + " |"
                lines.append(row + (f" {change.reason} |" if change.reason else ""))
        for title, items in (
            (f"Only in `{diff.base_stack}`", diff.removed),
            (f"Only in `{diff.head_stack}`", diff.added),
        ):
            if items:
                lines += ["", f"### {title}", "", *_resource_rows(items)]
    else:
        title = (
            diff.head_stack
            if diff.base_stack == diff.head_stack
            else f"{diff.base_stack} -> {diff.head_stack}"
        )
        lines.append(f"## Offline plan diff: `{title}`")
        lines.append("")
        if diff.is_empty:
            lines.append(f"No changes ({diff.unchanged} resources unchanged).")
            return "\n".join(lines)
        lines.append(
            f"**{len(diff.added)} to add, {len(diff.changed)} to change, {len(diff.removed)} to remove** "
            f"({diff.unchanged} unchanged)."
        )
        if diff.added:
            lines += ["", "### Added", "", *_resource_rows(diff.added)]
        if diff.removed:
            lines += ["", "### Removed", "", *_resource_rows(diff.removed)]
        if diff.changed:
            lines += ["", "### Changed"]
            for resource in diff.changed:
                lines += ["", f"#### `{resource.type}` `{resource.name}`", ""]
                lines += ["| Property | Before | After |", "| --- | --- | --- |"]
                for change in resource.changes:
                    lines.append(f"| `{change.path}` | {_cell(change.base)} | {_cell(change.head)} |")
    if diff.outputs:
        extra = " Allowed as |" if diff.parity else ""
        lines += [
            "",
            "### Stack outputs",
            "",
            f"| Output | `{diff.base_stack}` | `{diff.head_stack}` |{extra}",
        ]
        lines.append("| --- | --- | --- |" + (" --- |" if diff.parity else ""))
        for change in diff.outputs:
            row = f"| `{change.path}` | {_cell(change.base)} | {_cell(change.head)} |"
            lines.append(row + (f" {change.reason or '**unexpected**'} |" if diff.parity else ""))
    lines.append("")
    lines.append(
        "_Offline plan under mocks: provider-computed values are placeholders; secrets show as [secret]._"
    )
    return "\n".join(lines)


def _diff(args: argparse.Namespace) -> int:
    if args.strict and not args.parity:
        print("error: --strict only applies with --parity (a plain diff always exits 0)", file=sys.stderr)
        return 2
    if args.stacks:
        # Both stacks planned here, in one process: the SDKs and the program load once for the two.
        base, head = plan_stack(args.base, args.root), plan_stack(args.head, args.root)
    else:
        try:
            base, head = load_plan(Path(args.base)), load_plan(Path(args.head))
        except PlanDiffError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    diff = diff_plans(base, head, parity=args.parity)
    text = render_markdown(diff)
    if args.output:
        write_output(args.output, text + "\n")
        print(f"wrote the plan diff to {args.output}", file=sys.stderr)
    else:
        print(text)
    return 1 if args.parity and args.strict and (diff.unexpected or diff.added or diff.removed) else 0


def add_plan_diff_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``infra plan-diff`` (also reached as ``infra plan diff``)."""
    parser = subparsers.add_parser(
        "plan-diff",
        help="Markdown summary of what changes between two offline plans (also: infra plan diff)",
        description="Compare two documents written by `infra plan STACK --json -o FILE`.",
    )
    parser.add_argument("base", help="the plan before (e.g. main's), or staging's with --parity")
    parser.add_argument("head", help="the plan after (e.g. the pull request's), or prod's with --parity")
    parser.add_argument(
        "--parity",
        action="store_true",
        help="compare two stacks: match resources with environment names normalised, classify differences",
    )
    parser.add_argument(
        "--strict", action="store_true", help="with --parity: exit 1 when there is an unexpected difference"
    )
    parser.add_argument(
        "--stacks",
        action="store_true",
        help="BASE and HEAD are stack names: plan both offline here instead of reading plan files",
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="with --stacks: the folder of Pulumi.yaml (default: the nearest at or above the current one)",
    )
    parser.add_argument("-o", "--output", help="write the Markdown to this file instead of standard output")
    parser.set_defaults(handler=_diff)
