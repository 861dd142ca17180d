"""`aci-rules compare` for structural reforms (issue 13, « What the proposal does, shown »), and its
figures computed by the engine, the CLI only rendering them (issue 14, « the CLI renders and
aggregates nothing itself »).

The test reform (tests/compare/reforme-structurelle.yaml, a hypothesis, not a text) moves the
threshold of taille 4 from 175 001 to 150 001 inhabitants and makes contracts 6 years long; the
amounts per taille stay avenant 2's. Figures the tests reach, from the texts:
- fonctionnement per contract year: 75 000 € in taille 3, 90 000 € in taille 4 (ACI CPTS 2019,
  art. 8 of the annex, unchanged by avenant 2; `confirmed`), the only line a CPTS whose missions
  have not started receives (no majoration below 100 members, avenant 2);
- tailles: 3 from 80 001 to 175 000 inhabitants, 4 above (ACI CPTS 2019, art. 8; avenant 2);
- a contract lasts 5 years (tripartite contract « pour 5 ans », Assurance Maladie / ARS ARA
  leaflet, 2022, §03): a contract signed on 2019-06-01 has ended on 2024-06-01.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from conftest import EXAMPLES, no_traceback, one_json_document

from aci_rules.engine.batch import read_profiles
from aci_rules.engine.evaluate import assess
from aci_rules.engine.impact import NO_MISSION
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile

HERE = __import__("pathlib").Path(__file__).resolve().parent
REFORM = HERE / "compare" / "reforme-structurelle.yaml"
PROFILES = HERE / "compare" / "profils"
DAY = "2024-06-01"
FONCTIONNEMENT = {3: Decimal(75000), 4: Decimal(90000)}  # ACI 2019, art. 8 of the annex
ZERO = Decimal("0.00")


def compare(run_cli, *extra, profiles=PROFILES, baseline="avenant-2", reform=REFORM):
    result = run_cli("compare", profiles, "--baseline", baseline, "--reform", reform, "--date", DAY, *extra)
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def decimals(node):
    """A compare JSON document with its amounts as Decimals (percentages too)."""
    if isinstance(node, dict):
        return {k: decimals(v) for k, v in node.items()}
    if isinstance(node, list):
        return [decimals(v) for v in node]
    if isinstance(node, str):
        try:
            return Decimal(node)
        except ArithmeticError:
            return node
    return node


def test_a_structural_reform_by_each_texts_taille_with_its_transitions(run_cli):
    r = decimals(one_json_document(compare(run_cli, "--format", "json")))
    moved, kept = FONCTIONNEMENT[4] - FONCTIONNEMENT[3], ZERO  # 160 000 inhabitants: taille 3 -> 4; 100 000: 3
    # The CPTS whose contract of 2019 ended: out of contract under the baseline, in its 6th year
    # under the reform (taille 4): counted in the 3 -> 4 cell, which sums every CPTS in it.
    assert r["transitions"] == [
        {"baseline_size": 2, "reform_size": 2, "count": 1, "baseline": ZERO, "reform": ZERO, "difference": ZERO,
         "percent": None},
        {"baseline_size": 3, "reform_size": 3, "count": 1, "baseline": FONCTIONNEMENT[3],
         "reform": FONCTIONNEMENT[3], "difference": kept, "percent": Decimal("0.0")},
        {"baseline_size": 3, "reform_size": 4, "count": 2, "baseline": FONCTIONNEMENT[3],
         "reform": 2 * FONCTIONNEMENT[4], "difference": 2 * FONCTIONNEMENT[4] - FONCTIONNEMENT[3],
         "percent": Decimal("140.0")}]
    assert {size: e["count"] for size, e in r["by_size"].items()} == {"2": 1, "3": 3}
    assert r["taille_changed"] == 2
    assert {size: (e["count"], e["reform"]) for size, e in r["by_reform_size"].items()} == {
        "2": (1, ZERO), "3": (1, FONCTIONNEMENT[3]), "4": (2, 2 * FONCTIONNEMENT[4])}
    assert r["difference"] == moved + FONCTIONNEMENT[4]
    # Gainers, losers and unchanged are CPTS under contract under both texts; the others apart.
    assert (r["gain"], r["lose"], r["unchanged"]) == (1, 0, 1)
    assert (r["out_of_contract_both"], r["out_of_contract_baseline_only"], r["out_of_contract_reform_only"]) == (1, 1, 0)
    assert r["gain"] + r["lose"] + r["unchanged"] + r["out_of_contract_both"] \
        + r["out_of_contract_baseline_only"] + r["out_of_contract_reform_only"] == r["profiles"] == 4
    assert [(e["name"], e["baseline"], e["reform"]) for e in r["out_of_contract_cpts"]] == [
        ("CPTS au contrat de 2019", "ended", None), ("CPTS sans contrat", "not_signed", "not_signed")]
    assert [(e["name"], e["size"], e["reform_size"], e["difference"]) for e in r["largest"]] == [
        ("CPTS qui passe en taille 4", 3, 4, moved)]


def test_the_text_shows_both_tailles_the_transitions_and_who_is_out_of_contract(run_cli):
    text = compare(run_cli)
    assert "Par taille de la référence" in text and "Par taille de la réforme" in text
    assert "2 CPTS changent de taille" in text
    transitions = text.split("Changements de taille")[1].split("\n\n")[0]
    assert "  3 → 4         2        75 000,00 €       180 000,00 €      +105 000,00 €   +140 %" in transitions
    assert "Gagnent 1, perdent 0, inchangées 1, hors contrat 1; hors contrat sous la référence seulement 1" in text
    outside = text.split("CPTS hors contrat (2) : sous la référence / sous la réforme")[1]
    assert "CPTS au contrat de 2019" in outside and "contrat échu / sous contrat" in outside
    assert "CPTS sans contrat" in outside and "pas encore signé / pas encore signé" in outside
    assert "taille 3 → 4" in text  # the largest change says the CPTS changed taille
    markdown = compare(run_cli, "--format", "markdown")
    assert "| 3 → 4 | 2 | 75 000,00 € | 180 000,00 € | +105 000,00 € | +140 % |" in markdown
    assert "| CPTS au contrat de 2019 | contrat échu | sous contrat |" in markdown


def test_a_reform_that_moves_no_one_says_so(run_cli):
    text = compare(run_cli, reform=EXAMPLES / "plan-100-cpts.yaml")
    assert "chaque CPTS garde sa taille" in text and "Par taille de la réforme" not in text


@pytest.mark.parametrize("table, header", [
    ("transitions", ["baseline_size", "reform_size", "count", "baseline", "reform", "difference", "percent"]),
    ("cpts", ["source", "name", "baseline_size", "reform_size", "baseline_out_of_contract", "reform_out_of_contract",
              "baseline", "reform", "difference", "percent", "status"]),
    ("out-of-contract", ["source", "name", "baseline", "reform", "baseline_amount", "reform_amount"]),
])
def test_csv_writes_one_table_with_the_engines_keys(run_cli, table, header):
    rows = list(csv.reader(io.StringIO(compare(run_cli, "--format", "csv", "--table", table))))
    assert rows[0] == header
    document = json.loads(compare(run_cli, "--format", "json"))
    if table == "transitions":
        assert rows[1:] == [[str(e["baseline_size"]), str(e["reform_size"]), str(e["count"]), e["baseline"],
                             e["reform"], e["difference"], e["percent"] or ""] for e in document["transitions"]]
    if table == "cpts":
        statuses = {row[1]: row[-1] for row in rows[1:]}
        assert statuses == {"CPTS qui passe en taille 4": "gain", "CPTS qui garde la taille 3": "unchanged",
                            "CPTS au contrat de 2019": "out_of_contract_baseline",
                            "CPTS sans contrat": "out_of_contract_both"}


def test_csv_fr_and_the_workbook_hold_the_transitions(run_cli, tmp_path):
    french = compare(run_cli, "--format", "csv-fr", "--table", "transitions")
    rows = list(csv.reader(io.StringIO(french.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Taille (référence)", "Taille (réforme)", "CPTS"]
    assert rows[-1][:6] == ["3", "4", "2", "75000,00", "180000,00", "105000,00"]
    openpyxl = pytest.importorskip("openpyxl")
    target = tmp_path / "comparaison.xlsx"
    compare(run_cli, "--output", target)
    book = openpyxl.load_workbook(target)
    cells = [[c.value for c in row] for row in book["Changements de taille"].iter_rows(min_row=2)]
    assert [row[:3] for row in cells] == [[2, 2, 1], [3, 3, 1], [3, 4, 2]]
    assert [row[1] for row in book["Hors contrat"].iter_rows(min_row=2, values_only=True)] == [
        "CPTS au contrat de 2019", "CPTS sans contrat"]


def _by_hand(timelines, sources, day):
    """Each profile evaluated alone by the reference evaluator (engine.evaluate.assess), then summed
    here: the totals, by taille under each text, by transition and by mission, and the counts."""
    sums = {"baseline_total": ZERO, "reform_total": ZERO, "by_size": {}, "by_reform_size": {}, "transitions": {},
            "by_mission": {}, "statuses": {}}
    for source in sources:
        profile = compile_profile(source.document)
        results = [assess(timeline, profile, day) for timeline in timelines]
        outside = [r.contract_year is None for r in results]
        sums["baseline_total"] += results[0].total
        sums["reform_total"] += results[1].total
        for key, where in ((results[0].size, "by_size"), (results[1].size, "by_reform_size"),
                           ((results[0].size, results[1].size), "transitions")):
            entry = sums[where].setdefault(key, [0, ZERO, ZERO])
            entry[0] += 1
            entry[1] += results[0].total
            entry[2] += results[1].total
        for side, result in enumerate(results):
            for line in result.lines:
                entry = sums["by_mission"].setdefault(line.mission or NO_MISSION, [ZERO, ZERO])
                entry[side] += line.amount
        if all(outside):
            status = "out_of_contract_both"
        elif any(outside):
            status = "out_of_contract_baseline_only" if outside[0] else "out_of_contract_reform_only"
        else:
            difference = results[1].total - results[0].total
            status = "gain" if difference > 0 else "lose" if difference < 0 else "unchanged"
        sums["statuses"][status] = sums["statuses"].get(status, 0) + 1
    return sums


def test_the_engines_aggregate_is_the_sum_of_its_per_profile_results(run_cli):
    """compare's figures (batch rows by the fast path, aggregated in engine/impact.py) against each
    profile of the national sample evaluated alone by the reference evaluator and summed."""
    import datetime

    reform = REFORM

    day = datetime.date.fromisoformat(DAY)
    library = Library()
    timelines = (library.timeline("avenant-2"), library.timeline(str(reform)))
    sample = EXAMPLES / "national-sample.csv"
    sources = read_profiles(str(sample), library.mission_ids() | set(library.get(str(reform)).missions))
    expected = _by_hand(timelines, sources, day)
    r = decimals(one_json_document(compare(run_cli, "--format", "json", profiles=sample, reform=reform)))
    assert (r["baseline_total"], r["reform_total"]) == (expected["baseline_total"], expected["reform_total"])
    for where in ("by_size", "by_reform_size"):
        assert {int(k): [e["count"], e["baseline"], e["reform"]] for k, e in r[where].items()} == expected[where]
    assert {(e["baseline_size"], e["reform_size"]): [e["count"], e["baseline"], e["reform"]]
            for e in r["transitions"]} == expected["transitions"]
    assert {k: [e["baseline"], e["reform"]] for k, e in r["by_mission"].items()} == {
        k: v for k, v in expected["by_mission"].items() if any(v)}
    counts = {"gain": r["gain"], "lose": r["lose"], "unchanged": r["unchanged"],
              "out_of_contract_both": r["out_of_contract_both"],
              "out_of_contract_baseline_only": r["out_of_contract_baseline_only"],
              "out_of_contract_reform_only": r["out_of_contract_reform_only"]}
    assert {k: v for k, v in counts.items() if v} == expected["statuses"]
    # The sample has CPTS between 150 001 and 175 000 inhabitants: they move.
    assert expected["transitions"][(3, 4)][0] > 0


def _readme_block(command_start: str) -> list[str]:
    """The output lines the README shows after ``$ <command_start>…`` (its « … » lines left out)."""
    readme = (HERE.parent / "README.md").read_text("utf-8")
    block = readme.split("$ " + command_start, 1)[1].split("```", 1)[0]
    lines = block.splitlines()[1:]
    while lines and lines[0].startswith("    --"):  # the command's own continuation lines
        lines.pop(0)
    return [line.rstrip() for line in lines if line.strip() and line.strip() != "…"]


def test_the_readmes_example_is_what_compare_prints(run_cli):
    printed = [line.rstrip() for line in compare(run_cli).splitlines()]
    assert all(line in printed for line in _readme_block("aci-rules compare tests/compare/profils"))


def test_one_cpts_that_changes_taille_is_said_in_the_singular():
    from aci_rules.cli.i18n import use_language
    from aci_rules.cli.impact import _changed_taille

    assert (_changed_taille(1), _changed_taille(2)) == ("1 CPTS change de taille", "2 CPTS changent de taille")
    use_language("en")  # the autouse fixture of conftest restores the default language
    assert (_changed_taille(1), _changed_taille(2)) == ("1 CPTS changes taille", "2 CPTS change taille")


# -- the vectorised backend (engine/vector.py) gives compare the same rows to the cent ------------

SAMPLE = EXAMPLES / "national-sample.csv"
GUARANTEE = EXAMPLES / "hypothese-avenant-france-sante.yaml"


@pytest.mark.parametrize("reform, day", [
    (EXAMPLES / "plan-100-cpts.yaml", "2024-06-01"),
    # A guarantee that no CPTS loses (text_total of avenant 2), in force from 2027: a year it cuts,
    # and a whole year under it.
    (GUARANTEE, "2027-06-01"),
    (GUARANTEE, "2028-06-01"),
    # Contract years cut by avenant 2's entry into force, on both sides.
    (EXAMPLES / "negociation-2020-seance-2.yaml", "2022-06-01"),
])
def test_compare_on_the_columns_writes_the_scalar_paths_json_byte_for_byte(run_cli, monkeypatch, reform, day):
    pytest.importorskip("numpy")
    import aci_rules.engine.impact as impact

    args = ["compare", SAMPLE, "--reform", reform, "--date", day, "--format", "json", "--top", "700"]
    monkeypatch.setattr(impact, "COLUMNS_FROM", 10 ** 9)
    scalar = run_cli(*args)
    monkeypatch.setattr(impact, "COLUMNS_FROM", 1)
    columns = run_cli(*args)
    no_traceback(columns)
    assert scalar.exit_code == columns.exit_code == 0, columns.stderr
    assert columns.stdout == scalar.stdout
    report = one_json_document(columns.stdout)
    assert report["profiles"] == 700 and report["gain"] + report["lose"] > 0
    # Every row was vouched for by the columns: nothing is said about the scalar path.
    assert "chemin scalaire" not in columns.stderr


def test_the_rows_of_both_backends_are_identical_line_by_line():
    """Every field of every row (lines and missions in the fast path's order, Decimals as written),
    on the sample under the guarantee's text, on the day it enters into force (cut years)."""
    pytest.importorskip("numpy")
    import datetime

    from aci_rules.engine.impact import evaluate_rows

    library = Library()
    timeline = library.timeline(str(GUARANTEE))
    sources = read_profiles(str(SAMPLE), library.mission_ids())
    day = datetime.date(2027, 6, 1)
    scalar, none = evaluate_rows(timeline, sources, day, backend="scalar")
    columns, outcome = evaluate_rows(timeline, sources, day, backend="columns")
    assert none is None and not outcome.refused and outcome.scalar_rows == 0
    assert columns == scalar
    for a, b in zip(columns, scalar):
        assert list(a.lines.items()) == list(b.lines.items()) and [str(v) for v in a.lines.values()] == [
            str(v) for v in b.lines.values()]
        assert list(a.missions) == list(b.missions) and str(a.total) == str(b.total)
    # The guarantee pays somewhere: the columns read what avenant 2 gives each CPTS.
    assert any(row.lines.get("garantie_avenant_2", 0) > 0 for row in columns) or any(
        "garantie" in line for row in columns for line in row.lines)


FAILING = """\
id: par-membre
title: Proposition de test — un forfait par membre
kind: proposal
status: proposal
amends: avenant-2
reference: Hypothèse de test
dates:
  in_force: 2024-01-01
changes:
  lines:
    add:
      - id: forfait_par_membre
        label: Forfait par membre (test)
        volet: fonctionnement
        amount: 100000 / (members - {members})
        clawback: true
        reference: Hypothèse de test
"""


def test_a_failing_profile_gets_the_same_diagnostics_on_both_backends(tmp_path):
    """A line that divides by the members less those of the sample's first CPTS: the CPTS with that
    many members fail (E401, division by zero) on the scalar path, and the columns hand those rows
    over, so the diagnostics are the same, in the same order."""
    pytest.importorskip("numpy")
    import datetime

    from aci_rules.engine.diagnostic import InputError
    from aci_rules.engine.impact import evaluate_rows

    library = Library()
    sources = read_profiles(str(SAMPLE), library.mission_ids())
    profiles = [compile_profile(s.document) for s in sources]
    members = profiles[0].members
    text = tmp_path / "par-membre.yaml"
    text.write_text(FAILING.replace("{members}", str(members)), encoding="utf-8")
    timeline = library.timeline(str(text))
    day = datetime.date(2024, 6, 1)
    assert 1 < sum(p.members == members for p in profiles) < len(profiles)
    found = []
    for backend in ("scalar", "columns"):
        with pytest.raises(InputError) as failure:
            evaluate_rows(timeline, sources, day, backend=backend)
        found.append([str(d) for d in failure.value.diagnostics])
    assert found[0] == found[1] and any("E401" in d for d in found[0])
    # Those that compute give the same rows.
    fine = [s for s, p in zip(sources, profiles) if p.members != members]
    assert evaluate_rows(timeline, fine, day, backend="columns")[0] == evaluate_rows(
        timeline, fine, day, backend="scalar")[0]


@pytest.mark.parametrize("old, new, day", [
    ("avenant-2", GUARANTEE, "2027-06-01"),  # the guarantee (text_total) on the day it cuts a year
    ("aci-2019", "avenant-2", "2022-06-01"),  # years cut by avenant 2
    ("avenant-2", EXAMPLES / "plan-100-cpts.yaml", "2024-06-01"),
])
def test_diff_profiles_on_the_columns_gives_the_reference_evaluators_comparisons(old, new, day):
    """`diff --profiles`: the reference evaluator (assess) and the columns, on the 700 CPTS."""
    pytest.importorskip("numpy")
    import datetime

    from aci_rules.engine.impact import profile_comparisons

    library = Library()
    timelines = (library.timeline(str(old)), library.timeline(str(new)))
    profiles = [compile_profile(s.document) for s in read_profiles(str(SAMPLE), library.mission_ids())]
    day = datetime.date.fromisoformat(day)
    reference = profile_comparisons(timelines, profiles, day, backend="reference")
    columns = profile_comparisons(timelines, profiles, day, backend="columns")
    assert [json.dumps(c.to_dict()) for c in columns] == [json.dumps(c.to_dict()) for c in reference]
    assert any(c.difference for c in columns)


def test_diff_profiles_prints_the_same_on_both_backends(run_cli, monkeypatch):
    pytest.importorskip("numpy")
    import aci_rules.engine.impact as impact

    args = ["diff", "aci-2019", "avenant-2", "--profiles", EXAMPLES, "--date", "2022-06-01"]
    outputs = []
    for threshold in (10 ** 9, 1):
        monkeypatch.setattr(impact, "DIFF_COLUMNS_FROM", threshold)
        for output_format in ("text", "json"):
            run = run_cli(*args, "--format", output_format)
            no_traceback(run)
            assert run.exit_code == 0, run.stderr
            outputs.append(run.stdout)
    assert outputs[:2] == outputs[2:]


def _reference_totals(old, new, day, path):
    """(name, old total, new total) of each CPTS of ``path`` by the reference evaluator."""
    import datetime

    library = Library()
    timelines = (library.timeline(str(old)), library.timeline(str(new)))
    day = datetime.date.fromisoformat(day)
    out = []
    for source in read_profiles(str(path), library.mission_ids()):
        profile = compile_profile(source.document)
        out.append((profile.name, str(assess(timelines[0], profile, day).total),
                    str(assess(timelines[1], profile, day).total)))
    return out


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_diff_profiles_reads_a_csv_or_json_lines_file_as_compare_does(run_cli, tmp_path, suffix):
    """`diff --profiles national-sample.csv`: each CPTS under both texts, as the reference
    evaluator gives them, whichever backend the command picks; the same from JSON Lines."""
    reform, day = EXAMPLES / "plan-100-cpts.yaml", "2024-06-01"
    path = SAMPLE
    if suffix == ".jsonl":
        path = tmp_path / "sample.jsonl"
        documents = [source.document.data for source in read_profiles(str(SAMPLE), Library().mission_ids())][:80]
        def plain(value):  # exact decimals as JSON numbers, dates as their ISO text
            return float(value) if isinstance(value, Decimal) else str(value)

        path.write_text("".join(json.dumps(d, default=plain, ensure_ascii=False) + "\n" for d in documents),
                        encoding="utf-8")
    run = run_cli("diff", "avenant-2", reform, "--profiles", path, "--date", day, "--format", "json")
    no_traceback(run)
    assert run.exit_code == 0, run.stderr
    got = [(p["name"], p["old_total"], p["new_total"]) for p in one_json_document(run.stdout)["profiles"]]
    assert got == _reference_totals("avenant-2", reform, day, path)
    assert any(old != new for _, old, new in got)


def test_diff_profiles_says_where_a_bad_row_of_a_csv_is(run_cli, tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(n for n, line in enumerate(lines) if not line.startswith("#"))
    cells = lines[header + 2].split(",")
    cells[1] = "-5"  # a population below its minimum
    lines[header + 2] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines[header:header + 5]), encoding="utf-8")
    run = run_cli("diff", "aci-2019", "avenant-2", "--profiles", bad, "--date", "2024-06-01")
    no_traceback(run)
    assert run.exit_code == 1
    assert run.stdout == ""
    assert f"{bad}:3:" in run.stderr and " E" in run.stderr


def test_diff_profiles_hands_the_columns_outcomes_to_its_caller():
    """The counts `diff --profiles` says on stderr (the rows the columns left to the scalar path)."""
    pytest.importorskip("numpy")
    import datetime

    from aci_rules.engine.diff import compare_profile_table

    library = Library()
    timelines = (library.timeline("aci-2019"), library.timeline("avenant-2"))
    outcomes: list = []
    comparisons = compare_profile_table(timelines, str(SAMPLE), datetime.date(2024, 6, 1), library.mission_ids(),
                                        outcomes=outcomes)
    assert len(comparisons) == 700 and len(outcomes) == 2
    # One evaluation a CPTS and a side on a day no text cuts a contract year.
    assert [o.vector_rows + o.scalar_rows for o in outcomes] == [700, 700]
