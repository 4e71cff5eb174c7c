"""Settings of the scoring model and what it knows of each source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from scoring.beta import Beta

# Prior of sources never defined: barely better than a coin, weakly held.
UNKNOWN_SOURCE = Beta.from_reliability(0.55, 4)


@dataclass(frozen=True, slots=True)
class SourceBelief:
    """What the scorer knows of a source: its reliability belief, its group and the
    name summaries call it by (its id when it has none)."""

    belief: Beta
    group: str | None = None
    name: str | None = None


def _unit(name: str, value: float, *, low_open: bool, high_open: bool) -> None:
    above = value > 0 if low_open else value >= 0
    below = value < 1 if high_open else value <= 1
    if not (above and below):
        raise ValueError(
            f"{name} must be in {'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        )


@dataclass(frozen=True)
class ScoringParams:
    """Settings of the scoring model (``config/default.toml`` ``[scoring]``, ``[groups]``).

    Parameters
    ----------
    default_claim_prior : float in (0, 1)
        Base rate of a claim that gives none.
    unknown_source : Beta
        Reliability belief of a source (or relay) the call does not define.
    group_correlation : mapping of str to float in [0, 1]
        Within-group correlation of sources, by group.
    default_group_correlation : float in [0, 1]
        Within-group correlation of groups not listed.
    unnamed_correlation : float in [0, 1]
        Correlation among the ``count`` unnamed sources of an attribution.
    evidence_cap : float > 0
        A claim's total evidence saturates at this many log-odds (may be inf).
    interval_level : float in (0, 1)
        Probability mass of the credible interval.
    interval_samples : int >= 2
        Monte Carlo draws of each source's reliability behind the interval.
    """

    default_claim_prior: float = 0.5
    unknown_source: Beta = UNKNOWN_SOURCE
    group_correlation: Mapping[str, float] = field(default_factory=dict)
    default_group_correlation: float = 0.3
    unnamed_correlation: float = 0.3
    evidence_cap: float = 7.0
    interval_level: float = 0.9
    interval_samples: int = 256

    def __post_init__(self) -> None:
        _unit("default_claim_prior", self.default_claim_prior, low_open=True, high_open=True)
        for group, rho in self.group_correlation.items():
            _unit(f"group_correlation[{group!r}]", rho, low_open=False, high_open=False)
        _unit(
            "default_group_correlation",
            self.default_group_correlation,
            low_open=False,
            high_open=False,
        )
        _unit("unnamed_correlation", self.unnamed_correlation, low_open=False, high_open=False)
        _unit("interval_level", self.interval_level, low_open=True, high_open=True)
        if not self.evidence_cap > 0:
            raise ValueError("evidence_cap must be > 0")
        if isinstance(self.interval_samples, bool) or not (
            isinstance(self.interval_samples, int) and self.interval_samples >= 2
        ):
            raise ValueError("interval_samples must be an integer >= 2")
        # A read-only copy, so a caller's later edit cannot change a frozen object.
        object.__setattr__(
            self, "group_correlation", MappingProxyType(dict(self.group_correlation))
        )

    def correlation(self, group: str) -> float:
        """Within-group correlation of sources of ``group``."""
        return self.group_correlation.get(group, self.default_group_correlation)
