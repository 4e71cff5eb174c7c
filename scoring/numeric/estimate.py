"""What a numeric question's posterior says: median, interval, camps of figures, one sentence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring.evidence import FloatArray
from scoring.explain import percent
from scoring.numeric.figures import Axis, figure_text
from scoring.numeric.grid import Grid

_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Two camps closer than this in weight are not said to be favoured one over the other.
_TIE = 0.05
# A report belongs to a camp where the density at its figure is at least this
# share of the camp's peak.
_HELD = 0.05
# Wiggles below this share of the peak density are flat.
_FLAT = 1e-9


@dataclass(frozen=True, slots=True)
class Mode:
    """A camp of claimed figures: where the posterior peaks, and how much of it the camp holds.

    Attributes
    ----------
    value : float
        The camp's figure, in the question's unit.
    weight : float
        Posterior mass of the camp, in [0, 1].
    sources : tuple of str
        The reports ("source via relay") whose figures fall in the camp.
    """

    value: float
    weight: float
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Estimate:
    """The estimate of a numeric question's quantity, in the question's unit.

    Attributes
    ----------
    median : float
    interval : (float, float)
        Equal-tailed credible interval (90 % by default); contains the median.
    modes : tuple of Mode
        The distinct camps, heaviest first.
    independent_sources : float
        Effective number of independent reports of figures.
    summary : str
    """

    median: float
    interval: tuple[float, float]
    modes: tuple[Mode, ...]
    independent_sources: float
    summary: str


@dataclass(frozen=True, slots=True)
class Located:
    """A weighted supporting report: where its figure sits on the axis, its window, its name."""

    location: float
    name: str
    window: tuple[float, float]
    """Where the truth makes the figure right (its range, or its point ± tolerance)."""


def camps(
    grid: Grid, mass: FloatArray, reports: Sequence[Located], dip: float
) -> list[tuple[int, int]]:
    """Cell ranges ``[start, stop)`` of the posterior's camps, left to right.

    The grid is cut at the local minima of the density into basins, one peak
    each. Neighbouring basins are merged while the density between them stays
    above ``dip`` times the lower peak (one camp with a shoulder, not two) or
    while one of them holds no reported figure (a notch carved by a
    refutation, or the flat tails, are no camp of anyone's figures).
    """
    n = mass.size
    peak_scale = float(mass.max())
    step = np.diff(mass)
    sign = np.sign(np.where(np.abs(step) > _FLAT * peak_scale, step, 0.0))
    # A flat stretch keeps the direction it was going in.
    last = 1.0
    for k in range(sign.size):
        if sign[k] == 0:
            sign[k] = last
        last = sign[k]
    cuts = [k + 1 for k in range(sign.size - 1) if sign[k] < 0 and sign[k + 1] > 0]
    bounds = [0, *cuts, n]
    basins = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    where = np.array([r.location for r in reports])
    position = np.floor((where - grid.edges[0]) / grid.width).clip(0, n - 1).astype(int)

    def holds(basin: tuple[int, int]) -> bool:
        return bool(((position >= basin[0]) & (position < basin[1])).any())

    while len(basins) > 1:
        best, best_ratio = -1, -1.0
        for i in range(len(basins) - 1):
            a, b = basins[i], basins[i + 1]
            low = float(mass[b[0] - 1 : b[0] + 1].min())
            ratio = low / max(min(mass[a[0] : a[1]].max(), mass[b[0] : b[1]].max()), 1e-300)
            if not (holds(a) and holds(b)):
                ratio = np.inf
            if ratio > best_ratio:
                best, best_ratio = i, ratio
        if best_ratio < dip:
            break
        a, b = basins[best], basins[best + 1]
        basins[best : best + 2] = [(a[0], b[1])]
    return basins


def _peak(grid: Grid, mass: FloatArray, start: int, stop: int) -> float:
    """Where the camp's density peaks: a plateau's middle, else the vertex of a parabola.

    A parabola through the log masses of the top cell and its neighbours puts
    the peak between cell centres, so a camp of one figure reads that figure.
    """
    part = mass[start:stop]
    top = np.flatnonzero(part >= (1 - 1e-3) * part.max())
    if top.size > 1:
        return float(np.average(grid.centres[start:stop][top], weights=part[top]))
    k = start + int(top[0])
    if 0 < k < mass.size - 1 and (mass[k - 1 : k + 2] > 0).all():
        a, b, c = np.log(mass[k - 1 : k + 2])
        curve = a - 2 * b + c
        if curve < 0:
            return float(grid.centres[k] + 0.5 * (a - c) / curve * grid.width)
    return float(grid.centres[k])


def estimate(
    axis: Axis,
    grid: Grid,
    mass: FloatArray,
    reports: Sequence[Located],
    independent: float,
    *,
    level: float,
    dip: float,
    min_weight: float,
    unit: str,
) -> Estimate:
    """The estimate from the posterior cell masses ``mass`` (shape (n,), summing to 1)."""
    cdf = grid.cdf(mass)
    tail = (1 - level) / 2
    x_median = grid.quantile(cdf, 0.5)
    x_low, x_high = grid.quantile(cdf, tail), grid.quantile(cdf, 1 - tail)
    median, low, high = axis.from_axis([x_median, x_low, x_high]).tolist()
    where = np.array([r.location for r in reports], dtype=float)
    cell = np.floor((where - grid.edges[0]) / grid.width).clip(0, mass.size - 1).astype(int)
    found = []
    for start, stop in camps(grid, mass, reports, dip):
        part = mass[start:stop]
        x = _peak(grid, mass, start, stop)
        # A camp holds the reports whose figures sit where it has some density,
        # or whose range holds its peak ("at least 3,000" and a camp at 10,000):
        # a figure the evidence has left behind belongs to no camp.
        floor = _HELD * float(part.max())
        names = tuple(
            dict.fromkeys(
                r.name
                for r, k in zip(reports, cell.tolist(), strict=True)
                if (start <= k < stop and mass[k] >= floor) or r.window[0] <= x <= r.window[1]
            )
        )
        found.append(Mode(float(axis.from_axis(x)), min(float(part.sum()), 1.0), names))
    found.sort(key=lambda m: -m.weight)
    modes = tuple(m for i, m in enumerate(found) if i == 0 or m.weight >= min_weight)
    held = {name for m in modes for name in m.sources}
    apart = list(dict.fromkeys(r.name for r in reports if r.name not in held))
    summary = _sentence(median, (low, high), modes, independent, level, unit, bool(reports))
    if apart:
        summary = f"{summary[:-1]}; far from the evidence: {_listing(apart)}."
    return Estimate(median, (low, high), modes, independent, summary)


def _listing(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(
    median: float,
    interval: tuple[float, float],
    modes: Sequence[Mode],
    independent: float,
    level: float,
    unit: str,
    reported: bool,
) -> str:
    """e.g. "Two camps: about 1,500 (kr-nis via kr-media) and about 10,000 (...); ..." """
    spread = (
        f"{percent(level)} % interval {figure_text(interval[0])}\u2013"
        f"{figure_text(interval[1], unit)}"
    )
    if not reported:
        return f"No figure carries weight: median {figure_text(median, unit)}, {spread}."
    plural = "" if round(independent, 1) == 1 else "s"
    if len(modes) == 1:
        who = _listing(modes[0].sources) if modes[0].sources else "no source's figure"
        return (
            f"About {figure_text(modes[0].value, unit)} ({spread}): {who} "
            f"({independent:.1f} independent source{plural})."
        )
    count = _COUNT_WORDS[len(modes)] if len(modes) < len(_COUNT_WORDS) else str(len(modes))
    listed = _listing(
        [
            f"about {figure_text(m.value, unit)} ({_listing(m.sources) if m.sources else 'tails'})"
            for m in modes
        ]
    )
    weights = " against ".join(f"{percent(m.weight)} %" for m in modes)
    if modes[0].weight - modes[1].weight < _TIE:
        verdict = f"the evidence favours none of them clearly ({weights})"
    else:
        verdict = f"the evidence favours about {figure_text(modes[0].value, unit)} ({weights})"
    return (
        f"{count.capitalize()} camps: {listed}; {verdict}; median "
        f"{figure_text(median, unit)}, {spread} ({independent:.1f} independent source{plural})."
    )
