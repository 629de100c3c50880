"""Refresh ``components/platform_infra/cli/data/pulumi_aws_bridge_metadata.json`` from pulumi-aws's metadata.

``infra export --format terraform-plan`` names each AWS resource and attribute the way pulumi-aws's Terraform
bridge recorded it (``provider/cmd/pulumi-resource-aws/bridge-metadata.json`` in pulumi/pulumi-aws: the
``renames`` section maps every Pulumi token to its Terraform resource and every renamed property to its
Terraform attribute). That file is several megabytes; the package vendors only the entries of the tokens the
exporter uses. Run this with the metadata of the pulumi-aws version the project pins::

    python3 tools/extract_bridge_metadata.py --metadata bridge-metadata.json --commit <sha> [--add TOKEN]

It keeps the vendored file's tokens (plus ``--add``; a nested type token such as
``aws:s3/BucketLifecycleConfigurationV2Rule:BucketLifecycleConfigurationV2Rule`` too), looks every v7 token
up under its alias when the metadata predates it (``tokenAliases``), and rewrites ``resources`` and
``renamedProperties`` from the given file, recording the commit. A token the metadata does not have is an
error (resources), or an empty entry (nested types with no renamed property are absent from the metadata).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENDORED = ROOT / "components/platform_infra/cli/data/pulumi_aws_bridge_metadata.json"


def extract(
    metadata: dict[str, Any], vendored: dict[str, Any], commit: str, add: list[str]
) -> dict[str, Any]:
    """The vendored document rebuilt from ``metadata`` for the vendored tokens and ``add``."""
    renames = metadata.get("renames") or {}
    all_resources: dict[str, str] = renames.get("resources") or {}
    all_properties: dict[str, dict[str, str]] = renames.get("renamedProperties") or {}
    aliases: dict[str, str] = vendored.get("tokenAliases", {}).get("aliases", {})
    tokens = sorted({*vendored.get("renamedProperties", {}), *vendored.get("resources", {}), *add})
    resources: dict[str, str] = {}
    properties: dict[str, dict[str, str]] = {}
    for token in tokens:
        token = aliases.get(token, token)
        name = token.split(":")[1].split("/")[-1]
        if name[:1].islower():  # a resource token (types are PascalCase after the module)
            if token not in all_resources:
                raise SystemExit(f"{token}: not in renames.resources of the given metadata")
            resources[token] = all_resources[token]
        properties[token] = dict(sorted(all_properties.get(token, {}).items()))
    document = dict(vendored)
    document["source"] = {**vendored.get("source", {}), "commit": commit}
    document["resources"] = dict(sorted(resources.items()))
    document["renamedProperties"] = dict(sorted(properties.items()))
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--metadata", type=Path, required=True, help="a bridge-metadata.json of pulumi-aws")
    parser.add_argument("--commit", required=True, help="the pulumi/pulumi-aws commit the file is from")
    parser.add_argument("--add", action="append", default=[], help="another token to vendor")
    parser.add_argument("--output", type=Path, default=VENDORED)
    args = parser.parse_args(argv)
    vendored = json.loads(args.output.read_text()) if args.output.exists() else {}
    document = extract(json.loads(args.metadata.read_text()), vendored, args.commit, args.add)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {len(document['resources'])} resources to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
