"""CSV import over plain HTTP (the body is the file, not a GraphQL multipart request): simpler for
spreadsheets exported by hand, curl and mobile clients alike.

    POST /import/{customers|orders|interactions}.csv[?dryRun=true][&mode=create|update|upsert][&column=Tên KH:name]
                                                                     -> 202 {"id": ..., "status": "queued"}
    GET  /import/templates/{kind}.csv                                 -> the header and an example row

The file streams into MongoDB as it arrives (up to 50 MB); a job imports it; ``importJob(id)`` in
GraphQL shows its progress and its per-row report.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.body_limit import json_error, refusal
from domain.errors import DomainError, ErrorCode
from domain.imports.kinds import ImportKind, template
from domain.imports.parsing import column_mapping


async def upload(request: Request) -> Response:
    services = request.app.state.services
    kind = request.path_params["kind"]
    try:
        principal = await services.keys.authenticate(request.headers.get("authorization"))
        started = await services.imports.start(
            principal,
            kind,
            _body(request),
            dry_run=request.query_params.get("dryRun") in ("true", "1"),
            mode=request.query_params.get("mode", "create"),
            columns=column_mapping(request.query_params.getlist("column")),  # column=Tên KH:name, repeated
        )
    except DomainError as error:
        return refusal(error)
    return JSONResponse(
        {
            "id": started["_id"],
            "kind": started["kind"],
            "mode": started["mode"],
            "dryRun": started["dry_run"],
            "status": started["status"],
        },
        status_code=202,
    )


async def download_template(request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind not in ImportKind:
        return json_error(404, ErrorCode.NOT_FOUND, "templates: customers, orders, interactions")
    return Response(
        template(ImportKind(kind)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk
