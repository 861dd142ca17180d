"""Rates of achievement the analyst states (--achievement, --replace-achievement) in batch, compare,
sweep and diff --profiles, and W050, said when a later contract's year reads no rate.

The figures are the avenant 2 maxima (FACTS.md §4.1, seed ``002_…``, table *Montant du versement*):
taille 1 variable parts acces_soins 25 000, parcours 25 000, prevention 10 000, accompagnement 5 000;
the variable part paid is the maximum × the rate of achievement of the year (FACTS.md §5, §6).

CPTS synthétique 001 of the national sample (examples/national-sample.csv, line 7): 16 370 inhabitants
(taille 1), signed 2019-08-26, acces_soins, parcours, prevention, accompagnement and crises_sanitaires
started, qualite not. Its first contract ends on 2024-08-25; under --assume-renewal a second one runs
from 2024-08-26, and 2027-06-01 falls in its year 3 (2026-08-26 .. 2027-08-25), for which the profile
gives no rate: without an assumption its variable parts count as 0.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import shutil
from decimal import Decimal

import pytest

from aci_rules.engine.assumptions import Assumptions, RateCheck, RateGaps, apply_assumptions, assumed_over
from aci_rules.engine.batch import read_profiles
from aci_rules.engine.evaluate import assess
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile

from conftest import EXAMPLES, invoke, no_traceback, one_json_document

SAMPLE = EXAMPLES / "national-sample.csv"
PLAN = EXAMPLES / "plan-100-cpts.yaml"
LATE = "2027-06-01"  # a year of a renewed contract for most of the sample
RENEWED = ("--date", LATE, "--assume-renewal")
CPTS_001 = f"{SAMPLE}:7"
# FACTS.md §4.1, avenant 2, taille 1: the variable maxima of the missions CPTS 001 started (the
# crisis mission's variable part needs a crisis recognised in the year: none in 2026-2027).
VARIABLE_T1 = {"acces_soins": Decimal(25000), "parcours": Decimal(25000), "prevention": Decimal(10000),
               "accompagnement": Decimal(5000)}
COMMANDS = ("batch", "compare", "sweep", "diff")


def batch_rows(*args) -> dict:
    code, stdout, stderr = invoke("batch", SAMPLE, *args)
    assert code == 0, stderr
    return {row["source"]: row for row in csv.DictReader(io.StringIO(stdout))}


def national(rows) -> Decimal:
    return sum((Decimal(row["total"]) for row in rows.values()), Decimal(0))


# -- what a stated rate pays ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def renewed_rows():
    """batch of the sample on LATE under --assume-renewal: no rate stated, --achievement 1, 0.8."""
    return {rate: batch_rows(*RENEWED, *(("--achievement", rate) if rate else ())) for rate in (None, "1", "0.8")}


def test_a_renewed_year_pays_the_variable_maxima_at_full_achievement(renewed_rows):
    plain, full, most = (renewed_rows[rate][CPTS_001] for rate in (None, "1", "0.8"))
    assert plain["contract_year"] == full["contract_year"] == "3" and plain["size"] == "1"
    for mission, maximum in VARIABLE_T1.items():
        column = f"mission_{mission}"
        assert Decimal(full[column]) - Decimal(plain[column]) == maximum, mission
        assert Decimal(most[column]) - Decimal(plain[column]) == maximum * Decimal("0.8"), mission
    # qualite did not start, the crisis mission has no crisis in the year: the rate changes nothing there.
    for column in ("mission_qualite", "mission_crises_sanitaires", "hors_mission"):
        assert full[column] == plain[column], column
    assert Decimal(full["total"]) - Decimal(plain["total"]) == sum(VARIABLE_T1.values())


def test_the_rate_fills_only_what_the_profiles_do_not_measure(renewed_rows):
    # A CPTS still in its first contract on LATE keeps the rates it measured; only its blanks move.
    code, stdout, _ = invoke("batch", SAMPLE, "--date", "2024-06-01", "--achievement", "1", "--format", "jsonl")
    filled = [json.loads(line) for line in stdout.splitlines()]
    code2, stdout2, _ = invoke("batch", SAMPLE, "--date", "2024-06-01", "--achievement", "1",
                               "--replace-achievement", "--format", "jsonl")
    replaced = [json.loads(line) for line in stdout2.splitlines()]
    assert code == code2 == 0
    first = next(row for row in filled if row["name"] == "CPTS synthétique 001")
    # Year 5 of the first contract (2023-08-26 .. 2024-08-25): acces_soins measured 0.68 (sample, line 7).
    assert Decimal(first["missions"]["acces_soins"]) == Decimal(55000) + Decimal(25000) * Decimal("0.68")
    every = next(row for row in replaced if row["name"] == "CPTS synthétique 001")
    assert Decimal(every["missions"]["acces_soins"]) == Decimal(55000) + Decimal(25000)
    # --replace-achievement pays at least as much at the rate 1 for every CPTS, strictly more for some.
    pairs = list(zip(filled, replaced))
    assert all(Decimal(b["total"]) >= Decimal(a["total"]) for a, b in pairs)
    assert any(Decimal(b["total"]) > Decimal(a["total"]) for a, b in pairs)


def test_the_reference_evaluator_gives_the_batch_rows_of_the_assumed_profiles(renewed_rows):
    library = Library()
    timeline = library.timeline(None, renewal=True)
    assumed = assumed_over(Assumptions(((None, Decimal("0.8")),)), library, [])
    sources = read_profiles(str(SAMPLE), library.mission_ids())
    day = datetime.date.fromisoformat(LATE)
    for source in sources[:120]:
        result = assess(timeline, assumed(compile_profile(source.document)), day)
        assert str(result.total) == renewed_rows["0.8"][source.label]["total"], source.label


# -- one meaning: every path a command may take gives the same amounts to the cent ---------------

def test_batch_by_rows_in_columns_guard_folder_and_workers_give_the_same_amounts(monkeypatch, tmp_path,
                                                                                 renewed_rows):
    import aci_rules.engine.batch as batch
    import aci_rules.engine.columnar as columnar
    import aci_rules.engine.impact as impact

    expected = renewed_rows["0.8"]
    args = (*RENEWED, "--achievement", "0.8")
    # The columnar path forced: it is not chosen when a rate is stated (the row path applies it).
    monkeypatch.setattr(columnar, "COLUMNAR_FROM_BYTES", 0)
    assert columnar.columnar_run(None, str(SAMPLE), set(), None, missions=(), output_format="csv", render=None,
                                 assume=object()) is None
    assert batch_rows(*args) == expected
    # Streamed by rows over two worker processes (the workers receive the assumption in the chunk spec).
    monkeypatch.setattr(batch, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(batch, "CHUNK_BYTES", 20_000)
    assert batch_rows(*args, "--jobs", "2") == expected
    # A folder of profiles: the scalar fast path, then the vectorised backend.
    folder = tmp_path / "profils"
    folder.mkdir()
    lines = [line for line in SAMPLE.read_text("utf-8").splitlines(keepends=True) if not line.startswith("#")]
    (folder / "a.csv").write_text("".join(lines[:41]), encoding="utf-8")
    shutil.copy(EXAMPLES / "cpts-2019-taille-3.yaml", folder / "b.yaml")

    def folder_rows():
        code, stdout, stderr = invoke("batch", folder, *args)
        assert code == 0, stderr
        return [(row["name"], row["total"]) for row in csv.DictReader(io.StringIO(stdout))]

    monkeypatch.setattr(impact, "COLUMNS_FROM", 10 ** 9)
    scalar = folder_rows()
    monkeypatch.setattr(impact, "COLUMNS_FROM", 1)
    pytest.importorskip("numpy")
    assert folder_rows() == scalar
    by_name = {row["name"]: row["total"] for row in expected.values()}
    assert [total for name, total in scalar if name in by_name] == [by_name[name] for name, _ in scalar
                                                                     if name in by_name]


def test_compare_gives_the_same_json_on_both_backends_and_batchs_national_total(monkeypatch, renewed_rows):
    pytest.importorskip("numpy")
    import aci_rules.engine.impact as impact

    args = ["compare", SAMPLE, "--reform", PLAN, *RENEWED, "--achievement", "0.8", "--format", "json"]
    monkeypatch.setattr(impact, "COLUMNS_FROM", 10 ** 9)
    scalar = invoke(*args)
    workers = invoke(*args, "--jobs", "2")  # the scalar path's workers receive the assumption too
    monkeypatch.setattr(impact, "COLUMNS_FROM", 1)
    columns = invoke(*args)
    assert scalar[0] == columns[0] == workers[0] == 0 and scalar[1] == columns[1] == workers[1]
    report = one_json_document(columns[1])
    assert Decimal(report["baseline_total"]) == national(renewed_rows["0.8"])
    assert any("--achievement" in text for text in report["assumptions"])


def test_diff_profiles_gives_the_same_on_both_backends(monkeypatch):
    pytest.importorskip("numpy")
    import aci_rules.engine.impact as impact

    args = ["diff", "avenant-2", PLAN, "--profiles", SAMPLE, *RENEWED, "--achievement", "0.8", "--format", "json"]
    outputs = []
    for threshold in (10 ** 9, 1):
        monkeypatch.setattr(impact, "DIFF_COLUMNS_FROM", threshold)
        code, stdout, stderr = invoke(*args)
        assert code == 0, stderr
        outputs.append(stdout)
    assert outputs[0] == outputs[1]
    assert "W050" not in stderr


def test_sweep_and_diff_give_batchs_national_total(renewed_rows):
    pytest.importorskip("numpy")
    code, stdout, stderr = invoke("sweep", SAMPLE, *RENEWED, "--achievement", "0.8", "--vary",
                                  "taux_majoration=0.1", "--format", "json")
    assert code == 0, stderr
    sweep = json.loads(stdout)
    assert Decimal(sweep["dates"][0]["baseline"]) == national(renewed_rows["0.8"])
    assert any("--achievement" in text for text in sweep["assumptions"])
    code, stdout, stderr = invoke("diff", "avenant-2", PLAN, "--profiles", SAMPLE, *RENEWED, "--achievement", "0.8",
                                  "--format", "json")
    assert code == 0, stderr
    cpts = json.loads(stdout)["profiles"]
    by_name = {row["name"]: row["total"] for row in renewed_rows["0.8"].values()}
    assert all(Decimal(entry["old_total"]) == Decimal(by_name[entry["name"]]) for entry in cpts)


# -- W050: said once on stderr, never on stdout --------------------------------------------------

def _reference_gaps(day, renewal, rate=None):
    """(CPTS, variable parts) the reference evaluator warns of by W002 in a later contract's year."""
    library = Library()
    timeline = library.timeline(None, renewal=renewal)
    assumed = assumed_over(Assumptions(rate), library, []) if rate else None
    cpts = parts = 0
    for source in read_profiles(str(SAMPLE), library.mission_ids()):
        profile = compile_profile(source.document)
        if assumed is not None:
            profile = assumed(profile)
        found = {w.path for w in assess(timeline, profile, day).warnings
                 if w.code == "W002" and "of contract" in w.message}
        cpts += bool(found)
        parts += len(found)
    return cpts, parts


def test_w050_counts_what_the_reference_evaluator_warns_of(renewed_rows):
    day = datetime.date.fromisoformat(LATE)
    cpts, parts = _reference_gaps(day, True)
    assert cpts > 250  # most of the sample signed before 2022-06-01: renewed by 2027-06-01
    code, stdout, stderr = invoke("batch", SAMPLE, *RENEWED)
    said = [line for line in stderr.splitlines() if "W050" in line]
    assert said == [f"{SAMPLE}: W050 {cpts} CPTS évaluées sur une année d'un contrat ultérieur (dont {cpts} "
                    f"renouvelées par --assume-renewal) n'ont pas de taux d'atteinte pour cette année : {parts} "
                    f"parts variables sur {cpts} années de contrat comptent pour 0. Énoncer le taux supposé avec "
                    "--achievement TAUX (toutes les missions) ou --achievement MISSION=TAUX, par exemple "
                    "--achievement 0.8"]
    assert "W050" not in stdout
    # One mission's rate stated: the others still read none.
    only = ((("parcours", Decimal("0.8")),))
    left = _reference_gaps(day, True, only)
    code, _, stderr = invoke("batch", SAMPLE, *RENEWED, "--achievement", "parcours=0.8")
    assert f"W050 {left[0]} CPTS" in stderr and f"{left[1]} parts variables" in stderr and left[1] < parts


@pytest.mark.parametrize("command", COMMANDS)
def test_w050_is_said_once_by_every_command_and_not_with_a_rate(command, tmp_path):
    pytest.importorskip("numpy")
    args = {"batch": ["batch", SAMPLE],
            "compare": ["compare", SAMPLE, "--reform", PLAN],
            "sweep": ["sweep", SAMPLE, "--vary", "taux_majoration=0.1"],
            "diff": ["diff", "avenant-2", PLAN, "--profiles", SAMPLE]}[command]
    out = tmp_path / "out.json"
    fmt = [] if command == "batch" else ["--format", "json"]
    code, stdout, stderr = invoke(*args, *RENEWED, *fmt, "--output", out)
    assert code == 0 and stdout == "", stderr
    assert stderr.count("W050") == 1 and f"{SAMPLE}: W050 " in stderr
    written = out.read_bytes()
    # The product is the same with W050 said or not: --lang en changes only stderr here.
    code, _, english = invoke(*args, *RENEWED, *fmt, "--output", out, "--lang", "en")
    assert "have no rate of achievement for it" in english
    if command == "batch":
        assert out.read_bytes() == written
    code, _, stderr = invoke(*args, *RENEWED, *fmt, "--achievement", "0.8", "--output", out)
    assert code == 0 and "W050" not in stderr


def test_no_w050_in_the_first_contract_nor_without_renewal():
    for args in (("--date", "2024-06-01"), ("--date", LATE)):
        code, _, stderr = invoke("batch", SAMPLE, *args)
        assert code == 0 and "W050" not in stderr


def test_rate_gaps_add_up_over_chunks_and_read_a_later_contract_stated_in_the_profile():
    library = Library()
    profile = compile_profile(read_profiles(str(SAMPLE), library.mission_ids())[0].document)
    day = datetime.date.fromisoformat(LATE)
    check = RateCheck(library.timeline(None, renewal=True))
    gaps = check.gaps(profile, day)
    assert {mission for _, mission, _ in gaps} == set(VARIABLE_T1) and {key for key, _, _ in gaps} == {(2, 3)}
    assert all(assumed for _, _, assumed in gaps)
    # The same contract stated in the profile: not assumed, the same parts.
    import dataclasses

    stated = dataclasses.replace(profile, later_contracts=(datetime.date(2024, 8, 26),))
    again = RateCheck(library.timeline(None)).gaps(stated, day)
    assert {(k, m) for k, m, _ in again} == {(k, m) for k, m, _ in gaps} and not any(a for _, _, a in again)
    total, part = RateGaps(), RateGaps()
    total.count(gaps)
    part.count(again)
    total += part
    assert (total.cpts, total.renewed, total.years, total.parts) == (2, 1, 2, 8)
    # A rate for one mission's year of that contract (written 2.3 in a profile) closes its gap.
    rated = apply_assumptions(profile, Assumptions((("parcours", Decimal("0.5")),)), {"parcours": "socle"}, 5)
    assert "parcours" not in {m for _, m, _ in check.gaps(rated, day)}


# -- the options: one definition, the same help and checks everywhere ------------------------------

@pytest.mark.parametrize("command", COMMANDS + ("budget",))
def test_every_command_has_the_same_options_and_help(command):
    code, stdout, _ = invoke(command, "--help", "--lang", "en")
    assert code == 0
    flat = " ".join(stdout.split())
    assert ("--achievement RATE|MISSION=RATE Rate of achievement (0..1) of the contract years the profiles do not "
            "measure: for every mission, or MISSION=RATE for one (repeatable).") in flat
    assert "--replace-achievement The --achievement rates replace the profiles' own rates and indicators." in flat


def _usage(command, *extra):
    base = {"batch": ["batch", SAMPLE, "--date", LATE], "compare": ["compare", SAMPLE, "--reform", PLAN, "--date", LATE],
            "sweep": ["sweep", SAMPLE, "--date", LATE, "--vary", "taux_majoration=0.1"],
            "diff": ["diff", "avenant-2", PLAN, "--profiles", SAMPLE, "--date", LATE],
            "budget": ["budget", SAMPLE, "--baseline", "avenant-2", "--from", "2027", "--to", "2027"]}[command]
    return invoke(*base, *extra)


@pytest.mark.parametrize("command", COMMANDS + ("budget",))
@pytest.mark.parametrize("extra, code, said", [
    (("--replace-achievement",), 2, "--replace-achievement demande --achievement"),
    (("--achievement", "1.5"), 2, "'1.5' : un taux d'atteinte est un nombre de 0 à 1, par exemple 0.8"),
    (("--achievement", "Parcours=0.5"), 2, "un identifiant de mission s'écrit en minuscules"),
    (("--achievement", "parcour=0.5"), 1, "aci-rules: E208 --achievement : mission inconnu(e) 'parcour' : "
                                          "vouliez-vous dire 'parcours' ?"),
])
def test_the_same_checks_refuse_the_same_rates(command, extra, code, said):
    if command == "sweep":
        pytest.importorskip("numpy")
    found, stdout, stderr = _usage(command, *extra)
    assert found == code, stderr
    assert said in " ".join(stderr.split()) and stdout == ""


def test_diff_refuses_rates_without_profiles():
    code, _, stderr = invoke("diff", "aci-2019", "avenant-2", "--achievement", "0.8")
    assert code == 2 and "--achievement et --replace-achievement demandent --profiles" in stderr
