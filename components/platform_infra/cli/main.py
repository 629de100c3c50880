"""The ``infra`` command: offline plans and the other tools pipelines and engineers run.

Each subcommand lives in its own module and is listed in :data:`COMMANDS`; a module exposes
``add_parser(subparsers)`` that registers its arguments and sets ``handler`` (a function taking the parsed
arguments and returning an exit code).

Only the module of the subcommand being run is imported: ``release`` needs the Azure management SDK
(``azure.mgmt.web`` alone is ~1 s and ~130 MB to import), ``check`` needs pulumi-policy, and neither
belongs in the cost of an offline plan. The library itself is imported lazily too (``platform_infra``'s
``__getattr__``), so a plan loads a provider SDK module only when the program touches one of its classes.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from platform_infra.cli import offline
from platform_infra.cli import plan as plan_module
from platform_infra.validation import ValidationError


def _plan(args: argparse.Namespace) -> int:
    stacks = plan_module.select_stacks(args.stacks, args.all, args.root)
    single = len(stacks) == 1 and not args.all
    if not single and args.output:
        try:
            Path(args.output).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise plan_module.PlanError(
                f"-o {args.output}: with several stacks -o names a folder, and this is not one "
                f"({error.strerror or error})"
            ) from error
    documents: dict[str, str] = {}
    for stack in stacks:
        document = plan_module.plan_stack(stack, args.root)
        text = json.dumps(document, indent=2) if args.json else plan_module.render_tree(document)
        if single and args.output:
            plan_module.write_output(args.output, text + "\n")
            print(f"wrote the offline plan of stack '{stack}' to {args.output}", file=sys.stderr)
        elif args.output:
            target = Path(args.output) / f"{stack}.{'json' if args.json else 'txt'}"
            plan_module.write_output(target, text + "\n")
            print(f"wrote the offline plan of stack '{stack}' to {target}", file=sys.stderr)
        elif single or not args.json:
            print(text + ("" if single else "\n"))
        else:
            documents[stack] = text
    if documents:  # several stacks as one JSON object: {"dev": <plan document>, ...}
        print("{\n" + ",\n".join(f"{json.dumps(k)}: {v}" for k, v in documents.items()) + "\n}")
    return 0


def add_plan_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="print what a stack declares, offline (no CLI, credentials or network)",
        description="Run a stack's program under Pulumi's mock runtime and print every resource.",
    )
    parser.add_argument(
        "stacks",
        nargs="*",
        metavar="STACK",
        help="stack: dev, staging, prod, shared (reads Pulumi.<stack>.yaml); several are planned in turn",
    )
    parser.add_argument(
        "--all", action="store_true", help="plan every stack of the project (each Pulumi.<stack>.yaml)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the machine-readable plan document (several stacks: one object keyed by stack)",
    )
    parser.add_argument(
        "-o",
        "--output",
        help="write to this file instead of standard output (several stacks: a folder, one file per stack)",
    )
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


COMMANDS: dict[str, str] = {
    "plan": "platform_infra.cli.main:add_plan_parser",
    "policy-path": "platform_infra.cli.main:add_policy_path_parser",
    "check": "platform_infra.cli.check:add_check_parser",
    "plan-diff": "platform_infra.cli.plan_diff:add_plan_diff_parser",
    "release": "platform_infra.release.cli:add_release_parser",
    "export": "platform_infra.cli.export:add_export_parser",
    "checkov-gate": "platform_infra.cli.checkov_gate:add_checkov_gate_parser",
    "review": "platform_infra.cli.review:add_review_parser",
    "access": "platform_infra.cli.access:add_access_parser",
    "aws-profile": "platform_infra.cli.aws_profile:add_aws_profile_parser",
    "schema": "platform_infra.cli.schema:add_schema_parser",
}
"""Subcommand name -> ``module:function`` registering its parser (imported only when needed)."""


def _registrar(target: str) -> Callable[[argparse._SubParsersAction], None]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``command`` (a key of :data:`COMMANDS`) only that subcommand's.

    Without one (or for an unknown name) every subcommand is registered, so that ``infra --help`` lists
    them all and a misspelt command gets argparse's error naming the valid ones.
    """
    parser = argparse.ArgumentParser(
        prog="infra", description="Offline plans, policy checks and releases for the platform stacks."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    names = [command] if command in COMMANDS else list(COMMANDS)
    for name in names:
        _registrar(COMMANDS[name])(subparsers)
    return parser


def exit_now(code: int) -> NoReturn:
    """End the console script: flush what it wrote, then leave without tearing the interpreter down.

    Teardown frees every module and object one by one (the provider SDKs are ~1,000 modules and a plan
    holds thousands of resources), which costs a plan up to a second and changes nothing: ``-o`` files are
    already closed by then. ``os._exit`` skips it but also skips flushing, so the standard streams and the
    logging handlers are flushed here first. A stream that cannot be flushed (a closed pipe) makes the exit
    status 120, as CPython itself does when flushing fails at exit (docs.python.org, ``sys.exit``).
    """
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = 120
    os._exit(code)


def _import_eagerly() -> None:
    """What the runner loaded for every command before its imports were made lazy (the unoptimised runner:
    :func:`platform_infra.cli.offline.optimised`)."""
    for module in offline.EAGER_IMPORTS:
        if importlib.util.find_spec(module.split(".")[0]) is not None:  # optional extras
            importlib.import_module(module)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``infra``; returns (and, as a console script, exits with) the exit code.

    With ``$PLATFORM_INFRA_OPTIMISATIONS=off`` it is the unoptimised runner (see
    :mod:`platform_infra.cli.offline`): every subcommand and :data:`~platform_infra.cli.offline.EAGER_IMPORTS`
    loaded, default GC, and a console run returns its code for a normal interpreter exit.
    """
    try:
        optimised = offline.optimised()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    console = argv is None
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:2] == ["plan", "diff"]:  # `infra plan diff A B` is the plan-diff command, not stack "diff"
        arguments = ["plan-diff", *arguments[2:]]
    if not optimised:
        _import_eagerly()
    args = build_parser(arguments[0] if arguments and optimised else None).parse_args(arguments)
    if console and optimised:
        offline.batch_gc()  # a console run plans and exits: see batch_gc for what it saves
    try:
        code = args.handler(args)
    except (ValidationError, plan_module.PlanError) as error:
        for line in str(error).splitlines():  # every config problem on its own line
            print(f"error: {line}", file=sys.stderr)
        code = 2
    except BrokenPipeError:
        if not console:
            raise
        # The reader went away (`infra plan dev | head`): no traceback, exit 1, as the Python docs' note on
        # SIGPIPE (library/signal.html) does it; what is left buffered for stdout cannot be written.
        os._exit(1)
    if console and optimised:
        exit_now(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
