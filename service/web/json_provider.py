"""Flask's JSON provider with orjson writing the response bodies.

A 100-claim score response is ~60 KB of JSON; the standard library encodes it
in ~0.7 ms, orjson in ~0.06 ms. Parsing stays with the standard library (as
Flask and webargs do it): orjson saves only ~50 µs on a 100-claim body and reads
some inputs differently (an integer of more than 64 bits becomes a float).

The output is the same JSON document as Flask's default provider writes, byte
for byte apart from non-ASCII characters (written as UTF-8 rather than
``\\u`` escapes) and number spelling (``1e-5`` for ``1e-05``). Whatever orjson
does not handle the way Flask does (dates, which Flask writes as HTTP dates;
``Decimal``; objects with ``__html__``; subclasses of ``str``, ``int``, ``dict``
or ``list``), and pretty printing in debug mode, goes to Flask's provider
unchanged. One difference is kept: a non-finite float becomes ``null`` where the
standard library writes ``NaN``, which is not JSON at all; no body holds one.

Request bodies are parsed by the standard library too (``JSONBodyParser``, the
API blueprints' parser), refusing a string with a lone surrogate escape
(``"\\ud800"``), which it lets through: such a string is no Unicode text and
could be neither stored nor written back (a 400, as for any malformed JSON).
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

import orjson
from flask import Flask, Request, Response
from flask.json.provider import DefaultJSONProvider
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


# Where a body holds none of these escapes (nearly always) its strings are text.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def loads_text(body: bytes) -> Any:
    """A request body, UTF-8 JSON, parsed as webargs does, refusing lone surrogates.

    Raises
    ------
    json.JSONDecodeError
        Not JSON, a string holding a lone surrogate escape (``"\\ud800"``), or
        arrays or objects nested deeper than Python's recursion limit (a 2 KB body
        of brackets is enough: no request of the contract nests more than a few
        levels).
    UnicodeDecodeError
        Not UTF-8 (``json.loads`` of bytes would guess UTF-16 or UTF-32, where the
        surrogate check, which reads the bytes, would not see an escape). A
        leading byte order mark, which editors on Windows write, is allowed.
    """
    text = body.decode("utf-8-sig")
    try:
        value = json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    if _SURROGATE_ESCAPE.search(body):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise json.JSONDecodeError("a string holds a lone surrogate", exc.object, 0) from None
    return value


class JSONBodyParser(FlaskParser):
    """webargs' parser of the API's request bodies, through ``loads_text``."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return missing
        return loads_text(req.get_data(cache=True))


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


class OrjsonProvider(DefaultJSONProvider):
    """``DefaultJSONProvider`` whose compact output is written by orjson."""

    def _fast(self, obj: Any) -> bytes | None:
        """orjson's encoding of ``obj``, or None where Flask's provider must decide."""
        compact = self.compact if self.compact is not None else not self._app.debug
        if not compact:
            return None
        options = _OPTIONS | orjson.OPT_SORT_KEYS if self.sort_keys else _OPTIONS
        try:
            encoded = orjson.dumps(obj, default=_refuse, option=options)
        except TypeError:
            return None
        return encoded

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if not kwargs:
            encoded = self._fast(obj)
            if encoded is not None:
                return encoded.decode()
        return super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        encoded = self._fast(obj)
        if encoded is None:
            return cast(Response, super().response(*args, **kwargs))
        app = cast(Flask, self._app)
        return app.response_class(encoded + b"\n", mimetype=self.mimetype)
