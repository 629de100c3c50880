"""The shared fixtures: every test that declares resources runs them through ``pulumi_run``.

``pulumi_run(program, stack=..., config=...)`` installs fresh mocks for that one run (never at module
level: several test files doing that would collide), with the offline runner's hooks as ``infra plan``
has them (:mod:`platform_infra.cli.offline`: no SDK type aliases, no stack traces), and returns an
:class:`platform_infra.cli.mocks.MockRun` holding every registered resource with its parent, provider,
inputs, outputs and options.
"""

from __future__ import annotations

import gc
import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    # Imported where used: with pytest-xdist the controller process loads this file too, and it runs no
    # test, so the library, pydantic and the SDKs (~0.5 CPU s) would only delay starting the workers.
    from platform_infra.cli.mocks import MockRun, PlatformMocks
    from platform_infra.cli.plan import StackFiles
    from platform_infra.environment import Environment, EnvironmentProviders, Tier

RunProgram = Callable[..., "MockRun"]
ShippedRuns = Callable[[str], "tuple[StackFiles, MockRun]"]
"""The ``shipped_runs`` fixture: ``shipped_runs("prod")`` -> (stack files, run), shared by the session."""

REPO_ROOT = Path(__file__).resolve().parent.parent
"""This repository: its Pulumi.yaml and shipped stack files are the project the stack tests run."""


def make_environment(tier: Tier | str = "dev", name: str | None = None, **aws_overrides: Any) -> Environment:
    """A valid environment for component tests (example ids, like the shipped stack files)."""
    from platform_infra.environment import AwsTarget, AzureTarget, Environment, Tier

    tier = Tier(tier)
    account = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}[tier.value]
    return Environment(
        name=name or tier.value,
        tier=tier,
        aws=AwsTarget(
            **{
                "account_id": account,
                "region": "eu-west-1",
                "deploy_role_name": "platform-deploy",
                **aws_overrides,
            }
        ),
        azure=AzureTarget(
            subscription_id="11111111-1111-4111-8111-111111111111",
            tenant_id="99999999-9999-4999-8999-999999999999",
            location="westeurope",
        ),
        tags={"owner": "platform-team", "cost-centre": "CC-1001"},
    )


def make_providers(environment: Environment) -> EnvironmentProviders:
    """Explicit providers for ``environment``; call inside a program run by ``pulumi_run``."""
    from platform_infra.environment import EnvironmentProviders, EnvironmentProvidersArgs

    return EnvironmentProviders(
        environment.name, EnvironmentProvidersArgs(environment=environment, project="platform")
    )


@pytest.fixture
def pulumi_run() -> RunProgram:
    """Run ``program`` under fresh recording mocks: ``pulumi_run(program, stack="dev", config=None)``."""
    from platform_infra.cli.mocks import run_with_mocks
    from platform_infra.cli.offline import TRANSFORMATIONS

    def run(
        program: Callable[[], Any],
        *,
        stack: str = "dev",
        config: Mapping[str, str] | None = None,
        secret_keys: list[str] | None = None,
        mocks: PlatformMocks | None = None,
    ) -> MockRun:
        return run_with_mocks(
            program,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
            mocks=mocks,
            transformations=TRANSFORMATIONS,
            stack_traces=False,
        )

    return run


@pytest.fixture(scope="session")
def shipped_runs() -> Iterator[ShippedRuns]:
    """A shipped stack run as is (its stack file, no overrides), once per session: ``shipped_runs("prod")``.

    The same (files, run) is handed to every test that asks, so only tests that read it may use it; a test
    that changes config or the clock runs its own (``stack_run``, ``run_stack``). Keyed by the ``PLATFORM_*``
    environment variables too (``$PLATFORM_DEPLOYMENT_ID`` changes what ``every_deploy`` secrets register,
    ``$PLATFORM_DRIFT_CHECK`` their options, ``$PLATFORM_INFRA_OPTIMISATIONS`` the offline hooks). At the end
    of the session every shared run is compared with a fingerprint taken when it was made: a test that
    changed one fails the session (with the stack named) instead of silently changing what later tests read.
    """
    from platform_infra.cli.plan import run_stack

    runs: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[StackFiles, MockRun]] = {}
    fingerprints: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def get(stack: str) -> tuple[StackFiles, MockRun]:
        key = (stack, tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PLATFORM_"))))
        if key not in runs:
            runs[key] = run_stack(stack, REPO_ROOT)
            fingerprints[key] = _fingerprint(runs[key])
        return runs[key]

    yield get
    changed = [key for key, shared in runs.items() if _fingerprint(shared) != fingerprints[key]]
    assert not changed, f"a test changed the shared shipped_runs of {changed}: use stack_run for its own run"


@pytest.fixture
def shipped_command_runs(shipped_runs: ShippedRuns, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process ``infra`` commands over a shipped stack as is get the session's shared run of it.

    ``infra plan``, ``check``, ``export`` and ``access`` run the stack's program (``run_stack``), then do
    their own work on the run: the plan document, the policies, the report. With this fixture the program
    run is the one :func:`shipped_runs` made, where the command would have made the very same one: this
    repository's project, the stack file unchanged (no ``--set``), the project's own program and the default
    hooks, under the same ``PLATFORM_*`` environment (shipped_runs' key). Any other call (another root,
    overrides, a bad stack name) runs as before. The commands still parse, read, check, write and print as
    they do; the fingerprints of shipped_runs prove that none of them changed the run it was handed.
    """
    from platform_infra.cli import export, plan

    real = plan.run_stack

    def run_stack(
        stack: str,
        root: Path | None = None,
        overrides: Mapping[str, Any] | None = None,
        program: Callable[[], Any] | None = None,
        offline_hooks: bool | None = None,
    ) -> tuple[StackFiles, MockRun]:
        try:
            project = (root or plan.find_project_root()).resolve()
        except plan.PlanError:
            project = None
        if project == REPO_ROOT and not overrides and program is None and offline_hooks is None:
            return shipped_runs(stack)
        return real(stack, root, overrides, program, offline_hooks)

    monkeypatch.setattr(plan, "run_stack", run_stack)
    monkeypatch.setattr(export, "run_stack", run_stack)


def _fingerprint(shared: tuple[StackFiles, MockRun]) -> str:
    """Everything a test can read of a shared run (dataclass reprs: every field, nested values in order)."""
    files, run = shared
    return hashlib.sha256(repr((files, run.resources, run.stack_outputs)).encode()).hexdigest()


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    """check-jsonschema's command line (``check-jsonschema ARGS...``), run in this process.

    The console script is ``check_jsonschema:main``, a click command; click's ``CliRunner`` invokes that
    same command with these arguments and captures its exit code and both streams (click.palletsprojects.com,
    "Testing Click Applications"). Each separate process cost ~0.3-0.4 CPU s of interpreter start and
    imports for a check of a few milliseconds; the checker and its verdicts are the same.
    """
    from check_jsonschema import main
    from click.testing import CliRunner

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return subprocess.CompletedProcess(
        ["check-jsonschema", *args], result.exit_code, result.stdout, result.stderr
    )


@pytest.fixture
def stack_run() -> Callable[..., MockRun]:
    """Run the real program with a shipped stack file: ``stack_run("prod", overrides={...})``."""
    from platform_infra.cli.plan import run_stack

    def run(stack: str, overrides: Mapping[str, Any] | None = None) -> MockRun:
        return run_stack(stack, REPO_ROOT, overrides=overrides)[1]

    return run


SUITE_GC_GEN0_THRESHOLD = 1_000_000
"""The young-generation threshold while tests run: above what one mock run keeps alive.

CPython counts a tracked object when it is allocated and uncounts it when reference counting frees it
(``Modules/gcmodule.c``), so the count only grows by what outlives its statements: a mock run's resources,
Outputs and futures, which die together when the run is dropped (in reference cycles: only the cyclic
collector frees them). With 100,000 (what :func:`~platform_infra.cli.offline.batch_gc` set when this was
measured) collections ran in the middle of runs and traversed each run's live objects again as they aged.
At 1,000,000 a worker collects a handful of times and mostly frees garbage, which costs about a
microsecond an object whatever the threshold. Measured over the whole suite (two workers,
``gc.callbacks``): GC 8.4 -> 5.0 CPU s, peak RSS per worker 283-347 -> 371-464 MiB; a higher threshold
saved no more CPU (3,000,000: 640 MiB). The console script's own threshold
(:data:`platform_infra.cli.offline.GC_GEN0_THRESHOLD`) is tuned for one plan; the suite sets its own.
"""

HEAVY_FILES_FIRST = (
    "test_offline_runner.py",
    "test_offline_on_demand.py",
    "test_release.py",
    "test_key_vault.py",
    "test_provider_inputs.py",
    "test_retention_enforcer_lambda.py",
    "test_export.py",
    "test_ci_credentials.py",
    "test_workflows.py",
    "test_refusals.py",
    "test_schema.py",
)
"""Test files by CPU time (their own and their subprocesses'), most first, as measured; the rest follow.

pytest-xdist's ``--dist loadfile`` hands whole files to whichever worker is free, in collection order
(``tasks.py test`` turns off its reordering by test count, ``--no-loadscope-reorder``). Starting with the
longest files and ending with short ones (longest-processing-time-first) keeps the two workers finishing
together; by name or test count, test_offline_runner.py (~15 CPU s in 25 tests, most of it the two
console runs of every shipped stack) started late and one worker ran alone for its last ~6 seconds.
Measured at 21:57 UTC (CPU s with subprocesses): 16.9, then 3.8, 3.0, 3.0, 3.0, 2.7, 1.9, 1.6, 1.5, 1.2;
every other file under 1.1 (a worker's first file also pays its ~1.5 s of SDK imports).
"""


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """The files of :data:`HEAVY_FILES_FIRST` first (a stable sort: each file's tests keep their order)."""
    rank = {name: position for position, name in enumerate(HEAVY_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection allocated and collect rarely (see :data:`SUITE_GC_GEN0_THRESHOLD`).

    The session is a batch process too: the SDKs' modules and classes and every test module live until
    the end, and with CPython's default thresholds each full collection the mock runs trigger re-traverses
    all of it (see :func:`platform_infra.cli.offline.batch_gc`).
    """
    from platform_infra.cli.offline import batch_gc

    batch_gc()
    gc.set_threshold(SUITE_GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Freeze the heap once every test and fixture is done: the process only reports and exits now.

    After this, pytest's unraisable-exception plugin runs two full collections (``pytest_unconfigure`` and
    its cleanup, ``_pytest/unraisableexception.py``) and the interpreter finalises. With the young threshold
    of :data:`SUITE_GC_GEN0_THRESHOLD`, the cyclic garbage of hundreds of mock runs is still
    waiting at that point, and traversing and freeing it cost each worker ~1-3 CPU seconds at the very end
    of the run (measured: 1.4 s for a sixth of the suite; 0.04 s frozen). Frozen objects are left to the
    process exit. What is lost: an exception raised in the ``__del__`` of an object in such a cycle is not
    reported as an unraisable-exception warning; ones raised while a test runs still are.
    """
    gc.freeze()
