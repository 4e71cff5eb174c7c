"""The command line's formats: ``credence import``'s report, ``--check`` (a dry run) and
plain CSV with a row per attribution; ``credence export --scores``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from flask import Flask

from service.formats.claim_table import CLAIM_COLUMNS
from tests.service.helpers import row_counts, write_lines


def lines(path: Path, rows: list[Any]) -> str:
    return str(write_lines(path, rows))


ROWS = [
    {"type": "source", "id": "s1", "prior": {"grade": "B"}},
    {"type": "claim", "id": "c1", "text": "one", "attributions": [{"source": "s1"}]},
    {"type": "claim", "id": "c2", "text": "two"},
    {"type": "resolution", "claim_id": "c1", "outcome": "confirmed"},
]


def test_the_report_counts_what_was_stored(run: Any, tmp_path: Path) -> None:
    result = run("import", "--batch-size", "3", lines(tmp_path / "in.jsonl", ROWS))
    assert result.exit_code == 0, result.output
    assert "imported 1 source, 2 claims, 1 resolution (2 batches, lines 1-4)" in result.output


def test_a_bad_row_reports_the_batches_stored_before_it(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    rows = [*ROWS[:3], {"type": "claim", "id": "c3"}, {"type": "claim", "id": "c4", "text": "x"}]
    result = run("import", "--batch-size", "2", lines(tmp_path / "in.jsonl", rows))
    assert result.exit_code == 1
    assert "line 4: text:" in result.output
    assert "Stored before it: 1 source, 1 claim (1 batch, lines 1-2)." in result.output
    assert row_counts(app)["claims"] == 1


def test_a_spreadsheets_csv_utf8_imports_as_written(run: Any, app: Flask, tmp_path: Path) -> None:
    # Excel's "CSV UTF-8": a byte order mark first; and a header ending in a comma.
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "id,text,source,stance,\nx1,caf\u00e9 closed,wire,supports,\n".encode("utf-8-sig")
    )
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    stored = app.test_client().get("/v1/claims/x1").get_json()
    assert stored["text"] == "caf\u00e9 closed" and stored["attributions"][0]["source"] == "wire"


def test_figures_and_tolerances_come_from_a_spreadsheet(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    typed = tmp_path / "questions.csv"
    typed.write_text("type,id,kind,unit,tolerance\nquestion,troops,numeric,troops,0.2\n")
    assert run("import", str(typed)).exit_code == 0
    plain = tmp_path / "figures.csv"
    plain.write_text(
        "id,text,question,value,source\n"
        'f1,About 1500,troops,"1,500",wire\n'
        'f2,Ten thousand,troops,"{""low"": 9000, ""high"": 11000}",gov-a\n'
    )
    result = run("import", str(plain))
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert client.get("/v1/questions/troops").get_json()["tolerance"] == 0.2
    assert client.get("/v1/claims/f1").get_json()["value"] == {"point": 1500.0}
    assert client.get("/v1/claims/f2").get_json()["value"] == {"low": 9000.0, "high": 11000.0}
    table = client.get("/v1/claims?question=troops", headers={"Accept": "text/csv"})
    assert "f1,About 1500,open,troops,1500.0," in table.get_data(as_text=True)


def test_a_bad_row_after_a_cell_of_several_lines_is_named_by_its_first_line(
    run: Any, tmp_path: Path
) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(
        "id,text,source,quote,certainty\n"
        'q1,One,wire,"line one\nline two\nline three",high\n'
        "q2,Two,wire,,also high\n"
    )
    result = run("import", "--check", str(path))
    assert result.exit_code == 1
    assert "line 2: certainty" in result.output and "line 5: certainty" in result.output


def test_a_spreadsheets_header_and_blank_rows_read_as_meant(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "typed.csv"
    path.write_text("ID,Text ,Source\nb1,Capital letters,wire\n,,\n\nb2,After blanks,wire\n")
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 2 claims" in result.output
    path.write_text("id;text;source\nb3;Semicolons;wire\n")
    result = run("import", str(path))
    assert result.exit_code == 1 and "separated by ';'" in result.output


def test_an_id_twice_in_a_file_is_refused(run: Any, app: Flask, tmp_path: Path) -> None:
    before = row_counts(app)
    for kind, extra in (("claim", {"text": "again"}), ("source", {})):
        rows = [*ROWS, {"type": kind, "id": "c1" if kind == "claim" else "s1", **extra}]
        result = run("import", lines(tmp_path / f"{kind}.jsonl", rows))
        assert result.exit_code == 1
        assert f"line 5: id: {kind} {'c1' if kind == 'claim' else 's1'} is on line" in result.output
    assert row_counts(app) == before


def test_check_validates_every_row_and_stores_nothing(run: Any, app: Flask, tmp_path: Path) -> None:
    before = row_counts(app)
    result = run("import", "--check", "--batch-size", "2", lines(tmp_path / "ok.jsonl", ROWS))
    assert result.exit_code == 0, result.output
    assert "checked 1 source, 2 claims, 1 resolution" in result.output
    assert "nothing was stored" in result.output
    bad = [*ROWS, {"type": "claim", "id": "c9", "text": "t", "prior": 2}]
    result = run("import", "--check", lines(tmp_path / "bad.jsonl", bad))
    assert result.exit_code == 1
    assert "line 5: prior:" in result.output and "nothing was stored" in result.output
    assert row_counts(app) == before


def test_check_finds_what_the_store_would_refuse(run: Any, app: Flask, tmp_path: Path) -> None:
    client = app.test_client()
    stored = [{"id": "old", "text": "t"}, {"id": "old-2", "text": "t"}]
    assert client.post("/v1/claims", json={"claims": stored}).status_code == 200
    client.post("/v1/claims/old/resolution", json={"outcome": "confirmed"})
    client.put("/v1/questions/colour", json={"kind": "choice"})
    rows = [
        {"type": "claim", "id": "new", "text": "t"},
        {"type": "claim", "id": "red", "text": "red", "question": "colour", "value": {"point": 1}},
        {"type": "resolution", "claim_id": "new", "outcome": "refuted"},
        {"type": "resolution", "claim_id": "nowhere", "outcome": "refuted"},
        {"type": "resolution", "claim_id": "old", "outcome": "refuted"},
        {"type": "resolution", "claim_id": "old", "outcome": "confirmed"},
        {"type": "resolution", "claim_id": "old-2", "outcome": "confirmed"},
        {"type": "resolution", "claim_id": "new", "outcome": "confirmed"},
    ]
    before = row_counts(app)
    path = lines(tmp_path / "in.jsonl", rows)
    result = run("import", "--check", "--batch-size", "4", str(path))
    assert result.exit_code == 1
    listed = [line.strip() for line in result.output.splitlines() if line.startswith("  line")]
    assert [line.split(":", 1)[0] for line in listed] == ["line 2", "line 4", "line 5", "line 8"]
    assert "value" in listed[0] and "No claim 'nowhere'" in listed[1]
    assert "already confirmed" in listed[2] and "refuted on line 3" in listed[3]
    assert row_counts(app) == before
    # The import itself stops at the first of them, as the check said.
    result = run("import", "--batch-size", "4", str(path))
    assert result.exit_code == 1 and "line 2: value" in result.output


def test_check_lists_every_bad_row(run: Any, app: Flask, tmp_path: Path) -> None:
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text(
        "\n".join(
            [
                json.dumps(ROWS[0]),
                '{"type": "claim", "id": "c1", "text": "one",',
                json.dumps({"type": "claim", "id": "c2", "text": "t", "prior": 2}),
                json.dumps(ROWS[1]),
                json.dumps({"type": "claim", "id": "c1", "text": "again"}),
            ]
        )
        + "\n"
    )
    result = run("import", "--check", "--batch-size", "2", str(jsonl))
    assert result.exit_code == 1
    assert "3 bad rows; nothing was stored (--check):" in result.output
    listed = [line.strip() for line in result.output.splitlines() if line.startswith("  line")]
    assert [line.split(":")[0] for line in listed] == ["line 2", "line 3", "line 5"]
    assert "not valid JSON" in listed[0] and "prior" in listed[1] and "on line 4" in listed[2]
    plain = tmp_path / "bad.csv"
    plain.write_text(
        "id,text,source,certainty\nc1,one,ap,sure\nc2,two,ap,0.5,extra\nc3,three,ap,0.5\n"
        + "".join(f"c{i},t,ap,high\n" for i in range(4, 60))
    )
    before = row_counts(app)
    result = run("import", "--check", str(plain))
    assert result.exit_code == 1
    assert "58 bad rows" in result.output and "and 8 more" in result.output
    assert "line 2: certainty: must be a number" in result.output
    assert "line 3: the row has more cells" in result.output
    # Without --check the import stops at the first, as before.
    result = run("import", str(plain))
    assert result.exit_code == 1 and "line 2: certainty" in result.output
    assert "line 3" not in result.output
    assert row_counts(app) == before


def test_plain_csv_has_a_row_per_attribution(run: Any, app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text(
        "id,text,tags,source,stance,via,certainty,url\n"
        'canal,"The canal is blocked, both ways",suez;shipping,eg-sca,supports,reuters;ap,,\n'
        "canal,,,bsm,supports,,0.8,https://bsm.example/1\n"
        "wind,Wind caused it,,gac,refutes,,,\n"
        "bare,Nobody said it yet,,,,,,\n"
    )
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 3 claims" in result.output
    client = app.test_client()
    canal = client.get("/v1/claims/canal").get_json()
    assert canal["text"] == "The canal is blocked, both ways"
    assert canal["tags"] == ["shipping", "suez"]
    assert [(a["source"], a["via"], a["certainty"]) for a in canal["attributions"]] == [
        ("eg-sca", ["reuters", "ap"], 1.0),
        ("bsm", [], 0.8),
    ]
    assert canal["attributions"][1]["url"] == "https://bsm.example/1"
    assert client.get("/v1/claims/wind").get_json()["attributions"][0]["stance"] == "refutes"
    assert client.get("/v1/claims/bare").get_json()["attributions"] == []


def test_plain_csv_bad_cells_name_their_line(run: Any, app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("id,text,source,certainty\nc1,one,ap,0.5\nc1,,wire,sure\n")
    before = row_counts(app)
    result = run("import", str(path))
    assert result.exit_code == 1
    assert "line 3: certainty: must be a number" in result.output
    assert row_counts(app) == before
    path.write_text("id,text,source,stance\nc1,one,ap,maybe\n")
    result = run("import", str(path))
    assert result.exit_code == 1 and "line 2: attributions.0.stance" in result.output


def test_a_file_not_in_utf8_names_its_line_and_stores_nothing(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,text\nc1,one\nc2,caf\u00e9\n".encode("latin-1"))
    before = row_counts(app)
    for args in (["import", str(path)], ["import", "--check", str(path)]):
        result = run(*args)
        assert result.exit_code == 1
        assert "line 3 is not UTF-8 text" in result.output and "Traceback" not in result.output
    assert row_counts(app) == before


def test_a_csv_that_does_not_parse_as_claims_is_refused(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    cases = {
        # A quote never closed once swallowed every later row into one cell.
        'id,text,source\nu1,"never closed,s1\nu2,ok,s1\nu3,ok,s1\n': "line 2: not valid CSV",
        # A misspelt column once imported claims without their attributions.
        "id,text,sorce,stanse\nm9,typo,reuters,refutes\n": "unknown columns 'sorce', 'stanse'",
        "id,text,source\nx1,ok,s1,extra\n": "line 2: the row has more cells",
        "type,id,text\nclaim,x1,ok,extra\n": "line 2: the row has more cells",
    }
    before = row_counts(app)
    for i, (content, message) in enumerate(cases.items()):
        path = tmp_path / f"case{i}.csv"
        path.write_text(content)
        result = run("import", str(path))
        assert result.exit_code == 1 and message in result.output, (content, result.output)
    assert row_counts(app) == before


def test_export_scores_as_json_lines_and_csv(run: Any, app: Flask, tmp_path: Path) -> None:
    assert run("import", lines(tmp_path / "in.jsonl", ROWS[:3])).exit_code == 0
    stored = {c["id"]: c for c in app.test_client().get("/v1/claims").get_json()["claims"]}
    result = run("export", "--scores")
    assert result.exit_code == 0, result.output
    scores = [json.loads(line) for line in result.stdout.splitlines()]
    assert [s["type"] for s in scores] == ["score", "score"]
    assert {s["claim_id"]: s["admiralty"] for s in scores} == {
        i: c["score"]["admiralty"] for i, c in stored.items()
    }
    table = run("export", "--scores", "--format", "csv")
    assert table.exit_code == 0, table.output
    rows = list(csv.reader(io.StringIO(table.stdout, newline="")))
    assert rows[0] == list(CLAIM_COLUMNS)
    assert [r[0] for r in rows[1:]] == sorted(stored)
    assert run("export", "--format", "csv").exit_code == 2
