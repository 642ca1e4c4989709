"""What a row carrying an order's whole current state does to the stored order: move it, leave it, or be
refused. Pure: the service reads the orders, decides here for the whole batch, then writes once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.errors import ErrorCode, FieldError, InvalidInput
from domain.money import minor_digits, to_minor
from domain.orders.inputs import OrderCreate
from domain.orders.models import ALLOWED_TRANSITIONS, Order, OrderStatus


class Plan(StrEnum):
    MOVE = "move"
    UNCHANGED = "unchanged"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Move:
    """The stored order as read, and the state the row brings it to."""

    order: Order
    status: OrderStatus
    refund_minor: int
    # When the source says the order reached this state; None: it did not say (arrival order decides).
    source_at: datetime | None


@dataclass(frozen=True, slots=True)
class Decision:
    plan: Plan
    move: Move | None = None


def decide(order: Order, given: OrderCreate) -> Decision:
    """The stored ``order`` against the state ``given`` shows. Raises InvalidInput for a row that may not
    apply: another customer or total (facts of the sale), a move no chain of allowed transitions makes
    (delivered back to placed, anything out of cancelled), a refund that shrinks."""
    _same_sale(order, given)
    known, said = order.status_source_at, given.status_changed_at
    if known is not None and said is not None and said < known:
        return Decision(Plan.STALE)
    refunded = given.status is OrderStatus.REFUNDED
    refund = to_minor(given.refunded_total(), order.currency) if refunded else order.refund_minor
    if given.status == order.status and refund == order.refund_minor:
        return Decision(Plan.UNCHANGED)
    if given.status not in REACHABLE[order.status]:
        message = f"an order that is {order.status.value} cannot become {given.status.value}"
        raise InvalidInput.one("status", ErrorCode.INVALID_TRANSITION, message)
    if refund < order.refund_minor:
        message = f"the refunded total cannot shrink: {_amount(order.refund_minor, order)} is refunded already"
        raise InvalidInput.one("refundAmount", ErrorCode.OUT_OF_RANGE, message)
    return Decision(Plan.MOVE, Move(order, given.status, refund, given.status_changed_at))


def stale_warning(order: Order, given: OrderCreate) -> FieldError:
    known = order.status_source_at.isoformat() if order.status_source_at else "?"
    said = given.status_changed_at.isoformat() if given.status_changed_at else "?"
    message = (
        f"the order was {order.status.value} at {known}, later than this update's {given.status.value} at {said}: "
        "left as it is"
    )
    return FieldError("statusChangedAt", ErrorCode.STALE_UPDATE, message)


def _reachable_from(status: OrderStatus) -> frozenset[OrderStatus]:
    found: set[OrderStatus] = set()
    frontier = set(ALLOWED_TRANSITIONS[status])
    while frontier:
        step = frontier.pop()
        if step not in found:
            found.add(step)
            frontier |= ALLOWED_TRANSITIONS[step]
    return frozenset(found)


# Every status a chain of allowed transitions leads to: a row shows where an order is now, not each step
# on the way (placed, then refunded, was paid in between).
REACHABLE = {status: _reachable_from(status) for status in OrderStatus}


def _same_sale(order: Order, given: OrderCreate) -> None:
    if given.customer_id != order.customer_id:
        raise InvalidInput.one("customerId", ErrorCode.NOT_ALLOWED, "this order is recorded for another customer")
    if to_minor(given.total, order.currency) != order.total_minor:
        message = (
            f"this order is recorded with total {_amount(order.total_minor, order)}, not {given.total}: "
            "a sale's total is not changed"
        )
        raise InvalidInput.one("total", ErrorCode.NOT_ALLOWED, message)


def _amount(minor: int, order: Order) -> Decimal:
    return Decimal(minor).scaleb(-minor_digits(order.currency))
