"""Checkov over the exports: once per file (the old .ci/checkov) against once for all (the new), timed.

    python3 benchmarks/checkov_once.py        # needs .ci/.checkov-venv (bash .ci/checkov creates it)

Exports every shipped stack in both formats plus the canary (dev, vault open to all), then runs Checkov
the two ways and compares what each reports: the set of (file, check, resource) of the failed checks
must be the same, or the single run would judge differently. Prints wall and CPU seconds of each way
and the system load; results are written down in docs/pipelines.md ("Checkov in CI").
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".ci/.checkov-venv/bin/checkov"
INFRA = ROOT / ".venv/bin/infra"
ARGS = ["--output", "json", "--soft-fail", "--skip-download", "--quiet"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _failed(output: str, file: Path | None = None) -> set[tuple[str, str, str]]:
    reports = json.loads(output)
    reports = reports if isinstance(reports, list) else [reports]
    return {
        (str(file) if file else c["file_abs_path"], c["check_id"], c["resource"])
        for report in reports
        for c in report["results"].get("failed_checks", [])
    }


def main() -> int:
    if not CHECKOV.exists():
        print(f"{CHECKOV} is missing: run bash .ci/checkov once", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp())
    files: list[tuple[Path, str]] = []
    for stack in ("dev", "staging", "prod", "shared"):
        for fmt, framework in (("terraform-plan", "terraform_plan"), ("arm", "arm")):
            target = work / f"{stack}-{fmt}.json"
            subprocess.run([INFRA, "export", stack, "--format", fmt, "-o", target], check=True, cwd=ROOT)
            files.append((target, framework))
    canary = work / "canary.json"
    subprocess.run(
        [
            INFRA,
            "export",
            "dev",
            "--format",
            "arm",
            "--set",
            "platform:vault.defaultAction=Allow",
            "-o",
            canary,
        ],
        check=True,
        cwd=ROOT,
    )
    files.append((canary, "arm"))

    cpu, start = _children_cpu(), time.monotonic()
    each: set[tuple[str, str, str]] = set()
    for path, framework in files:
        run = subprocess.run(
            [CHECKOV, "-f", path, "--framework", framework, *ARGS], capture_output=True, text=True, check=True
        )
        each |= _failed(run.stdout, path)
    each_wall, each_cpu = time.monotonic() - start, _children_cpu() - cpu

    cpu, start = _children_cpu(), time.monotonic()
    arguments = [a for path, _ in files for a in ("-f", str(path))]
    run = subprocess.run(
        [CHECKOV, *arguments, "--framework", "terraform_plan", "arm", *ARGS],
        capture_output=True,
        text=True,
        check=True,
    )
    once = _failed(run.stdout)
    once_wall, once_cpu = time.monotonic() - start, _children_cpu() - cpu

    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(f"per file: {len(files)} Checkov starts, {each_wall:.1f} s wall, {each_cpu:.1f} s CPU")
    print(f"once:     1 Checkov start, {once_wall:.1f} s wall, {once_cpu:.1f} s CPU")
    print(f"failed checks: per file {len(each)}, once {len(once)}, identical: {each == once}")
    for difference in sorted(each ^ once)[:20]:
        print("  differs:", difference)
    return 0 if each == once else 1


if __name__ == "__main__":
    raise SystemExit(main())
