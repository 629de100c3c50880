"""The ``infra`` command: offline plans and the other tools pipelines and engineers run.

Each subcommand lives in its own module and is listed in :data:`COMMANDS`; a module exposes
``add_parser(subparsers)`` that registers its arguments and sets ``handler`` (a function taking the parsed
arguments and returning an exit code).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from platform_infra.cli import plan as plan_module
from platform_infra.cli.check import add_check_parser
from platform_infra.cli.plan_diff import add_plan_diff_parser
from platform_infra.release.cli import add_release_parser
from platform_infra.validation import ValidationError


def _plan(args: argparse.Namespace) -> int:
    document = plan_module.plan_stack(args.stack, args.root)
    text = json.dumps(document, indent=2, sort_keys=False) if args.json else plan_module.render_tree(document)
    if args.output:
        plan_module.write_output(args.output, text + "\n")
        print(f"wrote the offline plan of stack '{args.stack}' to {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


def add_plan_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="print what a stack declares, offline (no CLI, credentials or network)",
        description="Run a stack's program under Pulumi's mock runtime and print every resource.",
    )
    parser.add_argument("stack", help="stack name: dev, staging, prod, shared (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--json", action="store_true", help="print the machine-readable plan document")
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    parser.add_argument(
        "--root",
        type=Path,
        help="folder holding Pulumi.yaml (default: the nearest at or above the current folder)",
    )
    parser.set_defaults(handler=_plan)


def policy_pack_path() -> Path:
    """The policy pack folder inside the installed package (for ``pulumi preview --policy-pack``)."""
    return Path(__file__).resolve().parent.parent / "policy"


def add_policy_path_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "policy-path",
        help='print the policy pack\'s folder: `pulumi preview --policy-pack "$(infra policy-path)"`',
    )
    parser.set_defaults(handler=lambda _args: print(policy_pack_path()) or 0)


COMMANDS = [
    add_plan_parser,
    add_policy_path_parser,
    add_check_parser,
    add_plan_diff_parser,
    add_release_parser,
]
"""Functions registering each subcommand's parser."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="infra", description="Offline plans, policy checks and releases for the platform stacks."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``infra``; returns (and, as a console script, exits with) the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:2] == ["plan", "diff"]:  # `infra plan diff A B` is the plan-diff command, not stack "diff"
        arguments = ["plan-diff", *arguments[2:]]
    args = build_parser().parse_args(arguments)
    try:
        code = args.handler(args)
    except (ValidationError, plan_module.PlanError) as error:
        print(f"error: {error}", file=sys.stderr)
        code = 2
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
