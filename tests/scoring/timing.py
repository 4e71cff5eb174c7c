"""Time ``ClaimScorer.score`` (not a test): ``.venv/bin/python -m tests.scoring.timing``."""

from __future__ import annotations

import timeit
from functools import partial

from scoring import Attribution, Beta, Claim, ClaimScorer, SourceBelief


def _claims(n: int) -> list[Claim]:
    return [
        Claim(
            (
                Attribution(f"src-{i % 40}", via=(f"outlet-{i % 7}",)),
                Attribution(f"src-{(i + 13) % 40}", "refutes", certainty=0.8),
                Attribution("officials", count=3),
            ),
            id=f"c{i}",
        )
        for i in range(n)
    ]


def main() -> None:
    sources = {
        f"src-{i}": SourceBelief(Beta(4 + i % 5, 2), f"gov:{i % 4}" if i % 3 else None)
        for i in range(40)
    }
    sources |= {f"outlet-{i}": SourceBelief(Beta(20, 3)) for i in range(7)}
    scorer = ClaimScorer()
    for n in (1, 100, 1000):
        claims = _claims(n)
        scorer.score(claims, sources)  # warm the draw cache, as a running service would be
        runs = max(5, 2000 // n)
        best = min(timeit.repeat(partial(scorer.score, claims, sources), number=runs, repeat=5))
        per_call = best / runs
        print(
            f"{n:5d} claims x 3 attributions: {per_call * 1e6:9.1f} us/call, "
            f"{per_call / n * 1e6:7.1f} us/claim"
        )


if __name__ == "__main__":
    main()
