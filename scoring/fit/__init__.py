"""Learning source reliabilities from a whole store at once (batch EM, structure chosen from data).

- ``data``: ``FitData``, the store as flat arrays;
- ``layout``: every question's states and each row's weight;
- ``structures``: ``OneCoin``, ``ConfusionMatrices`` and ``TwoCoins``, each in a module of its own
  with its E- and M-step;
- ``selection``: k-fold criteria and the temperature search;
- ``learner``: ``ReliabilityLearner``, the product's learner.

``docs/model-fit.md`` states the model.
"""

from scoring.fit.data import FitData
from scoring.fit.layout import Layout
from scoring.fit.learner import ReliabilityLearner
from scoring.fit.structures import ConfusionMatrices, OneCoin, TwoCoins

__all__ = ["ConfusionMatrices", "FitData", "Layout", "OneCoin", "ReliabilityLearner", "TwoCoins"]
