"""A scoring run's database work per batch is constant: a batch of hundreds costs the commands of a batch
of one, and a batch with nothing to change writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rq import Queue

from domain.config import AppConfig
from tests.conftest import Api, CommandCounter, Workspace, run_worker
from workers.runtime import WorkerRuntime

# More than a cursor's default first batch (101 documents), so a batch that pages through its reads shows.
BATCH = 150


@pytest.fixture
def config(config: AppConfig) -> AppConfig:
    return config.model_copy(update={"scoring_batch_size": BATCH})


@pytest.fixture
def runtime(config: AppConfig) -> Iterator[WorkerRuntime]:
    runtime = WorkerRuntime.open(config)
    yield runtime
    runtime.close()


def test_a_batch_with_nothing_to_change_costs_a_constant_handful_of_commands_and_writes_nothing(
    api: Api, shop: Workspace, config: AppConfig, runtime: WorkerRuntime, commands: CommandCounter, redis_client: object
) -> None:
    admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    rows = [{"name": f"Khách {i}", "city": "Hà Nội"} for i in range(BATCH + 1)]
    customers = api.call(lambda: api.services.customers.create_many(admin, rows))
    orders = [
        {"customer_id": c.id, "status": "paid", "total": "6000000", "external_id": f"o{i}"}
        for i, c in enumerate(customers[::3])
    ]
    api.call(lambda: api.services.orders.record_many(admin, orders))
    run_worker(config)  # every customer scored: the run below has nothing to change
    run = runtime.run(runtime.runs.start(admin))
    Queue(config.rq_queue, connection=redis_client).empty()  # type: ignore[no-untyped-call, arg-type]
    runtime.run(runtime.runs.plan(run.id))
    counted = []
    for number in (0, 1):  # BATCH customers, then 1
        with commands.counting() as batch:
            runtime.run(runtime.run_batches.run_batch(run.id, number))
        counted.append(batch.by_command)
    big, small = counted
    small["update"] -= 1  # the last batch also marks the run COMPLETED
    assert big == small, counted
    # The run and the batch, the workspace, the customers, their orders (2) and interactions, the batch's
    # outcome, the run's unfinished batches: nothing per customer, nothing written for them.
    assert big.total() <= 9 and big["update"] == 1, big
