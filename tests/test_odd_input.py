"""YAML and JSON that parse but have no config meaning: one line naming the file and key, no traceback.

The stack files are edited as text (the oddities are YAML syntax: an unquoted date, ``.nan``, ``!!binary``,
invalid UTF-8), then planned with ``infra plan`` as a user would.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from platform_infra.cli.main import main

from tests.conftest import REPO_ROOT


def _project(tmp_path: Path, text: str | bytes) -> Path:
    shutil.copy(REPO_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(REPO_ROOT / "stacks", tmp_path / "stacks", dirs_exist_ok=True)
    target = tmp_path / "Pulumi.odd.yaml"
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text)
    return tmp_path


def _dev_with(old: str, new: str) -> str:
    text = (REPO_ROOT / "Pulumi.dev.yaml").read_text()
    assert old in text
    return text.replace(old, new, 1)


def test_unquoted_dates_are_the_text_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """YAML reads ``2027-12-31`` as a date; config is JSON text, so the value is the date as written."""
    text = _dev_with('expiresOn: "2027-12-31"', "expiresOn: 2027-12-31")
    text = text.replace("cost-centre: CC-1001", "cost-centre: CC-1001\n    review-date: 2027-01-15", 1)
    root = _project(tmp_path, text)
    assert main(["plan", "odd", "--root", str(root), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    secret = next(r for r in plan["resources"] if r["name"] == "vault-partner-webhook-secret")
    assert secret["inputs"]["tags"]["review-date"] == "2027-01-15"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "capacity: 1",
            "capacity: .nan",
            "stack 'odd': Pulumi.odd.yaml: platform:apps[0].capacity: nan is not a finite number",
        ),
        (
            "retentionDays: 7",
            "retentionDays: .inf",
            "stack 'odd': Pulumi.odd.yaml: platform:logs.retentionDays: inf is not a finite number",
        ),
        (
            "retentionDays: 7",
            "retentionDays: -.Inf",
            "stack 'odd': Pulumi.odd.yaml: platform:logs.retentionDays: -inf is not a finite number",
        ),
        (
            "name: kv-platform-dev-001",
            "name: !!binary a3YtcGxhdGZvcm0=",
            "stack 'odd': Pulumi.odd.yaml: platform:vault.name: a !!binary value cannot be config",
        ),
    ],
)
def test_values_json_cannot_carry_are_refused_by_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    root = _project(tmp_path, _dev_with(old, new))
    assert main(["plan", "odd", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message), err
    assert err.count("\n") == 1


def test_invalid_utf8_names_the_file_and_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _dev_with("owner: platform-team", "owner: platform-t\udcffeam").encode("utf-8", "surrogateescape")
    root = _project(tmp_path, text)
    assert main(["plan", "odd", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    offset = text.index(b"\xff")
    assert err.startswith(f"error: stack 'odd': {root}/Pulumi.odd.yaml: not valid UTF-8 at byte {offset}"), (
        err
    )
    assert err.count("\n") == 1


def _plan_document() -> dict:
    return {
        "stack": "dev",
        "project": "platform",
        "outputs": {},
        "substitutedSecrets": [],
        "resources": [
            {
                "urn": "urn:pulumi:dev::platform::pulumi:pulumi:Stack::platform-dev",
                "type": "pulumi:pulumi:Stack",
                "name": "platform-dev",
                "parent": None,
                "provider": None,
                "custom": False,
                "inputs": {},
            },
            {
                "urn": "urn:pulumi:dev::platform::azure-native:web:WebApp::web-app",
                "type": "azure-native:web:WebApp",
                "name": "web-app",
                "parent": None,
                "provider": None,
                "custom": True,
                "inputs": {"httpsOnly": True},
            },
        ],
    }


def _break(path: str, value: object) -> dict:
    document = _plan_document()
    if path == "outputs":
        document["outputs"] = value
        return document
    index, _, field = path.partition(".")
    if field:
        document["resources"][int(index)][field] = value
    else:
        document["resources"][int(index)] = value
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_break("1", "web-app"), "resources[1]: must be an object, got str"),
        (_break("1", None), "resources[1]: must be an object, got NoneType"),
        (_break("1.urn", None), "resources[1]: 'urn' must be a non-empty string"),
        (_break("1.type", 42), "resources[1]: 'type' must be a non-empty string"),
        (_break("1.name", ""), "resources[1]: 'name' must be a non-empty string"),
        (_break("1.inputs", ["httpsOnly"]), "resources[1] (web-app): 'inputs' must be an object"),
        (_break("1.options", "protect"), "resources[1] (web-app): 'options' must be an object"),
        (_break("1.provider", {"urn": "x"}), "resources[1] (web-app): 'provider' must be a string or null"),
        (_break("outputs", [1, 2]), "'outputs' must be an object"),
    ],
)
def test_plan_diff_of_malformed_documents_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: dict, message: str
) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_plan_document()))
    bad.write_text(json.dumps(document))
    assert main(["plan", "diff", str(good), str(good)]) == 0
    capsys.readouterr()
    for args in ([str(good), str(bad)], [str(bad), str(good)]):
        assert main(["plan", "diff", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {bad}: {message}"), err
        assert err.count("\n") == 1


def test_plan_diff_of_invalid_utf8_or_nan_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_plan_document()))
    for name, content in (("utf8.json", b'{"resources": ["\xff"]}'), ("trunc.json", b'{"resources": [')):
        bad = tmp_path / name
        bad.write_bytes(content)
        assert main(["plan", "diff", str(good), str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {bad}: not a readable plan document"), err
        assert err.count("\n") == 1
