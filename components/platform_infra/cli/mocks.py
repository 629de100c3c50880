"""Pulumi's mock runtime, extended to record everything a program registers.

Used by the offline plan (``infra plan``) and by the test suite's shared fixture, so that both see exactly
the same thing. :class:`RecordingMonitor` captures what the stock mock monitor drops: each resource's
parent, resource options (protect, retainOnDelete, ignoreChanges, dependsOn) and the outputs components and
the stack register. :class:`PlatformMocks` answers with plausible provider-computed outputs (ids, names,
principal ids, generated passwords as secrets) so that programs that depend on them run to completion.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.stack import Stack

SECRET_SIG = rpc._special_secret_sig
SIG_KEY = rpc._special_sig_key
STACK_TYPE = "pulumi:pulumi:Stack"

#: Fake ids the mocks hand out: recognisably fake, deterministic, and valid as ARM/ARN strings.
FAKE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


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


def redact_secrets(value: Any, placeholder: str = "[secret]") -> Any:
    """The value with every secret replaced by ``placeholder`` (what may be printed or written)."""
    if is_secret_value(value):
        return placeholder
    if isinstance(value, Mapping):
        return {k: redact_secrets(v, placeholder) for k, v in value.items() if k != SIG_KEY}
    if isinstance(value, list):
        return [redact_secrets(v, placeholder) for v in value]
    return value


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


ComputedOutputs = Callable[[MockResourceArgs], dict[str, Any]]


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


def _azure_native(args: MockResourceArgs) -> dict[str, Any]:
    """Every azure-native resource gets an ARM id, a name, and identities get principal ids."""
    inputs = args.inputs
    outputs: dict[str, Any] = {"name": inputs.get("name") or args.name}
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
    site = outputs["name"]
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


def _aws(args: MockResourceArgs) -> dict[str, Any]:
    service = args.typ.split(":")[1].split("/")[0]
    resource_name = args.inputs.get("name") or args.name
    return {"arn": f"arn:aws:{service}:eu-west-1:000000000000:{resource_name}", "name": resource_name}


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


def _kms_key(args: MockResourceArgs) -> dict[str, Any]:
    """A KMS key's generated key id and the ARN built from it."""
    key_id = _guid("kms-key", args.name)
    return {"keyId": key_id, "arn": f"arn:aws:kms:eu-west-1:000000000000:key/{key_id}"}


def _s3_bucket(args: MockResourceArgs) -> dict[str, Any]:
    """A bucket's name (given or generated) and ARN."""
    bucket = args.inputs.get("bucket") or f"{args.name}-mock"
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}


def _iam_role(args: MockResourceArgs) -> dict[str, Any]:
    """An IAM role's name and ARN (the account is unknown to the mock)."""
    name = args.inputs.get("name") or args.name
    return {"name": name, "arn": f"arn:aws:iam::000000000000:role/{name}"}


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
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:iam/role:Role": _iam_role,
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

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        package = args.typ.split(":")[0]
        computed = COMPUTED_OUTPUTS.get(args.typ) or PACKAGE_OUTPUTS.get(package)
        outputs = {**args.inputs, **(computed(args) if computed else {})}
        if package == "azure-native" and args.custom:
            resource_id = (
                f"/subscriptions/{FAKE_SUBSCRIPTION}/resourceGroups/mock/providers/"
                f"{args.typ.split(':')[1]}/{outputs.get('name', args.name)}"
            )
        else:
            resource_id = f"{args.name}-id"
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
) -> MockRun:
    """Run ``program`` under the mock runtime with ``config`` and return everything it registered.

    Errors the program raises (a ValidationError for bad config, say) propagate unchanged.

    :param transformations: stack transformations registered on this run's root stack before the program
        runs (the offline runner's :data:`platform_infra.cli.offline.TRANSFORMATIONS`).
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

    _run()
    return MockRun(stack=stack, project=project, resources=list(monitor))
