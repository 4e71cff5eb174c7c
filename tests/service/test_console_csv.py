"""The console's CSV download of the claim list, through Flask's test client."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask import Flask

from service.formats.claim_table import CLAIM_COLUMNS


def test_the_download_holds_every_page_the_filters_keep(make_app: Callable[..., Flask]) -> None:
    # Pages of two claims: the file must gather all three pages of the tagged claims.
    client = make_app(limits={"page_max": 2}).test_client()
    claims = [
        {"id": f"c{i}", "text": f"Zelenskyy: {i},000 troops — Ukraïnska Pravda", "tags": tags}
        for i, tags in enumerate([["kr"], ["kr"], [], ["kr"], ["kr"], ["kr"]])
    ]
    assert client.post("/v1/claims", json={"claims": claims}).status_code == 200
    response = client.get("/claims.csv?tag=kr&cursor=c3")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data()
    # Excel reads UTF-8 only after a byte order mark.
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(CLAIM_COLUMNS)
    # Every tagged claim, the list's cursor ignored, each once.
    assert [row[0] for row in rows[1:]] == ["c0", "c1", "c3", "c4", "c5"]
    assert rows[1][1] == claims[0]["text"]


def test_a_download_with_bad_filters_is_refused_as_a_page(make_app: Callable[..., Flask]) -> None:
    response = make_app().test_client().get("/claims.csv?min_confidence=150")
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "min_confidence" in response.get_data(as_text=True)


def test_the_list_links_its_download_with_its_filters(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    claims = [{"id": f"c{i}", "text": "one", "tags": ["kr"]} for i in range(2)]
    client.post("/v1/claims", json={"claims": claims})
    cursor = client.get("/v1/claims?limit=1").get_json()["next_cursor"]
    # On the list's second page, the link still downloads from the first.
    page = client.get(f"/?tag=kr&cursor={cursor}").get_data(as_text=True)
    assert "c1" in page and 'href="/claims.csv?tag=kr" download' in page
