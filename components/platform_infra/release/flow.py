"""The blue/green release engine for :class:`~platform_infra.app_service.BlueGreenAppService` apps.

Plain Python on the Azure SDK (``azure-mgmt-web``), no Pulumi resources: a release is an application
concern that runs after (and independently of) ``pulumi up``. The lifecycle:

1. :meth:`ReleaseEngine.deploy` puts a container image on the ``staging`` slot (a no-op when production
   already runs it);
2. :meth:`ReleaseEngine.verify` polls a slot's health URL with bounded attempts and an overall timeout;
3. :meth:`ReleaseEngine.swap` swaps ``staging`` into production only after staging verifies, then verifies
   production and swaps back by itself if production fails;
4. :meth:`ReleaseEngine.rollback` swaps back on demand (after a swap, staging holds the previous version).

Every step prints what it does and how long it waited. Every failure raises :class:`ReleaseError` with the
reason and leaves production on the last version that passed its health check. The Azure client, the
health checker, the clock, ``sleep`` and the printer are injected, so the engine is testable offline.
"""

from __future__ import annotations

import math
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import CsmSlotEntity, SiteConfigResource
from platform_infra.app_service import (
    DEFAULT_HEALTH_CHECK_PATH,
    HEALTH_CHECK_PATH_PATTERN,
    PRODUCTION_SLOT,
    SITE_NAME_PATTERN,
    STAGING_SLOT,
)
from platform_infra.validation import AZURE_RESOURCE_GROUP_PATTERN

CONTAINER_PREFIX = "DOCKER|"
"""How App Service spells a container image in ``linuxFxVersion``."""


SLOT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,57}[A-Za-z0-9])?$")
"""A deployment slot name: letters, digits and hyphens."""


class ReleaseError(Exception):
    """A release step failed; the message says why and what production is serving now."""


class SwapTimeoutError(ReleaseError):
    """Azure did not finish a swap in time; it keeps running on Azure's side and may still complete."""


@dataclass(frozen=True)
class HealthResult:
    """One health probe's answer.

    :param ok: true for a 2xx answer.
    :param status: the HTTP status, or None when no answer came (timeout, refused, DNS).
    :param detail: a short human-readable description.
    """

    ok: bool
    status: int | None
    detail: str


class HealthChecker(Protocol):
    """Probes ``url`` once, waiting at most ``timeout`` seconds."""

    def __call__(self, url: str, timeout: float) -> HealthResult:
        """Return the probe's result; never raise for network errors."""
        ...


def http_health_check(url: str, timeout: float) -> HealthResult:
    """GET ``url``; healthy on 2xx (what App Service's own health check accepts)."""
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "infra-release"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        return HealthResult(False, error.code, f"HTTP {error.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return HealthResult(False, None, f"no answer ({reason})")
    return HealthResult(200 <= status < 300, status, f"HTTP {status}")


@dataclass(frozen=True)
class HealthPolicy:
    """How hard :meth:`ReleaseEngine.verify` tries.

    :param attempts: most probes per verification (>= 1).
    :param interval: seconds between probes.
    :param timeout: overall limit in seconds for one verification, probes and waits included.
    :param request_timeout: limit in seconds for one probe.
    """

    attempts: int = 10
    interval: float = 10.0
    timeout: float = 300.0
    request_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if not all(math.isfinite(v) for v in (self.interval, self.timeout, self.request_timeout)):
            raise ValueError("interval and timeouts must be finite numbers")
        if self.interval < 0 or self.timeout <= 0 or self.request_timeout <= 0:
            raise ValueError("interval must be >= 0 and the timeouts > 0")


@dataclass(frozen=True)
class ReleaseTarget:
    """The app a release acts on.

    :param resource_group: the app's resource group.
    :param app: the site name (the ``apps.<name>.appName`` stack output).
    :param slot: the pre-production slot that receives new versions.
    :param health_path: the path both slots answer their health check on.
    """

    resource_group: str
    app: str
    slot: str = STAGING_SLOT
    health_path: str = DEFAULT_HEALTH_CHECK_PATH

    def __post_init__(self) -> None:
        if not AZURE_RESOURCE_GROUP_PATTERN.fullmatch(self.resource_group):
            raise ValueError(f"resource group {self.resource_group!r} is not a valid resource group name")
        if not SITE_NAME_PATTERN.fullmatch(self.app.lower()):
            raise ValueError(f"app {self.app!r} is not a valid App Service site name")
        if self.slot.lower() == PRODUCTION_SLOT:
            raise ValueError("the release slot cannot be production: versions go to a staging slot first")
        if not SLOT_NAME_PATTERN.fullmatch(self.slot):
            raise ValueError(f"slot {self.slot!r} is not a valid slot name (letters, digits and '-')")
        if not HEALTH_CHECK_PATH_PATTERN.fullmatch(self.health_path):
            raise ValueError(f"health path must be an absolute URL path like /healthz: {self.health_path!r}")


def container_version(image: str) -> str:
    """The ``linuxFxVersion`` value of a container image."""
    return image if image.startswith(CONTAINER_PREFIX) else f"{CONTAINER_PREFIX}{image}"


class ReleaseEngine:
    """Deploys, verifies, swaps and rolls back one blue/green app.

    :param client: the Azure App Service management client (DefaultAzureCredential in real use).
    :param target: which app and slot.
    :param health_check: probes a health URL.
    :param policy: verification attempts, interval and timeouts.
    :param clock: monotonic seconds (``time.monotonic``).
    :param sleep: waits between probes (``time.sleep``).
    :param echo: prints progress (``print``).
    :param scheme: URL scheme of health probes; ``https`` (App Service apps are HTTPS only).
    :param swap_timeout: most seconds to wait for Azure to finish one swap.
    :param polling_interval: seconds between polls of the swap operation when Azure sends no Retry-After.
    """

    def __init__(
        self,
        client: WebSiteManagementClient,
        target: ReleaseTarget,
        *,
        health_check: HealthChecker = http_health_check,
        policy: HealthPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        echo: Callable[[str], None] = print,
        scheme: str = "https",
        swap_timeout: float = 900.0,
        polling_interval: float = 30.0,
    ) -> None:
        self.client = client
        self.target = target
        self.health_check = health_check
        self.policy = policy or HealthPolicy()
        self.clock = clock
        self.sleep = sleep
        self.echo = echo
        self.scheme = scheme
        self.swap_timeout = swap_timeout
        self.polling_interval = polling_interval

    # -- reading the app's state --

    def _say(self, message: str) -> None:
        self.echo(f"[release {self.target.app}] {message}")

    def version_of(self, slot: str) -> str:
        """The slot's ``linuxFxVersion`` (``DOCKER|image:tag`` or a runtime stack like ``PYTHON|3.12``)."""
        t = self.target
        try:
            if slot == PRODUCTION_SLOT:
                config = self.client.web_apps.get_configuration(t.resource_group, t.app)
            else:
                config = self.client.web_apps.get_configuration_slot(t.resource_group, t.app, slot)
        except AzureError as error:
            raise ReleaseError(
                f"cannot read the version of slot '{slot}' of app '{t.app}': {_short(error)}"
            ) from error
        return config.linux_fx_version or ""

    def host_of(self, slot: str) -> str:
        """The slot's default host name."""
        t = self.target
        try:
            if slot == PRODUCTION_SLOT:
                site = self.client.web_apps.get(t.resource_group, t.app)
            else:
                site = self.client.web_apps.get_slot(t.resource_group, t.app, slot)
        except AzureError as error:
            raise ReleaseError(f"cannot read slot '{slot}' of app '{t.app}': {_short(error)}") from error
        if not site.default_host_name:
            raise ReleaseError(f"Azure reports no host name for slot '{slot}' of app '{t.app}'")
        return site.default_host_name

    def health_url(self, slot: str) -> str:
        """The URL :meth:`verify` probes."""
        return f"{self.scheme}://{self.host_of(slot)}{self.target.health_path}"

    # -- steps --

    def deploy(self, image: str) -> bool:
        """Put ``image`` on the release slot; returns False when there was nothing to do.

        A no-op when production already runs ``image`` (already live) or the slot already has it.
        """
        wanted = container_version(image)
        slot = self.target.slot
        started = self.clock()
        live = self.version_of(PRODUCTION_SLOT)
        if live == wanted:
            self._say(f"deploy: production already runs {wanted}; nothing to do")
            return False
        current = self.version_of(slot)
        if not current.startswith(CONTAINER_PREFIX):
            raise ReleaseError(
                f"deploy: slot '{slot}' runs '{current or 'nothing'}', not a container image; deploy "
                "runtime-stack apps with your build tool, then use verify/swap"
            )
        if current == wanted:
            self._say(f"deploy: slot '{slot}' already runs {wanted}; nothing to do")
            return False
        self._say(f"deploy: setting slot '{slot}' from {current} to {wanted} (production stays on {live})")
        t = self.target
        try:
            self.client.web_apps.update_configuration_slot(
                t.resource_group, t.app, slot, SiteConfigResource({"properties": {"linuxFxVersion": wanted}})
            )
        except AzureError as error:
            raise ReleaseError(
                f"deploy: Azure refused to update slot '{slot}': {_short(error)}; "
                f"production untouched ({live})"
            ) from error
        self._say(f"deploy: slot '{slot}' now set to {wanted} ({self.clock() - started:.1f}s)")
        return True

    def verify(self, slot: str) -> None:
        """Probe the slot's health URL until it answers 2xx; raise ReleaseError after the policy's limits."""
        policy = self.policy
        url = self.health_url(slot)
        started = self.clock()
        deadline = started + policy.timeout
        self._say(
            f"verify {slot}: GET {url} (up to {policy.attempts} attempts, every {policy.interval:g}s, "
            f"{policy.timeout:g}s at most)"
        )
        last = HealthResult(False, None, "not probed")
        attempt = 0
        for attempt in range(1, policy.attempts + 1):
            remaining = deadline - self.clock()
            if remaining <= 0:
                attempt -= 1
                break
            last = self.health_check(url, min(policy.request_timeout, remaining))
            elapsed = self.clock() - started
            self._say(
                f"verify {slot}: attempt {attempt}/{policy.attempts}: {last.detail} ({elapsed:.1f}s elapsed)"
            )
            if last.ok:
                self._say(f"verify {slot}: healthy after {attempt} attempt(s), waited {elapsed:.1f}s")
                return
            if attempt == policy.attempts:
                break
            wait = min(policy.interval, deadline - self.clock())
            if wait <= 0:
                break
            self._say(f"verify {slot}: waiting {wait:g}s before the next attempt")
            self.sleep(wait)
        elapsed = self.clock() - started
        raise ReleaseError(
            f"verify {slot}: {url} not healthy after {attempt} attempt(s) in {elapsed:.1f}s "
            f"(limits: {policy.attempts} attempts, {policy.timeout:g}s); last answer: {last.detail}"
        )

    def _swap(self, purpose: str) -> None:
        """Swap the release slot with production and wait (bounded) for Azure to finish."""
        t = self.target
        started = self.clock()
        self._say(f"{purpose}: swapping slot '{t.slot}' with production")
        try:
            poller = self.client.web_apps.begin_swap_slot(
                t.resource_group,
                t.app,
                t.slot,
                CsmSlotEntity(target_slot=PRODUCTION_SLOT, preserve_vnet=True),
                polling_interval=self.polling_interval,
            )
            poller.result(timeout=self.swap_timeout)
        except AzureError as error:
            raise ReleaseError(f"{purpose}: the swap failed: {_short(error)}") from error
        if not poller.done():
            raise SwapTimeoutError(
                f"{purpose}: the swap did not finish within {self.swap_timeout:g}s and is still running on "
                "Azure (it cannot be cancelled)"
            )
        self._say(f"{purpose}: swap finished ({self.clock() - started:.1f}s)")

    def swap(self, image: str | None = None) -> bool:
        """Swap the verified release slot into production; returns False when there was nothing to do.

        :param image: the version the pipeline means to release; when given, the swap is a no-op if
            production already runs it, and refused if the release slot does not run it.
        :raises ReleaseError: staging unhealthy (no swap requested), the swap failed, or production
            failed its health check after the swap (then it has been swapped back).
        """
        started = self.clock()
        slot = self.target.slot
        live = self.version_of(PRODUCTION_SLOT)
        candidate = self.version_of(slot)
        if image is not None:
            wanted = container_version(image)
            if live == wanted:
                self._say(f"swap: production already runs {wanted}; nothing to do")
                return False
            if candidate != wanted:
                raise ReleaseError(
                    f"swap: slot '{slot}' runs {candidate or 'nothing'}, not {wanted}; run deploy first. "
                    f"No swap requested; production still serves {live}"
                )
        elif candidate.startswith(CONTAINER_PREFIX) and candidate == live:
            self._say(f"swap: production and slot '{slot}' both run {live}; nothing to do")
            return False
        self._say(f"swap: candidate {candidate} in slot '{slot}'; production serves {live}")
        self._verified_swap(
            "swap",
            live,
            candidate,
            after_timeout=" without a health check: check it with `infra release verify --target production` "
            "and run `infra release rollback` if it fails",
        )

        try:
            self.verify(PRODUCTION_SLOT)
        except ReleaseError as error:
            self._say(f"swap: production failed its health check; swapping back to {live}")
            try:
                self._swap("swap back")
            except ReleaseError as back_error:
                raise ReleaseError(
                    f"{error}; swapping back FAILED ({back_error}); production may be serving {candidate}: "
                    "run `infra release rollback` now"
                ) from back_error
            recovered = self._recheck_production()
            raise ReleaseError(
                f"{error}; swapped back automatically, production serves {live} again{recovered}"
            ) from error
        self._say(
            f"swap: production now serves {candidate}; {live} stays in slot '{slot}' for rollback "
            f"({self.clock() - started:.1f}s in total)"
        )
        return True

    def _verified_swap(self, step: str, live: str, incoming: str, *, after_timeout: str) -> None:
        """Verify the release slot, then swap it into production.

        Any failure up to the swap leaves production on ``live`` and says so; a swap that times out is still
        running on Azure (it cannot be cancelled), so production will serve ``incoming`` once it completes.
        """
        try:
            self.verify(self.target.slot)
        except ReleaseError as error:
            raise ReleaseError(f"{error}. No swap requested; production still serves {live}") from error
        try:
            self._swap(step)
        except SwapTimeoutError as error:
            raise ReleaseError(
                f"{error}; when it completes, production serves {incoming}{after_timeout}"
            ) from error
        except ReleaseError as error:
            raise ReleaseError(f"{error}; {self._production_now(live)}") from error

    def rollback(self) -> None:
        """Swap back: production gets what the release slot holds (the previous version after a swap).

        The slot is verified first, so a slot that no longer holds a working version (for example after a
        ``deploy`` of a new, broken image) is never swapped into production.
        """
        started = self.clock()
        slot = self.target.slot
        live = self.version_of(PRODUCTION_SLOT)
        previous = self.version_of(slot)
        self._say(f"rollback: production serves {live}; restoring {previous} from slot '{slot}'")
        self._verified_swap(
            "rollback",
            live,
            previous,
            after_timeout=": check it with `infra release verify --target production`",
        )
        try:
            self.verify(PRODUCTION_SLOT)
        except ReleaseError as error:
            # Not swapped again: the version just removed from production is the one being rolled back.
            raise ReleaseError(
                f"{error}; production now serves {previous} and is not healthy; {live} is in slot '{slot}'"
            ) from error
        self._say(f"rollback: production serves {previous} again ({self.clock() - started:.1f}s in total)")

    def _production_now(self, before: str) -> str:
        try:
            now = self.version_of(PRODUCTION_SLOT)
        except ReleaseError as error:
            return f"could not read production's version afterwards ({_short(error)}); it was {before}"
        if now == before:
            return f"production still serves {before}"
        return f"production now reports {now} (was {before}): check it and run `infra release rollback`"

    def _recheck_production(self) -> str:
        try:
            self.verify(PRODUCTION_SLOT)
        except ReleaseError as error:
            return f", but it is not healthy either ({error})"
        return " and is healthy"


def _short(error: Exception, limit: int = 300) -> str:
    if isinstance(error, ClientAuthenticationError) and error.response is None:
        # No token: DefaultAzureCredential's message is its summary line, then one tab-indented line per
        # credential tried; the chain stops at the first one that fails outright, so the last is the reason.
        raw_lines = str(error).splitlines()
        lines = [line.strip() for line in raw_lines if line.strip()] or [type(error).__name__]
        attempts = [line.strip() for line in raw_lines if line.startswith("\t") and line.strip()]
        reason = f"{lines[0]} Last tried: {attempts[-1][:200]}" if attempts else lines[0]
        return (
            f"no Azure token ({reason}); in a pipeline use workload identity federation or a managed "
            "identity, locally run `az login`"
        )
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
