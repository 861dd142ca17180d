"""`aci-rules test --coverage` and `--mutate`: what the cases exercise of the rulesets, and
which of their figures and conditions no case pins (issue 19)."""

import json

import pytest

from aci_rules.engine.cases import collect_case_files, load_case_file, run_case
from aci_rules.engine.fastpath import FastRuleset
from aci_rules.engine.library import Library
from aci_rules.engine.mutate import apply_mutant, mutants_of

from conftest import ROOT, no_traceback, one_json_document

CASES = ROOT / "tests" / "cases"


@pytest.fixture(scope="module")
def shipped_run():
    from click.testing import CliRunner

    from aci_rules.cli.main import cli

    result = CliRunner().invoke(cli, ["test", str(CASES), "--allow", str(ROOT), "--coverage", "--mutate", "--format", "json"])
    return result


def test_the_shipped_texts_and_example_proposals_have_no_survivor_and_full_coverage(shipped_run):
    assert shipped_run.exit_code == 0, shipped_run.stdout[-2000:]
    document = one_json_document(shipped_run.stdout)
    assert document["failed"] == 0
    assert document["coverage"]["complete"] is True
    mutated = {report["ruleset"]: report for report in document["mutation"]}
    assert set(mutated) == {"aci-2019", "avenant-2", "plan-100-cpts", "negociation-2020-seance-2",
                            "hypothese-avenant-france-sante"}
    for report in mutated.values():
        assert report["survived"] == 0, report["survivors"]
        assert report["killed"] + report["equivalent"] + report["accepted"] == report["mutants"]
    # Equivalents are listed with their reason, never hidden.
    assert all(m["reason"] for r in mutated.values() for m in r["equivalents"])
    assert mutated["aci-2019"]["mutants"] > 100 and mutated["avenant-2"]["mutants"] > 100


def _boundary_mutant(ruleset_id, owner, description):
    library = Library()
    found = [m for m in mutants_of(library.get(ruleset_id)) if m.owner == owner and m.description == description]
    assert len(found) == 1, [m.description for m in mutants_of(library.get(ruleset_id)) if m.owner == owner]
    return library, found[0]


def _failing_cases(library, mutant):
    cases = []
    for path in collect_case_files([str(CASES)]):
        cases += load_case_file(path, library, [str(ROOT)])[0]
    failing = []
    for case in cases:
        outcome = run_case(case, library, transform=lambda r: apply_mutant(mutant, r), fast=FastRuleset)
        if not outcome.passed:
            failing.append(f"{case.file.rsplit('/', 1)[-1]}:{case.line}")
    return failing


@pytest.mark.parametrize("ruleset_id, owner, description, case", [
    ("avenant-2", "lines[contrat_accompagnement].when",
     "letter_of_intent_validated <= date → letter_of_intent_validated < date", "bornes.yaml:21"),
    ("avenant-2", "parameters.date_limite_covid", "2021-12-31 → 2022-01-01 (le lendemain)", "bornes.yaml:60"),
    ("avenant-2", "lines[crises_variable_covid].when",
     "contract_year_start <= debut_mission_crises → contract_year_start < debut_mission_crises", "bornes.yaml:85"),
    ("aci-2019", "lines[acces_soins_fixe].when", "started <= contract_year_end → started < contract_year_end",
     "bornes.yaml:116"),
    ("avenant-2", "lines[crises_fixe].when", "crises_debut <= contract_year_end → crises_debut < contract_year_end",
     "bornes.yaml:100"),
])
def test_each_boundary_survivor_of_the_hand_run_is_killed_by_its_case(ruleset_id, owner, description, case):
    library, mutant = _boundary_mutant(ruleset_id, owner, description)
    assert case in _failing_cases(library, mutant)


def test_the_letter_of_intent_mutant_empties_the_calendar_case():
    library, mutant = _boundary_mutant(
        "avenant-2", "lines[contrat_accompagnement].when",
        "letter_of_intent_validated <= date → letter_of_intent_validated < date")
    assert "bornes.yaml:30" in _failing_cases(library, mutant)  # the schedule case


def test_every_mutant_is_a_valid_ruleset_that_both_paths_evaluate_alike():
    library = Library()
    from aci_rules.engine.evaluate import evaluate
    from aci_rules.engine.profile import load_profile

    profile = load_profile(ROOT / "examples" / "cpts-avenant-2-taille-4.yaml")
    import datetime

    day = datetime.date(2023, 6, 1)
    base = library.get("avenant-2", day)
    from aci_rules.engine.diagnostic import EvaluationError

    for mutant in mutants_of(library.get("avenant-2")):
        mutated = apply_mutant(mutant, base)
        try:
            reference = evaluate(mutated, profile, day)
        except EvaluationError:  # e.g. `is not None` turned: the fast path must refuse it alike
            with pytest.raises(EvaluationError):
                FastRuleset(mutated).run(profile, day)
            continue
        fast = FastRuleset(mutated).run(profile, day)
        assert fast.amounts == {line.id: line.amount for line in reference.lines}, mutant.description
        assert fast.total == reference.total


WEAK_CASES = """\
cases:
  - name: a weak case, only the running costs of a taille 1
    source: seed 002_f6e4f7c552fbe0c6.txt (fonctionnement 50 000 € for taille 1)
    date: 2023-06-01
    profile:
      name: CPTS de taille 1
      population: 30000
      contract_signed: 2022-10-15
      missions:
        acces_soins: {started: 2022-10-15, achievement: {1: 1}}
    expect:
      lines: {fonctionnement: 50000}
"""


def test_a_weak_case_file_shows_its_survivors_with_where_and_what_would_pin_them(run_cli, write):
    path = write("weak/cases.yaml", WEAK_CASES)
    run = run_cli("test", path, "--mutate", "avenant-2")
    no_traceback(run)
    assert run.exit_code == 1
    assert "SURVIT rules/avenant-2.yaml:" in run.stdout
    # A figure no case reads, with the place it is written and the case that would pin it.
    assert "parameters.montant_acces_soins_fixe[taille 2] : 70000 → 70001" in run.stdout
    assert "aucun cas de taille 2 ne lit cette valeur" in run.stdout
    # A boundary no case sits on.
    assert ("crises_debut (crises_debut) tombe le jour de (ou égale) contract_year_end "
            "(le dernier jour d'une année de contrat)") in run.stdout


def test_the_hints_of_a_weak_case_file_are_in_the_readers_language(run_cli, write):
    path = write("weak/cases.yaml", WEAK_CASES)
    english = run_cli("test", path, "--mutate", "avenant-2", "--lang", "en")
    no_traceback(english)
    assert english.exit_code == 1
    assert "SURVIVES rules/avenant-2.yaml:" in english.stdout
    assert "no case of taille 2 reads this value: " in english.stdout
    assert ("no case where crises_debut (crises_debut) falls on the day of (or equals) contract_year_end "
            "(the last day of a contract year)") in english.stdout
    # The reason a mutant is equivalent too; and not one French hint left.
    assert "its share is never read" in english.stdout
    assert not any(word in english.stdout for word in ("aucun cas", "aucun calendrier", "aucune formule"))
    french = run_cli("test", path, "--mutate", "avenant-2")
    assert "aucun cas de taille 2 ne lit cette valeur : " in french.stdout
    assert "sa part n'est jamais lue" in french.stdout
    assert not any(word in french.stdout for word in ("no case", "no calendar", "no formula"))
    # JSON is for programs: its hints are English, as every JSON message.
    hints = [m["hint"] for r in one_json_document(run_cli("test", path, "--mutate", "avenant-2",
                                                              "--format", "json").stdout)["mutation"]
             for m in r["survivors"]]
    assert hints and all(hint.startswith("no ") for hint in hints)


def test_a_weak_case_file_shows_its_coverage_gaps(run_cli, write):
    path = write("weak/cases.yaml", WEAK_CASES)
    run = run_cli("test", path, "--coverage")
    assert run.exit_code == 0  # coverage informs; only failing cases and survivors fail the command
    assert "Non couvert :" in run.stdout
    assert "ligne crises_fixe : ne s'applique jamais" in run.stdout
    assert "« started <= contract_year_end » (lines[acces_soins_fixe].when) : jamais fausse" in run.stdout
    assert "paramètre montant_fonctionnement (taille 2) : jamais lu" in run.stdout
    run = run_cli("test", path, "--coverage", "--format", "json")
    document = one_json_document(run.stdout)
    files = {entry["file"]: entry for entry in document["coverage"]["files"]}
    lines = {line["id"]: line for line in files["rules/aci-2019.yaml"]["lines"]}
    # The case evaluates the year (its first day) and the date itself (DESIGN.md § Time): two evaluations.
    assert lines["fonctionnement"]["applied"] >= 1 and lines["fonctionnement"]["not_applied"] == 0
    assert document["coverage"]["complete"] is False


USER_PROPOSAL = """\
id: ma-proposition
title: Une proposition d'analyste
kind: proposal
status: proposal
amends: avenant-2
reference: note interne
dates:
  in_force: 2024-01-01
changes:
  parameters:
    set:
      bonus_membres:
        label: Bonus par tranche de membres
        unit: EUR
        value: 5000
        reference: note interne
        confidence: unverified
      seuil_membres:
        label: Seuil de membres
        unit: nombre
        value: 50
        reference: note interne
        confidence: unverified
  lines:
    add:
      - id: bonus_membres_ligne
        label: Bonus des CPTS nombreuses
        volet: fonctionnement
        when: contrat_en_cours and members >= seuil_membres
        amount: bonus_membres
        reference: note interne
"""

USER_CASES = """\
cases:
  - name: 60 members get the bonus
    source: note interne
    ruleset: proposition.yaml
    date: 2024-06-01
    profile: {name: CPTS, population: 30000, members: 60, contract_signed: 2024-01-01}
    expect:
      lines: {bonus_membres_ligne: 5000}
"""


def test_a_users_own_proposal_and_its_cases(run_cli, write):
    write("mine/proposition.yaml", USER_PROPOSAL)
    cases = write("mine/cases.yaml", USER_CASES)
    run = run_cli("test", cases, "--mutate", str(cases.parent / "proposition.yaml"))
    no_traceback(run)
    assert run.exit_code == 1
    # 60 members never sits on the threshold: >= into > and 50 into 49 or 51 survive.
    assert "members >= seuil_membres → members > seuil_membres" in run.stdout
    assert "parameters.seuil_membres : 50 → 51" in run.stdout
    assert "parameters.bonus_membres : 5000 → 5001" not in run.stdout  # pinned by the case
    write("mine/cases.yaml", USER_CASES + """\
  - name: 50 members get it
    source: note interne
    ruleset: proposition.yaml
    date: 2024-06-01
    profile: {name: CPTS, population: 30000, members: 50, contract_signed: 2024-01-01}
    expect:
      lines: {bonus_membres_ligne: 5000}
  - name: 49 members do not
    source: note interne
    ruleset: proposition.yaml
    date: 2024-06-01
    profile: {name: CPTS, population: 30000, members: 49, contract_signed: 2024-01-01}
    expect:
      absent: [bonus_membres_ligne]
  - name: no contract, no bonus
    source: note interne
    ruleset: proposition.yaml
    date: 2024-06-01
    profile: {name: CPTS, population: 30000, members: 60}
    expect:
      absent: [bonus_membres_ligne]
  - name: a year ending on the proposal's first day straddles it
    source: note interne
    ruleset: proposition.yaml
    date: 2023-06-01
    profile: {name: CPTS, population: 30000, contract_signed: 2023-01-02}
    expect: {warnings: [W007]}
  - name: a year starting the day before straddles it
    source: note interne
    ruleset: proposition.yaml
    date: 2024-06-01
    profile: {name: CPTS, population: 30000, contract_signed: 2023-12-31}
    expect: {warnings: [W007]}
""")
    run = run_cli("test", cases, "--mutate", str(cases.parent / "proposition.yaml"), "--format", "json")
    assert run.exit_code == 0, run.stdout
    report = one_json_document(run.stdout)["mutation"][0]
    assert report["survived"] == 0 and report["killed"] == report["mutants"] > 0


def test_mutate_is_not_run_when_a_case_fails(run_cli, write):
    path = write("bad/cases.yaml", WEAK_CASES.replace("fonctionnement: 50000", "fonctionnement: 50001"))
    run = run_cli("test", path, "--mutate")
    assert run.exit_code == 1
    assert "Mutations : non lancées" in run.stdout


def test_pruning_by_coverage_gives_the_same_kills_as_running_every_case():
    from aci_rules.engine.mutate import mutation_analysis

    library = Library()
    cases = []
    for path in collect_case_files([str(CASES / "plan-100-cpts.yaml"), str(CASES / "bornes.yaml")]):
        cases += load_case_file(path, library, [str(ROOT)])[0]
    name = str(ROOT / "examples" / "plan-100-cpts.yaml")
    _, (pruned,) = mutation_analysis(cases, library, [name])
    _, (full,) = mutation_analysis(cases, library, [name], prune=False)
    assert [m.description for m in pruned.survivors] == [m.description for m in full.survivors]
    assert pruned.killed == full.killed and pruned.runs < full.runs


def test_json_documents_are_json(shipped_run):
    json.loads(shipped_run.stdout)


def test_an_example_proposal_with_its_own_case_file(run_cli):
    cases = CASES / "negociation-2020-seance-2.yaml"
    proposal = ROOT / "examples" / "negociation-2020-seance-2.yaml"
    run = run_cli("test", cases, "--allow", ROOT, "--coverage", "--mutate", proposal, "--format", "json")
    no_traceback(run)
    assert run.exit_code == 0, run.stdout[-2000:]
    document = one_json_document(run.stdout)
    (report,) = document["mutation"]
    assert report["ruleset"] == "negociation-2020-seance-2" and report["survived"] == 0
    assert report["killed"] == report["mutants"] == 20
    (entry,) = [e for e in document["coverage"]["files"] if e["file"].endswith("negociation-2020-seance-2.yaml")]
    summary = entry["summary"]
    assert summary["lines"] == [3, 3] and summary["conditions"][0] == summary["conditions"][1] > 0
    run = run_cli("test", cases, "--allow", ROOT, "--coverage")
    assert "negociation-2020-seance-2.yaml" in run.stdout
    assert "parties de conditions vraies et fausses" in run.stdout
