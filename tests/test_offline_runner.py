"""The offline runner's speed work changes nothing it reports: hooks, several stacks per process, fast exit.

* :mod:`platform_infra.cli.offline` drops the provider SDKs' versioned-type aliases, only in the offline
  runner: without it (the program as ``pulumi up`` runs it) the aliases still reach the resource monitor,
  and the plan document of every shipped stack is byte-identical with and without it.
* ``infra plan --all`` plans every stack in one process; each document equals the one-stack runner's.
* The console script freezes the GC and leaves with ``os._exit`` after flushing: nothing is lost.
* ``infra`` imports only the subcommand it runs (no Azure management SDK or pulumi-policy for a plan).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_azure_native as azure_native
import pytest
from platform_infra.cli.main import main
from platform_infra.cli.offline import drop_type_aliases
from platform_infra.cli.plan import plan_stack, project_stacks, run_stack

from tests.conftest import REPO_ROOT, RunProgram

SHIPPED_STACKS = project_stacks(REPO_ROOT)
INFRA = Path(sys.executable).parent / "infra"


DEPLOYMENT = "offline-runner-test"
"""`every_deploy` secrets key on the deployment: fixed, every run of a stack here is one deployment."""


@pytest.fixture(autouse=True)
def _one_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_DEPLOYMENT_ID", DEPLOYMENT)


@pytest.fixture(scope="module")
def unoptimised_plans() -> dict[str, str]:
    """Each shipped stack's plan document (``--json`` text) from the runner without the offline hooks."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLATFORM_DEPLOYMENT_ID", DEPLOYMENT)
        return {
            stack: json.dumps(plan_stack(stack, REPO_ROOT, offline_hooks=False), indent=2)
            for stack in SHIPPED_STACKS
        }


def test_without_the_hooks_the_sdk_aliases_reach_the_monitor() -> None:
    """pulumi-azure-native attaches one alias per earlier API version (``web_app.py``, ``_internal_init``);
    the program run as the SDK alone runs it (no offline hook) sends them with each registration."""
    _, run = run_stack("dev", REPO_ROOT, offline_hooks=False)
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


def test_the_hook_leaves_options_without_sdk_aliases_alone() -> None:
    args = pulumi.ResourceTransformationArgs(
        resource=None,  # type: ignore[arg-type]  # the hook never looks at it
        type_="t:m:R",
        name="r",
        props={},
        opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old")]),
    )
    assert drop_type_aliases(args) is None


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_plan_document_is_byte_identical_with_and_without_the_hooks(
    stack: str, unoptimised_plans: dict[str, str]
) -> None:
    hooked = json.dumps(plan_stack(stack, REPO_ROOT), indent=2)
    assert hooked == unoptimised_plans[stack]


def test_plan_document_has_a_stable_dependency_order(unoptimised_plans: dict[str, str]) -> None:
    """The SDK collects dependencies in a set (hash order); the plan lists them sorted."""
    document = json.loads(unoptimised_plans["dev"])
    orders = [r["options"]["dependsOn"] for r in document["resources"] if "dependsOn" in r.get("options", {})]
    assert orders and all(order == sorted(order) for order in orders)


def test_console_plan_all_writes_every_stack_like_the_unoptimised_runner(
    tmp_path: Path, unoptimised_plans: dict[str, str]
) -> None:
    """One process plans every shipped stack (GC frozen, fast exit); each file is complete and identical
    to the plan the runner without hooks produces, and every status line reached stderr."""
    out = tmp_path / "plans"
    result = subprocess.run(
        [str(INFRA), "plan", "--all", "--json", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.stem for p in out.iterdir()) == SHIPPED_STACKS
    for stack in SHIPPED_STACKS:
        assert (out / f"{stack}.json").read_text() == unoptimised_plans[stack] + "\n", stack
        assert f"wrote the offline plan of stack '{stack}' to {out / stack}.json" in result.stderr


def test_console_output_to_a_pipe_is_complete_and_the_exit_code_kept(
    unoptimised_plans: dict[str, str],
) -> None:
    """stdout is a pipe (block-buffered): the fast exit flushes it. A bad stack exits 2 with its error."""
    ok = subprocess.run(
        [str(INFRA), "plan", "dev", "shared", "--json"], capture_output=True, cwd=REPO_ROOT, timeout=300
    )
    assert ok.returncode == 0, ok.stderr
    documents = json.loads(ok.stdout)  # > 150 KB: several pipe buffers
    assert list(documents) == ["dev", "shared"]
    assert documents["dev"] == json.loads(unoptimised_plans["dev"])

    bad = subprocess.run(
        [str(INFRA), "plan", "dev", "nosuch"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300
    )
    assert bad.returncode == 2
    assert bad.stdout.startswith("Offline plan of stack 'dev'")  # what was printed before the error
    last_line = bad.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: stack 'nosuch': Pulumi.nosuch.yaml not found")


def test_a_reader_that_goes_away_gets_no_traceback() -> None:
    # Several hundred KB: far more than a pipe holds, so the child is still writing when the reader leaves.
    process = subprocess.Popen(
        [str(INFRA), "plan", "--all", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()  # like `infra plan --all --json | head -c 10`
    errors = process.stderr.read().decode()
    assert process.wait(timeout=300) == 1
    assert "Traceback" not in errors


def test_a_plan_imports_neither_the_release_nor_the_policy_sdk(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from platform_infra.cli.main import main\n"
        f"assert main(['plan', 'dev', '-o', {str(tmp_path / 'dev.txt')!r}]) == 0\n"
        "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] for m in sys.modules\n"
        "    if m.startswith(('azure.mgmt', 'azure.identity', 'pulumi_policy')) and '.' in m}\n"
        "    | {m for m in sys.modules if m == 'pulumi_policy'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


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
