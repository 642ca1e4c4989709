"""Process configuration, read from the environment (see the README's configuration table)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Customers per scoring job: per-batch commands are constant, so larger batches mean fewer commands per
# customer, at the cost of memory and of the time one job holds a worker.
DEFAULT_SCORING_BATCH_SIZE = 5000


class AppConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True, env_parse_none_str="")

    mongodb_uri: str = Field(default="mongodb://127.0.0.1:27017/?directConnection=true")
    mongodb_db: str = Field(default="crm")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0")
    rq_queue: str = Field(default="crm")
    event_channel_prefix: str = Field(default="crm:events")
    sweep_interval_seconds: int = Field(default=30, ge=1)
    # A worker beats this often; one not seen for worker_dead_after_seconds is dead and its work is taken
    # over by the next sweep (so, within about a minute by default).
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0, alias="WORKER_HEARTBEAT_SECONDS")
    worker_dead_after_seconds: float = Field(default=45.0, gt=0, alias="WORKER_DEAD_AFTER_SECONDS")
    scoring_batch_size: int = Field(default=DEFAULT_SCORING_BATCH_SIZE, ge=1, le=50_000)
    rescore_pending_ttl_seconds: int = Field(default=600, ge=10)
    # The workspace's RFM quintiles are recomputed at most this often (each refresh reads every paying customer).
    rfm_refresh_seconds: int = Field(default=60, ge=0)
    graphiql: bool = Field(default=False, alias="CRM_GRAPHIQL")
    introspection: bool = Field(default=False, alias="CRM_INTROSPECTION")
    max_query_cost: int = Field(default=20_000, ge=10)
    # A page of 100 customers with classes, stats, orders and owner costs about 1,900: the bucket lets a
    # frontend page through at a few pages a second, with a burst of dozens.
    rate_limit_capacity: int = Field(default=100_000, ge=10)
    rate_limit_per_second: float = Field(default=5_000.0, gt=0)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # Browser frontends on other origins: a comma-separated list (none by default), and any localhost port
    # (what `make run` turns on for local frontends).
    cors_allowed_origins: str = Field(default="", alias="CORS_ALLOWED_ORIGINS")
    cors_allow_localhost: bool = Field(default=False, alias="CORS_ALLOW_LOCALHOST")
    # A known key is trusted this long without a database look-up (revocations announced on Redis end it
    # at once; this is the bound when that announcement is lost).
    key_cache_seconds: float = Field(default=5.0, ge=0)
    subscription_max_seconds: float = Field(default=3600.0, gt=0)
    websocket_idle_seconds: float = Field(default=300.0, gt=0)
    # Persisted queries: "apq" (clients may send a document's hash instead of its text, the Apollo protocol;
    # the cache is in Redis, shared by every API process), "allowlist" (only documents registered with
    # `crm allow-query` run) or "off".
    persisted_queries: Literal["apq", "allowlist", "off"] = Field(default="apq", alias="PERSISTED_QUERIES")
    persisted_query_ttl_seconds: int = Field(default=7 * 86400, ge=60, alias="PERSISTED_QUERY_TTL_SECONDS")
    # Each workspace's share of that cache (in the Redis that holds the queues): a document past it still
    # runs, it is just not kept. An app's documents are typically a few hundred of a few KB each.
    persisted_query_max_documents: int = Field(default=500, ge=0, alias="PERSISTED_QUERY_MAX_DOCUMENTS")
    persisted_query_max_bytes: int = Field(default=2 * 1024 * 1024, ge=0, alias="PERSISTED_QUERY_MAX_BYTES")
    # Operators: Prometheus metrics at the API's /metrics (not behind the API key: expose it to Prometheus
    # only) and on the worker's own port; logs as JSON lines or text.
    metrics_enabled: bool = Field(default=False, alias="METRICS_ENABLED")
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535, alias="WORKER_METRICS_PORT")
    log_format: Literal["json", "text"] = Field(default="json", alias="LOG_FORMAT")
    # Offline sync (orderBy CHANGED, deletedCustomers) returns changes at least this old (see the README).
    sync_settle_seconds: float = Field(default=5.0, ge=0, alias="SYNC_SETTLE_SECONDS")
    # A subscription resumed with `after` reads the ledger in order, events at least this old.
    event_settle_seconds: float = Field(default=1.0, gt=0, alias="EVENT_SETTLE_SECONDS")
    # Retention in days of what only grows (empty: kept for ever); see the README's production section.
    tombstone_retention_days: int | None = Field(default=180, ge=1, alias="TOMBSTONE_RETENTION_DAYS")
    ledger_retention_days: int | None = Field(default=None, ge=1, alias="LEDGER_RETENTION_DAYS")
    import_retention_days: int | None = Field(default=30, ge=1, alias="IMPORT_RETENTION_DAYS")
    allow_list_retention_days: int | None = Field(default=None, ge=1, alias="ALLOW_LIST_RETENTION_DAYS")
    default_currency: str = Field(default="VND", alias="CRM_DEFAULT_CURRENCY")
    default_country: str = Field(default="VN", alias="CRM_DEFAULT_COUNTRY")
