"""What an import says about a file, in bounded words: whatever the file holds (a header of millions of
columns, cells of megabytes, a hundred thousand bad rows), its report fits in its MongoDB document and
in a log line, and stays readable.

The bounds are read when a message is made, not when this module is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Why an import stopped (``problem``), and each refused row's message.
MAX_PROBLEM_CHARS = 1_000
MAX_MESSAGE_CHARS = 300
# A cell or column name quoted in a message.
MAX_QUOTED_CHARS = 60
# Unknown columns named in the message; the rest are counted.
MAX_LISTED_COLUMNS = 10
# Row refusals listed; the rest are counted (``error_count``).
MAX_REPORTED_ERRORS = 1_000
UNSTORABLE = "the import's report could not be stored"


def rows(count: int | None) -> str:
    """ "1 row", "2 rows"."""
    return f"{count or 0:,} row" + ("" if count == 1 else "s")


def summary(job: dict[str, Any]) -> str:
    """ "2 rows imported, 1 updated, 3 unchanged, 1 refused" (a dry run: "would be imported")."""
    if job.get("dry_run") and job.get("plans"):
        planned = f"{rows(job.get('imported'))} would be created, {job.get('updated', 0):,} would move"
        return planned + f", {job.get('unchanged', 0):,} unchanged, {job.get('failed', 0):,} refused"
    if job.get("dry_run"):
        return f"{rows(job.get('imported'))} would be imported, {job.get('failed', 0):,} refused"
    done = [f"{rows(job.get('imported'))} imported"]
    done += [f"{job[key]:,} {key}" for key in ("updated", "unchanged") if job.get(key)]
    return ", ".join(done) + f", {job.get('failed', 0):,} refused"


def clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def problem(text: str) -> str:
    return clipped(text, MAX_PROBLEM_CHARS)


def quoted(cell: str) -> str:
    return repr(clipped(cell, MAX_QUOTED_CHARS))


def unknown_columns(unknown: Sequence[str], template: Sequence[str]) -> str:
    named = ", ".join(quoted(name) for name in unknown[:MAX_LISTED_COLUMNS])
    more = len(unknown) - MAX_LISTED_COLUMNS
    rest = f" and {more:,} more" if more > 0 else ""
    return f"unknown columns {named}{rest}; the template names them: {', '.join(template)}"


def row_plan(row: int, action: str, before: str | None, after: str | None) -> dict[str, Any]:
    return {"row": row, "action": action, "from_status": before, "to_status": after}


def row_error(row: int, column: str | None, code: str, message: str) -> dict[str, Any]:
    name = clipped(column, MAX_QUOTED_CHARS) if column else column
    return {"row": row, "column": name, "code": code, "message": clipped(message, MAX_MESSAGE_CHARS)}
