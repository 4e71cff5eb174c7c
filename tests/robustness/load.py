"""Concurrent writers of overlapping batches, and what they had acknowledged.

Each of ``clients`` threads posts ``rounds`` batches to ``POST /v1/claims``; a
batch holds ``batch`` claims picked from a shared pool of ids, attributed to
sources of a shared pool, and every claim version written is unique (its text
names the client, round and position). A write counts as acknowledged when the
server answered 200; the log keeps, for each version, when it was sent and when
it was acknowledged, so the final state can be checked against it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.live_server import Client, Response

ID_POOL = 40
SOURCE_POOL = 10


@dataclass
class Write:
    claim: dict[str, Any]
    sent: float
    acked: float


@dataclass
class Outcome:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: list[str] = field(default_factory=list)
    acked: dict[str, list[Write]] = field(default_factory=dict)
    """Acknowledged versions by claim id."""
    written: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Every version sent, acknowledged or not, by claim id."""
    problems: list[str] = field(default_factory=list)
    """Responses that were errors without being problem+json."""
    duration: float = 0.0
    jobs: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def figures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_errors": self.server_errors,
            "transport_errors": len(self.transport_errors),
            "acknowledged_writes": sum(len(w) for w in self.acked.values()),
            "duration_s": round(self.duration, 2),
            "rescore_jobs": dict(self.jobs),
        }


def make_claim(rng: random.Random, client: int, round_: int, position: int) -> dict[str, Any]:
    claim_id = f"claim-{rng.randrange(ID_POOL):03d}"
    sources = rng.sample(range(SOURCE_POOL), rng.randint(1, 3))
    return {
        "id": claim_id,
        "text": f"version c{client} r{round_} p{position} of {claim_id}",
        "tags": [f"client-{client}", f"round-{round_}"],
        "attributions": [
            {
                "source": f"src-{s:02d}",
                "stance": rng.choice(("supports", "supports", "refutes", "neutral")),
                "certainty": round(rng.uniform(0.3, 1.0), 3),
                **({"via": [f"src-{(s + 1) % SOURCE_POOL:02d}"]} if rng.random() < 0.3 else {}),
            }
            for s in sources
        ],
    }


def _batch(rng: random.Random, client: int, round_: int, size: int) -> list[dict[str, Any]]:
    """``size`` claims of distinct ids (the same id twice in a batch is refused)."""
    claims: dict[str, dict[str, Any]] = {}
    position = 0
    while len(claims) < size:
        claim = make_claim(rng, client, round_, position)
        claims.setdefault(claim["id"], claim)
        position += 1
    return list(claims.values())


def writer(
    client: Client,
    number: int,
    rounds: int,
    batch: int,
    outcome: Outcome,
    retry: Callable[[Response], bool] = lambda _r: False,
) -> None:
    """One client's writes; ``retry`` says whether to send a refused batch again."""
    rng = random.Random(number)
    for round_ in range(rounds):
        claims = _batch(rng, number, round_, batch)
        with outcome.lock:
            for c in claims:
                outcome.written.setdefault(c["id"], []).append(c)
        for _attempt in range(50):
            sent = time.monotonic()
            try:
                response = client("POST", "/v1/claims", {"claims": claims}, timeout=120)
            except OSError as exc:  # a dropped connection: never acceptable, recorded
                with outcome.lock:
                    outcome.requests += 1
                    outcome.transport_errors.append(f"{type(exc).__name__}: {exc}")
                break
            acked = time.monotonic()
            with outcome.lock:
                outcome.requests += 1
                outcome.statuses[response.status] += 1
                if response.status >= 400 and not (
                    response.headers.get("Content-Type", "").startswith("application/problem+json")
                    and isinstance(response.body, dict)
                    and response.body.get("status") == response.status
                ):
                    outcome.problems.append(f"{response.status}: {str(response.body)[:300]}")
                if response.status == 200:
                    for c in claims:
                        outcome.acked.setdefault(c["id"], []).append(Write(c, sent, acked))
            if response.status == 200 or not retry(response):
                break
            time.sleep(0.1)


def rescorer(client: Client, stop: threading.Event, outcome: Outcome) -> None:
    """Re-scoring jobs back to back until ``stop``; each job's final status is counted."""
    while not stop.is_set():
        r = client("POST", "/v1/rescore", timeout=60)
        with outcome.lock:
            outcome.statuses[r.status] += 1
            outcome.requests += 1
        if r.status != 202:
            time.sleep(0.05)
            continue
        job_id = r.body["job"]["id"]
        for _ in range(6_000):
            job = client("GET", f"/v1/jobs/{job_id}", timeout=60).body["job"]
            if job["status"] in ("succeeded", "failed"):
                with outcome.lock:
                    outcome.jobs[job["status"]] += 1
                break
            time.sleep(0.05)


def run_load(
    client: Client,
    *,
    clients: int = 16,
    rounds: int = 8,
    batch: int = 10,
    rescore: bool = True,
    during: Callable[[], None] | None = None,
    retry: Callable[[Response], bool] = lambda _r: False,
    timeout: float = 600,
) -> Outcome:
    """The writers (and a re-scoring loop) against ``client``'s server, to the end.

    ``during`` runs on the calling thread while the writers write (e.g. a fault).
    Raises AssertionError when the writers have not finished after ``timeout``
    seconds: a deadlock, not a slow run.
    """
    outcome = Outcome()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=writer, args=(client, n, rounds, batch, outcome, retry), daemon=True
        )
        for n in range(clients)
    ]
    job_thread = threading.Thread(target=rescorer, args=(client, stop, outcome), daemon=True)
    started = time.monotonic()
    if rescore:
        job_thread.start()
    for t in threads:
        t.start()
    if during is not None:
        during()
    deadline = started + timeout
    for t in threads:
        t.join(max(deadline - time.monotonic(), 0))
    outcome.duration = time.monotonic() - started
    stop.set()
    if rescore:
        job_thread.join(max(deadline + 120 - time.monotonic(), 0))
    assert not any(t.is_alive() for t in [*threads, job_thread]), (
        f"writers still blocked after {timeout} s: a deadlock"
    )
    return outcome


def check_store(client: Client, outcome: Outcome) -> dict[str, dict[str, Any]]:
    """Every acknowledged claim is stored once, whole, as a version a client wrote,
    and not one that a later acknowledged write had superseded. The stored claims."""
    listed: list[str] = []
    cursor = None
    for _ in range(1_000):
        path = "/v1/claims?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        page = client("GET", path)
        assert page.status == 200, (page.status, page.body)
        listed += [c["id"] for c in page.body["claims"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert len(listed) == len(set(listed)), "a claim is listed twice"
    assert set(outcome.acked) <= set(listed), "an acknowledged claim is missing"
    stored: dict[str, dict[str, Any]] = {}
    for claim_id, writes in outcome.acked.items():
        r = client("GET", f"/v1/claims/{claim_id}")
        assert r.status == 200, (claim_id, r.status, r.body)
        got = r.body
        stored[claim_id] = got
        versions = {w["text"]: w for w in outcome.written[claim_id]}
        assert got["text"] in versions, f"{claim_id}: {got['text']!r} was never written"
        version = versions[got["text"]]
        # Whole: the attributions and tags of that same version, each exactly once.
        assert [
            (a["source"], a["stance"], a["via"], a["certainty"]) for a in got["attributions"]
        ] == [
            (a["source"], a["stance"], a.get("via", []), a["certainty"])
            for a in version["attributions"]
        ], f"{claim_id}: attributions are not those of {got['text']!r}"
        assert sorted(got["tags"]) == sorted(version["tags"]), claim_id
        assert got["score"] is not None and 0 <= got["score"]["confidence"] <= 1, (claim_id, got)
        # The score is that of this version (a job racing the write did not leave a stale one).
        assert [(e["source"], e["via"], e["stance"]) for e in got["score"]["evidence"]] == [
            (a["source"], a["via"], a["stance"]) for a in got["attributions"]
        ], f"{claim_id}: the score's evidence is not the stored attributions"
        # Last acknowledged: the stored version was acknowledged (or, when the server
        # may have committed a write whose answer was lost, at least written), and no
        # acknowledged write of this id was sent after it had been acknowledged.
        acked = {w.claim["text"]: w for w in writes}
        if not outcome.transport_errors:
            assert got["text"] in acked, f"{claim_id}: stored version was never acknowledged"
        final = acked.get(got["text"])
        if final is not None:
            later = [w.claim["text"] for w in writes if w.sent > final.acked]
            assert not later, f"{claim_id}: {got['text']!r} overwrote the later {later}"
    return stored
