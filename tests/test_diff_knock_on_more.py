"""`aci-rules diff`: knock-on effects on obligations and payment rules, a change of the size table
told once, and dependency paths grouped by shape (issue 13, « What the proposal does, shown »).

Figures the tests reach, from the texts and the test proposals (never an engine output copied
back):
- ACI CPTS 2019, art. 9 of the annex: 75 % of the year's fixed parts and fonctionnement paid in
  advance, the balance the year after (the Assurance Maladie / ARS ARA leaflet, 2022, « A 1 an
  (année N+1) - 75 % du montant annuel »); tests/diff/delais-et-avance.yaml makes it 60 %;
- the delay to start the accès-aux-soins mission is read from the rulesets (aci-2019 writes 6
  months, `unverified`); the test proposal makes it 12;
- tests/proposals/taille-5-sans-crises.yaml: taille 4 stops at 300 000 inhabitants, taille 5
  from 300 001 (its own figures, written there);
- avenant 2's majoration: taille 4 only, 10 % of the socle and optional missions (URPS, Infos
  conseils n° 6, May 2022; `unverified`).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from conftest import no_traceback, one_json_document
from test_diff_knock_on import item, rulesets

from aci_rules.engine.diff import diff_rulesets, group_causes
from aci_rules.engine.evaluate import assess
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile
from aci_rules.engine.yaml_loader import load_document

HERE = __import__("pathlib").Path(__file__).resolve().parent
DELAYS = HERE / "diff" / "delais-et-avance.yaml"
TAILLE_5 = HERE / "proposals" / "taille-5-sans-crises.yaml"
NEW_MISSION = HERE / "diff" / "nouvelle-mission-optionnelle.yaml"


def causes(entry) -> list:
    return [(tuple(s.id for s in c.path), c.item.via, c.status) for c in entry.through]


# -- obligations and payment rules ------------------------------------------------------------


def test_an_obligation_whose_deadline_reads_a_changed_delay_is_a_knock_on(write):
    old, new = rulesets("avenant-2", DELAYS)
    diff = diff_rulesets(old, new)
    obligation = item(diff, "obligation", "acces_soins_demarrage")
    assert obligation.status == "changed" and obligation.changes == () and obligation.knock_on
    assert causes(obligation) == [(("delai_demarrage_acces_soins",), "name", "changed")]
    assert [o.id for o in diff.summary.knock_on_obligations] == ["acces_soins_demarrage"]
    # Not the other missions' obligations: their delays did not change.
    assert all(o.id == "acces_soins_demarrage" for o in diff.items if o.kind == "obligation")
    # And the deadline does move, by what the parameter says on each side.
    signed = datetime.date(2027, 3, 1)
    profile = compile_profile(load_document(write("essai.yaml", "name: CPTS d'essai\npopulation: 56000\n"
                                                  f"members: 45\ncontract_signed: {signed}\n")))
    deadlines = []
    for name in ("avenant-2", str(DELAYS)):
        result = assess(Library().timeline(name), profile, datetime.date(2027, 6, 1))
        deadlines.append(next(o.deadline for o in result.obligations if o.id == "acces_soins_demarrage"))
    months = [r.parameters["delai_demarrage_acces_soins"].value for r in (old, new)]
    assert months[1] == 12 and months[0] != months[1]
    assert deadlines == [datetime.date(2027 + (3 + m - 1) // 12, (3 + m - 1) % 12 + 1, 1) for m in months]


def test_payment_rules_whose_shares_read_a_changed_advance_are_knock_ons_and_the_first_year_is_not():
    old, new = rulesets("avenant-2", DELAYS)
    diff = diff_rulesets(old, new)
    assert old.parameters["part_avance"].value == Decimal("0.75")  # ACI CPTS 2019, art. 9 of the annex
    assert new.parameters["part_avance"].value == Decimal("0.60")
    paid = {i.id: causes(i) for i in diff.summary.knock_on_payments}
    # The rules whose installments read part_avance; the first year's (100 % at signature) does not.
    assert paid == {"fonctionnement": [(("part_avance",), "name", "changed")],
                    "volet_fixe": [(("part_avance",), "name", "changed")]}
    reading = [rule.id for rule in new.payments
               if any("part_avance" in i.share.names for i in rule.installments)]
    assert sorted(paid) == sorted(reading)


def test_a_payment_rule_that_pays_a_line_whose_amount_changed_says_which():
    old, new = rulesets("avenant-2", NEW_MISSION)
    diff = diff_rulesets(old, new)
    rules = {i.id: causes(i) for i in diff.summary.knock_on_payments}
    # The new mission's two lines are paid by the rules of their volets; the majoration (a knock-on
    # itself) by its own rule.
    assert rules == {
        "volet_fixe": [(("sante_environnement_fixe",), "volet", "added")],
        "volet_variable": [(("sante_environnement_variable",), "volet", "added")],
        "majoration_missions": [(("majoration_missions",), "volet", "changed")]}


def test_text_markdown_json_and_html_show_obligations_and_payment_rules(run_cli, tmp_path):
    result = run_cli("diff", "avenant-2", DELAYS, "--summary")
    no_traceback(result)
    flat = " ".join(result.stdout.split())
    assert ("Obligations dont la condition ou l'échéance lit ce qui a changé (1) : "
            "« Démarrage de la mission accès aux soins » (acces_soins_demarrage) "
            "par : paramètre (delai_demarrage_acces_soins) — modifié") in flat
    assert "Règles de paiement dont les parts ou les dates lisent ce qui a changé" in flat
    assert "« Volet fixe des missions » (volet_fixe) par : paramètre (part_avance) — modifié" in flat

    english = " ".join(run_cli("diff", "avenant-2", DELAYS, "--summary", "--lang", "en").stdout.split())
    assert "Obligations whose condition or deadline reads what changed (1):" in english
    assert "through: parameter (part_avance) — changed" in english

    markdown = run_cli("diff", "avenant-2", NEW_MISSION, "--format", "markdown").stdout
    assert ("  - « Volet fixe des missions » (volet_fixe) : paie une ligne dont le montant change : "
            "sante_environnement_fixe (ajoutée)") in markdown
    detail = " ".join(run_cli("diff", "avenant-2", NEW_MISSION).stdout.split("Hors missions")[1].split())
    assert ("règle de paiement « Volet fixe des missions » (volet_fixe) — modifiée (effet induit) "
            "par ce qu'elle lit ou paie : paie une ligne dont le montant change : sante_environnement_fixe "
            "(ajoutée)") in detail

    document = one_json_document(run_cli("diff", "avenant-2", DELAYS, "--format", "json").stdout)
    [obligation] = document["summary"]["knock_on_obligations"]
    assert obligation["chains"] == [{"steps": [{"kind": "parameter", "via": "name"}], "status": "changed",
                                     "paths": [["delai_demarrage_acces_soins"]]}]
    assert [p["id"] for p in document["summary"]["knock_on_payments"]] == ["fonctionnement", "volet_fixe"]

    page = tmp_path / "diff.html"
    run_cli("diff", "avenant-2", DELAYS, "--format", "html", "--output", str(page))
    html = page.read_text("utf-8")
    section = html.split("<h3>Effets induits</h3>", 1)[1].split("</table>", 1)[0]
    assert section.count("<tr>") == 1 + 3  # the head, one obligation, two payment rules
    assert "obligation <code>acces_soins_demarrage</code>" in section
    assert "paramètre (part_avance) — modifié" in section


# -- the size table ---------------------------------------------------------------------------


def test_a_change_of_the_size_table_is_told_once_with_what_reads_it():
    old, new = rulesets("avenant-2", TAILLE_5)
    diff = diff_rulesets(old, new)
    change = diff.summary.size_table
    assert change.added == (5,) and change.removed == ()
    assert change.moved == ((4, "175001..", "175001..300000"),)
    by_taille = {n for r in (old, new) for n, p in r.parameters.items() if p.by_taille is not None}
    assert set(change.parameters) == by_taille and len(by_taille) > 10
    assert set(change.lines) == {line.id for r in (old, new) for line in r.lines if line.id in r.reads_taille}
    # Avenant 2's majoration compares the taille with its parameter: its meaning moved.
    assert change.literal == ("majoration_missions",)
    # None of the lines reading a table by taille is listed as a knock-on for that reason alone.
    assert [i.id for i in diff.summary.knock_ons] == ["majoration_missions"]
    # A diff that leaves the size table alone says nothing of it.
    assert diff_rulesets(*rulesets("avenant-2", DELAYS)).summary.size_table is None


def test_a_line_shows_its_maximum_at_a_taille_only_the_new_table_has():
    old, new = rulesets("avenant-2", TAILLE_5)
    diff = diff_rulesets(old, new)
    line = item(diff, "line", "acces_soins_fixe")
    # Tailles 1-4 are inherited, so only taille 5 moves: nothing before, the proposal's cell after.
    assert [(a.taille, a.old, a.new) for a in line.amounts] == [
        (5, None, new.parameters["montant_acces_soins_fixe"].value_for(5))]
    assert new.parameters["montant_acces_soins_fixe"].value_for(5) == 130000
    majoration = item(diff, "line", "majoration_missions")
    assert [(a.taille, a.new) for a in majoration.amounts if a.taille == 5] == [(5, Decimal("0.00"))]


def test_with_profiles_the_diff_counts_the_cpts_that_change_taille(run_cli, tmp_path):
    for name, population in (("grande", 320000), ("moyenne", 181000)):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: CPTS {name}\npopulation: {population}\nmembers: 120\ncontract_signed: 2024-01-01\n",
            encoding="utf-8")
    result = run_cli("diff", "avenant-2", TAILLE_5, "--profiles", str(tmp_path), "--date", "2027-06-01",
                     "--summary")
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert "La table des tailles change : taille 5 ajoutée ; taille 4 : 175001.. → 175001..300000" in flat
    assert "Sur les 2 profils, un change de taille : 4 → 5 : 1" in flat
    assert "Formules qui nomment la taille elle-même, dont le sens bouge avec les bornes : majoration_missions" \
        in flat
    assert flat.count("La table des tailles change") == 1
    english = " ".join(run_cli("diff", "avenant-2", TAILLE_5, "--profiles", str(tmp_path), "--date", "2027-06-01",
                               "--summary", "--lang", "en").stdout.split())
    assert "The size table changes: taille 5 added; taille 4: 175001.. → 175001..300000" in english
    assert "Of the 2 profiles, one changes taille: 4 → 5: 1" in english
    document = one_json_document(run_cli("diff", "avenant-2", TAILLE_5, "--profiles", str(tmp_path),
                                         "--date", "2027-06-01", "--format", "json").stdout)
    table = document["summary"]["size_table"]
    assert table["tailles_added"] == [5] and table["profiles_changing_taille"] == [{"old": 4, "new": 5, "count": 1}]
    assert {(p["name"], p["old_size"], p["new_size"]) for p in document["profiles"]} == {
        ("CPTS grande", 4, 5), ("CPTS moyenne", 4, 4)}
    page = tmp_path / "page.html"
    run_cli("diff", "avenant-2", TAILLE_5, "--profiles", str(tmp_path), "--date", "2027-06-01", "--format", "html",
            "--output", str(page), "--lang", "en")
    html = page.read_text("utf-8")
    assert "<h3>Knock-on effects</h3>" in html and "<h3>Size table</h3>" in html
    assert "The size table changes: taille 5 added; taille 4: 175001.. → 175001..300000" in html
    assert "Of the 2 profiles, one changes taille: 4 → 5: 1" in html
    without = " ".join(run_cli("diff", "avenant-2", TAILLE_5, "--summary").stdout.split())
    assert "Avec --profiles et --date, le diff compte les CPTS qui changent de taille." in without


# -- paths grouped ----------------------------------------------------------------------------


def test_paths_of_one_shape_are_told_once_and_each_line_once(run_cli):
    old, new = rulesets("avenant-2", TAILLE_5)
    diff = diff_rulesets(old, new)
    majoration = item(diff, "line", "majoration_missions")
    chains = group_causes(majoration.through)
    assert [(c.steps, c.status, len(c.paths)) for c in chains] == [
        ((("line", "selection"),), "removed", 3),
        ((("line", "selection"), ("parameter", "name")), "changed", len(majoration.through) - 3)]
    # Every fixed and variable line of the socle and optional missions left, each with its table.
    kept = {line.id for line in new.lines if line.volet in ("fixe", "variable")}
    assert {path[0] for path in chains[1].paths} == kept
    summary = run_cli("diff", "avenant-2", TAILLE_5, "--summary").stdout
    knock_ons = summary.split("Effets induits (1)")[1].split("Règles de paiement")[0]
    assert knock_ons.count("(majoration_missions)") == 1 and knock_ons.count("par :") == 2
    flat = " ".join(knock_ons.split())
    assert (f"par : {len(kept)} chemins ligne (retenue par un agrégat) → paramètre — modifiés : "
            "acces_soins_fixe → montant_acces_soins_fixe ; acces_soins_variable → montant_acces_soins_variable") \
        in flat
    assert ("par : lignes (crises_fixe, crises_variable, crises_variable_covid) (chacune retenue par un agrégat) "
            "— supprimées") in flat
