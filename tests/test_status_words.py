"""A shop's own status words for its order files, over the platforms' built-in ones."""

from __future__ import annotations

from typing import Any

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, run_worker
from tests.test_csv_import import _job, _upload

SET_WORDS = """mutation($words: [OrderStatusWordInput!]!) { setOrderStatusWords(words: $words) {
  words { word status shopsOwn } errors { field code message } } }"""
WORDS = "{ orderStatusWords { word status shopsOwn } }"


def _set(api: Api, token: str, words: list[dict[str, str]]) -> dict[str, Any]:
    body = api.gql(SET_WORDS, {"words": words}, token)
    assert "errors" not in body, body
    return body["data"]["setOrderStatusWords"]  # type: ignore[no-any-return]


def test_a_shops_own_words_read_as_its_statuses_over_the_built_in_ones(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    words = [{"word": "Khách đã nhận", "status": "DELIVERED"}, {"word": "Đã thanh toán", "status": "PLACED"}]
    assert _set(api, shop.admin, words)["errors"] == []
    _, viewer = add_key(api, shop, Role.VIEWER)
    known = api.ok(WORDS, None, viewer)["orderStatusWords"]
    assert known[:2] == [{"word": "Khách đã nhận", "status": "DELIVERED", "shopsOwn": True},
                         {"word": "Đã thanh toán", "status": "PLACED", "shopsOwn": True}]  # fmt: skip
    assert {"word": "đã thanh toán", "status": "PAID", "shopsOwn": False} not in known  # overridden
    assert {"word": "已付款", "status": "PAID", "shopsOwn": False} in known

    _upload(api, shop.admin, "customers", "external_id,name\nKH-1,Nguyễn Thị Lan\n")
    run_worker(config)
    orders = (
        "external_id,customer_external_id,status,total\n"
        "DH-1,KH-1,KHÁCH ĐÃ NHẬN,100000\n"  # compared as headers are: case and accents aside
        "DH-2,KH-1,đã thanh toán,200000\n"
        "DH-3,KH-1,已付款,300000\n"
        "DH-4,KH-1,đã bay,400000\n"
    )
    started = _upload(api, shop.admin, "orders", orders)
    run_worker(config)
    job = _job(api, shop.admin, started["id"])
    assert (job["imported"], job["failed"]) == (3, 1)
    [refusal] = job["errors"]
    assert (refusal["row"], refusal["column"], refusal["code"]) == (5, "status", "INVALID_FORMAT")
    assert "Khách đã nhận" in refusal["message"] and "placed" in refusal["message"]
    query = "{ customers(first: 1) { edges { node { orders(first: 5) { externalId status } } } } }"
    stored = api.ok(query, None, shop.admin)["customers"]["edges"][0]["node"]["orders"]
    assert {o["externalId"]: o["status"] for o in stored} == {"DH-1": "DELIVERED", "DH-2": "PLACED", "DH-3": "PAID"}


def test_only_an_admin_sets_the_words_and_one_word_cannot_mean_two_statuses(api: Api, shop: Workspace) -> None:
    _, ops = add_key(api, shop, Role.OPS)
    body = api.gql(SET_WORDS, {"words": [{"word": "Xong", "status": "DELIVERED"}]}, ops)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    clash = [{"word": "Đã nhận", "status": "DELIVERED"}, {"word": "da nhan", "status": "PAID"}]
    [error] = _set(api, shop.admin, clash)["errors"]
    assert error["code"] == "DUPLICATE_WORD" and "Đã nhận" in error["message"] and "da nhan" in error["message"]
    assert _set(api, shop.admin, [{"word": " ", "status": "PAID"}])["errors"][0]["field"] == "words.0.word"
    assert all(not w["shopsOwn"] for w in api.ok(WORDS, None, shop.admin)["orderStatusWords"])  # nothing stored
