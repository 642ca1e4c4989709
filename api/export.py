"""CSV export of customers: ``GET /export/customers.csv`` with the API key, streamed page by page.

Not throttled like interactive queries (a file of 100,000 customers is one request), but authorised and
scoped like them: a sales key exports only its own customers; sensitive fields stay empty for roles that
may not read them. Filters are query parameters: ``segmentId``, ``city``, ``region``, ``tag`` (repeat),
``interest`` (repeat), ``ownerId``, ``classSet`` with ``code`` (repeat), ``text``, ``updatedSince``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.body_limit import refusal
from api.errors import OUTAGE_ERRORS
from domain.customers.export import csv_chunks
from domain.customers.filters import ClassCondition, CustomerFilter
from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.timestamps import aware

log = logging.getLogger(__name__)


class ExportCut(Exception):
    """A streamed export that could not go on: raised so that the connection is cut (the file has no
    end), where ending the stream would hand the client a part that looks like the whole file."""


async def export_customers(request: Request) -> Response:
    services = request.app.state.services
    try:
        principal = await services.keys.authenticate(request.headers.get("authorization"))
        spec = _filter(request)
        await services.customers.readable_query(principal, spec)  # refuses bad filters before the first byte
    except DomainError as error:  # no key, a bad filter, a class set this role may not read
        return refusal(error)
    workspace = await services.workspaces.get(principal.workspace_id)
    pages = services.customers.export_pages(principal, spec)
    return StreamingResponse(
        _cut_on_outage(csv_chunks(pages, workspace.currency), principal.workspace_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )


def _filter(request: Request) -> CustomerFilter:
    params = request.query_params
    since = params.get("updatedSince")
    try:
        updated_since = aware(datetime.fromisoformat(since)) if since else None
    except ValueError:
        raise InvalidInput.one("updatedSince", ErrorCode.INVALID_FORMAT, "an ISO 8601 moment") from None
    class_set = params.get("classSet")
    return CustomerFilter(
        text=params.get("text"),
        city=params.get("city"),
        region=params.get("region"),
        tags=params.getlist("tag"),
        interests=params.getlist("interest"),
        owner_id=params.get("ownerId"),
        class_condition=ClassCondition(class_set, params.getlist("code")) if class_set else None,
        segment_id=params.get("segmentId"),
        updated_since=updated_since,
    )


async def _cut_on_outage(chunks: AsyncIterator[str], workspace_id: str) -> AsyncIterator[str]:
    """Once the first bytes are sent, an outage can no longer be answered with a 503: say why in the log."""
    sent = 0
    try:
        async for chunk in chunks:
            yield chunk
            sent += 1
    except OUTAGE_ERRORS as error:
        log.warning(
            "customer export cut after %d parts: a backing service is unreachable: %s",
            sent,
            error,
            extra={"workspace_id": workspace_id},
        )
        raise ExportCut(f"customer export cut after {sent} parts: {error}") from error
