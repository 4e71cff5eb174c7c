"""Helpers shared by the benchmarks: where the shared data is, the machine, processes' CPU,
the results file."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
# ../shared beside the checkout: read-only data that benchmarks may use when it is there
# (CREDENCE_SHARED names it elsewhere, e.g. from a git worktree).
SHARED = Path(os.environ.get("CREDENCE_SHARED") or Path(__file__).resolve().parents[2] / "shared")


def shared_path(*parts: str) -> Path | None:
    """A path under the shared directory, or None (with a message) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        print(f"skipped: {path} is not there (the shared data sits beside the checkout)")
        return None
    return path


def process_cpu_seconds(pids: Iterable[int | str]) -> float:
    """CPU seconds (user + system) used so far by the processes ``pids``, from /proc;
    a process gone since it was listed counts nothing."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def header(title: str, command: str) -> str:
    """Markdown title with the date, the command and the machine, for a results file."""
    cpus = os.cpu_count()
    return "\n".join(
        [
            f"# {title}",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- command: `{command}`",
            f"- machine: {platform.platform()}, {platform.machine()}, {cpus} CPUs",
            f"- python {platform.python_version()}, numpy {np.__version__}",
            # Timings on a shared machine move with its load: state it with the figures.
            "- load average at the start (1, 5, 15 min): "
            + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
            "",
        ]
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; floats are written with 4 significant decimals."""

    def cell(value: object) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


KEPT_HEADING = "## Notes kept from earlier runs"
KEPT_NOTES = (
    f"{KEPT_HEADING}\n\n"
    "Written by hand about the runs they name; where one says *the table above*, it means"
    " that run's table, not this file's.\n"
)


def write_results(name: str, markdown: str) -> Path:
    """Write ``bench/results/<name>.md`` and echo it; the hand-written notes of the file
    it replaces (its ``## Note...`` sections) are kept at its end."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    notes = hand_written_notes(path.read_text()) if path.exists() else []
    if notes:
        markdown = "\n".join([markdown.rstrip("\n"), "", KEPT_NOTES, *notes])
    path.write_text(markdown)
    sys.stdout.write(markdown)
    print(f"\nwritten to {path}")
    return path


def hand_written_notes(markdown: str) -> list[str]:
    """The ``## Note ...`` and ``## Notes ...`` sections of a results file, each up to the
    next ``## `` heading: what a person added to a run's output, which a re-run must
    not lose (git keeps it, but the next reader of the file would not see it)."""
    sections = [f"## {part}" for part in ("\n" + markdown).split("\n## ")[1:]]
    return [
        section.rstrip("\n") + "\n"
        for section in sections
        if section.startswith(("## Note ", "## Notes ")) and not section.startswith(KEPT_HEADING)
    ]
