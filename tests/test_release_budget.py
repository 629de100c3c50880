"""Pipeline timeouts and credential lifetimes against the worst case of the releases they run, as data.

A prod canary (``--steps 5,25,50 --bake 10m --bake-after-swap 10m``) with its confirmations, swap and
possible swap-backs runs for hours at worst; a job killed in the middle of a swap back leaves production on
the bad version, and a credential that expires mid-canary cannot even remove the routing rule. So every job
that releases must be given at least the worst case computed by ``platform_infra.release.budget`` from the
limits and flags its YAML passes (``RELEASE_LIMITS``, the canary steps and bake its callers pass, the apps
in the stack's config), within the hosted runners' 6-hour job limit, and its credentials must outlast what
uses them: AWS until the end of the time-limited ``pulumi`` step, Azure for the whole release (the release
renews its own token from the pipeline's OIDC endpoint; tested below).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import platform_infra.cli.main as cli
import pytest
import yaml
from platform_infra.release import budget
from platform_infra.release import cli as release_cli

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
COMMON = ["--subscription", "11111111-1111-4111-8111-111111111111", "--resource-group", "rg", "--app", "a"]
"""The arguments every release command needs, with placeholder values (the limits do not depend on them)."""


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """``infra``'s parser, built once (~180 arguments): parsing leaves it as it was, with a new Namespace."""
    return cli.build_parser()


def _limits(text: str, stack: str) -> budget.Limits:
    """The limits the pipeline's RELEASE_LIMITS give, read through the real argument parser."""
    verify = _parser().parse_args(["release", "verify", *text.split(), *COMMON])
    swap = _parser().parse_args(["release", "swap", *text.split(), *COMMON])
    from platform_infra.release.flow import ReleaseEngine

    conflict = inspect.signature(ReleaseEngine).parameters["conflict_timeout"].default
    return budget.Limits(
        timeout=verify.timeout,
        interval=verify.interval,
        request_timeout=verify.request_timeout,
        swap_timeout=swap.swap_timeout,
        conflict_timeout=conflict,
        instances=max(app["capacity"] for app in _apps(stack)),
        probes_per_instance=2 if verify.version_from.kind == "path" else 1,
    )


def _parse(command: str, limits: str) -> Any:
    extra = ["--image", "r.azurecr.io/web:1.0.0"] if command == "deploy" else []
    return _parser().parse_args(["release", command, *limits.split(), *extra, *COMMON])


def _apps(stack: str) -> list[dict[str, Any]]:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["platform:apps"]


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smh]?)", text)
    assert match, text
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def _default(expression: str) -> str:
    """``${{ vars.X || 'default' }}`` -> ``default``; a plain value as it is."""
    match = re.fullmatch(r"\$\{\{\s*vars\.\w+\s*\|\|\s*'([^']*)'\s*\}\}", expression.strip())
    return match[1] if match else expression


def _job_minutes(
    stack: str, limits: budget.Limits, steps_text: str, bake_text: str, pulumi_minutes: int
) -> int:
    apps = _apps(stack)
    return budget.deploy_job_minutes(
        limits,
        apps=len(apps),
        released=sum(1 for app in apps if app.get("image")),  # runtime apps are not released by image
        steps=[float(p) for p in steps_text.split(",")] if steps_text else [],
        bake=_duration(bake_text or "0"),
        pulumi_minutes=pulumi_minutes,
    )


def _github_callers() -> Iterator[tuple[str, dict[str, Any]]]:
    """(stack, with:) of every job that calls stack-deploy.yml for a stack with a config file."""
    for path in WORKFLOWS.glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            if job.get("uses") == "./.github/workflows/stack-deploy.yml":
                stack = job["with"]["stack"]
                if (ROOT / f"Pulumi.{stack}.yaml").exists():
                    yield stack, job["with"]


def test_github_deploy_job_outlasts_its_worst_case_release() -> None:
    workflow = yaml.safe_load((WORKFLOWS / "stack-deploy.yml").read_text())
    job = workflow["jobs"]["up"]
    inputs = workflow.get("on", workflow.get(True))["workflow_call"]["inputs"]  # YAML 1.1 reads `on` as True
    [pulumi_step] = [s for s in job["steps"] if s.get("name") == "pulumi up"]
    callers = list(_github_callers())
    assert {stack for stack, _ in callers} >= {"dev", "staging", "prod"}
    for stack, given in callers:
        steps = _default(given.get("release-canary-steps", inputs["release-canary-steps"]["default"]))
        bake = _default(given.get("release-bake", inputs["release-bake"]["default"]))
        limits = _limits(job["env"]["RELEASE_LIMITS"], stack)
        needed = _job_minutes(stack, limits, steps, bake, pulumi_step["timeout-minutes"])
        assert needed <= job["timeout-minutes"] <= budget.HOSTED_JOB_LIMIT_MINUTES, (
            stack,
            steps,
            bake,
            needed,
        )
        if stack == "prod":
            assert steps and bake  # the prod canary is what the budget is sized for
    # AWS: used until the end of `pulumi up` only.
    [aws] = [
        s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")
    ]
    assert (
        aws["with"]["role-duration-seconds"]
        >= (budget.PIPELINE_SETUP_MINUTES + pulumi_step["timeout-minutes"]) * 60
    )


def test_every_github_release_command_gets_the_budgeted_limits() -> None:
    """A command without RELEASE_LIMITS would run with the longer defaults the budget did not count."""
    for name in ("stack-deploy.yml", "rollback.yml"):
        for job in yaml.safe_load((WORKFLOWS / name).read_text())["jobs"].values():
            for step in job.get("steps", []):
                script = step.get("run", "")
                # `infra release budget` counts the limits rather than waiting with them (tested below).
                if not set(re.findall(r"infra release (\w+)", script)) - {"budget"}:
                    continue
                assert 'read -ra limits <<<"$RELEASE_LIMITS"' in script, (name, step.get("name"))
                # Each app's own version and instance contract (stack output, from platform:apps).
                assert ".versionFrom" in script and ".instanceFrom" in script, (name, step.get("name"))
                for line in re.findall(r"infra release \w+[^\n]*", script):
                    assert '"${limits[@]}"' in line or '"${common[@]}"' in line, (name, line)
                if '"${common[@]}"' in script:
                    assert 'common=("${limits[@]}"' in script
                for command in set(re.findall(r"infra release (\w+)", script)) - {"budget"}:
                    # Every command accepts the limits (an unknown flag would fail the step at once).
                    _parse(command, job["env"]["RELEASE_LIMITS"])


def _deploy_job() -> tuple[Any, dict[str, Any]]:
    workflow = yaml.safe_load((WORKFLOWS / "stack-deploy.yml").read_text())
    return workflow, workflow["jobs"]["up"]


def _run_budget_step(step: dict[str, Any], env: dict[str, str], tmp_path: Path, capsys) -> tuple[int, str]:
    """Run the step's bash script as the runner would, with ``.venv/bin/infra`` a stand-in that records its
    arguments; then run those arguments through the real ``infra`` (in-process). Returns (code, stderr)."""
    shim = tmp_path / ".venv" / "bin" / "infra"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text('#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done > "$ARGS_OUT"\n')
    shim.chmod(0o755)
    recorded = tmp_path / "args"
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", step["run"]],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "ARGS_OUT": str(recorded), **env},
        check=True,
    )
    argv = recorded.read_text().split("\0")[:-1]
    assert argv[:2] == ["release", "budget"], argv
    capsys.readouterr()
    code = cli.main([*argv, "--root", str(ROOT)])
    return code, capsys.readouterr().err


def test_github_deploy_job_checks_this_runs_release_budget_before_changing_anything(
    tmp_path: Path, capsys
) -> None:
    """The static check above uses the callers' defaults; repository variables (PROD_CANARY_STEPS,
    PROD_RELEASE_BAKE, RELEASE_IMAGES) size the release at run time. So the job runs `infra release budget`
    with the very inputs of its release step, before its first credential, and fails on a release that
    could outlast the job: e.g. RELEASE_IMAGES naming both prod apps (each canaried and baked, swap-backs
    included) needs more than the 330 minutes."""
    workflow, job = _deploy_job()
    steps = job["steps"]
    [check] = [s for s in steps if "infra release budget" in s.get("run", "")]
    [release] = [s for s in steps if "infra release canary" in s.get("run", "")]
    [pulumi_step] = [s for s in steps if s.get("name") == "pulumi up"]
    for name in ("CANARY_STEPS", "BAKE", "RELEASE_IMAGES"):
        assert check["env"][name] == release["env"][name], name
    first_credential = min(
        i
        for i, s in enumerate(steps)
        if str(s.get("uses", "")).startswith(("aws-actions/configure-aws-credentials", "azure/login"))
    )
    assert steps.index(check) < first_credential < steps.index(pulumi_step)
    assert f"--job-minutes {job['timeout-minutes']} " in check["run"] + " "
    assert f"--pulumi-minutes {pulumi_step['timeout-minutes']}" in check["run"]

    inputs = workflow.get("on", workflow.get(True))["workflow_call"]["inputs"]
    for stack, given in _github_callers():
        env = {
            "STACK": stack,
            "RELEASE_LIMITS": job["env"]["RELEASE_LIMITS"],
            "CANARY_STEPS": _default(
                given.get("release-canary-steps", inputs["release-canary-steps"]["default"])
            ),
            "BAKE": _default(given.get("release-bake", inputs["release-bake"]["default"])),
            "RELEASE_IMAGES": "",  # an unset repository variable reads as empty
        }
        assert _run_budget_step(check, env, tmp_path, capsys) == (0, ""), stack
    both = json.dumps({app["name"]: "r.azurecr.io/x:1.0.0" for app in _apps("prod")})
    prod = {"STACK": "prod", "RELEASE_LIMITS": job["env"]["RELEASE_LIMITS"], "CANARY_STEPS": "5,25,50"}
    assert _run_budget_step(check, {**prod, "BAKE": "10m", "RELEASE_IMAGES": both}, tmp_path, capsys)[0] == 2
    one = json.dumps({"web": "r.azurecr.io/web:1.0.0"})
    assert _run_budget_step(check, {**prod, "BAKE": "10m", "RELEASE_IMAGES": one}, tmp_path, capsys)[0] == 0
    code, err = _run_budget_step(check, {**prod, "BAKE": "30m", "RELEASE_IMAGES": one}, tmp_path, capsys)
    assert code == 2
    [line] = err.splitlines()
    assert "stack 'prod'" in line and "PROD_RELEASE_BAKE" in line and "330" in line, line


def test_github_release_renews_its_azure_token_from_oidc() -> None:
    """The release steps run long after the Azure CLI's session has expired; `infra release` uses
    pipeline_credential (GitHub OIDC), which needs id-token: write and the client and tenant in ARM_*."""
    for name, job_name in (("stack-deploy.yml", "up"), ("rollback.yml", "rollback")):
        job = yaml.safe_load((WORKFLOWS / name).read_text())["jobs"][job_name]
        assert job["permissions"]["id-token"] == "write"
        assert {"ARM_CLIENT_ID", "ARM_TENANT_ID", "RELEASE_LIMITS"} <= set(job["env"]), name


def test_github_rollback_job_outlasts_its_worst_case() -> None:
    job = yaml.safe_load((WORKFLOWS / "rollback.yml").read_text())["jobs"]["rollback"]
    needed = max(
        budget.PIPELINE_SETUP_MINUTES
        + budget.minutes(budget.rollback(_limits(job["env"]["RELEASE_LIMITS"], stack)))
        for stack in ("dev", "staging", "prod")
    )
    assert needed <= job["timeout-minutes"], needed


def _azure() -> tuple[dict[str, Any], dict[str, Any]]:
    pipeline = yaml.safe_load((ROOT / "azure-pipelines.yml").read_text())
    steps = yaml.safe_load((ROOT / ".azure-pipelines" / "pulumi-steps.yml").read_text())
    return pipeline, steps


def _azure_deployment_jobs(pipeline: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(job, the parameters it passes to pulumi-steps.yml) of every deployment job of azure-pipelines.yml."""
    for stage in pipeline["stages"]:
        for job in stage["jobs"]:
            if "deployment" in job:
                [step] = [s for s in job["strategy"]["runOnce"]["deploy"]["steps"] if "template" in s]
                yield job, step["parameters"]


def test_azure_devops_jobs_outlast_their_worst_case_release() -> None:
    pipeline, template = _azure()
    limits_text = pipeline["variables"]["RELEASE_LIMITS"]
    defaults = {p["name"]: p.get("default", "") for p in template["parameters"]}
    [pulumi_task] = [s for s in template["steps"] if str(s.get("displayName", "")).startswith("pulumi ")]
    checked = set()
    for job, given in _azure_deployment_jobs(pipeline):
        stack = given["stack"]
        if given["command"] == "up":
            needed = _job_minutes(
                stack,
                _limits(limits_text, stack),
                given.get("canarySteps", defaults["canarySteps"]),
                str(given.get("bake", defaults["bake"])),
                pulumi_task["timeoutInMinutes"],
            )
            checked.add(stack)
        else:  # rollback runs inside the pulumi task, for any stack the run names
            needed = budget.PIPELINE_SETUP_MINUTES + pulumi_task["timeoutInMinutes"]
            worst = max(
                budget.minutes(budget.rollback(_limits(limits_text, s))) for s in ("dev", "staging", "prod")
            )
            assert worst <= pulumi_task["timeoutInMinutes"], worst
        assert needed <= int(job["timeoutInMinutes"]) <= budget.HOSTED_JOB_LIMIT_MINUTES, (stack, needed)
    assert checked == {"dev", "staging", "prod"}


def test_azure_devops_deploy_jobs_check_this_runs_release_budget_before_changing_anything(
    tmp_path: Path, capsys
) -> None:
    """As in GitHub: RELEASE_IMAGES and RELEASE_LIMITS are read at run time, so every `up` job runs `infra
    release budget` with its release task's inputs and its own timeoutInMinutes, before the pulumi task
    (which signs in and changes things)."""
    pipeline, template = _azure()
    steps = template["steps"]
    [check] = [s for s in steps if "infra release budget" in s.get("script", "")]
    # Runs in `up` jobs only: the condition is a template expression resolved at compile time.
    assert check["condition"] == "and(succeeded(), eq('${{ parameters.command }}', 'up'))"
    [pulumi_task] = [s for s in steps if str(s.get("displayName", "")).startswith("pulumi ")]
    [release_task] = [s for s in steps if "release" in str(s.get("displayName", "")) and "task" in s]
    # Before the first task that signs in (AzureCLI@2), so before anything changes.
    signs_in = min(i for i, s in enumerate(steps) if s.get("task") == "AzureCLI@2")
    assert steps.index(check) < signs_in <= steps.index(pulumi_task)
    for name in ("RELEASE_IMAGES", "CANARY_STEPS", "BAKE", "RELEASE_LIMITS"):
        assert check["env"][name] == release_task["env"].get(name, pulumi_task["env"].get(name)), name
    assert f"--pulumi-minutes {pulumi_task['timeoutInMinutes']}" in check["script"]
    defaults = {p["name"]: p.get("default", "") for p in template["parameters"]}
    ran = set()
    for job, given in _azure_deployment_jobs(pipeline):
        if given["command"] != "up":
            assert "jobMinutes" not in given
            continue
        assert given["jobMinutes"] == job["timeoutInMinutes"], given["stack"]
        env = {
            "STACK": given["stack"],
            "RELEASE_IMAGES": "$(RELEASE_IMAGES)",  # an undefined variable stays the macro text
            "CANARY_STEPS": given.get("canarySteps", defaults["canarySteps"]),
            "BAKE": str(given.get("bake", defaults["bake"])),
            "RELEASE_LIMITS": pipeline["variables"]["RELEASE_LIMITS"],
            "JOB_MINUTES": given["jobMinutes"],
        }
        assert _run_budget_step({"run": check["script"]}, env, tmp_path, capsys) == (0, "")
        ran.add(given["stack"])
        if given["stack"] == "prod":
            both = json.dumps({app["name"]: "r.azurecr.io/x:1.0.0" for app in _apps("prod")})
            code, err = _run_budget_step(
                {"run": check["script"]}, {**env, "RELEASE_IMAGES": both}, tmp_path, capsys
            )
            assert code == 2 and "RELEASE_IMAGES" in err
    assert ran == {"dev", "staging", "prod"}


def test_azure_devops_release_task_renews_its_token_and_gets_the_limits() -> None:
    """The release task maps System.AccessToken for AzurePipelinesCredential; the pulumi task does not (the
    job's token stays out of Pulumi and its plugins)."""
    pipeline, template = _azure()
    tasks = [s for s in template["steps"] if s.get("task") == "AzureCLI@2"]
    [pulumi_task] = [s for s in tasks if str(s["displayName"]).startswith("pulumi ")]
    [release_task] = [s for s in tasks if "release" in str(s["displayName"])]
    assert release_task["env"]["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"
    assert release_task["inputs"]["addSpnToEnvironment"] is True
    assert "SYSTEM_ACCESSTOKEN" not in pulumi_task["env"]
    for task in (pulumi_task, release_task):
        script = task["inputs"]["inlineScript"]
        assert task["env"]["RELEASE_LIMITS"] == "$(RELEASE_LIMITS)"
        assert ".versionFrom" in script and ".instanceFrom" in script
        for line in re.findall(r"infra release \w+[^\n]*", script):
            assert '"${limits[@]}"' in line or '"${common[@]}"' in line, line
        for command in set(re.findall(r"infra release (\w+)", script)):
            _parse(command, pipeline["variables"]["RELEASE_LIMITS"])


# -- the budget against the engine --


def test_budget_grows_with_every_wait_it_counts() -> None:
    base = budget.Limits(timeout=300, swap_timeout=600, instances=3)
    canary = budget.canary(base, [5, 25, 50], 600, 600)
    assert budget.canary(base, [5, 25, 50, 75], 600, 600) > canary
    assert budget.canary(base, [5, 25, 50], 900, 600) > canary
    assert (
        budget.canary(budget.Limits(timeout=600, swap_timeout=600, instances=3), [5, 25, 50], 600, 600)
        > canary
    )
    assert (
        budget.canary(budget.Limits(timeout=300, swap_timeout=900, instances=3), [5, 25, 50], 600, 600)
        > canary
    )
    # The three bakes and three swap-back attempts are in it: well over the happy path's 40 minutes.
    assert canary > 4 * 600 + budget.SWAP_BACK_ATTEMPTS * (600 + 600 + 300)


@pytest.fixture(scope="module")
def servers():
    from tests.release_fake import serving

    with serving() as fake:
        yield fake


def _run(servers, argv: list[str], capsys) -> tuple[int, float]:
    """Run a release command against the fake; returns its exit code and the (fake) seconds it waited."""
    from tests.release_fake import APP, RESOURCE_GROUP, SUBSCRIPTION
    from tests.test_release import FakeClock, _engine_deps

    clock = FakeClock()
    started = clock.now
    deps = _engine_deps(servers, "budget-run", clock, clock.sleep)
    args = _parser().parse_args(
        ["release", *argv, "--subscription", SUBSCRIPTION, "--resource-group", RESOURCE_GROUP, "--app", APP]
    )
    code = release_cli.handle(args, deps)
    capsys.readouterr()
    return code, clock.now - started


def test_the_engine_waits_no_longer_than_its_budget(servers, capsys: pytest.CaptureFixture[str]) -> None:
    """Long paths through the real engine against the fake, timed by its clock: a confirmation that never
    succeeds, and a canary whose bake after the swap breaches and swaps back. Each takes most of its budget,
    never more."""
    from tests.release_fake import Behaviour, image

    limits = budget.Limits(timeout=300, swap_timeout=600, instances=2)
    servers.reset(production=image("1.0.0"), staging=image("2.0.0"))
    servers.never_starts = {image("2.0.0")}
    code, waited = _run(servers, ["verify", "--timeout", "300"], capsys)
    assert code == 1 and 300 <= waited <= budget.verify(limits)

    servers.reset(production=image("1.0.0"), staging=image("2.0.0"))
    servers.record(previous=image("0.9.0"), current=image("1.0.0"))
    servers.behaviours = {
        image("2.0.0"): Behaviour(latency=0.9, from_share=0.9)
    }  # fine until it gets everyone
    argv = ["canary", "--image", "myregistry.azurecr.io/web:2.0.0", "--steps", "5,25,50", "--bake", "10m"]
    code, waited = _run(
        servers, [*argv, "--bake-after-swap", "10m", "--timeout", "300", "--swap-timeout", "600"], capsys
    )
    assert code == 1 and servers.production() == image("1.0.0")
    assert 3 * 600 + 60 <= waited <= budget.canary(limits, [5, 25, 50], 600, 600)


# -- the credential that outlasts the Azure CLI's session --


class _OidcEndpoint(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        _OidcEndpoint.seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps({"value": f"jwt-{len(_OidcEndpoint.seen)}"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_github_credential_asks_for_a_fresh_oidc_token_each_time() -> None:
    from azure.identity import ClientAssertionCredential

    server = ThreadingHTTPServer(("127.0.0.1", 0), _OidcEndpoint)
    # shutdown() returns once serve_forever next checks its flag: every 0.5 s by default, 0.05 s here.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        environ = {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"http://127.0.0.1:{server.server_address[1]}/idtoken?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runtime-token",
            "ARM_CLIENT_ID": "22222222-2222-4222-8222-222222222222",
            "ARM_TENANT_ID": "99999999-9999-4999-8999-999999999999",
        }
        credential = release_cli.pipeline_credential(environ)
        assert isinstance(credential, ClientAssertionCredential)
        assert release_cli._github_oidc_token(environ) == "jwt-1"
        assert release_cli._github_oidc_token(environ) == "jwt-2"  # a new one every time, never cached
        path, auth = _OidcEndpoint.seen[0]
        assert path == "/idtoken?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange"
        assert auth == "Bearer runtime-token"
    finally:
        server.shutdown()
        server.server_close()


def test_azure_pipelines_credential_and_the_local_fallback() -> None:
    from azure.identity import AzurePipelinesCredential

    environ = {
        "SYSTEM_OIDCREQUESTURI": "https://dev.azure.com/org/project/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken",
        "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "33333333-3333-4333-8333-333333333333",
        "servicePrincipalId": "22222222-2222-4222-8222-222222222222",
        "tenantId": "99999999-9999-4999-8999-999999999999",
        "SYSTEM_ACCESSTOKEN": "job-token",
    }
    assert isinstance(release_cli.pipeline_credential(environ), AzurePipelinesCredential)
    without_token = {k: v for k, v in environ.items() if k != "SYSTEM_ACCESSTOKEN"}
    assert release_cli.pipeline_credential(without_token) is None  # falls back to DefaultAzureCredential
    assert release_cli.pipeline_credential({}) is None
