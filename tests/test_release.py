"""The release flow, driven through ``infra release`` and the real azure-mgmt-web client over HTTP.

A fake of the ARM endpoints the flow uses (site and slot reads, ``config/web`` reads and PATCH, the
``slotsswap`` long-running operation) and one fake health endpoint per slot run on 127.0.0.1. Each
scenario asserts what the fake ARM endpoint received: whether a swap was requested, and how often.

The swap behaves as App Service's does: the POST answers 202 with ``Location`` and ``Retry-After`` (the
headers azure-mgmt-web reads), the operation URL answers 202 while the swap runs and 200 when it is done,
or an ARM error status when it failed; a second swap requested while one runs gets 409 Conflict.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import platform_infra.cli.main as cli
import pytest
from azure.core.credentials import AccessToken
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import HeadersPolicy
from azure.mgmt.web import WebSiteManagementClient
from platform_infra.release import cli as release_cli
from platform_infra.release.flow import (
    HealthPolicy,
    ReleaseEngine,
    ReleaseError,
    ReleaseTarget,
    http_health_check,
)

SUBSCRIPTION = "11111111-1111-4111-8111-111111111111"
RESOURCE_GROUP = "web-rg"
APP = "web-app"
V1 = "DOCKER|myregistry.azurecr.io/web:1.0.0"
V2 = "DOCKER|myregistry.azurecr.io/web:2.0.0"
TOKEN = "fake-token-for-tests"

SITE_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/sites/(?P<app>[^/]+)"
    r"(?:/slots/(?P<slot>[^/]+))?(?P<rest>/config/web|/slotsswap)?$"
)


@dataclass
class FakeAzure:
    """State of one fake app: the version in each slot, which (slot, version) pairs are unhealthy."""

    versions: dict[str, str] = field(default_factory=dict)
    unhealthy: set[tuple[str, str]] = field(default_factory=set)
    swap_fails: bool = False
    swap_polls: int = 0
    """How many polls of a swap operation answer 202 (still running) before it finishes."""
    swap_never_finishes: bool = False
    swap_bodies: list[dict[str, Any]] = field(default_factory=list)
    config_patches: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    health_probes: dict[str, int] = field(default_factory=lambda: {"production": 0, "staging": 0})
    operations: dict[str, int] = field(default_factory=dict)
    """Operation id -> polls left before it finishes; -1 once finished."""
    unauthenticated: int = 0
    rejected_swaps: int = 0
    health_hosts: dict[str, str] = field(default_factory=dict)
    arm_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, production: str, staging: str) -> None:
        self.versions = {"production": production, "staging": staging}
        self.unhealthy = set()
        self.swap_fails = False
        self.swap_polls = 0
        self.swap_never_finishes = False
        self.swap_bodies = []
        self.config_patches = []
        self.health_probes = {"production": 0, "staging": 0}
        self.operations = {}
        self.unauthenticated = 0
        self.rejected_swaps = 0

    @property
    def swaps_requested(self) -> int:
        return len(self.swap_bodies)


def _arm_handler(fake: FakeAzure) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _reply(
            self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
        ):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def _route(self, method: str) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                fake.unauthenticated += 1
                self._reply(401, {"error": {"code": "AuthenticationFailed", "message": "no token"}})
                return
            path = self.path.split("?", 1)[0]
            if path.startswith("/operations/"):
                self._operation(path.rsplit("/", 1)[1])
                return
            match = SITE_PATH.match(path)
            if (
                not match
                or match["sub"] != SUBSCRIPTION
                or match["rg"] != RESOURCE_GROUP
                or match["app"] != APP
            ):
                self._reply(404, {"error": {"code": "ResourceNotFound", "message": path}})
                return
            slot = match["slot"] or "production"
            rest = match["rest"]
            with fake.lock:
                if rest is None and method == "GET":
                    self._reply(200, self._site(slot))
                elif rest == "/config/web" and method == "GET":
                    self._reply(200, {"name": "web", "properties": {"linuxFxVersion": fake.versions[slot]}})
                elif rest == "/config/web" and method == "PATCH":
                    body = self._body()
                    fake.config_patches.append((slot, body))
                    fake.versions[slot] = body["properties"]["linuxFxVersion"]
                    self._reply(200, {"name": "web", "properties": {"linuxFxVersion": fake.versions[slot]}})
                elif rest == "/slotsswap" and method == "POST":
                    body = self._body()
                    if any(left >= 0 for left in fake.operations.values()):
                        fake.rejected_swaps += 1
                        self._reply(
                            409,
                            {
                                "error": {
                                    "code": "Conflict",
                                    "message": "Cannot modify this site because another operation is in "
                                    "progress. Details: OperationName: SwapSiteSlots",
                                }
                            },
                        )
                        return
                    fake.swap_bodies.append({"slot": slot, **body})
                    operation = f"op{len(fake.swap_bodies)}"
                    fake.operations[operation] = fake.swap_polls
                    url = f"{fake.arm_url}/operations/{operation}"
                    self._reply(202, None, {"Location": url, "Retry-After": "0"})
                else:
                    self._reply(405, {"error": {"code": "MethodNotAllowed", "message": f"{method} {path}"}})

        def _site(self, slot: str) -> dict[str, Any]:
            name = APP if slot == "production" else f"{APP}/{slot}"
            return {
                "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
                f"Microsoft.Web/sites/{name}",
                "name": name,
                "location": "westeurope",
                "properties": {"defaultHostName": fake.health_hosts[slot], "state": "Running"},
            }

        def _operation(self, operation: str) -> None:
            with fake.lock:
                left = fake.operations.get(operation)
                if left is None:
                    self._reply(404, {"error": {"code": "NotFound", "message": f"no operation {operation}"}})
                    return
                if left > 0 or (left == 0 and fake.swap_never_finishes):
                    fake.operations[operation] = max(left - 1, 0)
                    url = f"{fake.arm_url}/operations/{operation}"
                    self._reply(202, None, {"Location": url, "Retry-After": "0"})
                    return
                if left == 0 and fake.swap_fails:
                    fake.operations[operation] = -1
                    self._reply(
                        400, {"error": {"code": "SwapFailed", "message": "warm-up of staging failed"}}
                    )
                    return
                if left == 0:
                    # The swap happens once per operation, when Azure reports it finished.
                    fake.operations[operation] = -1
                    v = fake.versions
                    v["production"], v["staging"] = v["staging"], v["production"]
                self._reply(200, None)

        def do_GET(self) -> None:
            self._route("GET")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


def _health_handler(fake: FakeAzure, slot: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            with fake.lock:
                fake.health_probes[slot] += 1
                healthy = self.path == "/healthz" and (slot, fake.versions[slot]) not in fake.unhealthy
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeAzure, str]]:
    """The fake ARM endpoint and one health endpoint per slot, on ephemeral ports; yields (fake, ARM URL)."""
    fake = FakeAzure()
    started = []
    arm = ThreadingHTTPServer(("127.0.0.1", 0), _arm_handler(fake))
    started.append(arm)
    fake.arm_url = f"http://127.0.0.1:{arm.server_address[1]}"
    for slot in ("production", "staging"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _health_handler(fake, slot))
        fake.health_hosts[slot] = f"127.0.0.1:{server.server_address[1]}"
        started.append(server)
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True) for s in started
    ]
    for thread in threads:
        thread.start()
    try:
        yield fake, fake.arm_url
    finally:
        for server in started:
            server.shutdown()
            server.server_close()


class FakeCredential:
    """A TokenCredential that hands out a fixed token (the fake ARM endpoint checks it)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, 4_102_444_800)


class PlainHttpAllowed(HeadersPolicy):
    """Lets the bearer-token policy send to the fake's http:// URL (it refuses non-TLS URLs by default)."""

    def on_request(self, request: PipelineRequest) -> None:
        request.context.options["enforce_https"] = False
        super().on_request(request)


class FakeClock:
    """Monotonic time that only moves when the flow sleeps, so waits cost nothing."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Run:
    code: int
    lines: list[str]
    stderr: str
    clock: FakeClock


@pytest.fixture
def fake(servers: tuple[FakeAzure, str]) -> FakeAzure:
    azure, _ = servers
    azure.reset(production=V1, staging=V1)
    return azure


def _client(base_url: str) -> WebSiteManagementClient:
    return WebSiteManagementClient(
        FakeCredential(),  # type: ignore[arg-type]  # duck-typed TokenCredential
        SUBSCRIPTION,
        base_url=base_url,
        headers_policy=PlainHttpAllowed(),
        retry_total=0,
    )


@pytest.fixture
def release(servers: tuple[FakeAzure, str], capsys: pytest.CaptureFixture[str]):
    """Run ``infra release <argv>`` against the fakes; returns a :class:`Run`."""
    _, base_url = servers

    def run(*argv: str) -> Run:
        clock = FakeClock()
        lines: list[str] = []
        deps = release_cli.ReleaseDependencies(
            client_factory=_client_factory(base_url),
            clock=clock,
            sleep=clock.sleep,
            echo=lines.append,
            scheme="http",
            polling_interval=0,
        )
        args = cli.build_parser().parse_args(
            [
                "release",
                *argv,
                "--subscription",
                SUBSCRIPTION,
                "--resource-group",
                RESOURCE_GROUP,
                "--app",
                APP,
            ]
        )
        capsys.readouterr()
        code = release_cli.handle(args, deps)
        return Run(code, lines, capsys.readouterr().err, clock)

    return run


def _client_factory(base_url: str):
    def factory(subscription: str) -> WebSiteManagementClient:
        assert subscription == SUBSCRIPTION
        return _client(base_url)

    return factory


def test_deploy_sets_the_staging_image_and_leaves_production(fake: FakeAzure, release) -> None:
    result = release("deploy", "--image", "myregistry.azurecr.io/web:2.0.0")
    assert result.code == 0, result.stderr
    assert fake.config_patches == [("staging", {"properties": {"linuxFxVersion": V2}})]
    assert fake.versions == {"production": V1, "staging": V2}
    assert any("setting slot 'staging'" in line for line in result.lines)
    assert fake.unauthenticated == 0


def test_healthy_release_swaps_once_and_verifies_both_slots(fake: FakeAzure, release) -> None:
    fake.versions["staging"] = V2
    result = release("swap", "--image", "myregistry.azurecr.io/web:2.0.0", "--interval", "0")
    assert result.code == 0, result.stderr
    assert fake.swaps_requested == 1
    assert fake.swap_bodies[0] == {"slot": "staging", "targetSlot": "production", "preserveVnet": True}
    assert fake.versions == {"production": V2, "staging": V1}
    assert fake.health_probes == {"production": 1, "staging": 1}
    text = "\n".join(result.lines)
    assert "verify staging: healthy after 1 attempt(s), waited" in text
    assert "swap: swap finished" in text
    assert f"swap: production now serves {V2}; {V1} stays in slot 'staging' for rollback" in text


def test_unhealthy_staging_is_never_swapped(fake: FakeAzure, release) -> None:
    fake.versions["staging"] = V2
    fake.unhealthy = {("staging", V2), ("production", V2)}
    result = release("swap", "--retries", "3", "--interval", "5", "--timeout", "60")
    assert result.code == 1
    assert fake.swaps_requested == 0
    assert fake.versions["production"] == V1
    assert fake.health_probes["staging"] == 3
    assert result.clock.sleeps == [5, 5]  # bounded: 3 attempts, 2 waits
    assert "not healthy after 3 attempt(s)" in result.stderr
    assert f"No swap requested; production still serves {V1}" in result.stderr


def test_verify_stops_at_the_overall_timeout(fake: FakeAzure, release) -> None:
    fake.unhealthy = {("staging", V1)}
    result = release("verify", "--retries", "100", "--interval", "4", "--timeout", "10")
    assert result.code == 1
    # Probes at t=0, 4 and 8; the last wait is cut to the 2 s left, then the deadline ends the check.
    assert result.clock.sleeps == [4, 4, 2]
    assert fake.health_probes["staging"] == 3
    assert "limits: 100 attempts, 10s" in result.stderr
    assert fake.swaps_requested == 0


def test_failed_swap_operation_leaves_production_alone(fake: FakeAzure, release) -> None:
    fake.versions["staging"] = V2
    fake.swap_fails = True
    result = release("swap", "--interval", "0")
    assert result.code == 1
    assert fake.swaps_requested == 1
    assert fake.versions == {"production": V1, "staging": V2}
    assert "the swap failed" in result.stderr and "warm-up of staging failed" in result.stderr
    assert f"production still serves {V1}" in result.stderr
    assert fake.health_probes["production"] == 0  # nothing to verify: production never changed


def test_unhealthy_production_after_swap_is_swapped_back(fake: FakeAzure, release) -> None:
    fake.versions["staging"] = V2
    fake.unhealthy = {("production", V2)}  # e.g. a production-only sticky setting breaks the new version
    result = release("swap", "--retries", "2", "--interval", "1")
    assert result.code == 1
    assert fake.swaps_requested == 2
    assert all(body["targetSlot"] == "production" for body in fake.swap_bodies)
    assert fake.versions == {"production": V1, "staging": V2}
    assert f"swapped back automatically, production serves {V1} again and is healthy" in result.stderr
    text = "\n".join(result.lines)
    assert "swap back: swap finished" in text


def test_already_live_version_is_a_no_op(fake: FakeAzure, release) -> None:
    fake.reset(production=V2, staging=V1)
    deploy = release("deploy", "--image", "myregistry.azurecr.io/web:2.0.0")
    swap = release("swap", "--image", "myregistry.azurecr.io/web:2.0.0")
    assert (deploy.code, swap.code) == (0, 0)
    assert fake.config_patches == []
    assert fake.swaps_requested == 0
    assert fake.health_probes == {"production": 0, "staging": 0}
    assert any("production already runs" in line for line in swap.lines)


def test_swap_refuses_a_version_that_is_not_on_staging(fake: FakeAzure, release) -> None:
    result = release("swap", "--image", "myregistry.azurecr.io/web:3.0.0")
    assert result.code == 1
    assert fake.swaps_requested == 0
    assert "run deploy first" in result.stderr


def test_rollback_swaps_the_previous_version_back(fake: FakeAzure, release) -> None:
    fake.reset(production=V2, staging=V1)
    result = release("rollback", "--interval", "0")
    assert result.code == 0, result.stderr
    assert fake.swaps_requested == 1
    assert fake.versions == {"production": V1, "staging": V2}
    assert any(f"rollback: production serves {V1} again" in line for line in result.lines)


def test_missing_app_fails_with_the_reason_and_no_swap(fake: FakeAzure, servers) -> None:
    _, base_url = servers
    engine = ReleaseEngine(
        _client(base_url),
        ReleaseTarget(resource_group=RESOURCE_GROUP, app="no-such-app"),
        policy=HealthPolicy(attempts=1),
        echo=lambda _: None,
        scheme="http",
        polling_interval=0,
    )
    with pytest.raises(
        ReleaseError, match="cannot read the version of slot 'production' of app 'no-such-app'"
    ):
        engine.swap()
    assert fake.swaps_requested == 0


def test_http_health_check_reports_status_and_unreachable_hosts(fake: FakeAzure) -> None:
    host = fake.health_hosts["staging"]
    assert http_health_check(f"http://{host}/healthz", 5).ok
    bad = http_health_check(f"http://{host}/other", 5)
    assert (bad.ok, bad.status) == (False, 503)
    unreachable = http_health_check("http://127.0.0.1:9/healthz", 2)
    assert (unreachable.ok, unreachable.status) == (False, None)


def test_release_arguments_are_validated(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(
            ["release", "verify", "--resource-group", "rg", "--app", "a", "--retries", "0"]
        )
    assert "must be at least 1" in capsys.readouterr().err
    args = cli.build_parser().parse_args(
        [
            "release",
            "swap",
            "--subscription",
            SUBSCRIPTION,
            "--resource-group",
            "rg",
            "--app",
            "a",
            "--slot",
            "production",
        ]
    )
    assert release_cli.handle(args, release_cli.ReleaseDependencies(client_factory=_unused)) == 2
    assert "cannot be production" in capsys.readouterr().err
    assert isinstance(args, argparse.Namespace)


def _unused(subscription: str) -> WebSiteManagementClient:
    raise AssertionError("no client may be built for invalid arguments")


def test_swap_waits_while_azure_reports_the_operation_running(fake: FakeAzure, release) -> None:
    fake.versions["staging"] = V2
    fake.swap_polls = 3  # the operation URL answers 202 three times before 200
    result = release("swap", "--interval", "0")
    assert result.code == 0, result.stderr
    assert fake.swaps_requested == 1
    assert fake.operations == {"op1": -1}
    assert fake.versions == {"production": V2, "staging": V1}


def test_swap_refused_while_another_swap_runs_leaves_production(fake: FakeAzure, release) -> None:
    fake.versions["staging"] = V2
    fake.operations["someone-elses-swap"] = 5  # a swap started elsewhere is still running
    result = release("swap", "--interval", "0")
    assert result.code == 1
    assert fake.rejected_swaps == 1 and fake.swaps_requested == 0
    assert "another operation is in progress" in result.stderr
    assert f"production still serves {V1}" in result.stderr
    assert fake.versions == {"production": V1, "staging": V2}
    assert fake.health_probes["production"] == 0
    assert len(result.stderr.strip().splitlines()) == 1


def test_swap_timeout_says_azure_may_still_finish_it(fake: FakeAzure, release) -> None:
    fake.versions["staging"] = V2
    fake.swap_never_finishes = True
    try:
        result = release("swap", "--interval", "0", "--swap-timeout", "0.3")
    finally:
        fake.operations.clear()  # the poller thread left behind gets 404 and stops
    assert result.code == 1
    assert fake.swaps_requested == 1  # no swap back requested into a running swap
    assert "did not finish within 0.3s and is still running on Azure" in result.stderr
    assert f"when it completes, production serves {V2} without a health check" in result.stderr
    assert "production still serves" not in result.stderr
    assert fake.health_probes["production"] == 0


def test_rollback_never_swaps_an_unhealthy_slot_into_production(fake: FakeAzure, release) -> None:
    # After `deploy` of a new image the slot no longer holds the previous version; this one is broken.
    fake.reset(production=V2, staging="DOCKER|myregistry.azurecr.io/web:3.0.0")
    fake.unhealthy = {("staging", "DOCKER|myregistry.azurecr.io/web:3.0.0")}
    result = release("rollback", "--retries", "2", "--interval", "1")
    assert result.code == 1
    assert fake.swaps_requested == 0
    assert fake.versions["production"] == V2
    assert f"No swap requested; production still serves {V2}" in result.stderr


class NoTokenCredential:
    """Fails the way DefaultAzureCredential does when no credential in its chain works."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError(
            message="DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
            "Attempted credentials:\n\tEnvironmentCredential: EnvironmentCredential authentication "
            "unavailable.\n\tAzureCliCredential: Azure CLI not found on path\nTo mitigate this issue, please "
            "refer to the troubleshooting guidelines here at https://aka.ms/azsdk/python/identity/troubleshoot."
        )


def test_missing_credentials_are_one_line(
    fake: FakeAzure, servers, capsys: pytest.CaptureFixture[str]
) -> None:
    _, base_url = servers

    def factory(subscription: str) -> WebSiteManagementClient:
        return WebSiteManagementClient(
            NoTokenCredential(),  # type: ignore[arg-type]
            subscription,
            base_url=base_url,
            headers_policy=PlainHttpAllowed(),
            retry_total=0,
        )

    args = cli.build_parser().parse_args(
        [
            "release",
            "verify",
            "--subscription",
            SUBSCRIPTION,
            "--resource-group",
            RESOURCE_GROUP,
            "--app",
            APP,
        ]
    )
    code = release_cli.handle(
        args, release_cli.ReleaseDependencies(client_factory=factory, echo=lambda _: None)
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "no Azure token (DefaultAzureCredential failed to retrieve a token" in err
    assert "Last tried: AzureCliCredential: Azure CLI not found on path" in err


def test_default_client_silences_the_credential_chain_warning() -> None:
    logger = logging.getLogger("azure.identity")
    level = logger.level
    try:
        release_cli.default_client(SUBSCRIPTION)
        assert logger.getEffectiveLevel() == logging.ERROR
    finally:
        logger.setLevel(level)


def _release_args(*extra: str) -> list[str]:
    return ["release", *extra, "--subscription", SUBSCRIPTION, "--resource-group", "rg", "--app", "a"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--timeout", "nan"], "argument --timeout: must be a number of seconds, got 'nan'"),
        (["verify", "--interval", "inf"], "argument --interval: must be a number of seconds, got 'inf'"),
        (["swap", "--swap-timeout", "inf"], "argument --swap-timeout: must be a number of seconds"),
        (["verify", "--retries", "x"], "argument --retries: must be a whole number, got 'x'"),
    ],
)
def test_release_numbers_must_be_finite(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(_release_args(*argv))
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--slot", ""], "slot '' is not a valid slot name"),
        (["verify", "--slot", "Production"], "the release slot cannot be production"),
        (["verify", "--slot", "a/b"], "slot 'a/b' is not a valid slot name"),
        (["verify", "--target", "other"], "--target must be the release slot (staging) or production"),
        (["verify", "--health-path", "/a b"], "health path must be an absolute URL path"),
    ],
)
def test_release_names_are_validated(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = cli.build_parser().parse_args(_release_args(*argv))
    assert release_cli.handle(args, release_cli.ReleaseDependencies(client_factory=_unused)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_release_validates_the_subscription_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "not-a-guid")
    args = cli.build_parser().parse_args(["release", "verify", "--resource-group", "rg", "--app", "a"])
    assert release_cli.handle(args, release_cli.ReleaseDependencies(client_factory=_unused)) == 2
    assert "AZURE_SUBSCRIPTION_ID must be a subscription GUID, got 'not-a-guid'" in capsys.readouterr().err
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION.upper())
    seen: list[str] = []

    def factory(subscription: str) -> WebSiteManagementClient:
        seen.append(subscription)
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        release_cli.handle(args, release_cli.ReleaseDependencies(client_factory=factory))
    assert seen == [SUBSCRIPTION]


def test_verify_target_production_is_case_insensitive(fake: FakeAzure, release) -> None:
    result = release("verify", "--target", "Production", "--interval", "0")
    assert result.code == 0, result.stderr
    assert fake.health_probes == {"production": 1, "staging": 0}
