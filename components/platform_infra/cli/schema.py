"""``infra schema``: the JSON Schema of ``Pulumi.<stack>.yaml``, generated from the config models.

The shipped stack files name the checked-in copy (``schema/pulumi-stack.schema.json``) in their
``yaml-language-server`` modeline; ``infra schema -o schema/pulumi-stack.schema.json`` refreshes it after a
config model changes (a test fails while the copy differs).
"""

from __future__ import annotations

import argparse
import sys


def _schema(args: argparse.Namespace) -> int:
    from platform_infra.cli.plan import write_output
    from platform_infra.config.schema import schema_text

    text = schema_text()
    if args.output:
        write_output(args.output, text)
        print(f"wrote the stack config schema to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def add_schema_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``infra schema``."""
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of Pulumi.<stack>.yaml (for editors and check-jsonschema)",
        description="Write the JSON Schema of a stack settings file, generated from the config models.",
    )
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    parser.set_defaults(handler=_schema)
