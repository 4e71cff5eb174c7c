"""Questions: their definitions, what the scorer needs of them, and their figures.

A question is defined (``PUT /v1/questions/{id}``) or only named by claims. An
undefined question is a choice question unless its claims carry values; then
it is numeric with the default scale and tolerance (docs/model.md, "Numeric
questions"). Claims' values are stored as given (``{"point": 1500}``,
``{"low": 1000}``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

import scoring
from scoring import Beta
from scoring.numeric import (
    ErrorScale,
    Figure,
    NumericQuestion,
    NumericScorer,
    QuestionKinds,
    QuestionScorer,
    Scored,
)
from scoring.numeric.figures import Scale
from service.store.db import slices
from service.store.models import Claim, Question, SourceReliability

_IDS_PER_QUERY = 5_000
CHOICE, NUMERIC = "choice", "numeric"


def figure_of(value: Mapping[str, Any] | None) -> Figure | None:
    """A stored or validated request value as the scoring library's figure."""
    if value is None:
        return None
    if value.get("point") is not None:
        return Figure.point(float(value["point"]))
    return Figure(value.get("low"), value.get("high"))


def numeric_question(row: Question) -> NumericQuestion:
    """A numeric question's definition as the scoring library takes it."""
    scale: Scale = "linear" if row.scale == "linear" else "log"
    return NumericQuestion(row.id, scale, row.tolerance, row.unit or "")


def kinds_of(rows: Iterable[Question]) -> QuestionKinds:
    numeric, choice = {}, set()
    for row in rows:
        if row.kind == NUMERIC:
            numeric[row.id] = numeric_question(row)
        else:
            choice.add(row.id)
    return QuestionKinds(numeric, frozenset(choice))


def defined_questions(session: Session, ids: Iterable[str]) -> dict[str, Question]:
    """Defined questions among ``ids``, by id."""
    wanted = sorted(set(ids))
    found: dict[str, Question] = {}
    for chunk in slices(wanted, _IDS_PER_QUERY):
        found.update(
            (q.id, q) for q in session.scalars(select(Question).where(Question.id.in_(chunk)))
        )
    return found


def question_kinds(session: Session, claims: Sequence[scoring.Claim]) -> QuestionKinds:
    """What is defined of the questions ``claims`` name."""
    return kinds_of(
        defined_questions(session, (c.question for c in claims if c.question is not None)).values()
    )


_R = SourceReliability
# Built once: every POST /v1/score asks for the error scales of its figures' sources,
# and building the statement each time was ~0.06 of the ~0.51 ms of CPU a 1-claim
# request took in process.
_LEARNED_ERRORS = select(
    _R.source_id, _R.error_shape, _R.error_rate, _R.informative_alpha, _R.informative_beta
).where(_R.error_shape.is_not(None), _R.error_rate.is_not(None))


def learned_error_scales(
    connection: Session | Connection, source_ids: Iterable[str] | None = None
) -> dict[str, ErrorScale]:
    """Learned error scales, by source id: of ``source_ids``, or of every source."""
    query = _LEARNED_ERRORS
    chunks: Iterable[Sequence[str] | None] = [None]
    if source_ids is not None:
        chunks = slices(sorted(set(source_ids)), _IDS_PER_QUERY)
    found: dict[str, ErrorScale] = {}
    for chunk in chunks:
        chosen = query if chunk is None else query.where(_R.source_id.in_(chunk))
        for source_id, shape, rate, alpha, beta in connection.execute(chosen):
            if shape is None or rate is None:
                continue
            informative = Beta(alpha, beta) if alpha is not None and beta is not None else None
            found[source_id] = ErrorScale(shape, rate, informative)
    return found


def error_scale_values(error: ErrorScale) -> dict[str, float | None]:
    """An error scale as the columns of ``source_reliabilities``."""
    informative = error.informative
    return {
        "error_shape": error.shape,
        "error_rate": error.rate,
        "informative_alpha": informative.alpha if informative is not None else None,
        "informative_beta": informative.beta if informative is not None else None,
    }


def value_errors(
    session: Session, claims: Sequence[Mapping[str, Any]], *, with_stored: bool
) -> dict[str, list[str]]:
    """Rules the request claims' values break against their questions, by field path.

    A value in a choice question (defined so, or whose stored answers carry
    none), a numeric question's answer without one, and a figure that is not
    positive on a log scale. ``with_stored``: the claims join their questions'
    stored answers (``POST /v1/claims``), else they are scored alone.
    """
    questions = {c["question"] for c in claims if c.get("question") is not None}
    defined = defined_questions(session, questions)
    own = {c.get("id") for c in claims}
    stored: dict[str, list[bool]] = {q: [] for q in questions}
    if with_stored:
        for q in sorted(questions):
            stored[q] = [v is not None for i, v in stored_values(session, q) if i not in own]
    valued = {c["question"] for c in claims if c.get("value") is not None}
    errors: dict[str, list[str]] = {}
    for i, claim in enumerate(claims):
        question, value = claim.get("question"), claim.get("value")
        if question is None:
            continue
        row = defined.get(question)
        numeric = (
            row.kind == NUMERIC
            if row is not None
            else (question in valued or any(stored[question]))
        )
        message = None
        if value is not None and row is not None and row.kind == CHOICE:
            message = f"Question {question!r} is a choice question: its answers take no value."
        elif value is not None and row is None and not all(stored[question]):
            message = f"Question {question!r} has stored answers without values: no value."
        elif value is None and numeric:
            message = f"Question {question!r} is numeric: each of its answers needs a value."
        elif (
            value is not None
            and (row is None or (row.scale or "log") == "log")
            and any(b is not None and b <= 0 for b in value.values())
        ):
            message = "Figures of a log-scale question must be positive."
        if message is not None:
            errors[f"claims.{i}.value"] = [message]
    return errors


def stored_values(session: Session, question: str) -> list[tuple[str, dict[str, Any] | None]]:
    """Each stored claim of ``question`` with its value, by claim id."""
    rows = session.execute(
        select(Claim.id, Claim.value).where(Claim.question == question).order_by(Claim.id)
    )
    return [(claim_id, value) for claim_id, value in rows]


def answer_ids(session: Session, questions: Sequence[str]) -> dict[str, list[str]]:
    """Each of ``questions``' stored claims, by claim id (a page of questions at once)."""
    answers: dict[str, list[str]] = {question: [] for question in questions}
    for chunk in slices(list(answers), _IDS_PER_QUERY):
        rows = session.execute(
            select(Claim.question, Claim.id).where(Claim.question.in_(chunk)).order_by(Claim.id)
        )
        for question, claim_id in rows:
            answers[str(question)].append(claim_id)
    return answers


# The first key of every question's advisory lock: the two-key lock space is apart from
# the one-key space the re-scoring job's lock uses.
_QUESTION_LOCKS = 7_301_001


def lock_questions(session: Session, questions: Iterable[str | None]) -> None:
    """Take, until commit, the write lock of each of ``questions`` (PostgreSQL; SQLite
    writes one request at a time, so there it does nothing).

    Every writer of a question's answers takes it before it locks any row: storing
    answers, resolving or withdrawing them, resolving, withdrawing or redefining the
    question. So writers of one question follow one another, in arrival order: a
    resolution sees every answer stored before it and judges none twice, a sibling
    rescore never overwrites a resolution, and two resolutions cannot deadlock. An
    advisory lock, because a question need not have a row; in id order, so that
    batches of several questions cannot deadlock either.
    """
    ids = sorted({q for q in questions if q is not None})
    if not ids or session.get_bind().dialect.name != "postgresql":
        return
    for chunk in slices(ids, _IDS_PER_QUERY):
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(:locks, hashtext(q)) "
                "FROM unnest(CAST(:ids AS text[])) WITH ORDINALITY AS t(q, n) ORDER BY n"
            ),
            {"locks": _QUESTION_LOCKS, "ids": list(chunk)},
        )


def open_figure_ids(session: Session, questions: Sequence[str]) -> list[str]:
    """The open claims of ``questions`` that state a figure, in id order."""
    found: list[str] = []
    for chunk in slices(questions, _IDS_PER_QUERY):
        found.extend(
            session.scalars(
                select(Claim.id)
                .where(Claim.question.in_(chunk), Claim.status == "open", Claim.value.is_not(None))
                .order_by(Claim.id)
            )
        )
    return found


def score_question(
    session: Session,
    scorer: scoring.ClaimScorer,
    beliefs: Mapping[str, scoring.SourceBelief],
    claims: Sequence[scoring.Claim],
) -> Scored:
    """Score ``claims`` (whole questions) by their questions' kinds, with learned error scales."""
    return question_scorer(scorer).score(
        claims,
        beliefs,
        kinds=question_kinds(session, claims),
        errors=learned_error_scales(
            session, (a.source for c in claims if c.value is not None for a in c.attributions)
        ),
    )


def question_scorer(scorer: scoring.ClaimScorer) -> QuestionScorer:
    """The scorer of choice and numeric questions that goes with ``scorer``: same
    settings, and the learned model ``scorer`` is bound to (``with_model``) for the
    choice questions; built per call because each bound scorer is a fresh copy."""
    return QuestionScorer(scorer, NumericScorer(scorer.params))


def save_question(
    session: Session, question_id: str, body: Mapping[str, Any], now: datetime
) -> dict[str, list[str]]:
    """Create or replace a question's definition; the errors that refuse it, if any.

    A definition must fit the question's stored answers: no values in a choice
    question, a value on each answer of a numeric one, positive figures on a
    log scale. Nothing is written when it does not.
    """
    kind = body.get("kind", CHOICE)
    scale = body.get("scale", "log") if kind == NUMERIC else None
    stored = stored_values(session, question_id)
    if kind == CHOICE and any(value is not None for _, value in stored):
        return {"kind": ["Its stored answers carry values: it can only be numeric."]}
    if kind == NUMERIC:
        if any(value is None for _, value in stored):
            return {"kind": ["Some of its stored answers carry no value: it cannot be numeric."]}
        if scale == "log" and any(
            b is not None and b <= 0 for _, value in stored for b in (value or {}).values()
        ):
            return {"scale": ["Some of its stored figures are not positive: use a linear scale."]}
    values = {
        "id": question_id,
        "text": body.get("text"),
        "kind": kind,
        "unit": body.get("unit"),
        "scale": scale,
        "tolerance": body.get("tolerance") if kind == NUMERIC else None,
        "updated_at": now,
    }
    row = session.get(Question, question_id)
    if row is None:
        session.add(Question(**values, created_at=now))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()
    return {}
