"""A local fake of the Azure endpoints ``infra release`` uses, behaving like Azure when things go wrong.

One ``ThreadingHTTPServer`` answers ARM (sites, slots, ``config/web``, app settings, slot-sticky names,
instances, ``slotsswap`` and its operation, ``Microsoft.Resources/tags``, Azure Monitor metrics); one server
per slot answers the app's own HTTP (health, version, login page). Modelled on what App Service does:

* **Restart lag**: a ``config/web`` change restarts the slot; each instance keeps answering with the old
  container for ``restart_lag`` more requests (a container that never starts answers 503 afterwards).
* **Several instances** per slot; one instance can be broken alone. Each healthy answer names the instance
  that gave it (``"instance"`` in the health JSON: the app reports its ``WEBSITE_INSTANCE_ID``); a broken
  instance's 503 names none, like a dead container behind App Service's front end.
* **Client affinity off** (what ``BlueGreenAppService`` sets): the front end is not documented to honour an
  incoming ``ARRAffinity`` cookie then, so by default the fake ignores it and picks an instance itself
  (``routing``: ``random``, seeded per reset, or ``first``: always the first instance, a legal if unlucky
  balancer). ``affinity_honoured=True`` routes by the cookie (instance id from ``.../instances``), as the
  Kudu author describes for apps with affinity on.
* **Redirects**: an app behind Easy Auth answers 302 to a login page that answers 200.
* **Swaps** (``POST .../slotsswap``): 202 with ``Location``/``Retry-After``; the operation answers 202 for
  ``swap_polls`` polls (or, ``hang``, until the site has been read ``hang_site_reads`` times, like a swap
  finishing on Azure's side after the client gave up), then applies it. Before swapping, Azure's warm-up:
  production's slot-sticky settings are applied to the source slot and every instance is pinged at
  ``WEBSITE_SWAP_WARMUP_PING_PATH`` (``/`` without it); a status outside
  ``WEBSITE_SWAP_WARMUP_PING_STATUSES`` aborts the swap ("Set up staging environments", App Service docs).
* **Tags** (``Tags_UpdateAtScope``): Merge is last-writer-wins, as in ARM (the API takes no ``If-Match``);
  Delete with a value removes only that name/value pair. ``tag_write_gate`` holds a write in flight so a test
  can interleave two concurrent releasers (one reads "free", the other writes, then the first write lands).
* While an operation runs the sites report ``targetSwapSlot`` and ``inProgressOperationId``; a second swap or
  a config change gets **409 Conflict**; ``slotSwapStatus`` reports the last swap.
* **rampUpRules** on production route that share of production requests to the slot; a client carrying
  ``x-ms-routing-name=<slot>`` is pinned to it while a rule exists (even at 0%), ``x-ms-routing-name=self``
  to production.
* **Azure Monitor metrics** (``GET /{resourceUri}/providers/Microsoft.Insights/metrics``): one point per
  minute of the requested timespan, computed from the traffic each slot gets (routing share) and a scripted
  :class:`Behaviour` per image (5xx share, response time, health; optionally only from a traffic share on).
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import random
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SUBSCRIPTION = "11111111-1111-4111-8111-111111111111"
RESOURCE_GROUP = "web-rg"
APP = "web-app"
TOKEN = "fake-token-for-tests"
REGISTRY = "myregistry.azurecr.io/web"
SLOTS = ("production", "staging")
WARMUP_PATH = "WEBSITE_SWAP_WARMUP_PING_PATH"
WARMUP_STATUSES = "WEBSITE_SWAP_WARMUP_PING_STATUSES"
TAGS = "/providers/Microsoft.Resources/tags/default"


def image(tag: str) -> str:
    """``DOCKER|myregistry.azurecr.io/web:<tag>``."""
    return f"DOCKER|{REGISTRY}:{tag}"


SITE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/sites/(?P<app>[^/]+)"
    r"(?:/slots/(?P<slot>[^/]+))?(?P<rest>/.*)?$"
)


@dataclass
class Behaviour:
    """How an image behaves under traffic, for the metrics.

    :param error_rate: share of requests answered 5xx.
    :param latency: average response time in seconds.
    :param healthy: App Service's health check passes (HealthCheckStatus 100, else 0).
    :param from_share: the behaviour applies only when the slot gets at least this share of all traffic
        (a failure under load); below it the image behaves like a good one.
    """

    error_rate: float = 0.001
    latency: float = 0.120
    healthy: bool = True
    from_share: float = 0.0


GOOD = Behaviour()


@dataclass
class Instance:
    """One worker of a slot: what it serves, and what it will serve once its restart lag has passed."""

    id: str
    serving: str
    pending: str | None = None
    lag: int = 0
    code: str | None = None
    """The version of zip-deployed code a runtime-stack worker runs (its stack names no version)."""


@dataclass
class FakeAzure:
    """State of one fake app; tests arrange it, run ``infra release``, then assert on it."""

    config: dict[str, str] = field(default_factory=dict)
    instances: dict[str, list[Instance]] = field(default_factory=dict)
    settings: dict[str, dict[str, str]] = field(default_factory=dict)
    sticky: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    ramp_rules: list[dict[str, Any]] = field(default_factory=list)
    restart_lag: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    """Image -> the version its app reports (default: the tag); a mutable tag re-pointed is modelled here."""
    never_starts: set[str] = field(default_factory=set)
    broken_in_production: set[str] = field(default_factory=set)
    """Images answering 503 when they run with production's slot-sticky settings (during warm-up too)."""
    fails_in_production_traffic: set[str] = field(default_factory=set)
    """Images answering 503 in the production slot only (not during warm-up): a production-only dependency."""
    easy_auth_redirect: set[str] = field(default_factory=set)
    """Images whose app is dead behind Easy Auth: health answers 302 to the login page."""
    broken_instances: set[tuple[str, str]] = field(default_factory=set)
    affinity_honoured: bool = False
    """Whether the front end routes by an incoming ``ARRAffinity`` cookie (undocumented with affinity off)."""
    routing: str = "random"
    """How the front end picks an instance when it ignores the cookie: ``random`` or ``first``."""
    tag_write_gate: Any = None
    """Called with each tags PATCH body before it is applied (outside the fake's lock): lets a test hold one
    releaser's write while another runs, to script the interleaving of two concurrent releases."""
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests_per_minute: float = 1000.0
    swap_polls: int = 0
    hang_from_swap: int = 0
    """From this swap on (1-based; 0: never) the operation outlives any client wait: it answers 202 to polls
    and completes once the site has been read ``hang_site_reads`` more times."""
    hang_site_reads: int = 3
    conflict_on_swaps: set[int] = field(default_factory=set)
    """Numbers (1-based) of swap POSTs answered 409 once, as when another operation just started."""
    foreign_operation: str | None = None
    """An operation someone else started: the site reports it and mutating requests get 409."""
    # what happened
    swap_bodies: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    config_patches: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tag_patches: list[dict[str, Any]] = field(default_factory=list)
    ramp_history: list[list[float]] = field(default_factory=list)
    production_history: list[str] = field(default_factory=list)
    """Every image production's config named, in order: a user-visible version is in here."""
    probes: dict[str, int] = field(default_factory=dict)
    metric_queries: list[str] = field(default_factory=list)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_swap: dict[str, Any] | None = None
    unauthenticated: int = 0
    arm_url: str = ""
    hosts: dict[str, str] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _random: random.Random = field(default_factory=lambda: random.Random(11))
    _route_counter: Iterator[int] = field(default_factory=itertools.count)

    def reset(self, production: str, staging: str, *, instances: int = 2, gate: bool = True) -> None:
        """Production and staging on the given images, ``instances`` workers each, settings as deployed."""
        with self.lock:
            self.config = {"production": production, "staging": staging}
            self.instances = {
                slot: [Instance(f"{slot[:4]}{n:02d}aaaa{n}", self.config[slot]) for n in range(instances)]
                for slot in SLOTS
            }
            base = {"WEBSITES_ENABLE_APP_SERVICE_STORAGE": "false"}
            if gate:  # what BlueGreenAppService sets on both slots
                base |= {WARMUP_PATH: "/healthz", WARMUP_STATUSES: "200"}
            self.settings = {
                "production": {**base, "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=prod"},
                "staging": {**base, "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=staging"},
            }
            self.sticky = ["APPLICATIONINSIGHTS_CONNECTION_STRING"]
            self.tags = {"environment": "dev", "slot": "production"}
            self.ramp_rules = []
            self.restart_lag = 0
            self.versions = {}
            self.never_starts = set()
            self.broken_in_production = set()
            self.fails_in_production_traffic = set()
            self.easy_auth_redirect = set()
            self.broken_instances = set()
            self.affinity_honoured = False
            self.routing = "random"
            self.tag_write_gate = None
            self._random = random.Random(11)
            self.behaviours = {}
            self.requests_per_minute = 1000.0
            self.swap_polls = 0
            self.hang_from_swap = 0
            self.hang_site_reads = 3
            self.conflict_on_swaps = set()
            self.foreign_operation = None
            self.swap_bodies = []
            self.rejected = []
            self.config_patches = []
            self.tag_patches = []
            self.ramp_history = []
            self.production_history = [production]
            self.probes = {slot: 0 for slot in SLOTS}
            self.metric_queries = []
            self.operations = {}
            self.last_swap = None
            self.unauthenticated = 0
            self._route_counter = itertools.count()

    def record(self, previous: str | None, current: str) -> None:
        """Put a release record on the site's tags, as an earlier release would have."""
        for key, value in (("previous", previous), ("current", current)):
            if value is not None:
                self.tags[f"platform-release-{key}"] = (
                    f"{self.version_of(value)} {value.removeprefix('DOCKER|')}"
                )
        self.tags["platform-release-at"] = "2026-11-01T10:00:00Z"

    # -- behaviour --

    def version_of(self, img: str) -> str:
        return self.versions.get(img, img.rsplit(":", 1)[-1])

    def production(self) -> str:
        """What production serves: its config, and every instance has caught up with it."""
        with self.lock:
            served = {i.pending or i.serving for i in self.instances["production"]}
            assert served == {self.config["production"]}, (served, self.config["production"])
            return self.config["production"]

    @property
    def swaps_requested(self) -> int:
        return len(self.swap_bodies)

    def running(self) -> bool:
        return self.foreign_operation is not None or any(
            op["state"] == "running" for op in self.operations.values()
        )

    def answer(self, slot: str, path: str, cookies: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """The app's answer on the slot's host (routing, instance choice, restart lag, failures)."""
        with self.lock:
            if slot == "production" and self.ramp_rules:
                pinned = cookies.get("x-ms-routing-name")
                rule = self.ramp_rules[0]
                if pinned == rule["name"]:
                    slot = rule["name"]
                elif pinned != "self":
                    share = float(rule.get("reroutePercentage") or 0)
                    if next(self._route_counter) % 100 < share:
                        slot = rule["name"]
            workers = self.instances[slot]
            chosen = None
            if self.affinity_honoured:
                chosen = next((i for i in workers if i.id == cookies.get("ARRAffinity")), None)
            if chosen is None:
                chosen = workers[0] if self.routing == "first" else self._random.choice(workers)
            self.probes[slot] += 1
            if chosen.pending is not None:
                if chosen.lag > 0:
                    chosen.lag -= 1
                else:
                    chosen.serving, chosen.pending = chosen.pending, None
            img = chosen.serving
            if path == "/login":
                return 200, {"Content-Type": "text/html"}, b"<html>Sign in</html>"
            if img in self.easy_auth_redirect:
                return (
                    302,
                    {"Location": f"http://{self.hosts[slot]}/login?post_login_redirect_uri={path}"},
                    b"",
                )
            broken = (
                img in self.never_starts
                or (slot, chosen.id) in self.broken_instances
                or (
                    slot == "production"
                    and (img in self.broken_in_production or img in self.fails_in_production_traffic)
                )
            )
            if broken:
                return 503, {"Content-Type": "text/plain"}, b"Application Error"
            version = chosen.code or self.version_of(img)
            if path == "/healthz":
                body = json.dumps({"status": "ok", "version": version, "instance": chosen.id}).encode()
                headers = {
                    "Content-Type": "application/json",
                    "X-App-Version": version,
                    "X-Instance-Id": chosen.id,
                }
                return 200, headers, body
            if path == "/version":
                return 200, {"Content-Type": "text/plain", "X-Instance-Id": chosen.id}, version.encode()
            return 404, {}, b""

    def restart(self, slot: str, img: str) -> None:
        for worker in self.instances[slot]:
            worker.pending, worker.lag = img, self.restart_lag

    def warm_up_status(self) -> int:
        """Azure's warm-up of staging under production's sticky settings (after a restart: no lag)."""
        path = self.settings["staging"].get(WARMUP_PATH) or "/"
        allowed = self.settings["staging"].get(WARMUP_STATUSES)
        img = self.config["staging"]
        if img in self.never_starts or img in self.broken_in_production:
            status = 503
        elif img in self.easy_auth_redirect:
            status = 302
        else:
            status = 200 if path in ("/healthz", "/") else 404
        if allowed is None:  # default: every status is valid
            return 0
        return 0 if str(status) in allowed.split(",") else status

    def complete(self, name: str) -> None:
        """Finish a running swap operation: warm-up, then the swap (or an abort)."""
        operation = self.operations[name]
        failed = self.warm_up_status()
        if failed:
            operation["state"] = "failed"
            operation["error"] = (
                f"Swap aborted: warm-up of slot 'staging' answered HTTP {failed} at "
                f"{self.settings['staging'].get(WARMUP_PATH)}"
            )
            return
        operation["state"] = "done"
        c, w = self.config, self.instances
        c["production"], c["staging"] = c["staging"], c["production"]
        w["production"], w["staging"] = w["staging"], w["production"]
        for worker in w["production"] + w["staging"]:
            if worker.pending:  # the swap restarted the workers: they serve what they were set to
                worker.serving, worker.pending, worker.lag = worker.pending, None, 0
        self.production_history.append(c["production"])
        self.last_swap = {
            "timestampUtc": "2026-11-29T12:00:00Z",
            "sourceSlotName": "staging",
            "destinationSlotName": "production",
        }

    def metrics(self, slot: str, minutes: int) -> dict[str, Any]:
        share = float(self.ramp_rules[0].get("reroutePercentage") or 0) / 100 if self.ramp_rules else 0.0
        slot_share = share if slot == "staging" else 1 - share
        behaviour = self.behaviours.get(self.config[slot], GOOD)
        if slot_share < behaviour.from_share:
            behaviour = GOOD
        requests = self.requests_per_minute * slot_share
        per_minute = {
            "Requests": ("total", requests),
            "Http5xx": ("total", requests * behaviour.error_rate),
            "HttpResponseTime": ("average", behaviour.latency),
            "HealthCheckStatus": ("average", 100.0 if behaviour.healthy else 0.0),
        }
        start = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC)
        value = []
        for name, (aggregation, amount) in per_minute.items():
            data = [
                {"timeStamp": (start + datetime.timedelta(minutes=m)).isoformat(), aggregation: amount}
                for m in range(minutes)
            ]
            value.append(
                {
                    "id": f"{name}-id",
                    "type": "Microsoft.Insights/metrics",
                    "name": {"value": name, "localizedValue": name},
                    "unit": "Count",
                    "timeseries": [{"metadatavalues": [], "data": data}],
                }
            )
        return {"timespan": "", "interval": "PT1M", "value": value}


def _arm_handler(fake: FakeAzure) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # ARM speaks HTTP/1.1 and keeps connections open: a client's connection pool reuses one connection
        # for many requests (every reply has a Content-Length, which persistent connections need).
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm on, the body of a kept-alive reply
        # waits for the client's delayed ACK (~40 ms on Linux) before it is sent.
        disable_nagle_algorithm = True
        request_body = b""

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            return json.loads(self.request_body or b"{}")

        def _conflict(self, what: str) -> None:
            fake.rejected.append(what)
            self._reply(
                409,
                {
                    "error": {
                        "code": "Conflict",
                        "message": "Cannot modify this site because another operation is in progress. "
                        "Details: OperationName: SwapSiteSlots",
                    }
                },
            )

        def _route(self, method: str) -> None:
            # Read every request's body, answered or refused: on a kept-alive connection unread bytes would
            # be taken for the next request.
            self.request_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                fake.unauthenticated += 1
                self._reply(401, {"error": {"code": "AuthenticationFailed", "message": "no token"}})
                return
            url = urlsplit(self.path)
            path = url.path
            if path.startswith("/operations/"):
                self._operation(path.rsplit("/", 1)[1])
                return
            if path.endswith("/providers/Microsoft.Insights/metrics"):
                self._metrics(path, parse_qs(url.query))
                return
            match = SITE.match(path)
            if not match or (match["sub"], match["rg"], match["app"]) != (SUBSCRIPTION, RESOURCE_GROUP, APP):
                self._reply(404, {"error": {"code": "ResourceNotFound", "message": path}})
                return
            slot = match["slot"] or "production"
            rest = match["rest"] or ""
            if rest == TAGS and method == "PATCH":
                body = self._body()
                if fake.tag_write_gate is not None:
                    fake.tag_write_gate(body)  # outside the lock: the other releaser keeps running
                with fake.lock:
                    self._tags(body)
                return
            with fake.lock:
                self._site_route(method, slot, rest)

        def _tags(self, body: dict[str, Any]) -> None:
            """Tags_UpdateAtScope: Merge is last-writer-wins (no If-Match in the API); Delete removes a name,
            or with a value only that name/value pair."""
            fake.tag_patches.append(body)
            tags = body["properties"]["tags"]
            if body["operation"] == "Merge":
                fake.tags.update(tags)
            elif body["operation"] == "Delete":
                for key, value in tags.items():
                    if key in fake.tags and (not value or fake.tags[key] == value):
                        del fake.tags[key]
            self._reply(200, {"properties": {"tags": fake.tags}})

        def _site_route(self, method: str, slot: str, rest: str) -> None:
            if rest == "" and method == "GET":
                self._reply(200, self._site(slot))
            elif rest == "/config/web" and method == "GET":
                self._reply(200, self._config(slot))
            elif rest == "/config/web" and method == "PATCH":
                if fake.running():
                    self._conflict(f"PATCH config/web {slot}")
                    return
                body = self._body()
                fake.config_patches.append((slot, body))
                properties = body.get("properties", {})
                if "linuxFxVersion" in properties:
                    fake.config[slot] = properties["linuxFxVersion"]
                    fake.restart(slot, fake.config[slot])
                    if slot == "production":
                        fake.production_history.append(fake.config[slot])
                if "experiments" in properties and slot == "production":
                    fake.ramp_rules = list(properties["experiments"].get("rampUpRules") or [])
                    fake.ramp_history.append([float(r["reroutePercentage"]) for r in fake.ramp_rules])
                self._reply(200, self._config(slot))
            elif rest == "/config/appsettings/list" and method == "POST":
                self._reply(200, {"name": "appsettings", "properties": fake.settings[slot]})
            elif rest == "/config/slotConfigNames" and method == "GET":
                self._reply(200, {"name": "slotConfigNames", "properties": {"appSettingNames": fake.sticky}})
            elif rest == "/instances" and method == "GET":
                values = [
                    {
                        "id": f"{self._id(slot)}/instances/{w.id}",
                        "name": w.id,
                        "type": "Microsoft.Web/sites/instances",
                        "properties": {"state": "READY"},
                    }
                    for w in fake.instances[slot]
                ]
                self._reply(200, {"value": values})
            elif rest == "/slotsswap" and method == "POST":
                body = self._body()
                number = len(fake.swap_bodies) + len(fake.rejected) + 1
                if fake.running() or number in fake.conflict_on_swaps:
                    fake.conflict_on_swaps.discard(number)
                    self._conflict(f"POST slotsswap #{number}")
                    return
                fake.swap_bodies.append({"slot": slot, **body})
                name = f"op{len(fake.swap_bodies)}"
                fake.operations[name] = {
                    "state": "running",
                    "polls": fake.swap_polls,
                    "hang": 0 < fake.hang_from_swap <= len(fake.swap_bodies),
                    "site_reads": fake.hang_site_reads,
                }
                self._reply(202, None, {"Location": f"{fake.arm_url}/operations/{name}", "Retry-After": "0"})
            else:
                self._reply(405, {"error": {"code": "MethodNotAllowed", "message": f"{method} {rest}"}})

        def _id(self, slot: str) -> str:
            name = APP if slot == "production" else f"{APP}/slots/{slot}"
            group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
            return f"{group}/providers/Microsoft.Web/sites/{name}"

        def _site(self, slot: str) -> dict[str, Any]:
            # A hung swap completes on Azure's side after a while, whether or not anybody polls it.
            for name, operation in fake.operations.items():
                if operation["state"] == "running" and operation["hang"]:
                    operation["site_reads"] -= 1
                    if operation["site_reads"] < 0:
                        fake.complete(name)
            running = next((n for n, op in fake.operations.items() if op["state"] == "running"), None)
            properties: dict[str, Any] = {"defaultHostName": fake.hosts[slot], "state": "Running"}
            if running or fake.foreign_operation:
                properties["inProgressOperationId"] = running or fake.foreign_operation
                if running:
                    properties["targetSwapSlot"] = "staging" if slot == "production" else "production"
            if fake.last_swap:
                properties["slotSwapStatus"] = fake.last_swap
            site: dict[str, Any] = {
                "id": self._id(slot),
                "name": APP if slot == "production" else f"{APP}/{slot}",
                "location": "westeurope",
                "properties": properties,
            }
            if slot == "production":
                site["tags"] = dict(fake.tags)
            return site

        def _config(self, slot: str) -> dict[str, Any]:
            properties: dict[str, Any] = {"linuxFxVersion": fake.config[slot]}
            if slot == "production":
                properties["experiments"] = {"rampUpRules": fake.ramp_rules}
            return {"name": "web", "properties": properties}

        def _operation(self, name: str) -> None:
            with fake.lock:
                operation = fake.operations.get(name)
                if operation is None:
                    self._reply(404, {"error": {"code": "NotFound", "message": f"no operation {name}"}})
                    return
                if operation["state"] == "running" and not operation["hang"]:
                    if operation["polls"] > 0:
                        operation["polls"] -= 1
                    else:
                        fake.complete(name)
                if operation["state"] == "running":
                    retry = "1" if operation["hang"] else "0"
                    self._reply(
                        202, None, {"Location": f"{fake.arm_url}/operations/{name}", "Retry-After": retry}
                    )
                elif operation["state"] == "failed":
                    self._reply(400, {"error": {"code": "SwapFailed", "message": operation["error"]}})
                else:
                    self._reply(200, None)

        def _metrics(self, path: str, query: dict[str, list[str]]) -> None:
            slot = "staging" if "/slots/staging/" in path else "production"
            start, end = (
                datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
                for t in query["timespan"][0].split("/")
            )
            minutes = max(1, min(360, round((end - start).total_seconds() / 60)))
            with fake.lock:
                fake.metric_queries.append(slot)
                self._reply(200, fake.metrics(slot, minutes))

        def do_GET(self) -> None:
            self._route("GET")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


def _app_handler(fake: FakeAzure, slot: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            cookies = {}
            for part in (self.headers.get("Cookie") or "").split(";"):
                name, _, value = part.strip().partition("=")
                if name:
                    cookies[name] = value
            status, headers, body = fake.answer(slot, self.path.split("?", 1)[0], cookies)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextlib.contextmanager
def serving() -> Iterator[FakeAzure]:
    """The ARM server and one app server per slot on ephemeral ports, shut down on leaving."""
    fake = FakeAzure()
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _arm_handler(fake))]
    fake.arm_url = f"http://127.0.0.1:{servers[0].server_address[1]}"
    for slot in SLOTS:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _app_handler(fake, slot))
        fake.hosts[slot] = f"127.0.0.1:{server.server_address[1]}"
        servers.append(server)
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield fake
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
