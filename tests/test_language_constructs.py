"""Issue 13's constructs on test texts (tests/constructs/: aggregates over missions and lines,
readings of another text, clawbacks), each case with its figures computed by hand in comments.

These texts are fixtures, not proposals: they run here, apart from tests/cases/, whose texts
the mutation gate of tests/test_quality.py holds to no survivor and full coverage."""

import datetime
from decimal import Decimal

import pytest

from aci_rules.engine.diagnostic import EvaluationError
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile
from aci_rules.engine.schedule import build_schedule
from aci_rules.engine.yaml_loader import Document, parse_document

from conftest import ROOT, case_params

CASES_DIR = ROOT / "tests" / "constructs" / "cases"
@pytest.mark.parametrize("outcome", case_params(CASES_DIR))
def test_case(outcome):
    assert outcome.passed, outcome.report()


SHARES_BY_TAILLE = """\
id: parts-par-taille
title: Essai
kind: proposal
status: proposal
reference: Essai
amends: avenant-2
dates: {in_force: 2023-01-01}
changes:
  parameters:
    set:
      part_majoration:
        unit: taux
        by_taille: {1: 0.75, 2: 0.75, 3: 0.75, 4: 0.5}
        reference: Essai
        confidence: unverified
  payments:
    change:
      - id: majoration_missions
        installments:
          - {label: Avance, share: part_majoration, due: contract_year_start}
          - label: Solde
            share: 0.25
            due: add_years(contract_year_start, 1)
"""
# Taille 4 with 120 members: the 10 % majoration applies, and its shares are 0.5 + 0.25.
MAJORATION = {"name": "CPTS de taille 4", "population": 181000, "members": 120, "contract_signed": "2023-03-01",
              "missions": {"acces_soins": {"started": "2023-03-01", "achievement": {1: Decimal(1)}}}}


def test_shares_that_depend_on_the_taille_are_checked_when_paid(tmp_path):
    """0.5 + 0.25 for taille 4 is refused on both calendars (E410), not paid as 0.5 + 0.5."""
    from aci_rules.engine.fastschedule import fast_calendar

    path = tmp_path / "parts.yaml"
    path.write_text(SHARES_BY_TAILLE, "utf-8")
    library = Library()
    timeline = library.timeline(str(path))
    profile = compile_profile(Document("<test>", MAJORATION))
    with pytest.raises(EvaluationError) as raised:
        build_schedule(profile, timeline, until=datetime.date(2025, 1, 1))
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "E410" and "0.75" in diagnostic.message and "majoration_missions" in diagnostic.message
    with pytest.raises(EvaluationError) as fast:
        fast_calendar()(profile, timeline, 2023, 2025)
    assert [d.code for d in fast.value.diagnostics] == ["E410"]
    # Taille 3 (no majoration): 0.75 + 0.25, nothing to refuse.
    smaller = compile_profile(Document("<test>", dict(MAJORATION, population=92000)))
    assert build_schedule(smaller, timeline, until=datetime.date(2025, 1, 1)).payments


def test_round_down_to_the_hundred_euros_and_min_max_of_two_values():
    from aci_rules.engine.helpers import largest, round_down, round_half_up, smallest

    assert round_down(Decimal("12345.67"), 100) == Decimal("12300")
    assert round_down(Decimal("12345.67"), "0.01") == Decimal("12345.67")
    assert round_half_up(Decimal("12350"), 100) == Decimal("12400")
    assert smallest(Decimal("73600.8"), 90000) == Decimal("73600.8")
    assert largest(datetime.date(2024, 1, 1), datetime.date(2023, 1, 1)) == datetime.date(2024, 1, 1)
    for bad in ((1,), (1, None), (1, datetime.date(2024, 1, 1)), (True, 2)):
        with pytest.raises(Exception) as raised:
            smallest(*bad)
        assert getattr(raised.value, "code", None) == "E402", bad


def test_eval_explain_shows_what_the_other_text_gives(run_cli, write):
    profile = write("p.yaml", "name: CPTS\npopulation: 92000\ncontract_signed: 2027-03-01\n")
    hypothesis = ROOT / "examples" / "hypothese-avenant-france-sante.yaml"
    run = run_cli("eval", profile, "--date", "2027-06-01", "--ruleset", hypothesis, "--explain", "--lang", "en")
    assert run.exit_code == 0, run.stderr
    # 92 000 x 0.80 = 73 600 under the hypothesis; avenant 2 gives 75 000, shown in its own evaluation.
    assert "What avenant-2 gives the same profile on 2027-03-01" in run.stdout
    ours, theirs = run.stdout.split("What avenant-2 gives")
    assert "73,600.00" in ours and "1,400.00" in ours and "75,000.00" in theirs
    run = run_cli("eval", profile, "--date", "2027-06-01", "--ruleset", hypothesis, "--explain", "--format", "json")
    import json

    document = json.loads(run.stdout)
    (other,) = document["explain"]["other_texts"]
    assert other["name"] == "avenant_2" and other["evaluation"]["total"] == "75000.00" == document["total"]
