"""The ``infra`` command (:mod:`platform_infra.cli.main`): offline plan, plan diff, policy check, release.

The offline runner (:mod:`platform_infra.cli.plan`, :mod:`platform_infra.cli.mocks`) lives here too.
"""
