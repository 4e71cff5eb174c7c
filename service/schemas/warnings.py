"""Warnings: input that is valid but probably not what the client meant.

A 200 response that scored claims lists them as ``{"field", "code", "detail"}``
(fields named ``claims[0].attributions[1].source``); in strict mode
(``?strict=true``, or ``[api] strict = true``) the same cases are a 422 naming
each field, and nothing is stored. The codes:

- ``undefined-source``, ``undefined-relay``: an id defined neither through the
  API nor in the shipped catalogue (nor, in ``POST /v1/score``, in the call's
  ``sources``): often a typo, and scored with the unknown-source prior.
- ``duplicate-attribution``: the same attribution twice in one claim (or, when
  adding evidence, one the claim already has): counted once, so probably a
  copy or a retried request.
- ``lone-answer``: a claim whose question has no other answer, in the call or
  the store: a question id with a typo makes an answer compete with nothing.
- ``duplicate-answer``: a claim of a (choice) question with the same text as another
  claim of that question, in the call or the store: the two compete as different
  answers, so their sources count against each other (one claim per answer, every
  source that gives it among its attributions, is what was meant, as when crowd
  answers are loaded one row at a time).
- ``attributions-removed``: a re-post of a stored claim dropped attributions it
  had (the history lists them): re-posting replaces a claim whole.
- ``prior-ignored``: a STIX import with a key of the write role defined a new
  source without the prior the bundle gives it (``x_opencti_reliability``,
  ``confidence``, ``x_credence_prior``): priors need the admin role.
- ``hindsight``: an attribution of a resolved claim (or of an answer its
  question's value judged) observed after the outcome was recorded: no forecast,
  so it earns its source no hit or miss. A backfill that gives no
  ``observed_at`` looks like this; the time the source said it fixes that.

The rules that make input invalid (a relay chain that loops back to its
source or repeats a relay, among others) are in ``service.schemas.requests``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_smorest import abort

UNDEFINED_SOURCE = "undefined-source"
UNDEFINED_RELAY = "undefined-relay"
DUPLICATE_ATTRIBUTION = "duplicate-attribution"
LONE_ANSWER = "lone-answer"
DUPLICATE_ANSWER = "duplicate-answer"
ATTRIBUTIONS_REMOVED = "attributions-removed"
PRIOR_IGNORED = "prior-ignored"
HINDSIGHT = "hindsight"
CODES = (
    UNDEFINED_SOURCE,
    UNDEFINED_RELAY,
    DUPLICATE_ATTRIBUTION,
    LONE_ANSWER,
    DUPLICATE_ANSWER,
    ATTRIBUTIONS_REMOVED,
    PRIOR_IGNORED,
    HINDSIGHT,
)

# Spelling suggestions compare an id with every defined one (~15 ms among 10,000): only this many
# undefined ids per request get one, so a batch of new sources stays cheap.
_SUGGESTED_PER_REQUEST = 4


@dataclass(frozen=True, slots=True)
class InputWarning:
    field: str
    """Path of the field, e.g. ``claims[0].attributions[1].source``."""
    code: str
    detail: str

    def document(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "detail": self.detail}


class UndefinedIds:
    """Names the undefined ids of one request, with a suggestion for the first few."""

    def __init__(self, defined: Collection[str]) -> None:
        self.defined = defined
        self.said: dict[tuple[str, str], str] = {}
        self.suggested: dict[str, str] = {}

    def detail(self, source_id: str, what: str) -> str:
        said = self.said.get((source_id, what))
        if said is None:
            said = (
                f"{source_id} is not defined (neither through the API nor in the catalogue); "
                f"the {what} is scored with the unknown-source prior"
            )
            suggestion = self.suggested.get(source_id)
            if suggestion is None and len(self.suggested) < _SUGGESTED_PER_REQUEST:
                close = difflib.get_close_matches(source_id, self.defined, n=1, cutoff=0.8)
                suggestion = self.suggested[source_id] = (
                    f". Did you mean {close[0]}?" if close else ""
                )
            said += suggestion or ""
            self.said[(source_id, what)] = said
        return said


def undefined_detail(source_id: str, what: str, defined: Collection[str]) -> str:
    """What the ``undefined-source`` warning says of ``source_id`` (a ``what``, e.g.
    "attribution"), with its suggestion among ``defined``."""
    return UndefinedIds(defined).detail(source_id, what)


def attribution_warnings(
    attributions: Sequence[Mapping[str, Any]],
    prefix: str,
    defined: Collection[str],
    stored: Iterable[Mapping[str, Any]] = (),
    undefined: UndefinedIds | None = None,
) -> list[InputWarning]:
    """Warnings of one claim's (validated) attributions, fields under ``prefix``
    (``claims[0].attributions``); ``stored`` are attributions the claim already has."""
    # Written for speed: it runs for every attribution of every scoring request.
    undefined = undefined or UndefinedIds(defined)
    warnings: list[InputWarning] = []
    # What tells attributions apart, to the first one (its position, or a stored one's name).
    seen: dict[tuple[Any, ...], int | str] = {}
    for n, a in enumerate(stored):
        key = (a["source"], a["stance"], tuple(a["via"]), a["certainty"], a["count"])
        seen.setdefault(key, f"stored attribution #{n + 1}")
    for j, a in enumerate(attributions):
        source, via = a["source"], a["via"]
        if source not in defined:
            detail = undefined.detail(source, "source")
            warnings.append(InputWarning(f"{prefix}[{j}].source", UNDEFINED_SOURCE, detail))
        for k, relay in enumerate(via):
            if relay not in defined:
                detail = undefined.detail(relay, "relay")
                warnings.append(InputWarning(f"{prefix}[{j}].via[{k}]", UNDEFINED_RELAY, detail))
        first = seen.setdefault((source, a["stance"], tuple(via), a["certainty"], a["count"]), j)
        if first != j:
            same = first if isinstance(first, str) else f"{prefix}[{first}]"
            warnings.append(
                InputWarning(
                    f"{prefix}[{j}]",
                    DUPLICATE_ATTRIBUTION,
                    f"the same attribution as {same} (source, stance, via, certainty and "
                    "count): probably a copy; the two count as one piece of evidence",
                )
            )
    return warnings


def claim_warnings(
    claims: Sequence[Mapping[str, Any]],
    defined: Collection[str],
    question_sizes: Mapping[str, int] | None = None,
    stored_answers: Mapping[tuple[str, str], str] | None = None,
) -> list[InputWarning]:
    """Warnings of a batch of (validated) request claims.

    ``question_sizes`` counts the answers of each question the batch names, in
    the store (after the batch is stored); without it, the batch's own.
    ``stored_answers`` names, by (question, text), a stored claim outside the
    batch that gives the same answer as one of the batch's claims.
    """
    undefined = UndefinedIds(defined)
    warnings: list[InputWarning] = []
    if question_sizes is None:
        sizes: dict[str, int] = {}
        for c in claims:
            if c.get("question") is not None:
                sizes[c["question"]] = sizes.get(c["question"], 0) + 1
        question_sizes = sizes
    # Who gave each (question, text) first: a stored claim, else the batch's first.
    answered = {key: f"stored claim {claim_id}" for key, claim_id in (stored_answers or {}).items()}
    for i, c in enumerate(claims):
        warnings += attribution_warnings(
            c["attributions"], f"claims[{i}].attributions", defined, undefined=undefined
        )
        question = c.get("question")
        if question is None:
            continue
        if question_sizes.get(question, 1) <= 1:
            warnings.append(
                InputWarning(
                    f"claims[{i}].question",
                    LONE_ANSWER,
                    f"no other claim answers question {question}: its answers compete with none",
                )
            )
        # A numeric question's figures may repeat: equal figures agree there.
        if c.get("value") is None:
            this = f"claims[{i}]"
            first = answered.setdefault((question, c["text"]), this)
            if first != this:
                warnings.append(
                    InputWarning(
                        f"claims[{i}].text",
                        DUPLICATE_ANSWER,
                        f"{first} gives the same answer to question {question}: claims of "
                        "one question compete as different answers, so the two claims' "
                        "sources count against each other; give one claim every source of "
                        "an answer (POST /v1/claims/{id}/attributions adds to a stored one)",
                    )
                )
    return warnings


def removed_warning(index: int, removed: Sequence[Mapping[str, Any]]) -> InputWarning:
    """The warning of a re-post (claim ``index`` of the batch) that removed ``removed``."""
    listed = "; ".join(
        f"{r['source']}{' via ' + ' via '.join(r['via']) if r['via'] else ''} {r['stance']}"
        for r in removed[:5]
    )
    more = f"; and {len(removed) - 5} more" if len(removed) > 5 else ""
    return InputWarning(
        f"claims[{index}].attributions",
        ATTRIBUTIONS_REMOVED,
        f"the re-post replaced the stored claim and removed {len(removed)} of its "
        f"attributions ({listed}{more}); its history lists them",
    )


def hindsight_warning(field: str, source_id: str, recorded_at: datetime) -> InputWarning:
    """The warning of attribution ``field`` by ``source_id``, observed after its claim's
    outcome was recorded at ``recorded_at``."""
    return InputWarning(
        field,
        HINDSIGHT,
        f"observed after the claim's outcome was recorded ({recorded_at:%Y-%m-%d %H:%M} UTC), "
        f"so it is no forecast and earns {source_id} no hit or miss; give its observed_at "
        "if it was said before",
    )


def dotted_field(field: str) -> str:
    """``claims[0].attributions[1].source`` as the problem's ``claims.0.attributions.1.source``."""
    return re.sub(r"\[(\d+)\]", r".\1", field)


def refuse_if_strict(warnings: Sequence[InputWarning], strict: bool) -> None:
    """In strict mode, any warning is a 422 naming its field, as ``code: detail`` (the
    caller has stored nothing yet, or its transaction is rolled back)."""
    if not (strict and warnings):
        return
    errors: dict[str, list[str]] = {}
    for w in warnings:
        errors.setdefault(dotted_field(w.field), []).append(f"{w.code}: {w.detail}")
    abort(
        422,
        message="Strict mode: the request has input that is only warned about otherwise.",
        errors=errors,
    )
