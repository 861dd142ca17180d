"""The barème reads through definitions (issue 13's audit).

``tests/proposals/acces-soins-par-habitant.yaml`` replaces the accès-aux-soins fixed part by
0.80 € per inhabitant, rounded down to the euro, with a floor of 40 000 € and a ceiling of
120 000 €, written as a definition (``acces_soins_forfait``) that the line's ``maximum`` names.
Before the audit, `show`, the diff summary and the yearly maximum read "—" for every taille.

By hand, from the proposal's figures and the proposal's size table (avenant 2's bounds,
FACTS.md §2): taille 1 (at most 39 999 inhabitants) 0.80 × 39 999 = 31 999 < 40 000 → 40 000 €;
taille 2 (up to 80 000) 64 000 €; taille 3 (up to 175 000) 140 000 → ceiling 120 000 €;
taille 4 (no upper bound) 120 000 €.
"""

from __future__ import annotations

from decimal import Decimal

from aci_rules.engine.bareme import annual_maximum, static_maximum, upper_maximum
from aci_rules.engine.library import Library
from conftest import RULES

PER_INHABITANT = RULES.parent / "tests" / "proposals" / "acces-soins-par-habitant.yaml"
UPPER = {1: Decimal(40000), 2: Decimal(64000), 3: Decimal(120000), 4: Decimal(120000)}


def _compiled(path):
    library = Library()
    return library.compile(library.document(str(path)))


def _line(ruleset, line_id):
    return next(line for line in ruleset.lines if line.id == line_id)


def test_a_maximum_written_through_a_definition_reaches_the_taille_s_bounds():
    proposal = _compiled(PER_INHABITANT)
    line = _line(proposal, "acces_soins_fixe")
    assert {t: upper_maximum(proposal, line, t) for t in UPPER} == UPPER
    # It reads the population: not one figure per taille, a bound.
    assert all(static_maximum(proposal, line, t) is None for t in UPPER)


def test_the_yearly_maximum_counts_the_line_through_its_definition():
    avenant_2, proposal = Library().get("avenant-2"), _compiled(PER_INHABITANT)
    before, after = annual_maximum(avenant_2), annual_maximum(proposal)
    old_fixe = avenant_2.parameters["montant_acces_soins_fixe"]
    for taille, upper in UPPER.items():
        assert after[taille] is not None
        # Only this line changes among those the yearly maximum adds up.
        assert after[taille] - before[taille] == upper - Decimal(old_fixe.value_for(taille))


def test_show_and_diff_print_the_figures_not_a_dash(run_cli):
    run = run_cli("show", PER_INHABITANT, "--lang", "en")
    assert run.exit_code == 0, run.stderr
    [row] = [line for line in run.stdout.splitlines() if line.lstrip().startswith("acces_soins_fixe")]
    assert row.split()[2:] == ["≤", "€40,000.00", "≤", "€64,000.00", "≤", "€120,000.00", "≤", "€120,000.00"]
    [total] = [line for line in run.stdout.splitlines() if line.lstrip().startswith("Total")]
    assert "—" not in total and "by profile" not in total
    run = run_cli("diff", "avenant-2", PER_INHABITANT, "--lang", "en")
    assert run.exit_code == 0, run.stderr
    summary = run.stdout.split("Overview", 1)[1].split("Missions added", 1)[0]
    # avenant 2's fixed part (55 000 / 70 000 / 90 000 / 110 000 €) against the new bound.
    for change in ("-€15,000.00", "-€6,000.00", "+€30,000.00", "+€10,000.00"):
        assert change in summary
    assert "—" not in summary


def test_a_definition_of_parameters_and_the_taille_gives_one_figure_per_taille(write):
    text = PER_INHABITANT.read_text(encoding="utf-8").replace(
        "expression: max(acces_soins_plancher, min(acces_soins_plafond, round_down(population * "
        "acces_soins_par_habitant)))",
        "expression: montant_acces_soins_fixe * 2 if taille >= 3 else acces_soins_plancher")
    proposal = _compiled(write("deux-fois.yaml", text))
    line = _line(proposal, "acces_soins_fixe")
    fixe = proposal.parameters["montant_acces_soins_fixe"]
    assert {t: static_maximum(proposal, line, t) for t in UPPER} == {
        1: Decimal(40000), 2: Decimal(40000), 3: 2 * Decimal(fixe.value_for(3)), 4: 2 * Decimal(fixe.value_for(4))}


def test_a_maximum_that_depends_on_the_profile_says_so(run_cli, write):
    # Per member, with no ceiling: the profile alone says how much.
    text = PER_INHABITANT.read_text(encoding="utf-8").replace(
        "max(acces_soins_plancher, min(acces_soins_plafond, round_down(population * acces_soins_par_habitant)))",
        "round_down(members * acces_soins_par_habitant)")
    run = run_cli("show", write("par-membre.yaml", text), "--lang", "en")
    assert run.exit_code == 0, run.stderr
    [row] = [line for line in run.stdout.splitlines() if line.lstrip().startswith("acces_soins_fixe")]
    [total] = [line for line in run.stdout.splitlines() if line.lstrip().startswith("Total")]
    assert row.count("by profile") == 4 and total.count("by profile") == 4
    run = run_cli("diff", "avenant-2", write("par-membre.yaml", text), "--lang", "en")
    assert run.exit_code == 0, run.stderr
    summary = run.stdout.split("Overview", 1)[1].split("Missions added", 1)[0]
    assert summary.count("by profile") == 4 and "—" not in summary
