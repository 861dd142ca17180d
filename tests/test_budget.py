"""aci-rules budget: payments due per calendar year over a sample, computed by hand for two CPTS.

The sample (tests/budget/deux-cpts.csv), over the calendar years 2022 to 2024, under
avenant 2, with the assumptions: achievement 0.8 for the contract years the profile
does not measure, accès aux soins and parcours starting 4 months after the signature
when the profile gives no start.

Amounts (avenant 2, FACTS.md §3 and §4.1): taille 1 fonctionnement 50 000, accès aux
soins fixe 55 000 / variable 25 000, parcours 25 000 / 25 000; taille 2 fonctionnement
60 000, accès aux soins 70 000 / 30 000, parcours 35 000 / 35 000. Payment rules
(FACTS.md §6): fonctionnement 100 % of year 1 at the signature, then 75 % at each
anniversary and 25 % at the next; a mission's fixe 75 % at the year's start (or the
mission's start) and 25 % at the next anniversary, prorated from its start in its first
year (§5); the variable part at the next anniversary, maximum × rate.

CPTS A, taille 1 (30 000 inhabitants), signed 2022-10-15 (after 2022-09-30: no
supplement); accès aux soins started at the signature, rate 0.5 measured for year 1;
parcours starts 2022-10-15 + 4 months = 2023-02-15. Year 1 runs 2022-10-15..2023-10-14
(365 days), of which parcours runs 2023-02-15..2023-10-14: 14+31+30+31+30+31+31+30+14
= 242 days, so its first fixe is 25 000 × 242 / 365 = 16 575.342… → 16 575.34, paid
75 % = 12 431.505 → 12 431.51 at its start and 4 143.83 at the anniversary.

    2022-10-15  fonctionnement y1 50 000 + accès fixe 75 % × 55 000 = 41 250            91 250.00
    2023-02-15  parcours fixe y1 12 431.51
    2023-10-15  fonctionnement 75 % y2 37 500; accès fixe 25 % y1 13 750 + 75 % y2 41 250;
                accès variable y1 25 000 × 0.5 = 12 500; parcours fixe 4 143.83 + 75 % y2
                18 750; parcours variable y1 25 000 × 0.8 = 20 000
                2023: 12 431.51 + 37 500 + 13 750 + 41 250 + 12 500 + 4 143.83 + 18 750
                      + 20 000                                                         160 325.34
    2024-10-15  fonctionnement 25 % y2 12 500 + 75 % y3 37 500; accès fixe 13 750 + 41 250;
                accès variable y2 25 000 × 0.8 = 20 000; parcours fixe 6 250 + 18 750;
                parcours variable y2 20 000                                            170 000.00

CPTS B, taille 2 (60 000 inhabitants), signed 2023-03-01, no mission in the profile:
accès aux soins and parcours start 2023-07-01. Year 1 runs 2023-03-01..2024-02-29 (366
days: 2024 is a leap year), the missions 2023-07-01..2024-02-29 = 244 days: accès fixe
70 000 × 244 / 366 = 46 666.67, parcours 35 000 × 244 / 366 = 23 333.33.

    2023-03-01  fonctionnement y1 60 000
    2023-07-01  accès fixe 75 % × 46 666.67 = 35 000.0025 → 35 000.00; parcours 75 %
                × 23 333.33 = 17 499.9975 → 17 500.00                         2023: 112 500.00
    2024-03-01  fonctionnement 75 % y2 45 000; accès fixe 11 666.67 + 52 500; parcours
                fixe 5 833.33 + 26 250; variables y1 30 000 × 0.8 = 24 000 and
                35 000 × 0.8 = 28 000                                          2024: 193 250.00
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aci_rules.engine.batch import read_profiles
from aci_rules.engine.budget import Assumptions, apply_assumptions, budget_over_sample, profile_payments
from aci_rules.engine.fastschedule import fast_calendar
from aci_rules.engine.library import Library

from conftest import EXAMPLES, ROOT, no_traceback, one_json_document
from test_properties import LIBRARY, load, profile_data

D = Decimal
SAMPLE = ROOT / "tests" / "budget" / "deux-cpts.csv"
STACK = ROOT / "tests" / "budget" / "fonctionnement-plus-10.yaml"
ASSUMED = ("--achievement", "0.8", "--start-delay", "acces_soins=4", "--start-delay", "parcours=4")

# CPTS A and B, year by year (the arithmetic of the module docstring).
A = {2022: D("50000") + D("41250"),
     2023: D("12431.51") + D("37500") + D("13750") + D("41250") + D("12500") + D("4143.83") + D("18750")
     + D("20000"),
     2024: D("12500") + D("37500") + D("13750") + D("41250") + D("20000") + D("6250") + D("18750") + D("20000")}
B = {2022: D("0"),
     2023: D("60000") + D("35000.00") + D("17500.00"),
     2024: D("45000") + D("11666.67") + D("52500") + D("5833.33") + D("26250") + D("24000") + D("28000")}
BASELINE = {year: A[year] + B[year] for year in (2022, 2023, 2024)}

# The stack (fonctionnement-plus-10 on avance-100): 100 % of each year in year N, and
# fonctionnement 55 000 (taille 1) / 66 000 (taille 2); the variable parts do not change.
#   A: 2022-10-15 fonctionnement y1 55 000 + accès fixe y1 55 000; 2023-02-15 parcours fixe
#      y1 16 575.34; 2023-10-15 fonctionnement y2 55 000 + accès fixe y2 55 000 + parcours
#      fixe y2 25 000 + variables y1 12 500 + 20 000; 2024-10-15 fonctionnement y3 55 000 +
#      accès fixe y3 55 000 + parcours fixe y3 25 000 + variables y2 20 000 + 20 000.
#   B: 2023-03-01 fonctionnement y1 66 000; 2023-07-01 accès fixe y1 46 666.67 + parcours
#      fixe y1 23 333.33; 2024-03-01 fonctionnement y2 66 000 + accès fixe y2 70 000 +
#      parcours fixe y2 35 000 + variables y1 24 000 + 28 000.
STACKED = {
    2022: D("55000") + D("55000"),
    2023: D("16575.34") + D("55000") + D("55000") + D("25000") + D("12500") + D("20000")
    + D("66000") + D("46666.67") + D("23333.33"),
    2024: D("55000") + D("55000") + D("25000") + D("20000") + D("20000")
    + D("66000") + D("70000") + D("35000") + D("24000") + D("28000"),
}


def test_the_hand_arithmetic_adds_up():
    # The sums written above, against the figures read off the calendars by hand.
    assert BASELINE == {2022: D("91250.00"), 2023: D("272825.34"), 2024: D("363250.00")}
    assert STACKED == {2022: D("110000"), 2023: D("320075.34"), 2024: D("398000")}


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_two_cpts_over_three_years_by_hand(run_cli, path):
    result = run_cli("budget", SAMPLE, "--baseline", "avenant-2", "--from", "2022", "--to", "2024",
                     *ASSUMED, "--path", path, "--format", "json")
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    document = one_json_document(result.stdout)
    (text,) = document["texts"]
    assert {int(y): D(v) for y, v in text["by_year"].items()} == BASELINE
    # By volet, 2024: fonctionnement A 12 500 + 37 500, B 45 000; fixe A 13 750 + 41 250 +
    # 6 250 + 18 750, B 11 666.67 + 52 500 + 5 833.33 + 26 250; variable A 20 000 + 20 000,
    # B 24 000 + 28 000.
    assert D(text["by_volet"]["fonctionnement"]["2024"]) == D("12500") + D("37500") + D("45000")
    assert D(text["by_volet"]["fixe"]["2024"]) == (D("13750") + D("41250") + D("6250") + D("18750")
                                                   + D("11666.67") + D("52500") + D("5833.33") + D("26250"))
    assert D(text["by_volet"]["variable"]["2024"]) == D("20000") + D("20000") + D("24000") + D("28000")
    # By mission, 2023: parcours A 12 431.51 + 4 143.83 + 18 750 + 20 000, B 17 500.
    assert D(text["by_mission"]["parcours"]["2023"]) == D("12431.51") + D("4143.83") + D("18750") + D("20000") \
        + D("17500")
    assert D(text["by_mission"]["hors_mission"]["2022"]) == D("50000")
    assert text["under_contract"] == {"2022": 1, "2023": 2, "2024": 2}
    assert document["assumptions"]["achievement"] == {"*": "0.8"}
    assert document["assumptions"]["start_delay_months"] == {"acces_soins": 4, "parcours": 4}


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_a_stack_of_two_proposals_by_hand(run_cli, path):
    result = run_cli("budget", SAMPLE, "--baseline", "avenant-2", "--reform", STACK, "--from", "2022",
                     "--to", "2024", *ASSUMED, "--path", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = one_json_document(result.stdout)
    base, reform = document["texts"]
    assert reform["chain"] == ["aci-2019", "avenant-2", "avance-100", "fonctionnement-plus-10"]
    assert {int(y): D(v) for y, v in reform["by_year"].items()} == STACKED
    assert {int(y): D(v) for y, v in document["difference"]["by_year"].items()} == {
        year: STACKED[year] - BASELINE[year] for year in (2022, 2023, 2024)}
    # Only fonctionnement and the fixed parts move; the variable parts are paid as before.
    assert all(D(v) == 0 for v in document["difference"]["by_volet"]["variable"].values())


def test_without_assumptions_the_profiles_alone(run_cli):
    # No start for B's missions and no rate for A's year 2: B is paid its fonctionnement
    # only (60 000 in 2023, 75 % × 60 000 = 45 000 in 2024), A its accès aux soins with
    # year 2's variable part at 0 (W002's reading): 2024 = 12 500 + 37 500 + 13 750 + 41 250.
    result = run_cli("budget", SAMPLE, "--baseline", "avenant-2", "--from", "2022", "--to", "2024",
                     "--format", "json")
    assert result.exit_code == 0, result.stderr
    (text,) = one_json_document(result.stdout)["texts"]
    assert {int(y): D(v) for y, v in text["by_year"].items()} == {
        2022: D("91250"), 2023: D("37500") + D("13750") + D("41250") + D("12500") + D("60000"),
        2024: D("12500") + D("37500") + D("13750") + D("41250") + D("45000")}


def test_replaced_assumptions_override_the_profiles():
    library = Library()
    profile = read_profiles(str(SAMPLE), library.mission_ids())[0]
    from aci_rules.engine.profile import compile_profile

    a = compile_profile(profile.document)
    kinds = {"acces_soins": "socle", "parcours": "socle", "qualite": "optionnelle"}
    replaced = apply_assumptions(a, Assumptions(achievement=((None, D("0.6")),), achievement_replaces=True,
                                                start_delay=((None, 2),), start_replaces=True), kinds, 3)
    assert replaced.missions["acces_soins"].achievement == {1: D("0.6"), 2: D("0.6"), 3: D("0.6")}
    assert str(replaced.missions["acces_soins"].started) == "2022-12-15"
    assert "qualite" not in replaced.missions or replaced.missions["qualite"].started is None
    kept = apply_assumptions(a, Assumptions(achievement=((None, D("0.6")),), start_delay=((None, 2),)), kinds, 3)
    assert kept.missions["acces_soins"].achievement[1] == D("0.5")
    assert str(kept.missions["acces_soins"].started) == "2022-10-15"
    never = apply_assumptions(a, Assumptions(start_delay=(("acces_soins", None),), start_replaces=True), kinds, 3)
    assert never.missions["acces_soins"].started is None


@pytest.mark.parametrize("output_format", ["text", "markdown", "csv"])
def test_every_format_prints_the_assumptions(run_cli, output_format):
    result = run_cli("budget", SAMPLE, "--baseline", "avenant-2", "--reform", STACK, "--from", "2022",
                     "--to", "2024", *ASSUMED, "--format", output_format)
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    for words in ("deux-cpts.csv (2 CPTS)", "Renouvellement : aucun", "4 mois après la signature", "80 %"):
        assert words in result.stdout
    if output_format == "csv":
        rows = list(csv.reader(line for line in io.StringIO(result.stdout) if not line.startswith("#")))
        assert rows[0] == ["year", "volet", "mission", "avenant-2", "fonctionnement-plus-10", "difference"]
        total = {year: sum(D(r[4]) for r in rows[1:] if r[0] == str(year)) for year in (2022, 2023, 2024)}
        assert total == STACKED
    if output_format == "text":
        assert "+47 250,00 €" in result.stdout  # 2023: 320 075.34 - 272 825.34


def test_output_is_written_whole(run_cli, tmp_path):
    target = tmp_path / "budget.json"
    result = run_cli("budget", SAMPLE, "--baseline", "avenant-2", "--from", "2022", "--to", "2024",
                     "--format", "json", "--output", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8"))["profiles"] == 2


@pytest.mark.parametrize("args, code, words", [
    (("--from", "2025", "--to", "2022"), 2, "after --to"),
    (("--from", "2022", "--to", "2099"), 2, "at most"),
    (("--from", "2022", "--to", "2024", "--achievement", "1.5"), 2, "from 0 to 1"),
    (("--from", "2022", "--to", "2024", "--achievement", "nan"), 2, "from 0 to 1"),
    (("--from", "2022", "--to", "2024", "--start-delay", "parcours=-3"), 2, "whole number of months"),
    (("--from", "2022", "--to", "2024", "--start-delay", "999"), 2, "whole number of months"),
    (("--from", "2022", "--to", "2024", "--replace-achievement"), 2, "needs --achievement"),
    (("--from", "2022", "--to", "2024", "--achievement", "parcour=0.5"), 1, "did you mean 'parcours'"),
    (("--from", "2022", "--to", "2024", "--payment-lag", "variabel=2"), 1, "did you mean 'variable'"),
    (("--from", "2022", "--to", "2024", "--payment-lag", "30"), 2, "from 0 to 24"),
])
def test_bad_options(run_cli, args, code, words):
    result = run_cli("budget", SAMPLE, "--baseline", "avenant-2", *args, "--lang", "en")
    no_traceback(result)
    assert result.exit_code == code
    assert words in result.stderr
    assert result.stdout == ""


def test_bad_options_are_said_in_the_readers_language(run_cli):
    """The usage errors of budget's own options are translated as every other message (they were
    English inside a French usage error)."""
    for args, words in ((("--from", "2025", "--to", "2022"), "est après --to 2022"),
                        (("--from", "2022", "--to", "2024", "--achievement", "1.5"), "un taux d'atteinte"),
                        (("--from", "2022", "--to", "2024", "--payment-lag", "30"), "de 0 à 24")):
        result = run_cli("budget", SAMPLE, "--baseline", "avenant-2", *args, "--lang", "fr")
        assert result.exit_code == 2 and words in result.stderr, result.stderr


def _sample_sources(count):
    library = Library()
    sources = read_profiles(str(EXAMPLES / "national-sample.csv"), library.mission_ids())
    return library, sources[:count]


@pytest.mark.parametrize("reform", [None, "plan-100-cpts.yaml", "negociation-2020-seance-2.yaml", "stack",
                                    "lecture-versements-2022"])
def test_fast_and_reference_paths_agree_to_the_cent(reform):
    """The shipped texts, the example proposals and a stack, on part of the national sample."""
    library, sources = _sample_sources(60)
    names = ["avenant-2"]
    if reform == "stack":
        names.append(str(STACK))
    elif reform == "lecture-versements-2022":  # the calibration's other reading: its own volet and payment rule
        names.append(str(ROOT / "bench" / "lecture-versements-2022.yaml"))
    elif reform:
        names.append(str(EXAMPLES / reform))
    assumptions = Assumptions(achievement=((None, D("0.75")), ("parcours", D("0.5"))),
                              start_delay=((None, 5), ("qualite", 14)), renewal=reform in ("stack", "plan-100-cpts.yaml"),
                              payment_lag=((None, 1), ("variable", 5)) if reform == "stack" else ())
    fast = budget_over_sample(library, sources, names, 2019, 2031, assumptions, path="fast")
    reference = budget_over_sample(library, sources, names, 2019, 2031, assumptions, path="reference")
    for a, b in zip(fast.texts, reference.texts):
        assert a.cells == b.cells
        assert a.under_contract == b.under_contract and a.paid == b.paid
        assert sum(a.cells.values()) > 0


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(profile_data(), st.sampled_from([None, "plan-100-cpts.yaml"]), st.booleans())
def test_fast_calendar_equals_the_reference_on_generated_profiles(data, reform, renewal):
    """Letters of intent, years cut by a text or a provision, missions started anywhere, renewals."""
    profile = load(data)
    name = str(EXAMPLES / reform) if reform else None
    timeline = LIBRARY.timeline(name, renewal=renewal)
    fast = fast_calendar()(profile, timeline, 2019, 2035)
    assert fast == profile_payments(profile, timeline, 2019, 2035)


def test_jobs_give_the_same_budget(run_cli):
    args = ("budget", SAMPLE, "--baseline", "avenant-2", "--reform", STACK, "--from", "2022", "--to", "2024",
            *ASSUMED, "--format", "json")
    one, two = run_cli(*args), run_cli(*args, "--jobs", "2")
    assert one.exit_code == two.exit_code == 0, two.stderr
    assert one_json_document(one.stdout) == one_json_document(two.stdout)


def test_renewal_keeps_paying_after_the_fifth_year(run_cli):
    """Fonctionnement of the two CPTS in 2027 and 2028, by hand (FACTS.md §5, §6).

    A (taille 1, 50 000 a year), signed 2022-10-15: year 5 runs 2026-10-15..2027-10-14, its
    25 % balance (12 500) falls due 2027-10-15. Renewed, contract 2 starts 2027-10-15: its
    year 1 is paid 100 % at the signature (50 000), its year 2 75 % on 2028-10-15 (37 500).
    B (taille 2, 60 000), signed 2023-03-01: 2027-03-01 balance of year 4 (15 000) and 75 % of
    year 5 (45 000); 2028-03-01 balance of year 5 (15 000); renewed, contract 2's year 1 is
    paid 100 % on 2028-03-01 (60 000).
    """
    args = ("budget", SAMPLE, "--baseline", "avenant-2", "--from", "2027", "--to", "2028", *ASSUMED,
            "--format", "json")
    ended, renewed = run_cli(*args), run_cli(*args, "--assume-renewal")
    assert ended.exit_code == renewed.exit_code == 0, renewed.stderr
    (ended,), (renewed,) = (one_json_document(r.stdout)["texts"] for r in (ended, renewed))
    assert {y: D(v) for y, v in ended["by_volet"]["fonctionnement"].items()} == {
        "2027": D("12500") + D("15000") + D("45000"), "2028": D("15000")}
    assert {y: D(v) for y, v in renewed["by_volet"]["fonctionnement"].items()} == {
        "2027": D("12500") + D("50000") + D("15000") + D("45000"), "2028": D("37500") + D("15000") + D("60000")}
    # Under contract in 2028: B only (its first contract runs to 2028-02-29) without renewal.
    assert ended["under_contract"] == {"2027": 2, "2028": 1}
    assert renewed["under_contract"] == {"2027": 2, "2028": 2}


def test_a_payment_lag_moves_money_to_the_next_calendar_year(run_cli):
    """Variable parts paid 3 months after their due date: A's year-1 variable parts (due
    2023-10-15: 12 500 + 20 000) fall in January 2024, its year-2 ones (due 2024-10-15) in
    2025, out of the span; B's year-1 ones (due 2024-03-01: 24 000 + 28 000) in June 2024."""
    result = run_cli("budget", SAMPLE, "--baseline", "avenant-2", "--from", "2022", "--to", "2024", *ASSUMED,
                     "--payment-lag", "variable=3", "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = one_json_document(result.stdout)
    (text,) = document["texts"]
    assert {y: D(v) for y, v in text["by_volet"]["variable"].items()} == {
        "2022": D("0"), "2023": D("0"), "2024": D("12500") + D("20000") + D("24000") + D("28000")}
    assert D(text["by_year"]["2023"]) == BASELINE[2023] - D("12500") - D("20000")
    assert document["assumptions"]["payment_lag_months"] == {"variable": 3}
