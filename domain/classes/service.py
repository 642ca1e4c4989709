"""Reading classes: the catalogue and a customer's class history from the ledger."""

from __future__ import annotations

from domain.auth.principals import Permission, Principal
from domain.classes.catalogue import class_set
from domain.classes.events import ClassChangeEvent, ClassEventRepository

MAX_HISTORY = 200


class ClassHistoryService:
    def __init__(self, events: ClassEventRepository) -> None:
        self._events = events

    async def history(
        self, principal: Principal, customer_id: str, class_set_key: str | None, limit: int = 50
    ) -> list[ClassChangeEvent]:
        """Newest first."""
        principal.require(Permission.READ)
        if class_set_key is not None:
            class_set(class_set_key)
        events = await self._events.history(
            principal.workspace_id, customer_id, class_set_key, min(max(limit, 0), MAX_HISTORY)
        )
        return [event.shown_to(principal) for event in events if event.visible_to(principal)]
