"""A re-run of a benchmark keeps the hand-written notes of the results file it replaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import common

RUN_OUTPUT = "# bench/x\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
EARLIER = (
    "# bench/x\n\n| a | b |\n|---|---|\n| 0 | 0 |\n\n## sqlite\n\nmade by the bench\n\n"
    "## Note (hand-written, session 16)\n\nThe table above is main at abc.\n\n"
    "## Notes (added by hand, session 14)\n\n- figures\n"
)


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    return tmp_path


def test_a_first_run_writes_only_its_output(results: Path) -> None:
    common.write_results("x", RUN_OUTPUT)
    assert (results / "x.md").read_text() == RUN_OUTPUT


def test_a_rerun_keeps_the_notes_and_drops_the_old_output(results: Path) -> None:
    (results / "x.md").write_text(EARLIER)
    common.write_results("x", RUN_OUTPUT)
    text = (results / "x.md").read_text()
    assert text.startswith(RUN_OUTPUT.rstrip("\n"))
    assert "| 0 | 0 |" not in text and "made by the bench" not in text
    assert "## Note (hand-written, session 16)\n\nThe table above is main at abc.\n" in text
    assert "## Notes (added by hand, session 14)\n\n- figures\n" in text
    # Said once that the notes are about earlier runs' tables.
    assert text.index(common.KEPT_HEADING) < text.index("## Note (hand-written")


def test_notes_are_kept_once_however_many_reruns(results: Path) -> None:
    (results / "x.md").write_text(EARLIER)
    common.write_results("x", RUN_OUTPUT)
    once = (results / "x.md").read_text()
    common.write_results("x", RUN_OUTPUT)
    assert (results / "x.md").read_text() == once
    assert once.count(common.KEPT_HEADING) == 1
    assert once.count("## Note (hand-written, session 16)") == 1
