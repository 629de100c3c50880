"""Entry point that `pulumi up` runs (Pulumi.yaml: `main: stacks/`)."""

import sys
from pathlib import Path

# Pulumi runs this folder as a script, which puts stacks/ itself first on sys.path. Replace it with the
# project root so the program's modules import as `stacks.*` (never shadowing a third-party module) and
# the library imports as `components.*`, even where the project is not installed in the virtualenv.
_here = Path(__file__).resolve().parent
sys.path[:] = [str(_here.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _here]

from stacks.program import main  # noqa: E402

main()
