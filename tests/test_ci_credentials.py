"""The pipelines' credential scripts, run against fake ``aws`` and ``pulumi`` binaries that can also fail.

``.ci/ado-aws-credentials`` exchanges an Azure DevOps OIDC token (``$idToken``) for an AWS session
(``aws sts assume-role-with-web-identity``, whose JSON output has ``Credentials.AccessKeyId`` /
``SecretAccessKey`` / ``SessionToken``: AWS CLI command reference). ``.ci/aws-profile`` reads the stack's
external id with ``pulumi config --show-secrets --json`` (full key -> ``{"value", "secret"}``:
pulumi/pulumi ``pkg/cmd/pulumi/config/config.go`` ``configValueJSON``) and writes the job's profile. A
failure of either (STS refusing the token, the secrets key refusing to decrypt) must stop the job, not
leave it running with no or the wrong credentials.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

ADO_SCRIPT = REPO_ROOT / ".ci" / "ado-aws-credentials"
PROFILE_SCRIPT = REPO_ROOT / ".ci" / "aws-profile"
ROLE = "arn:aws:iam::444444444444:role/platform-pipeline-prod"


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run(
    script: Path, args: list[str], bin_dir: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    base = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(bin_dir)}
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, env=base | env, timeout=120, check=False
    )


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed here (the hosted agents have it)")
    folder = tmp_path / "bin"
    folder.mkdir()
    return folder


def test_the_azure_devops_token_is_exchanged_for_an_aws_session(bin_dir: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    _fake(
        bin_dir,
        "aws",
        f'echo "$@" > {calls}\n'
        'echo \'{"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s3cr/et+", "SessionToken": "tok en"}\'\n',
    )
    result = _run(ADO_SCRIPT, [ROLE, "ado-42"], bin_dir, {"idToken": "eyJ.token"})
    assert result.returncode == 0, result.stderr
    args = calls.read_text()
    assert "sts assume-role-with-web-identity" in args and f"--role-arn {ROLE}" in args
    assert "--web-identity-token eyJ.token" in args and "--duration-seconds 7200" in args
    # Exported safely quoted, and the secrets registered with Azure Pipelines' log masking.
    exported = subprocess.run(
        [
            "bash",
            "-c",
            result.stdout + 'printf "%s|%s|%s" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" '
            '"$AWS_SESSION_TOKEN"',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert exported == "ASIAEXAMPLE|s3cr/et+|tok en"
    assert "##vso[task.setsecret]s3cr/et+" in result.stderr


def test_a_refused_exchange_stops_the_job(bin_dir: Path) -> None:
    _fake(
        bin_dir,
        "aws",
        'echo "An error occurred (AccessDenied) when calling AssumeRoleWithWebIdentity" >&2\nexit 254\n',
    )
    result = _run(ADO_SCRIPT, [ROLE, "ado-42"], bin_dir, {"idToken": "eyJ.token"})
    assert result.returncode != 0
    assert "export" not in result.stdout
    # The pipelines assign the output first, so the task stops here (an `eval "$(...)"` would go on).
    wrapper = f'set -euo pipefail\naws_env=$(bash {ADO_SCRIPT} {ROLE} s)\neval "$aws_env"\necho reached\n'
    proc = subprocess.run(
        ["bash", "-c", wrapper],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "idToken": "t"},
        check=False,
    )
    assert proc.returncode != 0 and "reached" not in proc.stdout


def test_without_the_token_the_script_says_how_to_get_it(bin_dir: Path) -> None:
    _fake(bin_dir, "aws", "exit 0\n")
    result = _run(ADO_SCRIPT, [ROLE, "ado-42"], bin_dir, {})
    assert result.returncode != 0
    assert "addSpnToEnvironment: true" in result.stderr


def _fake_pulumi(bin_dir: Path, config_json: str, exit_code: int = 0) -> None:
    _fake(
        bin_dir,
        "pulumi",
        'case "$1" in\n'
        "  login) exit 0 ;;\n"
        f"  config) echo '{config_json}'; exit {exit_code} ;;\n"
        "esac\nexit 3\n",
    )


def test_the_profile_names_the_jobs_role_and_the_decrypted_external_id(bin_dir: Path, tmp_path: Path) -> None:
    _fake_pulumi(bin_dir, '{"platform:awsExternalId": {"value": "ext-123", "secret": true}}')
    out = tmp_path / "aws-config"
    env = {"PULUMI_BACKEND_URL": "s3://state", "GITHUB_ACTIONS": "true"}
    result = _run(PROFILE_SCRIPT, ["prod", "preview", str(out)], bin_dir, env)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "[profile platform-prod]" in text
    assert "role_arn = arn:aws:iam::333333333333:role/platform-preview" in text
    assert "credential_source = Environment" in text and "external_id = ext-123" in text
    assert "::add-mask::ext-123" in result.stdout


def test_a_stack_without_external_id_gets_none(bin_dir: Path, tmp_path: Path) -> None:
    _fake_pulumi(bin_dir, '{"platform:tier": {"value": "dev", "secret": false}}')
    out = tmp_path / "aws-config"
    result = _run(PROFILE_SCRIPT, ["dev", "deploy", str(out)], bin_dir, {"PULUMI_BACKEND_URL": "s3://state"})
    assert result.returncode == 0, result.stderr
    assert "role_arn = arn:aws:iam::111111111111:role/platform-deploy" in out.read_text()
    assert "external_id" not in out.read_text()


def test_a_config_that_cannot_be_decrypted_stops_the_job(bin_dir: Path, tmp_path: Path) -> None:
    """The secrets key refuses (an identity without decrypt): no profile without its external id."""
    _fake_pulumi(bin_dir, "", exit_code=255)
    out = tmp_path / "aws-config"
    result = _run(PROFILE_SCRIPT, ["prod", "deploy", str(out)], bin_dir, {"PULUMI_BACKEND_URL": "s3://state"})
    assert result.returncode != 0
    assert not out.exists()


def test_the_shared_stacks_drift_profiles_carry_each_targets_external_id(
    bin_dir: Path, tmp_path: Path
) -> None:
    """The shared stack's secrets are the targets' external ids (``platform:externalId-<target>``): the drift
    job decrypts them with the shared stack's key, masks each and writes one profile per account, the
    read-only role of staging and prod with its id (their roles require it)."""
    _fake_pulumi(
        bin_dir,
        '{"platform:externalId-prod": {"value": "prod-ext-1", "secret": true}, '
        '"platform:externalId-staging": {"value": "stg-ext-2", "secret": true}, '
        '"platform:tier": {"value": "prod", "secret": false}}',
    )
    out = tmp_path / "aws-config"
    env = {"PULUMI_BACKEND_URL": "s3://state", "TF_BUILD": "True"}
    result = _run(PROFILE_SCRIPT, ["shared", "preview", str(out)], bin_dir, env)
    assert result.returncode == 0, result.stderr
    sections = {
        block.splitlines()[0]: block for block in out.read_text().strip().split("\n\n") if block.strip()
    }
    assert list(sections) == [
        "[profile platform-shared]",
        "[profile platform-shared-dev]",
        "[profile platform-shared-staging]",
        "[profile platform-shared-prod]",
    ]
    assert (
        "role_arn = arn:aws:iam::444444444444:role/platform-drift-read"
        in sections["[profile platform-shared]"]
    )
    assert "external_id = prod-ext-1" in sections["[profile platform-shared-prod]"]
    assert "external_id = stg-ext-2" in sections["[profile platform-shared-staging]"]
    assert "external_id" not in sections["[profile platform-shared-dev]"]
    assert (
        "##vso[task.setsecret]prod-ext-1" in result.stdout
        and "##vso[task.setsecret]stg-ext-2" in result.stdout
    )


def test_a_shared_stack_whose_key_refuses_to_decrypt_gets_no_profile(bin_dir: Path, tmp_path: Path) -> None:
    _fake_pulumi(bin_dir, "", exit_code=255)
    out = tmp_path / "aws-config"
    result = _run(PROFILE_SCRIPT, ["shared", "preview", str(out)], bin_dir, {"PULUMI_BACKEND_URL": "s3://s"})
    assert result.returncode != 0
    assert not out.exists()
