"""Each rule of policy/rules.py with a passing and a failing synthetic resource, called as the CLI would."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from platform_infra.cli.main import policy_pack_path as policy_pack_path
from platform_infra.policy.rules import FIX_SEPARATOR, POLICIES, policy_named, stack_of
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
)

EXPLICIT = PolicyProviderResource(
    "pulumi:providers:aws", {}, "urn:pulumi:dev::platform::pulumi:providers:aws::dev-aws", "dev-aws"
)


def violations(
    rule: str,
    resource_type: str,
    props: Mapping[str, Any],
    *,
    stack: str = "dev",
    provider: PolicyProviderResource | None = EXPLICIT,
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """What ``rule`` reports for one resource (messages, each ending with the fix)."""
    found: list[str] = []
    args = ResourceValidationArgs(
        resource_type=resource_type,
        props=props,
        urn=f"urn:pulumi:{stack}::platform::{resource_type}::thing",
        name="thing",
        opts=PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), []),
        provider=provider,
        config=config,
    )

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    assert policy_named(rule).validate(args, report) is None
    return found


GOOD_APP = {
    "httpsOnly": True,
    "identity": {"type": "SystemAssigned"},
    "siteConfig": {"minTlsVersion": "1.2", "ftpsState": "Disabled", "healthCheckPath": "/healthz"},
}
GOOD_VAULT = {
    "properties": {
        "enableRbacAuthorization": True,
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enablePurgeProtection": True,
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"},
        "tenantId": "t",
        "sku": {"family": "A", "name": "standard"},
    }
}
PIPELINE = "arn:aws:iam::444444444444:role/platform-pipeline"


def trust(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A role whose trust policy holds one Allow sts:AssumeRole statement (as a JSON string, like the SDK)."""
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", **statement}],
    }
    return {"assumeRolePolicy": json.dumps(document)}


def permissions(action: Any, resource: Any) -> dict[str, Any]:
    """A permission policy input with one Allow statement."""
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }
    return {"policy": json.dumps(document)}


def with_site(**site: Any) -> dict[str, Any]:
    """GOOD_APP with some siteConfig values replaced."""
    return {**GOOD_APP, "siteConfig": {**GOOD_APP["siteConfig"], **site}}


def with_vault(**properties: Any) -> dict[str, Any]:
    """GOOD_VAULT with some properties replaced."""
    return {"properties": {**GOOD_VAULT["properties"], **properties}}


WEB_APP = "azure-native:web:WebApp"
SLOT = "azure-native:web:WebAppSlot"
VAULT = "azure-native:keyvault:Vault"
ROLE = "aws:iam/role:Role"
GITHUB = "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com"

# (rule, resource type, passing inputs, failing inputs, fragment of the failure message)
GITHUB_HOST = "token.actions.githubusercontent.com"
CASES = [
    ("appservice-https-only", WEB_APP, GOOD_APP, {**GOOD_APP, "httpsOnly": False}, "httpsOnly"),
    (
        "appservice-https-only",
        SLOT,
        GOOD_APP,
        {k: v for k, v in GOOD_APP.items() if k != "httpsOnly"},
        "httpsOnly",
    ),
    (
        "appservice-min-tls-1-2",
        WEB_APP,
        with_site(minTlsVersion="1.3"),
        with_site(minTlsVersion="1.1"),
        "TLS 1.2",
    ),
    ("appservice-min-tls-1-2", SLOT, GOOD_APP, with_site(scmMinTlsVersion="1.0"), "scmMinTlsVersion"),
    ("appservice-ftps-disabled", WEB_APP, GOOD_APP, with_site(ftpsState="FtpsOnly"), "ftpsState"),
    ("appservice-ftps-disabled", SLOT, GOOD_APP, with_site(ftpsState="AllAllowed"), "ftpsState"),
    ("appservice-health-check", WEB_APP, GOOD_APP, with_site(healthCheckPath=None), "healthCheckPath"),
    ("appservice-health-check", SLOT, GOOD_APP, with_site(healthCheckPath=""), "healthCheckPath"),
    (
        "appservice-managed-identity",
        WEB_APP,
        GOOD_APP,
        {**GOOD_APP, "identity": {"type": "None"}},
        "identity",
    ),
    (
        "appservice-managed-identity",
        SLOT,
        {**GOOD_APP, "identity": {"type": "SystemAssigned, UserAssigned"}},
        {k: v for k, v in GOOD_APP.items() if k != "identity"},
        "identity",
    ),
    ("keyvault-rbac-authorization", VAULT, GOOD_VAULT, with_vault(enableRbacAuthorization=False), "Rbac"),
    (
        "keyvault-rbac-authorization",
        VAULT,
        GOOD_VAULT,
        with_vault(accessPolicies=[{"objectId": "x"}]),
        "access",
    ),
    (
        "keyvault-soft-delete",
        VAULT,
        with_vault(enableSoftDelete=None),
        with_vault(enableSoftDelete=False),
        "Soft",
    ),
    ("keyvault-soft-delete", VAULT, GOOD_VAULT, with_vault(softDeleteRetentionInDays=3), "7 to 90"),
    (
        "keyvault-network-default-deny",
        VAULT,
        GOOD_VAULT,
        with_vault(networkAcls={"defaultAction": "Allow"}),
        "Deny",
    ),
    (
        "keyvault-network-default-deny",
        VAULT,
        with_vault(publicNetworkAccess="Disabled", networkAcls=None),
        with_vault(networkAcls=None),
        "defaultAction",
    ),
    (
        "cloudwatch-log-retention",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 30.0},
        {"retentionInDays": 42},
        "42",
    ),
    (
        "cloudwatch-log-retention",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 3653},
        {"name": "x"},
        "None",
    ),
    (
        "sns-topic-encrypted",
        "aws:sns/topic:Topic",
        {"kmsMasterKeyId": "alias/aws/sns"},
        {"name": "t"},
        "kmsMasterKeyId",
    ),
    (
        "alarm-has-actions",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        {"alarmActions": ["arn:aws:sns:eu-west-1:111111111111:alerts"]},
        {"alarmActions": []},
        "alarmActions",
    ),
    (
        "alarm-has-actions",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        {"alarmActions": ["arn:aws:sns:eu-west-1:111111111111:alerts"], "actionsEnabled": True},
        {"alarmActions": ["arn:aws:sns:eu-west-1:111111111111:alerts"], "actionsEnabled": False},
        "actionsEnabled",
    ),
    (
        "alarm-has-actions",
        "azure-native:monitor:MetricAlert",
        {"actions": [{"actionGroupId": "/subscriptions/x/actionGroups/ops"}], "enabled": True},
        {"actions": [], "enabled": True},
        "actions is empty",
    ),
    (
        "iam-role-trust-named-principals",
        ROLE,
        trust({"Principal": {"AWS": PIPELINE}}),
        trust({"Principal": "*"}),
        "'*'",
    ),
    (
        "iam-role-trust-named-principals",
        ROLE,
        trust({"Principal": {"Service": "lambda.amazonaws.com"}}),
        trust({"Principal": {"AWS": [PIPELINE, "*"]}}),
        "any principal",
    ),
    (
        "iam-role-trust-named-principals",
        ROLE,
        trust(
            {
                "Principal": {"Federated": GITHUB},
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:sub": "repo:org/infra:ref:refs/heads/main"
                    }
                },
            }
        ),
        trust(
            {
                "Principal": {"Federated": GITHUB},
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
                },
            }
        ),
        ":sub",
    ),
    (
        "iam-role-trust-named-principals",
        ROLE,
        trust({"Principal": {"AWS": PIPELINE}, "NotPrincipal": None}),
        {"assumeRolePolicy": "not json"},
        "not a JSON policy document",
    ),
    (
        "iam-no-star-star",
        "aws:iam/policy:Policy",
        permissions("s3:GetObject", "*"),
        permissions("*", "*"),
        "'*:*'",
    ),
    (
        "iam-no-star-star",
        "aws:iam/rolePolicy:RolePolicy",
        permissions("*", "arn:aws:s3:::b/*"),
        permissions(["*:*"], ["*"]),
        "'*:*'",
    ),
    (
        "iam-no-star-star",
        ROLE,
        {**trust({"Principal": {"AWS": PIPELINE}}), "inlinePolicies": [permissions("sts:AssumeRole", "*")]},
        {**trust({"Principal": {"AWS": PIPELINE}}), "inlinePolicies": [permissions("*", "*")]},
        "inlinePolicies[0]",
    ),
    (
        "iam-administrator-access",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        "AdministratorAccess",
    ),
    (
        "iam-administrator-access",
        ROLE,
        {"managedPolicyArns": ["arn:aws:iam::111111111111:policy/deploy"]},
        {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
        "managedPolicyArns",
    ),
    (
        "iam-trust-account-root",
        ROLE,
        trust({"Principal": {"AWS": PIPELINE}}),
        trust({"Principal": {"AWS": "arn:aws:iam::444444444444:root"}}),
        "whole account",
    ),
    (
        "iam-no-privilege-escalation",
        "aws:iam/rolePolicy:RolePolicy",
        {
            "policy": json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "iam:PassRole",
                            "Resource": "arn:aws:iam::111111111111:role/platform/*",
                            "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
                        }
                    ]
                }
            )
        },
        permissions(["iam:PassRole", "lambda:*"], "*"),
        "iam:PassRole on every role",
    ),
    (
        "iam-role-changes-need-boundary",
        "aws:iam/rolePolicy:RolePolicy",
        {
            "policy": json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "iam:CreateRole",
                            "Resource": "arn:aws:iam::111111111111:role/platform/*",
                            "Condition": {
                                "StringEquals": {
                                    "iam:PermissionsBoundary": "arn:aws:iam::111111111111:policy/platform/b"
                                }
                            },
                        }
                    ]
                }
            )
        },
        permissions("iam:CreateRole", "arn:aws:iam::111111111111:role/platform/*"),
        "iam:CreateRole without the iam:PermissionsBoundary condition",
    ),
    (
        "iam-pull-request-trust-read-only",
        ROLE,
        {
            **trust(
                {
                    "Principal": {"Federated": GITHUB},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"token.actions.githubusercontent.com:sub": "repo:o/r:pull_request"}
                    },
                }
            ),
            "tags": {"platform:access": "read-only"},
        },
        {
            **trust(
                {
                    "Principal": {"Federated": GITHUB},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    # A wildcard admits repo:o/r:pull_request as well.
                    "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:o/r:*"}},
                }
            ),
            "tags": {"platform:access": "deploy"},
        },
        "admits pull-request tokens",
    ),
    (
        # With the customised subject template [repo, context, ref] a pull request presents
        # repo:o/r:pull_request:ref:refs/pull/<n>/merge: the per-pull-request pattern is caught too.
        "iam-pull-request-trust-read-only",
        ROLE,
        {
            **trust(
                {
                    "Principal": {"Federated": GITHUB},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{GITHUB_HOST}:sub": "repo:o/r:environment:prod:ref:refs/heads/main"
                        }
                    },
                }
            ),
            "tags": {"platform:access": "deploy"},
        },
        {
            **trust(
                {
                    "Principal": {"Federated": GITHUB},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringLike": {f"{GITHUB_HOST}:sub": "repo:o/r:pull_request:ref:refs/pull/*/merge"}
                    },
                }
            ),
            "tags": {"platform:access": "deploy"},
        },
        "admits pull-request tokens",
    ),
]


@pytest.mark.parametrize(("rule", "resource_type", "good", "bad", "fragment"), CASES)
def test_rule_passes_good_and_fails_bad_resource(
    rule: str, resource_type: str, good: dict[str, Any], bad: dict[str, Any], fragment: str
) -> None:
    assert violations(rule, resource_type, good) == []
    found = violations(rule, resource_type, bad)
    assert found, f"{rule} accepted {bad}"
    assert any(fragment in message for message in found), found
    # Every message says how to fix it, with the rule's remediation text.
    assert all(
        message.endswith(FIX_SEPARATOR + (policy_named(rule).remediation_steps or "")) for message in found
    )


def test_every_rule_has_cases() -> None:
    tested = {case[0] for case in CASES} | {
        "keyvault-purge-protection-prod",
        "explicit-provider",
        "cloudwatch-audit-log-group-cmk-prod",
    }
    assert tested == {policy.name for policy in POLICIES}


def test_rules_ignore_other_resource_types() -> None:
    assert violations("appservice-https-only", "azure-native:web:AppServicePlan", {}) == []
    assert violations("keyvault-rbac-authorization", "azure-native:keyvault:Secret", {}) == []
    assert violations("cloudwatch-log-retention", "aws:sns/topic:Topic", {}) == []


def test_purge_protection_applies_to_prod_stacks_only() -> None:
    off = with_vault(enablePurgeProtection=False)
    assert violations("keyvault-purge-protection-prod", VAULT, GOOD_VAULT, stack="prod") == []
    assert violations("keyvault-purge-protection-prod", VAULT, off, stack="dev") == []
    found = violations("keyvault-purge-protection-prod", VAULT, off, stack="prod")
    assert found and "production stack 'prod'" in found[0]
    # The pack config names which stacks are production (infra check derives it from platform:tier).
    assert violations(
        "keyvault-purge-protection-prod", VAULT, off, stack="live", config={"prodStacks": ["live"]}
    )
    assert (
        violations("keyvault-purge-protection-prod", VAULT, off, stack="prod", config={"prodStacks": []})
        == []
    )


def test_external_id_required_only_for_configured_accounts() -> None:
    without = trust({"Principal": {"AWS": PIPELINE}})
    in_prod = PolicyProviderResource(
        "pulumi:providers:aws",
        # The engine hands list inputs of a provider over JSON-encoded.
        {"allowedAccountIds": '["333333333333"]'},
        "urn:pulumi:shared::platform::pulumi:providers:aws::target-prod-aws",
        "target-prod-aws",
    )
    in_dev = PolicyProviderResource(
        "pulumi:providers:aws",
        {"allowedAccountIds": ["111111111111"]},
        "urn:x::target-dev-aws",
        "target-dev-aws",
    )
    prod_only = {"externalIdAccounts": ["333333333333"]}
    rule = "iam-role-trust-named-principals"
    assert violations(rule, ROLE, without, provider=in_prod) == []
    found = violations(rule, ROLE, without, provider=in_prod, config=prod_only)
    assert found and "sts:ExternalId" in found[0] and PIPELINE in found[0] and "333333333333" in found[0]
    assert violations(rule, ROLE, without, provider=in_dev, config=prod_only) == []
    assert violations(rule, ROLE, without, provider=in_dev, config={"externalIdAccounts": ["*"]})
    with_id = trust(
        {"Principal": {"AWS": PIPELINE}, "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}}
    )
    assert violations(rule, ROLE, with_id, provider=in_prod, config=prod_only) == []
    # Services do not present external ids; the requirement is for AWS principals only.
    service = trust({"Principal": {"Service": "lambda.amazonaws.com"}})
    assert violations(rule, ROLE, service, provider=in_prod, config=prod_only) == []


def test_deny_statements_are_not_grants() -> None:
    deny = {"policy": json.dumps({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})}
    assert violations("iam-no-star-star", "aws:iam/policy:Policy", deny) == []


def test_explicit_provider_rule() -> None:
    default = PolicyProviderResource(
        "pulumi:providers:aws",
        {},
        "urn:pulumi:dev::platform::pulumi:providers:aws::default_7_51_1",
        "default_7_51_1",
    )
    topic = "aws:sns/topic:Topic"
    assert violations("explicit-provider", topic, {}, provider=EXPLICIT) == []
    assert "default provider" in violations("explicit-provider", topic, {}, provider=default)[0]
    assert violations("explicit-provider", topic, {}, provider=None)
    # Components have no provider of their own.
    assert violations("explicit-provider", "platform:app:BlueGreenAppService", {}, provider=None) == []


def test_enforcement_levels() -> None:
    advisory = {p.name for p in POLICIES if p.enforcement_level is EnforcementLevel.ADVISORY}
    assert advisory == {"iam-administrator-access", "iam-trust-account-root"}
    assert all(p.remediation_steps for p in POLICIES)


def test_stack_of_urn() -> None:
    assert stack_of("urn:pulumi:prod::platform::azure-native:keyvault:Vault::v") == "prod"
    assert stack_of("not-a-urn") == ""


def test_policy_pack_starts_and_serves(tmp_path: Path) -> None:
    """`python <pack folder>` (what the CLI runs) builds the pack and prints the analyzer's port.

    The folder is the one `infra policy-path` prints: inside the installed package, not this repository.
    """
    pack = Path(policy_pack_path())
    errors = tmp_path / "stderr"
    with errors.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(pack)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline().decode().strip()
        finally:
            process.kill()
            process.wait()
    assert line.isdigit(), (line, errors.read_text())
    assert (pack / "PulumiPolicy.yaml").read_text().count("name: python") == 1


def test_prod_audit_log_groups_need_a_customer_managed_key() -> None:
    rule = "cloudwatch-audit-log-group-cmk-prod"
    config = {"prodStacks": ["prod"]}
    group = "aws:cloudwatch/logGroup:LogGroup"
    bad = {"name": "/platform/prod/audit", "retentionInDays": 2557}
    good = {**bad, "kmsKeyId": "arn:aws:kms:eu-west-1:333333333333:key/abc"}
    assert violations(rule, group, good, stack="prod", config=config) == []
    [message] = violations(rule, group, bad, stack="prod", config=config)
    assert "customer-managed KMS key" in message
    # Not prod, or not an audit group: no finding.
    assert violations(rule, group, bad, stack="dev", config=config) == []
    assert violations(rule, group, {"name": "/platform/prod/api"}, stack="prod", config=config) == []


def stack_violations(
    resources: list[Any], rule: str = "s3-state-bucket-access-logging"
) -> list[tuple[str, str]]:
    """What a stack rule reports for ``resources``: (URN, message) pairs."""
    from platform_infra.policy.rules import stack_policy_named
    from pulumi_policy import StackValidationArgs

    found: list[tuple[str, str]] = []
    stack_policy_named(rule).validate(
        StackValidationArgs(resources), lambda message, urn=None: found.append((urn or "", message))
    )
    return found


def policy_resource(type_: str, name: str, props: Mapping[str, Any]) -> Any:
    from pulumi_policy import PolicyResource

    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    urn = f"urn:pulumi:shared::platform::{type_}::{name}"
    return PolicyResource(type_, props, urn, name, options, None, None, [], {})


BUCKET = "aws:s3/bucket:Bucket"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
STATE_TAGS = {"platform:purpose": "pulumi-state"}


def test_state_bucket_access_logging_stack_rule() -> None:
    state = policy_resource(BUCKET, "state", {"bucket": "acme-state", "tags": STATE_TAGS})
    logs = policy_resource(BUCKET, "logs", {"bucket": "acme-logs"})
    plain = policy_resource(BUCKET, "plain", {"bucket": "acme-assets"})
    # Failing fixture: the state bucket has no logging (the untagged bucket is not judged).
    [(urn, message)] = stack_violations([state, logs, plain])
    assert urn == state.urn and "acme-state has no server access logging" in message
    assert message.endswith(
        FIX_SEPARATOR + "declare aws.s3.BucketLogging(bucket=<state bucket>, "
        "target_bucket=<a separate log bucket with expiring objects>), as AwsStateBackend does."
    )
    # Passing fixture: logging into the separate bucket, linked by value (outputs known)...
    by_value = policy_resource(LOGGING, "log", {"bucket": "acme-state", "targetBucket": "acme-logs"})
    assert stack_violations([state, logs, by_value]) == []
    # ... or by the property dependency the engine reports (value unknown in a preview).
    by_dependency = policy_resource(LOGGING, "log", {"targetBucket": "acme-logs"})
    by_dependency.property_dependencies = {"bucket": [state]}
    assert stack_violations([state, logs, by_dependency]) == []
    # Logging of another bucket does not count; logging into itself is refused.
    other = policy_resource(LOGGING, "log", {"bucket": "acme-assets", "targetBucket": "acme-logs"})
    assert [u for u, _ in stack_violations([state, plain, other])] == [state.urn]
    itself = policy_resource(LOGGING, "log", {"bucket": "acme-state", "targetBucket": "acme-state"})
    [(_, message)] = stack_violations([state, itself])
    assert "into itself" in message
    # Provider default tags reach the bucket's tagsAll only: the purpose counts there too.
    via_default_tags = policy_resource(BUCKET, "state", {"bucket": "acme-state", "tagsAll": STATE_TAGS})
    assert stack_violations([via_default_tags])


def test_state_bucket_rule_tolerates_unknown_values() -> None:
    """In a preview the engine hands unknown outputs behind pulumi-policy's proxy; reading one raises."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as unknown
    from pulumi_policy.proxy import unknown_checking_proxy

    state = policy_resource(BUCKET, "state", unknown_checking_proxy({"bucket": "s", "tags": STATE_TAGS}))
    log = policy_resource(
        LOGGING, "log", unknown_checking_proxy({"bucket": unknown, "targetBucket": unknown})
    )
    assert [u for u, _ in stack_violations([state, log])] == [state.urn]
    log.property_dependencies = {"bucket": [state]}
    assert stack_violations([state, log]) == []
