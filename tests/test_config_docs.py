"""The config reference tables in README.md and docs/ are generated from the config models; a checked-in
table that differs from the models fails here (regenerate with ``python -m platform_infra.config.docs``)."""

from __future__ import annotations

from pathlib import Path

from platform_infra.config import EnvironmentStack
from platform_infra.config.docs import BLOCK, DOCUMENTS, render, table, update
from platform_infra.config.vault import SecretConfig, VaultConfig

from tests.conftest import REPO_ROOT

ROOT = Path(REPO_ROOT)


def test_checked_in_config_tables_match_the_models() -> None:
    stale = update(ROOT, check=True)
    assert stale == [], f"regenerate with `python -m platform_infra.config.docs`: {stale}"


def test_every_section_has_a_generated_table_in_the_reference() -> None:
    text = (ROOT / "docs/config-reference.md").read_text()
    sections = {m.group("section") for m in BLOCK.finditer(text)}
    expected = {"common", "platform:bootstrap"} | {
        f"platform:{info.alias}"
        for info in EnvironmentStack.model_fields.values()
        if info.alias in {"apps", "vault", "logs", "alarms", "monitoring"}
    }
    assert sections == expected
    for name in DOCUMENTS:
        assert BLOCK.search((ROOT / name).read_text()), name


def test_a_table_row_carries_the_models_key_default_rule_and_description() -> None:
    rows = table("platform:vault").splitlines()
    purge = next(row for row in rows if row.startswith("| `purgeProtection` |"))
    description = VaultConfig.model_fields["purge_protection"].description
    assert purge == f"| `purgeProtection` | bool | `true` | true, false | {description} |"
    length = next(row for row in rows if row.startswith("| `secrets[].length` |"))
    assert "| int | `32` | 24 to 1024 |" in length
    assert (SecretConfig.model_fields["length"].description or "<none>") in length


def test_a_stale_table_is_rewritten() -> None:
    stale = "before\n<!-- generated: platform:monitoring -->\n| old | table |\n<!-- /generated -->\nafter\n"
    rendered = render(stale)
    assert "| old | table |" not in rendered
    assert rendered.startswith("before\n<!-- generated: platform:monitoring -->\n| Key | Type |")
    assert "| `retentionDays` | int | `30` | 30 to 730 days |" in rendered
    assert rendered.endswith("<!-- /generated -->\nafter\n")
