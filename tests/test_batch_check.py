"""The typed check of CSV rows (derived from the profile schema) against the full check.

A row the typed check passes must be one jsonschema and the other profile checks accept;
a row it does not pass goes through the full check, so the diagnostics of a batch are
exactly those of checking every row in full (the behaviour before the typed check).
"""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings, strategies as st

from aci_rules.engine.batch import check_profiles, read_profiles
from aci_rules.engine.library import Library
from aci_rules.engine.profile import validate_profile
from aci_rules.engine.yaml_loader import resolve_plain

from conftest import EXAMPLES

# Cells that are wrong somewhere, or right but near an edge of the schema or the calendar.
CELLS = ["", "0", "1", "-1", "1.0", "0.5", "1.01", "-0.0", "100000000", "100000001", "1000000", "1000001",
         "2024-02-29", "2023-02-29", "1899-12-31", "1900-01-01", "2100-12-31", "2101-01-01", "2024-13-01",
         "true", "null", "~", "abc", "1e3", ".5", "0x10", "2024-06-01;2023-02-30", "2024-06-01; 2025-01-01",
         "1950-01-01", "12:30", "+3", "007", "inf", "nan", "NaN", "''"]


def known_missions():
    library = Library()
    return library.mission_ids()


def sample_rows():
    lines = [line for line in (EXAMPLES / "national-sample.csv").read_text("utf-8").splitlines()
             if not line.startswith("#")]
    return lines[0].split(","), list(csv.reader(lines[1:41]))


def write(tmp_path, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / "rows.csv"
    path.write_text(buffer.getvalue(), "utf-8")
    return str(path)


def same_as_full_check(path):
    known = known_missions()
    sources = read_profiles(path, known)
    for source in sources:
        if source.checked:
            assert validate_profile(source.document, known) == [], source.label
    full = []
    for source in sources:
        full += validate_profile(source.document, known)
    assert check_profiles(sources, known) == full
    return sources


def test_every_edge_cell_in_every_column_gives_the_full_checks_diagnostics(tmp_path):
    header, rows = sample_rows()
    bad = []
    # A cell YAML readers would disagree on (E010) refuses the whole file while reading: left out.
    readable = [cell for cell in CELLS if not cell or resolve_plain(cell)[1] is None]
    for column in range(len(header)):
        for index, cell in enumerate(readable):
            row = list(rows[index % len(rows)])
            row[column] = cell
            bad.append(row)
    sources = same_as_full_check(write(tmp_path, header, bad))
    assert any(s.checked for s in sources) and not all(s.checked for s in sources)


def test_the_national_sample_passes_the_typed_check(tmp_path):
    header, rows = sample_rows()
    sources = same_as_full_check(write(tmp_path, header, rows))
    assert all(s.checked for s in sources)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_cells_give_the_full_checks_diagnostics(tmp_path, data):
    header, rows = sample_rows()
    row = list(rows[data.draw(st.integers(0, len(rows) - 1))])
    for _ in range(data.draw(st.integers(1, 4))):
        column = data.draw(st.integers(0, len(header) - 1))
        row[column] = data.draw(st.one_of(st.sampled_from(CELLS), st.text(
            st.characters(whitelist_categories=("Nd", "Ll", "Lu"), whitelist_characters="-.:;+ "), max_size=12)))
    from aci_rules.engine.diagnostic import InputError
    try:
        same_as_full_check(write(tmp_path, header, [row]))
    except InputError:
        pass  # a cell refused while reading (E010): no row reaches the check


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.sampled_from(CELLS), st.from_regex(r"[-+]?[0-9]{0,17}(\.[0-9]{0,17})?", fullmatch=True),
                 st.text(st.sampled_from("0123456789.-+:e"), min_size=1, max_size=20)))
def test_a_cell_is_typed_as_the_yaml_reader_types_it(cell):
    from aci_rules.engine.batch import _csv_value  # the typed shortcut for the common shapes

    if cell == "":
        return
    problems = []
    value = _csv_value(cell, "population", "f.csv", 1, 1, problems)
    expected, problem = resolve_plain(cell)
    assert (type(value), value) == (type(expected), expected)
    assert bool(problems) == bool(problem)


def test_a_streamed_batch_reports_reading_problems_before_the_check_and_writes_nothing(tmp_path):
    """A bad population on the first row, a cell YAML readers disagree on at the last:
    only the reading problem is reported, as when the whole file was read first."""
    from conftest import Run  # noqa: F401 — the CLI runner of the suite
    from click.testing import CliRunner

    from aci_rules.cli.main import cli

    header, rows = sample_rows()
    rows = [list(row) for row in rows]
    rows[0][1] = "-5"
    rows[-1][2] = "yes"
    path = write(tmp_path, header, rows)
    target = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["batch", path, "--date", "2024-06-01", "--output", str(target)])
    assert result.exit_code == 1
    assert "E010" in result.stderr and "E2" not in result.stderr.replace("E010", "")
    assert not target.exists() and list(tmp_path.iterdir()) == [tmp_path / "rows.csv"]
