"""The HTTP API: one flask-smorest blueprint per resource.

A new resource adds its blueprint to ``BLUEPRINTS``; each view declares the
role it needs with ``service.web.auth.requires`` (unmarked: read for GET, admin
otherwise).
"""

from __future__ import annotations

from flask_smorest import Api, Blueprint

from service.api import (
    calibration,
    claims,
    health,
    imports,
    jobs,
    questions,
    resolutions,
    score,
    sources,
)

BLUEPRINTS: list[Blueprint] = [
    health.blp,
    score.blp,
    claims.blp,
    imports.blp,
    sources.blp,
    questions.blp,
    resolutions.blp,
    jobs.blp,
    calibration.blp,
]


def register(api: Api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
