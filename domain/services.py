"""The composition root: every use case built over one database, one job queue and one notifier.

The API builds it in its lifespan, the worker at start-up, the CLI and the demo loader per command;
nothing else constructs services or repositories.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.keys import ApiKeyRepository, ApiKeyService
from domain.classes.events import ClassEventRepository
from domain.classes.service import ClassHistoryService
from domain.classes.settings_service import ClassSettingsService
from domain.config import DEFAULT_SCORING_BATCH_SIZE
from domain.customers.repository import CustomerRepository
from domain.customers.service import DEFAULT_SYNC_SETTLE_SECONDS, CustomerService
from domain.db import Database
from domain.imports.service import ImportService
from domain.interactions.repository import InteractionRepository
from domain.interactions.service import InteractionService
from domain.orders.repository import OrderRepository
from domain.orders.service import OrderService
from domain.persisted_queries import PersistedQueryService
from domain.ports import JobQueue, Notifier, SilentNotifier
from domain.rescoring.conversion import ConversionService
from domain.rescoring.conversion_models import ConversionModelRepository
from domain.rescoring.future_value import FutureValueService
from domain.rescoring.repository import ScoringRepository
from domain.rescoring.rfm_bounds import RfmBoundsService
from domain.rescoring.service import RescoringService
from domain.rescoring.stats_repository import CustomerStatsRepository
from domain.rescoring.sweep import DirtySweep
from domain.runs.repository import ScoringRunRepository
from domain.runs.service import RunBatchExecutor, ScoringRunService
from domain.segments.membership import SegmentEvaluator
from domain.segments.repository import MembershipRepository, SegmentRepository
from domain.segments.service import SegmentService
from domain.workspaces.repository import WorkspaceRepository
from domain.workspaces.service import WorkspaceService


@dataclass(frozen=True, slots=True)
class Services:
    # What requests use.
    keys: ApiKeyService
    workspaces: WorkspaceService
    customers: CustomerService
    orders: OrderService
    interactions: InteractionService
    class_history: ClassHistoryService
    scoring_runs: ScoringRunService
    class_settings: ClassSettingsService
    # What jobs use.
    rescoring: RescoringService
    run_batches: RunBatchExecutor
    rfm_bounds: RfmBoundsService
    future_value: FutureValueService
    conversion: ConversionService
    segments: SegmentService
    segment_membership: SegmentEvaluator
    persisted_queries: PersistedQueryService
    imports: ImportService
    sweep: DirtySweep


def build_services(
    db: Database,
    queue: JobQueue,
    *,
    notifier: Notifier | None = None,
    scoring_batch_size: int = DEFAULT_SCORING_BATCH_SIZE,
    key_cache_seconds: float = 0.0,
    sync_settle_seconds: float = DEFAULT_SYNC_SETTLE_SECONDS,
) -> Services:
    notifier = notifier or SilentNotifier()
    customers = CustomerRepository(db)
    orders = OrderRepository(db)
    interactions = InteractionRepository(db)
    workspaces = WorkspaceRepository(db)
    scoring = ScoringRepository(db)
    runs = ScoringRunRepository(db)
    stats = CustomerStatsRepository(db)
    keys = ApiKeyService(ApiKeyRepository(db), workspaces, notifier, cache_seconds=key_cache_seconds)
    scoring_runs = ScoringRunService(runs, workspaces, queue, notifier, batch_size=scoring_batch_size)
    conversion_models = ConversionModelRepository(db)
    segment_definitions = SegmentRepository(db)
    membership = MembershipRepository(db)
    segment_evaluator = SegmentEvaluator(segment_definitions, membership, notifier)
    rescoring = RescoringService(
        scoring,
        orders,
        interactions,
        workspaces,
        ClassEventRepository(db),
        notifier,
        queue,
        conversion_models,
        segment_evaluator,
    )
    customer_service = CustomerService(
        customers, orders, interactions, workspaces, queue, segment_evaluator, sync_settle_seconds
    )
    order_service = OrderService(orders, customers, workspaces, queue)
    interaction_service = InteractionService(interactions, customers, queue)
    return Services(
        keys=keys,
        workspaces=WorkspaceService(workspaces, keys),
        customers=customer_service,
        orders=order_service,
        interactions=interaction_service,
        class_history=ClassHistoryService(ClassEventRepository(db), customers),
        scoring_runs=scoring_runs,
        class_settings=ClassSettingsService(workspaces, scoring_runs),
        rescoring=rescoring,
        run_batches=RunBatchExecutor(runs, rescoring, scoring_runs, segment_evaluator, workspaces),
        segment_membership=segment_evaluator,
        persisted_queries=PersistedQueryService(db),
        imports=ImportService(db, customer_service, customers, order_service, interaction_service, workspaces, queue),
        segments=SegmentService(
            segment_definitions, membership, segment_evaluator, customers, workspaces, scoring_runs
        ),
        rfm_bounds=RfmBoundsService(stats, workspaces),
        future_value=FutureValueService(stats, workspaces, queue),
        conversion=ConversionService(stats, interactions, customers, workspaces, conversion_models, queue),
        sweep=DirtySweep(scoring),
    )
