"""Class sets and scoring runs: the catalogue and its settings, distributions, bulk rescoring, live changes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

import strawberry

from api.event_hub import HubEvent
from api.resolvers.common import CrmInfo, respond
from api.types.classes import ClassChange, ClassCount, ClassSet
from api.types.errors import UserError
from api.types.inputs import ClassSetUpdateInput, CustomerFilter
from api.types.runs import ScoringRun, ScoringRunInput
from api.types.value import FutureValueModelInfo
from domain.classes.catalogue import CLASS_SETS
from domain.classes.catalogue import class_set as checked_class_set
from domain.classes.events import ClassChangeEvent
from domain.classes.service import require_readable_class_set
from domain.errors import ErrorCode, NotFound
from domain.runs.models import ACTIVE_STATUSES
from domain.runs.models import ScoringRun as DomainRun
from domain.workspaces.models import Workspace


@strawberry.type
class ScoringRunPayload:
    run: ScoringRun | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, run: DomainRun) -> ScoringRunPayload:
        return cls(run=ScoringRun.from_domain(run))


@strawberry.type
class FitPayload:
    queued: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ClassSetPayload:
    class_set: ClassSet | None = None
    run: ScoringRun | None = strawberry.field(default=None, description="The run rescoring the workspace, if any")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ClassQuery:
    @strawberry.field(description="The class sets, their codes, labels, colours and the settings in force")
    async def class_sets(self, info: CrmInfo) -> list[ClassSet]:
        workspace = await info.context.workspace()
        return [ClassSet.from_workspace(key, workspace) for key in CLASS_SETS]

    @strawberry.field(description="Customers per code of a class set (for dashboards), optionally filtered")
    async def class_distribution(
        self, info: CrmInfo, class_set: str, filter: CustomerFilter | None = None
    ) -> list[ClassCount]:
        context = info.context
        counts = await context.services.customers.class_distribution(
            context.principal, class_set, filter.to_domain() if filter else None
        )
        workspace = await context.workspace()
        return [ClassCount(class_set=class_set, code=code, count=count, workspace=workspace) for code, count in counts]

    @strawberry.field
    async def scoring_run(self, info: CrmInfo, id: strawberry.ID) -> ScoringRun | None:
        context = info.context
        run = await context.services.scoring_runs.get(context.principal, str(id))
        return ScoringRun.from_domain(run) if run else None

    @strawberry.field(description="The workspace's future-value models: status, data gate, parameters")
    async def future_value_model(self, info: CrmInfo) -> FutureValueModelInfo:
        context = info.context
        model, check = await context.services.future_value.status(context.principal)
        return FutureValueModelInfo.of(model, check, (await context.workspace()).currency)

    @strawberry.field(description="Newest first")
    async def scoring_runs(self, info: CrmInfo, first: int = 20) -> list[ScoringRun]:
        context = info.context
        runs = await context.services.scoring_runs.latest(context.principal, first)
        return [ScoringRun.from_domain(run) for run in runs]


@strawberry.type
class ClassMutation:
    @strawberry.mutation(
        description="Rescore the whole workspace in batches (ops, admin); dryRun reports, writes nothing"
    )
    async def start_scoring_run(self, info: CrmInfo, input: ScoringRunInput | None = None) -> ScoringRunPayload:
        context = info.context
        options = input or ScoringRunInput()
        return await respond(
            ScoringRunPayload,
            context.services.scoring_runs.start(
                context.principal, dry_run=options.dry_run, class_sets=options.class_sets
            ),
            ScoringRunPayload.of,
        )

    @strawberry.mutation(description="Fit the future-value models now (ops, admin); a job does it, then rescores")
    async def fit_future_value_model(self, info: CrmInfo) -> FitPayload:
        context = info.context
        return await respond(
            FitPayload, context.services.future_value.request_fit(context.principal), lambda _: FitPayload(queued=True)
        )

    @strawberry.mutation
    async def cancel_scoring_run(self, info: CrmInfo, id: strawberry.ID) -> ScoringRunPayload:
        context = info.context
        return await respond(
            ScoringRunPayload, context.services.scoring_runs.cancel(context.principal, str(id)), ScoringRunPayload.of
        )

    @strawberry.mutation(description="Finish the batches not done yet (after a cancel or a lost worker)")
    async def resume_scoring_run(self, info: CrmInfo, id: strawberry.ID) -> ScoringRunPayload:
        context = info.context
        return await respond(
            ScoringRunPayload, context.services.scoring_runs.resume(context.principal, str(id)), ScoringRunPayload.of
        )

    @strawberry.mutation(
        description="Change a class set's settings (admin); a threshold change starts a run. With dryRun nothing "
        "is saved: classSet shows the proposed settings and run is a dry run reporting who would move."
    )
    async def update_class_set(
        self, info: CrmInfo, input: ClassSetUpdateInput, dry_run: bool = False
    ) -> ClassSetPayload:
        context = info.context
        if input.params is not None and not isinstance(input.params, dict):
            return ClassSetPayload(
                errors=[UserError(field="params", code=ErrorCode.INVALID_INPUT, message="an object")]
            )

        def updated(result: tuple[Workspace, DomainRun | None]) -> ClassSetPayload:
            workspace, run = result
            context.forget_workspace()
            return ClassSetPayload(
                class_set=ClassSet.from_workspace(input.class_set, workspace),
                run=ScoringRun.from_domain(run) if run else None,
            )

        return await respond(
            ClassSetPayload,
            context.services.class_settings.update(context.principal, input.to_domain(), dry_run=dry_run),
            updated,
        )


@strawberry.type
class ClassSubscription:
    @strawberry.subscription(
        description="Class changes in the caller's workspace, optionally narrowed. Live (at least once, drop an "
        "id seen twice) unless after is given: then from the ledger in its order, with no gap and no duplicate. "
        'after: "now" starts there; on reconnecting pass the id of the last event received to get what was '
        "missed, then the new changes (each about a second after it happens)."
    )
    async def customer_class_changed(
        self,
        info: CrmInfo,
        customer_id: strawberry.ID | None = None,
        class_set: str | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[ClassChange]:
        context = info.context
        principal = context.principal
        if class_set is not None:
            require_readable_class_set(principal, checked_class_set(class_set).key)
        if after is not None:
            async for change in _resumed(info, str(after), customer_id, class_set):
                yield change
            return

        def accepts(event: HubEvent) -> bool:
            return (
                isinstance(event, ClassChangeEvent)
                and event.visible_to(principal)
                and (customer_id is None or event.customer_id == customer_id)
                and (class_set is None or event.class_set == class_set)
            )

        workspace = await context.workspace()
        async with context.hub.listen(principal.workspace_id, principal.key_id, accepts) as events:
            async for event in events:
                if isinstance(event, ClassChangeEvent):
                    yield ClassChange.from_domain(event, workspace)

    @strawberry.subscription(description="The run's counts each time a batch finishes, until it stops running")
    async def scoring_run_progress(self, info: CrmInfo, id: strawberry.ID) -> AsyncGenerator[ScoringRun]:
        context = info.context
        principal = context.principal
        last = None
        async with context.hub.watch_run(str(id), principal.key_id) as ticks:
            async for _ in ticks:
                run = await context.services.scoring_runs.get(principal, str(id))
                if run is None:
                    raise NotFound(f"no scoring run {id!r}", field="id")
                if (run.status, run.progress) != last:
                    last = (run.status, run.progress)
                    yield ScoringRun.from_domain(run)
                if run.status not in ACTIVE_STATUSES:
                    return


async def _resumed(
    info: CrmInfo, after: str, customer_id: strawberry.ID | None, class_set: str | None
) -> AsyncIterator[ClassChange]:
    """From the ledger, in its order: what was recorded after the event ``after`` (missed while away),
    then each new change as it settles. Live events only wake the reader up, so nothing comes twice and
    nothing is skipped; each change arrives once it is ``settle_seconds`` old."""
    context = info.context
    principal = context.principal
    history = context.services.class_history
    position = await history.resume_from(principal, after)
    workspace = await context.workspace()
    settle = context.hub.settle_seconds
    woken = asyncio.Event()

    def wakes(event: HubEvent) -> bool:
        if isinstance(event, ClassChangeEvent):
            woken.set()
        return False  # nothing is delivered from the live stream itself

    async with context.hub.listen(principal.workspace_id, principal.key_id, wakes) as live:
        ended = asyncio.ensure_future(_drain(live))
        try:
            while not ended.done():
                events, position = await history.replay(
                    principal, position, settle, class_set, str(customer_id) if customer_id else None
                )
                for event in events:
                    yield ClassChange.from_domain(event, workspace)
                if not events:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), settle)
                    woken.clear()
                    await asyncio.sleep(settle / 4)
        finally:
            ended.cancel()


async def _drain(events: AsyncIterator[HubEvent]) -> None:
    """Until the live stream ends (key revoked, hub stopped, lifetime reached): then the replay ends too."""
    async for _ in events:
        pass
