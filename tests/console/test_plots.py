"""The console's SVG plots, from API-shaped documents."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from service.console import plots

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    # Inline SVG in HTML carries no namespace; add it so the XML parser reads it.
    return ET.fromstring(
        str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    )


def evidence(source: str, weight: float, stance: str = "supports", via=(), note=None) -> dict:
    return {
        "source": source,
        "via": list(via),
        "stance": stance,
        "reliability": 0.7,
        "effective_reliability": 0.7,
        "weight": weight,
        "note": note,
    }


def logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_echoes_of_one_source_are_one_step_listing_their_channels() -> None:
    items = [
        evidence(
            "eg-sca",
            0.59,
            via=["reuters"],
            note="counted once with evidence #2 (same original source)",
        ),
        evidence("eg-sca", 0.0, via=["ap"], note="same original source as evidence #1"),
        evidence("bsm", 1.1),
    ]
    steps = plots.waterfall_steps(items, 0.5, logistic(1.69))
    kinds = [s.kind for s in steps]
    assert kinds == ["prior", "supports", "supports", "result"]
    echo = steps[1]
    assert echo.label == "eg-sca"
    assert echo.channels == ("via reuters", "via ap")
    assert echo.change == pytest.approx(0.59)
    assert echo.notes == ("one original source: its 2 channels count once",)
    # Steps chain: each starts where the last ended.
    assert steps[2].start == pytest.approx(steps[1].end)
    assert steps[-1].end == pytest.approx(1.69)


def test_neutral_statements_are_steps_of_no_width_and_discounts_keep_their_note() -> None:
    items = [
        evidence("gov-a", 0.4, note="correlated with other gov:a sources: counts 0.62"),
        evidence("pentagon", 0.0, stance="neutral"),
        evidence("blog", -0.3, stance="refutes"),
    ]
    steps = plots.waterfall_steps(items, 0.3, logistic(math.log(0.3 / 0.7) + 0.1))
    neutral = next(s for s in steps if s.kind == "neutral")
    assert neutral.change == 0
    assert steps[1].notes == ("correlated with other gov:a sources: counts 0.62",)
    refute = next(s for s in steps if s.kind == "refutes")
    assert refute.change == pytest.approx(-0.3)
    assert 'class="step neutral"' in plots.step_bar(neutral, plots.waterfall_domain(steps))


def test_a_result_away_from_prior_plus_weights_adds_an_adjust_step() -> None:
    items = [evidence("a", 3.0), evidence("b", 3.0)]
    steps = plots.waterfall_steps(items, 0.5, logistic(4.0))  # capped below 6
    adjust = [s for s in steps if s.kind == "adjust"]
    assert len(adjust) == 1
    assert adjust[0].change == pytest.approx(-2.0)
    assert not [s for s in plots.waterfall_steps(items, 0.5, logistic(6.0)) if s.kind == "adjust"]


def test_step_bars_span_their_log_odds_on_a_shared_domain() -> None:
    domain = (-2.0, 2.0)
    up = plots.Step("a", "supports", 0.0, 1.0)
    rect = parse(plots.step_bar(up, domain, width=400)).find(f"{SVG}rect")
    assert rect is not None
    assert float(rect.get("x", "")) == pytest.approx(200)
    assert float(rect.get("width", "")) == pytest.approx(100)
    down = plots.Step("b", "refutes", 1.0, -1.0)
    rect = parse(plots.step_bar(down, domain, width=400)).find(f"{SVG}rect")
    assert rect is not None
    assert float(rect.get("x", "")) == pytest.approx(100)
    assert float(rect.get("width", "")) == pytest.approx(200)


def test_confidence_bar_places_mark_and_band_and_says_them() -> None:
    svg = parse(plots.confidence_bar(0.84, [0.58, 0.96], width=100))
    band = svg.find(f"{SVG}rect[@class='band']")
    assert band is not None
    assert float(band.get("x", "")) == pytest.approx(58)
    assert float(band.get("width", "")) == pytest.approx(38)
    assert svg.get("aria-label") == "84 %, 90 % interval 58 % to 96 %"


def test_text_is_escaped() -> None:
    step = plots.Step('<script>alert("x")</script>', "supports", 0.0, 1.0)
    markup = str(plots.step_bar(step, (-2, 2)))
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup


def test_calibration_diagram_draws_one_circle_per_nonempty_bin_with_its_count() -> None:
    bins = [
        {"lower": 0.0, "upper": 0.5, "predicted": 0.3, "observed": 0.25, "count": 8},
        {"lower": 0.5, "upper": 0.6, "predicted": 0.55, "observed": 0.0, "count": 0},
        {"lower": 0.6, "upper": 1.0, "predicted": 0.8, "observed": 0.9, "count": 2},
    ]
    svg = parse(plots.calibration_diagram(bins, size=300))
    circles = svg.findall(f"{SVG}circle")
    assert len(circles) == 2
    big, small = (float(c.get("r", "")) for c in circles)
    assert big > small
    counts = [t.text for t in svg.findall(f"{SVG}text[@class='count']")]
    assert counts == ["8", "2"]
    # Higher observed is drawn higher (smaller y).
    assert float(circles[1].get("cy", "")) < float(circles[0].get("cy", ""))


def test_empty_calibration_says_so() -> None:
    assert "no resolved claims" in str(plots.calibration_diagram([]))


def test_reliability_plot_marks_mean_inside_interval_over_grade_bands() -> None:
    bands = [
        ("E", 0.0, 0.4),
        ("D", 0.4, 0.575),
        ("C", 0.575, 0.725),
        ("B", 0.725, 0.875),
        ("A", 0.875, 1.0),
    ]
    svg = parse(
        plots.reliability_plot(
            {"mean": 0.65, "interval": [0.41, 0.87], "grade": "C"}, bands, width=100
        )
    )
    letters = [t.text for t in svg.findall(f"{SVG}text[@class='band-letter']")]
    assert letters == ["E", "D", "C", "B", "A"]
    band = svg.find(f"{SVG}rect[@class='band']")
    mark = svg.find(f"{SVG}rect[@class='mark']")
    assert band is not None and mark is not None
    assert float(band.get("x", "")) == pytest.approx(41)
    assert float(mark.get("x", "")) == pytest.approx(65 - 1.5)


def test_line_over_time_has_a_point_per_step_titled_with_what_changed() -> None:
    points = [
        plots.Point(0.37, 0.2, 0.6, "created"),
        plots.Point(0.23, 0.07, 0.44, "attributions: gac"),
    ]
    svg = parse(plots.line_over_time(points, width=100, height=50))
    circles = svg.findall(f"{SVG}circle")
    assert [c.find(f"{SVG}title").text for c in circles] == ["created", "attributions: gac"]  # type: ignore[union-attr]
    line = svg.find(f"{SVG}polyline")
    assert line is not None
    ys = [float(xy.split(",")[1]) for xy in line.get("points", "").split()]
    assert ys[1] > ys[0]  # lower confidence is drawn lower
    assert plots.line_over_time([]) == ""


@pytest.mark.parametrize(
    ("p", "text"), [(0.0, "0 %"), (0.004, "<1 %"), (0.5, "50 %"), (0.996, ">99 %"), (1.0, "100 %")]
)
def test_percent(p: float, text: str) -> None:
    assert plots.percent(p) == text


def test_every_plot_has_a_title_for_screen_readers() -> None:
    for markup in (
        plots.confidence_bar(0.5, [0.4, 0.6]),
        plots.waterfall_axis((-3, 3)),
        plots.calibration_diagram([]),
    ):
        assert re.search(r'role="img" aria-label="[^"]+"', str(markup))


def test_figure_axis_places_claimed_figures_and_the_estimate_on_one_axis() -> None:
    answers = [
        {"id": "n-1500", "value": {"point": 1500}, "score": {"confidence": 0.6}},
        {"id": "n-range", "value": {"low": 1000, "high": 2000}, "score": {"confidence": 0.2}},
        {"id": "n-atleast", "value": {"low": 10000}, "score": {"confidence": 0.1}},
    ]
    estimate = {"median": 1600, "interval": [900, 12000], "modes": [{"value": 1500, "weight": 0.7}]}
    svg = parse(plots.figure_axis(answers, estimate, "log", width=600))
    point = svg.find(f"{SVG}circle[@class='answer']")
    bars = svg.findall(f"{SVG}rect[@class='answer']")
    assert point is not None and len(bars) == 2
    # On a log axis 1,500 lies inside the 1,000-2,000 bar; "at least" runs to the edge.
    ranged, open_ended = bars
    px = float(point.get("cx", ""))
    assert (
        float(ranged.get("x", ""))
        < px
        < float(ranged.get("x", "")) + float(ranged.get("width", ""))
    )
    assert float(open_ended.get("x", "")) + float(open_ended.get("width", "")) == pytest.approx(588)
    assert len(svg.findall(f"{SVG}polygon[@class='mode']")) == 1
    assert "estimate 1,600" in svg.get("aria-label", "")
