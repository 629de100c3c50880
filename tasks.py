#!/usr/bin/env python3
"""One entry point for a fresh machine that has nothing but Python 3.11+.

    python3 tasks.py plan dev        # set up .venv, then print the offline plan of the dev stack
    python3 tasks.py test            # set up .venv, then run the test suite
    python3 tasks.py lint            # ruff + pyright
    python3 tasks.py setup           # only set up .venv (what `pulumi up` runs in)
    python3 tasks.py infra ARGS...   # any `infra` subcommand inside the environment

Setting up means: create `.venv` with the standard library's venv, install the pinned `uv` into it, and
install `requirements.lock` (hash-checked) plus this project in editable mode. The step is skipped when
the lock file and pyproject.toml have not changed since the last setup, so repeated calls are quick.
Only the standard library is used here, on purpose: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
UV_VERSION = "0.13.8"
STAMP = VENV / ".platform-infra-setup"


def _venv_bin(name: str) -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / scripts / f"{name}{suffix}"


def _fingerprint() -> str:
    digest = hashlib.sha256(UV_VERSION.encode())
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _run(cmd: list[str | Path]) -> None:
    completed = subprocess.run([str(part) for part in cmd], cwd=ROOT)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def setup() -> None:
    """Create or refresh .venv so that it matches requirements.lock exactly."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this file runs on whatever python3 the user has)
        sys.exit(f"Python 3.11 or newer is required, this is {sys.version.split()[0]}")
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    if not _venv_bin("python").exists():
        print("setup: creating .venv", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    python = _venv_bin("python")
    print("setup: installing pinned dependencies from requirements.lock", file=sys.stderr)
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"uv=={UV_VERSION}"])
    uv = [python, "-m", "uv", "pip"]
    _run([*uv, "sync", "--quiet", "--python", python, "--require-hashes", "requirements.lock"])
    _run([*uv, "install", "--quiet", "--python", python, "--no-deps", "-e", "."])
    STAMP.write_text(fingerprint)


COMMANDS = ("setup", "plan", "infra", "test", "lint")


def main(argv: list[str]) -> None:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:  # before setup: a typo must not cost a full install
        sys.exit(
            f"unknown command {command!r} (one of: {', '.join(COMMANDS)}); see `python3 tasks.py --help`"
        )
    setup()
    if command == "setup":
        return
    if command == "plan":
        _run([_venv_bin("infra"), "plan", *rest])
    elif command == "infra":
        _run([_venv_bin("infra"), *rest])
    elif command == "test":
        _run([_venv_bin("python"), "-m", "pytest", *rest])
    else:  # lint
        _run([_venv_bin("ruff"), "check", "."])
        _run([_venv_bin("ruff"), "format", "--check", "."])
        _run([_venv_bin("pyright")])


if __name__ == "__main__":
    main(sys.argv[1:])
