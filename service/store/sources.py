"""Storing source definitions and counting their track records."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Table, func, select
from sqlalchemy.orm import Session

from service.store import change_counters
from service.store.db import dialect_insert, slices
from service.store.models import Attribution, Base, Claim, Resolution, Source
from service.store.resolutions import forecast_attribution

_SOURCES: Table = Base.metadata.tables[Source.__tablename__]
# Ids per IN (...) list: SQLite binds at most 32,766 values per statement.
_IDS_PER_QUERY = 5_000
# A claim's status, as the track record of a source that took a side on it counts it.
_TRACK = {"confirmed": "confirmed", "refuted": "refuted", "open": "pending"}


@functools.cache
def _source_upsert(dialect: str) -> Insert:
    """Insert a source, or replace an existing one's fields (its creation time stays)."""
    statement = dialect_insert(dialect, _SOURCES)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[_SOURCES.c.id],
        set_={
            column: excluded[column]
            for column in (
                "name",
                "kind",
                "group_name",
                "prior",
                "notes",
                "updated_at",
                "reliabilities_version",
            )
        },
    )


def save_sources(
    session: Session, definitions: Mapping[str, Mapping[str, Any]], now: datetime
) -> None:
    """Define or redefine sources (fields left out become empty), in the caller's transaction.

    One bump of the ``reliabilities`` counter for the lot; every row is stamped
    with its new value, which is how other processes find what changed.
    """
    if not definitions:
        return
    version = change_counters.bump(session, change_counters.RELIABILITIES)
    session.execute(
        _source_upsert(session.get_bind().dialect.name),
        [
            {
                "id": source_id,
                "name": definition.get("name"),
                "kind": definition.get("kind"),
                "group_name": definition.get("group"),
                "prior": definition.get("prior"),
                "notes": definition.get("notes"),
                "created_at": now,
                "updated_at": now,
                "reliabilities_version": version,
            }
            # Id order: two batches lock shared rows in one order (no deadlock).
            for source_id, definition in sorted(definitions.items())
        ],
    )


def track_records(session: Session, source_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Counts of claims each source took a side on, by their outcome (pending = open); a
    side taken after the outcome was recorded is none (``resolutions.sides_taken``)."""
    records = {source_id: dict.fromkeys(_TRACK.values(), 0) for source_id in source_ids}
    forecast = forecast_attribution(session.get_bind().dialect.name)
    for chunk in slices(source_ids, _IDS_PER_QUERY):
        rows = session.execute(
            select(Attribution.source_id, Claim.status, func.count(func.distinct(Claim.id)))
            .join(Claim, Claim.id == Attribution.claim_id)
            .outerjoin(Resolution, Resolution.claim_id == Claim.id)
            .where(Attribution.source_id.in_(chunk), Attribution.stance != "neutral", forecast)
            .group_by(Attribution.source_id, Claim.status)
        )
        for source_id, status, count in rows:
            records[source_id][_TRACK[status]] += count
    return records
