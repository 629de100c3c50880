"""One HTTP probe of one app instance, and the version contract an app meets to be released.

Standard library only. Redirects are never followed: an app behind Easy Auth answers a health request with
a redirect to the login page, and that page answering 200 says nothing about the app. So a 3xx is
unhealthy, exactly like Azure's swap warm-up gate, which accepts only the statuses listed in
``WEBSITE_SWAP_WARMUP_PING_STATUSES`` (``"200"``, set by
:class:`~platform_infra.app_service.BlueGreenAppService`).

Which instance answered is decided by the answer itself, never by the cookie sent. Each probe carries App
Service's affinity cookies ``ARRAffinity``/``ARRAffinitySameSite`` with one instance id from the ARM instance
list (``GET .../sites/{app}/instances``), as a routing hint: the Kudu author shows that cookie carrying the
instance id (= ``WEBSITE_INSTANCE_ID``) routes a request to that instance ("Request for a specific Azure Web
App instance", blog.amitapple.com/post/2014/03/access-specific-instance; projectkudu/kudu#2436). But the
component turns client affinity off (``clientAffinityEnabled: false``), which the Microsoft.Web API
documents only as "false to stop sending session affinity cookies"; nothing documents that the front end
still honours an incoming cookie then. So the app reports the instance that served the answer: its
``WEBSITE_INSTANCE_ID`` ("The id representing the VM that the site is running on (If site runs on
multiple instances, each instance will have a different id)", projectkudu/kudu wiki "Azure runtime
environment") in the health response (:data:`DEFAULT_INSTANCE_CONTRACT`), and the flow counts each answer
for the instance that gave it. If the cookie is honoured, every round reaches every instance; if it is
ignored, the load balancer's choice is still attributed correctly and an instance that never answers is
never confirmed.
Probes of production also send ``x-ms-routing-name=self``, the routing cookie that pins a client to
production while a ``rampUpRules`` canary routes a share of the users to staging (App Service docs, "Set
up staging environments" > "Route production traffic manually").
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

HEALTHY_STATUS = 200
"""The one healthy answer; the same value the component gives ``WEBSITE_SWAP_WARMUP_PING_STATUSES``."""

MAX_BODY = 65536
"""Most bytes of a health response read (a version field sits in a small JSON document)."""

VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")
"""An application version as the release record stores it: no spaces, at most 128 characters."""


VERSION_CONTRACT_PATTERN = re.compile(
    r"^(json:[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*|header:[A-Za-z0-9-]{1,128}|path:/[A-Za-z0-9/._~-]{0,255})$"
)
VERSION_CONTRACT_ALLOWED = "json:<field, dotted for nesting>, header:<header name> or path:/<url path>"

INSTANCE_CONTRACT_PATTERN = re.compile(
    r"^(json:[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*|header:[A-Za-z0-9-]{1,128}|none)$"
)
INSTANCE_CONTRACT_ALLOWED = "json:<field, dotted for nesting>, header:<header name> or none"

DEFAULT_CONTRACT = "json:version"
"""The documented default: the health response is JSON with a top-level ``version`` field."""


DEFAULT_INSTANCE_CONTRACT = "json:instance"
"""The documented default: the health response's JSON has an ``instance`` field holding the answering
instance's ``WEBSITE_INSTANCE_ID``."""


@dataclass(frozen=True)
class ProbeResult:
    """One answer (or the lack of one).

    :param status: the HTTP status, or None when no answer came (timeout, refused, DNS).
    :param detail: a short description for progress lines.
    :param headers: response headers (lower-case names).
    :param body: the first :data:`MAX_BODY` bytes of the body.
    """

    status: int | None
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def healthy(self) -> bool:
        """True for :data:`HEALTHY_STATUS` only: a 3xx (a login redirect) or any other 2xx is not."""
        return self.status == HEALTHY_STATUS


Probe = Callable[[str, float, Mapping[str, str]], ProbeResult]
"""``probe(url, timeout, cookies)``: one GET, never raising for network errors."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        return None  # the 3xx surfaces as an HTTPError with its status


_OPENER = urllib.request.build_opener(_NoRedirect)


def http_probe(url: str, timeout: float, cookies: Mapping[str, str]) -> ProbeResult:
    """GET ``url`` once with ``cookies``; redirects are reported, never followed."""
    headers = {"User-Agent": "infra-release", "Accept": "application/json"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    request = urllib.request.Request(url, method="GET", headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(MAX_BODY)
            status = response.status
            answer = {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        answer = {k.lower(): v for k, v in (error.headers or {}).items()}
        if 300 <= error.code < 400:
            where = answer.get("location", "?")
            return ProbeResult(
                error.code, f"HTTP {error.code} redirect to {where[:80]} (not followed)", answer
            )
        return ProbeResult(error.code, f"HTTP {error.code}", answer)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return ProbeResult(None, f"no answer ({reason})")
    return ProbeResult(status, f"HTTP {status}", answer, body)


@dataclass(frozen=True)
class VersionContract:
    """How an app reports the version it runs.

    :param kind: ``json`` (a field of the health response's JSON body, dotted for nesting), ``header`` (a
        response header of the health endpoint) or ``path`` (the plain-text body of another path).
    :param name: the field, header name or path.
    """

    kind: str = "json"
    name: str = "version"

    @classmethod
    def parse(cls, text: str) -> VersionContract:
        """``json:version``, ``header:X-App-Version`` or ``path:/version``; ValueError otherwise."""
        if not VERSION_CONTRACT_PATTERN.fullmatch(text):
            raise ValueError(f"version contract must be {VERSION_CONTRACT_ALLOWED}, got {text!r}")
        kind, _, name = text.partition(":")
        return cls(kind, name)

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    def read(self, answer: ProbeResult) -> str | None:
        """The version in a health answer (``json``/``header``) or a version-path answer (``path``)."""
        if not answer.healthy:
            return None
        if self.kind == "header":
            value = answer.headers.get(self.name.lower())
            return value.strip() if value else None
        if self.kind == "path":
            text = answer.body.decode("utf-8", "replace").strip()
            return text or None
        try:
            value: object = json.loads(answer.body)
        except ValueError:
            return None
        for part in self.name.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class InstanceContract:
    """How an app reports which instance answered (its ``WEBSITE_INSTANCE_ID``).

    :param kind: ``json`` (a field of the health response's JSON body, dotted for nesting), ``header`` (a
        response header of the health endpoint) or ``none`` (the app does not say: each answer is counted for
        the instance whose affinity cookie it was sent with, which holds only if the front end honours the
        cookie; the flow warns).
    :param name: the field or header name (empty for ``none``).
    """

    kind: str = "json"
    name: str = "instance"

    @classmethod
    def parse(cls, text: str) -> InstanceContract:
        """``json:instance``, ``header:X-Instance-Id`` or ``none``; ValueError otherwise."""
        if not INSTANCE_CONTRACT_PATTERN.fullmatch(text):
            raise ValueError(f"instance contract must be {INSTANCE_CONTRACT_ALLOWED}, got {text!r}")
        if text == "none":
            return cls("none", "")
        kind, _, name = text.partition(":")
        return cls(kind, name)

    def __str__(self) -> str:
        return "none" if self.kind == "none" else f"{self.kind}:{self.name}"

    def read(self, answer: ProbeResult) -> str | None:
        """The instance id an answer names (lower-case), or None when it names none."""
        if self.kind == "none":
            return None
        if self.kind == "header":
            value = answer.headers.get(self.name.lower())
        else:
            value = VersionContract("json", self.name).read(answer) if answer.healthy else None
        value = (value or "").strip().lower()
        return value if re.fullmatch(r"[a-z0-9-]{1,128}", value) else None


def contracts_conflict(version_from: str, instance_from: str) -> str | None:
    """Why two contracts cannot work together, or None: a plain-text version path cannot name its
    instance in JSON."""
    if version_from.startswith("path:") and instance_from.startswith("json:"):
        return (
            "a path: version answers plain text, which cannot name its instance in JSON: use "
            "header:<name> (e.g. X-Instance-Id on both answers) or none for the instance"
        )
    return None
