"""Every known source and the reliability belief the online scorer uses for it.

Held in memory per process and rebuilt only when the ``reliabilities`` counter
moves, so scoring a request never queries sources. A belief carries the source's
name, so summaries call sources by their names at no cost per request. A source's belief is, by
precedence: its learned Beta (``source_reliabilities``, written by the fit),
its own prior, its group's pooled prior, the unknown-source prior. Its
definition comes from the database, else from the shipped catalogue
(``config/sources.toml``).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from scoring import Beta, SourceBelief, pool_group_priors, prior_from_spec
from service.scoring_model import ScoringModel
from service.store.models import Source, SourceReliability


@dataclass(frozen=True, slots=True)
class SourceDefinition:
    id: str
    name: str | None = None
    kind: str | None = None
    group: str | None = None
    prior: Mapping[str, Any] | None = None
    notes: str | None = None
    stored: bool = False
    """Defined through the API (else it comes from the catalogue)."""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class SourceBook:
    definitions: Mapping[str, SourceDefinition]
    beliefs: dict[str, SourceBelief]
    learned: frozenset[str] = field(default_factory=frozenset)

    def belief(self, source_id: str, setup: ScoringModel) -> SourceBelief:
        return self.beliefs.get(source_id) or SourceBelief(setup.unknown)

    def with_overrides(
        self, overrides: Mapping[str, Mapping[str, Any]], setup: ScoringModel
    ) -> Mapping[str, SourceBelief]:
        """Beliefs for one call in which ``overrides`` (validated source definitions) win."""
        if not overrides:
            return self.beliefs
        own: dict[str, SourceBelief] = {}
        for source_id, definition in overrides.items():
            known = self.belief(source_id, setup)
            prior = definition.get("prior")
            own[source_id] = SourceBelief(
                prior_from_spec(prior, setup.grades, setup.unknown) if prior else known.belief,
                definition.get("group", known.group),
                definition.get("name") or known.name,
            )
        return ChainMap(own, self.beliefs)


def build_book(
    definitions: Mapping[str, SourceDefinition],
    learned: Mapping[str, Beta],
    setup: ScoringModel,
) -> SourceBook:
    ids = list(definitions)
    nan = float("nan")
    own = [
        prior_from_spec(d.prior, setup.grades, setup.unknown) if d.prior else None
        for d in definitions.values()
    ]
    group_index: dict[str, int] = {}
    groups = [
        -1 if d.group is None else group_index.setdefault(d.group, len(group_index))
        for d in definitions.values()
    ]
    zeros = np.zeros(len(ids))
    alpha, beta = pool_group_priors(
        [b.alpha if b else nan for b in own],
        [b.beta if b else nan for b in own],
        zeros,
        zeros,
        np.asarray(groups, dtype=np.intp),
        setup.unknown,
    )
    beliefs = {
        source_id: SourceBelief(
            Beta(a, b), definitions[source_id].group, definitions[source_id].name
        )
        for source_id, a, b in zip(ids, alpha.tolist(), beta.tolist(), strict=True)
    }
    for source_id, belief in learned.items():
        known = definitions.get(source_id)
        beliefs[source_id] = (
            SourceBelief(belief, known.group, known.name) if known else SourceBelief(belief)
        )
    return SourceBook(definitions, beliefs, frozenset(learned))


def stored_definition(row: Source) -> SourceDefinition:
    return SourceDefinition(
        id=row.id,
        name=row.name,
        kind=row.kind,
        group=row.group,
        prior=row.prior,
        notes=row.notes,
        stored=True,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@dataclass
class SourceBookCache:
    """This process's SourceBook and the counter value it was built at."""

    setup: ScoringModel
    catalogue: Mapping[str, SourceDefinition]
    version: int = -1
    book: SourceBook = field(init=False)

    def __post_init__(self) -> None:
        self.book = build_book(self.catalogue, {}, self.setup)

    def refresh(self, connection: Connection, version: int) -> None:
        if version != self.version:
            self.book = read_book(connection, self.catalogue, self.setup)
            self.version = version


def read_book(
    connection: Connection, catalogue: Mapping[str, SourceDefinition], setup: ScoringModel
) -> SourceBook:
    """The SourceBook of the store as ``connection`` sees it."""
    definitions = dict(catalogue)
    with Session(bind=connection) as session:
        for row in session.scalars(select(Source)):
            definitions[row.id] = stored_definition(row)
    learned = {
        source_id: Beta(alpha, beta)
        for source_id, alpha, beta in connection.execute(
            select(SourceReliability.source_id, SourceReliability.alpha, SourceReliability.beta)
        )
    }
    return build_book(definitions, learned, setup)
