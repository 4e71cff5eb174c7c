"""What a score rests on: per-attribution evidence and a one-sentence summary."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike

from scoring.scales import ESTIMATIVE_TERMS

# Names listed per stance before the rest are only counted.
_MAX_NAMED = 4


@dataclass(frozen=True, slots=True)
class Evidence:
    """One attribution's contribution to a score.

    Attributes
    ----------
    source : str
        The original source.
    via : tuple of str
        Its relay chain, nearest the source first.
    stance : {"supports", "refutes", "neutral"}
    reliability : float
        The source's reliability (posterior mean), in [0, 1].
    effective_reliability : float
        After relay and certainty discounting (and, on the first of several
        channels of one source, their merging), in [0, 1].
    weight : float
        Contribution to the claim's log-odds (natural log); 0 for neutral and
        duplicated attributions.
    note : str or None
        Why the weight is merged, zero or discounted.
    """

    source: str
    via: tuple[str, ...]
    stance: str
    reliability: float
    effective_reliability: float
    weight: float
    note: str | None


def _fast_evidence() -> Callable[
    [str, tuple[str, ...], str, float, float, float, str | None], Evidence
]:
    """``Evidence(...)`` without a frozen dataclass's checked assignment of each field.

    The scorer builds one per attribution; this is twice as fast.
    """
    new = object.__new__
    s0, s1, s2, s3, s4, s5, s6 = (getattr(Evidence, f.name).__set__ for f in fields(Evidence))

    def build(
        source: str,
        via: tuple[str, ...],
        stance: str,
        reliability: float,
        effective_reliability: float,
        weight: float,
        note: str | None,
    ) -> Evidence:
        e = new(Evidence)
        s0(e, source)
        s1(e, via)
        s2(e, stance)
        s3(e, reliability)
        s4(e, effective_reliability)
        s5(e, weight)
        s6(e, note)
        return e

    return build


make_evidence = _fast_evidence()


def percent(p: float) -> str:
    value = round(100 * p)
    if value == 0 and p > 0:
        return "<1"
    if value == 100 and p < 1:
        return ">99"
    return str(value)


# What ``percents`` reads off: the whole percents, then "<1" and ">99".
_PERCENTS = (*(str(k) for k in range(101)), "<1", ">99")


def percents(p: ArrayLike) -> list[str]:
    """``percent`` of each probability of ``p`` (shape (n,), each in [0, 1]), at once.

    ``round`` of a float and ``np.rint`` both round the same product ``100 * p``
    to the nearest integer, ties to even, so the texts are ``percent``'s.
    """
    p = np.asarray(p, dtype=float)
    value = np.rint(100 * p)
    code = value.astype(np.intp)
    code[(value == 0) & (p > 0)] = 101
    code[(value == 100) & (p < 1)] = 102
    return [_PERCENTS[k] for k in code.tolist()]


def _listing(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    if len(names) > _MAX_NAMED:
        names = [*names[:_MAX_NAMED], f"{len(names) - _MAX_NAMED} more"]
    # One search of the joined names: NUL is in no name, so no match spans two.
    glue = ", and " if " and " in "\0".join(names) else " and "
    return ", ".join(names[:-1]) + glue + names[-1]


def _path(via: tuple[str, ...]) -> str:
    return "via " + " via ".join(via) if via else "directly"


def _names(by_source: dict[str, list[tuple[str, ...]]], labels: Mapping[str, str]) -> list[str]:
    """Each source, with every channel it came through unless only directly."""
    names = []
    for source_id, id_vias in by_source.items():
        source = labels.get(source_id, source_id)
        vias = [tuple([labels.get(r, r) for r in via]) for via in id_vias]
        if len(vias) == 1:
            names.append(f"{source} via {' via '.join(vias[0])}" if vias[0] else source)
            continue
        paths: list[str] = []
        for via in vias:
            path = _path(via)
            if path not in paths:
                paths.append(path)
        names.append(source if paths == ["directly"] else f"{source} {' and '.join(paths)}")
    return names


def _sources_by_stance(
    evidence: Sequence[Evidence], labels: Mapping[str, str]
) -> dict[str, list[str]]:
    """Each stance's sources in order of first mention, with every channel they came through."""
    channels: dict[str, dict[str, list[tuple[str, ...]]]] = {
        "supports": {},
        "refutes": {},
        "neutral": {},
    }
    for e in evidence:
        by_source = channels[e.stance]
        vias = by_source.get(e.source)
        if vias is None:
            by_source[e.source] = [e.via]
        else:
            vias.append(e.via)
    return {stance: _names(by_source, labels) for stance, by_source in channels.items()}


# The estimative terms capitalised, as a sentence starts.
_CAPITALISED = {term: term[0].upper() + term[1:] for term in ESTIMATIVE_TERMS}


def summarize(
    estimative: str,
    confidence: float,
    interval: Sequence[float],
    independent_sources: float,
    evidence: Sequence[Evidence],
    level: float = 0.9,
    labels: Mapping[str, str] | None = None,
    base: str | None = None,
) -> str:
    """One sentence a person can read: the verdict, then who said what, then where
    the claim started (``base``, a ``base_clause``) where it is worth saying.

    e.g. "Likely (72 %, 90 % interval 55-84 %): supported by NIS via
    South Korean media and President of Ukraine via Axios (1.8 independent
    sources); DoD neutral." Sources and relays are called by their ``labels``
    (names by id) where they have one, else by their ids.
    """
    named = _sources_by_stance(evidence, labels or {})
    low, high = interval
    return sentence(
        estimative,
        percent(confidence),
        percent(low),
        percent(high),
        independent_sources,
        named["supports"],
        named["refutes"],
        named["neutral"],
        percent(level),
        base,
    )


# What a summary says a claim started from, given the percent (``base_clause``).
PRIOR_CLAUSE = "the claim's prior of {} %"
LEARNED_CLAUSE = "a learned base rate of {} %"


def base_clause(prior: float | None = None, learned: float | None = None) -> str | None:
    """What a summary says a claim started from: its own ``prior`` where it gave one,
    else a ``learned`` base rate where the model has one (its confidence before any
    evidence), else nothing (the default 50 % goes unsaid)."""
    if prior is not None:
        return PRIOR_CLAUSE.format(percent(prior))
    if learned is not None:
        return LEARNED_CLAUSE.format(percent(learned))
    return None


def sentence(
    estimative: str,
    confidence: str,
    low: str,
    high: str,
    independent_sources: float,
    supports: list[str],
    refutes: list[str],
    neutral: list[str],
    level: str,
    base: str | None = None,
) -> str:
    """``summarize`` from the sources already named per stance, the confidence, its
    interval's bounds and the level in percent (``percent``, or ``percents`` of many),
    and what the claim started from (``base_clause``; None: nothing to say).

    The start is said because the evidence moves the claim from there: without it,
    "Likely (72 %): supported by X" reads as X's doing when the claim started at 70 %."""
    term = _CAPITALISED.get(estimative) or f"{estimative[0].upper()}{estimative[1:]}"
    clauses = []
    if supports:
        clauses.append(f"supported by {_listing(supports)}")
    if refutes:
        clauses.append(f"refuted by {_listing(refutes)}")
    if clauses:
        # The count to one decimal is "1.0" exactly when it rounds to 1 (both
        # round the float's exact value correctly).
        count = f"{independent_sources:.1f}"
        plural = "" if count == "1.0" else "s"
        clauses[-1] += f" ({count} independent source{plural})"
    if neutral:
        clauses.append(f"{_listing(neutral)} neutral")
    if not clauses:
        clauses.append("no attributed evidence")
    if base is not None:
        clauses.append(f"from {base}")
    return f"{term} ({confidence} %, {level} % interval {low}\u2013{high} %): {'; '.join(clauses)}."
