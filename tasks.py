#!/usr/bin/env python3
"""One entry point for a fresh machine that has nothing but Python 3.11+.

    python3 tasks.py plan dev        # set up .venv, then print the offline plan of the dev stack
    python3 tasks.py test            # set up .venv, then run the test suite (all cores; ARGS: as given)
    python3 tasks.py lint            # ruff + pyright + the stack files against their JSON Schema
    python3 tasks.py setup           # only set up .venv (what `pulumi up` runs in)
    python3 tasks.py infra ARGS...   # any `infra` subcommand inside the environment
    python3 tasks.py examples [--lowest]  # the wheel in a fresh virtualenv plans examples/

Setting up means: create `.venv` with the standard library's venv, install the pinned `uv` into it, and
install `requirements.lock` (hash-checked) plus this project in editable mode, compiling every module to
bytecode once (uv does not by default, and the provider SDKs are ~1,000 modules: without it every fresh
`infra` process spends seconds recompiling them). The step is skipped when the lock file, pyproject.toml
and the install options have not changed since the last setup, so repeated calls are quick.
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
INSTALL_OPTIONS = ("--compile-bytecode",)
"""Options of every install step; part of the setup fingerprint, so changing them re-runs setup.

``--compile-bytecode``: uv compiles in a separate pass over the whole of site-packages after installing
(astral-sh/uv, "Add a --compile option to pip install and pip sync"), so the packages already present when
a venv is re-synced get their bytecode too.
"""


def _venv_bin(name: str) -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / scripts / f"{name}{suffix}"


def _fingerprint() -> str:
    digest = hashlib.sha256(" ".join((UV_VERSION, *INSTALL_OPTIONS)).encode())
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _run(cmd: list[str | Path], env: dict[str, str] | None = None) -> None:
    completed = subprocess.run([str(part) for part in cmd], cwd=ROOT, env=env)
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
    quiet = ["--quiet", *INSTALL_OPTIONS, "--python", python]
    _run([*uv, "sync", *quiet, "--require-hashes", "requirements.lock"])
    _run([*uv, "install", *quiet, "--no-deps", "-e", "."])
    # The editable project lives outside site-packages, so uv's pass does not reach it.
    _run([python, "-m", "compileall", "-q", ROOT / "components" / "platform_infra"])
    STAMP.write_text(fingerprint)


EXTRAS = "release,policy"
"""What the examples' check installs besides the library: the pack (`infra check`) and the release tooling."""


def _wheel_requirements(wheel: Path, extras: set[str]) -> list[str]:
    """The wheel's own requirements (``Requires-Dist``) for the base and ``extras``, without markers."""
    import email.parser
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    requirements = []
    for line in metadata.get_all("Requires-Dist") or []:
        requirement, _, marker = line.partition(";")
        extra = marker.split("extra ==")[-1].strip().strip("'\"") if "extra ==" in marker else None
        wanted = extra is None or extra in extras
        if wanted and not requirement.strip().startswith("platform-infra"):
            requirements.append(requirement.strip())
    return requirements


def examples(lowest: bool) -> None:
    """Plan every example from the built wheel in a fresh virtualenv, as another team would install it.

    First the library alone (what a team importing only the components gets): ``infra plan`` of every
    example. Then with the extras: ``infra check`` of every example (the policy pack from the install).
    With ``lowest``, the library's own requirements are installed at the lowest versions its ranges allow
    (uv's ``--resolution lowest-direct`` with them as direct requirements), so the ranges are true. Also
    checks that the wheel resolves next to the newest boto3 and the lowest allowed pulumi-aws.
    """
    import shutil
    import tempfile

    uv = [_venv_bin("python"), "-m", "uv"]
    work = Path(tempfile.mkdtemp(prefix="platform-infra-examples-"))
    try:
        _run([*uv, "build", "--quiet", "--wheel", "--out-dir", work / "dist", ROOT])
        wheel = next((work / "dist").glob("platform_infra-*.whl"))
        _check_wheel_ships_every_package_file(wheel)
        target = work / "venv"
        _run([*uv, "venv", "--quiet", "--python", sys.executable, target])
        python = target / ("Scripts" if os.name == "nt" else "bin") / "python"
        infra = python.parent / ("infra.exe" if os.name == "nt" else "infra")
        projects = []
        for example in sorted((ROOT / "examples").iterdir()):
            if (example / "Pulumi.yaml").is_file():
                projects.append(work / "projects" / example.name)  # outside this repository: only the wheel
                shutil.copytree(example, projects[-1])
        # This repository's own project too: its program is the library's composition from platform:* config
        # (the config models), which the small examples do not use.
        own = work / "projects" / "platform"
        shutil.copytree(ROOT / "stacks", own / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
        for stack_file in ROOT.glob("Pulumi*.yaml"):
            shutil.copy(stack_file, own / stack_file.name)
        projects.append(own)
        for extras, command in (((), ["plan", "dev"]), (tuple(EXTRAS.split(",")), ["check", "dev"])):
            requirements = work / "requirements.txt"
            name = f"platform-infra[{','.join(extras)}]" if extras else "platform-infra"
            direct = _wheel_requirements(wheel, set(extras))
            requirements.write_text("\n".join([f"{name} @ {wheel.as_uri()}", *direct]) + "\n")
            resolution = ["--resolution", "lowest-direct"] if lowest else []
            _run([*uv, "pip", "install", "--quiet", "--python", python, *resolution, "-r", requirements])
            versions = subprocess.run(
                [*map(str, uv), "pip", "freeze", "--python", str(python)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            pins = [line for line in versions.splitlines() if line.split("==")[0] in _LIBRARY_PINS_SHOWN]
            print(f"examples: {name} ({'lowest' if lowest else 'newest'}): {', '.join(pins)}")
            for project in projects:
                completed = subprocess.run(
                    [str(infra), *command], cwd=project, capture_output=True, text=True
                )
                if completed.returncode != 0:
                    what = f"`infra {' '.join(command)}` in {project.name}"
                    sys.exit(f"examples: {what} failed:\n{completed.stderr}")
                print(f"examples: {project.name}: `infra {' '.join(command)}` passes from the wheel")
        _check_resolves_beside(uv, wheel, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_wheel_ships_every_package_file(wheel: Path) -> None:
    """Every file git tracks in the package (data files too: the policy pack's YAML, role tables) is in it."""
    import zipfile

    tracked = subprocess.run(
        ["git", "ls-files", "components/platform_infra"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    shipped = set(zipfile.ZipFile(wheel).namelist())
    missing = [path for path in tracked if path.removeprefix("components/") not in shipped]
    if missing:
        sys.exit(f"examples: the wheel lacks {', '.join(missing)} (package data in pyproject.toml?)")


_LIBRARY_PINS_SHOWN = {
    "pulumi",
    "pulumi-aws",
    "pulumi-azure-native",
    "pulumi-random",
    "pulumi-policy",
    "pydantic",
}


def _check_resolves_beside(uv: list[Path | str], wheel: Path, work: Path) -> None:
    """The wheel must install next to the newest boto3 and the lowest allowed pulumi-aws (uv's resolver)."""
    newest = subprocess.run(
        [*map(str, uv), "pip", "compile", "--quiet", "--no-header", "-"],
        input="boto3\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    boto3 = next(line for line in newest.splitlines() if line.startswith("boto3=="))
    source = work / "beside.in"
    source.write_text(f"platform-infra[all] @ {wheel.as_uri()}\n{boto3}\npulumi-aws==7.0.0\n")
    completed = subprocess.run(
        [*map(str, uv), "pip", "compile", "--quiet", "--no-header", str(source)],
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        sys.exit(
            f"examples: the wheel does not resolve beside {boto3} and pulumi-aws==7.0.0:\n{completed.stderr}"
        )
    print(f"examples: the wheel resolves beside {boto3} and pulumi-aws==7.0.0")


COMMANDS = ("setup", "plan", "infra", "test", "lint", "examples")


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
    elif command == "examples":
        examples(lowest="--lowest" in rest)
    elif command == "test":
        # The whole suite runs on every core (pytest-xdist); one file per worker, so a module's shared
        # stack runs are made once, handed out in the order tests/conftest.py puts the files in (longest
        # first: HEAVY_FILES_FIRST), not xdist's by test count. With arguments (a file, -k, ...) pytest runs
        # them as given, in one process: starting workers costs more than a few tests take.
        whole_suite = ["-n", "auto", "--dist", "loadfile", "--no-loadscope-reorder"]
        # pytest caches each test module with its asserts rewritten (tests/__pycache__, like the bytecode
        # setup compiles), unless Python is told not to write bytecode: then every worker rewrites and
        # compiles all test modules again on every run (~1 CPU s each, measured).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        _run([_venv_bin("python"), "-m", "pytest", *(rest or whole_suite)], env=env)
    else:  # lint
        _run([_venv_bin("ruff"), "check", "."])
        _run([_venv_bin("ruff"), "format", "--check", "."])
        _run([_venv_bin("pyright")])
        # The shipped stack files against the schema `infra schema` generates (as editors check them).
        stacks = sorted(ROOT.glob("Pulumi.*.yaml"))
        _run(
            [
                _venv_bin("check-jsonschema"),
                "--schemafile",
                ROOT / "schema" / "pulumi-stack.schema.json",
                *stacks,
            ]
        )


if __name__ == "__main__":
    main(sys.argv[1:])
