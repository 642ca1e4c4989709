"""A client's segment rule checked all the way: shape and limits (scoring/segment_rules.py), then what
only the workspace knows (class sets and codes, order statuses, interaction kinds, other segments and
cycles among them, fields the caller may not read). Every error names the bad node's path, like
``rule.all[2].any[0].field.value``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from domain.auth.principals import Permission, Principal
from domain.classes.catalogue import CLASS_SETS
from domain.errors import ErrorCode, FieldError, InvalidInput
from domain.interactions.models import InteractionKind
from domain.orders.models import OrderStatus
from domain.segments.models import Segment
from domain.validation import error_code
from scoring.segment_rules import (
    Rule,
    RuleTooLarge,
    check_limits,
    personal_detail,
    referenced_segments,
)

ROOT = "rule"


def parsed_rule(raw: object) -> Rule:
    """The rule's shape and limits (no reads needed), or InvalidInput listing every bad node."""
    try:
        rule = Rule.model_validate(raw)
    except ValidationError as error:
        raise InvalidInput(
            [
                FieldError(rule_path(tuple(d["loc"])), error_code(d), str(d["msg"]).removeprefix("Value error, "))
                for d in error.errors(include_url=False)
            ]
        ) from None
    try:
        check_limits(rule)
    except RuleTooLarge as error:
        raise InvalidInput.one(ROOT, ErrorCode.RULE_TOO_LARGE, str(error)) from None
    return rule


def checked_rule(
    principal: Principal,
    rule: Rule,
    segments: Mapping[str, Segment],
    sensitive_sets: frozenset[str],
    hidden: frozenset[str] = frozenset(),
    segment_id: str | None = None,
) -> Rule:
    """The parsed rule against what the workspace knows, or InvalidInput listing every bad node.
    ``segments`` hold at least those the rule references (transitively); ``hidden`` are those the caller
    may not read; ``segment_id`` is the segment being saved (a rule may not lead back to it)."""
    errors = list(_node_errors(principal, rule, segments, sensitive_sets, hidden))
    if not errors:
        errors = _cycle_errors(rule, segments, segment_id)
    if errors:
        raise InvalidInput(errors)
    return rule


def rule_path(loc: tuple[int | str, ...]) -> str:
    path = ROOT
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{to_camel(str(part).rstrip('_'))}"
    return path


def walk(rule: Rule, path: str = ROOT) -> Iterator[tuple[str, Rule]]:
    yield path, rule
    kind = "all" if rule.all is not None else "any" if rule.any is not None else "not"
    for index, child in enumerate(rule.children()):
        yield from walk(child, f"{path}.{kind}[{index}]" if kind != "not" else f"{path}.not")


def _node_errors(
    principal: Principal,
    rule: Rule,
    segments: Mapping[str, Segment],
    sensitive_sets: frozenset[str],
    hidden: frozenset[str],
) -> Iterator[FieldError]:
    may_read_sensitive = principal.can(Permission.READ_SENSITIVE)
    for path, node in walk(rule):
        personal = None if may_read_sensitive else personal_detail(node, sensitive_sets)
        if node.class_ is not None:
            condition = node.class_
            if condition.class_set not in CLASS_SETS:
                yield FieldError(f"{path}.class.classSet", ErrorCode.UNKNOWN_CLASS_SET, "no such class set")
                continue
            known = {code.code for code in CLASS_SETS[condition.class_set].codes}
            for i, code in enumerate(condition.codes):
                if code not in known:
                    message = f"codes of {condition.class_set} are {', '.join(sorted(known))}"
                    yield FieldError(f"{path}.class.codes[{i}]", ErrorCode.UNKNOWN_CLASS_CODE, message)
        if personal is not None:
            yield _forbidden(f"{path}.{personal[0]}", personal[1])
        elif node.orders is not None:
            for i, status in enumerate(node.orders.statuses):
                if status not in OrderStatus:
                    yield _choice(f"{path}.orders.statuses[{i}]", [s.value for s in OrderStatus])
        elif node.interactions is not None:
            for i, kind in enumerate(node.interactions.kinds):
                if kind not in InteractionKind:
                    yield _choice(f"{path}.interactions.kinds[{i}]", [k.value for k in InteractionKind])
        elif node.segment is not None and node.segment not in segments:
            yield FieldError(f"{path}.segment", ErrorCode.UNKNOWN_SEGMENT, f"no segment {node.segment!r}")
        elif node.segment is not None and node.segment in hidden:
            yield _forbidden(f"{path}.segment", "this segment is read from personal details this role may not read")


def _cycle_errors(rule: Rule, segments: Mapping[str, Segment], segment_id: str | None) -> list[FieldError]:
    """Follows references depth first; the first way back to the segment being saved is the cycle."""
    if segment_id is None:
        return []
    for path, node in walk(rule):
        if node.segment is None:
            continue
        trail = _path_to(node.segment, segment_id, segments, [node.segment])
        if trail is not None:
            names = [segments[s].name if s in segments else s for s in [segment_id, *trail]]
            message = "the rule leads back to its own segment: " + " → ".join(names)
            return [FieldError(f"{path}.segment", ErrorCode.SEGMENT_CYCLE, message)]
    return []


def _path_to(start: str, goal: str, segments: Mapping[str, Segment], trail: list[str]) -> list[str] | None:
    if start == goal:
        return trail
    segment = segments.get(start)
    if segment is None or segment.rule is None:
        return None
    for next_id in sorted(referenced_segments(segment.rule)):
        if next_id not in trail or next_id == goal:
            found = _path_to(next_id, goal, segments, [*trail, next_id])
            if found is not None:
                return found
    return None


def _forbidden(path: str, message: str) -> FieldError:
    return FieldError(path, ErrorCode.FORBIDDEN, message)


def _choice(path: str, choices: list[str]) -> FieldError:
    return FieldError(path, ErrorCode.INVALID_CHOICE, f"one of {', '.join(choices)}")
