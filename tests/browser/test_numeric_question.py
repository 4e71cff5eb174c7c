"""A numeric question's page in Chromium: figures as people write them, the estimate
with its unit, and once resolved, the true value said and marked.

A server of its own (the module's), so that the example's pages stay as the other
browser tests expect them."""

from __future__ import annotations

from tests.browser.conftest import Page
from tests.live_server import Client
from tests.service.helpers import figure_answers


def test_a_numeric_question_reads_as_figures(desktop: Page, server: Client) -> None:
    question = {"text": "How many troops?", "kind": "numeric", "unit": "troops"}
    assert server("PUT", "/v1/questions/troops", question).status == 200
    figures = [("reuters", {"point": 1500.0}), ("ap", {"low": 8000.0, "high": 12000.0})]
    claims = figure_answers("troops", figures)
    assert server("POST", "/v1/claims", {"claims": claims}).status == 200
    page = desktop.open("/questions/troops")
    shown = page.locator("article.answer .figure").all_inner_texts()
    assert sorted(shown) == ["1,500 troops", "8,000\u201312,000 troops"]
    assert page.locator("svg.figures line.truth").count() == 0
    assert server("POST", "/v1/questions/troops/resolution", {"value": 11000}).status == 200
    page = desktop.open("/questions/troops")
    assert "Resolved: 11,000 troops" in page.locator("main").inner_text()
    assert page.locator("svg.figures line.truth").count() == 1
    desktop.shot("numeric-question")
