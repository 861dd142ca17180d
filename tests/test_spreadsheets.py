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
    result = run_cli("batch", path or comma_file, "--date", DAY, "--csv-dialect", named, "--lang", "en")
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert ":1:1: E003 " in line and found in line and "--csv-dialect" in line


def test_a_tab_separated_file_is_refused_in_one_line_naming_its_separator(run_cli, write):
    path = write("tabs.csv", "name\tpopulation\nCPTS A\t30000\n")
    result = run_cli("batch", path, "--date", DAY, "--lang", "en")
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
    result = run_cli("batch", path, "--date", DAY, "--lang", "en")
    assert result.exit_code == 1
    assert f"{path}:1:2: E201 unknown column 'populaton': did you mean 'population'?" in result.stderr


def test_a_german_number_in_a_french_file_is_refused_at_its_cell(run_cli, write):
    path = write("german.csv", "name;population\nCPTS A;1.000,5\n")
    result = run_cli("batch", path, "--date", DAY)
    assert result.exit_code == 1
    assert f"{path}:2:2: E203 " in result.stderr


# -- writing spreadsheets ---------------------------------------------------------------

openpyxl = pytest.importorskip("openpyxl")  # the test extra installs it; see pyproject.toml

SAMPLE = ROOT / "examples" / "national-sample.csv"
PROFILE = ROOT / "examples" / "cpts-avenant-2-taille-4.yaml"
PLAN = ROOT / "examples" / "plan-100-cpts.yaml"
EURO = '#,##0.00 "€"'


def workbook(path):
    return openpyxl.load_workbook(path)


def sheet_rows(sheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_batch_xlsx_holds_what_the_csv_holds_as_numbers_in_euros(run_cli, tmp_path):
    target = tmp_path / "rows.xlsx"
    written = run_cli("batch", SAMPLE, "--date", "2024-06-01", "--output", target)
    assert written.exit_code == 0 and written.stdout == "", written.stderr
    plain = list(csv.DictReader(io.StringIO(run_cli("batch", SAMPLE, "--date", "2024-06-01").stdout)))
    book = workbook(target)
    assert book.sheetnames == ["CPTS"]
    sheet = book["CPTS"]
    assert sheet.freeze_panes == "A2"  # the header row stays in view
    assert all(cell.font.b for cell in sheet[1])
    rows = sheet_rows(sheet)
    assert len(rows) == 1 + len(plain) == 701
    assert rows[0][:6] == ["Source", "Nom", "Texte appliqué", "Taille", "Année de contrat", "Total"]
    for cells, row in zip(sheet.iter_rows(min_row=2), plain):
        source, name, ruleset, size, year, total = cells[:6]
        assert (source.value, name.value, ruleset.value) == (row["source"], row["name"], row["ruleset"])
        assert size.data_type == "n" and size.value == int(row["size"])
        assert total.data_type == "n" and total.number_format == EURO
        # Read back as Excel reads it (a binary float), the figure is the CSV's to the cent.
        assert Decimal(str(total.value)).quantize(Decimal("0.01")) == Decimal(row["total"])
        missions = [Decimal(str(cell.value)).quantize(Decimal("0.01")) for cell in cells[6:-1]]
        assert missions == [Decimal(row[key]) for key in list(row)[6:-1]]
        assert (cells[-1].value or "") == row["hors_contrat"]  # why a CPTS gets 0, as text


def test_the_xlsx_stores_the_exact_digits_of_each_amount(run_cli, tmp_path):
    """The file holds the decimal's own digits (no float written), e.g. 277881.85."""
    import zipfile

    target = tmp_path / "rows.xlsx"
    assert run_cli("batch", FRENCH[0], "--date", DAY, "--output", target).exit_code == 0
    with zipfile.ZipFile(target) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    totals = [row["total"] for row in csv.DictReader(io.StringIO(run_cli("batch", FRENCH[0], "--date", DAY).stdout))]
    for total in totals:
        assert f"<v>{total}</v>" in xml or f"<v>{Decimal(total).normalize():f}</v>" in xml


def test_schedule_xlsx_has_one_sheet_per_table_with_dates_as_dates(run_cli, tmp_path):
    target = tmp_path / "calendrier.xlsx"
    assert run_cli("schedule", PROFILE, "--format", "xlsx", "--output", target).exit_code == 0
    data = json.loads(run_cli("schedule", PROFILE, "--format", "json").stdout)
    book = workbook(target)
    assert book.sheetnames == ["Versements", "Années de contrat", "Années civiles", "Obligations"]
    for sheet in book:
        assert sheet.freeze_panes == "A2"
    payments = list(book["Versements"].iter_rows(min_row=2))
    assert len(payments) == len(data["payments"])
    for cells, payment in zip(payments, data["payments"]):
        due, year, line = cells[:3]
        assert due.is_date and due.number_format == "DD/MM/YYYY"
        assert due.value.date().isoformat() == payment["due"]
        assert (year.value, line.value) == (payment["contract_year"], payment["line"])
        assert cells[7].number_format == EURO
        assert Decimal(str(cells[7].value)).quantize(Decimal("0.01")) == Decimal(payment["amount"])
    calendar = sheet_rows(book["Années civiles"])[1:]
    assert {str(y): Decimal(str(v)).quantize(Decimal("0.01")) for y, v in calendar} == \
        {k: Decimal(v) for k, v in data["by_calendar_year"].items()}
    statuses = [row[3] for row in sheet_rows(book["Obligations"])[1:]]
    assert statuses == [f"{french} ({o['status']})" for o, french in
                        zip(data["obligations"], [{"met": "tenue", "missing": "manquée", "late": "en retard",
                                                   "pending": "à venir"}[o["status"]] for o in data["obligations"]])]


def test_compare_xlsx_has_the_summary_the_splits_and_every_cpts(run_cli, tmp_path):
    target = tmp_path / "impact.xlsx"
    args = ("compare", SAMPLE, "--baseline", "avenant-2", "--reform", PLAN, "--date", "2024-06-01")
    assert run_cli(*args, "--output", target).exit_code == 0
    report = json.loads(run_cli(*args, "--format", "json").stdout)
    book = workbook(target)
    assert book.sheetnames == ["Synthèse", "Par taille", "Par taille (réforme)", "Changements de taille",
                               "Par mission", "Hors contrat", "Par CPTS"]
    header, values = sheet_rows(book["Synthèse"])
    summary = dict(zip(header, values))
    assert summary["CPTS"] == report["profiles"] == 700
    assert Decimal(str(summary["Écart"])).quantize(Decimal("0.01")) == Decimal(report["difference"])
    assert (summary["Gagnent"], summary["Perdent"], summary["Inchangées"]) == \
        (report["gain"], report["lose"], report["unchanged"])
    assert book["Synthèse"]["G2"].number_format.startswith("+")
    assert book["Synthèse"]["H2"].number_format == "0.0 %"
    every = sheet_rows(book["Par CPTS"])[1:]
    assert len(every) == 700
    assert sum(Decimal(str(row[6])) for row in every).quantize(Decimal("0.01")) == Decimal(report["difference"])


def test_text_that_would_be_a_formula_stays_text(run_cli, write, tmp_path):
    hostile = ['=HYPERLINK("http://example.invalid","x")', "+33 1 00", "-CPTS", "@SUM(A1)"]
    rows = "".join(f'"{name.replace(chr(34), chr(34) * 2)}",30000\n' for name in hostile)
    path = write("hostile.csv", "name,population\n" + rows)
    target = tmp_path / "rows.xlsx"
    assert run_cli("batch", path, "--date", DAY, "--output", target).exit_code == 0
    cells = [row[1] for row in workbook(target)["CPTS"].iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == hostile
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells)
    french = run_cli("batch", path, "--date", DAY, "--format", "csv-fr")
    names = [row[1] for row in csv.reader(io.StringIO(french.stdout.lstrip("\ufeff")), delimiter=";")][1:]
    assert names == ["'" + name for name in hostile]


def test_csv_fr_is_what_french_excel_opens_and_what_batch_reads_back(run_cli, tmp_path):
    target = tmp_path / "rows.csv"
    assert run_cli("batch", SAMPLE, "--date", "2024-06-01", "--format", "csv-fr", "--output", target).exit_code == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    plain = list(csv.reader(io.StringIO(run_cli("batch", SAMPLE, "--date", "2024-06-01").stdout)))
    assert len(rows) == len(plain)
    for french, usual in zip(rows[1:], plain[1:]):
        assert french[5] == usual[5].replace(".", ",")  # the total, decimal comma


def test_schedule_csv_fr_writes_dates_the_french_way(run_cli):
    result = run_cli("schedule", PROFILE, "--format", "csv-fr")
    first = result.stdout.lstrip("\ufeff").splitlines()[1].split(";")
    data = json.loads(run_cli("schedule", PROFILE, "--format", "json").stdout)["payments"][0]
    day = data["due"]
    assert first[0] == f"{day[8:10]}/{day[5:7]}/{day[:4]}"
    assert first[7] == data["amount"].replace(".", ",")


@pytest.mark.parametrize("command", [
    ("batch", SAMPLE, "--date", "2024-06-01"),
    ("schedule", PROFILE),
    ("compare", SAMPLE, "--baseline", "avenant-2", "--reform", "avenant-2", "--date", "2024-06-01"),
])
def test_a_workbook_needs_a_file_to_go_to(run_cli, command):
    result = run_cli(*command, "--format", "xlsx")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--output" in result.stderr


def test_an_xlsx_that_cannot_be_written_leaves_nothing_behind(run_cli, tmp_path):
    target = tmp_path / "missing-folder" / "rows.xlsx"
    result = run_cli("batch", SAMPLE, "--date", "2024-06-01", "--output", target)
    assert result.exit_code == 1 and " E011 " in result.stderr
    assert not target.parent.exists()


def test_an_xlsx_replaces_the_old_file_whole(run_cli, tmp_path):
    target = tmp_path / "rows.xlsx"
    target.write_bytes(b"an old file")
    assert run_cli("batch", FRENCH[0], "--date", DAY, "--output", target).exit_code == 0
    assert [name for name in __import__("os").listdir(tmp_path)] == ["rows.xlsx"]
    assert workbook(target)["CPTS"].max_row == 4
