"""``infra export STACK --format terraform-plan|arm``: the offline plan in formats other scanners read.

Checkov (and other IaC scanners) cannot read a Pulumi program, but they read a Terraform plan in JSON
(``terraform show -json``) and ARM templates. This module writes the offline plan as both:

* **terraform-plan**: every AWS resource as Terraform's ``aws_*`` resource, in the JSON plan format
  (``planned_values``, ``resource_changes``, ``configuration``; "JSON Output Format" of the Terraform docs).
  pulumi-aws is generated from the Terraform AWS provider by the Terraform bridge, which names a resource
  ``aws:<module>/<resource>:<Resource>`` after ``aws_<module>_<snake resource>`` and each property in
  camelCase after the Terraform attribute, pluralising list attributes. The installed ``pulumi_aws`` package
  does not ship the bridge's metadata (``provider/cmd/pulumi-resource-aws/bridge-metadata.json`` in
  pulumi/pulumi-aws, whose ``renames`` section lists every token's Terraform name and renamed property), so
  the export applies the bridge's convention and :data:`TERRAFORM_TYPE_EXCEPTIONS` /
  :data:`ATTRIBUTE_EXCEPTIONS` hold the renames that metadata records for the types this library declares.
* **arm**: every azure-native resource with its ARM type, the API version the installed azure-native SDK
  sends (its generated docstrings, :func:`~platform_infra.cli.azure_types.api_version`) and the request
  body azure-native builds: envelope properties (``location``, ``tags``, ``sku``, ``kind``, ``identity``)
  at the top, the rest under ``properties`` (the REST API's flattened ``x-ms-client-flatten`` shape), path
  parameters dropped.

Both keep a map from each exported address to the Pulumi URN (``pulumi.addresses`` in the plan,
``metadata.pulumi.addresses`` in the template), list every resource without a counterpart (random
passwords, types with no known ARM placement) under ``withoutCounterpart``, restore cross-resource
references from the dependencies the program recorded, and turn every secret leaf into an unknown value.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from platform_infra.cli.azure_types import AZURE_TYPES, api_version
from platform_infra.cli.mocks import FAKE_SUBSCRIPTION, MockRun
from platform_infra.cli.plan import SECRET, PlanError, StackFiles, build_plan, run_stack, write_output

FORMATS = ("terraform-plan", "arm")
TERRAFORM_TYPE_EXCEPTIONS: dict[str, str] = {
    # bridge-metadata.json, renames.resources: tokens whose Terraform name is not the convention's.
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "aws_s3_bucket_replication_configuration",
}
ATTRIBUTE_EXCEPTIONS: dict[str, str] = {
    # Lists Pulumi pluralised from singular Terraform names (bridge-metadata.json, renamedProperties).
    "clientIdLists": "client_id_list",
    "thumbprintLists": "thumbprint_list",
    "rules": "rule",
    "transitions": "transition",
    "noncurrentVersionExpirations": "noncurrent_version_expiration",
    "noncurrentVersionTransitions": "noncurrent_version_transition",
    "applyServerSideEncryptionByDefaults": "apply_server_side_encryption_by_default",
    "destinations": "destination",
    "filters": "filter",
}
MAP_PROPERTIES = frozenset({"tags", "tagsAll", "variables", "keepers"})
"""Properties whose keys are data (tag names, environment variables), never renamed."""
ARM_ENVELOPE = ("location", "tags", "sku", "kind", "identity", "zones", "plan", "extendedLocation")
ARM_SECRET = "[parameters('pulumiSecret')]"
"""What a secret leaf becomes in the template: a securestring parameter, unknown to any scanner."""


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def terraform_type(type_token: str) -> str | None:
    """The Terraform resource type of an ``aws:`` token (None for other packages)."""
    if type_token in TERRAFORM_TYPE_EXCEPTIONS:
        return TERRAFORM_TYPE_EXCEPTIONS[type_token]
    package, rest, _ = type_token.split(":")
    if package != "aws" or "/" not in rest:
        return None
    module, resource = rest.split("/")
    return f"aws_{module.replace('lambda_', 'lambda')}_{_snake(resource)}"


def terraform_attribute(name: str) -> str:
    """The Terraform attribute of a Pulumi property name."""
    return ATTRIBUTE_EXCEPTIONS.get(name) or _snake(name)


def _terraform_values(value: Any, unknown: list[str], path: str = "") -> Any:
    """Inputs renamed to Terraform attributes; secret leaves dropped and their paths added to ``unknown``."""
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            attribute = terraform_attribute(key)
            here = f"{path}.{attribute}" if path else attribute
            if item == SECRET:
                unknown.append(here)
                continue
            if key in MAP_PROPERTIES and isinstance(item, Mapping):
                result[attribute] = {k: v for k, v in item.items() if v != SECRET}
                unknown.extend(f"{here}.{k}" for k, v in item.items() if v == SECRET)
            else:
                result[attribute] = _terraform_values(item, unknown, here)
        return result
    if isinstance(value, list):
        return [_terraform_values(v, unknown, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _unknown_tree(paths: list[str]) -> dict[str, Any]:
    """``after_unknown``: true at each unknown top-level attribute (nested paths mark their root)."""
    return {re.split(r"[.\[]", p, maxsplit=1)[0]: True for p in paths}


def _address_name(name: str, taken: set[str], prefix: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    if not re.match(r"[A-Za-z_]", base):
        base = f"r_{base}"
    candidate, index = base, 2
    while f"{prefix}.{candidate}" in taken:
        candidate, index = f"{base}_{index}", index + 1
    taken.add(f"{prefix}.{candidate}")
    return candidate


def _string_leaves(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _string_leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in _string_leaves(v)]
    return [value] if isinstance(value, str) else []


def _referable(outputs: Mapping[str, Any]) -> dict[str, str]:
    """A resource's outputs another resource may hold as a value: its arn, id-like names, bucket."""
    keys = ("arn", "id", "name", "bucket", "keyId")
    return {k: v for k, v in outputs.items() if k in keys and isinstance(v, str) and len(v) > 3}


def terraform_plan(files: StackFiles, run: MockRun, plan: Mapping[str, Any]) -> dict[str, Any]:
    """The Terraform JSON plan of a stack's AWS resources (see the module docstring)."""
    by_urn = {r["urn"]: r for r in plan["resources"]}
    addresses: dict[str, str] = {}
    urn_address: dict[str, str] = {}
    taken: set[str] = set()
    for entry in plan["resources"]:
        tf_type = terraform_type(entry["type"]) if entry["custom"] else None
        if tf_type:
            address = f"{tf_type}.{_address_name(entry['name'], taken, tf_type)}"
            addresses[address] = entry["urn"]
            urn_address[entry["urn"]] = address
    planned, changes, configuration = [], [], []
    for address, urn in addresses.items():
        entry = by_urn[urn]
        tf_type, name = address.split(".", 1)
        unknown: list[str] = []
        values = _terraform_values(entry["inputs"], unknown)
        record = run.by_urn(urn)
        expressions: dict[str, Any] = {}
        for dependency in record.depends_on:
            target = urn_address.get(dependency)
            if target is None:
                continue
            outputs = _referable(run.by_urn(dependency).outputs)
            for key, raw in entry["inputs"].items():
                leaves = _string_leaves(raw)
                for out_key, out_value in outputs.items():
                    if any(out_value == leaf or out_value in leaf for leaf in leaves):
                        refs = expressions.setdefault(terraform_attribute(key), {"references": []})[
                            "references"
                        ]
                        for reference in (f"{target}.{terraform_attribute(out_key)}", target):
                            if reference not in refs:
                                refs.append(reference)
        common = {
            "address": address,
            "mode": "managed",
            "type": tf_type,
            "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws",
        }
        planned.append({**common, "schema_version": 0, "values": values, "sensitive_values": {}})
        changes.append(
            {
                **common,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": _unknown_tree(unknown),
                    "before_sensitive": False,
                    "after_sensitive": _unknown_tree(unknown),
                },
            }
        )
        configuration.append(
            {
                **{k: common[k] for k in ("address", "mode", "type", "name")},
                "provider_config_key": "aws",
                "expressions": expressions,
            }
        )
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": configuration}},
        "pulumi": _pulumi_section(files, plan, addresses, "aws"),
    }


def _pulumi_section(
    files: StackFiles, plan: Mapping[str, Any], addresses: Mapping[str, str], package: str
) -> dict[str, Any]:
    exported = set(addresses.values())
    without = [
        {"urn": r["urn"], "type": r["type"], "reason": _why_not(r["type"], package)}
        for r in plan["resources"]
        if r["custom"] and not r["type"].startswith("pulumi:providers:") and r["urn"] not in exported
    ]
    return {
        "stack": files.stack,
        "project": files.project,
        "addresses": dict(addresses),
        "withoutCounterpart": without,
    }


def _why_not(type_token: str, package: str) -> str:
    own = type_token.split(":")[0]
    if own != package:
        other = "terraform-plan" if own == "aws" else "arm" if own == "azure-native" else None
        return f"exported by --format {other}" if other else f"no {package} counterpart ({own} resource)"
    return "no known ARM placement for this type" if package == "azure-native" else "no Terraform type"


def _arm_id_and_name(
    entry: Mapping[str, Any], outputs: Mapping[str, Any], subscription: str
) -> tuple[str, str, str | None]:
    """The ARM resource id, the template ``name`` (``parent/child``) and the ``scope`` of an extension."""
    kind = AZURE_TYPES[entry["type"]]
    inputs = entry["inputs"]
    # The name input, or the one azure-native's autonaming gave it (the run's outputs hold it).
    name = kind.fixed_name or str(inputs.get(kind.name_key or "") or outputs.get("name") or entry["name"])
    values = {k: str(v) for k, v in inputs.items() if isinstance(v, str | int | float)}
    values.update({"subscriptionId": subscription, "@": name})
    resource_id = re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), f"unknown-{m.group(1)}"), kind.path)
    head, _, tail = resource_id.rpartition("/providers/")
    segments = tail.split("/")[1:]  # drop the namespace; the rest alternates type and name
    template_name = "/".join(segments[1::2]) if segments else name
    scope = head if kind.path.startswith("{scope}") else None
    if kind.arm_type == "Microsoft.Resources/resourceGroups":
        template_name = name
    return resource_id, template_name, scope


def _nested_extension(resource_uri: str, arm_type: str, name: str) -> tuple[str, str] | None:
    """An extension resource (diagnostic settings) in ARM's nested form, unique per parent resource.

    ``<parent type>/providers/<extension type>`` named ``<parent names>/<extension namespace>/<name>``:
    several apps' settings share one name, and the scope form would give them one address.
    """
    _, _, tail = resource_uri.rpartition("/providers/")
    segments = tail.split("/")
    if len(segments) < 3:
        return None
    namespace, rest = segments[0], segments[1:]
    parent_type = "/".join([namespace, *rest[0::2]])
    ext_namespace, _, ext_type = arm_type.partition("/")
    return f"{parent_type}/providers/{ext_type}", "/".join([*rest[1::2], ext_namespace, name])


ARM_WIRE_NAMES = {"expires": "exp", "notBefore": "nbf"}
"""SDK property names that differ from the REST body's: Key Vault secret and key ``attributes`` are
``exp``/``nbf`` on the wire (Key Vault REST API, SecretAttributes / KeyAttributes), ``expires``/``notBefore``
in azure-native."""


def _arm_wire_names(value: Any, inside_attributes: bool = False) -> Any:
    if isinstance(value, Mapping):
        return {
            (ARM_WIRE_NAMES.get(k, k) if inside_attributes else k): _arm_wire_names(v, k == "attributes")
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_arm_wire_names(v) for v in value]
    return value


def _arm_secrets(value: Any) -> Any:
    if value == SECRET:
        return ARM_SECRET
    if isinstance(value, Mapping):
        return {k: _arm_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_arm_secrets(v) for v in value]
    return value


def arm_template(files: StackFiles, run: MockRun, plan: Mapping[str, Any]) -> dict[str, Any]:
    """The ARM template of a stack's azure-native resources (see the module docstring)."""
    subscription = str(_azure_subscription(plan) or FAKE_SUBSCRIPTION)
    resources, addresses, ids = [], {}, {}
    exported = [r for r in plan["resources"] if r["custom"] and r["type"] in AZURE_TYPES]
    for entry in exported:
        resource_id, name, _ = _arm_id_and_name(entry, run.by_urn(entry["urn"]).outputs, subscription)
        ids[entry["urn"]] = resource_id
    for entry in exported:
        kind = AZURE_TYPES[entry["type"]]
        resource_id, name, scope = _arm_id_and_name(entry, run.by_urn(entry["urn"]).outputs, subscription)
        inputs = _arm_wire_names(_arm_secrets(entry["inputs"]))
        path_keys = set(re.findall(r"\{([^}]+)\}", kind.path)) | {kind.name_key or "", "resourceGroupName"}
        arm_type = kind.arm_type
        if kind.path.startswith("{resourceUri}"):
            nested = _nested_extension(str(entry["inputs"].get("resourceUri", "")), kind.arm_type, name)
            if nested:
                arm_type, name = nested
        body: dict[str, Any] = {"type": arm_type, "apiVersion": api_version(entry["type"]), "name": name}
        if scope:
            body["scope"] = scope
        properties = (
            dict(inputs.get("properties") or {}) if isinstance(inputs.get("properties"), Mapping) else {}
        )
        for key, value in inputs.items():
            if key in path_keys or key == "properties":
                continue
            if key in ARM_ENVELOPE and not (key == "sku" and kind.arm_type.endswith("/workspaces")):
                body[key] = value
            else:
                properties[key] = value
        if isinstance(inputs.get("properties"), Mapping) or properties:
            body["properties"] = properties
        depends = [ids[d] for d in run.by_urn(entry["urn"]).depends_on if d in ids and ids[d] != resource_id]
        if depends:
            body["dependsOn"] = sorted(set(depends))
        resources.append(body)
        address = f"{arm_type}.{name}"
        # Checkov names a template resource "<type>.<name>"; a clash would make the URN ambiguous.
        if address in addresses:
            raise PlanError(f"stack '{files.stack}': two resources export as {address}")
        addresses[address] = entry["urn"]
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": {"pulumi": _pulumi_section(files, plan, addresses, "azure-native")},
        "parameters": {"pulumiSecret": {"type": "securestring"}},
        "resources": resources,
    }


def _azure_subscription(plan: Mapping[str, Any]) -> str | None:
    for entry in plan["resources"]:
        if entry["type"] == "pulumi:providers:azure-native":
            return entry["inputs"].get("subscriptionId")
    return None


def export_stack(stack: str, fmt: str, root: Path | None = None, **run_options: Any) -> dict[str, Any]:
    """Run a stack offline and return its export in ``fmt`` (one of :data:`FORMATS`)."""
    files, run = run_stack(stack, root, **run_options)
    plan = build_plan(files, run)
    return terraform_plan(files, run, plan) if fmt == "terraform-plan" else arm_template(files, run, plan)


def _export_command(args: argparse.Namespace) -> int:
    from platform_infra.cli.check import parse_overrides

    try:
        overrides = parse_overrides(args.set or [], args.stack, args.root)
    except argparse.ArgumentTypeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    document = export_stack(args.stack, args.format, args.root, overrides=overrides)
    text = json.dumps(document, indent=2) + "\n"
    if args.output:
        write_output(args.output, text)
        section = document.get("pulumi") or document["metadata"]["pulumi"]
        print(
            f"wrote {len(section['addresses'])} resources of stack '{args.stack}' as {args.format} to "
            f"{args.output} ({len(section['withoutCounterpart'])} without a counterpart, listed in the file)",
            file=sys.stderr,
        )
    else:
        print(text, end="")
    return 0


def add_export_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write the offline plan as a Terraform JSON plan (AWS) or an ARM template (Azure) for scanners",
        description="Export a stack's offline plan for Checkov and other scanners (see docs/pipelines.md).",
    )
    parser.add_argument("stack", help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    parser.add_argument("--root", type=Path, help="folder holding Pulumi.yaml")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set platform:vault.defaultAction=Allow (as for infra check)",
    )
    parser.set_defaults(handler=_export_command)
