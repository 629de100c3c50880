"""``infra export STACK --format terraform-plan|arm``: the offline plan in formats other scanners read.

Checkov (and other IaC scanners) cannot read a Pulumi program, but they read a Terraform plan in JSON
(``terraform show -json``) and ARM templates. This module writes the offline plan as both:

* **terraform-plan**: every AWS resource as Terraform's ``aws_*`` resource, in the JSON plan format
  (``planned_values``, ``resource_changes``, ``configuration``; "JSON Output Format" of the Terraform docs).
  Names come from pulumi-aws's own bridge metadata (``provider/cmd/pulumi-resource-aws/bridge-metadata.json``
  in pulumi/pulumi-aws), vendored for the tokens this library declares in
  ``cli/data/pulumi_aws_bridge_metadata.json`` (source commit recorded there; refreshed by
  ``tools/extract_bridge_metadata.py``): ``renames.resources`` gives the Terraform resource of a token,
  ``renames.renamedProperties`` every property whose Terraform attribute differs (pluralised lists,
  ``name`` -> ``function_name``, ``topic`` -> ``topic_arn``); a property it does not list keeps its name,
  which the bridge only does for one-word names, so a multi-word property the vendored metadata does not
  know is left out and listed under ``unmappedProperties``, never guessed. Nested blocks are named as the
  bridge names their types (the resource's type name plus the Terraform attribute, in PascalCase). An
  object the SDK types as a nested block (not a ``Mapping``) is a block the bridge flattened from a
  one-element list (``MaxItems: 1``), so it goes back into a list, as ``terraform show -json`` writes it.
* **arm**: every azure-native resource with its ARM type (read off the ARM REST path azure-native's own
  ``reports/tokenPaths.json`` gives the token, vendored in ``cli/data/azure_native_token_paths.json`` and
  refreshed by ``tools/extract_token_paths.py``; :func:`~platform_infra.cli.azure_types.arm_placement`),
  the API version the installed azure-native SDK sends (its generated docstrings,
  :func:`~platform_infra.cli.azure_types.api_version`) and the request body ARM receives. azure-native
  flattens each REST object's ``properties`` marked ``x-ms-client-flatten`` into its inputs, at every nesting
  level, and names a few inputs by their ``x-ms-client-name``; where each input sits in the body (and under
  which wire name) comes from ``cli/data/azure_arm_body_shapes.json``, which
  ``tools/extract_arm_body_shapes.py`` builds by joining the installed azure-native SDK's ``*Args`` classes
  with the Azure SDK for Python's models of the same PUT operation (packages, versions and both
  api-versions recorded there). So a subnet's ``delegations[].serviceName`` is written as
  ``delegations[].properties.serviceName``, a storage account's ``networkRuleSet`` as
  ``properties.networkAcls``, a secret's ``attributes.expires`` as ``attributes.exp``. An input the data does
  not place (or a union member whose discriminator it does not know) is left out and listed under
  ``unmappedProperties``, never guessed; path parameters are dropped.

Both keep a map from each exported address to the Pulumi URN (``pulumi.addresses`` in the plan,
``metadata.pulumi.addresses`` in the template), list every resource without a counterpart (random
passwords, types with no known ARM placement) under ``withoutCounterpart``, restore cross-resource
references from the dependencies the program recorded, and turn every secret leaf into an unknown value.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import re
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from platform_infra.cli.azure_types import AZURE_TYPES, api_version, token_paths
from platform_infra.cli.mocks import FAKE_SUBSCRIPTION, MockRun
from platform_infra.cli.plan import SECRET, PlanError, StackFiles, build_plan, run_stack, write_output

FORMATS = ("terraform-plan", "arm")
ARM_SECRET = "[parameters('pulumiSecret')]"
"""What a secret leaf becomes in the template: a securestring parameter, unknown to any scanner."""


@functools.cache
def aws_bridge_metadata() -> dict[str, Any]:
    """The vendored entries of pulumi-aws's ``bridge-metadata.json`` (see the module docstring)."""
    return json.loads(resources.files("platform_infra.cli").joinpath(AWS_METADATA).read_text())


AWS_METADATA = "data/pulumi_aws_bridge_metadata.json"


def metadata_token(type_token: str) -> str:
    """The token a pulumi-aws token has in the vendored metadata (its V2 name where v7 dropped the suffix)."""
    return aws_bridge_metadata()["tokenAliases"]["aliases"].get(type_token, type_token)


def terraform_type(type_token: str) -> str | None:
    """The Terraform resource type of a token, from the bridge metadata (None: not in it)."""
    return aws_bridge_metadata()["resources"].get(metadata_token(type_token))


def terraform_attribute(type_token: str, name: str) -> str | None:
    """The Terraform attribute of property ``name`` of ``type_token`` (a resource or nested type token).

    None when the metadata cannot tell: a multi-word property it does not list for the token.
    """
    renamed = aws_bridge_metadata()["renamedProperties"].get(metadata_token(type_token), {})
    if name in renamed:
        return renamed[name]
    # renamedProperties lists every property whose Terraform name differs; an unlisted one-word name is
    # the same in both (the bridge's camelCase of a one-word attribute is the attribute itself).
    return name if re.fullmatch(r"[a-z][a-z0-9]*", name) else None


def _pascal(attribute: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in attribute.split("_"))


def nested_token(type_token: str, attribute: str) -> str:
    """The bridge's token of the nested block ``attribute`` of ``type_token``.

    The bridge names a block's type after its resource's type name and the Terraform attribute path
    (``aws:s3/BucketLifecycleConfigurationV2Rule:...`` for ``rule`` of ``bucketLifecycleConfigurationV2``).
    """
    package, middle, name = metadata_token(type_token).split(":")
    module = middle.split("/")[0]
    nested = name + _pascal(attribute)
    return f"{package}:{module}/{nested}:{nested}"


def _args_class(type_token: str) -> type | None:
    """The installed SDK's input class of a pulumi-aws resource (``BucketVersioningInitArgs``...)."""
    _, middle, name = type_token.split(":")
    module = middle.split("/")[0]
    try:
        sdk = importlib.import_module(f"pulumi_aws.{'lambda_' if module == 'lambda' else module}")
    except ImportError:
        return None
    # The SDK renames a resource's args to ...InitArgs when a nested type already has the Args name.
    return getattr(sdk, f"{name}InitArgs", None) or getattr(sdk, f"{name}Args", None)


def _property_types(args_class: type | None) -> dict[str, str]:
    """Per camelCase property of an SDK input class, the text of its type annotation."""
    if args_class is None:
        return {}
    result = {}
    for attribute in vars(args_class).values():
        getter = getattr(attribute, "fget", None)
        name = getattr(getter, "_pulumi_name", None)
        if name:
            result[name] = str(getter.__annotations__.get("return", ""))
    return result


def _nested_args(annotation: str, args_class: type | None) -> type | None:
    match = re.search(r"ForwardRef\('(\w+Args)'\)", annotation)
    if match is None or args_class is None:
        return None
    module = importlib.import_module(args_class.__module__.rsplit(".", 1)[0] + "._inputs")
    return getattr(module, match.group(1), None)


class _Converter:
    """Pulumi inputs of one resource as Terraform attribute values (see the module docstring)."""

    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.unmapped: list[str] = []

    def block(self, token: str, args_class: type | None, value: Mapping[str, Any], path: str = "") -> dict:
        types = _property_types(args_class)
        result: dict[str, Any] = {}
        for key, item in value.items():
            attribute = terraform_attribute(token, key)
            here = f"{path}.{attribute or key}" if path else (attribute or key)
            if attribute is None:
                self.unmapped.append(f"{path}.{key}" if path else key)
                continue
            annotation = types.get(key, "")
            if item == SECRET or "Archive" in annotation or "Asset" in annotation:
                # A secret leaf, or code the provider packages at deploy time: unknown to a plan reader.
                self.unknown.append(here)
                continue
            if isinstance(item, Mapping) and "Mapping[" in annotation:
                # A map attribute (tags, environment variables): its keys are data, never renamed.
                result[attribute] = {k: v for k, v in item.items() if v != SECRET}
                self.unknown.extend(f"{here}.{k}" for k, v in item.items() if v == SECRET)
            elif isinstance(item, Mapping):
                nested = nested_token(token, attribute)
                result[attribute] = [self.block(nested, _nested_args(annotation, args_class), item, here)]
            elif isinstance(item, list) and item and all(isinstance(v, Mapping) for v in item):
                nested = nested_token(token, attribute)
                args = _nested_args(annotation, args_class)
                result[attribute] = [self.block(nested, args, v, f"{here}[{i}]") for i, v in enumerate(item)]
            else:
                result[attribute] = item
        return result


def terraform_values(
    type_token: str, inputs: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """A resource's inputs as Terraform values: (values, unknown attribute paths, unmapped property paths)."""
    converter = _Converter()
    values = converter.block(type_token, _args_class(type_token), inputs)
    return values, converter.unknown, converter.unmapped


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
    unmapped_by_address: dict[str, list[str]] = {}
    for address, urn in addresses.items():
        entry = by_urn[urn]
        tf_type, name = address.split(".", 1)
        values, unknown, unmapped = terraform_values(entry["type"], entry["inputs"])
        if unmapped:
            unmapped_by_address[address] = unmapped
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
                    attribute = terraform_attribute(entry["type"], key)
                    if attribute and any(out_value == leaf or out_value in leaf for leaf in leaves):
                        refs = expressions.setdefault(attribute, {"references": []})["references"]
                        out_attribute = terraform_attribute(run.by_urn(dependency).type, out_key) or out_key
                        for reference in (f"{target}.{out_attribute}", target):
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
        "pulumi": {
            **_pulumi_section(files, plan, addresses, "aws"),
            "metadata": {k: aws_bridge_metadata()["source"][k] for k in ("repository", "path", "commit")},
            "unmappedProperties": unmapped_by_address,
        },
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
    if package == "azure-native" and type_token in AZURE_TYPES:
        return f"no ARM body shape for this type in the vendored data ({ARM_BODY_SHAPES})"
    if package == "azure-native":
        return "no known ARM placement for this type"
    return f"no Terraform type for it in the vendored bridge metadata ({AWS_METADATA})"


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


ARM_BODY_SHAPES = "data/azure_arm_body_shapes.json"


@functools.cache
def arm_body_shapes() -> dict[str, Any]:
    """The vendored body shapes (``resources``, ``shapes``; see the module docstring)."""
    return json.loads(resources.files("platform_infra.cli").joinpath(ARM_BODY_SHAPES).read_text())


def _set_path(body: dict[str, Any], path: str | list[str], value: Any) -> None:
    segments = path.split(".") if isinstance(path, str) else path
    for segment in segments[:-1]:
        body = body.setdefault(segment, {})
    body[segments[-1]] = value


_UNMAPPED = object()


class _ArmBody:
    """Pulumi inputs of one azure-native resource placed where ARM receives them (module docstring)."""

    def __init__(self) -> None:
        self.unmapped: list[str] = []

    def place(self, shape: Mapping[str, Any], value: Mapping[str, Any], path: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {}
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            entry = shape.get(key)
            if entry is None:
                self.unmapped.append(here)
                continue
            entry = {"path": entry} if isinstance(entry, str | list) else entry
            converted = self.value(entry, item, here)
            if converted is not _UNMAPPED:
                _set_path(body, entry["path"], converted)
        return body

    def value(self, entry: Mapping[str, Any], item: Any, here: str) -> Any:
        if item == SECRET:
            return ARM_SECRET
        if entry.get("listAsMap") and isinstance(item, list):
            # azure-native takes a list of identity ids; ARM's body is a map of id -> {} (see the tool).
            return {str(v): {} for v in item}
        if "oneOf" in entry:
            return self._member(entry, item, here)
        shape_key = entry.get("shape")
        if shape_key is None:
            return _arm_secrets(item)
        shape = arm_body_shapes()["shapes"][shape_key]
        if isinstance(item, list):
            return [
                self.place(shape, v, f"{here}[{i}]") if isinstance(v, Mapping) else _arm_secrets(v)
                for i, v in enumerate(item)
            ]
        if isinstance(item, Mapping) and entry.get("map"):
            return {
                k: self.place(shape, v, f"{here}.{k}") if isinstance(v, Mapping) else _arm_secrets(v)
                for k, v in item.items()
            }
        if isinstance(item, Mapping):
            return self.place(shape, item, here)
        return _arm_secrets(item)

    def _member(self, entry: Mapping[str, Any], item: Any, here: str) -> Any:
        """A union: the discriminator's value (``odataType``...) names the member's shape."""
        if isinstance(item, list):
            return [self._member(entry, v, f"{here}[{i}]") for i, v in enumerate(item)]
        shape_key = (
            entry["oneOf"].get(item.get(entry["discriminator"])) if isinstance(item, Mapping) else None
        )
        if shape_key is None:
            self.unmapped.append(here)
            return _UNMAPPED
        return self.place(arm_body_shapes()["shapes"][shape_key], item, here)


def arm_body(
    type_token: str, inputs: Mapping[str, Any], path_keys: set[str]
) -> tuple[dict[str, Any], list[str]]:
    """A resource's inputs as its ARM body, and the input paths the vendored shapes do not place.

    ``path_keys`` (the REST path's parameters, compared case-insensitively) are not part of the body.
    """
    resource = arm_body_shapes()["resources"][type_token]
    builder = _ArmBody()
    lowered = {k.lower() for k in path_keys}
    body_inputs = {k: v for k, v in inputs.items() if k.lower() not in lowered}
    return builder.place(resource["body"], body_inputs), builder.unmapped


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
    unmapped_by_address: dict[str, list[str]] = {}
    shaped = arm_body_shapes()["resources"]
    exported = [
        r for r in plan["resources"] if r["custom"] and r["type"] in AZURE_TYPES and r["type"] in shaped
    ]
    for entry in exported:
        resource_id, name, _ = _arm_id_and_name(entry, run.by_urn(entry["urn"]).outputs, subscription)
        ids[entry["urn"]] = resource_id
    for entry in exported:
        kind = AZURE_TYPES[entry["type"]]
        resource_id, name, scope = _arm_id_and_name(entry, run.by_urn(entry["urn"]).outputs, subscription)
        parameters = re.findall(r"\{([^}]+)\}", token_paths()["tokenPaths"][entry["type"]])
        path_keys = {*parameters, kind.name_key or "", "resourceGroupName"}
        arm_type = kind.arm_type
        if kind.path.startswith("{resourceUri}"):
            nested = _nested_extension(str(entry["inputs"].get("resourceUri", "")), kind.arm_type, name)
            if nested:
                arm_type, name = nested
        body: dict[str, Any] = {"type": arm_type, "apiVersion": api_version(entry["type"]), "name": name}
        if scope:
            body["scope"] = scope
        placed, unmapped = arm_body(entry["type"], entry["inputs"], path_keys)
        body.update(placed)
        depends = [ids[d] for d in run.by_urn(entry["urn"]).depends_on if d in ids and ids[d] != resource_id]
        if depends:
            body["dependsOn"] = sorted(set(depends))
        resources.append(body)
        address = f"{arm_type}.{name}"
        # Checkov names a template resource "<type>.<name>"; a clash would make the URN ambiguous.
        if address in addresses:
            raise PlanError(f"stack '{files.stack}': two resources export as {address}")
        addresses[address] = entry["urn"]
        if unmapped:
            unmapped_by_address[address] = unmapped
    shapes_source = arm_body_shapes()["source"]
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": {
            "pulumi": {
                **_pulumi_section(files, plan, addresses, "azure-native"),
                "metadata": {k: token_paths()["source"][k] for k in ("repository", "path", "commit")},
                "bodyShapes": {
                    "file": f"platform_infra/cli/{ARM_BODY_SHAPES}",
                    "azureNative": shapes_source["azureNative"],
                    "azureSdk": sorted(shapes_source["azureSdk"]),
                    # Where the SDK model is of another api-version than azure-native sends, an input the
                    # two versions place differently could be misplaced: named here for the reviewer.
                    "apiVersionDiffers": {
                        token: f"azure-native {shaped[token]['azureNativeApiVersion']}, "
                        f"{shaped[token]['sdk']} {shaped[token]['sdkApiVersion']}"
                        for token in sorted({r["type"] for r in exported})
                        if shaped[token]["azureNativeApiVersion"] != shaped[token]["sdkApiVersion"]
                    },
                },
                "unmappedProperties": unmapped_by_address,
            }
        },
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
