"""Opaque cursors for keyset pagination by id."""

from __future__ import annotations

import base64

from flask_smorest import abort

from service.schemas.requests import SLUG_RE

DEFAULT_LIMIT = 100


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The id after which the page starts; a 422 naming ``cursor`` if it is not one of ours."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII text
        after = ""
    # Every id a page is ordered by is a slug: anything else (a NUL, which PostgreSQL
    # cannot compare as text, or text a client made up) is no cursor of ours.
    if not SLUG_RE.fullmatch(after):
        abort(422, errors={"cursor": ["Not a valid cursor."]})
    return after


def page_limit(requested: int | None, maximum: int) -> int:
    if requested is not None and requested > maximum:
        abort(422, errors={"limit": [f"Must be at most {maximum}."]})
    return requested or min(DEFAULT_LIMIT, maximum)
