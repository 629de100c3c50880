"""Metric gates for canary steps and the bake after a swap: Azure Monitor platform metrics of App Service.

Read with ``azure-mgmt-monitor`` (``MonitorManagementClient.metrics.list``, the ``Microsoft.Insights/metrics``
API) for the production site (``.../sites/{app}``) and the staging slot (``.../sites/{app}/slots/{slot}``):
App Service publishes its metrics per slot (Azure Monitor "Supported metrics for Microsoft.Web/sites" and
"Microsoft.Web/sites/slots"):

* ``Requests`` (Count, aggregation Total) and ``Http5xx`` (Count, Total): the 5xx rate;
* ``HttpResponseTime`` (Seconds, Average; Azure offers no percentile for this platform metric, so the
  latency figure is the 95th percentile of the one-minute averages);
* ``HealthCheckStatus`` (Average; the share of instances passing App Service's health check, 0-100).

A gate compares the candidate with a baseline (production's own traffic in the same window during a canary,
production's window before the swap during a bake) and breaches on too little traffic to judge, a 5xx rate
above the baseline plus a margin or above an absolute ceiling, a slower p95 beyond a ratio, or an unhealthy
instance.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

METRIC_NAMES = ("Requests", "Http5xx", "HttpResponseTime", "HealthCheckStatus")


@dataclass(frozen=True)
class GateThresholds:
    """When a candidate's metrics breach. Defaults are documented in docs/app-service.md.

    :param min_requests: fewest candidate requests in a window for a verdict; fewer is a breach (a canary
        that saw no traffic proved nothing).
    :param max_5xx_rate: absolute ceiling of the candidate's 5xx share (0-1).
    :param max_5xx_increase: most the candidate's 5xx share may exceed the baseline's (0-1).
    :param max_latency_ratio: most the candidate's p95 response time may be, as a multiple of the baseline's.
    :param latency_slack: seconds of p95 difference always tolerated (noise on fast apps).
    :param min_health: lowest ``HealthCheckStatus`` average (percent) in any minute.
    """

    min_requests: int = 50
    max_5xx_rate: float = 0.05
    max_5xx_increase: float = 0.01
    max_latency_ratio: float = 1.5
    latency_slack: float = 0.1
    min_health: float = 100.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_requests <= 1_000_000:
            raise ValueError("min requests must be between 0 and 1000000")
        for name in ("max_5xx_rate", "max_5xx_increase"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= 1):
                raise ValueError(f"{name.replace('_', ' ')} must be a share between 0 and 1")
        if not (math.isfinite(self.max_latency_ratio) and 1 <= self.max_latency_ratio <= 100):
            raise ValueError("max latency ratio must be between 1 and 100")
        if not (math.isfinite(self.latency_slack) and 0 <= self.latency_slack <= 60):
            raise ValueError("latency slack must be between 0 and 60 seconds")
        if not (math.isfinite(self.min_health) and 0 <= self.min_health <= 100):
            raise ValueError("min health must be between 0 and 100")


@dataclass(frozen=True)
class WindowMetrics:
    """One resource's metrics over one window."""

    requests: float
    errors: float
    p95_latency: float | None
    min_health: float | None

    @property
    def error_rate(self) -> float:
        """5xx share of the requests (0 without requests)."""
        return self.errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        latency = f"{self.p95_latency:.3f}s" if self.p95_latency is not None else "n/a"
        health = f"{self.min_health:g}%" if self.min_health is not None else "n/a"
        return (
            f"{self.requests:g} requests, 5xx {self.error_rate:.2%}, p95 latency {latency}, health {health}"
        )


def p95(values: Sequence[float]) -> float | None:
    """Nearest-rank 95th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def breaches(candidate: WindowMetrics, baseline: WindowMetrics, limits: GateThresholds) -> list[str]:
    """Why the candidate fails the gate (empty when it passes)."""
    found: list[str] = []
    if candidate.requests < limits.min_requests:
        found.append(f"only {candidate.requests:g} requests (at least {limits.min_requests} needed to judge)")
    rate, base_rate = candidate.error_rate, baseline.error_rate
    if rate > limits.max_5xx_rate:
        found.append(f"5xx rate {rate:.2%} above the ceiling {limits.max_5xx_rate:.2%}")
    elif rate > base_rate + limits.max_5xx_increase:
        found.append(
            f"5xx rate {rate:.2%} above the baseline {base_rate:.2%} + {limits.max_5xx_increase:.2%}"
        )
    if candidate.p95_latency is not None and baseline.p95_latency is not None:
        allowed = max(
            baseline.p95_latency * limits.max_latency_ratio, baseline.p95_latency + limits.latency_slack
        )
        if candidate.p95_latency > allowed:
            found.append(
                f"p95 latency {candidate.p95_latency:.3f}s above {allowed:.3f}s "
                f"(baseline {baseline.p95_latency:.3f}s x {limits.max_latency_ratio:g})"
            )
    if candidate.min_health is not None and candidate.min_health < limits.min_health:
        found.append(f"health check status {candidate.min_health:g}% below {limits.min_health:g}%")
    return found


MetricsReader = Callable[[str, float, float], WindowMetrics]
"""``read(resource_id, start_epoch, end_epoch)``: one resource's metrics over a window."""


def iso(epoch: float) -> str:
    """UTC ISO 8601 (what the metrics API's ``timespan`` takes)."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def monitor_reader(client: Any) -> MetricsReader:
    """A :data:`MetricsReader` over ``MonitorManagementClient.metrics.list`` (one call per window)."""

    def read(resource_id: str, start: float, end: float) -> WindowMetrics:
        response = client.metrics.list(
            # The operation's URL template is "/{resourceUri}/providers/Microsoft.Insights/metrics".
            resource_id.lstrip("/"),
            timespan=f"{iso(start)}/{iso(end)}",
            interval="PT1M",
            metricnames=",".join(METRIC_NAMES),
            aggregation="Total,Average",
        )
        series: dict[str, list[Any]] = {}
        for metric in response.value or []:
            points: list[Any] = []
            for element in metric.timeseries or []:
                points.extend(element.data or [])
            series[metric.name.value if metric.name else ""] = points

        def totals(name: str) -> float:
            return sum(p.total or 0.0 for p in series.get(name, []))

        def averages(name: str) -> list[float]:
            return [p.average for p in series.get(name, []) if p.average is not None]

        health = averages("HealthCheckStatus")
        return WindowMetrics(
            requests=totals("Requests"),
            errors=totals("Http5xx"),
            p95_latency=p95(averages("HttpResponseTime")),
            min_health=min(health) if health else None,
        )

    return read
