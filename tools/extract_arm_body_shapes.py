"""Rebuild ``components/platform_infra/cli/data/azure_arm_body_shapes.json``: where each azure-native
input sits in the ARM request body.

``infra export --format arm`` must write each resource's body as ARM receives it. azure-native flattens the
``properties`` object of a REST definition marked ``x-ms-client-flatten`` (at every nesting level: a
subnet's ``addressPrefix`` is ``properties.addressPrefix`` in the VNet's ``subnets[]``), and some inputs
have another name on the wire (``x-ms-client-name``: a Key Vault secret's ``expires`` is ``exp``).
azure-native's own record of that (``metadata-compact.json``) is generated when the provider is built and
embedded in its binary, not committed (pulumi/pulumi-azure-native
``provider/cmd/pulumi-resource-azure-native/main.go``). The rule that builds it is in
``provider/pkg/gen/properties.go`` (``genProperties``): an input's name is the spec's ``x-ms-client-name``
(first letter lowered) or else its wire name, in lowerCamelCase; a property marked ``x-ms-client-flatten``
(not a dictionary) is replaced by its own properties, each remembering its containers; read-only
properties are not inputs; a derived type of a discriminated union gets its discriminator as a constant.
The Azure SDK for Python's management packages are
generated from the same specs (Azure/azure-rest-api-specs) and keep the wire shape in their models: older
(AutoRest/msrest) models as ``_attribute_map`` keys such as ``'properties.serverFarmId'``, newer (TypeSpec)
ones as ``rest_field(name=...)`` with an explicit ``properties`` model. This tool joins the two, reading
the SDK packages' source with ``ast`` (no Azure SDK package is imported, so several versions of one
package can be read side by side):

1. For every azure-native token in the vendored token paths (``cli/data/azure_native_token_paths.json``),
   the installed azure-native SDK's ``<Resource>Args`` (or ``...InitArgs``) class gives the input names and
   their nested ``*Args`` types: the names the provider receives, as the offline plan records them.
2. In the given SDK wheels (or installed package folders), the request builder whose URL template is the
   token's REST path (placeholders compared by position, case-insensitively) with method ``PUT`` gives the
   SDK's api-version, and the ``_models.X`` annotation of the operation that calls it gives the body model.
   When several packages or api-version folders have that operation, the one whose api-version equals
   azure-native's wins, else the nearest date; both versions are recorded.
3. Each input name is looked up among the model's fields: by wire name at the top level, then inside
   ``properties`` (the flattening), then by the SDK's attribute name (the spec's ``x-ms-client-name``,
   which azure-native uses too); writable fields first, then read-only ones (flagged). Nested ``*Args``
   recurse into the field's model; a union of ``*Args`` maps each member to the SDK subtype of the same
   name and records the discriminator (``_subtype_map``). An input found nowhere is listed under
   ``unmatched`` (path parameters excepted), and the exporter reports it when a stack sets it.

Run with the project's environment (it reads the installed azure-native SDK) and the pinned wheels::

    pip download --no-deps -d wheels $(python3 tools/extract_arm_body_shapes.py --print-requirements)
    .venv/bin/python tools/extract_arm_body_shapes.py --sdk wheels/*.whl

``--sdk`` also takes an installed package as ``NAME==VERSION=SITE_PACKAGES`` (no hash is recorded then).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib
import importlib.metadata
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "components/platform_infra/cli/data"
VENDORED = DATA / "azure_arm_body_shapes.json"
TOKEN_PATHS = DATA / "azure_native_token_paths.json"

SDK_REQUIREMENTS = (
    # Pinned for the api-versions azure-native 3.29 uses (see the module docstring, step 2): the newest
    # package of each that still has azure-native's api-version, else the one nearest to it.
    "azure-mgmt-applicationinsights==4.1.0",  # v2020_02_02
    "azure-mgmt-authorization==4.0.0",  # v2022_04_01, v2022_05_01_preview
    "azure-mgmt-keyvault==11.0.0",  # v2024_11_01
    "azure-mgmt-loganalytics==14.0.0",  # 2025-07-01 (no package has azure-native's 2023-09-01)
    "azure-mgmt-monitor==6.0.2",  # v2021_05_01_preview (diagnostic settings; 7.0.0 has none)
    "azure-mgmt-monitor==7.0.0",  # metric alerts 2018-03-01, action groups 2023-01-01
    "azure-mgmt-msi==7.0.0",  # v2023_01_31
    "azure-mgmt-network==28.1.0",  # 2024-05-01
    "azure-mgmt-privatedns==2.0.0",  # 2024-06-01
    "azure-mgmt-resource==23.3.0",  # resources v2024_07_01 (no package has azure-native's 2024-03-01)
    "azure-mgmt-storage==22.1.0",  # v2024_01_01
    "azure-mgmt-web==11.0.1",  # 2025-05-01
)
"""The Azure SDK for Python packages the vendored file was built from (the tool records each wheel's hash)."""

MODULE_PACKAGE = {
    "applicationinsights": "azure-mgmt-applicationinsights",
    "authorization": "azure-mgmt-authorization",
    "keyvault": "azure-mgmt-keyvault",
    "managedidentity": "azure-mgmt-msi",
    "monitor": "azure-mgmt-monitor",
    "network": "azure-mgmt-network",
    "operationalinsights": "azure-mgmt-loganalytics",
    "privatedns": "azure-mgmt-privatedns",
    "resources": "azure-mgmt-resource",
    "storage": "azure-mgmt-storage",
    "web": "azure-mgmt-web",
}
"""Which Azure SDK package holds the REST operations of an azure-native module (same resource provider)."""

_URL_LITERAL = re.compile(r'"(/[^"\s]*\{[^"\s]*)"')
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:-preview)?")


# --- reading an SDK package ---------------------------------------------------------------------------


@dataclass
class SdkSource:
    """One Azure SDK package version: its files, from a wheel or an installed folder."""

    name: str
    version: str
    files: dict[str, str]
    """Path (``azure/mgmt/...``) to text, Python files only."""
    sha256: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name}=={self.version}"


def read_wheel(path: Path) -> SdkSource:
    match = re.match(r"([A-Za-z0-9_]+)-([^-]+)-", path.name)
    if not match:
        raise SystemExit(f"{path}: not a wheel file name")
    files = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("azure/mgmt/") and name.endswith(".py") and "/aio/" not in name:
                files[name] = archive.read(name).decode()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return SdkSource(match.group(1).replace("_", "-"), match.group(2), files, digest)


def read_folder(spec: str) -> SdkSource:
    """``NAME==VERSION=FOLDER``: an installed package in a site-packages folder."""
    requirement, _, folder = spec.partition("=FOLDER=") if "=FOLDER=" in spec else spec.rpartition("=")
    name, _, version = requirement.partition("==")
    package = name.removeprefix("azure-mgmt-")
    root = Path(folder)
    files = {}
    for path in (root / "azure" / "mgmt" / package).rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if "/aio/" not in relative:
            files[relative] = path.read_text()
    if not files:
        raise SystemExit(f"{spec}: no azure/mgmt/{package} under {folder}")
    return SdkSource(name, version, files)


@dataclass
class Field:
    """A model attribute: its wire path (``properties.serverFarmId`` is two segments) and type."""

    attribute: str
    wire: list[str]
    type: str
    """``str``-like leaf, a model class name, ``[T]`` for a list, ``{T}`` for a map."""
    readonly: bool


@dataclass
class ModelClass:
    name: str
    bases: list[str]
    fields: list[Field] = field(default_factory=list)
    subtypes: tuple[str, dict[str, str]] | None = None
    """A polymorphic base's discriminator (SDK attribute) and its value -> subclass name."""


@dataclass
class ApiModule:
    """One api-version folder of an SDK package (or the package root): its models and PUT operations."""

    source: SdkSource
    folder: str
    models: dict[str, ModelClass]
    puts: dict[str, tuple[str, str]]
    """Normalised URL template -> (api-version, body model)."""


def _split_key(key: str) -> list[str]:
    # msrest escapes a dot inside a wire name as "\\."; an unescaped dot is a nesting level (flattening).
    return [part.replace("\\.", ".") for part in re.split(r"(?<!\\)\.", key)]


def _msrest_type(text: str) -> str:
    return text


def _annotation_type(node: ast.expr | None) -> str:
    """A TypeSpec model annotation as the msrest-like type string (``[X]``, ``{X}``, ``X`` or a leaf)."""
    text = ast.unparse(node) if node is not None else ""
    text = text.replace('"', "").replace("'", "")
    for prefix in ("Optional[", "Union["):
        while text.startswith(prefix) and text.endswith("]"):
            inner = text[len(prefix) : -1]
            if prefix == "Union[":
                parts = [p.strip() for p in inner.split(",")]
                models = [p for p in parts if p.startswith("_models.")]
                inner = models[0] if len(models) == 1 and "[" not in inner else inner
            text = inner
    match = re.fullmatch(r"(?:list|List)\[(.+)\]", text)
    if match:
        return f"[{_annotation_type(ast.parse(match.group(1), mode='eval').body)}]"
    match = re.fullmatch(r"(?:dict|Dict)\[str, (.+)\]", text)
    if match:
        return f"{{{_annotation_type(ast.parse(match.group(1), mode='eval').body)}}}"
    match = re.fullmatch(r"_models\.(\w+)", text)
    return match.group(1) if match else "leaf"


def _parse_models(text: str) -> dict[str, ModelClass]:
    classes: dict[str, ModelClass] = {}
    for node in ast.parse(text).body:
        if not isinstance(node, ast.ClassDef):
            continue
        model = ModelClass(node.name, [ast.unparse(b) for b in node.bases])
        attribute_map: dict[str, Any] | None = None
        validation: dict[str, Any] = {}
        for item in node.body:
            if (
                isinstance(item, ast.Assign)
                and len(item.targets) == 1
                and isinstance(item.targets[0], ast.Name)
            ):
                target = item.targets[0].id
                if target == "_attribute_map":
                    attribute_map = ast.literal_eval(item.value)
                elif target == "_validation":
                    validation = ast.literal_eval(item.value)
                elif target == "_subtype_map":
                    ((attribute, mapping),) = ast.literal_eval(item.value).items()
                    model.subtypes = (attribute, mapping)
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                call = item.value
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                    continue
                if call.func.id not in ("rest_field", "rest_discriminator"):
                    continue
                keywords = {k.arg: k.value for k in call.keywords}
                wire = keywords.get("name")
                wire_name = ast.literal_eval(wire) if wire is not None else item.target.id
                visibility = keywords.get("visibility")
                modes = ast.literal_eval(visibility) if visibility is not None else ["create"]
                readonly = not ({"create", "update"} & set(modes))
                kind = _annotation_type(item.annotation)
                model.fields.append(Field(item.target.id, [wire_name], kind, readonly))
        if attribute_map is not None:
            for attribute, spec in attribute_map.items():
                readonly = bool(validation.get(attribute, {}).get("readonly"))
                model.fields.append(Field(attribute, _split_key(spec["key"]), spec["type"], readonly))
            model.bases = []  # an msrest class repeats every inherited entry in its own map
        classes[node.name] = model
    return classes


def _normalise_url(url: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", url).lower()


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            yield node


def _parse_puts(text: str) -> dict[str, tuple[str, str]]:
    """Per normalised URL template of a PUT request builder: its api-version and the body model."""
    tree = ast.parse(text)
    lines = text.splitlines()
    builders: dict[str, tuple[str, str]] = {}
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or not function.name.startswith("build_"):
            continue
        source = "\n".join(lines[function.lineno - 1 : function.end_lineno])
        if 'method="PUT"' not in source:
            continue
        urls = [
            n.value
            for n in ast.walk(function)
            if isinstance(n, ast.Constant)
            and isinstance(n.value, str)
            and n.value.startswith("/")
            and "{" in n.value
        ]
        dates = _DATE.findall(source)
        if urls and dates:
            builders[function.name] = (urls[0], dates[0])
    puts: dict[str, tuple[str, str]] = {}
    for function in _functions(tree):
        called = {
            n.func.id
            for n in ast.walk(function)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in builders
        }
        if not called:
            continue
        models = []
        for argument in [*function.args.args, *function.args.kwonlyargs]:
            if argument.annotation is not None:
                models += re.findall(r"_models\.(\w+)", ast.unparse(argument.annotation))
        if not models:
            continue
        for builder in called:
            url, version = builders[builder]
            puts.setdefault(_normalise_url(url), (version, models[0]))
    return puts


def api_modules(source: SdkSource, urls: set[str]) -> list[ApiModule]:
    """Each folder of the package that has ``models`` and an ``operations`` file with one of ``urls``.

    Only files whose text has one of the normalised URLs are parsed (the multi-api packages are large).
    """
    folders: dict[str, dict[str, list[str]]] = {}
    for path in source.files:
        parts = path.split("/")
        for index, part in enumerate(parts):
            if part in ("models", "operations") and index + 1 < len(parts):
                folders.setdefault("/".join(parts[:index]), {}).setdefault(part, []).append(path)
                break
    modules = []
    for folder, kinds in sorted(folders.items()):
        if "models" not in kinds or "operations" not in kinds:
            continue
        puts: dict[str, tuple[str, str]] = {}
        for path in sorted(kinds["operations"]):
            text = source.files[path]
            if {_normalise_url(u) for u in _URL_LITERAL.findall(text)} & urls:
                puts.update(_parse_puts(text))
        if not set(puts) & urls:
            continue
        models: dict[str, ModelClass] = {}
        for path in sorted(kinds["models"]):
            if re.search(r"/_models(_py3)?\.py$", path):
                models.update(_parse_models(source.files[path]))
        modules.append(ApiModule(source, folder, models, puts))
    return modules


# --- the azure-native side ------------------------------------------------------------------------------


@dataclass
class Input:
    name: str
    refs: list[str]
    """Nested ``*Args`` class names (several for a union)."""
    container: str | None
    """``list`` or ``map`` when the input holds several values."""


def _args_inputs(args_class: type) -> list[Input]:
    inputs = []
    for attribute in vars(args_class).values():
        getter = getattr(attribute, "fget", None)
        name = getattr(getter, "_pulumi_name", None)
        if not name or getter is None:
            continue
        text = str(getter.__annotations__.get("return", ""))
        refs = list(dict.fromkeys(re.findall(r"ForwardRef\('(\w+Args)'\)", text)))
        container = (
            "list"
            if text.startswith("typing.Union[typing.Sequence[")
            else "map"
            if text.startswith("typing.Union[typing.Mapping[")
            else None
        )
        inputs.append(Input(name, refs, container))
    return sorted(inputs, key=lambda i: i.name)


def _resource_args(token: str) -> type:
    _, module, name = token.split(":")
    sdk = importlib.import_module(f"pulumi_azure_native.{module}")
    # The SDK names a resource's args ...InitArgs when a nested type already has the Args name
    # (monitor's ActionGroupArgs is an alert rule's reference to an action group).
    return getattr(sdk, f"{name}InitArgs", None) or getattr(sdk, f"{name}Args")


def _nested_args(module: str, name: str) -> type:
    return getattr(importlib.import_module(f"pulumi_azure_native.{module}._inputs"), name)


# --- the join -------------------------------------------------------------------------------------------


@dataclass
class Builder:
    """Collects the shapes of one run."""

    shapes: dict[str, dict[str, Any]] = field(default_factory=dict)
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    renamed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    """Inputs that are both a top-level field and a flattened one (printed for review)."""
    """Inputs found by the SDK's attribute name whose wire name differs (printed for review)."""

    def shape(self, module: str, args: list[str], api: ApiModule, model: str) -> str:
        key = f"{module}.{'|'.join(args)}@{api.source.label}:{api.folder}:{model}"
        if key in self.shapes:
            return key
        self.shapes[key] = {}
        entries: dict[str, Any] = {}
        unmatched: set[str] = set()
        for args_name in args:
            inputs = _args_inputs(_nested_args(module, args_name))
            # A union member maps to the SDK's model of the same name when it has one (a subtype).
            member_model = args_name.removesuffix("Args")
            own = member_model if len(args) > 1 and member_model in api.models else model
            found, missing = self._join(module, inputs, api, own)
            for name, entry in found.items():
                if name in entries and entries[name] != entry:
                    unmatched.add(name)  # the members disagree: the exporter must not guess
                else:
                    entries[name] = entry
            unmatched |= set(missing)
        for name in unmatched:
            entries.pop(name, None)
        self.shapes[key] = dict(sorted(entries.items()))
        if unmatched:
            self.unmatched[key] = sorted(unmatched)
        return key

    def _join(
        self, module: str, inputs: list[Input], api: ApiModule, model: str
    ) -> tuple[dict[str, Any], list[str]]:
        fields = _body_fields(api, model)
        found: dict[str, Any] = {}
        missing: list[str] = []
        for item in inputs:
            match = _find(fields, item.name)
            if match is None:
                missing.append(item.name)
                continue
            sdk_field, how = match
            path = ".".join(sdk_field.wire)
            if how == "wire" and any(len(f.wire) > 1 and f.wire[-1] == item.name for f in fields):
                # azure-native records such a name in reports/flattenedPropertyConflicts.json: review it.
                self.conflicts.append(f"{module}.{model}: {item.name}")
            # A wire name with a dot in it ("odata.type") keeps its segments as a list.
            entry: dict[str, Any] = {
                "path": sdk_field.wire if any("." in w for w in sdk_field.wire) else path
            }
            if sdk_field.readonly:
                entry["readOnly"] = True
            if how == "clientName" and sdk_field.wire[-1] != item.name:
                self.renamed.append(f"{module}.{model}: {item.name} -> {path}")
            element = sdk_field.type
            sdk_container = None
            if element.startswith("[") and element.endswith("]"):
                element, sdk_container = element[1:-1], "list"
            elif element.startswith("{") and element.endswith("}"):
                element, sdk_container = element[1:-1], "map"
            subtypes = api.models[element].subtypes if element in api.models else None
            if len(item.refs) > 1 and subtypes:
                # A union of *Args: the discriminator's value picks the member (the SDK's _subtype_map).
                discriminator, mapping = subtypes
                by_class = {cls: value for value, cls in mapping.items()}
                one_of = {}
                for ref in item.refs:
                    member = ref.removesuffix("Args")
                    if member not in by_class:
                        break
                    one_of[by_class[member]] = self.shape(module, [ref], api, member)
                else:
                    names = {i.name for ref in item.refs for i in _args_inputs(_nested_args(module, ref))}
                    (entry["discriminator"],) = [n for n in names if _plain(n) == _plain(discriminator)]
                    entry["oneOf"] = dict(sorted(one_of.items()))
                    found[item.name] = entry
                    continue
            if item.refs and element in api.models:
                entry["shape"] = self.shape(module, item.refs, api, element)
                if sdk_container == "map":
                    entry["map"] = True  # a map of objects: its keys are data, its values have the shape
            elif item.refs:
                missing.append(item.name)  # an object input the SDK types as a leaf: not a known shape
                continue
            if sdk_container == "map" and item.container == "list":
                # azure-native takes user-assigned identities as a list of ids and sends ARM's map of
                # id -> {}: properties.go genProperty models an object without value type ("just a set of
                # strings") as a string array and converts it back (pulumi/pulumi-azure-native#812).
                entry["listAsMap"] = True
            found[item.name] = entry if len(entry) > 1 else entry["path"]
        return found, missing


def _all_fields(api: ApiModule, model: str) -> list[Field]:
    cls = api.models.get(model)
    if cls is None:
        return []
    inherited: list[Field] = []
    for base in cls.bases:
        inherited += _all_fields(api, base)
    own = {f.attribute for f in cls.fields}
    return [f for f in inherited if f.attribute not in own] + cls.fields


def _body_fields(api: ApiModule, model: str) -> list[Field]:
    """Every field of a body model, the fields of a model-typed ``properties`` opened one level."""
    result: list[Field] = []
    for item in _all_fields(api, model):
        if item.wire == ["properties"] and item.type in api.models:
            for inner in _all_fields(api, item.type):
                readonly = inner.readonly or item.readonly
                result.append(Field(inner.attribute, ["properties", *inner.wire], inner.type, readonly))
        result.append(item)
    return result


def _plain(text: str) -> str:
    return text.replace("_", "").lower()


def _find(fields: list[Field], name: str) -> tuple[Field, str] | None:
    """Where input ``name`` sits, and how it was found.

    By wire name at the top level, then inside ``properties`` (flattened), then by the SDK attribute name
    (the spec's ``x-ms-client-name``, which azure-native uses too); writable fields first. A read-only
    field still says where ARM keeps the value (azure-native takes a few, e.g. ``etag``; ARM ignores them).
    """
    for readonly in (False, True):
        for how, test in (
            ("wire", lambda f: len(f.wire) == 1 and f.wire[0] == name),
            # msrest keys carry every flattening level the SDK applied ("properties.a.b").
            ("flattened", lambda f: len(f.wire) > 1 and f.wire[-1] == name),
            ("clientName", lambda f: _plain(f.attribute) == _plain(name)),
        ):
            hits = [f for f in fields if f.readonly == readonly and test(f)]
            if hits:
                return hits[0], how
    return None


def _distance(a: str, b: str) -> tuple[int, int]:
    def days(version: str) -> int:
        year, month, day = (int(x) for x in version[:10].split("-"))
        return year * 372 + month * 31 + day

    return (0 if a == b else 1, abs(days(a) - days(b)))


def extract(
    sources: list[SdkSource], token_paths: dict[str, str], renamed: list[str] | None = None
) -> dict[str, Any]:
    """The vendored document for every token of ``token_paths`` (see the module docstring).

    ``renamed`` receives each input found by the SDK's attribute name whose wire name differs.
    """
    from platform_infra.cli.azure_types import api_version

    urls = {_normalise_url(p) for p in token_paths.values()}
    modules: dict[str, list[ApiModule]] = {}
    for source in sources:
        modules.setdefault(source.name, []).extend(api_modules(source, urls))
    builder = Builder()
    resources: dict[str, Any] = {}
    for token, path in sorted(token_paths.items()):
        module = token.split(":")[1]
        wanted = api_version(token) or ""
        candidates = [
            (api, *api.puts[_normalise_url(path)])
            for api in modules.get(MODULE_PACKAGE[module], [])
            if _normalise_url(path) in api.puts
        ]
        if not candidates:
            raise SystemExit(f"{token}: no PUT {path} in the given {MODULE_PACKAGE[module]} packages")
        # Nearest api-version; on a tie the newer package (sources are given oldest first per name).
        api, version, model = min(
            candidates, key=lambda c: (*_distance(c[1], wanted), -sources.index(c[0].source))
        )
        args_class = _resource_args(token)
        inputs = _args_inputs(args_class)
        found, missing = builder._join(module, inputs, api, model)
        parameters = {p.lower() for p in re.findall(r"\{([^}]+)\}", path)}
        resources[token] = {
            "azureNativeApiVersion": wanted,
            "sdk": api.source.label,
            "sdkFolder": api.folder,
            "sdkApiVersion": version,
            "model": model,
            "body": dict(sorted(found.items())),
        }
        unmatched = sorted(m for m in missing if m.lower() not in parameters)
        if unmatched:
            resources[token]["unmatched"] = unmatched
    if renamed is not None:
        renamed.extend(sorted(set(builder.renamed)))
        renamed.extend(f"CONFLICT {c}" for c in sorted(set(builder.conflicts)))
    used = {s.label: s for s in sources}
    return {
        "source": {
            "what": (
                "Where each azure-native input sits in the ARM request body, joined by "
                "tools/extract_arm_body_shapes.py from the installed azure-native SDK's *Args classes "
                "and the Azure SDK for Python models of the same REST operation (see its docstring)."
            ),
            "azureNative": f"pulumi-azure-native=={importlib.metadata.version('pulumi-azure-native')}",
            "azureSdk": {
                label: {"sha256": source.sha256} if source.sha256 else {}
                for label, source in sorted(used.items())
            },
        },
        "resources": resources,
        "shapes": dict(sorted(builder.shapes.items())),
        "unmatched": dict(sorted(builder.unmatched.items())),
    }


def _sort_sources(sources: list[SdkSource]) -> list[SdkSource]:
    def version_key(source: SdkSource) -> tuple[str, tuple[int, ...]]:
        return source.name, tuple(int(x) for x in re.findall(r"\d+", source.version))

    return sorted(sources, key=version_key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sdk", nargs="*", default=[], help="wheels, or NAME==VERSION=SITE_PACKAGES")
    parser.add_argument("--output", type=Path, default=VENDORED)
    parser.add_argument("--print-requirements", action="store_true", help="print the pinned SDK packages")
    args = parser.parse_args(argv)
    if args.print_requirements:
        print(" ".join(SDK_REQUIREMENTS))
        return 0
    sources = _sort_sources([read_wheel(Path(s)) if s.endswith(".whl") else read_folder(s) for s in args.sdk])
    token_paths = json.loads(TOKEN_PATHS.read_text())["tokenPaths"]
    renamed: list[str] = []
    document = extract(sources, token_paths, renamed)
    args.output.write_text(json.dumps(document, indent=1) + "\n")
    for line in renamed:
        print(f"renamed on the wire: {line}", file=sys.stderr)
    print(
        f"wrote {len(document['resources'])} resources, {len(document['shapes'])} shapes to {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
