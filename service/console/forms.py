"""The console's forms and filters as the API's request bodies and query arguments.

Only the shape changes here (strings to numbers, a comma list to a list,
percentages to probabilities); the API's schemas judge the values, so a form
is refused for the same reasons, with the same field names, as the API call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Claim-list filters passed to GET /v1/claims as they are.
_CLAIM_FILTERS = ("q", "status", "tag", "source", "question", "cursor")
PAGE_SIZE = 50


def _number(text: str) -> float | int | str:
    """``text`` as an int or float when it reads as one; else as is, for the schema to refuse."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def filled(form: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The named fields of ``form`` that are not blank, stripped."""
    return {name: form[name].strip() for name in names if form.get(name, "").strip()}


def claim_query(args: Mapping[str, str]) -> dict[str, Any]:
    """GET /v1/claims arguments from the list's filters; confidence bounds are in percent."""
    query: dict[str, Any] = filled(args, _CLAIM_FILTERS)
    for name in ("min_confidence", "max_confidence"):
        value = args.get(name, "").strip()
        if value:
            number = _number(value)
            query[name] = number / 100 if isinstance(number, int | float) else number
    query["limit"] = PAGE_SIZE
    return query


def attribution(form: Mapping[str, str]) -> dict[str, Any]:
    """One attribution for POST /v1/claims/{id}/attributions; ``via`` is comma-separated."""
    body: dict[str, Any] = filled(form, ("source", "stance", "observed_at", "url", "quote"))
    via = [hop.strip() for hop in form.get("via", "").split(",") if hop.strip()]
    if via:
        body["via"] = via
    for name in ("certainty", "count"):
        value = form.get(name, "").strip()
        if value:
            body[name] = _number(value)
    return body


def resolution(form: Mapping[str, str]) -> dict[str, Any]:
    """POST /v1/claims/{id}/resolution's body."""
    return filled(form, ("outcome", "resolved_at", "note"))


# The fields of each way to give a source's prior.
PRIOR_FIELDS = {
    "grade": ("grade",),
    "reliability": ("reliability", "strength"),
    "beta": ("alpha", "beta"),
}


def source(form: Mapping[str, str]) -> dict[str, Any]:
    """PUT /v1/sources/{id}'s body; ``prior_kind`` picks which prior fields count."""
    body: dict[str, Any] = filled(form, ("name", "kind", "group", "notes"))
    kind = form.get("prior_kind", "")
    if kind in PRIOR_FIELDS:
        prior: dict[str, Any] = {}
        for name in PRIOR_FIELDS[kind]:
            value = form.get(f"prior_{name}", "").strip()
            prior[name] = value if name == "grade" else _number(value)
        body["prior"] = prior
    return body
