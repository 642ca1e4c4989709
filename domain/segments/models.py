"""Segments: a shop's own customer groups, by rule (dynamic) or by hand (static), and the timeline of
who joined and left."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.auth.principals import Principal
from domain.timestamps import aware
from scoring.segment_rules import Rule, parse_rule


class SegmentKind(StrEnum):
    DYNAMIC = "dynamic"  # membership follows the rule
    STATIC = "static"  # added and removed by hand, or frozen from a rule at a moment


class MembershipChange(StrEnum):
    JOINED = "joined"
    LEFT = "left"


class MembershipReason(StrEnum):
    RULE = "rule"  # the customer's data or the passing of time
    MANUAL = "manual"
    DEFINITION_CHANGE = "definition_change"
    CUSTOMER_DELETED = "customer_deleted"


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    workspace_id: str
    name: str
    kind: SegmentKind
    rule: Rule | None  # None for a static list made by hand
    rule_version: int
    created_at: datetime
    updated_at: datetime
    recompute_run_id: str | None = None  # the run that last recomputed the membership

    @classmethod
    def from_document(cls, d: dict[str, Any]) -> Segment:
        return cls(
            id=d["_id"],
            workspace_id=d["workspace_id"],
            name=d["name"],
            kind=SegmentKind(d["kind"]),
            rule=parse_rule(d["rule"]) if d.get("rule") else None,
            rule_version=d.get("rule_version", 1),
            created_at=aware(d["created_at"]),
            updated_at=aware(d["updated_at"]),
            recompute_run_id=d.get("recompute_run_id"),
        )


@dataclass(frozen=True, slots=True)
class SegmentEvent:
    """A customer joining or leaving a segment. ``id`` is ``<customer>:<segment>:<n>``, n counting the
    pair's membership changes, so a re-delivery is the same event."""

    id: str
    workspace_id: str
    segment_id: str
    customer_id: str
    owner_id: str | None
    change: MembershipChange
    reason: MembershipReason
    rule_version: int
    at: datetime
    type: str = "segment"  # tells these from class events on the workspace's channel

    def visible_to(self, principal: Principal) -> bool:
        return principal.scope.owner_id in (None, self.owner_id)

    @classmethod
    def numbered(
        cls,
        workspace_id: str,
        customer_id: str,
        owner_id: str | None,
        segment_id: str,
        number: int,
        reason: MembershipReason,
        rule_version: int,
        at: datetime,
    ) -> SegmentEvent:
        """The pair's ``number``-th membership change: odd ones join, even ones leave (membership starts
        out), so two jobs deciding the same change make the same event."""
        return cls(
            id=event_id(customer_id, segment_id, number),
            workspace_id=workspace_id,
            segment_id=segment_id,
            customer_id=customer_id,
            owner_id=owner_id,
            change=MembershipChange.JOINED if number % 2 == 1 else MembershipChange.LEFT,
            reason=reason,
            rule_version=rule_version,
            at=at,
        )

    def to_document(self) -> dict[str, Any]:
        document = asdict(self)
        document["_id"] = document.pop("id")
        del document["type"]
        return document

    @classmethod
    def from_document(cls, d: dict[str, Any]) -> SegmentEvent:
        return cls(
            id=d["_id"],
            workspace_id=d["workspace_id"],
            segment_id=d["segment_id"],
            customer_id=d["customer_id"],
            owner_id=d.get("owner_id"),
            change=MembershipChange(d["change"]),
            reason=MembershipReason(d["reason"]),
            rule_version=d.get("rule_version", 0),
            at=aware(d["at"]),
        )

    def to_json(self) -> str:
        payload = asdict(self)
        payload["at"] = self.at.isoformat()
        return json.dumps(payload, ensure_ascii=False)

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> SegmentEvent:
        payload = {**payload, "at": datetime.fromisoformat(payload["at"])}
        payload.pop("type", None)
        return cls(**payload, type="segment")


def event_id(customer_id: str, segment_id: str, number: int) -> str:
    return f"{customer_id}:{segment_id}:{number}"
