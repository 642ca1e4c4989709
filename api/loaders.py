"""The per-request DataLoaders: every child field of a page of customers is read in one command per kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from domain.auth.principals import Principal
from domain.classes.events import ClassChangeEvent
from domain.interactions.models import Interaction
from domain.orders.models import Order
from domain.segments.models import Segment, SegmentEvent
from domain.services import Services
from domain.workspaces.models import User

# (customer id, page size): pages of one size are read together.
type PageKey = tuple[str, int]
# (customer id, class set or None for all, page size)
type HistoryKey = tuple[str, str | None, int]


@dataclass(frozen=True, slots=True)
class Loaders:
    users: DataLoader[str, User | None]
    orders: DataLoader[PageKey, list[Order]]
    interactions: DataLoader[PageKey, list[Interaction]]
    class_history: DataLoader[HistoryKey, list[ClassChangeEvent]]
    segments: DataLoader[str, Segment | None]
    segment_counts: DataLoader[str, int]
    segment_history: DataLoader[PageKey, list[SegmentEvent]]


def build_loaders(services: Services, principal: Principal) -> Loaders:
    async def users(ids: list[str]) -> list[User | None]:
        found = await services.workspaces.users_by_ids(principal, ids)
        return [found.get(user_id) for user_id in ids]

    async def class_history(keys: list[HistoryKey]) -> list[list[ClassChangeEvent]]:
        results: dict[HistoryKey, list[ClassChangeEvent]] = {}
        for (class_set, limit), group in _grouped(keys, lambda key: (key[1], key[2])).items():
            found = await services.class_history.history(principal, [key[0] for key in group], class_set, limit)
            results.update({key: found.get(key[0], []) for key in group})
        return [results[key] for key in keys]

    async def segments(ids: list[str]) -> list[Segment | None]:
        found = await services.segments.by_ids(principal, ids)
        return [found.get(segment_id) for segment_id in ids]

    async def segment_counts(ids: list[str]) -> list[int]:
        found = await services.segments.counts(principal, ids)
        return [found.get(segment_id, 0) for segment_id in ids]

    return Loaders(
        users=DataLoader(load_fn=users),
        segment_counts=DataLoader(load_fn=segment_counts),
        segments=DataLoader(load_fn=segments),
        segment_history=DataLoader(load_fn=_pages(lambda ids, n: services.segments.history(principal, ids, n))),
        orders=DataLoader(load_fn=_pages(lambda ids, n: services.orders.latest_for_customers(principal, ids, n))),
        interactions=DataLoader(
            load_fn=_pages(lambda ids, n: services.interactions.latest_for_customers(principal, ids, n))
        ),
        class_history=DataLoader(load_fn=class_history),
    )


def _pages[T](
    read: Callable[[list[str], int], Awaitable[dict[str, list[T]]]],
) -> Callable[[list[PageKey]], Awaitable[list[list[T]]]]:
    """A batch function for (customer, page size) keys: one read per distinct page size."""

    async def load(keys: list[PageKey]) -> list[list[T]]:
        results: dict[PageKey, list[T]] = {}
        for limit, group in _grouped(keys, lambda key: key[1]).items():
            found = await read([key[0] for key in group], limit)
            results.update({key: found.get(key[0], []) for key in group})
        return [results[key] for key in keys]

    return load


def _grouped[K, G](keys: Sequence[K], by: Callable[[K], G]) -> dict[G, list[K]]:
    groups: dict[G, list[K]] = {}
    for key in dict.fromkeys(keys):
        groups.setdefault(by(key), []).append(key)
    return groups
