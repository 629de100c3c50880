"""The Python snippets in README.md and docs/*.md use the library's real API.

A snippet that names a moved module or a renamed argument teaches users code that does not run (the App
Service page once imported ``components.app_service``, a path the namespace move removed). The complete
projects are ``examples/`` (planned by tests/test_examples.py); this checks the fragments in prose: every
``platform_infra`` import resolves, and every call of an imported class or function passes only keyword
arguments its signature has.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re

import pytest

from tests.conftest import REPO_ROOT

PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
DOCUMENTS = sorted([REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md")])


def _snippets() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        for index, block in enumerate(PYTHON_BLOCK.findall(document.read_text())):
            found.append((f"{document.relative_to(REPO_ROOT)}#{index}", block))
    return found


SNIPPETS = _snippets()


def _imported_names(tree: ast.Module) -> dict[str, object]:
    names: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "platform_infra":
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
                names[alias.asname or alias.name] = getattr(module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "platform_infra":
                    importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "components":
            raise AssertionError(f"imports {node.module}: the library's package is platform_infra")
    return names


def test_the_docs_have_snippets_to_check() -> None:
    assert any("platform_infra" in block for _, block in SNIPPETS)


@pytest.mark.parametrize(("where", "block"), SNIPPETS, ids=[where for where, _ in SNIPPETS])
def test_snippet_uses_the_real_api(where: str, block: str) -> None:
    tree = ast.parse(block, filename=where)
    names = _imported_names(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        target = names.get(node.func.id)
        if not callable(target):
            continue
        parameters = inspect.signature(target).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            continue
        unknown = [k.arg for k in node.keywords if k.arg is not None and k.arg not in parameters]
        assert not unknown, f"{where}: {node.func.id} has no argument(s) {unknown}"
