"""The offline runner's speed work changes nothing it reports: hooks, several stacks per process, fast exit.

* :mod:`platform_infra.cli.offline` drops the provider SDKs' versioned-type aliases and skips the stack
  trace the SDK captures for each registration, only in the offline runner: without it (the program as
  ``pulumi up`` runs it) the aliases and the stack traces still reach the resource monitor.
* The optimised console script (every optimisation on: both hooks, batch GC, fast exit, lazy imports) and
  the unoptimised runner (``PLATFORM_INFRA_OPTIMISATIONS=off``: every one of them off, the switch the
  benchmark's ``before`` column uses) write byte-identical plan documents for every shipped stack, and
  the in-process runner does for every example project.
* ``infra plan --all`` plans every stack in one process; the console script freezes the GC and leaves
  with ``os._exit`` after flushing: nothing is lost, through a pipe or to files.
* ``infra`` imports only the subcommand it runs (no Azure management SDK or pulumi-policy for a plan).

The console runs are made once per module (two processes for every shipped stack, optimised and not) and
every test that reads them shares them; each test still asserts its own property of them.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pulumi._utils as pulumi_utils
import pulumi.runtime.resource
import pulumi_azure_native as azure_native
import pytest
from platform_infra.cli import main as cli_main
from platform_infra.cli import offline
from platform_infra.cli.main import main
from platform_infra.cli.mocks import run_with_mocks
from platform_infra.cli.offline import drop_type_aliases
from platform_infra.cli.plan import build_plan, project_stacks, render_tree, run_stack
from pulumi.runtime.proto import source_pb2

from tests.conftest import REPO_ROOT, RunProgram

SHIPPED_STACKS = project_stacks(REPO_ROOT)
EXAMPLES = REPO_ROOT / "examples"
INFRA = Path(sys.executable).parent / "infra"


DEPLOYMENT = "offline-runner-test"
"""`every_deploy` secrets key on the deployment: fixed, every run of a stack here is one deployment."""


@pytest.fixture(autouse=True)
def _one_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_DEPLOYMENT_ID", DEPLOYMENT)


CONSOLE_TIMEOUT = 300
"""Seconds a console run of every shipped stack may take (a few under load; far more means a hang)."""


def _console_env(optimisations: str, import_log: bool = True) -> dict[str, str]:
    """The console's environment: one deployment id, the optimisation switch, and CPython's import log.

    ``PYTHONPROFILEIMPORTTIME`` (docs.python.org, ``-X importtime``) writes one stderr line per module the
    moment it is first imported, so what a run imported is known even though it leaves with ``os._exit``.
    """
    env = {**os.environ, "PLATFORM_DEPLOYMENT_ID": DEPLOYMENT, offline.SWITCH: optimisations}
    if import_log:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    return env


def _imported(stderr: str) -> set[str]:
    """Module names from the import log (``import time: self [us] | cumulative | name``).

    A module loaded with ``importlib.import_module`` (the SDKs' lazy submodules, ``infra``'s subcommands)
    is not itself logged, only the modules its code imports, so tests look for packages by prefix.
    """
    return {
        line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")
    }


def _loaded(imported: set[str], *packages: str) -> set[str]:
    return {m for m in imported if m in packages or m.startswith(tuple(f"{p}." for p in packages))}


@pytest.fixture(scope="module")
def optimised_all() -> subprocess.CompletedProcess[bytes]:
    """``infra plan --all --json`` with every optimisation on, stdout a pipe (as ``... | tee`` in CI)."""
    return subprocess.run(
        [str(INFRA), "plan", "--all", "--json"],
        capture_output=True,
        cwd=REPO_ROOT,
        env=_console_env("on"),
        timeout=CONSOLE_TIMEOUT,
    )


@pytest.fixture(scope="module")
def unoptimised_all(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """``infra plan --all --json -o DIR`` as the unoptimised runner: its result and each stack's file text."""
    out = tmp_path_factory.mktemp("unoptimised")
    result = subprocess.run(
        [str(INFRA), "plan", "--all", "--json", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=_console_env("off"),
        timeout=CONSOLE_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    return result, {path.stem: path.read_text() for path in sorted(out.iterdir())}


def test_without_the_hooks_the_sdk_aliases_reach_the_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    """pulumi-azure-native attaches one alias per earlier API version (``web_app.py``, ``_internal_init``);
    the program run as the SDK alone runs it (the unoptimised runner) sends them with each registration."""
    monkeypatch.setenv(offline.SWITCH, "off")
    _, run = run_stack("dev", REPO_ROOT)
    web_app = run.one("azure-native:web:WebApp", "web-app")
    assert "type=azure-native:web/v20150801:WebApp" in web_app.aliases
    assert len(web_app.aliases) > 10
    assert sum(len(r.aliases) for r in run.resources) > 300


def test_the_offline_runner_drops_them() -> None:
    _, run = run_stack("dev", REPO_ROOT)
    # Left: only the rename aliases the program writes itself (the apps' Secrets User assignments were
    # children of VaultAccess before).
    assert {r.name: r.aliases for r in run.resources if r.aliases} == {
        f"api-{slot}-secrets-user": [f"name=vault-access-api-{slot}-secrets-user"]
        for slot in ("production", "staging")
    }


def test_aliases_a_program_writes_itself_are_kept(pulumi_run: RunProgram) -> None:
    """Only type-only aliases (the SDK's) go: a rename or re-parent alias is still exercised offline."""

    def program() -> None:
        azure_native.resources.ResourceGroup(
            "renamed-rg",
            opts=pulumi.ResourceOptions(
                aliases=[pulumi.Alias(name="old-rg"), pulumi.Alias(type_="azure-native:old:Group", name="x")]
            ),
        )

    group = pulumi_run(program).one("azure-native:resources:ResourceGroup")
    assert "name=old-rg" in group.aliases
    assert "type=azure-native:old:Group,name=x" in group.aliases
    assert not any(a.startswith("type=azure-native:resources/v") for a in group.aliases)


def test_without_the_hooks_each_registration_sends_its_stack_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK alone (``pulumi/runtime/resource.py``) walks the stack for every registration; the frames
    reach the program's own file, so the hook below skips real work."""
    original = pulumi.runtime.resource._get_stack_trace
    traces: list[source_pb2.StackTrace] = []

    def spy() -> source_pb2.StackTrace:
        traces.append(original())
        return traces[-1]

    monkeypatch.setattr(pulumi.runtime.resource, "_get_stack_trace", spy)
    run_with_mocks(lambda: azure_native.resources.ResourceGroup("rg"), stack="dev")
    assert traces and all(trace.frames for trace in traces)
    assert any(frame.pc.uri.endswith("/test_offline_runner.py") for frame in traces[0].frames)


def test_the_offline_runner_hooks_the_runtime_only_while_a_program_runs(pulumi_run: RunProgram) -> None:
    """Stack traces skipped and lean output properties, only inside the offline runner's program run."""
    original = pulumi.runtime.resource._get_stack_trace
    original_transfer = pulumi.runtime.rpc.transfer_properties
    original_lazy_import = pulumi_utils.lazy_import
    original_unknowns = pulumi.runtime.rpc.contains_unknowns
    seen = {}

    def program() -> None:
        seen["inside"] = pulumi.runtime.resource._get_stack_trace
        seen["transfer"] = pulumi.runtime.rpc.transfer_properties
        seen["lazy_import"] = pulumi_utils.lazy_import
        seen["unknowns"] = pulumi.runtime.rpc.contains_unknowns
        raise RuntimeError("the program fails")

    with pytest.raises(RuntimeError, match="the program fails"):
        pulumi_run(program)
    assert seen["inside"] is not original and not seen["inside"]().frames
    assert seen["transfer"] is offline.lean_transfer_properties
    assert pulumi.runtime.resource._get_stack_trace is original  # put back, even after a failure
    assert pulumi.runtime.rpc.transfer_properties is original_transfer
    assert seen["lazy_import"] is not original_lazy_import
    assert pulumi_utils.lazy_import is original_lazy_import
    assert seen["unknowns"] is offline.contains_unknowns
    assert pulumi.runtime.rpc.contains_unknowns is original_unknowns

    seen.clear()
    with pytest.raises(RuntimeError):
        run_with_mocks(program, stack="dev")  # not the offline runner: the SDK as it is
    assert seen["inside"] is original
    assert seen["transfer"] is original_transfer
    assert seen["lazy_import"] is original_lazy_import
    assert seen["unknowns"] is original_unknowns


def _unknown_values() -> list[object]:
    unknown = pulumi.output.UNKNOWN
    cycle: list[object] = ["a"]
    cycle.append(cycle)
    shared = {"x": [1, {"y": unknown}]}
    return [
        None,
        "text",
        unknown,
        {"a": 1, "b": [1, 2, {"c": "d"}]},
        {"a": 1, "b": [1, 2, {"c": unknown}]},
        [[[[unknown]]]],
        cycle,
        [cycle, unknown],
        {"first": shared, "again": shared},
        ("tuples", unknown),  # the SDK looks into dicts and lists only
    ]


@pytest.mark.parametrize("value", _unknown_values())
def test_the_unknown_check_answers_as_the_sdks_and_leaves_no_cyclic_garbage(value: object) -> None:
    assert offline.contains_unknowns(value) is pulumi.runtime.rpc.contains_unknowns(value)
    # Everything older is not this call's: frozen, it is left out of the collection below, which then only
    # looks at what the check allocates (a full collection of the worker's heap costs ~0.2 s).
    gc.freeze()
    gc.disable()  # whatever the check leaves must be freed by reference counting alone
    try:
        offline.contains_unknowns(value)
        assert gc.collect() == 0
    finally:
        gc.enable()


ON_DEMAND = "pulumi_azure_native.privatedns"
"""A small provider subpackage with every kind of name: resources, their args, input types, enums,
functions and their results."""


@pytest.fixture
def fresh_subpackage() -> Iterator[str]:
    """:data:`ON_DEMAND` as if nothing had loaded it yet; afterwards this process's own copy is back."""

    def ours(name: str) -> bool:
        return name == ON_DEMAND or name.startswith(f"{ON_DEMAND}.")

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    try:
        yield ON_DEMAND
    finally:
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_provider_subpackages_on_demand_hand_out_the_sdks_own_objects(fresh_subpackage: str) -> None:
    """Each name loads only its own module, and is the very object the package's real ``__init__``
    binds; a name the layout does not place (``_utilities``, set by the ``__init__`` itself) runs that
    ``__init__``, after which the package is the SDK's plain module."""
    names = [
        "PrivateZone",  # a resource: private_zone.py
        "PrivateZoneArgs",  # its args, in the same module
        "SubResourceArgs",  # an input type (_inputs)
        "SubResourceArgsDict",
        "ResolutionPolicy",  # an enum (_enums)
        "AwaitableGetPrivateZoneResult",  # a function's result: get_private_zone.py
        "get_private_zone",  # the function, not its module (loaded just above)
        "get_private_zone_output",
        "outputs",  # a module
    ]
    with offline.provider_modules_on_demand():
        package = pulumi_utils.lazy_import(fresh_subpackage)  # as pulumi_azure_native/__init__.py does
    assert isinstance(package, offline.OnDemandPackage)
    handed_out = {name: getattr(package, name) for name in names}
    assert isinstance(package, offline.OnDemandPackage)  # none of them needed the whole package
    loaded = sorted(
        name.rsplit(".", 1)[-1] for name in sys.modules if name.startswith(f"{fresh_subpackage}.")
    )
    assert loaded == ["_enums", "_inputs", "get_private_zone", "outputs", "private_zone"]

    assert package._utilities is sys.modules["pulumi_azure_native._utilities"]
    assert type(package) is types.ModuleType  # the real __init__ ran in it
    assert {name: getattr(package, name) for name in names} == handed_out
    assert all(getattr(package, name) is value for name, value in handed_out.items())
    assert "VirtualNetworkLink" in dir(package)
    with pytest.raises(AttributeError):
        package.NoSuchName  # noqa: B018


class _Resource:
    """Stands in for a resource: transfer_properties only sets attributes on it and puts it in sets."""


@pytest.mark.parametrize(
    "resolution",
    [
        ("a value", True, False, None),
        ({"nested": ["x"]}, True, True, None),  # a secret
        (None, False, False, None),  # unknown (a preview)
        ("depends", True, False, "other"),  # with a dependency
        (None, False, False, "failed"),  # the registration failed
    ],
)
def test_lean_output_properties_resolve_as_the_sdks(
    resolution: tuple[object, bool, bool, str | None],
) -> None:
    """:func:`offline.lean_transfer_properties` against the SDK's ``rpc.transfer_properties``: the same
    properties skipped (urn, a custom resource's id), and each Output resolves to the same value, known,
    secret and dependencies (the resource itself added), or fails with the registration's exception."""
    value, known, secret, extra = resolution
    failure = RuntimeError("registration failed") if extra == "failed" else None
    other = _Resource()

    async def resolve(transfer: object) -> tuple[object, ...]:
        res = _Resource()
        resolvers = transfer(res, {"urn": None, "id": None, "name": None, "tags": None}, True)  # type: ignore[operator]
        assert sorted(resolvers) == ["name", "tags"] and "urn" not in vars(res)
        for resolver in resolvers.values():
            resolver(value, known, secret, {other} if extra == "other" else None, failure)
        results = []
        for name in ("name", "tags"):
            try:
                data = await vars(res)[name]._data
            except RuntimeError as error:
                results.append(("raised", str(error)))
                continue
            mine = {"self" if r is res else "other" for r in data.resources}
            results.append((data.value, data.is_known, data.is_secret, sorted(mine)))
        return tuple(results)

    loop = asyncio.new_event_loop()
    try:
        sdk = loop.run_until_complete(resolve(pulumi.runtime.rpc.transfer_properties))
        lean = loop.run_until_complete(resolve(offline.lean_transfer_properties))
    finally:
        loop.close()
    assert lean == sdk
    expected_resources = ["other", "self"] if extra == "other" else ["self"]
    assert sdk[0] == (
        ("raised", "registration failed") if failure else (value, known, secret, expected_resources)
    )


def test_the_hook_leaves_options_without_sdk_aliases_alone() -> None:
    args = pulumi.ResourceTransformationArgs(
        resource=None,  # type: ignore[arg-type]  # the hook never looks at it
        type_="t:m:R",
        name="r",
        props={},
        opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old")]),
    )
    assert drop_type_aliases(args) is None


def test_every_shipped_stacks_plan_is_byte_identical_to_the_unoptimised_runners(
    optimised_all: subprocess.CompletedProcess[bytes],
    unoptimised_all: tuple[subprocess.CompletedProcess[str], dict[str, str]],
) -> None:
    """Every optimisation on (a pipe, flushed before ``os._exit``) vs every one off (files, normal exit):
    the same bytes for every stack, and the whole output is exactly those documents."""
    assert optimised_all.returncode == 0, optimised_all.stderr.decode()
    _, files = unoptimised_all
    assert sorted(files) == SHIPPED_STACKS
    output = optimised_all.stdout.decode()
    documents = json.loads(output)  # several hundred KB: many pipe buffers
    assert list(documents) == SHIPPED_STACKS
    for stack in SHIPPED_STACKS:
        assert json.dumps(documents[stack], indent=2) + "\n" == files[stack], stack
    joined = ",\n".join(f"{json.dumps(stack)}: {files[stack].removesuffix(chr(10))}" for stack in files)
    assert output == "{\n" + joined + "\n}\n"


@pytest.mark.parametrize(
    "example", sorted(p.name for p in EXAMPLES.iterdir() if (p / "Pulumi.yaml").is_file())
)
def test_every_examples_plan_is_byte_identical_to_the_unoptimised_runners(
    example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples (other teams' projects: their own components and providers) in-process, the switch on
    and off. Off must really have kept the SDK's versioned-type aliases (pulumi-azure-native attaches them
    to its resources; the pulumi-aws types the examples use have none), or the comparison proves nothing."""
    documents, type_aliases, types = {}, {}, set()
    for optimisations in ("on", "off"):
        monkeypatch.setenv(offline.SWITCH, optimisations)
        files, run = run_stack("dev", EXAMPLES / example)
        documents[optimisations] = json.dumps(build_plan(files, run), indent=2)
        type_aliases[optimisations] = [
            a for r in run.resources for a in r.aliases if a.startswith("type=") and "," not in a
        ]
        types |= {r.type for r in run.resources}
    assert documents["on"] == documents["off"]
    assert type_aliases["on"] == []
    if any(t.startswith("azure-native:") for t in types):
        assert len(type_aliases["off"]) > 10


def test_plan_document_has_a_stable_dependency_order(
    unoptimised_all: tuple[subprocess.CompletedProcess[str], dict[str, str]],
) -> None:
    """The SDK collects dependencies in a set (hash order); the plan lists them sorted."""
    document = json.loads(unoptimised_all[1]["dev"])
    orders = [r["options"]["dependsOn"] for r in document["resources"] if "dependsOn" in r.get("options", {})]
    assert orders and all(order == sorted(order) for order in orders)


def test_console_plan_all_writes_every_stack_to_its_file(
    unoptimised_all: tuple[subprocess.CompletedProcess[str], dict[str, str]],
) -> None:
    """``--all -o DIR``: one complete file per stack (compared above) and every status line on stderr."""
    result, files = unoptimised_all
    out = Path(result.args[-1])
    for stack in SHIPPED_STACKS:
        assert f"wrote the offline plan of stack '{stack}' to {out / stack}.json" in result.stderr
        assert files[stack].endswith("}\n"), stack


def test_a_plan_imports_neither_the_release_nor_the_policy_sdk(
    optimised_all: subprocess.CompletedProcess[bytes],
) -> None:
    """Every shipped stack planned (apps, vaults, bootstrap): no Azure management SDK, no pulumi-policy."""
    imported = _imported(optimised_all.stderr.decode())
    assert _loaded(imported, "pulumi_azure_native.web")  # the log is there and covers the program
    assert not _loaded(imported, "azure.mgmt", "azure.identity", "pulumi_policy")


def test_the_unoptimised_runner_loads_what_the_runner_before_loaded(
    unoptimised_all: tuple[subprocess.CompletedProcess[str], dict[str, str]],
) -> None:
    imported = _imported(unoptimised_all[0].stderr)
    assert _loaded(imported, "azure.mgmt.web") and _loaded(imported, "pulumi_policy")


@pytest.mark.parametrize("optimisations", ["on", "off"])
def test_the_switch_turns_batch_gc_and_the_fast_exit_on_and_off_together(
    optimisations: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console path (``main()`` with no argv) with the switch on: GC batched, ``os._exit`` after a
    flush; off: neither, the eager imports, and the code returned for a normal interpreter exit."""
    calls: list[str] = []

    class FastExit(Exception):
        pass

    def exit_now(code: int) -> None:
        calls.append(f"exit_now({code})")
        raise FastExit

    monkeypatch.setenv(offline.SWITCH, optimisations)
    monkeypatch.setattr(sys, "argv", ["infra", "policy-path"])
    monkeypatch.setattr(offline, "batch_gc", lambda: calls.append("batch_gc"))
    monkeypatch.setattr(cli_main, "exit_now", exit_now)
    monkeypatch.setattr(cli_main, "_import_eagerly", lambda: calls.append("eager imports"))
    if optimisations == "on":
        with pytest.raises(FastExit):
            cli_main.main()
        assert calls == ["batch_gc", "exit_now(0)"]
    else:
        assert cli_main.main() == 0
        assert calls == ["eager imports"]


def test_a_mistyped_switch_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(offline.SWITCH, "of")
    assert main(["plan", "dev"]) == 2
    assert capsys.readouterr().err == "error: $PLATFORM_INFRA_OPTIMISATIONS must be 'on' or 'off', not 'of'\n"


def test_output_printed_before_an_error_reaches_a_pipe_and_the_exit_code_is_kept(
    unoptimised_all: tuple[subprocess.CompletedProcess[str], dict[str, str]],
) -> None:
    """stdout is a pipe (block-buffered): the fast exit flushes it on the error path too."""
    bad = subprocess.run(
        [str(INFRA), "plan", "shared", "nosuch"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=_console_env("on", import_log=False),
        timeout=CONSOLE_TIMEOUT,
    )
    assert bad.returncode == 2
    assert bad.stdout == render_tree(json.loads(unoptimised_all[1]["shared"])) + "\n\n"  # all of it
    last_line = bad.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: stack 'nosuch': Pulumi.nosuch.yaml not found")


def test_a_reader_that_goes_away_gets_no_traceback() -> None:
    # ~190 KB of JSON: far more than a pipe holds, so the child is still writing when the reader leaves.
    process = subprocess.Popen(
        [str(INFRA), "plan", "shared", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()  # like `infra plan shared --json | head -c 10`
    errors = process.stderr.read().decode()
    assert process.wait(timeout=CONSOLE_TIMEOUT) == 1
    assert "Traceback" not in errors


def test_importing_the_library_loads_no_provider_sdk() -> None:
    code = (
        "import sys, platform_infra\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pulumi_aws', 'pulumi_azure_native'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_check_and_parity_diff_run_several_stacks_in_one_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "dev", "staging"]) == 0
    out = capsys.readouterr().out
    assert "infra check dev: passed" in out and "infra check staging: passed" in out

    assert main(["check", "dev", "prod", "--policy-config-out", "x.json"]) == 2
    assert "name a single stack" in capsys.readouterr().err

    assert main(["plan", "diff", "--parity", "--stacks", "staging", "prod"]) == 0
    assert capsys.readouterr().out.startswith("## Parity: `staging` vs `prod`")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan"], "error: name a stack (e.g. dev), several, or --all"),
        (["plan", "dev", "--all"], "error: name stacks or --all, not both (got --all and dev)"),
        (["check"], "error: name a stack (e.g. dev), several, or --all"),
    ],
)
def test_stack_selection_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == message


def test_setup_compiled_the_sdks_bytecode() -> None:
    """tasks.py installs with ``--compile-bytecode``: even modules nothing here ever imports (so Python
    never wrote their bytecode on first use) are compiled."""
    for module in ("pulumi_azure_native.compute.virtual_machine", "pulumi_aws.ec2.instance"):
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None
        assert Path(importlib.util.cache_from_source(spec.origin)).is_file(), module
