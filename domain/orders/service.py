"""Order use cases: record an order (idempotent on external id) and move it through its statuses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from domain.auth.principals import Permission, Principal
from domain.clock import Clock
from domain.customers.repository import CustomerRepository, require_customers, visible_customers
from domain.db import fingerprint, new_id
from domain.errors import (
    Conflict,
    DuplicateExternalId,
    ErrorCode,
    FieldError,
    InvalidInput,
    NotFound,
    UnknownCustomer,
)
from domain.money import AMOUNT_TEXT, decimals_fit, to_minor
from domain.orders.inputs import OrderCreate
from domain.orders.models import ALLOWED_TRANSITIONS, Order, OrderStatus
from domain.orders.moves import Move, Plan, decide, stale_warning
from domain.orders.repository import OrderRepository
from domain.ports import RescoreQueue
from domain.recorded import Recorded
from domain.upserts import RowPlan, Upserted, create_those_that_pass, not_stored, row_position
from domain.validation import RawInput, row_errors, validate, validate_rows
from domain.workspaces.models import Workspace
from domain.workspaces.repository import WorkspaceRepository

_NO_SUCH_ORDER = FieldError(
    "externalId", ErrorCode.NOT_FOUND, "no order has this external id (an update moves recorded orders only)"
)


# Rounds of read, decide, write for rows that lost a race with another writer of the same order.
UPSERT_ROUNDS = 5


class UpsertOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class OrderService:
    def __init__(
        self,
        orders: OrderRepository,
        customers: CustomerRepository,
        workspaces: WorkspaceRepository,
        rescore_queue: RescoreQueue,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._orders = orders
        self._customers = customers
        self._workspaces = workspaces
        self._rescore_queue = rescore_queue

    async def get(self, principal: Principal, order_id: str) -> Order | None:
        principal.require(Permission.READ)
        return await self._visible(principal, order_id)

    async def latest_for_customers(
        self, principal: Principal, customer_ids: list[str], limit: int
    ) -> dict[str, list[Order]]:
        """Each customer's newest orders (at most ``limit``, up to 100), for a whole page at once."""
        principal.require(Permission.READ)
        visible = await visible_customers(self._customers, principal, customer_ids)
        return await self._orders.latest_for_customers(principal.workspace_id, visible, min(max(limit, 0), 100))

    async def _visible(self, principal: Principal, order_id: str) -> Order | None:
        """The order, if the caller may see its customer (sales: only their own; a deleted customer's
        orders stay visible to the other roles)."""
        order = await self._orders.get(principal.workspace_id, order_id)
        if order is None or principal.scope.owner_id is None:
            return order
        return order if await self._customers.exists(principal.scope, order.customer_id) else None

    async def record(self, principal: Principal, data: RawInput) -> Recorded[Order]:
        """Idempotent on externalId like customers: a retry returns the order it recorded, other content
        under the same external id is DUPLICATE_EXTERNAL_ID."""
        principal.require(Permission.WRITE_CUSTOMERS)
        workspace = await self._workspace(principal)
        order = validate(OrderCreate, data, currency=workspace.currency, now=self._clock.now())
        # Dirty before the order is written, so that a crash after it cannot lose the rescore, and again
        # after: a job that read the customer in between (without the order) must not settle it.
        if not await self._customers.mark_dirty(principal.scope, order.customer_id):
            raise UnknownCustomer().field_errors("customerId")
        try:
            stored, created = await self._orders.insert(_new_document(order, workspace, self._clock.now()))
        except DuplicateExternalId as error:
            raise error.field_errors("externalId") from None
        await self._customers.mark_dirty(principal.scope, order.customer_id)
        await self._rescore_queue.request_rescore(principal.workspace_id)
        return Recorded(stored, created)

    async def record_many(self, principal: Principal, rows: Sequence[RawInput]) -> list[Order]:
        """Bulk import under the same rules as ``record``; any bad row rejects the whole batch."""
        return (await self.record_many_counted(principal, rows))[0]

    async def record_many_counted(self, principal: Principal, rows: Sequence[RawInput]) -> tuple[list[Order], int]:
        """``record_many``, and how many rows were new (the others were recorded already)."""
        principal.require(Permission.WRITE_CUSTOMERS)
        workspace = await self._workspace(principal)
        orders = validate_rows(OrderCreate, rows, currency=workspace.currency, now=self._clock.now())
        customer_ids = list(dict.fromkeys(order.customer_id for order in orders))
        try:
            await require_customers(self._customers, principal.scope, [order.customer_id for order in orders])
        except UnknownCustomer as error:
            raise error.field_errors("customerId") from None
        await self._customers.mark_many_dirty(principal.scope, customer_ids)
        now = self._clock.now()
        documents = [_new_document(order, workspace, now) for order in orders]
        try:
            stored, created = await self._orders.insert_many(workspace.id, documents)
        except DuplicateExternalId as error:
            raise error.field_errors("externalId") from None
        await self._customers.mark_many_dirty(principal.scope, customer_ids)  # as in record: before and after
        await self._rescore_queue.request_rescore(principal.workspace_id)
        return stored, len(created)

    async def upsert_many(
        self, principal: Principal, rows: Sequence[RawInput], *, create_missing: bool, dry_run: bool = False
    ) -> Upserted:
        """Rows carrying an order's whole current state (a re-imported export): a row naming a stored order
        by external id moves it along a chain of the transitions ``set_status`` allows, or leaves it as it
        is (the same state, or an update older than the stored one: STALE_UPDATE, a warning); the others
        are recorded (``create_missing``) or refused. A recorded order's customer and total are facts of
        the sale: a row that changes them is refused, and so is a move no transition allows. The batch is
        read once and written once; rows that lost a race with another writer are decided again.
        ``dry_run``: the same decisions, each row's plan returned, nothing written."""
        principal.require(Permission.WRITE_CUSTOMERS)
        workspace = await self._workspace(principal)
        outcome = Upserted()
        pending = list(enumerate(rows))
        if dry_run:
            await self._plan(principal, workspace, pending, outcome, create_missing)
            return outcome
        for _ in range(UPSERT_ROUNDS):
            pending = await self._upsert_round(principal, workspace, pending, outcome, create_missing)
            if not pending:
                return outcome
        busy = "the order kept changing while this ran; send the row again"
        outcome.problems += [FieldError(f"rows.{index}.externalId", ErrorCode.CONFLICT, busy) for index, _ in pending]
        return outcome

    async def _upsert_round(
        self,
        principal: Principal,
        workspace: Workspace,
        pending: list[tuple[int, RawInput]],
        outcome: Upserted,
        create_missing: bool,
    ) -> list[tuple[int, RawInput]]:
        """Decide ``pending`` against one read and write the moves at once; returns the rows to decide again."""
        moves, new, again = await self._decide_all(principal, workspace, pending, outcome, create_missing)
        lost = await self._apply(principal, [move for _, _, move in moves.values()])
        outcome.updated += len(moves) - len(lost)
        again += [(index, row) for order_id, (index, row, _) in moves.items() if order_id in lost]
        return again + await self._created(principal, new, outcome)

    async def _plan(
        self,
        principal: Principal,
        workspace: Workspace,
        pending: list[tuple[int, RawInput]],
        outcome: Upserted,
        create_missing: bool,
    ) -> None:
        """A dry run's round: every row decided against what is stored, its plan recorded, nothing written."""
        moves, new, again = await self._decide_all(principal, workspace, pending, outcome, create_missing)
        for index, _, move in moves.values():
            outcome.plans.append(RowPlan(index, "move", move.order.status.value, move.status.value))
        outcome.updated += len(moves)
        # Later rows of an order the batch moves: decided against the state the earlier row leaves.
        moved = {move.order.external_id: _after(move) for _, _, move in moves.values()}
        for index, row in again:
            with row_errors(index, outcome.problems):
                order = moved[str(row["external_id"])]
                if (later := self._decided(index, order, row, workspace, outcome)) is not None:
                    outcome.plans.append(RowPlan(index, "move", order.status.value, later.status.value))
                    outcome.updated += 1
                    moved[str(row["external_id"])] = _after(later)
        for index, row in new:
            with row_errors(index, outcome.problems):
                validate(OrderCreate, row, currency=workspace.currency, now=self._clock.now())
                outcome.plans.append(RowPlan(index, "create", None, str(row.get("status") or "placed")))
                outcome.created += 1

    async def _decide_all(
        self,
        principal: Principal,
        workspace: Workspace,
        pending: list[tuple[int, RawInput]],
        outcome: Upserted,
        create_missing: bool,
    ) -> tuple[dict[str, tuple[int, RawInput, Move]], list[tuple[int, RawInput]], list[tuple[int, RawInput]]]:
        """Per stored order, the move its first row makes; rows to create; later rows of a moved order."""
        keys = [str(row.get("external_id") or "") for _, row in pending]
        stored = await self._orders.by_external_ids(workspace.id, [key for key in keys if key])
        # A sales key sees only its customers' orders: another's is "taken", as when creating it.
        visible = set(await visible_customers(self._customers, principal, [o.customer_id for o in stored.values()]))
        moves: dict[str, tuple[int, RawInput, Move]] = {}
        new, again = list[tuple[int, RawInput]](), list[tuple[int, RawInput]]()
        for (index, row), key in zip(pending, keys, strict=True):
            order = stored.get(key)
            if order is not None and order.customer_id not in visible:
                taken = DuplicateExternalId()
                outcome.problems.append(FieldError(f"rows.{index}.externalId", taken.code, taken.message))
            elif order is None:
                not_stored(outcome, new, index, row, None if create_missing else _NO_SUCH_ORDER)
            elif order.id in moves:
                again.append((index, row))  # a second row for one order: decided after the first is written
            else:
                with row_errors(index, outcome.problems):
                    move = self._decided(index, order, row, workspace, outcome)
                    if move is not None:
                        moves[order.id] = (index, row, move)
        return moves, new, again

    def _decided(self, index: int, order: Order, row: RawInput, workspace: Workspace, outcome: Upserted) -> Move | None:
        given = validate(OrderCreate, row, currency=workspace.currency, now=self._clock.now())
        decision = decide(order, given)
        if decision.plan is Plan.STALE:
            warning = stale_warning(order, given)
            outcome.warnings.append(FieldError(f"rows.{index}.{warning.field}", warning.code, warning.message))
        if decision.move is None:
            outcome.unchanged += 1
            outcome.plans.append(RowPlan(index, "unchanged", order.status.value, order.status.value))
        return decision.move

    async def _apply(self, principal: Principal, moves: list[Move]) -> set[str]:
        """Write the moves as any order change is written: customers dirty before and after, one rescore."""
        if not moves:
            return set()
        customer_ids = list(dict.fromkeys(move.order.customer_id for move in moves))
        await self._customers.mark_many_dirty(principal.scope, customer_ids)
        lost = await self._orders.apply_moves(moves)
        await self._customers.mark_many_dirty(principal.scope, customer_ids)
        await self._rescore_queue.request_rescore(principal.workspace_id)
        return lost

    async def _created(
        self, principal: Principal, new: list[tuple[int, RawInput]], outcome: Upserted
    ) -> list[tuple[int, RawInput]]:
        """Create ``new``; a row whose external id another writer recorded meanwhile is decided again."""
        problems = outcome.problems
        outcome.problems = []
        await create_those_that_pass(lambda batch: self._recorded_count(principal, batch), new, outcome)
        taken = {row_position(p) for p in outcome.problems if p.code == ErrorCode.DUPLICATE_EXTERNAL_ID}
        again = [(index, row) for index, row in new if index in taken and row.get("external_id")]
        retried = {index for index, _ in again}
        outcome.problems = problems + [p for p in outcome.problems if row_position(p) not in retried]
        return again

    async def upsert(self, principal: Principal, data: RawInput) -> tuple[Order, UpsertOutcome, list[FieldError]]:
        """One order's whole current state by its external id (a platform's "order updated" notice): what
        an import in upsert mode does with its row, with the same errors and warnings. The same state twice
        is one change: the second says UNCHANGED."""
        if not data.get("external_id"):
            raise InvalidInput.one("externalId", ErrorCode.REQUIRED, "an upsert names the order by its external id")
        outcome = await self.upsert_many(principal, [data], create_missing=True)
        if outcome.problems:
            raise InvalidInput([_unprefixed(problem) for problem in outcome.problems])
        key = str(data["external_id"])
        order = (await self._orders.by_external_ids(principal.workspace_id, [key]))[key]
        warnings = [_unprefixed(warning) for warning in outcome.warnings]
        if outcome.created:
            return order, UpsertOutcome.CREATED, warnings
        return order, UpsertOutcome.UPDATED if outcome.updated else UpsertOutcome.UNCHANGED, warnings

    async def _recorded_count(self, principal: Principal, rows: list[RawInput]) -> int:
        return (await self.record_many_counted(principal, rows))[1]

    async def set_status(
        self, principal: Principal, order_id: str, status: OrderStatus, *, refund_amount: Decimal | str | None = None
    ) -> Order:
        principal.require(Permission.WRITE_CUSTOMERS)
        order = await self._visible(principal, order_id)
        if order is None:
            raise NotFound(f"no order {order_id!r}", field="id")
        refund_minor = _refund_minor(order, status, refund_amount)
        if status == order.status and refund_minor == order.refund_minor:
            return order  # a retried request: already applied
        if status not in ALLOWED_TRANSITIONS[order.status]:
            raise InvalidInput.one(
                "status",
                ErrorCode.INVALID_TRANSITION,
                f"an order that is {order.status.value} cannot become {status.value}",
            )
        await self._customers.mark_dirty(principal.scope, order.customer_id)  # as in record: before and after
        updated = await self._orders.change_status(order, status, refund_minor)
        if updated is None:
            raise Conflict("the order changed while this request ran; read it again and retry", field="id")
        await self._customers.mark_dirty(principal.scope, order.customer_id)
        await self._rescore_queue.request_rescore(principal.workspace_id)
        return updated

    async def _workspace(self, principal: Principal) -> Workspace:
        workspace = await self._workspaces.get(principal.workspace_id)
        if workspace is None:
            raise NotFound("workspace no longer exists")
        return workspace


def _after(move: Move) -> Order:
    """The order as ``move`` leaves it (what a dry run decides a later row of the same order against)."""
    source_at = move.source_at or move.order.status_source_at
    return replace(move.order, status=move.status, refund_minor=move.refund_minor, status_source_at=source_at)


def _unprefixed(problem: FieldError) -> FieldError:
    """``rows.0.total`` -> ``total``: the one row of an upsert is the input itself."""
    field = (problem.field or "").removeprefix("rows.0").removeprefix(".") or None
    return FieldError(field, problem.code, problem.message)


def _refund_minor(order: Order, status: OrderStatus, refund_amount: Decimal | str | None) -> int:
    """The order's refunded total after this change; a refund is cumulative and never shrinks."""
    if status != OrderStatus.REFUNDED:
        if refund_amount is not None:
            raise InvalidInput.one(
                "refundAmount", ErrorCode.NOT_ALLOWED, "a refund amount goes only with status REFUNDED"
            )
        return order.refund_minor
    if refund_amount is None:
        return order.total_minor
    if isinstance(refund_amount, str):
        if not AMOUNT_TEXT.fullmatch(refund_amount):
            message = "write amounts with ASCII digits and at most one decimal point"
            raise InvalidInput.one("refundAmount", ErrorCode.INVALID_AMOUNT, message)
        refund_amount = Decimal(refund_amount)
    try:
        valid = refund_amount.is_finite() and refund_amount >= 0 and decimals_fit(refund_amount, order.currency)
    except InvalidOperation:
        valid = False
    if not valid:
        raise InvalidInput.one(
            "refundAmount", ErrorCode.INVALID_AMOUNT, f"must be >= 0 with at most {order.currency}'s decimals"
        )
    refund_minor = to_minor(refund_amount, order.currency)
    if refund_minor == 0:
        raise InvalidInput.one("refundAmount", ErrorCode.OUT_OF_RANGE, "a refund must be more than 0")
    if refund_minor > order.total_minor:
        raise InvalidInput.one("refundAmount", ErrorCode.OUT_OF_RANGE, "cannot refund more than the order total")
    if refund_minor < order.refund_minor:
        raise InvalidInput.one(
            "refundAmount", ErrorCode.OUT_OF_RANGE, "the refunded total cannot shrink; give the cumulative amount"
        )
    return refund_minor


def _new_document(order: OrderCreate, workspace: Workspace, now: datetime) -> dict[str, Any]:
    currency = order.currency or workspace.currency
    document: dict[str, Any] = {
        "_id": new_id(),
        "workspace_id": workspace.id,
        "customer_id": order.customer_id,
        "status": order.status.value,
        "currency": currency,
        "total_minor": to_minor(order.total, currency),
        "discount_minor": to_minor(order.discount, currency),
        "refund_minor": to_minor(order.refunded_total(), currency),
        "placed_at": order.placed_at or now,
        "channel": order.channel,
        "items": [
            {
                "sku": item.sku,
                "name": item.name,
                "category": item.category,
                "quantity": item.quantity,
                "unit_price_minor": to_minor(item.unit_price, currency),
                "product_launched_at": item.product_launched_at,
            }
            for item in order.items
        ],
        "created_at": now,
        "updated_at": now,
    }
    if order.external_id is not None:
        document["external_id"] = order.external_id
    volatile = {"_id", "created_at", "updated_at"} | ({"placed_at"} if order.placed_at is None else set())
    if order.status_changed_at is None:
        document["status_changed_at"] = document["placed_at"]
        volatile.add("status_changed_at")
    else:
        document["status_changed_at"] = document["status_source_at"] = order.status_changed_at
    document["request_hash"] = fingerprint({key: value for key, value in document.items() if key not in volatile})
    return document
