"""``infra export``: the offline plan as a Terraform JSON plan (AWS) and an ARM template (Azure).

Checkov itself is not in the project's lock (it runs pinned in its own virtualenv from ``.ci/checkov``,
which also proves that a vault opened to all fails the gate naming its URN); these tests pin the export's
shape that Checkov reads, and the gate's decisions on Checkov's JSON report format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from platform_infra.cli.azure_types import AZURE_TYPES, arm_placement, token_paths
from platform_infra.cli.check import parse_overrides
from platform_infra.cli.checkov_gate import Suppression, findings, judge, load_baseline
from platform_infra.cli.export import (
    arm_template,
    aws_bridge_metadata,
    export_stack,
    metadata_token,
    nested_token,
    terraform_attribute,
    terraform_plan,
    terraform_type,
)
from platform_infra.cli.main import main
from platform_infra.cli.mocks import MockRun
from platform_infra.cli.plan import PlanError, StackFiles, build_plan, run_stack

from tests.conftest import REPO_ROOT, ShippedRuns, make_environment, make_providers

STACKS = ["dev", "staging", "prod", "shared"]


def _export(shipped: tuple[StackFiles, MockRun], fmt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """What :func:`export_stack` makes of a shipped stack, from the session's shared run: (export, plan)."""
    files, run = shipped
    plan = build_plan(files, run)
    return (terraform_plan if fmt == "terraform-plan" else arm_template)(files, run, plan), plan


@pytest.fixture(scope="module")
def exports(shipped_runs: ShippedRuns) -> dict[tuple[str, str], dict[str, Any]]:
    """dev's and shared's exports in both formats (``export_stack`` itself: the command tests below)."""
    return {
        (s, f): _export(shipped_runs(s), f)[0] for s in ("dev", "shared") for f in ("terraform-plan", "arm")
    }


def _section(document: dict[str, Any]) -> dict[str, Any]:
    return document.get("pulumi") or document["metadata"]["pulumi"]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("aws:iam/role:Role", "aws_iam_role"),
        ("aws:cloudwatch/eventRule:EventRule", "aws_cloudwatch_event_rule"),
        (
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws_s3_bucket_server_side_encryption_configuration",
        ),
        ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws_iam_openid_connect_provider"),
        ("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "aws_s3_bucket_replication_configuration"),
        ("azure-native:keyvault:Vault", None),
    ],
)
def test_terraform_types(token: str, expected: str | None) -> None:
    assert terraform_type(token) == expected


def test_attribute_names_are_the_bridge_metadatas() -> None:
    role, oidc = "aws:iam/role:Role", "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    assert terraform_attribute(role, "assumeRolePolicy") == "assume_role_policy"
    assert terraform_attribute(oidc, "clientIdLists") == "client_id_list"
    lifecycle = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    assert terraform_attribute(lifecycle, "rules") == "rule"
    # Renames no naming rule would find: the metadata's own.
    assert terraform_attribute("aws:lambda/function:Function", "name") == "function_name"
    assert terraform_attribute("aws:lambda/function:Function", "code") == "filename"
    assert terraform_attribute("aws:lambda/permission:Permission", "function") == "function_name"
    assert terraform_attribute("aws:sns/topicSubscription:TopicSubscription", "topic") == "topic_arn"
    assert terraform_attribute("aws:cloudwatch/metricAlarm:MetricAlarm", "name") == "alarm_name"
    # One-word names the metadata does not rename are the same; multi-word ones it does not know: None.
    assert terraform_attribute(role, "path") == "path"
    assert terraform_attribute("aws:lambda/function:Function", "loggingConfig") is None
    rule = nested_token(lifecycle, "rule")
    assert rule == "aws:s3/BucketLifecycleConfigurationV2Rule:BucketLifecycleConfigurationV2Rule"
    assert terraform_attribute(rule, "noncurrentVersionExpiration") == "noncurrent_version_expiration"


def _values_with_tokens(token: str, values: Any, inputs: Any) -> list[tuple[str, str, str]]:
    """(token, Pulumi property, Terraform attribute) for every attribute of an exported resource."""
    found = []
    renamed = aws_bridge_metadata()["renamedProperties"].get(metadata_token(token), {})
    back = {tf: key for key, tf in renamed.items()}
    for attribute, value in values.items():
        key = back.get(attribute, attribute)
        found.append((token, key, attribute))
        source = inputs.get(key)
        if isinstance(value, list) and value and isinstance(value[0], dict) and source is not None:
            sources = source if isinstance(source, list) else [source]
            for item, raw in zip(value, sources, strict=True):
                found += _values_with_tokens(nested_token(token, attribute), item, raw)
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_terraform_name_comes_from_the_vendored_bridge_metadata(
    stack: str, shipped_runs: ShippedRuns
) -> None:
    """No naming rule or hand table: each type is in ``renames.resources``, each attribute either a value of
    the token's ``renamedProperties`` or a one-word property the metadata does not rename."""
    metadata = aws_bridge_metadata()
    document, plan_doc = _export(shipped_runs(stack), "terraform-plan")
    by_urn = {r["urn"]: r for r in plan_doc["resources"]}
    addresses = _section(document)["addresses"]
    checked = 0
    for resource in document["planned_values"]["root_module"]["resources"]:
        entry = by_urn[addresses[resource["address"]]]
        assert resource["type"] == metadata["resources"][metadata_token(entry["type"])]
        for token, key, attribute in _values_with_tokens(entry["type"], resource["values"], entry["inputs"]):
            renamed = metadata["renamedProperties"].get(metadata_token(token))
            assert renamed is not None, f"{token} is not vendored ({resource['address']})"
            if key in renamed:
                assert renamed[key] == attribute
            else:
                assert key == attribute and re.fullmatch(r"[a-z][a-z0-9]*", key), (token, key, attribute)
            checked += 1
    assert checked > 50
    # What the metadata cannot name is listed, not guessed.
    for address, properties in _section(document)["unmappedProperties"].items():
        assert address in addresses and properties


def test_token_aliases_are_the_installed_sdks_own() -> None:
    """Each v7 token read under its V2 name: the installed SDK deprecates the V2 class in its favour."""
    import importlib
    import inspect

    for v7, v2 in aws_bridge_metadata()["tokenAliases"]["aliases"].items():
        module = importlib.import_module("pulumi_aws." + v2.split(":")[1].split("/")[0])
        source = inspect.getsource(getattr(module, v2.split(":")[2]))
        assert f"'{v2}'" in source
        v7_name = v7.split(":")[2]
        assert re.search(rf"deprecated in favor of [\w./]*{v7_name}\b", source, re.IGNORECASE), v7


def test_source_of_the_vendored_metadata_is_recorded(exports: dict) -> None:
    source = aws_bridge_metadata()["source"]
    assert source["repository"] == "pulumi/pulumi-aws"
    assert source["path"] == "provider/cmd/pulumi-resource-aws/bridge-metadata.json"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert _section(exports[("shared", "terraform-plan")])["metadata"]["commit"] == source["commit"]


def test_blocks_the_bridge_flattened_are_lists_again_and_maps_stay_maps(exports: dict) -> None:
    """``terraform show -json`` writes a MaxItems=1 block as a one-element list; Pulumi flattens it."""
    resources = {
        r["address"]: r["values"]
        for r in exports[("dev", "terraform-plan")]["planned_values"]["root_module"]["resources"]
    }
    (function,) = [v for a, v in resources.items() if a.startswith("aws_lambda_function.")]
    assert isinstance(function["environment"], list) and isinstance(
        function["environment"][0]["variables"], dict
    )
    assert "filename" not in function and "logging_config" not in function  # unknown code; unmapped config
    shared = {
        r["address"]: r["values"]
        for r in exports[("shared", "terraform-plan")]["planned_values"]["root_module"]["resources"]
    }
    versioning = shared["aws_s3_bucket_versioning.state-versioning"]
    assert versioning["versioning_configuration"] == [{"status": "Enabled"}]
    lifecycle = shared["aws_s3_bucket_lifecycle_configuration.state-lifecycle"]
    assert lifecycle["rule"][0]["noncurrent_version_expiration"] == [{"noncurrent_days": 90.0}]
    tags = shared["aws_iam_role.pipeline-prod"]["tags"]  # a map: its keys are data, not attributes
    assert isinstance(tags, dict) and "platform:access" in tags


def test_a_token_the_metadata_lacks_is_listed_not_guessed() -> None:
    def program() -> None:
        providers = make_providers(make_environment("dev"))
        aws.sqs.Queue("queue", opts=pulumi.ResourceOptions(provider=providers.aws))

    files, run = run_stack("dev", program=program)
    document = terraform_plan(files, run, build_plan(files, run))
    assert document["planned_values"]["root_module"]["resources"] == []
    (listed,) = [w for w in document["pulumi"]["withoutCounterpart"] if w["type"] == "aws:sqs/queue:Queue"]
    assert "vendored bridge metadata" in listed["reason"]


@pytest.mark.parametrize("stack", ["dev", "shared"])
def test_every_resource_is_exported_or_listed(exports: dict, stack: str, shipped_runs: ShippedRuns) -> None:
    plan_doc = build_plan(*shipped_runs(stack))
    custom = {
        r["urn"]
        for r in plan_doc["resources"]
        if r["custom"] and not r["type"].startswith("pulumi:providers:")
    }
    for fmt in ("terraform-plan", "arm"):
        section = _section(exports[(stack, fmt)])
        exported = set(section["addresses"].values())
        listed = {w["urn"] for w in section["withoutCounterpart"]}
        assert exported | listed == custom and not exported & listed
    # Between the two formats, only what has no cloud counterpart (random passwords) or no known ARM
    # placement yet (listed with that reason, never dropped) is left.
    both = set(_section(exports[(stack, "terraform-plan")])["addresses"].values()) | set(
        _section(exports[(stack, "arm")])["addresses"].values()
    )
    reasons = {w["urn"]: w["reason"] for w in _section(exports[(stack, "arm")])["withoutCounterpart"]}
    for urn in custom - both:
        assert urn.split("::")[-2].endswith("random:index/randomPassword:RandomPassword") or (
            reasons[urn] == "no known ARM placement for this type"
        ), urn


def test_terraform_plan_shape(exports: dict) -> None:
    document = exports[("shared", "terraform-plan")]
    addresses = _section(document)["addresses"]
    resources = {r["address"]: r for r in document["planned_values"]["root_module"]["resources"]}
    assert set(resources) == set(addresses)
    provider = resources["aws_iam_openid_connect_provider.github-oidc"]
    assert provider["values"]["client_id_list"] == ["sts.amazonaws.com"]
    assert addresses["aws_iam_openid_connect_provider.github-oidc"].endswith(
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider::github-oidc"
    )
    role = resources["aws_iam_role.deploy-prod"]["values"]
    statement = json.loads(role["assume_role_policy"])["Statement"][0]
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == "[secret]"
    changes = {c["address"]: c for c in document["resource_changes"]}
    assert changes["aws_iam_role.deploy-prod"]["change"]["actions"] == ["create"]


def test_references_are_restored_from_recorded_dependencies(exports: dict) -> None:
    configuration = {
        r["address"]: r
        for r in exports[("shared", "terraform-plan")]["configuration"]["root_module"]["resources"]
    }
    block = configuration["aws_s3_bucket_public_access_block.state-public-access"]
    assert "aws_s3_bucket.state" in block["expressions"]["bucket"]["references"]
    alias = configuration["aws_kms_alias.state-state"]
    assert alias["expressions"]["target_key_id"]["references"][-1] == "aws_kms_key.state-state"


def test_secret_leaves_are_unknown() -> None:
    def program() -> None:
        providers = make_providers(make_environment("dev"))
        aws.lambda_.Function(
            "fn",
            aws.lambda_.FunctionArgs(
                role="arn:aws:iam::111111111111:role/r",
                runtime="python3.12",
                handler="h.handler",
                code=pulumi.AssetArchive({}),
                kms_key_arn=pulumi.Output.secret("hunter1"),
                environment=aws.lambda_.FunctionEnvironmentArgs(
                    variables={"TOKEN": pulumi.Output.secret("hunter2"), "MODE": "m"}
                ),
            ),
            opts=pulumi.ResourceOptions(provider=providers.aws),
        )

    files, run = run_stack("dev", program=program)
    document = terraform_plan(files, run, build_plan(files, run))
    assert "hunter1" not in json.dumps(document) and "hunter2" not in json.dumps(document)
    (change,) = document["resource_changes"]
    after = change["change"]["after"]
    # A secret inside a block makes the SDK send the whole block as a secret: the block is unknown.
    assert "kms_key_arn" not in after and "environment" not in after and after["handler"] == "h.handler"
    # The code archive is packaged by the provider at deploy time: unknown, like the secret leaves.
    assert change["change"]["after_unknown"] == {"kms_key_arn": True, "environment": True, "filename": True}


def test_arm_template_shape(exports: dict) -> None:
    template = exports[("dev", "arm")]
    by_type: dict[str, list[dict]] = {}
    for resource in template["resources"]:
        by_type.setdefault(resource["type"], []).append(resource)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", resource["apiVersion"]), resource
    (vault,) = by_type["Microsoft.KeyVault/vaults"]
    assert vault["name"] == "kv-platform-dev-001" and vault["location"] == "westeurope"
    assert vault["properties"]["networkAcls"]["defaultAction"] == "Deny"
    secrets = by_type["Microsoft.KeyVault/vaults/secrets"]
    assert {s["name"] for s in secrets} >= {"kv-platform-dev-001/database-admin-password"}
    for secret in secrets:
        assert secret["properties"]["value"] == "[parameters('pulumiSecret')]"
        assert "exp" in secret["properties"]["attributes"]  # the REST body's name (azure-native: expires)
        assert any("/vaults/kv-platform-dev-001" in d for d in secret["dependsOn"])
    sites = by_type["Microsoft.Web/sites"]
    assert all(re.fullmatch(r"(web|api)-app[0-9a-f]{8}", s["name"]) for s in sites)  # autonamed
    assert all("serverFarmId" in s["properties"] and "httpsOnly" in s["properties"] for s in sites)
    addresses = _section(template)["addresses"]
    assert addresses["Microsoft.KeyVault/vaults.kv-platform-dev-001"].endswith(
        "azure-native:keyvault:Vault::vault"
    )


SUB_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"


@pytest.mark.parametrize(
    ("path", "arm_type", "name_param", "fixed_name", "id_template"),
    [
        (
            SUB_RG + "/providers/Microsoft.Web/sites/{name}/slots/{slot}",
            "Microsoft.Web/sites/slots",
            "slot",
            None,
            SUB_RG + "/providers/Microsoft.Web/sites/{name}/slots/{@}",
        ),
        (
            SUB_RG + "/providers/Microsoft.Web/sites/{name}/config/appsettings",
            "Microsoft.Web/sites/config",
            None,
            "appsettings",
            SUB_RG + "/providers/Microsoft.Web/sites/{name}/config/{@}",
        ),
        (
            SUB_RG + "/providers/Microsoft.Storage/storageAccounts/{a}/blobServices/default/containers/{c}",
            "Microsoft.Storage/storageAccounts/blobServices/containers",
            "c",
            None,
            SUB_RG + "/providers/Microsoft.Storage/storageAccounts/{a}/blobServices/default/containers/{@}",
        ),
        (
            "/{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
            "Microsoft.Authorization/roleAssignments",
            "roleAssignmentName",
            None,
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{@}",
        ),
        (
            "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}",
            "Microsoft.Resources/resourceGroups",
            "resourceGroupName",
            None,
            "/subscriptions/{subscriptionId}/resourceGroups/{@}",
        ),
        (
            "/subscriptions/{subscriptionId}/resourcegroups/{g}/providers/Microsoft.OperationalInsights/workspaces/{w}",
            "Microsoft.OperationalInsights/workspaces",
            "w",
            None,
            "/subscriptions/{subscriptionId}/resourceGroups/{g}/providers/Microsoft.OperationalInsights/workspaces/{@}",
        ),
    ],
)
def test_arm_placement_reads_type_and_name_off_the_rest_path(
    path: str, arm_type: str, name_param: str | None, fixed_name: str | None, id_template: str
) -> None:
    placement = arm_placement(path)
    assert placement.arm_type == arm_type
    assert (placement.name_param, placement.fixed_name) == (name_param, fixed_name)
    assert placement.id_template == id_template


@pytest.mark.parametrize(
    "path",
    [
        "/subscriptions/{subscriptionId}",
        SUB_RG + "/providers/Microsoft.Web/sites",
        SUB_RG + "/providers/Microsoft.Web/sites/{name}/config",
        SUB_RG + "/providers/Microsoft.Web//{name}",
    ],
)
def test_a_path_without_type_name_pairs_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="not an ARM resource path"):
        arm_placement(path)


def test_every_azure_type_is_placed_from_the_vendored_token_paths() -> None:
    """No hand table: each known token's ARM type, name input and id path are its vendored path's."""
    paths = token_paths()["tokenPaths"]
    assert set(AZURE_TYPES) == set(paths)
    for token, kind in AZURE_TYPES.items():
        placement = arm_placement(paths[token])
        assert kind.arm_type == placement.arm_type and kind.path == placement.id_template, token
        assert kind.name_key in (placement.name_param, None), token
    # The two facts a path cannot hold; the blob service's fixed name is the installed SDK's own word.
    import inspect

    import pulumi_azure_native.storage as storage

    assert AZURE_TYPES["azure-native:storage:BlobServiceProperties"].fixed_name == "default"
    assert "Blob Service Name must be 'default'" in inspect.getsource(storage.BlobServiceProperties)
    assert AZURE_TYPES["azure-native:authorization:RoleAssignment"].autoname == "uuid"
    assert [t for t, k in AZURE_TYPES.items() if k.name_key is None and k.fixed_name is None] == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_arm_type_comes_from_the_vendored_token_paths(stack: str, shipped_runs: ShippedRuns) -> None:
    """Each exported type is the ARM type of its token's vendored path (an extension resource nested under
    its parent: both halves are vendored types)."""
    paths = token_paths()["tokenPaths"]
    document, plan_doc = _export(shipped_runs(stack), "arm")
    by_urn = {r["urn"]: r for r in plan_doc["resources"]}
    addresses = _section(document)["addresses"]
    known = {arm_placement(p).arm_type for p in paths.values()}
    checked = 0
    for resource in document["resources"]:
        token = by_urn[addresses[f"{resource['type']}.{resource['name']}"]]["type"]
        expected = arm_placement(paths[token]).arm_type
        if "/providers/" in resource["type"]:
            parent, _, extension = resource["type"].partition("/providers/")
            assert parent in known and expected.endswith("/" + extension), resource["type"]
        else:
            assert resource["type"] == expected
        checked += 1
    assert checked >= 10
    # Every azure-native type the shipped stacks declare is placed (none left to a hand table or unlisted).
    assert not [w for w in _section(document)["withoutCounterpart"] if w["type"].startswith("azure-native:")]
    source = _section(document)["metadata"]
    assert source == {k: token_paths()["source"][k] for k in ("repository", "path", "commit")}
    assert source["repository"] == "pulumi/pulumi-azure-native"
    assert source["path"] == "reports/tokenPaths.json"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])


def _load_tool(name: str) -> Any:
    """A script of tools/ (not a package) loaded as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_the_extraction_tool_rebuilds_the_vendored_token_paths(tmp_path: Path) -> None:
    """tools/extract_token_paths.py over a file shaped like azure-native's reports/tokenPaths.json."""
    tool = _load_tool("extract_token_paths")
    vendored = token_paths()
    full = {
        **vendored["tokenPaths"],
        "azure-native:keyvault/v20230201:Vault": vendored["tokenPaths"]["azure-native:keyvault:Vault"],
        "azure-native:network:VirtualNetwork": SUB_RG
        + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}",
    }
    source = tmp_path / "tokenPaths.json"
    source.write_text(json.dumps(full))
    output = tmp_path / "vendored.json"
    output.write_text(json.dumps(vendored))
    commit = "0" * 40
    assert tool.main(["--token-paths", str(source), "--commit", commit, "--output", str(output)]) == 0
    rebuilt = json.loads(output.read_text())
    assert rebuilt["source"]["commit"] == commit
    assert rebuilt["tokenPaths"] == vendored["tokenPaths"]  # versioned tokens are not taken along
    tool.main(
        [
            "--token-paths",
            str(source),
            "--commit",
            commit,
            "--output",
            str(output),
            "--add",
            "azure-native:network:VirtualNetwork",
        ]
    )
    added = json.loads(output.read_text())["tokenPaths"]
    network = arm_placement(added["azure-native:network:VirtualNetwork"])
    assert network.arm_type == "Microsoft.Network/virtualNetworks"
    del full["azure-native:keyvault:Key"]
    source.write_text(json.dumps(full))
    with pytest.raises(SystemExit, match="azure-native:keyvault:Key"):
        tool.main(["--token-paths", str(source), "--commit", commit, "--output", str(output)])
    path = REPO_ROOT / "components/platform_infra/cli/data/azure_native_token_paths.json"
    assert path.read_text() == json.dumps(vendored, indent=2) + "\n"


def test_an_open_vault_shows_in_the_export_where_checkov_reads_it() -> None:
    """The canary .ci/checkov runs through Checkov (CKV_AZURE_109 reads networkAcls.defaultAction)."""
    overrides = parse_overrides(["platform:vault.defaultAction=Allow"], "dev")
    template = export_stack("dev", "arm", overrides=overrides)
    (vault,) = [r for r in template["resources"] if r["type"] == "Microsoft.KeyVault/vaults"]
    assert vault["properties"]["networkAcls"]["defaultAction"] == "Allow"


def test_export_command_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "dev.json"
    assert (
        main(
            [
                "export",
                "dev",
                "--format",
                "arm",
                "-o",
                str(target),
                "--set",
                "platform:vault.defaultAction=Allow",
            ]
        )
        == 0
    )
    written = json.loads(target.read_text())
    assert written["metadata"]["pulumi"]["stack"] == "dev"
    assert "without a counterpart" in capsys.readouterr().err


# --- the gate over Checkov's JSON report --------------------------------------------------------------

URN = "urn:pulumi:dev::platform::platform:security:SecretVault$azure-native:keyvault:Vault::vault"
EXPORT = {"metadata": {"pulumi": {"stack": "dev", "addresses": {"Microsoft.KeyVault/vaults.kv": URN}}}}


def _report(*failed: tuple[str, str]) -> dict[str, Any]:
    # The shape of `checkov -o json` for one framework (results.failed_checks[].check_id/resource).
    return {
        "check_type": "arm",
        "results": {
            "failed_checks": [{"check_id": c, "check_name": f"name of {c}", "resource": r} for c, r in failed]
        },
        "summary": {"failed": len(failed)},
    }


def test_a_new_failure_names_the_pulumi_urn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export, result, baseline = tmp_path / "e.json", tmp_path / "r.json", tmp_path / "b.yaml"
    export.write_text(json.dumps(EXPORT))
    result.write_text(json.dumps([_report(("CKV_AZURE_109", "Microsoft.KeyVault/vaults.kv"))]))
    baseline.write_text("suppressions: []\n")
    assert main(["checkov-gate", f"{export}={result}", "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    assert "NEW CKV_AZURE_109" in out and f"on {URN}" in out


def test_one_checkov_run_over_several_exports_is_split_by_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """.ci/checkov starts Checkov once for all exports (``-f`` each); each failed check names its file
    (``file_abs_path``), so a finding counts for its own export and stack, and the same address in another
    stack's export is not confused with it."""
    dev, prod = tmp_path / "dev.json", tmp_path / "prod.json"
    prod_urn = URN.replace("urn:pulumi:dev::", "urn:pulumi:prod::")
    dev.write_text(json.dumps(EXPORT))
    prod.write_text(
        json.dumps(
            {
                "metadata": {
                    "pulumi": {"stack": "prod", "addresses": {"Microsoft.KeyVault/vaults.kv": prod_urn}}
                }
            }
        )
    )
    report = _report(
        ("CKV_AZURE_42", "Microsoft.KeyVault/vaults.kv"), ("CKV_AZURE_42", "Microsoft.KeyVault/vaults.kv")
    )
    report["results"]["failed_checks"][0]["file_abs_path"] = str(dev)
    report["results"]["failed_checks"][1]["file_abs_path"] = str(prod)
    results, baseline = tmp_path / "checkov.json", tmp_path / "b.yaml"
    results.write_text(json.dumps([report]))
    baseline.write_text(
        "suppressions:\n  - check: CKV_AZURE_42\n    urn: 'urn:pulumi:*Vault::vault'\n    stacks: [dev]\n"
        "    reason: dev vaults may be purged on purpose\n"
    )
    assert main(["checkov-gate", "--baseline", str(baseline), "--results", str(results), str(dev)]) == 0
    assert (
        main(["checkov-gate", "--baseline", str(baseline), "--results", str(results), str(dev), str(prod)])
        == 1
    )
    out = capsys.readouterr().out
    assert f"on {prod_urn}" in out and f"on {URN}" not in out.split("NEW", 1)[1]
    # Mixing the two modes is refused, in one line.
    assert (
        main(["checkov-gate", "--baseline", str(baseline), "--results", str(results), f"{dev}={results}"])
        == 2
    )
    assert "with --results, name the export only" in capsys.readouterr().err


def test_a_reviewed_suppression_accepts_only_what_it_names() -> None:
    baseline = [
        Suppression("CKV_AZURE_42", "urn:pulumi:dev::*Vault::vault", "dev vaults may be purged on purpose")
    ]
    found = findings(
        _report(
            ("CKV_AZURE_42", "Microsoft.KeyVault/vaults.kv"),
            ("CKV_AZURE_110", "Microsoft.KeyVault/vaults.kv"),
        ),
        EXPORT,
        "e.json",
    )
    verdict = judge(found, baseline)
    assert [f.check for f in verdict.new] == ["CKV_AZURE_110"]
    assert [f.check for f, _ in verdict.accepted] == ["CKV_AZURE_42"]
    prod = [Suppression("CKV_AZURE_42", "urn:pulumi:*", "only where it is reviewed", ("prod",))]
    assert [f.check for f in judge(found, prod).new] == ["CKV_AZURE_42", "CKV_AZURE_110"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"check": "CKV_AWS_1", "urn": "urn:pulumi:*"}, "needs a reason"),
        ({"check": "CKV_AWS_1", "urn": "urn:pulumi:*", "reason": "ok"}, "needs a reason"),
        ({"check": "AWS_1", "urn": "urn:pulumi:*", "reason": "x" * 30}, "Checkov check id"),
        ({"check": "CKV_AWS_1", "urn": "aws_s3_bucket.x", "reason": "x" * 30}, "Pulumi URN"),
    ],
)
def test_baseline_entries_need_check_urn_and_reason(tmp_path: Path, entry: dict, message: str) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(json.dumps({"suppressions": [entry]}))
    with pytest.raises(PlanError, match=message):
        load_baseline(path)


def test_the_shipped_baseline_is_reviewed() -> None:
    entries = load_baseline(REPO_ROOT / ".checkov-baseline.yaml")
    assert entries and all(len(e.reason) >= 20 for e in entries)
    assert len({(e.check, e.urn, e.stacks) for e in entries}) == len(entries)


def test_the_extraction_tool_rebuilds_the_vendored_file_from_bridge_metadata(tmp_path: Path) -> None:
    """tools/extract_bridge_metadata.py over a file shaped like pulumi-aws's (mux + renames sections)."""
    tool = _load_tool("extract_bridge_metadata")
    vendored = aws_bridge_metadata()
    full = {
        "mux": {"resources": {}, "resourcesDefault": 0},
        "renames": {
            "resources": {**vendored["resources"], "aws:sqs/queue:Queue": "aws_sqs_queue"},
            "functions": {},
            "renamedProperties": {
                **{k: v for k, v in vendored["renamedProperties"].items() if v},
                "aws:sqs/queue:Queue": {"fifoQueue": "fifo_queue"},
            },
        },
    }
    source = tmp_path / "bridge-metadata.json"
    source.write_text(json.dumps(full))
    output = tmp_path / "vendored.json"
    output.write_text(json.dumps(vendored))
    commit = "0" * 40
    assert tool.main(["--metadata", str(source), "--commit", commit, "--output", str(output)]) == 0
    rebuilt = json.loads(output.read_text())
    assert rebuilt["source"]["commit"] == commit
    assert {k: v for k, v in rebuilt.items() if k != "source"} == {
        k: v for k, v in vendored.items() if k != "source"
    }
    tool.main(
        [
            "--metadata",
            str(source),
            "--commit",
            commit,
            "--output",
            str(output),
            "--add",
            "aws:sqs/queue:Queue",
        ]
    )
    added = json.loads(output.read_text())
    assert added["resources"]["aws:sqs/queue:Queue"] == "aws_sqs_queue"
    assert added["renamedProperties"]["aws:sqs/queue:Queue"] == {"fifoQueue": "fifo_queue"}
    # A resource token the given metadata lacks is an error, not an empty entry.
    del full["renames"]["resources"]["aws:kms/key:Key"]
    source.write_text(json.dumps(full))
    with pytest.raises(SystemExit, match="aws:kms/key:Key"):
        tool.main(["--metadata", str(source), "--commit", commit, "--output", str(output)])
    # The vendored file is in the tool's own format (sorted, indented), so a refresh shows a clean diff.
    path = REPO_ROOT / "components/platform_infra/cli/data/pulumi_aws_bridge_metadata.json"
    assert path.read_text() == json.dumps(vendored, indent=2) + "\n"


def test_ci_checkov_fails_on_any_new_finding_and_starts_checkov_once() -> None:
    """.ci/checkov is strict everywhere (no reporting-only mode) and scans all exports in one Checkov run."""
    script = (REPO_ROOT / ".ci" / "checkov").read_text()
    commands = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in commands
    assert "CHECKOV_STRICT" not in script
    # The gate over the stacks' exports is a plain command under `set -e`: its exit code ends the script.
    (gate,) = [c for c in commands if "checkov-gate" in c and '"${exports[@]}"' in c]
    assert not gate.lstrip().startswith(("if ", "!")) and "||" not in gate
    assert sum(c.startswith('"$venv/bin/checkov" "${files[@]}"') for c in commands) == 1
    for workflow in [REPO_ROOT / "azure-pipelines.yml", *(REPO_ROOT / ".github" / "workflows").glob("*.yml")]:
        assert "CHECKOV_STRICT" not in workflow.read_text(), workflow.name
