"""infra/cli.py: `infra plan` output, files, and clean errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cli import main
from infra.plan import PROJECT_ROOT


def _project_with_stack(tmp_path: Path, stack: str, edit: dict) -> Path:
    import yaml

    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    config = yaml.safe_load((PROJECT_ROOT / "Pulumi.dev.yaml").read_text())
    config["config"].update(edit)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_plan_json_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "dev", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["stack"] == "dev"
    assert any(r["type"] == "pulumi:providers:aws" for r in document["resources"])


def test_plan_writes_a_file_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "dev.json"
    assert main(["plan", "dev", "--json", "-o", str(target)]) == 0
    assert json.loads(target.read_text())["stack"] == "dev"
    assert "wrote the offline plan" in capsys.readouterr().err


def test_plan_tree_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Offline plan of stack 'dev'")
    assert "pulumi:providers:aws  dev-aws" in out


def test_bad_config_exits_non_zero_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project_with_stack(
        tmp_path, "broken", {"platform:aws": {"accountId": "12", "region": "eu-west-1"}}
    )
    assert main(["plan", "broken", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stack 'broken': platform:aws.accountId: has an invalid format (got '12')")


def test_console_script_prints_no_traceback_on_bad_config(tmp_path: Path) -> None:
    root = _project_with_stack(tmp_path, "broken", {"platform:tier": "production"})
    result = subprocess.run(
        [sys.executable, "-m", "infra.cli", "plan", "broken", "--root", str(root)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert "platform:tier" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
