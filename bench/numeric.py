"""Numeric questions with known truth: ``python -m bench.numeric`` (``make bench-numeric``).

Synthetic sources of known error scales — some biased, some copying another's
figure without saying so, each stating a figure that says nothing with a
chance of its own — report figures (points, ranges, "at least") of counts
whose true values are drawn log-uniformly from 100 to 1,000,000. The first half
of the questions is resolved: Credence learns reliabilities (the track record
of within-tolerance hits, as the service does) and error scales
(``ErrorScaleEM``, resolved questions plus the open ones softly) from it, then
estimates the other half. Beside it, in the same process, on the same log
figures: the plain mean, the median and a CATD-style weighted mean (Li et al.
2014, VLDB: weight chi-square(0.025, n_s) / sum of squared deviations,
iterated with the truths, over all questions unsupervised).

Written to ``bench/results/numeric.md``: mean absolute error of the log
estimate, coverage of the 90 % interval and its mean width (log units).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from bench.common import header, table, write_results
from scoring import Attribution, Beta, Claim, ScoringParams, SourceBelief
from scoring.evidence import FloatArray
from scoring.numeric import Figure, NumericQuestion, NumericScorer
from scoring.numeric.errors import t_cdf
from scoring.numeric.learning import ErrorScaleEM, NumericCase
from scoring.params import UNKNOWN_SOURCE

SEED = 20261129
# The first seed is the one the model was developed against; the others are fresh worlds.
SEEDS = (SEED, SEED + 100, SEED + 200)
N_SOURCES = 30
N_COPIERS = 5
N_QUESTIONS = 600
LEVEL = 0.9
Z90 = 1.6448536269514722


@dataclass(frozen=True)
class Report:
    source: str
    figure: Figure
    location: float  # log axis: point, range middle, or the one bound


@dataclass(frozen=True)
class Question:
    truth: float  # log
    reports: list[Report]


def make_world(rng: np.random.Generator) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Sources: error scale, bias, chance of an informative figure; and who copies whom."""
    sources = {}
    for i in range(N_SOURCES):
        biased = rng.random() < 0.2
        sources[f"s{i:02d}"] = {
            "sigma": float(np.exp(rng.uniform(np.log(0.05), np.log(0.5)))),
            "bias": float(rng.choice([-1, 1]) * rng.uniform(0.15, 0.4)) if biased else 0.0,
            "informative": float(rng.uniform(0.6, 0.97)),
        }
    names = sorted(sources)
    copies = {
        names[-1 - i]: names[i] for i in range(N_COPIERS)
    }  # the last five copy the first five
    return sources, copies


def make_questions(
    rng: np.random.Generator, sources: dict[str, dict[str, float]], copies: dict[str, str]
) -> list[Question]:
    names = sorted(sources)
    questions = []
    for _ in range(N_QUESTIONS):
        truth = float(rng.uniform(np.log(100), np.log(1e6)))
        chosen = rng.choice(names, size=int(rng.integers(3, 9)), replace=False).tolist()
        seen: dict[str, float] = {}
        for s in sorted(chosen, key=lambda n: n in copies):
            k = sources[s]
            if s in copies and copies[s] in seen:
                seen[s] = seen[copies[s]]
            elif rng.random() < k["informative"]:
                seen[s] = truth + k["bias"] + k["sigma"] * float(rng.standard_normal())
            else:
                seen[s] = truth + float(rng.uniform(-np.log(10), np.log(10)))
        reports = []
        for s, x in seen.items():
            kind = rng.random()
            if kind < 0.75:
                figure, where = Figure.point(round_figure(math.exp(x))), x
            elif kind < 0.9:
                w = float(rng.uniform(0.1, 0.3))
                figure = Figure(round_figure(math.exp(x - w)), round_figure(math.exp(x + w)))
                where = x
            else:
                figure, where = Figure(low=round_figure(math.exp(x - 0.2))), x - 0.2
            reports.append(Report(s, figure, where))
        questions.append(Question(truth, reports))
    return questions


def round_figure(v: float) -> float:
    """As reported: two significant digits ("about 1,500")."""
    digits = 1 - math.floor(math.log10(v))
    return float(round(v, digits))


def claims_of(q: Question) -> tuple[list[Claim], list[Figure]]:
    """One claim per distinct figure, with every source that states it."""
    by_figure: dict[Figure, list[str]] = {}
    for r in q.reports:
        by_figure.setdefault(r.figure, []).append(r.source)
    claims = [Claim(tuple(Attribution(s) for s in names)) for names in by_figure.values()]
    return claims, list(by_figure)


def t_quantile(p: float, dof: float) -> float:
    low, high = 0.0, 100.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if t_cdf([mid], dof)[0] < p else (low, mid)
    return (low + high) / 2


def plain_mean(q: Question) -> tuple[float, float, float]:
    x = np.array([r.location for r in q.reports])
    n = x.size
    half = t_quantile(0.95, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def plain_median(q: Question, rng: np.random.Generator) -> tuple[float, float, float]:
    x = np.array([r.location for r in q.reports])
    boot = np.median(rng.choice(x, size=(500, x.size)), axis=1)
    low, high = np.quantile(boot, [0.05, 0.95])
    return float(np.median(x)), float(low), float(high)


def catd(questions: list[Question], iterations: int = 20) -> list[tuple[float, float, float]]:
    """CATD's weighted truths and, from the weights, intervals truth ± z / sqrt(sum of weights)."""
    names = sorted({r.source for q in questions for r in q.reports})
    index = {s: i for i, s in enumerate(names)}
    counts = np.zeros(len(names))
    for q in questions:
        for r in q.reports:
            counts[index[r.source]] += 1
    # chi-square lower 2.5 % quantile by Wilson-Hilferty.
    chi = counts * (1 - 2 / (9 * counts) - 1.959964 * np.sqrt(2 / (9 * counts))) ** 3
    truths = np.array([np.median([r.location for r in q.reports]) for q in questions])
    weights = np.ones(len(names))
    for _ in range(iterations):
        squares = np.full(len(names), 1e-9)
        for q, t in zip(questions, truths, strict=True):
            for r in q.reports:
                squares[index[r.source]] += (r.location - t) ** 2
        weights = np.maximum(chi, 1e-9) / squares
        truths = np.array(
            [
                np.average(
                    [r.location for r in q.reports],
                    weights=[weights[index[r.source]] for r in q.reports],
                )
                for q in questions
            ]
        )
    out = []
    for q, t in zip(questions, truths, strict=True):
        half = Z90 / math.sqrt(sum(weights[index[r.source]] for r in q.reports))
        out.append((float(t), float(t - half), float(t + half)))
    return out


def track_record(train: list[Question], tolerance: float) -> dict[str, SourceBelief]:
    """Each source's reliability as the service learns it: within-tolerance hits when resolved."""
    hits: dict[str, list[float]] = {}
    for q in train:
        claims, figures = claims_of(q)
        for claim, figure in zip(claims, figures, strict=True):
            low, high = figure.bounds()
            if figure.is_point:
                low, high = low * (1 - tolerance), high * (1 + tolerance)
            hit = float(low <= math.exp(q.truth) <= high)
            for a in claim.attributions:
                hits.setdefault(a.source, []).append(hit)
    a0, b0 = UNKNOWN_SOURCE.alpha, UNKNOWN_SOURCE.beta
    return {s: SourceBelief(Beta(a0 + sum(h), b0 + len(h) - sum(h))) for s, h in hits.items()}


def summarise(
    name: str, rows: list[tuple[float, float, float]], truths: FloatArray
) -> list[object]:
    est = np.array(rows)
    error = np.abs(est[:, 0] - truths)
    covered = (est[:, 1] <= truths) & (truths <= est[:, 2])
    return [
        name,
        float(error.mean()),
        float(np.median(error)),
        float(covered.mean()),
        float((est[:, 2] - est[:, 1]).mean()),
    ]


def paired_difference(
    ours: list[tuple[float, float, float]],
    other: list[tuple[float, float, float]],
    truths: FloatArray,
    rng: np.random.Generator,
) -> tuple[float, float, float]:
    """Mean per-question difference of absolute errors, with a 95 % bootstrap interval."""
    diff = np.abs(np.array(ours)[:, 0] - truths) - np.abs(np.array(other)[:, 0] - truths)
    means = diff[rng.integers(0, diff.size, size=(2000, diff.size))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(diff.mean()), float(low), float(high)


@dataclass(frozen=True)
class Run:
    """One world's results: a row per estimator, and what the learning did."""

    rows: list[list[object]]
    paired: tuple[float, float, float]
    n_iter: int
    correlation: float
    n_reports: int
    learned_s: float
    scored_s: float


def run(seed: int) -> Run:
    """A world from ``seed``: learn from its first half, estimate its second."""
    rng = np.random.default_rng(seed)
    sources, copies = make_world(rng)
    questions = make_questions(rng, sources, copies)
    half = N_QUESTIONS // 2
    train, test = questions[:half], questions[half:]
    truths = np.array([q.truth for q in test])
    question = NumericQuestion("bench", "log")

    started = time.perf_counter()
    beliefs = track_record(train, 0.1)
    cases = [
        NumericCase(question, *claims_of(q), truth=math.exp(q.truth) if i < half else None)
        for i, q in enumerate(questions)
    ]
    em = ErrorScaleEM().fit(cases, beliefs)
    learned = time.perf_counter() - started

    scorer = NumericScorer(ScoringParams(interval_samples=16))

    def credence(
        beliefs: dict[str, SourceBelief], errors: dict
    ) -> list[tuple[float, float, float]]:
        out = []
        for q in test:
            e = scorer.score(question, *claims_of(q), beliefs, errors).estimate
            out.append((math.log(e.median), math.log(e.interval[0]), math.log(e.interval[1])))
        return out

    started = time.perf_counter()
    ours = credence(beliefs, em.errors_)
    scored = time.perf_counter() - started
    # The reliabilities alone, read through the default error law: a source's state
    # before a job has learned its error scale (or with a grade and no numeric record).
    reliabilities_only = credence(beliefs, {})
    untrained = credence({}, {})
    boot = np.random.default_rng(seed + 1)
    median_rows = [plain_median(q, boot) for q in test]
    paired = paired_difference(ours, median_rows, truths, np.random.default_rng(seed + 2))
    rows = [
        summarise("Credence (learned reliabilities and error scales)", ours, truths),
        summarise("Credence, reliabilities learned, error scales not", reliabilities_only, truths),
        summarise("Credence, nothing learned (unknown-source priors)", untrained, truths),
        summarise("plain mean (t interval)", [plain_mean(q) for q in test], truths),
        summarise("median (bootstrap interval)", median_rows, truths),
        summarise("CATD weighted mean", catd(questions)[half:], truths),
    ]
    # How well the error scales were learned: learned against true, per source.
    true_sigma = np.array([sources[s]["sigma"] for s in sorted(em.errors_)])
    fitted = np.array([em.errors_[s].scale for s in sorted(em.errors_)])
    correlation = float(np.corrcoef(np.log(true_sigma), np.log(fitted))[0, 1])
    n_reports = sum(len(q.reports) for q in test)
    return Run(rows, paired, em.n_iter_, correlation, n_reports, learned, scored)


def main() -> None:
    runs = {seed: run(seed) for seed in SEEDS}
    first = runs[SEEDS[0]]
    half = N_QUESTIONS // 2
    text = header("Numeric questions: estimates against known truth", "make bench-numeric")
    text += (
        f"\n{N_SOURCES} sources ({N_COPIERS} copy another's figure undeclared; about a fifth "
        f"biased by 0.15-0.4 log units; error scales 0.05-0.5 log units; a figure says nothing "
        f"with chance 3-40 %), {N_QUESTIONS} questions of 3-8 reports (75 % points, 15 % ranges, "
        f"10 % 'at least'), truths log-uniform on 100-1,000,000; the first {half} resolved and "
        f"learned from, the other {half} estimated. Each seed draws another world.\n\n"
        f"## Seed {SEEDS[0]} ({first.n_reports} test reports)\n\n"
    )
    text += table(
        ["estimator", "MAE (log)", "median abs. error (log)", "90 % coverage", "mean width (log)"],
        first.rows,
    )
    text += (
        f"\nLearning (reliabilities and ErrorScaleEM, {first.n_iter} iterations of at most 20): "
        f"{first.learned_s:.1f} s; scoring the {half} test questions: {first.scored_s:.1f} s "
        f"({1000 * first.scored_s / half:.0f} ms each, 16 reliability draws). Correlation of "
        f"learned and true log error scales: {first.correlation:.2f}.\n\n"
        "## Every seed: MAE (log) / 90 % coverage\n\n"
    )
    names = [str(row[0]) for row in first.rows]
    text += table(
        ["seed", *names, "Credence minus median (95 % interval)"],
        [
            [
                seed,
                *(f"{row[1]:.4f} / {row[3]:.2f}" for row in r.rows),
                f"{r.paired[0]:+.4f} ({r.paired[1]:+.4f} to {r.paired[2]:+.4f})",
            ]
            for seed, r in runs.items()
        ],
    )
    text += (
        "\nThe last column is the mean per-question difference of absolute errors against the "
        "median, the strongest baseline, with a 95 % bootstrap interval.\n"
        "\nWhat the generator shares with the model, and choices made while looking at these "
        "figures: a figure that says nothing is drawn flat within a factor of 10 of the truth, "
        "which is the model's own assumption (`NumericParams.log_margin`); errors are Gaussian "
        "(the model's are Student-t), biases and undeclared copies break the model's "
        "assumptions. Two changes were made after a first run on the first seed, in which "
        "Credence's error was 0.145 and coverage 98 %: the reliability (a within-tolerance hit "
        "rate, as track records count it) is now read as the chance of an informative figure "
        "through the source's error scale (`informative_chance`), and `ErrorScaleEM` learns "
        "that chance as a mixture weight beside the error scale instead of reading it from "
        "the reliability. The other two seeds were first run after those changes, and "
        "showed Credence behind the median on the third (MAE 0.188 against 0.178, coverage "
        "82 %): the error came from figures taken as informative with the 0.98 cap, because "
        "reading that chance from the reliability through an overestimated error scale "
        "overstates it. A third change followed: the chance of an informative figure learned "
        "by `ErrorScaleEM` is kept with the error scale (`ErrorScale.informative`) and used "
        "for the source's figures. A fourth change (2026-12-03) was made from the model, "
        "not from these figures: above the reliability the default error law can give, "
        "`informative_chance` had read every reliability as the 0.98 cap (grades A to D "
        "alike), and now reads it as informative and within the tolerance in equal measure "
        "(no parameter). The row 'reliabilities learned, error scales not' was added to "
        "show that state and run once before and once after on every seed: MAE 0.1760, "
        "0.1520, 0.2225 and coverage 0.86, 0.91, 0.82 before. No parameter was tuned to a "
        "seed.\n"
    )
    write_results("numeric", text)


if __name__ == "__main__":
    main()
