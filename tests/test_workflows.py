"""The CI definitions: schema-valid (vendored schemas, no network) and structurally safe."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
AZURE_FILES = [ROOT / "azure-pipelines.yml", ROOT / ".azure-pipelines" / "pulumi-steps.yml"]


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """Run check-jsonschema with one of its vendored schemas (nothing is downloaded)."""
    # The vendored Azure Pipelines schema has patterns the default (unicode ECMA) regex engine rejects.
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--regex-variant",
            "nonunicode",
            "--builtin-schema",
            schema,
        ]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        check=False,
    )


def load(path: Path) -> dict[str, Any]:
    """A workflow as data (PyYAML reads the bare key `on` as True)."""
    document = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps_text(workflow: dict[str, Any]) -> str:
    """Every `run` script and `uses` of a workflow, for searching."""
    parts = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            parts.append(str(step.get("run", "")))
            parts.append(str(step.get("uses", "")))
    return "\n".join(parts)


def test_github_workflows_match_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"preview.yml", "deploy.yml", "stack-deploy.yml"}
    result = check_jsonschema("vendor.github-workflows", *files)
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


def test_every_action_is_pinned_to_a_version() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for job in load(path)["jobs"].values():
            for step in job.get("steps", []):
                uses = step.get("uses")
                if uses and not uses.startswith("./"):
                    _, _, version = uses.partition("@")
                    assert version.startswith("v") and version.count(".") == 2, f"{path.name}: {uses}"


def test_preview_runs_checks_per_stack_with_oidc_and_fork_fallback() -> None:
    preview = load(WORKFLOWS / "preview.yml")
    assert "pull_request" in preview["on"]
    assert preview["permissions"]["id-token"] == "write"
    assert preview["permissions"]["pull-requests"] == "write"
    job = preview["jobs"]["preview"]
    assert [m["stack"] for m in job["strategy"]["matrix"]["include"]] == ["dev", "staging", "prod"]
    text = steps_text(preview)
    for command in (
        "python3 tasks.py setup",
        "python3 tasks.py test",
        'infra check "$STACK"',
        'infra plan "$STACK" --json',
        "infra plan diff base-plan.json head-plan.json",
        '--policy-pack "$(.venv/bin/infra policy-path)"',
        "pulumi preview",
        "--diff",
    ):
        assert command in text, command
    cloud_steps = [
        s
        for s in job["steps"]
        if s.get("uses", "").split("@")[0]
        in {"aws-actions/configure-aws-credentials", "azure/login", "pulumi/actions"}
        or "pulumi preview --stack" in str(s.get("run", ""))
    ]
    assert len(cloud_steps) == 4 and all(s.get("if") == "env.CLOUD == 'true'" for s in cloud_steps)
    # Forks (no secrets, no OIDC) never take the cloud path.
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["env"]["CLOUD"]
    # No long-lived cloud keys anywhere.
    assert "secrets." not in (WORKFLOWS / "preview.yml").read_text()


def test_deploy_promotes_dev_staging_then_approved_prod_plan() -> None:
    deploy = load(WORKFLOWS / "deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    assert deploy["permissions"]["id-token"] == "write"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    jobs = deploy["jobs"]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod-plan"]["needs"] == "staging"
    assert jobs["prod"]["needs"] == "prod-plan"
    # Manual gate: prod runs in the protected `production` environment, with the saved plan.
    assert jobs["prod"]["with"] == {
        "stack": "prod",
        "environment": "production",
        "plan-artifact": "prod-plan",
        "release-canary-steps": "${{ vars.PROD_CANARY_STEPS || '5,25,50' }}",
        "release-bake": "${{ vars.PROD_RELEASE_BAKE || '10m' }}",
    }
    plan_text = "\n".join(str(s.get("run", "")) for s in jobs["prod-plan"]["steps"])
    assert "--save-plan prod-plan.json" in plan_text
    assert "environment" not in jobs["prod-plan"]  # the plan is made before the approval
    assert jobs["prod-plan"]["concurrency"]["group"] == "pulumi-stack-prod"

    stack = load(WORKFLOWS / "stack-deploy.yml")
    up = stack["jobs"]["up"]
    assert up["environment"] == "${{ inputs.environment }}"
    assert up["concurrency"] == {"group": "pulumi-stack-${{ inputs.stack }}", "cancel-in-progress": False}
    text = steps_text(stack)
    assert '--plan "$STACK-plan.json"' in text
    for command in (
        "pulumi up",
        '--policy-pack "$(.venv/bin/infra policy-path)"',
        "infra release verify",
        "infra release deploy",
        "infra release swap",
        "infra release canary",
        "--target production",
    ):
        assert command in text, command
    assert stack["permissions"]["id-token"] == "write"


def test_azure_pipeline_has_approval_gate_and_saved_plan() -> None:
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
    assert pipeline["lockBehavior"] == "sequential"
    steps = AZURE_FILES[1].read_text()
    assert "--save-plan" in steps and '--plan "$PLAN_FILE"' in steps and "infra release swap" in steps


@pytest.mark.parametrize("path", [WORKFLOWS / "preview.yml", WORKFLOWS / "stack-deploy.yml", AZURE_FILES[1]])
def test_policy_check_runs_before_any_cloud_step(path: Path) -> None:
    text = path.read_text()
    assert text.index("infra check") < text.index("pulumi login")


@pytest.mark.parametrize(
    "path",
    [
        WORKFLOWS / "stack-deploy.yml",
        WORKFLOWS / "deploy.yml",
        ROOT / ".azure-pipelines" / "pulumi-steps.yml",
    ],
)
def test_deployments_refresh_first_so_a_release_is_not_undone(path: Path) -> None:
    """State must hold the live image (a release swaps it) before the site is sent again."""
    text = path.read_text()
    commands = [
        " ".join(line.strip().rstrip("\\") for line in block.splitlines())
        for block in re.findall(r"pulumi (?:up|preview)[^\n]*(?:\\\n[^\n]*)*", text)
    ]
    commands = [c for c in commands if "--stack" in c]  # the commands themselves, not comments or step names
    deploying = [c for c in commands if "--save-plan" in c or ("pulumi up" in c and "--plan" not in c)]
    assert deploying, f"no deploying pulumi command found in {path.name}"
    for command in deploying:
        if "--save-plan" not in command:  # the plan's refresh is a persisted `pulumi refresh` (test below)
            assert "--refresh" in command, command


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (WORKFLOWS / "deploy.yml", "${{ github.run_id }}"),
        (WORKFLOWS / "stack-deploy.yml", "${{ github.run_id }}"),
        (WORKFLOWS / "preview.yml", "${{ github.run_id }}"),
        (ROOT / "azure-pipelines.yml", "$(Build.BuildId)"),
    ],
)
def test_one_deployment_id_per_run_so_saved_plans_still_apply(path: Path, expected: str) -> None:
    """every_deploy secrets rotate per PLATFORM_DEPLOYMENT_ID; a per-attempt id would break `up --plan`."""
    document = load(path)
    variables = document.get("env") or document.get("variables") or {}
    assert variables.get("PLATFORM_DEPLOYMENT_ID") == expected


def _shared_targets() -> list[dict[str, Any]]:
    shared = yaml.safe_load((ROOT / "Pulumi.shared.yaml").read_text())["config"]
    return shared["platform:bootstrap"]["targets"]


def _github_environment(target: dict[str, Any]) -> str:
    return target.get("githubEnvironment", target["name"])


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


def _identities(steps: list[dict[str, Any]], env: dict[str, Any] | None = None) -> str:
    return "\n".join(str(s.get("with", {})) for s in steps) + str(env or {})


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
    text = path.read_text()
    blocks = re.findall(r"^\s*pulumi (?:refresh|up|preview)(?:[^\n]*\\\n)*[^\n]*", text, flags=re.M)
    return [" ".join(line.strip().rstrip("\\").strip() for line in block.splitlines()) for block in blocks]


@pytest.mark.parametrize(("plan_file", "apply_file"), PLANNED)
def test_the_prod_plan_and_its_apply_start_from_the_same_persisted_refresh(
    plan_file: Path, apply_file: Path
) -> None:
    """Issue 11, failure 8. `pulumi preview` changes no state ("No changes to the stack will actually take
    place", `pulumi preview` docs), so `preview --refresh --save-plan` built the plan on a refresh the
    apply never saw: state still held the image from before the last release. Update plans make `up --plan`
    fail on any discrepancy with the plan (Pulumi docs, "Update plans"). So: a persisted `pulumi refresh`
    right before the `--save-plan` preview (which then has no in-memory refresh of its own), and the same
    refresh right before `up --plan`."""
    planning = _commands(plan_file)
    [save] = [i for i, c in enumerate(planning) if "--save-plan" in c]
    assert "--refresh" not in planning[save]
    assert planning[save - 1].startswith("pulumi refresh --stack") and "--yes" in planning[save - 1]
    applying = _commands(apply_file)
    [apply] = [i for i, c in enumerate(applying) if "pulumi up" in c and "--plan " in c]
    assert applying[apply - 1].startswith("pulumi refresh --stack") and "--yes" in applying[apply - 1]


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


def _azure_jobs(stage: dict[str, Any]) -> list[dict[str, Any]]:
    return list(stage["jobs"])


def _azure_templates(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
    return [s["parameters"] for s in steps if "template" in s]


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


def test_previews_make_the_stacks_assume_the_read_only_role() -> None:
    """The preview identity may assume only the target's read-only role; the stack's AWS provider must be
    told to assume that one (PLATFORM_AWS_ROLE_NAME) or it would try the deploy role and be refused."""
    preview = load(WORKFLOWS / "preview.yml")["jobs"]["preview"]
    [step] = [s for s in preview["steps"] if "pulumi preview --stack" in str(s.get("run", ""))]
    assert step["env"]["PLATFORM_AWS_ROLE_NAME"] == "platform-preview"
    plan = load(WORKFLOWS / "deploy.yml")["jobs"]["prod-plan"]
    assert plan["env"]["PLATFORM_AWS_ROLE_NAME"] == "platform-preview"
    assert "PLATFORM_AWS_ROLE_NAME" not in (WORKFLOWS / "stack-deploy.yml").read_text()
    assert (
        'if [ "${{ parameters.command }}" = preview ] || [ "${{ parameters.command }}" = save-plan ]'
        in AZURE_FILES[1].read_text()
    )
