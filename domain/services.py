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
from domain.clock import Clock, SystemClock
from domain.config import DEFAULT_SCORING_BATCH_SIZE
from domain.customers.repository import CustomerRepository
from domain.customers.service import DEFAULT_SYNC_SETTLE_SECONDS, CustomerService
from domain.db import Database
from domain.imports.service import ImportService
from domain.imports.status_words import StatusWordsService
from domain.interactions.repository import InteractionRepository
from domain.interactions.service import InteractionService
from domain.liveness import WorkerLiveness
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
from domain.runs.service import DEFAULT_DEAD_AFTER_SECONDS, RunBatchExecutor, ScoringRunService
from domain.segments.membership import SegmentEvaluator
from domain.segments.repository import MembershipRepository, SegmentRepository
from domain.segments.sensitivity import SegmentAccess
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
    status_words: StatusWordsService
    sweep: DirtySweep
    # The one clock every use case asks (the host's, or a test's).
    clock: Clock
    liveness: WorkerLiveness


def build_services(
    db: Database,
    queue: JobQueue,
    *,
    notifier: Notifier | None = None,
    scoring_batch_size: int = DEFAULT_SCORING_BATCH_SIZE,
    key_cache_seconds: float = 0.0,
    sync_settle_seconds: float = DEFAULT_SYNC_SETTLE_SECONDS,
    clock: Clock | None = None,
    worker_dead_after_seconds: float = DEFAULT_DEAD_AFTER_SECONDS,
) -> Services:
    notifier = notifier or SilentNotifier()
    clock = clock or SystemClock()
    liveness = WorkerLiveness(db)
    customers = CustomerRepository(db, clock)
    orders = OrderRepository(db, clock)
    interactions = InteractionRepository(db)
    workspaces = WorkspaceRepository(db, clock)
    scoring = ScoringRepository(db, clock)
    runs = ScoringRunRepository(db, clock)
    stats = CustomerStatsRepository(db, clock)
    keys = ApiKeyService(ApiKeyRepository(db, clock), workspaces, notifier, cache_seconds=key_cache_seconds)
    scoring_runs = ScoringRunService(
        runs,
        workspaces,
        queue,
        notifier,
        batch_size=scoring_batch_size,
        clock=clock,
        liveness=liveness,
        dead_after_seconds=worker_dead_after_seconds,
    )
    conversion_models = ConversionModelRepository(db)
    segment_definitions = SegmentRepository(db)
    membership = MembershipRepository(db)
    segment_evaluator = SegmentEvaluator(segment_definitions, membership, notifier, workspaces)
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
        clock,
    )
    customer_service = CustomerService(
        customers, orders, interactions, workspaces, queue, segment_evaluator, clock, sync_settle_seconds
    )
    order_service = OrderService(orders, customers, workspaces, queue, clock)
    interaction_service = InteractionService(interactions, customers, queue, clock)
    return Services(
        keys=keys,
        workspaces=WorkspaceService(workspaces, keys),
        customers=customer_service,
        orders=order_service,
        interactions=interaction_service,
        class_history=ClassHistoryService(ClassEventRepository(db), customers),
        scoring_runs=scoring_runs,
        class_settings=ClassSettingsService(
            workspaces, scoring_runs, clock, SegmentAccess(segment_definitions, workspaces)
        ),
        rescoring=rescoring,
        run_batches=RunBatchExecutor(runs, rescoring, scoring_runs, segment_evaluator, workspaces, clock),
        segment_membership=segment_evaluator,
        persisted_queries=PersistedQueryService(db, clock),
        imports=ImportService(
            db,
            customer_service,
            customers,
            order_service,
            interaction_service,
            workspaces,
            queue,
            clock,
            liveness,
            worker_dead_after_seconds,
        ),
        status_words=StatusWordsService(workspaces),
        segments=SegmentService(
            segment_definitions, membership, segment_evaluator, customers, workspaces, scoring_runs, clock
        ),
        rfm_bounds=RfmBoundsService(stats, workspaces),
        future_value=FutureValueService(stats, workspaces, queue),
        conversion=ConversionService(stats, interactions, customers, workspaces, conversion_models, queue),
        sweep=DirtySweep(scoring),
        clock=clock,
        liveness=liveness,
    )
