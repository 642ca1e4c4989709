"""Builds the domain's use cases over one database and one rescore queue (the composition root)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.auth.keys import ApiKeyRepository, ApiKeyService, KeyRevocationNotifier
from domain.classes.events import ClassEventRepository
from domain.classes.service import ClassHistoryService
from domain.classes.settings_service import ClassSettingsService
from domain.customers.repository import CustomerRepository
from domain.customers.service import CustomerService
from domain.db import Database
from domain.interactions.repository import InteractionRepository
from domain.interactions.service import InteractionService
from domain.orders.repository import OrderRepository
from domain.orders.service import OrderService
from domain.ports import RescoreQueue
from domain.runs.repository import ScoringRunRepository
from domain.runs.service import BATCH_SIZE, RunProgressPublisher, RunQueue, ScoringRunService
from domain.workspaces.repository import WorkspaceRepository
from domain.workspaces.service import WorkspaceService


@dataclass(frozen=True, slots=True)
class Services:
    keys: ApiKeyService
    workspaces: WorkspaceService
    workspace_repository: WorkspaceRepository
    customers: CustomerService
    orders: OrderService
    interactions: InteractionService
    class_history: ClassHistoryService
    scoring_runs: ScoringRunService
    class_settings: ClassSettingsService


class JobQueue(RescoreQueue, RunQueue, Protocol):
    """What the API needs from the job queue (domain.queueing.RqRescoreQueue is one)."""


def build_services(
    db: Database,
    rescore_queue: JobQueue,
    run_batch_size: int = BATCH_SIZE,
    revocations: KeyRevocationNotifier | None = None,
    progress: RunProgressPublisher | None = None,
    key_cache_seconds: float = 0.0,
) -> Services:
    customers = CustomerRepository(db)
    orders = OrderRepository(db)
    interactions = InteractionRepository(db)
    workspaces = WorkspaceRepository(db)
    keys = ApiKeyService(ApiKeyRepository(db), workspaces, revocations, key_cache_seconds)
    runs = ScoringRunService(ScoringRunRepository(db), workspaces, rescore_queue, run_batch_size, progress)
    return Services(
        keys=keys,
        workspaces=WorkspaceService(workspaces, keys),
        workspace_repository=workspaces,
        customers=CustomerService(customers, orders, interactions, workspaces, rescore_queue),
        orders=OrderService(orders, customers, workspaces, rescore_queue),
        interactions=InteractionService(interactions, customers, rescore_queue),
        class_history=ClassHistoryService(ClassEventRepository(db), customers),
        scoring_runs=runs,
        class_settings=ClassSettingsService(workspaces, runs),
    )
