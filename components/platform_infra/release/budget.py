"""How long an ``infra release`` command can take at worst, from the limits it runs with.

Standard library only, so a pipeline test (and ``infra release budget``) can check that a job's timeout and
its credentials outlast the release it starts, without importing the Azure SDK. Each function mirrors one
step of :class:`~platform_infra.release.flow.ReleaseEngine` and adds up its bounded waits on the path that
waits longest, failures included: a job killed during a swap back leaves production on the bad version, so
the swap back's own waits are part of the budget.

What is bounded by the engine and counted exactly: confirmations (``--timeout`` plus the last round's
probes), a swap's wait (``--swap-timeout``), the settling after a swap that outlived it (``--swap-timeout``
plus ``--timeout``), 409 retries (``conflict_timeout``), canary steps and bakes (checked every minute), the
lock's settle wait, up to three swap-back attempts. What is not bounded by the engine: each ARM request
outside those waits, counted here at :data:`ARM_CALL` seconds (they usually take well under a second).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ARM_CALL = 15.0
"""Seconds allowed for one ARM request made outside a timed wait."""

LOCK_WRITE_BOUND = 10.0
"""Most seconds from reading the lock tag to its write being acknowledged; slower, the lock is withdrawn."""

LOCK_SETTLE = 2 * LOCK_WRITE_BOUND
"""Seconds between writing the lock and reading it back: longer than any other run's read-then-write."""

METRICS_EVERY = 60.0
"""Seconds between metric checks during a canary step or a bake (Azure Monitor's one-minute grain)."""

SWAP_BACK_ATTEMPTS = 3
"""Most swaps a restore requests, each after waiting for the site to settle."""

PIPELINE_SETUP_MINUTES = 15
"""Minutes a pipeline job may spend before its first Pulumi or release command (checkout, Python, the
pinned install, the offline policy check, sign-ins, the Pulumi CLI); a few minutes on a hosted runner."""

HOSTED_JOB_LIMIT_MINUTES = 360
"""GitHub-hosted runners end a job after 6 hours (GitHub docs, "Usage limits": "Each job in a workflow can run
for up to 6 hours of execution time"). Azure Pipelines' Microsoft-hosted agents are taken to allow the same
with purchased parallel jobs; a private project on the free grant is cut at 60 minutes ("ran longer than the
maximum time of 60 minutes"), which no release with bakes fits: that limit is not checked here."""

MAX_INSTANCES = 30
"""Most instances a slot can run (PremiumV3's maximum capacity): the probe overshoot of the last round."""


@dataclass(frozen=True)
class Limits:
    """The waits a command runs with (its flags and the engine's fixed bounds).

    :param timeout: ``--timeout``, one confirmation.
    :param interval: ``--interval``, between probe rounds.
    :param request_timeout: ``--request-timeout``, one probe.
    :param swap_timeout: ``--swap-timeout``, one swap.
    :param conflict_timeout: how long 409 Conflicts are retried (engine default 300 s).
    :param instances: most instances a slot runs.
    :param probes_per_instance: 2 with a ``path:`` version contract (health, then version), else 1.
    """

    timeout: float = 600.0
    interval: float = 10.0
    request_timeout: float = 10.0
    swap_timeout: float = 900.0
    conflict_timeout: float = 300.0
    instances: int = MAX_INSTANCES
    probes_per_instance: int = 1


def confirm(limits: Limits) -> float:
    """A confirmation: the timeout, then one last round (each probe cut to 1 s after the deadline)."""
    return limits.timeout + limits.instances * limits.probes_per_instance * 1.0 + 2 * ARM_CALL


def probe_round(limits: Limits) -> float:
    """One probe of every instance (what production reports, outside a confirmation)."""
    return limits.instances * limits.probes_per_instance * limits.request_timeout + 2 * ARM_CALL


def settle(limits: Limits) -> float:
    """Polling the site until no swap or operation runs: at most the swap timeout plus the timeout."""
    return limits.swap_timeout + limits.timeout + limits.interval + 3 * ARM_CALL


def swap(limits: Limits) -> float:
    """One swap request: 409 retries, then the wait for the operation."""
    return limits.conflict_timeout + limits.swap_timeout + 2 * ARM_CALL


def swap_and_settle(limits: Limits) -> float:
    return swap(limits) + settle(limits)


def restore(limits: Limits) -> float:
    """Swapping back: up to three rounds of settle, read both slots, then swap (or confirm production and
    stop)."""
    one = settle(limits) + 2 * ARM_CALL + max(swap(limits), confirm(limits))
    return SWAP_BACK_ATTEMPTS * one + ARM_CALL


def watch(seconds: float) -> float:
    """A canary step or a bake: the duration, then the last check's metric reads."""
    return seconds + METRICS_EVERY + 4 * ARM_CALL if seconds > 0 else 0.0


def lock() -> float:
    """Taking the lock (read, write, settle, read back) and releasing it."""
    return LOCK_SETTLE + 4 * ARM_CALL


def promote(limits: Limits, bake: float) -> float:
    """Idle and gate checks, what production runs, confirm staging, swap, confirm production, record, bake,
    and on any failure after the swap, the restore."""
    checks = 8 * ARM_CALL + probe_round(limits)
    return (
        checks
        + confirm(limits)
        + 2 * ARM_CALL  # baseline metrics, fence
        + swap_and_settle(limits)
        + ARM_CALL
        + confirm(limits)
        + ARM_CALL  # the record
        + watch(bake)
        + restore(limits)
        + ARM_CALL  # the record restored
    )


def deploy(limits: Limits) -> float:
    """``deploy``: lock, then either production already confirms the image, or update staging and confirm."""
    return lock() + 4 * ARM_CALL + max(confirm(limits), limits.conflict_timeout + ARM_CALL + confirm(limits))


def verify(limits: Limits) -> float:
    return confirm(limits) + ARM_CALL


def swap_command(limits: Limits, bake: float) -> float:
    """``swap --image``: the already-live confirmation, the lock, the promotion."""
    return confirm(limits) + 2 * ARM_CALL + lock() + 2 * ARM_CALL + promote(limits, bake)


def canary(limits: Limits, steps: Sequence[float], step_bake: float, bake: float) -> float:
    """``canary``: lock, checks, confirm staging, each step (fence, route, watch), unroute, promote."""
    step = ARM_CALL + limits.conflict_timeout + 2 * ARM_CALL + watch(step_bake)
    return (
        lock()
        + 12 * ARM_CALL
        + probe_round(limits)
        + confirm(limits)
        + len(steps) * step
        + limits.conflict_timeout
        + ARM_CALL
        + promote(limits, bake)
    )


def rollback(limits: Limits) -> float:
    return (
        lock()
        + 8 * ARM_CALL
        + probe_round(limits)
        + confirm(limits)
        + ARM_CALL
        + swap_and_settle(limits)
        + ARM_CALL
        + confirm(limits)
        + ARM_CALL
    )


def release_of_one_app(limits: Limits, steps: Sequence[float], bake: float) -> float:
    """What the pipelines run per app with an image: ``deploy``, then ``canary --steps S --bake B
    --bake-after-swap B`` with steps, else ``swap --bake B``."""
    if steps:
        return deploy(limits) + canary(limits, steps, bake, bake)
    return deploy(limits) + swap_command(limits, bake)


def pipeline_release(
    limits: Limits, *, apps: int, released: int, steps: Sequence[float], bake: float
) -> float:
    """The pipelines' release part for one stack: a smoke ``verify`` of each app's production, then the
    release of each app that has an image (one after the other)."""
    return apps * verify(limits) + released * release_of_one_app(limits, steps, bake)


def minutes(seconds: float) -> int:
    """Whole minutes, rounded up."""
    return math.ceil(seconds / 60.0)


def deploy_job_minutes(
    limits: Limits, *, apps: int, released: int, steps: Sequence[float], bake: float, pulumi_minutes: int
) -> int:
    """Minutes a deploy job needs at worst: its setup, ``pulumi up`` (bounded by ``pulumi_minutes``), then
    :func:`pipeline_release`. A job timeout below this can kill a swap back half-way."""
    release = pipeline_release(limits, apps=apps, released=released, steps=steps, bake=bake)
    return PIPELINE_SETUP_MINUTES + pulumi_minutes + minutes(release)
