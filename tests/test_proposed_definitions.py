"""A definition a proposal sets or replaces is the proposal's figure: ``proposed``, like its parameters.

README "A proposal's own figures: `proposed`": a line that reads a proposal's definition rests on
the proposal (its confidence is ``proposed``); ``eval`` names the proposal's own figures among
its assumptions, marks them where a formula reads them (``--explain``: ``[proposed] — put forward
by ...``) and gives each name's tag and proposal in JSON (``explain.lines.<id>.provenance``).

The proposal below is an invention of this file, not law: from 2024-01-01 a contract runs only
for a CPTS of at least 20 members (it replaces avenant 2's ``contrat_en_cours``, which every line
of the texts reads).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.library import Library
from aci_rules.engine.provenance import proposed_figures

from conftest import no_traceback, one_json_document

MEMBRES = """\
id: essai-membres
title: Proposition de test — un contrat ne court qu'avec 20 membres
kind: proposal
status: proposal
amends: avenant-2
reference: Hypothèse de test (tests/test_proposed_definitions.py)
dates:
  in_force: 2024-01-01
changes:
  definitions:
    set:
      contrat_en_cours: contract_year is not None and members >= 20
"""

# A taille-2 CPTS (60 000 inhabitants, FACTS.md §2) signed 2022-10-01, accès aux soins started at
# the signature. On 2024-06-01 it is in contract year 2 (2023-10-01 to 2024-09-30), cut where the
# proposal enters into force (92 days under avenant 2, 274 under the proposal).
PROFILE = """\
name: CPTS d'essai
population: 60000
members: {members}
contract_signed: 2022-10-01
missions:
  acces_soins: {{started: 2022-10-01, achievement: {{2: 0.5}}}}
"""
DAY = "2024-06-01"


def _compiled(path):
    library = Library()
    return library.compile(library.document(str(path)))


@pytest.fixture
def proposal(write):
    return write("membres.yaml", MEMBRES)


def test_a_replaced_definition_is_proposed_and_so_is_every_line_that_reads_it(proposal):
    ruleset = _compiled(proposal)
    assert ruleset.definitions["contrat_en_cours"].confidence == "proposed"
    assert proposed_figures(ruleset) == {"definitions": ["contrat_en_cours"]}
    enacted = Library().get("avenant-2")
    assert enacted.definitions["contrat_en_cours"].confidence is None  # an enacted text's: no tag of its own
    assert proposed_figures(enacted) == {}
    for line in ruleset.lines:
        reads = "contrat_en_cours" in ruleset.reads[line.id]
        assert (set(ruleset.confidence[line.id].values()) == {"proposed"}) == reads, line.id
        if not reads:  # what does not read it keeps the enacted text's tags
            assert ruleset.confidence[line.id] == enacted.confidence[line.id]
    # fonctionnement reads only a confirmed parameter and the proposal's definition.
    assert enacted.confidence["fonctionnement"][2] == "confirmed"
    assert ruleset.confidence["fonctionnement"][2] == "proposed"


def test_a_definition_in_full_form_keeps_its_label_and_is_proposed(write):
    text = MEMBRES.replace("      contrat_en_cours: contract_year is not None and members >= 20\n",
                           "      contrat_en_cours:\n        label: Un contrat court, avec 20 membres au moins\n"
                           "        expression: contract_year is not None and members >= 20\n"
                           "        confidence: confirmed\n")
    ruleset = _compiled(write("membres.yaml", text))
    definition = ruleset.definitions["contrat_en_cours"]
    assert definition.confidence == "proposed"  # whatever tag the proposal wrote
    assert definition.label == "Un contrat court, avec 20 membres au moins"


def test_an_error_in_a_proposed_definition_is_told_at_its_place_in_the_proposal(write):
    path = write("membres.yaml", MEMBRES.replace("members >= 20", "membres >= 20"))
    with pytest.raises(InputError) as caught:
        _compiled(path)
    (problem,) = caught.value.diagnostics
    # Line 12 of the proposal, the column of the expression's text.
    assert (problem.file, problem.line) == (str(path), 12) and problem.column >= 24, problem
    assert "membres" in problem.message


def test_eval_says_whose_the_definition_is_in_text_json_and_assumptions(run_cli, write, proposal):
    profile = write("cpts.yaml", PROFILE.format(members=30))
    text = run_cli("eval", profile, "--date", DAY, "--ruleset", proposal, "--explain", "--lang", "en")
    no_traceback(text)
    assert text.exit_code == 0, text.stderr
    said = " ".join(text.stdout.split())
    assert ("contrat_en_cours = true [proposed] — put forward by essai-membres (Hypothèse de test "
            "(tests/test_proposed_definitions.py))") in said
    assert ("Assumption: figures put forward by essai-membres, tagged proposed (no text in force; Hypothèse de "
            "test (tests/test_proposed_definitions.py)): definitions contrat_en_cours") in said
    french = " ".join(run_cli("eval", profile, "--date", DAY, "--ruleset", proposal, "--explain").stdout.split())
    assert "contrat_en_cours = true [proposed] — avancée par essai-membres" in french
    assert "valeurs avancées par essai-membres, marquées proposed" in french

    document = one_json_document(run_cli("eval", profile, "--date", DAY, "--ruleset", proposal, "--explain",
                                         "--format", "json").stdout)
    lines = {line["id"]: line for line in document["lines"]}
    # 30 members: the contract runs under both texts; taille 2 (FACTS.md §4.1): fonctionnement 60 000,
    # accès aux soins 70 000 + 30 000 x 0.5; the amounts are avenant 2's, the tags the proposal's.
    assert {k: Decimal(v["amount"]) for k, v in lines.items()} == {
        "fonctionnement": 60000, "acces_soins_fixe": 70000, "acces_soins_variable": 15000}
    assert {line["confidence"] for line in lines.values()} == {"proposed"}
    provenance = document["explain"]["lines"]["fonctionnement"]["provenance"]
    assert provenance["contrat_en_cours"] == {"confidence": "proposed", "proposal": {
        "id": "essai-membres", "reference": "Hypothèse de test (tests/test_proposed_definitions.py)"}}
    assert provenance["montant_fonctionnement"] == {"confidence": "confirmed", "proposal": None}
    assert any("definitions contrat_en_cours" in said for said in document["assumptions"])


def test_the_proposed_definition_decides_the_amounts_from_its_date(run_cli, write, proposal):
    """10 members: nothing from 2024-01-01. The year counts avenant 2 for its 92 days:
    (60 000 + 70 000 + 30 000 x 0.5) x 92 / 366 = 145 000 x 92 / 366 = 36 448.087... -> 36 448.09."""
    profile = write("cpts.yaml", PROFILE.format(members=10))
    document = one_json_document(run_cli("eval", profile, "--date", DAY, "--ruleset", proposal,
                                         "--format", "json").stdout)
    assert Decimal(document["total"]) == Decimal("36448.09")


def test_before_its_date_nothing_is_said_of_the_proposals_figures(run_cli, write, proposal):
    """On 2023-06-01 the year (2022-10-01 to 2023-09-30) is avenant 2's alone: no proposed figure read."""
    profile = write("cpts.yaml", PROFILE.format(members=30))
    document = one_json_document(run_cli("eval", profile, "--date", "2023-06-01", "--ruleset", proposal,
                                         "--format", "json").stdout)
    assert not any("put forward" in said for said in document["assumptions"])
    assert {line["confidence"] for line in document["lines"]} != {"proposed"}


def test_the_example_proposal_names_its_lines_and_parameters(run_cli):
    """examples/hypothese-avenant-france-sante.yaml: its new and changed lines, its parameters."""
    result = run_cli("eval", "examples/cpts-avenant-2-taille-4.yaml", "--date", "2027-06-01", "--ruleset",
                     "examples/hypothese-avenant-france-sante.yaml", "--format", "json", "--lang", "en")
    assert result.exit_code == 0, result.stderr
    (said,) = [a for a in json.loads(result.stdout)["assumptions"] if "put forward" in a]
    assert "lines fonctionnement, prime_resultats, garantie_non_perte" in said
    assert "parameters montant_acces_soins_fixe" in said and "payment rules prime_et_garantie" in said


def test_the_consolidated_proposal_with_its_tags_is_a_valid_text(run_cli, write, proposal):
    shown = run_cli("show", proposal, "--format", "yaml")
    assert shown.exit_code == 0, shown.stderr
    assert "confidence: proposed" in shown.stdout
    path = write("consolide.yaml", shown.stdout)
    checked = run_cli("validate", path)
    assert checked.exit_code == 0, checked.stderr + checked.stdout
