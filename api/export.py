"""CSV export of customers: ``GET /export/customers.csv`` with the API key, streamed page by page.

Not throttled like interactive queries (a file of 100,000 customers is one request), but authorised and
scoped like them: a sales key exports only its own customers; sensitive fields stay empty for roles that
may not read them. Filters are query parameters: ``segmentId``, ``city``, ``region``, ``tag`` (repeat),
``interest`` (repeat), ``ownerId``, ``classSet`` with ``code`` (repeat), ``text``, ``updatedSince``.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.body_limit import refusal
from domain.customers.export import csv_chunks
from domain.customers.filters import ClassCondition, CustomerFilter
from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.timestamps import aware


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
        csv_chunks(pages, workspace.currency),
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
