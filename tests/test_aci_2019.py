"""Legal fidelity of ``rules/aci-2019.yaml``: the engine's figures against the texts.

Every amount asserted here is computed by the engine (``aci-rules eval --format
json``) from the shipped ruleset and compared with a figure of the law or with
arithmetic done in the test from the dates and the ruleset's own parameters.

Sources of the legal figures (``shared/domain/FACTS.md``):

* §2  size classes by population (< 40 000, 40 000-80 000, 80 000-175 000, > 175 000;
  80 000 is in both "entre" ranges: taille 2, boundary unverified);
* §3  fonctionnement 50 000 / 60 000 / 75 000 / 90 000 € (seed
  ``000_18db57f1e6bbeead.txt``, table "Montant annuel");
* §4  start deadlines (accès aux soins: 6 months after the signature);
* §4.2 the 2019 official maximum totals 220 000 / 287 000 / 370 000 / 450 000 €,
  per-mission rows unverified;
* §5  contract years and the prorata temporis of a mission's fixed part.
"""

from __future__ import annotations

import calendar
import datetime
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml

from conftest import RULES

RULESET_FILE = RULES / "aci-2019.yaml"
RULESET = yaml.safe_load(RULESET_FILE.read_text(encoding="utf-8"))
PARAMETERS = RULESET["parameters"]

# FACTS.md §1: ACI 2019 in force from 2019-08-25; avenant 2 from 2022-04-01.
IN_FORCE = RULESET["dates"]["in_force"]
AVENANT_2_IN_FORCE = datetime.date(2022, 4, 1)
MISSIONS = ("acces_soins", "parcours", "prevention", "qualite", "accompagnement")
CONFIDENCES = {"confirmed", "derived", "unverified"}
CENT = Decimal("0.01")

# FACTS.md §4.2: official maximum per contract year, SNP financing included.
OFFICIAL_MAXIMUM_2019 = {1: "220000.00", 2: "287000.00", 3: "370000.00", 4: "450000.00"}
# FACTS.md §3; seed 000_18db57f1e6bbeead.txt, "Montant annuel" (fonctionnement).
FONCTIONNEMENT = {1: "50000.00", 2: "60000.00", 3: "75000.00", 4: "90000.00"}
# A population well inside each class of FACTS.md §2.
POPULATION = {1: 25000, 2: 60000, 3: 120000, 4: 300000}


# -- helpers -----------------------------------------------------------------------


def profile_yaml(population, *, signed="2020-03-15", missions=None, name="CPTS d'essai"):
    """A profile as an analyst writes it. ``missions``: id -> {started, deployed, achievement}."""
    out = [f"name: {name}", f"population: {population}"]
    if signed is not None:
        out.append(f"contract_signed: {signed}")
    if missions:
        out.append("missions:")
        for mission_id, spec in missions.items():
            out.append(f"  {mission_id}:")
            for key in ("started", "deployed"):
                if spec.get(key) is not None:
                    out.append(f"    {key}: {spec[key]}")
            if spec.get("achievement"):
                rates = ", ".join(f"{year}: {rate}" for year, rate in spec["achievement"].items())
                out.append(f"    achievement: {{{rates}}}")
    return "\n".join(out) + "\n"


def all_missions(started, achievement):
    return {m: {"started": started, "achievement": achievement} for m in MISSIONS}


def eval_json(run_cli, write, text, date, name="profile.yaml"):
    """Evaluate under aci-2019, named explicitly: these tests are about that text, whatever
    text a later avenant puts in force (every date used here is before avenant 2, 2022-04-01)."""
    assert AVENANT_2_IN_FORCE > datetime.date.fromisoformat(date) >= IN_FORCE
    path = write(name, text)
    result = run_cli("eval", path, "--date", date, "--ruleset", "aci-2019", "--format", "json")
    assert result.exception is None, result.exception
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def line_of(document, line_id):
    matches = [line for line in document["lines"] if line["id"] == line_id]
    assert len(matches) == 1, f"line {line_id!r} in {[line['id'] for line in document['lines']]}"
    return matches[0]


def obligation_of(document, obligation_id):
    matches = [o for o in document["obligations"] if o["id"] == obligation_id]
    assert len(matches) == 1, f"obligation {obligation_id!r} in {document['obligations']}"
    return matches[0]


def codes(document):
    return [warning["code"] for warning in document["warnings"]]


def parameter(name, taille=None):
    spec = PARAMETERS[name]
    value = spec["by_taille"][taille] if "by_taille" in spec else spec["value"]
    return Decimal(str(value))


def plus_months(day, months):
    """Calendar months added, the day clamped to the month's end (written apart from the engine's)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def cents(value):
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- the official maxima (FACTS.md §4.2) ----------------------------------------------


@pytest.mark.parametrize("year, date", [
    (1, "2019-09-01"), (1, "2020-08-31"), (2, "2020-10-01"), (3, "2021-10-01"), (3, "2022-03-31"),
])
@pytest.mark.parametrize("taille", [1, 2, 3, 4])
def test_every_mission_fully_achieved_pays_the_official_2019_maximum(run_cli, write, taille, year, date):
    """FACTS.md §4.2: 220 000 / 287 000 / 370 000 / 450 000 € per year at most, by taille.

    Contract signed 2019-09-01; the five missions started on the signature day, so
    on or before every contract year's start, and achieved at 100 % in the year evaluated.
    """
    text = profile_yaml(POPULATION[taille], signed="2019-09-01",
                        missions=all_missions("2019-09-01", {year: 1}))
    document = eval_json(run_cli, write, text, date)
    assert document["ruleset"] == "aci-2019"
    assert document["size"] == taille
    assert document["contract_year"] == year
    assert document["total"] == OFFICIAL_MAXIMUM_2019[taille]
    assert sum(Decimal(line["amount"]) for line in document["lines"]) == Decimal(document["total"])
    # Fully achieved: every line pays its maximum.
    assert all(line["amount"] == line["maximum"] for line in document["lines"])
    assert document["warnings"] == []


@pytest.mark.parametrize("taille", [1, 2, 3, 4])
def test_fonctionnement_alone_before_any_mission_starts(run_cli, write, taille):
    """Seed 000_18db57f1e6bbeead.txt ('Montant annuel'), FACTS.md §3: 50 000 / 60 000 / 75 000 / 90 000 €."""
    text = profile_yaml(POPULATION[taille])
    document = eval_json(run_cli, write, text, "2020-06-01")
    assert [line["id"] for line in document["lines"]] == ["fonctionnement"]
    assert line_of(document, "fonctionnement")["amount"] == FONCTIONNEMENT[taille]
    assert document["total"] == FONCTIONNEMENT[taille]


def test_a_mission_starting_after_the_contract_year_pays_nothing_yet(run_cli, write):
    """FACTS.md §5: a mission's fixed part is due from its start; a later start adds nothing this year."""
    text = profile_yaml(POPULATION[2], missions={"parcours": {"started": "2021-04-01", "achievement": {1: 1}}})
    document = eval_json(run_cli, write, text, "2020-06-01")  # year 1 ends 2021-03-14
    assert [line["id"] for line in document["lines"]] == ["fonctionnement"]
    assert document["total"] == FONCTIONNEMENT[2]


# -- size classes (FACTS.md §2) ----------------------------------------------------------


@pytest.mark.parametrize("population, taille", [
    (0, 1), (39999, 1), (40000, 2), (79999, 2), (80000, 2), (80001, 3), (175000, 3), (175001, 4),
])
def test_size_class_boundaries(run_cli, write, population, taille):
    """FACTS.md §2: < 40 000 -> 1; 40 000 -> 2; 80 000 -> 2 (unverified); 175 000 -> 3; > 175 000 -> 4."""
    document = eval_json(run_cli, write, profile_yaml(population), "2020-06-01")
    assert document["size"] == taille
    assert line_of(document, "fonctionnement")["amount"] == FONCTIONNEMENT[taille]


def test_population_80000_is_taille_2_and_its_results_are_unverified(run_cli, write):
    """FACTS.md §2: 80 000 is in both "entre" ranges; encoded taille 2 and tagged unverified.

    The tag must reach every line that depends on the taille, fonctionnement included
    (confirmed on its own), with a W005 warning.
    """
    text = profile_yaml(80000, missions=all_missions("2020-03-15", {1: 1}))
    document = eval_json(run_cli, write, text, "2020-06-01")
    assert document["size"] == 2
    assert document["total"] == OFFICIAL_MAXIMUM_2019[2]
    assert {line["confidence"] for line in document["lines"]} == {"unverified"}
    assert line_of(document, "fonctionnement")["confidence"] == "unverified"
    assert "W005" in codes(document)


@pytest.mark.parametrize("population", [39999, 40000, 80001, 175000, 175001])
def test_confirmed_boundaries_give_no_w005(run_cli, write, population):
    """FACTS.md §2: every boundary but 80 000 is confirmed."""
    document = eval_json(run_cli, write, profile_yaml(population), "2020-06-01")
    assert "W005" not in codes(document)
    assert line_of(document, "fonctionnement")["confidence"] == "confirmed"


# -- prorata temporis of the fixed part (FACTS.md §5) --------------------------------------


@pytest.mark.parametrize("signed, date, population, mission, started, lines", [
    # Year 1 runs 2019-09-01..2020-08-31: 366 days (29 February 2020 inside).
    ("2019-09-01", "2020-06-01", 60000, "parcours", "2020-01-20", ["parcours_fixe"]),
    # Year 2 runs 2021-03-15..2022-03-14: 365 days; the SNP financing follows the fixed part.
    ("2020-03-15", "2021-12-01", 120000, "acces_soins", "2021-07-01", ["acces_soins_fixe", "snp_specifique"]),
    # Started on the last day of the year: one day's worth.
    ("2020-03-15", "2021-03-14", 300000, "prevention", "2021-03-14", ["prevention_fixe"]),
    # Started the day after the year's first day.
    ("2020-03-15", "2020-04-01", 25000, "qualite", "2020-03-16", ["qualite_fixe"]),
])
def test_fixed_part_is_prorated_from_the_start_to_the_next_anniversary(
        run_cli, write, signed, date, population, mission, started, lines):
    """FACTS.md §5: in the year it starts, a mission's fixed part is due prorata temporis
    from its start date to the next anniversary, rounded half up to the cent (ruleset
    ``rounding``). The expected value is computed here from the dates and from the
    parameter read in rules/aci-2019.yaml.
    """
    text = profile_yaml(population, signed=signed, missions={mission: {"started": started, "achievement": {1: 1, 2: 1}}})
    document = eval_json(run_cli, write, text, date)
    taille = document["size"]
    signed_day, day, start = (datetime.date.fromisoformat(d) for d in (signed, date, started))
    year = document["contract_year"]
    year_start = plus_months(signed_day, 12 * (year - 1))
    next_anniversary = plus_months(signed_day, 12 * year)
    assert year_start <= start <= day < next_anniversary
    covered = Decimal((next_anniversary - start).days)
    length = Decimal((next_anniversary - year_start).days)
    for line_id in lines:
        full = parameter(f"montant_{line_id}" if line_id != "snp_specifique" else "montant_snp_specifique", taille)
        line = line_of(document, line_id)
        assert line["amount"] == str(cents(full * covered / length)), line_id
        assert line["maximum"] == str(cents(full))
        assert Decimal(line["amount"]) < full


# -- variable part (FACTS.md §4, §7) --------------------------------------------------------


@pytest.mark.parametrize("taille, mission, rate", [
    (2, "prevention", "0.37"),
    (4, "qualite", "0.123"),
    (3, "parcours", "0"),
    (1, "acces_soins", "0.8"),
    # 5 000 x 0.123453 = 617.265: half up gives 617.27 (half even or a float would give 617.26).
    (1, "accompagnement", "0.123453"),
])
def test_variable_part_is_the_maximum_times_the_achievement(run_cli, write, taille, mission, rate):
    """FACTS.md §4: the volet variable is paid by the taux d'atteinte: maximum x achievement,
    rounded half up to the cent; the maximum is read from rules/aci-2019.yaml."""
    text = profile_yaml(POPULATION[taille], missions={mission: {"started": "2020-03-15", "achievement": {1: rate}}})
    document = eval_json(run_cli, write, text, "2020-06-01")
    maximum = parameter(f"montant_{mission}_variable", taille)
    line = line_of(document, f"{mission}_variable")
    assert line["amount"] == str(cents(maximum * Decimal(rate)))
    assert line["maximum"] == str(cents(maximum))
    assert "W002" not in codes(document)


def test_missing_achievement_for_the_year_counts_as_zero_with_w002(run_cli, write):
    """FACTS.md §7: no taux d'atteinte given for the year -> nothing earned yet, and say so."""
    text = profile_yaml(POPULATION[3], missions=all_missions("2020-03-15", {1: 1}))
    document = eval_json(run_cli, write, text, "2021-06-01")  # contract year 2
    assert document["contract_year"] == 2
    for mission in MISSIONS:
        assert line_of(document, f"{mission}_variable")["amount"] == "0.00"
        assert line_of(document, f"{mission}_fixe")["amount"] == str(cents(parameter(f"montant_{mission}_fixe", 3)))
    w002 = [w for w in document["warnings"] if w["code"] == "W002"]
    assert len(w002) == len(MISSIONS)
    for mission in MISSIONS:
        assert any(mission in w["message"] for w in w002), mission


# -- provenance (FACTS.md §4.2, confidence tags) ----------------------------------------------


@pytest.mark.parametrize("taille", [1, 2, 3, 4])
def test_every_line_carries_its_reference_and_confidence(run_cli, write, taille):
    """FACTS.md: fonctionnement is confirmed (§3); the 2019 per-mission rows are unverified (§4.2)."""
    text = profile_yaml(POPULATION[taille], missions=all_missions("2020-03-15", {1: 1}))
    document = eval_json(run_cli, write, text, "2020-06-01")
    assert len(document["lines"]) == 1 + 2 * len(MISSIONS) + 1  # + the SNP financing
    for line in document["lines"]:
        assert isinstance(line["reference"], str) and line["reference"].strip(), line["id"]
        assert line["confidence"] in CONFIDENCES, line["id"]
        if line["mission"] is None:
            assert line["confidence"] == "confirmed", line["id"]
        else:
            assert line["mission"] in MISSIONS
            assert line["confidence"] == "unverified", line["id"]
    assert line_of(document, "fonctionnement")["confidence"] == "confirmed"


# -- obligations (FACTS.md §4, §5) ---------------------------------------------------------------


def test_ruleset_start_delay_for_acces_soins_is_six_months():
    """FACTS.md §4: accès aux soins must start within 6 months of the signature."""
    assert PARAMETERS["delai_demarrage_acces_soins"]["value"] == 6


@pytest.mark.parametrize("signed", ["2020-03-15", "2020-08-31", "2019-08-31", "2021-12-31"])
def test_acces_soins_start_deadline_is_signature_plus_six_months(run_cli, write, signed):
    """FACTS.md §4: start within 6 months of the signature; a 31 August signature
    falls due on the last day of February (28 or 29)."""
    document = eval_json(run_cli, write, profile_yaml(POPULATION[2], signed=signed), signed)
    months = int(PARAMETERS["delai_demarrage_acces_soins"]["value"])
    expected = plus_months(datetime.date.fromisoformat(signed), months)
    assert obligation_of(document, "acces_soins_demarrage")["deadline"] == expected.isoformat()


# Signed 2020-03-15: accès aux soins must start by 2020-09-15 (FACTS.md §4).
@pytest.mark.parametrize("started, date, status, done", [
    ("2020-06-01", "2021-01-01", "met", "2020-06-01"),
    ("2020-09-15", "2021-01-01", "met", "2020-09-15"),      # on the deadline itself
    ("2020-11-02", "2021-01-01", "late", "2020-11-02"),
    (None, "2020-09-16", "missing", None),                  # the day after the deadline
    ("2021-02-01", "2021-01-01", "missing", None),          # will start, but not yet
    (None, "2020-09-15", "pending", None),                  # the deadline day: still time
    ("2020-07-01", "2020-05-01", "pending", None),          # starts later, before the deadline
])
def test_acces_soins_start_obligation_status(run_cli, write, started, date, status, done):
    """FACTS.md §5: a socle mission not started in time is reported (met / late / missing / pending)."""
    missions = {"acces_soins": {"started": started, "achievement": {1: 1}}} if started else None
    document = eval_json(run_cli, write, profile_yaml(POPULATION[2], missions=missions), date)
    obligation = obligation_of(document, "acces_soins_demarrage")
    assert obligation["deadline"] == "2020-09-15"
    assert obligation["status"] == status
    assert obligation["done"] == done
    assert obligation["mission"] == "acces_soins"


def test_a_late_start_is_reported_not_zeroed(run_cli, write):
    """FACTS.md §5: report a breach; do not silently zero amounts unless the ruleset says so."""
    text = profile_yaml(POPULATION[2], missions={"acces_soins": {"started": "2020-11-02", "achievement": {1: 1}}})
    document = eval_json(run_cli, write, text, "2021-01-01")
    assert obligation_of(document, "acces_soins_demarrage")["status"] == "late"
    assert Decimal(line_of(document, "acces_soins_fixe")["amount"]) > 0
