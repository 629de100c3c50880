"""The Pulumi program of this repository (Pulumi.yaml: ``main: stacks/``).

It imports the installed library like any consumer would: the platform's composition lives in
:mod:`platform_infra.program`, driven entirely by the stack's ``platform:*`` config.
"""

from platform_infra.program import main

main()
