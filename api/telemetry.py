"""What the API tells operators: Prometheus metrics and one log line per GraphQL operation.

Metrics live in a registry made with the app (no process-global state); under several API processes set
``PROMETHEUS_MULTIPROC_DIR`` and prometheus-client keeps each process's values in files that ``/metrics``
sums. ``/metrics`` is served only with ``METRICS_ENABLED=true`` and is not behind the API key: expose it
to your Prometheus only.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from strawberry.extensions import SchemaExtension

from domain.classes.events import ClassChangeEvent
from domain.segments.models import SegmentEvent

log = logging.getLogger("crm.requests")

# Operation names are chosen by clients: those of callers with a valid key become labels, up to a bound
# per process (then "other"); without a key a name is anyone's word, so it never becomes a label.
MAX_OPERATION_NAMES = 200
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "crm_api_requests", "GraphQL operations by name and outcome", ["operation", "outcome"], registry=r
        )
        self.seconds = Histogram(
            "crm_api_request_seconds",
            "GraphQL operation duration",
            ["operation"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.cost = Histogram(
            "crm_api_query_cost",
            "Query cost of operations that ran",
            buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 20000),
            registry=r,
        )
        self.rate_limited = Counter("crm_api_rate_limited", "Operations refused by the rate limit", registry=r)
        self.websockets = Gauge(
            "crm_api_websockets_open", "Open GraphQL websockets", registry=r, multiprocess_mode="livesum"
        )
        self.subscriptions = Gauge(
            "crm_api_subscriptions_open", "Live subscriptions", registry=r, multiprocess_mode="livesum"
        )
        self.events = Counter(
            "crm_api_events_delivered", "Events handed to subscriptions, by kind (class, segment)", ["kind"], registry=r
        )
        self.delivery_lag = Histogram(
            "crm_api_event_delivery_lag_seconds",
            "From a change's moment to its event handed to a live subscription",
            buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
            registry=r,
        )
        self._names: set[str] = set()

    def operation_label(self, name: str | None, authenticated: bool) -> str:
        if not authenticated:
            return "unauthenticated"
        if not name:
            return "anonymous"
        if not NAME.fullmatch(name):
            return "other"
        if name not in self._names and len(self._names) >= MAX_OPERATION_NAMES:
            return "other"
        self._names.add(name)
        return name

    def delivered(self, event: ClassChangeEvent | SegmentEvent, now: datetime) -> None:
        self.events.labels("segment" if isinstance(event, SegmentEvent) else "class").inc()
        self.delivery_lag.observe(max((now - event.at).total_seconds(), 0.0))

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class Telemetry(SchemaExtension):
    """Counts, times and logs every operation (HTTP and websocket)."""

    def __init__(self, metrics: ApiMetrics | None = None) -> None:
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        context = self.execution_context
        request: Any = context.context
        result = context.result
        codes = sorted(
            {
                str((error.extensions or {}).get("code") or "INVALID_QUERY")
                for error in (getattr(result, "errors", None) or [])
            }
        )
        outcome = codes[0] if codes else "ok"
        principal = getattr(request, "authenticated", None)
        cost = getattr(request, "query_cost", None)
        if self.metrics is not None:
            # A key revoked since a websocket opened is still set, but its operations are refused.
            authenticated = principal is not None and outcome != "UNAUTHENTICATED"
            name = self.metrics.operation_label(context.operation_name, authenticated)
            self.metrics.requests.labels(name, outcome).inc()
            self.metrics.seconds.labels(name).observe(seconds)
            if cost is not None:
                self.metrics.cost.observe(cost)
            if outcome == "RATE_LIMITED":
                self.metrics.rate_limited.inc()
        log.info(
            "graphql operation",
            extra={
                "request_id": getattr(request, "request_id", None),
                "workspace_id": principal.workspace_id if principal is not None else None,
                "operation": context.operation_name,
                "operation_type": context.operation_type.value if context.operation_type else None,
                "outcome": outcome,
                "cost": cost,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
