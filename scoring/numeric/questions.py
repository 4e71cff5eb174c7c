"""Scoring claims of choice and numeric questions together.

Claims of a numeric question are scored as figures (``NumericScorer``), all
others by the ``ClaimScorer``. A question is numeric when it is defined so, or
when it is not defined and one of its claims carries a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from scoring.claims import Claim
from scoring.columns import ClaimColumns
from scoring.confidence import DrawTable
from scoring.numeric.errors import ErrorScale
from scoring.numeric.estimate import Estimate
from scoring.numeric.figures import Figure, NumericQuestion
from scoring.numeric.scorer import NumericScorer
from scoring.params import SourceBelief
from scoring.scorer import ClaimScorer, Score, ScoreTable


@dataclass(frozen=True)
class QuestionKinds:
    """What is known of the questions of a call.

    Attributes
    ----------
    numeric : mapping of str to NumericQuestion
        Questions defined as numeric.
    choice : frozenset of str
        Questions defined as choice questions.
    """

    numeric: Mapping[str, NumericQuestion] = field(default_factory=dict)
    choice: frozenset[str] = frozenset()

    def numeric_questions(
        self, questions: Sequence[str | None], values: Sequence[Figure | None]
    ) -> dict[str, NumericQuestion]:
        """The numeric questions among claims' (each claim's question and value), by id.

        Raises
        ------
        ValueError
            For a value in a choice question, or a claim of a numeric question
            without one.
        """
        found: dict[str, NumericQuestion] = {}
        for q, value in zip(questions, values, strict=True):
            if q is None:
                if value is not None:
                    raise ValueError("a claim with a value must name a question")
                continue
            if value is not None:
                if q in self.choice:
                    raise ValueError(
                        f"question {q!r} is a choice question: its claims take no value"
                    )
                found.setdefault(q, self.numeric.get(q) or NumericQuestion(q))
            elif q in self.numeric:
                found.setdefault(q, self.numeric[q])
        for q, value in zip(questions, values, strict=True):
            if q in found and value is None:
                raise ValueError(f"question {q!r} is numeric: each of its claims needs a value")
        return found


@dataclass(frozen=True)
class Scored:
    """Scores of a call's claims in their order, and the estimate of each numeric question."""

    scores: list[Score]
    estimates: dict[str, Estimate]


@dataclass(frozen=True)
class ScoredTable:
    """``Scored`` with the scores as a ``ScoreTable``."""

    table: ScoreTable
    estimates: dict[str, Estimate]


class QuestionScorer:
    """Scores claims whatever their questions' kinds.

    Parameters
    ----------
    claims : ClaimScorer
    figures : NumericScorer
    """

    def __init__(self, claims: ClaimScorer, figures: NumericScorer) -> None:
        self.claims = claims
        self.figures = figures

    def score(
        self,
        claims: Sequence[Claim],
        sources: Mapping[str, SourceBelief],
        *,
        kinds: QuestionKinds | None = None,
        errors: Mapping[str, ErrorScale] | None = None,
    ) -> Scored:
        """Score ``claims``; see ``ClaimScorer.score`` and ``NumericScorer.score``.

        Raises
        ------
        ValueError
            As ``QuestionKinds.numeric_questions``, and for values that do not
            fit their question.
        """
        questions = [c.question for c in claims]
        values = [c.value for c in claims]
        numeric = (kinds or QuestionKinds()).numeric_questions(questions, values)
        plain = [i for i, q in enumerate(questions) if q not in numeric]
        choice = self.claims.score([claims[i] for i in plain], sources)
        figures, estimates = self._score_numeric(
            questions,
            values,
            numeric,
            lambda members: [claims[i] for i in members],
            sources,
            errors,
        )
        scores: list[Score | None] = [None] * len(claims)
        for members, scored in [(plain, choice), *figures]:
            for i, s in zip(members, scored, strict=True):
                scores[i] = s
        return Scored([s for s in scores if s is not None], estimates)

    def score_columns(
        self,
        columns: ClaimColumns,
        positions: Sequence[int],
        sources: Mapping[str, SourceBelief],
        *,
        kinds: QuestionKinds | None = None,
        errors: Mapping[str, ErrorScale] | None = None,
        table: DrawTable | None = None,
    ) -> ScoredTable:
        """``score(columns.claims(positions), ...)``: choice claims scored from the columns
        (``ClaimScorer.score_columns``, with ``table``); only the claims of numeric
        questions are made whole.
        """
        at = np.asarray(positions, dtype=np.intp)
        kinds = kinds or QuestionKinds()
        codes = columns.question[at]
        value = columns.value
        valued = np.array(
            [k for k, i in enumerate(at.tolist()) if i in value] if value else [], dtype=np.intp
        )
        # Each question of these claims by its number; only the claims of questions
        # that have a value, or are defined numeric, can be numeric or wrong.
        named = {q: columns.questions[q] for q in np.unique(codes[codes >= 0]).tolist()}
        relevant = {q for q, name in named.items() if name in kinds.numeric}
        relevant.update(q for q in codes[valued].tolist() if q >= 0)
        asked = np.union1d(np.flatnonzero(np.isin(codes, list(relevant))), valued).tolist()
        numeric = kinds.numeric_questions(
            [named.get(q) for q in codes[asked].tolist()],
            [value.get(i) for i in at[asked].tolist()],
        )
        is_numeric = np.isin(codes, [q for q, name in named.items() if name in numeric])
        plain = np.flatnonzero(~is_numeric).tolist()
        choice = self.claims.score_columns(columns, at[plain], sources, table=table)
        if not numeric:
            return ScoredTable(choice, {})
        questions = [named.get(q) for q in codes.tolist()]
        figures, estimates = self._score_numeric(
            questions,
            [value.get(i) for i in at.tolist()],
            numeric,
            lambda members: columns.claims(at[members]),
            sources,
            errors,
        )
        return ScoredTable(
            ScoreTable.merged(
                [(plain, choice), *((m, ScoreTable.of_scores(s)) for m, s in figures)]
            ),
            estimates,
        )

    def _score_numeric(
        self,
        questions: Sequence[str | None],
        values: Sequence[Figure | None],
        numeric: Mapping[str, NumericQuestion],
        whole: Callable[[list[int]], list[Claim]],
        sources: Mapping[str, SourceBelief],
        errors: Mapping[str, ErrorScale] | None,
    ) -> tuple[list[tuple[list[int], Sequence[Score]]], dict[str, Estimate]]:
        """Score the claims of the ``numeric`` questions among claims (each one's question
        and value), given how to make the claims at some positions whole (with their
        attributions): each question's positions among the claims and their scores, and
        each question's estimate."""
        parts: list[tuple[list[int], Sequence[Score]]] = []
        estimates = {}
        for q, question in numeric.items():
            members = [i for i, name in enumerate(questions) if name == q]
            found = [values[i] for i in members]
            result = self.figures.score(
                question,
                whole(members),
                [v for v in found if v is not None],
                sources,
                errors,
            )
            estimates[q] = result.estimate
            parts.append((members, result.scores))
        return parts, estimates
