"""The CRM worker process: an RQ SimpleWorker bound to a WorkerRuntime, sweeping dirty customers."""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import start_http_server
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job

from domain.config import AppConfig
from domain.logs import configure_logging
from workers.heartbeat import Heartbeat
from workers.runtime import WorkerRuntime
from workers.sweeper import observe_backlog, sweep_dirty_customers

log = logging.getLogger(__name__)


class CrmWorker(SimpleWorker):
    """Runs jobs in-process (no fork: the MongoDB client and event loop are reused across jobs) and
    sweeps on start and every ``sweep_interval`` seconds as part of RQ's maintenance tick."""

    def __init__(self, *args: Any, runtime: WorkerRuntime, sweep_interval: int, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", sweep_interval)
        # Set before RQ's constructor, which already reads dequeue_timeout.
        self.runtime = runtime
        self._sweep_interval = sweep_interval
        super().__init__(*args, **kwargs)

    @property
    def dequeue_timeout(self) -> int:
        # Wake up at least once per sweep interval even when the queue stays empty.
        return self._sweep_interval

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        kind = (job.func_name or "unknown").rsplit(".", 1)[-1]
        started = time.perf_counter()
        with self.runtime.bound():
            succeeded = bool(super().perform_job(job, queue, execution))
        metrics = self.runtime.metrics
        metrics.jobs.labels(kind, "ok" if succeeded else "failed").inc()
        metrics.job_seconds.labels(kind).observe(time.perf_counter() - started)
        return succeeded

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        except RedisError:
            # RQ would let this end the work loop; while Redis restarts we keep going and retry later.
            log.warning("maintenance skipped: Redis unavailable")
            return
        try:
            sweep_dirty_customers(self.runtime)
            observe_backlog(self.runtime, self.queues[0])
        except Exception:
            log.exception("sweep failed; retrying at the next maintenance tick")


def build_worker(runtime: WorkerRuntime, burst_name: str | None = None) -> CrmWorker:
    config = runtime.config
    queue = Queue(config.rq_queue, connection=runtime.redis_sync)
    return CrmWorker(
        [queue],
        connection=runtime.redis_sync,
        runtime=runtime,
        sweep_interval=config.sweep_interval_seconds,
        name=burst_name,
    )


def main() -> None:
    config = AppConfig()
    configure_logging(config.log_format)
    runtime = WorkerRuntime.open(config)
    if config.worker_metrics_port is not None:
        start_http_server(config.worker_metrics_port, registry=runtime.metrics.registry)
    worker = build_worker(runtime)
    runtime.worker_name = worker.name
    heartbeat = Heartbeat(config, worker.name)
    heartbeat.start()
    try:
        worker.work(with_scheduler=False)
    finally:
        heartbeat.stop()
        runtime.close()


if __name__ == "__main__":
    main()
