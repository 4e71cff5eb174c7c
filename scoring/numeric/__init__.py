"""Numeric questions: figures of one quantity scored as figures (numpy only).

See docs/model.md, "Numeric questions".
"""

from scoring.numeric.errors import ErrorScale
from scoring.numeric.estimate import Estimate, Mode
from scoring.numeric.figures import STATED, Axis, Figure, NumericQuestion, figure_text
from scoring.numeric.params import NumericParams
from scoring.numeric.questions import QuestionKinds, QuestionScorer, Scored
from scoring.numeric.scorer import (
    NUMERIC_MODEL,
    NumericScorer,
    Posterior,
    QuestionScore,
)

__all__ = [
    "NUMERIC_MODEL",
    "STATED",
    "Axis",
    "ErrorScale",
    "Estimate",
    "Figure",
    "Mode",
    "NumericParams",
    "NumericQuestion",
    "NumericScorer",
    "Posterior",
    "QuestionKinds",
    "QuestionScore",
    "QuestionScorer",
    "Scored",
    "figure_text",
]
