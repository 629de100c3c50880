"""``infra checkov-gate``: Checkov's findings on ``infra export`` output, judged against a reviewed baseline.

Checkov names what it flags by the exported address (``aws_iam_role.deploy-prod``,
``Microsoft.KeyVault/vaults.kv-platform-prod-001``); the export maps each address back to the Pulumi URN.
Every failed check is matched against the baseline (``.checkov-baseline.yaml``): an entry names the check,
a glob over the URN (``*`` for any part), optionally the stacks it applies to, and the reason it is
accepted. A failure no entry covers is new: the gate prints it with the Pulumi URN and fails. Entries
without a reason are refused, so every suppression in the baseline says why it is there.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from platform_infra.cli.plan import PlanError


@dataclass(frozen=True)
class Suppression:
    """One reviewed, accepted Checkov finding."""

    check: str
    """Checkov check id, e.g. ``CKV_AWS_117``."""
    urn: str
    """Glob over the Pulumi URN of the resource (``fnmatch``: ``*`` matches anything, also ``::``)."""
    reason: str
    """Why the finding is accepted (required)."""
    stacks: tuple[str, ...] = ()
    """Stacks it applies to; empty means every stack."""

    def covers(self, check: str, urn: str, stack: str) -> bool:
        """True when this entry accepts ``check`` failing on ``urn`` in ``stack``."""
        return (
            check == self.check
            and fnmatch.fnmatchcase(urn, self.urn)
            and (not self.stacks or stack in self.stacks)
        )


@dataclass
class Finding:
    """A failed Checkov check on one exported resource."""

    check: str
    name: str
    address: str
    urn: str | None
    stack: str
    file: str


@dataclass
class Verdict:
    """What the gate decided."""

    new: list[Finding] = field(default_factory=list)
    accepted: list[tuple[Finding, Suppression]] = field(default_factory=list)
    unused: list[Suppression] = field(default_factory=list)


def load_baseline(path: Path) -> list[Suppression]:
    """The suppressions of a baseline file; PlanError naming the entry when one is malformed."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise PlanError(f"baseline {path}: cannot be read ({error})") from error
    entries = document.get("suppressions") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise PlanError(f"baseline {path}: must be a mapping with a 'suppressions' list")
    result = []
    for index, entry in enumerate(entries):
        where = f"baseline {path}: suppressions[{index}]"
        if not isinstance(entry, Mapping):
            raise PlanError(f"{where}: must be a mapping with check, urn and reason")
        check, urn, reason = entry.get("check"), entry.get("urn"), entry.get("reason")
        if not isinstance(check, str) or not check.startswith("CKV"):
            raise PlanError(f"{where}.check: must be a Checkov check id (CKV_...), not {check!r}")
        if not isinstance(urn, str) or not urn.startswith("urn:pulumi:"):
            raise PlanError(f"{where}.urn: must be a glob over a Pulumi URN (urn:pulumi:...), not {urn!r}")
        if not isinstance(reason, str) or len(reason.strip()) < 20:
            raise PlanError(f"{where}.reason: every suppression needs a reason (at least 20 characters)")
        stacks = entry.get("stacks") or []
        if not isinstance(stacks, list) or not all(isinstance(s, str) for s in stacks):
            raise PlanError(f"{where}.stacks: must be a list of stack names")
        result.append(Suppression(check, urn, reason.strip(), tuple(stacks)))
    return result


def _reports(checkov_output: Any) -> list[Mapping[str, Any]]:
    # `checkov -o json` prints one report, or a list of them when several frameworks ran.
    reports = checkov_output if isinstance(checkov_output, list) else [checkov_output]
    return [r for r in reports if isinstance(r, Mapping) and "results" in r]


def _scanned_file(failed: Mapping[str, Any]) -> Path | None:
    """The file a failed check is about (``file_abs_path``; Checkov also gives it per file run)."""
    path = failed.get("file_abs_path")
    return Path(path).resolve() if isinstance(path, str) and path else None


def findings(
    checkov_output: Any, export: Mapping[str, Any], file: str, only_this_file: bool = False
) -> list[Finding]:
    """The failed checks of a Checkov run over an export, each with the URN of its resource.

    :param only_this_file: the run scanned several files at once (``checkov -f A -f B``): keep the checks
        whose ``file_abs_path`` is ``file`` (one Checkov start for all exports instead of one per file).
    """
    section = export.get("pulumi") or export.get("metadata", {}).get("pulumi")
    if not isinstance(section, Mapping):
        raise PlanError(f"{file}: not an `infra export` document (no pulumi address map)")
    addresses = section["addresses"]
    target = Path(file).resolve()
    result = []
    for report in _reports(checkov_output):
        for failed in report["results"].get("failed_checks", []):
            if only_this_file and _scanned_file(failed) != target:
                continue
            address = failed.get("resource", "")
            result.append(
                Finding(
                    check=failed.get("check_id", "?"),
                    name=failed.get("check_name", ""),
                    address=address,
                    urn=addresses.get(address),
                    stack=section["stack"],
                    file=file,
                )
            )
    return result


def judge(found: Sequence[Finding], baseline: Sequence[Suppression]) -> Verdict:
    """Split findings into accepted (by which entry) and new; list entries that accepted nothing."""
    verdict = Verdict()
    used: set[Suppression] = set()
    for finding in found:
        entry = next(
            (s for s in baseline if finding.urn and s.covers(finding.check, finding.urn, finding.stack)), None
        )
        if entry is None:
            verdict.new.append(finding)
        else:
            verdict.accepted.append((finding, entry))
            used.add(entry)
    verdict.unused = [s for s in baseline if s not in used]
    return verdict


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise PlanError(f"{what}: cannot be read as JSON ({error})") from error


def _gate_command(args: argparse.Namespace) -> int:
    baseline = load_baseline(Path(args.baseline))
    shared = _read_json(args.results, args.results) if args.results else None
    found: list[Finding] = []
    for pair in args.pairs:
        export_file, _, result_file = pair.partition("=")
        if shared is not None and result_file:
            raise PlanError(f"{pair!r}: with --results, name the export only")
        if shared is None and not result_file:
            raise PlanError(f"{pair!r}: expected EXPORT.json=CHECKOV_RESULT.json (or --results)")
        export = _read_json(export_file, pair)
        if shared is not None:
            found += findings(shared, export, export_file, only_this_file=True)
        else:
            found += findings(_read_json(result_file, pair), export, export_file)
    verdict = judge(found, baseline)
    print(f"checkov-gate: {len(found)} failed checks, {len(verdict.accepted)} accepted by the baseline")
    for suppression in verdict.unused:
        print(f"  baseline entry accepts nothing any more: {suppression.check} {suppression.urn}")
    for finding in verdict.new:
        target = finding.urn or f"(no Pulumi resource for address {finding.address})"
        print(
            f"NEW {finding.check} {finding.name}\n    on {target}\n    ({finding.address} in {finding.file})"
        )
    if verdict.new:
        print(
            f"checkov-gate: {len(verdict.new)} new failures: fix them, or add a reviewed entry with a reason "
            f"to {args.baseline}",
            file=sys.stderr,
        )
        return 1
    if verdict.unused and args.strict:
        return 1
    return 0


def add_checkov_gate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "checkov-gate",
        help="fail on Checkov findings over `infra export` output that the reviewed baseline does not accept",
    )
    parser.add_argument(
        "pairs",
        nargs="+",
        metavar="EXPORT.json[=CHECKOV.json]",
        help="an export and its results, or only the export when --results holds one run over all of them",
    )
    parser.add_argument(
        "--results",
        metavar="CHECKOV.json",
        help="`checkov -o json` of one run over several exports (-f each); findings go to the file they name",
    )
    parser.add_argument("--baseline", default=".checkov-baseline.yaml", help="the reviewed suppressions")
    parser.add_argument(
        "--strict", action="store_true", help="also fail on baseline entries that accept nothing"
    )
    parser.set_defaults(handler=_gate_command)
