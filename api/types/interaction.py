from __future__ import annotations

from datetime import datetime

import strawberry

from api.types.enums import InteractionKindEnum
from domain.interactions.models import Interaction as DomainInteraction


@strawberry.type
class Interaction:
    id: strawberry.ID
    external_id: str | None
    customer_id: strawberry.ID
    kind: InteractionKindEnum  # type: ignore[valid-type]
    at: datetime
    rating: int | None
    note: str | None
    created_at: datetime

    @classmethod
    def from_domain(cls, i: DomainInteraction) -> Interaction:
        return cls(
            id=strawberry.ID(i.id),
            external_id=i.external_id,
            customer_id=strawberry.ID(i.customer_id),
            kind=i.kind,
            at=i.at,
            rating=i.rating,
            note=i.note,
            created_at=i.created_at,
        )
