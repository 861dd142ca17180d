"""Amendments as overlays: an avenant states only what it changes (engine/amend.py, engine/library.py).

Every expected figure comes from the texts the rulesets encode: avenant-2 amounts for
taille 3 from FACTS.md §4.1 (shared/domain), read here from rules/avenant-2.yaml
so that the test follows the YAML an analyst corrects; the dates from FACTS.md §1
(avenant 2 in force 2022-04-01, crisis mission from 2022-09-03). The amendments
written in tmp_path are inventions of this file, not law.

"""

from __future__ import annotations

import datetime
import json
import pathlib
import re
from decimal import Decimal

import pytest
import yaml

from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.evaluate import evaluate
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile
from aci_rules.engine.yaml_loader import load_document
from conftest import RULES

AVENANT_2 = (RULES / "avenant-2.yaml").read_text(encoding="utf-8")
AVENANT_2_PARAMETERS = yaml.safe_load(AVENANT_2)["changes"]["parameters"]["set"]

# FACTS.md §1: avenant 2 in force the day after its publication (JO 2022-03-31);
# its crisis mission from 2022-09-03.
AVENANT_2_IN_FORCE = "2022-04-01"
CRISIS_IN_FORCE = "2022-09-03"

# A taille-3 CPTS (FACTS.md §2: 80 001..175 000 inhabitants) signed on 2021-10-15,
# every mission started at the signature. On 2023-06-01 it is in contract year 2
# (2022-10-15 to 2023-10-14), which no text or provision enters into force within.
PROFILE = """\
name: CPTS d'essai (taille 3)
population: 92000
members: 60
contract_signed: 2021-10-15
missions:
  acces_soins: {started: 2021-10-15, achievement: {1: 1.0, 2: 0.8}}
  parcours: {started: 2021-10-15, achievement: {1: 1.0, 2: 0.5}}
  prevention: {started: 2021-10-15, achievement: {1: 1.0, 2: 1.0}}
  qualite: {started: 2021-10-15, achievement: {1: 1.0, 2: 1.0}}
  accompagnement: {started: 2021-10-15, achievement: {1: 1.0, 2: 1.0}}
  crises_sanitaires: {started: 2022-01-10}
crises:
  - {declared: 2022-07-01, label: crise reconnue par l'ARS pendant l'année 1}
  - {declared: 2023-02-01, label: crise reconnue par l'ARS pendant l'année 2}
"""
DAY = "2023-06-01"

HEADER = """\
id: {id}
title: Essai d'amendement
kind: proposal
status: proposal
reference: amendement inventé par tests/test_amendments.py (aucun texte)
dates: {{in_force: 2022-04-01}}
amends: {amends}
"""


def amendment(changes: str, *, id: str = "essai", amends: str = "avenant-2") -> str:
    return HEADER.format(id=id, amends=amends) + changes


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first occurrence of ``needle`` in ``text``."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def same_file(name, path: pathlib.Path) -> bool:
    return name is not None and pathlib.Path(name).resolve() == path.resolve()


def by_taille_yaml(values: dict) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(values.items())) + "}"


@pytest.fixture
def profile(write):
    return write("profile.yaml", PROFILE)


def eval_json(run_cli, profile, day=DAY, ruleset=None) -> dict:
    args = ["eval", profile, "--date", day, "--format", "json"]
    if ruleset is not None:
        args += ["--ruleset", ruleset]
    run = run_cli(*args)
    assert run.exception is None, run.exception
    assert run.exit_code == 0, run.stderr
    return json.loads(run.stdout)


def lines_of(result: dict) -> dict:
    return {line["id"]: (Decimal(line["amount"]), Decimal(line["maximum"])) for line in result["lines"]}


def assert_one_line_differs(before: dict, after: dict, line_id: str, difference: Decimal):
    """Exactly ``line_id`` differs, by ``difference`` (amount and maximum), and so does the total."""
    old, new = lines_of(before), lines_of(after)
    assert set(old) == set(new)
    differing = sorted(i for i in old if old[i] != new[i])
    assert differing == [line_id]
    assert new[line_id][0] - old[line_id][0] == difference
    assert new[line_id][1] - old[line_id][1] == difference
    assert Decimal(after["total"]) - Decimal(before["total"]) == difference
    assert after["size"] == before["size"] == 3
    assert after["contract_year"] == before["contract_year"]


# -- 1. One change, one result --------------------------------------------------------------------


def test_an_amendment_of_avenant_2_changes_exactly_the_value_it_sets(run_cli, write, profile):
    """montant_prevention_fixe taille 3: 17 500 € (FACTS.md §4.1) set to 20 000 €, the rest copied."""
    base = AVENANT_2_PARAMETERS["montant_prevention_fixe"]
    new_value = 20000
    values = {**base["by_taille"], 3: new_value}
    confidence = base["confidence"]
    text = amendment(f"""\
changes:
  parameters:
    set:
      montant_prevention_fixe:
        label: {json.dumps(base["label"], ensure_ascii=False)}
        unit: EUR
        by_taille: {by_taille_yaml(values)}
        reference: {json.dumps(base["reference"], ensure_ascii=False)}
        confidence: {by_taille_yaml(confidence)}
""")
    path = write("essai-prevention.yaml", text)
    validated = run_cli("validate", path)
    assert validated.exit_code == 0, validated.stderr

    before = eval_json(run_cli, profile, ruleset="avenant-2")
    after = eval_json(run_cli, profile, ruleset=path)
    assert after["chain"] == ["aci-2019", "avenant-2", "essai"]
    assert lines_of(before)["prevention_fixe"][0] == Decimal(base["by_taille"][3])
    assert_one_line_differs(before, after, "prevention_fixe", Decimal(new_value - base["by_taille"][3]))


def test_a_copy_of_avenant_2_with_one_figure_edited_still_amends_the_shipped_aci_2019(
        run_cli, write, profile):
    """acces_soins_fixe taille 3: 90 000 € (FACTS.md §4.1, two signed contracts) edited to 95 000 €."""
    old = "by_taille: {1: 55000, 2: 70000, 3: 90000, 4: 110000}"
    assert AVENANT_2.count(old) == 1
    path = write("avenant-2-copie.yaml", AVENANT_2.replace(old, old.replace("3: 90000", "3: 95000")))
    assert "\namends: aci-2019\n" in path.read_text(encoding="utf-8")
    validated = run_cli("validate", path)
    assert validated.exit_code == 0, validated.stderr

    before = eval_json(run_cli, profile, ruleset="avenant-2")
    after = eval_json(run_cli, profile, ruleset=path)
    assert after["chain"] == ["aci-2019", "avenant-2"]
    assert lines_of(before)["acces_soins_fixe"][0] == Decimal(90000)
    assert_one_line_differs(before, after, "acces_soins_fixe", Decimal(5000))


# -- 2. Diagnostics point into the amendment ----------------------------------------------------------


COMMANDS = ["validate", "eval"]


def diagnostics(run_cli, command, ruleset, profile):
    """Exit code and diagnostics of ``validate RULESET`` or ``eval PROFILE --ruleset RULESET``."""
    if command == "validate":
        run = run_cli("validate", ruleset, "--format", "json")
        found = [d for f in json.loads(run.stdout)["files"] for d in f["diagnostics"]]
    else:
        run = run_cli("eval", profile, "--date", DAY, "--ruleset", ruleset, "--format", "json")
        found = json.loads(run.stdout)["errors"]
    assert run.exception is None, run.exception
    for d in found:  # the text form on stderr says the same place
        if d["line"] is not None:
            assert f":{d['line']}:{d['column']}: {d['code']} " in run.stderr, run.stderr
    return run.exit_code, found


def the_diagnostic(run_cli, command, path, profile, code):
    """The one error ``code`` the command reports, with exit 1, located in ``path``."""
    exit_code, found = diagnostics(run_cli, command, path, profile)
    assert exit_code == 1
    errors = [d for d in found if d["severity"] == "error"]
    assert [d["code"] for d in errors] == [code], errors
    diagnostic = errors[0]
    assert same_file(diagnostic["file"], path), diagnostic
    return diagnostic


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_base_is_e306_with_a_suggestion_and_the_known_rulesets(run_cli, write, profile, command):
    text = amendment("changes: {}\n", amends="aci-2018")
    path = write("essai.yaml", text)
    diagnostic = the_diagnostic(run_cli, command, path, profile, "E306")
    assert (diagnostic["line"], diagnostic["column"]) == position(text, "aci-2018")
    assert "'aci-2019'" in diagnostic["message"]
    assert re.search(r"known rulesets: .*aci-2019.*avenant-2", diagnostic["message"])


def write_cycle(write):
    a = write("a.yaml", amendment("changes: {}\n", id="cycle-a", amends="./b.yaml"))
    write("b.yaml", amendment("changes: {}\n", id="cycle-b", amends="./a.yaml"))
    return a


@pytest.mark.parametrize("command", COMMANDS)
def test_a_cycle_between_two_files_is_e305(run_cli, write, profile, command):
    a = write_cycle(write)
    diagnostic = the_diagnostic(run_cli, command, a, profile, "E305")
    assert (diagnostic["line"], diagnostic["column"]) == position(a.read_text(encoding="utf-8"), "./b.yaml")
    assert "cycle-a" in diagnostic["message"] and "cycle-b" in diagnostic["message"]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_cycle_message_follows_the_amends_links_in_order(run_cli, write, profile, command):
    a = write_cycle(write)
    diagnostic = the_diagnostic(run_cli, command, a, profile, "E305")
    assert diagnostic["message"].endswith("amendment cycle: cycle-a -> cycle-b -> cycle-a")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_self_amendment_is_e305(run_cli, write, profile, command):
    text = amendment("changes: {}\n", amends="./essai.yaml")
    path = write("essai.yaml", text)
    diagnostic = the_diagnostic(run_cli, command, path, profile, "E305")
    assert (diagnostic["line"], diagnostic["column"]) == position(text, "./essai.yaml")


@pytest.mark.parametrize("command", [
    "eval", "validate"])
def test_the_self_amendment_message_names_the_text_twice(run_cli, write, profile, command):
    path = write("essai.yaml", amendment("changes: {}\n", amends="./essai.yaml"))
    diagnostic = the_diagnostic(run_cli, command, path, profile, "E305")
    assert diagnostic["message"].endswith("amendment cycle: essai -> essai")


@pytest.mark.parametrize("command", COMMANDS)
def test_changing_a_line_that_does_not_exist_is_e307_with_a_suggestion(run_cli, write, profile, command):
    text = amendment("""\
changes:
  lines:
    change:
      - id: acces_soins_fxe
        label: Accès aux soins — volet fixe
""")
    path = write("essai.yaml", text)
    diagnostic = the_diagnostic(run_cli, command, path, profile, "E307")
    assert (diagnostic["line"], diagnostic["column"]) == position(text, "acces_soins_fxe")
    assert "did you mean 'acces_soins_fixe'" in diagnostic["message"]


@pytest.mark.parametrize("command", COMMANDS)
def test_removing_an_unknown_parameter_is_e307(run_cli, write, profile, command):
    text = amendment("""\
changes:
  parameters:
    remove:
      - montant_inexistant
""")
    path = write("essai.yaml", text)
    diagnostic = the_diagnostic(run_cli, command, path, profile, "E307")
    assert (diagnostic["line"], diagnostic["column"]) == position(text, "montant_inexistant")
    assert "montant_inexistant" in diagnostic["message"]


@pytest.mark.parametrize("command", COMMANDS)
def test_adding_a_line_that_already_exists_is_e308(run_cli, write, profile, command):
    text = amendment("""\
changes:
  lines:
    add:
      - id: prevention_fixe
        label: Prévention — volet fixe
        volet: fixe
        amount: 1000
        reference: essai
""")
    path = write("essai.yaml", text)
    diagnostic = the_diagnostic(run_cli, command, path, profile, "E308")
    assert (diagnostic["line"], diagnostic["column"]) == position(text, "prevention_fixe")
    assert "change" in diagnostic["message"]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_added_line_reading_an_unknown_name_is_e102_in_the_amendment(run_cli, write, profile, command):
    text = amendment("""\
changes:
  lines:
    add:
      - id: nouvelle_ligne
        label: Nouvelle ligne
        volet: supplement
        when: contrat_en_cours
        amount: montant_inconnu * 2
        reference: essai
""")
    path = write("essai.yaml", text)
    diagnostic = the_diagnostic(run_cli, command, path, profile, "E102")
    assert (diagnostic["line"], diagnostic["column"]) == position(text, "montant_inconnu")
    assert "montant_inconnu" in diagnostic["message"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_changed_formula_reading_an_unknown_name_is_e102_in_the_amendment(run_cli, write, profile, command):
    text = amendment("""\
changes:
  lines:
    change:
      - id: acces_soins_fixe
        amount: montant_inconnu * 2
""")
    path = write("essai.yaml", text)
    diagnostic = the_diagnostic(run_cli, command, path, profile, "E102")
    assert (diagnostic["line"], diagnostic["column"]) == position(text, "montant_inconnu")


@pytest.mark.parametrize("command", COMMANDS)
def test_an_added_line_without_amount_is_a_schema_diagnostic_in_the_amendment(run_cli, write, profile, command):
    text = amendment("""\
changes:
  lines:
    add:
      - id: nouvelle_ligne
        label: Nouvelle ligne
        volet: supplement
        reference: essai
""")
    path = write("essai.yaml", text)
    exit_code, found = diagnostics(run_cli, command, path, profile)
    assert exit_code == 1
    assert found and all(re.fullmatch(r"E2\d\d", d["code"]) for d in found), found
    assert all(same_file(d["file"], path) for d in found), found
    assert any("amount" in d["message"] and d["line"] == position(text, "id: nouvelle_ligne")[0]
               for d in found), found


@pytest.mark.parametrize("command", COMMANDS)
def test_removing_a_parameter_still_read_is_reported_in_the_amendment(run_cli, write, profile, command):
    text = amendment("""\
changes:
  parameters:
    remove: [montant_prevention_fixe]
""")
    path = write("essai.yaml", text)
    exit_code, found = diagnostics(run_cli, command, path, profile)
    assert exit_code == 1
    assert any(same_file(d["file"], path) and d["line"] == position(text, "montant_prevention_fixe")[0]
               for d in found), found


@pytest.mark.parametrize("command", COMMANDS)
def test_nulling_a_required_field_is_reported_in_the_amendment(run_cli, write, profile, command):
    text = amendment("""\
changes:
  lines:
    change:
      - id: supplement_fonctionnement
        amount: null
""")
    path = write("essai.yaml", text)
    exit_code, found = diagnostics(run_cli, command, path, profile)
    assert exit_code == 1
    assert found and all(same_file(d["file"], path) for d in found), found
    assert any(d["line"] == position(text, "amount: null")[0] for d in found), found


# -- 3. Provisions with their own entry into force -----------------------------------------------------


CRISIS_LINES = {"crises_fixe", "crises_variable"}


def evaluate_api(library, profile_path, day, ruleset="avenant-2"):
    return evaluate(library.get(ruleset, day), compile_profile(load_document(profile_path)), day)


def test_the_crisis_lines_do_not_exist_before_2022_09_03(profile):
    """FACTS.md §1: avenant 2 in force 2022-04-01, its crisis mission only from 2022-09-03."""
    library = Library()
    before = library.get("avenant-2", datetime.date(2022, 6, 1))
    assert not CRISIS_LINES & {line.id for line in before.lines}
    assert "crises_sanitaires" not in before.missions
    result = evaluate_api(library, profile, datetime.date(2022, 6, 1))
    assert not CRISIS_LINES & {line.id for line in result.lines + result.skipped}

    after = library.get("avenant-2", datetime.date(2022, 10, 1))
    assert CRISIS_LINES <= {line.id for line in after.lines}
    assert "crises_sanitaires" in after.missions


def test_the_crisis_lines_pay_from_2022_09_03(profile):
    """Taille 3 (FACTS.md §4.1): plan written 45 000 € (prorated from 2022-09-03), crisis 67 500 €."""
    result = evaluate_api(Library(), profile, datetime.date(2022, 10, 1))
    assert result.contract_year.number == 1
    paid = {line.id: line for line in result.lines}
    assert CRISIS_LINES <= set(paid)
    assert paid["crises_variable"].amount == Decimal(67500)
    assert paid["crises_fixe"].maximum == Decimal(45000)
    assert 0 < paid["crises_fixe"].amount < Decimal(45000)  # from 2022-09-03 to 2022-10-14 only


def test_a_crisis_mission_counts_in_its_contract_year_from_its_entry_into_force_on_every_date(run_cli, profile):
    """DESIGN.md § Time: the year's amount is one figure. Contract year 1 (2021-10-15 to 2022-10-14)
    holds the crisis mission from 2022-09-03 (FACTS.md §1): eval on 2022-06-01, when the mission
    is not yet in force, counts its lines for those days as eval on 2022-10-01 does, and does not
    call the mission ignored (W004) since the year knows it."""
    result = eval_json(run_cli, profile, day="2022-06-01")
    assert result["ruleset"] == "avenant-2"
    later = eval_json(run_cli, profile, day="2022-10-01")
    assert CRISIS_LINES <= set(lines_of(result))
    assert lines_of(result) == lines_of(later)
    assert result["total"] == later["total"]
    assert not any(w["code"] == "W004" for w in result["warnings"] + later["warnings"])


def test_a_crisis_mission_outside_the_years_of_its_text_is_w004(run_cli, write):
    """A contract whose year 1 ends before 2022-09-03 (signed 2021-06-01, year 1 to 2022-05-31):
    on 2022-05-01 no part of the year knows the crisis mission, so the profile's is ignored (W004)."""
    path = write("early.yaml", PROFILE.replace("2021-10-15", "2021-06-01").replace("2022-01-10", "2021-06-01"))
    result = eval_json(run_cli, path, day="2022-05-01")
    assert not CRISIS_LINES & set(lines_of(result))
    w004 = [w for w in result["warnings"] if w["code"] == "W004"]
    assert len(w004) == 1 and "crises_sanitaires" in w004[0]["message"]
    # It says why and from when (FACTS.md §1: the crisis mission from 2022-09-03), not that
    # the mission is unknown to the text.
    assert f"not in force on 2022-06-01: it applies from {CRISIS_IN_FORCE} (avenant-2)" in w004[0]["message"]
    assert "is not a mission of" not in w004[0]["message"]
    before_avenant = eval_json(run_cli, profile, day="2021-12-01")
    assert before_avenant["ruleset"] == "aci-2019"
    w004 = [w["message"] for w in before_avenant["warnings"] if w["code"] == "W004"]
    assert w004 == [f"mission 'crises_sanitaires' is not in force on 2021-12-01: it applies from "
                    f"{CRISIS_IN_FORCE} (avenant-2); ignored until then"]


def w007(result: dict) -> list[str]:
    return [w["message"] for w in result["warnings"] if w["code"] == "W007"]


def test_a_contract_year_straddling_both_dates_warns_with_each_date(run_cli, profile):
    # Contract year 1 runs 2021-10-15 to 2022-10-14: avenant 2 and its crisis mission both start inside.
    messages = w007(eval_json(run_cli, profile, day="2022-06-01"))
    assert any(AVENANT_2_IN_FORCE in m and "avenant-2" in m for m in messages), messages
    assert any(CRISIS_IN_FORCE in m for m in messages), messages


def test_a_contract_year_straddling_only_the_crisis_mission_names_only_its_date(run_cli, write):
    path = write("signed-june.yaml", PROFILE.replace("2021-10-15", "2022-06-01")
                 .replace("2022-01-10", "2022-06-01"))
    messages = w007(eval_json(run_cli, path, day="2022-10-01"))
    assert messages and all(CRISIS_IN_FORCE in m for m in messages), messages
    assert not any(AVENANT_2_IN_FORCE in m for m in messages), messages


def test_a_contract_year_inside_one_text_has_no_w007(run_cli, profile):
    assert w007(eval_json(run_cli, profile)) == []  # year 2: 2022-10-15 to 2023-10-14


@pytest.mark.parametrize("day, ruleset, chain", [
    ("2022-03-31", "aci-2019", ["aci-2019"]),
    (AVENANT_2_IN_FORCE, "avenant-2", ["aci-2019", "avenant-2"]),
])
def test_the_text_in_force(run_cli, profile, day, ruleset, chain):
    """FACTS.md §1: aci-2019 until 2022-03-31, avenant 2 (on aci-2019) from 2022-04-01."""
    in_force = Library().in_force(datetime.date.fromisoformat(day))
    assert in_force.id == ruleset
    assert list(in_force.chain) == chain
    result = eval_json(run_cli, profile, day=day)
    assert (result["ruleset"], result["chain"]) == (ruleset, chain)


def test_a_dated_change_and_a_dated_removal_apply_from_their_own_date(run_cli, write, profile):
    """Invented: prevention_fixe doubled, qualite_fixe removed, each from 2023-01-01 only."""
    path = write("essai.yaml", amendment("""\
changes:
  lines:
    change:
      - id: prevention_fixe
        amount: 2 * montant_prevention_fixe * prorata_temporis(started, contract_year_start, contract_year_end)
        maximum: 2 * montant_prevention_fixe
        in_force: 2023-01-01
    remove:
      - {id: qualite_fixe, in_force: 2023-01-01}
"""))
    # Contract year 2 runs from 2022-10-15 to 2023-10-14: 78 days before 2023-01-01, 287 from it.
    # Each provision counts for its days, the same on every date of the year (DESIGN.md § Time):
    # qualite_fixe 15 000 x 78 / 365 = 3 205.479… ; prevention_fixe (17 500 x 78 + 35 000 x 287) / 365
    # = 31 260.273… (taille 3, FACTS.md §4.1).
    for day in ("2022-12-31", "2023-01-01"):
        base = lines_of(eval_json(run_cli, profile, day=day, ruleset="avenant-2"))
        amended = lines_of(eval_json(run_cli, profile, day=day, ruleset=path))
        assert base["qualite_fixe"][0] == Decimal("15000.00")
        assert base["prevention_fixe"][0] == Decimal("17500.00")
        assert amended["qualite_fixe"][0] == Decimal("3205.48")
        assert amended["prevention_fixe"][0] == Decimal("31260.27")
        assert {k: v for k, v in amended.items() if k not in ("qualite_fixe", "prevention_fixe")} == \
            {k: v for k, v in base.items() if k not in ("qualite_fixe", "prevention_fixe")}


# -- 4. show ----------------------------------------------------------------------------------------


def test_show_avenant_2_prints_the_bareme_by_taille_in_euros(run_cli):
    """acces_soins_fixe: 55 000 / 70 000 / 90 000 / 110 000 € (FACTS.md §4.1)."""
    run = run_cli("show", "avenant-2")
    assert run.exit_code == 0, run.stderr
    assert re.search(r"Taille 1\s+Taille 2\s+Taille 3\s+Taille 4", run.stdout)
    row = next(line for line in run.stdout.splitlines() if line.strip().startswith("acces_soins_fixe"))
    assert re.search(r"55 000,00 €\s+70 000,00 €\s+90 000,00 €\s+110 000,00 €", row), row
    assert "aci-2019 + avenant-2" in run.stdout


def test_show_prints_a_rate_as_a_plain_percentage(run_cli):
    """taux_majoration 10 % (FACTS.md §4.1)."""
    run = run_cli("show", "avenant-2")
    row = next(line for line in run.stdout.splitlines() if line.strip().startswith("taux_majoration"))
    assert re.search(r"\b10 %", row), row


def test_show_yaml_is_a_ruleset_that_evaluates_like_avenant_2(run_cli, write, profile):
    run = run_cli("show", "avenant-2", "--format", "yaml")
    assert run.exit_code == 0, run.stderr
    text, count = re.subn(r"(?m)^id: avenant-2$", "id: avenant-2-consolide", run.stdout)
    assert count == 1
    path = write("avenant-2-consolide.yaml", text)
    validated = run_cli("validate", path)
    assert validated.exit_code == 0, validated.stderr
    for day in ("2022-06-01", "2022-10-01", DAY):
        consolidated = eval_json(run_cli, profile, day=day, ruleset=path)
        shipped = eval_json(run_cli, profile, day=day, ruleset="avenant-2")
        assert consolidated["chain"] == ["avenant-2-consolide"]
        assert consolidated["total"] == shipped["total"]
        assert lines_of(consolidated) == lines_of(shipped)


def test_show_yaml_at_a_date_before_the_crisis_mission_has_no_crisis_line(run_cli):
    run = run_cli("show", "avenant-2", "--date", "2022-05-01", "--format", "yaml")
    assert run.exit_code == 0, run.stderr
    ids = {line["id"] for line in yaml.safe_load(run.stdout)["lines"]}
    assert "crises_fixe" not in ids and "crises_variable" not in ids
    assert "acces_soins_fixe" in ids
    everything = yaml.safe_load(run_cli("show", "avenant-2", "--format", "yaml").stdout)
    assert CRISIS_LINES <= {line["id"] for line in everything["lines"]}


def test_show_an_unknown_ruleset_is_e404(run_cli):
    run = run_cli("show", "nope")
    assert run.exit_code == 1
    assert "E404" in run.stderr and "aci-2019" in run.stderr
    assert run.exception is None


# -- 5. null removes an optional field ------------------------------------------------------------


def test_a_when_set_to_null_makes_the_line_always_apply(run_cli, write, profile):
    """supplement_fonctionnement is due in year 1 only (FACTS.md §3): 56 250 € for taille 3."""
    path = write("essai.yaml", amendment("""\
changes:
  lines:
    change:
      - id: supplement_fonctionnement
        when: null
"""))
    supplement = Decimal(AVENANT_2_PARAMETERS["montant_supplement_fonctionnement"]["by_taille"][3])
    assert supplement == Decimal(56250)
    before = eval_json(run_cli, profile, ruleset="avenant-2")  # contract year 2
    after = eval_json(run_cli, profile, ruleset=path)
    assert "supplement_fonctionnement" not in lines_of(before)
    assert lines_of(after)["supplement_fonctionnement"] == (supplement, supplement)
    assert {k: v for k, v in lines_of(after).items() if k != "supplement_fonctionnement"} == lines_of(before)
    assert Decimal(after["total"]) - Decimal(before["total"]) == supplement

    shown = yaml.safe_load(run_cli("show", path, "--format", "yaml").stdout)
    line = next(line for line in shown["lines"] if line["id"] == "supplement_fonctionnement")
    assert "when" not in line

    no_contract = write("no-contract.yaml", "name: CPTS sans contrat\npopulation: 92000\n")
    result = eval_json(run_cli, no_contract, ruleset=path)
    assert lines_of(result) == {"supplement_fonctionnement": (supplement, supplement)}


# -- Compiled rulesets are cached by content, never by id() ----------------------------------------

GOOD_CHANGE = """\
changes:
  lines:
    change:
      - id: fonctionnement
        amount: montant_fonctionnement * 2
"""
BAD_CHANGE = GOOD_CHANGE.replace("montant_fonctionnement * 2", "montant_fonctionement * 2")


def test_validate_reports_each_file_on_its_own_whatever_came_before(run_cli, write):
    """``validate c.yaml a.yaml c.yaml b.yaml`` once said "ok" to b (an unknown name): the compile
    cache was keyed by id() of parsed documents, which a later document can reuse."""
    a = write("a.yaml", amendment(GOOD_CHANGE, id="a", amends="aci-2019"))
    b = write("b.yaml", amendment(BAD_CHANGE, id="b", amends="aci-2019"))
    c = write("c.yaml", amendment(GOOD_CHANGE, id="c", amends="aci-2019"))
    for files in ([c, a, c, b], [b], [a, b, a, b, c, b]):
        run = run_cli("validate", "--lang", "en", *files)
        assert run.exit_code == 1, run.stdout + run.stderr
        assert f"{b}: ruleset, 1 problem" in run.stdout.splitlines()
        assert all(f"{name}: ruleset, ok" in run.stdout.splitlines() for name in (a, c) if name in files)
        assert "E102" in run.stderr and "montant_fonctionement" in run.stderr


def test_the_compile_cache_holds_even_when_two_documents_share_an_id(write, monkeypatch):
    """Forces what the allocator does by chance: every object gets the same id()."""
    from aci_rules.engine import library as library_module

    monkeypatch.setattr(library_module, "id", lambda _: 1, raising=False)
    library = Library()
    good = load_document(write("a.yaml", amendment(GOOD_CHANGE, id="a", amends="aci-2019")))
    bad = load_document(write("b.yaml", amendment(BAD_CHANGE, id="b", amends="aci-2019")))
    assert library.compile(good).id == "a"
    with pytest.raises(InputError) as caught:
        library.compile(bad)
    assert [d.code for d in caught.value.diagnostics] == ["E102"]


@pytest.mark.parametrize("mission, hint", [
    ("crise_sanitaire", "did you mean 'crises_sanitaires'?"),
    ("telemedecine_rurale", "the missions are acces_soins, accompagnement, crises_sanitaires"),
])
@pytest.mark.parametrize("command", ["eval", "validate"])
def test_a_mission_no_text_defines_is_e208(run_cli, write, mission, hint, command):
    """A mission unknown to every text the engine knows is an error, with a suggestion or the list."""
    text = PROFILE.replace("  crises_sanitaires: {started: 2022-01-10}\n",
                           f"  crises_sanitaires: {{started: 2022-01-10}}\n  {mission}: {{started: 2022-01-10}}\n")
    path = write("profile.yaml", text)
    args = ["eval", path, "--date", DAY] if command == "eval" else ["validate", path]
    run = run_cli(*args)
    assert run.exit_code == 1, run.stdout + run.stderr
    line = text.splitlines().index(f"  {mission}: {{started: 2022-01-10}}") + 1
    assert f"{path}:{line}:3: E208 unknown mission '{mission}'" in run.stderr
    assert hint in run.stderr
