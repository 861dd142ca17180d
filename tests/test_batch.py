"""`aci-rules batch` and `aci-rules compare`: many CPTS at once.

batch reads a .csv, a .jsonl or a folder of YAML profiles and writes one row per profile
(in input order) with its total per mission; compare runs two rulesets over the same
profiles and tells the cost, who gains and who loses. Inputs are checked like profile
files, each problem at FILE:LINE:COL (for a CSV, the row's line and the cell's column);
the output is written all at once (HOSTILE_INPUTS.md 27).

Every expected figure is the engine's own (eval, batch) or arithmetic on it; the size
classes are FACTS.md §2's, the count of the national sample FACTS.md §9's ~700 CPTS
(bench/make_national_sample.py, COUNT = 700).
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from click.testing import CliRunner

from aci_rules.cli.main import cli
from aci_rules.engine.library import Library

from conftest import EXAMPLES, ROOT, Run

SAMPLE = EXAMPLES / "national-sample.csv"
PLAN = EXAMPLES / "plan-100-cpts.yaml"
DAY = "2024-06-01"
TEMPORARY = re.compile(r"^\.aci-rules-.*\.tmp$")
DIAGNOSTIC = re.compile(r"^(?P<file>.+?)(?::(?P<line>[0-9]+)(?::(?P<col>[0-9]+))?)?: "
                        r"(?P<code>[EW][0-9]{3}) (?P<message>.+)$")
AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")
RULESET_IN_FORCE = Library().in_force(datetime.date.fromisoformat(DAY))
MISSION_COLUMNS = [f"mission_{m}" for m in RULESET_IN_FORCE.missions] + ["hors_mission"]
# hors_contrat: why a CPTS has no contract year on the date (its amount is then 0), else empty.
COLUMNS = ["source", "name", "ruleset", "size", "contract_year", "total"] + MISSION_COLUMNS + ["hors_contrat"]


def invoke(*args) -> Run:
    """``aci-rules ARGS...`` in-process (as the run_cli fixture, usable in module fixtures)."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return Run(result.exit_code, result.stdout, result.stderr, exception)


def ok(result: Run) -> Run:
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def diagnostics(stderr: str):
    """(file, line, col, code, message) of every stderr line; every line must be a diagnostic."""
    found = []
    for text in stderr.splitlines():
        match = DIAGNOSTIC.fullmatch(text)
        assert match, f"not FILE:LINE:COL: CODE message: {text!r}"
        found.append((match["file"], int(match["line"]) if match["line"] else None,
                      int(match["col"]) if match["col"] else None, match["code"], match["message"]))
    return found


def refused(result: Run, *expected):
    """Exit 1, nothing on stdout, only diagnostics on stderr, among them each (file, line, col, code)."""
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    found = diagnostics(result.stderr)
    where = {(f, l, c, code) for f, l, c, code, _ in found}
    for item in expected:
        assert item in where, f"expected {item} in:\n{result.stderr}"
    return found


def temporaries(folder) -> list:
    return [name for name in os.listdir(folder) if TEMPORARY.match(name)]


def csv_rows(text: str, columns=None) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == (columns or COLUMNS)
    return list(reader)


def taille(population: int) -> int:
    """FACTS.md §2: < 40 000, 40 000 to 80 000 (80 000 included), to 175 000, > 175 000."""
    return 1 if population < 40_000 else 2 if population <= 80_000 else 3 if population <= 175_000 else 4


# -- the national sample, read by the test itself --------------------------------------------

def sample_input() -> list[tuple[int, dict]]:
    """(line number, row) of each CPTS of the national sample, from the file's own text."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    reader = csv.DictReader(lines[first:])
    return [(first + 2 + offset, row) for offset, row in enumerate(reader)]


SAMPLE_INPUT = sample_input()


def profile_data(row: dict) -> dict:
    """A national-sample CSV row as a profile (the mapping a YAML or JSON profile holds)."""
    data = {"name": row["name"], "population": int(row["population"])}
    if row.get("members"):
        data["members"] = int(row["members"])
    for field in ("letter_of_intent_validated", "contract_signed"):
        if row.get(field):
            data[field] = row[field]
    if row.get("crises"):
        data["crises"] = [{"declared": day} for day in row["crises"].split(";")]
    missions = {}
    for column, cell in row.items():
        if not cell:
            continue
        if column.endswith("_started"):
            missions.setdefault(column[: -len("_started")], {})["started"] = cell
        elif "_achievement_" in column:
            mission, year = column.rsplit("_achievement_", 1)
            missions.setdefault(mission, {}).setdefault("achievement", {})[int(year)] = Decimal(cell)
    if missions:
        data["missions"] = missions
    return data


def yaml_profile(data: dict) -> str:
    out = [f"name: {json.dumps(data['name'], ensure_ascii=False)}", f"population: {data['population']}"]
    for field in ("members", "letter_of_intent_validated", "contract_signed"):
        if field in data:
            out.append(f"{field}: {data[field]}")
    if "crises" in data:
        out.append("crises:")
        out += [f"  - declared: {crisis['declared']}" for crisis in data["crises"]]
    if "missions" in data:
        out.append("missions:")
        for mission, state in data["missions"].items():
            out.append(f"  {mission}:")
            if "started" in state:
                out.append(f"    started: {state['started']}")
            if state.get("achievement"):
                out.append("    achievement: {" + ", ".join(
                    f"{year}: {rate}" for year, rate in state["achievement"].items()) + "}")
    return "\n".join(out) + "\n"


def json_profile(data: dict) -> str:
    def plain(node):
        if isinstance(node, dict):
            return {str(k): plain(v) for k, v in node.items()}
        if isinstance(node, list):
            return [plain(v) for v in node]
        return float(node) if isinstance(node, Decimal) else node

    return json.dumps(plain(data), ensure_ascii=False)


@pytest.fixture(scope="module")
def sample_batch():
    """`batch` of the national sample on DAY, CSV on stdout."""
    return ok(invoke("batch", SAMPLE, "--date", DAY))


# -- batch: CSV in, CSV out ------------------------------------------------------------------


def test_the_national_sample_holds_about_seven_hundred_cpts():
    """FACTS.md §9: about 700 CPTS under contract by May 2025 (bench/make_national_sample.py: 700)."""
    assert len(SAMPLE_INPUT) == 700


def test_csv_out_has_one_row_per_profile_in_input_order(sample_batch):
    rows = csv_rows(sample_batch.stdout)
    assert len(rows) == len(SAMPLE_INPUT)
    assert [row["source"] for row in rows] == [f"{SAMPLE}:{line}" for line, _ in SAMPLE_INPUT]
    assert [row["name"] for row in rows] == [row["name"] for _, row in SAMPLE_INPUT]
    # FACTS.md §1: avenant 2 is the text in force on 2024-06-01.
    assert {row["ruleset"] for row in rows} == {"avenant-2"}
    for row, (_, given) in zip(rows, SAMPLE_INPUT):
        assert int(row["size"]) == taille(int(given["population"])), row["name"]


def test_the_mission_columns_add_up_to_the_total(sample_batch):
    for row in csv_rows(sample_batch.stdout):
        for column in ["total"] + MISSION_COLUMNS:
            assert AMOUNT.fullmatch(row[column]), (row["name"], column, row[column])
        assert sum(Decimal(row[c]) for c in MISSION_COLUMNS) == Decimal(row["total"]), row["name"]


def test_the_stdout_of_batch_is_only_the_product_and_stderr_no_bare_progress_line(sample_batch):
    """700 profiles (>= 500) with stderr not a terminal: no progress label written bare among the
    diagnostics (click's bar prints only its label there); stdout is the CSV alone."""
    assert sample_batch.stderr == ""
    assert "Évaluation" not in sample_batch.stdout
    lines = sample_batch.stdout.splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) == 1 + len(SAMPLE_INPUT)
    assert all(line.startswith(f"{SAMPLE}:") for line in lines[1:])


def _first_rows(tmp_path, count: int):
    text = SAMPLE.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(text) if not line.startswith("#"))
    path = tmp_path / f"first-{count}.csv"
    path.write_text("\n".join(text[first: first + 1 + count]) + "\n", encoding="utf-8")
    return path


def _stderr_on_a_terminal(args) -> tuple[int, str, str]:
    """Run ``aci-rules ARGS`` in a real process whose stderr is a terminal (a pty)."""
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    code = "from aci_rules.cli.main import main; main()"
    process = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                               stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    stdout = process.stdout.read()
    process.wait(timeout=120)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal is closed once the process ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return process.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("count, bar", [(499, False), (500, True)])
def test_the_progress_bar_shows_from_five_hundred_profiles_on_a_terminal(tmp_path, count, bar):
    code, stdout, terminal = _stderr_on_a_terminal(["batch", _first_rows(tmp_path, count), "--date", DAY])
    assert code == 0, terminal
    assert len(csv_rows(stdout)) == count
    assert ("Évaluation" in terminal) is bar
    if not bar:
        assert terminal == ""


@pytest.mark.parametrize("count", [499, 500])
def test_no_progress_is_written_to_a_stderr_that_is_not_a_terminal(tmp_path, count):
    result = ok(invoke("batch", _first_rows(tmp_path, count), "--date", DAY))
    assert len(csv_rows(result.stdout)) == count
    assert result.stderr == ""


def test_the_notes_of_batch_on_stderr_are_in_the_readers_language(tmp_path):
    """Five years after the last signature of the sample every contract has ended: a note says so,
    and the assumption a renewal rests on, in French by default and in English with --lang en."""
    rows = _first_rows(tmp_path, 20)
    french = ok(invoke("batch", rows, "--date", "2031-06-01"))
    assert french.stderr == ("aci-rules: 20 CPTS hors contrat à la date (contrat de 5 ans échu, aucun contrat "
                             "suivant dans le profil) : montant 0 ; --assume-renewal suppose un renouvellement\n")
    english = ok(invoke("batch", rows, "--date", "2031-06-01", "--lang", "en"))
    assert english.stderr == ("aci-rules: 20 CPTS out of contract on the date (5-year contract ended, no later "
                              "contract in the profile): amount 0; --assume-renewal assumes a renewal\n")
    renewed = ok(invoke("batch", rows, "--date", "2031-06-01", "--assume-renewal", "--lang", "en"))
    assert renewed.stderr.startswith("aci-rules: assumption: renewal assumed (--assume-renewal): ")
    assert ok(invoke("batch", rows, "--date", "2031-06-01", "--assume-renewal")).stderr.startswith(
        "aci-rules: hypothèse : renouvellement supposé (--assume-renewal) : ")


def _handful():
    """A few varied rows: the first of each taille, with crises, taille 4 with 100+ members,
    signed after DAY, signed before 2022-09-30 (FACTS.md §3 supplement)."""
    picks = {}
    for index, (_, row) in enumerate(SAMPLE_INPUT):
        population = int(row["population"])
        keys = [f"taille-{taille(population)}"]
        if row["crises"]:
            keys.append("crises")
        if taille(population) == 4 and int(row["members"] or 0) >= 100:
            keys.append("majoration")
        if row["contract_signed"] > DAY:
            keys.append("not-yet-signed")
        if row["contract_signed"] < "2022-09-30":
            keys.append("early")
        for key in keys:
            picks.setdefault(key, index)
    return sorted(set(picks.values()))


def test_batch_totals_equal_eval_totals(sample_batch, tmp_path, run_cli):
    rows = csv_rows(sample_batch.stdout)
    chosen = _handful()
    assert len(chosen) >= 4
    for index in chosen:
        _, given = SAMPLE_INPUT[index]
        path = tmp_path / f"row-{index}.yaml"
        path.write_text(yaml_profile(profile_data(given)), encoding="utf-8")
        result = ok(run_cli("eval", path, "--date", DAY, "--format", "json"))
        document = json.loads(result.stdout)
        row = rows[index]
        assert row["total"] == document["total"], given["name"]
        assert row["size"] == str(document["size"])
        assert row["contract_year"] == ("" if document["contract_year"] is None else str(document["contract_year"]))
        by_mission = {}
        for line in document["lines"]:
            key = f"mission_{line['mission']}" if line["mission"] else "hors_mission"
            by_mission[key] = by_mission.get(key, Decimal(0)) + Decimal(line["amount"])
        for column in MISSION_COLUMNS:
            assert Decimal(row[column]) == by_mission.get(column, Decimal(0)), (given["name"], column)


# -- batch: JSON Lines -----------------------------------------------------------------------


def test_jsonl_in_and_out(sample_batch, tmp_path):
    rows = csv_rows(sample_batch.stdout)
    chosen = list(range(0, 40, 3))
    text = ["# profils au format JSON Lines", ""]
    for index in chosen:
        text.append(json_profile(profile_data(SAMPLE_INPUT[index][1])))
        text.append("")
    path = tmp_path / "profiles.jsonl"
    path.write_text("\n".join(text), encoding="utf-8")
    lines_of = [number for number, line in enumerate(text, 1) if line.startswith("{")]

    result = ok(invoke("batch", path, "--date", DAY, "--format", "jsonl"))
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(chosen)
    for document, index, number in zip(out, chosen, lines_of):
        assert set(document) == {"source", "name", "ruleset", "size", "contract_year", "total", "missions", "lines",
                                 "out_of_contract"}  # why there is no contract year: null, not_signed, ended
        assert document["source"] == f"{path}:{number}"
        assert document["name"] == rows[index]["name"]
        assert document["total"] == rows[index]["total"]
        assert document["ruleset"] == "avenant-2"
        total = Decimal(document["total"])
        assert sum(map(Decimal, document["lines"].values()), Decimal(0)) == total
        assert sum(map(Decimal, document["missions"].values()), Decimal(0)) == total

    # --output *.jsonl picks the format; the file holds what stdout held.
    target = tmp_path / "rows.jsonl"
    written = ok(invoke("batch", path, "--date", DAY, "--output", target))
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == result.stdout
    # JSON Lines in, CSV out: the same totals, in input order.
    as_csv = csv_rows(ok(invoke("batch", path, "--date", DAY)).stdout)
    assert [r["total"] for r in as_csv] == [rows[i]["total"] for i in chosen]
    assert [r["source"] for r in as_csv] == [f"{path}:{n}" for n in lines_of]


def test_a_jsonl_line_that_is_not_json_is_reported_at_its_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('# en-tête\n{"name": "A", "population": 1000}\n\n{"name": "B", population: 1000}\n',
                    encoding="utf-8")
    found = refused(invoke("batch", path, "--date", DAY))
    assert [(f, l, code) for f, l, _, code, _ in found] == [(str(path), 4, "E003")]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ["population", "achievement"])
def test_nan_and_infinity_in_jsonl_are_refused(tmp_path, value, where):
    line = ('{"name": "B", "population": %s}' % value if where == "population" else
            '{"name": "B", "population": 1000, "missions": {"parcours": {"achievement": {"1": %s}}}}' % value)
    path = tmp_path / "nan.jsonl"
    path.write_text('{"name": "A", "population": 1000}\n' + line + "\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    found = refused(invoke("batch", path, "--date", DAY, "--output", target))
    assert [(l, code) for _, l, _, code, _ in found] == [(2, "E003")]
    assert not target.exists()


def test_a_duplicate_key_in_a_jsonl_object_is_refused(tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text('{"name": "A", "population": 50000, "population": 500}\n', encoding="utf-8")
    refused(invoke("batch", path, "--date", DAY))


def test_a_line_separator_inside_a_jsonl_string_is_part_of_the_string(tmp_path):
    path = tmp_path / "u2028.jsonl"
    path.write_text('{"name": "CPTS\u2028Nord", "population": 1000}\n', encoding="utf-8")
    result = ok(invoke("batch", path, "--date", DAY))
    assert len(csv_rows(result.stdout)) == 1


# -- batch: a folder of YAML profiles --------------------------------------------------------


def test_a_folder_of_yaml_profiles_skips_the_rulesets(tmp_path, run_cli):
    folder = tmp_path / "cpts"
    folder.mkdir()
    profiles, rulesets = [], []
    for source in sorted(EXAMPLES.glob("*.yaml")):
        text = source.read_text(encoding="utf-8")
        (folder / source.name).write_text(text, encoding="utf-8")
        (profiles if re.search(r"^population:", text, re.M) else rulesets).append(source.name)
    (folder / "notes.txt").write_text("pas un profil\n", encoding="utf-8")
    assert profiles and rulesets
    # Under the Plan: one example profile has a mission of the Plan's (cpts-plan-100-preavis.yaml).
    result = ok(invoke("batch", folder, "--date", DAY, "--ruleset", PLAN))
    plan_missions = [f"mission_{m}" for m in Library().get(str(PLAN), datetime.date.fromisoformat(DAY)).missions]
    rows = csv_rows(result.stdout, COLUMNS[:6] + plan_missions + ["hors_mission", "hors_contrat"])
    assert [row["source"] for row in rows] == [str(folder / name) for name in sorted(profiles)]
    for row, name in zip(rows, sorted(profiles)):
        expected = json.loads(ok(run_cli("eval", folder / name, "--date", DAY, "--ruleset", PLAN,
                                         "--format", "json")).stdout)
        assert row["total"] == expected["total"], name
        assert row["size"] == str(expected["size"]), name


def test_a_folder_profile_with_a_misspelt_population_is_reported(tmp_path):
    folder = tmp_path / "cpts"
    folder.mkdir()
    (folder / "a.yaml").write_text("name: CPTS A\npopulation: 50000\n", encoding="utf-8")
    (folder / "b.yaml").write_text("name: CPTS B\npopulaton: 50000\n", encoding="utf-8")
    found = refused(invoke("batch", folder, "--date", DAY))
    assert any(f == str(folder / "b.yaml") and code in ("E201", "E202") for f, _, _, code, _ in found)
    assert any("population" in message for *_, message in found)


def test_a_folder_profile_with_a_bad_value_is_reported_in_its_file(tmp_path):
    folder = tmp_path / "cpts"
    folder.mkdir()
    (folder / "a.yaml").write_text("name: CPTS A\npopulation: 50000\n", encoding="utf-8")
    (folder / "b.yaml").write_text("name: CPTS B\npopulation: 50000\ncontract_signed: 2023-02-30\n", encoding="utf-8")
    refused(invoke("batch", folder, "--date", DAY), (str(folder / "b.yaml"), 3, 18, "E205"))


# -- batch: several processes ----------------------------------------------------------------


def test_two_jobs_give_byte_identical_output(sample_batch, tmp_path):
    two = ok(invoke("batch", SAMPLE, "--date", DAY, "--jobs", "2"))
    assert two.stdout.encode("utf-8") == sample_batch.stdout.encode("utf-8")
    one_file, two_file = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    ok(invoke("batch", SAMPLE, "--date", DAY, "--jobs", "1", "--output", one_file))
    ok(invoke("batch", SAMPLE, "--date", DAY, "--jobs", "2", "--output", two_file))
    assert one_file.read_bytes() == two_file.read_bytes()
    assert one_file.read_bytes()


# -- batch: bad inputs, located ----------------------------------------------------------------

HEADER = "name,population,members,contract_signed,parcours_started,parcours_achievement_1"


def _bad_csv(tmp_path, rows: list[str], name="bad.csv"):
    """A CSV with two comment lines (like the national sample): the header is line 3."""
    path = tmp_path / name
    path.write_text("# commentaire\n# encore\n" + HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


GOOD_ROW = "CPTS bonne,50000,10,2022-01-15,2022-02-01,0.50"
PREVIOUS = "source,total\nun fichier précédent,1.00\n"  # an --output file from an earlier run


@pytest.mark.parametrize("cell, column, codes", [
    ('"12,50"', 2, {"E203"}),              # HOSTILE 14: a decimal comma
    ("2023-02-30", 4, {"E205"}),           # HOSTILE 11: not a day of the calendar
    ("-5", 2, {"E204"}),                   # HOSTILE 12: negative population
    ("12.5", 2, {"E203"}),                 # HOSTILE 12: fractional population
    ("true", 2, {"E203"}),                 # HOSTILE 12: boolean population
    ("beaucoup", 2, {"E203"}),             # HOSTILE 12: a text
    ("NaN", 2, {"E203"}),                  # HOSTILE 14
    (".inf", 2, {"E010", "E203"}),         # HOSTILE 14
    ("-0", 2, {"E010"}),                   # HOSTILE 14: a negative zero
    ("1234567890123", 2, {"E010", "E204"}),  # HOSTILE 14: thirteen digits
    ("1e3", 2, {"E010", "E203"}),          # HOSTILE 10: exponent notation
    ("-1", 3, {"E204"}),                   # HOSTILE 12: members < 0
    ("2101-01-01", 4, {"E205"}),           # HOSTILE 16
    ("1899-12-31", 4, {"E205"}),           # HOSTILE 16
    ("2023-1-1", 4, {"E205"}),             # HOSTILE 11
    ("01/02/2023", 4, {"E205"}),           # HOSTILE 11
    ("1.5", 6, {"E204"}),                  # HOSTILE 13: a rate above 1
    ("-0.1", 6, {"E204"}),                 # HOSTILE 13: a rate below 0
])
def test_a_bad_cell_is_reported_at_its_row_and_column_and_nothing_is_written(tmp_path, cell, column, codes):
    cells = GOOD_ROW.split(",")
    cells[column - 1] = cell
    path = _bad_csv(tmp_path, [GOOD_ROW, GOOD_ROW, ",".join(cells), GOOD_ROW])
    target = tmp_path / "out.csv"
    found = refused(invoke("batch", path, "--date", DAY, "--output", target))
    assert [(f, l, c) for f, l, c, _, _ in found] == [(str(path), 6, column)], found
    assert found[0][3] in codes, found
    assert not target.exists()
    assert not temporaries(tmp_path)


def test_every_bad_cell_is_reported_and_an_existing_output_is_kept(tmp_path):
    rows = [GOOD_ROW, 'CPTS A,"12,50",10,2022-01-15,,', "CPTS B,1000,10,2023-02-30,,", GOOD_ROW]
    path = _bad_csv(tmp_path, rows)
    target = tmp_path / "out.csv"
    target.write_text(PREVIOUS, encoding="utf-8")
    found = refused(invoke("batch", path, "--date", DAY, "--output", target),
                    (str(path), 5, 2, "E203"), (str(path), 6, 4, "E205"))
    assert len(found) == 2
    assert target.read_text(encoding="utf-8") == PREVIOUS
    assert not temporaries(tmp_path)


def test_a_missing_population_is_reported_at_its_row(tmp_path):
    """HOSTILE 15: a missing required field."""
    path = _bad_csv(tmp_path, [GOOD_ROW, "CPTS sans population,,10,2022-01-15,,"])
    found = refused(invoke("batch", path, "--date", DAY), (str(path), 5, 1, "E202"))
    assert "population" in found[0][4]


@pytest.mark.parametrize("header, column, suggestion", [
    ("name,populaton,contract_signed", 2, "population"),
    ("name,population,contract_signd", 3, "contract_signed"),
    ("name,population,parcours_achievment_1", 3, "parcours_achievement_1"),
])
def test_an_unknown_column_is_refused_with_a_suggestion(tmp_path, header, column, suggestion):
    """HOSTILE 15: a typo in a field name."""
    path = tmp_path / "columns.csv"
    path.write_text(f"# commentaire\n{header}\nCPTS,50000,2022-01-15\n", encoding="utf-8")
    found = refused(invoke("batch", path, "--date", DAY, "--lang", "en"), (str(path), 2, column, "E201"))
    assert f"did you mean '{suggestion}'" in found[0][4]


def test_a_contract_year_column_past_five_is_an_unknown_column(tmp_path):
    """HOSTILE 13: a contract-year key 0 or 9 (the contract has 5 years, FACTS.md §5)."""
    path = tmp_path / "years.csv"
    path.write_text("name,population,parcours_achievement_9,parcours_achievement_0\nCPTS,50000,0.5,0.5\n",
                    encoding="utf-8")
    refused(invoke("batch", path, "--date", DAY), (str(path), 1, 3, "E201"), (str(path), 1, 4, "E201"))


def test_a_row_with_the_wrong_number_of_cells_is_reported(tmp_path):
    path = _bad_csv(tmp_path, [GOOD_ROW, "CPTS courte,1000"])
    refused(invoke("batch", path, "--date", DAY), (str(path), 5, 1, "E003"))


def test_a_quoted_line_break_does_not_shift_the_lines_of_later_rows(tmp_path):
    path = tmp_path / "multiline.csv"
    path.write_text('name,population\n"CPTS\ndu Nord",1000\nCPTS Sud,"12,50"\n', encoding="utf-8")
    refused(invoke("batch", path, "--date", DAY), (str(path), 4, 2, "E203"))


def test_a_line_separator_inside_a_cell_is_part_of_the_cell(tmp_path):
    path = tmp_path / "u2028.csv"
    path.write_text("name,population\nCPTS\u2028Nord,1000\n", encoding="utf-8")
    result = ok(invoke("batch", path, "--date", DAY))
    assert [row["name"] for row in csv_rows(result.stdout)] == ["CPTS\u2028Nord"]


# -- batch: files that are not small UTF-8 texts (HOSTILE 3, 5) ------------------------------


def test_latin1_bytes_are_refused_at_their_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,population\nCPTS du café,1000\n".encode("latin-1"))
    found = refused(invoke("batch", path, "--date", DAY))
    assert [(f, l, code) for f, l, _, code, _ in found] == [(str(path), 2, "E002")]


def test_latin1_bytes_are_refused_at_their_column(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,population\nCPTS du café,1000\n".encode("latin-1"))
    refused(invoke("batch", path, "--date", DAY), (str(path), 2, len("CPTS du caf") + 1, "E002"))


def test_a_nul_byte_in_a_csv_is_refused(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"name,population\nCPTS\x00Nord,1000\n")
    refused(invoke("batch", path, "--date", DAY))


def test_a_utf8_bom_is_accepted_and_does_not_shift_columns(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "name,population\nCPTS,1000\nCPTS B,-3\n".encode("utf-8"))
    refused(invoke("batch", path, "--date", DAY), (str(path), 3, 2, "E204"))
    path.write_bytes(b"\xef\xbb\xbf" + "name,population\nCPTS,1000\n".encode("utf-8"))
    assert [row["name"] for row in csv_rows(ok(invoke("batch", path, "--date", DAY)).stdout)] == ["CPTS"]


def test_a_file_over_the_batch_limit_is_refused_without_reading_it(tmp_path):
    from aci_rules.engine.batch import MAX_BATCH_BYTES

    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:  # sparse: nothing written to the disk
        handle.truncate(MAX_BATCH_BYTES + 1)
    found = refused(invoke("batch", path, "--date", DAY))
    assert [(f, code) for f, _, _, code, _ in found] == [(str(path), "E001")]
    assert str(MAX_BATCH_BYTES) in found[0][4]


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "aci_rules", "batch", str(fifo), "--date", DAY],
                          capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert [code for _, _, _, code, _ in diagnostics(done.stderr)] == ["E001"]


def test_an_unknown_extension_is_refused(tmp_path):
    path = tmp_path / "profiles.txt"
    path.write_text("name,population\nCPTS,1000\n", encoding="utf-8")
    found = refused(invoke("batch", path, "--date", DAY))
    assert [code for *_, code, _ in found] == ["E001"]


# -- batch: the output is written all at once (HOSTILE 27) -----------------------------------


def test_output_written_to_a_file_is_what_stdout_shows(sample_batch, tmp_path):
    target = tmp_path / "rows.csv"
    result = ok(invoke("batch", SAMPLE, "--date", DAY, "--output", target))
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == sample_batch.stdout
    assert not temporaries(tmp_path)


def test_output_into_a_missing_folder_is_refused_and_nothing_is_written(tmp_path):
    target = tmp_path / "absent" / "rows.csv"
    found = refused(invoke("batch", _first_rows(tmp_path, 5), "--date", DAY, "--output", target))
    assert [code for *_, code, _ in found] == ["E011"]
    assert not (tmp_path / "absent").exists()
    assert not temporaries(tmp_path)


def test_output_onto_a_folder_is_refused(tmp_path):
    target = tmp_path / "folder.csv"
    target.mkdir()
    found = refused(invoke("batch", _first_rows(tmp_path, 5), "--date", DAY, "--output", target))
    assert [code for *_, code, _ in found] == ["E011"]
    assert target.is_dir() and not list(target.iterdir())


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_output_into_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        found = refused(invoke("batch", _first_rows(tmp_path, 5), "--date", DAY, "--output", folder / "r.csv"))
        assert [code for *_, code, _ in found] == ["E011"]
        assert not list(folder.iterdir())
    finally:
        folder.chmod(0o700)


def test_an_interruption_during_evaluation_leaves_the_target_untouched(tmp_path, monkeypatch):
    from aci_rules.engine import batch

    target = tmp_path / "rows.csv"
    target.write_text(PREVIOUS, encoding="utf-8")
    before = target.read_bytes()
    real, calls = batch._row, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 300:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "_row", interrupted)
    result = invoke("batch", SAMPLE, "--date", DAY, "--output", target)
    assert len(calls) == 300
    assert result.exit_code == 130, (result.exit_code, result.stderr)
    assert "aci-rules : interrompu" in result.stderr and "Traceback" not in result.stderr  # French by default
    assert result.stdout == ""
    assert target.read_bytes() == before
    assert not temporaries(tmp_path)


def test_an_interruption_while_writing_leaves_the_target_untouched(tmp_path, monkeypatch):
    """The rows are half written to a temporary file beside the target when Ctrl-C comes."""
    from aci_rules.cli import impact

    target = tmp_path / "rows.csv"
    target.write_text(PREVIOUS, encoding="utf-8")
    before = target.read_bytes()
    real = impact.atomic_output
    seen = {}

    class Breaking(io.TextIOBase):
        def __init__(self, stream):
            self.stream, self.rows = stream, 0

        def write(self, text):
            self.rows += text.count("\n")
            if self.rows > 350:
                seen["temporaries"] = temporaries(tmp_path)
                seen["target"] = target.read_bytes()
                raise KeyboardInterrupt
            return self.stream.write(text)

    @contextlib.contextmanager
    def breaking_output(path):
        with real(path) as stream:
            yield Breaking(stream)

    monkeypatch.setattr(impact, "atomic_output", breaking_output)
    result = invoke("batch", SAMPLE, "--date", DAY, "--output", target)
    assert result.exit_code == 130, (result.exit_code, result.stderr)
    assert len(seen["temporaries"]) == 1, "the rows were not being written to a temporary file"
    assert seen["target"] == before
    assert target.read_bytes() == before
    assert not temporaries(tmp_path)


# -- compare ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison():
    """compare avenant-2 -> plan-100-cpts on the national sample, JSON; and the batches of both."""
    result = ok(invoke("compare", SAMPLE, "--baseline", "avenant-2", "--reform", PLAN, "--date", DAY,
                       "--format", "json"))
    report = json.loads(result.stdout)
    baseline = csv_rows(ok(invoke("batch", SAMPLE, "--date", DAY, "--ruleset", "avenant-2")).stdout)
    reform_text = ok(invoke("batch", SAMPLE, "--date", DAY, "--ruleset", PLAN)).stdout
    reform = list(csv.DictReader(io.StringIO(reform_text)))
    return result, report, baseline, reform


def test_compare_json_totals_and_difference(comparison):
    _, report, baseline, reform = comparison
    assert (report["baseline"], report["reform"], report["date"]) == ("avenant-2", "plan-100-cpts", DAY)
    assert report["profiles"] == len(SAMPLE_INPUT)
    base, new = Decimal(report["baseline_total"]), Decimal(report["reform_total"])
    assert Decimal(report["difference"]) == new - base
    assert base == sum(Decimal(row["total"]) for row in baseline)
    assert new == sum(Decimal(row["total"]) for row in reform)


def test_compare_counts_who_gains_and_who_loses(comparison):
    _, report, baseline, reform = comparison
    # DESIGN.md § Time: a CPTS out of contract under both texts is counted apart, never as unchanged.
    outside = [a for a, b in zip(baseline, reform) if a["hors_contrat"] and b["hors_contrat"]]
    assert report["out_of_contract_both"] == len(outside)
    assert report["gain"] + report["lose"] + report["unchanged"] + len(outside) == len(SAMPLE_INPUT) == 700
    differences = [Decimal(b["total"]) - Decimal(a["total"]) for a, b in zip(baseline, reform)
                   if not (a["hors_contrat"] and b["hors_contrat"])]
    assert report["gain"] == sum(1 for d in differences if d > 0)
    assert report["lose"] == sum(1 for d in differences if d < 0)
    assert report["unchanged"] == sum(1 for d in differences if d == 0)


def test_compare_by_size_adds_up(comparison):
    _, report, baseline, _ = comparison
    by_size = report["by_size"]
    assert sum(entry["count"] for entry in by_size.values()) == 700
    assert sum(Decimal(e["baseline"]) for e in by_size.values()) == Decimal(report["baseline_total"])
    assert sum(Decimal(e["reform"]) for e in by_size.values()) == Decimal(report["reform_total"])
    for size, entry in by_size.items():
        assert Decimal(entry["difference"]) == Decimal(entry["reform"]) - Decimal(entry["baseline"])
        assert entry["count"] == sum(1 for row in baseline if row["size"] == size)


def test_compare_by_mission_adds_up(comparison):
    _, report, baseline, reform = comparison
    by_mission = report["by_mission"]
    assert sum(Decimal(e["baseline"]) for e in by_mission.values()) == Decimal(report["baseline_total"])
    assert sum(Decimal(e["reform"]) for e in by_mission.values()) == Decimal(report["reform_total"])
    for key, entry in by_mission.items():
        column = key if key == "hors_mission" else f"mission_{key}"
        assert Decimal(entry["baseline"]) == sum(Decimal(row.get(column) or 0) for row in baseline), key
        assert Decimal(entry["reform"]) == sum(Decimal(row.get(column) or 0) for row in reform), key
        assert Decimal(entry["difference"]) == Decimal(entry["reform"]) - Decimal(entry["baseline"])


def test_compare_lists_the_largest_changes_first(comparison):
    _, report, baseline, reform = comparison
    largest = report["largest"]
    assert 0 < len(largest) <= 10  # --top defaults to 10
    sizes = [abs(Decimal(e["difference"])) for e in largest]
    assert sizes == sorted(sizes, reverse=True)
    for entry in largest:
        assert Decimal(entry["difference"]) == Decimal(entry["reform"]) - Decimal(entry["baseline"])
    every = sorted((abs(Decimal(b["total"]) - Decimal(a["total"])) for a, b in zip(baseline, reform)),
                   reverse=True)
    assert sizes == every[: len(sizes)]


def test_compare_top_limits_the_list(comparison):
    _, report, _, _ = comparison
    result = ok(invoke("compare", SAMPLE, "--baseline", "avenant-2", "--reform", PLAN, "--date", DAY,
                       "--format", "json", "--top", "3"))
    assert json.loads(result.stdout)["largest"] == report["largest"][:3]


def test_compare_writes_no_bare_progress_line_and_only_json_on_stdout(comparison):
    result, _, _, _ = comparison
    assert result.stderr == ""
    document, end = json.JSONDecoder().raw_decode(result.stdout)
    assert result.stdout[end:].strip() == ""


def french(amount: Decimal) -> str:
    """'1 234 567,89 €' (DESIGN.md: amounts the French way)."""
    sign = "-" if amount < 0 else ""
    return sign + f"{abs(amount):,.2f}".replace(",", " ").replace(".", ",") + " €"


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_compare_text_and_markdown_show_french_amounts(comparison, output_format):
    _, report, _, _ = comparison
    result = ok(invoke("compare", SAMPLE, "--baseline", "avenant-2", "--reform", PLAN, "--date", DAY,
                       "--format", output_format))
    for key in ("baseline_total", "reform_total", "difference"):
        assert french(Decimal(report[key])) in result.stdout, key
    for entry in report["by_size"].values():
        assert french(Decimal(entry["baseline"])) in result.stdout
    assert str(report["lose"]) in result.stdout
    assert not re.search(r"[0-9]\.[0-9]{2}\b", result.stdout.replace(DAY, "")), "an amount the English way"
    if output_format == "markdown":
        assert any(line.startswith("|") for line in result.stdout.splitlines())


def test_compare_a_ruleset_with_itself_changes_nothing():
    report = json.loads(ok(invoke("compare", SAMPLE, "--baseline", "avenant-2", "--reform", "avenant-2",
                                  "--date", DAY, "--format", "json")).stdout)
    assert Decimal(report["difference"]) == 0
    assert report["baseline_total"] == report["reform_total"]
    outside = report["out_of_contract_both"]
    assert report["out_of_contract"]["baseline"] == report["out_of_contract"]["reform"]
    assert outside == sum(report["out_of_contract"]["baseline"].values())
    assert (report["gain"], report["lose"], report["unchanged"]) == (0, 0, 700 - outside)
    assert all(Decimal(e["difference"]) == 0 for e in report["by_size"].values())
    assert all(Decimal(e["difference"]) == 0 for e in report["by_mission"].values())
    assert all(Decimal(e["difference"]) == 0 for e in report["largest"])


def test_compare_refuses_an_unknown_ruleset():
    found = refused(invoke("compare", SAMPLE, "--baseline", "avenant-2", "--reform", "avenant-3",
                           "--date", DAY, "--format", "text"))
    assert [code for *_, code, _ in found] == ["E404"]


def test_compare_output_does_not_depend_on_the_hash_seed(tmp_path):
    outputs = set()
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "aci_rules", "compare", str(SAMPLE), "--baseline", "avenant-2",
             "--reform", str(PLAN), "--date", DAY, "--format", "json"],
            capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_a_proposal_beside_the_profiles_of_a_folder_makes_its_missions_known(tmp_path):
    """A mission no text defines is E208; a proposal in the same folder is a text given with them."""
    folder = tmp_path / "cpts"
    folder.mkdir()
    profile = EXAMPLES / "cpts-plan-100-preavis.yaml"  # a mission of the Plan: initiative_locale
    (folder / profile.name).write_text(profile.read_text(encoding="utf-8"), encoding="utf-8")
    alone = invoke("--lang", "en", "batch", folder, "--date", DAY)
    assert alone.exit_code == 1 and "E208 unknown mission 'initiative_locale'" in alone.stderr
    (folder / PLAN.name).write_text(PLAN.read_text(encoding="utf-8"), encoding="utf-8")
    ok(invoke("batch", folder, "--date", DAY))
