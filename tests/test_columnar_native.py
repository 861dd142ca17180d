"""The compiled reading and writing of the columnar batch (engine/_columnar.c) against numpy's.

`batch` reads a large CSV in columns with the compiled reader when the optional extension was
built at install (setup.py), else with numpy alone. Both must give the same bytes, the same
rows handed to the row path, the same diagnostics: here on generated chunks (cells at every
edge of each column, and lines broken every way: quotes, carriage returns, blank lines, too
few or too many cells, no final line break) and on the national sample. tests/test_columnar.py
checks the default reader (the compiled one, where built) against the row path.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import shutil
import sysconfig

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytest.importorskip("numpy")

from aci_rules.engine import columnar_native, columnar_reader  # noqa: E402
from aci_rules.engine.diagnostic import InputError  # noqa: E402

from test_columnar import CELLS, NAMES, _edge_rows, columnar_run_of, sample  # noqa: E402


def _compiler() -> str | None:
    compiler = (sysconfig.get_config_var("CC") or "").split()
    return shutil.which(compiler[0]) if compiler else None


def test_the_extension_is_built_where_a_c_compiler_is():
    # setup.py marks it optional (an install without a compiler goes on, numpy alone reads): on a
    # machine with one, a missing extension is a broken build, not a choice.
    if _compiler() is None:
        pytest.skip("no C compiler: the columnar batch reads with numpy alone")
    assert columnar_native.native() is not None


@contextlib.contextmanager
def _numpy_alone():
    saved = columnar_native._LIBRARY
    columnar_native._LIBRARY = None
    try:
        yield
    finally:
        columnar_native._LIBRARY = saved


def _run(path: str, day: datetime.date, output_format: str, chunk_bytes: int):
    """(text, rows by the columns, rows by the row path, the diagnostics) of the columnar run."""
    run = columnar_run_of(path, day, output_format)
    run.chunk_bytes = chunk_bytes
    try:
        text = b"".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in run)
        problems = None
    except InputError as error:
        text, problems = None, [str(d) for d in error.diagnostics]
    return text, run.vector_rows, run.scalar_rows, problems


def _both(path: str, day: datetime.date, output_format: str = "csv", chunk_bytes: int = 4096):
    if columnar_native.native() is None:
        pytest.skip("the extension is not built (see test_the_extension_is_built_where_a_c_compiler_is)")
    compiled = _run(path, day, output_format, chunk_bytes)
    with _numpy_alone():
        alone = _run(path, day, output_format, chunk_bytes)
    return compiled, alone


def _write(tmp_path, text: str, name: str = "rows.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def _csv(header, rows, newline="\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize("day", ["2024-06-01", "2023-06-01", "2027-09-30"])
@pytest.mark.parametrize("output_format", ["csv", "jsonl"])
def test_the_national_sample_gives_numpys_bytes(tmp_path, day, output_format):
    header, rows = sample()
    path = _write(tmp_path, _csv(header, rows))
    compiled, alone = _both(path, datetime.date.fromisoformat(day), output_format, chunk_bytes=20_000)
    assert compiled == alone
    assert compiled[3] is None and compiled[1] > 0


# Cells the generated rows take: the edges of tests/test_columnar.py, and bytes that break a
# line or a cell (a quote, a carriage return, a semicolon, a comma inside a quoted cell).
_CELL = st.one_of(
    st.sampled_from(CELLS),
    st.sampled_from(["0.00", "1.00", "0.75", "0.5", "9.99", "1.5", "2.00", "0.7a", "0,75", "1.", "0.123"]),
    st.text(alphabet="0123456789.-;:/ eE", max_size=12),
)
_DATES = st.one_of(st.dates(datetime.date(2019, 1, 1), datetime.date(2030, 12, 31)),
                   st.dates(datetime.date(1899, 12, 1), datetime.date(2101, 1, 31))).map(datetime.date.isoformat)
_CRISES = st.lists(_DATES, max_size=11).map(";".join)  # up to the schema's most, and beyond
# Most lines plain and valid (so that what a reader vouches for is compared), the others broken.
_NAME = st.one_of(st.integers(1, 999).map("CPTS {}".format), st.integers(1, 999).map("CPTS {}".format),
                  st.sampled_from(NAMES), st.text(max_size=12))
_BREAKS = st.sampled_from([""] * 8 + ["quote", "odd-quote", "cr", "lone-cr", "blank", "short", "long", "crlf"])


def _line(header, base, cells, name, brk, crises) -> str:
    row = list(base)
    for position, cell in cells:
        row[position % len(row)] = cell
    if crises is not None and "crises" in header:
        row[header.index("crises")] = crises
    row[header.index("name")] = name
    if brk == "short":
        row = row[:-1]
    elif brk == "long":
        row = row + ["0"]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    line = buffer.getvalue()
    if brk == "quote":
        line = '"' + line.replace("\n", '"\n', 1) if not line.startswith('"') else line
    elif brk == "odd-quote":  # a quoted cell that may hold a line break: the whole chunk to the row path
        line = line.replace(",", ',"', 1)
    elif brk == "cr":
        line = line.replace(",", ",\r", 1)
    elif brk == "lone-cr":
        line = line[:-1] + "\r"
    elif brk == "blank":
        line = "\n" + line
    elif brk == "crlf":
        line = line[:-1] + "\r\n"
    return line


# A file with one row the row path refuses is compared by its diagnostics alone: most lines
# keep their row (no edit), so that most files are read through, and what each reader vouches
# for is compared by its counts and bytes.
_EDITS = st.one_of(st.just([]), st.just([]), st.just([]), st.lists(st.tuples(st.integers(0, 60), _CELL), min_size=1,
                                                                  max_size=2))


@given(st.lists(st.tuples(st.integers(0, 699), _EDITS, _NAME, _BREAKS, st.none() | _CRISES), min_size=1, max_size=12),
       st.booleans(), st.sampled_from(["2024-06-01", "2023-06-01"]), st.sampled_from(["csv", "jsonl"]))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
def test_generated_chunks_give_numpys_bytes_rows_and_diagnostics(tmp_path, lines, final_break, day, output_format):
    header, rows = sample()
    text = ",".join(header) + "\n" + "".join(_line(header, rows[base], cells, name, brk, crises)
                                              for base, cells, name, brk, crises in lines)
    if not final_break:
        text = text.rstrip("\n")
    path = _write(tmp_path, text)
    compiled, alone = _both(path, datetime.date.fromisoformat(day), output_format, chunk_bytes=700)
    assert compiled == alone


def test_edge_cells_in_every_column_give_numpys_bytes(tmp_path):
    header, rows = sample()
    path = _write(tmp_path, _csv(header, _edge_rows(header, rows)))
    for day in ("2024-06-01", "2023-06-01"):
        compiled, alone = _both(path, datetime.date.fromisoformat(day), chunk_bytes=5000)
        assert compiled == alone


def test_the_sample_in_columns_needs_no_row_path_with_either_reader(tmp_path):
    """The figures: every row of the sample is read by both readers at a date no text cuts."""
    header, rows = sample()
    path = _write(tmp_path, _csv(header, rows))
    compiled, alone = _both(path, datetime.date(2024, 6, 1), chunk_bytes=1 << 20)
    assert compiled[1] == alone[1] == len(rows) and compiled[2] == alone[2] == 0


def test_amounts_the_compiled_writer_cannot_vouch_for_go_to_numpy():
    np = pytest.importorskip("numpy")
    library = columnar_native.native()
    if library is None:
        pytest.skip("the extension is not built")
    amounts = [np.array([1.0, 2.0 ** 60, 3.0]), np.array([0.5, 0.0, 1.0])]
    applies = [np.array([True, False, True]), np.array([False, False, True])]
    sums, present, total = columnar_native.sum_lines(library, 3, amounts, applies, [0, 1], 2, None)
    assert total.tolist() == [1, 0, 4] and sums.tolist() == [[1, 0], [0, 0], [3, 1]]
    assert present.tolist() == [[True, False], [False, False], [True, True]]
    applies[0][1] = True  # 2**60 quanta: beyond what a float holds exactly
    assert columnar_native.sum_lines(library, 3, amounts, applies, [0, 1], 2, None) is None
    applies[0][1], applies[1][0] = False, True  # half a quantum
    assert columnar_native.sum_lines(library, 3, amounts, applies, [0, 1], 2, None) is None
    # A quantum finer than 10**-18 (19 decimals) is not written here: its numbers may not fit.
    one = np.ones(1, dtype=np.int64)
    args = (np.frombuffer(b"CPTS", dtype=np.uint8), b"f:", one, 0 * one, 4 * one, b",t,", one, one,
            np.zeros(1, dtype=bool), one, np.ones((1, 1), dtype=np.int64), np.ones((1, 1), dtype=bool), b"0.00",
            0 * one, [b",\n"])
    assert columnar_native.write_csv(library, *args, 18)[0].tobytes() == \
        b"f:1,CPTS,t,1,1,0.000000000000000001,0.000000000000000001,\n"
    assert columnar_native.write_csv(library, *args, 19) is None


def test_a_file_of_the_sample_is_read_the_same_in_every_chunk_size(tmp_path):
    header, rows = sample()
    path = _write(tmp_path, _csv(header, rows[:200], newline="\r\n"))
    day = datetime.date(2024, 6, 1)
    texts = {_both(path, day, chunk_bytes=size)[0][0] for size in (300, 1000, 4096, 1 << 20)}
    assert len(texts) == 1


def test_more_crises_than_a_row_read_here_holds_go_to_the_row_path_with_either_reader(tmp_path):
    header, rows = sample()
    most = columnar_reader._MOST_CRISES
    body = [list(row) for row in rows[:6]]
    for index, count in enumerate((most - 1, most, most + 1, most + 3)):
        body[index][header.index("crises")] = ";".join(f"2021-0{1 + k // 28}-{1 + k % 28:02d}" for k in range(count))
    path = _write(tmp_path, _csv(header, body))
    compiled, alone = _both(path, datetime.date(2024, 6, 1))
    assert compiled == alone
    assert compiled[3] is None and (compiled[1], compiled[2]) == (4, 2)  # the last two by the row path
