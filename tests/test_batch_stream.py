"""`aci-rules batch` reads its input in chunks: the result must not depend on where they are cut.

A file is read, checked and evaluated a chunk of whole rows at a time (engine/batch.py,
BatchRun), by this process or by the workers of --jobs. Cut into chunks of a few hundred
bytes, or spread over two processes, a file must give byte for byte the output, and
diagnostic for diagnostic the refusal, of reading it in one piece: rows, line numbers
(quoted line breaks, CRLF), the priority of problems (a bad byte anywhere hides the rest;
problems of reading hide problems of checking, which hide problems of evaluating), and
nothing written when the last row is wrong.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os

import pytest

from aci_rules.engine import batch

from conftest import EXAMPLES, invoke as run

SAMPLE = EXAMPLES / "national-sample.csv"
DAY = "2024-06-01"


def sample_lines() -> list[str]:
    return [line for line in SAMPLE.read_text("utf-8").splitlines() if not line.startswith("#")]


def write(tmp_path, text: str, name="rows.csv", encoding="utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


def both_ways(monkeypatch, path, *options, jobs=False):
    """(whole, cut): the batch of ``path`` read in one chunk, then in chunks of 300 bytes
    (by two processes when ``jobs``)."""
    whole = run("batch", path, "--date", DAY, *options)
    monkeypatch.setattr(batch, "CHUNK_BYTES", 300)
    if jobs:
        monkeypatch.setattr(batch, "PARALLEL_FROM_BYTES", 0)
        cut = run("batch", path, "--date", DAY, "--jobs", "2", *options)
    else:
        cut = run("batch", path, "--date", DAY, *options)
    return whole, cut


@pytest.mark.parametrize("jobs", [False, True])
def test_the_sample_gives_the_same_rows_in_chunks_and_over_two_processes(tmp_path, monkeypatch, jobs):
    lines = sample_lines()
    path = write(tmp_path, "# une note\n\n" + "\n".join(lines[:120]) + "\n")
    whole, cut = both_ways(monkeypatch, path, jobs=jobs)
    assert whole[0] == 0 and whole[2] == ""
    assert cut == whole
    assert len(whole[1].splitlines()) == 120
    # the source of each row is its line in the file (two lines before the header)
    assert whole[1].splitlines()[1].startswith(f"{path}:4,")


def test_quoted_line_breaks_and_crlf_keep_their_line_numbers_across_cuts(tmp_path, monkeypatch):
    lines = sample_lines()
    header, rows = lines[0], list(csv.reader(lines[1:60]))
    for index, row in enumerate(rows):
        if index % 3 == 0:
            row[0] = f"CPTS\nsur deux lignes {index}"  # a quoted cell holding a line break
        if index % 5 == 0:
            row[0] = f'CPTS "citée", {index}'
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = write(tmp_path, header + "\r\n" + buffer.getvalue())
    whole, cut = both_ways(monkeypatch, path)
    assert whole[0] == 0, whole[2]
    assert cut == whole
    sources = [row["source"] for row in csv.DictReader(io.StringIO(whole[1]))]
    # row k starts on line 2 + k + the line breaks inside the cells before it
    expected, line = [], 2
    for row in rows:
        expected.append(f"{path}:{line}")
        line += 1 + row[0].count("\n")
    assert sources == expected


def test_a_stray_quote_that_fools_the_cut_still_gives_the_rows_of_one_piece(tmp_path, monkeypatch):
    """A quote inside an unquoted cell (read as a character by the CSV reader) shifts the count
    of quotes: a cut can then fall inside a later quoted cell. The reader notices, and the
    rest of the file is read in one piece."""
    lines = sample_lines()
    header, rows = lines[0], list(csv.reader(lines[1:40]))
    for index in range(5, 40, 4):
        rows[index][0] = "CPTS\n" + "x" * 200 + "\nfin"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows[3:])
    # written by hand: a CSV writer would quote the cell and double its quote
    stray = [",".join(['CPTS 5" pouces'] + rows[2][1:])]
    path = write(tmp_path, "\n".join([header] + [",".join(row) for row in rows[:2]] + stray) + "\n"
                 + buffer.getvalue())
    real, seen = batch._ChunkReader.process, []

    def spied(self, *args):
        outcome = real(self, *args)
        seen.append(outcome.clean)
        return outcome

    monkeypatch.setattr(batch._ChunkReader, "process", spied)
    whole, cut = both_ways(monkeypatch, path)
    assert whole[0] == 0, whole[2]
    assert cut == whole
    assert False in seen  # the case this test is about did happen


def _bad_late_row(tmp_path, count=150, line_of_bad=140, cell="-5", column=1):
    lines = sample_lines()
    rows = lines[1:count + 1]
    bad = list(csv.reader([rows[line_of_bad - 2]]))[0]
    bad[column] = cell
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(bad)
    rows[line_of_bad - 2] = buffer.getvalue()
    return write(tmp_path, "\n".join([lines[0]] + rows) + "\n")


@pytest.mark.parametrize("jobs", [False, True])
@pytest.mark.parametrize("cell, code", [("-5", "E204"), ("yes", "E010"), ("12.5", "E203")])
def test_a_bad_cell_near_the_end_is_located_and_nothing_is_written(tmp_path, monkeypatch, jobs, cell, code):
    path = _bad_late_row(tmp_path, cell=cell)
    target = tmp_path / "out.csv"
    whole, cut = both_ways(monkeypatch, path, "--output", target, jobs=jobs)
    assert whole == cut
    status, stdout, stderr = cut
    assert status == 1 and stdout == ""
    assert stderr.startswith(f"{path}:140:2: {code} ")
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]


def test_problems_of_reading_anywhere_hide_the_problems_of_checking(tmp_path, monkeypatch):
    lines = sample_lines()
    rows = [list(r) for r in csv.reader(lines[1:100])]
    rows[3][1] = "-5"  # E204, a check
    rows[90][2] = "yes"  # E010, reading, in a later chunk
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path = write(tmp_path, lines[0] + "\n" + buffer.getvalue())
    whole, cut = both_ways(monkeypatch, path)
    assert whole == cut
    assert whole[0] == 1 and whole[2].splitlines() == [line for line in whole[2].splitlines() if " E010 " in line]
    assert f"{path}:92:3: E010" in whole[2]  # rows[90] is on line 92


@pytest.mark.parametrize("jobs", [False, True])
def test_a_nul_or_a_bad_byte_at_the_end_hides_every_other_problem(tmp_path, monkeypatch, jobs):
    lines = sample_lines()
    rows = lines[1:100]
    rows[2] = rows[2].replace(",", ",-", 1)  # a bad population early on
    raw = ("\n".join([lines[0]] + rows) + "\n").encode("utf-8")
    for bad, code_text in ((b"\x00", "NUL"), (b"\xe9", "0xe9")):
        path = write(tmp_path, raw + b"CPTS " + bad + b" fin,1000\n", name="bytes.csv")
        whole, cut = both_ways(monkeypatch, path, jobs=jobs)
        assert whole == cut
        assert whole[0] == 1
        assert whole[2].splitlines() == [f"{path}:101:6: E002 " + whole[2].split(" E002 ")[1].strip()]
        assert code_text in whole[2]
        monkeypatch.undo()


def test_a_french_excel_file_in_windows_1252_is_read_alike_in_chunks(tmp_path, monkeypatch):
    lines = sample_lines()
    rows = [[cell.replace(".", ",").replace("synthétique", "synthétique é") for cell in row]
            for row in csv.reader(lines[1:80])]  # decimal commas, a Latin letter
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    path = write(tmp_path, lines[0].replace(",", ";") + "\r\n" + buffer.getvalue(), encoding="cp1252")
    whole, cut = both_ways(monkeypatch, path)
    assert whole[0] == 0, whole[2]
    assert cut == whole
    assert "synthétique é" in whole[1]


def test_a_bom_and_a_header_alone(tmp_path, monkeypatch):
    lines = sample_lines()
    path = write(tmp_path, "\ufeff" + "\n".join(lines[:30]) + "\n")
    whole, cut = both_ways(monkeypatch, path)
    assert whole[0] == 0 and cut == whole
    empty = write(tmp_path, lines[0], name="empty.csv")
    status, stdout, _ = run("batch", empty, "--date", DAY)
    assert status == 0 and stdout.splitlines()[0].startswith("source,name,")


def test_jsonl_in_chunks_and_its_problems(tmp_path, monkeypatch):
    from test_batch import SAMPLE_INPUT, json_profile, profile_data

    text = "\n".join(json_profile(profile_data(row)) for _, row in SAMPLE_INPUT[:60]) + "\n"
    path = write(tmp_path, "\ufeff" + text, name="rows.jsonl")
    whole, cut = both_ways(monkeypatch, path, "--format", "jsonl", jobs=True)
    assert whole[0] == 0, whole[2]
    assert cut == whole
    assert [json.loads(line)["source"] for line in whole[1].splitlines()][:2] == [f"{path}:1", f"{path}:2"]
    monkeypatch.undo()
    lines = text.splitlines()
    lines[50] = lines[50].replace('"population": ', '"population": -')
    bad = write(tmp_path, "\n".join(lines) + "\n", name="bad.jsonl")
    whole, cut = both_ways(monkeypatch, bad)
    assert whole == cut and whole[0] == 1
    assert whole[2].startswith(f"{bad}:51:") and " E204 " in whole[2]


def test_the_mission_columns_are_those_of_the_texts_that_may_apply(tmp_path):
    from aci_rules.engine.library import Library

    timeline = Library().timeline(None)
    day = datetime.date.fromisoformat(DAY)
    ruleset = timeline.resolve(day)
    columns = batch.batch_missions(timeline, day)
    assert columns[:len(ruleset.missions)] == list(ruleset.missions)
    # every mission a line of the text in force names has its column
    assert {line.mission for line in ruleset.lines if line.mission} <= set(columns)


def test_memory_does_not_hold_the_rows(tmp_path, monkeypatch):
    """Chunks are consumed as they come: the output iterator yields before the file is read."""
    lines = sample_lines()
    path = write(tmp_path, "\n".join(lines[:200]) + "\n")
    monkeypatch.setattr(batch, "CHUNK_BYTES", 2000)
    from aci_rules.engine.fastpath import FastTimeline
    from aci_rules.engine.library import Library

    library = Library()
    run_ = batch.BatchRun(FastTimeline(library.timeline(None)), path, library.mission_ids(),
                          datetime.date.fromisoformat(DAY))
    pieces = iter(run_)
    first = next(pieces)
    assert 0 < len(first) < 20
    assert sum(len(piece) for piece in pieces) + len(first) == 199


@pytest.mark.parametrize("change", ["append", "replace"])
def test_a_file_written_while_it_is_read_is_refused_and_nothing_is_kept(tmp_path, change):
    # The workers of --jobs read their chunks from the file itself: what this process scanned
    # and what they evaluated must be one file. A file changed during the run is refused (E001).
    from aci_rules.engine.diagnostic import InputError
    from aci_rules.engine.fastpath import FastTimeline
    from aci_rules.engine.library import Library

    lines = sample_lines()
    path = write(tmp_path, "\n".join(lines[:1] + lines[1:] * 3) + "\n")
    library = Library()
    run_ = batch.BatchRun(FastTimeline(library.timeline(None)), path, library.mission_ids(),
                          datetime.date(2024, 6, 1), render=lambda rows: "x" * len(rows))
    run_.chunk_bytes = 4096
    pieces = iter(run_)
    next(pieces)
    if change == "append":
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(lines[1] + "\n")
    else:  # the same size, another time of change: another text in place
        os.utime(path, ns=(0, 10 ** 9))
    with pytest.raises(InputError) as raised:
        list(pieces)
    assert [d.code for d in raised.value.diagnostics] == ["E001"]
    assert "while it was read" in raised.value.diagnostics[0].message
