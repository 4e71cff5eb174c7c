"""The analyst console: HTML pages over the API's data, and the offline API docs."""

from service.console.views import register

__all__ = ["register"]
