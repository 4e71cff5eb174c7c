"""How far a source's figures fall from the truth: its error scale, and the Student-t error law.

A source's figure is the truth plus a Gaussian error of variance σ² on the
question's axis (log units for counts and amounts). Our belief about σ² is an
inverse gamma IG(shape, rate) — GTM's conjugate prior (Zhao and Han 2012) —
so the error of a figure, σ² integrated out, is Student-t with 2·shape degrees
of freedom and scale sqrt(rate / shape): a source known from few resolved
questions has heavy tails, one known from many is nearly Gaussian.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scoring.beta import Beta
from scoring.evidence import FloatArray

# Error scale of a source with no record: figures typically within ±20 %.
DEFAULT_ERROR_SCALE = 0.2
# Pseudo-observations behind that prior; 6 gives t errors of 6 degrees of freedom.
DEFAULT_ERROR_STRENGTH = 6.0
# No source is believed more precise than this (a hundredth of an axis unit):
# a figure is rounded, and the grid must resolve the error law.
MIN_ERROR_SCALE = 0.01

# The CDF table: z = sinh(u) for u evenly spaced, which resolves the centre and
# reaches the far tails (|z| up to 4,000) with a few thousand points.
_TABLE_U = np.linspace(-9.0, 9.0, 4097)
_TABLE_Z = np.sinh(_TABLE_U)


@dataclass(frozen=True, slots=True)
class ErrorScale:
    """What a source's figures are like: how far off when informative, and how often informative.

    Parameters
    ----------
    shape, rate : float > 0
        Inverse-gamma belief IG(shape, rate) about the error variance on a
        question's axis: each squared error e² adds 1/2 to ``shape`` and e²/2
        to ``rate``.
    informative : Beta or None
        Belief about the chance that a figure of the source is informative,
        learned beside the variance from its figures (``ErrorScaleEM``); None
        until learned, when the scorer reads that chance from the source's
        reliability (``informative_chance``).
    """

    shape: float
    rate: float
    informative: Beta | None = None

    def __post_init__(self) -> None:
        if not (self.shape > 0 and self.rate > 0 and math.isfinite(self.shape + self.rate)):
            raise ValueError(f"error scale parameters must be finite and > 0, got {self}")

    @classmethod
    def from_scale(
        cls, scale: float = DEFAULT_ERROR_SCALE, strength: float = DEFAULT_ERROR_STRENGTH
    ) -> ErrorScale:
        """Belief whose predictive error has scale ``scale``, worth ``strength`` observations."""
        if not (scale > 0 and strength > 0):
            raise ValueError("scale and strength must be > 0")
        shape = strength / 2
        return cls(shape, shape * scale * scale)

    @property
    def scale(self) -> float:
        """Scale of the predictive Student-t error, sqrt(rate / shape), in axis units."""
        return max(math.sqrt(self.rate / self.shape), MIN_ERROR_SCALE)

    @property
    def dof(self) -> float:
        """Degrees of freedom of the predictive error, 2·shape."""
        return 2 * self.shape

    @property
    def strength(self) -> float:
        """Squared errors (pseudo-observations) the belief is worth, 2·shape."""
        return 2 * self.shape


def t_pdf(z: ArrayLike, dof: float) -> FloatArray:
    """Density of the standard Student-t with ``dof`` degrees of freedom."""
    half = (dof + 1) / 2
    log_norm = math.lgamma(half) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    zz = np.asarray(z, dtype=float)
    return np.exp(log_norm - half * np.log1p(zz * zz / dof))


@functools.lru_cache(maxsize=64)
def _cdf_table(dof: float) -> FloatArray:
    """CDF of the standard Student-t at ``_TABLE_Z``, by the trapezoid rule in u = asinh(z)."""
    density = t_pdf(_TABLE_Z, dof) * np.cosh(_TABLE_U)
    steps = (density[1:] + density[:-1]) / 2 * np.diff(_TABLE_U)
    table = np.concatenate(([0.0], np.cumsum(steps)))
    table /= table[-1]
    table.flags.writeable = False
    return table


def t_cdf(z: ArrayLike, dof: float) -> FloatArray:
    """Distribution function of the standard Student-t (±inf give 0 and 1).

    numpy has no incomplete beta function; a table interpolated in asinh(z) is
    accurate to about 1e-7, far below what the model's assumptions can tell.
    ``dof`` is rounded to two decimals to share tables.
    """
    table = _cdf_table(round(float(dof), 2))
    return np.interp(np.arcsinh(np.asarray(z, dtype=float)), _TABLE_U, table)
