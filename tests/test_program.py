"""stacks/program.py: every shipped stack runs offline, and nothing uses a default provider."""

from __future__ import annotations

import pytest

from infra.plan import PROJECT_ROOT

SHIPPED_STACKS = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in PROJECT_ROOT.glob("Pulumi.*.yaml")
)


def test_the_three_environments_are_shipped() -> None:
    assert {"dev", "staging", "prod"} <= set(SHIPPED_STACKS)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_resource_uses_an_explicit_provider_of_this_run(stack_run, stack: str) -> None:
    run = stack_run(stack)
    provider_urns = {r.urn for r in run.resources if r.is_provider}
    custom = [r for r in run.resources if r.custom and not r.is_provider]
    for resource in custom:
        assert resource.provider, f"{resource.type} '{resource.name}' would use a default provider"
        assert resource.provider_urn in provider_urns, (
            f"{resource.name}: provider {resource.provider_urn} unknown"
        )
    assert not [r for r in run.resources if r.is_provider and r.name.startswith("default")]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_environment_stacks_export_where_they_deploy(stack_run, stack: str) -> None:
    outputs = stack_run(stack).stack_outputs
    assert outputs["environment"] == stack
    assert outputs["tier"] == stack
    assert outputs["awsDeployRoleArn"].startswith(f"arn:aws:iam::{outputs['awsAccountId']}:role/")
