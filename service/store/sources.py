"""Storing source definitions and counting their track records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.store import change_counters
from service.store.db import upsert_statement
from service.store.models import Attribution, Claim, Source

_FIELDS = ("name", "kind", "group", "prior", "notes")
# A claim's status, as the track record of a source that took a side on it counts it.
_TRACK = {"confirmed": "confirmed", "refuted": "refuted", "open": "pending"}


def save_source(
    session: Session, source_id: str, definition: Mapping[str, Any], now: datetime
) -> None:
    """Define or redefine a source (fields left out become empty), in the caller's transaction."""
    values = {field: definition.get(field) for field in _FIELDS}
    statement = upsert_statement(session, Source).values(
        id=source_id, created_at=now, updated_at=now, **values
    )
    excluded = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[Source.id],
            set_={
                **{
                    column: getattr(excluded, column)
                    for column in ("name", "kind", "prior", "notes")
                },
                "group_name": excluded.group_name,
                "updated_at": excluded.updated_at,
            },
        )
    )
    change_counters.bump(session, change_counters.RELIABILITIES)


def track_records(session: Session, source_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Counts of claims each source took a side on, by their outcome (pending = open)."""
    records = {source_id: dict.fromkeys(_TRACK.values(), 0) for source_id in source_ids}
    if not source_ids:
        return records
    rows = session.execute(
        select(Attribution.source_id, Claim.status, func.count(func.distinct(Claim.id)))
        .join(Claim, Claim.id == Attribution.claim_id)
        .where(Attribution.source_id.in_(source_ids), Attribution.stance != "neutral")
        .group_by(Attribution.source_id, Claim.status)
    )
    for source_id, status, count in rows:
        records[source_id][_TRACK[status]] += count
    return records
