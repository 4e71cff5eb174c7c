"""MISP enrichment module: score an attribute's statement with Credence.

Drop this file into misp-modules' ``misp_modules/modules/expansion/`` (it needs
only the standard library). Configure ``url`` (e.g. ``https://credence.example``)
and ``apikey`` (a key with the ``read`` role) in MISP's plugin settings; ``sources``
is an optional comma-separated list of Credence source ids assumed when the
attribute names none.

The attribute's value is the statement. Its sources are the values of its tags
``credence:source="<id>"`` (MISP sends the attribute with its tags in the
``attribute`` member of the query), else the configured ``sources``. The module
asks ``POST /v1/score``, which stores nothing, and answers with the statement,
the score's summary as the comment and the score's MISP admiralty-scale tags
(``admiralty-scale:source-reliability="b"``,
``admiralty-scale:information-credibility="2"``).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

misperrors = {"error": "Error"}
mispattributes = {"input": ["text", "comment"], "output": ["text"]}
moduleinfo = {
    "version": "1.0",
    "author": "Credence",
    "description": "Score a statement by who said it, with the Admiralty code of its sources.",
    "module-type": ["expansion", "hover"],
    "name": "Credence score",
    "requirements": ["A Credence service and an API key with the read role."],
    "features": (
        "Sends the attribute's text and its credence:source tags to Credence's /v1/score and "
        "returns the score as admiralty-scale tags and a comment."
    ),
    "input": "A text or comment attribute stating a claim.",
    "output": "The claim with admiralty-scale tags and the score's summary as its comment.",
}
moduleconfig = ["url", "apikey", "sources"]

SOURCE_TAG = re.compile(r'^credence:source="([^"]+)"$')
TIMEOUT_SECONDS = 30


def _sources(request: dict[str, Any], config: dict[str, Any]) -> list[str]:
    attribute = request.get("attribute")
    tags = attribute.get("Tag", []) if isinstance(attribute, dict) else []
    tagged = [
        m.group(1)
        for t in tags
        if isinstance(t, dict) and (m := SOURCE_TAG.match(str(t.get("name", ""))))
    ]
    configured = [s.strip() for s in str(config.get("sources") or "").split(",") if s.strip()]
    return list(dict.fromkeys(tagged or configured))


def _score(url: str, key: str | None, text: str, sources: list[str]) -> dict[str, Any]:
    body = {"claims": [{"text": text, "attributions": [{"source": s} for s in sources]}]}
    req = urllib.request.Request(
        url.rstrip("/") + "/v1/score",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as resp:
        score: dict[str, Any] = json.loads(resp.read())["scores"][0]
        return score


def _problem(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
        fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in body.get("errors", {}).items())
        return f"Credence answered {exc.code}: {body.get('detail', '')} {fields}".strip()
    except (ValueError, AttributeError):
        return f"Credence answered {exc.code}."


def handler(q: str | bool = False) -> dict[str, Any] | bool:
    if q is False:
        return False
    request = json.loads(str(q))
    config = request.get("config") or {}
    if not config.get("url"):
        return {"error": "Set the Credence url in the module's configuration."}
    text = next((request[t] for t in mispattributes["input"] if request.get(t)), None)
    if text is None:
        return {"error": "A text or comment attribute is needed."}
    try:
        score = _score(config["url"], config.get("apikey"), text, _sources(request, config))
    except urllib.error.HTTPError as exc:
        return {"error": _problem(exc)}
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        return {"error": f"Credence could not be reached: {exc}"}
    return {
        "results": [
            {
                "types": mispattributes["output"],
                "values": [text],
                "comment": f"Credence {score['admiralty']}: {score['summary']}",
                "tags": score["tags"],
            }
        ]
    }


def introspection() -> dict[str, Any]:
    return mispattributes


def version() -> dict[str, Any]:
    moduleinfo["config"] = moduleconfig
    return moduleinfo
