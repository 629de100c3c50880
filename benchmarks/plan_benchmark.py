"""The offline plan against its floor: CPU time and peak memory per stack size, each run in a fresh process.

    .venv/bin/python benchmarks/plan_benchmark.py [--runs 3] [--apps 0 1 10 50 100 200] [--before]

For each size it generates a stack from ``Pulumi.dev.yaml`` with that many blue/green apps (plus the
shipped ``dev`` stack as is) in a temporary project, and times side by side, each in its own process:

* **project**: ``infra plan STACK --json -o FILE``, the console script as engineers and pipelines run it;
* **before** (with ``--before``): the same command as the unoptimised runner,
  ``PLATFORM_INFRA_OPTIMISATIONS=off`` (:func:`platform_infra.cli.offline.optimised`): none of the
  offline runner's hooks (aliases, stack traces, output properties, unknown check, provider modules on
  demand), default GC, a normal interpreter exit, and the release and policy SDKs imported for
  every command as before issue 16 (same install and bytecode: ``--cold`` times an install without it);
* **baseline** (with ``--baseline DIR``): the same command with ``DIR/components`` first on ``PYTHONPATH``,
  i.e. another checkout's runner (e.g. ``git worktree add /tmp/before <commit>``) over the same stacks;

To measure a checkout other than the one whose venv runs it (a frozen commit, while the working tree
changes), run that checkout's script with its ``components`` first on ``PYTHONPATH``: the generated
project copies that checkout's stacks, and every child process imports its package.

* **floor**: the same resources (type, logical name, inputs, provider) registered directly with the typed
  SDK classes under the same mocks: no components, no validation, no offline hooks, a plain exit. This
  is what a naive program would cost; it pays the SDK's alias expansion (see platform_infra.cli.offline).

Reported per size: resources; CPU seconds (user + system of the child, from ``wait4``) as min and median
over ``--runs``; wall median; peak RSS (max over runs); project/floor ratio of the minimum CPU times; and
CPU per resource. CPU time, not wall time, is the headline because the machines this runs on are shared
(wall time absorbs other processes' load; CPU time of the child barely does). ``--cold`` adds one dev run
with an empty bytecode cache (``PYTHONPYCACHEPREFIX`` pointing at a fresh folder), i.e. an install without
compiled bytecode. ``--check-floor`` verifies that the floor registers the same resources with the same
inputs as the project (it exits 1 when not). Results are written down in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import inspect
import json
import keyword
import os
import pickle
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
INFRA = Path(sys.executable).parent / "infra"
DEFAULT_APPS = (0, 1, 10, 50, 100, 200)
PACKAGES = {"aws": "pulumi_aws", "azure-native": "pulumi_azure_native", "random": "pulumi_random"}
"""Type-token package -> Python SDK package (for the floor program)."""


# ---------------------------------------------------------------------------------------------------------
# Generated stacks


def make_project(folder: Path, sizes: Sequence[int]) -> list[str]:
    """A project in ``folder`` (this repository's Pulumi.yaml and program) with the dev stack and one
    generated stack ``apps<N>`` per size; returns the stack names."""
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", folder / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "Pulumi.dev.yaml", folder / "Pulumi.dev.yaml")
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    templates = dev["config"]["platform:apps"]
    names = ["dev"]
    for size in sizes:
        document = copy.deepcopy(dev)
        apps = []
        for index in range(size):
            app = copy.deepcopy(templates[index % len(templates)])
            app["name"] = f"{app['name']}{index:03d}"
            apps.append(app)
        document["config"]["platform:apps"] = apps
        network = document["config"].get("platform:network")
        if network is not None:  # one VNet-integration subnet per app (config/references.py checks it)
            network["appSubnets"] = {
                app["name"]: _app_subnet(network, index) for index, app in enumerate(apps)
            }
        name = f"apps{size}"
        (folder / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        names.append(name)
    return names


def _app_subnet(network: Mapping[str, Any], index: int) -> str:
    """The ``index``-th /26 of the stack's address space after the first /24 (the private endpoints')."""
    import ipaddress

    space = ipaddress.ip_network(network["addressSpace"])
    subnets = list(space.subnets(new_prefix=26))
    return str(subnets[4 + index])


# ---------------------------------------------------------------------------------------------------------
# The floor program


@dataclass
class FloorResource:
    """One custom resource as the project registered it, for the floor program to register again."""

    type: str
    name: str
    urn: str
    provider_urn: str
    inputs: dict[str, Any]


def record_floor(stack: str, project: Path, spec_file: Path) -> int:
    """Run the project's stack once under mocks and save its custom resources for the floor program."""
    from platform_infra.cli.plan import run_stack

    _, run = run_stack(stack, project)
    specs = [
        FloorResource(r.type, r.name, r.urn, r.provider_urn, r.inputs) for r in run.resources if r.custom
    ]
    specs.sort(key=lambda r: not r.type.startswith("pulumi:providers:"))  # providers first
    spec_file.write_bytes(pickle.dumps(specs))
    return len(run.resources)


def _sdk_class(type_token: str) -> type:
    package, module, name = type_token.split(":")
    if package == "pulumi" and module == "providers":
        return importlib.import_module(PACKAGES[name]).Provider
    submodule = module.split("/")[0]
    submodule += "_" if keyword.iskeyword(submodule) else ""  # pulumi_aws.lambda_
    module_name = PACKAGES[package] + ("" if submodule == "index" else "." + submodule)
    return getattr(importlib.import_module(module_name), name)


def _python_names(cls: type) -> dict[str, str]:
    """Input name -> the SDK's Python argument name, from the class's ``<Name>Args`` input type."""
    from pulumi import _types

    args_type = getattr(sys.modules[cls.__module__], f"{cls.__name__}Args", None)
    if args_type is None or not _types.is_input_type(args_type):
        return {}
    return {pulumi: python for python, pulumi in _types.input_type_py_to_pulumi_names(args_type).items()}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _value(value: Any, provider: bool) -> Any:
    """A recorded input as a program would pass it: secrets as secret Outputs; provider config decoded."""
    import pulumi
    from platform_infra.cli.mocks import is_secret_value

    if is_secret_value(value):
        return pulumi.Output.secret(_value(value["value"], provider))
    if provider and isinstance(value, str):
        try:  # the SDK JSON-encodes a provider's non-string config (lists, objects, booleans) itself
            decoded = json.loads(value)
        except ValueError:
            return value
        return value if isinstance(decoded, str) else decoded
    if isinstance(value, Mapping):
        return {k: _value(v, False) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v, False) for v in value]
    return value


def floor_program(specs: Sequence[FloorResource]) -> None:
    """Register every resource of ``specs`` with its typed SDK class, on its provider, with no parent."""
    import pulumi

    providers: dict[str, pulumi.ProviderResource] = {}
    for spec in specs:
        cls = _sdk_class(spec.type)
        accepted = set(inspect.signature(cls._internal_init).parameters)  # type: ignore[attr-defined]
        is_provider = spec.type.startswith("pulumi:providers:")
        names = _python_names(cls)
        kwargs = {}
        for key, value in spec.inputs.items():
            if is_provider and key == "version":
                continue  # a provider's plugin version is a resource option, set by the SDK itself
            argument = names.get(key) or _snake(key)
            if f"{argument}_" in accepted:  # resourceName -> resource_name_ (resource_name is the URN name)
                argument += "_"
            if argument not in accepted:
                raise SystemExit(f"floor: {spec.type} has no argument {argument!r} (input {key!r})")
            kwargs[argument] = _value(value, is_provider)
        opts = pulumi.ResourceOptions(provider=providers.get(spec.provider_urn))
        resource = cls(spec.name, opts=opts, **kwargs)
        if is_provider:
            providers[spec.urn] = resource  # type: ignore[assignment]


def run_floor(spec_file: Path, stack: str, dump: Path | None) -> None:
    """The floor child process: the recorded resources, registered directly, under the same mocks."""
    from platform_infra.cli.mocks import run_with_mocks

    specs: list[FloorResource] = pickle.loads(spec_file.read_bytes())
    run = run_with_mocks(lambda: floor_program(specs), stack=stack)
    if dump is not None:
        dump.write_bytes(pickle.dumps([(r.type, r.name, r.inputs) for r in run.resources if r.custom]))


def check_floor(stack: str, project: Path, spec_file: Path) -> list[str]:
    """Differences between what the floor and the project register (type, name, inputs); [] when equal."""
    from platform_infra.cli.plan import run_stack

    _, run = run_stack(stack, project)
    with tempfile.NamedTemporaryFile(suffix=".pickle") as dump:
        command = [sys.executable, __file__, "--floor-child", str(spec_file), stack, "--dump", dump.name]
        subprocess.run(command, check=True)
        floor = {(t, n): i for t, n, i in pickle.loads(Path(dump.name).read_bytes())}
    problems = []
    for resource in run.resources:
        if not resource.custom:
            continue
        key = (resource.type, resource.name)
        if key not in floor:
            problems.append(f"{stack}: floor lacks {key}")
        elif _comparable(floor[key]) != _comparable(resource.inputs):
            problems.append(f"{stack}: inputs differ for {key}")
    return problems


def _comparable(inputs: Mapping[str, Any]) -> str:
    # Provider config is a JSON string whose key order is the SDK's; assets compare by path.
    def plain(value: Any) -> Any:
        if isinstance(value, str) and value[:1] in "[{":
            try:
                return plain(json.loads(value))
            except ValueError:
                return value
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items() if k != "version"}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    from platform_infra.cli.plan import describe_assets

    return json.dumps(plain(describe_assets(inputs)), sort_keys=True, default=str)


# ---------------------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Sample:
    cpu: float
    wall: float
    peak_mib: float


def measure(command: list[str], env: Mapping[str, str] | None = None) -> Sample:
    """Run ``command`` in a child process; its CPU seconds (user + system), wall seconds, peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{errors.decode(errors='replace')}")
    # ru_maxrss is in KiB on Linux
    return Sample(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024)


def plan_command(stack: str, project: Path, out: Path) -> list[str]:
    return [str(INFRA), "plan", stack, "--root", str(project), "--json", "-o", str(out)]


def child_env(
    pythonpath: Path | None = None, cold: bool = False, optimisations: str = "on"
) -> dict[str, str]:
    from platform_infra.cli.offline import SWITCH

    env = dict(os.environ)  # a PYTHONPATH given to the benchmark (another checkout's components) is kept
    env[SWITCH] = optimisations
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    if cold:
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="cold-pyc-")
    env.setdefault("PLATFORM_DEPLOYMENT_ID", "benchmark")
    return env


def summary(samples: list[Sample]) -> dict[str, float]:
    cpus = [s.cpu for s in samples]
    return {
        "cpu_min": min(cpus),
        "cpu_median": statistics.median(cpus),
        "wall_median": statistics.median(s.wall for s in samples),
        "peak_mib": max(s.peak_mib for s in samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, nargs="*", default=list(DEFAULT_APPS))
    parser.add_argument("--runs", type=int, default=3, help="runs per stack and runner (min/median)")
    parser.add_argument(
        "--before",
        action="store_true",
        help="also time the unoptimised runner (PLATFORM_INFRA_OPTIMISATIONS=off)",
    )
    parser.add_argument("--baseline", type=Path, help="another checkout whose runner to time side by side")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor program")
    parser.add_argument("--cold", action="store_true", help="also time dev with no compiled bytecode")
    parser.add_argument("--check-floor", action="store_true", help="verify the floor registers the same")
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON")
    parser.add_argument("--floor-child", nargs=2, metavar=("SPEC", "STACK"), help=argparse.SUPPRESS)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_child:
        run_floor(Path(args.floor_child[0]), args.floor_child[1], args.dump)
        return

    workdir = Path(tempfile.mkdtemp(prefix="plan-benchmark-"))
    project = workdir / "project"
    project.mkdir()
    stacks = make_project(project, args.apps)
    os.environ.setdefault("PLATFORM_DEPLOYMENT_ID", "benchmark")
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}; CPU s = user+system of the child"
    )
    header = (
        f"{'stack':<8} {'res':>5} {'runner':<9} {'cpu min':>8} {'cpu med':>8} {'wall med':>8} "
        f"{'peak MiB':>8} {'ms/res':>7} {'/floor':>6}"
    )
    print(header)
    results: list[dict[str, Any]] = []
    failed = False
    for stack in stacks:
        spec_file = workdir / f"{stack}.floor.pickle"
        resources = record_floor(stack, project, spec_file)
        if args.check_floor:
            problems = check_floor(stack, project, spec_file)
            for problem in problems[:10]:
                print(f"  floor mismatch: {problem}")
            failed = failed or bool(problems)
        out = workdir / f"{stack}.json"
        runners: dict[str, tuple[list[str], dict[str, str]]] = {
            "project": (plan_command(stack, project, out), child_env()),
        }
        if args.before:
            runners["before"] = (plan_command(stack, project, out), child_env(optimisations="off"))
        if args.baseline:
            runners["baseline"] = (
                plan_command(stack, project, out),
                child_env(pythonpath=args.baseline.resolve() / "components"),
            )
        if not args.no_floor:
            runners["floor"] = (
                [sys.executable, __file__, "--floor-child", str(spec_file), stack],
                child_env(),
            )
        if args.cold and stack == "dev":
            runners["cold"] = (plan_command(stack, project, out), child_env(cold=True))
        # Interleaved (project, baseline, floor, project, ...) so that load drifts hit each runner alike.
        samples: dict[str, list[Sample]] = {name: [] for name in runners}
        for _ in range(args.runs):
            for name, (command, env) in runners.items():
                if name == "cold":
                    env = child_env(cold=True)
                samples[name].append(measure(command, env))
        rows = {name: summary(s) for name, s in samples.items()}
        floor_cpu = rows["floor"]["cpu_min"] if "floor" in rows else None
        for name, row in rows.items():
            ratio = row["cpu_min"] / floor_cpu if floor_cpu else None
            per_resource = 1000 * row["cpu_min"] / max(resources, 1)
            print(
                f"{stack:<8} {resources:>5} {name:<9} {row['cpu_min']:>8.2f} {row['cpu_median']:>8.2f} "
                f"{row['wall_median']:>8.2f} {row['peak_mib']:>8.0f} {per_resource:>7.2f} "
                f"{'' if ratio is None else f'{ratio:.2f}':>6}",
                flush=True,
            )
            results.append({"stack": stack, "resources": resources, "runner": name, **row, "ratio": ratio})
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
