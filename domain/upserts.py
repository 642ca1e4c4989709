"""What an update-mode import does with a batch of rows, shared by customers and orders: rows that name a
stored record change it or leave it as it is, the others are created where the mode allows, and every
problem is returned by the row's position, never raised, so that what was written is counted once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from domain.errors import FieldError, InvalidInput
from domain.validation import RawInput


@dataclass(frozen=True, slots=True)
class RowPlan:
    """What a dry run found a row would do: create it, move it (from one status to another), or nothing."""

    index: int
    action: str  # create, move, unchanged
    before: str | None = None
    after: str | None = None


@dataclass(slots=True)
class Upserted:
    """What ``upsert_many`` did with a batch of rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[FieldError] = field(default_factory=list)
    # Rows taken, but not as they said: an update older than what is stored, left as it is.
    warnings: list[FieldError] = field(default_factory=list)
    plans: list[RowPlan] = field(default_factory=list)  # a dry run's, per row it takes


def not_stored(
    outcome: Upserted, new: list[tuple[int, RawInput]], index: int, row: RawInput, refusal: FieldError | None
) -> None:
    """A row naming nothing stored: to be created (``refusal`` None, an upsert), else refused with it."""
    if refusal is None:
        new.append((index, row))
    else:
        outcome.problems.append(FieldError(f"rows.{index}.externalId", refusal.code, refusal.message))


async def create_those_that_pass(
    create: Callable[[list[RawInput]], Awaitable[int]], new: list[tuple[int, RawInput]], outcome: Upserted
) -> None:
    """Create ``new`` (rows by their position in the batch) with ``create`` (which returns how many were
    new); a refused row is left out and the rest tried again, the refusals named by their position."""
    while new:
        try:
            outcome.created += await create([row for _, row in new])
            return
        except InvalidInput as error:
            refused = {position for e in error.errors if (position := row_position(e)) is not None}
            if not refused:
                raise
            outcome.problems += [_relabelled(e, new) for e in error.errors]
            new = [item for position, item in enumerate(new) if position not in refused]


def row_position(error: FieldError) -> int | None:
    """P of an error named ``rows.P`` or ``rows.P.field``."""
    parts = (error.field or "").split(".", 2)
    return int(parts[1]) if len(parts) > 1 and parts[0] == "rows" and parts[1].isdigit() else None


def _relabelled(error: FieldError, rows: list[tuple[int, RawInput]]) -> FieldError:
    """An error of ``rows.P.`` in a sub-batch, named by the row's position in the whole batch."""
    position = row_position(error)
    if position is None:
        return error
    rest = (error.field or "").split(".", 2)[2:]
    return FieldError(".".join(["rows", str(rows[position][0]), *rest]), error.code, error.message)
