"""The blue/green release engine for :class:`~platform_infra.app_service.BlueGreenAppService` apps.

Plain Python on the Azure SDK (``azure-mgmt-web``, ``azure-mgmt-monitor``), no Pulumi resources: a release is
an application concern that runs after (and independently of) ``pulumi up``. Steps:

1. :meth:`ReleaseEngine.deploy` puts a container image on the ``staging`` slot and waits until every instance
   of the slot reports the new version (:meth:`ReleaseEngine.confirm`);
2. :meth:`ReleaseEngine.swap` swaps the confirmed slot into production through Azure's own warm-up gate,
   confirms production, records the release on the site and, with a bake, watches production's metrics
   and swaps back on a breach;
3. :meth:`ReleaseEngine.canary` first routes growing shares of production traffic to staging
   (``rampUpRules``), judging each step by Azure Monitor metrics, then promotes with the swap;
4. :meth:`ReleaseEngine.rollback` swaps back, only when staging holds the recorded previous release.

What Azure does and this engine relies on (named where it is used): a config change restarts a slot and the
old container keeps answering for a while (so "deployed" means "every instance reports the version");
``begin_swap_slot`` is a long-running operation that cannot be cancelled; while a swap or another operation
runs, the site reports ``targetSwapSlot``/``inProgressOperationId`` and Azure answers 409 Conflict to a
second one; a swap first applies production's slot-sticky settings to the source slot, then pings
``WEBSITE_SWAP_WARMUP_PING_PATH`` on every instance and aborts unless the status is in
``WEBSITE_SWAP_WARMUP_PING_STATUSES`` (App Service docs, "Set up staging environments").

Every failure raises :class:`ReleaseError` saying what production serves afterwards. The Azure clients, the
probe, the clocks, ``sleep`` and the reporter are injected, so the engine runs offline against a fake.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import CsmSlotEntity, Experiments, RampUpRule, SiteConfig, SiteConfigResource
from platform_infra.app_service import (
    APP_INSIGHTS_SETTING,
    DEFAULT_HEALTH_CHECK_PATH,
    HEALTH_CHECK_PATH_PATTERN,
    IMAGE_PATTERN,
    PRODUCTION_SLOT,
    RELEASE_TAG_PREFIX,
    SITE_NAME_PATTERN,
    STAGING_SLOT,
    SWAP_WARMUP_PATH_SETTING,
    SWAP_WARMUP_STATUSES,
    SWAP_WARMUP_STATUSES_SETTING,
)
from platform_infra.release import budget
from platform_infra.release.budget import LOCK_SETTLE, LOCK_WRITE_BOUND
from platform_infra.release.gates import GateThresholds, MetricsReader, WindowMetrics, breaches, iso
from platform_infra.release.probe import (
    VERSION_PATTERN,
    InstanceContract,
    Probe,
    ProbeResult,
    VersionContract,
    http_probe,
)
from platform_infra.release.progress import Reporter
from platform_infra.validation import AZURE_RESOURCE_GROUP_PATTERN

CONTAINER_PREFIX = "DOCKER|"
"""How App Service spells a container image in ``linuxFxVersion``."""

SLOT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,57}[A-Za-z0-9])?$")
"""A deployment slot name: letters, digits and hyphens."""

TAG_PREVIOUS = f"{RELEASE_TAG_PREFIX}previous"
TAG_CURRENT = f"{RELEASE_TAG_PREFIX}current"
TAG_AT = f"{RELEASE_TAG_PREFIX}at"
TAG_LOCK = f"{RELEASE_TAG_PREFIX}lock"
TAG_VALUE_LIMIT = 256
"""ARM tag values hold at most 256 characters (Azure Resource Manager docs, "Tag limitations")."""

TAGS_API_VERSION = "2021-04-01"
"""``Microsoft.Resources/tags`` "Tags - Update At Scope": PATCH ``{resource id}/providers/Microsoft.Resources/
tags/default`` with ``operation`` Merge (adds or replaces the given tags) or Delete (removes them). It changes
only tags, never the site (a PUT of the site would re-send its whole configuration). azure-mgmt-web has no
tags operation, so it is sent through the management client's own pipeline (``send_request``)."""

NO_PREVIOUS = "-"
"""The record's ``previous`` after a rollback: nothing left to roll back to."""

PER_SLOT_BY_DESIGN = frozenset({APP_INSIGHTS_SETTING})
"""Sticky settings whose per-slot value is wanted during a canary (telemetry of routed users stays with the
candidate's Application Insights component)."""

MAX_TIMEOUT = 7200.0
MAX_SWAP_TIMEOUT = 3600.0
MAX_INTERVAL = 300.0
MAX_BAKE = 6 * 3600.0


class ReleaseError(Exception):
    """A release step failed; the message says why and what production is serving now."""


def container_version(image: str) -> str:
    """The ``linuxFxVersion`` value of a container image."""
    return image if image.startswith(CONTAINER_PREFIX) else f"{CONTAINER_PREFIX}{image}"


def image_of(linux_fx_version: str) -> str:
    """The image of a ``DOCKER|image`` value (the value itself otherwise)."""
    return linux_fx_version.removeprefix(CONTAINER_PREFIX)


def validate_image(image: str) -> str:
    """``image`` when it is a container image reference; ValueError naming what is wrong otherwise."""
    if not isinstance(image, str) or not IMAGE_PATTERN.fullmatch(image) or len(image) > 200:
        raise ValueError(
            f"--image must be a container image reference like myregistry.azurecr.io/web:1.4.2 "
            f"(at most 200 characters), got {image!r}"
        )
    return image


def version_from_image(image: str) -> str | None:
    """The tag of an image reference (``web:1.4.2@sha256:...`` -> ``1.4.2``); None without a usable tag."""
    reference = image_of(image).split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    tag = last.rsplit(":", 1)[1]
    return None if tag == "latest" else tag


@dataclass(frozen=True)
class Readiness:
    """How :meth:`ReleaseEngine.confirm` decides a slot is ready.

    :param consecutive: answers in a row every instance must give (healthy, expected version).
    :param interval: seconds between probe rounds (1-300; 0 would turn a wait into one probe).
    :param timeout: overall seconds for one confirmation (1-7200).
    :param request_timeout: seconds one probe may take (1-120, at most ``timeout``).
    """

    consecutive: int = 3
    interval: float = 10.0
    timeout: float = 600.0
    request_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not 1 <= self.consecutive <= 20:
            raise ValueError("consecutive must be between 1 and 20")
        if not all(math.isfinite(v) for v in (self.interval, self.timeout, self.request_timeout)):
            raise ValueError("interval and timeouts must be finite numbers of seconds")
        if not 1 <= self.interval <= MAX_INTERVAL:
            raise ValueError(f"interval must be between 1 and {MAX_INTERVAL:g} seconds")
        if not 1 <= self.timeout <= MAX_TIMEOUT:
            raise ValueError(f"timeout must be between 1 and {MAX_TIMEOUT:g} seconds")
        if not 1 <= self.request_timeout <= min(120.0, self.timeout):
            raise ValueError("request timeout must be between 1 and 120 seconds and at most the timeout")


@dataclass(frozen=True)
class ReleaseTarget:
    """The app a release acts on.

    :param resource_group: the app's resource group.
    :param app: the site name (the ``apps.<name>.appName`` stack output).
    :param slot: the pre-production slot that receives new versions.
    :param health_path: the path both slots answer their health check on.
    :param contract: how the app reports its version.
    :param instance: how the app reports which instance answered (``WEBSITE_INSTANCE_ID``).
    """

    resource_group: str
    app: str
    slot: str = STAGING_SLOT
    health_path: str = DEFAULT_HEALTH_CHECK_PATH
    contract: VersionContract = field(default_factory=VersionContract)
    instance: InstanceContract = field(default_factory=InstanceContract)

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


@dataclass(frozen=True)
class Release:
    """One released version: what the app reports and the image (with its digest when given)."""

    version: str
    image: str

    def tag_value(self) -> str:
        value = f"{self.version or '?'} {image_of(self.image)}"
        if len(value) > TAG_VALUE_LIMIT:
            raise ReleaseError(
                f"the release record '{value[:60]}...' exceeds Azure's {TAG_VALUE_LIMIT}-character tag limit"
            )
        return value

    @classmethod
    def from_tag(cls, value: str | None) -> Release | None:
        if not value or value == NO_PREVIOUS or " " not in value:
            return None
        version, image = value.split(" ", 1)
        # A runtime stack (PYTHON|3.12) keeps its own prefix; a bare image is a container.
        return cls("" if version == "?" else version, image if "|" in image else container_version(image))

    def __str__(self) -> str:
        return f"{image_of(self.image)} (version {self.version or 'not known'})"


@dataclass(frozen=True)
class ReleaseRecord:
    """The release record on the production site's tags: survives the runner and ``pulumi up``."""

    previous: Release | None
    current: Release | None
    at: str | None

    @classmethod
    def from_tags(cls, tags: Mapping[str, str] | None) -> ReleaseRecord:
        tags = tags or {}
        return cls(
            Release.from_tag(tags.get(TAG_PREVIOUS)),
            Release.from_tag(tags.get(TAG_CURRENT)),
            tags.get(TAG_AT),
        )


class ReleaseEngine:
    """Deploys, confirms, swaps, canaries, bakes and rolls back one blue/green app.

    :param client: the App Service management client (DefaultAzureCredential in real use).
    :param target: which app and slot, health path and version contract.
    :param probe: one HTTP GET of one instance (redirects never followed).
    :param readiness: consecutive answers, interval and timeouts of a confirmation.
    :param metrics: reads a resource's Azure Monitor metrics over a window (canary and bake); None when
        the command uses no metric gate.
    :param gates: metric thresholds.
    :param clock: monotonic seconds (``time.monotonic``).
    :param wall: epoch seconds (``time.time``), for the record, the lock and metric windows.
    :param sleep: waits (``time.sleep``).
    :param reporter: progress output.
    :param scheme: URL scheme of probes; ``https`` (App Service apps are HTTPS only).
    :param swap_timeout: most seconds to wait for Azure to finish one swap (1-3600); after a swap that did not
        finish in time, the site is polled until it settles for this long plus the readiness timeout.
    :param polling_interval: seconds between polls of a swap operation when Azure sends no Retry-After.
    :param conflict_timeout: most seconds to keep retrying an operation Azure refuses with 409 Conflict.
    :param owner: who holds the release lock (the pipeline run).
    """

    def __init__(
        self,
        client: WebSiteManagementClient,
        target: ReleaseTarget,
        *,
        probe: Probe = http_probe,
        readiness: Readiness | None = None,
        metrics: MetricsReader | None = None,
        gates: GateThresholds | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        reporter: Reporter | None = None,
        scheme: str = "https",
        swap_timeout: float = 900.0,
        polling_interval: float = 30.0,
        conflict_timeout: float = 300.0,
        owner: str | None = None,
    ) -> None:
        if not (math.isfinite(swap_timeout) and 0 < swap_timeout <= MAX_SWAP_TIMEOUT):
            raise ValueError(f"swap timeout must be more than 0 and at most {MAX_SWAP_TIMEOUT:g} seconds")
        self.client = client
        self.target = target
        self.probe = probe
        self.readiness = readiness or Readiness()
        self.metrics = metrics
        self.gates = gates or GateThresholds()
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.reporter = reporter or Reporter()
        self.scheme = scheme
        self.swap_timeout = swap_timeout
        self.polling_interval = polling_interval
        self.conflict_timeout = conflict_timeout
        self.owner = owner or f"infra-release-{secrets.token_hex(4)}"
        self._site_id: str | None = None
        self._lock_value: str | None = None

    # -- output --

    def _say(self, message: str) -> None:
        self.reporter.say(f"[release {self.target.app}] {message}")

    def _status(self, message: str) -> None:
        self.reporter.status(f"[release {self.target.app}] {message}")

    # -- reading the app --

    def _azure(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except AzureError as error:
            raise ReleaseError(f"cannot {what} of app '{self.target.app}': {_short(error)}") from error

    def config_of(self, slot: str) -> str:
        """The slot's ``linuxFxVersion`` (``DOCKER|image:tag`` or a runtime stack like ``PYTHON|3.12``)."""
        t = self.target
        if slot == PRODUCTION_SLOT:
            config = self._azure(
                f"read the version of slot '{slot}'",
                lambda: self.client.web_apps.get_configuration(t.resource_group, t.app),
            )
        else:
            config = self._azure(
                f"read the version of slot '{slot}'",
                lambda: self.client.web_apps.get_configuration_slot(t.resource_group, t.app, slot),
            )
        return config.linux_fx_version or ""

    def _site(self, slot: str) -> Any:
        t = self.target
        if slot == PRODUCTION_SLOT:
            site = self._azure("read the site", lambda: self.client.web_apps.get(t.resource_group, t.app))
            self._site_id = site.id
            return site
        return self._azure(
            f"read slot '{slot}'", lambda: self.client.web_apps.get_slot(t.resource_group, t.app, slot)
        )

    def host_of(self, slot: str) -> str:
        """The slot's default host name."""
        site = self._site(slot)
        if not site.default_host_name:
            raise ReleaseError(f"Azure reports no host name for slot '{slot}' of app '{self.target.app}'")
        return site.default_host_name

    def instances_of(self, slot: str) -> list[str]:
        """Ids of the slot's instances (``list_instance_identifiers``): values of the ARR affinity cookie."""
        t = self.target
        if slot == PRODUCTION_SLOT:
            pages = self._azure(
                "list the instances",
                lambda: list(self.client.web_apps.list_instance_identifiers(t.resource_group, t.app)),
            )
        else:
            pages = self._azure(
                f"list the instances of slot '{slot}'",
                lambda: list(
                    self.client.web_apps.list_instance_identifiers_slot(t.resource_group, t.app, slot)
                ),
            )
        return sorted({i.name.rsplit("/", 1)[-1] for i in pages if i.name})

    def record(self) -> ReleaseRecord:
        """The release record on the production site's tags."""
        return ReleaseRecord.from_tags(self._site(PRODUCTION_SLOT).tags)

    def _busy(self) -> str | None:
        """What Azure reports running on the site or the release slot, or None when both are idle."""
        for slot in (PRODUCTION_SLOT, self.target.slot):
            site = self._site(slot)
            if site.target_swap_slot:
                return f"slot '{slot}' is swapping with '{site.target_swap_slot}' (targetSwapSlot)"
            if site.in_progress_operation_id:
                return f"slot '{slot}' has operation {site.in_progress_operation_id} in progress"
        return None

    def _ensure_idle(self, step: str) -> None:
        busy = self._busy()
        if busy:
            raise ReleaseError(
                f"{step}: {busy}; nothing changed. Wait for it to finish (`az webapp show` shows "
                "slotSwapStatus), then run the step again"
            )

    # -- confirmation --

    def _probe_instance(
        self, slot: str, host: str, instance: str, timeout: float
    ) -> tuple[ProbeResult, str | None, str | None]:
        """One probe aimed at ``instance``: the answer, the version it reports and the instance that gave it.

        The affinity cookies only ask the front end for that instance (see :mod:`.probe`); the instance that
        answered is the one the app names, or, with the ``none`` instance contract, assumed to be the one
        asked for. The instance is None when the answer names none, and "" when a ``path`` contract's two
        answers came from different instances (inconclusive).
        """
        cookies = {"ARRAffinity": instance, "ARRAffinitySameSite": instance}
        if slot == PRODUCTION_SLOT:
            cookies["x-ms-routing-name"] = "self"  # never routed to staging by a canary rule
        contract = self.target.contract
        answer = self.probe(f"{self.scheme}://{host}{self.target.health_path}", timeout, cookies)
        served_by = instance if self.target.instance.kind == "none" else self.target.instance.read(answer)
        if contract.kind == "path" and answer.healthy:
            version_answer = self.probe(f"{self.scheme}://{host}{contract.name}", timeout, cookies)
            if not version_answer.healthy:
                return (
                    ProbeResult(version_answer.status, f"version path {version_answer.detail}"),
                    None,
                    served_by,
                )
            # The version path may be served by another instance when the cookie is ignored: the pair counts
            # only when both name the same instance; otherwise it is inconclusive ("" : counted for nobody).
            if self.target.instance.kind != "none":
                other = self.target.instance.read(version_answer)
                if other != served_by:
                    detail = f"health and version path answered by different instances ({served_by}, {other})"
                    return ProbeResult(None, detail), None, ""
            return answer, contract.read(version_answer), served_by
        return answer, contract.read(answer), served_by

    def confirm(self, slot: str, version: str | None, step: str) -> None:
        """Wait until every instance of ``slot`` answers healthy (with ``version``) K times in a row.

        Each round lists the instances again (an instance added or recycled meanwhile must confirm too) and
        sends one probe aimed at each (affinity cookie). Every answer counts for the instance the app names
        in it (:class:`~platform_infra.release.probe.InstanceContract`), not for the one the cookie asked
        for: with client affinity off the front end may route it anywhere. An unhealthy answer that names no
        instance (a 503 from the front end, a dead container) resets every streak: some instance is failing
        and nothing says which. An instance that is never reached is never confirmed. Raises ReleaseError at
        the timeout.
        """
        r = self.readiness
        host = self.host_of(slot)
        started = self.clock()
        deadline = started + r.timeout
        wanted = f"version {version}" if version else "healthy"
        self._status(
            f"{step}: waiting until every instance of '{slot}' answers {wanted} {r.consecutive} times in a "
            "row "
            f"(GET {self.scheme}://{host}{self.target.health_path}, every {r.interval:g}s, {r.timeout:g}s "
            "at most)"
        )
        if self.target.instance.kind == "none":
            self._say(
                f"{step}: warning: the app does not report its instance (--instance-from none); each answer "
                "is counted for the instance its ARRAffinity cookie asked for, which holds only if App "
                "Service honours that cookie while client affinity is off (not documented)"
            )
        streaks: dict[str, int] = {}
        last: dict[str, str] = {}
        rounds = 0
        while True:
            rounds += 1
            listed = self.instances_of(slot)
            # Compared case-insensitively with the id an app reports; the cookie carries the id as listed.
            instances = [i.lower() for i in listed]
            if not instances:
                last = {"-": "Azure lists no running instance"}
            unnamed = ""
            for aimed in listed:
                timeout = max(1.0, min(r.request_timeout, deadline - self.clock()))
                answer, seen, served_by = self._probe_instance(slot, host, aimed, timeout)
                if served_by is not None and self.target.instance.kind == "none":
                    served_by = served_by.lower()
                ok = answer.healthy and (version is None or seen == version)
                if answer.healthy and version is not None and seen != version:
                    detail = f"{answer.detail}, reports {seen or 'no version'} (not {version})"
                else:
                    detail = answer.detail
                if served_by == "":
                    unnamed = detail  # inconclusive: counts for no instance, against none
                    continue
                if served_by is None:
                    # Nothing says which instance answered: a failure counts against all of them, a
                    # success for none.
                    unnamed = f"{detail}, from an instance that did not name itself"
                    streaks = {}
                    continue
                streaks[served_by] = streaks.get(served_by, 0) + 1 if ok else 0
                last[served_by] = detail
            elapsed = self.clock() - started
            remaining = deadline - self.clock()
            summary = ", ".join(
                f"{instance[:12]} {last.get(instance, 'not reached yet')} {streaks.get(instance, 0)}/"
                f"{r.consecutive}"
                for instance in instances
            ) or last.get("-", "")
            if unnamed:
                summary += f"; {unnamed}"
            self._status(
                f"{step}: round {rounds}: {summary} ({elapsed:.0f}s elapsed, {max(remaining, 0):.0f}s left)"
            )
            if instances and all(streaks.get(i, 0) >= r.consecutive for i in instances):
                self.reporter.done()
                self._say(
                    f"{step}: all {len(instances)} instance(s) of '{slot}' answered {wanted} "
                    f"{r.consecutive} times in a row ({elapsed:.0f}s)"
                )
                return
            if remaining <= 0:
                self.reporter.done()
                failing = "; ".join(
                    f"{i}: {last.get(i, 'never answered (the front end routed every probe elsewhere)')}"
                    for i in instances
                    if streaks.get(i, 0) < r.consecutive
                ) or last.get("-", "")
                if unnamed:
                    failing += f"; last: {unnamed}"
                raise ReleaseError(
                    f"{step}: slot '{slot}' not confirmed ({wanted}, {r.consecutive} in a row on every "
                    "instance) "
                    f"within {r.timeout:g}s; {failing}"
                )
            self.sleep(min(r.interval, remaining))

    # -- tags: the release record and the lock --

    def _tags(self, operation: str, tags: Mapping[str, str]) -> None:
        if self._site_id is None:
            self._site(PRODUCTION_SLOT)
        request = HttpRequest(
            "PATCH",
            f"{self._site_id}/providers/Microsoft.Resources/tags/default",
            params={"api-version": TAGS_API_VERSION},
            json={"operation": operation, "properties": {"tags": dict(tags)}},
        )
        response = self._azure("update the release tags", lambda: self.client.send_request(request))
        if response.status_code >= 300:
            raise ReleaseError(
                f"cannot update the release tags of app '{self.target.app}': HTTP {response.status_code} "
                f"{response.text()[:200]}"
            )

    def _write_record(self, previous: Release | None, current: Release) -> None:
        self._tags(
            "Merge",
            {
                TAG_PREVIOUS: previous.tag_value() if previous else NO_PREVIOUS,
                TAG_CURRENT: current.tag_value(),
                TAG_AT: iso(self.wall()),
            },
        )
        self._say(f"record: current {current}, previous {previous or 'none'} (tags {RELEASE_TAG_PREFIX}*)")

    def _restore_record(self, record: ReleaseRecord) -> None:
        if record.current is None:
            self._tags("Delete", {TAG_CURRENT: "", TAG_PREVIOUS: "", TAG_AT: ""})
        else:
            self._write_record(record.previous, record.current)

    def _held_lock(self) -> str | None:
        return (self._site(PRODUCTION_SLOT).tags or {}).get(TAG_LOCK)

    @contextmanager
    def lock(self, step: str, hold: float) -> Iterator[None]:
        """Hold the release lock (tag ``platform-release-lock``) for ``hold`` seconds at most (the command's
        worst-case duration, :mod:`~platform_infra.release.budget`: a lock outliving a dead run expires then).

        Neither ARM's Tags API nor Microsoft.Web offers compare-and-swap: ``Tags_UpdateAtScope`` (PATCH
        ``{scope}/providers/Microsoft.Resources/tags/default``) takes only the scope, the api-version and the
        body, no ``If-Match`` (azure-rest-api-specs, Microsoft.Resources/stable/2021-04-01/resources.json),
        and no Microsoft.Web operation takes ``If-Match`` or returns an ETag for a site (azure-mgmt-web 11,
        generated from the Microsoft.Web spec). A Merge is last-writer-wins. So the lock is Fischer's
        timed mutual exclusion over one register, the strongest protocol plain reads and writes allow:

        1. read the tag; another owner's unexpired lock refuses the step;
        2. write a value no other run can produce (owner, a random nonce, the expiry);
        3. if the read and the write together took longer than :data:`LOCK_WRITE_BOUND`, withdraw (another
           run may have read "free" and written after us without our seeing it);
        4. wait :data:`LOCK_SETTLE` (more than the bound): every run that read "free" before our write has
           written by then;
        5. read again: only the run whose value is still there proceeds; the others refuse, changing nothing.

        It holds as long as each run's read-then-write really takes under the bound (checked) and ARM reads
        after a write return that write (ARM's read-your-writes on one resource; not verified here). The
        real mutual exclusion is the pipelines' concurrency group per stack (one deployment job at a time);
        this lock guards against a second pipeline system or a person running the command by hand. While
        the lock is held, every forward change (config, routing, swap) first checks the lock is still ours
        (:meth:`_fence`). Releasing deletes the tag only if it still holds our value (a Delete with name and
        value removes only that pair).
        """
        started = self.clock()
        now = self.wall()
        held = self._held_lock()
        if held:
            owner, expiry = _lock_parts(held)
            if owner != self.owner and expiry > now:
                raise ReleaseError(
                    f"{step}: app '{self.target.app}' is being released by {owner} (lock until "
                    f"{iso(expiry)}); "
                    f"nothing changed. If that run is gone, remove the tag {TAG_LOCK} from the site"
                )
        value = f"{self.owner}#{secrets.token_hex(6)} {now + hold:.0f}"
        self._tags("Merge", {TAG_LOCK: value})
        took = self.clock() - started
        if took > LOCK_WRITE_BOUND:
            self._unlock(step, value, now + hold)
            raise ReleaseError(
                f"{step}: taking the release lock took {took:.0f}s (more than {LOCK_WRITE_BOUND:g}s), "
                "too slow to be sure no other release wrote meanwhile; lock withdrawn, nothing changed. "
                "Run the step again"
            )
        self._status(f"{step}: lock written; waiting {LOCK_SETTLE:g}s for any concurrent release to show")
        self.sleep(LOCK_SETTLE)
        now_held = self._held_lock()
        if now_held != value:
            other = _lock_parts(now_held)[0] if now_held else "nobody (removed)"
            raise ReleaseError(
                f"{step}: another release of app '{self.target.app}' took the lock (now held by {other}); "
                "nothing changed"
            )
        self._lock_value = value
        try:
            yield
        finally:
            self._lock_value = None
            self._unlock(step, value, now + hold)

    def _unlock(self, step: str, value: str, expiry: float) -> None:
        try:
            self._tags("Delete", {TAG_LOCK: value})
        except ReleaseError as error:
            self._say(f"{step}: could not release the lock ({error}); it expires at {iso(expiry)}")

    def _fence(self, step: str) -> None:
        """Before a forward change: the lock must still hold our value (no-op outside a lock)."""
        if self._lock_value is None:
            return
        held = self._held_lock()
        if held != self._lock_value:
            other = _lock_parts(held)[0] if held else "nobody (removed)"
            raise ReleaseError(
                f"{step}: the release lock is no longer ours (now held by {other}); stopped before changing "
                "anything more"
            )

    def limits(self) -> budget.Limits:
        """This engine's waits, for :mod:`~platform_infra.release.budget`."""
        r = self.readiness
        return budget.Limits(
            timeout=r.timeout,
            interval=r.interval,
            request_timeout=r.request_timeout,
            swap_timeout=self.swap_timeout,
            conflict_timeout=self.conflict_timeout,
            probes_per_instance=2 if self.target.contract.kind == "path" else 1,
        )

    # -- the swap --

    def _retry_conflicts(self, what: str, call: Callable[[], Any]) -> Any:
        """Run ``call``; a 409 Conflict (another operation on the site) is retried with backoff."""
        started = self.clock()
        wait = 5.0
        while True:
            try:
                return call()
            except HttpResponseError as error:
                left = started + self.conflict_timeout - self.clock()
                if error.status_code != 409 or left <= 0:
                    raise
                pause = min(wait, left)
                self._status(
                    f"{what}: Azure answered 409 Conflict ({_short(error, 120)}); retrying in {pause:g}s"
                )
                self.sleep(pause)
                wait = min(wait * 2, 60.0)

    def _swap(self, step: str) -> bool:
        """Request one swap of the release slot into production; True when Azure finished it in time.

        False means the operation is still running on Azure (it cannot be cancelled): the caller waits for
        the site to settle and decides from the versions, never by swapping blindly again.
        """
        t = self.target
        started = self.clock()
        self._say(f"{step}: swapping slot '{t.slot}' with production (waiting up to {self.swap_timeout:g}s)")
        try:
            poller = self._retry_conflicts(
                step,
                lambda: self.client.web_apps.begin_swap_slot(
                    t.resource_group,
                    t.app,
                    t.slot,
                    CsmSlotEntity(target_slot=PRODUCTION_SLOT, preserve_vnet=True),
                    polling_interval=self.polling_interval,
                ),
            )
            poller.result(timeout=self.swap_timeout)
        except AzureError as error:
            raise ReleaseError(f"{step}: the swap failed: {_short(error)}") from error
        if not poller.done():
            self._say(
                f"{step}: the swap did not finish within {self.swap_timeout:g}s; it keeps running on Azure"
            )
            return False
        self._say(f"{step}: swap finished ({self.clock() - started:.0f}s)")
        return True

    def _settle(self, step: str) -> None:
        """Poll the site until no swap or operation is reported (at most ``swap_timeout`` + the readiness
        timeout seconds: a swap that outlived its wait usually completes soon after)."""
        started = self.clock()
        deadline = started + self.swap_timeout + self.readiness.timeout
        while True:
            busy = self._busy()
            elapsed = self.clock() - started
            if busy is None:
                self.reporter.done()
                self._say(f"{step}: the site is idle again ({elapsed:.0f}s)")
                return
            remaining = deadline - self.clock()
            self._status(
                f"{step}: waiting for Azure: {busy} ({elapsed:.0f}s elapsed, {max(remaining, 0):.0f}s left)"
            )
            if remaining <= 0:
                self.reporter.done()
                raise ReleaseError(
                    f"{step}: {busy} still after {elapsed:.0f}s; production's config names "
                    f"{image_of(self.config_of(PRODUCTION_SLOT))}. Nothing more was requested: check the "
                    "site "
                    "and run the step again once it is idle"
                )
            self.sleep(min(self.readiness.interval, remaining))

    def _swap_and_settle(self, step: str) -> None:
        """One swap; after a timeout, wait until the site settles. Raises when Azure refused or failed it."""
        try:
            finished = self._swap(step)
        except ReleaseError:
            self._settle(step)
            raise
        if not finished:
            self._settle(step)

    def _app_settings(self) -> tuple[dict[str, str], dict[str, str]]:
        """Production's and the release slot's app settings, as Azure holds them now."""
        t = self.target
        production = self._azure(
            "read production's app settings",
            lambda: self.client.web_apps.list_application_settings(t.resource_group, t.app),
        ).properties
        staging = self._azure(
            f"read the app settings of slot '{t.slot}'",
            lambda: self.client.web_apps.list_application_settings_slot(t.resource_group, t.app, t.slot),
        ).properties
        return production or {}, staging or {}

    def _check_gate(self, step: str, *, strict: bool) -> None:
        """Azure's warm-up gate must be set on both slots (the component sets it)."""
        t = self.target
        production, staging = self._app_settings()
        missing = [
            f"{name} on '{slot}'"
            for slot, settings in ((PRODUCTION_SLOT, production), (t.slot, staging))
            for name in (SWAP_WARMUP_PATH_SETTING, SWAP_WARMUP_STATUSES_SETTING)
            if not settings.get(name)
        ]
        wrong = [
            f"{SWAP_WARMUP_STATUSES_SETTING} on '{slot}' is {settings[SWAP_WARMUP_STATUSES_SETTING]!r}"
            for slot, settings in ((PRODUCTION_SLOT, production), (t.slot, staging))
            if settings.get(SWAP_WARMUP_STATUSES_SETTING) not in (None, "", SWAP_WARMUP_STATUSES)
        ]
        if not missing and not wrong:
            return
        problem = "; ".join(missing + wrong)
        message = (
            f"{step}: Azure's swap warm-up gate is not set ({problem}); without it Azure swaps in a "
            "candidate "
            f"that fails under production's sticky settings. Deploy the stack (BlueGreenAppService sets "
            f"{SWAP_WARMUP_PATH_SETTING}={t.health_path} and "
            f"{SWAP_WARMUP_STATUSES_SETTING}={SWAP_WARMUP_STATUSES})"
        )
        if strict:
            raise ReleaseError(f"{message}. No swap requested")
        self._say(f"warning: {message}")

    # -- steps --

    def expected_version(self, image: str, version: str | None) -> str:
        """The version the app must report: ``version`` or the image's tag."""
        found = version or version_from_image(image)
        if not found:
            raise ReleaseError(
                f"image {image_of(image)} has no version tag (or only 'latest'): pass --version with the "
                "version "
                "the app reports"
            )
        if not VERSION_PATTERN.fullmatch(found):
            raise ReleaseError(f"version {found!r} is not a version (letters, digits and ._+-, no spaces)")
        return found

    def _already_live(self, step: str, wanted: str, version: str) -> bool:
        """True when production's config names ``wanted`` and every instance confirms ``version``.

        A tag string alone decides nothing: a mutable tag, or a swap that completes late, leaves the config
        naming the image while the instances run something else.
        """
        if self.config_of(PRODUCTION_SLOT) != wanted:
            return False
        self._say(f"{step}: production's config already names {image_of(wanted)}; confirming its instances")
        try:
            self.confirm(PRODUCTION_SLOT, version, f"{step} (already live?)")
        except ReleaseError as error:
            raise ReleaseError(
                f"{error}. Production's config names {image_of(wanted)} but its instances do not confirm "
                f"version {version} (a mutable tag, or a swap still completing); nothing changed"
            ) from error
        return True

    def deploy(self, image: str, version: str | None = None) -> bool:
        """Put ``image`` on the release slot and confirm every instance runs it; False when already live."""
        wanted = container_version(validate_image(image_of(image)))
        expected = self.expected_version(wanted, version)
        slot = self.target.slot
        with self.lock("deploy", budget.deploy(self.limits())):
            self._ensure_idle("deploy")
            if self._already_live("deploy", wanted, expected):
                self._say(
                    f"deploy: production already runs {image_of(wanted)} (version {expected}, confirmed)"
                )
                return False
            current = self.config_of(slot)
            if not current.startswith(CONTAINER_PREFIX):
                raise ReleaseError(
                    f"deploy: slot '{slot}' runs '{current or 'nothing'}', not a container image; deploy "
                    "runtime-stack apps with your build tool, then use verify/swap"
                )
            live = self.config_of(PRODUCTION_SLOT)
            changed = current != wanted
            if changed:
                self._say(f"deploy: setting slot '{slot}' from {image_of(current)} to {image_of(wanted)}")
                self._fence("deploy")
                t = self.target
                try:
                    self._retry_conflicts(
                        "deploy",
                        lambda: self.client.web_apps.update_configuration_slot(
                            t.resource_group,
                            t.app,
                            slot,
                            SiteConfigResource(properties=SiteConfig(linux_fx_version=wanted)),
                        ),
                    )
                except AzureError as error:
                    raise ReleaseError(
                        f"deploy: Azure refused to update slot '{slot}': {_short(error)}; production "
                        "untouched "
                        f"({image_of(live)})"
                    ) from error
            else:
                self._say(f"deploy: slot '{slot}' already names {image_of(wanted)}; confirming its instances")
            try:
                self.confirm(slot, expected, "deploy")
            except ReleaseError as error:
                raise ReleaseError(f"{error}. Production untouched ({image_of(live)})") from error
        return changed

    def verify(self, slot: str, version: str | None = None) -> None:
        """Confirm ``slot`` (healthy on every instance, with ``version`` when given); changes nothing."""
        self.confirm(slot, version, f"verify {slot}")

    def _candidate(self, step: str, image: str | None, version: str | None) -> tuple[str, str]:
        slot = self.target.slot
        candidate = self.config_of(slot)
        if image is not None:
            wanted = container_version(validate_image(image_of(image)))
            if candidate != wanted:
                raise ReleaseError(
                    f"{step}: slot '{slot}' runs {image_of(candidate) or 'nothing'}, not "
                    f"{image_of(wanted)}; run "
                    f"deploy first. No swap requested; production still serves "
                    f"{image_of(self.config_of(PRODUCTION_SLOT))}"
                )
        return candidate, self.expected_version(candidate, version)

    def swap(self, image: str | None = None, version: str | None = None, bake: float = 0.0) -> bool:
        """Swap the confirmed release slot into production; False when the version is already live.

        :param image: the version being released: a no-op when production confirms it already, refused
            when the release slot does not hold it.
        :param version: the version the app reports (default: the image tag).
        :param bake: seconds to watch production's metrics after the swap; a breach swaps back.
        """
        if image is not None:
            wanted = container_version(validate_image(image_of(image)))
            if self._already_live("swap", wanted, self.expected_version(wanted, version)):
                self._say(f"swap: production already runs {image_of(wanted)} (confirmed); nothing to do")
                return False
        with self.lock("swap", budget.swap_command(self.limits(), bake)):
            candidate, expected = self._candidate("swap", image, version)
            self._promote("swap", Release(expected, candidate), bake)
        return True

    def _live(self) -> Release:
        """What production runs: the recorded release when it names the same image, else the version every
        production instance reports now (one probe each), else the image tag."""
        live = self.config_of(PRODUCTION_SLOT)
        record = self.record()
        if record.current and record.current.image == live:
            return record.current
        return Release(self._reported(PRODUCTION_SLOT) or version_from_image(live) or "", live)

    def _reported(self, slot: str) -> str | None:
        """The version the answers to one probe aimed at each instance of ``slot`` agree on, else None."""
        host = self.host_of(slot)
        seen = {
            self._probe_instance(slot, host, instance, self.readiness.request_timeout)[1]
            for instance in self.instances_of(slot)
        }
        return seen.pop() if len(seen) == 1 else None

    def _promote(self, step: str, candidate: Release, bake: float) -> None:
        """Confirm staging, swap through Azure's gate, confirm production, record, bake."""
        slot = self.target.slot
        self._ensure_idle(step)
        self._check_gate(step, strict=True)
        live = self._live()
        before = self.record()
        if live.image == candidate.image and candidate.image.startswith(CONTAINER_PREFIX):
            # Runtime-stack apps name the same stack on both slots: their code differs, and the versions the
            # instances report decide.
            raise ReleaseError(
                f"{step}: production and slot '{slot}' both name {image_of(live.image)}; nothing to swap"
            )
        self._say(f"{step}: candidate {candidate} in slot '{slot}'; production serves {live}")
        try:
            self.confirm(slot, candidate.version, f"{step}: {slot}")
        except ReleaseError as error:
            raise ReleaseError(f"{error}. No swap requested; production still serves {live}") from error
        baseline: WindowMetrics | None = None
        swap_started = self.wall()
        if bake > 0:
            baseline = self._read_metrics(PRODUCTION_SLOT, swap_started - bake, swap_started)
            self._say(f"{step}: baseline of production before the swap: {baseline.describe()}")
        self._fence(step)
        try:
            self._swap_and_settle(step)
        except ReleaseError as error:
            raise ReleaseError(f"{error}; {self._production_now(live)}") from error
        now = self.config_of(PRODUCTION_SLOT)
        if now != candidate.image:
            raise ReleaseError(
                f"{step}: Azure did not swap (warm-up gate or a failed operation): "
                f"{self._production_now(live)}"
            )
        try:
            self.confirm(PRODUCTION_SLOT, candidate.version, f"{step}: production")
        except ReleaseError as error:
            self._say(f"{step}: production failed its confirmation; swapping back to {live}")
            raise ReleaseError(f"{error}; {self._restore(step, live)}") from error
        self._write_record(live, candidate)
        if baseline is not None:
            reasons = self._bake(step, baseline, bake)
            if reasons:
                self._say(f"{step}: bake breached ({'; '.join(reasons)}); swapping back to {live}")
                restored = self._restore(f"{step} bake", live)
                self._restore_record(before)
                raise ReleaseError(f"{step}: production breached its bake: {'; '.join(reasons)}; {restored}")
        self._say(f"{step}: production serves {candidate}; {live} stays in slot '{slot}' for rollback")

    def _restore(self, step: str, live: Release) -> str:
        """Bring ``live`` back into production, deciding each swap from the versions Azure reports.

        A swap back that times out is followed by waiting for the site to settle, then the versions are read
        again: if the swap back completed, nothing more is sent; a 409 is retried; at most three swaps.
        """
        slot = self.target.slot
        for _ in range(budget.SWAP_BACK_ATTEMPTS):
            self._settle(f"{step}: swap back")
            production = self.config_of(PRODUCTION_SLOT)
            if production == live.image:
                try:
                    self.confirm(PRODUCTION_SLOT, live.version or None, f"{step}: swap back")
                except ReleaseError as error:
                    return f"production serves {live} again but is not confirmed ({error})"
                return f"swapped back automatically; production serves {live} again (confirmed)"
            staging = self.config_of(slot)
            if staging != live.image:
                return (
                    f"cannot swap back: slot '{slot}' holds {image_of(staging)}, not {live}; production "
                    "serves "
                    f"{image_of(production)}"
                )
            try:
                self._swap(f"{step}: swap back")
            except ReleaseError as error:
                self._say(f"{step}: swap back: {error}")
        names = image_of(self.config_of(PRODUCTION_SLOT))
        return (
            f"swapping back did not succeed after {budget.SWAP_BACK_ATTEMPTS} attempts; production's config "
            f"names {names}"
        )

    def rollback(self) -> None:
        """Swap the recorded previous release back into production, only if staging holds exactly it."""
        slot = self.target.slot
        with self.lock("rollback", budget.rollback(self.limits())):
            record = self.record()
            previous = record.previous
            if previous is None:
                raise ReleaseError(
                    f"rollback: the release record on app '{self.target.app}' names no previous release "
                    f"(tags {TAG_PREVIOUS}: none, or already rolled back); nothing changed"
                )
            if not previous.version and not previous.image.startswith(CONTAINER_PREFIX):
                raise ReleaseError(
                    f"rollback: the recorded previous release {previous} names no version and both slots run "
                    "the same runtime stack: nothing tells what staging holds. Nothing changed"
                )
            staging = self.config_of(slot)
            if staging != previous.image:
                raise ReleaseError(
                    f"rollback: slot '{slot}' holds {image_of(staging)}, but the recorded previous release "
                    "is "
                    f"{previous}; refusing to swap a version that was never released into production. "
                    "Nothing "
                    "changed"
                )
            live = self._live()
            self._ensure_idle("rollback")
            self._check_gate("rollback", strict=False)
            self._say(f"rollback: production serves {live}; restoring {previous} from slot '{slot}'")
            try:
                self.confirm(slot, previous.version or None, f"rollback: {slot}")
            except ReleaseError as error:
                raise ReleaseError(f"{error}. No swap requested; production still serves {live}") from error
            self._fence("rollback")
            try:
                self._swap_and_settle("rollback")
            except ReleaseError as error:
                raise ReleaseError(f"{error}; {self._production_now(live)}") from error
            if self.config_of(PRODUCTION_SLOT) != previous.image:
                raise ReleaseError(f"rollback: Azure did not swap: {self._production_now(live)}")
            try:
                self.confirm(PRODUCTION_SLOT, previous.version or None, "rollback: production")
            except ReleaseError as error:
                # Not swapped again: the version just removed from production is the one being rolled back.
                raise ReleaseError(
                    f"{error}; production now serves {previous} and is not confirmed; {live} is in slot "
                    f"'{slot}'"
                ) from error
            self._write_record(None, previous)
            self._say(f"rollback: production serves {previous} again")

    # -- canary and bake --

    def _read_metrics(self, slot: str, start: float, end: float) -> WindowMetrics:
        if self.metrics is None:
            raise ReleaseError("no metrics reader: canary and bake need Azure Monitor")
        site = self._site(slot)
        try:
            return self.metrics(site.id, start, end)
        except AzureError as error:
            raise ReleaseError(f"cannot read the metrics of slot '{slot}': {_short(error)}") from error

    def _observe(self, step: str, seconds: float, check: Callable[[float, float], list[str]]) -> list[str]:
        """Wait ``seconds``, judging ``check(start, now)`` every minute; stops at the first breach."""
        start = self.wall()
        began = self.clock()
        every = budget.METRICS_EVERY
        while True:
            elapsed = self.clock() - began
            remaining = seconds - elapsed
            pause = min(every, max(remaining, 0.0))
            if pause > 0:
                self.sleep(pause)
            elapsed = self.clock() - began
            reasons = check(start, self.wall())
            left = max(seconds - elapsed, 0.0)
            self._status(
                f"{step}: watching metrics: {'BREACH ' + '; '.join(reasons) if reasons else 'within limits'} "
                f"({elapsed:.0f}s elapsed, {left:.0f}s left)"
            )
            if reasons or left <= 0:
                self.reporter.done()
                return reasons

    def _bake(self, step: str, baseline: WindowMetrics, seconds: float) -> list[str]:
        def check(start: float, now: float) -> list[str]:
            current = self._read_metrics(PRODUCTION_SLOT, start, now)
            self._status(f"{step} bake: production {current.describe()}")
            if now - start < seconds:
                # Too few requests is only a verdict at the end of the bake.
                return [r for r in breaches(current, baseline, self.gates) if not r.startswith("only ")]
            return breaches(current, baseline, self.gates)

        self._say(f"{step}: baking {seconds:g}s: production's metrics against the baseline")
        return self._observe(f"{step} bake", seconds, check)

    def _route(self, step: str, percent: float | None) -> None:
        """Set (or with None remove) the rampUpRule routing ``percent`` of production traffic to staging.

        As ``az webapp traffic-routing set/clear`` does (azure-cli, appservice ``set_traffic_routing``):
        production's ``siteConfig.experiments.rampUpRules`` gets one rule named after the slot, with the
        slot's host name and the percentage; clearing sends an empty list.
        """
        t = self.target
        rules = []
        if percent is not None:
            rules = [
                RampUpRule(name=t.slot, action_host_name=self.host_of(t.slot), reroute_percentage=percent)
            ]
        self._retry_conflicts(
            step,
            lambda: self.client.web_apps.update_configuration(
                t.resource_group,
                t.app,
                SiteConfigResource(properties=SiteConfig(experiments=Experiments(ramp_up_rules=rules))),
            ),
        )

    def _sticky_differences(self) -> list[str]:
        """Sticky settings whose staging value differs from production's (routed users would get it)."""
        t = self.target
        names = self._azure(
            "read the slot-sticky setting names",
            lambda: self.client.web_apps.list_slot_configuration_names(t.resource_group, t.app),
        )
        production, staging = self._app_settings()
        return sorted(
            name
            for name in (names.app_setting_names or [])
            if name not in PER_SLOT_BY_DESIGN and production.get(name) != staging.get(name)
        )

    def canary(
        self,
        steps: Sequence[float],
        step_bake: float,
        image: str | None = None,
        version: str | None = None,
        bake: float = 0.0,
    ) -> None:
        """Route each percentage of production traffic to staging, judge its metrics, then promote.

        A breach removes the routing rule (an explicit 0% rule would still let clients pin themselves to
        staging with the ``x-ms-routing-name`` cookie) and raises; production's slots are untouched.
        """
        if not steps or any(not 0 < p < 100 for p in steps) or list(steps) != sorted(set(steps)):
            raise ReleaseError("canary: steps must be increasing percentages between 0 and 100, like 5,25,50")
        with self.lock("canary", budget.canary(self.limits(), steps, step_bake, bake)):
            candidate, expected = self._candidate("canary", image, version)
            release = Release(expected, candidate)
            live = self._live()
            self._ensure_idle("canary")
            self._check_gate("canary", strict=True)
            sticky = self._sticky_differences()
            if sticky:
                raise ReleaseError(
                    f"canary: slot '{self.target.slot}' has slot-sticky settings that differ from "
                    "production's "
                    f"({', '.join(sticky)}): routed users would run the new version with staging's values. "
                    "Use `infra release swap --bake` instead, or make the values equal. Nothing changed"
                )
            try:
                self.confirm(self.target.slot, expected, f"canary: {self.target.slot}")
            except ReleaseError as error:
                raise ReleaseError(f"{error}. No traffic routed; production still serves {live}") from error
            try:
                self._canary_steps(release, live, steps, step_bake)
            except BaseException:
                # Whatever stopped the canary (a breach, an unreadable metric, Ctrl-C), no rule stays behind.
                try:
                    self._route("canary: abort", None)
                except (ReleaseError, AzureError) as error:
                    self._say(f"canary: could not remove the routing rule: {_short(error)}")
                raise
            self._route("canary: promote", None)
            self._say("canary: every step passed; routing rule removed; promoting with the verified swap")
            self._promote("canary", release, bake)

    def _canary_steps(
        self, release: Release, live: Release, steps: Sequence[float], step_bake: float
    ) -> None:
        for percent in steps:
            self._say(f"canary: routing {percent:g}% of production traffic to {release}")
            self._fence("canary")
            self._route("canary", percent)

            def check(start: float, now: float, percent: float = percent) -> list[str]:
                final = now - start >= step_bake
                cand = self._read_metrics(self.target.slot, start, now)
                base = self._read_metrics(PRODUCTION_SLOT, start, now)
                self._status(f"canary {percent:g}%: staging {cand.describe()}; production {base.describe()}")
                found = breaches(cand, base, self.gates)
                return found if final else [r for r in found if not r.startswith("only ")]

            reasons = self._observe(f"canary {percent:g}%", step_bake, check)
            if reasons:
                raise ReleaseError(
                    f"canary: {percent:g}% breached ({'; '.join(reasons)}); routing rule removed, production "
                    f"serves {live} to everyone; {release} stays in slot '{self.target.slot}'"
                )
            self._say(f"canary: {percent:g}% passed")

    def _production_now(self, before: Release) -> str:
        try:
            now = self.config_of(PRODUCTION_SLOT)
        except ReleaseError as error:
            return f"could not read production's version afterwards ({_short(error)}); it was {before}"
        if now == before.image:
            return f"production still serves {before}"
        return f"production's config now names {image_of(now)} (was {before})"


def _lock_parts(value: str) -> tuple[str, float]:
    """``(owner, expiry)`` of a lock value ``<owner>#<nonce> <expiry>`` (or an older ``<owner> <expiry>``)."""
    token, _, until = value.rpartition(" ")
    try:
        expiry = float(until)
    except ValueError:
        expiry = 0.0
    return token.split("#", 1)[0], expiry


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
