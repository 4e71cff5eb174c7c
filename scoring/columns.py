"""A store's claims as compact columns: what the re-scoring job reads, fits and scores from.

``ClaimColumns`` holds every claim and attribution of a store in flat numpy
arrays, with source, relay and question ids interned to ``int32`` codes: about
35 bytes an attribution, where a ``scoring.Claim`` of ``Attribution`` tuples
costs some 880. The fit reads it without making a Python object per
attribution (``evidence_rows``); the scorer takes a few thousand claims at a
time as ``scoring.Claim`` values (``ClaimColumns.claims``), so per-claim
objects never exist for the whole store at once.

It is engine-neutral: the local job and a distributed engine read the same
columns, and a contiguous range of claims (``ClaimColumns.slice``) is a
partition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from scoring.claims import STANCE_SIGN, Attribution, Claim
from scoring.evidence import FloatArray, IntArray
from scoring.numeric.figures import Figure

# Stance of each sign, indexed by the sign itself: 1 supports, -1 (the last) refutes.
STANCES = ("neutral", "supports", "refutes")


@dataclass(frozen=True, eq=False)
class ClaimColumns:
    """Claims and their attributions as flat arrays; claim ``i``'s attributions are
    ``start[i]:start[i + 1]`` (in position order).

    Parameters
    ----------
    entities : list of str, length n_entities
        Source and relay ids; an attribution names them by index (code).
    claim_ids : list of str, length n
    prior : ndarray of float64, shape (n,)
        Each claim's base rate, NaN for the scorer's default.
    question : ndarray of int32, shape (n,)
        Index into ``questions``, -1 for a claim alone.
    questions : list of str
        Question ids.
    text : list of str or None, length n
        Each claim's wording (equal wordings share one string object).
    value : dict of int to Figure
        The figure of each claim that states one (numeric questions), by position.
    start : ndarray of int64, shape (n + 1,)
        Offsets of each claim's attributions.
    source : ndarray of int32, shape (m,)
        Original source of each attribution (entity code).
    sign : ndarray of int8, shape (m,)
        +1 supports, -1 refutes, 0 neutral.
    certainty : ndarray of float64, shape (m,)
        In (0, 1]; kept at full precision because it tells channels apart.
    count : ndarray of int32, shape (m,)
        Unnamed sources behind each attribution, >= 1.
    via_start : ndarray of int64, shape (m + 1,)
        Offsets of each attribution's relay chain in ``via``.
    via : ndarray of int32, shape (k,)
        Relay entity codes, nearest the source first.
    age_days : ndarray of float32, shape (m,)
        Age of each attribution in days, >= 0.
    """

    entities: list[str]
    claim_ids: list[str]
    prior: FloatArray
    question: np.ndarray[tuple[int], np.dtype[np.int32]]
    questions: list[str]
    text: list[str | None]
    start: np.ndarray[tuple[int], np.dtype[np.int64]]
    source: np.ndarray[tuple[int], np.dtype[np.int32]]
    sign: np.ndarray[tuple[int], np.dtype[np.int8]]
    certainty: FloatArray
    count: np.ndarray[tuple[int], np.dtype[np.int32]]
    via_start: np.ndarray[tuple[int], np.dtype[np.int64]]
    via: np.ndarray[tuple[int], np.dtype[np.int32]]
    age_days: np.ndarray[tuple[int], np.dtype[np.float32]]
    value: dict[int, Figure] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = len(self.claim_ids), self.source.size
        sizes = {
            "prior": (self.prior.size, n),
            "question": (self.question.size, n),
            "text": (len(self.text), n),
            "start": (self.start.size, n + 1),
            "sign": (self.sign.size, m),
            "certainty": (self.certainty.size, m),
            "count": (self.count.size, m),
            "via_start": (self.via_start.size, m + 1),
            "age_days": (self.age_days.size, m),
        }
        bad = [name for name, (size, wanted) in sizes.items() if size != wanted]
        if bad or self.start[-1] != m or self.via_start[-1] != self.via.size:
            raise ValueError(f"columns of inconsistent lengths: {', '.join(bad) or 'offsets'}")

    @property
    def n_claims(self) -> int:
        return len(self.claim_ids)

    @property
    def n_attributions(self) -> int:
        return int(self.source.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (ids and texts aside)."""
        arrays = (self.prior, self.question, self.start, self.source, self.sign)
        more = (self.certainty, self.count, self.via_start, self.via, self.age_days)
        return sum(a.nbytes for a in (*arrays, *more))

    def claim_of_attribution(self) -> IntArray:
        """Claim position of each attribution; shape (m,)."""
        return np.repeat(np.arange(self.n_claims), np.diff(self.start))

    def claims(self, positions: Sequence[int] | IntArray) -> list[Claim]:
        """The claims at ``positions`` as the scorer takes them."""
        entities, start, via_start = self.entities, self.start.tolist(), self.via_start
        out = []
        for i in np.asarray(positions, dtype=np.intp).tolist():
            a, b = start[i], start[i + 1]
            source = self.source[a:b].tolist()
            sign = self.sign[a:b].tolist()
            certainty = self.certainty[a:b].tolist()
            count = self.count[a:b].tolist()
            chains = via_start[a : b + 1].tolist()
            attributions = tuple(
                Attribution(
                    entities[source[k]],
                    STANCES[sign[k]],  # type: ignore[arg-type]
                    tuple(entities[r] for r in self.via[chains[k] : chains[k + 1]].tolist())
                    if chains[k + 1] > chains[k]
                    else (),
                    certainty[k],
                    count[k],
                )
                for k in range(b - a)
            )
            q = int(self.question[i])
            prior = float(self.prior[i])
            out.append(
                Claim(
                    attributions,
                    None if np.isnan(prior) else prior,
                    self.questions[q] if q >= 0 else None,
                    self.claim_ids[i],
                    self.text[i],
                    self.value.get(i),
                )
            )
        return out

    @classmethod
    def of_claims(
        cls, claims: Sequence[Claim], age_days: Sequence[float] | FloatArray | None = None
    ) -> ClaimColumns:
        """The columns of ``claims`` (ids ``str(i)`` where a claim has none); ages
        default to 0. For tests and small stores: a store is read into columns directly.

        Raises
        ------
        ValueError
            For an unknown stance.
        """
        entities: dict[str, int] = {}
        questions: dict[str, int] = {}
        source: list[int] = []
        sign: list[int] = []
        certainty: list[float] = []
        count: list[int] = []
        via: list[int] = []
        via_start = [0]
        start = [0]
        for c in claims:
            for a in c.attributions:
                s = STANCE_SIGN.get(a.stance)
                if s is None:
                    raise ValueError(f"stance must be supports, refutes or neutral: {a.stance!r}")
                source.append(entities.setdefault(a.source, len(entities)))
                sign.append(s)
                certainty.append(a.certainty)
                count.append(a.count)
                via.extend(entities.setdefault(r, len(entities)) for r in a.via)
                via_start.append(len(via))
            start.append(len(source))
        m = len(source)
        return cls(
            entities=list(entities),
            claim_ids=[c.id if c.id is not None else str(i) for i, c in enumerate(claims)],
            prior=np.array([np.nan if c.prior is None else c.prior for c in claims], dtype=float),
            question=np.array(
                [
                    -1 if c.question is None else questions.setdefault(c.question, len(questions))
                    for c in claims
                ],
                dtype=np.int32,
            ),
            questions=list(questions),
            text=[c.text for c in claims],
            start=np.array(start, dtype=np.int64),
            source=np.array(source, dtype=np.int32),
            sign=np.array(sign, dtype=np.int8),
            certainty=np.array(certainty, dtype=float),
            count=np.array(count, dtype=np.int32),
            via_start=np.array(via_start, dtype=np.int64),
            via=np.array(via, dtype=np.int32),
            age_days=np.asarray(np.zeros(m) if age_days is None else age_days, dtype=np.float32),
            value={i: c.value for i, c in enumerate(claims) if c.value is not None},
        )

    def slice(self, lo: int, hi: int) -> ClaimColumns:
        """Claims ``lo:hi`` (a partition), sharing the id tables; values re-keyed from 0."""
        a, b = int(self.start[lo]), int(self.start[hi])
        v, w = int(self.via_start[a]), int(self.via_start[b])
        return ClaimColumns(
            entities=self.entities,
            claim_ids=self.claim_ids[lo:hi],
            prior=self.prior[lo:hi],
            question=self.question[lo:hi],
            questions=self.questions,
            text=self.text[lo:hi],
            start=self.start[lo : hi + 1] - a,
            source=self.source[a:b],
            sign=self.sign[a:b],
            certainty=self.certainty[a:b],
            count=self.count[a:b],
            via_start=self.via_start[a : b + 1] - v,
            via=self.via[v:w],
            age_days=self.age_days[a:b],
            value={i - lo: f for i, f in self.value.items() if lo <= i < hi},
        )

    def without_questions(self, positions: Mapping[int, object] | Sequence[int]) -> ClaimColumns:
        """These columns with the claims at ``positions`` each alone in its question."""
        question = self.question.copy()
        question[np.asarray(list(positions), dtype=np.intp)] = -1
        return replace(self, question=question)
