"""Time and memory of the offline plan per stack, each in a fresh process (as a pipeline runs it).

    .venv/bin/python benchmarks/plan_benchmark.py [--repeat 3] [STACK ...]

Prints, per stack, the resource count, the wall time (median of --repeat runs) and the peak resident
memory of the `infra plan STACK --json` process, and whether it meets the targets below. Results measured
on this project's machines are written down in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 20.0
"""A PR preview runs one plan per stack (twice: base and head); this keeps that well under a minute."""
TARGET_PEAK_MB = 600.0
"""Leaves room for pyright (~650 MB) and the test suite side by side on a 24 GB, 2-core runner."""


def run_once(stack: str) -> tuple[float, float, int]:
    """One `infra plan STACK --json` in a child process: (seconds, peak MB, resources)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "platform_infra.cli.main", "plan", stack, "--json", "-o", out.name],
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"infra plan {stack} failed")
        resources = len(json.loads(Path(out.name).read_text())["resources"])
    return elapsed, usage.ru_maxrss / 1024, resources  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("stacks", nargs="*", default=["dev", "staging", "prod", "shared"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'stack':<8} {'resources':>9} {'median s':>9} {'peak MB':>8}  targets (<= {TARGET_SECONDS:.0f} s, "
        f"<= {TARGET_PEAK_MB:.0f} MB)"
    )
    failed = False
    for stack in args.stacks:
        runs = [run_once(stack) for _ in range(args.repeat)]
        seconds = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        ok = seconds <= TARGET_SECONDS and peak <= TARGET_PEAK_MB
        failed = failed or not ok
        print(f"{stack:<8} {runs[0][2]:>9} {seconds:>9.2f} {peak:>8.0f}  {'met' if ok else 'MISSED'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
