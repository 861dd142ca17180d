"""``aci-rules schedule``: the payment calendar of a contract, through the CLI.

What is checked (FACTS.md §5 contract years, §6 payment schedule of seed 002; seed 003
action 5.4 for the Plan « 100 % CPTS »; HOSTILE_INPUTS.md item 27 for ``--output``):

* the three formats (text with French amounts and subtotals, one JSON document, CSV with a
  header and one row per payment) tell the same payments and the same total;
* ``--until`` keeps exactly the payments due on or before it;
* ``--ruleset examples/plan-100-cpts.yaml`` pays fonctionnement and fixed parts 100 % in
  their own contract year;
* a profile with no contract and no letter of intent has an empty calendar;
* the obligations of the socle missions are reported with deadline and status (FACTS.md §4, §5);
* ``--output`` writes all at once: a missing folder or a folder as target is exit 1 / E011
  and creates nothing, success leaves no temporary file, an interruption mid-way leaves the
  previous file byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
import pathlib
import os
import re
from decimal import Decimal

import pytest

import aci_rules.cli.calendar as calendar_module
import aci_rules.cli.output as output_module

from conftest import EXAMPLES

# Seed 002's CPTS (tests/cases/schedule-seed-002.yaml): taille 3, signed under avenant 2 on
# 2022-10-15 (after 2022-09-30: no supplement), parcours starting six months later.
SEED_002 = """\
name: CPTS de taille 3
population: 120000
contract_signed: 2022-10-15
missions:
  acces_soins: {started: 2022-10-15, achievement: {1: 1, 2: 0.8}}
  parcours: {started: 2023-04-15, achievement: {1: 1, 2: 1}}
"""

# Same CPTS with each kind of obligation status at 2024-10-15 (FACTS.md §4 delays:
# acces_soins 6 / 18 months, parcours and prevention 12 / 24, crises 6 / 18 from 2022-09-03
# or the signature).
OBLIGATIONS = """\
name: CPTS des obligations
population: 120000
contract_signed: 2022-10-15
missions:
  acces_soins: {started: 2022-10-15, achievement: {1: 1}}
  parcours: {started: 2023-04-15}
  prevention: {started: 2024-01-10}
  crises_sanitaires: {started: 2023-02-01, deployed: 2024-03-01}
"""

NO_CONTRACT = """\
name: CPTS en projet
population: 60000
members: 20
"""

JSON_KEYS = {"profile", "years", "payments", "by_contract_year", "by_calendar_year", "total",
             "obligations_as_of", "obligations", "warnings", "assumptions"}
CSV_HEADER = ["due", "contract_year", "line", "label", "mission", "volet", "installment", "amount",
              "rule", "reference"]
FRENCH_AMOUNT = r"-?\d{1,3}(?: \d{3})*,\d{2} €"


def _euros(text: str) -> str:
    """'267561.64' -> '267 561,64 €' (the text output's way, written independently)."""
    whole, cents = f"{Decimal(text):.2f}".split(".")
    return f"{int(whole):,}".replace(",", " ") + f",{cents} €"


def _json(run, *args):
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.exception is None
    return json.loads(result.stdout)  # one document: json.loads refuses anything after it


@pytest.fixture
def seed(write):
    return write("seed-002.yaml", SEED_002)


# -- text ---------------------------------------------------------------------------------


def test_text_lists_payments_with_french_amounts_and_subtotals(run_cli, seed):
    """FACTS.md §6: the seed 002 calendar, with every amount written the French way."""
    result = run_cli("schedule", seed, "--until", "2024-10-15")
    assert result.exit_code == 0, result.stderr
    assert result.exception is None
    out = result.stdout
    assert "Traceback" not in out + result.stderr

    rows = [line for line in out.splitlines() if re.match(r"\s+\d{4}-\d{2}-\d{2}\s+\d+\s", line)]
    # The 14 payments of tests/cases/schedule-seed-002.yaml, and the other 4 due on 2024-10-15
    # (year 2's fixed balances, year 3's fixed advances).
    assert len(rows) == 18
    for row in rows:
        assert re.search(FRENCH_AMOUNT + r"$", row), row
    # At the signature: 100 % of fonctionnement and 75 % of the fixed part of accès aux soins.
    assert re.search(r"2022-10-15\s+1\s+fonctionnement\s.*\s75 000,00 €$", out, re.M)
    assert re.search(r"2022-10-15\s+1\s+acces_soins_fixe\s.*\s67 500,00 €$", out, re.M)
    # Parcours's first fixed part prorated from its start (FACTS.md §5): 75 % x 22 561,64.
    assert re.search(r"2023-04-15\s+1\s+parcours_fixe\s.*\s16 921,23 €$", out, re.M)
    assert re.search(r"2023-10-15\s+1\s+parcours_fixe\s.*\s5 640,41 €$", out, re.M)
    assert re.search(r"^\s+Total\s+708 061,64 €$", out, re.M)

    by_contract = out.split("Par année de contrat", 1)[1].split("Par année civile", 1)[0]
    assert re.search(r"année 1\s+267 561,64 €", by_contract)
    assert re.search(r"année 2\s+283 000,00 €", by_contract)
    assert re.search(r"année 3\s+157 500,00 €", by_contract)
    by_calendar = out.split("Par année civile", 1)[1]
    assert re.search(r"2022\s+142 500,00 €", by_calendar)
    assert re.search(r"2023\s+282 561,64 €", by_calendar)
    assert re.search(r"2024\s+283 000,00 €", by_calendar)


def test_text_subtotals_add_up_to_the_total(run_cli, seed):
    """Every subtotal of the text is the JSON one, written the French way."""
    document = _json(run_cli, "schedule", seed)
    out = run_cli("schedule", seed).stdout
    assert re.search(r"^\s+Total\s+" + re.escape(_euros(document["total"])) + "$", out, re.M)
    for number, amount in document["by_contract_year"].items():
        assert re.search(rf"année {number}\s+{re.escape(_euros(amount))}$", out, re.M)
    for year, amount in document["by_calendar_year"].items():
        assert re.search(rf"^\s+{year}\s+{re.escape(_euros(amount))}$", out, re.M)
    assert sum(map(Decimal, document["by_contract_year"].values())) == Decimal(document["total"])
    assert sum(map(Decimal, document["by_calendar_year"].values())) == Decimal(document["total"])


# -- json, csv ----------------------------------------------------------------------------


def test_json_is_one_document_with_the_calendar(run_cli, seed):
    document = _json(run_cli, "schedule", seed)
    assert set(document) == JSON_KEYS
    assert document["profile"] == "CPTS de taille 3"
    assert [y["contract_year"] for y in document["years"]] == [1, 2, 3, 4, 5]  # FACTS.md §5: 5 years
    payments = document["payments"]
    assert payments and [p["due"] for p in payments] == sorted(p["due"] for p in payments)
    total = sum(Decimal(p["amount"]) for p in payments)
    assert total == Decimal(document["total"])
    for year in document["years"]:
        paid = sum(Decimal(p["amount"]) for p in payments if p["contract_year"] == year["contract_year"])
        assert paid == Decimal(year["total"]) == sum(map(Decimal, year["lines"].values()))
        assert Decimal(document["by_contract_year"][str(year["contract_year"])]) == paid
    assert document["obligations_as_of"] == "2027-10-14"  # the last day of contract year 5


def test_csv_has_a_header_and_one_row_per_payment(run_cli, seed):
    document = _json(run_cli, "schedule", seed)
    result = run_cli("schedule", seed, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == CSV_HEADER
    body = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert len(body) == len(document["payments"])
    assert sum(Decimal(row["amount"]) for row in body) == Decimal(document["total"])
    assert [(r["due"], r["line"], r["amount"]) for r in body] == [
        (p["due"], p["line"], p["amount"]) for p in document["payments"]]


# -- --until --------------------------------------------------------------------------------


@pytest.mark.parametrize("until", ["2022-10-14", "2022-10-15", "2023-04-15", "2023-10-14", "2025-01-01"])
def test_until_keeps_only_the_payments_due_on_or_before_it(run_cli, seed, until):
    everything = _json(run_cli, "schedule", seed)["payments"]
    kept = _json(run_cli, "schedule", seed, "--until", until)["payments"]
    assert all(p["due"] <= until for p in kept)
    assert kept == [p for p in everything if p["due"] <= until]


def test_until_before_the_signature_is_an_empty_calendar(run_cli, seed):
    document = _json(run_cli, "schedule", seed, "--until", "2022-10-14")
    assert document["payments"] == [] and Decimal(document["total"]) == 0


# -- the Plan « 100 % CPTS » -------------------------------------------------------------------


def test_plan_100_cpts_pays_fonctionnement_and_fixed_parts_in_their_own_year(run_cli, seed):
    """Seed 003, action 5.4: « Financement de 100 % à l'année N au lieu de 75 % N / 25 % N+1 »."""
    # Applied from the signature (its own date is 2024-01-01), explicitly: every year is the plan's.
    plan = _json(run_cli, "schedule", seed, "--ruleset", EXAMPLES / "plan-100-cpts.yaml",
                 "--as-if-in-force-from", "2022-10-15")
    assert plan["assumptions"] and "2022-10-15" in plan["assumptions"][0]
    years = {y["contract_year"]: y for y in plan["years"]}
    checked = 0
    for payment in plan["payments"]:
        if payment["volet"] not in ("fonctionnement", "fixe"):
            continue
        year = years[payment["contract_year"]]
        assert year["start"] <= payment["due"] <= year["end"], payment
        assert Decimal(payment["amount"]) == Decimal(year["lines"][payment["line"]]), payment
        checked += 1
    lines = {(p["contract_year"], p["line"]) for p in plan["payments"] if p["volet"] in ("fonctionnement", "fixe")}
    assert checked == len(lines) >= 15  # one payment per line and year, 5 years x (fonctionnement + 2 fixe)
    # Under the texts in force the same lines leave a balance for the next year (FACTS.md §6).
    enacted = _json(run_cli, "schedule", seed)
    enacted_years = {y["contract_year"]: y for y in enacted["years"]}
    assert any(p["due"] > enacted_years[p["contract_year"]]["end"]
               for p in enacted["payments"] if p["volet"] == "fixe")


def test_plan_100_cpts_from_its_own_date_leaves_the_years_before_it_to_avenant_2(run_cli, seed):
    """DESIGN.md § Time: a proposal applies from its own in-force date (2024-01-01 for the plan).
    Contract year 1 (2022-10-15 to 2023-10-14) is wholly before it: the same entitlement and the
    same payments as under the texts in force (75 % then 25 %, FACTS.md §6)."""
    plan = _json(run_cli, "schedule", seed, "--ruleset", EXAMPLES / "plan-100-cpts.yaml")
    enacted = _json(run_cli, "schedule", seed)
    assert plan["years"][0] == enacted["years"][0]
    assert [p for p in plan["payments"] if p["contract_year"] == 1] == \
        [p for p in enacted["payments"] if p["contract_year"] == 1]
    assert [s["ruleset"] for s in plan["years"][1]["segments"]] == ["avenant-2", "plan-100-cpts"]


# -- no contract --------------------------------------------------------------------------------


def test_no_contract_and_no_letter_of_intent_is_an_empty_calendar(run_cli, write):
    profile = write("projet.yaml", NO_CONTRACT)
    document = _json(run_cli, "schedule", profile)
    assert document["payments"] == [] and document["years"] == []
    assert Decimal(document["total"]) == 0
    assert document["obligations"] == [] and document["obligations_as_of"] is None
    for output_format in ("text", "csv"):
        result = run_cli("schedule", profile, "--format", output_format)
        assert result.exit_code == 0, result.stderr
    text = run_cli("schedule", profile).stdout
    assert re.search(r"^\s+Total\s+0,00 €$", text, re.M)
    csv_rows = list(csv.reader(io.StringIO(run_cli("schedule", profile, "--format", "csv").stdout)))
    assert csv_rows == [CSV_HEADER]


def test_letter_of_intent_before_any_text_still_gives_the_contract_calendar(run_cli, write):
    """FACTS.md §1 (aci-2019 in force 2019-08-25), §5: the 5 contract years are still due."""
    profile = write("loi-2019.yaml", "name: CPTS pionnière\npopulation: 120000\n"
                    "letter_of_intent_validated: 2019-06-01\ncontract_signed: 2019-10-01\n")
    result = run_cli("schedule", profile, "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [y["contract_year"] for y in document["years"]] == [1, 2, 3, 4, 5]


# -- obligations -------------------------------------------------------------------------------


def test_obligations_of_the_socle_missions_with_deadline_and_status(run_cli, write):
    """FACTS.md §4 (start / deploy within 6/18, 12/24, 12/24, 6/18 months) and §5 (report a miss)."""
    profile = write("obligations.yaml", OBLIGATIONS)
    document = _json(run_cli, "schedule", profile, "--until", "2024-10-15")
    assert document["obligations_as_of"] == "2024-10-15"
    found = {o["id"]: (o["mission"], o["deadline"], o["status"]) for o in document["obligations"]}
    assert found == {
        "acces_soins_demarrage": ("acces_soins", "2023-04-15", "met"),
        "acces_soins_deploiement": ("acces_soins", "2024-04-15", "missing"),
        "parcours_demarrage": ("parcours", "2023-10-15", "met"),
        "parcours_deploiement": ("parcours", "2024-10-15", "pending"),
        "prevention_demarrage": ("prevention", "2023-10-15", "late"),
        "prevention_deploiement": ("prevention", "2024-10-15", "pending"),
        "crises_sanitaires_demarrage": ("crises_sanitaires", "2023-04-15", "met"),
        "crises_sanitaires_deploiement": ("crises_sanitaires", "2024-04-15", "met"),
    }
    text = run_cli("schedule", profile, "--until", "2024-10-15").stdout
    assert "Obligations au 2024-10-15" in text
    for label, deadline, status in [
        ("Démarrage de la mission accès aux soins", "2023-04-15", "met"),
        ("Déploiement complet de la mission accès aux soins", "2024-04-15", "missing"),
        ("Démarrage de la mission prévention", "2023-10-15", "late"),
        ("Déploiement complet de la mission parcours pluriprofessionnels", "2024-10-15", "pending"),
    ]:
        # The same words as eval's: the French status, then its code.
        french = {"met": "tenue", "late": "en retard", "missing": "manquée", "pending": "à venir"}[status]
        assert re.search(rf"{re.escape(label)}\s+échéance {deadline}\s.*\s{french} \({status}\)$", text, re.M), label


# -- --output -----------------------------------------------------------------------------------


def _temporaries(folder) -> list:
    return sorted(name for name in os.listdir(folder) if name.startswith(".aci-rules-") and name.endswith(".tmp"))


@pytest.mark.parametrize("output_format", ["text", "json", "csv"])
def test_output_writes_the_file_and_leaves_no_temporary(run_cli, seed, tmp_path, output_format):
    target = tmp_path / "out" / f"calendar.{output_format}"
    target.parent.mkdir()
    result = run_cli("schedule", seed, "--format", output_format, "--output", target)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    expected = run_cli("schedule", seed, "--format", output_format).stdout
    assert target.read_text(encoding="utf-8") == expected
    assert _temporaries(target.parent) == []
    assert os.listdir(target.parent) == [target.name]


def test_output_replaces_an_existing_file(run_cli, seed, tmp_path):
    target = tmp_path / "calendar.json"
    target.write_bytes(b"old content\n")
    result = run_cli("schedule", seed, "--format", "json", "--output", target)
    assert result.exit_code == 0, result.stderr
    assert set(json.loads(target.read_text(encoding="utf-8"))) == JSON_KEYS
    assert _temporaries(tmp_path) == []


def test_output_into_a_missing_folder_is_E011_and_creates_nothing(run_cli, seed, tmp_path):
    """HOSTILE_INPUTS.md item 27: an output path in a directory that does not exist."""
    before = sorted(os.listdir(tmp_path))
    target = tmp_path / "missing" / "calendar.json"
    result = run_cli("schedule", seed, "--format", "json", "--output", target)
    assert result.exit_code == 1
    assert result.exception is None
    assert re.search(r"\bE011\b", result.stderr)
    assert "Traceback" not in result.stderr
    assert not target.exists() and not target.parent.exists()
    assert sorted(os.listdir(tmp_path)) == before


def test_output_to_a_folder_is_exit_1_E011_and_writes_nothing(run_cli, seed, tmp_path):
    """HOSTILE_INPUTS.md item 27: a folder as the output path is bad data (exit 1, E011)."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = run_cli("schedule", seed, "--output", folder)
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert re.search(r"\bE011\b", result.stderr)
    assert result.exception is None
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    assert os.listdir(folder) == []
    assert _temporaries(tmp_path) == []


class _HalfWriter:
    """A text stream that writes half of what it is given, then is interrupted (Ctrl-C)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        self.stream.write(text[: len(text) // 2])
        self.stream.flush()
        raise KeyboardInterrupt

    def __getattr__(self, name):
        return getattr(self.stream, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.stream.__exit__(*exc)


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["render", "write", "fsync", "replace"])
def test_an_interrupted_write_leaves_the_previous_file_untouched(run_cli, seed, tmp_path, monkeypatch, where):
    """HOSTILE_INPUTS.md item 27: Ctrl-C half-way — the target is untouched, no temporary left."""
    target = tmp_path / "calendar.json"
    previous = b'{"previous": "content"}\n\x00\xff bytes that must survive\n'
    target.write_bytes(previous)
    if where == "render":
        monkeypatch.setattr(calendar_module, "render_schedule_json", _interrupt)
    elif where == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(output_module.os, "fdopen", lambda *a, **k: _HalfWriter(real_fdopen(*a, **k)))
    elif where == "fsync":
        monkeypatch.setattr(output_module.os, "fsync", _interrupt)
    else:
        monkeypatch.setattr(output_module.os, "replace", _interrupt)
    result = run_cli("schedule", seed, "--format", "json", "--output", target)
    monkeypatch.undo()
    assert result.exit_code not in (0, 1), (result.exit_code, result.stderr)
    assert result.exception is None  # interrupted cleanly, no traceback
    assert "Traceback" not in result.stdout + result.stderr
    assert target.read_bytes() == previous
    assert _temporaries(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["calendar.json", "seed-002.yaml"]


def test_schedule_keeps_the_warnings_eval_gives(run_cli, write):
    """The calendar once dropped eval's warnings ("warnings": []): a year whose variable part is
    0 for want of an achievement must say so, in text and in JSON, as eval does on that year."""
    profile = write("p.yaml", "name: CPTS sans taux\npopulation: 92000\ncontract_signed: 2022-10-15\n"
                              "missions:\n  parcours: {started: 2022-10-15, achievement: {1: 1.0}}\n")
    as_json = run_cli("schedule", profile, "--until", "2024-12-31", "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    warnings = json.loads(as_json.stdout)["warnings"]
    eval_year_2 = run_cli("eval", profile, "--date", "2023-11-01", "--format", "json")
    expected = [w for w in json.loads(eval_year_2.stdout)["warnings"] if w["code"] == "W002"]
    assert expected and "contract year 2 of mission 'parcours'" in expected[0]["message"]
    assert expected[0] in warnings
    assert not any("contract year 1 of mission 'parcours'" in w["message"] for w in warnings)
    as_text = run_cli("schedule", profile, "--until", "2024-12-31")
    assert as_text.exit_code == 0
    assert f"{profile}:5:13: W002 no achievement given for contract year 2 of mission 'parcours'" in as_text.stdout


def test_schedule_without_a_contract_says_why(run_cli, write):
    profile = write("p.yaml", "name: CPTS en projet\npopulation: 92000\n")
    result = run_cli("schedule", profile, "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["payments"] == []
    assert [w["code"] for w in document["warnings"]] == ["W003"]


def test_a_label_cut_in_the_schedule_table_ends_with_an_ellipsis(run_cli):
    """« à l'anniversaire s » once read as a whole label: a cut text must show that it is cut."""
    example = pathlib.Path(__file__).resolve().parent.parent / "examples" / "cpts-avenant-2-taille-4.yaml"
    payments = json.loads(run_cli("schedule", example, "--format", "json").stdout)["payments"]
    text = run_cli("schedule", example).stdout
    long = [p for p in payments if len(p["installment"]) > 44]
    assert long, "the example has no installment label longer than the column"
    for payment in payments:
        label = payment["installment"]
        shown = label if len(label) <= 44 else label[:43] + "…"
        assert f" {shown} " in text or f" {shown}\n" in text, shown
    assert not any(f" {p['installment'][:44]} " in text for p in long)
