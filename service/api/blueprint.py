"""The API's blueprint: flask-smorest's, with the service's request body parser."""

from __future__ import annotations

import flask_smorest

from service.web.json_provider import JSONBodyParser


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint whose views parse JSON bodies with ``JSONBodyParser``
    (set on the class: ``arguments`` binds the parser as each view is declared)."""

    ARGUMENTS_PARSER = JSONBodyParser()
