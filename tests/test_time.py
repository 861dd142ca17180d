"""Time (DESIGN.md § Time): one amount per contract year, a text from its own date, contracts
beyond five years, on both evaluation paths and in every command.

a. The entitlement of a contract year is one figure: eval (reference path, ``assess``) at
   several dates inside each year, and the fast path (``FastTimeline``, as batch and compare
   run it), equal schedule's entitlement for that year, line by line, on generated profiles,
   under the texts in force and under a proposal from its own date (FACTS.md §1, §5).
b. The figures of issue 12, before (measured on commit 2328a0e) and after.
c. A proposal from its own date in eval, schedule, batch, compare and diff --profiles; forced
   earlier only with --as-if-in-force-from, which the output says; stacked proposals.
d. Contracts beyond five years: stated in the profile, or assumed (--assume-renewal); compare
   counts CPTS out of contract apart, never as unchanged.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from aci_rules.engine.evaluate import assess
from aci_rules.engine.fastpath import FastTimeline
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile
from aci_rules.engine.schedule import build_schedule
from aci_rules.engine.timeline import contract_on
from aci_rules.engine.yaml_loader import parse_document

from conftest import EXAMPLES, ROOT, no_traceback, one_json_document
from test_properties import PROPERTY, load, profile_data

D = datetime.date
LIBRARY = Library()
PROPOSALS = ROOT / "tests" / "proposals"
AVENANT_2027 = PROPOSALS / "avenant-2027.yaml"
STACK_2028 = PROPOSALS / "avenant-2027-puis-2028.yaml"
PLUS_5 = PROPOSALS / "fonctionnement-plus-5-en-2027.yaml"
TIMELINES = {"in force": LIBRARY.timeline(), "plan-100-cpts": LIBRARY.timeline(str(EXAMPLES / "plan-100-cpts.yaml"))}


# -- a. one amount per contract year, both paths ------------------------------------------------------


def _dates_inside(year, segments, pick) -> list:
    days = (year.end - year.start).days
    found = {year.start, year.end, year.start + datetime.timedelta(days=pick % (days + 1))}
    found |= {D.fromisoformat(s) if isinstance(s, str) else s for s, _, _ in segments}
    return sorted(found)


def check_one_amount_per_year(profile, timeline, pick: int):
    schedule = build_schedule(profile, timeline)
    fast = FastTimeline(timeline)
    for year in schedule.years:
        if year.number is None:
            continue
        for day in _dates_inside(year, year.segments, pick):
            result = assess(timeline, profile, day)
            assert {line.id: line.amount for line in result.lines} == year.lines, (year.number, day)
            assert result.total == year.total, (year.number, day)
            assert [(s.start, s.end, s.ruleset) for s in result.segments] == list(year.segments), day
            if len(year.segments) > 1:
                assert "W007" in {w.code for w in result.warnings}, day  # on every date of the year
            _, quick = fast.run(profile, day)
            assert quick.amounts == year.lines, (year.number, day)
            assert quick.total == year.total, (year.number, day)


@PROPERTY
@given(profile_data(), st.sampled_from(sorted(TIMELINES)), st.integers(0, 400))
def test_eval_at_any_date_of_a_year_and_the_fast_path_give_the_schedules_entitlement(data, name, pick):
    check_one_amount_per_year(load(data), TIMELINES[name], pick)


# -- b. the figures of issue 12 -------------------------------------------------------------------------

# A taille-2 CPTS signed 2021-06-01: contract year 1 (to 2022-05-31) holds avenant 2's entry into
# force (2022-04-01, FACTS.md §1): 304 days under aci-2019, 61 under avenant 2. Before this change,
# eval gave 180 671.24 on 2022-02-15 (aci-2019 alone), 243 671.24 on 2022-05-01 (avenant 2 alone,
# with its 45 000 supplement) and schedule 191 200.01 (each text for its days). The figures:
# aci-2019: fonctionnement 60 000 + accès aux soins fixe 40 000 + SNP 12 000 + parcours from
# 2021-07-01 35 000 x 335/365 + 35 000 x 0.5 + prévention from 2021-08-24 15 000 x 281/365
# + 15 000 x 0.5 = 180 671.24; avenant 2 adds 70 000 - 40 000 on accès aux soins fixe, removes the
# SNP line and adds the 45 000 supplement: 243 671.24; 180 671.24 + 63 000 x 61/365 = 191 200.01.
ISSUE_PROFILE = """\
name: CPTS de l'exemple du ticket 12
population: 56000
contract_signed: 2021-06-01
missions:
  acces_soins: {started: 2021-06-01, achievement: {2: 0.8}}
  parcours: {started: 2021-07-01, achievement: {1: 0.5}}
  prevention: {started: 2021-08-24, achievement: {1: 0.5}}
"""


def _profile(text: str):
    return compile_profile(parse_document(text.encode("utf-8"), "profil.yaml"))


def test_the_straddled_year_of_the_issue_is_one_amount_on_both_paths():
    profile = _profile(ISSUE_PROFILE)
    timeline = LIBRARY.timeline()
    schedule = build_schedule(profile, timeline)
    assert schedule.years[0].total == Decimal("191200.01")
    fast = FastTimeline(timeline)
    for day in (D(2021, 6, 1), D(2022, 2, 15), D(2022, 3, 31), D(2022, 4, 1), D(2022, 5, 1), D(2022, 5, 31)):
        result = assess(timeline, profile, day)
        assert result.total == Decimal("191200.01"), day
        assert result.ruleset.id == ("aci-2019" if day < D(2022, 4, 1) else "avenant-2")  # the date's own text
        assert fast.run(profile, day)[1].total == Decimal("191200.01"), day
    # The parts, each text for its days: 180 671.24 x 304/365 + 243 671.24 x 61/365, line by line.
    assert [(s.ruleset, s.days) for s in result.segments] == [("aci-2019", 304), ("avenant-2", 61)]


def test_eval_shows_the_parts_of_the_year_in_its_header_explain_and_json(run_cli, write):
    path = write("profil.yaml", ISSUE_PROFILE)
    text = run_cli("eval", path, "--date", "2022-02-15", "--explain").stdout
    assert "Textes de l'année aci-2019 du 2021-06-01 au 2022-03-31 (304 jours)" in text
    assert "avenant-2 du 2022-04-01 au 2022-05-31 (61 jours)" in text
    assert "191 200,01 €" in text
    assert "· aci-2019 du 2021-06-01 au 2022-03-31 : 60 000,00 € × 0,8329" in text  # 304/365
    document = one_json_document(run_cli("eval", path, "--date", "2022-05-01", "--format", "json",
                                         "--explain").stdout)
    assert document["total"] == "191200.01"
    assert document["segments"] == [
        {"ruleset": "aci-2019", "from": "2021-06-01", "to": "2022-03-31", "days": 304},
        {"ruleset": "avenant-2", "from": "2022-04-01", "to": "2022-05-31", "days": 61}]
    parts = document["explain"]["segments"]["supplement_fonctionnement"]
    assert [(p["ruleset"], p["amount"]) for p in parts] == [("avenant-2", "45000.00")]
    assert document["ruleset"] == "avenant-2"  # the text in force on the date itself


def test_the_provision_of_the_issue_counts_for_its_days():
    """The issue's second case: fonctionnement + 5 % from 2027-01-01 (a provision with its own date),
    a contract year from 2026-10-15. Before: eval 137 013.70 on 2027-06-01 (the new amount all year),
    134 513.70 on 2026-11-01, schedule 136 479.45. Now 136 479.45 on both dates and both paths
    (the figures are derived in tests/cases/temps.yaml)."""
    profile = _profile("name: CPTS\npopulation: 30000\ncontract_signed: 2026-10-15\nmissions:\n"
                       "  acces_soins: {started: 2026-10-15, achievement: {1: 0.8}}\n"
                       "  prevention: {started: 2027-04-15, achievement: {1: 0.45}}\n")
    timeline = LIBRARY.timeline(str(PLUS_5))
    assert build_schedule(profile, timeline).years[0].total == Decimal("136479.45")
    for day in (D(2026, 11, 1), D(2027, 6, 1)):
        assert assess(timeline, profile, day).total == Decimal("136479.45")
        assert FastTimeline(timeline).run(profile, day)[1].total == Decimal("136479.45")


# -- c. a proposal from its own date, in every command ------------------------------------------------

TAILLE_4 = "name: CPTS de taille 4\npopulation: 200000\ncontract_signed: 2024-01-01\n"


def _json(run_cli, *args):
    result = run_cli(*args)
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    return one_json_document(result.stdout)


def test_a_2027_proposal_changes_nothing_before_2027_in_eval_and_schedule(run_cli, write):
    path = write("t4.yaml", TAILLE_4)
    for day in ("2024-06-01", "2025-06-01", "2026-12-31"):
        asked = _json(run_cli, "eval", path, "--date", day, "--ruleset", AVENANT_2027, "--format", "json")
        enacted = _json(run_cli, "eval", path, "--date", day, "--format", "json")
        assert asked["lines"] == enacted["lines"] and asked["ruleset"] == enacted["ruleset"] == "avenant-2"
        assert "W008" in {w["code"] for w in asked["warnings"]}
    asked = _json(run_cli, "schedule", path, "--ruleset", AVENANT_2027, "--format", "json")
    enacted = _json(run_cli, "schedule", path, "--format", "json")
    before = [p for p in asked["payments"] if p["due"] < "2027-01-01"]
    assert before == [p for p in enacted["payments"] if p["due"] < "2027-01-01"]
    assert asked["years"][:3] == enacted["years"][:3]
    # From 2027 on, the proposal: fonctionnement 99 000 (taille 4) in year 4 (2027).
    assert asked["years"][3]["lines"]["fonctionnement"] == "99000.00"


def test_forcing_a_text_outside_its_dates_is_explicit_and_said(run_cli, write):
    path = write("t4.yaml", TAILLE_4)
    forced = run_cli("eval", path, "--date", "2025-06-01", "--ruleset", AVENANT_2027,
                     "--as-if-in-force-from", "2025-01-01")
    assert forced.exit_code == 0
    assert "Hypothèse : avenant-2027 appliqué comme s'il était en vigueur depuis le 2025-01-01" in forced.stdout
    assert "W009" in forced.stdout and "99 000,00 €" in forced.stdout
    usage = run_cli("eval", path, "--date", "2025-06-01", "--as-if-in-force-from", "2025-01-01")
    assert usage.exit_code == 2 and "--as-if-in-force-from needs --ruleset" in usage.stderr


def test_avenant_2_before_its_date_is_not_applied_silently(run_cli):
    """The issue: eval --ruleset avenant-2 on a 2021 date paid the 56 250 € supplement."""
    document = _json(run_cli, "eval", EXAMPLES / "cpts-2019-taille-3.yaml", "--date", "2021-03-01",
                     "--ruleset", "avenant-2", "--format", "json")
    assert document["ruleset"] == "aci-2019"
    assert "supplement_fonctionnement" not in {line["id"] for line in document["lines"]}
    assert "W008" in {w["code"] for w in document["warnings"]}


def test_stacked_proposals_each_from_its_own_date():
    timeline = LIBRARY.timeline(str(STACK_2028))
    assert [timeline.resolve(day).id for day in (D(2026, 12, 31), D(2027, 1, 1), D(2028, 1, 1))] == [
        "avenant-2", "avenant-2027", "avenant-2027-puis-2028"]
    assert {D(2027, 1, 1), D(2028, 1, 1)} <= timeline.change_days


def test_batch_compare_and_diff_apply_a_proposal_from_its_own_date(run_cli, write, tmp_path):
    sample = write("deux.csv", "name,population,contract_signed\nA,200000,2024-01-01\nB,30000,2026-07-01\n")
    before = run_cli("batch", sample, "--date", "2026-06-01", "--ruleset", AVENANT_2027)
    enacted = run_cli("batch", sample, "--date", "2026-06-01")
    assert before.exit_code == 0 and before.stdout == enacted.stdout
    report = _json(run_cli, "compare", sample, "--baseline", "avenant-2", "--reform", AVENANT_2027,
                   "--date", "2026-06-01", "--format", "json")
    assert report["difference"] == "0.00" and report["unchanged"] == 1
    # B is not signed yet on 2026-06-01: out of contract under both texts, counted apart.
    assert report["out_of_contract_both"] == 1
    assert report["out_of_contract"]["reform"] == {"not_signed": 1, "ended": 0}
    # A stack against its first proposal: A's year 5 (2028) is the stack's, 90 000 x 1.20 against
    # x 1.10; B's year 2 (2027-07-01 to 2028-06-30) counts 2028's 182 days of 366 (50 000 x 0.10).
    stack = _json(run_cli, "compare", sample, "--baseline", AVENANT_2027, "--reform", STACK_2028,
                  "--date", "2028-06-01", "--format", "json")
    assert Decimal(stack["difference"]) == Decimal("9000.00") + Decimal("2486.34")
    assert stack["gain"] == 2 and stack["out_of_contract_both"] == 0
    profiles = tmp_path / "profils"
    profiles.mkdir()
    (profiles / "t4.yaml").write_text(TAILLE_4, encoding="utf-8")
    diff = _json(run_cli, "diff", "avenant-2", AVENANT_2027, "--profiles", profiles, "--date", "2026-06-01",
                 "--format", "json")
    (row,) = diff["profiles"]
    assert row["old_total"] == row["new_total"] == "90000.00"


# -- d. contracts beyond five years ------------------------------------------------------------------------


def test_contract_on_follows_the_profile_then_the_assumption():
    first, second = D(2019, 10, 1), D(2024, 10, 1)
    assert contract_on((first,), D(2024, 9, 30), 5).number == 1
    assert contract_on((first,), D(2024, 10, 1), 5) is None
    later = contract_on((first, second), D(2027, 6, 1), 5)
    assert (later.number, later.signed, later.end, later.assumed) == (2, second, D(2029, 9, 30), False)
    assumed = contract_on((first,), D(2031, 1, 1), 5, renewal=True)
    assert (assumed.number, assumed.signed, assumed.assumed) == (3, D(2029, 10, 1), True)
    # A next contract signed before the fifth anniversary ends the previous one the day before.
    early = contract_on((first, D(2023, 1, 1)), D(2022, 12, 31), 5)
    assert early.end == D(2022, 12, 31)
    # A 29 February signature renews on 28 February.
    assert contract_on((D(2020, 2, 29),), D(2025, 3, 1), 5, renewal=True).signed == D(2025, 2, 28)


def test_a_later_contract_signed_before_the_first_is_refused(run_cli, write):
    path = write("p.yaml", "name: X\npopulation: 1000\ncontract_signed: 2020-01-01\n"
                           "contracts: [{signed: 2019-01-01}]\n")
    result = run_cli("validate", path)
    assert result.exit_code == 1 and "E204" in result.stderr and f"{path}:4:" in result.stderr


def test_schedule_follows_the_later_contract_and_the_assumption(run_cli, write):
    path = write("p.yaml", "name: X\npopulation: 60000\ncontract_signed: 2019-10-01\n"
                           "contracts: [{signed: 2024-10-01}]\n")
    document = _json(run_cli, "schedule", path, "--format", "json")
    assert [(y["contract"], y["year_in_contract"]) for y in document["years"]] == [
        (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (2, 1), (2, 2), (2, 3), (2, 4), (2, 5)]
    alone = write("q.yaml", "name: X\npopulation: 60000\ncontract_signed: 2019-10-01\n")
    usage = run_cli("schedule", alone, "--assume-renewal")
    assert usage.exit_code == 2 and "--until" in usage.stderr
    renewed = _json(run_cli, "schedule", alone, "--assume-renewal", "--until", "2027-12-31", "--format", "json")
    assert [y["assumed"] for y in renewed["years"]] == [False] * 5 + [True] * 4  # to 2028-09-30
    assert any("renewal" in a for a in renewed["assumptions"])  # JSON messages are English


def test_compare_of_a_2027_proposal_counts_the_early_signatories_only_with_the_assumption(run_cli):
    sample = EXAMPLES / "national-sample.csv"
    without = _json(run_cli, "compare", sample, "--baseline", "avenant-2", "--reform", AVENANT_2027,
                    "--date", "2027-06-01", "--format", "json")
    ended = without["out_of_contract"]["baseline"]["ended"]
    assert ended > 0 and without["out_of_contract_both"] == ended
    assert without["gain"] + without["lose"] + without["unchanged"] + ended == without["profiles"]
    renewed = _json(run_cli, "compare", sample, "--baseline", "avenant-2", "--reform", AVENANT_2027,
                    "--date", "2027-06-01", "--format", "json", "--assume-renewal")
    assert renewed["out_of_contract_both"] == 0
    assert renewed["gain"] == renewed["profiles"]  # fonctionnement + 10 % for every CPTS under contract
    assert any("renewal" in a for a in renewed["assumptions"])  # JSON messages are English
    text = run_cli("compare", sample, "--baseline", "avenant-2", "--reform", AVENANT_2027, "--date", "2027-06-01")
    assert f"hors contrat {ended}" in text.stdout and "--assume-renewal" in text.stdout


def test_batch_says_why_a_row_is_zero(run_cli, write):
    sample = write("un.csv", "name,population,contract_signed\nA,60000,2019-10-01\n")
    result = run_cli("batch", sample, "--date", "2027-06-01", "--format", "jsonl")
    row = json.loads(result.stdout)
    assert row["out_of_contract"] == "ended" and row["total"] == "0.00"
    assert "hors contrat" in result.stderr


# -- the national sample, calibrated on FACTS.md §9 --------------------------------------------------------


def test_the_national_sample_is_synthetic_and_follows_the_published_figures():
    import csv
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_national_sample", ROOT / "bench" / "make_national_sample.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    SIGNED_BY, POPULATION_RANGE, POPULATION_MEAN = generator.SIGNED_BY, generator.POPULATION_RANGE, generator.POPULATION_MEAN

    text = (EXAMPLES / "national-sample.csv").read_text(encoding="utf-8")
    assert text.startswith("# Données SYNTHÉTIQUES") and "FACTS.md §9" in text.split("\nname,")[0]
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    # FACTS.md §9: 134 signed by June 2021, 173 by Dec 2021, 252 on 1 April 2022, 306 by July 2022,
    # 530 on 1 Feb 2024, 624 by Oct 2024, about 700 by May 2025.
    assert [(day, count) for day, count in SIGNED_BY] == [
        (D(2019, 8, 25), 0), (D(2021, 6, 30), 134), (D(2021, 12, 31), 173), (D(2022, 4, 1), 252),
        (D(2022, 7, 31), 306), (D(2024, 2, 1), 530), (D(2024, 10, 31), 624), (D(2025, 5, 31), 700)]
    for day, count in SIGNED_BY:
        assert sum(1 for row in rows if D.fromisoformat(row["contract_signed"]) <= day) == count, day
    populations = [int(row["population"]) for row in rows]
    # FACTS.md §9: from 8 500 to 354 193 inhabitants, mean about 82 000.
    assert (min(populations), max(populations)) == POPULATION_RANGE == (8500, 354193)
    assert abs(sum(populations) / len(populations) - POPULATION_MEAN) < 100 and POPULATION_MEAN == 82000


def test_a_csv_row_states_its_later_contracts(run_cli, write):
    sample = write("un.csv", "name,population,contract_signed,contracts\nA,60000,2019-10-01,2024-10-01\n"
                             "B,60000,2019-10-01,2024-10-01;2019-01-01\n")
    refused = run_cli("batch", sample, "--date", "2027-06-01")
    assert refused.exit_code == 1 and "E204" in refused.stderr and f"{sample}:3:" in refused.stderr
    write("un.csv", "name,population,contract_signed,contracts\nA,60000,2019-10-01,2024-10-01\n")
    row = json.loads(run_cli("batch", sample, "--date", "2027-06-01", "--format", "jsonl").stdout)
    assert (row["contract_year"], row["out_of_contract"], row["total"]) == (3, None, "60000.00")
