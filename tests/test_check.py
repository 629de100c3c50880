"""``infra check``: the policy rules over offline plans of the shipped stacks and of broken configurations."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pytest
from platform_infra.cli.check import check_stack, evaluate, parse_overrides, policy_config
from platform_infra.cli.main import main
from platform_infra.cli.mocks import MockRun
from platform_infra.environment import Tier
from platform_infra.policy.rules import ALL_POLICIES, STACK_POLICIES

from tests.conftest import REPO_ROOT, RunProgram, ShippedRuns, make_environment, make_providers

pytestmark = pytest.mark.usefixtures("shipped_command_runs")
"""Commands over a shipped stack as is read the session's shared run of it (tests/conftest.py)."""

SHIPPED_STACKS = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO_ROOT.glob("Pulumi.*.yaml")
)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stacks_pass(stack: str) -> None:
    result = check_stack(stack)
    assert result.checked > 0
    assert result.mandatory == [], [f"{v.rule}: {v.resource_name}: {v.message}" for v in result.mandatory]


def test_broken_config_fails_naming_rule_resource_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    # dev's config may open the vault firewall; the policy may not.
    code = main(["check", "dev", "--set", "platform:vault.defaultAction=Allow"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[MANDATORY] keyvault-network-default-deny: azure-native:keyvault:Vault" in out
    assert 'fix: set properties.network_acls.default_action="Deny"' in out
    assert "urn:pulumi:dev::platform::" in out
    assert "infra check dev: FAILED - 1 mandatory violation(s)" in out


def test_purge_protection_off_in_prod_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # The config layer refuses it before any resource exists; the rule is the second line of defence.
    code = main(["check", "prod", "--set", "platform:vault.purgeProtection=false"])
    assert code == 2
    assert "platform:vault.purgeProtection" in capsys.readouterr().err


def test_purge_protection_rule_over_a_prod_run(pulumi_run: RunProgram) -> None:
    """A vault declared without purge protection (not through SecretVault) in a prod stack fails the check."""

    def program() -> None:
        providers = make_providers(make_environment(Tier.PROD))
        azure_native.keyvault.Vault(
            "raw-vault",
            azure_native.keyvault.VaultArgs(
                resource_group_name="rg",
                properties=azure_native.keyvault.VaultPropertiesArgs(
                    tenant_id="99999999-9999-4999-8999-999999999999",
                    sku=azure_native.keyvault.SkuArgs(
                        family="A", name=azure_native.keyvault.SkuName.STANDARD
                    ),
                    enable_rbac_authorization=True,
                    network_acls=azure_native.keyvault.NetworkRuleSetArgs(default_action="Deny"),
                ),
            ),
            opts=pulumi.ResourceOptions(provider=providers.azure),
        )

    run = pulumi_run(program, stack="prod")
    config = policy_config("prod", {"platform:tier": "prod"})
    _, violations = evaluate(run, config)
    assert [(v.rule, v.resource_name, v.mandatory) for v in violations] == [
        ("keyvault-purge-protection-prod", "raw-vault", True)
    ]
    # The same vault in a non-production tier passes.
    assert evaluate(run, policy_config("prod", {"platform:tier": "staging"}))[1] == []


def test_default_provider_and_advisory_rules(pulumi_run: RunProgram) -> None:
    def program() -> None:
        providers = make_providers(make_environment())
        aws.sns.Topic("no-provider", kms_master_key_id="alias/aws/sns")
        aws.iam.RolePolicyAttachment(
            "admin",
            role="deploy",
            policy_arn="arn:aws:iam::aws:policy/AdministratorAccess",
            opts=pulumi.ResourceOptions(provider=providers.aws),
        )

    checked, violations = evaluate(pulumi_run(program))
    assert checked == 2
    found = {(v.rule, v.resource_name, v.mandatory) for v in violations}
    assert found == {("explicit-provider", "no-provider", True), ("iam-administrator-access", "admin", False)}


def test_advisory_violations_do_not_fail(pulumi_run: RunProgram) -> None:
    def program() -> None:
        providers = make_providers(make_environment())
        aws.iam.RolePolicyAttachment(
            "admin",
            role="deploy",
            policy_arn="arn:aws:iam::aws:policy/AdministratorAccess",
            opts=pulumi.ResourceOptions(provider=providers.aws),
        )

    from platform_infra.cli.check import CheckResult

    checked, violations = evaluate(pulumi_run(program))
    result = CheckResult(stack="dev", checked=checked, violations=violations, policy_config={})
    assert result.passed and len(result.advisory) == 1


def test_policy_config_from_stack_config() -> None:
    assert policy_config("live", {"platform:tier": "prod"})["keyvault-purge-protection-prod"] == {
        "prodStacks": ["live"]
    }
    assert policy_config("prod", {"platform:tier": "staging"})["keyvault-purge-protection-prod"] == {
        "prodStacks": []
    }
    trust = "iam-role-trust-named-principals"
    aws_config = json.dumps({"accountId": "111111111111", "region": "eu-west-1"})
    assert policy_config("dev", {"platform:aws": aws_config})[trust] == {"externalIdAccounts": []}
    with_id = {"platform:aws": aws_config, "platform:awsExternalId": "placeholder"}
    assert policy_config("dev", with_id)[trust] == {"externalIdAccounts": ["111111111111"]}
    bootstrap = json.dumps(
        {
            "targets": [
                {"name": "dev", "accountId": "111111111111"},
                {"name": "prod", "accountId": "333333333333"},
            ]
        }
    )
    shared = {"platform:bootstrap": bootstrap, "platform:externalId-prod": "placeholder"}
    assert policy_config("shared", shared)[trust] == {"externalIdAccounts": ["333333333333"]}


def test_parse_overrides_keeps_the_rest_of_a_structured_value(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  platform:tier: dev\n  platform:vault:\n    name: kv\n    purgeProtection: true\n"
        "  platform:apps:\n    - name: api\n      sku: S1\n"
    )
    overrides = parse_overrides(
        ["platform:vault.purgeProtection=false", "platform:apps[0].sku=P1v3", "platform:tier=prod"],
        "x",
        tmp_path,
    )
    assert overrides == {
        "platform:vault": {"name": "kv", "purgeProtection": False},
        "platform:apps": [{"name": "api", "sku": "P1v3"}],
        "platform:tier": "prod",
    }


def test_policy_config_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "policy-config.json"
    assert main(["check", "prod", "--policy-config-out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["keyvault-purge-protection-prod"] == {"prodStacks": ["prod"]}
    assert written["iam-role-trust-named-principals"] == {"externalIdAccounts": ["333333333333"]}
    assert "infra check prod: passed" in capsys.readouterr().out


def test_bad_set_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "dev", "--set", "vault=1"]) == 2
    assert "NAMESPACE:KEY" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "platform:tier=[x"], "error: --set 'platform:tier=[x': the value is not valid YAML"),
        (["--set", "platform:=1"], "error: --set 'platform:=1': expected NAMESPACE:KEY[.PATH]=VALUE"),
        (["--set", ":tier=1"], "error: --set ':tier=1': expected NAMESPACE:KEY[.PATH]=VALUE"),
    ],
)
def test_bad_set_values_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "dev", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_unwritable_policy_config_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing-dir" / "policy.json"
    assert main(["check", "shared", "--policy-config-out", str(target)]) == 2
    assert capsys.readouterr().err == f"error: cannot write {target}: No such file or directory\n"


def test_state_bucket_without_access_logging_fails_the_stack_rule(pulumi_run: RunProgram) -> None:
    """The stack rule runs in ``infra check`` over the whole run: a state bucket needs a BucketLogging.

    Failing: a bucket tagged as Pulumi state with no logging. Passing: the same bucket with logging into a
    separate bucket, linked by the Output (a property dependency, as the engine reports it).
    """

    def program(with_logging: bool) -> None:
        providers = make_providers(make_environment())
        opts = pulumi.ResourceOptions(provider=providers.aws)
        state = aws.s3.Bucket(
            "state", bucket="acme-pulumi-state", tags={"platform:purpose": "pulumi-state"}, opts=opts
        )
        logs = aws.s3.Bucket("logs", bucket="acme-pulumi-state-logs", opts=opts)
        if with_logging:
            aws.s3.BucketLogging(
                "state-logging", bucket=state.bucket, target_bucket=logs.bucket, target_prefix="s/", opts=opts
            )

    _, violations = evaluate(pulumi_run(lambda: program(False)))
    assert [(v.rule, v.resource_name, v.mandatory) for v in violations] == [
        ("s3-state-bucket-access-logging", "state", True)
    ]
    assert "acme-pulumi-state has no server access logging" in violations[0].message
    assert violations[0].urn.endswith("aws:s3/bucket:Bucket::state")
    assert evaluate(pulumi_run(lambda: program(True)))[1] == []


def test_stack_rule_sees_property_dependencies_of_the_run(pulumi_run: RunProgram) -> None:
    from platform_infra.cli.check import stack_resources

    def program() -> None:
        providers = make_providers(make_environment())
        opts = pulumi.ResourceOptions(provider=providers.aws)
        state = aws.s3.Bucket("state", bucket="b1", opts=opts)
        aws.s3.BucketLogging("log", bucket=state.bucket, target_bucket="b2", target_prefix="s/", opts=opts)

    resources = {r.name: r for r in stack_resources(pulumi_run(program))}
    assert [d.urn for d in resources["log"].property_dependencies["bucket"]] == [resources["state"].urn]
    assert resources["log"].property_dependencies.get("targetBucket", []) == []
    assert not any(r.resource_type.startswith("pulumi:providers:") for r in resources.values())


def test_shared_stack_state_bucket_is_tagged_and_logged(shipped_runs: ShippedRuns) -> None:
    """The shipped bootstrap stack passes the stack rule, and only because its logging exists: the same run
    without its BucketLogging fails on the state bucket (the tag is there; the replica and the log bucket
    are not state buckets)."""
    _, run = shipped_runs("shared")
    rule = [p for p in ALL_POLICIES if p.name == "s3-state-bucket-access-logging"]
    assert evaluate(run, policies=rule)[1] == []
    without = MockRun(run.stack, run.project, [r for r in run.resources if "BucketLogging" not in r.type])
    failing = evaluate(without, policies=rule)[1]
    assert [(v.resource_type, v.resource_name) for v in failing] == [("aws:s3/bucket:Bucket", "state")]


def test_check_summary_counts_stack_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "dev"]) == 0
    assert f"{len(STACK_POLICIES)} stack rule(s)" in capsys.readouterr().out
