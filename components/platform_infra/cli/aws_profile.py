"""``infra aws-profile STACK --access deploy|preview``: the AWS profile a job writes for its stack's provider.

Reads the stack's config offline (``Pulumi.<stack>.yaml``, validated like ``pulumi up`` would) and prints
(or writes with ``-o``) the ``[profile <platform:aws.profile>]`` section naming the role of the job's own
identity: the deploy role for deploy jobs, the read-only role for previews, the saved prod plan and drift
checks. The external id comes from ``$PLATFORM_AWS_EXTERNAL_ID`` (the pipelines read it with
``pulumi config``), never from an argument (arguments show in process lists). See
:mod:`platform_infra.aws_profile`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from platform_infra.aws_profile import (
    Access,
    ProfileSection,
    external_id_from,
    external_ids_from,
    profile_for,
)
from platform_infra.validation import ValidationError


def stack_aws_target(stack: str, root: Path | None = None) -> Any:
    """The validated :class:`~platform_infra.environment.AwsTarget` of ``stack`` and the project name."""
    config, project = stack_config(stack, root)
    return config.environment.aws, project


def stack_config(stack: str, root: Path | None = None) -> Any:
    """The validated :class:`~platform_infra.config.StackConfig` of ``stack`` and the project name.

    Secret config values are replaced by placeholders: only plain keys (account, roles, profile, duration)
    are used here.
    """
    from platform_infra.cli.stack_config import offline_stack_config

    return offline_stack_config(stack, root)


def stack_profiles(
    stack: str,
    access: Access | str,
    *,
    root: Path | None = None,
    environ: Any = None,
    source_profile: str | None = None,
) -> list[ProfileSection]:
    """Every profile the providers of ``stack`` read: one for an environment stack, the shared account's
    and one per target for the shared (bootstrap) stack.

    :raises ValidationError: no profile configured, a drift check of a shared stack without a drift
        identity, external ids for unknown targets, or a bad external id.
    """
    from platform_infra.environment import session_name

    environ = os.environ if environ is None else environ
    config, project = stack_config(stack, root)
    name = session_name(project, stack)
    sections = [
        profile_for(
            config.environment.aws,
            access,
            session_name=name,
            external_id=external_id_from(environ),
            source_profile=source_profile,
            stack=stack,
        )
    ]
    bootstrap = config.bootstrap
    if bootstrap is None:
        return sections
    if Access(access) is Access.PREVIEW and bootstrap.drift is None:
        raise ValidationError(
            "--access",
            "preview needs platform:bootstrap.drift: without it no read-only role exists in the accounts",
            value=str(access),
            allowed="deploy, or set platform:bootstrap.drift",
            stack=stack,
        )
    external_ids = external_ids_from(environ, stack)
    names = [target.name for target in bootstrap.targets]
    for target in external_ids:
        if target not in names:
            raise ValidationError(
                f"$PLATFORM_AWS_EXTERNAL_IDS.{target}",
                "is not a target of the stack",
                allowed=", ".join(names),
                stack=stack,
            )
    for target in bootstrap.targets:
        sections.append(
            profile_for(
                target.environment.aws,
                access,
                session_name=name,
                # The read-only roles of a target require its external id where its roles do
                # (DriftReadRole); the organization role the apply assumes requires none.
                external_id=external_ids.get(target.name) if Access(access) is Access.PREVIEW else None,
                source_profile=source_profile,
                stack=stack,
            )
        )
    return sections


def _aws_profile(args: argparse.Namespace) -> int:
    from platform_infra.cli.plan import write_output

    sections = stack_profiles(args.stack, args.access, root=args.root, source_profile=args.source_profile)
    text = "\n".join(section.render() for section in sections)
    if args.output:
        write_output(args.output, text)
    else:
        print(text, end="")
    return 0


def add_aws_profile_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``infra aws-profile``."""
    parser = subparsers.add_parser(
        "aws-profile",
        help="print the AWS profile (platform:aws.profile) a job writes for its stack's AWS provider",
        description=(
            "Print the [profile NAME] section naming the role of the job's identity: --access deploy for "
            "deploy jobs, preview for previews, the saved prod plan and drift checks. The external id is "
            "read from $PLATFORM_AWS_EXTERNAL_ID. For the shared stack: every account's profile (deploy: "
            "the administrator roles of the apply; preview: the drift check's read-only roles, external ids "
            "per target from $PLATFORM_AWS_EXTERNAL_IDS)."
        ),
    )
    parser.add_argument("stack", help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--access", required=True, choices=[a.value for a in Access])
    parser.add_argument(
        "--source-profile",
        help="take the source credentials from this profile (local use) instead of the environment",
    )
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    parser.add_argument("--root", type=Path, help="folder holding Pulumi.yaml (default: the nearest)")
    parser.set_defaults(handler=_aws_profile)
