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


# -- the typed parse of a CSV row straight into a profile (the streamed batch) ----------------


def _full_profile(header, row, known):
    """The profile of a row the long way: a document cell by cell, checked in full, compiled."""
    import dataclasses

    from aci_rules.engine.batch import _csv_path, _row_document
    from aci_rules.engine.profile import compile_profile

    problems = []
    document = _row_document(header, [_csv_path(n) for n in header], row, "f.csv", 2, False, problems)
    if problems or validate_profile(document, known):
        return None
    return dataclasses.replace(compile_profile(document), document=None)


def test_the_typed_parse_gives_the_profile_of_the_full_check_or_none():
    """For the sample's rows and every edge cell in every column: where the typed parse gives a
    profile, it is the one the document of the row compiles to (same values, same types, same
    order of missions); where the full check refuses the row, the typed parse gives None."""
    from aci_rules.engine.batch import _CsvRowType

    header, rows = sample_rows()
    known = known_missions()
    row_type = _CsvRowType(header, False)
    corpus = [list(row) for row in rows]
    for column in range(len(header)):
        for index, cell in enumerate(CELLS + [" 0.5 ", "2024-06-01;2023-01-01", "2019-01-01", "  "]):
            row = list(rows[index % len(rows)])
            row[column] = cell
            corpus.append(row)
    typed = 0
    for row in corpus:
        fast = row_type.profile(row)
        full = _full_profile(header, row, known)
        if fast is not None:
            typed += 1
            assert full is not None, row
            assert fast == full, row
            assert [type(v) for m in fast.missions.values() for v in m.achievement.values()] == \
                   [type(v) for m in full.missions.values() for v in m.achievement.values()]
    assert typed > len(rows)
    assert all(row_type.profile(row) is not None for row in rows)


# -- the typed check of documents (JSON Lines rows, profile files) -----------------------------


def _documents():
    """Profile documents: the sample's rows as JSON, each field given edge values of every type;
    and the profiles of the invalid corpus."""
    import glob
    import json
    from decimal import Decimal

    from aci_rules.engine.diagnostic import InputError
    from aci_rules.engine.yaml_loader import Document, load_document

    from conftest import ROOT
    from test_batch import SAMPLE_INPUT, json_profile, profile_data

    values = [None, True, 0, -1, 1, 2, 5, 100000001, Decimal("0.5"), Decimal("1.01"), Decimal("-0.0"),
              "", "x", "2024-02-29", "2023-02-29", "1899-12-31", "2101-01-01", "2024-1-1",
              "2024-06-01\n", [], [{}], [{"declared": "2024-01-01"}], [{"signed": "2018-01-01"}], {}, {"1": 0.5},
              {"a": {}}, {"6": Decimal("0.5")}]
    docs = []
    for _, row in SAMPLE_INPUT[:4]:
        base = json.loads(json_profile(profile_data(row)), parse_float=Decimal)
        docs.append(base)
        for field in ("name", "population", "members", "letter_of_intent_validated", "contract_signed", "crises",
                      "contracts", "missions", "extra"):
            for value in values:
                docs.append({**base, field: value})
        mission = next(iter(base.get("missions") or {"acces_soins": {}}))
        for field in ("started", "deployed", "achievement", "indicators", "other"):
            for value in values:
                docs.append({**base, "missions": {**(base.get("missions") or {}), mission: {field: value}}})
        docs.append({k: v for k, v in base.items() if k != "population"})
    found = [Document("row.jsonl", data, marks={(): (1, 1)}) for data in docs]
    for path in sorted(glob.glob(str(ROOT / "tests" / "invalid" / "profile-*.yaml"))) + \
            sorted(glob.glob(str(ROOT / "examples" / "cpts-*.yaml"))):
        try:
            found.append(load_document(path))
        except InputError:
            pass
    return found


def test_the_typed_check_of_documents_changes_no_diagnostic(monkeypatch):
    """Every document gives the same diagnostics with the typed check as with jsonschema alone,
    and a document the typed check passes is one jsonschema finds nothing in."""
    from aci_rules.engine import schema

    documents = _documents()
    known = known_missions()
    check = schema.typed_check("profile")
    assert check is not None
    passed = 0
    with_typed = [validate_profile(d, known) for d in documents]
    for document in documents:
        if check(document.data):
            passed += 1
            assert not list(schema._validator("profile").iter_errors(document.data)), document.data
    monkeypatch.setattr(schema, "typed_check", lambda name: None)
    without = [validate_profile(d, known) for d in documents]
    assert with_typed == without
    assert 4 <= passed < len(documents) and sum(1 for found in without if found) > 100
