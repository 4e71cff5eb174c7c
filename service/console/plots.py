"""The console's plots as inline SVG, drawn from the API's JSON documents.

Pure functions: a document (or a part of one) in, escaped SVG markup out, so a
page needs no plotting script and the tests can read what was drawn. Colours
come from the stylesheet through class names (the pages' Content-Security-Policy
allows no inline style), and every plot carries a text alternative.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from markupsafe import Markup, escape

from scoring.numeric.figures import figure_text

# Log-odds beyond this are drawn at the edge: 0.1 % / 99.9 %.
_EDGE = math.log(999)
StepKind = Literal["prior", "supports", "refutes", "neutral", "adjust", "result"]


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def percent(p: float) -> str:
    """``p`` (in [0, 1]) as a whole percentage, "<1 %" and ">99 %" near the ends."""
    if 0 < p < 0.005:
        return "<1 %"
    if 0.995 < p < 1:
        return ">99 %"
    return f"{round(p * 100)} %"


def _svg(width: float, height: float, label: str, body: str, css: str) -> Markup:
    return Markup(
        f'<svg class="plot {css}" viewBox="0 0 {_num(width)} {_num(height)}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMinYMid meet">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def confidence_bar(confidence: float, interval: Sequence[float], width: int = 160) -> Markup:
    """A claim's confidence as a marker on a 0-100 % track, over its interval's band."""
    low, high = interval
    h = 14
    x = confidence * width
    body = (
        f'<rect class="track" x="0" y="4" width="{width}" height="6" rx="3"/>'
        f'<rect class="band" x="{_num(low * width)}" y="2" '
        f'width="{_num(max((high - low) * width, 1))}" height="10" rx="3"/>'
        f'<rect class="mark" x="{_num(min(max(x - 1.5, 0), width - 3))}" y="0" width="3" '
        f'height="{h}"/>'
    )
    label = f"{percent(confidence)}, 90 % interval {percent(low)} to {percent(high)}"
    return _svg(width, h, label, body, "confidence")


def _logit(p: float) -> float:
    if p <= 0:
        return -_EDGE
    if p >= 1:
        return _EDGE
    return max(-_EDGE, min(_EDGE, math.log(p / (1 - p))))


def _probability(log_odds: float) -> float:
    return 1 / (1 + math.exp(-log_odds))


@dataclass(frozen=True)
class Step:
    """One row of a waterfall: the log-odds moved from ``start`` to ``end``.

    ``channels`` names how the source reached us (one per attribution merged
    into the row: "direct", "via reuters"); ``notes`` are the scorer's
    reasons for a merged, zero or discounted weight.
    """

    label: str
    kind: StepKind
    start: float
    end: float
    channels: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def change(self) -> float:
        return self.end - self.start


def _channel(via: Sequence[str]) -> str:
    return "via " + " → ".join(via) if via else "direct"


# The scorer's notes on the channels of one original source say this.
_ECHO = "same original source"


def waterfall_steps(
    evidence: Sequence[Mapping[str, Any]],
    prior: float,
    final: float,
    adjustment: str = "evidence cap",
) -> list[Step]:
    """The prior, one row per independent piece of evidence, then the result.

    Attributions of one original source with one stance (echoes and relays)
    are one row whose channels list them; their weights sum (the scorer gives
    the duplicates 0). Neutral statements are rows of no width. When
    ``final`` is not the prior plus the weights (the evidence cap, or the
    share of a question's answers), an "adjust" row shows the difference.

    Parameters
    ----------
    evidence : sequence of mappings
        A Score document's ``evidence``.
    prior : float
        The claim's prior probability, in (0, 1).
    final : float
        The confidence the rows end at (for a resolved claim, its forecast).
    adjustment : str
        The label of the "adjust" row: what besides the weights moved the result.
    """
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for e in evidence:
        groups.setdefault((e["source"], e["stance"]), []).append(e)
    level = _logit(prior)
    steps = [Step(f"prior {percent(prior)}", "prior", 0.0, level)]
    for (source, stance), members in groups.items():
        weight = sum(float(e["weight"]) for e in members)
        channels = tuple(_channel(e["via"]) for e in members)
        notes = tuple(
            dict.fromkeys(
                part
                for e in members
                for part in (e.get("note") or "").split("; ")
                if part and _ECHO not in part
            )
        )
        if any(_ECHO in (e.get("note") or "") for e in members):
            notes = (f"one original source: its {len(members)} channels count once", *notes)
        kind: StepKind = "neutral" if stance == "neutral" else stance  # type: ignore[assignment]
        steps.append(Step(source, kind, level, level + weight, channels, notes))
        level += weight
    end = _logit(final)
    if abs(end - level) > 1e-3:
        steps.append(Step(adjustment, "adjust", level, end))
    steps.append(Step(f"confidence {percent(final)}", "result", 0.0, end))
    return steps


# Where the axis of a waterfall may be ticked, as probabilities.
_TICKS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def waterfall_domain(steps: Sequence[Step]) -> tuple[float, float]:
    """The log-odds range every row of one waterfall is drawn against."""
    values = [v for s in steps for v in (s.start, s.end)]
    return min(min(values), -1.0) - 0.3, max(max(values), 1.0) + 0.3


def step_bar(step: Step, domain: tuple[float, float], width: int = 320) -> Markup:
    """One waterfall row: a bar from the log-odds before to after, 0 marked."""
    lo, hi = domain
    h = 18

    def x(v: float) -> float:
        return (v - lo) / (hi - lo) * width

    a, b = sorted((x(step.start), x(step.end)))
    zero = x(0.0)
    body = f'<line class="zero" x1="{_num(zero)}" y1="0" x2="{_num(zero)}" y2="{h}"/>'
    if step.kind == "neutral" or b - a < 1.5:
        body += f'<circle class="step {step.kind}" cx="{_num(x(step.end))}" cy="9" r="4"/>'
    else:
        body += (
            f'<rect class="step {step.kind}" x="{_num(a)}" y="3" width="{_num(b - a)}" '
            f'height="12" rx="2"/>'
        )
    if step.kind in ("prior", "result"):
        what = f"{step.label}: log-odds {step.end:+.2f}"
    elif step.kind == "neutral":
        what = f"{step.label}: neutral, no weight"
    else:
        what = f"{step.label}: {step.change:+.2f} log-odds, to {percent(_probability(step.end))}"
    return _svg(width, h, what, body, "waterfall-row")


def waterfall_axis(domain: tuple[float, float], width: int = 320) -> Markup:
    """The probability scale under a waterfall's rows (its positions are log-odds)."""
    lo, hi = domain
    h = 20
    body = f'<line class="axis" x1="0" y1="2" x2="{width}" y2="2"/>'
    for p in _TICKS:
        v = _logit(p)
        if lo <= v <= hi:
            x = (v - lo) / (hi - lo) * width
            body += (
                f'<line class="axis" x1="{_num(x)}" y1="2" x2="{_num(x)}" y2="6"/>'
                f'<text x="{_num(x)}" y="17" text-anchor="middle">{percent(p)}</text>'
            )
    return _svg(width, h, "probability scale (positions are log-odds)", body, "waterfall-axis")


def reliability_plot(
    reliability: Mapping[str, Any], bands: Sequence[tuple[str, float, float]], width: int = 320
) -> Markup:
    """A source's reliability: its mean and interval on 0-1 over the grade bands.

    Parameters
    ----------
    reliability : mapping
        A Source document's ``reliability`` (``mean``, ``interval``, ``grade``).
    bands : sequence of (letter, low, high)
        Where each Admiralty grade's letter applies on the mean's scale.
    """
    h = 46
    low, high = reliability["interval"]
    mean = reliability["mean"]
    body = ""
    for letter, a, b in bands:
        body += (
            f'<rect class="grade-band g{escape(letter)}" x="{_num(a * width)}" y="0" '
            f'width="{_num((b - a) * width)}" height="24"/>'
            f'<text class="band-letter" x="{_num((a + b) / 2 * width)}" y="15" '
            f'text-anchor="middle">{escape(letter)}</text>'
        )
    body += (
        f'<rect class="band" x="{_num(low * width)}" y="26" '
        f'width="{_num(max((high - low) * width, 1))}" height="8" rx="3"/>'
        f'<rect class="mark" x="{_num(min(max(mean * width - 1.5, 0), width - 3))}" y="22" '
        f'width="3" height="16"/>'
    )
    for p in (0, 0.25, 0.5, 0.75, 1):
        anchor = "start" if p == 0 else "end" if p == 1 else "middle"
        body += f'<text x="{_num(p * width)}" y="46" text-anchor="{anchor}">{percent(p)}</text>'
    label = (
        f"reliability {percent(mean)} (grade {reliability['grade']}), "
        f"90 % interval {percent(low)} to {percent(high)}"
    )
    return _svg(width, h, label, body, "reliability")


@dataclass(frozen=True)
class Point:
    """One point of a line over time: ``value`` in [0, 1] with its interval."""

    value: float
    low: float
    high: float
    title: str


def line_over_time(points: Sequence[Point], width: int = 320, height: int = 60) -> Markup:
    """Values in [0, 1] in order (oldest first), evenly spaced, with their interval band.

    Each point's ``title`` (what changed at that step) is its tooltip.
    """
    if not points:
        return Markup("")
    n = len(points)
    pad = 5

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return pad + (height - 2 * pad) * (1 - v)

    upper = [f"{_num(x(i))},{_num(y(p.high))}" for i, p in enumerate(points)]
    lower = [f"{_num(x(i))},{_num(y(p.low))}" for i, p in reversed(list(enumerate(points)))]
    line = " ".join(f"{_num(x(i))},{_num(y(p.value))}" for i, p in enumerate(points))
    body = (
        f'<line class="axis" x1="0" y1="{_num(y(0.5))}" x2="{width}" y2="{_num(y(0.5))}"/>'
        f'<polygon class="band" points="{" ".join(upper + lower)}"/>'
        f'<polyline class="line" points="{line}"/>'
    )
    for i, p in enumerate(points):
        body += (
            f'<circle class="point" cx="{_num(x(i))}" cy="{_num(y(p.value))}" r="3.5">'
            f"<title>{escape(p.title)}</title></circle>"
        )
    steps = "; ".join(f"{p.title}: {percent(p.value)}" for p in points)
    return _svg(width, height, steps, body, "over-time")


def calibration_diagram(bins: Sequence[Mapping[str, Any]], size: int = 300) -> Markup:
    """Observed frequency against predicted confidence, one circle per bin.

    A circle's area is proportional to its bin's count (which is also printed
    beside it); the diagonal is perfect calibration.

    Parameters
    ----------
    bins : sequence of mappings
        A calibration document's ``bins`` (``predicted``, ``observed``, ``count``).
    """
    pad = 34
    inner = size - pad - 10

    def x(v: float) -> float:
        return pad + v * inner

    def y(v: float) -> float:
        return 10 + (1 - v) * inner

    body = (
        f'<rect class="frame" x="{pad}" y="10" width="{inner}" height="{inner}"/>'
        f'<line class="diagonal" x1="{_num(x(0))}" y1="{_num(y(0))}" '
        f'x2="{_num(x(1))}" y2="{_num(y(1))}"/>'
    )
    for p in (0, 0.25, 0.5, 0.75, 1):
        body += (
            f'<text x="{_num(x(p))}" y="{size - 8}" text-anchor="middle">{percent(p)}</text>'
            f'<text x="{pad - 4}" y="{_num(y(p) + 4)}" text-anchor="end">{percent(p)}</text>'
        )
    largest = max((b["count"] for b in bins), default=1) or 1
    described = []
    for b in bins:
        if not b["count"]:
            continue
        r = 3 + 11 * math.sqrt(b["count"] / largest)
        cx, cy = x(b["predicted"]), y(b["observed"])
        what = f"predicted {percent(b['predicted'])}, observed {percent(b['observed'])}"
        described.append(f"{what} ({b['count']} claims)")
        body += (
            f'<circle class="bin" cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(r)}">'
            f"<title>{escape(described[-1])}</title></circle>"
            f'<text class="count" x="{_num(cx + r + 2)}" y="{_num(cy + 4)}">{b["count"]}</text>'
        )
    label = "reliability diagram: " + ("; ".join(described) or "no resolved claims")
    return _svg(size, size, label, body, "calibration")


def _figure_bounds(value: Mapping[str, float]) -> tuple[float | None, float | None]:
    if "point" in value:
        return value["point"], value["point"]
    return value.get("low"), value.get("high")


def value_text(value: Mapping[str, float], unit: str = "") -> str:
    """A claim's ``value`` as a person writes it: "1,500 troops", "3,000-5,000 troops"
    (an en dash between), "at least 10,000 troops", "at most 500 troops"."""
    if "point" in value:
        return figure_text(value["point"], unit)
    if "low" in value and "high" in value:
        return f"{figure_text(value['low'])}\u2013{figure_text(value['high'], unit)}"
    if "low" in value:
        return f"at least {figure_text(value['low'], unit)}"
    return f"at most {figure_text(value['high'], unit)}"


def figure_axis(
    answers: Sequence[Mapping[str, Any]],
    estimate: Mapping[str, Any],
    scale: str = "log",
    width: int = 640,
    truth: float | None = None,
) -> Markup:
    """A numeric question's claimed figures on one axis, with the estimate.

    Each answer is a dot (a point), a bar (a range) or a bar running off the
    axis (at least / at most), labelled with its confidence; the estimate's
    median is a line over its 90 % interval's band, and its camps (modes)
    are triangles whose size is their weight.

    Parameters
    ----------
    answers : sequence of mappings
        Claim documents with ``value`` (contract 1.1) and ``score``.
    estimate : mapping
        The question's ``estimate`` (``median``, ``interval``, ``modes``).
    scale : {"log", "linear"}
        The question's scale; on "log" every figure is positive.
    truth : float, optional
        The value the question was resolved with: a marked line of its own.
    """
    figures = [v for a in answers for v in _figure_bounds(a["value"]) if v is not None]
    figures += [estimate["median"], *estimate["interval"]]
    figures += [] if truth is None else [truth]
    figures += [m["value"] for m in estimate.get("modes", [])]

    def t(v: float) -> float:
        return math.log10(v) if scale == "log" else v

    lo, hi = t(min(figures)), t(max(figures))
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.08 * span, hi + 0.08 * span
    pad = 12
    rows = len(answers)
    height = 58 + 18 * rows

    def x(v: float) -> float:
        return pad + (t(v) - lo) / (hi - lo) * (width - 2 * pad)

    low, high = estimate["interval"]
    body = (
        f'<rect class="band" x="{_num(x(low))}" y="4" width="{_num(max(x(high) - x(low), 1))}" '
        f'height="{height - 30}"/>'
        f'<line class="median" x1="{_num(x(estimate["median"]))}" y1="2" '
        f'x2="{_num(x(estimate["median"]))}" y2="{height - 26}"/>'
    )
    if truth is not None:
        body += (
            f'<line class="truth" x1="{_num(x(truth))}" y1="2" '
            f'x2="{_num(x(truth))}" y2="{height - 26}"/>'
        )
    for m in estimate.get("modes", []):
        size = 3 + 6 * math.sqrt(max(m["weight"], 0))
        cx = x(m["value"])
        body += (
            f'<polygon class="mode" points="{_num(cx - size)},{height - 26} '
            f'{_num(cx + size)},{height - 26} {_num(cx)},{_num(height - 26 - size)}"/>'
        )
    for i, a in enumerate(answers):
        y = 16 + 18 * i
        first, last = _figure_bounds(a["value"])
        start = x(first) if first is not None else pad
        end = x(last) if last is not None else width - pad
        confidence = (a.get("score") or {}).get("confidence", 0.0)
        if first is not None and first == last:
            body += f'<circle class="answer" cx="{_num(start)}" cy="{y}" r="4"/>'
        else:
            body += (
                f'<rect class="answer" x="{_num(start)}" y="{y - 3}" '
                f'width="{_num(max(end - start, 2))}" height="6" rx="3"/>'
            )
        anchor = "end" if end > width * 0.75 else "start"
        label_x = start - 6 if anchor == "end" else end + 6
        body += (
            f'<text x="{_num(label_x)}" y="{y + 4}" text-anchor="{anchor}">'
            f"{escape(a['id'])} {percent(confidence)}</text>"
        )
    axis_y = height - 20
    body += f'<line class="axis" x1="{pad}" y1="{axis_y}" x2="{width - pad}" y2="{axis_y}"/>'
    for v in sorted({min(figures), estimate["median"], max(figures)}):
        body += (
            f'<text x="{_num(x(v))}" y="{axis_y + 14}" text-anchor="middle">{figure_text(v)}</text>'
        )
    resolved = "" if truth is None else f"resolved at {figure_text(truth)}; "
    label = (
        f"{resolved}estimate {figure_text(estimate['median'])}, "
        f"90 % interval {figure_text(low)} to {figure_text(high)}; "
        + "; ".join(
            f"{a['id']}: {percent((a.get('score') or {}).get('confidence', 0))}" for a in answers
        )
    )
    return _svg(width, height, label, body, "figures")
