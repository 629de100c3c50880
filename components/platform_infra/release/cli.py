"""``infra release deploy|verify|swap|rollback``: blue/green releases of App Service apps.

Thin command-line layer over :class:`platform_infra.release.flow.ReleaseEngine`. Credentials come from
``DefaultAzureCredential`` (in a pipeline: workload identity federation or a managed identity). Exit codes:
0 done or nothing to do, 1 the release step failed (production is left on its last good version),
2 bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from azure.mgmt.web import WebSiteManagementClient
from platform_infra.app_service import DEFAULT_HEALTH_CHECK_PATH, PRODUCTION_SLOT, STAGING_SLOT
from platform_infra.release.flow import (
    HealthChecker,
    HealthPolicy,
    ReleaseEngine,
    ReleaseError,
    ReleaseTarget,
    http_health_check,
)
from platform_infra.validation import GUID_PATTERN


def default_client(subscription_id: str) -> WebSiteManagementClient:
    """A management client authenticated with ``DefaultAzureCredential``."""
    from azure.identity import DefaultAzureCredential

    _quiet_azure_identity()
    return WebSiteManagementClient(DefaultAzureCredential(), subscription_id)


def _stdout(message: str) -> None:
    print(message, flush=True)


@dataclass
class ReleaseDependencies:
    """What the commands talk to; tests replace these with fakes.

    :param client_factory: subscription id -> App Service management client.
    :param health_check: probes a health URL.
    :param clock: monotonic seconds.
    :param sleep: waits between probes.
    :param echo: prints progress.
    :param scheme: URL scheme of health probes.
    :param polling_interval: seconds between polls of a swap operation when Azure sends no Retry-After.
    """

    client_factory: Callable[[str], WebSiteManagementClient] = default_client
    health_check: HealthChecker = field(default=http_health_check)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    echo: Callable[[str], None] = _stdout
    scheme: str = "https"
    polling_interval: float = 30.0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value:g}")
    return value


def _non_negative_float(text: str) -> float:
    value = _seconds(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value:g}")
    return value


def _subscription(text: str) -> str:
    if not GUID_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be a subscription GUID, got {text!r}")
    return text.lower()


def _quiet_azure_identity() -> None:
    """DefaultAzureCredential logs each credential it tried as a multi-line warning; errors say it once."""
    logging.getLogger("azure.identity").setLevel(logging.ERROR)


def _common(parser: argparse.ArgumentParser, *, health: bool) -> None:
    parser.add_argument(
        "--subscription",
        type=_subscription,
        default=None,
        help="Azure subscription id (default: $AZURE_SUBSCRIPTION_ID)",
    )
    parser.add_argument("--resource-group", required=True, help="the app's resource group (stack output)")
    parser.add_argument("--app", required=True, help="the site name (stack output apps.<name>.appName)")
    parser.add_argument("--slot", default=STAGING_SLOT, help=f"the release slot (default: {STAGING_SLOT})")
    if health:
        parser.add_argument(
            "--health-path",
            default=DEFAULT_HEALTH_CHECK_PATH,
            help=f"health check path (default: {DEFAULT_HEALTH_CHECK_PATH})",
        )
        parser.add_argument(
            "--retries", type=_positive_int, default=10, help="most probes per check (default: 10)"
        )
        parser.add_argument(
            "--interval", type=_non_negative_float, default=10.0, help="seconds between probes (default: 10)"
        )
        parser.add_argument(
            "--timeout", type=_positive_float, default=300.0, help="seconds one check may take (default: 300)"
        )
        parser.add_argument(
            "--request-timeout",
            type=_positive_float,
            default=10.0,
            help="seconds one probe may take (default: 10)",
        )


def _swap_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--swap-timeout", type=_positive_float, default=900.0, help="seconds a swap may take (default: 900)"
    )


def add_release_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``infra release`` and its subcommands."""
    parser = subparsers.add_parser(
        "release",
        help="blue/green releases of App Service apps: deploy, verify, swap, rollback",
        description="Deploy a version to the staging slot, verify it, swap it into production, roll back.",
    )
    steps = parser.add_subparsers(dest="step", required=True)

    deploy = steps.add_parser("deploy", help="put a container image on the staging slot")
    _common(deploy, health=False)
    deploy.add_argument(
        "--image", required=True, help="container image, e.g. myregistry.azurecr.io/web:1.4.2"
    )

    verify = steps.add_parser("verify", help="probe a slot's health URL with bounded retries")
    _common(verify, health=True)
    verify.add_argument(
        "--target",
        default=None,
        help=f"slot to verify: the release slot (default) or {PRODUCTION_SLOT}",
    )

    swap = steps.add_parser(
        "swap", help="verify staging, swap it into production, verify, swap back on failure"
    )
    _common(swap, health=True)
    swap.add_argument("--image", help="the version being released: no-op when production already runs it")
    _swap_timeout(swap)

    rollback = steps.add_parser("rollback", help="swap the previous version back into production")
    _common(rollback, health=True)
    _swap_timeout(rollback)

    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, deps: ReleaseDependencies | None = None) -> int:
    """Run one release step; returns the exit code."""
    deps = deps or ReleaseDependencies()
    subscription = args.subscription
    if not subscription:
        from_environment = os.environ.get("AZURE_SUBSCRIPTION_ID", "").strip()
        if not from_environment:
            print("error: --subscription is required (or set AZURE_SUBSCRIPTION_ID)", file=sys.stderr)
            return 2
        if not GUID_PATTERN.fullmatch(from_environment):
            print(
                f"error: AZURE_SUBSCRIPTION_ID must be a subscription GUID, got {from_environment!r}",
                file=sys.stderr,
            )
            return 2
        subscription = from_environment.lower()
    target_slot = getattr(args, "target", None)
    if target_slot is not None:
        if target_slot.lower() == PRODUCTION_SLOT:
            target_slot = PRODUCTION_SLOT
        elif target_slot != args.slot:
            print(
                f"error: --target must be the release slot ({args.slot}) or {PRODUCTION_SLOT}, "
                f"got {target_slot!r}",
                file=sys.stderr,
            )
            return 2
    try:
        target = ReleaseTarget(
            resource_group=args.resource_group,
            app=args.app,
            slot=args.slot,
            health_path=getattr(args, "health_path", DEFAULT_HEALTH_CHECK_PATH),
        )
        policy = (
            HealthPolicy(
                attempts=args.retries,
                interval=args.interval,
                timeout=args.timeout,
                request_timeout=args.request_timeout,
            )
            if hasattr(args, "retries")
            else None
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    engine = ReleaseEngine(
        deps.client_factory(subscription),
        target,
        health_check=deps.health_check,
        policy=policy,
        clock=deps.clock,
        sleep=deps.sleep,
        echo=deps.echo,
        scheme=deps.scheme,
        swap_timeout=getattr(args, "swap_timeout", 900.0),
        polling_interval=deps.polling_interval,
    )
    started = deps.clock()
    try:
        if args.step == "deploy":
            engine.deploy(args.image)
        elif args.step == "verify":
            engine.verify(target_slot or args.slot)
        elif args.step == "swap":
            engine.swap(args.image)
        else:
            engine.rollback()
    except ReleaseError as error:
        deps.echo(f"[release {args.app}] FAILED after {deps.clock() - started:.1f}s")
        print(f"error: {error}", file=sys.stderr)
        return 1
    deps.echo(f"[release {args.app}] {args.step}: done in {deps.clock() - started:.1f}s")
    return 0
