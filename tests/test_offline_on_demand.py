"""The offline runner's on-demand provider packages hand out the SDK's own objects (in its own file so
pytest-xdist can run it beside test_offline_runner.py). Only the packages that handed out a name are
loaded whole to compare: loading the ~480 others (whole azure-native subpackages no stack uses) cost
~14 CPU s and compared nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.test_offline_runner import CONSOLE_TIMEOUT, _console_env

ON_DEMAND_CHECK = """
import json, sys
from pathlib import Path
from platform_infra.cli import offline
from platform_infra.cli.plan import project_stacks, run_stack

root = Path(sys.argv[1])
for stack in project_stacks(root):
    run_stack(stack, root, offline_hooks=True)
handed_out, wrong = 0, []
for name, module in list(sys.modules.items()):
    if isinstance(module, offline.OnDemandPackage):
        names = {k: v for k, v in vars(module).items() if not k.startswith("__")}
        if not names:
            continue  # handed out nothing: nothing to compare (its own __init__ is the SDK's business)
        offline._load_package(module)
        handed_out += len(names)
        wrong += [f"{name}.{k}" for k, v in names.items() if getattr(module, k) is not v]
print(json.dumps({"handed_out": handed_out, "wrong": wrong}))
"""


def test_every_name_the_shipped_stacks_take_from_a_provider_is_the_sdks_own() -> None:
    """In a fresh process (no provider subpackage loaded yet), every shipped stack planned by the offline
    runner, then every on-demand package's real ``__init__`` run: each name it had handed out is the
    object the ``__init__`` binds (resources, args, enums, input types of ~15 subpackages)."""
    result = subprocess.run(
        [sys.executable, "-c", ON_DEMAND_CHECK, str(REPO_ROOT)],
        capture_output=True,
        text=True,
        env=_console_env("on", import_log=False),
        timeout=CONSOLE_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["wrong"] == []
    assert report["handed_out"] > 150  # the stacks' own names went through it
