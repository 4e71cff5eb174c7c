"""What one app instance holds in memory, and the once-per-request freshness check."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from service import counters
from service.auth import KeyRing
from service.db import get_engine
from service.model_setup import ModelSetup
from service.settings import Settings
from service.source_book import SourceBook, SourceBookCache


@dataclass
class AppState:
    settings: Settings
    setup: ModelSetup
    sources: SourceBookCache
    keys: KeyRing
    migrations_head: str | None

    def refresh(self) -> None:
        """Reload keys and source beliefs if another process changed them.

        One indexed read of the counters table; the reloads happen only when a
        counter moved.
        """
        engine = get_engine()
        values = counters.read_all_fast(engine)
        keys = values.get(counters.API_KEYS, 0)
        reliabilities = values.get(counters.RELIABILITIES, 0)
        if keys != self.keys.version or reliabilities != self.sources.version:
            with engine.connect() as connection:
                self.keys.refresh(connection, keys)
                self.sources.refresh(connection, reliabilities)

    @property
    def book(self) -> SourceBook:
        return self.sources.book


def state() -> AppState:
    app_state: AppState = current_app.extensions["credence"]
    return app_state
