"""Pulumi's mock runtime, extended to record everything a program registers.

Used by the offline plan (``infra plan``) and by the test suite's shared fixture, so that both see exactly
the same thing. :class:`RecordingMonitor` captures what the stock mock monitor drops: each resource's
parent, resource options (protect, retainOnDelete, ignoreChanges, dependsOn) and the outputs components and
the stack register. :class:`PlatformMocks` answers with plausible provider-computed outputs (ids, names,
principal ids, generated passwords as secrets) so that programs that depend on them run to completion.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.stack import Stack

from platform_infra.cli import offline
from platform_infra.cli.azure_types import AZURE_TYPES

SECRET_SIG = rpc._special_secret_sig
SIG_KEY = rpc._special_sig_key
STACK_TYPE = "pulumi:pulumi:Stack"

#: Fake ids the mocks hand out: recognisably fake, deterministic, and valid as ARM/ARN strings.
FAKE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
#: Account and region of AWS resources whose provider names neither (a default provider, say).
FAKE_ACCOUNT = "000000000000"
FAKE_REGION = "eu-west-1"


def _aws_region_and_account(provider: Mapping[str, Any]) -> tuple[str, str]:
    """The region and account an AWS provider targets (its ``region`` and first ``allowedAccountIds``).

    The SDK hands a provider's list-valued config to the engine JSON-encoded, so it may arrive as a string.
    """
    region = provider.get("region") or FAKE_REGION
    accounts = provider.get("allowedAccountIds") or []
    if isinstance(accounts, str):
        try:
            accounts = json.loads(accounts)
        except ValueError:
            accounts = []
    account = accounts[0] if isinstance(accounts, list) and accounts else FAKE_ACCOUNT
    return str(region), str(account)


def is_secret_value(value: Any) -> bool:
    """True for a value the mock runtime delivered wrapped as a Pulumi secret."""
    return isinstance(value, Mapping) and value.get(SIG_KEY) == SECRET_SIG


def unwrap_secrets(value: Any) -> Any:
    """The value with every secret wrapper removed (for assertions on what a secret contains)."""
    if is_secret_value(value):
        return unwrap_secrets(value["value"])
    if isinstance(value, Mapping):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def redact_secrets(value: Any, placeholder: str = "[secret]", known: Collection[str] = ()) -> Any:
    """The value with every secret replaced by ``placeholder`` (what may be printed or written).

    Pulumi marks a whole input property secret when any output inside it is secret (the SDK serialises a
    property as one value, so the engine sees one secret: a trust policy with one secret external id, a Key
    Vault secret's ``properties`` with one secret ``value``). With ``known`` (the secret values this run
    knows: encrypted config, secret outputs the mocks produced), only the leaves that hold one of them are
    masked and the rest of the structure stays readable; a secret that holds none of them (a literal wrapped
    in ``Output.secret``, say) is masked as a whole, because its secret part cannot be told apart.
    """
    if is_secret_value(value):
        masked, found = _mask_known_leaves(unwrap_secrets(value), placeholder, _usable(known))
        return masked if found else placeholder
    if isinstance(value, Mapping):
        return {k: redact_secrets(v, placeholder, known) for k, v in value.items() if k != SIG_KEY}
    if isinstance(value, list):
        return [redact_secrets(v, placeholder, known) for v in value]
    return value


def _usable(known: Collection[str]) -> list[str]:
    # An empty secret would match every string; masking everything is safe, but says nothing.
    return [k for k in known if k]


def _mask_known_leaves(value: Any, placeholder: str, known: list[str]) -> tuple[Any, bool]:
    """``value`` with every leaf that contains a known secret replaced; whether any was."""
    if not known:
        return value, False
    if isinstance(value, str):
        if any(secret in value for secret in known):
            document = _json_document(value)
            if document is not None:  # a policy document: mask inside it, keep it a JSON string
                masked, found = _mask_known_leaves(document, placeholder, known)
                if found:
                    return json.dumps(masked, indent=2 if "\n" in value else None), True
            return placeholder, True
        return value, False
    if isinstance(value, Mapping):
        items = {k: _mask_known_leaves(v, placeholder, known) for k, v in value.items() if k != SIG_KEY}
        return {k: v for k, (v, _) in items.items()}, any(found for _, found in items.values())
    if isinstance(value, list):
        entries = [_mask_known_leaves(v, placeholder, known) for v in value]
        return [v for v, _ in entries], any(found for _, found in entries)
    if isinstance(value, int | float) and not isinstance(value, bool) and str(value) in known:
        return placeholder, True
    return value, False


def _json_document(text: str) -> Any:
    if text[:1] not in "[{":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def secret_leaves(value: Any) -> set[str]:
    """The strings that are secret on their own somewhere in ``value`` (a password, an external id).

    A secret aggregate (a whole document marked secret) contributes only the secret strings nested in it:
    its other leaves may well be public, and taking them as secrets would mask them everywhere.
    """
    if is_secret_value(value):
        inner = value["value"]
        return {inner} if isinstance(inner, str) else secret_leaves(inner)
    if isinstance(value, Mapping):
        return set().union(*(secret_leaves(v) for k, v in value.items() if k != SIG_KEY))
    if isinstance(value, list):
        return set().union(*(secret_leaves(v) for v in value))
    return set()


@dataclass
class RegisteredResource:
    """One resource (custom, component, provider or the stack) as the program registered it."""

    urn: str
    type: str
    name: str
    parent: str
    provider: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Per input, the URNs of the resources its value came from (what the engine hands a stack policy)."""
    additional_secret_outputs: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    replace_on_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    """The aliases sent with the registration (a URN, or the alias spec's type/name); not in the plan."""

    @property
    def provider_urn(self) -> str:
        """URN of the provider this resource uses ('' for a default provider)."""
        # A provider reference is "<provider URN>::<provider id>", and URNs contain "::" themselves.
        return self.provider.rsplit("::", 1)[0] if self.provider else ""

    @property
    def is_provider(self) -> bool:
        """True for a provider resource (``pulumi:providers:<pkg>``)."""
        return self.type.startswith("pulumi:providers:")

    @property
    def plain_inputs(self) -> dict[str, Any]:
        """Inputs with secret wrappers removed."""
        return unwrap_secrets(self.inputs)


ComputedOutputs = Callable[..., dict[str, Any]]
"""``(args)`` for most packages; ``(args, region, account)`` for AWS, whose ARNs need the provider's."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _guid(*parts: str) -> str:
    d = _digest(*parts)
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def _random_password(args: MockResourceArgs) -> dict[str, Any]:
    length = int(args.inputs.get("length", 32))
    # Deterministic per logical name and keepers, so tests can see whether a rotation would change it.
    keepers = repr(sorted((args.inputs.get("keepers") or {}).items()))
    fake = _digest("password", args.name, keepers)
    value = (fake * (length // len(fake) + 1))[:length]
    return {"result": pulumi.Output.secret(value), "bcryptHash": pulumi.Output.secret("$2a$10$" + fake[:53])}


def azure_name(args: MockResourceArgs) -> str:
    """The resource's own name as Azure will know it: the name input, or what autonaming would make."""
    kind = AZURE_TYPES.get(args.typ)
    if kind is None:
        return args.inputs.get("name") or args.name
    if kind.fixed_name is not None:
        return kind.fixed_name
    given = args.inputs.get(kind.name_key or "")
    if isinstance(given, str) and given:
        return given
    if kind.autoname == "uuid":
        return _guid("autoname", args.typ, args.name)
    # azure-native: logical name + 8 random hex characters (resource.NewUniqueName(seed, name, 8, 0)).
    return args.name + _digest("autoname", args.typ, args.name)[:8]


def azure_id(args: MockResourceArgs, name: str, subscription: str = FAKE_SUBSCRIPTION) -> str:
    """The ARM resource id, built from the type's id path and the resource's inputs."""
    kind = AZURE_TYPES.get(args.typ)
    if kind is None:
        module = args.typ.split(":")[1]
        return f"/subscriptions/{subscription}/resourceGroups/unknown/providers/{module}/{name}"
    values = {k: str(v) for k, v in args.inputs.items() if isinstance(v, str | int | float)}
    values.update({"subscriptionId": subscription, "@": name})
    path = re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), f"unknown-{m.group(1)}"), kind.path)
    return path


def _azure_native(args: MockResourceArgs) -> dict[str, Any]:
    """Every azure-native resource gets its name (given or autonamed), and identities get principal ids."""
    inputs = args.inputs
    outputs: dict[str, Any] = {"name": azure_name(args)}
    kind = AZURE_TYPES.get(args.typ)
    if kind is not None and kind.name_key and not inputs.get(kind.name_key):
        outputs[kind.name_key] = outputs["name"]
    identity = inputs.get("identity")
    if isinstance(identity, Mapping) and "SystemAssigned" in str(identity.get("type", "")):
        outputs["identity"] = {
            **identity,
            "principalId": _guid("principal", args.typ, args.name),
            "tenantId": FAKE_SUBSCRIPTION,
        }
    return outputs


def _web_app(args: MockResourceArgs) -> dict[str, Any]:
    """A web app's or slot's public host name (slots are ``<app>-<slot>.azurewebsites.net``)."""
    outputs = _azure_native(args)
    slot = args.inputs.get("slot")
    site = args.inputs.get("name") if slot else outputs["name"]
    outputs["defaultHostName"] = f"{site}-{slot}.azurewebsites.net" if slot else f"{site}.azurewebsites.net"
    return outputs


def _app_insights(args: MockResourceArgs) -> dict[str, Any]:
    """An Application Insights component's instrumentation key and connection string."""
    outputs = _azure_native(args)
    key = _guid("instrumentation-key", args.name)
    outputs["instrumentationKey"] = key
    outputs["connectionString"] = (
        f"InstrumentationKey={key};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
    )
    return outputs


def _aws(args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT) -> dict[str, Any]:
    """A generic AWS resource: its name (given or autonamed) and an ARN in the regional format."""
    service, kind = _aws_service_and_kind(args.typ)
    name = aws_name(args)
    return {"arn": f"arn:aws:{service}:{region}:{account}:{kind}/{name}", "name": name}


def _aws_service_and_kind(type_token: str) -> tuple[str, str]:
    module, resource = type_token.split(":")[1].split("/")
    return module, re.sub(r"(?<!^)(?=[A-Z])", "-", resource).lower()


def aws_name(args: MockResourceArgs, key: str = "name") -> str:
    """The physical name: the name input, or the bridge's autoname (logical name, '-', 7 random hex)."""
    given = args.inputs.get(key)
    if isinstance(given, str) and given:
        return given
    prefix = args.inputs.get(f"{key}Prefix")
    if isinstance(prefix, str) and prefix:
        return prefix + _digest("autoname", args.typ, args.name)[:26]
    return f"{args.name}-{_digest('autoname', args.typ, args.name)[:7]}"


def _iam(kind: str) -> Callable[..., dict[str, Any]]:
    """IAM is global: its ARNs have no region (``arn:aws:iam::<account>:role/<path><name>``)."""

    def outputs(
        args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT
    ) -> dict[str, Any]:
        name = aws_name(args)
        path = args.inputs.get("path") or "/"
        return {
            "name": name,
            "arn": f"arn:aws:iam::{account}:{kind}{path}{name}",
            "uniqueId": f"AROA{_digest(name)[:17].upper()}",
        }

    return outputs


def _oidc_provider(
    args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT
) -> dict[str, Any]:
    """``arn:aws:iam::<account>:oidc-provider/<host and path of the issuer URL>`` (IAM is global)."""
    url = str(args.inputs.get("url") or args.name).removeprefix("https://")
    arn = f"arn:aws:iam::{account}:oidc-provider/{url}"
    return {"arn": arn, "_id": arn}


def _iam_role_policy(
    args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT
) -> dict[str, Any]:
    """An inline policy has no ARN; its id is ``<role>:<policy name>``."""
    name = aws_name(args)
    return {"name": name, "_id": f"{args.inputs.get('role')}:{name}"}


def _sns_topic(
    args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT
) -> dict[str, Any]:
    """A topic's id is its ARN, ``arn:aws:sns:<region>:<account>:<name>``."""
    name = aws_name(args)
    arn = f"arn:aws:sns:{region}:{account}:{name}"
    return {"name": name, "arn": arn, "_id": arn}


def _sns_subscription(
    args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT
) -> dict[str, Any]:
    """A subscription's ARN is the topic's ARN plus a UUID."""
    arn = f"{args.inputs.get('topic')}:{_guid('subscription', args.name)}"
    return {"arn": arn, "_id": arn}


def _named(service: str, separator: str) -> Callable[..., dict[str, Any]]:
    """ARNs of the form ``arn:aws:<service>:<region>:<account>:<kind><separator><name>``, id = name."""

    def outputs(
        args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT
    ) -> dict[str, Any]:
        name = aws_name(args)
        kind = {"logs": "log-group", "cloudwatch": "alarm", "events": "rule", "lambda": "function"}[service]
        arn = f"arn:aws:{service}:{region}:{account}:{kind}{separator}{name}"
        extra: dict[str, Any] = {}
        if service == "lambda":
            extra = {
                "qualifiedArn": f"{arn}:$LATEST",
                "invokeArn": (
                    f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
                ),
            }
        return {"name": name, "arn": arn, "_id": name, **extra}

    return outputs


def _kms_alias(
    args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT
) -> dict[str, Any]:
    """An alias's name includes ``alias/``; its ARN is ``arn:aws:kms:<region>:<account>:alias/<name>``."""
    name = aws_name(args)
    return {"name": name, "arn": f"arn:aws:kms:{region}:{account}:{name}", "_id": name}


def _key_vault(args: MockResourceArgs) -> dict[str, Any]:
    """A Key Vault's data-plane URI, as Azure computes it from the vault name."""
    outputs = _azure_native(args)
    name = args.inputs.get("vaultName") or args.name
    outputs["properties"] = {
        **(args.inputs.get("properties") or {}),
        "vaultUri": f"https://{name}.vault.azure.net/",
    }
    return outputs


def _key_vault_secret(args: MockResourceArgs) -> dict[str, Any]:
    """A Key Vault secret's versionless and versioned URIs (the version changes with the value)."""
    outputs = _azure_native(args)
    vault = args.inputs.get("vaultName") or "vault"
    name = args.inputs.get("secretName") or args.name
    raw = args.inputs.get("properties") or {}
    properties = dict(unwrap_secrets(raw))
    uri = f"https://{vault}.vault.azure.net/secrets/{name}"
    version = _digest("secret-version", vault, name, repr(properties.get("value")))[:32]
    # Azure never returns a secret's value from the management plane.
    properties.pop("value", None)
    properties.update(secretUri=uri, secretUriWithVersion=f"{uri}/{version}")
    # As under the engine: an output whose input was secret comes back secret.
    outputs["properties"] = pulumi.Output.secret(properties) if is_secret_value(raw) else properties
    return outputs


def _user_assigned_identity(args: MockResourceArgs) -> dict[str, Any]:
    """A user-assigned identity's service principal (object) id, client id and tenant."""
    return {
        **_azure_native(args),
        "name": args.inputs.get("resourceName") or args.name,
        "principalId": _guid("principal", args.typ, args.name),
        "clientId": _guid("client", args.typ, args.name),
        "tenantId": FAKE_SUBSCRIPTION,
    }


def _kms_key(
    args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT
) -> dict[str, Any]:
    """A KMS key's generated key id and the ARN built from it."""
    key_id = _guid("kms-key", args.name)
    return {"keyId": key_id, "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}", "_id": key_id}


def _s3_bucket(
    args: MockResourceArgs, region: str = FAKE_REGION, account: str = FAKE_ACCOUNT
) -> dict[str, Any]:
    """A bucket's name (given or autonamed) and its ARN, which has neither region nor account."""
    bucket = aws_name(args, "bucket")
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "_id": bucket, "region": region}


def _log_analytics_workspace(args: MockResourceArgs) -> dict[str, Any]:
    """A Log Analytics workspace's customer id (the GUID queries and agents use)."""
    return {**_azure_native(args), "customerId": _guid("workspace", args.name)}


COMPUTED_OUTPUTS: dict[str, ComputedOutputs] = {
    "random:index/randomPassword:RandomPassword": _random_password,
    "azure-native:web:WebApp": _web_app,
    "azure-native:web:WebAppSlot": _web_app,
    "azure-native:applicationinsights:Component": _app_insights,
    "azure-native:keyvault:Vault": _key_vault,
    "azure-native:keyvault:Secret": _key_vault_secret,
    "azure-native:managedidentity:UserAssignedIdentity": _user_assigned_identity,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:iam/user:User": _iam("user"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:iam/rolePolicy:RolePolicy": _iam_role_policy,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:sns/topicSubscription:TopicSubscription": _sns_subscription,
    "aws:cloudwatch/logGroup:LogGroup": _named("logs", ":"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _named("cloudwatch", ":"),
    "aws:cloudwatch/eventRule:EventRule": _named("events", "/"),
    "aws:lambda/function:Function": _named("lambda", ":"),
    "azure-native:operationalinsights:Workspace": _log_analytics_workspace,
}
"""Provider-computed outputs by exact type token; checked before the per-package defaults below."""

PACKAGE_OUTPUTS: dict[str, ComputedOutputs] = {
    "azure-native": _azure_native,
    "aws": _aws,
}
"""Provider-computed outputs by package (the first part of the type token)."""


class PlatformMocks(pulumi.runtime.Mocks):
    """Mocks that echo inputs back as outputs and add provider-computed outputs (see COMPUTED_OUTPUTS).

    Invokes are answered from :attr:`call_results` by token; an unknown invoke raises, because a stack that
    needs a live cloud lookup cannot be planned offline.
    """

    def __init__(self, call_results: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.call_results = dict(call_results or {})
        self.calls: list[MockCallArgs] = []
        self._lock = threading.Lock()
        self._providers: dict[str, dict[str, Any]] = {}

    def _provider_config(self, reference: str) -> dict[str, Any]:
        """The inputs of the provider a resource names (``<urn>::<id>``); {} for a default provider."""
        provider_id = reference.rsplit("::", 1)[-1] if reference else ""
        with self._lock:
            return self._providers.get(provider_id, {})

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        package = args.typ.split(":")[0]
        resource_id = f"{args.name}-id"
        if args.typ.startswith("pulumi:providers:"):
            with self._lock:
                self._providers[resource_id] = dict(args.inputs)
            return resource_id, dict(args.inputs)
        computed = COMPUTED_OUTPUTS.get(args.typ) or PACKAGE_OUTPUTS.get(package)
        provider = self._provider_config(args.provider or "")
        extra: dict[str, Any] = {}
        if package == "aws" and computed is not None:
            region, account = _aws_region_and_account(provider)
            extra = computed(args, region, account)
        elif computed is not None:
            extra = computed(args)
        outputs = {**args.inputs, **{k: v for k, v in extra.items() if k != "_id"}}
        if package == "azure-native" and args.custom:
            subscription = str(provider.get("subscriptionId") or FAKE_SUBSCRIPTION)
            resource_id = azure_id(args, str(outputs.get("name", args.name)), subscription)
        elif "_id" in extra:
            resource_id = extra["_id"]
        return resource_id, outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append(args)
        if args.token in self.call_results:
            return self.call_results[args.token], None
        raise NotImplementedError(f"invoke {args.token} has no offline answer; read the value from config")


def _alias_text(alias: Any) -> str:
    """An ``alias_pb2.Alias`` as text: its URN, or ``type=...``/``name=...`` of its spec."""
    if alias.urn:
        return alias.urn
    spec = alias.spec
    return ",".join(f"{key}={value}" for key, value in (("type", spec.type), ("name", spec.name)) if value)


class RecordingMonitor(MockMonitor):
    """A MockMonitor that keeps a :class:`RegisteredResource` for every registration, in order."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self._lock = threading.Lock()
        self.registered: dict[str, RegisteredResource] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        record = RegisteredResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            provider=request.provider,
            custom=bool(request.custom),
            inputs=rpc.deserialize_properties(request.object) if request.type != STACK_TYPE else {},
            outputs=rpc.deserialize_properties(response.object) if request.custom else {},
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            ignore_changes=list(request.ignoreChanges),
            # The SDK collects dependencies in a set (pulumi/runtime/resource.py, ``dependencies: set[str]``),
            # so their order is hash order and differs between processes: sorted, a plan is reproducible.
            depends_on=sorted(request.dependencies),
            property_dependencies={
                key: sorted(value.urns) for key, value in request.propertyDependencies.items()
            },
            additional_secret_outputs=list(request.additionalSecretOutputs),
            delete_before_replace=bool(request.deleteBeforeReplace),
            replace_on_changes=list(request.replaceOnChanges),
            aliases=[_alias_text(alias) for alias in request.aliases],
        )
        with self._lock:
            self.registered[record.urn] = record
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = rpc.deserialize_properties(request.outputs)
        with self._lock:
            if request.urn in self.registered:
                self.registered[request.urn].outputs = outputs
        return super().RegisterResourceOutputs(request)

    def __iter__(self) -> Iterator[RegisteredResource]:
        return iter(list(self.registered.values()))


@dataclass
class MockRun:
    """What one run of a program under mocks registered."""

    stack: str
    project: str
    resources: list[RegisteredResource]

    def of_type(self, type_token: str) -> list[RegisteredResource]:
        """Every resource of one type token."""
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> RegisteredResource:
        """The single resource of a type (and logical name); fails loudly when there are none or several."""
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise LookupError(f"expected one {type_token} named {name!r}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> RegisteredResource:
        """The resource with this URN."""
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(urn)

    @property
    def stack_outputs(self) -> dict[str, Any]:
        """What the program exported."""
        for resource in self.resources:
            if resource.type == STACK_TYPE:
                return resource.outputs
        return {}

    def children_of(self, parent_urn: str) -> list[RegisteredResource]:
        """Direct children of a resource."""
        return [r for r in self.resources if r.parent == parent_urn]


def run_with_mocks(
    program: Callable[[], Any],
    *,
    stack: str,
    project: str = "platform",
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    mocks: PlatformMocks | None = None,
    preview: bool = False,
    transformations: Sequence[pulumi.ResourceTransformation] = (),
    stack_traces: bool = True,
) -> MockRun:
    """Run ``program`` under the mock runtime with ``config`` and return everything it registered.

    Errors the program raises (a ValidationError for bad config, say) propagate unchanged.

    :param transformations: stack transformations registered on this run's root stack before the program
        runs (the offline runner's :data:`platform_infra.cli.offline.TRANSFORMATIONS`).
    :param stack_traces: whether registrations capture the SDK's stack trace and source position (only a
        real engine uses them). False runs the program under the offline runner's runtime hooks
        (:func:`platform_infra.cli.offline.runtime_hooks`): no stack traces, lean output properties.
    """
    mocks = mocks or PlatformMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_all_config(dict(config or {}), list(secret_keys or []))
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)

    @pulumi.runtime.test
    def _run() -> Any:
        # set_mocks registers a root stack that is already finished, or keeps an earlier run's; a fresh one
        # finished after the program is what carries this run's exports, as under a real `pulumi up`.
        pulumi.runtime.settings.ROOT.set(None)

        # Stack(func) runs the program inside the stack and then registers its outputs: the constructor of
        # every pulumi release this library allows (3.165 has only this form; newer ones keep it as legacy).
        # The root stack exists when func runs, so the transformations go on it before the program starts.
        def program_in_stack() -> Any:
            for transformation in transformations:
                pulumi.runtime.register_stack_transformation(transformation)
            return program()

        Stack(program_in_stack)

    with contextlib.nullcontext() if stack_traces else offline.runtime_hooks():
        _run()
    return MockRun(stack=stack, project=project, resources=list(monitor))
