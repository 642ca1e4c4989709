"""What a worker tells operators, as Prometheus metrics on its own port (``WORKER_METRICS_PORT``).

The registry belongs to the worker's runtime (no process-global state); jobs and the sweeper update it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs = Counter("crm_worker_jobs", "Jobs run, by kind and outcome", ["job", "outcome"], registry=r)
        self.job_seconds = Histogram(
            "crm_worker_job_seconds",
            "Job duration by kind",
            ["job"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
            registry=r,
        )
        self.customers_rescored = Counter("crm_worker_customers_rescored", "Customers scored by jobs", registry=r)
        self.class_events = Counter("crm_worker_class_events", "Class changes written to the ledger", registry=r)
        self.queue_depth = Gauge("crm_worker_queue_depth", "Jobs waiting in the RQ queue", registry=r)
        self.dirty_backlog = Gauge("crm_worker_dirty_customers", "Customers waiting to be rescored", registry=r)
        self.oldest_dirty = Gauge(
            "crm_worker_oldest_dirty_seconds", "How long the longest-waiting dirty customer has waited", registry=r
        )
        self.run_batches_pending = Gauge(
            "crm_worker_run_batches_pending", "Scoring-run batches not yet done (all active runs)", registry=r
        )
        self.failed_runs = Gauge("crm_worker_failed_runs", "Scoring runs that failed in the last day", registry=r)
        self.stalled_imports = Gauge(
            "crm_worker_stalled_imports", "Imports queued or running that have not advanced for 15 minutes", registry=r
        )
