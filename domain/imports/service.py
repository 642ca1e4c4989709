"""CSV imports of customers, orders and interactions: the upload is kept in MongoDB (GridFS) and a job
reads it as a stream, a batch of rows at a time, through the same bulk paths and validation as the API.

Every row that passes is imported, every row that does not is reported (row, column, code, message);
nothing is written in a dry run. Rows are idempotent by external id (required here), so importing the
same file twice changes nothing, and a job that dies is simply run again: it resumes after the last
batch it recorded (MongoDB, not the queue, says what is left), until three attempts in a row have
recorded nothing. Whatever the file holds, what the import stores and logs about it is bounded
(``domain.imports.report``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from gridfs import AsyncGridFSBucket, NoFile
from pymongo import ReturnDocument
from pymongo.errors import DocumentTooLarge, PyMongoError, WriteError

from domain.auth.principals import Permission, Principal, Role
from domain.clock import Clock
from domain.csv_cells import from_text
from domain.customers.inputs import CustomerCreate, CustomerFields
from domain.customers.repository import CustomerRepository
from domain.customers.service import CustomerService
from domain.db import Database, new_id
from domain.errors import DomainError, ErrorCode, FieldError, InvalidInput
from domain.imports import report
from domain.imports.encoding import ADVICE, UnknownEncoding, shown, text_encoding
from domain.imports.kinds import COLUMNS, EXTRA_COLUMNS, IGNORED_COLUMNS, Column, ImportKind, column_names
from domain.imports.order_lines import ITEM_LINES, Problem, cell_of, continues, with_order_lines
from domain.imports.order_statuses import status_reader
from domain.imports.parsing import BadValue, column_key, composed, delimiter_of, records
from domain.interactions.inputs import InteractionCreate
from domain.interactions.service import InteractionService
from domain.liveness import WorkerLiveness
from domain.orders.inputs import OrderCreate
from domain.orders.service import OrderService
from domain.ports import ImportQueue
from domain.validation import validate
from domain.workspaces.repository import WorkspaceRepository

BATCH_ROWS = 500
MAX_FILE_BYTES = 50 * 1024 * 1024
# A header is a few hundred characters (an export's, with every class set, under two thousand); a line
# this long is not a header, and reading it whole would only make a message nobody can store.
MAX_HEADER_CHARS = 64 * 1024
# The longest value we take is a note of 2,000 characters; a longer cell is refused before it is looked
# up or quoted (500 of them stay well within a MongoDB command).
MAX_CELL_CHARS = 10_000
# Attempts in a row that ended without recording a batch (a file that kills its worker, say): then the
# import is given up, not re-run by every sweep.
MAX_ATTEMPTS = 3
# Headers an upload may map to our columns.
MAX_MAPPED_COLUMNS = 100
LEASE = timedelta(minutes=10)
# Imports past their retention removed per sweep, at most.
RETENTION_BATCH = 100
ROW_PATH = re.compile(r"rows\.(\d+)\.?(.*)")


class ImportMode(StrEnum):
    CREATE = "create"  # new customers; a stored external id with other content is refused
    UPDATE = "update"  # stored customers only, by external id
    UPSERT = "upsert"  # stored ones updated, the others created


@dataclass(frozen=True, slots=True)
class Counts:
    """What a batch did: rows created, updated, and found as they were (a repeated row)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_written_before(self, mode: ImportMode) -> Counts:
        """The batch an attempt that died was writing: its rows found as they are were (most likely)
        written by that attempt, so they count as what the mode writes, not as unchanged."""
        if mode is ImportMode.CREATE:
            return Counts(self.created + self.unchanged, self.updated, 0)
        return Counts(self.created, self.updated + self.unchanged, 0)


@dataclass(slots=True)
class BatchDone:
    """What a batch did: its counts, the rows it refused and the rows taken with a warning (report rows)."""

    counts: Counts
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)  # a dry run's: what each row would do


class ImportService:
    def __init__(
        self,
        db: Database,
        customers: CustomerService,
        customer_records: CustomerRepository,
        orders: OrderService,
        interactions: InteractionService,
        workspaces: WorkspaceRepository,
        queue: ImportQueue,
        clock: Clock,
        liveness: WorkerLiveness,
        dead_after_seconds: float,
    ) -> None:
        self._liveness = liveness
        self._dead_after_seconds = dead_after_seconds
        self._clock = clock
        self._workspaces = workspaces
        self._imports = db.imports
        self._files = AsyncGridFSBucket(db.db, bucket_name="import_files")
        self._customers = customers
        self._customer_records = customer_records
        self._orders = orders
        self._interactions = interactions
        self._queue = queue

    async def start(
        self,
        principal: Principal,
        kind: str,
        upload: AsyncIterator[bytes],
        *,
        dry_run: bool = False,
        mode: str = ImportMode.CREATE,
        columns: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Keep the upload and queue its import; returns the import's status document. ``columns`` maps
        the file's own headers to ours ({"Tên KH": "name"}), ahead of the names we recognise."""
        principal.require(Permission.WRITE_CUSTOMERS)
        if kind not in ImportKind:
            raise InvalidInput.one("kind", ErrorCode.INVALID_CHOICE, "customers, orders or interactions")
        mapping = _column_mapping(ImportKind(kind), columns or {})
        if mode not in ImportMode:
            raise InvalidInput.one("mode", ErrorCode.INVALID_CHOICE, "create (the default), update or upsert")
        if mode != ImportMode.CREATE and kind == ImportKind.INTERACTIONS:
            message = "interactions are records of what happened: they are only created (mode=create)"
            raise InvalidInput.one("mode", ErrorCode.INVALID_CHOICE, message)
        import_id = new_id()
        stream = self._files.open_upload_stream(f"{import_id}.csv")
        size = 0
        async for chunk in upload:
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                await stream.abort()
                raise InvalidInput.one(None, ErrorCode.REQUEST_TOO_LARGE, f"at most {MAX_FILE_BYTES} bytes")
            await stream.write(chunk)
        await stream.close()
        document = {
            "_id": import_id,
            "workspace_id": principal.workspace_id,
            # The job acts for the uploader, within its scope (a sales key imports its own customers).
            "principal": {"user_id": principal.user_id, "role": principal.role.value, "key_id": principal.key_id},
            "kind": kind,
            "dry_run": dry_run,
            "mode": str(mode),
            "columns": mapping,
            "file_id": stream._id,
            "bytes": size,
            "status": "queued",
            "lines_done": 1,  # the header
            "rows_done": 0,
            "imported": 0,
            "updated": 0,
            "unchanged": 0,
            "failed": 0,
            "errors": [],
            "error_count": 0,
            "attempts": 0,
            "created_at": self._clock.now(),
            "updated_at": self._clock.now(),
        }
        await self._imports.insert_one(document)
        await self._queue.enqueue_import(import_id)
        return document

    async def stalled(self, older_than: datetime) -> list[str]:
        """For the sweeper: imports queued or running but not advanced for a while (their job was lost)."""
        cursor = self._imports.find(
            {"status": {"$in": ["queued", "running"]}, "updated_at": {"$lt": older_than}}, {"_id": 1}
        )
        return [document["_id"] async for document in cursor]

    async def get(self, principal: Principal, import_id: str) -> dict[str, Any] | None:
        """An import's report quotes the cells of its file: a sales key sees only the imports it started
        (others' are as if they did not exist), viewers, who cannot import, none."""
        principal.require(Permission.WRITE_CUSTOMERS)
        query: dict[str, Any] = {"_id": import_id, "workspace_id": principal.workspace_id}
        if principal.scope.owner_id is not None:
            query["principal.user_id"] = principal.scope.owner_id
        return await self._imports.find_one(query)

    async def run(self, import_id: str, worker: str | None = None) -> str:
        """The job: rows after the last recorded batch, a batch at a time; safe to run again. Returns a
        short line for the worker's log. ``worker``: the long-running worker process holding the lease,
        whose death the sweeper notices (domain.liveness)."""
        document = await self._imports.find_one({"_id": import_id})
        if document is None:
            return "no such import"
        if document["status"] in ("completed", "failed"):
            return f"already {document['status']}"
        claimed = await self._claim(import_id, worker)
        if claimed is None:
            return "another job is running this import"
        attempts = claimed["attempts"]
        if attempts > MAX_ATTEMPTS:  # the earlier ones died without a word (a killed worker)
            return await self._fail(import_id, _given_up(claimed.get("last_error") or "the worker stopped"))
        principal, kind = _principal(claimed), ImportKind(claimed["kind"])
        try:
            workspace = await self._workspaces.get(principal.workspace_id)
            batches = self._batches(
                import_id,
                claimed["file_id"],
                kind,
                skip=claimed["lines_done"],
                mapping=claimed.get("columns") or {},
                status_words=workspace.order_status_words if workspace else (),
            )
            mode = ImportMode(claimed.get("mode", ImportMode.CREATE))
            async for last_line, rows in batches:
                # Said before the batch is written, so that a takeover knows which rows a dead attempt
                # may have written already.
                await self._imports.update_one({"_id": import_id}, {"$set": {"writing_line": last_line}})
                done = await self._import_batch(principal, kind, rows, claimed["dry_run"], mode)
                if claimed.get("writing_line") == last_line:
                    done.counts = done.counts.as_written_before(mode)
                await self._record(import_id, last_line, len(rows), done)
                attempts = 1
        except (BadFile, csv.Error) as error:
            return await self._fail(
                import_id, error.message if isinstance(error, BadFile) else f"the file cannot be read: {error}"
            )
        except _Unstorable:
            return await self._fail(import_id, report.UNSTORABLE)
        except Exception as error:
            await self._attempt_died(import_id, attempts, error)
            raise
        final = await self._imports.find_one_and_update(
            {"_id": import_id},
            {"$set": {"status": "completed", "finished_at": self._clock.now()}, "$unset": {"lease_until": ""}},
            return_document=ReturnDocument.AFTER,
        )
        return report.summary(final or {})

    async def _claim(self, import_id: str, worker: str | None) -> dict[str, Any] | None:
        """One job at a time per import: a lease, renewed with every batch, that a lost job's lets lapse.
        Each claim is an attempt; recording a batch brings the count back to one."""
        now = self._clock.now()
        return await self._imports.find_one_and_update(
            {
                "_id": import_id,
                "status": {"$in": ["queued", "running"]},
                "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}],
            },
            {
                "$set": {"status": "running", "lease_until": now + LEASE, "leased_by": worker},
                "$inc": {"attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )

    async def abandoned(self) -> list[str]:
        """For the sweeper: running imports whose lease a dead worker holds. Their lease is released at
        once (it would otherwise run its ten minutes), so the import can be queued again."""
        cursor = self._imports.find({"status": "running", "leased_by": {"$type": "string"}}, {"leased_by": 1})
        held = {document["_id"]: document["leased_by"] async for document in cursor}
        dead = await self._liveness.dead(set(held.values()), self._dead_after_seconds)
        released = []
        for import_id, worker in held.items():
            if worker in dead:
                result = await self._imports.update_one(
                    {"_id": import_id, "status": "running", "leased_by": worker},
                    {"$unset": {"lease_until": "", "leased_by": ""}},
                )
                if result.modified_count:
                    released.append(import_id)
        return released

    async def forget_older_than(self, before: datetime) -> int:
        """Retention: finished imports created before ``before`` go, their uploaded file first (a crash in
        between leaves the import, found again next time)."""
        cursor = self._imports.find(
            {"created_at": {"$lt": before}, "status": {"$in": ["completed", "failed"]}}, {"file_id": 1}
        ).limit(RETENTION_BATCH)
        forgotten = 0
        async for document in cursor:
            if document.get("file_id") is not None:
                with contextlib.suppress(NoFile):
                    await self._files.delete(document["file_id"])
            await self._imports.delete_one({"_id": document["_id"]})
            forgotten += 1
        return forgotten

    async def _fail(self, import_id: str, message: str) -> str:
        """The import ends failed, with its reason; if even that cannot be stored, with a fixed one."""
        ended = {"status": "failed", "finished_at": self._clock.now(), "problem": report.problem(message)}
        try:
            await self._imports.update_one({"_id": import_id}, {"$set": ended, "$unset": {"lease_until": ""}})
        except (DocumentTooLarge, WriteError):
            ended["problem"] = report.UNSTORABLE
            await self._imports.update_one({"_id": import_id}, {"$set": ended, "$unset": {"lease_until": ""}})
        return f"failed: {ended['problem']}"

    async def _attempt_died(self, import_id: str, attempts: int, error: Exception) -> None:
        """An attempt ended in an unexpected error (which the caller raises again): remembered, and after
        ``MAX_ATTEMPTS`` in a row without progress the import is given up."""
        last = report.clipped(f"{type(error).__name__}: {error}", report.MAX_MESSAGE_CHARS)
        # Best effort: the error being raised matters more than this note (the claim counted the attempt).
        with contextlib.suppress(PyMongoError):
            if attempts >= MAX_ATTEMPTS:
                await self._fail(import_id, _given_up(last))
            else:
                await self._imports.update_one({"_id": import_id}, {"$set": {"last_error": last}})

    async def _batches(
        self,
        import_id: str,
        file_id: Any,
        kind: ImportKind,
        *,
        skip: int,
        mapping: dict[str, str],
        status_words: Sequence[tuple[str, str]] = (),
    ) -> AsyncIterator[tuple[int, list[dict[str, Any]]]]:
        """(the batch's last line number, rows as the API takes them) per batch, after line ``skip``; a
        cell that cannot be read comes as a ``__bad__`` entry (column, message). The upload is copied to
        a temporary file first, so that quoted cells may span lines and nothing is held in memory."""
        with tempfile.TemporaryFile() as raw:
            download = await self._files.open_download_stream(file_id)
            while chunk := await download.readchunk():
                raw.write(chunk)
            raw.seek(0)
            try:
                encoding = text_encoding(raw)
            except UnknownEncoding as error:
                raise BadFile(str(error)) from None
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            try:
                header_line = text.readline(MAX_HEADER_CHARS + 2)
                delimiter, columns = _header(header_line, kind, mapping)
                if status_words and "status" in columns.known:
                    columns.known["status"] = Column("status", status_reader(status_words))
                await self._imports.update_one(
                    {"_id": import_id}, {"$set": {"encoding": shown(encoding), "ignored_columns": columns.ignored}}
                )
                reader = records(text, delimiter)
                batch: list[dict[str, Any]] = []
                for cells in reader:
                    line = reader.line_num + 1  # the header was read before the reader started
                    if line <= skip or not any(cell.strip() for cell in cells):
                        continue
                    row = _row(columns.names, cells, columns.known, line)
                    # An order's lines (consecutive rows of one external id) stay in one batch.
                    if len(batch) >= BATCH_ROWS and not continues(batch, row, len(batch) - BATCH_ROWS):
                        yield batch[-1]["__line__"], batch
                        batch = []
                    batch.append(row)
                if batch:
                    yield reader.line_num + 1, batch
            except UnicodeDecodeError as error:
                where = f"byte {error.start:,} of a line"
                raise BadFile(f"the file is not readable as {shown(encoding)} ({where}): {ADVICE}") from None

    async def _import_batch(
        self, principal: Principal, kind: ImportKind, rows: list[dict[str, Any]], dry_run: bool, mode: ImportMode
    ) -> BatchDone:
        errors: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []
        unreadable: list[tuple[int, dict[str, Any], list[Problem]]] = []
        for row in with_order_lines(rows) if kind is ImportKind.ORDERS else rows:
            line, bad = row.pop("__line__"), row.pop("__bad__")
            if not row.get("external_id"):
                bad.insert(0, (line, "external_id", ErrorCode.REQUIRED, "every row needs its external id"))
            if bad:
                unreadable.append((line, row, bad))
            else:
                pending.append({**row, "__line__": line})
        # Refused already: the rest of each such row is checked too, so that one round fixes every cell.
        others = await self._other_problems(principal, kind, unreadable)
        for (_, _, bad), more in zip(unreadable, others, strict=True):
            reported = {(at, column) for at, column, _, _ in bad}
            bad += [problem for problem in more if problem[:2] not in reported]
            errors += [report.row_error(at, column, code.value, message) for at, column, code, message in bad]
        if kind is not ImportKind.CUSTOMERS:
            pending = await self._with_customer_ids(principal, pending, errors)
        if mode is not ImportMode.CREATE and (not dry_run or kind is ImportKind.ORDERS):
            return await self._upsert(principal, kind, pending, mode, errors, dry_run=dry_run)
        while pending:
            lines = [row.pop("__line__") for row in pending]
            item_lines = [row.pop(ITEM_LINES, []) for row in pending]
            try:
                if dry_run:
                    await self._validate_each(principal, kind, pending, partial=mode is not ImportMode.CREATE)
                    created = len(pending)
                else:
                    created = await self._write(principal, kind, pending)
            except InvalidInput as error:
                refused = self._refused(error.errors, lines, item_lines, errors)
                if not refused:
                    raise
                pending = [{**row, "__line__": line, ITEM_LINES: items}
                           for i, (row, line, items) in enumerate(zip(pending, lines, item_lines, strict=True))
                           if i not in refused]  # fmt: skip
                continue
            return BatchDone(Counts(created=created, unchanged=len(pending) - created), errors)
        return BatchDone(Counts(), errors)

    async def _write(self, principal: Principal, kind: ImportKind, rows: Sequence[dict[str, Any]]) -> int:
        """The rows written; returns how many were new (the others were stored already, unchanged)."""
        if kind is ImportKind.CUSTOMERS:
            return (await self._customers.create_many_counted(principal, rows))[1]
        if kind is ImportKind.ORDERS:
            return (await self._orders.record_many_counted(principal, rows))[1]
        return (await self._interactions.record_many_counted(principal, rows))[1]

    async def _upsert(
        self,
        principal: Principal,
        kind: ImportKind,
        rows: list[dict[str, Any]],
        mode: ImportMode,
        errors: list[dict[str, Any]],
        *,
        dry_run: bool = False,
    ) -> BatchDone:
        """An update mode: stored customers updated, stored orders moved to the status their row shows (or
        either left as it is), others created (upsert). A dry run (orders) reports each row's plan."""
        lines = [row.pop("__line__") for row in rows]
        item_lines = [row.pop(ITEM_LINES, []) for row in rows]
        create_missing = mode is ImportMode.UPSERT
        if kind is ImportKind.CUSTOMERS:
            outcome = await self._customers.upsert_many(principal, rows, create_missing=create_missing)
        else:
            outcome = await self._orders.upsert_many(principal, rows, create_missing=create_missing, dry_run=dry_run)
        if outcome.problems:
            self._refused(outcome.problems, lines, item_lines, errors)
        warnings = [report.row_error(at, column, code.value, message)
                    for _, (at, column, code, message) in _located(outcome.warnings, lines, item_lines)]  # fmt: skip
        plans = [report.row_plan(lines[plan.index], plan.action, plan.before, plan.after) for plan in outcome.plans]
        return BatchDone(Counts(outcome.created, outcome.updated, outcome.unchanged), errors, warnings, plans)

    async def _validate_each(
        self, principal: Principal, kind: ImportKind, rows: Sequence[dict[str, Any]], *, partial: bool = False
    ) -> None:
        """A dry run: the API's validation of each row (with the workspace's country and currency, as the
        real path has), nothing written. ``partial``: customers as an update takes them (no name needed)."""
        workspace = await self._workspaces.get(principal.workspace_id)
        country, currency = (workspace.country, workspace.currency) if workspace else ("VN", "VND")
        creating = CustomerFields if partial else CustomerCreate
        model: Any = {ImportKind.CUSTOMERS: creating, ImportKind.ORDERS: OrderCreate}.get(kind, InteractionCreate)
        problems: list[FieldError] = []
        for index, row in enumerate(rows):
            try:
                validate(model, row, country=country, currency=currency, now=self._clock.now())
            except InvalidInput as error:
                problems += [FieldError(f"rows.{index}.{e.field}", e.code, e.message) for e in error.errors]
        if problems:
            raise InvalidInput(problems)

    async def _other_problems(
        self, principal: Principal, kind: ImportKind, rows: list[tuple[int, dict[str, Any], list[Problem]]]
    ) -> list[list[Problem]]:
        """Per row, what the API's validation says of its other cells (one workspace read for the batch)."""
        problems: list[list[Problem]] = [[] for _ in rows]
        checked = [
            {k: v for k, v in row.items() if k not in ("customer_external_id", ITEM_LINES)} for _, row, _ in rows
        ]
        for (_, row, bad), check in zip(rows, checked, strict=True):
            # The customer is looked up by its external id later; a bad one is reported already.
            if row.get("customer_external_id") or any(column == "customer_external_id" for _, column, _, _ in bad):
                check.setdefault("customer_id", "looked up later")
        try:
            if checked:
                await self._validate_each(principal, kind, checked)
        except InvalidInput as error:
            lines = [line for line, _, _ in rows]
            for index, located in _located(error.errors, lines, [row.get(ITEM_LINES, []) for _, row, _ in rows]):
                problems[index].append(located)
        return problems

    def _refused(
        self, problems: list[FieldError], lines: list[int], item_lines: list[list[int]], errors: list[dict[str, Any]]
    ) -> set[int]:
        """The rows ``problems`` refuse (their positions), each problem added to the report."""
        refused: set[int] = set()
        for index, (at, column, code, message) in _located(problems, lines, item_lines):
            refused.add(index)
            errors.append(report.row_error(at, column, code.value, message))
        return refused

    async def _with_customer_ids(
        self, principal: Principal, rows: list[dict[str, Any]], errors: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Orders and interactions name their customer by the shop's id: one look-up per batch."""
        wanted = [row["customer_external_id"] for row in rows if row.get("customer_external_id")]
        found = await self._customer_records.ids_by_external_id(principal.scope, wanted)
        kept = []
        for row in rows:
            external = row.pop("customer_external_id", None)
            if external is not None:
                if external not in found:
                    message = f"no customer with external id {report.quoted(external)}"
                    code = ErrorCode.UNKNOWN_CUSTOMER.value
                    errors.append(report.row_error(row["__line__"], "customer_external_id", code, message))
                    continue
                row["customer_id"] = found[external]
            kept.append(row)
        return kept

    async def _record(self, import_id: str, last_line: int, rows: int, batch: BatchDone) -> None:
        """A batch is done: counted once (only while its lines are not yet recorded as done). The first
        refusals are listed (in the file's order), the rest only counted, so that the report stays one
        storable document."""
        now = self._clock.now()
        listed = report.MAX_REPORTED_ERRORS
        counts, errors = batch.counts, batch.errors
        in_order = sorted(errors, key=lambda error: int(error["row"]))
        warned = sorted(batch.warnings, key=lambda warning: int(warning["row"]))
        done = {"rows_done": rows, "imported": counts.created, "updated": counts.updated, "unchanged": counts.unchanged,
                "failed": len({e["row"] for e in errors}), "warning_count": len(warned)}  # fmt: skip
        try:
            await self._imports.update_one(
                {"_id": import_id, "lines_done": {"$lt": last_line}},
                {
                    "$inc": {**done, "error_count": len(errors)},
                    "$set": {"lines_done": last_line, "updated_at": now, "lease_until": now + LEASE, "attempts": 1},
                    "$push": {
                        "errors": {"$each": in_order[:listed], "$slice": listed},
                        "warnings": {"$each": warned[:listed], "$slice": listed},
                        "plans": {"$each": batch.plans[:listed], "$slice": listed},
                    },
                },
            )
        except (DocumentTooLarge, WriteError) as error:
            raise _Unstorable from error


class BadFile(DomainError):
    code = ErrorCode.INVALID_FORMAT


class _Unstorable(Exception):
    """MongoDB refused the report of a batch (too large): retrying would refuse it again."""


def _given_up(last: str) -> str:
    return f"given up after {MAX_ATTEMPTS} attempts that stopped without progress; the last: {last}"


def _principal(document: dict[str, Any]) -> Principal:
    stored = document["principal"]
    return Principal(document["workspace_id"], stored["user_id"], Role(stored["role"]), stored["key_id"])


def _located(
    problems: list[FieldError], lines: list[int], item_lines: list[list[int]]
) -> Iterator[tuple[int, Problem]]:
    """(row position, problem at its line and column) for each problem naming a row (``rows.N.field``)."""
    for problem in problems:
        found = ROW_PATH.match(problem.field or "")
        if found is not None:
            index = int(found.group(1))
            at, column = cell_of(lines[index], item_lines[index], found.group(2))
            yield index, (at, column, problem.code, problem.message)


@dataclass(frozen=True, slots=True)
class _Columns:
    names: list[str]  # per position: the column it is, or "" for one we leave out
    known: dict[str, Column]
    ignored: list[str]  # columns of an export that we compute, as written in the header


def _column_mapping(kind: ImportKind, columns: dict[str, str]) -> dict[str, str]:
    """The upload's column mapping, keyed like headers are compared; every target must be one of ours."""
    ours = {c.name for c in (*COLUMNS[kind], *EXTRA_COLUMNS.get(kind, ()))}
    if len(columns) > MAX_MAPPED_COLUMNS:
        raise InvalidInput.one("columns", ErrorCode.TOO_MANY_ITEMS, f"at most {MAX_MAPPED_COLUMNS} columns")
    wrong = sorted(target for target in columns.values() if target not in ours)
    if wrong:
        message = f"{report.quoted(wrong[0])} is none of this kind's columns: {', '.join(sorted(ours))}"
        raise InvalidInput.one("columns", ErrorCode.INVALID_CHOICE, message)
    return {column_key(header): target for header, target in columns.items() if column_key(header)}


def _header(header_line: str, kind: ImportKind, mapping: dict[str, str]) -> tuple[str, _Columns]:
    """The separator and what each column of the header is; unknown columns refuse the file, named as
    written."""
    if not header_line.strip():
        raise BadFile("the file is empty")
    if len(header_line.rstrip("\r\n")) > MAX_HEADER_CHARS:
        raise BadFile(f"the header (the first line) is longer than {MAX_HEADER_CHARS:,} characters")
    delimiter = delimiter_of(header_line)
    written = [composed(name).strip() for name in next(records(iter([header_line]), delimiter))]
    known = {c.name: c for c in (*COLUMNS[kind], *EXTRA_COLUMNS.get(kind, ()))}
    aliases = {**column_names(kind), **mapping}
    computed = {column_key(name) for name in IGNORED_COLUMNS.get(kind, frozenset())}
    names = [aliases.get(column_key(name), "") for name in written]
    unknown = [w for w, n in zip(written, names, strict=True) if w and not n and column_key(w) not in computed]
    if unknown:
        raise BadFile(report.unknown_columns(unknown, [c.name for c in COLUMNS[kind]]))
    ignored = [w for w, n in zip(written, names, strict=True) if w and not n]
    return delimiter, _Columns(names, known, ignored[: report.MAX_LISTED_COLUMNS * 10])


def _row(header: list[str], cells: list[str], known: dict[str, Any], line: int) -> dict[str, Any]:
    """The row as the API takes it; cells of columns we ignore are left out, cells that cannot be read
    are listed under ``__bad__`` as (line, column, code, message)."""
    row: dict[str, Any] = {"__line__": line, "__bad__": []}
    for name, cell in zip(header, cells, strict=False):
        column = known.get(name)
        if column is None or not cell.strip():
            continue
        if len(cell) > MAX_CELL_CHARS:
            row["__bad__"].append((line, name, ErrorCode.INVALID_LENGTH, f"at most {MAX_CELL_CHARS:,} characters"))
            continue
        try:
            row[name] = column.read(from_text(composed(cell)))
        except (BadValue, ValueError) as error:
            message = f"expected {error}" if isinstance(error, BadValue) else "unreadable"
            row["__bad__"].append((line, name, ErrorCode.INVALID_FORMAT, message))
    return row
