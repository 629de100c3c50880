"""``infra schema``: the JSON Schema of Pulumi.<stack>.yaml, generated from the config models.

The shipped stack files are checked with check-jsonschema (a checker nobody here wrote), as CI does in
``tasks.py lint``, and the schema must refuse what the models refuse for keys (a misspelled key).
"""

from __future__ import annotations

import io
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml
from platform_infra.cli.main import main
from platform_infra.config import DictConfigSource, load_stack_config
from platform_infra.config.schema import MODELINE, SCHEMA_PATH, schema_text
from platform_infra.validation import ValidationError

from tests.conftest import REPO_ROOT, check_jsonschema

ROOT = Path(REPO_ROOT)
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))


def _check(*files: Path) -> subprocess.CompletedProcess[str]:
    return check_jsonschema("--schemafile", str(ROOT / SCHEMA_PATH), *map(str, files))


def test_infra_schema_prints_the_checked_in_schema() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["schema"]) == 0
    assert out.getvalue() == schema_text()
    assert (ROOT / SCHEMA_PATH).read_text() == schema_text(), (
        f"{SCHEMA_PATH} is stale: run `infra schema -o {SCHEMA_PATH}`"
    )


def test_every_shipped_stack_file_names_the_schema_and_validates() -> None:
    assert {f.name for f in STACK_FILES} >= {"Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.shared.yaml"}
    for stack_file in STACK_FILES:
        assert stack_file.read_text().splitlines()[0] == MODELINE, stack_file.name
    completed = _check(*STACK_FILES)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize(
    ("stack", "section", "good", "typo"),
    [
        ("dev", "platform:vault", "purgeProtection", "purgeProtecton"),
        ("prod", "platform:aws", "sessionDurationSeconds", "sessionDurationSecs"),
        ("shared", "platform:bootstrap", "organizationRoleName", "organisationRoleName"),
    ],
)
def test_a_misspelled_key_is_refused_by_the_schema_and_by_the_models(
    tmp_path: Path, stack: str, section: str, good: str, typo: str
) -> None:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    values = document["config"][section]
    values[typo] = values.pop(good)
    bad = tmp_path / f"Pulumi.{stack}.yaml"
    bad.write_text(yaml.safe_dump(document))
    completed = _check(bad)
    assert completed.returncode == 1
    assert f"'{typo}' was unexpected" in completed.stdout

    plain = {
        key.removeprefix("platform:"): value
        for key, value in document["config"].items()
        if key.startswith("platform:") and not (isinstance(value, dict) and "secure" in value)
    }
    with pytest.raises(ValidationError) as caught:
        load_stack_config(stack, DictConfigSource(plain), environ={})
    assert f"{section}.{typo}: is not a known key" in str(caught.value)


def test_a_misspelled_top_level_key_and_a_plain_text_secret_are_refused_by_the_schema(
    tmp_path: Path,
) -> None:
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    document["config"]["platform:montoring"] = document["config"].pop("platform:monitoring")
    document["config"]["platform:awsExternalId"] = "plain-text-id"
    bad = tmp_path / "Pulumi.prod.yaml"
    bad.write_text(yaml.safe_dump(document))
    completed = _check(bad)
    assert completed.returncode == 1
    assert "platform:montoring" in completed.stdout
    document["config"]["platform:monitoring"] = document["config"].pop("platform:montoring")
    bad.write_text(yaml.safe_dump(document))
    completed = _check(bad)
    assert completed.returncode == 1
    assert "platform:awsExternalId" in completed.stdout and "plain-text-id" in completed.stdout


def test_the_schema_describes_keys_with_the_models_descriptions_and_defaults() -> None:
    import json

    schema = json.loads(schema_text())
    vault = schema["$defs"]["VaultConfig"]["properties"]
    assert vault["purgeProtection"]["default"] is True
    assert "prod" in vault["purgeProtection"]["description"]
    secret = schema["$defs"]["SecretConfig"]["properties"]
    assert secret["length"]["minimum"] == 24 and secret["rotation"]["default"] == "never"
    # A secret is a secure: entry, never plain text.
    environment = schema["$defs"]["EnvironmentStackConfig"]["properties"]["platform:awsExternalId"]
    assert "secure" in environment["anyOf"][0]["properties"]
