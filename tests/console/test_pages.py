"""The console's pages through Flask's test client: what they show, what they refuse.

The browser tests (tests/browser) drive the same pages in Chromium; these check
the server's side of each rule on both database backends, without a browser.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.console.guard import CSRF_COOKIE, KEY_COOKIE
from service.console.plots import percent
from service.web.auth import Role
from tests.service.helpers import figure_answers, row_counts


@pytest.fixture
def stored(client: FlaskClient, scenario: dict[str, Any]) -> dict[str, Any]:
    for sid, source in scenario["sources"].items():
        assert client.put(f"/v1/sources/{sid}", json=source).status_code == 200
    response = client.post("/v1/claims", json={"claims": scenario["claims"]})
    assert response.status_code == 200, response.get_json()
    return scenario


def page(client: FlaskClient, path: str, status: int = 200, **kwargs: Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def waterfall_rows(html: str) -> list[tuple[str, str]]:
    """(kind, source) of each evidence row of a claim page's waterfall."""
    table = html.split('<table class="waterfall">', 1)[1].split("</table>", 1)[0]
    return re.findall(
        r'<tr class="(supports|refutes|neutral)">\s*<th scope="row">\s*<span class="label">'
        r'<a href="[^"]*">([^<]+)</a>',
        table,
    )


def test_an_empty_store_says_what_to_do_next(client: FlaskClient) -> None:
    for path, hint in [
        ("/", "No claims are stored yet"),
        ("/calibration", "No resolved claim matches"),
        ("/jobs", "No job has run yet"),
    ]:
        assert hint in page(client, path)


def test_pages_send_a_policy_that_runs_only_the_services_own_scripts(
    client: FlaskClient,
) -> None:
    for path in ("/", "/docs", "/login"):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'none'" in policy
        assert "unsafe" not in policy
    html = page(client, "/")
    assert "<script>" not in html and "style=" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the page loads from elsewhere"


def test_docs_render_from_files_the_service_serves(client: FlaskClient) -> None:
    html = page(client, "/docs")
    # Inline data: (the empty icon) is fetched from nowhere; every other asset is ours.
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', html) if not a.startswith("data:")]
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.data) > 100
    spec = re.search(r'data-spec="([^"]+)"', html)
    assert spec and client.get(spec.group(1)).get_json()["paths"]


def test_claim_list_shows_confidence_word_and_admiralty_code(
    client: FlaskClient, stored: dict[str, Any]
) -> None:
    html = page(client, "/")
    for c in stored["claims"]:
        assert f'href="/claims/{c["id"]}"' in html
    detail = client.get("/v1/claims/kp-troops-in-russia").get_json()["score"]
    row = html.split('href="/claims/kp-troops-in-russia"', 1)[1].split("</tr>", 1)[0]
    assert detail["estimative"] in row
    code = re.search(r'data-label="Code" class="mono">([A-F][1-6])<', row)
    assert code and code.group(1) == detail["admiralty"]


def test_claim_list_filters_are_the_apis(client: FlaskClient, stored: dict[str, Any]) -> None:
    html = page(client, "/?tag=troops")
    assert "/claims/kp-sof-1500-shipped" in html
    assert "/claims/kp-second-deployment" not in html
    html = page(client, "/?min_confidence=99&max_confidence=100")
    assert "No claim matches these filters" in html
    html = page(client, "/?status=maybe")
    assert "status" in html and "Must be one of" in html
    html = page(client, "/?min_confidence=150")  # the form's bounds are percents
    assert "from 0 to 100 (%)" in html and "less than or equal to 1" not in html


def test_claim_page_draws_one_row_for_an_echoed_source(
    client: FlaskClient, stored: dict[str, Any]
) -> None:
    # kr-nis reaches this claim through kr-media and through ap: one original source.
    html = page(client, "/claims/kp-troops-in-russia")
    rows = waterfall_rows(html)
    assert rows.count(("supports", "kr-nis")) == 1
    assert ("supports", "ua-president") in rows
    assert ("neutral", "us-pentagon") in rows
    assert "via kr-media" in html and "via ap" in html
    assert "count once" in html


def test_resolving_in_the_console_changes_status_and_history(
    client: FlaskClient, stored: dict[str, Any]
) -> None:
    before = client.get("/v1/claims/kp-troops-in-russia/history").get_json()["history"]
    html = page(client, "/claims/kp-troops-in-russia")
    response = client.post(
        "/claims/kp-troops-in-russia/resolution",
        data={"csrf_token": token(html), "outcome": "confirmed", "note": "seen"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/claims/kp-troops-in-russia")
    claim = client.get("/v1/claims/kp-troops-in-russia").get_json()
    assert claim["status"] == "confirmed"
    assert claim["resolution"]["note"] == "seen"
    after = client.get("/v1/claims/kp-troops-in-russia/history").get_json()["history"]
    assert len(after) >= len(before)
    html = page(client, response.headers["Location"])
    assert "Claim resolved." in html and "Resolved <strong>confirmed</strong>" in html


def test_a_bad_form_is_refused_naming_the_field_and_stores_nothing(
    app: Flask, client: FlaskClient, stored: dict[str, Any]
) -> None:
    html = page(client, "/claims/kp-second-deployment")
    counts = row_counts(app)
    response = client.post(
        "/claims/kp-second-deployment/attributions",
        data={"csrf_token": token(html), "source": "ap", "certainty": "2"},
    )
    assert response.status_code == 422
    assert "certainty" in response.get_data(as_text=True)
    assert row_counts(app) == counts


def test_an_attribution_of_an_undefined_source_says_so_after_it_is_stored(
    client: FlaskClient, stored: dict[str, Any]
) -> None:
    html = page(client, "/claims/kp-second-deployment")
    response = client.post(
        "/claims/kp-second-deployment/attributions",
        data={"csrf_token": token(html), "source": "kr-nsi", "via": "ap"},
    )
    assert response.status_code == 302
    html = page(client, response.headers["Location"])
    assert "Attribution added" in html and "check these ids" in html
    assert "kr-nsi is not defined" in html and "Did you mean kr-nis?" in html
    assert "ap is not defined" not in html  # defined: no warning
    assert (
        client.get("/v1/claims/kp-second-deployment").get_json()["attributions"][-1]["source"]
        == "kr-nsi"
    )
    # A defined source, or an address naming ids by hand: no warning.
    html = page(client, "/claims/kp-second-deployment?undefined=ap&undefined=Not%20A%20Slug")
    assert "check these ids" not in html


def test_a_cross_site_form_post_is_refused(
    app: Flask, client: FlaskClient, stored: dict[str, Any]
) -> None:
    html = page(client, "/claims/kp-second-deployment")
    good = token(html)
    counts = row_counts(app)
    attempts: list[tuple[dict[str, str], dict[str, str]]] = [
        ({"outcome": "refuted"}, {}),  # no token
        ({"outcome": "refuted", "csrf_token": "forged"}, {}),
        ({"outcome": "refuted", "csrf_token": good}, {"Origin": "http://evil.example"}),
        ({"outcome": "refuted", "csrf_token": good}, {"Sec-Fetch-Site": "cross-site"}),
    ]
    for form, headers in attempts:
        response = client.post(
            "/claims/kp-second-deployment/resolution", data=form, headers=headers
        )
        assert response.status_code == 403, (form, headers)
    assert row_counts(app) == counts
    assert client.get("/v1/claims/kp-second-deployment").get_json()["status"] == "open"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.nip.io"])
def test_a_foreign_host_is_refused_while_no_key_exists(client: FlaskClient, host: str) -> None:
    assert client.get("/", headers={"Host": host}).status_code == 403
    assert client.get("/v1/claims", headers={"Host": host}).status_code == 403
    assert client.post("/v1/rescore", headers={"Host": host}).status_code == 403


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "127.0.0.1:8080", "[::1]:8080"])
def test_loopback_hosts_are_served_while_no_key_exists(client: FlaskClient, host: str) -> None:
    assert client.get("/", headers={"Host": host}).status_code == 200
    assert client.get("/v1/claims", headers={"Host": host}).status_code == 200


def test_with_keys_a_key_is_entered_once_into_an_httponly_strict_session_cookie(
    app: Flask, new_key: Callable[[Role], str], stored: dict[str, Any]
) -> None:
    key = new_key("read")
    client = app.test_client()
    response = client.get("/claims/kp-troops-in-russia")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    html = page(client, response.headers["Location"])
    assert "Enter an API key" in html
    refused = client.post("/login", data={"csrf_token": token(html), "key": "crd_x_nope"})
    assert refused.status_code == 401
    response = client.post(
        "/login",
        data={"csrf_token": token(html), "key": key, "next": "/claims/kp-troops-in-russia"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/claims/kp-troops-in-russia"
    assert key not in response.headers["Location"]
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(KEY_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie  # gone with the browser session
    html = page(client, "/claims/kp-troops-in-russia")
    assert "role: read" in html
    # A read key sees no write forms, and a forged post is refused by role.
    assert "Add an attribution" not in html and "Resolve</button>" not in html
    response = client.post(
        "/claims/kp-troops-in-russia/resolution",
        data={"csrf_token": token(html), "outcome": "confirmed"},
    )
    assert response.status_code == 403
    assert client.get("/v1/claims/kp-troops-in-russia", headers={}).status_code == 401


def test_an_admin_key_may_act_and_next_cannot_leave_the_site(
    app: Flask, new_key: Callable[[Role], str], stored: dict[str, Any]
) -> None:
    key = new_key("admin")
    client = app.test_client()
    html = page(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token(html), "key": key, "next": "//evil.example/"}
    )
    assert response.headers["Location"] == "/"
    html = page(client, "/claims/kp-second-deployment")
    assert "Add an attribution" in html and "Resolve</button>" in html
    client.set_cookie(CSRF_COOKIE, "")
    client.delete_cookie(KEY_COOKIE)
    assert client.get("/").status_code == 302


def test_defining_a_source_in_the_console_is_put_source(
    client: FlaskClient, stored: dict[str, Any]
) -> None:
    html = page(client, "/sources/new")
    response = client.post(
        "/sources",
        data={
            "csrf_token": token(html),
            "id": "kr-nls",
            "name": "National Library",
            "group": "gov:kr",
            "prior_kind": "reliability",
            "prior_reliability": "0.6",
            "prior_strength": "8",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    source = client.get("/v1/sources/kr-nls").get_json()
    assert source["prior"] == {"reliability": 0.6, "strength": 8}
    assert source["group"] == "gov:kr"
    html = page(client, "/sources/kr-nls")
    assert "National Library" in html and "kr-nis" in html  # a group member
    response = client.post(
        "/sources/kr-nls",
        data={"csrf_token": token(html), "prior_kind": "grade", "prior_grade": "Q"},
    )
    assert response.status_code == 422
    assert "prior.grade" in response.get_data(as_text=True)


def test_the_define_form_never_replaces_a_defined_source(
    app: Flask, client: FlaskClient, stored: dict[str, Any]
) -> None:
    html = page(client, "/sources/new")
    counts = row_counts(app)
    before = {s: client.get(f"/v1/sources/{s}").get_json() for s in ("kr-nis", "wire")}
    for source_id, source in before.items():  # defined through the API, in the catalogue
        response = client.post(
            "/sources", data={"csrf_token": token(html), "id": source_id, "name": "Oops"}
        )
        assert response.status_code == 409
        assert "defined already" in response.get_data(as_text=True)
        after = client.get(f"/v1/sources/{source_id}").get_json()
        assert (after["name"], after["prior"]) == (source["name"], source["prior"])
    assert row_counts(app) == counts


def test_ids_that_break_the_apis_rule_are_refused_and_not_stored(
    app: Flask, client: FlaskClient, stored: dict[str, Any]
) -> None:
    html = page(client, "/sources/new")
    counts = row_counts(app)
    response = client.post("/sources", data={"csrf_token": token(html), "id": "Not A Slug"})
    assert response.status_code == 422
    assert "Not a valid slug" in response.get_data(as_text=True)
    response = client.post("/sources/UPPER", data={"csrf_token": token(html), "name": "x"})
    assert response.status_code == 422
    assert row_counts(app) == counts
    assert client.get("/claims/UPPER").status_code == 422
    assert client.get("/jobs/not-a-job-id!").status_code == 422


def test_source_and_calibration_pages(client: FlaskClient, stored: dict[str, Any]) -> None:
    html = page(client, "/sources/kr-nis")
    assert "Track record" in html and "kp-troops-in-russia" in html
    assert 'class="plot reliability"' in html
    page(client, "/sources/nobody", 404)
    html = page(client, "/claims/kp-troops-in-russia")
    client.post(
        "/claims/kp-troops-in-russia/resolution",
        data={"csrf_token": token(html), "outcome": "confirmed"},
    )
    html = page(client, "/calibration")
    assert "Brier score" in html and 'class="plot calibration"' in html
    html = page(client, "/calibration?tag=nothing-has-this")
    assert "No resolved claim matches" in html
    page(client, "/calibration?bins=0", 422)


def test_question_page_sets_answers_side_by_side(client: FlaskClient) -> None:
    claims = [
        {
            "id": "n-1500",
            "text": "1,500 were sent.",
            "question": "how-many",
            "attributions": [{"source": "kr-nis"}],
        },
        {
            "id": "n-10000",
            "text": "10,000 were sent.",
            "question": "how-many",
            "attributions": [{"source": "ua-president"}],
        },
    ]
    assert client.post("/v1/claims", json={"claims": claims}).status_code == 200
    html = page(client, "/questions/how-many")
    assert html.count('class="card answer"') == 2
    page(client, "/questions/nobody-asked", 404)


def test_a_numeric_question_reads_as_figures_with_its_resolution(client: FlaskClient) -> None:
    question = {"text": "How many troops?", "kind": "numeric", "unit": "troops"}
    assert client.put("/v1/questions/troops", json=question).status_code == 200
    figures = [("kr-nis", {"point": 1500.0}), ("ua-president", {"low": 8000.0, "high": 12000.0})]
    claims = figure_answers("troops", figures, prefix="t")
    assert client.post("/v1/claims", json={"claims": claims}).status_code == 200
    html = page(client, "/questions/troops")
    assert "1,500 troops" in html and "8,000\u201312,000 troops" in html
    assert "{&#39;point&#39;" not in html and "Resolved:" not in html
    resolution = {"value": 11000, "note": "census"}
    assert client.post("/v1/questions/troops/resolution", json=resolution).status_code == 200
    html = page(client, "/questions/troops")
    assert "Resolved: 11,000 troops on" in html and 'class="truth"' in html
    assert re.search(r"Median \d{1,3}(,\d{3})* troops,", html)


def test_the_questions_page_lists_each_with_where_it_stands(client: FlaskClient) -> None:
    html = page(client, "/questions")
    assert "No questions yet." in html and 'href="/questions"' in html  # in the menu
    assert (
        client.put("/v1/questions/troops", json={"kind": "numeric", "unit": "troops"}).status_code
        == 200
    )
    claims = [
        {"id": "t1", "text": "About 1,500.", "question": "troops", "value": {"point": 1500},
         "attributions": [{"source": "kr-nis"}]},
        {"id": "w1", "text": "The NIS.", "question": "who", "attributions": [{"source": "ap"}]},
        {"id": "w2", "text": "The GRU.", "question": "who",
         "attributions": [{"source": "ap"}, {"source": "reuters"}]},
    ]  # fmt: skip
    assert client.post("/v1/claims", json={"claims": claims}).status_code == 200
    html = page(client, "/questions")
    assert 'href="/questions/troops"' in html and 'href="/questions/who"' in html
    assert "About 1,500" in html or "about 1,500" in html  # the estimate's summary
    assert re.search(r'Leading: <a href="/claims/w2">The GRU.</a>', html)
    assert client.post("/v1/claims/w1/resolution", json={"outcome": "confirmed"}).status_code == 200
    assert re.search(
        r'Confirmed: <a href="/claims/w1">The NIS.</a> \(100 %\)', page(client, "/questions")
    )


def test_a_page_asked_for_csv_still_answers_html_or_says_why(
    client: FlaskClient, stored: dict[str, Any]
) -> None:
    response = client.get("/", headers={"Accept": "text/csv"})
    assert response.status_code == 406
    assert response.mimetype == "text/html"


def test_claim_list_filters_by_question(client: FlaskClient, stored: dict[str, Any]) -> None:
    answer = {"id": "n-1500", "text": "1,500 were sent.", "question": "how-many"}
    assert client.post("/v1/claims", json={"claims": [answer]}).status_code == 200
    html = page(client, "/?question=how-many")
    assert "/claims/n-1500" in html and "/claims/kp-troops-in-russia" not in html


def test_a_job_page_says_what_moved_and_a_source_page_its_reliability_across_jobs(
    client: FlaskClient, stored: dict[str, Any]
) -> None:
    def reliability() -> float:
        return float(client.get("/v1/sources/kr-nis").get_json()["reliability"]["mean"])

    html = page(client, "/claims/kp-troops-in-russia")
    client.post(
        "/claims/kp-troops-in-russia/resolution",
        data={"csrf_token": token(html), "outcome": "refuted"},
    )
    # The resolution moved kr-nis already (it took a side on the claim); the page
    # says what the job moved, from there.
    before = reliability()
    response = client.post("/jobs", data={"csrf_token": token(html)})
    assert response.status_code == 302
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{job_id}").get_json()["job"]["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, "the job did not finish in 60 s"
        time.sleep(0.1)
    html = page(client, f"/jobs/{job_id}")
    assert 'http-equiv="refresh"' not in html  # finished: no more refreshing
    claims, sources = html.split("Claims it moved most", 1)[1].split("Sources it moved most")
    row = re.search(
        r">kr-nis</a></td><td class=\"num\">([\d.]+) %</td><td class=\"num\">([\d.]+) %", sources
    )
    assert row and row.groups() == (f"{before * 100:.1f}", f"{reliability() * 100:.1f}")
    assert row.group(1) != row.group(2)
    # Its claims still open moved with it; the resolved one is settled.
    assert "/claims/kp-sof-1500-shipped" in claims
    assert "/claims/kp-troops-in-russia" not in claims
    # A claim's "why" names the learned model where it once named an evidence cap.
    structure = client.get(f"/v1/jobs/{job_id}").get_json()["job"]["stats"]["fit"]["structure"]
    whys = [page(client, f"/claims/{c['id']}") for c in stored["claims"]]
    assert not any("evidence cap" in why for why in whys)
    assert any(f"learned model ({structure})" in why for why in whys)
    first = reliability()
    # A second job, after a claim kr-nis spoke to is confirmed: the source page lists both
    # jobs, oldest first, each with the reliability it left.
    html = page(client, "/claims/kp-sof-1500-shipped")
    client.post(
        "/claims/kp-sof-1500-shipped/resolution",
        data={"csrf_token": token(html), "outcome": "confirmed"},
    )
    second_job = client.post("/v1/rescore").get_json()["job"]["id"]
    while client.get(f"/v1/jobs/{second_job}").get_json()["job"]["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, "the jobs did not finish in 60 s"
        time.sleep(0.1)
    html = page(client, "/sources/kr-nis")
    listed = re.findall(r">job ([0-9a-f]{8})</a>: ([^<]+)</li>", html)
    assert listed == [(job_id[:8], percent(first)), (second_job[:8], percent(reliability()))]
    assert percent(first) != percent(reliability())
