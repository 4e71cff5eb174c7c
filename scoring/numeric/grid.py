"""The posterior of a question's true value on a grid over its axis.

Each weighted report is a factor of the likelihood. A figure stated by a
source of effective reliability r (its reliability times its channel's
fidelity) is, with chance r, the truth seen through the source's Student-t
error, and otherwise a draw that says nothing (see ``figure_likelihood``):

    L(θ) = r · g(figure | θ) + (1 - r) · u.

For a point, g is the error density at figure - θ (averaged over the grid
cell, so that a precise source is resolved); for a range, "at least" or "at
most" — censored observations — it is the chance that the source's view of
the truth fell inside what it stated, and u the share of the grid it covers.
A refutation of claim j is the binary model's evidence about j's window W:
L(θ) = r̃ outside W and 1 - r̃ inside, with r̃ = P·r + (1 - P)/2. Each factor is
raised to its report's weight (count x design effect: correlated reports are
tempered), and the prior of θ is flat on the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.evidence import EPS, FloatArray, IntArray
from scoring.numeric.errors import t_cdf

# Cumulative masses closer than this (relative) are one.
_TIE = 1e-9


@dataclass(frozen=True)
class Grid:
    """Cells of equal width over ``[edges[0], edges[-1]]`` on a question's axis.

    Attributes
    ----------
    edges : ndarray, shape (n + 1,)
    centres : ndarray, shape (n,)
    width : float
    """

    edges: FloatArray
    centres: FloatArray
    width: float

    @classmethod
    def spanning(cls, low: float, high: float, cells: int) -> Grid:
        edges = np.linspace(low, high, cells + 1)
        return cls(edges, (edges[1:] + edges[:-1]) / 2, float(edges[1] - edges[0]))

    @property
    def span(self) -> float:
        return float(self.edges[-1] - self.edges[0])

    def cdf(self, mass: FloatArray) -> FloatArray:
        """Cumulative mass at the edges; ``mass`` has shape (..., n), the result (..., n + 1)."""
        zero = np.zeros((*mass.shape[:-1], 1))
        return np.concatenate((zero, np.cumsum(mass, axis=-1)), axis=-1)

    def cdf_at(self, cdf: FloatArray, x: float) -> FloatArray:
        """Cumulative mass at axis point ``x`` (linear within a cell); ``cdf`` (..., n + 1)."""
        position = (x - self.edges[0]) / self.width
        if position <= 0:
            return cdf[..., 0]
        n = cdf.shape[-1] - 1
        if position >= n:
            return cdf[..., n]
        k = int(position)
        frac = position - k
        return cdf[..., k] * (1 - frac) + cdf[..., k + 1] * frac

    def mass_between(self, cdf: FloatArray, low: float, high: float) -> FloatArray:
        return self.cdf_at(cdf, high) - self.cdf_at(cdf, low)

    def quantile(self, cdf: FloatArray, q: float) -> float:
        """Axis point below which mass ``q`` lies, from a 1-D ``cdf`` (linear within a cell).

        Where the cumulative mass stays at ``q`` across cells that hold none
        (far from every figure the density underflows), any point of that
        stretch qualifies: its middle is taken, so that rounding cannot flip
        the answer from one end to the other.
        """
        total = cdf[-1]
        slack = _TIE * total
        first = int(np.searchsorted(cdf, q * total - slack, side="left"))
        last = int(np.searchsorted(cdf, q * total + slack, side="right")) - 1
        if last > first:
            return float(self.edges[first] + self.edges[last]) / 2
        k = int(np.searchsorted(cdf, q * total, side="left"))
        k = min(max(k, 1), cdf.size - 1)
        step = cdf[k] - cdf[k - 1]
        frac = 0.0 if step <= 0 else (q * total - cdf[k - 1]) / step
        return float(self.edges[k - 1] + min(max(frac, 0.0), 1.0) * self.width)

    def share_inside(self, low: float, high: float) -> FloatArray:
        """Share of each cell inside ``[low, high]``; shape (n,)."""
        inside = np.minimum(self.edges[1:], high) - np.maximum(self.edges[:-1], low)
        return np.clip(inside / self.width, 0.0, 1.0)


def figure_likelihood(
    grid: Grid, low: float, high: float, scale: float, dof: float, margin: float
) -> tuple[FloatArray, float]:
    """g(figure | θ) on the grid's cells, and u, for a figure stated as ``[low, high]`` on the axis.

    A point (``low == high``) gives the error density averaged over each cell;
    a range or a one-sided bound (±inf) the chance the source's view fell in it.

    A figure that says nothing is a draw from within ``margin`` of the truth,
    flat: density u = 1 / (2 margin) for a point, the chance of covering the
    truth for a range (its width over 2 margin), 1/2 for a one-sided bound. It
    does not depend on the grid, so adding a figure elsewhere does not change
    what the others' figures are worth.

    Returns
    -------
    g : ndarray, shape (n,)
    u : float
    """
    if low == high:
        upper = t_cdf((low - grid.edges) / scale, dof)
        return (upper[:-1] - upper[1:]) / grid.width, 1.0 / (2 * margin)
    g = t_cdf((high - grid.centres) / scale, dof) - t_cdf((low - grid.centres) / scale, dof)
    if np.isinf(low) or np.isinf(high):
        return g, 0.5
    return g, float(np.clip((high - low) / (2 * margin), EPS, 1.0))


@dataclass(frozen=True)
class Likelihoods:
    """The reports' likelihood terms on a grid, ready to be weighed by reliability draws.

    Attributes
    ----------
    figure : ndarray, shape (k_s, n)
        g of each supporting report.
    background : ndarray, shape (k_s,)
        u of each supporting report.
    supports : ndarray of int, shape (k_s,)
        Position of each supporting report among the weighted rows.
    inside : ndarray, shape (k_r, n)
        Share of each cell inside the refuted claim's window.
    refutes : ndarray of int, shape (k_r,)
    weight : ndarray, shape (k,)
        Each weighted row's power (count x design effect).
    """

    figure: FloatArray
    background: FloatArray
    supports: IntArray
    inside: FloatArray
    refutes: IntArray
    weight: FloatArray

    def term(self, row: int, fidelity: FloatArray, reliability: FloatArray) -> FloatArray:
        """Log-likelihood of weighted row ``row`` on the grid, for each draw.

        Parameters
        ----------
        row : int
            Position among the weighted rows.
        fidelity, reliability : ndarray, shape (s,)
            Its channel's fidelity and its source's reliability, for each draw.

        Returns
        -------
        ndarray, shape (s, n)
        """
        where = np.flatnonzero(self.supports == row)
        if where.size:
            i = int(where[0])
            r = np.clip(fidelity * reliability, 0.0, 1 - EPS)[:, None]
            out = np.log(r * self.figure[i] + (1 - r) * self.background[i])
        else:
            i = int(np.flatnonzero(self.refutes == row)[0])
            right = np.clip(fidelity * (reliability - 0.5) + 0.5, EPS, 1 - EPS)[:, None]
            inside = self.inside[i]
            out = np.log(inside * (1 - right) + (1 - inside) * right)
        out *= self.weight[row]
        return out

    def total(self, fidelity: FloatArray, reliability: FloatArray, cells: int) -> FloatArray:
        """Sum of every weighted row's ``term``: the log-likelihood for each draw.

        Parameters
        ----------
        fidelity, reliability : ndarray, shape (k, s)
        cells : int
            n, for a question without weighted rows.

        Returns
        -------
        ndarray, shape (s, n)
        """
        out = np.zeros((fidelity.shape[1], cells))
        for row in range(fidelity.shape[0]):
            out += self.term(row, fidelity[row], reliability[row])
        return out


def normalise(log_density: FloatArray) -> FloatArray:
    """Cell masses from log densities along the last axis, each row summing to 1."""
    mass = np.exp(log_density - log_density.max(axis=-1, keepdims=True))
    mass /= mass.sum(axis=-1, keepdims=True)
    return mass
