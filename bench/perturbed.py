"""The job's learner on crowd sets it was not designed on: ``python -m bench.perturbed``.

The shipped defaults were chosen on the thirteen sets of ``../shared/data/crowd``
(``bench/quality``), and a user's store will not look like any of them. Each set
is made into stores of another shape, drawn at random with a fixed seed, and
each goes through the job's path (``bench.quality.learn_and_score``) beside
crowd-kit's MajorityVote, Wawa and DawidSkene run in this process:

- **half the workers**: the answers of a random half of the workers, and of the
  other half (fewer workers, as many answers each);
- **at most K answers a question**: K answers of each question drawn at random
  (K = 3 and 8; a K that keeps nine tenths of a set's answers or more is left
  out as that set again).

Judged, as ``bench/quality``, on the known answers of the questions still
answered. The stores of two-answer sets are also loaded as yes/no statements
(``bench.quality.judge_yes_no``), the other form a user may give them. One
default was chosen looking at these figures and at ``bench/quality``'s, against
the truth (the confusion rows' prior strength: ``bench/quality``'s design note
14, ``docs/model-fit.md``). Results go to ``bench/results/perturbed.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from bench.common import header, shared_path, table, write_results
from bench.quality import (
    CROWD_SETS,
    DS_MARGIN,
    CrowdResult,
    CrowdSet,
    crowd_peers,
    judge_methods,
    judge_yes_no,
)

SEED = 1
ANSWERS_A_QUESTION = (3, 8)
# A thinned store that keeps this share of its set's answers or more is the set again.
MOSTLY_KEPT = 0.9
PEERS = ("MajorityVote", "Wawa", "DawidSkene")


def perturbed(crowd: CrowdSet, seed: int = SEED) -> Iterator[tuple[str, CrowdSet]]:
    """The set's perturbed stores, each with what was done to it."""
    answers = crowd.answers
    rng = np.random.default_rng(seed)
    workers = answers["worker"].unique()
    rng.shuffle(workers)
    first = np.isin(answers["worker"].to_numpy(), workers[: workers.size // 2])
    yield "half the workers (one half)", crowd.with_answers(answers[first])
    yield "half the workers (the other)", crowd.with_answers(answers[~first])
    shuffled = answers.sample(frac=1.0, random_state=seed)
    for k in ANSWERS_A_QUESTION:
        kept = shuffled.groupby("question", sort=False).head(k).sort_index()
        if len(kept) < MOSTLY_KEPT * len(answers):
            yield f"at most {k} answers a question", crowd.with_answers(kept)


def peers(crowd: CrowdSet) -> dict[str, Callable[[pd.DataFrame], pd.DataFrame]]:
    """``PEERS`` as ``bench/quality`` runs them (fresh aggregators, its settings)."""
    every = crowd_peers(len(crowd.answers))
    return {name: every[name] for name in PEERS}


def main() -> None:
    folder = shared_path("data", "crowd")
    if folder is None:
        print("../shared/data/crowd is not beside the checkout: nothing to run")
        return
    rows: list[list[object]] = []
    by_method: dict[str, list[CrowdResult]] = {m: [] for m in ("Credence", *PEERS)}
    below: list[str] = []
    yes_no_rows: list[list[object]] = []
    yes_no: list[tuple[CrowdResult, CrowdResult, CrowdResult]] = []
    for name in CROWD_SETS:
        crowd = CrowdSet.read(folder, name)
        for what, store in perturbed(crowd):
            results, fit = judge_methods(store, peers(store), "Credence")
            structure = str(fit.model.stats["structure"])
            for r in results:
                by_method[r.method].append(r)
            ours, ds = results[0], by_method["DawidSkene"][-1]
            gap = 100 * (ours.accuracy - ds.accuracy)
            if gap < -100 * DS_MARGIN:
                below.append(f"{name}, {what}: {gap:+.2f} points")
            rows.append(
                [
                    name,
                    what,
                    len(store.answers),
                    f"{len(store.answers) / store.questions.size:.1f}",
                    store.true_label.size,
                    *(f"{r.accuracy:.4f} / {r.ece:.3f}" for r in results),
                    f"{gap:+.2f}",
                    structure,
                ]
            )
            print(f"{name}, {what}: {rows[-1][5:]}", flush=True)
            if store.labels.size == 2:
                mine, yes_no_fit = judge_yes_no(store)
                yes_no.append((mine, results[0], ds))
                yes_no_rows.append(
                    [
                        name,
                        what,
                        f"{mine.accuracy:.4f} / {mine.ece:.3f}",
                        f"{ours.accuracy:.4f} / {ours.ece:.3f}",
                        f"{by_method['MajorityVote'][-1].accuracy:.4f}",
                        f"{ds.accuracy:.4f} / {ds.ece:.3f}",
                        f"{100 * (mine.accuracy - ds.accuracy):+.2f}",
                        str(yes_no_fit.model.stats["structure"]),
                    ]
                )
    means = [
        [m, f"{np.mean([r.accuracy for r in rs]):.4f}", f"{np.mean([r.ece for r in rs]):.4f}"]
        for m, rs in by_method.items()
    ]
    markdown = (
        header("bench/perturbed", "make bench-perturbed")
        + "\n"
        + (__doc__ or "").split("\n\n", 1)[1]
        + "\n"
        + table(
            [
                "set",
                "store",
                "answers",
                "answers a question",
                "judged",
                "Credence (accuracy / ECE)",
                *(f"{p} (accuracy / ECE)" for p in PEERS),
                "Credence - DawidSkene (points)",
                "Credence chose",
            ],
            rows,
        )
        + f"\nMeans over the {len(rows)} stores:\n\n"
        + table(["method", "accuracy", "top-answer ECE"], means)
        + f"\nStores where Credence is more than {100 * DS_MARGIN:g} points below DawidSkene: "
        + f"{len(below)} of {len(rows)}"
        + ("".join(f"\n- {line}" for line in below) if below else "")
        + "\n\n"
        + yes_no_section(yes_no_rows, yes_no)
    )
    write_results("perturbed", markdown)


def yes_no_section(
    rows: list[list[object]], results: list[tuple[CrowdResult, CrowdResult, CrowdResult]]
) -> str:
    """The binary stores loaded the other way a user may load them: yes/no statements."""
    below = sum(100 * (mine.accuracy - ds.accuracy) < -100 * DS_MARGIN for mine, _, ds in results)
    means = [
        [
            method,
            f"{np.mean([r[k].accuracy for r in results]):.4f}",
            f"{np.mean([r[k].ece for r in results]):.4f}",
        ]
        for k, method in enumerate(
            ("Credence, yes/no statements", "Credence, answers", "DawidSkene")
        )
    ]
    return (
        "## Binary stores as yes/no statements\n\n"
        "Each store above of a two-answer set, loaded as `bench/quality`'s section of that "
        'name loads a whole set: one lone claim a question ("the answer is <second label>"), '
        "each answer a support or a refutation of it; then the job's path with the shipped "
        "defaults. Beside it, the answers' load and two peers from the table above.\n\n"
        + table(
            [
                "set",
                "store",
                "Credence, yes/no statements",
                "Credence, answers",
                "MajorityVote",
                "DawidSkene",
                "yes/no - DawidSkene (points)",
                "Credence chose (yes/no)",
            ],
            rows,
        )
        + f"\nMeans over the {len(results)} stores:\n\n"
        + table(["method", "accuracy", "top-answer ECE"], means)
        + f"\nStores where the yes/no load is more than {100 * DS_MARGIN:g} points below "
        f"DawidSkene: {below} of {len(results)}\n"
    )


if __name__ == "__main__":
    main()
