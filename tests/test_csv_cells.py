"""Cells we write to CSV (pure): what a spreadsheet would run is written as text, and reads back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.csv_cells import as_text, from_text


@pytest.mark.parametrize(
    "formula",
    [
        "=1+1",
        "+1+1",
        "-1+1",
        "@SUM(A1)",
        "\t=1+1",
        "\r=1+1",
        "\n=1+1",
        "＝1+1",
        "＋1",
        "－1",
        "＠SUM(A1)",
        "+84912345678",
    ],
)
def test_what_a_spreadsheet_would_run_starts_with_an_apostrophe(formula: str) -> None:
    assert as_text(formula) == "'" + formula


@pytest.mark.parametrize("text", ["", "Nguyễn Thị Lan", "0912 345 678", "1500000", "王小明", "'", "'Tis", "a=b", " =1"])
def test_other_text_is_written_as_it_is(text: str) -> None:
    assert as_text(text) == text


def test_a_hand_written_apostrophe_stays_and_one_before_a_formula_round_trips() -> None:
    assert from_text("'0912345678") == "'0912345678"  # not one of ours: kept
    assert from_text("'+84912345678") == "+84912345678"
    assert as_text("'=1+1") == "''=1+1" and from_text("''=1+1") == "'=1+1"


@given(st.text())
def test_an_exported_cell_reads_back_as_it_was(text: str) -> None:
    assert from_text(as_text(text)) == text
