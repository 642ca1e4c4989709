"""What operators see: Prometheus metrics from the API and the worker, and one log line per operation
(JSON lines by default) that never carries an API key."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from rq import Queue
from starlette.testclient import TestClient

from api.app import create_app
from api.telemetry import MAX_OPERATION_NAMES
from domain.config import AppConfig
from domain.logs import log_handler
from tests.conftest import Api, Workspace, create_customer
from workers.runtime import WorkerRuntime
from workers.sweeper import observe_backlog
from workers.worker import build_worker


def _metric(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {sample} in /metrics")


def test_api_metrics_count_operations_by_name_and_outcome(shop: Workspace, config: AppConfig) -> None:
    with TestClient(create_app(config.model_copy(update={"metrics_enabled": True}))) as client:
        headers = {"Authorization": f"Bearer {shop.admin}"}
        for _ in range(3):
            client.post("/graphql", json={"query": "query Dashboard { classSets { key } }"}, headers=headers)
        client.post("/graphql", json={"query": "query Dashboard { classSets { key } }"})  # no key
        page = client.get("/metrics")  # not behind the API key
        assert page.status_code == 200
        text = page.text
        assert _metric(text, 'crm_api_requests_total{operation="Dashboard",outcome="ok"}') == 3
        # Without a key, the name is the client's word only: counted, but not as a label of its own.
        assert _metric(text, 'crm_api_requests_total{operation="unauthenticated",outcome="UNAUTHENTICATED"}') == 1
        assert _metric(text, 'crm_api_request_seconds_count{operation="Dashboard"}') == 3
        assert _metric(text, "crm_api_query_cost_count") == 4
        assert _metric(text, "crm_api_subscriptions_open") == 0
    with TestClient(create_app(config)) as client:
        assert client.get("/metrics").status_code == 404  # off unless enabled


def _operation_labels(text: str) -> set[str]:
    return set(re.findall(r'crm_api_requests_total\{operation="([^"]*)"', text))


def test_callers_without_a_key_cannot_take_the_operation_labels(shop: Workspace, config: AppConfig) -> None:
    with TestClient(create_app(config.model_copy(update={"metrics_enabled": True}))) as client:
        for number in range(MAX_OPERATION_NAMES + 20):
            client.post("/graphql", json={"query": f"query Lan_0912345{number:03d} {{ classSets {{ key }} }}"})
        headers = {"Authorization": f"Bearer {shop.admin}"}
        client.post("/graphql", json={"query": "query Dashboard { classSets { key } }"}, headers=headers)
        text = client.get("/metrics").text
        assert _operation_labels(text) == {"unauthenticated", "Dashboard"}
        assert _metric(text, 'crm_api_requests_total{operation="unauthenticated",outcome="UNAUTHENTICATED"}') == 220
        # With a key, names are labels up to the bound; past it they count as "other".
        for number in range(MAX_OPERATION_NAMES + 20):
            client.post("/graphql", json={"query": f"query Screen{number} {{ classSets {{ key }} }}"}, headers=headers)
        labels = _operation_labels(client.get("/metrics").text)
        assert len(labels - {"unauthenticated", "other"}) == MAX_OPERATION_NAMES and "other" in labels


def test_each_operation_logs_one_line_with_its_request_and_no_key(
    api: Api, shop: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="crm.requests"):
        api.ok("query Lists { customers { totalCount } }", None, shop.admin)
    [record] = [r for r in caplog.records if r.name == "crm.requests"]
    fields = vars(record)
    assert (fields["operation"], fields["outcome"], fields["workspace_id"]) == ("Lists", "ok", shop.id)
    assert fields["request_id"] and fields["duration_ms"] >= 0 and fields["cost"] >= 1
    assert shop.admin not in caplog.text

    stream = io.StringIO()
    handler = log_handler("json", stream)
    handler.handle(record)
    line = json.loads(stream.getvalue())
    assert (line["level"], line["logger"], line["message"], line["operation"]) == (
        "INFO",
        "crm.requests",
        "graphql operation",
        "Lists",
    )
    assert shop.admin not in stream.getvalue()


def test_worker_metrics_count_jobs_customers_and_the_backlog(api: Api, shop: Workspace, config: AppConfig) -> None:
    for i in range(3):
        create_customer(api, shop.admin, name=f"Khách {i}")
    runtime = WorkerRuntime.open(config)
    try:
        queue = Queue(config.rq_queue, connection=runtime.redis_sync)
        observe_backlog(runtime, queue)
        registry = runtime.metrics.registry
        assert registry.get_sample_value("crm_worker_dirty_customers") == 3
        assert (registry.get_sample_value("crm_worker_oldest_dirty_seconds") or 0) > 0
        assert registry.get_sample_value("crm_worker_queue_depth") == len(queue) >= 1
        build_worker(runtime).work(burst=True)
        observe_backlog(runtime, queue)
        sample = {"job": "rescore_workspace", "outcome": "ok"}
        assert (registry.get_sample_value("crm_worker_jobs_total", sample) or 0) >= 1
        assert registry.get_sample_value("crm_worker_customers_rescored_total") == 3
        assert registry.get_sample_value("crm_worker_dirty_customers") == 0
        assert registry.get_sample_value("crm_worker_queue_depth") == 0
    finally:
        runtime.close()
