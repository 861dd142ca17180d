"""Every example profile is what its file name says (examples/*.yaml).

``cpts-<text>-taille-<n>.yaml`` is a taille n under that text on every day of its
contract: FACTS.md §2 gives the classes (taille 4 above 175 000 inhabitants), the engine
computes the size from the YAML. ``cpts-plan-100-preavis.yaml`` is the Plan « 100 % CPTS »
notice period: a taille 4 whose population fell to 172 000 on 2024-01-01 stays a taille 4
for 12 months under the Plan (its local-initiative mission is the Plan's: avenant 2
refuses it, E208).
"""

from __future__ import annotations

import datetime
import json
import re

import pytest

from aci_rules.engine.evaluate import add_years

from conftest import EXAMPLES

TEXTS = {"2019": "aci-2019", "avenant-2": "avenant-2"}
NAMED = sorted(p for p in EXAMPLES.glob("cpts-*-taille-*.yaml"))
PLAN = EXAMPLES / "plan-100-cpts.yaml"


def test_there_are_named_examples():
    assert {p.name for p in NAMED} >= {"cpts-2019-taille-3.yaml", "cpts-avenant-2-taille-4.yaml"}


def size_on(run_cli, profile, day, ruleset):
    result = run_cli("eval", profile, "--date", day.isoformat(), "--ruleset", ruleset, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["size"]


@pytest.mark.parametrize("profile", NAMED, ids=lambda p: p.name)
def test_a_named_example_has_its_taille_on_every_day_of_its_contract(run_cli, profile):
    match = re.fullmatch(r"cpts-(?P<text>.+)-taille-(?P<size>[1-4])\.yaml", profile.name)
    ruleset, expected = TEXTS[match["text"]], int(match["size"])
    signed = datetime.date.fromisoformat(re.search(r"^contract_signed: (\S+)$", profile.read_text(), re.M)[1])
    # Each contract year's first and last day, where the text applies.
    for year in range(5):
        for day in (add_years(signed, year), add_years(signed, year + 1) - datetime.timedelta(days=1)):
            assert size_on(run_cli, profile, day, ruleset) == expected, (ruleset, day)


def test_the_plan_example_keeps_taille_4_through_its_notice_period_only(run_cli):
    profile = EXAMPLES / "cpts-plan-100-preavis.yaml"
    assert size_on(run_cli, profile, datetime.date(2023, 12, 31), PLAN) == 4
    assert size_on(run_cli, profile, datetime.date(2024, 12, 31), PLAN) == 4  # 12 months after the fall
    assert size_on(run_cli, profile, datetime.date(2025, 1, 1), PLAN) == 3
