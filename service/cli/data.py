"""``credence import`` and ``credence export``: the store as JSON Lines (or CSV in).

One row per line, with a ``type``: ``source`` (``id`` plus the fields of PUT
/v1/sources) or ``claim`` (the fields of a claim in POST /v1/claims). CSV files
have a header naming the same fields; the ``prior``, ``tags`` and
``attributions`` cells hold JSON, empty cells are left out.

Rows are stored in batches, each in one transaction: a bad row is reported with
its line number and nothing of its batch is stored (earlier batches are).
Other row types register themselves in ``ROW_TYPES``.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

import click
import marshmallow as ma
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import claim_store
from service.cli.common import app_context
from service.db import get_engine, writer
from service.models import Claim, Source, utcnow
from service.problems import flatten_messages
from service.representations import attribution_document
from service.request_schemas import SLUG_PATTERN, ClaimBatchSchema, SourceSchema
from service.source_book import read_book
from service.source_store import save_source
from service.state import state

_SLUG = re.compile(SLUG_PATTERN)

# Cells of a CSV row that hold JSON rather than text.
JSON_COLUMNS = ("prior", "tags", "attributions")


class BadRow(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class RowType:
    """How rows of one ``type`` are validated and stored.

    ``validate`` turns a row (without ``type``) into what ``store`` takes, or
    raises ``marshmallow.ValidationError``; ``store`` writes a batch's valid rows
    of this type in the caller's transaction.
    """

    validate: Callable[[dict[str, Any]], Any]
    store: Callable[[Session, list[Any]], None]


def _validate_source(row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    source_id = row.pop("id", None)
    if not isinstance(source_id, str) or not _SLUG.match(source_id):
        raise ma.ValidationError({"id": [f"Required, and a slug: {SLUG_PATTERN}"]})
    definition: dict[str, Any] = SourceSchema().load(row)
    return source_id, definition


def _store_sources(session: Session, rows: list[tuple[str, dict[str, Any]]]) -> None:
    now = utcnow()
    for source_id, definition in rows:
        save_source(session, source_id, definition, now)


def _validate_claim(row: dict[str, Any]) -> dict[str, Any]:
    try:
        claim: dict[str, Any] = ClaimBatchSchema().load({"claims": [row]})["claims"][0]
    except ma.ValidationError as exc:
        # Report paths from the row itself ("text"), not from the batch ("claims.0.text").
        messages: Any = exc.normalized_messages()
        raise ma.ValidationError(messages["claims"][0]) from None
    return claim


def _store_claims(session: Session, claims: list[dict[str, Any]]) -> None:
    app = state()
    # Later rows with the same id win, as if posted one after the other.
    latest = list({c.get("id") or claim_store.new_claim_id(): c for c in claims}.items())
    unique = [{**c, "id": claim_id} for claim_id, c in latest]
    now = utcnow()
    known = claim_store.existing_ids(session, [c["id"] for c in unique])
    ids = claim_store.save_claims(session, unique, now)
    book = read_book(session.connection(), app.sources.catalogue, app.setup)
    claim_store.score_stored(
        session,
        ids,
        scorer=app.setup.scorer,
        beliefs=book.beliefs,
        reasons={i: claim_store.UPDATED if i in known else claim_store.CREATED for i in ids},
        now=now,
    )


ROW_TYPES: dict[str, RowType] = {
    "source": RowType(_validate_source, _store_sources),
    "claim": RowType(_validate_claim, _store_claims),
}


def _json_lines(handle: IO[str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadRow(number, f"not valid JSON: {exc.msg}") from None


def _csv_rows(handle: IO[str]) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(handle)
    for row in reader:
        number = reader.line_num
        parsed: dict[str, Any] = {}
        for key, cell in row.items():
            if key is None or cell in (None, ""):
                continue
            if key in JSON_COLUMNS:
                try:
                    parsed[key] = json.loads(cell)
                except json.JSONDecodeError:
                    raise BadRow(number, f"{key}: not valid JSON") from None
            else:
                parsed[key] = cell
        yield number, parsed


def _validated(number: int, row: Any) -> tuple[str, Any]:
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


def import_rows(
    session_factory: Callable[[], Session],
    rows: Iterator[tuple[int, Any]],
    batch_size: int,
    progress: Callable[[int], None],
) -> int:
    """Store validated rows batch by batch; the count stored. Raises BadRow."""
    stored = 0
    while batch := list(islice(rows, batch_size)):
        by_type: dict[str, list[Any]] = {kind: [] for kind in ROW_TYPES}
        for number, row in batch:
            kind, value = _validated(number, row)
            by_type[kind].append(value)
        with session_factory() as session, session.begin():
            for kind, values in by_type.items():
                if values:
                    ROW_TYPES[kind].store(session, values)
        stored += len(batch)
        progress(len(batch))
    return stored


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="Default: by extension.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True)
def import_(file: Path, fmt: str | None, batch_size: int) -> None:
    """Import sources and claims from FILE (JSON Lines or CSV)."""
    fmt = fmt or ("csv" if file.suffix.lower() == ".csv" else "jsonl")
    with file.open(encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    with app_context(), file.open(encoding="utf-8", newline="") as handle:
        engine = writer(get_engine())
        rows = _csv_rows(handle) if fmt == "csv" else _json_lines(handle)
        with click.progressbar(length=lines, label="importing", file=sys.stderr) as bar:
            try:
                stored = import_rows(lambda: Session(engine), rows, batch_size, bar.update)
            except BadRow as exc:
                raise click.ClickException(
                    f"{file}: {exc}; nothing of its batch was stored"
                ) from None
    click.echo(f"imported {stored} rows", err=True)


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
    after = ""
    while True:
        ids: Sequence[str] = list(
            session.scalars(select(Claim.id).where(Claim.id > after).order_by(Claim.id).limit(1000))
        )
        if not ids:
            return
        claims = claim_store.load_claims(session, ids)
        for claim_id in ids:
            claim = claims[claim_id]
            row: dict[str, Any] = {"type": "claim", "id": claim.id, "text": claim.text}
            for key, value in (("prior", claim.prior), ("question", claim.question)):
                if value is not None:
                    row[key] = value
            row["tags"] = sorted(t.tag for t in claim.tags)
            row["attributions"] = [attribution_document(a) for a in claim.attributions]
            yield row
        after = ids[-1]


@click.command()
def export() -> None:
    """Write every defined source and stored claim to stdout as JSON Lines."""
    with app_context(), Session(get_engine()) as session:
        for row in _export_rows(session):
            click.echo(json.dumps(row, ensure_ascii=False))
