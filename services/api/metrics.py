"""The API process's metrics, in the Prometheus text format (``GET /metrics``, admin key).

Counted as things happen: requests by route and status with their latency, appends to the
event store and their latency, NATS reconnections, how long builds and programming took and
how far behind the views were when an event reached them. Read from the views at each scrape:
boards by state and by health, jobs by status, the waiting list's length.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from events.types import BoardEvent, BuildSucceeded, Programmed, ProgrammingStarted
from projections.runner import ProjectionRunner

#: The Prometheus text format's content type.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_BUILD = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)


class ViewsCollector(Collector):
    """What the views hold now: boards by state and health, jobs by status, the line."""

    def __init__(self, runner: ProjectionRunner) -> None:
        self._runner = runner

    def collect(self) -> Iterator[GaugeMetricFamily]:
        views = self._runner.views
        states = GaugeMetricFamily("fpga_boards", "Boards by state.", labels=["state"])
        for state, n in sorted(Counter(b.state for b in views.boards.values()).items()):
            states.add_metric([state], n)
        health = GaugeMetricFamily("fpga_boards_health", "Boards by health.", labels=["health"])
        for name, n in sorted(Counter(b.health for b in views.boards.values()).items()):
            health.add_metric([name], n)
        jobs = GaugeMetricFamily("fpga_jobs", "Jobs by status.", labels=["status"])
        for status, n in sorted(Counter(j.status for j in views.jobs.values()).items()):
            jobs.add_metric([status], n)
        waiting = GaugeMetricFamily("fpga_waiting_jobs", "Jobs waiting for any board.")
        waiting.add_metric([], len(views.waiting.jobs))
        applied = GaugeMetricFamily("fpga_views_applied_seq", "Last stream sequence folded.")
        applied.add_metric([], views.applied_seq)
        yield from (states, health, jobs, waiting, applied)


class ApiMetrics:
    """One API process's metrics (its own registry, so several apps may share a process)."""

    def __init__(self, runner: ProjectionRunner) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = PromCounter(
            "fpga_http_requests", "HTTP requests by route, method and status.",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "fpga_http_request_seconds", "HTTP request latency by route.", ["route", "method"],
            buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.appends = Histogram(
            "fpga_append_seconds", "Appends to the event store (decide, append, acknowledged).",
            buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.reconnects = PromCounter("fpga_nats_reconnects", "Reconnections to NATS.", registry=r)
        self.lag = Histogram(
            "fpga_projection_lag_seconds", "From an event's time to the views folding it.",
            buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.builds = Histogram(
            "fpga_build_seconds", "Build durations (BuildSucceeded).", buckets=_BUILD, registry=r
        )
        self.programming = Histogram(
            "fpga_programming_seconds", "From ProgrammingStarted to Programmed.",
            buckets=_BUILD, registry=r,
        )  # fmt: skip
        r.register(ViewsCollector(runner))
        self._programming_since: dict[int, datetime] = {}
        self._by_answer: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        runner.add_listener(self._on_event)

    def text(self) -> bytes:
        return generate_latest(self.registry)

    def _on_event(self, seq: int, event: BoardEvent) -> None:
        self.lag.observe(max(0.0, (datetime.now(UTC) - event.occurred_at).total_seconds()))
        match event:
            case BuildSucceeded(duration_s=took, cache_hit=False):
                self.builds.observe(took)
            case ProgrammingStarted(fpga_id=fpga_id):
                self._programming_since[fpga_id] = event.occurred_at
            case Programmed(fpga_id=fpga_id) if fpga_id in self._programming_since:
                since = self._programming_since.pop(fpga_id)
                self.programming.observe((event.occurred_at - since).total_seconds())

    def _series(self, route: str, method: str, status: int) -> tuple[Any, Any]:
        """The request counter's and the latency histogram's series for one kind of answer,
        looked up once (a label look-up per request costs more than the count itself). A method
        the API does not serve is counted as ``other``, so a client cannot mint series."""
        shown = method if method in _METHODS else "other"
        key = (route, shown, status)
        found = self._by_answer.get(key)
        if found is None:
            found = self._by_answer[key] = (
                self.requests.labels(route, shown, str(status)),
                self.latency.labels(route, shown),
            )
        return found

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Count every HTTP request by its route's template and answer status."""

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                count, latency = self._series(_route(scope), scope.get("method", ""), status)
                count.inc()
                latency.observe(time.perf_counter() - started)

        return counted


def _route(scope: Scope) -> str:
    template: Any = scope.get("path_template")
    return str(template) if template else "unmatched"
