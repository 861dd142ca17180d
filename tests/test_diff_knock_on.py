"""`aci-rules diff` shows knock-on effects (issue 13, « What the proposal does, shown »).

A line whose own formulas did not change may still pay something else, because a line or a
definition it reads changed: avenant 2's 10 % majoration reads every fixed and variable line
(`sum_lines('volet', 'fixe', 'variable')`), so a new mission makes it grow although no one
touched it. The diff names such a line, the dependency path (from the compiled ruleset's `reads`
map, not from formula text) and its maximum per taille before and after.

Figures the tests reach, from the texts (never an engine output copied back):
- avenant 2's yearly maximum for taille 4, fonctionnement and missions: 580 000 € (Assurance
  Maladie / ARS ARA leaflet, 2022; FACTS.md §4.1), of which fonctionnement 90 000 € (ACI 2019,
  art. 8 of the annex, unchanged by avenant 2);
- the majoration: 10 % of the socle and optional missions, taille 4 only, at least 100 members
  (URPS, Infos conseils n° 6, May 2022, §3, 1st change; `unverified`, the source is conditional);
- qualité, variable part, taille 4: 20 000 € (avenant 2, art. 8 of the annex; `unverified`);
- the proposals' own figures are written in the test proposals (tests/diff/).
"""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from conftest import EXAMPLES, no_traceback, one_json_document

from aci_rules.engine.diff import diff_rulesets, knock_on_causes
from aci_rules.engine.library import Library

HERE = __import__("pathlib").Path(__file__).resolve().parent
NEW_MISSION = HERE / "diff" / "nouvelle-mission-optionnelle.yaml"

# The texts' figures (module docstring).
AVENANT_2_MAXIMUM_T4 = Decimal(580000)
FONCTIONNEMENT_T4 = Decimal(90000)
MAJORATION_RATE = Decimal("0.10")
QUALITE_VARIABLE_T4 = Decimal(20000)
# The test proposal's figures for taille 4 (tests/diff/nouvelle-mission-optionnelle.yaml).
NEW_MISSION_T4 = Decimal(20000) + Decimal(20000)
MAJORATION_T4 = MAJORATION_RATE * (AVENANT_2_MAXIMUM_T4 - FONCTIONNEMENT_T4)  # 49 000 €


def rulesets(old, new):
    library = Library()
    return library.get(str(old)), library.get(str(new))


def item(diff, kind, key):
    found = [i for i in diff.items if i.kind == kind and i.id == key]
    assert len(found) == 1, f"{kind} {key}: {found}"
    return found[0]


def per_taille(entry) -> dict:
    return {a.taille: (a.old, a.new) for a in entry.amounts}


def test_the_majoration_grows_with_a_new_mission_and_the_diff_says_through_what():
    old, new = rulesets("avenant-2", NEW_MISSION)
    diff = diff_rulesets(old, new)
    majoration = item(diff, "line", "majoration_missions")
    assert majoration.status == "changed" and majoration.changes == ()  # nothing written on it changed
    # Through the two new lines its aggregate selects, each one step away.
    assert [(c.item.kind, c.item.id, c.item.via, c.status, len(c.path)) for c in majoration.through] == [
        ("line", "sante_environnement_fixe", "selection", "added", 1),
        ("line", "sante_environnement_variable", "selection", "added", 1)]
    # Taille 4 only (the condition excludes the others): 10 % of the fixed and variable parts.
    assert per_taille(majoration) == {4: (MAJORATION_T4, MAJORATION_T4 + MAJORATION_RATE * NEW_MISSION_T4)}
    assert per_taille(majoration)[4] == (Decimal("49000.00"), Decimal("53000.00"))
    assert [i.id for i in diff.summary.knock_ons] == ["majoration_missions"]
    assert diff.summary.counts(majoration) is False  # « hors majoration » (the leaflet's total)


def test_the_summary_total_holds_with_the_new_mission_and_leaves_the_majoration_out():
    old, new = rulesets("avenant-2", NEW_MISSION)
    diff = diff_rulesets(old, new)
    row = next(a for a in diff.summary.maxima if a.taille == 4)
    assert (row.old, row.new) == (AVENANT_2_MAXIMUM_T4, AVENANT_2_MAXIMUM_T4 + NEW_MISSION_T4)


def test_a_knock_on_counted_in_the_yearly_maximum_is_in_the_summary_total(tmp_path):
    """On the Plan « 100 % CPTS », the local-initiative line is 10/90 of the variable parts' maxima
    (`sum_maxima`): raise one variable parameter and that line moves too, and the summary's total
    moves by the sum of both, knock-on included."""
    shutil.copy(EXAMPLES / "plan-100-cpts.yaml", tmp_path / "plan-100-cpts.yaml")
    raise_by = Decimal(9000)
    proposal = tmp_path / "parcours-plus.yaml"
    proposal.write_text(
        "id: parcours-plus\ntitle: Test, parcours variable + 9 000 € en taille 4\nkind: proposal\n"
        "status: proposal\namends: plan-100-cpts.yaml\nreference: Hypothèse de test\n"
        "dates: {in_force: 2027-01-01}\nchanges:\n  parameters:\n    set:\n      montant_parcours_variable:\n"
        "        label: Parcours, volet variable\n        unit: EUR\n"
        "        by_taille: {1: 25000, 2: 35000, 3: 45000, 4: 59000}\n"
        "        reference: Hypothèse de test\n        confidence: unverified\n", encoding="utf-8")
    old, new = rulesets(tmp_path / "plan-100-cpts.yaml", proposal)
    diff = diff_rulesets(old, new)
    kept = Decimal(1) - Decimal("0.10")  # the Plan's part_initiative_locale: the variable parts keep 90 %
    parcours = item(diff, "line", "parcours_variable")
    initiative = item(diff, "line", "initiative_locale_variable")
    assert [(c.item.id, c.status) for c in parcours.through] == [("montant_parcours_variable", "changed")]
    assert not parcours.knock_on  # a parameter it names: the ordinary case, not listed in the summary
    assert [[(s.kind, s.id, s.via) for s in c.path] for c in initiative.through] == [
        [("line", "parcours_variable", "selection"), ("parameter", "montant_parcours_variable", "name")]]
    line_rise = raise_by * kept
    initiative_rise = (Decimal("0.10") / kept * line_rise).quantize(Decimal("0.01"))  # 10/90 of it
    old_t4, new_t4 = per_taille(initiative)[4]
    assert new_t4 - old_t4 == initiative_rise == Decimal(900)
    assert [(a.taille, a.new - a.old) for a in parcours.amounts] == [(4, line_rise)]
    # The summary total (fonctionnement, fixe and variable) moves by both, which is the raise itself.
    row = next(a for a in diff.summary.maxima if a.taille == 4)
    assert row.difference == line_rise + initiative_rise == raise_by
    assert diff.summary.counts(initiative) is True
    assert [i.id for i in diff.summary.knock_ons] == ["majoration_missions", "initiative_locale_variable"]
    majoration = item(diff, "line", "majoration_missions")
    assert per_taille(majoration)[4][1] - per_taille(majoration)[4][0] == MAJORATION_RATE * raise_by


def test_a_removed_line_and_a_changed_definition_are_followed_in_the_old_and_new_texts(write):
    proposal = write("moins-qualite.yaml", """\
id: moins-qualite
title: Test, sans la part variable qualité et une définition changée
kind: proposal
status: proposal
amends: avenant-2
reference: Hypothèse de test
dates: {in_force: 2027-01-01}
changes:
  lines:
    remove: [qualite_variable]
  definitions:
    set:
      crise_reconnue_dans_l_annee:
        label: Au moins deux crises reconnues dans l'année
        expression: contrat_en_cours and count_between(crises, contract_year_start, contract_year_end) > 1
""")
    old, new = rulesets("avenant-2", proposal)
    diff = diff_rulesets(old, new)
    majoration = item(diff, "line", "majoration_missions")
    paths = {tuple(s.id for s in c.path): c.status for c in majoration.through}
    assert paths[("qualite_variable",)] == "removed"  # found in the old text's reads
    assert paths[("crises_variable", "crise_reconnue_dans_l_annee")] == "changed"
    assert per_taille(majoration)[4] == (MAJORATION_T4, MAJORATION_T4 - MAJORATION_RATE * QUALITE_VARIABLE_T4)
    # A line that names the definition: a knock-on, its maximum unchanged (the condition moved).
    crises = item(diff, "line", "crises_variable")
    assert [(c.item.kind, c.item.id) for c in crises.through] == [("definition", "crise_reconnue_dans_l_annee")]
    assert all(a.old == a.new for a in crises.amounts) and crises.knock_on


def test_nothing_is_a_knock_on_when_what_a_line_reads_did_not_change():
    old, new = rulesets("avenant-2", HERE / "proposals" / "avenant-2027.yaml")
    diff = diff_rulesets(old, new)  # fonctionnement + 10 %: no line reads it
    assert diff.summary.knock_ons == ()
    assert not any(i.through for i in diff.items if i.kind == "line")  # fonctionnement's own formula changed
    assert knock_on_causes(old, new, "majoration_missions") == ()
    # The two rules that pay fonctionnement pay more: that is said, and nothing else.
    assert [(i.kind, i.id) for i in diff.items if i.kind != "line" and i.through] == [
        ("payment", "fonctionnement_premiere_annee"), ("payment", "fonctionnement")]
    assert diff.summary.knock_on_obligations == ()


def test_text_markdown_and_json_show_the_knock_on(run_cli):
    text = run_cli("diff", "avenant-2", NEW_MISSION)
    no_traceback(text)
    assert text.exit_code == 0, text.stderr
    summary = text.stdout.split("Le texte")[0]
    assert "Effets induits (1)" in summary and "(majoration_missions), hors montant annuel maximal" in summary
    assert "lignes (sante_environnement_fixe, sante_environnement_variable) (chacune retenue par un agrégat)" \
        in " ".join(summary.split())
    assert "49 000,00 € →     53 000,00 €   +4 000,00 €" in summary
    detail = text.stdout.split("Hors missions (dispositions générales)")[1]
    assert "(majoration_missions) — modifiée (effet induit)" in " ".join(detail.split())
    assert "par ce qu'elle lit :" in detail

    markdown = run_cli("diff", "avenant-2", NEW_MISSION, "--format", "markdown").stdout
    assert "- Effets induits (1)" in markdown and "taille 4 : 49 000,00 € → 53 000,00 € (+4 000,00 €" in markdown

    document = one_json_document(run_cli("diff", "avenant-2", NEW_MISSION, "--format", "json").stdout)
    [entry] = document["summary"]["knock_on_lines"]
    assert entry["id"] == "majoration_missions" and entry["in_annual_maximum"] is False
    assert entry["tailles"] == [{"taille": 4, "old": "49000.00", "new": "53000.00", "difference": "4000.00",
                                 "percent": "8.2"}]
    assert entry["through"][0] == {"path": [{"kind": "line", "id": "sante_environnement_fixe",
                                             "via": "selection"}], "status": "added"}
    [listed] = [i for i in document["items"] if i["id"] == "majoration_missions" and i["kind"] == "line"]
    assert listed["through"] == entry["through"] and listed["changes"] == []


@pytest.mark.parametrize("old, new", [("aci-2019", "avenant-2"), ("avenant-2", str(EXAMPLES / "plan-100-cpts.yaml"))])
def test_the_summary_says_when_there_is_no_knock_on_or_which(run_cli, old, new):
    stdout = run_cli("diff", old, new, "--summary").stdout
    if old == "aci-2019":  # the majoration is added by avenant 2: new, not a knock-on
        assert "Effets induits : aucun" in stdout
    else:  # the Plan moves 10 % of each variable part to local initiative: the majoration's maximum stays
        assert "Effets induits (1)" in stdout and "maximum inchangé : 4 : 49 000,00 €" in stdout


def test_the_readmes_example_is_what_diff_prints(run_cli):
    readme = (HERE.parent / "README.md").read_text("utf-8")
    block = readme.split("$ aci-rules diff avenant-2 tests/diff/nouvelle-mission-optionnelle.yaml --summary", 1)[1]
    shown = [line.rstrip() for line in block.split("```", 1)[0].splitlines() if line.strip() not in ("", "…")]
    printed = [line.rstrip() for line in run_cli("diff", "avenant-2", NEW_MISSION, "--summary").stdout.splitlines()]
    assert shown and all(line in printed for line in shown)


def test_an_amount_per_inhabitant_with_a_floor_and_a_ceiling_has_a_maximum_per_taille():
    """The summary's yearly maximum stays known when fonctionnement is 0.80 € per inhabitant
    between 50 000 and 90 000 € (tests/diff/fonctionnement-par-habitant.yaml): each taille bounds
    the population (ACI CPTS 2019, art. 8, and avenant 2: taille 1 up to 39 999 inhabitants,
    taille 2 up to 80 000, taille 3 up to 175 000, taille 4 beyond)."""
    old, new = rulesets("avenant-2", HERE / "diff" / "fonctionnement-par-habitant.yaml")
    diff = diff_rulesets(old, new)
    rate, floor, ceiling = Decimal("0.80"), Decimal(50000), Decimal(90000)
    most_inhabitants = {1: 39999, 2: 80000, 3: 175000, 4: None}
    fonctionnement_2019 = {1: 50000, 2: 60000, 3: 75000, 4: 90000}  # ACI CPTS 2019, art. 8 of the annex
    official = {1: 287500, 2: 382500, 3: 487500, 4: 580000}  # avenant 2's yearly maximum (FACTS.md §4.1)
    for row in diff.summary.maxima:
        top = most_inhabitants[row.taille]
        per_inhabitant = ceiling if top is None else min(ceiling, (top * rate).to_integral_value("ROUND_DOWN"))
        expected = official[row.taille] - fonctionnement_2019[row.taille] + max(floor, per_inhabitant)
        assert (row.old, row.new) == (official[row.taille], expected)
    assert [row.new for row in diff.summary.maxima] == [287500, 386500, 502500, 580000]
