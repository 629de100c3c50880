"""Account-wide log retention enforcer: the code of the Lambda function that RetentionEnforcer deploys.

It pages through every CloudWatch log group of the account and region it runs in and sets the configured
retention on each group that keeps its logs forever (no retention) or longer than policy allows. Groups
named in the exclusion list (exact names or prefixes) are left alone. Throttled calls are retried with a
bounded exponential backoff. Running it twice changes nothing the second time. What it changed is
returned (and logged as one JSON line): how many groups and which.

This file is deployed on its own (``retention_enforcer.handler``): it may import only the standard library
and boto3, which the Lambda Python runtime provides.

Environment variables (set by the component):

``RETENTION_DAYS``
    retention set on non-compliant groups; one of CloudWatch's allowed values.
``MAX_RETENTION_DAYS``
    longest retention a group may keep (defaults to ``RETENTION_DAYS``); groups above it are reset.
``EXCLUDE_NAMES`` / ``EXCLUDE_PREFIXES``
    JSON lists of log group names / name prefixes never to touch.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

ALLOWED_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
#: Stop early when less than this much of the invocation's time is left; the next run carries on.
SAFETY_MARGIN_MS = 10_000

logger = logging.getLogger("retention_enforcer")
logger.setLevel(logging.INFO)

T = TypeVar("T")


@dataclass(frozen=True)
class RetentionPolicy:
    """What the enforcer applies.

    :param retention_days: retention set on groups with none or with more than ``max_retention_days``.
    :param max_retention_days: longest retention left untouched; defaults to ``retention_days``.
    :param exclude_names: exact log group names never changed.
    :param exclude_prefixes: log group name prefixes never changed.
    """

    retention_days: int
    max_retention_days: int | None = None
    exclude_names: frozenset[str] = frozenset()
    exclude_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.retention_days not in ALLOWED_RETENTION_DAYS:
            raise ValueError(f"RETENTION_DAYS={self.retention_days} is not a CloudWatch retention value")
        if self.max_retention_days is not None and self.max_retention_days < self.retention_days:
            raise ValueError("MAX_RETENTION_DAYS must be at least RETENTION_DAYS")

    @property
    def ceiling(self) -> int:
        """The longest retention a group may keep."""
        return self.max_retention_days if self.max_retention_days is not None else self.retention_days

    def is_excluded(self, name: str) -> bool:
        """True when the group is on the exclusion list (by exact name or prefix)."""
        return name in self.exclude_names or any(name.startswith(p) for p in self.exclude_prefixes)

    def needs_change(self, current: int | None) -> bool:
        """True for a group that keeps logs forever or longer than allowed."""
        return current is None or current > self.ceiling

    @classmethod
    def from_environment(cls, env: os._Environ[str] | dict[str, str] = os.environ) -> RetentionPolicy:
        """The policy from the function's environment variables."""
        maximum = env.get("MAX_RETENTION_DAYS")
        return cls(
            retention_days=int(env["RETENTION_DAYS"]),
            max_retention_days=int(maximum) if maximum else None,
            exclude_names=frozenset(json.loads(env.get("EXCLUDE_NAMES") or "[]")),
            exclude_prefixes=tuple(json.loads(env.get("EXCLUDE_PREFIXES") or "[]")),
        )


@dataclass
class EnforcementResult:
    """What one run did. ``changed`` lists ``{logGroupName, previousRetentionDays, retentionDays}``."""

    examined: int = 0
    excluded: int = 0
    compliant: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    complete: bool = True

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (the Lambda's return value)."""
        return {
            "examined": self.examined,
            "excluded": self.excluded,
            "compliant": self.compliant,
            "changedCount": len(self.changed),
            "changed": self.changed,
            "failedCount": len(self.failed),
            "failed": self.failed,
            "complete": self.complete,
        }


@dataclass(frozen=True)
class Backoff:
    """Bounded exponential backoff with full jitter for throttled calls.

    :param max_attempts: calls in total before the throttling error is raised.
    :param base_seconds: delay ceiling of the first retry; doubles each retry.
    :param max_seconds: cap of any one delay.
    """

    max_attempts: int = 8
    base_seconds: float = 0.2
    max_seconds: float = 5.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        return random.uniform(0, min(self.max_seconds, self.base_seconds * 2**retry))


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def call_with_backoff(
    call: Callable[[], T], backoff: Backoff, sleep: Callable[[float], None] = time.sleep
) -> T:
    """``call()``, retried while AWS throttles it, at most ``backoff.max_attempts`` times in all."""
    for retry in range(backoff.max_attempts):
        try:
            return call()
        except Exception as error:
            if _error_code(error) not in THROTTLING_CODES or retry == backoff.max_attempts - 1:
                raise
            delay = backoff.delay(retry)
            logger.info("throttled (%s); retry %d in %.2fs", _error_code(error), retry + 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises


def iter_log_groups(
    client: Any, backoff: Backoff, sleep: Callable[[float], None] = time.sleep
) -> Iterator[dict[str, Any]]:
    """Every log group of the account and region, page by page.

    Paged by hand with ``nextToken`` rather than with a botocore paginator: a paginator cannot retry the
    one page that was throttled, it would have to start over.
    """
    token: str | None = None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = call_with_backoff(lambda kwargs=kwargs: client.describe_log_groups(**kwargs), backoff, sleep)
        yield from page.get("logGroups", [])
        token = page.get("nextToken")
        if not token:
            return


def enforce(
    client: Any,
    policy: RetentionPolicy,
    *,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
    time_left_ms: Callable[[], int] | None = None,
) -> EnforcementResult:
    """Apply ``policy`` to every log group that ``client`` (a boto3 ``logs`` client) can see.

    A group whose update fails for another reason than throttling (denied by a permissions boundary, say)
    is recorded in ``failed`` and the run goes on with the others.

    :param time_left_ms: the invocation's remaining time; the run stops early (``complete`` false) when it
        runs short, and the next scheduled run finishes the job.
    """
    backoff = backoff or Backoff()
    result = EnforcementResult()
    for group in iter_log_groups(client, backoff, sleep):
        if time_left_ms is not None and time_left_ms() < SAFETY_MARGIN_MS:
            result.complete = False
            break
        name = group["logGroupName"]
        result.examined += 1
        if policy.is_excluded(name):
            result.excluded += 1
            continue
        current = group.get("retentionInDays")
        if not policy.needs_change(current):
            result.compliant += 1
            continue
        try:
            call_with_backoff(
                lambda name=name: client.put_retention_policy(
                    logGroupName=name, retentionInDays=policy.retention_days
                ),
                backoff,
                sleep,
            )
        except Exception as error:
            result.failed.append({"logGroupName": name, "error": _error_code(error) or type(error).__name__})
            continue
        result.changed.append(
            {"logGroupName": name, "previousRetentionDays": current, "retentionDays": policy.retention_days}
        )
    return result


def summary_line(result: EnforcementResult, policy: RetentionPolicy) -> str:
    """The one JSON log line a run writes (searchable in CloudWatch Logs Insights)."""
    return json.dumps(
        {"event": "retention-enforced", "retentionDays": policy.retention_days, **result.as_dict()},
        sort_keys=True,
    )


def handler(event: Any, context: Any, *, client: Any = None) -> dict[str, Any]:
    """Lambda entry point (EventBridge schedule). Raises when some group could not be updated.

    Raising makes the invocation count as an error, so the function's Errors alarm reports it; the summary
    with every change has been logged before.
    """
    import boto3  # the Lambda runtime provides it; imported here so the policy logic loads without it
    from botocore.config import Config

    policy = RetentionPolicy.from_environment()
    # botocore's own retries stay short: the backoff above is the one that knows about throttling.
    logs = client or boto3.client("logs", config=Config(retries={"mode": "standard", "max_attempts": 2}))
    time_left = getattr(context, "get_remaining_time_in_millis", None)
    result = enforce(logs, policy, time_left_ms=time_left)
    logger.info(summary_line(result, policy))
    if result.failed:
        names = ", ".join(item["logGroupName"] for item in result.failed)
        raise RuntimeError(f"retention could not be set on {len(result.failed)} log group(s): {names}")
    return result.as_dict()
