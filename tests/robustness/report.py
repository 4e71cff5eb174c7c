"""Figures of the robustness tests, for ``bench/robustness.py``.

When ``CREDENCE_ROBUSTNESS_REPORT`` names a file, each test adds what it measured
(counts, durations) to that JSON file under a section and a key; otherwise
nothing is written. The tests assert behaviour only, never timings.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

REPORT_ENV = "CREDENCE_ROBUSTNESS_REPORT"


def record(section: str, key: str, data: Any) -> None:
    name = os.environ.get(REPORT_ENV)
    if not name:
        return
    path = Path(name)
    path.touch()
    with path.open("r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        raw = handle.read()
        report: dict[str, Any] = json.loads(raw) if raw.strip() else {}
        report.setdefault(section, {})[key] = data
        handle.seek(0)
        handle.truncate()
        json.dump(report, handle, indent=1, default=str)
