"""``infra plan diff``: added, removed and changed resources, secrets as [secret], staging/prod parity."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from platform_infra.cli.main import main
from platform_infra.cli.mocks import SECRET_SIG, SIG_KEY
from platform_infra.cli.plan import SECRET_PLACEHOLDER
from platform_infra.cli.plan_diff import allowed_reason, diff_plans, flatten, render_markdown

pytestmark = pytest.mark.usefixtures("shipped_command_runs")
"""Commands over a shipped stack as is read the session's shared run of it (tests/conftest.py)."""


def resource(stack: str, type_: str, name: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A plan entry shaped like ``infra plan --json`` writes it."""
    return {
        "urn": f"urn:pulumi:{stack}::platform::{type_}::{name}",
        "type": type_,
        "name": name,
        "parent": None,
        "provider": f"urn:pulumi:{stack}::platform::pulumi:providers:aws::{stack}-aws",
        "custom": True,
        "inputs": inputs,
        **extra,
    }


def plan(stack: str, resources: list[dict[str, Any]], **outputs: Any) -> dict[str, Any]:
    """A plan document."""
    return {
        "stack": stack,
        "project": "platform",
        "substitutedSecrets": [],
        "outputs": outputs,
        "resources": resources,
    }


TOPIC = "aws:sns/topic:Topic"
LOGS = "aws:cloudwatch/logGroup:LogGroup"
SECRET_TYPE = "azure-native:keyvault:Secret"


@pytest.fixture
def base() -> dict[str, Any]:
    return plan(
        "dev",
        [
            resource("dev", TOPIC, "alerts", {"name": "dev-alerts", "kmsMasterKeyId": "alias/aws/sns"}),
            resource("dev", LOGS, "app-logs", {"retentionInDays": 30, "tags": {"environment": "dev"}}),
            resource("dev", SECRET_TYPE, "db-password", {"properties": {"value": "[secret]"}}),
            resource("dev", "aws:sqs/queue:Queue", "old-queue", {"name": "old"}),
        ],
        environment="dev",
    )


def test_added_removed_and_changed_resources(base: dict[str, Any]) -> None:
    head = copy.deepcopy(base)
    head["resources"] = [r for r in head["resources"] if r["name"] != "old-queue"]
    head["resources"][1]["inputs"]["retentionInDays"] = 90
    head["resources"][1]["inputs"]["tags"]["team"] = "payments"
    head["resources"].append(
        resource("dev", "aws:cloudwatch/metricAlarm:MetricAlarm", "errors", {"alarmActions": []})
    )
    head["outputs"]["topicArn"] = "arn:aws:sns:eu-west-1:111111111111:dev-alerts"

    diff = diff_plans(base, head)
    assert diff.added == [("aws:cloudwatch/metricAlarm:MetricAlarm", "errors")]
    assert diff.removed == [("aws:sqs/queue:Queue", "old-queue")]
    assert [(r.name, [(c.path, c.base, c.head) for c in r.changes]) for r in diff.changed] == [
        ("app-logs", [("retentionInDays", 30, 90), ("tags.team", None, "payments")])
    ]
    assert diff.unchanged == 2
    text = render_markdown(diff)
    assert "**1 to add, 1 to change, 1 to remove** (2 unchanged)" in text
    assert "### Added" in text and "| `aws:cloudwatch/metricAlarm:MetricAlarm` | `errors` |" in text
    assert "### Removed" in text and "`old-queue`" in text
    assert "#### `aws:cloudwatch/logGroup:LogGroup` `app-logs`" in text
    assert "| `retentionInDays` | `30` | `90` |" in text
    assert "| `tags.team` | _(absent)_ | `payments` |" in text
    assert "| `topicArn` | _(absent)_ |" in text


def test_no_changes(base: dict[str, Any]) -> None:
    diff = diff_plans(base, copy.deepcopy(base))
    assert diff.is_empty
    assert "No changes (4 resources unchanged)." in render_markdown(diff)


def test_secret_values_only_as_secret(base: dict[str, Any]) -> None:
    head = copy.deepcopy(base)
    secret = head["resources"][2]["inputs"]["properties"]
    # Whatever a plan holds where a secret is (the redaction, a raw secret wrapper, the offline placeholder),
    # the diff shows [secret] and never the value.
    secret["value"] = {SIG_KEY: SECRET_SIG, "value": "hunter2-new-password"}
    secret["contentType"] = f"prefix-{SECRET_PLACEHOLDER}"
    head["outputs"]["adminPassword"] = {SIG_KEY: SECRET_SIG, "value": "hunter2-output"}
    text = render_markdown(diff_plans(base, head))
    assert "hunter2" not in text and SECRET_PLACEHOLDER not in text
    assert "| `properties.contentType` | _(absent)_ | `[secret]` |" in text
    assert "| `adminPassword` | _(absent)_ | `[secret]` |" in text
    # A secret whose value changed is indistinguishable from an unchanged one: nothing leaks by comparison.
    assert "properties.value" not in text


def test_json_policy_documents_are_compared_by_statement() -> None:
    role = "aws:iam/role:Role"
    before = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/a"}}]}
    after = copy.deepcopy(before)
    after["Statement"][0]["Principal"]["AWS"] = "*"
    diff = diff_plans(
        plan("dev", [resource("dev", role, "deploy", {"assumeRolePolicy": json.dumps(before)})]),
        plan("dev", [resource("dev", role, "deploy", {"assumeRolePolicy": json.dumps(after)})]),
    )
    [change] = diff.changed[0].changes
    assert (change.path, change.base, change.head) == (
        "assumeRolePolicy.Statement[0].Principal.AWS",
        "arn:aws:iam::1:role/a",
        "*",
    )


def test_flatten() -> None:
    assert flatten({"a": {"b": [1, {"c": 2}]}, "e": {}, "f": []}) == {
        "a.b[0]": 1,
        "a.b[1].c": 2,
        "e": {},
        "f": [],
    }


def test_parity_normalises_environment_names_and_classifies_differences() -> None:
    def stack(env: str, account: str, sku: str, retention: int, extra: dict[str, Any]) -> dict[str, Any]:
        return plan(
            env,
            [
                resource(
                    env,
                    "azure-native:web:AppServicePlan",
                    f"{env}-plan",
                    {"name": f"plan-{env}", "sku": {"name": sku, "capacity": 1 if env == "staging" else 3}},
                ),
                # A blue/green slot named like the staging environment exists in both stacks.
                resource(env, "azure-native:web:WebAppSlot", "api-staging", {"slot": "staging", **extra}),
                resource(
                    env,
                    LOGS,
                    "app",
                    {"retentionInDays": retention, "tags": {"cost-centre": f"CC-{retention}"}},
                ),
                resource(
                    env,
                    "aws:sns/topicPolicy:TopicPolicy",
                    "policy",
                    {
                        "policy": json.dumps(
                            {"Statement": [{"Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}
                        )
                    },
                ),
            ],
            environment=env,
            awsAccountId=account,
        )

    staging = stack("staging", "222222222222", "P0v3", 30, {"httpsOnly": True})
    prod = stack("prod", "333333333333", "P1v3", 365, {"httpsOnly": False})
    prod["resources"].append(resource("prod", TOPIC, "prod-only", {}))

    diff = diff_plans(staging, prod, parity=True)
    assert diff.added == [(TOPIC, "prod-only")] and diff.removed == []
    expected = {(r.name, c.path, c.reason) for r, c in diff.expected}
    assert expected == {
        ("prod-plan", "sku.name", "size/capacity"),
        ("prod-plan", "sku.capacity", "size/capacity"),
        ("app", "retentionInDays", "retention"),
        ("app", "tags.cost-centre", "environment label"),
        ("policy", "policy.Statement[0].Principal.AWS", "account/subscription id"),
    }
    assert [(r.name, c.path, c.base, c.head) for r, c in diff.unexpected] == [
        ("api-staging", "httpsOnly", True, False)
    ]
    text = render_markdown(diff)
    assert "## Parity: `staging` vs `prod`" in text
    assert "**1 unexpected difference(s)**, 5 expected, 0 only in `staging`, 1 only in `prod`" in text
    assert "| `azure-native:web:WebAppSlot` `api-staging` | `httpsOnly` | `true` | `false` |" in text
    assert "| `awsAccountId` | `222222222222` | `333333333333` | account/subscription id |" in text


def test_allowed_reasons() -> None:
    assert allowed_reason("sku.tier", "Standard", "PremiumV3") == "size/capacity"
    assert allowed_reason("properties.softDeleteRetentionInDays", 7, 90) == "retention"
    assert allowed_reason("vaultName", "kv-a", "kv-b") == "name"
    sub_a, sub_b = "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"
    assert allowed_reason("scope", f"/subscriptions/{sub_a}/x", f"/subscriptions/{sub_b}/x") == (
        "account/subscription id"
    )
    assert allowed_reason("(options).protect", False, True) == "tier hardening"
    assert allowed_reason("properties.enablePurgeProtection", None, True) == ""
    assert allowed_reason("siteConfig.minTlsVersion", "1.2", "1.0") == ""


def test_cli_plan_diff_of_real_plans(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base_file, head_file, out = tmp_path / "base.json", tmp_path / "head.json", tmp_path / "diff.md"
    assert main(["plan", "dev", "--json", "-o", str(base_file)]) == 0
    head = json.loads(base_file.read_text())
    removed = next(r for r in reversed(head["resources"]) if r["custom"])
    head["resources"].remove(removed)
    changed = next(r for r in head["resources"] if r["custom"] and r["inputs"])
    first_key = next(iter(changed["inputs"]))
    changed["inputs"][first_key] = "changed-by-test"
    head_file.write_text(json.dumps(head))
    assert main(["plan", "diff", str(base_file), str(head_file), "-o", str(out)]) == 0
    text = out.read_text()
    assert "## Offline plan diff: `dev`" in text
    assert f"`{removed['name']}`" in text.split("### Removed", 1)[1]
    assert f"| `{first_key}` |" in text and "`changed-by-test`" in text
    assert main(["plan", "diff", str(base_file), str(tmp_path / "missing.json")]) == 2
    assert "not a readable plan document" in capsys.readouterr().err


def test_cli_plan_diff_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"stack": "dev", "project": "platform", "outputs": {}, "resources": []}))
    assert main(["plan", "diff", "--strict", str(plan_file), str(plan_file)]) == 2
    assert (
        capsys.readouterr().err
        == "error: --strict only applies with --parity (a plain diff always exits 0)\n"
    )
    target = tmp_path / "missing-dir" / "diff.md"
    assert main(["plan", "diff", str(plan_file), str(plan_file), "-o", str(target)]) == 2
    assert capsys.readouterr().err == f"error: cannot write {target}: No such file or directory\n"
