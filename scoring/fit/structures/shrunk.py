"""``_Shrunk``: the base of ``ConfusionMatrices`` and ``TwoCoins``, one coin with a
``strength``: the pseudo-observations of the priors that shrink each source's numbers
towards its one-coin reliability."""

from __future__ import annotations

from scoring.fit.structures.one_coin import OneCoin


class _Shrunk(OneCoin):
    """A structure with more than one number a source, each row of them under a prior
    centred on the source's one-coin reliability with ``strength`` pseudo-observations
    (``ConfusionMatrices``, ``TwoCoins``)."""

    def __init__(
        self,
        strength: float = 4.0,
        class_prior: bool = False,
        group_strength: float = 0.0,
        max_iter: int = 100,
        tol: float = 1e-6,
    ) -> None:
        super().__init__(class_prior, group_strength, max_iter, tol)
        self.strength = strength

    def describe(self) -> str:
        return super().describe().replace(self.name, f"{self.name} ({self.strength:g})")
