"""Figures claims state, numeric questions, and the axis on which figures are compared."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from scoring.evidence import FloatArray

Scale = Literal["log", "linear"]

# Tolerance of a question that gives none: relative on a log scale; on a linear
# scale 0, which means this share of the spread of the claimed figures.
DEFAULT_LOG_TOLERANCE = 0.1
SPREAD_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Figure:
    """The figure a claim states: a point, a range, "at least" or "at most".

    Parameters
    ----------
    low, high : float or None
        A point has ``low == high``; "at least" has only ``low``, "at most"
        only ``high``. Finite, ``low <= high``.
    """

    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.low is None and self.high is None:
            raise ValueError("a figure needs a point, a low or a high bound")
        for name, bound in (("low", self.low), ("high", self.high)):
            if bound is not None and not math.isfinite(bound):
                raise ValueError(f"a figure's {name} must be finite")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("a figure's low must not exceed its high")

    @classmethod
    def point(cls, value: float) -> Figure:
        return cls(value, value)

    @property
    def is_point(self) -> bool:
        return self.low is not None and self.low == self.high

    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` with a missing bound as -inf or inf."""
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return low, high


@dataclass(frozen=True, slots=True)
class NumericQuestion:
    """A quantity that several claims state figures for.

    Parameters
    ----------
    id : str or None
    scale : {"log", "linear"}
        ``log`` for counts and amounts (figures must be positive; errors are
        relative), ``linear`` for quantities that can be zero or negative.
    tolerance : float or None
        How far from a claimed point the truth may lie for the claim to be
        right: relative on a log scale (default 0.1, so ±10 %), absolute in
        the question's unit on a linear scale (default 0: 5 % of the spread
        of the claimed figures).
    unit : str
        Free text, used in summaries ("troops").
    """

    id: str | None = None
    scale: Scale = "log"
    tolerance: float | None = None
    unit: str = ""

    def __post_init__(self) -> None:
        if self.scale not in ("log", "linear"):
            raise ValueError("scale must be log or linear")
        t = self.tolerance
        if t is not None:
            if self.scale == "log" and not 0 < t < 1:
                raise ValueError("a log-scale tolerance must be in (0, 1)")
            if self.scale == "linear" and not (math.isfinite(t) and t >= 0):
                raise ValueError("a linear-scale tolerance must be finite and >= 0")


@dataclass(frozen=True, slots=True)
class Axis:
    """Where figures of one question are compared: log units, or linear units of the question.

    On a log scale x = ln v, so an error of ±20 % is the same distance at
    1,500 and at 150,000. On a linear scale x = v / unit, with ``unit`` 20
    tolerances: one axis unit is the spread of the claimed figures when the
    tolerance is the default, so error scales learned on one linear question
    carry over to another of a different unit.

    Attributes
    ----------
    scale : {"log", "linear"}
    unit : float
        Size of one axis unit in the question's unit (1 on a log scale).
    tolerance : float
        Relative (log) or absolute in the question's unit (linear), > 0.
    """

    scale: Scale
    unit: float
    tolerance: float

    @classmethod
    def of(cls, question: NumericQuestion, figures: Sequence[Figure]) -> Axis:
        """The axis of ``question`` given the figures its claims state.

        Raises
        ------
        ValueError
            For a figure that is not positive on a log scale.
        """
        bounds = [b for f in figures for b in (f.low, f.high) if b is not None]
        if question.scale == "log":
            if any(b <= 0 for b in bounds):
                raise ValueError("figures of a log-scale question must be positive")
            tolerance = question.tolerance or DEFAULT_LOG_TOLERANCE
            return cls("log", 1.0, tolerance)
        tolerance = question.tolerance or 0.0
        if tolerance == 0:
            spread = max(bounds) - min(bounds) if bounds else 0.0
            if spread == 0:
                # One figure, or all alike: 5 % of its size, or of 1 when it is 0.
                spread = max((abs(b) for b in bounds), default=0.0) or 1.0
            tolerance = SPREAD_SHARE * spread
        return cls("linear", tolerance / SPREAD_SHARE, tolerance)

    def to_axis(self, value: ArrayLike) -> FloatArray:
        v = np.asarray(value, dtype=float)
        if self.scale == "log":
            with np.errstate(divide="ignore"):
                return np.log(v)
        return v / self.unit

    def from_axis(self, x: ArrayLike) -> FloatArray:
        x = np.asarray(x, dtype=float)
        return np.exp(x) if self.scale == "log" else x * self.unit

    def window(self, figure: Figure) -> tuple[float, float]:
        """Axis interval where the truth makes ``figure`` right: point ± tolerance, or range."""
        low, high = figure.bounds()
        if figure.is_point:
            if self.scale == "log":
                low, high = low * (1 - self.tolerance), high * (1 + self.tolerance)
            else:
                low, high = low - self.tolerance, high + self.tolerance
        elif self.scale == "log" and low == -math.inf:
            low = 0.0
        lo, hi = self.to_axis([low, high]).tolist()
        return lo, hi

    def observed(self, figure: Figure) -> tuple[float, float]:
        """The figure's bounds on the axis (±inf for a missing one)."""
        low, high = figure.bounds()
        if self.scale == "log" and low == -math.inf:
            low = 0.0
        lo, hi = self.to_axis([low, high]).tolist()
        return lo, hi

    def location(self, figure: Figure) -> float:
        """Where a figure sits on the axis: its point, its range's middle, or its one bound."""
        lo, hi = self.observed(figure)
        if math.isinf(lo):
            return hi
        if math.isinf(hi):
            return lo
        return (lo + hi) / 2


# Significant digits of a figure a source stated, written back as it was given
# (12,345 stays 12,345); a float's noise (0.30000000000000004) is past them.
STATED = 12


def figure_text(value: float, unit: str = "", significant: int = 3) -> str:
    """A figure as a person writes it: ``significant`` digits (an estimate's three, or
    ``STATED`` for a source's own figure), thousands separated.

    Figures too large or too small to write out in full (a quadrillion and more, or
    under 0.0001) are written in scientific notation instead, to as many digits.
    """
    if value == 0 or not math.isfinite(value) or not 1e-4 <= abs(value) < 1e15:
        text = f"{value:.{significant}g}"
    else:
        digits = significant - 1 - math.floor(math.log10(abs(value)))
        rounded = round(value, digits)
        text = f"{rounded:,.{max(digits, 0)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    text = text.replace("-", "\u2212")
    return f"{text} {unit}" if unit else text
