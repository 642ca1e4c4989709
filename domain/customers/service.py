"""Customer use cases: create, update, delete, read and list, each checked against the caller's workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, overload

from domain.auth.principals import Permission, Principal
from domain.classes.catalogue import class_set
from domain.classes.service import require_readable_class_set
from domain.clock import Clock
from domain.customers.filters import CustomerFilter, compile_filter
from domain.customers.inputs import CustomerCreate, CustomerFields
from domain.customers.models import Customer, LegalType, Tombstone
from domain.customers.ordering import (
    EVIDENCE_OF,
    PUBLIC_CHANGED_AT,
    CustomerOrder,
    OrderField,
    PagePosition,
    changed_path,
    readable_order,
)
from domain.customers.repository import CustomerRepository
from domain.customers.search_text import search_words
from domain.db import fingerprint, new_id, settled
from domain.errors import Conflict, DuplicateExternalId, ErrorCode, FieldError, InvalidInput, NotFound
from domain.interactions.repository import InteractionRepository
from domain.orders.repository import OrderRepository
from domain.ports import RescoreQueue
from domain.recorded import Recorded
from domain.segments.membership import SegmentEvaluator
from domain.segments.repository import member_state
from domain.upserts import Upserted, create_those_that_pass, not_stored
from domain.validation import RawInput, row_errors, validate, validate_rows
from domain.workspaces.models import Workspace
from domain.workspaces.repository import WorkspaceRepository

MAX_PAGE_SIZE = 100
CREATION_ORDER = CustomerOrder()
# Offline sync reads changes at least this old: longer than a write takes from its stamp to its commit,
# plus the clock difference between the hosts that stamp (keep them on NTP).
DEFAULT_SYNC_SETTLE_SECONDS = 5.0
EXPORT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class CustomerPage:
    customers: list[Customer]
    has_next_page: bool
    positions: list[PagePosition]  # each customer's, for the cursors


_NO_SUCH_CUSTOMER = FieldError(
    "externalId",
    ErrorCode.UNKNOWN_CUSTOMER,
    "no customer has this external id (an update changes stored customers only)",
)


class CustomerService:
    def __init__(
        self,
        customers: CustomerRepository,
        orders: OrderRepository,
        interactions: InteractionRepository,
        workspaces: WorkspaceRepository,
        rescore_queue: RescoreQueue,
        segments: SegmentEvaluator,
        clock: Clock,
        sync_settle_seconds: float = DEFAULT_SYNC_SETTLE_SECONDS,
    ) -> None:
        self._clock = clock
        self._segments = segments
        self._sync_settle_seconds = sync_settle_seconds
        self._customers = customers
        self._orders = orders
        self._interactions = interactions
        self._workspaces = workspaces
        self._rescore_queue = rescore_queue

    async def get(self, principal: Principal, customer_id: str, *, with_evidence: bool = True) -> Customer | None:
        principal.require(Permission.READ)
        customer = await self._customers.get(principal.scope, customer_id, with_evidence=with_evidence)
        return _shown(principal, customer)

    async def page(
        self,
        principal: Principal,
        spec: CustomerFilter | None,
        first: int,
        after: PagePosition | None,
        *,
        order: CustomerOrder = CREATION_ORDER,
        with_evidence: bool = True,
    ) -> CustomerPage:
        """Customers in ``order`` (creation order by default); ``with_evidence`` False leaves the class
        evidence unread."""
        principal.require(Permission.READ)
        if not 0 <= first <= MAX_PAGE_SIZE:
            raise InvalidInput.one("first", ErrorCode.OUT_OF_RANGE, f"first must be between 0 and {MAX_PAGE_SIZE}")
        query = await self.readable_query(principal, spec)
        if order.field in EVIDENCE_OF and not principal.can(Permission.READ_SENSITIVE):
            query |= readable_order(principal, order, (await self._workspace(principal)).scoring_settings)
        if order.field is OrderField.CHANGED:
            order = replace(order, public=changed_path(principal) == PUBLIC_CHANGED_AT)
            # A change stamped just now may still be committing: a syncing client reads only settled
            # changes (on the database's clock, which stamped them), so its cursor never moves past one
            # that appears later.
            query = {"$and": [query, settled(changed_path(principal), self._sync_settle_seconds)]}
        rows = await self._customers.page(query, order, after, first + 1, with_evidence=with_evidence)
        shown = rows[:first]
        positions = [PagePosition(order.field, customer.id, value) for customer, value in shown]
        return CustomerPage([_shown(principal, customer) for customer, _ in shown], len(rows) > first, positions)

    async def export_pages(
        self, principal: Principal, spec: CustomerFilter | None, batch: int = EXPORT_BATCH
    ) -> AsyncIterator[list[Customer]]:
        """Every customer the filter selects within the caller's scope, ``batch`` at a time (one read each),
        in creation order: for streaming exports, never the whole result in memory."""
        principal.require(Permission.READ)
        query = await self.readable_query(principal, spec)
        after: PagePosition | None = None
        while True:
            rows = await self._customers.page(query, CREATION_ORDER, after, batch, with_evidence=True)
            if not rows:
                return
            yield [_shown(principal, customer) for customer, _ in rows]
            if len(rows) < batch:
                return
            after = PagePosition(CREATION_ORDER.field, rows[-1][0].id)

    async def deleted_since(
        self, principal: Principal, since: datetime | None, after: tuple[datetime, str] | None, first: int
    ) -> list[Tombstone]:
        """Tombstones for syncing clients: customers that left the caller's scope since ``since`` (deleted,
        or moved away from a sales key's owner), settled ones only, oldest first."""
        principal.require(Permission.READ)
        if not 0 <= first <= MAX_PAGE_SIZE:
            raise InvalidInput.one("first", ErrorCode.OUT_OF_RANGE, f"first must be between 0 and {MAX_PAGE_SIZE}")
        return await self._customers.deleted_since(principal.scope, since, self._sync_settle_seconds, after, first)

    async def count(self, principal: Principal, spec: CustomerFilter | None, workspace: Workspace) -> int:
        """How many customers a list holds: the workspace's own count when nothing narrows it, else
        counted by MongoDB on the filter's index."""
        principal.require(Permission.READ)
        query = await self.readable_query(principal, spec)
        if query == {"workspace_id": workspace.id} and workspace.customer_count is not None:
            return workspace.customer_count
        return await self._customers.count(query)

    async def class_distribution(
        self, principal: Principal, class_set_key: str, spec: CustomerFilter | None
    ) -> list[tuple[str, int]]:
        """Customers per code, in the class set's order, zeros included; not yet scored ones are left out."""
        principal.require(Permission.READ)
        definition = class_set(class_set_key)
        require_readable_class_set(principal, definition.key)
        query = await self.readable_query(principal, spec)
        if not principal.can(Permission.READ_SENSITIVE):
            query[f"classes.{definition.key}.sensitive"] = {"$ne": True}
        counts = await self._customers.count_by_class(query, definition.key)
        return [(code.code, counts.get(code.code, 0)) for code in definition.codes]

    async def readable_query(self, principal: Principal, spec: CustomerFilter | None) -> dict[str, Any]:
        """The filter compiled, or the reason the caller may not use it: besides compile_filter's checks, a
        segment read from personal details is no filter for a role that may not read them (its members
        would reveal them). What an export checks before it streams."""
        query = compile_filter(principal, spec)
        if spec is not None and spec.segment_id is not None:
            await self._segments.require_readable(principal, str(spec.segment_id), "filter.segmentId")
        return query

    async def create(self, principal: Principal, data: RawInput) -> Recorded[Customer]:
        """Idempotent on externalId: the same request again returns the customer it created; the same
        external id with other content (or another owner's customer) is DUPLICATE_EXTERNAL_ID."""
        principal.require(Permission.WRITE_CUSTOMERS)
        fields = validate(CustomerCreate, data, country=await self._country(principal), now=self._clock.now())
        _check_company(fields.legal_type, fields.company_name, fields.model_fields_set)
        await self._check_owners(principal, [fields.owner_id])
        try:
            customer, created = await self._customers.insert(
                principal.scope, _new_document(fields, principal, self._clock.now())
            )
        except DuplicateExternalId as error:
            raise error.field_errors("externalId") from None
        if created:
            await self._workspaces.count_customers(principal.workspace_id, 1)
            await self._rescore_queue.request_rescore(principal.workspace_id)
        return Recorded(_shown(principal, customer), created)

    async def create_many(self, principal: Principal, rows: Sequence[RawInput]) -> list[Customer]:
        """Bulk import under the same rules as ``create``: any bad row rejects the whole batch (errors
        name ``rows.N.field``); rows whose external id is already stored return the stored customer."""
        return (await self.create_many_counted(principal, rows))[0]

    async def create_many_counted(self, principal: Principal, rows: Sequence[RawInput]) -> tuple[list[Customer], int]:
        """``create_many``, and how many of the rows were new (the others were stored already)."""
        principal.require(Permission.WRITE_CUSTOMERS)
        country = await self._country(principal)
        fields = validate_rows(CustomerCreate, rows, country=country, now=self._clock.now())
        for index, item in enumerate(fields):
            with row_errors(index):
                _check_company(item.legal_type, item.company_name, item.model_fields_set)
        await self._check_owners(principal, [item.owner_id for item in fields])
        now = self._clock.now()
        try:
            stored, created = await self._customers.insert_many(
                principal.scope, [_new_document(item, principal, now) for item in fields]
            )
        except DuplicateExternalId as error:
            raise error.field_errors("externalId") from None
        await self._workspaces.count_customers(principal.workspace_id, len(created))
        await self._rescore_queue.request_rescore(principal.workspace_id)
        return [_shown(principal, customer) for customer in stored], len(created)

    async def upsert_many(self, principal: Principal, rows: Sequence[RawInput], *, create_missing: bool) -> Upserted:
        """Rows that name a stored customer by external id update it (the columns given; a row equal to
        what is stored writes nothing), the others are created (``create_missing``) or refused. Every
        problem is returned (``rows.N.field``), never raised, so that what was written is counted once."""
        principal.require(Permission.WRITE_CUSTOMERS)
        country, now = await self._country(principal), self._clock.now()
        keys = [str(row.get("external_id") or "") for row in rows]
        stored = await self._customers.documents_by_external_id(principal.scope, [key for key in keys if key])
        outcome = Upserted()
        new: list[tuple[int, RawInput]] = []
        for index, (row, key) in enumerate(zip(rows, keys, strict=True)):
            document = stored.get(key)
            if document is None:
                not_stored(outcome, new, index, row, None if create_missing else _NO_SUCH_CUSTOMER)
                continue
            with row_errors(index, outcome.problems):
                patch = validate(CustomerFields, row, country=country, now=now)
                if _same_as_stored(_stored_fields(patch, principal, now), document):
                    outcome.unchanged += 1
                else:
                    await self.update(principal, document["_id"], row)
                    outcome.updated += 1
        await create_those_that_pass(lambda batch: self._created_count(principal, batch), new, outcome)
        return outcome

    async def _created_count(self, principal: Principal, rows: list[RawInput]) -> int:
        return (await self.create_many_counted(principal, rows))[1]

    async def update(self, principal: Principal, customer_id: str, data: RawInput) -> Customer:
        """Partial update: absent fields are untouched, fields given as None are cleared."""
        principal.require(Permission.WRITE_CUSTOMERS)
        existing = await self._require(principal, customer_id)
        patch = validate(CustomerFields, data, country=await self._country(principal), now=self._clock.now())
        given = patch.model_fields_set
        if "name" in given and patch.name is None:
            raise InvalidInput.one("name", ErrorCode.REQUIRED, "name cannot be cleared")
        legal_type = patch.legal_type if "legal_type" in given else existing.legal_type
        company = patch.company_name if "company_name" in given else existing.company_name
        _check_company(legal_type or LegalType.INDIVIDUAL, company, {"legal_type", "company_name"})
        if "owner_id" in given and patch.owner_id is None and principal.scope.owner_id is not None:
            raise InvalidInput.one("ownerId", ErrorCode.FORBIDDEN_OWNER, "sales cannot give up a customer")
        await self._check_owners(principal, [patch.owner_id])
        stored = _stored_fields(patch, principal, self._clock.now())
        set_fields = {key: value for key, value in stored.items() if value is not None}
        unset_fields = [key for key, value in stored.items() if value is None]
        if "legal_type" in given:
            set_fields["legal_type"] = (patch.legal_type or LegalType.INDIVIDUAL).value
            unset_fields = [key for key in unset_fields if key != "legal_type"]
        merged = {"name": existing.name, "email": existing.email, "phone": existing.phone}
        merged.update({key: stored[key] for key in ("name", "email", "phone") if key in stored})
        set_fields["search_words"] = search_words(company=company, **merged)
        moves = "owner_id" in given and patch.owner_id != existing.owner_id
        try:
            customer = await self._customers.update(
                principal.scope, customer_id, set_fields, unset_fields, owner_was=existing.owner_id if moves else None
            )
        except DuplicateExternalId as error:
            raise error.field_errors("externalId") from None
        if customer is None:
            if moves and await self._customers.exists(principal.scope, customer_id):
                raise Conflict("the customer's owner changed while this request ran; read it again", field="ownerId")
            raise NotFound(f"no customer {customer_id!r}", field="id")
        if moves and existing.owner_id is not None:
            await self._customers.left_owner(principal.workspace_id, customer_id, existing.owner_id)
        await self._rescore_queue.request_rescore(principal.workspace_id)
        return _shown(principal, customer)

    async def delete(self, principal: Principal, customer_id: str) -> None:
        """Removes the customer and its interactions; its orders stay as financial records, detached; it
        leaves its segments."""
        principal.require(Permission.DELETE_CUSTOMERS)
        if not await self._customers.begin_delete(principal.scope, customer_id):
            raise NotFound(f"no customer {customer_id!r}", field="id")
        await self.finish_deletion(principal.workspace_id, customer_id)

    async def finish_deletion(self, workspace_id: str, customer_id: str) -> None:
        """Every step of a begun deletion, each safe to run again (the request, or the sweeper after a
        crash): the customer removed, its segments left, its interactions removed, its orders detached."""
        removed = await self._customers.remove(workspace_id, customer_id)
        if removed is not None:
            await self._workspaces.count_customers(workspace_id, -1)
        state = removed or await self._customers.deletion_state(workspace_id, customer_id)
        if state is not None:
            state = {"_id": customer_id, **state}
            await self._segments.customer_deleted(workspace_id, member_state(state), self._clock.now())
        await self._interactions.delete_for_customer(workspace_id, customer_id)
        await self._orders.detach_customer(workspace_id, customer_id)
        await self._customers.finish_delete(workspace_id, customer_id)

    async def finish_unfinished_deletions(self, begun_seconds_ago: float = 60.0, limit: int = 500) -> int:
        """For the sweeper: deletions whose request died on the way are finished."""
        pending = await self._customers.unfinished_deletions(begun_seconds_ago, limit)
        for workspace_id, customer_id in pending:
            await self.finish_deletion(workspace_id, customer_id)
        return len(pending)

    async def _require(self, principal: Principal, customer_id: str) -> Customer:
        customer = await self._customers.get(principal.scope, customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id!r}", field="id")
        return customer

    async def _workspace(self, principal: Principal) -> Workspace:
        workspace = await self._workspaces.get(principal.workspace_id)
        if workspace is None:
            raise NotFound("workspace no longer exists")
        return workspace

    async def _country(self, principal: Principal) -> str:
        workspace = await self._workspaces.get(principal.workspace_id)
        return workspace.country if workspace else "VN"

    async def _check_owners(self, principal: Principal, owner_ids: list[str | None]) -> None:
        own = principal.scope.owner_id
        if own is not None and any(owner_id not in (None, own) for owner_id in owner_ids):
            raise InvalidInput.one(
                "ownerId", ErrorCode.FORBIDDEN_OWNER, "sales may assign customers only to themselves"
            )
        wanted = {owner_id for owner_id in owner_ids if owner_id is not None}
        if not wanted:
            return
        known = await self._workspaces.users_by_ids(principal.workspace_id, wanted)
        for owner_id in owner_ids:
            if owner_id is not None and owner_id not in known:
                raise InvalidInput.one("ownerId", ErrorCode.UNKNOWN_OWNER, f"no user {owner_id!r} in this workspace")


def _new_document(fields: CustomerCreate, principal: Principal, now: datetime) -> dict[str, Any]:
    return {
        "_id": new_id(),
        "workspace_id": principal.workspace_id,
        # A customer a sales rep creates is theirs unless they say otherwise (only to themselves).
        "owner_id": principal.scope.owner_id,
        **_stored_fields(fields, principal, now),
        "legal_type": (fields.legal_type or LegalType.INDIVIDUAL).value,
        "search_words": search_words(
            name=fields.name, company=fields.company_name, email=fields.email, phone=fields.phone
        ),
        "request_hash": fingerprint(fields.model_dump(mode="json", exclude_unset=True)),
        "created_at": now,
        "updated_at": now,
        "changed_at": now,
        "stats": {},
        "classes": {},
        "scoring": {"dirty": True, "dirty_since": now, "seq": 1, "version": 0, "delivered_version": 0},
    }


@overload
def _shown(principal: Principal, customer: Customer) -> Customer: ...
@overload
def _shown(principal: Principal, customer: None) -> None: ...
def _shown(principal: Principal, customer: Customer | None) -> Customer | None:
    if customer is None or principal.can(Permission.READ_SENSITIVE):
        return customer
    return customer.without_sensitive_fields()


def _check_company(legal_type: LegalType | None, company_name: str | None, given: set[str]) -> None:
    if legal_type == LegalType.COMPANY and not company_name and given & {"legal_type", "company_name"}:
        raise InvalidInput.one("companyName", ErrorCode.REQUIRED, "a company customer needs a company name")


def _stored_fields(fields: CustomerFields, principal: Principal, now: datetime) -> dict[str, Any]:
    """The given fields in their stored shape (only those the caller set; None means clear)."""
    stored: dict[str, Any] = {}
    for name in fields.model_fields_set:
        value = getattr(fields, name)
        if name == "personality_type":
            stored["personality"] = (
                None if value is None else {"type": value, "entered_by": principal.user_id, "entered_at": now}
            )
        elif name == "attributes":
            stored["attributes"] = fields.attribute_map()
            stored["sensitive_attributes"] = fields.sensitive_attribute_keys()
        elif name in ("birth_date", "customer_since") and isinstance(value, date):
            # BSON has no date type: a day is stored as midnight UTC.
            stored[name] = datetime(value.year, value.month, value.day, tzinfo=UTC)
        elif hasattr(value, "value"):
            stored[name] = value.value
        else:
            stored[name] = value
    return stored


def _same_as_stored(given: dict[str, Any], document: dict[str, Any]) -> bool:
    """Every given field (in its stored shape) already holds that value."""
    for name, value in given.items():
        if name == "personality":
            same = (document.get("personality") or {}).get("type") == (value or {}).get("type")
        else:
            same = document.get(name) == value
        if not same:
            return False
    return True
