"""Prometheus metrics, one registry per application (so several apps can live in one process)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "caudal_http_requests", "HTTP requests served", ["method", "route", "status"], registry=self.registry
        )
        self.request_seconds = Histogram(
            "caudal_http_request_seconds", "HTTP request latency", ["route"], registry=self.registry
        )
        self.ingested = Counter("caudal_ingested_readings", "Readings stored by ingest", registry=self.registry)
        self.ingest_duplicates = Counter(
            "caudal_ingest_duplicate_readings", "Readings received again and not stored twice", registry=self.registry
        )
        self.ingest_seconds = Histogram(
            "caudal_ingest_seconds",
            "Time to validate and store one ingest batch",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.db_errors = Counter("caudal_database_errors", "Database errors seen by requests", registry=self.registry)

    def add_gauges(
        self, name: str, documentation: str, labels: list[str], sample: Callable[[], Iterable[tuple[list[str], float]]]
    ) -> None:
        """A gauge family computed at scrape time (e.g. alerts by state and severity)."""
        self.registry.register(_CallbackCollector(name, documentation, labels, sample))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _CallbackCollector(Collector):
    def __init__(
        self, name: str, documentation: str, labels: list[str], sample: Callable[[], Iterable[tuple[list[str], float]]]
    ) -> None:
        self.name, self.documentation, self.labels, self.sample = name, documentation, labels, sample

    def collect(self):
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for label_values, value in self.sample():
            family.add_metric(label_values, value)
        yield family


class RequestMetricsMiddleware:
    """Counts requests by route template (not raw path, to keep label cardinality bounded)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            counter, timer = self._children(scope["method"], route, status)
            counter.inc()
            timer.observe(time.perf_counter() - started)

    def _children(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        """The two series of a (method, route, status), looked up once: ``labels()`` checks and
        joins its label values on every call, a visible share of a small batch's request."""
        key = (method, route, status)
        children = self._series.get(key)
        if children is None:
            children = self._series[key] = (
                self.metrics.requests.labels(method, route, str(status)),
                self.metrics.request_seconds.labels(route),
            )
        return children
