"""Settings of the numeric model (``config/default.toml`` ``[numeric]``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scoring.numeric.errors import DEFAULT_ERROR_SCALE, DEFAULT_ERROR_STRENGTH, ErrorScale


@dataclass(frozen=True)
class NumericParams:
    """Settings of the numeric model.

    Parameters
    ----------
    unknown_error : ErrorScale
        Error-scale belief of a source with no numeric record (predictive
        scale 0.2 axis units: ±20 % on a log scale; 6 pseudo-observations).
    log_margin : float > 0
        The truth is taken to lie within this far (in log units) of the
        claimed figures: ln 10, a factor of ten either way. The prior over the
        truth is flat on the axis over that range, and a figure that says
        nothing about the truth is a draw from it.
    linear_margin : float > 0
        The same on a linear axis, in axis units (1 = the spread of the figures).
    grid_size : int >= 64
        Cells of the grid on which the posterior of the truth is evaluated.
    camp_dip : float in (0, 1)
        Two neighbouring peaks of the posterior are distinct camps only when
        the density between them falls below this share of the lower peak.
    min_camp_weight : float in [0, 1)
        Camps lighter than this are not listed (the heaviest always is).
    """

    unknown_error: ErrorScale = field(
        default_factory=lambda: ErrorScale.from_scale(DEFAULT_ERROR_SCALE, DEFAULT_ERROR_STRENGTH)
    )
    log_margin: float = math.log(10.0)
    linear_margin: float = 1.0
    grid_size: int = 512
    camp_dip: float = 0.5
    min_camp_weight: float = 0.05

    def __post_init__(self) -> None:
        if not (self.log_margin > 0 and self.linear_margin > 0):
            raise ValueError("margins must be > 0")
        if isinstance(self.grid_size, bool) or not (
            isinstance(self.grid_size, int) and self.grid_size >= 64
        ):
            raise ValueError("grid_size must be an integer >= 64")
        if not 0 < self.camp_dip < 1:
            raise ValueError("camp_dip must be in (0, 1)")
        if not 0 <= self.min_camp_weight < 1:
            raise ValueError("min_camp_weight must be in [0, 1)")
