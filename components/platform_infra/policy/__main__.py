"""What the Pulumi CLI runs for ``--policy-pack``: serves :data:`platform_infra.policy.rules.ALL_POLICIES`.

Constructing :class:`PolicyPack` starts the analyzer's gRPC server and blocks, which is why it happens here
and nowhere else (tests and ``infra check`` import :mod:`platform_infra.policy.rules`). The pack folder is
inside the installed package; ``infra policy-path`` prints it for ``pulumi preview --policy-pack``.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from platform_infra.policy.rules import ALL_POLICIES

PolicyPack(
    name="platform-security",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=list(ALL_POLICIES),
)
