"""Ids in URL paths: the ``slug`` and ``job_id`` converters, and the 422 for an id that
breaks its rule (answered by the request guard, before the view)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import BaseConverter

from service.schemas.requests import JOB_ID_PATTERN, JOB_ID_RE, SLUG_PATTERN, SLUG_RE


class BrokenId(str):
    """A path id that breaks its rule, as the ``slug``/``job_id`` converters give it.

    Routing still matches (so the endpoint, its role and its methods are known);
    ``path_id_errors`` finds it and the request guard answers 422 before the view.
    """

    rule: str


class _IdConverter(BaseConverter):
    """One path segment; one that breaks ``pattern`` comes out as a ``BrokenId``."""

    pattern = ""
    compiled = re.compile("")
    noun = ""

    def to_python(self, value: str) -> str:
        if self.compiled.match(value) is None:
            broken = BrokenId(value)
            broken.rule = f"Not a valid {self.noun}: {self.pattern}"
            return broken
        return value


class SlugConverter(_IdConverter):
    """``<slug:claim_id>``: the id of a claim or a source."""

    pattern, compiled, noun = SLUG_PATTERN, SLUG_RE, "slug"


class JobIdConverter(_IdConverter):
    """``<job_id:job_id>``: the id of a re-scoring job."""

    pattern, compiled, noun = JOB_ID_PATTERN, JOB_ID_RE, "job id"


def _id_parameter(converter: _IdConverter) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": converter.pattern,
        "description": "An id that breaks this pattern is answered 422, naming `id`.",
    }


def register_path_converters(app: Flask, api: Api) -> None:
    """The id converters, in the URL map and in the OpenAPI document (before any route)."""
    for name, converter in (("slug", SlugConverter), ("job_id", JobIdConverter)):
        app.url_map.converters[name] = converter
        api.register_converter(converter, _id_parameter)


def path_id_errors(view_args: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """``{"id": [message]}`` when a path id breaks its rule (see ``BrokenId``); else empty."""
    for value in (view_args or {}).values():
        if isinstance(value, BrokenId):
            return {"id": [value.rule]}
    return {}
