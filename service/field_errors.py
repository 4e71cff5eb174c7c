"""Marshmallow's nested error messages as one flat map of dotted field paths.

Every place that reports validation errors (the API's problem details, the
settings, the source catalogue, ``credence import``) names fields this way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Top-level schema errors ("Invalid input type.") are reported under this key.
ROOT = "body"


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested error dict as ``{"claims.3.attributions.0.certainty": [...]}``."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
            for path, msgs in flatten_messages(value, name).items():
                flat.setdefault(path, []).extend(msgs)
        return flat
    if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        return {prefix or ROOT: list(messages)}
    return {prefix or ROOT: [str(messages)]}
