"""Segments: a shop's own customer groups, by rule (dynamic) or by hand (static), and the timeline of
who joined and left."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.auth.principals import Permission, Principal
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
class PendingWork:
    """What a save still owes once its segment is written: the run applying a new or changed rule
    (``id`` is that run's id, so starting it again starts the same run), or, for a static list given a
    rule, freezing today's matches. Whoever comes next (the retried request, or the sweeper after a
    while) does it and clears it by ``id``."""

    id: str
    since: datetime
    reason: MembershipReason | None = None  # None: freeze the static list's members

    @property
    def run_id(self) -> str | None:
        return self.id if self.reason is not None else None

    def to_document(self) -> dict[str, Any]:
        return {"id": self.id, "since": self.since, "reason": self.reason.value if self.reason else None}

    @classmethod
    def from_document(cls, d: dict[str, Any] | None) -> PendingWork | None:
        if not d:
            return None
        since = aware(d["since"])
        assert since is not None
        return cls(d["id"], since, MembershipReason(d["reason"]) if d.get("reason") else None)


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
    # A static list frozen from a rule: that rule chose its members (and says whether they are sensitive).
    frozen_rule: Rule | None = None
    external_id: str | None = None  # the client's id for it: a retried create returns this segment
    request_hash: str | None = None  # what the create that made it asked for (a retry asks the same)
    pending: PendingWork | None = None

    @property
    def defining_rule(self) -> Rule | None:
        """The rule its members follow or were frozen from."""
        return self.rule or self.frozen_rule

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
            frozen_rule=parse_rule(d["frozen_rule"]) if d.get("frozen_rule") else None,
            external_id=d.get("external_id"),
            request_hash=d.get("request_hash"),
            pending=PendingWork.from_document(d.get("pending")),
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
    # The segment read a personal detail when this was decided: shown only to roles that may read those.
    sensitive: bool = False
    type: str = "segment"  # tells these from class events on the workspace's channel

    def visible_to(self, principal: Principal) -> bool:
        in_scope = principal.scope.owner_id in (None, self.owner_id)
        return in_scope and (not self.sensitive or principal.can(Permission.READ_SENSITIVE))

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
        *,
        sensitive: bool = False,
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
            sensitive=sensitive,
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
            sensitive=bool(d.get("sensitive")),
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
