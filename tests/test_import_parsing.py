"""Reading spreadsheet exports (pure): amounts and dates as Vietnamese and Chinese shops write them,
separators, header names, templates."""

from __future__ import annotations

import pytest

from domain.imports.kinds import COLUMNS, ImportKind, template
from domain.imports.order_statuses import order_status
from domain.imports.parsing import BadValue, amount, column_key, day, delimiter_of, moment, text_list


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("1500000", "1500000"),
        ("1.500.000", "1500000"),
        ("1.500.000 đ", "1500000"),
        ("1,500,000", "1500000"),
        ("1 500 000 VND", "1500000"),
        ("₫2.000.000", "2000000"),
        ("¥1,200.50", "1200.50"),
        ("1.200,50", "1200.50"),
        ("12,5", "12.5"),
        ("99.9", "99.9"),
        ("-300", "-300"),
    ],
)
def test_amounts(written: str, read: str) -> None:
    assert amount(written) == read


@pytest.mark.parametrize("written", ["", "abc", "1.2.3,4,5", "đ"])
def test_unreadable_amounts(written: str) -> None:
    with pytest.raises(BadValue):
        amount(written)


def test_dates_and_moments() -> None:
    assert day("15/03/1990") == day("1990-03-15") == day("15-03-1990") == day("15.03.1990") == "1990-03-15"
    assert day("1990年3月15日") == "1990-03-15"
    assert moment("31/10/2026 14:30") == "2026-10-31T14:30:00"
    assert moment("2026-10-31T14:30:00+07:00") == "2026-10-31T14:30:00+07:00"
    with pytest.raises(BadValue):
        day("31/02/2026")


def test_separators_headers_and_lists() -> None:
    assert delimiter_of("external_id;name;phone\n") == ";"
    assert delimiter_of("external_id,name,phone\n") == ","
    assert delimiter_of("external_id\tname\n") == "\t"
    assert column_key(" External ID ") == "external_id" and column_key("Birth-Date") == "birth_date"
    assert text_list("vip| zalo ,sỉ") == ["vip", "zalo", "sỉ"]


def test_templates_name_every_column_with_an_example_row() -> None:
    for kind in ImportKind:
        lines = template(kind).removeprefix("\ufeff").splitlines()
        assert lines[0].split(",") == [column.name for column in COLUMNS[kind]]
        assert len(lines) == 2


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("paid", "paid"),
        ("DELIVERED", "delivered"),
        ("Hoàn thành", "delivered"),
        ("Đã giao", "delivered"),
        ("đã giao hàng", "delivered"),
        ("Đã hủy", "cancelled"),
        ("đã huỷ", "cancelled"),  # the other place of the tone mark
        ("DA HUY", "cancelled"),
        ("Trả hàng/Hoàn tiền", "refunded"),
        ("Chờ xác nhận", "placed"),
        ("Đang giao", "placed"),  # cash on delivery: not paid yet
        ("已付款", "paid"),
        ("待发货", "paid"),  # paid, waiting to ship
        ("已签收", "delivered"),
        ("交易关闭", "cancelled"),
        ("已退款", "refunded"),
    ],
)
def test_order_statuses_are_read_as_shops_platforms_write_them(written: str, read: str) -> None:
    assert order_status(written) == read


def test_an_unknown_status_word_says_which_words_are_known() -> None:
    with pytest.raises(BadValue) as refused:
        order_status("đã bay")
    assert all(status in str(refused.value) for status in ("placed", "paid", "delivered", "cancelled", "refunded"))
    assert "Đã giao" in str(refused.value)
