"""infra/plan.py: the offline plan of the shipped stacks, secrets, and default-provider detection."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest
import yaml
from platform_infra.cli.plan import (
    SECRET_PLACEHOLDER,
    PlanError,
    build_plan,
    read_stack_files,
    render_tree,
    run_stack,
)

from tests.conftest import REPO_ROOT, make_environment, make_providers

ENVIRONMENT_STACKS = ["dev", "staging", "prod"]


def _stack_file(stack: str) -> dict:
    return yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


@pytest.fixture(scope="module")
def plans(shipped_runs) -> dict[str, dict]:
    return {stack: build_plan(*shipped_runs(stack)) for stack in ENVIRONMENT_STACKS}


@pytest.mark.parametrize("stack", ENVIRONMENT_STACKS)
def test_plan_shows_the_role_of_the_stacks_own_account(plans: dict[str, dict], stack: str) -> None:
    plan = plans[stack]
    account = _stack_file(stack)["platform:aws"]["accountId"]
    role_name = _stack_file(stack)["platform:aws"]["deployRoleName"]
    (provider,) = [
        r for r in plan["resources"] if r["type"] == "pulumi:providers:aws" and r["name"] == f"{stack}-aws"
    ]
    # The role is in the job's profile, not in the provider's inputs (platform_infra.aws_profile).
    assert "assumeRoles" not in provider["inputs"]
    assert provider["inputs"]["profile"] == _stack_file(stack)["platform:aws"]["profile"]
    assert provider["inputs"]["allowedAccountIds"] == [account]
    assert plan["outputs"]["awsDeployRoleArn"] == f"arn:aws:iam::{account}:role/{role_name}"


@pytest.mark.parametrize("stack", ENVIRONMENT_STACKS)
def test_plan_document_has_the_documented_shape(plans: dict[str, dict], stack: str) -> None:
    plan = plans[stack]
    assert plan["stack"] == stack
    assert plan["project"] == "platform"
    for resource in plan["resources"]:
        assert {"urn", "type", "name", "parent", "provider", "inputs"} <= resource.keys()
        if resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
            assert resource["provider"], f"{resource['urn']} has no explicit provider"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_encrypted_config_is_substituted_and_shown_only_as_secret(plans: dict[str, dict], stack: str) -> None:
    plan = plans[stack]
    assert plan["substitutedSecrets"] == ["platform:awsExternalId"]
    text = json.dumps(plan)
    assert SECRET_PLACEHOLDER not in text
    # The external id goes into the job's AWS profile (infra aws-profile), never into a provider input.
    provider = next(r for r in plan["resources"] if r["type"] == "pulumi:providers:aws")
    assert "[secret]" not in json.dumps(provider["inputs"])


def test_dev_has_no_encrypted_config(plans: dict[str, dict]) -> None:
    assert plans["dev"]["substitutedSecrets"] == []


def test_secret_inputs_are_redacted_everywhere() -> None:
    def program() -> None:
        providers = make_providers(make_environment("dev"))
        aws.ssm.Parameter(
            "token",
            aws.ssm.ParameterArgs(type="SecureString", value=pulumi.Output.secret("hunter2-value")),
            opts=pulumi.ResourceOptions(provider=providers.aws),
        )
        pulumi.export("leak", pulumi.Output.secret("hunter2-output"))

    files, run = run_stack("dev", program=program)
    plan = build_plan(files, run)
    text = json.dumps(plan)
    assert "hunter2" not in text
    parameter = next(r for r in plan["resources"] if r["type"] == "aws:ssm/parameter:Parameter")
    assert parameter["inputs"]["value"] == "[secret]"
    assert plan["outputs"]["leak"] == "[secret]"
    assert "hunter2" not in render_tree(plan)


def test_resource_on_a_default_provider_fails_the_plan() -> None:
    def program() -> None:
        aws.sns.Topic("orphan")

    files, run = run_stack("dev", program=program)
    with pytest.raises(PlanError, match=r"default providers are disabled.*aws:sns/topic:Topic 'orphan'"):
        build_plan(files, run)


def test_options_that_protect_resources_are_shown() -> None:
    def program() -> None:
        providers = make_providers(make_environment("prod"))
        aws.sns.Topic(
            "kept",
            opts=pulumi.ResourceOptions(provider=providers.aws, protect=True, ignore_changes=["displayName"]),
        )

    plan = build_plan(*run_stack("prod", program=program))
    topic = next(r for r in plan["resources"] if r["name"] == "kept")
    assert topic["options"]["protect"] is True
    assert topic["options"]["ignoreChanges"] == ["displayName"]
    assert "{protect; ignoreChanges=displayName}" in render_tree(plan)


def test_unknown_stack_lists_the_known_ones() -> None:
    with pytest.raises(PlanError, match=r"Pulumi.qa.yaml not found; known stacks: .*dev.*prod.*staging"):
        read_stack_files("qa")


def test_overrides_replace_stack_file_values_and_nested_secure_values_are_substituted() -> None:
    files = read_stack_files(
        "dev", overrides={"platform:tier": "staging", "platform:extra": {"nested": {"secure": "v1:abc"}}}
    )
    assert files.config["platform:tier"] == "staging"
    assert json.loads(files.config["platform:extra"]) == {"nested": SECRET_PLACEHOLDER}
    assert "platform:extra" in files.secret_keys
    assert files.disabled_default_providers == ["*"]


def test_tree_nests_children_under_their_component(plans: dict[str, dict]) -> None:
    lines = render_tree(plans["dev"]).splitlines()
    component = next(i for i, line in enumerate(lines) if "platform:env:EnvironmentProviders  dev" in line)
    provider = next(i for i, line in enumerate(lines) if "pulumi:providers:aws  dev-aws" in line)
    indent = len(lines[component]) - len(lines[component].lstrip())
    assert provider > component
    assert len(lines[provider]) - len(lines[provider].lstrip()) == indent + 4
