"""The retention enforcer's Lambda code against moto's CloudWatch Logs (no AWS account needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.logs.models import logs_backends
from platform_infra.lambdas.retention_enforcer import (
    Backoff,
    RetentionPolicy,
    call_with_backoff,
    enforce,
    handler,
)

REGION = "eu-west-1"
GROUPS_WITHOUT_RETENTION = 150
GROUPS_TOO_LONG = 40
GROUPS_COMPLIANT = 20


@pytest.fixture
def logs() -> Iterator[Any]:
    """A moto logs client with 213 groups (5 pages): no, too long or compliant retention, and excluded.

    The groups are put straight into moto's CloudWatch Logs backend (``moto/logs/models.py``:
    ``LogsBackend.create_log_group`` and ``put_retention_policy``, which the API handlers call), not
    through 273 API requests: the state the enforcer then reads and changes through boto3 is the same,
    and seeding costs milliseconds instead of ~0.4 CPU s per test.
    """
    with mock_aws():
        client = boto3.client("logs", region_name=REGION)
        backend = logs_backends[DEFAULT_ACCOUNT_ID][REGION]
        for i in range(GROUPS_WITHOUT_RETENTION):
            backend.create_log_group(f"/app/none-{i:03d}", tags={})
        for i in range(GROUPS_TOO_LONG):
            backend.create_log_group(f"/app/long-{i:03d}", tags={})
            _put_retention(backend, f"/app/long-{i:03d}", 3653)
        for i in range(GROUPS_COMPLIANT):
            backend.create_log_group(f"/app/short-{i:03d}", tags={})
            _put_retention(backend, f"/app/short-{i:03d}", 7)
        # Excluded: an exact name and a prefix, both without retention (they would be changed otherwise).
        for name in ("/audit/trail", "/keep/a", "/keep/b"):
            backend.create_log_group(name, tags={})
        yield client


def _put_retention(backend: Any, name: str, days: int) -> None:
    # As moto's PutRetentionPolicy handler calls it (moto/logs/responses.py): with the request's number,
    # although the backend's signature says str.
    backend.put_retention_policy(name, days)


def test_the_seeded_groups_are_what_the_api_serves(logs: Any) -> None:
    """The fixture's groups as CloudWatch Logs describes them: all of them, over several pages."""
    assert "nextToken" in logs.describe_log_groups()
    served = retention_of(logs)
    assert len(served) == GROUPS_WITHOUT_RETENTION + GROUPS_TOO_LONG + GROUPS_COMPLIANT + 3
    assert served["/app/none-000"] is None and served["/app/long-039"] == 3653
    assert served["/app/short-019"] == 7 and served["/keep/b"] is None


def retention_of(client: Any) -> dict[str, int | None]:
    paginator = client.get_paginator("describe_log_groups")
    return {
        g["logGroupName"]: g.get("retentionInDays")
        for page in paginator.paginate()
        for g in page["logGroups"]
    }


POLICY = RetentionPolicy(
    retention_days=30,
    max_retention_days=365,
    exclude_names=frozenset({"/audit/trail"}),
    exclude_prefixes=("/keep/",),
)
NO_SLEEP = Backoff(max_attempts=5, base_seconds=0.0, max_seconds=0.0)


def test_pages_through_every_group_and_sets_retention(logs: Any) -> None:
    first_page = logs.describe_log_groups()
    assert "nextToken" in first_page, "the fixture must span several pages"

    result = enforce(logs, POLICY, backoff=NO_SLEEP)

    total = GROUPS_WITHOUT_RETENTION + GROUPS_TOO_LONG + GROUPS_COMPLIANT + 3
    assert result.examined == total
    assert result.excluded == 3
    assert result.compliant == GROUPS_COMPLIANT
    assert len(result.changed) == GROUPS_WITHOUT_RETENTION + GROUPS_TOO_LONG
    assert result.complete and not result.failed

    after = retention_of(logs)
    assert all(after[f"/app/none-{i:03d}"] == 30 for i in range(GROUPS_WITHOUT_RETENTION))
    assert all(after[f"/app/long-{i:03d}"] == 30 for i in range(GROUPS_TOO_LONG))
    assert all(after[f"/app/short-{i:03d}"] == 7 for i in range(GROUPS_COMPLIANT))  # shorter is kept
    assert after["/audit/trail"] is None
    assert after["/keep/a"] is None and after["/keep/b"] is None

    changed = {c["logGroupName"]: c for c in result.changed}
    assert changed["/app/long-000"] == {
        "logGroupName": "/app/long-000",
        "previousRetentionDays": 3653,
        "retentionDays": 30,
    }
    assert changed["/app/none-000"]["previousRetentionDays"] is None


def test_second_run_changes_nothing(logs: Any) -> None:
    enforce(logs, POLICY, backoff=NO_SLEEP)
    before = retention_of(logs)

    again = enforce(logs, POLICY, backoff=NO_SLEEP)

    assert again.changed == []
    assert again.compliant == again.examined - again.excluded
    assert retention_of(logs) == before


def test_retention_within_the_ceiling_is_left_alone(logs: Any) -> None:
    logs.put_retention_policy(logGroupName="/app/short-000", retentionInDays=365)
    result = enforce(logs, POLICY, backoff=NO_SLEEP)
    assert "/app/short-000" not in {c["logGroupName"] for c in result.changed}
    assert retention_of(logs)["/app/short-000"] == 365


class ThrottlingClient:
    """Wraps a logs client; the first ``failures`` calls of each API raise ThrottlingException."""

    def __init__(self, client: Any, failures: int) -> None:
        self._client = client
        self.remaining = {"describe_log_groups": failures, "put_retention_policy": failures}
        self.throttled = 0

    def _maybe_throttle(self, operation: str) -> None:
        if self.remaining[operation] > 0:
            self.remaining[operation] -= 1
            self.throttled += 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation
            )

    def describe_log_groups(self, **kwargs: Any) -> Any:
        self._maybe_throttle("describe_log_groups")
        return self._client.describe_log_groups(**kwargs)

    def put_retention_policy(self, **kwargs: Any) -> Any:
        self._maybe_throttle("put_retention_policy")
        return self._client.put_retention_policy(**kwargs)


def test_throttling_is_retried_with_backoff(logs: Any) -> None:
    throttling = ThrottlingClient(logs, failures=3)
    sleeps: list[float] = []
    backoff = Backoff(max_attempts=5, base_seconds=0.1, max_seconds=0.3)

    result = enforce(throttling, POLICY, backoff=backoff, sleep=sleeps.append)

    assert throttling.throttled == 6
    assert len(sleeps) == 6
    assert all(0 <= s <= 0.3 for s in sleeps)  # bounded by max_seconds
    assert len(result.changed) == GROUPS_WITHOUT_RETENTION + GROUPS_TOO_LONG
    assert not result.failed
    assert all(v is not None for k, v in retention_of(logs).items() if k.startswith("/app/"))


def test_throttling_gives_up_after_max_attempts() -> None:
    calls = []

    def always_throttled() -> None:
        calls.append(1)
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "DescribeLogGroups")

    with pytest.raises(ClientError):
        call_with_backoff(always_throttled, Backoff(max_attempts=4), sleep=lambda _s: None)
    assert len(calls) == 4


def test_other_errors_are_not_retried_and_are_reported(logs: Any) -> None:
    class Denied(ThrottlingClient):
        def put_retention_policy(self, **kwargs: Any) -> Any:
            if kwargs["logGroupName"] == "/app/none-005":
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Put")
            return self._client.put_retention_policy(**kwargs)

    result = enforce(Denied(logs, failures=0), POLICY, backoff=NO_SLEEP)
    assert result.failed == [{"logGroupName": "/app/none-005", "error": "AccessDeniedException"}]
    assert len(result.changed) == GROUPS_WITHOUT_RETENTION + GROUPS_TOO_LONG - 1


def test_stops_early_when_the_invocation_runs_out_of_time(logs: Any) -> None:
    result = enforce(logs, POLICY, backoff=NO_SLEEP, time_left_ms=lambda: 5_000)
    assert not result.complete
    assert result.changed == []


def test_handler_reads_its_policy_from_the_environment_and_logs_a_summary(
    logs: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("RETENTION_DAYS", "14")
    monkeypatch.setenv("MAX_RETENTION_DAYS", "")
    monkeypatch.setenv("EXCLUDE_NAMES", json.dumps(["/audit/trail"]))
    monkeypatch.setenv("EXCLUDE_PREFIXES", json.dumps(["/keep/", "/app/none-"]))
    caplog.set_level("INFO", logger="retention_enforcer")

    returned = handler({}, None, client=logs)

    # Without MAX_RETENTION_DAYS the ceiling is RETENTION_DAYS: 3653-day groups are reset, 7-day kept.
    assert returned["changedCount"] == GROUPS_TOO_LONG
    assert {c["logGroupName"] for c in returned["changed"]} == {
        f"/app/long-{i:03d}" for i in range(GROUPS_TOO_LONG)
    }
    assert retention_of(logs)["/app/long-001"] == 14
    summary = json.loads(caplog.records[-1].getMessage())
    assert summary["event"] == "retention-enforced"
    assert summary["changedCount"] == GROUPS_TOO_LONG


def test_handler_fails_the_invocation_when_a_group_could_not_be_updated(
    logs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DeniedAll(ThrottlingClient):
        def put_retention_policy(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Put")

    monkeypatch.setenv("RETENTION_DAYS", "30")
    with pytest.raises(RuntimeError, match="could not be set"):
        handler({}, None, client=DeniedAll(logs, failures=0))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RETENTION_DAYS": "42"}, "not a CloudWatch retention"),
        ({"RETENTION_DAYS": "30", "MAX_RETENTION_DAYS": "7"}, "at least"),
    ],
)
def test_an_invalid_policy_is_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetentionPolicy.from_environment(env)
