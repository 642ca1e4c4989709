from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain.auth.principals import Permission, Principal
from domain.clock import Clock
from domain.customers.repository import CustomerRepository, require_customers, visible_customers
from domain.db import fingerprint, new_id
from domain.errors import DuplicateExternalId, UnknownCustomer
from domain.interactions.inputs import InteractionCreate
from domain.interactions.models import Interaction
from domain.interactions.repository import InteractionRepository
from domain.ports import RescoreQueue
from domain.recorded import Recorded
from domain.validation import RawInput, validate, validate_rows


class InteractionService:
    def __init__(
        self,
        interactions: InteractionRepository,
        customers: CustomerRepository,
        rescore_queue: RescoreQueue,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._interactions = interactions
        self._customers = customers
        self._rescore_queue = rescore_queue

    async def record(self, principal: Principal, data: RawInput) -> Recorded[Interaction]:
        principal.require(Permission.WRITE_CUSTOMERS)
        interaction = validate(InteractionCreate, data, now=self._clock.now())
        # Dirty before and after the write, as for orders (see OrderService.record).
        if not await self._customers.mark_dirty(principal.scope, interaction.customer_id):
            raise UnknownCustomer().field_errors("customerId")
        try:
            stored, created = await self._interactions.insert(_new_document(interaction, principal, self._clock.now()))
        except DuplicateExternalId as error:
            raise error.field_errors("externalId") from None
        await self._customers.mark_dirty(principal.scope, interaction.customer_id)
        await self._rescore_queue.request_rescore(principal.workspace_id)
        return Recorded(stored, created)

    async def record_many(self, principal: Principal, rows: Sequence[RawInput]) -> list[Interaction]:
        """Bulk import under the same rules as ``record``; any bad row rejects the whole batch."""
        return (await self.record_many_counted(principal, rows))[0]

    async def record_many_counted(
        self, principal: Principal, rows: Sequence[RawInput]
    ) -> tuple[list[Interaction], int]:
        """``record_many``, and how many rows were new (the others were recorded already)."""
        principal.require(Permission.WRITE_CUSTOMERS)
        interactions = validate_rows(InteractionCreate, rows, now=self._clock.now())
        customer_ids = [interaction.customer_id for interaction in interactions]
        try:
            await require_customers(self._customers, principal.scope, customer_ids)
        except UnknownCustomer as error:
            raise error.field_errors("customerId") from None
        distinct = list(dict.fromkeys(customer_ids))
        await self._customers.mark_many_dirty(principal.scope, distinct)
        now = self._clock.now()
        documents = [_new_document(interaction, principal, now) for interaction in interactions]
        try:
            stored, created = await self._interactions.insert_many(principal.workspace_id, documents)
        except DuplicateExternalId as error:
            raise error.field_errors("externalId") from None
        await self._customers.mark_many_dirty(principal.scope, distinct)
        await self._rescore_queue.request_rescore(principal.workspace_id)
        return stored, created

    async def latest_for_customers(
        self, principal: Principal, customer_ids: list[str], limit: int
    ) -> dict[str, list[Interaction]]:
        """Each customer's newest interactions (at most ``limit``, up to 100), for a whole page at once."""
        principal.require(Permission.READ)
        visible = await visible_customers(self._customers, principal, customer_ids)
        return await self._interactions.latest_for_customers(principal.workspace_id, visible, min(max(limit, 0), 100))


def _new_document(interaction: InteractionCreate, principal: Principal, now: datetime) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": new_id(),
        "workspace_id": principal.workspace_id,
        "customer_id": interaction.customer_id,
        "kind": interaction.kind.value,
        "at": interaction.at or now,
        "rating": interaction.rating,
        "note": interaction.note,
        "created_at": now,
        "request_hash": fingerprint(interaction.model_dump(mode="json", exclude_unset=True)),
    }
    if interaction.external_id is not None:
        document["external_id"] = interaction.external_id
    return document
