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

from platform_infra.aws_profile import Access, external_id_from, profile_for


def stack_aws_target(stack: str, root: Path | None = None) -> Any:
    """The validated :class:`~platform_infra.environment.AwsTarget` of ``stack`` and the project name.

    Secret config values are replaced by placeholders: only plain keys (account, roles, profile, duration)
    are used here.
    """
    from platform_infra.cli.stack_config import offline_stack_config

    config, project = offline_stack_config(stack, root)
    return config.environment.aws, project


def _aws_profile(args: argparse.Namespace) -> int:
    from platform_infra.cli.plan import write_output
    from platform_infra.environment import session_name

    target, project = stack_aws_target(args.stack, args.root)
    section = profile_for(
        target,
        args.access,
        session_name=session_name(project, args.stack),
        external_id=external_id_from(os.environ),
        source_profile=args.source_profile,
        stack=args.stack,
    )
    if args.output:
        write_output(args.output, section.render())
    else:
        print(section.render(), end="")
    return 0


def add_aws_profile_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``infra aws-profile``."""
    parser = subparsers.add_parser(
        "aws-profile",
        help="print the AWS profile (platform:aws.profile) a job writes for its stack's AWS provider",
        description=(
            "Print the [profile NAME] section naming the role of the job's identity: --access deploy for "
            "deploy jobs, preview for previews, the saved prod plan and drift checks. The external id is "
            "read from $PLATFORM_AWS_EXTERNAL_ID."
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
