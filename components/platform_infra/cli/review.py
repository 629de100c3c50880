"""``infra review``: per-pull-request review stacks (``pr-<number>``) derived from the dev stack.

A pull request labelled for review gets its own stack in the dev account and subscription, configured from
``Pulumi.dev.yaml`` with the smallest sizes and names unique to the pull request, and is destroyed and
removed when the pull request closes or after :data:`DEFAULT_MAX_AGE_DAYS` days without an update. The
workflows (``.github/workflows/review-stack.yml``, ``.azure-pipelines/review-stack.yml``) only call these
commands, so the naming and cleanup rules are stated once and tested here.

Cost cap: at most :data:`DEFAULT_MAX_STACKS` review stacks at a time (a new one is refused beyond that),
each with one instance of the smallest App Service size that has deployment slots (S1: slots need Standard
or above), no retention enforcer, no alarm presets and 30 days of Log Analytics retention (the least the
PerGB2018 tier keeps).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from platform_infra.cli.plan import PlanError, find_project_root, read_stack_config, write_output
from platform_infra.review_stacks import REVIEW_DEPLOY_ROLE, REVIEW_LOG_GROUP_PREFIX, REVIEW_STACK_PREFIX

REVIEW_PREFIX = REVIEW_STACK_PREFIX
REVIEW_STACK_PATTERN = re.compile(rf"^{REVIEW_STACK_PREFIX}([1-9][0-9]{{0,8}})$")
"""A review stack's name: ``pr-`` and the pull request number (no other stack matches it)."""
DEFAULT_MAX_AGE_DAYS = 7
DEFAULT_MAX_STACKS = 3
REVIEW_APP_SKU = "S1"
"""Smallest App Service plan size with deployment slots (the blue/green release needs the staging slot)."""
REVIEW_LOG_ANALYTICS_RETENTION_DAYS = 30
KEY_VAULT_NAME_MAX = 24


def review_stack_name(pull_request: int | str) -> str:
    """``pr-<number>`` for a pull request number; PlanError for anything else (a branch name, 0, -1)."""
    text = str(pull_request).strip()
    if not re.fullmatch(r"[1-9][0-9]{0,8}", text):
        raise PlanError(f"pull request {pull_request!r}: not a pull request number (1 to 999999999)")
    return f"{REVIEW_PREFIX}{text}"


def pull_request_of(stack: str) -> int | None:
    """The pull request number of a review stack's name; None for any other stack (dev, prod, shared)."""
    match = REVIEW_STACK_PATTERN.fullmatch(stack)
    return int(match.group(1)) if match else None


def _unique_vault_name(stack: str, base: str) -> str:
    # Key Vault names are global, 3-24 letters, digits and hyphens, starting with a letter: a short
    # per-PR name with a hash of the base name, so two repositories' pr-7 stacks do not collide either.
    digest = hashlib.sha256(f"{base}/{stack}".encode()).hexdigest()[:6]
    name = f"kv-{stack}-{digest}"
    if len(name) > KEY_VAULT_NAME_MAX:
        raise PlanError(
            f"stack '{stack}': vault name {name!r} is longer than {KEY_VAULT_NAME_MAX} characters"
        )
    return name


def review_config(
    dev_config: Mapping[str, Any],
    pull_request: int | str,
    deploy_role_name: str = REVIEW_DEPLOY_ROLE,
    deployer_principal_id: str | None = None,
) -> dict[str, Any]:
    """The ``config`` of ``Pulumi.pr-<n>.yaml``: dev's, with the smallest sizes and per-PR names.

    Everything account-wide in dev (the retention enforcer, alarm presets on dev's own targets) is left out:
    a review stack must not change what dev's stack owns.

    :param deploy_role_name: the role the stack's AWS provider assumes in the dev account.
    :param deployer_principal_id: object id of the review identity (gets the vault's Secrets Officer role).
    """
    stack = review_stack_name(pull_request)
    config = copy.deepcopy(dict(dev_config))
    if config.get("platform:tier") != "dev":
        raise PlanError(f"stack '{stack}': the base config must be a dev-tier stack (platform:tier: dev)")
    config["platform:environment"] = stack
    aws = dict(config.get("platform:aws") or {})
    aws["deployRoleName"] = deploy_role_name
    # A review stack is previewed and deployed by one identity in one job: its provider assumes the review
    # role itself instead of reading dev's profile (which dev's jobs write for dev's roles).
    aws.pop("profile", None)
    config["platform:aws"] = aws
    tags = dict(config.get("platform:tags") or {})
    tags["review-pull-request"] = str(pull_request)
    config["platform:tags"] = tags
    apps = config.get("platform:apps") or []
    for app in apps:
        app["sku"] = REVIEW_APP_SKU
        app["capacity"] = 1
        app["stagingAlwaysOn"] = False
    vault = config.get("platform:vault")
    if isinstance(vault, dict):
        vault["name"] = _unique_vault_name(stack, str(vault.get("name", "")))
        vault["purgeProtection"] = False
        if deployer_principal_id:
            vault["deployerPrincipalId"] = deployer_principal_id
    logs = config.get("platform:logs")
    if isinstance(logs, dict):
        for group in logs.get("logGroups") or []:
            group["name"] = re.sub(r"^/platform/[^/]+/", f"/platform/{stack}/", group["name"])
            # The review deploy role may touch only /platform/pr-* groups (review_stacks.py): a name
            # outside would fail at deploy time, or worse, be one of dev's own groups.
            if not str(group["name"]).startswith(
                f"{REVIEW_LOG_GROUP_PREFIX}{stack.removeprefix(REVIEW_STACK_PREFIX)}/"
            ):
                raise PlanError(
                    f"stack '{stack}': platform:logs.logGroups name {group['name']!r} is not under "
                    f"/platform/<environment>/, so it cannot be made unique to the review stack"
                )
        logs["enforcer"] = {"enabled": False}
    # No alarm topic: its subscriptions would page dev's on-call from pull-request code, and its KMS key and
    # topic are outside what the review deploy role may create (log groups only).
    config.pop("platform:alarms", None)
    monitoring = config.get("platform:monitoring")
    if isinstance(monitoring, dict):
        monitoring["retentionDays"] = REVIEW_LOG_ANALYTICS_RETENTION_DAYS
    return config


def stacks_to_destroy(
    stacks: Iterable[Mapping[str, Any]],
    open_pull_requests: Iterable[int],
    now: datetime,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
) -> list[str]:
    """Review stacks whose pull request is closed, or that nobody updated for ``max_age_days``.

    :param stacks: entries of ``pulumi stack ls --json`` (``name``, ``lastUpdate`` in ISO 8601); names may
        carry an ``org/project/`` prefix. Stacks that are not review stacks are never returned.
    """
    open_set = set(open_pull_requests)
    doomed = []
    for entry in stacks:
        name = str(entry.get("name", "")).rsplit("/", 1)[-1]
        number = pull_request_of(name)
        if number is None:
            continue
        if number not in open_set:
            doomed.append(name)
            continue
        last = entry.get("lastUpdate")
        if isinstance(last, str) and last:
            updated = datetime.fromisoformat(last.replace("Z", "+00:00"))
            if updated.tzinfo is None:
                updated = updated.replace(tzinfo=UTC)
            if now - updated > timedelta(days=max_age_days):
                doomed.append(name)
    return sorted(set(doomed), key=lambda n: int(n.removeprefix(REVIEW_PREFIX)))


def admit(stack: str, existing: Iterable[str], max_stacks: int = DEFAULT_MAX_STACKS) -> None:
    """Refuse a new review stack beyond the cap (an existing one may always be updated)."""
    current = {s.rsplit("/", 1)[-1] for s in existing if pull_request_of(s.rsplit("/", 1)[-1]) is not None}
    if stack not in current and len(current) >= max_stacks:
        raise PlanError(
            f"stack '{stack}': {len(current)} review stacks exist already (cap {max_stacks}: "
            f"{', '.join(sorted(current))}); close a pull request or remove its label first"
        )


def _config_command(args: argparse.Namespace) -> int:
    root = args.root or find_project_root()
    stack = review_stack_name(args.pull_request)
    config = review_config(
        read_stack_config(args.base, root),
        args.pull_request,
        deploy_role_name=args.deploy_role_name,
        deployer_principal_id=args.deployer_principal_id or None,
    )
    text = (
        f"# Written by `infra review config {args.pull_request}` from Pulumi.{args.base}.yaml; do not edit.\n"
    )
    text += yaml.safe_dump({"config": config}, sort_keys=False)
    target = Path(args.output) if args.output else root / f"Pulumi.{stack}.yaml"
    write_output(target, text)
    print(stack)
    return 0


STATE_KEY_PATTERN = re.compile(
    rf"^\.pulumi/stacks/(?:[^/]+/)?({REVIEW_STACK_PREFIX}[1-9][0-9]{{0,8}})\.json(?:\.gz)?$"
)
"""A review stack's checkpoint in Pulumi's DIY backend (``.pulumi/stacks/<project>/<stack>.json``)."""


def stacks_from_s3_listing(listing: Mapping[str, Any]) -> list[dict[str, str]]:
    """Review stacks from ``aws s3api list-objects-v2 --prefix .pulumi/stacks/`` output, as ``name`` and
    ``lastUpdate`` entries like ``pulumi stack ls --json``'s.

    The review identity may read only the pr-* stacks' objects, and ``pulumi stack ls`` on a DIY backend
    reads every stack's checkpoint and fails on the first it may not read (pulumi/pulumi
    pkg/backend/diy/backend.go, ``ListStacks``: ``getCheckpoint`` per stack, errors returned); listing the
    keys needs only ``s3:ListBucket``. The checkpoint's LastModified is the last update's time.
    """
    entries = []
    for item in listing.get("Contents") or []:
        match = STATE_KEY_PATTERN.fullmatch(str(item.get("Key", "")))
        if match is not None:
            entries.append({"name": match.group(1), "lastUpdate": str(item.get("LastModified", ""))})
    return entries


def _load_stacks(path: str) -> Sequence[Mapping[str, Any]]:
    """``pulumi stack ls --json`` output, or an S3 listing of the state bucket (see above)."""
    try:
        stacks = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError) as error:
        raise PlanError(
            f"--stacks-json {path}: not a `pulumi stack ls --json` document or an S3 listing ({error})"
        ) from error
    if isinstance(stacks, dict):
        return stacks_from_s3_listing(stacks)
    if not isinstance(stacks, list):
        raise PlanError(f"--stacks-json {path}: must be a JSON list of stacks or an S3 listing")
    return stacks


def _stale_command(args: argparse.Namespace) -> int:
    stacks = _load_stacks(args.stacks_json)
    open_prs = [int(n) for n in args.open_pull_requests.split(",") if n.strip()]
    for name in stacks_to_destroy(stacks, open_prs, datetime.now(UTC), args.max_age_days):
        print(name)
    return 0


def _admit_command(args: argparse.Namespace) -> int:
    stacks = _load_stacks(args.stacks_json)
    admit(review_stack_name(args.pull_request), [str(s.get("name", "")) for s in stacks], args.max_stacks)
    return 0


def add_review_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "review",
        help="per-pull-request review stacks: name, config, cap and cleanup",
        description="Derive and clean up pr-<number> review stacks (docs/pipelines.md, Review stacks).",
    )
    commands = parser.add_subparsers(dest="review_command", required=True)
    config = commands.add_parser("config", help="write Pulumi.pr-<n>.yaml from the dev stack's config")
    config.add_argument("pull_request", help="the pull request number")
    config.add_argument("--base", default="dev", help="stack whose config is the base (default: dev)")
    config.add_argument("-o", "--output", help="file to write (default: Pulumi.pr-<n>.yaml in the project)")
    config.add_argument("--root", type=Path, help="folder holding Pulumi.yaml")
    config.add_argument("--deploy-role-name", default=REVIEW_DEPLOY_ROLE, help="AWS role the stack assumes")
    config.add_argument(
        "--deployer-principal-id", help="object id of the identity that deploys review stacks"
    )
    config.set_defaults(handler=_config_command)
    stale = commands.add_parser("stale", help="print review stacks to destroy (closed or idle pull requests)")
    stale.add_argument(
        "--stacks-json", required=True, help="`pulumi stack ls --json` or `aws s3api list-objects-v2` output"
    )
    stale.add_argument("--open-pull-requests", default="", help="comma-separated open PR numbers")
    stale.add_argument("--max-age-days", type=int, default=DEFAULT_MAX_AGE_DAYS)
    stale.set_defaults(handler=_stale_command)
    cap = commands.add_parser("admit", help="fail when a new review stack would exceed the cap")
    cap.add_argument("pull_request")
    cap.add_argument(
        "--stacks-json", required=True, help="`pulumi stack ls --json` or `aws s3api list-objects-v2` output"
    )
    cap.add_argument("--max-stacks", type=int, default=DEFAULT_MAX_STACKS)
    cap.set_defaults(handler=_admit_command)
