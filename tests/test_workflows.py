"""The CI definitions: schema-valid (vendored schemas, no network), hardened, and doing what the docs say.

Pins: every action is pinned to the full commit SHA of a release, with the release in a comment (the SHAs
are those of the tags in the actions' own repositories: actions/checkout v7.0.1, actions/setup-python
v7.0.0, aws-actions/configure-aws-credentials v6.2.3, azure/login v3.0.1, actions/upload-artifact v7.0.0,
actions/download-artifact v8.0.1, actions/github-script v8.0.0); Dependabot keeps them current.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from platform_infra.release.budget import HOSTED_JOB_LIMIT_MINUTES, PIPELINE_SETUP_MINUTES

from tests.conftest import check_jsonschema as run_check_jsonschema

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
AZURE_FILES = [
    ROOT / "azure-pipelines.yml",
    ROOT / ".azure-pipelines" / "pulumi-steps.yml",
    ROOT / ".azure-pipelines" / "drift.yml",
    ROOT / ".azure-pipelines" / "drift-job.yml",
    ROOT / ".azure-pipelines" / "review-stack.yml",
]
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "aws-actions/configure-aws-credentials": ("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
    "azure/login": ("f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca", "v3.0.1"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "actions/github-script": ("ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0"),
}
#: GitHub refuses an issue or pull request comment body over 65,536 characters.
COMMENT_LIMIT = 65536
WRITE_SCOPES = {
    "contents",
    "pull-requests",
    "issues",
    "actions",
    "deployments",
    "packages",
    "statuses",
    "checks",
}


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """Run check-jsonschema with one of its vendored schemas (nothing is downloaded)."""
    # The vendored Azure Pipelines schema has patterns the default (unicode ECMA) regex engine rejects.
    return run_check_jsonschema("--regex-variant", "nonunicode", "--builtin-schema", schema, *map(str, files))


def load(path: Path) -> dict[str, Any]:
    """A workflow as data (PyYAML reads the bare key `on` as True)."""
    document = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def workflows() -> dict[str, dict[str, Any]]:
    return {path.name: load(path) for path in sorted(WORKFLOWS.glob("*.yml"))}


def steps_text(workflow: dict[str, Any]) -> str:
    """Every `run` script and `uses` of a workflow, for searching."""
    parts = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            parts.append(str(step.get("run", "")))
            parts.append(str(step.get("uses", "")))
    return "\n".join(parts)


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, job_name, job) for name, wf in workflows().items() for job_name, job in wf["jobs"].items()]


def test_workflows_and_dependabot_match_their_schemas() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {
        "preview.yml",
        "deploy.yml",
        "stack-deploy.yml",
        "drift.yml",
        "review-stack.yml",
        "tag-deploy.yml",
    }
    result = check_jsonschema("vendor.github-workflows", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    result = check_jsonschema("vendor.dependabot", ROOT / ".github" / "dependabot.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_azure_pipelines_match_schema() -> None:
    result = check_jsonschema("vendor.azure-pipelines", *AZURE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = load(WORKFLOWS / "deploy.yml")
    broken["jobs"]["prod-plan"]["runs-on"] = {"unexpected": ["mapping"]}
    broken["jobs"]["prod-plan"]["concurency"] = "typo"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert check_jsonschema("vendor.github-workflows", path).returncode == 1


def test_every_action_is_pinned_to_a_reviewed_commit_with_its_version() -> None:
    seen = set()
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if not match or match.group(1).startswith("./"):
                continue
            action, _, ref = match.group(1).partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", ref), (
                f"{path.name}: {action} is not pinned to a commit: {ref}"
            )
            assert action in PINS, f"{path.name}: {action} has no reviewed pin"
            sha, version = PINS[action]
            assert ref == sha and match.group(2).strip() == f"# {version}", f"{path.name}: {line.strip()}"
            seen.add(action)
    # pulumi/actions is not used: the CLI is installed by .ci/install-pulumi, pinned and checksum-verified.
    assert seen == set(PINS)


def test_dependabot_keeps_the_actions_current() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    (update,) = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert update["directory"] == "/" and update["schedule"]["interval"]


def test_checkout_never_keeps_its_token() -> None:
    for name, job_name, job in all_jobs():
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{name}:{job_name}"


def test_permissions_are_per_job_and_minimal() -> None:
    for name, wf in workflows().items():
        if "workflow_call" not in wf["on"]:
            assert wf.get("permissions") == {}, f"{name}: top-level permissions must be empty"
    for name, job_name, job in all_jobs():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name}:{job_name} names no permissions"
        writes = {scope for scope, level in permissions.items() if level == "write" and scope in WRITE_SCOPES}
        # A job that can get cloud credentials (OIDC) never also writes to GitHub, and vice versa.
        if permissions.get("id-token") == "write":
            assert not writes, f"{name}:{job_name} holds OIDC and {writes}"
        assert len(writes) <= 1, f"{name}:{job_name}: {writes}"


def test_tests_run_in_a_job_without_oidc_or_write_rights() -> None:
    preview = load(WORKFLOWS / "preview.yml")
    runners = [
        (job_name, job)
        for job_name, job in preview["jobs"].items()
        if any(
            "tasks.py test" in str(s.get("run", "")) or ".ci/run" in str(s.get("run", ""))
            for s in job["steps"]
        )
    ]
    assert runners, "the pull request workflow runs no tests"
    for job_name, job in runners:
        assert job["permissions"] == {"contents": "read"}, job_name
    ci_step = next(s for s in preview["jobs"]["ci"]["steps"] if "run" in s)
    # .ci/checkov itself fails on a finding the baseline does not accept (tests/test_export.py).
    assert ci_step["run"].strip() == "bash .ci/run"
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert "python3 tasks.py test" in ci_script and "python3 tasks.py lint" in ci_script
    assert ".ci/checkov" in ci_script and "zizmor" in ci_script


def test_every_job_has_a_timeout_and_aws_sessions_outlive_it() -> None:
    shared = yaml.safe_load((ROOT / "Pulumi.shared.yaml").read_text())["config"]
    pipeline_max = shared["platform:bootstrap"]["pipeline"]["maxSessionDurationSeconds"]
    for name, job_name, job in all_jobs():
        if "uses" in job:  # calls a reusable workflow, whose jobs have their own timeouts
            continue
        timeout = job.get("timeout-minutes")
        # Jobs that release (RELEASE_LIMITS) last as long as a canary can; test_release_budget checks them.
        releases = "RELEASE_LIMITS" in job.get("env", {})
        assert isinstance(timeout, int) and timeout <= (HOSTED_JOB_LIMIT_MINUTES if releases else 90), (
            f"{name}:{job_name}"
        )
        needed = timeout
        steps = job.get("steps", [])
        bounded = [s for s in steps if "timeout-minutes" in s and "pulumi " in s.get("run", "")]
        if releases and bounded:
            # AWS is used until the end of the (time-limited) Pulumi step; the release steps use Azure only.
            needed = PIPELINE_SETUP_MINUTES + max(s["timeout-minutes"] for s in bounded)
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
                duration = step["with"]["role-duration-seconds"]
                assert duration >= needed * 60, f"{name}:{job_name}: {duration}s < {needed} min"
                if "AWS_PIPELINE_ROLE_ARN" in step["with"]["role-to-assume"]:
                    assert duration <= pipeline_max, (
                        f"{name}:{job_name}: the pipeline role allows {pipeline_max}s"
                    )


def test_azure_cli_logs_in_again_before_the_release_steps() -> None:
    """The CLI's OIDC session cannot be renewed (Azure/login#180): `infra release` must get a fresh one."""
    steps = load(WORKFLOWS / "stack-deploy.yml")["jobs"]["up"]["steps"]
    names = [s.get("name", "") for s in steps]
    logins = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("azure/login@")]
    up = names.index("pulumi up")
    assert any(i > up for i in logins) and max(logins) < names.index(
        "Smoke checks (production slots healthy)"
    )


def test_preview_runs_checks_per_stack_and_previews_the_shared_stack_when_touched() -> None:
    preview = load(WORKFLOWS / "preview.yml")
    assert "pull_request" in preview["on"]
    job = preview["jobs"]["preview"]
    assert job["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.scope.outputs.stacks) }}"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    text = steps_text(preview)
    for command in (
        'infra check "$STACK"',
        'infra plan "$STACK" --json',
        "infra plan diff base-plan.json head-plan.json",
        '--policy-pack "$(.venv/bin/infra policy-path)"',
        "pulumi preview",
        "--diff",
        "bash .ci/run",
    ):
        assert command in text, command
    cloud = [
        s
        for s in job["steps"]
        if s.get("uses", "").split("@")[0] in {"aws-actions/configure-aws-credentials", "azure/login"}
        or "pulumi preview --stack" in str(s.get("run", ""))
        or ".ci/install-pulumi" in str(s.get("run", ""))
    ]
    assert len(cloud) == 4 and all(s.get("if") == "env.CLOUD == 'true'" for s in cloud)
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["env"]["CLOUD"]
    assert "secrets." not in (WORKFLOWS / "preview.yml").read_text()
    comment = preview["jobs"]["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert not any("checkout" in str(s.get("uses", "")) for s in comment["steps"])


@pytest.mark.parametrize(
    ("changed", "stacks"),
    [
        ("README.md\ncomponents/platform_infra/app_service.py", ["dev", "staging", "prod"]),
        ("Pulumi.shared.yaml", ["dev", "staging", "prod", "shared"]),
        ("components/platform_infra/state_backend.py", ["dev", "staging", "prod", "shared"]),
    ],
)
def test_the_shared_stack_is_previewed_when_a_pull_request_touches_it(
    tmp_path: Path, changed: str, stacks: list[str]
) -> None:
    """Run the scope step with a `git` that reports the pull request's changed files."""
    (step,) = load(WORKFLOWS / "preview.yml")["jobs"]["scope"]["steps"][1:]
    git = tmp_path / "git"
    git.write_text(f"#!/bin/sh\nprintf '%s\\n' '{changed}'\n")
    git.chmod(0o755)
    output = tmp_path / "output"
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "BASE_SHA": "b",
    }
    subprocess.run(["bash", "-e", "-c", step["run"]], env=env, check=True)
    key, _, value = output.read_text().strip().partition("=")
    assert key == "stacks"
    assert [entry["stack"] for entry in json.loads(value)] == stacks


def test_the_comment_is_bounded_as_a_whole(tmp_path: Path) -> None:
    """Run the report step as the runner would, with every input far over the limit."""
    (step,) = [
        s
        for s in load(WORKFLOWS / "preview.yml")["jobs"]["preview"]["steps"]
        if s.get("name") == "Compose the report"
    ]
    (tmp_path / "plan-diff.md").write_text("| `x` | a | b |\n" * 20000)
    (tmp_path / "check.txt").write_text("violation ünïcödé\n" * 20000)
    (tmp_path / "preview.txt").write_text("~ update resource\n" * 20000)
    summary = tmp_path / "summary.md"
    env = {**os.environ, "STACK": "dev", "GITHUB_STEP_SUMMARY": str(summary)}
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, check=True)
    report = (tmp_path / "report.md").read_text()
    assert len(report) <= COMMENT_LIMIT
    assert report.startswith("<!-- platform-preview:dev -->")
    script = next(
        s
        for s in load(WORKFLOWS / "preview.yml")["jobs"]["comment"]["steps"]
        if "with" in s and "script" in s["with"]
    )
    assert "const LIMIT = 65536" in script["with"]["script"]


def test_prod_plan_artifact_is_recreatable_and_outlives_the_approval_wait() -> None:
    """A job waiting for required reviewers fails after 30 days (GitHub docs, "Reviewing deployments")."""
    deploy = load(WORKFLOWS / "deploy.yml")
    (upload,) = [
        s for s in deploy["jobs"]["prod-plan"]["steps"] if "upload-artifact" in str(s.get("uses", ""))
    ]
    assert upload["with"]["overwrite"] is True
    assert upload["with"]["retention-days"] >= 30
    docs = (ROOT / "docs" / "pipelines.md").read_text()
    assert "Re-run the `prod-plan` job" in docs


def test_deploy_promotes_dev_staging_then_approved_prod_plan() -> None:
    deploy = load(WORKFLOWS / "deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    assert deploy["concurrency"]["cancel-in-progress"] is False
    jobs = deploy["jobs"]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod-plan"]["needs"] == "staging"
    assert jobs["prod"]["needs"] == "prod-plan"
    assert jobs["prod"]["with"] == {
        "stack": "prod",
        "environment": "production",
        "plan-artifact": "prod-plan",
        "release-canary-steps": "${{ vars.PROD_CANARY_STEPS || '5,25,50' }}",
        "release-bake": "${{ vars.PROD_RELEASE_BAKE || '10m' }}",
    }
    plan_text = "\n".join(str(s.get("run", "")) for s in jobs["prod-plan"]["steps"])
    assert "--save-plan prod-plan.json" in plan_text
    assert "environment" not in jobs["prod-plan"]
    assert jobs["prod-plan"]["concurrency"]["group"] == "pulumi-stack-prod"
    stack = load(WORKFLOWS / "stack-deploy.yml")
    up = stack["jobs"]["up"]
    assert up["environment"] == "${{ inputs.environment }}"
    assert up["concurrency"] == {"group": "pulumi-stack-${{ inputs.stack }}", "cancel-in-progress": False}
    text = steps_text(stack)
    assert '--plan "$STACK-plan.json"' in text
    for command in (
        "pulumi up",
        "infra release verify",
        "infra release deploy",
        "infra release swap",
        "infra release canary",
        "--target production",
    ):
        assert command in text, command


def test_a_dev_tag_deploys_that_commit_to_dev() -> None:
    tag = load(WORKFLOWS / "tag-deploy.yml")
    assert tag["on"] == {"push": {"tags": ["dev-*"]}}
    (job,) = tag["jobs"].values()
    assert job["uses"] == "./.github/workflows/stack-deploy.yml"
    assert job["with"] == {"stack": "dev", "environment": "dev"}
    pipeline = yaml.safe_load(AZURE_FILES[0].read_text())
    assert pipeline["trigger"]["tags"]["include"] == ["dev-*"]
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    assert "refs/tags/dev-" in stages["DeployDev"]["condition"]
    assert "refs/heads/main" in stages["DeployStaging"]["condition"]  # a tag never goes further than dev


def test_drift_detection_opens_one_issue_per_drifted_stack() -> None:
    drift = load(WORKFLOWS / "drift.yml")
    assert drift["on"]["schedule"]
    detect, report = drift["jobs"]["detect"], drift["jobs"]["report"]
    assert [e["stack"] for e in detect["strategy"]["matrix"]["include"]] == ["dev", "staging", "prod"]
    text = steps_text(drift)
    assert 'pulumi preview --stack "$STACK" --refresh --expect-no-changes' in text
    assert "format('AWS_PREVIEW_ROLE_ARN_{0}', matrix.identity)" in (WORKFLOWS / "drift.yml").read_text()
    assert report["permissions"] == {"issues": "write"}
    script = report["steps"][-1]["with"]["script"]
    assert "Drift: stack ${stack}" in script and "state: 'closed'" in script
    ado = (ROOT / ".azure-pipelines" / "drift-job.yml").read_text()
    assert "--refresh --expect-no-changes" in ado and "Drift: stack ${{ parameters.stack }}" in ado
    assert yaml.safe_load((ROOT / ".azure-pipelines" / "drift.yml").read_text())["schedules"]


def test_the_shared_stack_is_drift_checked_with_its_own_identity_only_on_the_schedule() -> None:
    """The shared stack's job: its own read-only identity (the shared stack's `drift` output), minimal
    rights, a timeout, the same drift/issue logic; its result goes to the one report job. Nothing a pull
    request runs names that identity (docs/bootstrap.md: it reads prod's IAM configuration and decrypts
    prod's external id)."""
    drift = load(WORKFLOWS / "drift.yml")
    assert set(drift["on"]) == {"schedule", "workflow_dispatch"}
    shared, report = drift["jobs"]["shared"], drift["jobs"]["report"]
    assert shared["permissions"] == {"contents": "read", "id-token": "write"}
    # No environment: a job with one presents environment:<name>, which the drift identity does not trust;
    # without, a scheduled run presents ref:refs/heads/<default branch> (GitHub OIDC reference), the only
    # subject it trusts (tests/test_access.py).
    assert "environment" not in shared
    assert 0 < shared["timeout-minutes"] <= 60
    assert shared["env"]["STACK"] == "shared"
    assert shared["env"]["ARM_CLIENT_ID"] == "${{ vars.AZURE_DRIFT_CLIENT_ID }}"
    identities = _identities(shared["steps"], shared["env"])
    assert "vars.AWS_DRIFT_ROLE_ARN" in identities and "vars.AZURE_DRIFT_CLIENT_ID" in identities
    assert "PREVIEW" not in identities and "DEPLOY" not in identities
    text = "\n".join(str(s.get("run", "")) for s in shared["steps"])
    assert 'pulumi preview --stack "$STACK" --refresh --expect-no-changes' in text
    assert "no changes were expected but changes were proposed" in text
    upload = next(s for s in shared["steps"] if "upload-artifact" in str(s.get("uses")))
    assert upload["with"]["name"] == "drift-shared"
    assert set(report["needs"]) == {"detect", "shared"} and "always()" in report["if"]
    for path in [*WORKFLOWS.glob("*.yml"), *AZURE_FILES]:
        if path.name not in {"drift.yml"}:
            for name in ("AWS_DRIFT_ROLE_ARN", "AZURE_DRIFT_CLIENT_ID", "platform-azure-drift"):
                assert name not in path.read_text(), (path, name)
    stages = {
        s["stage"]: s for s in yaml.safe_load((ROOT / ".azure-pipelines" / "drift.yml").read_text())["stages"]
    }
    [job] = stages["drift_shared"]["jobs"]
    assert job["parameters"] == {
        "stack": "shared",
        "serviceConnection": "platform-azure-drift",
        "awsRoleVariable": "AWS_DRIFT_ROLE_ARN",
        "backendVariable": "SHARED_PULUMI_BACKEND_URL",
    }
    bootstrap = yaml.safe_load((ROOT / "Pulumi.shared.yaml").read_text())["config"]["platform:bootstrap"]
    assert bootstrap["drift"]["azureDevOpsServiceConnection"] == "platform-azure-drift"


def test_review_stacks_deploy_labelled_pull_requests_and_clean_up() -> None:
    review = load(WORKFLOWS / "review-stack.yml")
    assert set(review["on"]["pull_request"]["types"]) >= {"labeled", "synchronize", "closed", "unlabeled"}
    assert review["on"]["schedule"]
    deploy, destroy = review["jobs"]["deploy"], review["jobs"]["destroy"]
    assert "'review-stack'" in deploy["if"] and "head.repo.full_name == github.repository" in deploy["if"]
    assert deploy["environment"] == destroy["environment"] == "review"
    text = steps_text(review)
    for command in (
        'infra review config "$PR"',
        "infra review admit",
        "infra review stale",
        "pulumi destroy",
        "--remove",
    ):
        assert command in text, command
    assert "AWS_PIPELINE_ROLE_ARN" not in (WORKFLOWS / "review-stack.yml").read_text()
    # The cleanup decides with the default branch's code, never with the pull request's.
    checkout = destroy["steps"][0]
    assert checkout["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    assert review["jobs"]["comment"]["permissions"] == {"pull-requests": "write"}
    ado = (ROOT / ".azure-pipelines" / "review-stack.yml").read_text()
    assert "infra review config" in ado and "infra review stale" in ado and "--remove" in ado
    # The review identity may read only the pr-* stacks' checkpoints; `pulumi stack ls` reads every stack's
    # on a DIY backend and would fail, so both pipelines list the state keys (tests/test_review.py), and
    # create the stack with the review stacks' own secrets key (the shared stack's review output).
    for document in (text, ado):
        assert not re.search(r"^\s*pulumi stack ls", document, re.MULTILINE)
        assert document.count("aws s3api list-objects-v2") == 2
        assert "pulumi stack select --create" in document and "--secrets-provider" in document


def test_azure_pipeline_has_approval_gate_saved_plan_lock_and_timeouts() -> None:
    pipeline = yaml.safe_load(AZURE_FILES[0].read_text())
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    assert list(stages) == [
        "Validate",
        "Preview",
        "DeployDev",
        "DeployStaging",
        "PlanProd",
        "DeployProd",
        "Rollback",
    ]
    assert stages["DeployStaging"]["dependsOn"] == "DeployDev"
    assert stages["DeployProd"]["dependsOn"] == "PlanProd"
    [prod] = stages["DeployProd"]["jobs"]
    assert prod["environment"] == "production"
    prod_steps = prod["strategy"]["runOnce"]["deploy"]["steps"]
    assert any(s.get("parameters", {}).get("planFile", "").endswith("prod-plan.json") for s in prod_steps)
    [plan] = stages["PlanProd"]["jobs"]
    assert plan["steps"][0]["parameters"]["command"] == "save-plan"
    # The prod plan's lock: the Exclusive lock check on the connection only PlanProd uses (documented).
    assert plan["steps"][0]["parameters"]["serviceConnection"] == "platform-azure-preview-prod"
    assert '"Exclusive lock" check too' in AZURE_FILES[0].read_text()
    assert pipeline["lockBehavior"] == "sequential"
    for path in AZURE_FILES:
        document = yaml.safe_load(path.read_text())
        for stage in document.get("stages", [{"jobs": document.get("jobs", [])}]):
            for job in stage.get("jobs", []):
                if "template" not in job:  # a job template (drift-job.yml) sets its own
                    # Deployment jobs release (canary, bakes): test_release_budget checks their timeouts.
                    limit = HOSTED_JOB_LIMIT_MINUTES if "deployment" in job else 60
                    assert 0 < int(job["timeoutInMinutes"]) <= limit, f"{path.name}: {job}"
    steps = AZURE_FILES[1].read_text()
    assert "--save-plan" in steps and '--plan "$PLAN_FILE"' in steps and "infra release swap" in steps


@pytest.mark.parametrize("path", [*WORKFLOWS.glob("*.yml"), *AZURE_FILES])
def test_pulumi_is_installed_pinned_and_verified(path: Path) -> None:
    text = path.read_text()
    assert "get.pulumi.com | sh" not in text and "pulumi/actions@" not in text
    if "pulumi login" in text:
        assert ".ci/install-pulumi" in text


def _fake_release(tmp_path: Path, version: str, tamper: bool = False) -> tuple[Path, str]:
    """A release folder as get.pulumi.com serves it, and a `curl` on PATH that serves from it."""
    release = tmp_path / "release"
    release.mkdir(parents=True)
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:gz") as archive:
        script = f"#!/bin/sh\necho v{version}\n".encode()
        info = tarfile.TarInfo("pulumi/pulumi")
        info.size, info.mode = len(script), 0o755
        archive.addfile(info, io.BytesIO(script))
    name = f"pulumi-v{version}-linux-x64.tar.gz"
    digest = hashlib.sha256(payload.getvalue()).hexdigest()
    (release / name).write_bytes(payload.getvalue() + (b"tampered" if tamper else b""))
    (release / f"pulumi-{version}-checksums.txt").write_text(f"{digest}  {name}\n0000  other.zip\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    curl = bin_dir / "curl"
    curl.write_text(
        "#!/bin/sh\n"
        'out=""\n'
        'while [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift;; http*) url=$1;; esac; shift; done\n'
        f'cp "{release}/${{url##*/}}" "$out"\n'
    )
    curl.chmod(curl.stat().st_mode | stat.S_IEXEC)
    return bin_dir, digest


def _install(
    tmp_path: Path, bin_dir: Path, version: str, reviewed: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run .ci/install-pulumi; ``reviewed``: the content of its pulumi-cli.sha256 (None: the shipped one)."""
    script = ROOT / ".ci" / "install-pulumi"
    if reviewed is not None:
        ci = tmp_path / "ci"
        ci.mkdir(exist_ok=True)
        (ci / "install-pulumi").write_text(script.read_text())
        (ci / "pulumi-cli.sha256").write_text(reviewed)
        script = ci / "install-pulumi"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(script), version, str(tmp_path / "pulumi")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_pulumi_install_accepts_the_published_archive_with_its_reviewed_hash(tmp_path: Path) -> None:
    bin_dir, digest = _fake_release(tmp_path, "3.272.0")
    reviewed = f"# comment\n{digest}  pulumi-v3.272.0-linux-x64.tar.gz\n"
    result = _install(tmp_path, bin_dir, "3.272.0", reviewed)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pulumi" / "pulumi").exists() and "v3.272.0" in result.stdout


def test_pulumi_install_fails_closed_without_a_reviewed_hash(tmp_path: Path) -> None:
    """The release's own list alone is not enough: it comes from the same server as the archive."""
    bin_dir, digest = _fake_release(tmp_path, "3.272.0")
    for reviewed in ("", f"{digest}  pulumi-v3.271.0-linux-x64.tar.gz\n", "# 0123  x\n"):
        result = _install(tmp_path, bin_dir, "3.272.0", reviewed)
        assert result.returncode == 1 and not (tmp_path / "pulumi" / "pulumi").exists()
        assert "no reviewed sha256 for pulumi-v3.272.0-linux-x64.tar.gz" in result.stderr
        assert "docs/pipelines.md" in result.stderr


def test_pulumi_install_refuses_an_archive_the_reviewed_hash_does_not_match(tmp_path: Path) -> None:
    """A tampered release server serving a consistent archive and list is caught by the reviewed hash."""
    bin_dir, _ = _fake_release(tmp_path, "3.272.0")
    reviewed = f"{'ab' * 32}  pulumi-v3.272.0-linux-x64.tar.gz\n"
    result = _install(tmp_path, bin_dir, "3.272.0", reviewed)
    assert result.returncode != 0 and not (tmp_path / "pulumi" / "pulumi").exists()


def test_shipped_hash_file_covers_the_pinned_version_or_the_install_refuses(tmp_path: Path) -> None:
    """Every pinned PULUMI_VERSION either has its reviewed line or cannot be installed (no silent path)."""
    pinned = {
        m
        for path in [*WORKFLOWS.glob("*.yml"), *AZURE_FILES]
        for m in re.findall(r'PULUMI_VERSION: "([0-9.]+)"', path.read_text())
    }
    assert pinned, "no PULUMI_VERSION pin found"
    lines = (ROOT / ".ci" / "pulumi-cli.sha256").read_text().splitlines()
    for version in pinned:
        bin_dir, _ = _fake_release(tmp_path / version, version)
        covered = any(line.endswith(f"  pulumi-v{version}-linux-x64.tar.gz") for line in lines)
        result = _install(tmp_path / version, bin_dir, version)
        if covered:
            # The fake archive is not the real one: the reviewed hash must refuse it.
            assert result.returncode != 0
        else:
            assert result.returncode == 1 and "no reviewed sha256" in result.stderr


def test_pulumi_install_refuses_a_tampered_archive(tmp_path: Path) -> None:
    bin_dir, digest = _fake_release(tmp_path, "3.272.0", tamper=True)
    result = _install(tmp_path, bin_dir, "3.272.0", f"{digest}  pulumi-v3.272.0-linux-x64.tar.gz\n")
    assert result.returncode != 0 and not (tmp_path / "pulumi" / "pulumi").exists()


def test_pulumi_install_refuses_something_that_is_not_a_version(tmp_path: Path) -> None:
    result = _install(tmp_path, tmp_path, "latest; rm -rf /")
    assert result.returncode == 2 and "not a version" in result.stderr


def test_zizmor_finds_nothing_medium_or_high() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "zizmor"),
            "--offline",
            "--min-severity",
            "medium",
            str(ROOT / ".github"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", [WORKFLOWS / "preview.yml", WORKFLOWS / "stack-deploy.yml", AZURE_FILES[1]])
def test_policy_check_runs_before_any_cloud_step(path: Path) -> None:
    text = path.read_text()
    assert text.index("infra check") < text.index("pulumi login")


@pytest.mark.parametrize(
    "path",
    [
        WORKFLOWS / "stack-deploy.yml",
        WORKFLOWS / "deploy.yml",
        WORKFLOWS / "review-stack.yml",
        AZURE_FILES[1],
    ],
)
def test_deployments_refresh_first_so_a_release_is_not_undone(path: Path) -> None:
    """State must hold the live image (a release swaps it) before the site is sent again."""
    text = path.read_text()
    commands = [
        " ".join(line.strip().rstrip("\\") for line in block.splitlines())
        for block in re.findall(r"pulumi (?:up|preview)[^\n]*(?:\\\n[^\n]*)*", text)
    ]
    commands = [c for c in commands if "--stack" in c]
    deploying = [c for c in commands if "--save-plan" in c or ("pulumi up" in c and "--plan" not in c)]
    assert deploying, f"no deploying pulumi command found in {path.name}"
    for command in deploying:
        assert "--refresh" in command, command


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (WORKFLOWS / "deploy.yml", "${{ github.run_id }}"),
        (WORKFLOWS / "stack-deploy.yml", "${{ github.run_id }}"),
        (WORKFLOWS / "preview.yml", "${{ github.run_id }}"),
        (WORKFLOWS / "tag-deploy.yml", "${{ github.run_id }}"),
        (WORKFLOWS / "review-stack.yml", "${{ github.run_id }}"),
        (ROOT / "azure-pipelines.yml", "$(Build.BuildId)"),
    ],
)
def test_one_deployment_id_per_run_so_saved_plans_still_apply(path: Path, expected: str) -> None:
    """every_deploy secrets rotate per PLATFORM_DEPLOYMENT_ID; a per-attempt id would break `up --plan`."""
    document = load(path)
    variables = document.get("env") or document.get("variables") or {}
    assert variables.get("PLATFORM_DEPLOYMENT_ID") == expected


def test_only_drift_checks_hold_secret_rotation() -> None:
    """PLATFORM_DRIFT_CHECK keeps secrets as they are in state; set by a deployment it would silently skip a
    due rotation, so only the two drift pipelines set it."""
    setting = [
        path.relative_to(ROOT).as_posix()
        for path in sorted(
            [
                *WORKFLOWS.glob("*.yml"),
                ROOT / "azure-pipelines.yml",
                *(ROOT / ".azure-pipelines").glob("*.yml"),
            ]
        )
        if "PLATFORM_DRIFT_CHECK" in path.read_text()
    ]
    assert setting == [".azure-pipelines/drift-job.yml", ".github/workflows/drift.yml"]
    assert load(WORKFLOWS / "drift.yml")["env"]["PLATFORM_DRIFT_CHECK"] == "true"


def test_every_deploy_job_environment_is_its_own_targets_identity() -> None:
    """A job bound to a GitHub environment presents repo:<org>/<repo>:environment:<name> (GitHub's OIDC
    reference, "Example subject claims"); each stack's deploy job must run in the environment whose identity
    the shared stack gives exactly that target, or it gets no credentials (or another target's)."""
    environments = {t["name"]: _github_environment(t) for t in _shared_targets()}
    deploy = load(WORKFLOWS / "deploy.yml")
    used = {
        job["with"]["stack"]: job["with"]["environment"]
        for job in deploy["jobs"].values()
        if isinstance(job.get("with"), dict) and "environment" in job["with"]
    }
    assert used == environments


def test_pull_requests_use_only_dev_and_staging_preview_identities() -> None:
    """A PR token (subject ...:pull_request) reaches only the read-only preview identities of dev and staging
    (the shared stack trusts it nowhere else); the workflow asks for nothing more."""
    text = (WORKFLOWS / "preview.yml").read_text()
    for deploying in (
        "AWS_DEPLOY_ROLE_ARN",
        "AZURE_DEPLOY_CLIENT_ID",
        "AWS_PIPELINE_ROLE_ARN",
        "vars.AZURE_CLIENT_ID",
    ):
        assert deploying not in text, deploying
    job = load(WORKFLOWS / "preview.yml")["jobs"]["preview"]
    assert "environment" not in job  # an environment would change the subject (and need its approval)
    assert "matrix.stack != 'prod'" in job["env"]["CLOUD"]
    logins = _identities(job["steps"])
    assert "AWS_PREVIEW_ROLE_ARN_{0}" in logins and "AZURE_PREVIEW_CLIENT_ID_{0}" in logins


PLANNED = [
    (WORKFLOWS / "deploy.yml", WORKFLOWS / "stack-deploy.yml"),
    (ROOT / ".azure-pipelines" / "pulumi-steps.yml", ROOT / ".azure-pipelines" / "pulumi-steps.yml"),
]


def _commands(path: Path) -> list[str]:
    """Every `pulumi refresh|up|preview` command of a pipeline file, continuation lines joined, in order."""
    return _commands_in(path.read_text())


@pytest.mark.parametrize(("plan_file", "apply_file"), PLANNED)
def test_the_prod_plan_refreshes_in_memory_and_its_apply_refreshes_for_real(
    plan_file: Path, apply_file: Path
) -> None:
    """Issue 11, failure 8: state may hold the image from before the last release, so the plan must be built
    on a refreshed view, and update plans make `up --plan` fail on any discrepancy with the plan (Pulumi
    docs, "Update plans"). The plan job holds prod's read-only preview identity, whose state access is
    GetObject only (tests/test_state_backend.py): a persisted `pulumi refresh` takes the stack's lock and
    writes the checkpoint (pulumi/pulumi pkg/backend/diy/backend.go: Refresh calls b.Lock, Preview does not)
    and would fail there. So the `--save-plan` preview refreshes in memory (`--refresh`), no command of the
    plan job writes state, and the apply refreshes for real right before `up --plan`: both start from the
    live state, and a change in between fails the apply instead of undoing a release."""
    planning = _commands(plan_file)
    [save] = [i for i, c in enumerate(planning) if "--save-plan" in c]
    assert "--refresh" in planning[save]
    plan_job = planning
    if plan_file == apply_file:  # one Azure DevOps template: the save-plan branch of its case statement
        text = plan_file.read_text()
        branch = text[text.index("save-plan)") : text.index(";;", text.index("save-plan)"))]
        plan_job = _commands_in(branch)
    assert not [c for c in plan_job if c.startswith(("pulumi refresh", "pulumi up"))], plan_job
    applying = _commands(apply_file)
    [apply] = [i for i, c in enumerate(applying) if "pulumi up" in c and "--plan " in c]
    assert applying[apply - 1].startswith("pulumi refresh --stack") and "--yes" in applying[apply - 1]


def _commands_in(text: str) -> list[str]:
    """Every `pulumi refresh|up|preview` command of a script, continuation lines joined, in order."""
    blocks = re.findall(r"^\s*pulumi (?:refresh|up|preview)(?:[^\n]*\\\n)*[^\n]*", text, flags=re.M)
    return [" ".join(line.strip().rstrip("\\").strip() for line in block.splitlines()) for block in blocks]


def test_prod_releases_canary_then_bake_and_the_rest_swap() -> None:
    stack = load(WORKFLOWS / "stack-deploy.yml")
    inputs = stack["on"]["workflow_call"]["inputs"]
    assert inputs["release-canary-steps"]["default"] == "" and inputs["release-bake"]["default"] == "0"
    text = steps_text(stack)
    assert '--steps "$CANARY_STEPS" --bake "$BAKE" --bake-after-swap "$BAKE"' in text
    assert '--image "$image" --bake "$BAKE"' in text
    # deploy confirms the version on every instance, with the app's own health path.
    assert '.venv/bin/infra release deploy "${common[@]}" "${health[@]}" --image "$image"' in text
    azure = yaml.safe_load(AZURE_FILES[0].read_text())
    prod = {stage["stage"]: stage for stage in azure["stages"]}["DeployProd"]["jobs"][0]
    [template] = [s for s in prod["strategy"]["runOnce"]["deploy"]["steps"] if "template" in s]
    assert template["parameters"]["canarySteps"] == "5,25,50" and template["parameters"]["bake"] == "10m"


def test_manual_guarded_rollback_in_both_pipelines() -> None:
    rollback = load(WORKFLOWS / "rollback.yml")
    assert set(rollback["on"]) == {"workflow_dispatch"}
    assert rollback["on"]["workflow_dispatch"]["inputs"]["stack"]["options"] == ["dev", "staging", "prod"]
    [job] = rollback["jobs"].values()
    assert job["environment"] == "${{ inputs.stack == 'prod' && 'production' || inputs.stack }}"
    assert job["concurrency"]["group"] == "pulumi-stack-${{ inputs.stack }}"
    run = "\n".join(str(step.get("run", "")) for step in job["steps"])
    assert "infra release rollback" in run
    assert "${{" not in run  # inputs reach the script through env, never spliced into it
    azure = yaml.safe_load(AZURE_FILES[0].read_text())
    stages = {stage["stage"]: stage for stage in azure["stages"]}
    assert stages["Rollback"]["dependsOn"] == []
    assert "eq(variables['Build.Reason'], 'Manual')" in stages["Rollback"]["condition"]
    assert "eq('${{ parameters.rollbackApp }}', 'none')" in stages["DeployDev"]["condition"]
    [job] = stages["Rollback"]["jobs"]
    assert job["environment"] == "${{ replace(parameters.rollbackStack, 'prod', 'production') }}"
    steps = AZURE_FILES[1].read_text()
    assert "rollback)" in steps and "infra release rollback" in steps


def test_deploy_jobs_use_their_environments_identity_and_the_prod_plan_a_read_only_one() -> None:
    stack = load(WORKFLOWS / "stack-deploy.yml")
    for path in (WORKFLOWS / "stack-deploy.yml", WORKFLOWS / "rollback.yml"):
        text = path.read_text()
        assert "vars.AWS_DEPLOY_ROLE_ARN" in text and "vars.AZURE_DEPLOY_CLIENT_ID" in text, path
        assert "PREVIEW" not in text and "AWS_PIPELINE_ROLE_ARN" not in text, path
    assert stack["jobs"]["up"]["environment"] == "${{ inputs.environment }}"
    plan = load(WORKFLOWS / "deploy.yml")["jobs"]["prod-plan"]
    logins = _identities(plan["steps"], plan.get("env"))
    assert "AWS_PREVIEW_ROLE_ARN_PROD" in logins and "AZURE_PREVIEW_CLIENT_ID_PROD" in logins
    assert "DEPLOY" not in logins and "AWS_PIPELINE_ROLE_ARN" not in logins


def test_azure_pull_request_builds_never_see_a_deploying_service_connection() -> None:
    """PR builds (Build.Reason PullRequest) run only the Validate and Preview stages; Preview uses only the
    dev/staging preview connections; every deploy stage is off for PRs and names its own connection."""
    pipeline = yaml.safe_load(AZURE_FILES[0].read_text())
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    preview = stages["Preview"]
    assert "eq(variables['Build.Reason'], 'PullRequest')" in preview["condition"]
    templates = [t for job in _azure_jobs(preview) for t in _azure_templates(job)]
    # Never prod from a pull request: prod's preview identity is for the default branch.
    assert sorted((t["stack"], t["serviceConnection"], t["awsRoleVariable"]) for t in templates) == [
        ("dev", "platform-azure-preview-dev", "AWS_PREVIEW_ROLE_ARN_DEV"),
        ("staging", "platform-azure-preview-staging", "AWS_PREVIEW_ROLE_ARN_STAGING"),
    ]
    assert "ne(variables['Build.Reason'], 'PullRequest')" in stages["DeployDev"]["condition"]
    expected = {
        "DeployDev": ("platform-azure-dev", "AWS_DEPLOY_ROLE_ARN_DEV"),
        "DeployStaging": ("platform-azure-staging", "AWS_DEPLOY_ROLE_ARN_STAGING"),
        "PlanProd": ("platform-azure-preview-prod", "AWS_PREVIEW_ROLE_ARN_PROD"),
        "DeployProd": ("platform-azure-prod", "AWS_DEPLOY_ROLE_ARN_PROD"),
    }
    for name, (connection, role) in expected.items():
        [template] = [t for job in _azure_jobs(stages[name]) for t in _azure_templates(job)]
        assert (template["serviceConnection"], template["awsRoleVariable"]) == (connection, role), name
    [rollback] = [t for job in _azure_jobs(stages["Rollback"]) for t in _azure_templates(job)]
    assert rollback["serviceConnection"] == "platform-azure-${{ parameters.rollbackStack }}"
    steps = AZURE_FILES[1].read_text()
    assert "azureSubscription: ${{ parameters.serviceConnection }}" in steps
    assert "AWS_PIPELINE_ROLE_ARN" not in steps + AZURE_FILES[0].read_text()


def test_every_azure_service_connection_is_federated_by_the_shared_stack() -> None:
    """Each connection the pipeline names is one the shared stack federates (sc://<org>/<project>/<name>),
    with the same purpose: deploy connections on deploy identities, preview ones on preview identities."""
    targets = {t["name"]: t for t in _shared_targets()}
    for stack, target in targets.items():
        assert target["azureDevOpsServiceConnection"] == f"platform-azure-{stack}"
        assert target["azureDevOpsPreviewServiceConnection"] == f"platform-azure-preview-{stack}"


def test_each_job_writes_the_aws_profile_of_its_own_identity() -> None:
    """The stacks' providers read their role from the profile platform:aws.profile: preview, prod-plan and
    drift jobs write it with the read-only role, deploy jobs with the deploy role (tests/
    test_provider_inputs.py checks that the provider's inputs are then identical in all of them). The old
    per-job role override is gone from every pipeline."""
    access = {
        ("preview.yml", "preview"): "preview",
        ("deploy.yml", "prod-plan"): "preview",
        ("drift.yml", "detect"): "preview",
        ("drift.yml", "shared"): "preview",
        ("stack-deploy.yml", "up"): "deploy",
    }
    for (name, job), expected in access.items():
        steps = load(WORKFLOWS / name)["jobs"][job]["steps"]
        runs = [str(s.get("run", "")) for s in steps]
        [profile] = [i for i, r in enumerate(runs) if ".ci/aws-profile" in r]
        assert f'.ci/aws-profile "$STACK" {expected} "$RUNNER_TEMP/aws-config"' in runs[profile], name
        assert 'AWS_CONFIG_FILE=$RUNNER_TEMP/aws-config" >> "$GITHUB_ENV"' in runs[profile], name
        first_pulumi = min(
            i for i, r in enumerate(runs) if re.search(r"pulumi (preview|up|refresh) --stack", r)
        )
        assert profile < first_pulumi, f"{name}: the profile must exist before pulumi runs"
        aws_login = next(i for i, s in enumerate(steps) if "configure-aws-credentials" in str(s.get("uses")))
        assert aws_login < profile, f"{name}: the profile step reads config with the job's credentials"
    steps = AZURE_FILES[1].read_text()
    assert "access=preview" in steps and '.ci/aws-profile "$STACK" "$access"' in steps
    assert '.ci/aws-profile "${{ parameters.stack }}" preview' in AZURE_FILES[3].read_text()
    for path in [*WORKFLOWS.glob("*.yml"), *AZURE_FILES]:
        assert "PLATFORM_AWS_ROLE_NAME" not in path.read_text(), path


def _shared_targets() -> list[dict[str, Any]]:
    shared = yaml.safe_load((ROOT / "Pulumi.shared.yaml").read_text())["config"]
    return shared["platform:bootstrap"]["targets"]


def _github_environment(target: dict[str, Any]) -> str:
    return target.get("githubEnvironment", target["name"])


def _identities(steps: list[dict[str, Any]], env: dict[str, Any] | None = None) -> str:
    return "\n".join(str(s.get("with", {})) for s in steps) + str(env or {})


def _azure_jobs(stage: dict[str, Any]) -> list[dict[str, Any]]:
    return list(stage["jobs"])


def _azure_templates(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
    return [s["parameters"] for s in steps if "template" in s]


def test_a_pull_request_touching_any_module_only_the_shared_stack_declares_previews_it() -> None:
    """preview.yml adds the shared stack to the matrix when a pull request touches what it is made of: every
    platform_infra module its program imports that no environment program imports must match the filter
    (review_stacks and shared_drift were once missing: a change to them changed the shared plan unseen)."""
    import ast

    program = ROOT / "components" / "platform_infra" / "program"

    def imports(path: Path) -> set[str]:
        return {
            node.module
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("platform_infra.")
        }

    only_shared = imports(program / "bootstrap.py") - {
        module for path in program.glob("*.py") if path.name != "bootstrap.py" for module in imports(path)
    }
    step = next(
        s for s in load(WORKFLOWS / "preview.yml")["jobs"]["scope"]["steps"] if s.get("id") == "stacks"
    )
    found = re.search(r"grep -qE \\\n\s*'([^']+)'", step["run"])
    assert found is not None, "the stacks step no longer filters with grep -qE"
    pattern = re.compile(found[1])
    assert only_shared >= {"platform_infra.shared_drift", "platform_infra.review_stacks"}
    for module in sorted(only_shared):
        path = "components/" + module.replace(".", "/")
        candidates = [f"{path}.py", f"{path}/__init__.py"]
        assert any(pattern.search(c) for c in candidates), module
    assert not pattern.search("components/platform_infra/app_service.py")
