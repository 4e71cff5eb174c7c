"""What one app instance holds in memory, and the once-per-request freshness check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from service.scoring_model import ScoringModel
from service.settings import Settings
from service.store import change_counters
from service.store.resolutions import ResolutionContext
from service.store.source_beliefs import SourceBook, SourceBookCache
from service.web.auth import KeyRing
from service.web.database import get_engine


@dataclass
class AppState:
    settings: Settings
    setup: ScoringModel
    sources: SourceBookCache
    keys: KeyRing
    _counters: change_counters.CounterReader | None = field(default=None, repr=False)

    def refresh(self) -> None:
        """Reload keys and source beliefs if another process changed them.

        One read of the counters table, on every call (so a change committed by
        any process before this request started is seen), on a connection this
        process keeps for it; the reloads happen only when a counter moved.
        """
        engine = get_engine()
        reader = self._counters
        if reader is None or reader.engine is not engine:
            reader = self._counters = change_counters.CounterReader(engine)
        values = reader.read_all()
        keys = values.get(change_counters.API_KEYS, 0)
        reliabilities = values.get(change_counters.RELIABILITIES, 0)
        if keys != self.keys.version or reliabilities != self.sources.version:
            with engine.connect() as connection:
                self.keys.refresh(connection, keys)
                self.sources.refresh(connection, reliabilities)

    @property
    def book(self) -> SourceBook:
        return self.sources.book

    def resolution_context(self) -> ResolutionContext:
        """What resolving a claim needs: the model, the learning settings and the beliefs."""
        return ResolutionContext(
            self.setup, self.settings.learning, self.book, self.sources.version
        )

    def grader(self) -> Callable[[str], str]:
        """Each source's current Admiralty letter, for the scores of one response."""
        return self.setup.grader(self.book.beliefs)


def state() -> AppState:
    app_state: AppState = current_app.extensions["credence"]
    return app_state
