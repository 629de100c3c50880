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
from platform_infra.cli.check import parse_overrides
from platform_infra.cli.checkov_gate import Suppression, findings, judge, load_baseline
from platform_infra.cli.export import export_stack, terraform_attribute, terraform_plan, terraform_type
from platform_infra.cli.main import main
from platform_infra.cli.plan import PlanError, build_plan, run_stack

from tests.conftest import REPO_ROOT, make_environment, make_providers

STACKS = ["dev", "staging", "prod", "shared"]


@pytest.fixture(scope="module")
def exports() -> dict[tuple[str, str], dict[str, Any]]:
    return {(s, f): export_stack(s, f) for s in ("dev", "shared") for f in ("terraform-plan", "arm")}


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


def test_attribute_names_are_terraforms() -> None:
    assert terraform_attribute("assumeRolePolicy") == "assume_role_policy"
    assert terraform_attribute("clientIdLists") == "client_id_list"
    assert terraform_attribute("rules") == "rule"


@pytest.mark.parametrize("stack", ["dev", "shared"])
def test_every_resource_is_exported_or_listed(exports: dict, stack: str) -> None:
    plan_doc = build_plan(*run_stack(stack))
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
        aws.ssm.Parameter(
            "token",
            aws.ssm.ParameterArgs(
                type="SecureString", value=pulumi.Output.secret("hunter2"), description="d"
            ),
            opts=pulumi.ResourceOptions(provider=providers.aws),
        )

    files, run = run_stack("dev", program=program)
    document = terraform_plan(files, run, build_plan(files, run))
    assert "hunter2" not in json.dumps(document)
    (change,) = document["resource_changes"]
    assert "value" not in change["change"]["after"] and change["change"]["after"]["description"] == "d"
    assert change["change"]["after_unknown"] == {"value": True}


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
