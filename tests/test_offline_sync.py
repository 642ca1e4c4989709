"""Offline-first sync: a phone that catches up with customers ordered by CHANGED (a cursor that stays
correct while others write) and tombstones for deleted customers, ends with exactly the server's data,
even while writes go on during its sync."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, add_key, create_customer, make_workspace, run_worker

SETTLE = 0.3
CHANGES = """query($after: String, $since: DateTime) {
  customers(first: 7, after: $after, filter: {updatedSince: $since}, orderBy: {field: CHANGED, direction: ASC}) {
    edges { cursor node { id name city changedAt } } pageInfo { hasNextPage endCursor } } }"""
DELETED = """query($after: String) { deletedCustomers(first: 5, after: $after) { id deletedAt cursor } }"""


@pytest.fixture
def sync_api(config: AppConfig) -> Iterator[Api]:
    with TestClient(create_app(config.model_copy(update={"sync_settle_seconds": SETTLE}))) as client:
        yield Api(client)


class Phone:
    """A sales app's local copy: customers by id, and where each list was read up to."""

    def __init__(self, api: Api, token: str) -> None:
        self.api, self.token = api, token
        self.customers: dict[str, dict[str, Any]] = {}
        self.changes_after: str | None = None
        self.deletions_after: str | None = None
        self.requests = 0

    def sync(self) -> None:
        while True:
            self.requests += 1
            page = self.api.ok(CHANGES, {"after": self.changes_after}, self.token)["customers"]
            for edge in page["edges"]:
                self.customers[edge["node"]["id"]] = edge["node"]
                self.changes_after = edge["cursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
        while True:
            self.requests += 1
            deleted = self.api.ok(DELETED, {"after": self.deletions_after}, self.token)["deletedCustomers"]
            for tombstone in deleted:
                self.customers.pop(tombstone["id"], None)
                self.deletions_after = tombstone["cursor"]
            if len(deleted) < 5:
                break


def _server(api: Api, token: str) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
    after = None
    while True:
        page = api.ok(
            "query($after: String) { customers(first: 100, after: $after) { edges { node { id name city } } "
            "pageInfo { hasNextPage endCursor } } }",
            {"after": after},
            token,
        )["customers"]
        found |= {e["node"]["id"]: (e["node"]["name"], e["node"]["city"]) for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _local(phone: Phone) -> dict[str, tuple[str, str | None]]:
    return {cid: (c["name"], c["city"]) for cid, c in phone.customers.items()}


def test_a_phone_catches_up_with_every_change_and_deletion_while_others_write(sync_api: Api, config: AppConfig) -> None:
    api = sync_api
    shop = make_workspace(api)
    ids = [create_customer(api, shop.admin, name=f"Khách {i}", city="Huế") for i in range(20)]
    time.sleep(SETTLE)
    phone = Phone(api, shop.admin)
    phone.sync()
    assert _local(phone) == _server(api, shop.admin)
    offline_requests = phone.requests

    stop = threading.Event()
    update = "mutation($id: ID!, $c: String) { updateCustomer(id: $id, input: {city: $c}) { errors { code } } }"
    delete = "mutation($id: ID!) { deleteCustomer(id: $id) { errors { code } } }"

    def writer() -> None:
        for round_ in range(6):
            for customer_id in ids[round_::6]:
                api.ok(update, {"id": customer_id, "c": f"Đà Nẵng {round_}"}, shop.admin)
            ids.append(create_customer(api, shop.admin, name=f"Mới {round_}", city="Hà Nội"))
            api.ok(delete, {"id": ids.pop(round_)}, shop.admin)
        stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not stop.is_set():  # the phone syncs again and again while the writes go on
        phone.sync()
    thread.join()
    run_worker(config)  # the rescores change classes and stats: changes too
    time.sleep(SETTLE)
    phone.sync()
    assert _local(phone) == _server(api, shop.admin)
    assert offline_requests <= 6  # 20 customers, pages of 7, and the deletions list


def test_updated_since_and_a_sales_key_sees_its_own_changes_and_deletions(sync_api: Api, config: AppConfig) -> None:
    api = sync_api
    shop = make_workspace(api)
    seller_id, seller = add_key(api, shop, Role.SALES, "Lan")
    mine = create_customer(api, seller, name="Của Lan")
    theirs = create_customer(api, shop.admin, name="Của shop")
    time.sleep(SETTLE)
    first = api.ok(CHANGES, {}, seller)["customers"]["edges"]
    assert [edge["node"]["id"] for edge in first] == [mine]
    since = first[0]["node"]["changedAt"]
    for customer_id in (mine, theirs):
        api.ok("mutation($id: ID!) { deleteCustomer(id: $id) { errors { code } } }", {"id": customer_id}, shop.admin)
    time.sleep(SETTLE)
    assert [t["id"] for t in api.ok(DELETED, {}, seller)["deletedCustomers"]] == [mine]
    assert {t["id"] for t in api.ok(DELETED, {}, shop.admin)["deletedCustomers"]} == {mine, theirs}
    later = create_customer(api, seller, name="Sau đó")
    time.sleep(SETTLE)
    changed = api.ok(CHANGES, {"since": since}, seller)["customers"]["edges"]
    assert [edge["node"]["id"] for edge in changed] == [later]
    assert seller_id


def test_a_customer_moved_to_another_owner_leaves_the_previous_owners_phone(sync_api: Api, config: AppConfig) -> None:
    api = sync_api
    shop = make_workspace(api)
    lan_id, lan = add_key(api, shop, Role.SALES, "Lan")
    minh_id, minh = add_key(api, shop, Role.SALES, "Minh")
    moved = create_customer(api, lan, name="Chuyển đi", phone="0912345678")
    kept = create_customer(api, lan, name="Ở lại")
    lans_phone, minhs_phone = Phone(api, lan), Phone(api, minh)
    time.sleep(SETTLE)
    lans_phone.sync()
    assert set(lans_phone.customers) == {moved, kept}
    reassign = "mutation($id: ID!, $to: ID) { updateCustomer(id: $id, input: {ownerId: $to}) { errors { code } } }"
    api.ok(reassign, {"id": moved, "to": minh_id}, shop.admin)
    time.sleep(SETTLE)
    lans_phone.sync()
    minhs_phone.sync()
    assert set(lans_phone.customers) == {kept}  # gone from Lan's phone, with its personal data
    assert set(minhs_phone.customers) == {moved}
    reasons = {t["id"]: t["reason"] for t in api.ok(DELETED_WITH_REASON, {}, lan)["deletedCustomers"]}
    assert reasons == {moved: "REASSIGNED"}
    # The workspace's own keys still see the customer: for them it left nobody's view.
    assert api.ok(DELETED_WITH_REASON, {}, shop.admin)["deletedCustomers"] == []
    api.ok(reassign, {"id": moved, "to": lan_id}, shop.admin)  # and back again: a change for Lan once more
    time.sleep(SETTLE)
    lans_phone.sync()
    assert set(lans_phone.customers) == {moved, kept}


DELETED_WITH_REASON = """query { deletedCustomers(first: 5) { id reason } }"""
