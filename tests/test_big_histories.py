"""A customer with a long history is read in bounded pieces: its most recent touches, never a reply that
grows with everything it ever did."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.clock import TravellingClock
from domain.config import AppConfig
from domain.interactions.repository import MAX_TOUCHES, InteractionRepository
from tests.conftest import Api, Workspace, create_customer, run_worker
from workers.runtime import WorkerRuntime

CLASSES = "query($id: ID!) { customer(id: $id) { classes { classSet code } } }"


def test_a_rescore_reads_the_most_recent_touches_and_counts_them_all(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock
) -> None:
    customer_id = create_customer(api, shop.admin, name="Hay ghé")
    admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    now = clock.now()
    total = MAX_TOUCHES + 300
    rows: list[dict[str, Any]] = [
        {"customer_id": customer_id, "kind": "visit", "at": now - timedelta(minutes=n)} for n in range(total)
    ]
    for start in range(0, total, 500):
        api.call(lambda chunk=rows[start : start + 500]: api.services.interactions.record_many(admin, chunk))
    runtime = WorkerRuntime.open(config, clock)
    try:
        read = runtime.run(
            InteractionRepository(runtime.db).features_for(shop.id, [customer_id], now - timedelta(days=730))
        )
    finally:
        runtime.close()
    features = read[customer_id]
    assert features.interaction_count == total  # every one is counted
    assert len(features.touches) == MAX_TOUCHES  # only the most recent ones are read
    assert min(at for _, at in features.touches) > now - timedelta(minutes=MAX_TOUCHES)
    run_worker(config, clock)
    classes = api.ok(CLASSES, {"id": customer_id}, shop.admin)["customer"]["classes"]
    assert {"classSet": "lead_tier", "code": "hot"} in classes
