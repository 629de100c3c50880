"""``python -m platform_infra.cli``: the same as the ``infra`` console script."""

from platform_infra.cli.main import main

main()
