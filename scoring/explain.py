"""What a score rests on: per-attribution evidence and a one-sentence summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


def _percent(p: float) -> str:
    value = round(100 * p)
    if value == 0 and p > 0:
        return "<1"
    if value == 100 and p < 1:
        return ">99"
    return str(value)


def _listing(names: list[str]) -> str:
    if len(names) > _MAX_NAMED:
        names = [*names[:_MAX_NAMED], f"{len(names) - _MAX_NAMED} more"]
    if len(names) == 1:
        return names[0]
    glue = ", and " if any(" and " in n for n in names) else " and "
    return ", ".join(names[:-1]) + glue + names[-1]


def _sources_by_stance(evidence: Sequence[Evidence]) -> dict[str, list[str]]:
    """Each stance's sources in order of first mention, with every channel they came through."""
    channels: dict[str, dict[str, list[str]]] = {"supports": {}, "refutes": {}, "neutral": {}}
    for e in evidence:
        paths = channels[e.stance].setdefault(e.source, [])
        path = "via " + " via ".join(e.via) if e.via else "directly"
        if path not in paths:
            paths.append(path)
    return {
        stance: [
            source if paths == ["directly"] else f"{source} {' and '.join(paths)}"
            for source, paths in by_source.items()
        ]
        for stance, by_source in channels.items()
    }


def summarize(
    estimative: str,
    confidence: float,
    interval: tuple[float, float],
    independent_sources: float,
    evidence: Sequence[Evidence],
    level: float = 0.9,
) -> str:
    """One sentence a person can read: the verdict, then who said what.

    e.g. "Likely (72 %, 90 % interval 55-84 %): supported by kr-nis via
    kr-media and ua-president via axios (1.8 independent sources); us-pentagon
    neutral."
    """
    low, high = interval
    head = (
        f"{estimative[0].upper()}{estimative[1:]} ({_percent(confidence)} %, "
        f"{_percent(level)} % interval {_percent(low)}\u2013{_percent(high)} %)"
    )
    named = _sources_by_stance(evidence)
    clauses = [
        f"{verb} by {_listing(named[stance])}"
        for stance, verb in (("supports", "supported"), ("refutes", "refuted"))
        if named[stance]
    ]
    if clauses:
        plural = "" if round(independent_sources, 1) == 1 else "s"
        clauses[-1] += f" ({independent_sources:.1f} independent source{plural})"
    if named["neutral"]:
        clauses.append(f"{_listing(named['neutral'])} neutral")
    return f"{head}: {'; '.join(clauses) or 'no attributed evidence'}."
