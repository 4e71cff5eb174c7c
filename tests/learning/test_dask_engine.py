"""The fit on a Dask cluster equals the fit in process (service.jobs.dask_engine).

One real ``LocalCluster`` of two worker processes for the module. The
partitions' sums are the local sums in another order, so the two agree to
within floating-point rounding; ``TOLERANCE`` leaves room for that and for
nothing else (a wrong sum, a lost partition or a stale parameter moves
reliabilities by far more).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from scoring.fit import FitData, ReliabilityLearner
from scoring.fit.layout import Layout
from scoring.fit.partitions import question_partitions
from service.jobs.learning import learn_reliabilities
from service.jobs.lock import job_lock
from service.jobs.rescore import claim_job, run_job
from service.jobs.snapshot import read_snapshot
from tests.learning.common import (
    app_state,
    assert_nothing_stale,
    engine_of,
    job_setup,
    post_claims,
    random_claims,
    resolve_directly,
)
from tests.learning.test_rescore_job import _learned, _store
from tests.scoring.test_fit import picks, yes_sayers

pytest.importorskip("distributed")
import dask
from distributed import Client, LocalCluster

from service.jobs.dask_engine import DaskEngine, dask_engine, local_cluster

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with local_cluster(n_workers=2) as local:
        yield local


@pytest.fixture(scope="module")
def dask_client(cluster: LocalCluster) -> Iterator[Client]:
    with Client(cluster) as client:
        yield client


def _grouped_store(seed: int = 5) -> FitData:
    """Questions of one to three answers, a fifth resolved, sources in groups: the
    group-prior structures are candidates and resolved claims choose."""
    rng = np.random.default_rng(seed)
    n_questions, n_sources = 600, 40
    size = rng.integers(1, 4, n_questions)
    question = np.repeat(np.arange(n_questions), size)
    n = question.size
    claim = np.repeat(np.arange(n), 4)
    source = rng.integers(0, n_sources, claim.size)
    reliability = rng.uniform(0.3, 0.95, n_sources)
    truth = rng.random(n) < 0.4
    right = rng.random(claim.size) < reliability[source]
    sign = np.where(right == truth[claim], 1.0, -1.0)
    outcome = np.where(rng.random(n) < 0.2, truth.astype(float), np.nan)
    # At most one confirmed claim a question.
    first = np.r_[True, question[1:] != question[:-1]]
    outcome[(outcome == 1) & ~first] = np.nan
    return FitData.build(
        claim, source, n_claims=n, n_sources=n_sources, sign=sign,
        question=question, n_questions=n_questions, outcome=outcome,
        source_group=rng.integers(-1, 4, n_sources), age_days=rng.uniform(0, 900, claim.size),
    )  # fmt: skip


def _confusing_store() -> FitData:
    confusion = np.full((60, 3, 3), 0.1)
    confusion[:, np.arange(3), np.arange(3)] = 0.8
    confusion[:20, 0] = (0.2, 0.7, 0.1)  # a third of the sources read class 0 as 1
    return picks(11, confusion)[0]


def _yes_sayers_store() -> FitData:
    return yes_sayers(12)[0]


STORES = [_grouped_store, _confusing_store, _yes_sayers_store]


def _learner(engine: DaskEngine | None = None) -> ReliabilityLearner:
    return ReliabilityLearner(unresolved_weight=0.5, half_life_days=365.0, engine=engine)


@pytest.mark.parametrize("store", STORES)
def test_the_cluster_fit_equals_the_local_fit(
    dask_client: Client, store: Callable[[], FitData]
) -> None:
    data = store()
    local = _learner().fit(data)
    remote = _learner(DaskEngine(dask_client, partitions=3)).fit(data)
    assert remote.structure_.describe() == local.structure_.describe()
    assert remote.n_iter_ == local.n_iter_ > 1
    np.testing.assert_allclose(remote.alpha_, local.alpha_, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(remote.beta_, local.beta_, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(remote.structure_.base_, local.structure_.base_, atol=TOLERANCE)
    for name in ("confusion_", "stances_"):
        if hasattr(local.structure_, name):
            np.testing.assert_allclose(
                getattr(remote.structure_, name), getattr(local.structure_, name), atol=TOLERANCE
            )
    assert remote.temperature_ == pytest.approx(local.temperature_, abs=TOLERANCE)
    np.testing.assert_allclose(remote.confidence_, local.confidence_, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("store", STORES)
def test_a_warm_refit_on_the_cluster_equals_the_local_one(
    dask_client: Client, store: Callable[[], FitData]
) -> None:
    # A relay pass: the same store with its fidelities moved, from the fit's parameters.
    data = store()
    moved = data.with_fidelity(np.linspace(0.6, 1.0, data.n_rows))
    local = _learner().fit(data).refit(moved)
    remote = _learner(DaskEngine(dask_client, partitions=3)).fit(data).refit(moved)
    assert remote.n_iter_ == local.n_iter_
    np.testing.assert_allclose(remote.alpha_, local.alpha_, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(remote.beta_, local.beta_, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(remote.confidence_, local.confidence_, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize(
    ("store", "sooner"),
    # Two coins' EM creeps along a flat direction (coins and base rate trade off) and
    # stops where its steps fall below the tolerance, which a warm start does not
    # always reach in fewer iterations; it lands at the same point.
    [(_grouped_store, True), (_confusing_store, True), (_yes_sayers_store, False)],
)
def test_a_warm_refit_lands_where_a_fit_from_the_priors_does(
    store: Callable[[], FitData], sooner: bool
) -> None:
    data = store()
    moved = data.with_fidelity(np.linspace(0.6, 1.0, data.n_rows))
    learner = _learner().fit(data)
    first = learner.n_iter_
    cold = copy.copy(learner.structure_).fit(Layout(moved, 0.5, 365.0))
    warm = learner.refit(moved).structure_
    assert warm.warm_start and not cold.warm_start
    assert warm.n_iter_ < cold.n_iter_ or not sooner
    assert learner.n_iter_ == first + warm.n_iter_  # the job reports the whole fit's work
    # Both stop within the EM's tolerance of one fixed point.
    np.testing.assert_allclose(warm.reliability_, cold.reliability_, rtol=0, atol=1e-4)
    np.testing.assert_allclose(warm.score_, cold.score_, rtol=0, atol=1e-3)


def test_the_stores_did_choose_confusion_matrices_and_two_coins() -> None:
    """The parametrized tests above cover those structures' counts only if they are chosen."""
    assert "confusion" in _learner().fit(_confusing_store()).structure_.describe()
    assert "two coins" in _learner().fit(_yes_sayers_store()).structure_.describe()


def test_partitions_hold_whole_questions_and_split_rows_evenly() -> None:
    data = _grouped_store()
    masks = question_partitions(data, 3)
    assert len(masks) == 3
    assert (np.sum(masks, axis=0) == 1).all()
    rows = [data.with_questions(keep).n_rows for keep in masks]
    assert sum(rows) == data.n_rows
    assert max(rows) - min(rows) <= 0.05 * data.n_rows


def test_the_job_on_the_cluster_writes_what_the_local_fit_learns(
    app: Flask, client: FlaskClient, cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(app, client)
    post_claims(client, random_claims(60, n_sources=40, seed=9, prefix="x"))
    resolve_directly(app, {"x000003": "confirmed"})
    state = app_state(app)
    engine = engine_of(app)
    # One clock for both fits: resolutions count less as they age (half_life_days), so
    # a job that reads its store a few seconds later learns reliabilities some 1e-9 apart.
    now = datetime.now(UTC)
    monkeypatch.setattr("service.jobs.rescore.utcnow", lambda: now)
    snapshot = read_snapshot(engine, state.sources.catalogue, state.setup, now)
    expected = learn_reliabilities(snapshot, state.setup, state.settings.learning)

    lock = job_lock(engine)
    job_id = claim_job(engine, lock)
    on_cluster = replace(job_setup(app), dask_scheduler=cluster.scheduler_address)
    stats = run_job(engine, on_cluster, job_id, lock)

    assert stats["fit"]["structure"] == expected.stats["structure"]
    assert stats["fit"]["iterations"] == expected.stats["iterations"]
    assert stats["fit"]["cluster"]["partitions"] == 2
    assert stats["claims_changed"] > 0
    learned = _learned(app)
    assert learned and stats["sources_written"] == len(learned)
    for source_id, reliability in learned.items():
        assert reliability == pytest.approx(expected.beliefs[source_id].mean, abs=TOLERANCE)
    assert_nothing_stale(app)


def test_a_scheduler_nobody_answers_at_is_named() -> None:
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(RuntimeError, match=r"no Dask scheduler answers at tcp://127\.0\.0\.1:1"),
        dask_engine("tcp://127.0.0.1:1"),
    ):
        pass
