"""The offline runner's on-demand provider packages hand out the SDK's own objects (moved out of
test_offline_runner.py unchanged, so pytest-xdist can run it beside that file: it alone takes ~29 CPU s,
as long as the rest of that file twice over).
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
