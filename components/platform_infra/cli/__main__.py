"""``python -m platform_infra.cli``: the same as the ``infra`` console script."""

import sys

from platform_infra.cli.main import main

sys.exit(main())
