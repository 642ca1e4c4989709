"""Reading classes: the catalogue and a customer's class history from the ledger."""

from __future__ import annotations

from domain.auth.principals import Permission, Principal
from domain.classes.catalogue import class_set
from domain.classes.events import ClassChangeEvent, ClassEventRepository, LedgerPosition
from domain.customers.repository import CustomerRepository, visible_customers
from domain.errors import Forbidden, NotFound
from scoring.catalogue import always_sensitive

MAX_HISTORY = 200


class ClassHistoryService:
    def __init__(self, events: ClassEventRepository, customers: CustomerRepository) -> None:
        self._events = events
        self._customers = customers

    async def history(
        self, principal: Principal, customer_ids: list[str], class_set_key: str | None, limit: int = 50
    ) -> dict[str, list[ClassChangeEvent]]:
        """Each customer's class changes, newest first, for a whole page at once."""
        principal.require(Permission.READ)
        if class_set_key is not None:
            require_readable_class_set(principal, class_set(class_set_key).key)
        visible = await visible_customers(self._customers, principal, customer_ids)
        found = await self._events.history(
            principal.workspace_id, visible, class_set_key, min(max(limit, 0), MAX_HISTORY)
        )
        # Events carry their customer's owner: a sales rep sees those of its own customers only.
        return {cid: [event for event in events if event.visible_to(principal)] for cid, events in found.items()}

    async def resume_from(self, principal: Principal, event_id: str) -> LedgerPosition:
        """The ledger position of an event the caller received (a subscription's ``after``); ``"now"``
        starts at the ledger's present end."""
        principal.require(Permission.READ)
        if event_id == START_NOW:
            return await self._events.present()
        position = await self._events.position(principal.workspace_id, event_id)
        if position is None:
            raise NotFound(f"no class event {event_id!r} in the ledger", field="after")
        return position

    async def replay(
        self,
        principal: Principal,
        position: LedgerPosition,
        settle_seconds: float,
        class_set_key: str | None,
        customer_id: str | None,
        limit: int = 100,
    ) -> tuple[list[ClassChangeEvent], LedgerPosition]:
        """The events after ``position`` the caller may see, in ledger order, and the new position."""
        found = await self._events.after(
            principal.workspace_id, position, settle_seconds, class_set_key, customer_id, limit
        )
        if found:
            position = found[-1][1]
        return [event for event, _ in found if event.visible_to(principal)], position


START_NOW = "now"


def require_readable_class_set(principal: Principal, key: str, field: str = "classSet") -> None:
    """Class sets read from sensitive fields cannot be asked for by roles that may not read those fields
    (filters, distributions, history and subscriptions would reveal them customer by customer)."""
    if key in always_sensitive() and not principal.can(Permission.READ_SENSITIVE):
        raise Forbidden(f"{key} is derived from personal details this role may not read", field=field)
