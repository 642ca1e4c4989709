"""An import's progress and per-row report (the upload itself is a plain POST: api/imports.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from api.resolvers.common import CrmInfo, respond
from api.types.enums import OrderStatusEnum
from api.types.errors import UserError
from domain.imports.status_words import KnownWord
from domain.orders.models import OrderStatus
from domain.timestamps import aware


@strawberry.type(description="A row the import refused, and why")
class ImportRowError:
    row: int = strawberry.field(description="The line in the file (the header is line 1)")
    column: str | None
    code: str
    message: str


@strawberry.type(description="What a dry run found a row would do")
class ImportRowPlan:
    row: int = strawberry.field(description="The line in the file (the header is line 1)")
    action: str = strawberry.field(description="create, move or unchanged")
    from_status: str | None = strawberry.field(description="The stored order's status (move, unchanged)")
    to_status: str | None = strawberry.field(description="The status the row gives it")


@strawberry.type
class ImportJob:
    id: strawberry.ID
    kind: str
    dry_run: bool = strawberry.field(description="Checked every row, wrote nothing")
    status: str = strawberry.field(description="queued, running, completed or failed")
    rows_done: int
    mode: str = strawberry.field(description="create (the default), update or upsert")
    imported: int = strawberry.field(description="Rows created (in a dry run: rows that passed)")
    updated: int = strawberry.field(description="Stored customers changed (update and upsert modes)")
    unchanged: int = strawberry.field(description="Rows already stored as they are: nothing written")
    failed: int = strawberry.field(description="Rows refused")
    problem: str | None = strawberry.field(description="Why a failed import stopped (an unreadable file)")
    encoding: str | None = strawberry.field(description="The file's text encoding, as detected (UTF-8, UTF-16, ...)")
    ignored_columns: list[str] = strawberry.field(
        description="Columns of an export that we compute (classes, scores, stats), left out, as written"
    )
    errors: list[ImportRowError] = strawberry.field(description="The first 1,000 refusals")
    errors_omitted: int = strawberry.field(description="Refusals after the first 1,000: counted, not listed")
    warnings: list[ImportRowError] = strawberry.field(
        description="The first 1,000 rows taken with a warning (STALE_UPDATE: older than the stored state, "
        "left as it is); counted as unchanged"
    )
    warnings_omitted: int = strawberry.field(description="Warnings after the first 1,000: counted, not listed")
    plans: list[ImportRowPlan] = strawberry.field(
        description="A dry run of orders in update or upsert mode: what each of the first 1,000 rows it takes "
        "would do (refused rows are in errors)"
    )
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, d: dict[str, Any]) -> ImportJob:
        return cls(
            id=strawberry.ID(d["_id"]),
            kind=d["kind"],
            dry_run=d["dry_run"],
            status=d["status"],
            rows_done=d.get("rows_done", 0),
            mode=d.get("mode", "create"),
            imported=d.get("imported", 0),
            updated=d.get("updated", 0),
            unchanged=d.get("unchanged", 0),
            failed=d.get("failed", 0),
            problem=d.get("problem"),
            encoding=d.get("encoding"),
            ignored_columns=d.get("ignored_columns", []),
            errors=[ImportRowError(**e) for e in d.get("errors", [])],
            errors_omitted=max(d.get("error_count", 0) - len(d.get("errors", [])), 0),
            warnings=[ImportRowError(**w) for w in d.get("warnings", [])],
            plans=[ImportRowPlan(**p) for p in d.get("plans", [])],
            warnings_omitted=max(d.get("warning_count", 0) - len(d.get("warnings", [])), 0),
            created_at=aware(d["created_at"]) or datetime.min,
            finished_at=aware(d.get("finished_at")),
        )


@strawberry.type
class ImportQuery:
    @strawberry.field(
        description="A CSV import started with POST /import/{kind}.csv (a sales key sees the ones it started; "
        "viewers none)"
    )
    async def import_job(self, info: CrmInfo, id: strawberry.ID) -> ImportJob | None:
        context = info.context
        found = await context.services.imports.get(context.principal, str(id))
        return ImportJob.of(found) if found else None

    @strawberry.field(
        description="Every word an orders import reads as a status: the shop's own (setOrderStatusWords) first, "
        "then the platforms' built-in words it has not overridden"
    )
    async def order_status_words(self, info: CrmInfo) -> list[OrderStatusWord]:
        context = info.context
        return [OrderStatusWord.of(word) for word in await context.services.status_words.known(context.principal)]


@strawberry.type(description="A word an orders import reads as one of our statuses")
class OrderStatusWord:
    word: str
    status: OrderStatusEnum  # type: ignore[valid-type]
    shops_own: bool = strawberry.field(description="Set by this shop (over a built-in word that reads the same)")

    @classmethod
    def of(cls, known: KnownWord) -> OrderStatusWord:
        word, status, own = known
        return cls(word=word, status=status, shops_own=own)


@strawberry.input
class OrderStatusWordInput:
    word: str
    status: OrderStatusEnum  # type: ignore[valid-type]


@strawberry.type
class OrderStatusWordsPayload:
    words: list[OrderStatusWord] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Replace the shop's own status words for its order files (admin): each word, compared as "
        "headers are (case and accents aside), reads as the status given, over the built-in words"
    )
    async def set_order_status_words(self, info: CrmInfo, words: list[OrderStatusWordInput]) -> OrderStatusWordsPayload:
        context = info.context
        given = [{"word": word.word, "status": OrderStatus(word.status).value} for word in words]
        return await respond(
            OrderStatusWordsPayload,
            context.services.status_words.replace(context.principal, given),
            lambda known: OrderStatusWordsPayload(words=[OrderStatusWord.of(word) for word in known]),
        )
