"""The report table of one numeric question: who states which figure, through whom, how correlated.

One row per attribution. As for other claims (docs/model.md), attributions of
one claim that lead back to one original source on one side are one report:
their channels' fidelities combine by noisy-OR on the first of them (its
*primary* row), and the others carry no weight. Across the claims of the
question the same holds for one source's attributions of one figure on one
side (claims that repeat a statement, each relayed by another outlet): an echo
is not a second witness. A source that gives several figures on one side (a
figure revised) gives one testimony between them: each of its k figures
counts 1 / k. Reports of sources of one
group on one side of the question form a correlated cluster, and the
``count`` unnamed sources of a row another; each report of a cluster of k
counts 1 / (1 + (k - 1) rho).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.beta import Beta
from scoring.claims import STANCE_SIGN, Claim
from scoring.evidence import FloatArray, IntArray, cluster_design_effect, noisy_or
from scoring.intervals import draws_and_mean
from scoring.numeric.errors import ErrorScale
from scoring.numeric.figures import Figure
from scoring.numeric.params import NumericParams
from scoring.params import ScoringParams, SourceBelief


@dataclass(frozen=True)
class FigureTable:
    """Flat arrays of a question's attributions.

    Attributes
    ----------
    ids : list of str, length n_entities
        Sources and relays, in order of first appearance.
    beliefs : list of Beta, length n_entities
    groups : list of str or None, length n_entities
    errors : list of ErrorScale, length n_entities
    claim, source, sign : ndarray of int, shape (n_rows,)
        Claim index, source entity and sign (+1 supports, -1 refutes, 0 neutral).
    via : ndarray of int, shape (n_rows, depth)
        Relay entities, padded with ``n_entities`` (a perfect relay).
    certainty : ndarray, shape (n_rows,)
    merge : ndarray of int, shape (n_rows,)
        Primary row of each row (itself when it is one), possibly of another
        claim: the first row of the same source, figure and side.
    share : ndarray, shape (n_rows,)
        1 / k for each of the primary rows of a source that gives k figures on
        one side; 1 for the others.
    scale : ndarray, shape (n_rows,)
        Independent reports each row is worth: its count (the largest of the
        rows merged into it) times its share and its cluster's design effect;
        0 for merged and neutral rows.
    factor : ndarray, shape (n_rows,)
        The design-effect factor alone, in (0, 1].
    names : list of str, length n_rows
        "source via relay" of each row, each by its name where it has one.
    """

    ids: list[str]
    beliefs: list[Beta]
    groups: list[str | None]
    errors: list[ErrorScale]
    claim: IntArray
    source: IntArray
    sign: IntArray
    via: IntArray
    certainty: FloatArray
    merge: IntArray
    share: FloatArray
    scale: FloatArray
    factor: FloatArray
    names: list[str]

    @classmethod
    def of(
        cls,
        claims: Sequence[Claim],
        values: Sequence[Figure],
        sources: Mapping[str, SourceBelief],
        errors: Mapping[str, ErrorScale],
        params: ScoringParams,
        numeric: NumericParams,
    ) -> FigureTable:
        """The table of ``claims`` (one question's), ``values`` the figure of each.

        Raises
        ------
        ValueError
            For a certainty, count or stance out of range.
        """
        entity: dict[str, int] = {}
        ids: list[str] = []

        def index(source_id: str) -> int:
            if source_id not in entity:
                entity[source_id] = len(ids)
                ids.append(source_id)
            return entity[source_id]

        def label(source_id: str) -> str:
            """A source by its name where it has one, as yes/no summaries call it."""
            known = sources.get(source_id)
            return known.name if known is not None and known.name else source_id

        claim: list[int] = []
        source: list[int] = []
        sign: list[int] = []
        chains: list[list[int]] = []
        certainty: list[float] = []
        count: list[int] = []
        names: list[str] = []
        merge: list[int] = []
        primary: dict[tuple[Figure, str, int], int] = {}
        for j, c in enumerate(claims):
            for a in c.attributions:
                s = STANCE_SIGN.get(a.stance)
                if s is None:
                    raise ValueError(
                        f"stance must be supports, refutes or neutral, got {a.stance!r}"
                    )
                if not 0 < a.certainty <= 1:
                    raise ValueError("an attribution's certainty must be in (0, 1]")
                if isinstance(a.count, bool) or not (isinstance(a.count, int) and a.count >= 1):
                    raise ValueError("an attribution's count must be an integer >= 1")
                row = len(claim)
                claim.append(j)
                source.append(index(a.source))
                sign.append(s)
                chains.append([index(v) for v in a.via])
                certainty.append(a.certainty)
                count.append(a.count)
                names.append(" via ".join(label(i) for i in (a.source, *a.via)))
                merge.append(primary.setdefault((values[j], a.source, s), row) if s else row)

        unknown = params.unknown_source
        beliefs = [sources[i].belief if i in sources else unknown for i in ids]
        groups = [sources[i].group if i in sources else None for i in ids]
        errs = [errors.get(i, numeric.unknown_error) for i in ids]
        n = len(claim)
        merge_a = np.array(merge, dtype=np.intp)
        sign_a = np.array(sign, dtype=np.intp)
        reports = np.zeros(n)
        for m, k, s in zip(merge, count, sign, strict=True):
            if s:
                reports[m] = max(reports[m], k)
        figures: dict[tuple[int, int], list[int]] = {}
        for row in np.flatnonzero(reports).tolist():
            figures.setdefault((source[row], sign[row]), []).append(row)
        share = np.ones(n)
        for rows in figures.values():
            share[rows] = 1.0 / len(rows)
        # Clusters: a group's sources on one side of the question, else each row alone.
        cluster_key: dict[object, int] = {}
        cluster = np.zeros(n, dtype=np.intp)
        rho = np.zeros(n)
        for row in range(n):
            group = groups[source[row]]
            key: object = (group, sign[row]) if group is not None else row
            cluster[row] = cluster_key.setdefault(key, len(cluster_key))
            if group is not None:
                rho[row] = params.correlation(group)
            else:
                rho[row] = params.unnamed_correlation
        factor = (
            cluster_design_effect(cluster, reports * share, rho, len(cluster_key))
            if n
            else np.zeros(0)
        )
        depth = max(map(len, chains), default=0)
        pad = len(ids)
        via = np.array(
            [chain + [pad] * (depth - len(chain)) for chain in chains], dtype=np.intp
        ).reshape(n, depth)
        return cls(
            ids=ids,
            beliefs=beliefs,
            groups=groups,
            errors=errs,
            claim=np.array(claim, dtype=np.intp),
            source=np.array(source, dtype=np.intp),
            sign=sign_a,
            via=via,
            certainty=np.array(certainty, dtype=float),
            merge=merge_a,
            share=share,
            scale=reports * share * factor,
            factor=factor,
            names=names,
        )

    @property
    def n_rows(self) -> int:
        return int(self.claim.size)

    @property
    def weighted(self) -> IntArray:
        """Rows that carry weight: primary, not neutral; shape (k,)."""
        return np.flatnonzero(self.scale > 0)

    def reliability(self, samples: int) -> FloatArray:
        """Each entity's reliability draws then its mean, and a perfect relay last.

        Returns
        -------
        ndarray, shape (n_entities + 1, samples + 1)
        """
        rows = [
            draws_and_mean(i, b.alpha, b.beta, samples)
            for i, b in zip(self.ids, self.beliefs, strict=True)
        ]
        return np.array([*rows, np.ones(samples + 1)]).reshape(len(rows) + 1, samples + 1)

    def fidelity(self, reliability: FloatArray) -> FloatArray:
        """Chance each weighted row's statement reached us intact, its channels merged.

        Parameters
        ----------
        reliability : ndarray, shape (n_entities + 1, s)

        Returns
        -------
        ndarray, shape (k, s), rows as ``weighted``
        """
        fidelity = np.broadcast_to(self.certainty[:, None], (self.n_rows, reliability.shape[1]))
        if self.via.shape[1]:
            fidelity = reliability[self.via].prod(axis=1) * self.certainty[:, None]
        voiced = np.flatnonzero(self.sign != 0)
        weighted = self.weighted
        # Merge each voiced row into its primary; positions of primaries among weighted rows.
        slot = np.full(self.n_rows, -1, dtype=np.intp)
        slot[weighted] = np.arange(weighted.size)
        merged = noisy_or(fidelity[voiced], slot[self.merge[voiced]], weighted.size)
        return np.clip(merged, 0.0, 1.0)
