"""A customer's lead potential as the API shows it: score, tier and the factors that add up to it."""

from __future__ import annotations

from enum import Enum

import strawberry

from api.types.classes import CustomerClass
from scoring.lead import SPEC as LEAD_SPEC
from scoring.lead import factors_from_facts


@strawberry.enum(description="What the lead's probability comes from")
class LeadModel(Enum):
    RULES = "rules"  # no learned model for the workspace yet: the rule score stands alone
    LEARNED = "learned"  # the workspace's conversion model gave the probability


@strawberry.type(description="One part of a lead score; the points of all factors add up to the score")
class LeadFactor:
    name: str
    group: str = strawberry.field(description="fit, engagement, intent, negative or adjustment (caps, floor)")
    value: float | None = strawberry.field(
        description="What it counted (touches, orders, interests); null: a condition"
    )
    points: int


@strawberry.type(description="How likely the customer is to buy soon (0-100), and why")
class Lead:
    score: int
    tier: CustomerClass
    factors: list[LeadFactor]
    probability: float | None = strawberry.field(description="Probability of converting; null under RULES")
    model: LeadModel
    reasons_for: list[str] = strawberry.field(
        description="Under LEARNED, the fields that raise the probability most (see conversionModel.card.fields)"
    )
    reasons_against: list[str] = strawberry.field(description="Under LEARNED, the fields that lower it most")

    @classmethod
    def of(cls, classes: list[CustomerClass]) -> Lead | None:
        """From a customer's classes: its lead tier's evidence holds the score and factors."""
        tier = next((c for c in classes if c.class_set == LEAD_SPEC.key), None)
        return cls.from_class(tier) if tier else None

    @classmethod
    def from_class(cls, tier: CustomerClass) -> Lead:
        facts = tier.evidence_data
        factors = [LeadFactor(name=n, group=g, value=v, points=p) for n, g, v, p in factors_from_facts(facts)]
        stored = facts.get("probability")
        probability = float(stored) if isinstance(stored, int | float) else None
        return cls(
            score=int(facts.get("score") or 0),
            tier=tier,
            factors=factors,
            probability=probability,
            model=LeadModel.RULES if probability is None else LeadModel.LEARNED,
            reasons_for=_named(facts, "for"),
            reasons_against=_named(facts, "against"),
        )


def _named(facts: dict[str, object], side: str) -> list[str]:
    return [str(name) for rank in (1, 2, 3) if (name := facts.get(f"{side}{rank}"))]
