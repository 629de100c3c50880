"""Every CI job that plans, previews, drift-checks or applies a stack gives its providers identical inputs.

Why it matters (pulumi/pulumi ``pkg/resource/deploy/step_generator.go`` and ``plan.go``): provider resources
go through the same step generation as any custom resource, and with ``pulumi up --plan`` each one's new
inputs are checked against the saved plan (``ResourcePlan.checkGoal`` -> ``checkDiff``); any difference
fails the apply with "resource <urn> violates plan: properties changed". The saved prod plan is made by the
read-only identity and applied by the deploying one, so the AWS provider's inputs must not depend on the
job. The same difference makes ``pulumi preview --expect-no-changes`` (drift) report the provider as
changed against state the deploy job wrote: the bridge's ``DiffConfig`` reports any changed provider input
(pulumi-terraform-bridge ``pkg/tfbridge/provider.go``) and ``engine.HasChanges`` counts an explicit
provider's update.

The test takes each job's environment from the pipeline files (GitHub Actions and Azure DevOps: workflow,
job and step ``env``, ``$GITHUB_ENV`` writes and ``export`` lines; expressions stay as their literal text,
and each job gets its own stand-in credentials), runs the stack's offline plan under it and compares every
provider's inputs. Each job's role comes from the AWS profile it writes (``.ci/aws-profile``), checked here
against the shared stack's deploy and read-only role ARNs. Limit: provider plugins may add defaults from
the environment at ``CheckConfig`` time, which an offline plan cannot see; the Python SDKs default only the
AWS region from the environment, and every provider here sets it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from platform_infra.aws_profile import Access, profile_for
from platform_infra.cli.aws_profile import stack_aws_target
from platform_infra.cli.mocks import MockRun
from platform_infra.cli.plan import run_stack

from tests.conftest import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
ADO = REPO_ROOT / ".azure-pipelines"
PULUMI_COMMAND = re.compile(r"pulumi (preview|up|refresh)\b")
GITHUB_ENV_WRITE = re.compile(r'echo "([A-Z_][A-Z0-9_]*)=([^"]*)" >> "\$GITHUB_ENV"')
EXPORT = re.compile(r'^\s*export ([A-Z_][A-Z0-9_]*)="?([^"\n]*)"?\s*$', re.MULTILINE)
PROFILE_CALL = re.compile(r'\.ci/aws-profile "[^"]+" "?(\$access|deploy|preview)"?')


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    if True in document:  # PyYAML reads the bare key `on` as True
        document["on"] = document.pop(True)
    return document


#: Run ids as the CI systems fill them in (a saved plan and its apply share one run); any other expression
#: stays as its literal text, which is what a job-specific value looks like to the program.
RUN_IDS = {"${{ github.run_id }}": "1001", "$(Build.BuildId)": "2002"}


def _strings(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): RUN_IDS.get(str(v), str(v)) for k, v in (mapping or {}).items()}


def _github_job(workflow: str, job: str, stack: str) -> tuple[dict[str, str], str]:
    """The environment ``pulumi`` runs with in ``job`` of ``workflow``, and the profile access it writes."""
    document = _load(WORKFLOWS / workflow)
    spec = document["jobs"][job]
    env = {**_strings(document.get("env")), **_strings(spec.get("env"))}
    access = ""
    for step in spec["steps"]:
        run = str(step.get("run", ""))
        if ".ci/aws-profile" in run or PULUMI_COMMAND.search(run):
            env |= _strings(step.get("env"))
            env |= dict(GITHUB_ENV_WRITE.findall(run))
        if match := PROFILE_CALL.search(run):
            access = match[1]
    # What configure-aws-credentials exports: this job's own session, different in every job.
    env |= {
        "AWS_ACCESS_KEY_ID": f"ASIA-{workflow}-{job}",
        "AWS_SECRET_ACCESS_KEY": f"secret-{workflow}-{job}",
        "AWS_SESSION_TOKEN": f"token-{workflow}-{job}",
        "STACK": stack,
    }
    return env, access


def _ado_job(pipeline: Path, steps_file: Path, command: str, stack: str) -> tuple[dict[str, str], str]:
    """The environment of the AzureCLI@2 task running ``command`` (exports evaluated in order)."""
    variables = _strings(_load(pipeline).get("variables"))
    steps = _load(steps_file)
    tasks = steps.get("steps") or steps["jobs"][0]["steps"]
    task = next(s for s in tasks if s.get("task") == "AzureCLI@2" and PULUMI_COMMAND.search(str(s)))
    script = str(task["inputs"]["inlineScript"]).replace("${{ parameters.command }}", command)
    env = {**variables, **_strings(task.get("env")), **dict(EXPORT.findall(script))}
    env = {k: RUN_IDS.get(v) or v for k, v in env.items()}
    env |= {
        "AWS_ACCESS_KEY_ID": f"ASIA-{steps_file.name}-{command}",
        "AWS_SECRET_ACCESS_KEY": f"secret-{steps_file.name}-{command}",
        "AWS_SESSION_TOKEN": f"token-{steps_file.name}-{command}",
        "STACK": stack,
    }
    match = PROFILE_CALL.search(script)
    access = match[1] if match else ""
    if access == "$access":
        # Evaluate the script's own choice: `access=A; if [ "<command>" = X ] || ...; then access=B; fi`.
        choice = re.search(r"access=(\w+)\n\s*if (.*); then\n\s*access=(\w+)", script)
        assert choice is not None, f"{steps_file.name}: cannot tell which profile the script writes"
        default, condition, alternative = choice.groups()
        pairs = re.findall(r'\[ "([^"]*)" = ([\w-]+) \]', condition)
        access = alternative if any(a == b for a, b in pairs) else default
    return env, access


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update({k: v for k, v in saved.items() if not k.startswith(("PLATFORM_", "AWS_", "ARM_"))})
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _provider_inputs(stack: str, env: Mapping[str, str]) -> dict[str, Any]:
    with _environment(env):
        run: MockRun = run_stack(stack, REPO_ROOT)[1]
    return {r.name: r.inputs for r in run.resources if r.is_provider}


JOBS = {
    # stack -> job -> (environment, profile access)
    "prod": {
        "github prod-plan (saved plan)": lambda: _github_job("deploy.yml", "prod-plan", "prod"),
        "github prod apply (up --plan)": lambda: _github_job("stack-deploy.yml", "up", "prod"),
        "github drift": lambda: _github_job("drift.yml", "detect", "prod"),
        "azure devops PlanProd": lambda: _ado_job(
            REPO_ROOT / "azure-pipelines.yml", ADO / "pulumi-steps.yml", "save-plan", "prod"
        ),
        "azure devops DeployProd": lambda: _ado_job(
            REPO_ROOT / "azure-pipelines.yml", ADO / "pulumi-steps.yml", "up", "prod"
        ),
        "azure devops drift": lambda: _ado_job(ADO / "drift.yml", ADO / "drift-job.yml", "drift", "prod"),
    },
    # The shared stack: applied by a person (docs/bootstrap.md: `infra aws-profile shared --access deploy`,
    # then `pulumi up`), drift-checked by both pipelines with the read-only drift identity.
    "shared": {
        "operator apply (administrator profiles)": lambda: (_operator_environment(), "deploy"),
        "github drift (shared job)": lambda: _github_job("drift.yml", "shared", "shared"),
        "azure devops drift_shared": lambda: _ado_job(
            ADO / "drift.yml", ADO / "drift-job.yml", "drift", "shared"
        ),
    },
    "dev": {
        "github pull-request preview": lambda: _github_job("preview.yml", "preview", "dev"),
        "github deploy": lambda: _github_job("stack-deploy.yml", "up", "dev"),
        "azure devops Preview": lambda: _ado_job(
            REPO_ROOT / "azure-pipelines.yml", ADO / "pulumi-steps.yml", "preview", "dev"
        ),
    },
}
DEPLOYING = {
    "github prod apply (up --plan)",
    "azure devops DeployProd",
    "github deploy",
    "operator apply (administrator profiles)",
}


def _operator_environment() -> dict[str, str]:
    """A person's shell: their own (management account) credentials, the profile file they wrote."""
    return {
        "AWS_ACCESS_KEY_ID": "AKIA-operator",
        "AWS_SECRET_ACCESS_KEY": "secret-operator",
        "AWS_CONFIG_FILE": "/home/operator/.aws/config",
        "STACK": "shared",
    }


@pytest.mark.parametrize("stack", sorted(JOBS))
def test_every_job_gives_the_stacks_providers_identical_inputs(stack: str) -> None:
    inputs = {job: _provider_inputs(stack, make()[0]) for job, make in JOBS[stack].items()}
    reference_job, reference = next(iter(inputs.items()))
    assert reference[f"{stack}-aws"]["profile"] == f"platform-{stack}"
    # Every AWS provider of the stack (the shared stack has one per account, and the state replica's).
    aws = [name for name, provider in reference.items() if "allowedAccountIds" in provider]
    assert len(aws) == (5 if stack == "shared" else 1), aws
    for name in aws:
        assert "assumeRoles" not in reference[name] and reference[name]["profile"].startswith("platform-"), (
            name
        )
    for job, providers in inputs.items():
        assert providers == reference, f"{job} and {reference_job} give the providers different inputs"


def test_a_per_job_role_would_have_been_caught() -> None:
    """The comparison above can fail: without a profile, the provider names the role it assumes, and the
    old prod-plan job (PLATFORM_AWS_ROLE_NAME=platform-preview) gave it another role than the apply."""
    aws = {k: v for k, v in _aws_config("prod").items() if k != "profile"}
    env = _github_job("stack-deploy.yml", "up", "prod")[0]
    with _environment(env):
        apply_side = run_stack("prod", REPO_ROOT, overrides={"platform:aws": aws})[1]
        plan_side = run_stack(
            "prod", REPO_ROOT, overrides={"platform:aws": {**aws, "deployRoleName": "platform-preview"}}
        )[1]
    apply_provider = apply_side.one("pulumi:providers:aws").inputs
    plan_provider = plan_side.one("pulumi:providers:aws").inputs
    assert "platform-deploy" in str(apply_provider["assumeRoles"])
    assert plan_provider != apply_provider


def _aws_config(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    return dict(document["config"]["platform:aws"])


@pytest.fixture(scope="module")
def role_arns(shipped_runs) -> dict[str, dict[str, str]]:
    outputs = shipped_runs("shared")[1].stack_outputs
    return {
        "deploy": json.loads(json.dumps(outputs["deployRoleArns"])),
        "preview": json.loads(json.dumps(outputs["previewRoleArns"])),
    }


@pytest.mark.parametrize("stack", sorted(set(JOBS) - {"shared"}))
def test_each_job_writes_the_profile_of_its_own_identity(stack: str, role_arns: dict) -> None:
    """Deploy jobs' profiles name the deploy role the shared stack creates for that stack, every other
    job's the read-only role; nothing else differs between them."""
    target, _ = stack_aws_target(stack, REPO_ROOT)
    sections = {}
    for job, make in JOBS[stack].items():
        access = make()[1]
        expected = Access.DEPLOY if job in DEPLOYING else Access.PREVIEW
        assert access == expected.value, f"{job} writes a {access or 'no'} profile, not {expected.value}"
        section = profile_for(target, access, session_name="s")
        assert section.role_arn == role_arns[access][stack], job
        assert section.name == f"platform-{stack}"
        sections[job] = section
    assert len({s.role_arn for s in sections.values()}) == 2


def test_the_shared_stacks_jobs_write_every_accounts_profile_with_their_own_role(shipped_runs) -> None:
    """The operator's apply writes the administrator roles (the shared account's deployRoleName, each
    target's organization role), both drift jobs the drift role the shared stack creates in each account
    (output drift.readRoleArns); one profile per provider, the same names in both."""
    from platform_infra.cli.aws_profile import stack_profiles

    outputs = json.loads(json.dumps(shipped_runs("shared")[1].stack_outputs))
    run = shipped_runs("shared")[1]
    providers = {
        r.plain_inputs["profile"]: json.loads(r.plain_inputs["allowedAccountIds"])[0]
        if isinstance(r.plain_inputs["allowedAccountIds"], str)
        else r.plain_inputs["allowedAccountIds"][0]
        for r in run.of_type("pulumi:providers:aws")
    }
    accesses = {job: make()[1] for job, make in JOBS["shared"].items()}
    assert accesses == {job: "deploy" if job in DEPLOYING else "preview" for job in JOBS["shared"]}
    written = {access: stack_profiles("shared", access, environ={}) for access in set(accesses.values())}
    read_roles = sorted(outputs["drift"]["readRoleArns"].values())
    assert sorted(s.role_arn for s in written["preview"]) == read_roles
    assert {s.name: s.role_arn.split(":")[4] for s in written["preview"]} == providers
    assert {s.name: s.role_arn.split(":")[4] for s in written["deploy"]} == providers
    assert {s.role_arn.rsplit("/", 1)[1] for s in written["deploy"]} == {"OrganizationAccountAccessRole"}


def test_infra_aws_profile_shared_refuses_what_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One-line errors naming the key and the stack: external ids that are not JSON or name no target, and
    a drift profile set for a shared stack without a drift identity (no read-only role exists then)."""
    import shutil

    from platform_infra.cli.aws_profile import stack_profiles
    from platform_infra.cli.main import main
    from platform_infra.validation import ValidationError

    with pytest.raises(ValidationError, match=r"^stack 'shared': \$PLATFORM_AWS_EXTERNAL_IDS: is not a JSON"):
        stack_profiles("shared", "preview", environ={"PLATFORM_AWS_EXTERNAL_IDS": "prod=abc"})
    with pytest.raises(ValidationError, match=r"\$PLATFORM_AWS_EXTERNAL_IDS\.qa: is not a target"):
        stack_profiles("shared", "preview", environ={"PLATFORM_AWS_EXTERNAL_IDS": '{"qa": "ext-12345"}'})
    document = yaml.safe_load((REPO_ROOT / "Pulumi.shared.yaml").read_text())
    document["config"]["platform:bootstrap"].pop("drift")
    shutil.copy(REPO_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.shared.yaml").write_text(yaml.safe_dump(document))
    assert main(["aws-profile", "shared", "--access", "preview", "--root", str(tmp_path)]) != 0
    error = capsys.readouterr().err
    assert error.startswith("error: stack 'shared': --access: preview needs platform:bootstrap.drift")
    assert len(error.strip().splitlines()) == 1
    # The administrator profiles still work without it (the apply never needed the drift identity).
    assert main(["aws-profile", "shared", "--access", "deploy", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("role/OrganizationAccountAccessRole") == 4
