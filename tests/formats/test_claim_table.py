"""Claims as CSV rows: out one flat row per claim, in one row per attribution."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.formats.claim_table import (
    ATTRIBUTION_COLUMNS,
    CLAIM_COLUMNS,
    BadCell,
    claims_csv,
    claims_from_rows,
)


def claim(claim_id: str, text: str, confidence: float | None = 0.84) -> dict[str, Any]:
    score = None
    if confidence is not None:
        score = {
            "confidence": confidence,
            "interval": [confidence / 2, (1 + confidence) / 2],
            "estimative": "very likely",
            "credibility": 2,
            "admiralty": "B2",
            "independent_sources": 2.0,
        }
    return {
        "id": claim_id,
        "text": text,
        "status": "open",
        "question": None,
        "score": score,
        "updated_at": "2021-03-24T10:00:00+00:00",
    }


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_a_header_then_one_flat_row_per_claim() -> None:
    rows = read(claims_csv([claim("a", "first"), claim("b", "second", None)]))
    assert rows[0] == list(CLAIM_COLUMNS)
    assert [len(r) for r in rows] == [len(CLAIM_COLUMNS)] * 3
    first = dict(zip(CLAIM_COLUMNS, rows[1], strict=True))
    assert first["id"] == "a"
    assert float(first["confidence"]) == 0.84
    assert float(first["interval_low"]) == 0.42
    assert first["admiralty"] == "B2"
    unscored = dict(zip(CLAIM_COLUMNS, rows[2], strict=True))
    assert unscored["confidence"] == unscored["admiralty"] == unscored["question"] == ""


@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200))
def test_any_text_survives_quoting(text: str) -> None:
    [_, row] = read(claims_csv([claim("a", text)]))
    cell = row[CLAIM_COLUMNS.index("text")]
    # Only a leading formula character gains a quote, which a spreadsheet hides.
    assert cell == text or (cell == "'" + text and text[0] in "=+-@\t\r")


def test_lines_end_as_rfc_4180_says() -> None:
    assert claims_csv([claim("a", "x")]).count("\r\n") == 2


def rows(*lines: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    return [(n, line) for n, line in enumerate(lines, start=2)]


def test_consecutive_rows_of_an_id_are_one_claim() -> None:
    found = list(
        claims_from_rows(
            rows(
                {"id": "c1", "text": "Ships wait", "tags": "suez; shipping", "source": "ap"},
                {"id": "c1", "text": "", "source": "reuters", "via": "x; y", "certainty": "0.5"},
                {"id": "c2", "text": "Other", "source": "", "stance": ""},
                {"text": "No id", "source": "ap", "stance": "refutes", "count": "2"},
            )
        )
    )
    assert found == [
        (
            2,
            {
                "id": "c1",
                "text": "Ships wait",
                "tags": ["suez", "shipping"],
                "attributions": [
                    {"source": "ap"},
                    {"source": "reuters", "via": ["x", "y"], "certainty": 0.5},
                ],
            },
        ),
        (4, {"id": "c2", "text": "Other", "attributions": []}),
        (5, {"text": "No id", "attributions": [{"source": "ap", "stance": "refutes", "count": 2}]}),
    ]


def test_a_figure_is_a_number_or_its_json_in_and_out() -> None:
    found = [
        claim
        for _, claim in claims_from_rows(
            rows(
                {"id": "a", "text": "A", "question": "q", "value": "1,500", "source": "ap"},
                {"id": "b", "text": "B", "question": "q", "value": "-0.25"},
                {"id": "c", "text": "C", "question": "q", "value": '{"low": 10, "high": 20}'},
            )
        )
        if isinstance(claim, dict)
    ]
    assert [c["value"] for c in found] == [
        {"point": 1500.0},
        {"point": -0.25},
        {"low": 10, "high": 20},
    ]
    out = [claim(c["id"], c["text"]) | {"value": c["value"], "tags": ["=x", "y"]} for c in found]
    table = [dict(zip(CLAIM_COLUMNS, row, strict=True)) for row in read(claims_csv(out))[1:]]
    assert [(t["value"], t["tags"]) for t in table] == [
        ("1500.0", "'=x;y"),
        ("-0.25", "'=x;y"),
        ('{"high": 20, "low": 10}', "'=x;y"),
    ]


@pytest.mark.parametrize(
    ("second", "column", "line"),
    [
        ({"id": "c1", "certainty": "high"}, "certainty", 3),
        ({"id": "c1", "value": "about 1500"}, "value", 3),
        ({"id": "c1", "count": "1.5"}, "count", 3),
        ({"id": "c1", "text": "Another text"}, "text", 3),
    ],
)
def test_bad_cells_name_their_line_and_column(
    second: dict[str, str], column: str, line: int
) -> None:
    read = list(claims_from_rows(rows({"id": "c1", "text": "T", "source": "ap"}, second)))
    bad = [cell for _, cell in read if isinstance(cell, BadCell)]
    assert [(b.line, b.column) for b in bad] == [(line, column)]
    # The bad row is left out; the claim is read without it.
    assert read[-1] == (2, {"id": "c1", "text": "T", "attributions": [{"source": "ap"}]})


def test_a_claims_rows_must_be_consecutive() -> None:
    lines = rows({"id": "c1", "text": "T"}, {"id": "c2", "text": "U"}, {"id": "c1", "source": "a"})
    bad = [cell for _, cell in claims_from_rows(lines) if isinstance(cell, BadCell)]
    assert [str(b) for b in bad] == [
        "line 4: id: the rows of c1 must be consecutive (first at line 2)"
    ]


def test_every_bad_row_is_found_in_one_pass() -> None:
    lines = rows(
        {"id": "c1", "text": "T", "certainty": "high"},
        {"id": "c2", "text": "U", "source": "ap"},
        {"id": "c2", "text": "V"},
        {"id": "c3", "text": "W", "count": "many"},
        {"id": "c4", "text": "X", "source": "wire"},
    )
    read = list(claims_from_rows(lines))
    assert [(line, type(cell).__name__) for line, cell in read] == [
        (2, "BadCell"),
        (4, "BadCell"),
        (5, "BadCell"),
        (3, "dict"),
        (6, "dict"),
    ]


def test_the_documented_columns() -> None:
    assert ATTRIBUTION_COLUMNS[:2] == ("id", "text")
    assert {"source", "stance", "via", "certainty", "url", "quote"} <= set(ATTRIBUTION_COLUMNS)
