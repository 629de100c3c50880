"""Each rule shared by config, components and the policy pack is stated once (grep-able), and every user
of it calls that one definition."""

from __future__ import annotations

import re
from pathlib import Path

from platform_infra.validation.rules import PURGE_PROTECTION_PROD_PROBLEM

from tests.conftest import REPO_ROOT

SOURCE = Path(REPO_ROOT) / "components" / "platform_infra"


def _files_containing(pattern: str) -> set[str]:
    found = set()
    for path in SOURCE.rglob("*.py"):
        if re.search(pattern, path.read_text()):
            found.add(path.relative_to(SOURCE).as_posix())
    return found


def test_purge_protection_in_prod_is_stated_once_and_used_by_config_component_and_policy() -> None:
    assert _files_containing(re.escape(PURGE_PROTECTION_PROD_PROBLEM[:40])) == {"validation/rules.py"}
    assert _files_containing(r"def purge_protection_problem\(") == {"validation/rules.py"}
    assert _files_containing(r"purge_protection_problem\(") == {
        "validation/rules.py",
        "config/vault.py",
        "key_vault.py",
        "policy/rules.py",
    }


def test_the_rotation_grammar_is_stated_once() -> None:
    assert _files_containing(r"every_\(\\d\+\)_days") == {"key_vault.py"}
    assert _files_containing(r"\nROTATION_ALLOWED = \(") == {"key_vault.py"}
    assert _files_containing(r"RotationPolicy\.parse\(") == {"config/vault.py"}


def test_sku_and_capacity_per_tier_is_stated_once() -> None:
    assert _files_containing(r"def sku_tier\(") == {"app_service.py"}
    assert _files_containing(r"NO_SLOT_SKUS = ") == {"app_service.py"}
    assert _files_containing(r"sku_tier\(") == {"app_service.py", "config/apps.py"}
