"""aci-rules sweep: variants of a text's figures, and the error bars of its figures not confirmed.

Every variant's totals are checked against the scalar fast path run on the same text with
the variant's figures (engine/vector.py's timeline over ``Timeline.mapped``), so a sweep's
national cost is the sum of what ``batch`` would give for that text, to the cent.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest

np = pytest.importorskip("numpy")

from aci_rules.engine.sweep import parse_vary, variant_entry  # noqa: E402
from aci_rules.engine.batch import read_profiles  # noqa: E402
from aci_rules.engine.fastpath import FastTimeline  # noqa: E402
from aci_rules.engine.library import Library  # noqa: E402
from aci_rules.engine.profile import compile_profile  # noqa: E402
from aci_rules.engine.vector import VectorTimeline  # noqa: E402
from conftest import DIAGNOSTIC, EXAMPLES, no_traceback, one_json_document  # noqa: E402

SAMPLE = EXAMPLES / "national-sample.csv"
PARAMETERS = Library().get("avenant-2").parameters
# Two figures of avenant 2 as the issue varies them: a by_taille table by a factor, a rate by values
# (the majoration of taille 4, 10 % as written).
TABLE, RATE = "montant_acces_soins_fixe", "taux_majoration"


def _profiles(library):
    missions = set(library.get("avenant-2").missions)
    return [compile_profile(s.document) for s in read_profiles(str(SAMPLE), missions)]


def test_every_variant_gives_the_scalar_paths_totals_to_the_cent():
    """On 2022-06-01 most contract years are cut by avenant 2's entry into force."""
    library = Library()
    timeline = library.timeline(None)
    profiles = _profiles(library)[:150]
    # 22 variants: over 16, the parts of years cut by avenant 2 are combined as columns too.
    varies = [parse_vary(f"{TABLE}=x0.9,1.1"), parse_vary(f"{RATE}=0:0.1:0.01")]
    combinations = [(a, b) for a in varies[0].values for b in varies[1].values]
    overrides = {vary.name: [None] + [variant_entry(vary, values[i]) for values in combinations]
                 for i, vary in enumerate(varies)}
    vector = VectorTimeline(timeline, overrides, len(combinations) + 1)
    for day in (datetime.date(2022, 6, 1), datetime.date(2024, 6, 1)):
        outcome = vector.run(profiles, day)
        assert not outcome.errors
        for variant in range(len(combinations) + 1):
            fast = FastTimeline(timeline.mapped(lambda r, v=variant: vector.variant_ruleset(r, v)))
            expected = [str(fast.run(p, day)[1].total) for p in profiles]
            assert [str(Decimal(int(t)).scaleb(-2)) for t in outcome.totals[variant]] == expected, (day, variant)


def test_a_factor_scales_each_taille_of_a_table_to_the_cent():
    parameter = PARAMETERS[TABLE]
    scaled = variant_entry(parse_vary(f"{TABLE}=x1.1"), Decimal("1.1"))(parameter)
    # avenant 2's table times 1.1, each cell rounded half up to the cent (FACTS: the barème by taille).
    assert scaled == {t: (Decimal(v) * Decimal("1.1")).quantize(Decimal("0.01")) for t, v in parameter.by_taille.items()}
    assert scaled[3] == Decimal("99000.00")  # 90 000 x 1.1


def test_sweep_text_csv_and_json_agree(run_cli):
    args = ["sweep", SAMPLE, "--date", "2024-06-01", "--vary", f"{RATE}=0,0.1"]
    text = run_cli(*args)
    no_traceback(text)
    assert text.exit_code == 0, text.stderr
    assert "Balayage" in text.stdout and "référence" in text.stdout
    document = one_json_document(run_cli(*args, "--format", "json").stdout)
    block = document["dates"][0]
    same = next(row for row in block["variants"] if row["values"][RATE] == "0.1")
    assert same["difference"] == "0.00" and same["gain"] == 0 and same["lose"] == 0  # the text as written
    none = next(row for row in block["variants"] if row["values"][RATE] == "0")
    assert Decimal(none["difference"]) < 0 and none["gain"] == 0 and none["lose"] > 0
    assert sum(Decimal(e["difference"]) for e in none["by_taille"].values()) == Decimal(none["difference"])
    # Only taille 4 reads the rate on avenant 2 (its majoration): the other tailles do not move.
    assert all(Decimal(e["difference"]) == 0 for t, e in none["by_taille"].items() if t != "4")
    rows = run_cli(*args, "--format", "csv").stdout.splitlines()
    assert rows[0].startswith("date,text,variant," + RATE + ",cost,baseline,difference")
    assert len(rows) == 3 and rows[1].split(",")[6] == none["difference"]


@pytest.mark.parametrize("vary, wanted", [
    ("montant", "NOM=VALEURS"),
    ("x=1:2", "DE:À:PAS"),
    ("x=2:1:1", "DE <= À"),
    ("x=1e5", "n'est pas un nombre"),
    ("taux_majoraton=1", "vouliez-vous dire 'taux_majoration'"),
])
def test_a_bad_vary_is_a_usage_error(run_cli, vary, wanted):
    result = run_cli("sweep", SAMPLE, "--date", "2024-06-01", "--vary", vary)
    no_traceback(result)
    assert result.exit_code == 2 and wanted in result.stderr, result.stderr


def test_sweep_without_numpy_says_how_to_install_it(run_cli, monkeypatch):
    """Without the `vector` extra, a usage error that names it (it was an internal error: the
    command's own variable shadowed the renderer of the message)."""
    import aci_rules.engine.vector as vector

    monkeypatch.setattr(vector, "np", None)
    result = run_cli("sweep", SAMPLE, "--date", "2024-06-01", "--vary", f"{RATE}=0,0.1")
    no_traceback(result)
    assert result.exit_code == 2 and "pip install 'aci-rules[vector]'" in result.stderr, result.stderr


def test_the_number_of_variants_is_bounded(run_cli):
    result = run_cli("sweep", SAMPLE, "--date", "2024-06-01", "--vary", f"{RATE}=0:0.1:0.001",
                     "--vary", f"{TABLE}=x0.5:1.5:0.01", "--max-variants", "1000")
    assert result.exit_code == 2 and "10201 variantes" in result.stderr, result.stderr
    result = run_cli("sweep", SAMPLE, "--date", "2024-06-01")
    assert result.exit_code == 2 and "--vary" in result.stderr


def test_a_bad_profile_is_reported_at_its_place(run_cli, write):
    path = write("sample.csv", "name,population\nCPTS,abc\n")
    result = run_cli("sweep", path, "--date", "2024-06-01", "--vary", f"{RATE}=0,0.1")
    no_traceback(result)
    assert result.exit_code == 1
    assert DIAGNOSTIC.match(result.stderr.splitlines()[0]), result.stderr


PROPOSAL = """\
id: essai-incertitude
title: Essai d'incertitude
kind: proposal
status: proposal
reference: tests/test_sweep.py (aucun texte)
dates: {in_force: 2019-08-25}
contract: {duration_years: 5, reference: essai, confidence: confirmed}
taille:
  basis: population
  reference: essai
  confidence: confirmed
  classes:
    - {taille: 1, max: 79999}
    - {taille: 2, min: 80000}
missions:
  - {id: alpha, label: Mission alpha, kind: socle}
parameters:
  montant:
    unit: EUR
    by_taille: {1: 50000, 2: 70000}
    reference: essai
    confidence: {1: unverified, 2: confirmed}
    plausible: {by_taille: {1: {min: LOW, max: HIGH}}, reason: essai}
  taux:
    unit: taux
    value: 0.5
    reference: essai
    confidence: unverified
    plausible: {min: RATE_LOW, max: RATE_HIGH, reason: essai}
lines:
  - id: l0
    label: Ligne 0
    volet: fonctionnement
    reference: essai
    when: contract_year is not None
    amount: montant * taux
"""


def _proposal(write, low="50000", high="50000", rate_low="0.5", rate_high="0.5"):
    text = (PROPOSAL.replace("RATE_LOW", rate_low).replace("RATE_HIGH", rate_high)
            .replace("LOW", low).replace("HIGH", high))
    return write("essai-incertitude.yaml", text)


def test_zero_width_ranges_give_the_point_value(run_cli, write):
    path = _proposal(write)
    result = run_cli("sweep", SAMPLE, "--ruleset", path, "--date", "2024-06-01", "--uncertainty", "50",
                     "--format", "json")
    assert result.exit_code == 0, result.stderr
    block = one_json_document(result.stdout)["dates"][0]
    national = block["national"]
    assert national["point"] == national["median"] == national["low"] == national["high"]
    assert all(c["point"] == c["low"] == c["high"] for c in block["cpts"])
    # A CPTS of taille 1 in contract: 50 000 x 0.5.
    assert any(c["taille"] == 1 and c["point"] == "25000.00" for c in block["cpts"])


def test_a_fixed_seed_gives_the_same_intervals(run_cli, write):
    path = _proposal(write, "40000", "60000", "0.25", "0.75")
    args = ["sweep", SAMPLE, "--ruleset", path, "--date", "2024-06-01", "--uncertainty", "200", "--format", "json"]
    first = one_json_document(run_cli(*args, "--seed", "7").stdout)
    again = one_json_document(run_cli(*args, "--seed", "7").stdout)
    other = one_json_document(run_cli(*args, "--seed", "8").stdout)
    assert first == again
    assert first["dates"][0]["national"] != other["dates"][0]["national"]
    national = first["dates"][0]["national"]
    assert Decimal(national["low"]) < Decimal(national["point"]) < Decimal(national["high"])
    # Each draw stays in its range: a taille-1 CPTS in contract is paid 40 000 x 0.25 to 60 000 x 0.75.
    taille_1 = [c for c in first["dates"][0]["cpts"] if c["taille"] == 1 and c["point"] != "0.00"]
    assert taille_1 and all(Decimal("10000") <= Decimal(c["low"]) <= Decimal(c["high"]) <= Decimal("45000")
                            for c in taille_1)
    assert {(f["parameter"], f["taille"]) for f in first["drawn"]} == {("montant", 1), ("taux", None)}


@pytest.mark.parametrize("low, high, code, where", [
    ("55000", "60000", "E204", "outside its plausible range"),
    ("40000", "45000", "E204", "outside its plausible range"),
])
def test_the_loader_checks_the_plausible_range(run_cli, write, low, high, code, where):
    path = _proposal(write, low, high)
    result = run_cli("validate", path)
    assert result.exit_code == 1
    line = next(l for l in result.stderr.splitlines() if code in l)
    assert DIAGNOSTIC.match(line) and "hors de sa fourchette plausible" in line, result.stderr


def test_a_range_for_a_taille_the_table_lacks_is_refused(run_cli, write):
    path = write("essai-incertitude.yaml", PROPOSAL.replace("{1: {min: LOW, max: HIGH}}", "{3: {min: 1, max: 2}}")
                 .replace("RATE_LOW", "0.5").replace("RATE_HIGH", "0.5"))
    result = run_cli("validate", path)
    assert result.exit_code == 1 and "E303" in result.stderr, result.stderr


def test_the_shipped_ranges_hold_their_values_and_give_reasons():
    from aci_rules.engine.plausible import uncertain_cells

    cells, _ = uncertain_cells(Library().get("avenant-2"))
    assert cells and all(c.low <= c.value <= c.high and c.reason.strip() and c.confidence != "confirmed"
                         for c in cells)


def test_a_range_is_left_aside_when_a_later_text_changes_its_figure():
    """tests/proposals/tableaux-modifies.yaml raises avenant 2's majoration rate to 15 %: the range
    avenant 2 gives for its own 10 % no longer speaks of that figure (neither checked nor drawn);
    the ranges of figures it leaves alone still apply."""
    from aci_rules.engine.plausible import uncertain_cells

    ruleset = Library().get("tests/proposals/tableaux-modifies.yaml")
    assert ruleset.parameters[RATE].value == Decimal("0.15")
    drawn = {(c.parameter, c.taille) for c in uncertain_cells(ruleset)[0]}
    assert (RATE, None) not in drawn
    assert drawn == {("montant_contrat_accompagnement", 2), ("montant_contrat_accompagnement", 3)}


def test_without_numpy_installed_the_engine_imports_and_sweep_says_how_to_install_it():
    """On a machine without numpy (the first README command installs no extra), importing the
    vectorised backend must not fail: a default argument written np.minimum, evaluated as the module
    is imported, made `sweep` an internal error there. The test above sets np to None after the
    import, so it could not see it; here numpy cannot be imported at all."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['numpy'] = None\n"  # import numpy then raises ImportError
            "import aci_rules.engine.vector, aci_rules.engine.sweep, aci_rules.engine.columnar\n"
            "from aci_rules.cli.main import main\n"
            f"sys.argv = ['aci-rules', 'sweep', {str(SAMPLE)!r}, '--date', '2024-06-01', '--vary', '{RATE}=0,0.1']\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "pip install 'aci-rules[vector]'" in done.stderr and "Traceback" not in done.stderr, done.stderr
