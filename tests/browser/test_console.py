"""The analyst console in headless Chromium over a real server holding the README's
example (examples/ever-given-2021-03.json): what an analyst sees and does."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Page
from tests.live_server import Client


def test_claim_list_searches_and_filters(desktop: Page, server: Client) -> None:
    page = desktop.open("/")
    rows = page.locator("table.claims tbody tr")
    assert rows.count() == 6
    desktop.shot("claims")
    page.get_by_label("Text").fill("refloat")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"q=refloat"))
    assert rows.count() == 3
    page.get_by_label("Status").select_option("open")
    page.get_by_label("Confidence ≥ %").fill("45")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"min_confidence=45"))
    ids = rows.locator(".sub .mono").all_inner_texts()
    assert ids == ["ever-given-partly-refloated"]
    # Each row: a confidence bar with its interval, the ICD 203 word, an Admiralty code.
    row = rows.first
    assert row.locator("svg.confidence rect.band").count() == 1
    assert row.locator("[data-label=Estimative]").inner_text() == "roughly even chance"
    assert re.fullmatch(r"[A-F][1-6]", row.locator("[data-label=Code]").inner_text())


def test_the_filtered_list_downloads_as_a_spreadsheet_file(desktop: Page, server: Client) -> None:
    page = desktop.open("/?q=refloat")
    shown = page.locator("table.claims tbody tr .sub .mono").all_inner_texts()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    assert download.value.suggested_filename == "credence-claims.csv"
    body = Path(download.value.path()).read_bytes()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert sorted(row["id"] for row in rows) == sorted(shown) and len(rows) == 3
    assert all(0 <= float(row["confidence"]) <= 1 for row in rows)


def test_an_echoed_statement_is_one_bar_in_the_waterfall(desktop: Page, server: Client) -> None:
    page = desktop.open("/")
    page.get_by_role("link", name=re.compile("ran aground in the Suez Canal")).click()
    page.wait_for_url(re.compile("/claims/ever-given-blocks-canal"))
    # The canal authority, relayed by Reuters and by AP: one row, one bar, two channels.
    echoed = page.locator("table.waterfall tr.supports", has_text="eg-sca")
    assert echoed.count() == 1
    assert echoed.locator("svg rect.step").count() == 1
    assert echoed.locator(".channels li").all_inner_texts() == ["via reuters", "via ap"]
    assert "count once" in echoed.inner_text()
    assert page.locator("table.waterfall tr.supports").count() == 2  # eg-sca and bsm
    # The evidence rows sum to the claim's move from the prior.
    score = server("GET", "/v1/claims/ever-given-blocks-canal").body["score"]
    assert page.locator(".score .big").inner_text() == f"{round(score['confidence'] * 100)} %"
    desktop.shot("claim")


def test_neutral_statements_and_refutations_show_in_the_waterfall(
    desktop: Page, server: Client
) -> None:
    page = desktop.open("/claims/ever-given-wind")
    neutral = page.locator("table.waterfall tr.neutral", has_text="bsm")
    assert neutral.count() == 1
    assert neutral.locator("svg circle.step.neutral").count() == 1
    page = desktop.open("/claims/ever-given-blackout")
    assert page.locator("table.waterfall tr.refutes", has_text="bsm").count() == 1


def test_resolving_a_claim_changes_its_status_and_history(desktop: Page, server: Client) -> None:
    page = desktop.open("/claims/ever-given-refloat-within-week")
    history = page.locator("ol.history li")
    before = history.count()
    assert page.locator(".sub .status").inner_text() == "open"
    page.get_by_label("confirmed").check()
    page.get_by_label("Note").fill("refloated on 29 March 2021")
    page.get_by_role("button", name="Resolve").click()
    page.wait_for_url(re.compile("done=resolved"))
    assert page.get_by_role("status").inner_text() == "Claim resolved."
    assert page.locator(".sub .status").inner_text() == "confirmed"
    assert history.count() == before + 1
    assert "resolved confirmed" in history.first.inner_text()
    assert server("GET", "/v1/claims/ever-given-refloat-within-week").body["status"] == (
        "confirmed"
    )
    desktop.shot("claim-resolved")


def test_adding_an_attribution_rescores_the_claim(desktop: Page, server: Client) -> None:
    before = server("GET", "/v1/claims/ever-given-blackout").body["score"]["confidence"]
    page = desktop.open("/claims/ever-given-blackout")
    page.get_by_label("Source id").fill("gac")
    page.get_by_label("Stance").select_option("refutes")
    page.get_by_role("button", name="Add and rescore").click()
    page.wait_for_url(re.compile("done=attribution"))
    after = server("GET", "/v1/claims/ever-given-blackout").body["score"]["confidence"]
    assert after < before
    assert page.locator(".score .big").inner_text() == f"{round(after * 100)} %"
    # A bad value is refused naming the field, on the page.
    page.get_by_label("Source id").fill("gac")
    page.get_by_label(re.compile("Certainty")).fill("7")
    page.get_by_role("button", name="Add and rescore").click()
    assert "certainty" in page.locator(".error").first.inner_text()


def test_a_question_sets_its_answers_side_by_side(desktop: Page, server: Client) -> None:
    page = desktop.open("/claims/ever-given-refloat-weeks")
    page.get_by_role("link", name=re.compile("ever-given-refloat-time")).first.click()
    page.wait_for_url(re.compile("/questions/ever-given-refloat-time"))
    answers = page.locator("article.answer")
    assert answers.count() == 2
    boxes = [answers.nth(i).bounding_box() for i in range(2)]
    assert boxes[0] and boxes[1] and boxes[0]["y"] == boxes[1]["y"]  # side by side
    desktop.shot("question")


def test_the_questions_page_leads_to_each_question(desktop: Page, server: Client) -> None:
    page = desktop.open("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Questions").click()
    page.wait_for_url(re.compile("/questions$"))
    row = page.locator("table.questions tbody tr", has_text="ever-given-refloat-time")
    assert row.count() == 1
    # The answer that leads (or was confirmed), with its confidence.
    stands = row.locator("[data-label='Where it stands']")
    assert re.search(r"(Leading|Confirmed): .+ \(\S+ %\)", stands.inner_text())
    assert stands.get_by_role("link").get_attribute("href").startswith("/claims/ever-given-refloat")
    desktop.shot("questions")
    row.get_by_role("link").first.click()
    page.wait_for_url(re.compile("/questions/ever-given-refloat-time"))
    assert page.locator("article.answer").count() == 2


def test_a_source_shows_its_reliability_record_and_claims(desktop: Page, server: Client) -> None:
    page = desktop.open("/claims/ever-given-blocks-canal")
    page.locator("table.waterfall").get_by_role("link", name="eg-sca").click()
    page.wait_for_url(re.compile("/sources/eg-sca"))
    assert page.locator("h1 .grade").inner_text() == "C"
    assert page.locator("svg.reliability rect.band").count() == 1
    assert re.search(r"\d+ confirmed · \d+ refuted · \d+ pending", page.inner_text(".record"))
    claims = page.locator("table.claims tbody tr")
    assert claims.count() == 3
    assert page.get_by_role("link", name="anon:canal-officials").count() == 1  # its group
    desktop.shot("source")


def test_defining_a_source(desktop: Page, server: Client) -> None:
    page = desktop.open("/sources")
    page.get_by_role("link", name="Define a source").click()
    page.get_by_label("Id").fill("marinetraffic")
    page.get_by_label("Name").fill("MarineTraffic")
    page.get_by_label("Admiralty grade").check()
    page.locator("select[name=prior_grade]").select_option("B")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile("/sources/marinetraffic"))
    assert page.locator("h1").inner_text().startswith("MarineTraffic")
    assert server("GET", "/v1/sources/marinetraffic").body["prior"] == {"grade": "B"}


def test_calibration_page_draws_the_reliability_diagram(desktop: Page, server: Client) -> None:
    for claim_id in ("ever-given-refloat-weeks", "ever-given-blackout"):
        response = server("POST", f"/v1/claims/{claim_id}/resolution", {"outcome": "refuted"})
        assert response.status in (200, 409), response.body
    page = desktop.open("/calibration")
    assert page.locator("svg.calibration circle.bin").count() >= 1
    assert re.fullmatch(r"0\.\d{3}", page.locator("dl.metrics dd.mono").first.inner_text())
    desktop.shot("calibration")
    page.get_by_label("Tag").fill("cause")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile("tag=cause"))
    counted = page.locator("dl.metrics dd").first.inner_text()
    assert counted.startswith("1 ")  # only the blackout claim is tagged "cause"


def test_a_job_starts_runs_and_says_what_it_changed(desktop: Page, server: Client) -> None:
    # A record to learn from (the calibration test resolves the same claim the same way).
    response = server(
        "POST", "/v1/claims/ever-given-refloat-weeks/resolution", {"outcome": "refuted"}
    )
    assert response.status in (200, 409), response.body
    page = desktop.open("/jobs")
    page.get_by_role("button", name="Start a re-scoring job").click()
    page.wait_for_url(re.compile("/jobs/[0-9a-f]+"))
    # The page refreshes itself while the job runs.
    expect(page.locator("#job-status")).to_have_text(
        re.compile("^(succeeded|failed)$"), timeout=60_000
    )
    assert page.locator("#job-status").inner_text() == "succeeded"
    assert page.get_by_role("heading", name="Claims it moved most").count() == 1
    assert page.get_by_role("heading", name="Sources it moved most").count() == 1
    desktop.shot("job")
    # A source it moved lists the job among its reliability across jobs.
    job_id = page.url.rsplit("/", 1)[-1]
    moved = page.locator("section", has=page.get_by_role("heading", name="Sources it moved most"))
    moved.locator("tbody a").first.click()
    page.wait_for_url(re.compile("/sources/"))
    assert page.locator("ol.history li", has_text=f"job {job_id[:8]}").count() == 1
    desktop.open("/jobs")
    assert page.locator("table.jobs tbody tr").count() >= 1
    desktop.shot("jobs")


def test_docs_render_the_operations_offline(desktop: Page, server: Client) -> None:
    page = desktop.open("/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/v1/claims" in paths and "/v1/rescore" in paths
    desktop.shot("docs", full_page=False)


def test_phone_width_pages_fit_the_screen(phone: Page, server: Client) -> None:
    pages = [
        ("/", "claims-phone"),
        ("/claims/ever-given-blocks-canal", "claim-phone"),
        ("/questions", "questions-phone"),
        ("/jobs", "jobs-phone"),
    ]
    for path, name in pages:
        page = phone.open(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        phone.shot(name)


def test_keyboard_reaches_content_first(desktop: Page, server: Client) -> None:
    page = desktop.open("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_a_key_is_entered_once_and_kept_from_scripts(browser: Any, keyed_server: Client) -> None:
    page = Page(browser, keyed_server.base, {"width": 1280, "height": 900})
    try:
        tab = page.open("/sources")
        tab.wait_for_url(re.compile("/login"))
        tab.get_by_label("Key").fill(keyed_server.key or "")
        tab.get_by_role("button", name="Use this key").click()
        tab.wait_for_url(re.compile("/sources$"))
        assert "role: read" in tab.inner_text("header")
        assert keyed_server.key not in tab.url
        cookie = next(c for c in page.context.cookies() if c["name"] == "credence_key")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["expires"] == -1  # a session cookie
        assert "credence_key" not in tab.evaluate("document.cookie")
        # A read key: no job button, and other pages open without asking again.
        page.open("/jobs")
        assert tab.get_by_role("button", name="Start a re-scoring job").count() == 0
        assert not page.problems, page.problems
    finally:
        page.close()
