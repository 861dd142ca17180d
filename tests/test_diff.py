"""`aci-rules diff OLD NEW`: what changed between two rulesets, by meaning, not by text.

The issue: OLD and NEW are shipped ids or paths (any two rulesets, proposals included); the diff lists,
grouped by mission, the lines added and removed, the amounts per taille (old -> new, difference,
percentage), the conditions, deadlines and payment rules changed (old and new side by side), the
in-force dates, the references and the confidence. Formats text (default), markdown, json. Exit 0
whether or not something differs; 1 when an input is invalid (the file named in the diagnostic);
``--profiles DIR`` (needs ``--date``, else exit 2) adds, per profile, the total and the per-mission
amounts under OLD and under NEW.

Every expected figure below is cited from ``shared/domain/FACTS.md`` (section given where it is used)
and checked against what the engine computes from the YAML; none is an engine output copied back.

- §1: ACI 2019 in force 2019-08-25; avenant 2 in force 2022-04-01, its crisis mission from 2022-09-03.
- §4.2: 2019 acces_soins fixe + variable = 65 000 / 80 000 / 105 000 / 130 000, encoded as equal
  halves; specific SNP financing 10 000 / 12 000 / 15 000 / 20 000; no crisis mission in 2019.
- §4.1: avenant 2 acces_soins fixe 55 000 / 70 000 / 90 000 / 110 000 and variable 25 000 / 30 000 /
  35 000 / 45 000; crisis fixe 25 000.. (first writing) / 12 500.. (update), variable 37 500..75 000.
- §8: the 2020 draft pays 12 500 .. 25 000 every year, avenant 2 doubles the first-writing year;
  Plan « 100 % CPTS »: 100 % in year N, a notice period on the taille, 10 % for local initiative.
- HOSTILE_INPUTS.md item 26: ``diff X X`` is empty (exit 0); an invalid side exits 1 naming its file.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import yaml

from aci_rules.engine.diff import AmountChange, RulesetDiff, diff_rulesets
from aci_rules.engine.library import Library

from conftest import DIAGNOSTIC, EXAMPLES, RULES, no_traceback, one_json_document

NEGOCIATION = EXAMPLES / "negociation-2020-seance-2.yaml"
PLAN_100 = EXAMPLES / "plan-100-cpts.yaml"
# The plan's own date is 2024-01-01; the tests of its amounts apply it from before the contract
# years they look at, explicitly (DESIGN.md § Time).
AS_IF = "2023-01-01"
PROFILE_FILES = {"cpts-2019-taille-3.yaml", "cpts-avenant-2-taille-4.yaml", "cpts-demarrage.yaml",
                 "cpts-plan-100-preavis.yaml"}

TAILLES = (1, 2, 3, 4)
# FACTS.md §4.2: acces_soins fixe + variable in 2019, split in two equal halves (unverified).
ACCES_SOINS_2019_TOTAL = {1: 65000, 2: 80000, 3: 105000, 4: 130000}
ACCES_SOINS_2019_HALF = {t: v // 2 for t, v in ACCES_SOINS_2019_TOTAL.items()}
SNP_2019 = {1: 10000, 2: 12000, 3: 15000, 4: 20000}  # FACTS.md §4.2
# FACTS.md §4.1 (avenant 2), variable part of each mission.
ACCES_SOINS_FIXE_A2 = {1: 55000, 2: 70000, 3: 90000, 4: 110000}
VARIABLE_A2 = {
    "acces_soins_variable": {1: 25000, 2: 30000, 3: 35000, 4: 45000},
    "parcours_variable": {1: 25000, 2: 35000, 3: 45000, 4: 50000},
    "prevention_variable": {1: 10000, 2: 15000, 3: 17500, 4: 20000},
    "qualite_variable": {1: 7500, 2: 10000, 3: 15000, 4: 20000},
    "accompagnement_variable": {1: 5000, 2: 7500, 3: 10000, 4: 15000},
}
CRISES_SURVENUE = {1: 37500, 2: 52500, 3: 67500, 4: 75000}  # FACTS.md §4.1 and §8 (same figures)
CRISES_PLAN_DRAFT = {1: 12500, 2: 17500, 3: 22500, 4: 25000}  # FACTS.md §8, every year in the draft
CRISES_LINES_A2 = {"crises_fixe", "crises_variable", "crises_variable_covid"}

JSON_KEYS = {"old", "new", "identical", "summary", "metadata", "taille", "items", "provisions"}


# -- helpers ----------------------------------------------------------------------------------




def diff_json(run_cli, *args):
    result = run_cli("diff", *args, "--format", "json")
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    document = one_json_document(result.stdout)
    return document


def item(document, kind, item_id):
    found = [i for i in document["items"] if i["kind"] == kind and i["id"] == item_id]
    assert len(found) == 1, f"{kind} {item_id}: {len(found)} items"
    return found[0]


def amounts(entry) -> dict:
    """{taille: (old, new, difference, percent)} of a JSON item, as Decimals."""
    def number(text):
        return None if text is None else Decimal(text)
    return {a["taille"]: (number(a["old"]), number(a["new"]), number(a["difference"]), number(a["percent"]))
            for a in entry["amounts"]}


def change(entry, field) -> dict:
    found = [c for c in entry["changes"] if c["field"] == field]
    assert len(found) == 1, f"{entry['id']}: no change of {field}"
    return found[0]


def percent(old, new) -> Decimal:
    return (Decimal(new - old) * 100 / Decimal(old)).quantize(Decimal("0.1"))


def french(amount) -> str:
    """FACTS figures written as the CLI writes money: '55 000,00 €', '-7 500,00 €'."""
    text = f"{abs(amount):,.2f}".replace(",", " ").replace(".", ",")
    return f"{'-' if amount < 0 else ''}{text} €"


def signed(amount, pct=None) -> str:
    text = ("+" if amount > 0 else "") + french(amount)
    if pct is not None:
        plain = f"{pct:f}".rstrip("0").rstrip(".")
        text += f" ({'+' if pct > 0 else ''}{plain.replace('.', ',')} %)"
    return text


def yaml_of(path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def flat(expression: str) -> str:
    return " ".join(str(expression).split())


def section(text: str, start: str, stop_prefixes: tuple) -> list[str]:
    """The lines of ``text`` from the line starting with ``start`` to the next line with a stop prefix."""
    lines = text.splitlines()
    begin = next(i for i, line in enumerate(lines) if line.startswith(start))
    end = next((j for j in range(begin + 1, len(lines)) if lines[j].startswith(stop_prefixes)), len(lines))
    return lines[begin:end]


@pytest.fixture(scope="module")
def library():
    return Library()


@pytest.fixture(scope="module")
def avenant_diff(library) -> RulesetDiff:
    return diff_rulesets(library.get("aci-2019"), library.get("avenant-2"))


# -- the figures the tests rest on are those of the YAML ---------------------------------------


def test_the_yaml_encodes_the_facts_the_diff_is_checked_against():
    """The shipped YAML says what FACTS.md §4.1 / §4.2 say, so the engine reads those figures."""
    aci = yaml_of(RULES / "aci-2019.yaml")["parameters"]
    a2 = yaml_of(RULES / "avenant-2.yaml")["changes"]["parameters"]["set"]
    assert aci["montant_acces_soins_fixe"]["by_taille"] == ACCES_SOINS_2019_HALF
    assert aci["montant_acces_soins_variable"]["by_taille"] == ACCES_SOINS_2019_HALF
    assert {t: 2 * v for t, v in ACCES_SOINS_2019_HALF.items()} == ACCES_SOINS_2019_TOTAL
    assert a2["montant_acces_soins_fixe"]["by_taille"] == ACCES_SOINS_FIXE_A2
    assert a2["montant_acces_soins_variable"]["by_taille"] == VARIABLE_A2["acces_soins_variable"]


# -- diff X X (HOSTILE_INPUTS.md item 26) -------------------------------------------------------


@pytest.mark.parametrize("old, new", [
    ("aci-2019", "aci-2019"),
    ("avenant-2", "avenant-2"),
    ("avenant-2", RULES / "avenant-2.yaml"),  # an id and the path of the same text
    (NEGOCIATION, NEGOCIATION),
    (PLAN_100, PLAN_100),
])
def test_diff_of_a_ruleset_with_itself_says_there_is_no_difference(run_cli, old, new):
    result = run_cli("diff", old, new)
    no_traceback(result)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "Aucune différence." in result.stdout
    assert "Mission " not in result.stdout
    document = diff_json(run_cli, old, new)
    assert document["identical"] is True
    assert document["metadata"] == document["taille"] == document["items"] == document["provisions"] == []
    markdown = run_cli("diff", old, new, "--format", "markdown")
    assert markdown.exit_code == 0 and "Aucune différence." in markdown.stdout


def test_engine_diff_of_a_ruleset_with_itself_is_identical(library):
    diff = diff_rulesets(library.get("avenant-2"), library.get(str(RULES / "avenant-2.yaml")))
    assert diff.identical
    assert diff.by_mission() == {}


def test_a_diff_with_differences_also_exits_0(run_cli):
    result = run_cli("diff", "aci-2019", "avenant-2")
    no_traceback(result)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "Aucune différence." not in result.stdout


# -- aci-2019 -> avenant-2, JSON ---------------------------------------------------------------


def test_json_is_one_document_with_the_contract_keys(run_cli):
    document = diff_json(run_cli, "aci-2019", "avenant-2")
    assert set(document) == JSON_KEYS
    assert document["old"] == {"id": "aci-2019", "chain": ["aci-2019"], "name": "aci-2019"}
    assert document["new"] == {"id": "avenant-2", "chain": ["aci-2019", "avenant-2"], "name": "avenant-2"}
    assert document["identical"] is False


def test_json_reports_the_crisis_mission_as_added(run_cli):
    """FACTS.md §4: crises_sanitaires is new in avenant 2 (a socle mission); §4.2: none in 2019."""
    document = diff_json(run_cli, "aci-2019", "avenant-2")
    mission = item(document, "mission", "crises_sanitaires")
    assert mission["status"] == "added"
    assert change(mission, "kind") == {"field": "kind", "old": None, "new": "socle"}
    lines = {i["id"]: i for i in document["items"] if i["kind"] == "line" and i["mission"] == "crises_sanitaires"}
    assert set(lines) == CRISES_LINES_A2
    assert {i["status"] for i in lines.values()} == {"added"}
    # The crisis variable part: 37 500 / 52 500 / 67 500 / 75 000 (FACTS.md §4.1), new in every taille.
    assert amounts(lines["crises_variable"]) == {
        t: (None, Decimal(v), None, None) for t, v in CRISES_SURVENUE.items()}


@pytest.mark.parametrize("line_id, old, new", [
    ("acces_soins_fixe", ACCES_SOINS_2019_HALF, ACCES_SOINS_FIXE_A2),
    ("acces_soins_variable", ACCES_SOINS_2019_HALF, VARIABLE_A2["acces_soins_variable"]),
])
def test_json_reports_the_acces_soins_amounts_changed_for_every_taille(run_cli, line_id, old, new):
    """2019: fixe = variable = 32 500 / 40 000 / 52 500 / 65 000 (halves of FACTS.md §4.2);
    avenant 2: fixe 55 000 / 70 000 / 90 000 / 110 000, variable 25 000 / 30 000 / 35 000 / 45 000 (§4.1)."""
    document = diff_json(run_cli, "aci-2019", "avenant-2")
    line = item(document, "line", line_id)
    assert line["status"] == "changed"
    assert line["mission"] == "acces_soins"
    assert amounts(line) == {
        t: (Decimal(old[t]), Decimal(new[t]), Decimal(new[t] - old[t]), percent(old[t], new[t])) for t in TAILLES}
    # The parameter behind the line shows the same figures, and its confidence change (§4.1: T3
    # confirmed by two signed contracts, the others derived; §4.2: all unverified).
    parameter = item(document, "parameter", "montant_" + line_id)
    assert parameter["mission"] == "acces_soins"
    assert {t: (o, n) for t, (o, n, _, _) in amounts(parameter).items()} == {
        t: (Decimal(old[t]), Decimal(new[t])) for t in TAILLES}
    confidence = change(parameter, "confidence")
    assert confidence["old"] == "1: unverified, 2: unverified, 3: unverified, 4: unverified"
    assert confidence["new"] == "1: derived, 2: derived, 3: confirmed, 4: derived"
    reference = change(parameter, "reference")
    assert "reconstitution" in reference["old"] and reference["new"].startswith("Avenant 2")


def test_json_reports_the_specific_snp_financing_removed(run_cli):
    """FACTS.md §4.2: 10 000 / 12 000 / 15 000 / 20 000 in 2019; avenant 2 folded it into the fixe part."""
    document = diff_json(run_cli, "aci-2019", "avenant-2")
    line = item(document, "line", "snp_specifique")
    assert line["status"] == "removed"
    assert line["mission"] == "acces_soins"
    assert amounts(line) == {t: (Decimal(v), None, None, None) for t, v in SNP_2019.items()}
    assert change(line, "confidence") == {"field": "confidence", "old": "unverified", "new": None}


def test_json_reports_the_in_force_dates(run_cli):
    """FACTS.md §1: 2019 in force 2019-08-25, avenant 2 on 2022-04-01, its crisis mission from 2022-09-03."""
    document = diff_json(run_cli, "aci-2019", "avenant-2")
    metadata = {c["field"]: (c["old"], c["new"]) for c in document["metadata"]}
    assert metadata["in_force"] == ("2019-08-25", "2022-04-01")
    assert metadata["signed"] == ("2019-06-20", "2021-12-20")
    assert metadata["kind"] == ("accord", "avenant")
    provisions = {p["provision"]: (p["old"], p["new"]) for p in document["provisions"]}
    assert provisions["add mission 'crises_sanitaires'"] == (None, "2022-09-03")
    for line_id in CRISES_LINES_A2:
        assert provisions[f"add line '{line_id}'"] == (None, "2022-09-03")


def test_engine_api_gives_amount_changes_with_difference_and_percent(avenant_diff):
    """The same figures through ``diff_rulesets``: AmountChange(taille, old, new), FACTS.md §4.1 / §4.2."""
    line = next(i for i in avenant_diff.items if i.kind == "line" and i.id == "acces_soins_fixe")
    assert line.status == "changed" and line.mission == "acces_soins"
    assert [(a.taille, a.old, a.new) for a in line.amounts] == [
        (t, Decimal(ACCES_SOINS_2019_HALF[t]), Decimal(ACCES_SOINS_FIXE_A2[t])) for t in TAILLES]
    for a in line.amounts:
        assert a.difference == a.new - a.old
        assert a.percent == percent(a.old, a.new)
    assert AmountChange(1, Decimal(0), Decimal(5)).percent is None
    assert AmountChange(1, None, Decimal(5)).difference is None
    groups = avenant_diff.by_mission()
    assert list(groups)[-1] is None  # what belongs to no single mission comes last
    assert groups["crises_sanitaires"][0].kind == "mission"  # the mission first, then its lines
    assert {i.id for i in groups["crises_sanitaires"] if i.kind == "line"} == CRISES_LINES_A2
    assert not avenant_diff.identical


# -- aci-2019 -> avenant-2, text and markdown ----------------------------------------------------


def test_text_groups_by_mission_with_the_added_crisis_mission_heading(run_cli):
    result = run_cli("diff", "aci-2019", "avenant-2")
    no_traceback(result)
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("Comparaison : aci-2019 → avenant-2\n")
    block = section(text, "Mission « Réponse aux crises sanitaires graves » (crises_sanitaires) — ajoutée",
                    ("Mission ", "Hors missions", "Dispositions"))
    body = " ".join("\n".join(block).split())
    for line_id in CRISES_LINES_A2:
        assert re.search(rf"\+ ligne « [^»]+ » \({line_id}\) — ajoutée", body), line_id
    assert "+ mission (crises_sanitaires) — ajoutée" in body
    # The acces_soins amounts sit under their own mission, French-written, with the signed change.
    acces = "\n".join(section(text, "Mission « Favoriser l'accès", ("Mission ", "Hors missions", "Dispositions")))
    assert "~ ligne « Accès aux soins — volet fixe (moyens) » (acces_soins_fixe) — modifiée" in acces
    assert re.search(r"- ligne « Soins non programmés[^»]+»\s+\(snp_specifique\) — supprimée", acces)
    for t in TAILLES:
        old, new = ACCES_SOINS_2019_HALF[t], ACCES_SOINS_FIXE_A2[t]
        assert re.search(rf"taille {t} +{re.escape(french(old))} +{re.escape(french(new))} +"
                         rf"{re.escape(signed(new - old, percent(old, new)))}", acces), t
    assert "crises" not in acces


def test_markdown_has_a_row_per_taille_for_acces_soins_fixe(run_cli):
    """| taille | 2019 half of §4.2 | §4.1 amount | signed difference (signed percentage) |"""
    result = run_cli("diff", "aci-2019", "avenant-2", "--format", "markdown")
    no_traceback(result)
    assert result.exit_code == 0
    assert result.stderr == ""
    text = result.stdout
    assert text.startswith("## Comparaison : aci-2019 → avenant-2")
    assert "### Mission « Réponse aux crises sanitaires graves » (crises_sanitaires) — ajoutée" in text
    block = "\n".join(section(text, "- **ligne** « Accès aux soins — volet fixe (moyens) » (acces_soins_fixe)",
                              ("- **", "### ")))
    for t in TAILLES:
        old, new = ACCES_SOINS_2019_HALF[t], ACCES_SOINS_FIXE_A2[t]
        row = f"| {t} | {french(old)} | {french(new)} | {signed(new - old, percent(old, new))} |"
        assert row in block, row
    assert "| 3 | 52 500,00 € | 90 000,00 € | +37 500,00 € (+71,4 %) |" in block  # T3: +37 500, +71,4 %
    variable = "\n".join(section(text, "- **ligne** « Accès aux soins — volet variable", ("- **", "### ")))
    assert "| 4 | 65 000,00 € | 45 000,00 € | -20 000,00 € (-30,8 %) |" in variable


# -- in-force dates: --date ----------------------------------------------------------------------


def crisis_items(document):
    return [i for i in document["items"] if i["mission"] == "crises_sanitaires" and i["kind"] in ("line", "mission")]


def test_date_before_the_crisis_mission_leaves_its_lines_out(run_cli):
    """FACTS.md §1: avenant 2 is in force from 2022-04-01 but its crisis mission only from 2022-09-03."""
    document = diff_json(run_cli, "aci-2019", "avenant-2", "--date", "2022-05-01")
    assert crisis_items(document) == []
    assert not any(i["kind"] == "line" and i["id"].startswith("crises") for i in document["items"])
    # The rest of avenant 2 is there on that date.
    assert item(document, "line", "acces_soins_fixe")["status"] == "changed"
    text = run_cli("diff", "aci-2019", "avenant-2", "--date", "2022-05-01")
    assert text.exit_code == 0
    assert "(crises_sanitaires)" not in text.stdout
    assert "(crises_fixe) —" not in text.stdout


@pytest.mark.parametrize("args", [(), ("--date", "2022-09-03")])
def test_without_date_or_from_2022_09_03_the_crisis_lines_are_listed(run_cli, args):
    document = diff_json(run_cli, "aci-2019", "avenant-2", *args)
    assert {i["id"] for i in crisis_items(document) if i["kind"] == "line"} == CRISES_LINES_A2
    assert item(document, "mission", "crises_sanitaires")["status"] == "added"


def test_date_on_the_day_before_the_crisis_mission(run_cli):
    document = diff_json(run_cli, "aci-2019", "avenant-2", "--date", "2022-09-02")
    assert crisis_items(document) == []


# -- conditions, deadlines, payment rules, confidence: side by side ----------------------------


AMENDMENT = """\
id: essai-modalites
title: Essai de modalités de versement et de délais
kind: proposal
status: proposal
amends: aci-2019
reference: essai
dates:
  in_force: 2023-01-01
changes:
  obligations:
    change:
      - id: acces_soins_demarrage
        deadline: add_months(contract_signed, delai_demarrage_acces_soins + 3)
  payments:
    change:
      - id: volet_variable
        installments:
          - label: Selon le taux d'atteinte de l'année
            share: 1
            due: add_months(contract_year_start, 15)
  lines:
    change:
      - id: snp_specifique
        when: contrat_en_cours and started is not None and started < contract_year_end
        confidence: confirmed
"""


def test_conditions_deadlines_payment_rules_and_confidence_side_by_side(run_cli, write):
    path = write("essai-modalites.yaml", AMENDMENT)
    base = yaml_of(RULES / "aci-2019.yaml")
    old_deadline = next(o["deadline"] for o in base["obligations"] if o["id"] == "acces_soins_demarrage")
    old_when = next(line["when"] for line in base["lines"] if line["id"] == "snp_specifique")
    document = diff_json(run_cli, "aci-2019", path)
    obligation = item(document, "obligation", "acces_soins_demarrage")
    assert obligation["status"] == "changed" and obligation["mission"] == "acces_soins"
    assert change(obligation, "deadline") == {
        "field": "deadline", "old": flat(old_deadline),
        "new": "add_months(contract_signed, delai_demarrage_acces_soins + 3)"}
    payment = item(document, "payment", "volet_variable")
    installments = change(payment, "installments")
    assert "add_years(contract_year_start, 1)" in installments["old"]
    assert "add_months(contract_year_start, 15)" in installments["new"]
    line = item(document, "line", "snp_specifique")
    assert change(line, "when")["old"] == flat(old_when)
    assert change(line, "when")["new"].endswith("started < contract_year_end")
    # A proposal's own formula is its own figure: 'proposed', whatever tag it writes (issue 13).
    assert change(line, "confidence") == {"field": "confidence", "old": "unverified", "new": "proposed"}
    # Nothing else moved: no amount, no other item, but the rule that pays the line's volet
    # (« spécifique », with the fixed parts), which pays what the new condition gives (a knock-on).
    assert {(i["kind"], i["id"]) for i in document["items"]} == {
        ("obligation", "acces_soins_demarrage"), ("payment", "volet_variable"), ("line", "snp_specifique"),
        ("payment", "volet_fixe")}
    assert item(document, "payment", "volet_fixe")["through"] == [
        {"path": [{"kind": "line", "id": "snp_specifique", "via": "volet"}], "status": "changed"}]
    assert line["amounts"] == []

    text = run_cli("diff", "aci-2019", path).stdout
    flat_text = " ".join(text.split())
    assert (f"échéance : avant {flat(old_deadline)} après add_months(contract_signed, "
            "delai_demarrage_acces_soins + 3) lecture (après) : la signature du contrat plus "
            "delai_demarrage_acces_soins + 3 mois") in flat_text
    assert "~ règle de paiement « Volet variable des missions » (volet_variable) — modifiée" in flat_text
    # The obligation and the line sit under their mission; the payment rule belongs to none.
    acces = " ".join(" ".join(section(text, "Mission « Favoriser", ("Mission ", "Hors missions"))).split())
    assert "(acces_soins_demarrage) — modifiée" in acces and "(snp_specifique) — modifiée" in acces
    general = "\n".join(section(text, "Hors missions", ("Mission ",)))
    assert "règle de paiement « Volet variable des missions » (volet_variable)" in general


# -- the modelled proposals --------------------------------------------------------------------


@pytest.mark.parametrize("proposal", [NEGOCIATION, PLAN_100])
def test_the_example_proposals_validate(run_cli, proposal):
    result = run_cli("validate", proposal)
    no_traceback(result)
    assert result.exit_code == 0, result.stderr


def test_plan_100_cpts_evaluates_with_its_notice_period(run_cli):
    """CPTS du Grand Exemple on 2024-06-01: 172 000 inhabitants since 2024-01-01 but 181 000 within
    the 12-month notice, so taille 4 (FACTS.md §2, §8 item 2); the total is derived in
    test_profiles_totals_are_those_of_facts: 410 320."""
    # The plan's own date is 2024-01-01: applied from before the contract year holding the date,
    # explicitly, the whole year is the plan's.
    result = run_cli("eval", EXAMPLES / "cpts-plan-100-preavis.yaml", "--date", "2024-06-01",
                     "--ruleset", PLAN_100, "--as-if-in-force-from", AS_IF, "--format", "json")
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    document = one_json_document(result.stdout)
    assert document["ruleset"] == "plan-100-cpts"
    assert document["size"] == 4
    assert Decimal(document["total"]) == 410320
    assert "W009" in {w["code"] for w in document["warnings"]}


def test_plan_100_cpts_from_its_own_date_counts_each_text_for_its_days(run_cli):
    """DESIGN.md § Time: from its own date (2024-01-01), the plan counts 288 of the 366 days of
    contract year 2 (2023-10-15 to 2024-10-14), avenant 2 the 78 before. Each line counts each
    text for its days: fonctionnement (75 000 x 78 + 90 000 x 288) / 366 = 86 803.28…; the whole
    year lies between avenant 2's 320 000 and the plan's 410 320 (see the test below)."""
    # The Plan's example: taille 3 under avenant 2 (today's population), taille 4 under the Plan's
    # notice period (examples/cpts-plan-100-preavis.yaml).
    result = run_cli("eval", EXAMPLES / "cpts-plan-100-preavis.yaml", "--date", "2024-06-01",
                     "--ruleset", PLAN_100, "--format", "json")
    no_traceback(result)
    document = one_json_document(result.stdout)
    assert [(s["ruleset"], s["from"], s["to"]) for s in document["segments"]] == [
        ("avenant-2", "2023-10-15", "2023-12-31"), ("plan-100-cpts", "2024-01-01", "2024-10-14")]
    lines = {line["id"]: Decimal(line["amount"]) for line in document["lines"]}
    assert lines["fonctionnement"] == Decimal("86803.28")
    assert 320000 < Decimal(document["total"]) < 410320
    assert "W007" in {w["code"] for w in document["warnings"]}


def test_the_draft_evaluates_paying_the_plan_every_year(run_cli, write):
    """FACTS.md §8: the draft pays 22 500 (T3) for the plan every year, 67 500 (T3) on a crisis."""
    profile = write("crise.yaml", CRISIS_PROFILE)
    result = run_cli("eval", profile, "--date", "2023-06-01", "--ruleset", NEGOCIATION, "--format", "json")
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    lines = {line["id"]: Decimal(line["amount"]) for line in one_json_document(result.stdout)["lines"]}
    assert lines["crises_fixe"] == CRISES_PLAN_DRAFT[3]
    assert lines["crises_variable"] == CRISES_SURVENUE[3]


def test_draft_against_avenant_2_lists_the_crisis_changes(run_cli):
    """The draft's crises_fixe pays montant_crises_plan (12 500..25 000, every year: FACTS.md §8);
    avenant 2 pays the first-writing amount the year the mission starts, the update amount after."""
    draft = yaml_of(NEGOCIATION)["changes"]["lines"]["add"]
    signed_text = yaml_of(RULES / "avenant-2.yaml")["changes"]["lines"]["add"]
    draft_fixe = next(line for line in draft if line["id"] == "crises_fixe")
    a2_fixe = next(line for line in signed_text if line["id"] == "crises_fixe")
    document = diff_json(run_cli, NEGOCIATION, "avenant-2")
    fixe = item(document, "line", "crises_fixe")
    assert fixe["status"] == "changed" and fixe["mission"] == "crises_sanitaires"
    for field in ("when", "amount", "maximum"):
        assert change(fixe, field) == {"field": field, "old": flat(draft_fixe[field]), "new": flat(a2_fixe[field])}
    assert "montant_crises_redaction_plan if crises_debut >= contract_year_start" in change(fixe, "maximum")["new"]

    removed = item(document, "line", "crises_amorcage_covid")
    assert removed["status"] == "removed" and removed["mission"] == "crises_sanitaires"
    assert amounts(removed) == {t: (Decimal(v), None, None, None) for t, v in CRISES_SURVENUE.items()}
    added = item(document, "line", "crises_variable_covid")
    assert added["status"] == "added" and added["mission"] == "crises_sanitaires"
    assert amounts(added) == {t: (None, Decimal(v), None, None) for t, v in CRISES_SURVENUE.items()}

    plan = item(document, "parameter", "montant_crises_plan")
    assert plan["status"] == "removed"
    assert {t: o for t, (o, _, _, _) in amounts(plan).items()} == {t: Decimal(v) for t, v in CRISES_PLAN_DRAFT.items()}
    assert item(document, "mission", "crises_sanitaires")["status"] == "changed"
    metadata = {c["field"]: (c["old"], c["new"]) for c in document["metadata"]}
    assert metadata["in_force"] == ("2021-01-01", "2022-04-01")
    assert metadata["status"] == ("proposal", "enacted")

    text = run_cli("diff", NEGOCIATION, "avenant-2").stdout
    block = " ".join(" ".join(section(text, "  ~ ligne « Crises sanitaires graves — volet fixe",
                                      ("  ~ ", "  + ", "  - ", "Mission "))).split())
    assert f"avant {flat(draft_fixe['amount'])}" in block
    assert f"après {flat(a2_fixe['amount'])}" in block
    # Present on both sides: no « ajoutée ».
    assert "Mission « Réponse aux crises sanitaires graves » (crises_sanitaires)\n" in text


def test_plan_100_cpts_against_avenant_2_lists_its_three_measures(run_cli):
    """FACTS.md §8 / plan-100-cpts.yaml: part_avance 0.75 -> 1 (§6: 75 % advance); the taille read
    with a notice period; a mission initiative_locale; the five mission variable lines keep 90 %
    of their §4.1 maxima."""
    plan = yaml_of(PLAN_100)["changes"]
    document = diff_json(run_cli, "avenant-2", PLAN_100)

    part = item(document, "parameter", "part_avance")
    assert part["status"] == "changed"
    assert amounts(part) == {None: (Decimal("0.75"), Decimal(1), Decimal("0.25"), percent(Decimal("0.75"), 1))}

    assert document["taille"] == [{"field": "basis", "old": "population", "new": flat(plan["taille"]["basis"])}]
    assert "preavis_taille_mois" in plan["taille"]["basis"]

    mission = item(document, "mission", "initiative_locale")
    assert mission["status"] == "added"
    assert item(document, "line", "initiative_locale_variable")["status"] == "added"

    changed = {i["id"]: i for i in document["items"] if i["kind"] == "line" and i["status"] == "changed"}
    # The five variable lines it rewrites, and the majoration that reads them (a knock-on: its own
    # formulas unchanged, its maximum too, since the local-initiative line takes up the 10 %).
    assert set(changed) == set(VARIABLE_A2) | {"majoration_missions"}
    knock_on = changed.pop("majoration_missions")
    assert knock_on["changes"] == [] and {c["path"][0]["id"] for c in knock_on["through"]} == {
        *VARIABLE_A2, "initiative_locale_variable"}
    assert all(a["old"] == a["new"] for a in knock_on["amounts"])
    spec = {c["id"]: c for c in plan["lines"]["change"]}
    for line_id, maxima in VARIABLE_A2.items():
        line = changed[line_id]
        assert line["mission"] == line_id[: -len("_variable")]
        assert change(line, "maximum")["new"] == flat(spec[line_id]["maximum"])
        assert change(line, "maximum")["new"].endswith("* (1 - part_initiative_locale)")
        assert change(line, "amount")["new"] == flat(spec[line_id]["amount"])
        assert amounts(line) == {
            t: (Decimal(v), Decimal(v) * Decimal("0.9"), -Decimal(v) / 10, Decimal("-10.0")) for t, v in maxima.items()}
    assert not any(i["status"] == "removed" for i in document["items"])


# -- the behavioural diff: --profiles ------------------------------------------------------------


def test_profiles_needs_a_date(run_cli):
    result = run_cli("diff", "avenant-2", PLAN_100, "--profiles", EXAMPLES)
    no_traceback(result)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--date" in result.stderr


def test_profiles_on_examples_lists_the_three_profiles_not_the_proposals(run_cli):
    document = diff_json(run_cli, "avenant-2", PLAN_100, "--profiles", EXAMPLES, "--date", "2024-06-01",
                         "--as-if-in-force-from", AS_IF)
    assert set(document) == JSON_KEYS | {"profiles"}
    rows = document["profiles"]
    assert sorted(r["file"].replace("\\", "/").rsplit("/", 1)[-1] for r in rows) == sorted(PROFILE_FILES)
    for row in rows:
        assert row["date"] == "2024-06-01"
        old, new = Decimal(row["old_total"]), Decimal(row["new_total"])
        assert Decimal(row["difference"]) == new - old
        missions = row["missions"].values()
        assert sum(Decimal(m["old"]) for m in missions) == old, row["name"]
        assert sum(Decimal(m["new"]) for m in missions) == new, row["name"]
        assert sum(Decimal(m["difference"]) for m in missions) == new - old, row["name"]
        for m in missions:
            assert Decimal(m["difference"]) == Decimal(m["new"]) - Decimal(m["old"])


def test_profiles_totals_are_those_of_facts(run_cli):
    """On 2024-06-01, contract year by FACTS.md §5, amounts by §3 and §4.1; the plan applied from
    2023-01-01 (--as-if-in-force-from), so that each profile's whole year 2024 is under it.

    CPTS du Grand Exemple (signed 2022-10-15: year 2 from 2023-10-15; 172 000 inhabitants since
    2024-01-01, 181 000 before). Avenant 2 reads today's population: taille 3 (§2). Fonctionnement
    75 000; acces_soins 90 000 + 35 000 x 0.8 = 118 000; parcours 45 000 + 45 000 x 0.7 = 76 500;
    prevention 17 500 + 17 500 x 0.6 = 28 000; crises (started in year 1, so a plan update; the only
    crisis fell in year 1) 22 500. Total 320 000.
    Plan « 100 % CPTS » reads the highest population of the 12-month notice: 181 000, taille 4.
    acces_soins 110 000 + 45 000 x 0.9 x 0.8 = 142 400; parcours 50 000 + 50 000 x 0.9 x 0.7 = 81 500;
    prevention 20 000 + 20 000 x 0.9 x 0.6 = 30 800; crises 25 000; initiative locale 10/90 of the
    variable maxima kept (40 500 + 45 000 + 18 000) x 1.0 = 11 500; no-mission: fonctionnement 90 000
    + the 10 % uplift (taille 4, 120 >= 100 members) on the mission lines (205 000 fixe + 86 200
    variable) = 29 120, so 119 120. Total 410 320.
    CPTS du Val d'Exemple (T3, year 5, no achievement given) 75 000 + 90 000 + 45 000 + 17 500 +
    15 000 + 10 000 = 252 500 under both; CPTS des Coteaux (T2, year 4) 60 000 + 70 000 + 15 000 =
    145 000 under both.
    """
    document = diff_json(run_cli, "avenant-2", PLAN_100, "--profiles", EXAMPLES, "--date", "2024-06-01",
                         "--as-if-in-force-from", AS_IF)
    rows = {r["name"]: r for r in document["profiles"]}
    grand = rows["CPTS du Grand Exemple"]
    assert (Decimal(grand["old_total"]), Decimal(grand["new_total"])) == (320000, 410320)
    assert {m: (Decimal(v["old"]), Decimal(v["new"])) for m, v in grand["missions"].items()} == {
        "_none": (75000, 90000 + 29120), "acces_soins": (90000 + 28000, 110000 + 32400),
        "parcours": (76500, 81500), "prevention": (28000, 30800), "crises_sanitaires": (22500, 25000),
        "initiative_locale": (0, 11500)}
    for name, total in (("CPTS du Val d'Exemple", 252500), ("CPTS des Coteaux", 145000)):
        assert (Decimal(rows[name]["old_total"]), Decimal(rows[name]["new_total"])) == (total, total)


def test_profiles_in_text_show_totals_and_changed_missions(run_cli):
    result = run_cli("diff", "avenant-2", PLAN_100, "--profiles", EXAMPLES, "--date", "2024-06-01",
                     "--as-if-in-force-from", AS_IF)
    no_traceback(result)
    assert result.exit_code == 0
    assert result.stderr == ""
    text = result.stdout
    block = "\n".join(section(text, "Effet sur les profils", ("Dispositions",)))
    assert re.search(r"CPTS du Grand Exemple +320 000,00 € +410 320,00 € +\+90 320,00 €", block)
    assert re.search(r"initiative_locale +0,00 € +11 500,00 € +\+11 500,00 €", block)
    assert re.search(r"CPTS du Val d'Exemple +252 500,00 € +252 500,00 € +0,00 €", block)
    assert "Plan « 100 % CPTS »" not in block and "Négociations" not in block


def test_profiles_in_markdown_show_per_mission_amounts(run_cli):
    result = run_cli("diff", "avenant-2", PLAN_100, "--profiles", EXAMPLES, "--date", "2024-06-01",
                     "--format", "markdown", "--as-if-in-force-from", AS_IF)
    assert result.exit_code == 0
    block = "\n".join(section(result.stdout, "### Effet sur les profils", ("## ",)))
    assert "| CPTS du Grand Exemple | 320 000,00 € | 410 320,00 € | +90 320,00 € |" in block
    assert "initiative_locale" in block and "11 500,00 €" in block


CRISIS_PROFILE = """\
name: CPTS de la Crise
population: 92000
members: 60
contract_signed: 2020-03-15
missions:
  crises_sanitaires: {started: 2023-03-15}
crises:
  - {declared: 2023-05-10, label: Epidémie}
"""


@pytest.mark.parametrize("date, old, new", [
    # Contract year 4 (2023-03-15..2024-03-14), the mission starts on its first day, a crisis:
    # draft 22 500 + 67 500; avenant 2 doubles the first-writing year: 45 000 + 67 500 (FACTS §4.1, §8).
    ("2023-06-01", 22500 + 67500, 45000 + 67500),
    # Year 5, no crisis: both pay the 22 500 plan (update) amount.
    ("2024-06-01", 22500, 22500),
])
def test_profile_behaviour_of_the_draft_against_avenant_2(run_cli, write, date, old, new):
    """A taille-3 CPTS (92 000 inhabitants, FACTS §2) with only the crisis mission; fonctionnement
    75 000 (§3) under both; the profile is given as one file."""
    profile = write("crise.yaml", CRISIS_PROFILE)
    document = diff_json(run_cli, NEGOCIATION, "avenant-2", "--profiles", profile, "--date", date)
    [row] = document["profiles"]
    assert row["name"] == "CPTS de la Crise"
    crises = row["missions"]["crises_sanitaires"]
    assert (Decimal(crises["old"]), Decimal(crises["new"])) == (old, new)
    assert (Decimal(row["old_total"]), Decimal(row["new_total"])) == (75000 + old, 75000 + new)
    assert Decimal(row["difference"]) == new - old


AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")


def test_profiles_amounts_in_json_are_written_to_the_cent(run_cli):
    document = diff_json(run_cli, "avenant-2", PLAN_100, "--profiles", EXAMPLES, "--date", "2024-06-01",
                         "--as-if-in-force-from", AS_IF)
    for row in document["profiles"]:
        for key in ("old_total", "new_total", "difference"):
            assert AMOUNT.fullmatch(row[key]), (row["name"], key, row[key])
        for mission, figures in row["missions"].items():
            for key, value in figures.items():
                assert AMOUNT.fullmatch(value), (row["name"], mission, key, value)


def test_an_invalid_profile_in_the_folder_exits_1_naming_it(run_cli, write):
    good = write("profils/crise.yaml", CRISIS_PROFILE)
    # A misspelt mission id is an error (an id close to no known one would only be a warning).
    bad = write("profils/faute.yaml", CRISIS_PROFILE.replace("crises_sanitaires:", "crises_sanitaire:"))
    line = next(n for n, text in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1)
                if "crises_sanitaire:" in text)
    result = run_cli("diff", NEGOCIATION, "avenant-2", "--profiles", good.parent, "--date", "2023-06-01")
    no_traceback(result)
    assert result.exit_code == 1
    assert result.stdout == ""
    diagnostics = [DIAGNOSTIC.match(text) for text in result.stderr.splitlines() if text.strip()]
    assert diagnostics and all(diagnostics), result.stderr
    assert {(d["file"], int(d["line"])) for d in diagnostics} == {(str(bad), line)}
    assert "E208" in result.stderr and "'crises_sanitaires'" in result.stderr


def test_a_ruleset_file_given_as_profiles_is_skipped(run_cli):
    document = diff_json(run_cli, "aci-2019", "avenant-2", "--profiles", PLAN_100, "--date", "2023-01-01")
    assert document["profiles"] == []


def test_without_profiles_json_has_no_profiles_key(run_cli):
    document = diff_json(run_cli, "aci-2019", "avenant-2", "--date", "2023-01-01")
    assert set(document) == JSON_KEYS


# -- invalid inputs ------------------------------------------------------------------------------


MISSPELT = """\
id: essai-faute
title: Essai avec une faute de frappe
kind: proposal
status: proposal
amends: aci-2019
reference: essai
dates:
  in_force: 2023-01-01
changes:
  lines:
    change:
      - id: fonctionnement
        amount: montant_fonctionement * 2
"""


def misspelt_file(write):
    path = write("essai-faute.yaml", MISSPELT)
    line = next(n for n, text in enumerate(MISSPELT.splitlines(), 1) if "montant_fonctionement" in text)
    return path, line


@pytest.mark.parametrize("side", ["old", "new"])
def test_an_invalid_side_exits_1_naming_its_file(run_cli, write, side):
    path, line = misspelt_file(write)
    args = (path, "avenant-2") if side == "old" else ("avenant-2", path)
    result = run_cli("diff", *args)
    no_traceback(result)
    assert result.exit_code == 1
    assert result.stdout == ""
    diagnostics = [DIAGNOSTIC.match(text) for text in result.stderr.splitlines() if text.strip()]
    assert diagnostics and all(diagnostics), result.stderr
    [diagnostic] = [d for d in diagnostics if d["file"] == str(path)]
    assert int(diagnostic["line"]) == line
    assert diagnostic["code"] == "E102"
    assert "montant_fonctionement" in diagnostic["message"] and "montant_fonctionnement" in diagnostic["message"]


def test_an_invalid_side_in_json_is_one_errors_document(run_cli, write):
    path, line = misspelt_file(write)
    result = run_cli("diff", "avenant-2", path, "--format", "json")
    no_traceback(result)
    assert result.exit_code == 1
    document = one_json_document(result.stdout)
    assert set(document) == {"errors"}
    [error] = document["errors"]
    assert (error["code"], error["file"], error["line"]) == ("E102", str(path), line)


def test_both_sides_invalid_name_both_files(run_cli, write):
    path, _ = misspelt_file(write)
    other = write("autre.yaml", MISSPELT.replace("essai-faute", "autre-faute"))
    result = run_cli("diff", path, other)
    assert result.exit_code == 1
    files = {DIAGNOSTIC.match(text)["file"] for text in result.stderr.splitlines() if text.strip()}
    assert files == {str(path), str(other)}


def test_the_same_invalid_file_on_both_sides_is_reported_once(run_cli, write):
    path, _ = misspelt_file(write)
    result = run_cli("diff", path, path)
    assert result.exit_code == 1
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    assert len(lines) == len(set(lines)) == 1, result.stderr


def test_an_unknown_ruleset_exits_1_with_e404_listing_the_known_ones(run_cli):
    result = run_cli("diff", "avenant-2", "nope", "--lang", "en")
    no_traceback(result)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "E404" in result.stderr and "'nope'" in result.stderr
    known = sorted(p.stem for p in RULES.glob("*.yaml"))
    assert known == ["aci-2019", "avenant-2"]
    assert f"known rulesets: {', '.join(known)}" in result.stderr
    document = one_json_document(run_cli("diff", "avenant-2", "nope", "--format", "json").stdout)
    assert [e["code"] for e in document["errors"]] == ["E404"]
