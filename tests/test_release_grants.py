"""The release identity's Azure grants, as data: which identity runs ``infra release`` in each pipeline, and
that it holds exactly the ARM actions the release flow's calls need, on the environment's scope.

Action names: Microsoft Learn "Azure permissions for Web and Mobile" / "for Monitor" / "for Management and
governance"; the tags write is "Tags - Update At Scope" (``Microsoft.Resources/tags/write``). The call ->
action table below is the App Service REST reference's operation per azure-mgmt-web method.
"""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from platform_infra.cli.mocks import MockRun
from platform_infra.cli.plan import run_stack
from platform_infra.config import DictConfigSource, load_stack_config
from platform_infra.rbac.release import RELEASE_ACTIONS, release_role_guid
from platform_infra.validation import ValidationError

from tests.conftest import REPO_ROOT

RELEASE = Path(REPO_ROOT) / "components" / "platform_infra" / "release"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DEFINITION = "azure-native:authorization:RoleDefinition"

#: azure-mgmt-web / azure-mgmt-monitor method -> the ARM actions Azure checks for it (REST operation path).
CALL_ACTIONS = {
    "get": {"Microsoft.Web/sites/read"},
    "get_slot": {"Microsoft.Web/sites/slots/read"},
    "get_configuration": {"Microsoft.Web/sites/config/read"},
    "get_configuration_slot": {"Microsoft.Web/sites/slots/config/read"},
    "list_slot_configuration_names": {"Microsoft.Web/sites/config/read"},
    "list_application_settings": {"Microsoft.Web/sites/config/list/action"},
    "list_application_settings_slot": {"Microsoft.Web/sites/slots/config/list/action"},
    "update_configuration": {"Microsoft.Web/sites/config/write"},
    "update_configuration_slot": {"Microsoft.Web/sites/slots/config/write"},
    "list_instance_identifiers": {"Microsoft.Web/sites/instances/read"},
    "list_instance_identifiers_slot": {"Microsoft.Web/sites/slots/instances/read"},
    # The swap answers 202 + Location; the poller reads the slot's operation results and status.
    "begin_swap_slot": {
        "Microsoft.Web/sites/slots/slotsswap/action",
        "Microsoft.Web/sites/slots/operationresults/read",
        "Microsoft.Web/sites/slots/operations/read",
    },
    # PATCH {site}/providers/Microsoft.Resources/tags/default (flow.py _tags).
    "send_request": {"Microsoft.Resources/tags/write"},
    "metrics.list": {"Microsoft.Insights/metrics/read"},
}


def _calls() -> set[str]:
    """Every management-client method the release package calls (``client.web_apps.X``, ``client.X``)."""
    calls: set[str] = set()
    for path in RELEASE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            if isinstance(owner, ast.Attribute) and owner.attr == "web_apps":
                calls.add(node.attr)
            elif isinstance(owner, ast.Attribute) and owner.attr == "metrics" and node.attr == "list":
                calls.add("metrics.list")
            elif isinstance(owner, ast.Attribute) and owner.attr == "client" and node.attr == "send_request":
                calls.add("send_request")
    return calls


def test_the_release_role_holds_exactly_the_actions_of_the_release_flows_calls() -> None:
    calls = _calls()
    unknown = calls - set(CALL_ACTIONS)
    assert not unknown, f"the release flow calls {unknown}: add their ARM actions to rbac/release.py"
    needed = set().union(*(CALL_ACTIONS[c] for c in calls))
    assert set(RELEASE_ACTIONS) == needed
    # Never the site write (a PATCH of the site could change anything on it) nor any wildcard.
    assert "Microsoft.Web/sites/write" not in RELEASE_ACTIONS
    assert not any("*" in action for action in RELEASE_ACTIONS)


@pytest.fixture(scope="module")
def shared() -> MockRun:
    return run_stack("shared")[1]


def _identity_principal(run: MockRun, name: str) -> str:
    [identity] = [
        r
        for r in run.of_type("azure-native:managedidentity:UserAssignedIdentity")
        if r.plain_inputs.get("resourceName") == name
    ]
    return str(identity.outputs["principalId"])


def _grants(run: MockRun, principal: str) -> set[tuple[str, str]]:
    """(role definition GUID, scope) of every assignment to ``principal``."""
    return {
        (str(a.plain_inputs["roleDefinitionId"]).rsplit("/", 1)[-1], str(a.plain_inputs["scope"]))
        for a in run.of_type(ASSIGNMENT)
        if a.plain_inputs.get("principalId") == principal
    }


SUBSCRIPTIONS = {
    "dev": "11111111-1111-4111-8111-111111111111",
    "staging": "22222222-2222-4222-8222-222222222222",
    "prod": "33333333-3333-4333-8333-333333333333",
}


def test_each_deploying_identity_holds_the_release_role_on_its_own_subscription_only(shared: MockRun) -> None:
    definitions = {str(d.plain_inputs["roleDefinitionId"]): d for d in shared.of_type(DEFINITION)}
    release_guids = {release_role_guid(s) for s in SUBSCRIPTIONS.values()}
    assert set(definitions) == release_guids
    for env, subscription in SUBSCRIPTIONS.items():
        scope = f"/subscriptions/{subscription}"
        definition = definitions[release_role_guid(subscription)].plain_inputs
        assert definition["scope"] == scope and definition["assignableScopes"] == [scope]
        [permission] = definition["permissions"]
        assert sorted(permission["actions"]) == sorted(RELEASE_ACTIONS)
        assert not permission.get("dataActions")
        deploying = _grants(shared, _identity_principal(shared, f"platform-pipeline-{env}"))
        assert {g for g in deploying if g[0] in release_guids} == {(release_role_guid(subscription), scope)}
        # Read-only identities never release.
        preview = _grants(shared, _identity_principal(shared, f"platform-preview-{env}"))
        assert not {g for g in preview if g[0] in release_guids}


def _steps(workflow: str) -> list[dict[str, Any]]:
    document = yaml.safe_load((Path(REPO_ROOT) / ".github" / "workflows" / workflow).read_text())
    [job] = document["jobs"].values()
    return job["steps"]


@pytest.mark.parametrize("workflow", ["stack-deploy.yml", "rollback.yml"])
def test_github_runs_infra_release_as_the_environments_deploying_identity(workflow: str) -> None:
    """The last Azure login before each step that runs ``infra release`` names the deploying identity.

    ``AZURE_DEPLOY_CLIENT_ID`` is a GitHub *environment* variable holding the shared stack's
    ``azureClientIds.<env>`` (docs/pipelines.md): the ``platform-pipeline-<env>`` identity checked above.
    """
    client = None
    releases = 0
    for step in _steps(workflow):
        if str(step.get("uses", "")).startswith("azure/login@"):
            client = step["with"]["client-id"]
        # `infra release budget` only reads the stack's config: it runs before any sign-in.
        if re.search(r"infra release (?!budget\b)\w+", str(step.get("run", ""))):
            releases += 1
            assert client == "${{ vars.AZURE_DEPLOY_CLIENT_ID }}", step["name"]
    assert releases >= 1


def test_azure_devops_runs_infra_release_with_the_deploying_service_connections() -> None:
    """Every stage whose steps run ``infra release`` (``up``, ``rollback``) passes a deploying connection,
    which the shared stack federates with that target's deploying identity."""
    pipeline = (Path(REPO_ROOT) / "azure-pipelines.yml").read_text()
    template = yaml.safe_load((Path(REPO_ROOT) / ".azure-pipelines" / "pulumi-steps.yml").read_text())
    release_tasks = [s for s in template["steps"] if "infra release" in str(s.get("inputs", {}))]
    assert release_tasks and all(
        s["inputs"]["azureSubscription"] == "${{ parameters.serviceConnection }}" for s in release_tasks
    )
    shared = yaml.safe_load((Path(REPO_ROOT) / "Pulumi.shared.yaml").read_text())["config"]
    deploying = {t["azureDevOpsServiceConnection"] for t in shared["platform:bootstrap"]["targets"]}
    document = yaml.safe_load(pipeline)
    uses = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("template") == ".azure-pipelines/pulumi-steps.yml":
                uses.append(node["parameters"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    releasing = [u for u in uses if u["command"] in {"up", "rollback"}]
    assert {u["command"] for u in releasing} == {"up", "rollback"}
    for use in releasing:
        connection = use["serviceConnection"]
        if "${{" in connection:
            # The manual rollback picks the stack's deploying connection: platform-azure-<stack>.
            assert connection == "platform-azure-${{ parameters.rollbackStack }}"
            assert {f"platform-azure-{env}" for env in SUBSCRIPTIONS} <= deploying
        else:
            assert connection in deploying, use


def _shared_values() -> dict[str, Any]:
    config = yaml.safe_load((Path(REPO_ROOT) / "Pulumi.shared.yaml").read_text())["config"]
    return {
        key.removeprefix("platform:"): value
        for key, value in config.items()
        if key.startswith("platform:") and not (isinstance(value, dict) and "secure" in value)
    }


def test_release_scopes_narrow_the_grant_to_the_apps_resource_groups() -> None:
    groups = [
        f"/subscriptions/{SUBSCRIPTIONS['prod']}/resourceGroups/rg-prod-web",
        f"/subscriptions/{SUBSCRIPTIONS['prod']}/resourceGroups/rg-prod-api",
    ]
    values = _shared_values()
    values["bootstrap"]["targets"][2]["releaseScopes"] = groups
    _, run = run_stack("shared", overrides={f"platform:{k}": v for k, v in values.items()})
    guid = release_role_guid(SUBSCRIPTIONS["prod"])
    grants = _grants(run, _identity_principal(run, "platform-pipeline-prod"))
    assert {g for g in grants if g[0] == guid} == {(guid, g) for g in groups}


def test_a_release_scope_outside_the_targets_subscription_is_refused() -> None:
    values = copy.deepcopy(_shared_values())
    values["bootstrap"]["targets"][2]["releaseScopes"] = [
        f"/subscriptions/{SUBSCRIPTIONS['dev']}/resourceGroups/rg-dev-web"
    ]
    with pytest.raises(ValidationError, match=r"targets\[2\]\.releaseScopes\[0\]: is not in the target"):
        load_stack_config("shared", DictConfigSource(values, None))
