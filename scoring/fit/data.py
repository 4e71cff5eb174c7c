"""What the batch fit learns from: every evidence row, claim, question and source of a store."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from scoring.evidence import FloatArray, IntArray

BoolArray = np.ndarray[tuple[int], np.dtype[np.bool_]]
# Indices kept in the narrowest type that holds them (``index_dtype``).
IndexArray = np.ndarray[tuple[int], np.dtype[np.signedinteger[Any]]]

_ROW_FIELDS = ("claim", "source", "sign", "fidelity", "weight_scale", "age_days")
_CLAIM_FIELDS = ("question", "claim_prior", "outcome", "claim_class")
_SOURCE_FIELDS = ("prior_alpha", "prior_beta", "source_group")
# A finite value is at most this (float32's largest is less).
_LARGEST = float(np.finfo(np.float64).max)


@dataclass(frozen=True, slots=True, eq=False)
class FitData:
    """Every claim, evidence row and source of a store, as flat read-only arrays.

    An evidence row is one original source's stance on one claim, with the
    channels that relay it already merged. Construct it directly, or with
    :meth:`build` to fill the optional arrays with their neutral values.

    An array given with its dtype that owns its memory is taken as it is and
    made read-only, not copied (a store's rows are most of a fit's memory);
    any other value is copied.

    Parameters
    ----------
    claim : array_like of int, shape (m,)
        Claim index of each row, in ``[0, n_claims)``; kept as
        ``index_dtype(n_claims)``, as ``source`` and ``question`` are kept as
        the index type of their counts.
    source : array_like of int, shape (m,)
        Source index of each row, in ``[0, n_sources)``.
    sign : array_like, shape (m,)
        +1 supports, -1 refutes, 0 neutral (no weight, no hit or miss); kept
        as int8 (checked before the cast).
    fidelity : array_like, shape (m,)
        Chance in [0, 1] that the statement reached us intact (relays times
        certainty); 1 for a direct statement.
    weight_scale : array_like, shape (m,)
        ``count * design effect`` of the row, >= 0; 1 for one independent source.
    age_days : array_like, shape (m,)
        Age of the statement in days, >= 0; older rows count less in a
        track record when the fit has a half-life. Kept as float32 when given
        so (a store's ages are), else as float64.
    question : array_like of int, shape (n,)
        Question index of each claim, in ``[0, n_questions)``; claims sharing
        a question are mutually exclusive.
    claim_prior : array_like, shape (n,)
        Base rate of each claim before evidence, in (0, 1).
    outcome : array_like, shape (n,)
        1.0 confirmed, 0.0 refuted, NaN open.
    closed : array_like of bool, shape (n_questions,)
        Questions known to have one true answer among their claims.
    prior_alpha, prior_beta : array_like, shape (n_sources,)
        Beta prior pseudo-counts of each source's reliability, > 0.
    claim_class : array_like of int, shape (n,), optional
        Class of each claim (e.g. which answer option it is), in
        ``[0, n_classes)``; claims of one class share a base rate when the fit
        learns it, and answers of one class share a row of a source's
        confusion matrix. Empty (the default) puts every claim in class 0.
    source_group : array_like of int, shape (n_sources,), optional
        Group of each source, in ``[0, n_groups)``, or -1 for none: a source's
        prior can borrow its group's record. Empty (the default): no groups.
    """

    claim: IndexArray
    source: IndexArray
    sign: np.ndarray[tuple[int], np.dtype[np.int8]]
    fidelity: FloatArray
    weight_scale: FloatArray
    age_days: np.ndarray[tuple[int], np.dtype[np.floating[Any]]]
    question: IndexArray
    claim_prior: FloatArray
    outcome: FloatArray
    closed: BoolArray
    prior_alpha: FloatArray
    prior_beta: FloatArray
    claim_class: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    source_group: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))

    def __post_init__(self) -> None:
        # The signs are checked as given, before the narrowing cast could hide a bad one.
        sign = np.asarray(self.sign)
        if sign.dtype != np.int8 and not ((sign == np.trunc(sign)) & (np.abs(sign) <= 1)).all():
            raise ValueError("invalid values in sign")
        # Row arrays in the narrowest type that holds them exactly: a store's rows are
        # most of a fit's memory, and its ages are float32.
        ages = np.asarray(self.age_days)
        dtype = {
            "sign": np.int8,
            "age_days": np.float32 if ages.dtype == np.float32 else np.float64,
            "claim": index_dtype(np.size(self.question)),
            "source": index_dtype(np.size(self.prior_alpha)),
            "question": index_dtype(np.size(self.closed)),
            "claim_class": np.intp,
            "source_group": np.intp,
            "closed": bool,
        }
        for f in fields(self):
            value = _frozen(getattr(self, f.name), dtype.get(f.name, np.float64))
            if value.ndim != 1:
                raise ValueError(f"{f.name} must be one-dimensional")
            if f.name == "claim_class" and value.size == 0:
                value = np.zeros(np.size(self.question), dtype=np.intp)
                value.flags.writeable = False
            if f.name == "source_group" and value.size == 0:
                value = np.full(np.size(self.prior_alpha), -1, dtype=np.intp)
                value.flags.writeable = False
            object.__setattr__(self, f.name, value)
        self._validate()

    def _validate(self) -> None:
        for group in (_ROW_FIELDS, _CLAIM_FIELDS, _SOURCE_FIELDS):
            sizes = {name: getattr(self, name).size for name in group}
            if len(set(sizes.values())) > 1:
                raise ValueError(f"arrays of one kind differ in length: {sizes}")
        checks = {
            "claim": _in_bounds(self.claim, 0, self.n_claims - 1),
            "source": _in_bounds(self.source, 0, self.n_sources - 1),
            "question": _in_bounds(self.question, 0, self.n_questions - 1),
            "claim_class": _in_bounds(self.claim_class, 0, np.inf),
            "source_group": _in_bounds(self.source_group, -1, np.inf),
            "sign": _in_bounds(self.sign, -1, 1),
            "fidelity": _in_bounds(self.fidelity, 0, 1),
            "weight_scale": _in_bounds(self.weight_scale, 0, _LARGEST),
            "age_days": _in_bounds(self.age_days, 0, _LARGEST),
            "claim_prior": _in_bounds(self.claim_prior, 0, 1, closed=False),
            "outcome": (np.isnan(self.outcome) | np.isin(self.outcome, (0.0, 1.0))).all(),
            "prior_alpha": _in_bounds(self.prior_alpha, 0, np.inf, closed=False),
            "prior_beta": _in_bounds(self.prior_beta, 0, np.inf, closed=False),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid values in {', '.join(bad)}")
        confirmed = np.bincount(
            self.question, weights=self.outcome == 1, minlength=self.n_questions
        )
        if (confirmed > 1).any():
            raise ValueError("a question has more than one confirmed claim")

    @classmethod
    def build(
        cls,
        claim: ArrayLike,
        source: ArrayLike,
        *,
        n_claims: int,
        n_sources: int,
        sign: ArrayLike | None = None,
        fidelity: ArrayLike | None = None,
        weight_scale: ArrayLike | None = None,
        age_days: ArrayLike | None = None,
        question: ArrayLike | None = None,
        n_questions: int | None = None,
        claim_prior: ArrayLike | float = 0.5,
        outcome: ArrayLike | None = None,
        closed: ArrayLike | bool = False,
        prior_alpha: ArrayLike | float = 1.0,
        prior_beta: ArrayLike | float = 1.0,
        claim_class: ArrayLike | None = None,
        source_group: ArrayLike | None = None,
    ) -> FitData:
        """Fit data with neutral defaults for what is not given.

        Rows default to direct (fidelity 1), single (weight scale 1), fresh
        (age 0) supports; every claim defaults to a question of its own,
        open; scalars broadcast over claims, questions or sources.

        Parameters
        ----------
        claim, source : array_like of int, shape (m,)
        n_claims, n_sources : int
        n_questions : int, optional
            Required with ``question``; defaults to ``n_claims``.
        Others : as in the class.

        Returns
        -------
        FitData
        """
        m = np.shape(claim)[0]
        if question is None:
            question, n_questions = np.arange(n_claims), n_claims
        elif n_questions is None:
            raise ValueError("n_questions is required with question")
        return cls(
            claim=np.asarray(claim),
            source=np.asarray(source),
            sign=np.ones(m, dtype=np.int8) if sign is None else np.asarray(sign),
            fidelity=np.ones(m) if fidelity is None else np.asarray(fidelity),
            weight_scale=np.ones(m) if weight_scale is None else np.asarray(weight_scale),
            age_days=np.zeros(m) if age_days is None else np.asarray(age_days),
            question=np.asarray(question),
            claim_prior=np.broadcast_to(claim_prior, (n_claims,)),
            outcome=np.full(n_claims, np.nan) if outcome is None else np.asarray(outcome),
            closed=np.broadcast_to(closed, (n_questions,)),
            prior_alpha=np.broadcast_to(prior_alpha, (n_sources,)),
            prior_beta=np.broadcast_to(prior_beta, (n_sources,)),
            claim_class=np.zeros(n_claims, np.intp)
            if claim_class is None
            else np.asarray(claim_class),
            source_group=np.full(n_sources, -1, np.intp)
            if source_group is None
            else np.asarray(source_group),
        )

    @property
    def n_rows(self) -> int:
        return int(self.claim.size)

    @property
    def n_claims(self) -> int:
        return int(self.question.size)

    @property
    def n_questions(self) -> int:
        return int(self.closed.size)

    @property
    def n_sources(self) -> int:
        return int(self.prior_alpha.size)

    @property
    def n_classes(self) -> int:
        return int(self.claim_class.max()) + 1 if self.claim_class.size else 1

    @property
    def n_groups(self) -> int:
        return int(self.source_group.max()) + 1 if self.source_group.size else 0

    def with_rows(self, rows: IntArray) -> FitData:
        """The same store with only the evidence rows ``rows`` (claims, sources kept)."""
        return _replace(self, **{name: getattr(self, name)[rows] for name in _ROW_FIELDS})

    def with_questions(self, keep: BoolArray) -> FitData:
        """The store restricted to the questions where ``keep`` (shape (n_questions,)) holds.

        Claims, questions and rows are renumbered in order; sources are kept.
        """
        claims = np.flatnonzero(keep[self.question])
        claim_index = np.full(self.n_claims, -1)
        claim_index[claims] = np.arange(claims.size)
        question_index = np.cumsum(keep) - 1
        rows = np.flatnonzero(keep[self.question[self.claim]])
        changes: dict[str, object] = {name: getattr(self, name)[rows] for name in _ROW_FIELDS}
        changes["claim"] = claim_index[self.claim[rows]]
        changes.update({name: getattr(self, name)[claims] for name in _CLAIM_FIELDS})
        changes["question"] = question_index[self.question[claims]]
        changes["closed"] = self.closed[keep]
        return _replace(self, **changes)

    def with_fidelity(self, fidelity: FloatArray) -> FitData:
        """The same rows with other fidelities (e.g. relays evaluated at new reliabilities)."""
        return _replace(self, fidelity=fidelity)

    def with_outcome(self, outcome: FloatArray) -> FitData:
        """The same store with other outcomes (e.g. some resolutions hidden)."""
        return _replace(self, outcome=outcome)


def index_dtype(n: int) -> type[np.signedinteger[Any]]:
    """The integer type that FitData keeps indices in ``[0, n)`` in: 32-bit while ``n``
    fits in it, since a store's per-row indices are a large part of a fit's memory.

    Arithmetic on such an index can overflow 32 bits: widen it to ``np.intp`` first.
    """
    return np.int32 if n <= np.iinfo(np.int32).max else np.intp


def _replace(data: FitData, **changes: object) -> FitData:
    values = {f.name: getattr(data, f.name) for f in fields(data)}
    values.update(changes)
    return FitData(**values)


def _frozen(value: ArrayLike, dtype: type[Any]) -> np.ndarray[tuple[int], np.dtype[Any]]:
    """``value`` as a read-only array of ``dtype``: itself when it already is one that
    owns its memory (then no longer writeable by anyone), else a read-only copy."""
    if isinstance(value, np.ndarray) and value.dtype == dtype and value.flags.owndata:
        value.flags.writeable = False
        return value
    copy: np.ndarray[tuple[int], np.dtype[Any]] = np.array(value, dtype=dtype)
    copy.flags.writeable = False
    return copy


def _in_bounds(
    values: np.ndarray[Any, Any], low: float, high: float, *, closed: bool = True
) -> bool:
    """Whether every value lies in [low, high] (``closed``) or (low, high).

    Judged by the extremes, which are NaN when any value is: no temporary as large
    as the array, whose rows are most of a fit's memory.
    """
    if values.size == 0:
        return True
    # As Python floats: against a float32 array numpy would cast the bound to float32.
    lowest, highest = float(values.min()), float(values.max())
    if closed:
        return bool(low <= lowest and highest <= high)
    return bool(low < lowest and highest < high)
