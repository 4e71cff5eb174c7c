"""Every known source and the reliability belief the online scorer uses for it.

Held in memory per process and brought up to date when the ``reliabilities``
counter moves, by reading only the rows written since (``SourceBookCache``),
so scoring a request never queries sources and a write costs the same however
many sources there are. A belief carries the source's name, so summaries call
sources by their names at no cost per request. A source's belief is, by
precedence: its learned Beta (``source_reliabilities``, written by the fit and
by resolutions), its own prior, its group's pooled prior, the unknown-source
prior. A learned Beta is the prior it was built on plus hits and misses; when
the prior has been redefined since, the new one takes the old one's place. Its
definition comes from the database, else from the shipped catalogue
(``config/sources.toml``).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import KeysView, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from scoring import Beta, SourceBelief, pool_group_priors, prior_from_spec
from scoring.learned import LearnedModel
from service.scoring_model import ScoringModel
from service.store.models import LearnedModelRow, Source, SourceReliability

# A learned belief pushed down (rebased on a weaker prior, or a resolution withdrawn)
# stays a valid Beta.
MIN_PSEUDO_COUNT = 1e-3


@dataclass(frozen=True, slots=True)
class Learned:
    """A learned belief and the prior it was built on (None: not known, so kept as is)."""

    belief: Beta
    prior: Beta | None = None

    def on(self, prior: Beta) -> Beta:
        """The belief with ``prior`` in place of the one it was built on."""
        if self.prior is None or self.prior == prior:
            return self.belief
        return Beta(
            max(self.belief.alpha - self.prior.alpha + prior.alpha, MIN_PSEUDO_COUNT),
            max(self.belief.beta - self.prior.beta + prior.beta, MIN_PSEUDO_COUNT),
        )


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


class SourceBook:
    """Every known source's definition, learned belief and the belief it is scored with.

    Kept up to date in place by ``apply``: a change to some sources rebuilds
    the beliefs of those sources and of the members of their groups (whose
    pooled priors they feed), never the whole book, so a write costs the same
    however many sources are defined.
    """

    def __init__(self) -> None:
        self.definitions: dict[str, SourceDefinition] = {}
        self.beliefs: dict[str, SourceBelief] = {}
        self._learned: dict[str, Learned] = {}
        self._members: dict[str, set[str]] = {}
        self.model: LearnedModel | None = None
        """What the last re-scoring job learned beyond the beliefs; None before any."""

    @property
    def learned(self) -> KeysView[str]:
        """Ids of the sources (and relays) with a learned belief."""
        return self._learned.keys()

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

    def apply(
        self,
        definitions: Mapping[str, SourceDefinition],
        learned: Mapping[str, Learned],
        setup: ScoringModel,
    ) -> int:
        """Take in new or changed definitions and learned beliefs; the number of beliefs rebuilt.

        Rebuilt are the sources named and the other members of every group a
        changed definition left or joined (their pooled priors moved), or a
        learned belief's source is in (its prior is pooled over them).
        """
        touched = set(definitions) | set(learned)
        groups: set[str] = set()
        for source_id, definition in definitions.items():
            old = self.definitions.get(source_id)
            if old is not None and old.group is not None:
                self._members[old.group].discard(source_id)
                groups.add(old.group)
            if definition.group is not None:
                self._members.setdefault(definition.group, set()).add(source_id)
                groups.add(definition.group)
            self.definitions[source_id] = definition
        self._learned.update(learned)
        for source_id in learned:
            known = self.definitions.get(source_id)
            if known is not None and known.group is not None:
                groups.add(known.group)
        for group in groups:
            touched |= self._members[group]
        self._rebuild(sorted(touched), setup)
        return len(touched)

    def _rebuild(self, ids: Sequence[str], setup: ScoringModel) -> None:
        """Recompute the beliefs of ``ids``, which hold every member of their groups.

        A learned belief wins, on the source's prior as it stands; else the
        source's own prior, its group's pooled prior (members in id order, so
        that any rebuild of a group sums them alike), or the unknown-source prior.
        """
        nan = float("nan")
        definitions = [self.definitions.get(source_id) for source_id in ids]
        own = [
            prior_from_spec(d.prior, setup.grades, setup.unknown) if d and d.prior else None
            for d in definitions
        ]
        group_index: dict[str, int] = {}
        groups = [
            -1
            if d is None or d.group is None
            else group_index.setdefault(d.group, len(group_index))
            for d in definitions
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
        for source_id, d, a, b in zip(ids, definitions, alpha.tolist(), beta.tolist(), strict=True):
            group, name = (d.group, d.name) if d else (None, None)
            learned = self._learned.get(source_id)
            if learned is not None:
                self.beliefs[source_id] = SourceBelief(learned.on(Beta(a, b)), group, name)
            elif d is not None:
                self.beliefs[source_id] = SourceBelief(Beta(a, b), group, name)


def build_book(
    definitions: Mapping[str, SourceDefinition],
    learned: Mapping[str, Learned],
    setup: ScoringModel,
    model: LearnedModel | None = None,
) -> SourceBook:
    book = SourceBook()
    book.apply(definitions, learned, setup)
    book.model = model
    return book


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
    """This process's SourceBook and the ``reliabilities`` counter value it is current to.

    The first refresh reads the whole book; each later one reads only the
    rows written since (the change feed: every write stamps the rows it
    changes with the counter value it bumped to) and applies them in place.
    ``rows_read`` and ``beliefs_rebuilt`` count that work, per refresh.
    """

    setup: ScoringModel
    catalogue: Mapping[str, SourceDefinition]
    version: int = -1
    book: SourceBook = field(init=False)
    model_id: int | None = None
    """Row id of the learned model in ``book.model`` (None before any job stored one)."""
    rows_read: int = 0
    """Rows of ``sources`` and ``source_reliabilities`` read by the last refresh."""
    beliefs_rebuilt: int = 0
    """Beliefs the last refresh recomputed."""

    def __post_init__(self) -> None:
        self.book = build_book(self.catalogue, {}, self.setup)

    def refresh(self, connection: Connection, version: int) -> None:
        if version == self.version:
            return
        # A counter that went back means another store (a reset): read it all.
        since = None if self.version < 0 or version < self.version else self.version
        definitions, learned = read_changes(connection, since)
        if since is None:
            self.book = build_book({**self.catalogue, **definitions}, learned, self.setup)
            self.beliefs_rebuilt = len(self.book.beliefs)
        else:
            self.beliefs_rebuilt = self.book.apply(definitions, learned, self.setup)
        self.rows_read = len(definitions) + len(learned)
        # Only a job writes a model; its id is one indexed look-up, the model
        # itself is read only when it is new.
        latest = connection.execute(select(func.max(LearnedModelRow.id))).scalar_one_or_none()
        if latest != self.model_id or since is None:
            self.book.model = read_model(connection)
            self.model_id = latest
        self.version = version


def read_changes(
    connection: Connection, since: int | None
) -> tuple[dict[str, SourceDefinition], dict[str, Learned]]:
    """Stored definitions and learned beliefs written after counter value ``since`` (all if None).

    A row may be newer than the counter value its reader read (a write
    committed in between); applying it is harmless, as each row is the whole
    state of its source.
    """
    sources = select(Source)
    r = SourceReliability
    learned = select(r.source_id, r.alpha, r.beta, r.prior_alpha, r.prior_beta)
    if since is not None:
        sources = sources.where(Source.reliabilities_version > since)
        learned = learned.where(r.reliabilities_version > since)
    with Session(bind=connection) as session:
        definitions = {row.id: stored_definition(row) for row in session.scalars(sources)}
    return definitions, {
        source_id: Learned(
            Beta(alpha, beta),
            None if prior_alpha is None or prior_beta is None else Beta(prior_alpha, prior_beta),
        )
        for source_id, alpha, beta, prior_alpha, prior_beta in connection.execute(learned)
    }


def read_book(
    connection: Connection, catalogue: Mapping[str, SourceDefinition], setup: ScoringModel
) -> SourceBook:
    """The SourceBook of the store as ``connection`` sees it."""
    definitions, learned = read_changes(connection, None)
    return build_book({**catalogue, **definitions}, learned, setup, read_model(connection))


def read_model(connection: Connection) -> LearnedModel | None:
    """The newest learned model, or None before any job stored one."""
    stored = connection.execute(
        select(LearnedModelRow.model).order_by(LearnedModelRow.id.desc()).limit(1)
    ).scalar_one_or_none()
    return None if stored is None else LearnedModel.from_json(stored)
