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
    assert f"not in force on 2022-05-01: it applies from {CRISIS_IN_FORCE} (avenant-2)" in w004[0]["message"]
    assert "is not a mission of" not in w004[0]["message"]


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
    run = run_cli("--lang", "en", *args)
    assert run.exit_code == 1, run.stdout + run.stderr
    line = text.splitlines().index(f"  {mission}: {{started: 2022-01-10}}") + 1
    assert f"{path}:{line}:3: E208 unknown mission '{mission}'" in run.stderr
    assert hint in run.stderr


# -- 7. Table edits, a new size table, a removed mission, a proposal's own figures (issue 13) -------

PROPOSALS = RULES.parent / "tests" / "proposals"


def size_table(*classes: str) -> str:
    """``changes:`` with a size table of these classes (YAML flow mappings)."""
    return ("changes:\n  taille:\n    basis: population\n    reference: Hypothèse de test\n"
            "    confidence: proposed\n    classes:\n" + "".join(f"      - {c}\n" for c in classes))


# Avenant 2's table, its taille 4 cut at 300 000 and a fifth taille above (issue 13's analyst).
FIFTH_TAILLE = size_table(
    "{taille: 1, max: 39999}", "{taille: 2, min: 40000, max: 79999}",
    "{taille: 2, min: 80000, max: 80000, confidence: unverified}", "{taille: 3, min: 80001, max: 175000}",
    "{taille: 4, min: 175001, max: 300000}", "{taille: 5, min: 300001}")


def compiled(path):
    library = Library()
    return library.compile(library.document(str(path)))


def errors_of(path) -> list:
    library = Library()
    with pytest.raises(InputError) as caught:
        library.compile(library.document(str(path)))
    return caught.value.diagnostics


def by_taille_parameters(ruleset_id="avenant-2") -> list:
    ruleset = Library().get(ruleset_id)
    return sorted(name for name, p in ruleset.parameters.items() if p.by_taille is not None)


def test_a_fifth_taille_without_its_cells_is_one_e321_per_parameter_at_the_new_class(write):
    """Issue 13: 16 errors at lines of rules/avenant-2.yaml became one per parameter, in the proposal."""
    text = amendment(FIFTH_TAILLE)
    path = write("taille-5.yaml", text)
    found = errors_of(path)
    expected = by_taille_parameters()
    assert len(expected) == 16  # avenant 2's tables per taille (FACTS.md §4.1)
    assert [d.code for d in found] == ["E324"] * len(expected)
    line, column = position(text, "{taille: 5, min: 300001}")
    assert {(d.line, d.column) for d in found} == {(line, column)}
    assert all(same_file(d.file, path) for d in found)
    named = sorted(re.search(r"parameter '(\w+)'", d.message).group(1) for d in found)
    assert named == expected
    assert all("changes.parameters.edit." in d.message for d in found)


def test_an_edit_that_forgets_the_new_taille_is_reported_at_the_edit(write):
    edit = "\n".join(f"      {name}: {{by_taille: {{5: 1000}}, reference: essai, confidence: proposed}}"
                     for name in by_taille_parameters() if name != "montant_qualite_fixe")
    text = amendment(FIFTH_TAILLE + f"""\
  parameters:
    edit:
{edit}
      montant_qualite_fixe: {{scale: 2, reference: essai, confidence: proposed}}
""")
    path = write("taille-5.yaml", text)
    [found] = errors_of(path)
    assert found.code == "E324" and "montant_qualite_fixe" in found.message
    assert (found.line, found.column) == position(text, "{scale: 2,")


def test_a_dropped_taille_is_one_e321_per_parameter_and_null_removes_the_cell(write):
    """Tailles 1 and 2 merged: the inherited cells of taille 1 must be removed, by name."""
    classes = size_table("{taille: 2, max: 80000}", "{taille: 3, min: 80001, max: 175000}",
                         "{taille: 4, min: 175001}")
    found = errors_of(write("fusion.yaml", amendment(classes)))
    assert [d.code for d in found] == ["E324"] * 16
    assert all("gives taille 1," in d.message for d in found)
    edit = "\n".join(f"      {name}: {{by_taille: {{1: null}}, reference: essai, confidence: proposed}}"
                     for name in by_taille_parameters())
    ruleset = compiled(write("fusion-2.yaml", amendment(classes + f"  parameters:\n    edit:\n{edit}\n")))
    assert set(ruleset.parameters["montant_fonctionnement"].by_taille) == {2, 3, 4}


def test_scale_and_shift_are_exact_and_rounded_half_up_to_the_quantum(write):
    """avenant 2's tables (FACTS.md §4.1) edited: 17 500 x 1.00007 = 17 501.225 -> 17 501.23."""
    ruleset = compiled(PROPOSALS / "tableaux-modifies.yaml")
    parameters = ruleset.parameters
    assert parameters["montant_fonctionnement"].by_taille == {1: 52500, 2: 63000, 3: 78750, 4: 94500}
    assert parameters["montant_acces_soins_fixe"].by_taille == {1: 57000, 2: 70000, 3: 90000, 4: 110000}
    assert parameters["montant_prevention_fixe"].by_taille == {
        1: Decimal("10000.70"), 2: Decimal("15001.05"), 3: Decimal("17501.23"), 4: Decimal("20001.40")}
    assert parameters["taux_majoration"].value == Decimal("0.15")
    # The cells not edited keep avenant 2's tags; those edited are the proposal's.
    assert parameters["montant_acces_soins_fixe"].confidence == {
        1: "proposed", 2: "derived", 3: "confirmed", 4: "derived"}
    assert parameters["montant_fonctionnement"].confidence == "proposed"
    # The edit's reference follows the old one.
    assert parameters["montant_fonctionnement"].reference.endswith("; Hypothèse de test, + 5 % pour chaque taille")


def test_an_edit_drops_the_plausible_range_of_the_cells_it_writes_only():
    """avenant 2's ranges (majoration rate; contrat d'accompagnement, tailles 2 and 3) described
    where its own figures plausibly lie, not a proposal's: 0.15 is outside 0..0.10 and loads."""
    def text(path):  # the consolidated text (the compiled ruleset keeps none)
        return Library().consolidated_document(str(path)).data["parameters"]

    edited = text(PROPOSALS / "tableaux-modifies.yaml")
    assert edited["taux_majoration"]["value"] == Decimal("0.15") and "plausible" not in edited["taux_majoration"]
    completed = text(PROPOSALS / "taille-5-sans-crises.yaml")
    base = text("avenant-2")["montant_contrat_accompagnement"]
    assert completed["montant_contrat_accompagnement"]["plausible"] == base["plausible"]  # cell 5 only written
    # What the compiled ruleset keeps of it: the ranges of the figures the same text wrote.
    assert compiled(PROPOSALS / "tableaux-modifies.yaml").parameters["taux_majoration"].ranges == {}
    assert Library().get("avenant-2").parameters["taux_majoration"].ranges == {None: (Decimal(0), Decimal("0.10"))}


def test_an_edit_in_an_avenant_keeps_the_tags_it_gives(write):
    text = amendment("""\
changes:
  parameters:
    edit:
      montant_fonctionnement:
        shift: {2: 1000.005}
        reference: avenant inventé
        confidence: derived
""").replace("kind: proposal", "kind: avenant").replace("status: proposal", "status: draft")
    ruleset = compiled(write("avenant.yaml", text))
    parameter = ruleset.parameters["montant_fonctionnement"]
    assert parameter.by_taille[2] == Decimal("61000.01")  # 60 000 + 1 000.005, half up
    assert parameter.confidence == {1: "confirmed", 2: "derived", 3: "confirmed", 4: "confirmed"}


@pytest.mark.parametrize("edit, needle, words", [
    ("montant_fonctionnement: {scale: {5: 2}, reference: x, confidence: proposed}", "5: 2",
     "names taille 5"),
    ("montant_fonctionnement: {shift: -60000, reference: x, confidence: proposed}", "-60000",
     "outside 0"),
    ("montant_fonctionnement: {shift: {1: 5}, by_taille: {1: 7}, reference: x, confidence: proposed}", "1: 5}",
     "both given under by_taille and computed"),
    ("debut_mission_crises: {scale: 2, reference: x, confidence: proposed}", "{scale: 2",
     "not a number"),
    ("part_avance: {by_taille: {1: 1}, reference: x, confidence: proposed}", "{1: 1}",
     "one value, not a value per taille"),
])
def test_a_table_edit_that_cannot_apply_is_e320_at_the_edit(write, edit, needle, words):
    text = amendment(f"changes:\n  parameters:\n    edit:\n      {edit}\n")
    path = write("edit.yaml", text)
    [found] = errors_of(path)
    assert found.code == "E323" and words in found.message, found
    assert same_file(found.file, path)
    assert (found.line, found.column) == position(text, needle)


def test_an_edit_of_an_unknown_parameter_is_e307_with_a_suggestion(write):
    text = amendment("changes:\n  parameters:\n    edit:\n      montant_fonctionement: {scale: 2, reference: x, "
                     "confidence: proposed}\n")
    [found] = errors_of(write("edit.yaml", text))
    assert found.code == "E307" and "did you mean 'montant_fonctionnement'" in found.message
    assert (found.line, found.column) == position(text, "montant_fonctionement")


def test_the_hand_computed_cases_of_the_table_edit_proposals_pass(run_cli):
    """tests/proposals/cas-tableaux.yaml: figures computed by hand in its comments."""
    run = run_cli("test", PROPOSALS / "cas-tableaux.yaml", "--format", "json")
    assert run.exit_code == 0, run.stdout + run.stderr
    document = json.loads(run.stdout)
    assert (document["passed"], document["failed"]) == (6, 0)


def test_removing_a_mission_removes_what_goes_with_it():
    """Avenant 2's crisis mission: 3 lines, 2 obligations, 2 definitions, 8 parameters go with it."""
    before, after = Library().get("avenant-2"), compiled(PROPOSALS / "taille-5-sans-crises.yaml")
    assert "crises_sanitaires" not in after.missions
    gone = lambda old, new: sorted(set(old) - set(new))  # noqa: E731
    assert gone([l.id for l in before.lines], [l.id for l in after.lines]) == [
        "crises_fixe", "crises_variable", "crises_variable_covid"]
    assert gone([o.id for o in before.obligations], [o.id for o in after.obligations]) == [
        "crises_sanitaires_demarrage", "crises_sanitaires_deploiement"]
    assert gone(before.definitions, after.definitions) == ["crise_reconnue_dans_l_annee", "crises_debut"]
    assert gone(before.parameters, after.parameters) == [
        "date_limite_covid", "debut_mission_crises", "delai_demarrage_crises", "delai_deploiement_crises",
        "montant_crises_mise_a_jour_plan", "montant_crises_redaction_plan", "montant_crises_survenue"]
    assert [p.id for p in after.payments] == [p.id for p in before.payments]  # other lines are fixe/variable too


def test_a_removed_mission_still_read_elsewhere_is_one_e322_naming_every_reader(write):
    text = amendment("""\
changes:
  missions:
    remove: [crises_sanitaires]
  lines:
    add:
      - id: bonus
        label: Bonus
        volet: fixe
        amount: crises_fixe * 0.1
        reference: essai
  obligations:
    add:
      - id: suivi
        label: Suivi
        deadline: contract_year_end
        done: None if mission_started('crises_sanitaires') is None else contract_year_end
        reference: essai
""")
    path = write("sans-crises.yaml", text)
    [found] = errors_of(path)
    assert found.code == "E325"
    assert (found.line, found.column) == position(text, "crises_sanitaires]")
    line, column = position(text, "crises_fixe * 0.1")
    assert f"lines.bonus.amount at {path}:{line}:{column} reads crises_fixe" in found.message
    line, column = position(text, "None if mission_started")
    assert f"obligations.suivi.done at {path}:{line}:{column} reads 'crises_sanitaires'" in found.message


def test_w020_warns_at_a_formula_comparing_the_taille_with_a_number_when_the_table_changes(run_cli):
    run = run_cli("validate", PROPOSALS / "taille-5-sans-crises.yaml", "--format", "json")
    assert run.exit_code == 0, run.stderr
    [report] = json.loads(run.stdout)["files"]
    [warning] = report["diagnostics"]
    assert warning["code"] == "W020" and warning["severity"] == "warning"
    # avenant 2's majoration: `when: contrat_en_cours and taille == taille_majoration ...`
    line, column = position(AVENANT_2, "taille == taille_majoration")
    assert (warning["file"], warning["line"], warning["column"]) == ("rules/avenant-2.yaml", line, column)
    assert "4: 175001..∞ -> 175001..300000; 5: ∅ -> 300001..∞" in warning["message"]


@pytest.mark.parametrize("formula, warned", [
    ("10 if taille == 4 else 0", True),
    ("10 if taille in (3, 4) else 0", True),
    ("10 if 2 < taille else 0", True),
    ("10 if taille is None else 0", False),
    ("montant_fonctionnement * 2", False),
])
def test_w020_reads_literals_in_the_text_amended_not_in_the_amending_text(write, formula, warned):
    base = write("base.yaml", amendment(f"""\
changes:
  lines:
    add:
      - id: essai_taille
        label: Essai
        volet: fixe
        amount: {formula}
        reference: essai
""", id="base"))
    # Taille 3 now runs to 300 000: the same tailles, other boundaries.
    on_top = write("dessus.yaml", amendment(size_table(
        "{taille: 1, max: 39999}", "{taille: 2, min: 40000, max: 80000}", "{taille: 3, min: 80001, max: 300000}",
        "{taille: 4, min: 300001}"), id="dessus", amends="base.yaml"))
    notes = compiled(on_top).notes
    codes = [(n.code, n.line) for n in notes if same_file(n.file, base)]
    assert bool(codes) == warned, notes
    if warned:
        assert codes == [("W020", position(base.read_text(encoding="utf-8"), formula)[0])]
    # The proposal's own formulas were written for its own table: no warning there.
    assert not [n for n in notes if same_file(n.file, on_top)]


def test_a_proposal_figures_are_proposed_and_its_boundaries_do_not_fire_w005(run_cli, write):
    """A proposal's own set is 'proposed' whatever tag it wrote; its own class gives no W005."""
    text = amendment(FIFTH_TAILLE.replace("{taille: 5, min: 300001}", "{taille: 5, min: 300001, confidence: unverified}")
                     .replace("{taille: 2, min: 80000, max: 80000, confidence: unverified}",
                              "{taille: 2, min: 80000, max: 80000}"))
    edit = "\n".join(f"      {name}: {{by_taille: {{5: 1000}}, reference: essai, confidence: confirmed}}"
                     for name in by_taille_parameters())
    path = write("p.yaml", text + "  parameters:\n    edit:\n" + edit + "\n    set:\n"
                 "      part_avance: {value: 1, unit: taux, reference: essai, confidence: confirmed}\n")
    ruleset = compiled(path)
    assert ruleset.parameters["part_avance"].confidence == "proposed"
    assert ruleset.parameters["montant_fonctionnement"].confidence_for(5) == "proposed"
    classes = {(c.taille, c.low): c.confidence for c in ruleset.taille.classes}
    # Changed classes are the proposal's; restated ones keep the base's tag, whatever is written.
    assert classes[(5, 300001)] == "proposed" and classes[(4, 175001)] == "proposed"
    assert classes[(3, 80001)] == "confirmed" and classes[(2, 80000)] == "unverified"
    big = write("grande.yaml", "name: Grande\npopulation: 320000\ncontract_signed: 2022-01-01\n")
    result = eval_json(run_cli, big, day="2023-06-01", ruleset=path)
    assert result["size"] == 5 and "W005" not in {w["code"] for w in result["warnings"]}
    assert {line["id"]: line["confidence"] for line in result["lines"]}["fonctionnement"] == "proposed"


def test_the_provenance_of_a_line_names_the_proposal_and_its_reference(run_cli, write):
    from aci_rules.engine.diff import diff_rulesets
    from aci_rules.engine.provenance import line_provenance

    library = Library()
    proposal = compiled(PROPOSALS / "tableaux-modifies.yaml")
    found = {p.id: p for p in line_provenance(diff_rulesets(library.get("avenant-2"), proposal))}
    assert "montant_fonctionnement" in found["fonctionnement"].proposed
    assert found["fonctionnement"].to_dict()["proposal"] == {
        "id": "tableaux-modifies", "reference": "Hypothèse de test (tests/proposals/tableaux-modifies.yaml)"}
    assert found["fonctionnement"].weakest == "proposed"
    assert found["parcours_fixe"].proposed == () and found["parcours_fixe"].proposal is None
    profile = write("t1.yaml", "name: T1\npopulation: 30000\ncontract_signed: 2027-01-01\n")
    run = run_cli("eval", profile, "--date", "2027-06-01", "--ruleset", PROPOSALS / "tableaux-modifies.yaml",
                  "--lang", "en")
    assert run.exit_code == 0, run.stderr
    assert "proposed: figures put forward by tableaux-modifies (Hypothèse de test" in run.stdout


# -- 8. Both evaluation paths agree on generated table edits ---------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aci_rules.engine.yaml_loader import parse_document  # noqa: E402
from test_differential import assert_both_paths_agree  # noqa: E402

_SHARED = Library()
_MISSIONS = ("acces_soins", "parcours", "prevention", "qualite", "accompagnement", "crises_sanitaires")
_FACTORS = st.decimals(min_value=0, max_value=3, places=5, allow_nan=False, allow_infinity=False)
_SHIFTS = st.integers(-20000, 20000)


def flow(value) -> str:
    """A number, or a map of tailles to numbers, as YAML flow."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) + "}"
    return str(value)


@st.composite
def table_edits(draw):
    """A proposal on avenant 2 that scales, shifts or completes its tables, maybe with a fifth
    taille from a generated boundary, maybe without the crisis mission."""
    text = amendment("changes:\n", id="generee")
    fifth = draw(st.booleans())
    if fifth:
        boundary = draw(st.integers(175_002, 400_000))
        text += FIFTH_TAILLE.replace("changes:\n", "").replace("max: 300000", f"max: {boundary - 1}").replace(
            "min: 300001", f"min: {boundary}")
    edits = []
    for name in by_taille_parameters():
        fields = {}
        how = draw(st.sampled_from(["none", "scale", "shift", "both"]))
        if how in ("scale", "both"):
            fields["scale"] = draw(_FACTORS | st.dictionaries(st.sampled_from("1234"), _FACTORS, min_size=1))
        if how in ("shift", "both"):
            fields["shift"] = draw(st.dictionaries(st.sampled_from("1234"), _SHIFTS, min_size=1))
        if fifth:
            fields["by_taille"] = {"5": draw(st.integers(0, 200_000))}
        if fields:
            body = ", ".join(f"{k}: {flow(v)}" for k, v in fields.items())
            edits.append(f"      {name}: {{{body}, reference: essai, confidence: proposed}}\n")
    if edits:
        text += "  parameters:\n    edit:\n" + "".join(edits)
    if draw(st.booleans()):
        text += "  missions:\n    remove: [crises_sanitaires]\n"
    return text


@st.composite
def avenant_2_profiles(draw):
    signed = draw(st.dates(datetime.date(2025, 1, 1), datetime.date(2027, 12, 31)))
    data = {"name": "CPTS générée", "population": draw(st.sampled_from([39_999, 80_000, 175_001, 300_000])
                                                       | st.integers(0, 500_000)),
            "members": draw(st.integers(0, 200)), "contract_signed": signed.isoformat()}
    missions = {}
    for mission in draw(st.lists(st.sampled_from(_MISSIONS), unique=True)):
        started = signed + datetime.timedelta(days=draw(st.integers(0, 700)))
        missions[mission] = {"started": started.isoformat(), "achievement": draw(st.dictionaries(
            st.sampled_from(["1", "2", "3"]), st.integers(0, 100).map(lambda n: Decimal(n).scaleb(-2))))}
    if missions:
        data["missions"] = missions
    crises = draw(st.lists(st.dates(datetime.date(2025, 1, 1), datetime.date(2029, 12, 31)), max_size=2))
    if crises:
        data["crises"] = [{"declared": day.isoformat()} for day in crises]
    day = signed + datetime.timedelta(days=draw(st.integers(0, 3 * 365)))
    return compile_profile(load_document_from(data)), day


def load_document_from(data):
    from aci_rules.engine.yaml_loader import Document

    return Document("<generated>", data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(text=table_edits(), case=avenant_2_profiles())
def test_both_paths_agree_on_generated_table_edits(text, case):
    """The reference evaluator and the fast path give the same amounts, to the cent, on avenant 2
    edited by generated scales, shifts, fifth tailles and a removed mission."""
    profile, day = case
    try:
        _SHARED.compile(parse_document(text.encode(), "generee.yaml"))
    except InputError as error:  # a shift below 0: refused at the edit, nothing to compare
        assert {d.code for d in error.diagnostics} == {"E323"}, [str(d) for d in error.diagnostics]
        assert all("outside 0" in d.message for d in error.diagnostics)
        return
    assert_both_paths_agree(text, profile, day)


def test_e325_names_every_formula_reading_the_removed_mission_even_by_a_line_id():
    # The audit of issue 13: `sum_lines('id', 'crises_fixe')` gave a plain E102, and a line reading
    # the mission in its `when` and its amount was listed once; one E325 names all four formulas.
    path = PROPOSALS / "sans-crises-lue-ailleurs.yaml"
    text = path.read_text(encoding="utf-8")
    [found] = errors_of(path)
    assert found.code == "E325"
    assert (found.line, found.column) == position(text, "crises_sanitaires]")
    for reader, needle, read in (
            ("lines.bonus_crises.when", "contrat_en_cours and achievement", "'crises_sanitaires'"),
            ("lines.bonus_crises.amount", "sum_lines('id', 'crises_fixe') * 0.1", "'crises_fixe'"),
            ("lines.reprise_crises.amount", "sum_lines('id', 'crises_fixe')\n", "'crises_fixe'"),
            ("lines.reprise_crises.maximum", "sum_maxima('id', 'crises_fixe')", "'crises_fixe'")):
        line, column = position(text, needle)
        assert f"{reader} at {found.file}:{line}:{column} reads {read}" in found.message
    assert "(4)" in found.message


# -- A mission's own in-force date is its items' (issue 13's audit) --------------------------------

MISSION_2028 = PROPOSALS / "mission-datee-items-sans-date.yaml"


def test_a_missions_items_without_a_date_of_their_own_follow_the_missions_date(run_cli, write):
    # The proposal is in force on 2027-01-01, its mission « numérique » on 2028-01-01; the
    # mission's parameter, line and obligation carry no date. Before the audit, eval on any day of
    # 2027 failed with E208 (unknown mission) even for a profile that does not name the mission.
    library = Library()
    document = library.document(str(MISSION_2028))
    before, after = (library.compile(document, datetime.date.fromisoformat(d)) for d in ("2027-06-01", "2028-01-01"))
    assert "numerique" not in before.missions and "numerique" in after.missions
    assert "numerique_fixe" not in [line.id for line in before.lines]
    assert "numerique_fixe" in [line.id for line in after.lines]
    assert "montant_numerique_fixe" not in before.parameters and "montant_numerique_fixe" in after.parameters
    assert "numerique_plan" not in [o.id for o in before.obligations]
    assert "numerique_plan" in [o.id for o in after.obligations]
    # A taille-4 CPTS (181 000 inhabitants, FACTS.md §2) signed on 2027-01-01, the mission started
    # in 2027: nothing for it in 2027; in contract year 2 (2028), the whole year's 20 000 €
    # (the proposal's taille-4 figure).
    profile = write("t4.yaml", "name: T4\npopulation: 181000\ncontract_signed: 2027-01-01\n"
                               "missions:\n  numerique: {started: 2027-03-01}\n")
    amounts = {}
    for day in ("2027-06-01", "2028-06-01"):
        run = run_cli("eval", profile, "--date", day, "--ruleset", MISSION_2028, "--format", "json")
        assert run.exit_code == 0, run.stderr
        amounts[day] = {line["id"]: line["amount"] for line in json.loads(run.stdout)["lines"]}
    assert "numerique_fixe" not in amounts["2027-06-01"]
    assert amounts["2028-06-01"]["numerique_fixe"] == "20000.00"
    run = run_cli("validate", MISSION_2028)
    assert run.exit_code == 0, run.stderr


def test_an_item_dated_before_its_mission_is_e360_naming_both_dates(write):
    text = MISSION_2028.read_text(encoding="utf-8").replace(
        "        reference: Hypothèse d'essai\n  obligations:",
        "        reference: Hypothèse d'essai\n        in_force: 2027-06-01\n  obligations:")
    path = write("avant-sa-mission.yaml", text)
    [found] = errors_of(path)
    assert found.code == "E360"
    assert (found.line, found.column) == position(text, "2027-06-01\n  obligations")
    assert "line 'numerique_fixe' is in force from 2027-06-01, before its mission 'numerique' (2028-01-01)" \
        in found.message


def test_validate_finds_what_fails_only_before_a_provision_enters_into_force(run_cli, write):
    # A line outside the mission, undated, reads the mission's line: on every day of 2027 that
    # line is not in force yet. Consolidating every provision at once cannot see it.
    text = MISSION_2028.read_text(encoding="utf-8").replace(
        "  obligations:", "      - id: bonus_numerique\n        label: Bonus\n        volet: fixe\n"
                          "        amount: numerique_fixe * 0.1\n        reference: essai\n  obligations:")
    path = write("lue-trop-tot.yaml", text)
    run = run_cli("validate", path, "--lang", "en")
    assert run.exit_code == 1
    line, column = position(text, "numerique_fixe * 0.1")
    assert f"{path}:{line}:{column}: E102 unknown name 'numerique_fixe'" in run.stderr
    assert "(in the text as in force on 2027-01-01)" in run.stderr


def test_a_removed_line_still_selected_by_id_is_reported_at_its_removal(write):
    # Not the mission this time, one of its lines: sum_lines('id', ...) and sum_maxima('id', ...)
    # that still select it are an E307 at the removal, as a formula naming it is.
    text = (PROPOSALS / "sans-crises-lue-ailleurs.yaml").read_text(encoding="utf-8").replace(
        "  missions:\n    remove: [crises_sanitaires]\n  lines:\n", "  lines:\n    remove: [crises_fixe]\n").replace(
        "contrat_en_cours and achievement('crises_sanitaires') >= 0.9", "contrat_en_cours")
    path = write("sans-crises-fixe.yaml", text)
    found = errors_of(path)
    assert {d.code for d in found} == {"E307"}
    assert {(d.line, d.column) for d in found} == {position(text, "crises_fixe]")}
    for needle in ("sum_lines('id', 'crises_fixe') * 0.1", "sum_lines('id', 'crises_fixe')\n",
                   "sum_maxima('id', 'crises_fixe')"):
        line, column = position(text, needle)
        assert any(f"still read at {path}:{line}:{column}" in d.message for d in found), needle
