"""``infra release deploy|verify|swap|canary|rollback``: blue/green releases of App Service apps.

Thin command-line layer over :class:`platform_infra.release.flow.ReleaseEngine`. Credentials come from
``DefaultAzureCredential`` (in a pipeline: workload identity federation or a managed identity). Exit codes:
0 done or nothing to do, 1 the release step failed (production is left on its last good version),
2 bad arguments.

This module imports no Azure SDK: the SDK (and the engine) load only when a release command runs, so the
other ``infra`` commands start without it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platform_infra.release.probe import (
    DEFAULT_CONTRACT,
    DEFAULT_INSTANCE_CONTRACT,
    VERSION_PATTERN,
    InstanceContract,
    Probe,
    VersionContract,
    contracts_conflict,
    http_probe,
)
from platform_infra.release.progress import Reporter
from platform_infra.validation import GUID_PATTERN

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.web import WebSiteManagementClient

STAGING_SLOT = "staging"
PRODUCTION_SLOT = "production"
DEFAULT_HEALTH_PATH = "/healthz"
# The same values as platform_infra.app_service's constants, which import Pulumi; a test keeps them equal.

MAX_TIMEOUT = 7200.0
MAX_SWAP_TIMEOUT = 3600.0
MAX_INTERVAL = 300.0
MAX_BAKE = 6 * 3600.0


GITHUB_AZURE_AUDIENCE = "api://AzureADTokenExchange"
"""The audience Entra ID expects in a federated GitHub token (what azure/login requests)."""


def _github_oidc_token(environ: Mapping[str, str]) -> str:
    """A fresh GitHub Actions OIDC token for Entra ID, requested like ``core.getIDToken`` does
    (actions/toolkit packages/core/src/oidc-utils.ts: GET ``$ACTIONS_ID_TOKEN_REQUEST_URL&audience=...``
    with ``Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN``, answer ``{"value": <jwt>}``)."""
    import json
    import urllib.parse
    import urllib.request

    audience = urllib.parse.quote(GITHUB_AZURE_AUDIENCE, safe="")
    url = f"{environ['ACTIONS_ID_TOKEN_REQUEST_URL']}&audience={audience}"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {environ['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["value"]


def pipeline_credential(environ: Mapping[str, str] | None = None) -> TokenCredential | None:
    """A credential that renews itself for as long as the pipeline job runs, or None outside a pipeline.

    A release can outlast the Azure CLI's session: the CLI cannot renew a federated login once its OIDC token
    has expired, and its access token lasts about an hour (Azure/login#180, Azure/azure-cli#28708), while a
    prod canary runs for hours (:mod:`~platform_infra.release.budget`). So in a pipeline the release asks for
    a fresh federated token each time it needs an Entra ID token:

    * GitHub Actions (``id-token: write``): ``ClientAssertionCredential`` whose assertion is a new GitHub
      OIDC token (``ACTIONS_ID_TOKEN_REQUEST_URL``/``_TOKEN``, valid for the whole job) for the client and
      tenant in ``ARM_CLIENT_ID``/``ARM_TENANT_ID`` (the same variables and mechanism the azure-native
      provider uses with ``ARM_USE_OIDC``); azure-identity calls the assertion function "every time it
      acquires a new token" (``ClientAssertionCredential`` docstring).
    * Azure Pipelines (``AzureCLI@2`` with a workload identity federation connection): azure-identity's
      ``AzurePipelinesCredential``, which requests a new OIDC token from ``SYSTEM_OIDCREQUESTURI`` with the
      job's ``SYSTEM_ACCESSTOKEN`` (mapped into the task's environment) for the connection in
      ``AZURESUBSCRIPTION_SERVICE_CONNECTION_ID``, which ``AzureCLI@2`` exposes (Azure DevOps release notes,
      sprint 240, "Requesting a fresh idToken"); client and tenant from ``AZURESUBSCRIPTION_CLIENT_ID``/
      ``_TENANT_ID`` or ``servicePrincipalId``/``tenantId`` (``addSpnToEnvironment``).
    """
    env = os.environ if environ is None else environ
    if env.get("ACTIONS_ID_TOKEN_REQUEST_URL") and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        client = env.get("ARM_CLIENT_ID") or env.get("AZURE_CLIENT_ID")
        tenant = env.get("ARM_TENANT_ID") or env.get("AZURE_TENANT_ID")
        if client and tenant:
            from azure.identity import ClientAssertionCredential

            snapshot = dict(env)
            return ClientAssertionCredential(tenant, client, lambda: _github_oidc_token(snapshot))
    if env.get("SYSTEM_OIDCREQUESTURI") and env.get("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"):
        client = env.get("AZURESUBSCRIPTION_CLIENT_ID") or env.get("servicePrincipalId")
        tenant = env.get("AZURESUBSCRIPTION_TENANT_ID") or env.get("tenantId")
        token = env.get("SYSTEM_ACCESSTOKEN")
        if client and tenant and token:
            from azure.identity import AzurePipelinesCredential

            return AzurePipelinesCredential(
                tenant_id=tenant,
                client_id=client,
                service_connection_id=env["AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"],
                system_access_token=token,
            )
    return None


def default_credential() -> TokenCredential:
    """The pipeline's self-renewing credential, else ``DefaultAzureCredential`` (``az login`` locally)."""
    from azure.identity import DefaultAzureCredential

    _quiet_azure_identity()
    return pipeline_credential() or DefaultAzureCredential()


def default_client(subscription_id: str) -> WebSiteManagementClient:
    """A management client authenticated with :func:`default_credential`."""
    from azure.mgmt.web import WebSiteManagementClient

    return WebSiteManagementClient(default_credential(), subscription_id)


def default_metrics(subscription_id: str) -> Callable[[str, float, float], Any]:
    """Azure Monitor metrics through ``MonitorManagementClient`` and :func:`default_credential`."""
    from azure.mgmt.monitor import MonitorManagementClient
    from platform_infra.release.gates import monitor_reader

    return monitor_reader(MonitorManagementClient(default_credential(), subscription_id))


def default_owner() -> str:
    """The release lock's owner: the pipeline run when there is one."""
    for variable, label in (
        ("GITHUB_RUN_ID", "github-run"),
        ("BUILD_BUILDID", "azure-devops-build"),
    ):
        if os.environ.get(variable):
            return f"{label}-{os.environ[variable]}"
    return f"{os.environ.get('USER', 'someone')}@{os.uname().nodename}-{os.getpid()}"


@dataclass
class ReleaseDependencies:
    """What the commands talk to; tests replace these with fakes.

    :param client_factory: subscription id -> App Service management client.
    :param metrics_factory: subscription id -> metrics reader (canary and bake only).
    :param probe: one HTTP GET of one instance.
    :param clock: monotonic seconds.
    :param wall: epoch seconds.
    :param sleep: waits between probes.
    :param reporter: progress output (a status line on a terminal, plain lines in CI).
    :param scheme: URL scheme of probes.
    :param polling_interval: seconds between polls of a swap operation when Azure sends no Retry-After.
    :param owner: the release lock's owner.
    """

    client_factory: Callable[[str], WebSiteManagementClient] = default_client
    metrics_factory: Callable[[str], Callable[[str, float, float], Any]] = default_metrics
    probe: Probe = http_probe
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    reporter: Reporter | None = None
    scheme: str = "https"
    polling_interval: float = 30.0
    owner: str | None = None


def _positive_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _seconds(low: float, high: float, *, zero: bool = False) -> Callable[[str], float]:
    """Seconds, bounded: ``low`` <= value <= ``high`` (or exactly 0 when ``zero``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}")
        if zero and value == 0:
            return 0.0
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g} seconds, got {value:g}")
        return value

    return parse


DURATION = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>[smh]?)$")


def _duration(high: float) -> Callable[[str], float]:
    """``90s``, ``10m``, ``1h`` or plain seconds; 0 turns the wait off."""

    def parse(text: str) -> float:
        match = DURATION.fullmatch(text.strip())
        if not match:
            raise argparse.ArgumentTypeError(f"must be a duration like 90s, 10m or 1h, got {text!r}")
        value = float(match["number"]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match["unit"]]
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high / 3600:g}h, got {text!r}")
        return value

    return parse


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1 (0.01 = 1%), got {text!r}")
    return value


def _steps(text: str) -> list[float]:
    try:
        steps = [float(part) for part in text.split(",")]
    except ValueError:
        steps = []
    if not steps or any(not (math.isfinite(s) and 0 < s < 100) for s in steps) or steps != sorted(set(steps)):
        raise argparse.ArgumentTypeError(
            f"must be increasing percentages between 0 and 100 like 5,25,50, got {text!r}"
        )
    return steps


def _optional_steps(text: str) -> list[float]:
    """Canary steps, or none (an empty value: the release swaps)."""
    return _steps(text) if text.strip() else []


def _version(text: str) -> str:
    if not VERSION_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"must be a version (letters, digits and ._+-, no spaces), got {text!r}"
        )
    return text


def _contract(text: str) -> VersionContract:
    try:
        return VersionContract.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _instance_contract(text: str) -> InstanceContract:
    try:
        return InstanceContract.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _subscription(text: str) -> str:
    if not GUID_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be a subscription GUID, got {text!r}")
    return text.lower()


def _quiet_azure_identity() -> None:
    """DefaultAzureCredential logs each credential it tried as a multi-line warning; errors say it once."""
    logging.getLogger("azure.identity").setLevel(logging.ERROR)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--subscription",
        type=_subscription,
        default=None,
        help="Azure subscription id (default: $AZURE_SUBSCRIPTION_ID)",
    )
    parser.add_argument("--resource-group", required=True, help="the app's resource group (stack output)")
    parser.add_argument("--app", required=True, help="the site name (stack output apps.<name>.appName)")
    parser.add_argument("--slot", default=STAGING_SLOT, help=f"the release slot (default: {STAGING_SLOT})")
    parser.add_argument(
        "--health-path",
        default=DEFAULT_HEALTH_PATH,
        help=f"health check path (default: {DEFAULT_HEALTH_PATH})",
    )
    parser.add_argument(
        "--version-from",
        type=_contract,
        default=VersionContract.parse(DEFAULT_CONTRACT),
        help="how the app reports its version: json:<field of the health JSON>, header:<name> or "
        f"path:/<path answering the version as text> (default: {DEFAULT_CONTRACT})",
    )
    parser.add_argument(
        "--instance-from",
        type=_instance_contract,
        default=InstanceContract.parse(DEFAULT_INSTANCE_CONTRACT),
        help="how the app names the instance that answered (its WEBSITE_INSTANCE_ID): json:<field of the "
        "health JSON>, header:<name>, or none (trust the ARRAffinity cookie; "
        f"default: {DEFAULT_INSTANCE_CONTRACT})",
    )
    parser.add_argument(
        "--consecutive",
        type=_positive_int(1, 20),
        default=3,
        help="answers in a row every instance must give (default: 3)",
    )
    _waits(parser)


def _waits(parser: argparse.ArgumentParser) -> None:
    """The probe waits of every release command (and of ``budget``, which counts them)."""
    parser.add_argument(
        "--interval",
        type=_seconds(1, MAX_INTERVAL),
        default=10.0,
        help=f"seconds between probe rounds, 1-{MAX_INTERVAL:g} (default: 10)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds(1, MAX_TIMEOUT),
        default=600.0,
        help=f"seconds one confirmation may take, 1-{MAX_TIMEOUT:g} (default: 600)",
    )
    parser.add_argument(
        "--request-timeout",
        type=_seconds(1, 120),
        default=10.0,
        help="seconds one probe may take, 1-120 (default: 10)",
    )


def _swapping(parser: argparse.ArgumentParser, *, swaps: bool = True) -> None:
    parser.add_argument(
        "--swap-timeout",
        type=_seconds(1, MAX_SWAP_TIMEOUT),
        default=900.0,
        help=f"seconds a swap may take, 1-{MAX_SWAP_TIMEOUT:g} (default: 900); a swap still running then is "
        "awaited (site polled until idle) for this plus --timeout"
        + ("" if swaps else "; this command never swaps, it accepts the flag so one set of limits fits all"),
    )


def _gates(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-requests",
        type=_positive_int(0, 1_000_000),
        default=50,
        help="fewest candidate requests per window for a verdict (default: 50)",
    )
    parser.add_argument(
        "--max-5xx-rate", type=_share, default=0.05, help="absolute 5xx share ceiling (default: 0.05)"
    )
    parser.add_argument(
        "--max-5xx-increase",
        type=_share,
        default=0.01,
        help="most the 5xx share may exceed the baseline's (default: 0.01)",
    )
    parser.add_argument(
        "--max-latency-ratio",
        type=float,
        default=1.5,
        help="most the p95 response time may be as a multiple of the baseline's (default: 1.5)",
    )


def add_release_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``infra release`` and its subcommands."""
    parser = subparsers.add_parser(
        "release",
        help="blue/green releases of App Service apps: deploy, verify, swap, canary, rollback",
        description="Deploy a version to the staging slot, confirm it, swap or canary it into production, "
        "roll back.",
    )
    steps = parser.add_subparsers(dest="step", required=True)

    deploy = steps.add_parser("deploy", help="put a container image on the staging slot and confirm it")
    _common(deploy)
    deploy.add_argument(
        "--image", required=True, help="container image, e.g. myregistry.azurecr.io/web:1.4.2"
    )
    deploy.add_argument(
        "--version", type=_version, help="the version the app reports (default: the image tag)"
    )
    _swapping(deploy, swaps=False)

    verify = steps.add_parser("verify", help="confirm every instance of a slot is healthy (and its version)")
    _common(verify)
    verify.add_argument(
        "--target",
        default=None,
        help=f"slot to verify: the release slot (default) or {PRODUCTION_SLOT}",
    )
    verify.add_argument("--version", type=_version, help="the version every instance must report")
    _swapping(verify, swaps=False)

    swap = steps.add_parser(
        "swap", help="confirm staging, swap it into production, confirm, bake; swap back on failure"
    )
    _common(swap)
    swap.add_argument("--image", help="the image being released: no-op when production confirms it")
    swap.add_argument("--version", type=_version, help="the version the app reports (default: the image tag)")
    swap.add_argument(
        "--bake",
        type=_duration(MAX_BAKE),
        default=0.0,
        help="watch production's metrics this long after the swap and swap back on a breach (e.g. 10m)",
    )
    _swapping(swap)
    _gates(swap)

    canary = steps.add_parser(
        "canary", help="route growing shares of traffic to staging, judge metrics, then swap"
    )
    _common(canary)
    canary.add_argument("--image", help="the image being released (must be on the release slot)")
    canary.add_argument(
        "--version", type=_version, help="the version the app reports (default: the image tag)"
    )
    canary.add_argument(
        "--steps", type=_steps, default=[5.0, 25.0, 50.0], help="percentages of traffic (default: 5,25,50)"
    )
    canary.add_argument(
        "--bake", type=_duration(MAX_BAKE), default=600.0, help="how long each step runs (default: 10m)"
    )
    canary.add_argument(
        "--bake-after-swap",
        type=_duration(MAX_BAKE),
        default=0.0,
        help="watch production's metrics this long after the final swap (default: 0, off)",
    )
    _swapping(canary)
    _gates(canary)

    rollback = steps.add_parser(
        "rollback", help="swap the recorded previous release back (only if staging holds exactly it)"
    )
    _common(rollback)
    _swapping(rollback)

    budget = steps.add_parser(
        "budget",
        help="refuse, before anything changes, a deploy job whose releases could outlast its timeout",
        description="The worst case of a deploy job (setup, `pulumi up`, a smoke verify of every app, then "
        "deploy and canary or swap of each released app, swap-backs included; platform_infra.release.budget) "
        "with the limits, canary steps and bake this run was given, against the job's timeout. Reads the "
        "stack's apps from Pulumi.<stack>.yaml; needs no credentials. Exit 2 when it does not fit.",
    )
    budget.add_argument("stack", help="stack name (reads Pulumi.<stack>.yaml)")
    budget.add_argument("--root", type=Path, default=None, help="project folder (default: the current one)")
    _waits(budget)
    _swapping(budget)
    budget.add_argument(
        "--steps",
        type=_optional_steps,
        default=[],
        help="the canary steps the release step passes (empty: it swaps; default: empty)",
    )
    budget.add_argument(
        "--bake", type=_duration(MAX_BAKE), default=0.0, help="the bake the release step passes (default: 0)"
    )
    budget.add_argument(
        "--images",
        default=None,
        help="the run's JSON map of app name -> image (RELEASE_IMAGES): counts the apps released; "
        "default: the apps whose config has an image",
    )
    budget.add_argument(
        "--job-minutes", type=_positive_int(1, 100_000), required=True, help="the job's timeout in minutes"
    )
    budget.add_argument(
        "--pulumi-minutes",
        type=_positive_int(0, 100_000),
        required=True,
        help="the timeout of the job's `pulumi up` step in minutes",
    )
    budget.set_defaults(handler=_budget)

    parser.set_defaults(handler=handle)


def _stop_on_sigterm() -> Any:
    """Turn SIGTERM into KeyboardInterrupt, so cleanup runs when CI cancels the job (GitHub Actions and
    Azure Pipelines send SIGINT, then SIGTERM, before killing the process)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def _restore_signal(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _released_apps(apps: Sequence[Any], images_json: str | None) -> int:
    """How many of the stack's apps the release step releases: those named in RELEASE_IMAGES, or without
    it those deployed from an image (runtime apps get no image)."""
    if images_json is None:
        return sum(1 for app in apps if app.image)
    try:
        images = json.loads(images_json or "{}")
    except ValueError:
        images = None
    if not isinstance(images, dict):
        raise ValueError(f"--images must be a JSON object of app name -> image, got {images_json!r}")
    return sum(1 for app in apps if images.get(app.name))


def _budget(args: argparse.Namespace) -> int:
    """``infra release budget``: exit 2, naming what to shorten, when the job's worst case exceeds its
    timeout; a job killed in a swap back would leave production on the bad version."""
    from platform_infra.cli.stack_config import offline_stack_config
    from platform_infra.release import budget

    config, _ = offline_stack_config(args.stack, args.root)
    apps = config.apps
    try:
        released = _released_apps(apps, args.images)
    except ValueError as error:
        return _error(f"release budget of stack '{args.stack}': {error}")
    limits = budget.Limits(
        timeout=args.timeout,
        interval=args.interval,
        request_timeout=min(args.request_timeout, args.timeout),
        swap_timeout=args.swap_timeout,
        instances=max((app.capacity for app in apps), default=1),
        probes_per_instance=2
        if any(VersionContract.parse(app.version_from).kind == "path" for app in apps)
        else 1,
    )
    needed = budget.deploy_job_minutes(
        limits,
        apps=len(apps),
        released=released,
        steps=args.steps,
        bake=args.bake,
        pulumi_minutes=args.pulumi_minutes,
    )
    what = (
        f"{len(apps)} app(s), {released} released, "
        + (f"canary steps {','.join(f'{s:g}' for s in args.steps)}" if args.steps else "swap")
        + f", bake {args.bake:g} s"
    )
    if needed > args.job_minutes:
        return _error(
            f"release budget of stack '{args.stack}': {what} need up to {needed} min at worst, more than the "
            f"job's {args.job_minutes} min (--job-minutes): release fewer apps per run (RELEASE_IMAGES), "
            "use fewer canary steps or a shorter bake (PROD_CANARY_STEPS, PROD_RELEASE_BAKE), "
            "or give the job longer"
        )
    print(
        f"release budget of stack '{args.stack}': {what}: up to {needed} of the job's {args.job_minutes} min"
    )
    return 0


def handle(args: argparse.Namespace, deps: ReleaseDependencies | None = None) -> int:
    """Run one release step; returns the exit code."""
    deps = deps or ReleaseDependencies()
    subscription = args.subscription
    if not subscription:
        from_environment = os.environ.get("AZURE_SUBSCRIPTION_ID", "").strip()
        if not from_environment:
            return _error("--subscription is required (or set AZURE_SUBSCRIPTION_ID)")
        if not GUID_PATTERN.fullmatch(from_environment):
            return _error(f"AZURE_SUBSCRIPTION_ID must be a subscription GUID, got {from_environment!r}")
        subscription = from_environment.lower()
    target_slot = getattr(args, "target", None)
    if target_slot is not None:
        if target_slot.lower() == PRODUCTION_SLOT:
            target_slot = PRODUCTION_SLOT
        elif target_slot != args.slot:
            return _error(
                f"--target must be the release slot ({args.slot}) or {PRODUCTION_SLOT}, got {target_slot!r}"
            )

    # The SDK and the engine load here, for release commands only.
    from platform_infra.release.flow import (
        Readiness,
        ReleaseEngine,
        ReleaseError,
        ReleaseTarget,
        validate_image,
    )
    from platform_infra.release.gates import GateThresholds

    try:
        if getattr(args, "image", None) is not None:
            validate_image(args.image)
        target = ReleaseTarget(
            resource_group=args.resource_group,
            app=args.app,
            slot=args.slot,
            health_path=args.health_path,
            contract=args.version_from,
            instance=args.instance_from,
        )
        readiness = Readiness(
            consecutive=args.consecutive,
            interval=args.interval,
            timeout=args.timeout,
            request_timeout=min(args.request_timeout, args.timeout),
        )
        gates = (
            GateThresholds(
                min_requests=args.min_requests,
                max_5xx_rate=args.max_5xx_rate,
                max_5xx_increase=args.max_5xx_increase,
                max_latency_ratio=args.max_latency_ratio,
            )
            if hasattr(args, "min_requests")
            else None
        )
        conflict = contracts_conflict(str(args.version_from), str(args.instance_from))
        if conflict:
            raise ValueError(
                f"--version-from {args.version_from} with --instance-from {args.instance_from}: {conflict}"
            )
    except ValueError as error:
        return _error(str(error))
    needs_metrics = args.step == "canary" or getattr(args, "bake", 0) > 0
    reporter = deps.reporter or Reporter.for_console()
    engine = ReleaseEngine(
        deps.client_factory(subscription),
        target,
        probe=deps.probe,
        readiness=readiness,
        metrics=deps.metrics_factory(subscription) if needs_metrics else None,
        gates=gates,
        clock=deps.clock,
        wall=deps.wall,
        sleep=deps.sleep,
        reporter=reporter,
        scheme=deps.scheme,
        swap_timeout=getattr(args, "swap_timeout", 900.0),
        polling_interval=deps.polling_interval,
        owner=deps.owner or default_owner(),
    )
    started = deps.clock()
    previous_handler = _stop_on_sigterm()
    try:
        if args.step == "deploy":
            engine.deploy(args.image, args.version)
        elif args.step == "verify":
            engine.verify(target_slot or args.slot, args.version)
        elif args.step == "swap":
            engine.swap(args.image, args.version, bake=args.bake)
        elif args.step == "canary":
            engine.canary(
                args.steps, args.bake, image=args.image, version=args.version, bake=args.bake_after_swap
            )
        else:
            engine.rollback()
    except ReleaseError as error:
        reporter.done()
        reporter.say(f"[release {args.app}] FAILED after {deps.clock() - started:.0f}s")
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C, or a cancelled/timed-out CI job (SIGTERM): the engine has removed any canary rule and the
        # lock on its way out; a swap already requested keeps running on Azure.
        reporter.done()
        print(
            f"error: {args.step} interrupted after {deps.clock() - started:.0f}s; check the app with "
            "`infra release verify --target production` before releasing again",
            file=sys.stderr,
        )
        return 130
    finally:
        _restore_signal(previous_handler)
    reporter.say(f"[release {args.app}] {args.step}: done in {deps.clock() - started:.0f}s")
    return 0
