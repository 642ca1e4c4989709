"""Whom to call first: a ranked call list of leads with their reasons and last contact."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.resolvers.common import CrmInfo
from api.selection import wants_evidence
from api.types.customer import Customer
from api.types.lead import Lead, LeadFactor, LeadModel
from domain.customers.filters import CustomerFilter
from domain.customers.ordering import CustomerOrder, OrderField

BY_LEAD_SCORE = CustomerOrder(OrderField.LEAD_SCORE, descending=True)


@strawberry.type(description="A customer worth calling, with why")
class CallListEntry:
    rank: int
    customer: Customer
    score: int | None = strawberry.field(description="The lead score; null until the customer is scored")
    reasons: list[LeadFactor] = strawberry.field(description="The factors that raise the score most")
    basis: LeadModel = strawberry.field(description="RULES: ranked by lead score (no learned model yet)")

    @strawberry.field(description="The latest interaction with the customer")
    async def last_contact_at(self, info: CrmInfo) -> datetime | None:
        latest = await info.context.loaders.interactions.load((str(self.customer.id), 1))
        return latest[0].at if latest else None


@strawberry.type
class LeadQuery:
    @strawberry.field(
        description="Leads ranked by what a call is likely worth. A sales key gets its own customers; admin "
        "and ops the workspace's, or one owner's with ownerId. first is at most 100."
    )
    async def call_list(
        self, info: CrmInfo, first: int = 20, owner_id: strawberry.ID | None = None
    ) -> list[CallListEntry]:
        context = info.context
        spec = CustomerFilter(owner_id=str(owner_id)) if owner_id else None
        page = await context.services.customers.page(
            context.principal, spec, first, None, order=BY_LEAD_SCORE, with_evidence=wants_evidence(info)
        )
        workspace = await context.workspace()
        entries = []
        for rank, found in enumerate(page.customers, start=1):
            customer = Customer.from_domain(found, workspace)
            lead = Lead.of(customer.classes)
            reasons = sorted((f for f in lead.factors if f.points > 0), key=lambda f: -f.points)[:3] if lead else []
            entries.append(
                CallListEntry(
                    rank=rank,
                    customer=customer,
                    score=lead.score if lead else None,
                    reasons=reasons,
                    basis=LeadModel.RULES,
                )
            )
        return entries
