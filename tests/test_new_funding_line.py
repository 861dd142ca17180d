"""The language is data: a funding line no shipped ruleset has, written in YAML alone.

DESIGN.md ("The ruleset language"): a new kind of funding (a supplement, a
local-initiative envelope, ...) must be expressible in YAML without touching Python.
The ruleset below is invented for the test, not law: a 'prime_territoire' of
1 500 € per full tranche of 10 000 inhabitants above 50 000, and a 10 % uplift on
it (the shape of avenant 2's uplift, FACTS.md §4.1) written *before* the line it
reads, to show that the engine orders lines by what they read. Expected amounts
are computed in the test from the same constants the YAML is written from.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

PRIME_PAR_TRANCHE = 1500
TRANCHE = 10000
SEUIL = 50000
TAUX_MAJORATION = "0.10"
SOCLE = {1: 40000, 2: 70000}

RULESET = f"""\
id: essai-prime-territoire
title: Proposition d'essai — prime territoire
kind: proposal
status: proposal
reference: Ruleset inventé par tests/test_new_funding_line.py (aucun texte)
dates: {{in_force: 2020-01-01}}
rounding: {{quantum: "0.01", mode: half_up}}
contract: {{duration_years: 5, reference: FACTS.md §5, confidence: confirmed}}

taille:
  basis: population
  reference: essai
  confidence: confirmed
  classes:
    - {{taille: 1, max: 49999}}
    - {{taille: 2, min: 50000}}

parameters:
  socle:
    unit: EUR
    by_taille: {{1: {SOCLE[1]}, 2: {SOCLE[2]}}}
    reference: essai
    confidence: confirmed
  prime_par_tranche:
    unit: EUR
    value: {PRIME_PAR_TRANCHE}
    reference: essai, prime par tranche
    confidence: unverified
  tranche:
    unit: nombre
    value: {TRANCHE}
    reference: essai
    confidence: confirmed
  seuil_prime:
    unit: nombre
    value: {SEUIL}
    reference: essai
    confidence: confirmed
  taux_majoration:
    unit: taux
    value: {TAUX_MAJORATION}
    reference: essai, majoration
    confidence: confirmed

definitions:
  contrat_en_cours: contract_year is not None
  tranches_au_dela_du_seuil:
    label: Tranches entières d'habitants au-delà du seuil
    expression: round_down((population - seuil_prime) / tranche)

lines:
  # Written first on purpose: it reads prime_territoire, defined below.
  - id: majoration_prime
    label: Majoration de 10 % de la prime territoire
    volet: supplement
    when: contrat_en_cours
    amount: prime_territoire * taux_majoration
    reference: essai (comme la majoration de 10 % de l'avenant 2)
  - id: fonctionnement
    label: Fonctionnement
    volet: fonctionnement
    when: contrat_en_cours
    amount: socle
    reference: essai
  - id: prime_territoire
    label: Prime territoire
    volet: supplement
    when: contrat_en_cours and population > seuil_prime
    amount: prime_par_tranche * tranches_au_dela_du_seuil
    reference: essai, prime territoire
"""


def cents(value):
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_prime(population):
    if population <= SEUIL:
        return None  # the line does not apply
    return cents(Decimal(PRIME_PAR_TRANCHE) * ((population - SEUIL) // TRANCHE))


@pytest.fixture
def ruleset(write):
    return write("essai-prime.yaml", RULESET)


def evaluate(run_cli, write, ruleset, population, date="2021-06-01"):
    profile = write("profile.yaml", f"name: CPTS d'essai\npopulation: {population}\ncontract_signed: 2020-03-15\n")
    result = run_cli("eval", profile, "--date", date, "--ruleset", ruleset, "--format", "json")
    assert result.exception is None, result.exception
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def lines_by_id(document):
    return {line["id"]: line for line in document["lines"]}


def test_the_ruleset_is_valid(run_cli, ruleset):
    result = run_cli("validate", ruleset)
    assert result.exit_code == 0, result.stderr
    assert "ruleset" in result.stdout


@pytest.mark.parametrize("population", [123456, 60000, 59999, 50001, 1_000_000])
def test_prime_territoire_follows_its_formula(run_cli, write, ruleset, population):
    document = evaluate(run_cli, write, ruleset, population)
    assert document["ruleset"] == "essai-prime-territoire"
    assert document["size"] == 2
    lines = lines_by_id(document)
    prime = expected_prime(population)
    assert lines["prime_territoire"]["amount"] == str(prime)
    assert lines["prime_territoire"]["volet"] == "supplement"
    assert lines["prime_territoire"]["mission"] is None
    assert lines["fonctionnement"]["amount"] == str(cents(SOCLE[2]))
    total = cents(SOCLE[2]) + prime + cents(prime * Decimal(TAUX_MAJORATION))
    assert document["total"] == str(total)


@pytest.mark.parametrize("population, taille", [(50000, 2), (20000, 1)])
def test_prime_territoire_does_not_apply_at_or_below_the_threshold(run_cli, write, ruleset, population, taille):
    document = evaluate(run_cli, write, ruleset, population)
    lines = lines_by_id(document)
    assert document["size"] == taille
    assert "prime_territoire" not in lines
    # The uplift reads a line that did not apply: it reads 0.
    assert lines["majoration_prime"]["amount"] == "0.00"
    assert document["total"] == str(cents(SOCLE[taille]))


@pytest.mark.parametrize("population", [123456, 60000, 75432])
def test_a_line_reading_another_line_is_computed_after_it(run_cli, write, ruleset, population):
    """majoration_prime is written before prime_territoire and reads it: the engine orders them."""
    document = evaluate(run_cli, write, ruleset, population)
    lines = lines_by_id(document)
    prime = Decimal(lines["prime_territoire"]["amount"])
    assert prime == expected_prime(population) > 0
    assert lines["majoration_prime"]["amount"] == str(cents(prime * Decimal(TAUX_MAJORATION)))
    # Lines are listed in the order of the file, whatever the order of computation.
    assert [line["id"] for line in document["lines"]] == ["majoration_prime", "fonctionnement", "prime_territoire"]


def test_confidence_flows_through_definitions_and_lines(run_cli, write, ruleset):
    """FACTS.md: a value tagged unverified must show wherever it contributes to a result."""
    lines = lines_by_id(evaluate(run_cli, write, ruleset, 123456))
    assert lines["fonctionnement"]["confidence"] == "confirmed"
    assert lines["prime_territoire"]["confidence"] == "unverified"  # reads prime_par_tranche
    assert lines["majoration_prime"]["confidence"] == "unverified"  # reads prime_territoire


def test_no_line_outside_the_contract(run_cli, write, ruleset):
    document = evaluate(run_cli, write, ruleset, 123456, date="2026-01-01")  # after the 5 years
    assert document["contract_year"] is None
    assert document["lines"] == []
    assert document["total"] == "0.00"


def test_a_cycle_between_lines_is_reported(run_cli, write):
    text = RULESET.replace("amount: prime_par_tranche * tranches_au_dela_du_seuil",
                           "amount: prime_par_tranche * tranches_au_dela_du_seuil + majoration_prime")
    ruleset = write("cycle.yaml", text)
    profile = write("profile.yaml", "name: CPTS\npopulation: 60000\ncontract_signed: 2020-03-15\n")
    result = run_cli("eval", profile, "--date", "2021-06-01", "--ruleset", ruleset)
    assert result.exception is None, result.exception
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "E105" in result.stderr
    assert "prime_territoire" in result.stderr and "majoration_prime" in result.stderr


def test_a_formula_failing_on_a_profile_names_the_line_and_its_place(run_cli, write):
    """DESIGN.md, errors: no traceback; file:line:col of the formula, exit 1, JSON errors on stdout."""
    text = RULESET.replace("amount: prime_territoire * taux_majoration",
                           "amount: prime_territoire / (population - 60000)")
    ruleset = write("zero.yaml", text)
    profile = write("profile.yaml", "name: CPTS\npopulation: 60000\ncontract_signed: 2020-03-15\n")
    result = run_cli("eval", profile, "--date", "2021-06-01", "--ruleset", ruleset, "--format", "json")
    assert result.exception is None, result.exception
    assert result.exit_code == 1
    [error] = json.loads(result.stdout)["errors"]
    rows = text.splitlines()
    line = next(i for i, row in enumerate(rows, 1) if "prime_territoire / (population" in row)
    assert (error["file"], error["line"]) == (str(ruleset), line)
    assert error["code"].startswith("E4")
    assert "majoration_prime" in error["message"]
    assert "Traceback" not in result.stderr
    assert f"{ruleset}:{line}:" in result.stderr
