"""`batch` on the vectorised backend (engine/columnar.py): a CSV read, checked and evaluated in columns.

The columnar path must give byte for byte the output of the row path (CSV and JSON Lines), on
the national sample at several dates and on generated profiles with cells at every edge; a bad
row anywhere must give the row path's diagnostic, exit 1 and nothing written; what the columns
do not vouch for (cut contract years, later contracts, quoted names, a text the backend refuses)
is computed by the row path and said on stderr.
"""

from __future__ import annotations

import csv
import datetime
import io
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytest.importorskip("numpy")

from aci_rules.engine import columnar, columnar_reader  # noqa: E402
from aci_rules.engine.diagnostic import msg  # noqa: E402
from aci_rules.engine.vector import VectorRefused  # noqa: E402

from conftest import EXAMPLES, invoke as run  # noqa: E402

SAMPLE = EXAMPLES / "national-sample.csv"
SCALAR_NOTE = "par le chemin scalaire"


def both_paths(monkeypatch, *args, chunk_bytes=None):
    """(columns, rows): the command run with the columnar path forced, then with the row path."""
    monkeypatch.setattr(columnar, "COLUMNAR_FROM_BYTES", 0)
    if chunk_bytes is not None:
        monkeypatch.setattr(columnar_reader.ColumnarRun, "chunk_bytes", chunk_bytes)
    columns = run(*args)
    monkeypatch.setattr(columnar, "COLUMNAR_FROM_BYTES", 1 << 60)
    rows = run(*args)
    return columns, rows


def without_note(stderr: str) -> str:
    return "".join(line for line in stderr.splitlines(keepends=True) if SCALAR_NOTE not in line
                   and "n'est pas vectorisé" not in line)


def sample():
    lines = [line for line in SAMPLE.read_text("utf-8").splitlines() if not line.startswith("#")]
    return lines[0].split(","), list(csv.reader(lines[1:]))


def write(tmp_path, header, rows, name="rows.csv", newline="\n"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return str(path)


def columnar_run_of(path, day, output_format="csv", ruleset=None, renewal=False):
    """The columnar run of ``path`` on ``day`` as `batch` makes it (not iterated yet)."""
    import functools

    from aci_rules.cli.impact import _render_rows
    from aci_rules.engine.batch import batch_missions
    from aci_rules.engine.fastpath import FastTimeline
    from aci_rules.engine.library import Library

    library = Library()
    timeline = library.timeline(ruleset, renewal=renewal)
    missions = tuple(batch_missions(timeline, day))
    render = functools.partial(_render_rows, missions=missions, output_format=output_format)
    return columnar_reader.ColumnarRun(FastTimeline(timeline), path, library.mission_ids(), day,
                                       missions=missions, output_format=output_format, render=render)


def counts(path, day, output_format="csv", ruleset=None, renewal=False):
    """(rows by the columns, rows by the row path, texts refused) of the columnar run of ``path``."""
    found = columnar_run_of(path, day, output_format, ruleset, renewal)
    text = "".join(piece.decode("utf-8") if isinstance(piece, bytes) else piece for piece in found)
    return found.vector_rows, found.scalar_rows, found.refused, text


@pytest.mark.parametrize("day", ["2024-06-01", "2023-06-01", "2021-03-01", "2027-09-30"])
@pytest.mark.parametrize("output_format", ["csv", "jsonl"])
def test_the_national_sample_gives_the_row_paths_bytes(monkeypatch, day, output_format):
    columns, rows = both_paths(monkeypatch, "batch", SAMPLE, "--date", day, "--format", output_format)
    assert columns[0] == rows[0] == 0
    assert columns[1] == rows[1]
    assert without_note(columns[2]) == rows[2]
    vector, scalar, refused, _ = counts(str(SAMPLE), datetime.date.fromisoformat(day), output_format)
    assert not refused and vector > 0
    # The rows handed over are said on stderr, with their count (years cut by avenant 2 in 2023).
    if scalar:
        assert f"{scalar} évaluations par le chemin scalaire, {vector} par les colonnes" in columns[2]
    else:
        assert SCALAR_NOTE not in columns[2]


@pytest.mark.parametrize("options", [["--assume-renewal"], ["--ruleset", "aci-2019"],
                                     ["--ruleset", str(EXAMPLES / "plan-100-cpts.yaml")],
                                     ["--ruleset", str(EXAMPLES / "plan-100-cpts.yaml"), "--as-if-in-force-from",
                                      "2023-01-01"]])
def test_timelines_and_proposals_give_the_row_paths_bytes(monkeypatch, options):
    for day in ("2024-06-01", "2023-03-01"):
        columns, rows = both_paths(monkeypatch, "batch", SAMPLE, "--date", day, "--format", "jsonl", *options)
        assert columns[0] == rows[0] == 0, columns[2]
        assert columns[1] == rows[1]
        assert without_note(columns[2]) == rows[2]


@pytest.mark.parametrize("day", ["2027-06-01", "2029-02-28"])
def test_renewed_contracts_read_with_no_rate_are_counted_as_the_row_path_counts_them(monkeypatch, day):
    # W050: the columns count the renewed years whose variable parts read no rate (chunks of a
    # few rows, so that both paths serve), as the row path's RateCheck does, on the same line.
    columns, rows = both_paths(monkeypatch, "batch", SAMPLE, "--date", day, "--assume-renewal", chunk_bytes=5000)
    assert columns[0] == rows[0] == 0 and columns[1] == rows[1]
    assert without_note(columns[2]) == rows[2] and "W050" in rows[2]
    with_rate = both_paths(monkeypatch, "batch", SAMPLE, "--date", day, "--assume-renewal", "--achievement", "0.8")
    assert "W050" not in with_rate[0][2] + with_rate[1][2]


def test_the_output_file_and_chunks_of_a_few_rows_give_the_same_bytes(monkeypatch, tmp_path):
    header, rows = sample()
    path = write(tmp_path, header, rows[:300], newline="\r\n")  # CRLF, as Windows programs write
    out_columns, out_rows = tmp_path / "c.csv", tmp_path / "r.csv"
    monkeypatch.setattr(columnar, "COLUMNAR_FROM_BYTES", 0)
    monkeypatch.setattr(columnar_reader.ColumnarRun, "chunk_bytes", 2000)
    assert run("batch", path, "--date", "2024-06-01", "--output", out_columns)[0] == 0
    monkeypatch.setattr(columnar, "COLUMNAR_FROM_BYTES", 1 << 60)
    assert run("batch", path, "--date", "2024-06-01", "--output", out_rows)[0] == 0
    assert out_columns.read_bytes() == out_rows.read_bytes()
    vector, scalar, _, _ = counts(path, datetime.date(2024, 6, 1))
    assert vector == 300 and scalar == 0


# Cells at the edges of each column's schema, valid or not (from tests/test_batch_check.py),
# and names each output must write as the row path does.
CELLS = ["", "0", "1", "-1", "1.0", "0.5", "1.01", "-0.0", "100000000", "100000001", "1000000", "1000001",
         "2024-02-29", "2023-02-29", "1899-12-31", "1900-01-01", "2100-12-31", "2101-01-01", "2024-13-01",
         "true", "abc", "1e3", ".5", "0x10", "2024-06-01;2023-02-30", "2024-06-01; 2025-01-01",
         "2024-06-01;2025-01-01", "2024-06-01,2025-01-01", "1950-01-01", "+3", "007", "0.000000000000001",
         "0.1234567890123", "1.000", "00.5", "5.", " 1", "1 ", "01/06/2024", "2024-6-1", "12345678901234567"]
NAMES = ["CPTS", "É", "CPTS de la Vallée", "CPTS «Nord»", 'CPTS "Sud"', "CPTS, Est", "=SOMME(A1)", "-CPTS",
         "@CPTS", " CPTS", "CPTS ", "CPTS\u00a0", "\u2003CPTS", "CPTS\\Ouest", "CPTS\tTab", "2024-06-01", "x",
         "CPTS 日本", "CPTS 😀", "'CPTS'", "CPTS;Ouest"]


def _edge_rows(header, rows):
    found = []
    for column in range(len(header)):
        for index, cell in enumerate(CELLS if header[column] != "name" else NAMES):
            row = list(rows[index % len(rows)])
            row[column] = cell
            found.append(row)
    return found


_SPLIT: dict = {}


def _split(tmp_path, header, rows):
    """(rows the row path accepts, rows it refuses), by the full check of each row (read once)."""
    from aci_rules.engine.batch import read_profiles
    from aci_rules.engine.library import Library
    from aci_rules.engine.profile import validate_profile
    from aci_rules.engine.yaml_loader import resolve_plain

    key = (tuple(header), len(rows))
    if key not in _SPLIT:
        known = Library().mission_ids()
        # A cell the YAML reader types with a problem (E010) refuses its row while reading.
        readable = [row for row in rows if all(not c.strip() or h == "name" or resolve_plain(c.strip())[1] is None
                                               for h, c in zip(header, row))]
        sources = read_profiles(write(tmp_path, header, readable, name="all.csv"), known)
        accepted = [row for row, source in zip(readable, sources) if not validate_profile(source.document, known)]
        refused = [row for row in rows if row not in accepted]
        _SPLIT[key] = accepted, refused
    return _SPLIT[key]


def test_edge_cells_in_every_column_give_the_row_paths_bytes(monkeypatch, tmp_path):
    header, rows = sample()
    valid, _ = _split(tmp_path, header, _edge_rows(header, rows))
    assert len(valid) > 300
    path = write(tmp_path, header, valid)
    for day in ("2024-06-01", "2023-06-01"):
        for output_format in ("csv", "jsonl"):
            columns, rows_ = both_paths(monkeypatch, "batch", path, "--date", day, "--format", output_format,
                                        chunk_bytes=4096)
            assert columns[0] == rows_[0] == 0, columns[2]
            assert columns[1] == rows_[1]
    vector, scalar, _, _ = counts(path, datetime.date(2024, 6, 1))
    assert vector > 0 and scalar > 0  # both paths served: the edges the columns do not vouch for went over


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_bad_row_anywhere_gives_the_row_paths_diagnostic_and_writes_nothing(monkeypatch, tmp_path, where):
    header, rows = sample()
    _, refusals = _split(tmp_path, header, _edge_rows(header, rows))
    rng = random.Random(15)
    assert len(refusals) > 50
    for bad in rng.sample(refusals, 6) + [rows[3][:-1]]:  # and a row of too few cells
        body = list(rows[:400])
        body.insert({"first": 0, "middle": 200, "last": 400}[where], bad)
        path = write(tmp_path, header, body)
        out = tmp_path / "out.csv"
        columns, rows_ = both_paths(monkeypatch, "batch", path, "--date", "2024-06-01", "--output", out,
                                    chunk_bytes=3000)
        assert columns == rows_
        assert columns[0] == 1 and ":" in columns[2] and not out.exists()


def test_rows_the_columns_do_not_vouch_for_go_to_the_row_path_visibly(monkeypatch, tmp_path):
    header, rows = sample()
    body = [list(row) for row in rows[:200]]
    contracts = header.index("contracts") if "contracts" in header else None
    if contracts is None:
        header = header + ["contracts"]
        body = [row + [""] for row in body]
        contracts = len(header) - 1
    body[5][contracts] = "2024-01-01"  # a later contract
    body[6][0] = 'CPTS "guillemets", virgule'  # a quoted name
    path = write(tmp_path, header, body)
    columns, rows_ = both_paths(monkeypatch, "batch", path, "--date", "2024-06-01", "--format", "jsonl")
    assert columns[1] == rows_[1] and columns[0] == 0
    vector, scalar, _, _ = counts(path, datetime.date(2024, 6, 1), "jsonl")
    assert scalar == 2 and vector == 198
    assert "2 évaluations par le chemin scalaire, 198 par les colonnes" in columns[2]


def test_a_text_the_backend_refuses_is_computed_by_the_row_path_and_said(monkeypatch):
    def refuse(ruleset):
        raise VectorRefused(msg("a condition giving {kind} is not vectorised", kind=msg("a date")))

    monkeypatch.setattr(columnar_reader, "VectorRuleset", refuse)
    columns, rows = both_paths(monkeypatch, "batch", SAMPLE, "--date", "2024-06-01")
    assert columns[0] == 0 and columns[1] == rows[1]
    assert "aci-rules: avenant-2 n'est pas vectorisé" in columns[2]
    assert "700 évaluations par le chemin scalaire, 0 par les colonnes" in columns[2]


def test_small_inputs_and_other_formats_stay_on_the_row_path(tmp_path):
    from aci_rules.engine.fastpath import FastTimeline
    from aci_rules.engine.library import Library

    fast = FastTimeline(Library().timeline(None))
    day = datetime.date(2024, 6, 1)
    options = dict(missions=(), render=None)
    assert SAMPLE.stat().st_size < columnar.COLUMNAR_FROM_BYTES
    assert columnar.columnar_run(fast, str(SAMPLE), set(), day, output_format="csv", **options) is None
    header, rows = sample()
    big = write(tmp_path, header, rows * 3)
    assert columnar.columnar_run(fast, big, set(), day, output_format="csv", **options) is not None
    assert columnar.columnar_run(fast, big, set(), day, output_format="xlsx", **options) is None
    assert columnar.columnar_run(fast, big, set(), day, output_format="csv", csv_dialect="excel-fr",
                                 **options) is None


def test_the_day_numbers_are_the_calendars():
    import numpy as np

    days = [datetime.date(1900, 1, 1), datetime.date(1900, 3, 1), datetime.date(2000, 2, 29),
            datetime.date(2024, 12, 31), datetime.date(2100, 12, 31)]
    days += [datetime.date(1900, 1, 1) + datetime.timedelta(days=k) for k in range(0, 73000, 97)]
    data = ",".join(d.isoformat() for d in days).encode() + b"\n"
    padded = np.frombuffer(data + bytes(16), dtype=np.uint8)
    starts = np.arange(len(days)) * 11
    ok, ordinal = columnar_reader._parse_dates(padded[:len(data)], columnar_reader._words(padded, len(data)),
                                               starts, np.full(len(days), 10))
    assert ok.all() and list(ordinal) == [d.toordinal() for d in days]


_date_text = st.one_of(
    st.dates(datetime.date(1890, 1, 1), datetime.date(2110, 12, 31)).map(datetime.date.isoformat),
    st.tuples(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)).map(lambda p: "%04d-%02d-%02d" % p),
    st.text("0123456789-/:; ", min_size=0, max_size=12))


@given(st.lists(_date_text, min_size=1, max_size=40))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_dates_are_read_exactly_as_the_row_paths_typed_parse_reads_them(texts):
    import numpy as np

    from aci_rules.engine.batch import _is_date

    data = ",".join(texts).encode() + b"\n"
    padded = np.frombuffer(data + bytes(16), dtype=np.uint8)
    lengths = np.array([len(t) for t in texts])
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    ok, ordinal = columnar_reader._parse_dates(padded[:len(data)], columnar_reader._words(padded, len(data)),
                                               starts, lengths)
    for text, good, day in zip(texts, ok, ordinal):
        if good:  # never looser than the row path, and the calendar's day
            assert _is_date(text) and datetime.date.fromisoformat(text).toordinal() == day, text
        else:
            assert not (len(text) == 10 and _is_date(text)), text


_decimal_text = st.one_of(
    st.integers(0, 10 ** 15 - 1).map(str),
    st.tuples(st.integers(0, 10 ** 7), st.integers(1, 8)).map(lambda p: f"{p[0] // 10 ** p[1]}.{p[0] % 10 ** p[1]:0{p[1]}d}"),
    st.text("0123456789.-+e ", min_size=1, max_size=18),
    st.text("0123456789.:/-", min_size=4, max_size=4))  # rates' shape 'd.dd', and its near misses


@given(st.lists(st.tuples(_decimal_text, st.booleans()), min_size=1, max_size=40))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_numbers_are_read_exactly_as_the_row_paths_typed_parse_reads_them(cells):
    import re
    from decimal import Decimal

    import numpy as np

    texts = [text for text, _ in cells]
    data = ",".join(texts).encode() + b"\n"
    padded = np.frombuffer(data + bytes(16), dtype=np.uint8)
    lengths = np.array([len(t.encode()) for t in texts])
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    plain_int = re.compile(r"0|[1-9][0-9]{0,14}")
    plain_decimal = re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]+")
    for decimals in (True, False):
        ok, mantissa, scale = columnar_reader._parse_number(
            padded[:len(data)], columnar_reader._words(padded, len(data)), starts, lengths, decimals)
        for text, good, m, s in zip(texts, ok, mantissa, scale):
            typed = plain_int.fullmatch(text) or (decimals and len(text) <= 16 and plain_decimal.fullmatch(text))
            if good:  # never looser than the row path, and exact
                assert typed, text
                assert Decimal(int(m)).scaleb(-int(s)) == Decimal(text) and int(s) == max(0, -Decimal(text).as_tuple().exponent)
            elif typed:  # stricter only beyond the digits a float holds exactly
                assert len(text.replace(".", "")) > 15, text
    # Rates read first as 'd.dd', with their bounds: the same cells, the same values.
    words = columnar_reader._words(padded, len(data))
    good, mantissa, scale = columnar_reader._parse_number(padded[:len(data)], words, starts, lengths, True)
    for low, high in ((0, 1), (None, None), (1, 5)):
        ok, found, places = columnar_reader._parse_rates(padded[:len(data)], words, starts[None, :],
                                                         lengths[None, :], [low], [high])
        inside = good.copy()
        if low is not None:
            inside &= mantissa >= low * 10 ** scale
        if high is not None:
            inside &= mantissa <= high * 10 ** scale
        assert ok[0].tolist() == inside.tolist()
        assert found[0][inside].tolist() == mantissa[inside].tolist()
        assert places[0][inside].tolist() == scale[inside].tolist()


@pytest.mark.parametrize("day", ["2025-06-01", "2026-06-01", "2027-09-30"])
def test_rates_of_later_contracts_are_read_by_their_contract_and_year(monkeypatch, tmp_path, day):
    header, rows = sample()
    rng = random.Random(day)
    extra = [f"{mission}_achievement_{n}.{k}" for mission in ("acces_soins", "parcours") for n in (1, 2)
             for k in (1, 2) if f"{mission}_achievement_{n}.{k}" != f"{mission}_achievement_1.{k}"]
    body = [list(row) + [rng.choice(["", "0.3", "0.75", "1"]) for _ in extra] for row in rows[:300]]
    path = write(tmp_path, header + extra, body)
    for output_format in ("csv", "jsonl"):
        columns, rows_ = both_paths(monkeypatch, "batch", path, "--date", day, "--assume-renewal",
                                    "--format", output_format)
        assert columns[0] == rows_[0] == 0, columns[2]
        assert columns[1] == rows_[1]
    vector, _, _, _ = counts(path, datetime.date.fromisoformat(day), renewal=True)
    assert vector > 200


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_chunks_over_several_processes_give_one_processs_bytes_and_counts(monkeypatch, tmp_path, jobs):
    # Rows of every kind (edge cells, rows handed to the row path), at two dates, in both formats;
    # this process reads every N-th chunk and the workers the others.
    header, rows = sample()
    valid, refusals = _split(tmp_path, header, _edge_rows(header, rows))
    path = write(tmp_path, header, valid)
    monkeypatch.setattr(columnar, "COLUMNAR_FROM_BYTES", 0)
    monkeypatch.setattr(columnar_reader.ColumnarRun, "chunk_bytes", 4096)
    monkeypatch.setattr(columnar_reader.ColumnarRun, "parallel_from", 0)
    for day in ("2024-06-01", "2023-06-01"):
        for output_format in ("csv", "jsonl"):
            args = ("batch", path, "--date", day, "--format", output_format)
            alone = run(*args)
            spread = run(*args, "--jobs", jobs)
            assert spread == alone and alone[0] == 0
            assert SCALAR_NOTE in alone[2]  # the counts of both paths, summed over the processes
    # A bad row near the end: the row path's diagnostic, exit 1, nothing written.
    body = list(valid) + [refusals[0]] + list(valid[:50])
    bad = write(tmp_path, header, body, name="bad.csv")
    out = tmp_path / "out.csv"
    alone = run("batch", bad, "--date", "2024-06-01", "--output", out)
    spread = run("batch", bad, "--date", "2024-06-01", "--output", out, "--jobs", jobs)
    assert spread == alone and alone[0] == 1 and f"bad.csv:{len(valid) + 2}:" in alone[2] and not out.exists()


# A fresh process, as a user runs it: numpy is imported by the columnar path itself, with one
# BLAS thread, so the workers are forked from it (in this test process numpy's threads run:
# they are spawned, as the test above checks).
# The run's chunks and spread are set on the run columnar_run returns (importing the reader
# first would import numpy before columnar_run limits its threads).
_FORKED = ("import sys, aci_rules.engine.batch as b, aci_rules.engine.columnar as c, aci_rules.cli.impact as i\n"
           "def small(*a, **k):\n"
           "    run = c.columnar_run(*a, **k)\n"
           "    if run is not None: run.chunk_bytes, run.parallel_from = 4096, 0\n"
           "    return run\n"
           "c.COLUMNAR_FROM_BYTES = 0; i.columnar_run = small\n"
           "b.BatchRun.chunk_bytes, b.BatchRun.parallel_from = 4096, 0; m = b._may_fork\n"
           "b._may_fork = lambda: print('forked' if m() else 'spawned', file=sys.stderr) or m()\n"
           "from aci_rules.cli.main import main; sys.argv[0] = 'aci-rules'; main()")


@pytest.mark.parametrize("reader", ["columns", "rows"])
def test_workers_forked_from_a_fresh_process_give_one_processs_bytes(tmp_path, reader):
    import subprocess
    import sys

    header, rows = sample()
    valid, _ = _split(tmp_path, header, _edge_rows(header, rows))
    path = write(tmp_path, header, valid)
    prelude = _FORKED if reader == "columns" else _FORKED.replace("c.COLUMNAR_FROM_BYTES = 0",
                                                                  "c.COLUMNAR_FROM_BYTES = 1 << 60")
    found = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}.csv"
        done = subprocess.run([sys.executable, "-c", prelude, "batch", path, "--date", "2024-06-01", "--jobs", jobs,
                               "--output", str(out)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        found[jobs] = out.read_bytes(), done.stderr
    assert found["2"][0] == found["1"][0]
    said = found["2"][1].splitlines(keepends=True)
    assert "forked\n" in said and "spawned\n" not in said
    # The same counts on stderr, from both processes.
    assert "".join(line for line in said if line != "forked\n") == found["1"][1]


@given(st.one_of(st.lists(st.integers(-(10 ** 18), 10 ** 18) | st.integers(-(10 ** 9), 10 ** 9), min_size=1),
                 st.lists(st.integers(-(10 ** 8) + 1, 10 ** 8 - 1) | st.integers(-999, 999), min_size=1)),
       st.sampled_from([0, 1, 2, 3]))
@settings(max_examples=150, deadline=None)
def test_amounts_are_written_as_decimal_writes_them(values, scale):
    from decimal import Decimal

    import numpy as np

    layout = columnar_reader._Layout(len(values))
    layout.number(np.array(values, dtype=np.int64), scale)
    flat, lengths = layout.bytes()
    text, written, at = flat.tobytes().decode(), [], 0
    for length in lengths.tolist():
        written.append(text[at:at + length])
        at += length
    assert written == [str(Decimal(value).scaleb(-scale)) for value in values]


@given(st.lists(st.tuples(st.integers(-(10 ** 12), 10 ** 12), st.booleans(), st.booleans(), st.integers(0, 2),
                          st.text(alphabet="ab\u00e9,", max_size=6)), min_size=1, max_size=40),
       st.sampled_from([0, 2]))
@settings(max_examples=100, deadline=None)
def test_each_rows_length_is_the_bytes_it_shows(rows, scale):
    """The rows' lengths come from what each slot shows (not from counting the padding): they
    are each row's bytes, whatever the slots (texts and choices present or not, names, null
    amounts, negative zeros)."""
    import numpy as np

    values = np.array([row[0] for row in rows], dtype=np.int64)
    on = np.array([row[1] for row in rows])
    null = np.array([row[2] for row in rows])
    which = np.array([row[3] for row in rows])
    names = [row[4].encode("utf-8") for row in rows]
    buffer = np.frombuffer(b"".join(names) or b"-", dtype=np.uint8)
    lengths = np.array([len(name) for name in names], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    layout = columnar_reader._Layout(len(rows))
    layout.text(b"src:")
    layout.copy(buffer, starts, lengths)
    layout.text(b", ", on)
    layout.choice(which, [b"", b"not_signed", b"x"], on)
    layout.number(values, scale, null=null, null_text=b"0.00", negative_zero=~on & (values == 0))
    layout.number(values, 0, null=null, null_text=b"")
    flat, counted = layout.bytes()
    matrix = np.concatenate([np.asarray(slot) for slot in layout.slots], axis=1)
    assert counted.tolist() == np.count_nonzero(matrix, axis=1).tolist()
    assert flat.tobytes() == matrix[matrix != 0].tobytes()


def test_without_numpy_a_large_csv_runs_by_rows_and_says_once_how_to_get_the_columns(monkeypatch, tmp_path):
    header, rows = sample()
    big = write(tmp_path, header, rows * 3)
    with_columns = run("batch", big, "--date", "2024-06-01")
    assert "pip install" not in with_columns[2]
    real = columnar.importlib.util.find_spec
    monkeypatch.setattr(columnar.importlib.util, "find_spec",
                        lambda name, *rest: None if name == "numpy" else real(name, *rest))
    by_rows = run("batch", big, "--date", "2024-06-01")
    assert by_rows[0] == 0 and by_rows[1] == with_columns[1]
    assert by_rows[2].count("pip install 'aci-rules[vector]'") == 1
    assert "lu ligne par ligne" in by_rows[2]
    small = run("batch", SAMPLE, "--date", "2024-06-01")  # below the size where the columns pay: nothing said
    assert "pip install" not in small[2]
