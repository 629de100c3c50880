"""examples/: three consumer projects plan offline with their own Pulumi.yaml, stack file and namespace.

CI also plans them from the built wheel in a fresh virtualenv at the newest and the lowest allowed versions
(`python3 tasks.py examples`); here they run in-process against the development install.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from platform_infra.cli.main import main
from platform_infra.cli.plan import plan_stack, run_stack

from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"


def _types(example: str) -> set[str]:
    plan = plan_stack("dev", EXAMPLES / example)
    assert plan["project"] == example
    return {resource["type"] for resource in plan["resources"]}


def test_aws_team_plans_with_no_azure_provider() -> None:
    types = _types("aws-team")
    assert {
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:sns/topic:Topic",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
    } <= types
    assert not any(t.startswith("azure-native") for t in types), types


def test_azure_team_plans_with_its_own_components_package_and_no_aws_provider() -> None:
    """The team's own `components` package (beside its __main__.py) and the library import side by side."""
    types = _types("azure-team")
    assert {
        "azure-native:web:WebAppSlot",
        "azure-native:keyvault:Secret",
        "azure-native:network:PrivateEndpoint",  # deployable: the vault denies public traffic
        "azure-native:network:VirtualNetwork",
    } <= types
    assert not any(t.startswith("aws:") or t == "pulumi:providers:aws" for t in types), types


def test_azure_team_app_reads_its_vault_the_day_after_up() -> None:
    """Deployed, not only planned: each slot's settings wait for that slot's Secrets User grant and for the
    vault's private DNS record, because App Service resolves a Key Vault reference when the settings change
    and otherwise only every 24 hours (app-service-key-vault-references.md, "Rotation")."""
    _, run = run_stack("dev", EXAMPLES / "azure-team")
    grants = {r.name: r for r in run.of_type("azure-native:authorization:RoleAssignment")}
    dns_record = run.one("azure-native:network:PrivateDnsZoneGroup").urn
    for type_token, slot in (
        ("azure-native:web:WebAppApplicationSettings", "production"),
        ("azure-native:web:WebAppApplicationSettingsSlot", "staging"),
    ):
        settings = run.one(type_token)
        grant = grants[f"shop-{slot}-secrets-user"]
        assert grant.plain_inputs["roleDefinitionId"].endswith("/4633458b-17de-408a-b874-0445c86b69e6")
        assert {grant.urn, dns_record} <= set(settings.depends_on), settings.name
        reference = settings.plain_inputs["properties"]["DB_PASSWORD"]
        vault_uri = r"https://[a-z0-9-]+\.vault\.azure\.net"
        assert re.fullmatch(rf"@Microsoft\.KeyVault\(SecretUri={vault_uri}/secrets/db-password/\)", reference)


def test_both_clouds_plans_both_providers() -> None:
    types = _types("both-clouds")
    assert {
        "pulumi:providers:aws",
        "pulumi:providers:azure-native",
        "aws:cloudwatch/logGroup:LogGroup",
    } <= types


def test_readme_snippet_is_the_both_clouds_example() -> None:
    """The README's import snippet is this example, to the letter, so it runs as printed."""
    readme = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"<!-- example: both-clouds -->\n```python\n(.*?)```", readme, re.S)
    assert match, "README.md has no snippet marked <!-- example: both-clouds -->"
    assert match.group(1) == (EXAMPLES / "both-clouds" / "__main__.py").read_text()


@pytest.mark.parametrize("example", ["aws-team", "azure-team", "both-clouds"])
def test_every_example_is_a_complete_project(example: str) -> None:
    folder = EXAMPLES / example
    assert (folder / "Pulumi.yaml").is_file() and (folder / "Pulumi.dev.yaml").is_file()
    assert (folder / "__main__.py").is_file()


def test_importing_the_library_loads_no_provider_sdk() -> None:
    """`import platform_infra` is light: public names resolve on first use (a fresh interpreter shows it)."""
    code = (
        "import sys, platform_infra; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'pulumi_aws', 'pulumi_azure_native'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert "SecretVault" in __import__("platform_infra").__all__


def test_infra_plan_finds_the_project_from_a_subfolder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like the Pulumi CLI, `infra plan` walks up from the current folder to the nearest Pulumi.yaml.

    In this process (the console entry points themselves are run as processes in test_cli.py)."""
    monkeypatch.chdir(EXAMPLES / "azure-team" / "components")
    assert main(["plan", "dev"]) == 0
    assert "Offline plan of stack 'dev' (project 'azure-team')" in capsys.readouterr().out
