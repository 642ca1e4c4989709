"""Whom to call first: a ranked call list of leads with their reasons and last contact; the conversion
model behind it and the sales verdicts it learns from."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.resolvers.classes import FitPayload
from api.resolvers.common import CrmInfo, respond
from api.selection import wants_evidence
from api.types.conversion import ConversionModelView, LeadVerdict, VerdictEnum
from api.types.customer import Customer
from api.types.errors import UserError
from api.types.lead import Lead, LeadFactor, LeadModel
from domain.customers.filters import CustomerFilter
from domain.customers.models import Verdict
from domain.customers.ordering import CustomerOrder, OrderField, readable_order
from domain.money import from_minor

BY_LEAD_SCORE = CustomerOrder(OrderField.LEAD_SCORE, descending=True)
BY_CALL_VALUE = CustomerOrder(OrderField.CALL_VALUE, descending=True)


@strawberry.type(description="A customer worth calling, with why")
class CallListEntry:
    rank: int
    customer: Customer
    score: int | None = strawberry.field(description="The lead score; null until the customer is scored")
    probability: float | None = strawberry.field(description="Probability of converting (LEARNED only)")
    call_value: Decimal | None = strawberry.field(
        description="What the call is likely worth: probability x expected order value (LEARNED only)"
    )
    reasons: list[LeadFactor] = strawberry.field(description="The factors that raise the score most")
    basis: LeadModel = strawberry.field(
        description="LEARNED: ranked by call value; RULES: by lead score (no conversion model yet)"
    )

    @strawberry.field(description="The latest interaction with the customer")
    async def last_contact_at(self, info: CrmInfo) -> datetime | None:
        latest = await info.context.loaders.interactions.load((str(self.customer.id), 1))
        return latest[0].at if latest else None


@strawberry.type
class LeadVerdictPayload:
    verdict: LeadVerdict | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LeadQuery:
    @strawberry.field(
        description="Leads ranked by what a call is likely worth. A sales key gets its own customers; admin "
        "and ops the workspace's, or one owner's with ownerId. first is at most 100. FORBIDDEN to roles that "
        "may not read personal details while the lead tier is learned from them (learn_from_sensitive)."
    )
    async def call_list(
        self, info: CrmInfo, first: int = 20, owner_id: strawberry.ID | None = None
    ) -> list[CallListEntry]:
        context = info.context
        workspace = await context.workspace()
        learned = workspace.conversion is not None
        spec = CustomerFilter(owner_id=str(owner_id)) if owner_id else None
        order = BY_CALL_VALUE if learned else BY_LEAD_SCORE
        # With the lead tier read from personal details, every lead ranking reveals them and any other
        # order would not be a call list: refused, by this field's name.
        readable_order(context.principal, order, workspace.scoring_settings, field="callList")
        page = await context.services.customers.page(
            context.principal,
            spec,
            first,
            None,
            order=order,
            with_evidence=wants_evidence(info),
        )
        entries = []
        for rank, found in enumerate(page.customers, start=1):
            customer = Customer.from_domain(found, workspace)
            lead = Lead.of(customer.classes)
            reasons = sorted((f for f in lead.factors if f.points > 0), key=lambda f: -f.points)[:3] if lead else []
            value = lead.tier.evidence_data.get("call_value_minor") if lead else None
            entries.append(
                CallListEntry(
                    rank=rank,
                    customer=customer,
                    score=lead.score if lead else None,
                    probability=lead.probability if lead else None,
                    call_value=from_minor(int(value), workspace.currency) if isinstance(value, int | float) else None,
                    reasons=reasons,
                    basis=LeadModel.LEARNED if learned else LeadModel.RULES,
                )
            )
        return entries

    @strawberry.field(description="The workspace's conversion model: status, data gate and model card")
    async def conversion_model(self, info: CrmInfo) -> ConversionModelView:
        context = info.context
        status = await context.services.conversion.status(context.principal)
        return ConversionModelView.of(status, (await context.workspace()).currency)


@strawberry.type
class LeadMutation:
    @strawberry.mutation(
        description="Train the conversion model now (ops, admin); a job does it, then rescores the workspace"
    )
    async def train_conversion_model(self, info: CrmInfo) -> FitPayload:
        context = info.context
        return await respond(
            FitPayload,
            context.services.conversion.request_training(context.principal),
            lambda _: FitPayload(queued=True),
        )

    @strawberry.mutation(
        description="Record sales' verdict on a lead (null clears it); it counts as a label for the conversion "
        "model. Sales only on their own customers."
    )
    async def record_lead_verdict(
        self,
        info: CrmInfo,
        customer_id: strawberry.ID,
        verdict: VerdictEnum | None,  # type: ignore[valid-type]
    ) -> LeadVerdictPayload:
        context = info.context
        given = Verdict(verdict.value) if verdict is not None else None
        return await respond(
            LeadVerdictPayload,
            context.services.conversion.record_verdict(
                context.principal, str(customer_id), given, context.services.clock.now()
            ),
            lambda stored: LeadVerdictPayload(verdict=LeadVerdict.of(stored) if stored else None),
        )
