"""Every bad input the clouds would refuse is refused by the real program before anything is registered.

Each case edits one key of a shipped stack file, runs the stack's own program (``Pulumi.yaml``'s main) under
mocks that record every registration, and asserts: a ValidationError whose message is one line naming the
stack and the config key, and no resource registered (under ``pulumi up`` nothing would have been created,
the protected prod vault included).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from platform_infra.cli.mocks import PlatformMocks, run_with_mocks
from platform_infra.cli.plan import project_program, read_stack_config, read_stack_files
from platform_infra.validation import ValidationError
from pulumi.runtime import MockResourceArgs

from tests.conftest import REPO_ROOT

Edit = Callable[[dict[str, Any]], object]


class RecordingMocks(PlatformMocks):
    """Mocks that remember every resource registered (components included)."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: list[str] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.registered.append(f"{args.typ}::{args.name}")
        return super().new_resource(args)


def refusal(stack: str, edit: Edit, *, secrets: dict[str, str] | None = None) -> str:
    """Run ``stack`` with ``edit`` applied to its config; return the error, asserting nothing registered."""
    config = copy.deepcopy(read_stack_config(stack, REPO_ROOT))
    edit(config)
    files = read_stack_files(stack, REPO_ROOT, overrides=config)
    files.config = {k: v for k, v in files.config.items() if k in config or k.startswith("pulumi:")}
    for key, value in (secrets or {}).items():
        files.config[key] = value
        files.secret_keys.append(key)
    mocks = RecordingMocks()
    with pytest.raises(ValidationError) as error:
        run_with_mocks(
            project_program(files),
            stack=stack,
            project=files.project,
            config=files.config,
            secret_keys=files.secret_keys,
            mocks=mocks,
        )
    assert [r for r in mocks.registered if not r.startswith("pulumi:pulumi:Stack")] == []
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"stack '{stack}': ")
    return message


def _set(path: str, value: Any) -> Edit:
    """An edit setting ``platform:aws.region``-style paths (``[i]`` indexes lists); None deletes."""

    def edit(config: dict[str, Any]) -> None:
        cut = min((i for i in (path.find("."), path.find("[")) if i >= 0), default=len(path))
        top, rest = path[:cut], path[cut:].lstrip(".")
        if not rest:
            if value is None:
                config.pop(top, None)
            else:
                config[top] = value
            return
        node: Any = config[top]
        parts = rest.replace("]", "").replace("[", ".").strip(".").split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = parts[-1]
        if value is None:
            del node[int(last) if last.isdigit() else last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return edit


CASES: list[tuple[str, str, Edit, str]] = [
    ("dev", "platform:aws.region", _set("platform:aws.region", "eu-west-9"), "is not an AWS region"),
    (
        "dev",
        "platform:azure.location",
        _set("platform:azure.location", "westeurope2"),
        "is not an Azure location",
    ),
    (
        "prod",
        "platform:aws.sessionDurationSeconds",
        _set("platform:aws.sessionDurationSeconds", 7200),
        "chained role session",
    ),
    (
        "dev",
        "platform:tags",
        _set("platform:tags", {"owner": "a", "cost-centre": "b", **{f"t{i}": "v" for i in range(47)}}),
        "would exceed 50",
    ),
    ("dev", "platform:tags.owner", _set("platform:tags.owner", "x" * 257), "is not a valid tag value"),
    ("dev", "platform:tags.owner", _set("platform:tags.owner", "a\nb"), "is not a valid tag value"),
    ("dev", "platform:tags.owner", _set("platform:tags.owner", "team 🚀"), "is not a valid tag value"),
    ("dev", "platform:tags.aws:team", _set("platform:tags.aws:team", "x"), "is not a valid tag name"),
    (
        "dev",
        "platform:tags.microsoft-team",
        _set("platform:tags.microsoft-team", "x"),
        "is not a valid tag name",
    ),
    ("dev", "platform:tags.Owner", _set("platform:tags.Owner", "x"), "only in case"),
    (
        "dev",
        "platform:apps[1].siteName",
        lambda c: (
            c["platform:apps"][0].update(siteName="acme-web"),
            c["platform:apps"][1].update(siteName="acme-web"),
        ),
        "repeats the site name of platform:apps[0].siteName",
    ),
    (
        "dev",
        "platform:logs.logGroups[1].name",
        _set("platform:logs.logGroups[1].name", "/platform/dev/orders/api"),
        "is declared twice",
    ),
    (
        "dev",
        "platform:alarms.emails[1]",
        lambda c: c["platform:alarms"]["emails"].append("Dev-Alerts@example.com"),
        "repeats the subscriber of platform:alarms.emails[0]",
    ),
    (
        "dev",
        "platform:vault.allowedIpRanges[0]",
        _set("platform:vault.allowedIpRanges[0]", "10.0.0.0/16"),
        "is not a public range",
    ),
    (
        "prod",
        "platform:vault.allowedIpRanges[0]",
        _set("platform:vault.allowedIpRanges[0]", "0.0.0.0/0"),
        "opens the firewall to every address",
    ),
    (
        "prod",
        "platform:apps[1].keyVaultSettings.API_SIGNING_KEY",
        _set("platform:apps[1].keyVaultSettings.API_SIGNING_KEY", "api-signing-kee"),
        "names a secret that platform:vault.secrets does not declare",
    ),
    (
        "prod",
        "platform:apps[1].keyVaultSettings.DATABASE_PASSWORD",
        _set("platform:vault.secrets", []),
        "names a secret that platform:vault.secrets does not declare",
    ),
    (
        "prod",
        "platform:apps[1].keyVaultSettings.DATABASE_PASSWORD",
        _set("platform:vault", None),
        "platform:vault is not set",
    ),
    (
        "prod",
        "platform:apps[0].applicationInsights",
        _set("platform:monitoring", None),
        "platform:monitoring, which is not set",
    ),
    (
        "shared",
        "platform:bootstrap.stateBackend.secretsAliasPrefix",
        _set("platform:bootstrap.stateBackend.secretsAliasPrefix", "aws-state"),
        "reserved aws prefix",
    ),
    (
        "shared",
        "platform:bootstrap.stateBackend.bucketName",
        _set("platform:bootstrap.stateBackend.bucketName", "xn--state-bucket"),
        "is not a valid S3 bucket name",
    ),
    (
        "shared",
        "platform:bootstrap.stateBackend.bucketName",
        _set("platform:bootstrap.stateBackend.bucketName", "192.168.10.20"),
        "is not a valid S3 bucket name",
    ),
    (
        "shared",
        "platform:bootstrap.stateBackend.bucketName",
        _set("platform:bootstrap.stateBackend.bucketName", "state-bucket-s3alias"),
        "is not a valid S3 bucket name",
    ),
    (
        "shared",
        "platform:bootstrap.stateBackend.bucketName",
        _set("platform:bootstrap.stateBackend.bucketName", "state..bucket"),
        "is not a valid S3 bucket name",
    ),
    (
        "shared",
        "platform:bootstrap.targets[1].accountId",
        lambda c: c["platform:bootstrap"]["targets"][1].update(
            accountId=c["platform:bootstrap"]["targets"][0]["accountId"]
        ),
        "repeats the AWS account of platform:bootstrap.targets[0].accountId",
    ),
    (
        "shared",
        "platform:bootstrap.targets[1].subscriptionId",
        lambda c: c["platform:bootstrap"]["targets"][1].update(
            subscriptionId=c["platform:bootstrap"]["targets"][0]["subscriptionId"].upper()
        ),
        "repeats the Azure subscription of platform:bootstrap.targets[0].subscriptionId",
    ),
    (
        "prod",
        "platform:apps[0].sku",
        _set("platform:apps[0].sku", "I1v2"),
        "runs only in an App Service Environment",
    ),
    (
        "dev",
        "platform:apps[0].appServiceEnvironmentId",
        _set(
            "platform:apps[0].appServiceEnvironmentId",
            "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg/providers/"
            "Microsoft.Web/hostingEnvironments/ase",
        ),
        "applies to Isolated SKUs only",
    ),
    (
        "dev",
        "platform:apps[0].zoneRedundant",
        _set("platform:apps[0].zoneRedundant", True),
        "is not available for a Standard plan",
    ),
    (
        "prod",
        "platform:apps[1].keyVaultSettings.API_SIGNING_KEY",
        _set("platform:network", None),
        "platform:vault.defaultAction keeps App Service out",
    ),
    (
        "prod",
        "platform:apps[0].image",
        _set("platform:registry", None),
        "platform:registry is not set",
    ),
    (
        "prod",
        "platform:apps[0].image",
        _set("platform:apps[0].image", "otherregistry.azurecr.io/web:1.0.0"),
        "not on the registry platform:registry.id names",
    ),
    (
        "prod",
        "platform:registry.id",
        _set(
            "platform:registry.id",
            "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg/providers/"
            "Microsoft.ContainerRegistry/registries/platformprodacr",
        ),
        "is in another subscription",
    ),
    ("prod", "platform:network.appSubnets.api", _set("platform:network.appSubnets.api", None), "is not set"),
    (
        "prod",
        "platform:network.appSubnets.web",
        _set("platform:network.appSubnets.web", "10.99.1.0/26"),
        "is outside the address space",
    ),
    (
        "prod",
        "platform:network.appSubnets.api",
        _set("platform:network.appSubnets.api", "10.30.1.0/27"),
        "overlaps platform:network.appSubnets.web",
    ),
    (
        "prod",
        "platform:network.appSubnets.api",
        _set("platform:network.appSubnets.api", "10.30.1.64/29"),
        "is smaller than /28",
    ),
    (
        "prod",
        "platform:apps[0].capacity",
        lambda c: (
            c["platform:apps"][0].update(capacity=6),
            c["platform:network"]["appSubnets"].update(web="10.30.1.0/28"),
        ),
        "carries 5 instances",
    ),
    (
        "prod",
        "platform:network.addressSpace",
        _set("platform:network.addressSpace", "203.0.113.0/24"),
        "is not a private IPv4 range",
    ),
    (
        "prod",
        "platform:network.appSubnets.worker",
        _set("platform:network.appSubnets.worker", "10.30.2.0/26"),
        "names no app of platform:apps",
    ),
    ("prod", "platform:access", _set("platform:access", None), "none are listed"),
    (
        "prod",
        "platform:access.trustedIpRanges[0]",
        _set("platform:access.trustedIpRanges[0]", "10.0.0.0/8"),
        "is not a public range",
    ),
    (
        "prod",
        "platform:access.trustedIpRanges[0]",
        _set("platform:access.trustedIpRanges[0]", "0.0.0.0/0"),
        "opens the firewall to every address",
    ),
]


@pytest.mark.parametrize(
    ("stack", "key", "edit", "problem"), CASES, ids=[f"{c[0]}-{c[1]}-{c[3][:24]}" for c in CASES]
)
def test_refused_by_key_before_anything_is_registered(stack: str, key: str, edit: Edit, problem: str) -> None:
    message = refusal(stack, edit)
    assert f"'{stack}': {key}: " in message, message
    assert problem in message, message


@pytest.mark.parametrize("external_id", ["Q", "has spaces in it", "y" * 1225])
def test_external_id_sts_refuses_is_refused_without_printing_it(external_id: str) -> None:
    """STS ExternalId: 2-1224 characters of [\\w+=,.@:/-] (botocore's sts model, externalIdType)."""
    message = refusal(
        "prod", lambda c: c.pop("platform:awsExternalId"), secrets={"platform:awsExternalId": external_id}
    )
    assert "'prod': platform:awsExternalId: is not an STS external id" in message
    assert external_id not in message


def test_the_recording_harness_sees_registrations() -> None:
    """Unedited, the same harness records the stack's resources (so the empty lists above mean something)."""
    files = read_stack_files("prod", REPO_ROOT)
    mocks = RecordingMocks()
    run_with_mocks(
        project_program(files),
        stack="prod",
        project=files.project,
        config=files.config,
        secret_keys=files.secret_keys,
        mocks=mocks,
    )
    assert any(r.startswith("azure-native:keyvault:Vault::") for r in mocks.registered)
    assert len(mocks.registered) > 20
