"""Claims as a spreadsheet's rows, out (one flat row per claim) and in (one row per attribution).

Out: ``CLAIM_COLUMNS``, one header row, then one row per claim document; a claim
without a score leaves the score's cells empty. A text cell that a spreadsheet
would run as a formula (it begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is written with a leading ``'``, as OWASP advises for CSV
meant for spreadsheets.

In: ``ATTRIBUTION_COLUMNS``, one row per attribution; consecutive rows with the
same ``id`` are one claim, whose ``text``, ``question``, ``value``, ``prior`` and
``tags`` come from its first row (later rows may leave them empty). ``via`` and
``tags`` hold several values separated by ``;``. ``value``, an answer's figure in
a numeric question, is a number (``1500`` or ``1,500``: a point) or the JSON of
the API's figure (``{"low": 1000, "high": 2000}``); out, a point is its number
and any other figure its JSON. A row whose attribution cells are all
empty adds no attribution (a claim with no evidence yet); a row without an ``id``
is a claim of its own.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

CLAIM_COLUMNS = (
    "id",
    "text",
    "status",
    "question",
    "value",
    "tags",
    "confidence",
    "interval_low",
    "interval_high",
    "estimative",
    "credibility",
    "admiralty",
    "independent_sources",
    "updated_at",
)

CLAIM_CELLS = ("text", "question", "value", "prior", "tags")
ATTRIBUTION_CELLS = (
    "source",
    "stance",
    "via",
    "certainty",
    "count",
    "observed_at",
    "url",
    "quote",
)
ATTRIBUTION_COLUMNS = ("id", *CLAIM_CELLS, *ATTRIBUTION_CELLS)
# Cells that hold numbers; the request schemas want JSON numbers, not strings.
_FLOATS = ("prior", "certainty")
_INTEGERS = ("count",)
_LISTS = ("via", "tags")
LIST_SEPARATOR = ";"

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A number with its thousands separated by commas, as spreadsheets display them.
_GROUPED = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _safe_text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _value_cell(value: Mapping[str, Any] | None) -> Any:
    if value is None:
        return None
    if set(value) == {"point"}:
        return value["point"]
    return json.dumps(value, sort_keys=True)


def claim_row(claim: Mapping[str, Any]) -> list[Any]:
    """One claim document (as ``GET /v1/claims`` serves it) as a row of ``CLAIM_COLUMNS``."""
    score = claim.get("score") or {}
    low, high = score.get("interval") or (None, None)
    return [
        _cell(v)
        for v in (
            claim["id"],
            _safe_text(claim["text"]),
            claim["status"],
            claim.get("question"),
            _value_cell(claim.get("value")),
            LIST_SEPARATOR.join(_safe_text(t) for t in claim.get("tags") or ()),
            score.get("confidence"),
            low,
            high,
            score.get("estimative"),
            score.get("credibility"),
            score.get("admiralty"),
            score.get("independent_sources"),
            claim.get("updated_at"),
        )
    ]


def claims_csv(claims: Iterable[Mapping[str, Any]], *, header: bool = True) -> str:
    """A header row (unless ``header`` is false: a later part of a table written in
    parts) and one row per claim, CSV as RFC 4180 writes it (CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(CLAIM_COLUMNS)
    writer.writerows(claim_row(c) for c in claims)
    return out.getvalue()


class BadCell(ValueError):
    """A row that cannot be read: ``line`` and ``column`` (None for the whole row) say where."""

    def __init__(self, line: int, column: str | None, message: str) -> None:
        self.line = line
        self.column = column
        self.detail = message if column is None else f"{column}: {message}"
        super().__init__(f"line {line}: {self.detail}")


def _figure(line: int, cell: str) -> Any:
    """A ``value`` cell: a number is a point, anything else the JSON of a figure."""
    number = cell.replace(",", "") if _GROUPED.fullmatch(cell) else cell
    try:
        return {"point": float(number)}
    except ValueError:
        pass
    try:
        return json.loads(cell)
    except (json.JSONDecodeError, RecursionError):
        raise BadCell(
            line,
            "value",
            f'must be a number or a figure\'s JSON ({{"low": 1000, "high": 2000}}), got {cell!r}',
        ) from None


def _parse(line: int, column: str, cell: str) -> Any:
    if column in _LISTS:
        return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]
    if column == "value":
        return _figure(line, cell)
    try:
        if column in _FLOATS:
            return float(cell)
        if column in _INTEGERS:
            return int(cell)
    except ValueError:
        kind = "a number" if column in _FLOATS else "an integer"
        raise BadCell(line, column, f"must be {kind}, got {cell!r}") from None
    return cell


def claims_from_rows(
    rows: Iterable[tuple[int, Mapping[Any, Any]]],
) -> Iterator[tuple[int, dict[str, Any] | BadCell]]:
    """Claim request bodies from attribution rows, each with its first row's line number.

    A row that cannot be read is yielded in its place as a ``BadCell`` and left
    out, and reading goes on, so that one pass finds every bad row: a cell that
    is not a number where one is needed, more cells than the header has columns,
    a claim's rows that are not consecutive, or a claim cell that differs from
    the claim's first row.

    Parameters
    ----------
    rows : iterable of (int, mapping)
        ``csv.DictReader`` rows of ``ATTRIBUTION_COLUMNS`` with their line numbers
        (extra cells under the key None); empty cells and unknown columns are
        left out.
    """
    seen: dict[str, int] = {}
    current: dict[str, Any] | None = None
    start = 0
    for line, row in rows:
        try:
            if None in row:
                raise BadCell(line, None, "the row has more cells than the header has columns")
            cells = {
                k: _parse(line, k, v.strip())
                for k, v in row.items()
                if k in ATTRIBUTION_COLUMNS and v is not None and v.strip() != ""
            }
        except BadCell as bad:
            yield line, bad
            continue
        claim_id = cells.get("id")
        if current is None or claim_id is None or claim_id != current.get("id"):
            if current is not None:
                yield start, current
                current = None
            if claim_id is not None and claim_id in seen:
                message = (
                    f"the rows of {claim_id} must be consecutive (first at line {seen[claim_id]})"
                )
                yield line, BadCell(line, "id", message)
                continue
            if claim_id is not None:
                seen[claim_id] = line
            current = {"attributions": []}
            if claim_id is not None:
                current["id"] = claim_id
            start = line
            current.update({k: cells[k] for k in CLAIM_CELLS if k in cells})
        else:
            differing = [k for k in CLAIM_CELLS if k in cells and cells[k] != current.get(k)]
            if differing:
                yield (
                    line,
                    BadCell(
                        line, differing[0], f"differs from the claim's first row (line {start})"
                    ),
                )
                continue
        attribution = {k: cells[k] for k in ATTRIBUTION_CELLS if k in cells}
        if attribution:
            current["attributions"].append(attribution)
    if current is not None:
        yield start, current
