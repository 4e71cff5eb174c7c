"""Inputs of the model: attributed claims, as plain immutable values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from scoring.numeric.figures import Figure

Stance = Literal["supports", "refutes", "neutral"]

STANCE_SIGN: dict[str, int] = {"supports": 1, "refutes": -1, "neutral": 0}

# The prior a resolved answer is scored with beside its question's open answers: as
# good as its outcome (the log-odds' own bound, ``evidence.EPS``), so that a confirmed
# answer leaves the others next to nothing and a refuted one drops out of the share.
# Only for scoring siblings: a fit learns from the outcome itself.
SETTLED_PRIOR = {True: 1 - 1e-9, False: 1e-9}


@dataclass(frozen=True, slots=True)
class Attribution:
    """One source's stance on one claim, possibly relayed.

    Parameters
    ----------
    source : str
        The original source's id.
    stance : {"supports", "refutes", "neutral"}
        ``neutral`` is on record without taking a side and carries no weight.
    via : tuple of str
        The relay chain, nearest the source first. Each relay's reliability is
        read as the chance it passed the statement on faithfully.
    certainty : float in (0, 1]
        Hedged wording ("reportedly") lowers it; discounts like a relay.
    count : int >= 1
        How many distinct unnamed sources of this kind stand behind it.
    """

    source: str
    stance: Stance = "supports"
    via: tuple[str, ...] = ()
    certainty: float = 1.0
    count: int = 1


@dataclass(frozen=True, slots=True)
class Claim:
    """A statement that is true or false, with the attributions bearing on it.

    Parameters
    ----------
    attributions : tuple of Attribution
    prior : float in (0, 1) or None
        Base rate before any evidence; ``None`` takes the scorer's default.
    question : str or None
        Claims sharing a question are mutually exclusive answers to it.
    id : str or None
        Carried through to the score, not used by the model.
    text : str or None
        The claim's wording. Where a store's answers come from a small set of
        wordings ("yes", "no"; breeds), a learned model treats each wording as
        an answer class (``scoring.learned.answer_classes``).
    value : Figure or None
        The figure the claim states, in a numeric question (``scoring.numeric``).
    """

    attributions: tuple[Attribution, ...] = ()
    prior: float | None = None
    question: str | None = None
    id: str | None = None
    text: str | None = None
    value: Figure | None = None


def question_units(questions: Iterable[str | int | None]) -> list[list[int]]:
    """Positions of claims grouped into what must be scored together.

    Parameters
    ----------
    questions : iterable of str, int or None
        Each claim's question (its id, or an index); None for none.

    Returns
    -------
    list of list of int
        A claim without a question alone; the claims of one question
        together, at the place of its first claim. Positions keep their order.
    """
    units: list[list[int]] = []
    by_question: dict[str | int, list[int]] = {}
    for i, question in enumerate(questions):
        if question is None:
            units.append([i])
        elif question in by_question:
            by_question[question].append(i)
        else:
            units.append(by_question.setdefault(question, [i]))
    return units
