"""``infra review``: review-stack names, config derived from dev, the cap and the cleanup decision."""

from __future__ import annotations

import fnmatch
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from platform_infra.cli.main import main
from platform_infra.cli.plan import PlanError, plan_stack, read_stack_config
from platform_infra.cli.review import (
    DEFAULT_MAX_STACKS,
    REVIEW_APP_SKU,
    admit,
    pull_request_of,
    review_config,
    review_stack_name,
    stacks_to_destroy,
)
from platform_infra.review_stacks import REVIEW_DEPLOY_ROLE, review_deploy_statements

from tests.conftest import REPO_ROOT

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("number", "stack"), [(1, "pr-1"), ("42", "pr-42"), (" 7 ", "pr-7"), (999999999, "pr-999999999")]
)
def test_stack_name_is_pr_and_the_number(number: int | str, stack: str) -> None:
    assert review_stack_name(number) == stack
    assert pull_request_of(stack) == int(str(number))


@pytest.mark.parametrize("bad", [0, -1, "01", "feature/x", "1; rm -rf /", "", 1_000_000_000, "1.5"])
def test_anything_but_a_pull_request_number_is_refused(bad: object) -> None:
    with pytest.raises(PlanError, match="not a pull request number"):
        review_stack_name(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("stack", ["dev", "prod", "shared", "pr-", "pr-0", "pr-01", "pr-1-x", "org/pr-3"])
def test_only_review_stacks_are_recognised(stack: str) -> None:
    assert pull_request_of(stack) is None


def test_config_is_dev_with_smallest_sizes_and_names_unique_to_the_pull_request() -> None:
    dev = read_stack_config("dev", REPO_ROOT)
    config = review_config(dev, 42, deployer_principal_id="55555555-5555-4555-8555-555555555555")
    assert config["platform:environment"] == "pr-42"
    assert config["platform:tier"] == "dev"
    assert config["platform:aws"]["accountId"] == dev["platform:aws"]["accountId"]  # the dev account
    assert config["platform:aws"]["deployRoleName"] == REVIEW_DEPLOY_ROLE  # never dev's own deploy role
    assert config["platform:azure"] == dev["platform:azure"]
    assert {(a["sku"], a["capacity"]) for a in config["platform:apps"]} == {(REVIEW_APP_SKU, 1)}
    vault = config["platform:vault"]
    assert vault["name"].startswith("kv-pr-42-") and 3 <= len(vault["name"]) <= 24
    assert vault["name"] != review_config(dev, 43)["platform:vault"]["name"]
    assert vault["deployerPrincipalId"] == "55555555-5555-4555-8555-555555555555"
    assert vault["purgeProtection"] is False
    assert all(g["name"].startswith("/platform/pr-42/") for g in config["platform:logs"]["logGroups"])
    assert config["platform:logs"]["enforcer"] == {"enabled": False}  # account-wide: dev's enforcer owns it
    # No alarm topic: no pages to dev's on-call, and no KMS key or SNS topic the review role could not create.
    assert "platform:alarms" not in config
    assert config["platform:tags"]["review-pull-request"] == "42"
    assert dev["platform:environment"] == "dev"  # the dev config itself is untouched


def test_review_config_is_refused_for_a_non_dev_base() -> None:
    with pytest.raises(PlanError, match="dev-tier"):
        review_config(read_stack_config("prod", REPO_ROOT), 5)


def test_generated_stack_plans_offline_with_per_pr_names(tmp_path: Path) -> None:
    """The written Pulumi.pr-<n>.yaml is a stack the program accepts: its names differ from dev's."""
    for item in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(REPO_ROOT / item, tmp_path / item)
    shutil.copytree(REPO_ROOT / "stacks", tmp_path / "stacks")
    assert main(["review", "config", "7", "--root", str(tmp_path)]) == 0
    written = yaml.safe_load((tmp_path / "Pulumi.pr-7.yaml").read_text())["config"]
    assert written["platform:environment"] == "pr-7"
    review = plan_stack("pr-7", tmp_path)
    dev = plan_stack("dev", tmp_path)
    vaults = {
        plan["stack"]: next(r for r in plan["resources"] if r["type"] == "azure-native:keyvault:Vault")
        for plan in (review, dev)
    }
    assert vaults["pr-7"]["inputs"]["vaultName"] != vaults["dev"]["inputs"]["vaultName"]
    groups = {
        r["inputs"]["name"] for r in review["resources"] if r["type"] == "aws:cloudwatch/logGroup:LogGroup"
    }
    assert groups and all("pr-7" in name for name in groups)
    # Everything the review stack declares on AWS is within the review deploy role's policy: log groups
    # /platform/pr-* (review_stacks.review_deploy_statements), nothing else.
    aws = [r for r in review["resources"] if r["type"].startswith("aws:") and r["custom"]]
    assert aws and {r["type"] for r in aws} == {"aws:cloudwatch/logGroup:LogGroup"}
    pattern = review_deploy_statements("aws", "111111111111")[0]["Resource"]
    arn = "arn:aws:logs:eu-west-1:111111111111:log-group:{}"
    assert all(fnmatch.fnmatchcase(arn.format(name), pattern) for name in groups)


def test_a_log_group_outside_the_environments_folder_is_refused() -> None:
    """A name the review stack cannot make its own would be dev's group (or fail on the review role)."""
    dev = read_stack_config("dev", REPO_ROOT)
    dev["platform:logs"]["logGroups"][0]["name"] = "/aws/shared/orders"
    with pytest.raises(PlanError, match=r"stack 'pr-3': platform:logs.logGroups name '/aws/shared/orders'"):
        review_config(dev, 3)


def test_closed_and_idle_pull_requests_lose_their_stacks() -> None:
    stacks = [
        {"name": "dev", "lastUpdate": "2020-01-01T00:00:00Z"},
        {"name": "prod"},
        {"name": "org/platform/pr-3", "lastUpdate": (NOW - timedelta(hours=1)).isoformat()},
        {"name": "pr-4", "lastUpdate": (NOW - timedelta(days=8)).isoformat()},
        {"name": "pr-5", "lastUpdate": (NOW - timedelta(days=1)).isoformat()},
        {"name": "pr-6"},
    ]
    doomed = stacks_to_destroy(stacks, open_pull_requests=[3, 4, 6], now=NOW, max_age_days=7)
    # pr-4: open but idle 8 days; pr-5: its pull request closed. dev/prod are never review stacks.
    assert doomed == ["pr-4", "pr-5"]


def test_the_cap_refuses_a_new_stack_but_not_an_update() -> None:
    existing = [f"pr-{n}" for n in range(1, DEFAULT_MAX_STACKS + 1)] + ["dev", "prod"]
    admit("pr-1", existing)  # an existing one may always be updated
    with pytest.raises(PlanError, match=rf"review stacks exist already \(cap {DEFAULT_MAX_STACKS}"):
        admit("pr-99", existing)
    admit("pr-99", existing[1:])


def test_stale_command_reads_pulumi_stack_ls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = tmp_path / "stacks.json"
    listing.write_text(json.dumps([{"name": "pr-8"}, {"name": "pr-9"}, {"name": "staging"}]))
    assert main(["review", "stale", "--stacks-json", str(listing), "--open-pull-requests", "9"]) == 0
    assert capsys.readouterr().out.split() == ["pr-8"]
    listing.write_text("{not json")
    assert main(["review", "stale", "--stacks-json", str(listing)]) == 2
    assert "not a `pulumi stack ls --json` document" in capsys.readouterr().err


def test_stale_and_admit_read_an_s3_listing_of_the_state_bucket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review identity may not read other stacks' checkpoints, so ``pulumi stack ls`` (which reads every
    one on a DIY backend) fails for it; the workflows list the keys instead (``aws s3api list-objects-v2``
    output: ``Contents`` of ``Key``/``LastModified``, no ``Contents`` at all when nothing matches)."""
    idle = (NOW - timedelta(days=9)).isoformat()
    fresh = datetime.now(UTC).isoformat()
    listing = tmp_path / "listing.json"
    listing.write_text(
        json.dumps(
            {
                "Contents": [
                    {"Key": ".pulumi/stacks/platform/pr-8.json", "LastModified": fresh},
                    {"Key": ".pulumi/stacks/platform/pr-8.json.bak", "LastModified": fresh},
                    {"Key": ".pulumi/stacks/platform/pr-9.json", "LastModified": idle},
                    {"Key": ".pulumi/stacks/platform/dev.json", "LastModified": idle},
                    {"Key": ".pulumi/stacks/platform/pr-10.json.gz", "LastModified": fresh},
                ]
            }
        )
    )
    assert main(["review", "stale", "--stacks-json", str(listing), "--open-pull-requests", "8,9,10"]) == 0
    # pr-9 is idle; pr-8 and pr-10 (a gzipped checkpoint) are fresh; dev is never a review stack.
    assert capsys.readouterr().out.split() == ["pr-9"]
    assert main(["review", "admit", "11", "--stacks-json", str(listing), "--max-stacks", "4"]) == 0
    assert main(["review", "admit", "11", "--stacks-json", str(listing), "--max-stacks", "3"]) == 2
    assert "3 review stacks exist already (cap 3: pr-10, pr-8, pr-9)" in capsys.readouterr().err
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"RequestCharged": None}))
    assert main(["review", "admit", "11", "--stacks-json", str(empty), "--max-stacks", "1"]) == 0
