"""What the fit can learn about sources, one class per structure (in the manner of crowd-kit).

Each structure says how likely a source's stance is under each state of its
question; EM alternates the claims' posteriors (``_e_step``) and the sources'
parameters (``_m_step``). ``__init__`` only stores parameters; ``fit`` returns
self; fitted attributes end in ``_``. ``docs/model-fit.md`` states the model.

One module a structure, as crowd-kit has one aggregator a file:

- ``one_coin``: ``OneCoin``, one reliability a source, whose EM the others extend;
- ``shrunk``: ``_Shrunk``, base of the next two: more than one number a source, shrunk to one coin;
- ``confusion_matrices``: ``ConfusionMatrices``, a confusion matrix a source over answer classes;
- ``two_coins``: ``TwoCoins``, a coin per stance on yes/no claims.
"""

from scoring.fit.structures.confusion_matrices import ConfusionMatrices
from scoring.fit.structures.one_coin import OneCoin
from scoring.fit.structures.two_coins import TwoCoins

__all__ = ["ConfusionMatrices", "OneCoin", "TwoCoins"]
