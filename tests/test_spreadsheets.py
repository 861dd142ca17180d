"""Spreadsheets an analyst opens: CSVs from French Excel in, French-Excel CSVs and xlsx out.

The two CSVs of tests/spreadsheets/ are written byte for byte as French Excel saves a sheet:
"CSV UTF-8" (a BOM) and "CSV (séparateur : point-virgule)" (Windows-1252), both with CRLF
rows, ';' between cells, decimal commas, dates DD/MM/YYYY, a population with a no-break
space between thousands and a percentage. Each must give exactly what the same profiles
written the usual way (',' and decimal points) give.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from aci_rules.engine.batch import read_profiles
from aci_rules.engine.library import Library

from conftest import ROOT

SHEETS = ROOT / "tests" / "spreadsheets"
FRENCH = [SHEETS / "excel-fr-utf8-bom.csv", SHEETS / "excel-fr-cp1252.csv"]
DAY = "2023-01-15"
KNOWN = Library().mission_ids()

# The same three CPTS as the French files, written the usual way.
COMMA = """\
name,population,members,contract_signed,crises,acces_soins_started,acces_soins_achievement_1,\
acces_soins_achievement_2,parcours_started,parcours_achievement_1,prevention_started,prevention_achievement_1
CPTS du Pays d'Arlès,92000,140,2022-03-15,2023-01-15;2023-06-01,2022-06-01,0.8,1,2023-01-10,0.35,2022-09-01,0.85
CPTS Cœur de Savoie,38500,55,2022-10-01,,2022-10-15,0.29,,,,,
CPTS Île-de-Ré — Aunis,180250,210,2020-02-29,,2020-03-01,1,0.5,2021-03-01,0.125,,
"""


def rows_without_source(text: str) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        del row["source"]
    return rows


@pytest.fixture
def comma_file(tmp_path):
    path = tmp_path / "comma.csv"
    path.write_text(COMMA, encoding="utf-8")
    return path


# -- reading French Excel ---------------------------------------------------------------

@pytest.mark.parametrize("path", FRENCH, ids=lambda p: p.name)
def test_a_french_excel_csv_gives_what_the_same_profiles_written_with_commas_give(run_cli, path, comma_file):
    french = run_cli("batch", path, "--date", DAY)
    usual = run_cli("batch", comma_file, "--date", DAY)
    assert french.exit_code == 0 and usual.exit_code == 0, french.stderr + usual.stderr
    assert rows_without_source(french.stdout) == rows_without_source(usual.stdout)
    names = [row["name"] for row in rows_without_source(french.stdout)]
    assert names == ["CPTS du Pays d'Arlès", "CPTS Cœur de Savoie", "CPTS Île-de-Ré — Aunis"]


@pytest.mark.parametrize("path", FRENCH, ids=lambda p: p.name)
def test_decimal_commas_percentages_and_thousands_are_read_exactly(path):
    first, second, third = (source.document.data for source in read_profiles(str(path), KNOWN))
    assert first["population"] == 92000 and third["population"] == 180250
    assert first["contract_signed"] == "2022-03-15" and third["contract_signed"] == "2020-02-29"
    assert first["crises"] == [{"declared": "2023-01-15"}, {"declared": "2023-06-01"}]
    achieved = [first["missions"]["acces_soins"]["achievement"]["1"],
                first["missions"]["parcours"]["achievement"]["1"],
                first["missions"]["prevention"]["achievement"]["1"],  # written "85 %"
                second["missions"]["acces_soins"]["achievement"]["1"],
                third["missions"]["parcours"]["achievement"]["1"]]
    assert achieved == [Decimal("0.8"), Decimal("0.35"), Decimal("0.85"), Decimal("0.29"), Decimal("0.125")]
    assert all(type(value) is Decimal for value in achieved)  # never a float on the way
    assert [str(value) for value in achieved] == ["0.8", "0.35", "0.85", "0.29", "0.125"]


def test_the_variable_parts_read_from_decimal_commas_are_to_the_cent(run_cli):
    """Pays d'Arlès, taille 3, year 1 (FACTS.md §4: avenant 2 variable maxima per taille)."""
    result = run_cli("batch", FRENCH[0], "--date", DAY, "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = json.loads(result.stdout.splitlines()[0])["lines"]
    ruleset = Library().get("avenant-2")
    variable = {m: ruleset.parameters[f"montant_{m}_variable"].value_for(3) for m in ("acces_soins", "parcours")}
    assert Decimal(lines["acces_soins_variable"]) == variable["acces_soins"] * Decimal("0.8")
    assert Decimal(lines["parcours_variable"]) == variable["parcours"] * Decimal("0.35")


def test_compare_reads_a_french_excel_csv_too(run_cli, comma_file):
    french = run_cli("compare", FRENCH[1], "--baseline", "aci-2019", "--reform", "avenant-2", "--date", DAY,
                     "--format", "json")
    usual = run_cli("compare", comma_file, "--baseline", "aci-2019", "--reform", "avenant-2", "--date", DAY,
                    "--format", "json")
    assert french.exit_code == 0, french.stderr
    one, other = json.loads(french.stdout), json.loads(usual.stdout)
    for key in ("baseline_total", "reform_total", "difference", "by_size", "by_mission"):
        assert one[key] == other[key]


def test_the_dialect_named_is_the_dialect_read(run_cli, comma_file):
    assert run_cli("batch", FRENCH[0], "--date", DAY, "--csv-dialect", "excel-fr").exit_code == 0
    assert run_cli("batch", comma_file, "--date", DAY, "--csv-dialect", "comma").exit_code == 0


@pytest.mark.parametrize("path, named, found", [
    (FRENCH[1], "comma", "French Excel"),
    (None, "excel-fr", "comma"),
])
def test_a_csv_in_another_dialect_than_the_one_named_is_refused_in_one_line(run_cli, comma_file, path, named,
                                                                           found):
    result = run_cli("batch", path or comma_file, "--date", DAY, "--csv-dialect", named)
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert ":1:1: E003 " in line and found in line and "--csv-dialect" in line


def test_a_tab_separated_file_is_refused_in_one_line_naming_its_separator(run_cli, write):
    path = write("tabs.csv", "name\tpopulation\nCPTS A\t30000\n")
    result = run_cli("batch", path, "--date", DAY)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.endswith("separated by tabs: a profiles CSV is separated by ',' or, from French Excel, by ';'")


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_refused_at_their_place(run_cli, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"name;population\r\nCPTS \x81;30000\r\n")  # 0x81: undefined in Windows-1252
    result = run_cli("batch", path, "--date", DAY)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert f"{path}:2:6: E002 " in line


def test_a_comma_csv_that_is_not_utf8_is_still_refused(run_cli, tmp_path):
    """Only French Excel's own CSV is read as Windows-1252; elsewhere the encoding is UTF-8."""
    path = tmp_path / "latin.csv"
    path.write_bytes("name,population\nCPTS Arlès,30000\n".encode("cp1252"))
    result = run_cli("batch", path, "--date", DAY)
    assert result.exit_code == 1 and " E002 " in result.stderr


def test_a_misspelt_column_of_a_french_file_is_named_with_its_cell(run_cli, write):
    path = write("typo.csv", "name;populaton\nCPTS A;30 000\n")
    result = run_cli("batch", path, "--date", DAY)
    assert result.exit_code == 1
    assert f"{path}:1:2: E201 unknown column 'populaton': did you mean 'population'?" in result.stderr


def test_a_german_number_in_a_french_file_is_refused_at_its_cell(run_cli, write):
    path = write("german.csv", "name;population\nCPTS A;1.000,5\n")
    result = run_cli("batch", path, "--date", DAY)
    assert result.exit_code == 1
    assert f"{path}:2:2: E203 " in result.stderr
