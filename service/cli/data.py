"""``credence import`` and ``credence export``: the store as JSON Lines (or CSV in).

One row per line, with a ``type``: ``source`` (``id`` plus the fields of PUT
/v1/sources), ``question`` (``id`` plus the fields of PUT /v1/questions, and a
numeric question's ``resolution``: ``value``, ``resolved_at``, ``note``; stored
before the batch's claims), ``claim`` (the fields of a claim in POST
/v1/claims) or ``resolution`` (``claim_id`` plus the fields of POST
/v1/claims/{id}/resolution, and the ``forecast`` an export records; stored
after the batch's claims).

An export also records when the first store stored each claim (a claim's
``created_at``) and recorded each outcome and numeric value (``recorded_at`` of a
resolution and of a question's resolution): track records count only stances
observed before the outcome was recorded, and calibration only claims stored
before it, so a store restored elsewhere judges as the first did. A row without
them (a file of history) is stored and recorded as of the import. CSV files
have a header naming the same fields; the ``prior``, ``tags``,
``attributions``, ``value``, ``resolution``, ``tolerance`` and ``forecast`` cells hold JSON
(a number is JSON too), empty cells are left out.

Rows are stored in batches, each in one transaction: a bad row is reported with
its line number and nothing of its batch is stored (earlier batches are). The
readers yield a row that cannot be read as its ``BadRow``, in its place, and read
on, so that ``--check`` lists every bad row in one pass; a file that cannot be
read on (a quote left open) stops it.
Other row types register themselves in ``ROW_TYPES``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

import click
import marshmallow as ma
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from service.app_state import state
from service.cli.common import app_context
from service.field_errors import flatten_messages
from service.formats import claim_table
from service.schemas.requests import (
    SLUG_PATTERN,
    SLUG_RE,
    AwareTime,
    ClaimBatchSchema,
    QuestionResolutionSchema,
    QuestionSchema,
    ResolutionRequestSchema,
    SourceSchema,
)
from service.schemas.responses import attribution_document, claim_document, iso_time
from service.schemas.warnings import UNDEFINED_RELAY, UNDEFINED_SOURCE, UndefinedIds
from service.store import change_counters
from service.store import claims as claim_store
from service.store import questions as question_store
from service.store.db import writer
from service.store.models import Claim, Question, Resolution, Source, utcnow
from service.store.resolutions import (
    CLOCK_SKEW,
    ResolutionContext,
    ResolutionRefused,
    follow_stored,
    judge_answers,
    resolve_claims,
)
from service.store.source_beliefs import read_book
from service.store.sources import save_sources
from service.web.database import get_engine

# Bad rows a check lists (it counts them all).
LISTED = 50
_TIME = AwareTime(default_timezone=UTC)
UNDEFINED = {"source": UNDEFINED_SOURCE, "relay": UNDEFINED_RELAY}
# Cells of a CSV row that hold JSON rather than text.
JSON_COLUMNS = ("prior", "tags", "attributions", "value", "resolution", "tolerance", "forecast")


class BadRow(Exception):
    def __init__(self, line: int, message: str) -> None:
        # Without its full stop: the message is followed by what became of the batch.
        super().__init__(f"line {line}: {message.rstrip('.')}")
        self.line = line


@dataclass(frozen=True)
class RowType:
    """How rows of one ``type`` are validated and stored.

    ``validate`` turns a row (without ``type``) into what ``store`` takes, or
    raises ``marshmallow.ValidationError``; ``store`` writes a batch's valid rows
    of this type, each with its line number, in the caller's transaction, or
    raises ``BadRow``.
    """

    validate: Callable[[dict[str, Any]], Any]
    store: Callable[[Session, list[tuple[int, Any]]], None]


def _pop_slug(row: dict[str, Any], key: str) -> str:
    """``row[key]`` taken out of the row; ValidationError unless it is a slug."""
    value = row.pop(key, None)
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise ma.ValidationError({key: [f"Required, and a slug: {SLUG_PATTERN}"]})
    return value


def _pop_time(row: dict[str, Any], key: str) -> datetime | None:
    """``row[key]``, an RFC 3339 time not in the future, taken out of the row (None
    without one)."""
    value = row.pop(key, None)
    if value is None:
        return None
    try:
        time: datetime = _TIME.deserialize(value)
    except ma.ValidationError as exc:
        raise ma.ValidationError({key: exc.messages}) from None
    if time > utcnow() + CLOCK_SKEW:
        raise ma.ValidationError({key: ["Must not be in the future."]})
    return time


def _validate_source(row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    source_id = _pop_slug(row, "id")
    definition: dict[str, Any] = SourceSchema().load(row)
    return source_id, definition


def _store_sources(session: Session, rows: list[tuple[int, tuple[str, dict[str, Any]]]]) -> None:
    # Later rows with the same id win, as if put one after the other.
    save_sources(session, {source_id: definition for _, (source_id, definition) in rows}, utcnow())


def _validate_claim(row: dict[str, Any]) -> tuple[dict[str, Any], datetime | None]:
    created_at = _pop_time(row, "created_at")
    try:
        claim: dict[str, Any] = ClaimBatchSchema().load({"claims": [row]})["claims"][0]
    except ma.ValidationError as exc:
        # Report paths from the row itself ("text"), not from the batch ("claims.0.text").
        messages: Any = exc.normalized_messages()
        raise ma.ValidationError(messages["claims"][0]) from None
    return claim, created_at


def _resolution_context(session: Session) -> ResolutionContext:
    """The model and the source beliefs as this transaction sees them."""
    app = state()
    connection = session.connection()
    return ResolutionContext(
        app.setup,
        app.settings.learning,
        read_book(connection, app.sources.catalogue, app.setup),
        change_counters.read_all(connection).get(change_counters.RELIABILITIES, 0),
    )


def _validate_question(row: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    question_id = _pop_slug(row, "id")
    resolution = row.pop("resolution", None)
    definition: dict[str, Any] = QuestionSchema().load(row)
    resolved = None
    if resolution is not None:
        try:
            recorded_at = (
                _pop_time(resolution, "recorded_at") if isinstance(resolution, dict) else None
            )
            resolved = QuestionResolutionSchema().load(resolution) | {"recorded_at": recorded_at}
        except ma.ValidationError as exc:
            raise ma.ValidationError({"resolution": exc.messages}) from None
    return question_id, definition, resolved


def _store_questions(
    session: Session,
    rows: list[tuple[int, tuple[str, dict[str, Any], dict[str, Any] | None]]],
) -> None:
    """Define questions as ``PUT /v1/questions/{id}`` does; a numeric question's recorded
    resolution comes back with it (its answers' own resolutions are rows of their own)."""
    now = utcnow()
    for number, (question_id, definition, resolved) in rows:
        errors = question_store.save_question(session, question_id, definition, now)
        if errors:
            field, messages = next(iter(errors.items()))
            raise BadRow(number, f"{field}: {' '.join(messages)}")
        if resolved is not None:
            row = session.get(Question, question_id)
            assert row is not None
            row.resolved_value = resolved["value"]
            row.resolved_at = resolved.get("resolved_at") or now
            row.resolution_note = resolved.get("note")
            # An export's record, so that figures posted later are judged as they were
            # in the first store. The answers this import judges are dated as they are
            # judged all the same (``judge_answers``, ``by_record=False``): history.
            row.value_recorded_at = resolved["recorded_at"]


def _store_claims(
    session: Session, numbered: list[tuple[int, tuple[dict[str, Any], datetime | None]]]
) -> None:
    rows = [(number, claim) for number, (claim, _) in numbered]
    refused = _value_refusals(session, rows)
    if refused:
        raise refused[0]
    beliefs = _resolution_context(session)
    scorer = beliefs.setup.scorer.with_model(beliefs.book.model)
    book = beliefs.book.beliefs
    # Later rows with the same id win, as if posted one after the other.
    batch = claim_store.prepare_claims(
        [claim for _, claim in rows], scorer=scorer, beliefs=book, now=utcnow()
    )
    question_store.lock_questions(session, [claim.get("question") for _, claim in rows])
    stored = claim_store.store_claims(
        session, batch, scorer=scorer, beliefs=book, beliefs_version=beliefs.version
    )
    # As POST /v1/claims: a resolved claim's track records follow its attributions, and
    # an answer resolved before is judged again by its figure (open answers are judged
    # at the end of the import, after the file's own resolution rows).
    now = utcnow()
    follow_stored(session, stored, beliefs, now)
    resolved = [
        s.id for s in stored if s.resolution and (s.claim.get("value") or s.resolution.question)
    ]
    judge_answers(session, resolved, beliefs, now, by_record=False)
    # An export's claims were stored earlier, in the store it was taken from.
    claim_store.backdate(
        session,
        [(s.id, at) for s, (_, (_, at)) in zip(stored, numbered, strict=True) if at is not None],
    )


def _validate_resolution(row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    claim_id = _pop_slug(row, "claim_id")
    recorded_at = _pop_time(row, "recorded_at")
    # An export's record of the score the claim had when resolved, which calibration
    # is judged on: the score an import would compute now is another model's.
    forecast = row.pop("forecast", None)
    body: dict[str, Any] = ResolutionRequestSchema().load(row)
    if forecast is not None:
        if isinstance(forecast, bool) or not isinstance(forecast, int | float):
            raise ma.ValidationError({"forecast": ["Not a valid number."]})
        if not 0 <= forecast <= 1:
            raise ma.ValidationError({"forecast": ["Must be between 0 and 1."]})
        body["forecast"] = float(forecast)
    if recorded_at is not None:
        body["recorded_at"] = recorded_at
    return claim_id, body


def _store_resolutions(session: Session, rows: list[tuple[int, tuple[str, Any]]]) -> None:
    """Resolve claims as ``POST /v1/resolutions`` does; a refusal names the first bad row.

    A row the store holds already (the claim resolved with the same outcome, at the
    same time where the row gives one) is skipped, so that an export imported again,
    or an import run again after it stopped, stores what is new and refuses only
    outcomes that disagree with the stored ones.
    """
    stored = claim_store.stored_resolutions(session, [claim_id for _, (claim_id, _) in rows])
    rows = [row for row in rows if not _same_resolution(stored.get(row[1][0]), row[1][1])]
    if not rows:
        return
    try:
        # An export's rows record outcomes, a numeric question's answers' included.
        resolve_claims(
            session,
            [request for _, request in rows],
            _resolution_context(session),
            utcnow(),
            from_question=True,
        )
    except ResolutionRefused as refused:
        first = min(refused.errors)
        field = next(iter(refused.errors[first]))
        raise BadRow(rows[first][0], f"{field}: {refused.errors[first][field][0]}") from None


def _same_resolution(stored: Resolution | None, body: Mapping[str, Any]) -> bool:
    """Whether a resolution row is the ``stored`` one: its outcome, at its time where the
    row gives one."""
    return (
        stored is not None
        and stored.outcome == body["outcome"]
        and (
            body.get("resolved_at") is None
            or iso_time(stored.resolved_at) == iso_time(body["resolved_at"])
        )
    )


ROW_TYPES: dict[str, RowType] = {
    "source": RowType(_validate_source, _store_sources),
    "question": RowType(_validate_question, _store_questions),
    "claim": RowType(_validate_claim, _store_claims),
    "resolution": RowType(_validate_resolution, _store_resolutions),
}


def _json_lines(handle: IO[str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, BadRow(number, f"not valid JSON: {exc.msg}")
        except RecursionError:
            yield number, BadRow(number, "not valid JSON: nested too deeply")


def _numbered(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str | None, Any]]]:
    """The reader's rows with the line each begins on (extra cells under the key None).

    The reader counts the lines it has read, so after a row whose quoted cell spans
    lines its count is the row's last line: a row begins after the one before ends
    (the header is read already).
    """
    ended = reader.line_num
    for row in reader:
        # A row of empty cells (",,", as spreadsheets write blank rows) holds nothing.
        if any(row.values()):
            yield ended + 1, row
        ended = reader.line_num


def _typed_row(number: int, row: Mapping[str | None, Any]) -> dict[str, Any]:
    """A typed CSV row as a JSON Lines row: JSON cells read, empty cells left out."""
    parsed: dict[str, Any] = {}
    for key, cell in row.items():
        if key is None:
            raise BadRow(number, "the row has more cells than the header has columns")
        if cell in (None, ""):
            continue
        try:
            parsed[key] = json.loads(cell) if key in JSON_COLUMNS else cell
        except json.JSONDecodeError:
            raise BadRow(number, f"{key}: not valid JSON") from None
    return parsed


def _typed_csv_rows(reader: csv.DictReader[str]) -> Iterator[tuple[int, Any]]:
    for number, row in _numbered(reader):
        try:
            parsed: dict[str, Any] | BadRow = _typed_row(number, row)
        except BadRow as bad:
            parsed = bad
        yield number, parsed


def _attribution_csv_rows(reader: csv.DictReader[str]) -> Iterator[tuple[int, Any]]:
    for number, claim in claim_table.claims_from_rows(_numbered(reader)):
        if isinstance(claim, claim_table.BadCell):
            yield number, BadRow(number, claim.detail)
        else:
            yield number, {"type": "claim", **claim}


def _csv_rows(handle: IO[str]) -> Iterator[tuple[int, Any]]:
    """Rows of a typed CSV (a ``type`` column, JSON cells), or claims of a plain one
    (one row per attribution, ``claim_table.ATTRIBUTION_COLUMNS``)."""
    # strict: a quote left open is an error, not a cell that swallows the rest of the file.
    reader = csv.DictReader(handle, strict=True)
    try:
        # Column names as people type them: "ID", "Text ".
        header = [name.strip().lower() for name in reader.fieldnames or []]
        reader.fieldnames = header
        if len(header) == 1 and ";" in header[0]:
            raise BadRow(
                1,
                "the header's columns are separated by ';': save the file as CSV with "
                "commas (in Excel: CSV UTF-8, comma delimited)",
            )
        if "type" in header:
            rows = _typed_csv_rows(reader)
        elif "text" in header or "id" in header:
            # A column without a name (a trailing comma in the header) holds nothing.
            unknown = [c for c in header if c and c not in claim_table.ATTRIBUTION_COLUMNS]
            if unknown:
                raise BadRow(
                    1,
                    f"unknown columns {', '.join(map(repr, unknown))}: a CSV of claims has "
                    f"the columns {', '.join(claim_table.ATTRIBUTION_COLUMNS)}",
                )
            rows = _attribution_csv_rows(reader)
        else:
            raise BadRow(1, "the header needs a type column, or the columns id, text, source, ...")
        yield from rows
    except csv.Error as exc:
        # The reader's line count is that of the last row it read whole.
        raise BadRow(reader.line_num + 1, f"not valid CSV from here: {exc}") from None


def _row_id(kind: str, value: Any) -> str | None:
    """The id a validated row defines: a source's or question's (first of its tuple), a
    claim's if it gives one; None for a resolution."""
    if kind == "claim":
        claim_id: str | None = value[0].get("id")
        return claim_id
    return None if kind == "resolution" else str(value[0])


def _validated(number: int, row: Any) -> tuple[str, Any]:
    if isinstance(row, BadRow):
        raise row
    if not isinstance(row, dict):
        raise BadRow(number, "a row must be a JSON object")
    kind = row.pop("type", None)
    if kind not in ROW_TYPES:
        raise BadRow(number, f"type: must be one of {', '.join(ROW_TYPES)}")
    try:
        return kind, ROW_TYPES[kind].validate(row)
    except ma.ValidationError as exc:
        problems = flatten_messages(exc.messages)
        raise BadRow(
            number, "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in problems.items())
        ) from None


@dataclass
class Batch:
    """One transaction's rows: the lines they span and how many of each type."""

    first_line: int
    last_line: int
    counts: dict[str, int]


def _counted(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items() if n)


@dataclass
class ImportReport:
    """The batches stored (or, for a dry run, checked) so far."""

    batches: list[Batch]
    named: dict[tuple[str, str], int] = field(default_factory=dict)
    """Each source and relay id the claims name, as ``(id, "source" or "relay")``, with
    the line that first names it."""
    defined: set[str] = field(default_factory=set)
    """The ids of the file's source rows."""

    def undefined(self, defined: Collection[str]) -> list[BadRow]:
        """``undefined-source`` and ``undefined-relay`` of ``POST /v1/claims``, one for each
        id the claims name that neither ``defined`` nor the file defines, in line order."""
        undefined = UndefinedIds(defined)
        return [
            BadRow(line, f"{UNDEFINED[what]}: {undefined.detail(source_id, what)}")
            for (source_id, what), line in sorted(self.named.items(), key=lambda kv: kv[1])
            if source_id not in defined and source_id not in self.defined
        ]

    def totals(self) -> dict[str, int]:
        return {k: sum(b.counts.get(k, 0) for b in self.batches) for k in ROW_TYPES}

    def describe(self) -> str:
        if not self.batches:
            return "no rows"
        first, last = self.batches[0].first_line, self.batches[-1].last_line
        count = len(self.batches)
        batches = "1 batch" if count == 1 else f"{count} batches"
        return f"{_counted(self.totals()) or 'no rows'} ({batches}, lines {first}-{last})"


class ImportStopped(Exception):
    """Bad rows stopped the import: ``bad`` says where (the first ``LISTED`` of
    ``count``), ``report`` what was stored before the first."""

    def __init__(self, bad: list[BadRow], count: int, report: ImportReport) -> None:
        super().__init__(str(bad[0]))
        self.bad = bad
        self.count = count
        self.report = report


def import_rows(
    session_factory: Callable[[], Session],
    rows: Iterator[tuple[int, Any]],
    batch_size: int,
    progress: Callable[[int], None],
    *,
    dry_run: bool = False,
) -> ImportReport:
    """Store validated rows batch by batch, each in one transaction; what was stored.

    With ``dry_run``, every row is validated as the import would, and nothing is
    stored; every bad row is found, not only the first. What the store would
    refuse is checked against it as far as it can be without writing
    (``_store_refusals``).
    ``progress`` gets the last line read.

    The answers left open in numeric questions already resolved are judged at the
    end, as ``POST /v1/claims`` judges them (``judge_answers``): not as they are
    stored, because a restored export's answers come with resolution rows of their
    own after them.

    Raises
    ------
    ImportStopped
        At the first bad row, with the batches stored before its own (their
        answers judged); for a dry run, after the last row, with every bad row.
    """
    report = ImportReport([])
    questions: set[str] = set()
    # Each source, question and claim id once in a file, as once in a request: a
    # second row of one id would quietly replace the first.
    first_at: dict[tuple[str, str], int] = {}
    bad_rows: list[BadRow] = []
    bad_count = 0
    resolved: dict[str, tuple[int, Mapping[str, Any]]] = {}
    try:
        while batch := list(islice(rows, batch_size)):
            by_type: dict[str, list[tuple[int, Any]]] = {kind: [] for kind in ROW_TYPES}
            for number, row in batch:
                try:
                    kind, value = _validated(number, row)
                    row_id = _row_id(kind, value)
                    if row_id is not None:
                        first = first_at.setdefault((kind, row_id), number)
                        if first != number:
                            raise BadRow(number, f"id: {kind} {row_id} is on line {first} too")
                except BadRow as bad:
                    if not dry_run:
                        raise
                    bad_count += 1
                    if len(bad_rows) < LISTED:
                        bad_rows.append(bad)
                    continue
                by_type[kind].append((number, value))
                if kind == "claim":
                    claim = value[0]
                    _name(report.named, claim, number)
                    if claim.get("question") is not None:
                        questions.add(claim["question"])
                elif kind == "source":
                    report.defined.add(value[0])
            if dry_run:
                with session_factory() as session:
                    refused = _store_refusals(session, by_type, first_at, resolved)
                bad_count += len(refused)
                bad_rows.extend(refused[: LISTED - len(bad_rows)])
            else:
                with session_factory() as session, session.begin():
                    for kind, values in by_type.items():
                        if values:
                            ROW_TYPES[kind].store(session, values)
            report.batches.append(
                Batch(batch[0][0], batch[-1][0], {k: len(v) for k, v in by_type.items()})
            )
            progress(batch[-1][0])
    except BadRow as bad:
        if not dry_run:
            _judge_open_answers(session_factory, questions)
        raise ImportStopped([*bad_rows, bad][:LISTED], bad_count + 1, report) from None
    if bad_rows:
        bad_rows.sort(key=lambda bad: bad.line)
        raise ImportStopped(bad_rows, bad_count, report)
    if not dry_run:
        _judge_open_answers(session_factory, questions)
    return report


def _store_refusals(
    session: Session,
    by_type: Mapping[str, list[tuple[int, Any]]],
    in_file: Mapping[tuple[str, str], int],
    resolved: dict[str, tuple[int, Mapping[str, Any]]],
) -> list[BadRow]:
    """The rows of a checked batch the store would refuse, read without writing: a
    claim's figure its question (stored, not redefined in the file) cannot take; a
    resolution of a claim neither stored nor in the file, or one that contradicts
    the claim's stored outcome or an earlier row's. ``resolved`` gathers the file's
    resolutions across batches.

    Not checked: what depends on rows the check does not store, such as a second
    confirmed answer to one question.
    """
    claims = [
        (number, claim)
        for number, (claim, _) in by_type["claim"]
        if ("question", claim.get("question")) not in in_file
    ]
    refused = _value_refusals(session, claims)
    rows = by_type["resolution"]
    ids = [claim_id for _, (claim_id, _) in rows]
    stored = claim_store.stored_resolutions(session, ids)
    existing = claim_store.stored_ids(session, ids)
    for number, (claim_id, body) in rows:
        line, before = resolved.get(claim_id, (0, None))
        if claim_id not in existing and ("claim", claim_id) not in in_file:
            problem: str | None = f"No claim {claim_id!r}."
        elif line >= rows[0][0]:
            # One batch resolves its claims in one request.
            problem = f"Claim {claim_id!r} is resolved on line {line} too, in the same batch."
        elif before is not None and before["outcome"] != body["outcome"]:
            problem = f"Claim {claim_id!r} is {before['outcome']} on line {line}."
        elif (r := stored.get(claim_id)) is not None and not _same_resolution(r, body):
            problem = f"Claim {claim_id!r} is already {r.outcome}; withdraw it first."
        else:
            problem = None
            resolved.setdefault(claim_id, (number, body))
        if problem is not None:
            refused.append(BadRow(number, f"claim_id: {problem}"))
    return refused


def _value_refusals(
    session: Session, rows: Sequence[tuple[int, Mapping[str, Any]]]
) -> list[BadRow]:
    """The claim rows whose figures their questions refuse (``value_errors``), in order."""
    errors = question_store.value_errors(session, [claim for _, claim in rows], with_stored=True)
    return [
        BadRow(rows[int(path.split(".")[1])][0], f"value: {' '.join(messages)}")
        for path, messages in errors.items()
    ]


def _name(named: dict[tuple[str, str], int], claim: Mapping[str, Any], line: int) -> None:
    for attribution in claim["attributions"]:
        named.setdefault((attribution["source"], "source"), line)
        for relay in attribution["via"]:
            named.setdefault((relay, "relay"), line)


def _judge_open_answers(session_factory: Callable[[], Session], questions: set[str]) -> None:
    """Judge the open answers of ``questions`` that are numeric and resolved."""
    if not questions:
        return
    with session_factory() as session, session.begin():
        open_answers = question_store.open_figure_ids(session, sorted(questions))
        judge_answers(
            session, open_answers, _resolution_context(session), utcnow(), by_record=False
        )


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="Default: by extension.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--check", is_flag=True, help="Validate every row; store nothing (a dry run).")
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse the file, storing nothing, if its claims name sources or relays that are "
    "not defined (the warnings of POST /v1/claims?strict=true).",
)
def import_(file: Path, fmt: str | None, batch_size: int, check: bool, strict: bool) -> None:
    """Import sources, claims and resolutions from FILE (JSON Lines or CSV).

    Claims that name a source or relay defined neither in the store, nor in the
    catalogue, nor in the file get a warning each, as POST /v1/claims gives (often
    a typo: such a source is scored with the unknown-source prior); ``--strict``
    refuses the file for them.
    """
    fmt = fmt or ("csv" if file.suffix.lower() == ".csv" else "jsonl")
    lines = _utf8_lines(file)
    with app_context():
        engine = writer(get_engine())
        if strict and not check:
            # Checked whole first: batches are stored as they come.
            checked = _import_file(file, fmt, engine, batch_size, True, lines)
            _refuse_undefined(file, _undefined(checked))
        report = _import_file(file, fmt, engine, batch_size, check, lines)
        undefined = _undefined(report)
        if strict:
            _refuse_undefined(file, undefined)
        for warning in undefined[:LISTED]:
            click.echo(f"warning: {warning}", err=True)
        if len(undefined) > LISTED:
            more = len(undefined) - LISTED
            click.echo(f"warning: and {more} more undefined sources and relays", err=True)
    verb = "checked" if check else "imported"
    click.echo(f"{verb} {report.describe()}{'; nothing was stored' if check else ''}", err=True)


def _import_file(
    file: Path, fmt: str, engine: Engine, batch_size: int, check: bool, lines: int
) -> ImportReport:
    # utf-8-sig: a spreadsheet's "CSV UTF-8" begins with a byte order mark, which
    # would otherwise be part of the first column's name.
    with file.open(encoding="utf-8-sig", newline="") as handle:
        label = "checking" if check else "importing"
        with click.progressbar(length=lines, label=label, file=sys.stderr) as bar:

            def progress(line: int) -> None:
                bar.update(line - bar.pos)

            try:
                rows = _csv_rows(handle) if fmt == "csv" else _json_lines(handle)
                return import_rows(
                    lambda: Session(engine), rows, batch_size, progress, dry_run=check
                )
            except ImportStopped as stopped:
                raise click.ClickException(_stopped(file, stopped, check)) from None


def _undefined(report: ImportReport) -> list[BadRow]:
    with Session(get_engine()) as session:
        book = read_book(session.connection(), state().sources.catalogue, state().setup)
    return report.undefined(book.definitions.keys())


def _refuse_undefined(file: Path, undefined: Sequence[BadRow]) -> None:
    if undefined:
        listed = "".join(f"\n  {bad}" for bad in undefined[:LISTED])
        more = len(undefined) - LISTED
        rest = f"\n  and {more} more" if more > 0 else ""
        raise click.ClickException(
            f"{file}: {len(undefined)} undefined sources and relays; nothing was stored "
            f"(--strict):{listed}{rest}"
        )


def _utf8_lines(file: Path) -> int:
    """How many lines ``file`` has, once each is found to be UTF-8 text (a file saved
    in another encoding stops the import before anything is read, naming the line)."""
    lines = 0
    with file.open("rb") as handle:
        for lines, line in enumerate(handle, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise click.ClickException(
                    f"{file}: line {lines} is not UTF-8 text ({exc.reason} at byte "
                    f"{exc.start + 1} of the line); save the file as UTF-8"
                ) from None
    return lines


def _stopped(file: Path, stopped: ImportStopped, check: bool) -> str:
    if check and stopped.count == 1:
        return f"{file}: {stopped.bad[0]}; nothing was stored (--check)"
    if check:
        listed = "".join(f"\n  {bad}" for bad in stopped.bad)
        more = stopped.count - len(stopped.bad)
        rest = f"\n  and {more} more" if more else ""
        return f"{file}: {stopped.count} bad rows; nothing was stored (--check):{listed}{rest}"
    before = stopped.report.describe() if stopped.report.batches else "nothing"
    return f"{file}: {stopped.bad[0]}; nothing of its batch was stored. Stored before it: {before}."


def _export_rows(session: Session) -> Iterator[Mapping[str, Any]]:
    for source in session.scalars(select(Source).order_by(Source.id)):
        yield {
            "type": "source",
            "id": source.id,
            **{
                key: value
                for key, value in (
                    ("name", source.name),
                    ("kind", source.kind),
                    ("group", source.group),
                    ("prior", source.prior),
                    ("notes", source.notes),
                )
                if value is not None
            },
        }
    for question in session.scalars(select(Question).order_by(Question.id)):
        defined: dict[str, Any] = {"type": "question", "id": question.id, "kind": question.kind}
        for key, value in (
            ("text", question.text),
            ("unit", question.unit),
            ("scale", question.scale),
            ("tolerance", question.tolerance),
        ):
            if value is not None:
                defined[key] = value
        if question.resolved_value is not None:
            defined["resolution"] = {
                "value": question.resolved_value,
                "resolved_at": iso_time(question.resolved_at),
                **({"note": question.resolution_note} if question.resolution_note else {}),
                **(
                    {"recorded_at": iso_time(question.value_recorded_at)}
                    if question.value_recorded_at
                    else {}
                ),
            }
        yield defined
    for claims in _claim_pages(session):
        for claim in claims:
            row: dict[str, Any] = {"type": "claim", "id": claim.id, "text": claim.text}
            fields: tuple[tuple[str, Any], ...] = (
                ("prior", claim.prior),
                ("question", claim.question),
                ("value", claim.value),
            )
            for key, value in fields:
                if value is not None:
                    row[key] = value
            row["tags"] = sorted(t.tag for t in claim.tags)
            row["attributions"] = [attribution_document(a) for a in claim.attributions]
            row["created_at"] = iso_time(claim.created_at)
            yield row
            if claim.resolution is not None:
                yield {
                    "type": "resolution",
                    "claim_id": claim.id,
                    "outcome": claim.resolution.outcome,
                    "resolved_at": iso_time(claim.resolution.resolved_at),
                    "forecast": claim.resolution.forecast,
                    **({"note": claim.resolution.note} if claim.resolution.note else {}),
                    "recorded_at": iso_time(claim.resolution.created_at),
                }


def _claim_pages(session: Session, size: int = 1000) -> Iterator[list[Claim]]:
    """Every stored claim, loaded whole, in pages by id."""
    after = ""
    while True:
        ids: Sequence[str] = list(
            session.scalars(select(Claim.id).where(Claim.id > after).order_by(Claim.id).limit(size))
        )
        if not ids:
            return
        claims = claim_store.load_claims(session, ids)
        yield [claims[claim_id] for claim_id in ids]
        after = ids[-1]


def _export_scores(session: Session, fmt: str) -> None:
    """Each claim's current score: JSON Lines of ``type: score`` rows (the Score without
    its evidence), or CSV as ``GET /v1/claims`` answers ``Accept: text/csv``."""
    app = state()
    app.refresh()
    grade_of = app.grader()
    for page_number, claims in enumerate(_claim_pages(session)):
        documents = [claim_document(c, grade_of=grade_of, full=False) for c in claims]
        if fmt == "csv":
            # The header once, before the first page's rows.
            click.echo(claim_table.claims_csv(documents, header=page_number == 0), nl=False)
            continue
        for document in documents:
            if document["score"] is not None:
                click.echo(json.dumps({"type": "score", **document["score"]}, ensure_ascii=False))


@click.command()
@click.option("--scores", is_flag=True, help="Each stored claim's current score instead.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="csv: with --scores, one flat row per claim (as Accept: text/csv).",
)
def export(scores: bool, fmt: str) -> None:
    """Write every defined source and stored claim to stdout as JSON Lines (or scores)."""
    if fmt == "csv" and not scores:
        raise click.UsageError("--format csv exports scores: add --scores")
    with app_context(), Session(get_engine()) as session:
        if scores:
            _export_scores(session, fmt)
            return
        for row in _export_rows(session):
            click.echo(json.dumps(row, ensure_ascii=False))
