"""infra/cli.py: `infra plan` output, files, and clean errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from platform_infra.cli.main import main

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.usefixtures("shipped_command_runs")
"""Commands over a shipped stack as is read the session's shared run of it (tests/conftest.py)."""


def _project_with_stack(tmp_path: Path, stack: str, edit: dict) -> Path:
    import yaml

    shutil.copy(REPO_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(REPO_ROOT / "stacks", tmp_path / "stacks", dirs_exist_ok=True)
    config = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())
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
        [sys.executable, "-m", "platform_infra.cli", "plan", "broken", "--root", str(root)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert "platform:tier" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("stack_file", "message"),
    [
        (
            "config:\n  platform:tier: [unclosed\n",
            "stack 'bad': {root}/Pulumi.bad.yaml: not valid YAML at line 3",
        ),
        ("- a\n- b\n", "stack 'bad': {root}/Pulumi.bad.yaml: must be a mapping with a 'config' key"),
        (
            "config: [1, 2]\n",
            "stack 'bad': {root}/Pulumi.bad.yaml: 'config' must be a mapping of keys to values",
        ),
    ],
)
@pytest.mark.parametrize("command", ["plan", "check"])
def test_malformed_stack_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, stack_file: str, message: str
) -> None:
    shutil.copy(REPO_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(REPO_ROOT / "stacks", tmp_path / "stacks", dirs_exist_ok=True)
    (tmp_path / "Pulumi.bad.yaml").write_text(stack_file)
    for extra in ([], ["--set", "platform:tier=dev"]) if command == "check" else ([],):
        assert main([command, "bad", "--root", str(tmp_path), *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: " + message.format(root=tmp_path)), err
        assert err.count("\n") == 1


def test_project_file_without_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.yaml").write_text("runtime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    assert main(["plan", "dev", "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path}/Pulumi.yaml: has no project 'name'\n"


@pytest.mark.parametrize("stack", ["../prod", "..", "a/b", ""])
def test_stack_must_be_a_name_not_a_path(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", stack]) == 2
    assert (
        capsys.readouterr().err
        == f"error: stack {stack!r}: not a stack name (letters, digits, '-', '_' and '.')\n"
    )


def test_unwritable_output_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing-dir" / "dev.json"
    assert main(["plan", "shared", "--json", "-o", str(target)]) == 2
    assert capsys.readouterr().err == f"error: cannot write {target}: No such file or directory\n"


def test_console_script_help_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "platform_infra.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0
    for command in ("plan", "check", "plan-diff", "release"):
        assert command in result.stdout


def _tasks_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("tasks_under_test", REPO_ROOT / "tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tasks_refuses_an_unknown_command_before_installing(monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = _tasks_module()

    def no_setup() -> None:
        raise AssertionError("setup must not run for an unknown command")

    monkeypatch.setattr(tasks, "setup", no_setup)
    with pytest.raises(SystemExit) as exit_info:
        tasks.main(["tset"])
    assert "unknown command 'tset'" in str(exit_info.value.code)
    assert "setup, plan, infra, test, lint" in str(exit_info.value.code)


def test_policy_path_prints_the_installed_pack(capsys: pytest.CaptureFixture[str]) -> None:
    """`infra policy-path` names a folder Pulumi accepts as a pack: PulumiPolicy.yaml and __main__.py."""
    assert main(["policy-path"]) == 0
    pack = Path(capsys.readouterr().out.strip())
    assert (pack / "PulumiPolicy.yaml").is_file() and (pack / "__main__.py").is_file()
