"""Issue 13's proposals as an analyst writes them from the README (tests/proposals/), checked by
hand arithmetic, on both evaluation paths, and through `diff`.

Figures, from the texts and from the test proposals themselves (never an engine output copied back):
- ACI CPTS 2019, art. 8 of the annex: fonctionnement 50 000 / 60 000 / 75 000 / 90 000 € per
  taille, unchanged by avenant 2 (FACTS.md §4.1);
- avenant 2, art. 8 of the annex: accès aux soins, fixed part, 55 000 / 70 000 / 90 000 /
  110 000 € (the Assurance Maladie / ARS ARA leaflet, 2022);
- tailles: 1 up to 39 999 inhabitants, 2 up to 80 000, 3 up to 175 000, 4 beyond (ACI CPTS 2019
  and avenant 2); the test proposal taille-5-sans-crises adds a taille 5 from 300 001;
- each proposal's own figures are in its file's header.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest

from conftest import EXAMPLES, no_traceback, one_json_document

from aci_rules.engine.batch import read_profiles
from aci_rules.engine.diff import diff_rulesets
from aci_rules.engine.evaluate import assess
from aci_rules.engine.fastpath import FastTimeline
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile
from aci_rules.engine.yaml_loader import load_document

HERE = __import__("pathlib").Path(__file__).resolve().parent
PROPOSALS = HERE / "proposals"
MISSION_2028 = PROPOSALS / "mission-numerique-2028.yaml"
PER_INHABITANT = PROPOSALS / "acces-soins-par-habitant.yaml"
PRIME = PROPOSALS / "prime-trois-missions.yaml"
GUARANTEE = PROPOSALS / "garantie-bareme-reduit.yaml"
TAILLE_5 = PROPOSALS / "taille-5-sans-crises.yaml"
ALL = (MISSION_2028, PER_INHABITANT, PRIME, GUARANTEE, TAILLE_5)

FONCTIONNEMENT = {1: Decimal(50000), 2: Decimal(60000), 3: Decimal(75000), 4: Decimal(90000)}  # ACI 2019, art. 8
CENT = Decimal("0.01")


def profile(write, name, text):
    return compile_profile(load_document(write(f"{name}.yaml", text)))


def lines(result) -> dict:
    return {line.id: line.amount for line in result.lines}


def run(path, prof, day):
    return assess(Library().timeline(str(path)), prof, datetime.date.fromisoformat(day))


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_each_proposal_validates(run_cli, path):
    result = run_cli("validate", str(path))
    no_traceback(result)
    assert result.exit_code == 0, result.stderr


def test_a_mission_with_its_own_date_pays_from_that_date_and_fonctionnement_is_5_percent_up(write):
    cpts = profile(write, "a", "name: CPTS A\npopulation: 56000\nmembers: 45\ncontract_signed: 2024-03-01\n"
                   "missions:\n  acces_soins: {started: 2024-03-01}\n"
                   "  numerique: {started: 2027-06-01, achievement: {4: 0.5, 5: 0.5}}\n")
    fixe, variable = Decimal(12500), Decimal(12500)  # taille 2 in the proposal
    after = lines(run(MISSION_2028, cpts, "2028-06-01"))  # contract year 5: 2028-03-01 .. 2029-02-28
    assert after["fonctionnement"] == FONCTIONNEMENT[2] * Decimal("1.05") == Decimal(63000)
    assert after["numerique_fixe"] == fixe  # started before the year: the whole year
    assert after["numerique_variable"] == variable * Decimal("0.5")
    # Year 4 (2027-03-01 .. 2028-02-29, 366 days) holds the mission's entry into force on 2028-01-01:
    # 60 days of it (31 + 29) are under the mission.
    before = lines(run(MISSION_2028, cpts, "2027-06-01"))
    assert before["numerique_fixe"] == (fixe * 60 / 366).quantize(CENT, ROUND_HALF_UP) == Decimal("2049.18")
    # A year that ends before 2028 has nothing of it, whatever the profile says.
    earlier = lines(run(MISSION_2028, cpts, "2027-02-01"))  # year 3, under avenant 2 then the proposal
    assert "numerique_fixe" not in earlier and "numerique_variable" not in earlier


@pytest.mark.parametrize("population, taille, expected", [
    (56000, 2, Decimal("44800")),  # 0.80 × 56 000, between the floor and the ceiling
    (30000, 1, Decimal(40000)),    # 24 000 is below the floor
    (320000, 4, Decimal(120000)),  # 256 000 is above the ceiling
    (56789, 2, Decimal("45431")),  # 45 431.20 rounded down to the euro
])
def test_accès_aux_soins_per_inhabitant_with_a_floor_and_a_ceiling(write, population, taille, expected):
    cpts = profile(write, "p", f"name: CPTS P\npopulation: {population}\nmembers: 45\ncontract_signed: 2024-01-01\n"
                   "missions:\n  acces_soins: {started: 2024-01-01}\n")
    rate, floor, ceiling = Decimal("0.80"), Decimal(40000), Decimal(120000)
    hand = max(floor, min(ceiling, (population * rate).quantize(Decimal(1), ROUND_DOWN)))
    assert hand == expected
    result = run(PER_INHABITANT, cpts, "2027-06-01")  # contract year 2027: wholly under the proposal
    assert result.size == taille
    assert lines(result)["acces_soins_fixe"] == expected


def test_a_prime_when_three_missions_reach_90_percent_and_a_minimum_total(write):
    three = profile(write, "trois", "name: CPTS trois\npopulation: 120000\nmembers: 80\ncontract_signed: 2024-01-01\n"
                    "missions:\n  acces_soins: {started: 2024-01-01, achievement: {4: 0.95}}\n"
                    "  parcours: {started: 2024-01-01, achievement: {4: 0.90}}\n"
                    "  prevention: {started: 2024-01-01, achievement: {4: 0.92}}\n"
                    "  qualite: {started: 2024-01-01, achievement: {4: 0.89}}\n")
    two = profile(write, "deux", "name: CPTS deux\npopulation: 120000\nmembers: 80\ncontract_signed: 2024-01-01\n"
                  "missions:\n  acces_soins: {started: 2024-01-01, achievement: {4: 0.95}}\n"
                  "  parcours: {started: 2024-01-01, achievement: {4: 0.90}}\n"
                  "  prevention: {started: 2024-01-01, achievement: {4: 0.89}}\n")
    assert lines(run(PRIME, three, "2027-06-01"))["prime_resultats"] == Decimal(10000)
    assert "prime_resultats" not in lines(run(PRIME, two, "2027-06-01"))
    # The minimum: a small CPTS with no mission started (fonctionnement alone, 50 000 €) gets
    # 100 000 € in all.
    small = profile(write, "petite", "name: CPTS petite\npopulation: 30000\nmembers: 20\ncontract_signed: 2024-01-01\n")
    base = run("avenant-2", small, "2027-06-01")
    result = run(PRIME, small, "2027-06-01")
    assert base.total == FONCTIONNEMENT[1] < Decimal(100000)
    assert result.total == Decimal(100000)
    assert lines(result)["complement_minimum"] == Decimal(100000) - base.total
    big = run(PRIME, three, "2027-06-01")
    assert lines(big)["complement_minimum"] == 0 and big.total == run("avenant-2", three, "2027-06-01").total \
        + Decimal(10000)


@pytest.mark.parametrize("day, renewal, in_contract", [("2027-06-01", (), 420), ("2028-06-01", ("--assume-renewal",), 700)])
def test_no_cpts_loses_or_gains_a_cent_under_the_guarantee(run_cli, day, renewal, in_contract):
    """The national sample: at 2027-06-01 most contract years are cut where the proposal enters
    into force (2027-01-01); at 2028-06-01, contracts renewed, every year is wholly under it. The
    fixed parts × 0.90 are made good by the guarantee, to the cent, either way."""
    result = run_cli("compare", str(EXAMPLES / "national-sample.csv"), "--baseline", "avenant-2", "--reform",
                     str(GUARANTEE), "--date", day, *renewal, "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = one_json_document(result.stdout)
    assert document["lose"] == 0 and document["gain"] == 0 and document["unchanged"] == in_contract
    assert document["difference"] == "0.00" and document["profiles"] == 700


def test_a_scaled_table_and_the_guarantee_line_by_line(write):
    cpts = profile(write, "g", "name: CPTS G\npopulation: 120000\nmembers: 80\ncontract_signed: 2024-01-01\n"
                   "missions:\n  acces_soins: {started: 2024-01-01, achievement: {5: 0.5}}\n"
                   "  parcours: {started: 2024-01-01}\n")
    base, result = run("avenant-2", cpts, "2028-06-01"), run(GUARANTEE, cpts, "2028-06-01")
    base_lines, new_lines = lines(base), lines(result)
    assert new_lines["acces_soins_fixe"] == Decimal(90000) * Decimal("0.90")  # avenant 2's taille 3, × 0.90
    assert new_lines["garantie_non_perte"] == base.total - (result.total - new_lines["garantie_non_perte"])
    assert result.total == base.total
    assert base_lines["acces_soins_fixe"] - new_lines["acces_soins_fixe"] \
        + base_lines["parcours_fixe"] - new_lines["parcours_fixe"] == new_lines["garantie_non_perte"]


def test_a_fifth_taille(write):
    cpts = profile(write, "cinq", "name: CPTS cinq\npopulation: 320000\nmembers: 150\ncontract_signed: 2024-01-01\n")
    result = run(TAILLE_5, cpts, "2027-06-01")
    assert result.size == 5 and result.size_confidence == "proposed"
    assert lines(result)["fonctionnement"] == Decimal(110000)  # the proposal's cell for taille 5
    assert not [w for w in result.warnings if w.code == "W005"]  # the proposal's own boundary
    assert [w.code for w in result.warnings if w.code == "W020"] == ["W020"]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_both_evaluation_paths_agree_on_every_proposal(path):
    """The reference evaluator and the fast path, on the national sample (its first 100 CPTS),
    in a year cut by the proposal's entry into force (2027-06-01) and one wholly under it."""
    library = Library()
    sample = [compile_profile(s.document)
              for s in read_profiles(str(EXAMPLES / "national-sample.csv"), library.mission_ids())][:100]
    timeline = library.timeline(str(path), renewal=True)
    fast = FastTimeline(timeline)
    for day in (datetime.date(2027, 6, 1), datetime.date(2028, 6, 1)):
        for cpts in sample:
            reference = assess(timeline, cpts, day)
            _, result = fast.run(cpts, day)
            expected = {line.id: line.amount for line in reference.lines}
            assert {k: v for k, v in result.amounts.items() if k in expected or v} == expected, (cpts.name, day)
            assert result.total == reference.total


def test_diff_shows_each_proposal_s_knock_on_effects():
    library = Library()
    old = library.get("avenant-2")
    expected = {  # line knock-ons: avenant 2's majoration reads every fixed and variable line
        MISSION_2028: ["majoration_missions"], PER_INHABITANT: ["majoration_missions"], PRIME: [],
        GUARANTEE: ["majoration_missions"], TAILLE_5: ["majoration_missions"]}
    for path, knock_ons in expected.items():
        diff = diff_rulesets(old, library.get(str(path)))
        assert [i.id for i in diff.summary.knock_ons] == knock_ons, path.stem
        assert (diff.summary.size_table is not None) == (path == TAILLE_5), path.stem
    # The guarantee's majoration moves by 10 % of what the scaled fixed parts lose at taille 4.
    diff = diff_rulesets(old, library.get(str(GUARANTEE)))
    [majoration] = diff.summary.knock_ons
    fixed_t4 = sum(old.parameters[f"montant_{m}_fixe"].value_for(4)
                   for m in ("acces_soins", "parcours", "prevention", "qualite", "accompagnement"))
    [(taille, before, after)] = [(a.taille, a.old, a.new) for a in majoration.amounts]
    assert taille == 4 and before - after == Decimal("0.10") * fixed_t4 * Decimal("0.10")
