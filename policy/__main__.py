"""Entry point the Pulumi CLI runs for ``--policy-pack policy``: serves :data:`policy.rules.POLICIES`.

Constructing :class:`PolicyPack` starts the analyzer's gRPC server and blocks, which is why it happens here
and nowhere else (tests and ``infra check`` import :mod:`policy.rules`).
"""

import sys
from pathlib import Path

# The CLI runs this directory as a script, so the repository root (holding the `policy` package) may not
# be on the path unless the project is installed into the environment.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.rules import POLICIES

PolicyPack(
    name="platform-security",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=list(POLICIES),
)
