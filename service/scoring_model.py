"""The scoring library's objects as the settings configure them, built once per app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from scoring import Beta, ClaimScorer, GradeTable, ScoringParams, SourceBelief
from service.settings import BetaSpec, ConfigError, Settings


def _beta(spec: BetaSpec) -> Beta:
    return Beta.from_reliability(spec.reliability, spec.strength)


GRADED_BELIEFS = 100_000
"""Beliefs whose letter a process remembers; past it, it starts afresh."""


@dataclass(frozen=True)
class ScoringModel:
    grades: GradeTable
    unknown: Beta
    params: ScoringParams
    scorer: ClaimScorer
    interval_level: float
    # The letter of each belief graded so far. Requests grade the same sources'
    # beliefs over and over, and grading one through numpy costs ~20 µs: a 100-claim
    # POST /v1/score naming 50 sources spent 1.28 ms on its codes, now 0.77 ms.
    _graded: dict[Beta, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ScoringModel:
        scoring = settings.scoring
        unknown = _beta(scoring.unknown_source)
        params = ScoringParams(
            default_claim_prior=scoring.default_claim_prior,
            unknown_source=unknown,
            group_correlation=settings.groups,
            default_group_correlation=scoring.default_group_correlation,
            unnamed_correlation=scoring.unnamed_correlation,
            evidence_cap=scoring.evidence_cap,
            interval_level=scoring.interval_level,
            interval_samples=scoring.interval_samples,
        )
        return cls(
            grades=GradeTable({letter: _beta(spec) for letter, spec in settings.grades.items()}),
            unknown=unknown,
            params=params,
            scorer=ClaimScorer(params),
            interval_level=scoring.interval_level,
        )

    def grader(self, beliefs: Mapping[str, SourceBelief]) -> Callable[[str], str]:
        """A source id's Admiralty letter under ``beliefs`` (unknown sources: the unknown
        prior's), remembered per id: a list of claims names the same sources often."""
        letters: dict[str, str] = {}

        def grade_of(source_id: str) -> str:
            letter = letters.get(source_id)
            if letter is None:
                known = beliefs.get(source_id)
                belief = known.belief if known is not None else self.unknown
                letter = letters[source_id] = self._letter(belief)
            return letter

        return grade_of

    def _letter(self, belief: Beta) -> str:
        letter = self._graded.get(belief)
        if letter is None:
            if len(self._graded) >= GRADED_BELIEFS:  # every job's fit brings new beliefs
                self._graded.clear()
            letter = self._graded[belief] = self.grades.letter(belief)
        return letter


def configured_model(settings: Settings) -> ScoringModel:
    """``ScoringModel.from_settings``; an invalid setting raises ``ConfigError``."""
    try:
        return ScoringModel.from_settings(settings)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
