"""Refresh ``components/platform_infra/cli/data/azure_native_token_paths.json`` from azure-native's metadata.

``infra export --format arm`` and the offline mocks place each azure-native resource in ARM (its ARM type,
its own name's parameter, its resource id) from the ARM REST path azure-native's provider sends the PUT to:
``reports/tokenPaths.json`` in pulumi/pulumi-azure-native maps every resource token to that path. That file
is several megabytes; the package vendors only the entries of the tokens this library declares. Run this
with the file of the azure-native version the project pins::

    python3 tools/extract_token_paths.py --token-paths tokenPaths.json --commit <sha> [--add TOKEN]

It keeps the vendored file's tokens (plus ``--add``), rewrites ``tokenPaths`` from the given file and records
the commit. A token the given file does not have is an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENDORED = ROOT / "components/platform_infra/cli/data/azure_native_token_paths.json"


def extract(
    token_paths: dict[str, str], vendored: dict[str, Any], commit: str, add: list[str]
) -> dict[str, Any]:
    """The vendored document rebuilt from ``token_paths`` for the vendored tokens and ``add``."""
    tokens = sorted({*vendored.get("tokenPaths", {}), *add})
    missing = [t for t in tokens if t not in token_paths]
    if missing:
        raise SystemExit(f"{', '.join(missing)}: not in the given tokenPaths.json")
    document = dict(vendored)
    document["source"] = {**vendored.get("source", {}), "commit": commit}
    document["tokenPaths"] = {t: token_paths[t] for t in tokens}
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--token-paths", type=Path, required=True, help="reports/tokenPaths.json")
    parser.add_argument("--commit", required=True, help="the pulumi/pulumi-azure-native commit it is from")
    parser.add_argument("--add", action="append", default=[], help="another token to vendor")
    parser.add_argument("--output", type=Path, default=VENDORED)
    args = parser.parse_args(argv)
    vendored = json.loads(args.output.read_text()) if args.output.exists() else {}
    document = extract(json.loads(args.token_paths.read_text()), vendored, args.commit, args.add)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {len(document['tokenPaths'])} token paths to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
