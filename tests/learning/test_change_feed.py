"""Writes that do not grow with the store: each process applies the change feed.

A source definition or a resolution is applied to every process's source book
by reading only the rows written since the counter value it is current to,
and rebuilding only the beliefs that moved. The cost is counted (rows read,
beliefs rebuilt), not timed: the counts are what a reload of everything would
make grow with the store, and they are exact.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from flask import Flask

from service.app_state import AppState
from service.store.source_beliefs import read_book
from service.web.database import get_engine

# The figures. PostgreSQL runs a fifth of them: its requests cost about five
# times SQLite's here, and the change feed's queries are the same on both.
N_WRITES = {"sqlite": 2_000, "postgresql": 400}
WINDOW = {"sqlite": 200, "postgresql": 40}


def _state(app: Flask) -> AppState:
    state: AppState = app.extensions["credence"]
    return state


def _work(apps: list[Flask]) -> int:
    """Rows read and beliefs rebuilt by the last refresh of every app."""
    return sum(_state(app).sources.rows_read + _state(app).sources.beliefs_rebuilt for app in apps)


def _assert_flat(costs: list[int], window: int) -> None:
    first, last = costs[:window], costs[-window:]
    assert statistics.median(last) <= 1.5 * statistics.median(first), (first, last)
    # Not just medians: no write at the end cost more than the dearest at the start.
    assert max(last) <= max(first), (first, last)


def _books_agree(apps: list[Flask]) -> None:
    """Every app's book, kept up to date by the feed, is the store's as read whole."""
    for app in apps:
        assert app.test_client().get("/v1/sources/s0").status_code == 200  # a refresh
        state = _state(app)
        with app.app_context(), get_engine().connect() as connection:
            whole = read_book(connection, state.sources.catalogue, state.setup)
        assert state.book.beliefs == whole.beliefs
        assert set(state.book.learned) == set(whole.learned)
        assert state.book.definitions == whole.definitions


def test_writes_cost_the_same_however_many_sources(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    n_writes, window = N_WRITES[backend], WINDOW[backend]
    apps = [make_app(), make_app()]
    writer, other = (app.test_client() for app in apps)
    source_costs: list[int] = []
    for i in range(n_writes):
        # Sources in groups of ten: a group's pooled prior moves with each member defined.
        definition: dict[str, Any] = {"group": f"g{i // 10}"}
        if i % 2:
            definition["prior"] = {"reliability": 0.5 + (i % 40) / 100, "strength": 10}
        assert writer.put(f"/v1/sources/s{i}", json=definition).status_code == 200
        # The next request to the other worker sees it.
        seen = other.get(f"/v1/sources/s{i}")
        assert seen.status_code == 200 and seen.get_json()["group"] == f"g{i // 10}"
        source_costs.append(_work(apps))
    _assert_flat(source_costs, window)

    claims = [
        {
            "id": f"c{i}",
            "text": f"Claim {i}.",
            "attributions": [
                {"source": f"s{i}"},
                {"source": f"s{(i * 7 + 3) % n_writes}", "stance": "refutes"},
            ],
        }
        for i in range(n_writes)
    ]
    for start in range(0, n_writes, 500):
        body = {"claims": claims[start : start + 500]}
        assert writer.post("/v1/claims", json=body).status_code == 200

    resolution_costs: list[int] = []
    for i in range(n_writes):
        outcome = "confirmed" if i % 3 else "refuted"
        response = writer.post(f"/v1/claims/c{i}/resolution", json={"outcome": outcome})
        assert response.status_code == 200
        learned = other.get(f"/v1/sources/s{i}").get_json()["reliability"]["learned"]
        assert learned
        resolution_costs.append(_work(apps))
    _assert_flat(resolution_costs, window)
    _books_agree(apps)
