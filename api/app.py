"""The ASGI application: clients opened in the lifespan, the GraphQL endpoint, health and readiness."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from prometheus_client import CONTENT_TYPE_LATEST
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from api.body_limit import BodyLimit, outage
from api.edge import EdgeLimits, document_validator
from api.errors import OUTAGE_ERRORS
from api.event_hub import EventHub
from api.export import export_customers
from api.imports import download_template, upload
from api.persisted import CacheBudget, PersistedQueries
from api.rate_limit import RateLimiter
from api.schema import build_schema
from api.telemetry import ApiMetrics
from api.view import GRAPHIQL_ASSETS, GRAPHIQL_ASSETS_PATH, CrmGraphQL
from domain.clock import Clock, SystemClock
from domain.config import AppConfig
from domain.db import Database, Document, Retention
from domain.event_bus import RedisEventPublisher
from domain.logs import configure_logging
from domain.persisted_queries import PersistedQueryService
from domain.queueing import RqRescoreQueue
from domain.redis_clients import API_RETRIES, RedisBreaker, async_client, sync_client
from domain.services import build_services

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 2.0
MAX_SUBSCRIPTIONS_PER_CONNECTION = 10
# A websocket must send connection_init (with its key) this soon, or it is closed.
CONNECTION_INIT_TIMEOUT_SECONDS = 10


def create_app(config: AppConfig | None = None, clock: Clock | None = None) -> Starlette:
    config = config or AppConfig()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Short timeouts: while MongoDB is away, requests fail fast with SERVICE_UNAVAILABLE, then recover.
        mongo: AsyncMongoClient[Document] = AsyncMongoClient(
            config.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=3000, connectTimeoutMS=2000
        )
        redis_sync = sync_client(config.redis_url, retries=API_RETRIES)
        redis_async = async_client(config.redis_url, retries=API_RETRIES)
        # While Redis is down, writes succeed without it (the dirty flag in MongoDB owes the rescore) and
        # rate limits fail open, each at once rather than after a retry per request.
        breaker = RedisBreaker()
        db = Database.connect(mongo, config.mongodb_db)
        await db.ensure_indexes(Retention.of(config))
        hub = EventHub(
            redis_async,
            config.event_channel_prefix,
            config.subscription_max_seconds,
            delivered=lambda event: metrics.delivered(event, clock.now()),
            settle_seconds=config.event_settle_seconds,
        )
        await hub.start()
        app.state.config = config
        app.state.mongo = mongo
        app.state.redis = redis_async
        app.state.hub = hub
        app.state.rate_limiter = RateLimiter(
            redis_async, config.rate_limit_capacity, config.rate_limit_per_second, breaker
        )
        graphql.persisted_queries = PersistedQueries(
            redis_async,
            PersistedQueryService(db, clock),
            config.persisted_queries,
            CacheBudget(
                config.persisted_query_ttl_seconds,
                config.persisted_query_max_documents,
                config.persisted_query_max_bytes,
            ),
            breaker,
            is_valid=document_validator(schema._schema, limits),
        )
        app.state.rescore_queue = RqRescoreQueue(
            redis_sync, config.rq_queue, config.rescore_pending_ttl_seconds, breaker
        )
        app.state.services = build_services(
            db,
            app.state.rescore_queue,
            notifier=RedisEventPublisher(redis_async, config.event_channel_prefix),
            scoring_batch_size=config.scoring_batch_size,
            key_cache_seconds=config.key_cache_seconds,
            sync_settle_seconds=config.sync_settle_seconds,
            clock=clock,
        )
        hub.on_revoked(app.state.services.keys.forget)
        try:
            yield
        finally:
            await hub.stop()
            await mongo.close()
            await redis_async.aclose()
            redis_sync.close()

    # GraphiQL does not switch introspection on: with it off, GraphiQL still runs queries, without the docs.
    limits = EdgeLimits(max_cost=config.max_query_cost, introspection=config.introspection)
    metrics = ApiMetrics()
    schema = build_schema(limits, metrics)
    graphql = CrmGraphQL(
        schema,
        graphql_ide="graphiql" if config.graphiql else None,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        connection_init_wait_timeout=timedelta(seconds=CONNECTION_INIT_TIMEOUT_SECONDS),
        idle_seconds=config.websocket_idle_seconds,
        metrics=metrics,
    )
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/export/customers.csv", export_customers),
        Route("/import/templates/{kind}.csv", download_template),
        Route("/import/{kind}.csv", upload, methods=["POST"]),
    ]
    if config.graphiql:
        routes.append(Mount(GRAPHIQL_ASSETS_PATH, StaticFiles(directory=GRAPHIQL_ASSETS)))
    if config.metrics_enabled:
        routes.append(Route("/metrics", functools.partial(metrics_page, metrics)))
    return Starlette(
        middleware=[
            *cors_middleware(config),
            Middleware(BodyLimit, max_bytes=config.max_body_bytes, exempt_prefix="/import/"),
        ],
        routes=routes,
        lifespan=lifespan,
        exception_handlers=dict.fromkeys(OUTAGE_ERRORS, outage),
    )


def cors_middleware(config: AppConfig) -> list[Middleware]:
    """Outermost, so that preflights are answered and refusals (413, 429) still carry the CORS headers.
    No credentials: the API key travels in the Authorization header, never in a cookie."""
    origins = [origin.strip() for origin in config.cors_allowed_origins.split(",") if origin.strip()]
    localhost = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?" if config.cors_allow_localhost else None
    if not origins and localhost is None:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_origin_regex=localhost,
            allow_credentials=False,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    ]


def serve() -> Starlette:
    """What uvicorn runs (``uvicorn --factory api.app:serve``): logging as configured, then the app."""
    config = AppConfig()
    configure_logging(config.log_format)
    return create_app(config)


async def metrics_page(metrics: ApiMetrics, request: Request) -> Response:
    metrics.subscriptions.set(request.app.state.hub.listening())
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when MongoDB and Redis answer; says which one does not."""
    state = request.app.state
    checks = {
        "mongodb": _check(state.mongo.admin.command("ping")),
        "redis": _check(state.redis.ping()),
    }
    results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    ready = all(value == "ok" for value in results.values())
    status = {"ready": ready, **results, "subscriptions": state.hub.listening(), "events": state.hub.connected}
    return JSONResponse(status, status_code=200 if ready else 503)


async def _check(awaitable: object) -> str:
    try:
        await asyncio.wait_for(awaitable, READY_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except Exception as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"
