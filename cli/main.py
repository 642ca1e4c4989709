"""Command line for operators: workspaces, API keys and the schema export."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from graphql import GraphQLError, parse
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure
from rich.console import Console

from domain.auth.principals import Principal, Role
from domain.config import AppConfig
from domain.customers.export import csv_chunks
from domain.customers.filters import CustomerFilter
from domain.db import Database, Document, Retention
from domain.errors import DomainError, NotFound
from domain.imports import report as import_report
from domain.imports.parsing import column_mapping
from domain.services import Services, build_services
from domain.sharding import ClusterStep, prepare_cluster
from domain.workspaces.models import Workspace

app = typer.Typer(help="Customer-classification CRM: operator commands", no_args_is_help=True)
console = Console()
RUN_ENV = Path(".run") / "env"  # written by `make run` while it runs


class _NoQueue:
    """The CLI never triggers rescoring itself; creating keys and workspaces changes no customer."""

    async def request_rescore(self, workspace_id: str) -> None:
        return None

    async def request_rfm_refresh(self, workspace_id: str) -> None:
        return None

    async def request_future_value_fit(self, workspace_id: str) -> None:
        return None

    async def request_conversion_training(self, workspace_id: str) -> None:
        return None

    async def enqueue_import(self, import_id: str) -> None:
        return None  # the CLI runs its imports itself

    async def enqueue_run_batches(self, run_id: str, numbers: list[int]) -> None:
        return None

    async def enqueue_run_planning(self, run_id: str) -> None:
        return None


def _with_services[T](action: Callable[[Services], Awaitable[T]]) -> T:
    # Under `make run` the connection settings are in .run/env; environment variables still win.
    config = AppConfig(_env_file=RUN_ENV)

    async def run() -> T:
        mongo: AsyncMongoClient[Document] = AsyncMongoClient(
            config.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=3000
        )
        try:
            db = Database.connect(mongo, config.mongodb_db)
            await db.ensure_indexes(Retention.of(config))
            return await action(build_services(db, _NoQueue()))
        finally:
            await mongo.close()

    try:
        return asyncio.run(run())
    except DomainError as error:
        console.print(f"[red]{error.code}[/red] {error.field or ''} {error.message}")
        raise typer.Exit(code=2) from None
    except ConnectionFailure:
        console.print(
            f"[red]no database[/red] at {config.mongodb_uri}: "
            f"start `make run` (it writes {RUN_ENV}) or set MONGODB_URI",
            soft_wrap=True,
        )
        raise typer.Exit(code=2) from None


async def _require_workspace(services: Services, workspace_id: str) -> Workspace:
    """Every command naming a workspace refuses one that does not exist, the same way."""
    workspace = await services.workspaces.get(workspace_id)
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id!r}", field="workspace_id")
    return workspace


@app.command("create-workspace")
def create_workspace(
    name: str,
    currency: Annotated[str, typer.Option(help="ISO 4217 code of the shop's currency")] = "VND",
    country: Annotated[str, typer.Option(help="ISO 3166 country for phone numbers")] = "VN",
    admin_name: Annotated[str, typer.Option(help="Name of the first admin user")] = "admin",
) -> None:
    """Create a workspace with its first admin user and key (the key is shown once)."""
    created = _with_services(
        lambda services: services.workspaces.create(name, currency=currency, country=country, admin_name=admin_name)
    )
    console.print(f"workspace [bold]{created.workspace.id}[/bold] ({created.workspace.name})")
    console.print(f"admin key (shown once): [bold green]{created.admin_key.token}[/bold green]")


@app.command("create-key")
def create_key(
    workspace_id: str,
    role: Annotated[Role, typer.Option(help="admin, ops, sales or viewer")],
    user_name: Annotated[str, typer.Option(help="The person this key belongs to")],
) -> None:
    """Create a user in a workspace with a key of the given role (the key is shown once)."""

    async def run(services: Services) -> tuple[Any, Any]:
        await _require_workspace(services, workspace_id)
        return await services.workspaces.add_user_with_key(workspace_id, user_name, role)

    user, key = _with_services(run)
    console.print(f"user [bold]{user.id}[/bold] ({user.name}), role {role.value}")
    console.print(f"key (shown once): [bold green]{key.token}[/bold green]")


@app.command("allow-query")
def allow_query(
    files: Annotated[list[Path], typer.Argument(help="Files each holding one GraphQL document, as the app sends it")],
) -> None:
    """Register documents for PERSISTED_QUERIES=allowlist (and print the hash each is sent by)."""
    queries = [file.read_text(encoding="utf-8") for file in files]
    for file, query in zip(files, queries, strict=True):
        try:
            parse(query)
        except GraphQLError as error:
            console.print(f"[red]not a GraphQL document[/red] {file}: {error.message}; nothing registered")
            raise typer.Exit(code=2) from None
    hashes = _with_services(lambda services: services.persisted_queries.allow(queries))
    for file, key in zip(files, hashes, strict=True):
        console.print(f"{key}  {file}")


@app.command("import")
def import_file(
    workspace_id: str,
    kind: Annotated[str, typer.Argument(help="customers, orders or interactions")],
    file: Path,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row, write nothing")] = False,
    mode: Annotated[
        str, typer.Option(help="create (new records), update (stored ones, by external id) or upsert (both)")
    ] = "create",
    column: Annotated[
        list[str] | None, typer.Option(help='The file\'s header and ours, as "Tên KH:name" (repeat)')
    ] = None,
) -> None:
    """Import a CSV file (the template: GET /import/templates/<kind>.csv) and print its report."""
    principal = Principal(workspace_id, "cli", Role.ADMIN, "cli")

    async def chunks() -> AsyncIterator[bytes]:
        with file.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                yield chunk

    async def run(services: Services) -> dict[str, Any]:
        await _require_workspace(services, workspace_id)
        columns = column_mapping(column or [])
        started = await services.imports.start(principal, kind, chunks(), dry_run=dry_run, mode=mode, columns=columns)
        await services.imports.run(started["_id"])
        return await services.imports.get(principal, started["_id"]) or {}

    report = _with_services(run)
    console.print(f"import {report.get('_id')}: {report.get('status')}; {import_report.summary(report)} "
                  f"{report.get('problem') or ''}")  # fmt: skip
    for error in report.get("errors", [])[:20]:
        console.print(f"  row {error['row']} {error['column'] or ''}: {error['code']} {error['message']}")


@app.command("export")
def export_customers(
    workspace_id: str,
    out: Annotated[Path, typer.Option(help="The CSV file to write")],
    segment: Annotated[str | None, typer.Option(help="Only the members of this segment")] = None,
) -> None:
    """Export a workspace's customers with their classes, scores and stats as CSV (streamed to the file)."""
    # The operator acts as the workspace's admin: every customer, sensitive fields included.
    principal = Principal(workspace_id, "cli", Role.ADMIN, "cli")

    async def write(services: Services) -> int:
        workspace = await _require_workspace(services, workspace_id)
        written = 0
        pages = services.customers.export_pages(principal, CustomerFilter(segment_id=segment))
        with out.open("w", encoding="utf-8", newline="") as handle:
            async for chunk in csv_chunks(pages, workspace.currency):
                handle.write(chunk)
                written += chunk.count("\n")
        return written - 1

    count = _with_services(write)
    console.print(f"{count} customers written to {out}")


@app.command("prepare-cluster")
def prepare_cluster_command(
    apply: Annotated[bool, typer.Option("--apply", help="Shard the collections (else say what it would do)")] = False,
) -> None:
    """Prepare a MongoDB deployment: every index, then (through a sharded cluster's mongos) shard the
    collections that grow with the shops, by the plan in the README's production section."""
    config = AppConfig(_env_file=RUN_ENV)

    async def run() -> list[ClusterStep]:
        mongo: AsyncMongoClient[Document] = AsyncMongoClient(config.mongodb_uri, serverSelectionTimeoutMS=5000)
        try:
            await Database.connect(mongo, config.mongodb_db).ensure_indexes(Retention.of(config))
            return await prepare_cluster(mongo.admin, config.mongodb_db, apply=apply)
        finally:
            await mongo.close()

    try:
        steps = asyncio.run(run())
    except ConnectionFailure:
        console.print(f"[red]no database[/red] at {config.mongodb_uri}", soft_wrap=True)
        raise typer.Exit(code=2) from None
    console.print(f"indexes of {config.mongodb_db}: in place")
    for step in steps:
        state = "done" if step.done else ("would run" if not step.note.startswith("not a mongos") else "skipped")
        console.print(f"  {step.command} {step.collection or config.mongodb_db}: {state} {step.note}")


if __name__ == "__main__":
    app()
