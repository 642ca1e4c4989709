"""What a row with an order's whole current state does to the stored order (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import ErrorCode, InvalidInput
from domain.orders.inputs import OrderCreate
from domain.orders.models import Order, OrderStatus
from domain.orders.moves import Plan, decide
from domain.validation import validate

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PLACED_AT = NOW - timedelta(days=10)


def stored(status: OrderStatus, refund: int = 0, source_at: datetime | None = None) -> Order:
    return Order(
        id="o1",
        workspace_id="w1",
        customer_id="c1",
        status=status,
        currency="VND",
        total_minor=1_500_000,
        discount_minor=0,
        refund_minor=refund,
        placed_at=PLACED_AT,
        created_at=PLACED_AT,
        updated_at=PLACED_AT,
        external_id="DH-1",
        status_changed_at=source_at or PLACED_AT,
        status_source_at=source_at,
    )


def row(status: str, **fields: Any) -> OrderCreate:
    data = {"customer_id": "c1", "external_id": "DH-1", "total": "1500000", "status": status, **fields}
    return validate(OrderCreate, {"placed_at": PLACED_AT, **data}, currency="VND", now=NOW)


def refused(order: Order, given: OrderCreate) -> tuple[str | None, ErrorCode, str]:
    with pytest.raises(InvalidInput) as raised:
        decide(order, given)
    [error] = raised.value.errors
    return error.field, error.code, error.message


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (OrderStatus.PLACED, "refunded"),  # paid in between: a row shows where the order is now
        (OrderStatus.PLACED, "delivered"),
        (OrderStatus.PAID, "delivered"),
        (OrderStatus.DELIVERED, "refunded"),
    ],
)
def test_a_row_further_along_a_chain_of_allowed_moves_moves_the_order(before: OrderStatus, after: str) -> None:
    decision = decide(stored(before), row(after))
    assert decision.plan is Plan.MOVE and decision.move is not None
    assert decision.move.status == OrderStatus(after)


@pytest.mark.parametrize(
    ("before", "after"),
    [(OrderStatus.DELIVERED, "placed"), (OrderStatus.CANCELLED, "paid"), (OrderStatus.REFUNDED, "delivered")],
)
def test_a_move_no_chain_makes_is_refused_naming_both_states(before: OrderStatus, after: str) -> None:
    field, code, message = refused(
        stored(before, refund=1_500_000 if before is OrderStatus.REFUNDED else 0), row(after)
    )
    assert (field, code) == ("status", ErrorCode.INVALID_TRANSITION)
    assert before.value in message and after in message


def test_the_same_state_is_unchanged_and_a_larger_refund_moves_but_a_smaller_one_is_refused() -> None:
    refunded = stored(OrderStatus.REFUNDED, refund=500_000)
    assert decide(refunded, row("refunded", refund_amount="500000")).plan is Plan.UNCHANGED
    larger = decide(refunded, row("refunded", refund_amount="900000"))
    assert larger.move is not None and larger.move.refund_minor == 900_000
    field, code, message = refused(refunded, row("refunded", refund_amount="200000"))
    assert (field, code) == ("refundAmount", ErrorCode.OUT_OF_RANGE) and "500000" in message
    whole = decide(stored(OrderStatus.PAID), row("refunded"))
    assert whole.move is not None and whole.move.refund_minor == 1_500_000  # no amount: the whole total


def test_an_update_older_than_the_stored_source_moment_is_stale_and_one_without_a_moment_applies() -> None:
    delivered = stored(OrderStatus.DELIVERED, source_at=NOW - timedelta(days=2))
    older = row("refunded", status_changed_at=NOW - timedelta(days=3))
    assert decide(delivered, older).plan is Plan.STALE
    newer = decide(delivered, row("refunded", status_changed_at=NOW - timedelta(days=1)))
    assert newer.move is not None and newer.move.source_at == NOW - timedelta(days=1)
    arrival = decide(delivered, row("refunded"))
    assert arrival.move is not None and arrival.move.source_at is None
    # A stale row is left as it is even when its move would be refused: it is history, not a mistake.
    assert decide(delivered, row("placed", status_changed_at=NOW - timedelta(days=9))).plan is Plan.STALE


def test_a_changed_total_or_customer_is_refused_before_anything_else() -> None:
    order = stored(OrderStatus.PLACED)
    field, code, message = refused(order, row("paid", total="1600000"))
    assert (field, code) == ("total", ErrorCode.NOT_ALLOWED) and "1500000" in message and "1600000" in message
    assert refused(order, row("paid", customer_id="c2"))[:2] == ("customerId", ErrorCode.NOT_ALLOWED)


def test_a_status_moment_before_the_order_was_placed_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        row("paid", status_changed_at=PLACED_AT - timedelta(hours=1))
    [error] = raised.value.errors
    assert (error.field, error.code) == ("statusChangedAt", ErrorCode.OUT_OF_RANGE)
