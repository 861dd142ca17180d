"""One meaning on every backend: what the reference computes and stops on, the others report alike.

The reference evaluator (engine/evaluate.py) computes every line's maximum, and over a
contract year evaluates the day itself before each part of the year (evaluate.assess); it
stops with the diagnostic of the first formula that cannot be computed. The fast backend
(engine/fastpath.py) and the vectorised one (engine/vector.py) give amounts only, and skip
what no amount needs: a maximum no sum reads, the run of the day itself. They compute it too
where the may-fail analysis (plan.failing_formulas) cannot prove it cannot fail, for its
failure: the same code at the same file:line:col, exit 1 and nothing written by the commands.

Two gaps closed here (issue 14):
1. a line's maximum that fails for a profile (a division by zero, a None in arithmetic, a date
   out of range) stopped `eval` while `batch`, `compare` and `sweep` gave amounts;
2. a formula reading ``date`` that fails on the day itself but not on the first day of the part
   of the contract year holding it stopped `eval` and not `batch`.

And what the shipped texts pay for it: nothing (the analysis proves none of their formulas can
fail, so the generated code holds no maximum nobody asked for and no run of the day).
"""

from __future__ import annotations

import datetime
import glob

import pytest

from aci_rules.engine import columnar
from aci_rules.engine import fastpath as fastpath_module
from aci_rules.engine.diagnostic import EvaluationError, InputError
from aci_rules.engine.evaluate import assess, evaluate
from aci_rules.engine.fastpath import FastRuleset, FastTimeline
from aci_rules.engine.library import Library
from aci_rules.engine.plan import day_may_fail, failing_formulas, failing_maxima, plan_of
from aci_rules.engine.timeline import Timeline

from conftest import EXAMPLES, invoke
from test_fastpath import (MINI, assert_batch_and_compare_fail_as_the_reference, assert_columns_give_the_references,
                           counting_fallbacks, obligation_ruleset, profile_of)

DAY = datetime.date(2022, 6, 1)
SIGNED = "2021-01-15"  # contract year 2 runs from 2022-01-15: DAY is not its first day
PROFILES = [
    {"name": "CPTS sans membre", "population": 50_000, "members": 0, "contract_signed": SIGNED},
    {"name": "CPTS de quatre membres", "population": 50_000, "members": 4, "contract_signed": SIGNED},
    {"name": "CPTS de mille membres", "population": 20_000, "members": 1000, "contract_signed": SIGNED,
     "letter_of_intent_validated": "2020-06-01"},
    {"name": "CPTS signant le jour même", "population": 50_000, "members": 0, "contract_signed": "2022-06-01"},
    {"name": "CPTS sans contrat", "population": 20_000, "members": 0},
]
LINE = """\
  - id: supplement
    label: Supplément
    volet: supplement
    when: contract_year is not None
    amount: montant / 10
    maximum: montant
    reference: essai
"""
# Each replacement makes a line's maximum fail for some profiles (and nothing else).
FAILING_MAXIMA = [
    ("maximum: montant", "maximum: montant / members"),  # E401: no member
    # None in arithmetic (E402): no letter of intent
    ("maximum: montant", "maximum: montant + days_between(letter_of_intent_validated, date)"),
    # a date out of range (E402): a thousand members move it 10 000 years
    ("maximum: montant", "maximum: montant + days_between(date, add_years(date, members * 10))"),
    # reading the maxima of other lines, which no other formula reads (computed with it, unasked)
    ("maximum: montant", "maximum: sum_maxima('volet', 'fonctionnement') / members"),
]
# Each replacement makes a formula reading the day fail on DAY (2022-06-01, members 0) but not on
# 2022-01-15, the first day of the contract year holding it.
FAILING_ON_THE_DAY = [
    ("amount: montant / 10", "amount: montant / 10 if date < as_date('2022-03-01') else montant / members"),
    ("maximum: montant", "maximum: montant if date < as_date('2022-03-01') else montant / members"),
    ("when: contract_year is not None",
     "when: contract_year is not None and (date < as_date('2022-03-01') or population / members > 0)"),
    ("  par_membre: montant / 2", "  par_membre: montant / 2 if date < as_date('2022-03-01') else montant / members"),
]


def ruleset_of(tmp_path, old=None, new=None, name="essai.yaml"):
    text = MINI + LINE
    if old is not None:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Library().get(str(path), DAY)


def timeline_of(ruleset):
    return Timeline(lambda day: ruleset, [ruleset.in_force])


def outcome(call):
    """What ``call()`` gives: a total, or the diagnostics it raises."""
    try:
        found = call()
    except EvaluationError as error:
        return error.diagnostics
    return found


def assert_one_meaning(ruleset, days=(DAY, datetime.date(2022, 1, 15))) -> int:
    """Every backend gives the reference's total or its diagnostic, for every profile and day; returns
    how many (profile, day) failed on the reference path (a test proves something only if some do)."""
    failed = 0
    timeline = timeline_of(ruleset)
    profiles = [profile_of(data) for data in PROFILES]
    for tier in (0, 10 ** 9):  # the taille's own function, and the function of any taille
        fast = FastRuleset(ruleset)
        fast.specialise_after = tier
        for profile in profiles:
            for day in days:
                point = outcome(lambda: evaluate(ruleset, profile, day).total)
                with counting_fallbacks() as fallbacks:
                    assert outcome(lambda: fast.run(profile, day).total) == point, (profile.name, day)
                    assert outcome(lambda: fast.run(profile, day, maxima=True).total) == point
                assert not fallbacks
    for profile in profiles:
        for day in days:
            year = outcome(lambda: assess(timeline, profile, day).total)
            failed += isinstance(year, list)
            with counting_fallbacks() as fallbacks:
                assert outcome(lambda: FastTimeline(timeline).run(profile, day)[1].total) == year, (profile.name, day)
            assert not fallbacks
    return failed


def assert_columns_agree(ruleset, day=DAY):
    """The vectorised backend (batch in columns, compare's columns): the reference's diagnostic for
    each profile that fails, its total for each other."""
    pytest.importorskip("numpy")
    from aci_rules.engine.vector import VectorTimeline

    timeline = timeline_of(ruleset)
    profiles = [profile_of(data) for data in PROFILES] * 2
    expected = [outcome(lambda: assess(timeline, profile, day).total) for profile in profiles]
    assert_columns_give_the_references(VectorTimeline(timeline).run(profiles, day), expected)
    failing = [want for want in expected if isinstance(want, list)]
    assert failing, "no profile fails: the test proves nothing"
    assert_batch_and_compare_fail_as_the_reference(timeline, profiles, day, failing)


CSV_HEADER = "name,population,members,contract_signed,letter_of_intent_validated\n"


def assert_commands_agree(tmp_path, monkeypatch, ruleset, day=DAY):
    """`eval` of the failing profile, `batch` by rows and in columns, `compare`: the same diagnostic
    line, exit 1, nothing written."""
    data = PROFILES[0]
    single = tmp_path / "profil.yaml"
    single.write_text("".join(f"{k}: {v}\n" for k, v in data.items()), encoding="utf-8")
    rows = [CSV_HEADER] + [f"{p['name']},{p['population']},{p['members']},{p.get('contract_signed', '')},"
                           f"{p.get('letter_of_intent_validated', '')}\n" for p in PROFILES]
    table = tmp_path / "profils.csv"
    table.write_text("".join(rows), encoding="utf-8")
    code, _, said = invoke("eval", single, "--ruleset", ruleset.source, "--date", day.isoformat())
    assert code == 1
    wanted = [line.split(": ", 1)[1] for line in said.splitlines() if ": E4" in line]
    assert len(wanted) == 1, said
    for threshold in (1 << 60, 0):  # by rows, then in columns
        monkeypatch.setattr(columnar, "COLUMNAR_FROM_BYTES", threshold)
        output = tmp_path / f"rows-{threshold}.csv"
        code, _, said = invoke("batch", table, "--ruleset", ruleset.source, "--date", day.isoformat(),
                               "--output", output)
        assert code == 1, said
        reported = [line.split(": ", 1)[1] for line in said.splitlines() if ": E4" in line]
        assert wanted[0] in reported, said
        if threshold:
            by_rows = reported
        assert reported == by_rows  # in columns, the same diagnostics as by rows
        assert not output.exists()
    output = tmp_path / "compare.txt"
    code, _, said = invoke("compare", table, "--baseline", ruleset.source, "--reform", ruleset.source,
                           "--date", day.isoformat(), "--output", output)
    assert code == 1, said
    assert wanted[0] in [line.split(": ", 1)[1] for line in said.splitlines() if ": E4" in line], said
    assert not output.exists()


# -- 1. a line's maximum that fails ------------------------------------------------------------------

@pytest.mark.parametrize("old, new", FAILING_MAXIMA, ids=[new for _, new in FAILING_MAXIMA])
def test_a_failing_maximum_gives_the_reference_diagnostic_on_every_backend(tmp_path, old, new):
    ruleset = ruleset_of(tmp_path, old, new)
    assert failing_maxima(plan_of(ruleset)) == {"supplement"}
    fast = FastRuleset(ruleset)
    assert "supplement" not in fast._always_maxima  # no sum reads it: computed for its failure only
    assert fast.source.count("_t = ") == 3  # the two amounts and this maximum, unasked
    assert assert_one_meaning(ruleset)
    assert_columns_agree(ruleset)


def test_a_failing_maximum_stops_eval_batch_and_compare_alike(tmp_path, monkeypatch):
    old, new = FAILING_MAXIMA[0]
    assert_commands_agree(tmp_path, monkeypatch, ruleset_of(tmp_path, old, new))


def test_a_maximum_that_cannot_fail_is_not_computed_unasked(tmp_path):
    ruleset = ruleset_of(tmp_path, "maximum: montant", "maximum: montant * 2 + population / 4")
    assert not failing_formulas(plan_of(ruleset))
    fast = FastRuleset(ruleset)
    assert fast.source.count("_t = ") == 2  # the two amounts, not the maximum
    assert fast._variant(True, True, fastpath_module._ANY_TAILLE).source.count("_t = ") == 3  # asked
    assert assert_one_meaning(ruleset) == 0


# -- 2. a formula reading the day that fails on the day, not on the first day of its year --------------

@pytest.mark.parametrize("old, new", FAILING_ON_THE_DAY, ids=[new for _, new in FAILING_ON_THE_DAY])
def test_a_formula_failing_on_the_day_itself_gives_the_reference_diagnostic_on_every_backend(tmp_path, old, new):
    ruleset = ruleset_of(tmp_path, old, new)
    plan = plan_of(ruleset)
    assert failing_formulas(plan) and day_may_fail(plan)
    profile = profile_of(PROFILES[0])
    evaluate(ruleset, profile, datetime.date(2022, 1, 15))  # the year's first day computes...
    with pytest.raises(EvaluationError):
        evaluate(ruleset, profile, DAY)  # ...the day itself does not
    assert assert_one_meaning(ruleset)
    assert_columns_agree(ruleset)


def test_a_formula_failing_on_the_day_itself_stops_eval_batch_and_compare_alike(tmp_path, monkeypatch):
    old, new = FAILING_ON_THE_DAY[0]
    assert_commands_agree(tmp_path, monkeypatch, ruleset_of(tmp_path, old, new))


def test_a_failing_formula_that_does_not_read_the_day_needs_no_run_of_the_day(tmp_path):
    ruleset = ruleset_of(tmp_path, *FAILING_MAXIMA[0])
    plan = plan_of(ruleset)
    assert failing_formulas(plan) and not day_may_fail(plan)
    timeline = timeline_of(ruleset)
    profile = profile_of(PROFILES[1])
    year = FastTimeline(timeline)._year(profile, DAY)
    assert year[2] is None  # no point: the part holding the day fails as the day would


# -- what the shipped texts pay: nothing ------------------------------------------------------------

SHIPPED_DAYS = (datetime.date(2019, 9, 1), datetime.date(2021, 6, 1), datetime.date(2022, 10, 1),
                datetime.date(2024, 6, 1), datetime.date(2028, 6, 1))


def shipped_texts():
    """Every shipped ruleset and every example proposal, as consolidated on each of a few days."""
    library, seen = Library(), {}
    for name in list(library.known_ids()) + sorted(glob.glob(str(EXAMPLES / "*.yaml"))):
        for day in SHIPPED_DAYS:
            try:
                ruleset = library.get(name, day)
            except Exception:  # noqa: BLE001 — an example profile, not a ruleset
                continue
            seen.setdefault(id(ruleset), ruleset)
    return list(seen.values())


def test_no_formula_of_the_shipped_texts_can_fail_so_the_fast_paths_pay_nothing():
    texts = shipped_texts()
    assert {"aci-2019", "avenant-2", "plan-100-cpts", "hypothese-avenant-france-sante"} <= {t.id for t in texts}
    for ruleset in texts:
        plan = plan_of(ruleset)
        assert not failing_formulas(plan), (ruleset.id, [f.where for f in failing_formulas(plan)])
        # So the generated function computes no maximum but those a sum reads, and no obligation;
        # neither FastTimeline nor the columns run the day itself (fastpath._point_needed).
        assert not failing_maxima(plan) and not day_may_fail(plan)
        assert not fastpath_module._point_needed(ruleset, datetime.date(2024, 6, 1), ())


def test_the_shipped_texts_never_run_the_day_itself_in_a_contract_year():
    library = Library()
    timeline = library.timeline(None)
    profile = profile_of({"name": "CPTS", "population": 90_000, "members": 150, "contract_signed": "2021-10-15"})
    fast = FastTimeline(timeline)
    for day in (datetime.date(2022, 6, 1), datetime.date(2022, 9, 20), datetime.date(2024, 6, 1)):
        ruleset, single, point, parts = fast._year(profile, day)
        assert point is None, (ruleset.id, day)


# -- a contract year cut by a text entering into force, both texts failing ---------------------------

@pytest.mark.parametrize("day", [datetime.date(2022, 6, 1), datetime.date(2022, 10, 1)],
                         ids=["the day in the first part", "the day in the second part"])
def test_a_year_cut_between_two_failing_texts_fails_once_with_the_reference_diagnostic(tmp_path, day):
    """The reference stops at its first failure: the day itself, then the parts in order. FastTimeline
    runs the day itself where an earlier part could fail first; the columns report one failure per
    profile, the day's or the earliest part's, never one per part."""
    pytest.importorskip("numpy")
    from aci_rules.engine.vector import VectorTimeline, batch_rows

    first = ruleset_of(tmp_path, *FAILING_MAXIMA[0])
    text = (tmp_path / "essai.yaml").read_text(encoding="utf-8")
    later_path = tmp_path / "suivant.yaml"
    later_path.write_text(text.replace("id: essai-fastpath", "id: essai-suivant").replace(
        "in_force: 2019-08-25", "in_force: 2022-09-01"), encoding="utf-8")
    later = Library().get(str(later_path), datetime.date(2022, 10, 1))
    timeline = Timeline(lambda when: later if when >= later.in_force else first, [first.in_force, later.in_force])
    profiles = [profile_of(data) for data in PROFILES]
    expected = [outcome(lambda: assess(timeline, profile, day).total) for profile in profiles]
    assert [len(timeline.segments(assess(timeline, profiles[1], day).contract_year))] == [2]  # a cut year
    failing = [want for want in expected if isinstance(want, list)]
    assert failing and all(len(want) == 1 for want in failing)
    assert [outcome(lambda: FastTimeline(timeline).run(profile, day)[1].total) for profile in profiles] == expected
    found = VectorTimeline(timeline).run(profiles, day)
    errors = sorted(((index, error.diagnostics) for index, _, error in found.errors), key=lambda e: e[0])
    assert errors == [(index, want) for index, want in enumerate(expected) if isinstance(want, list)]
    with pytest.raises(InputError) as raised:
        batch_rows(timeline, profiles, [p.name for p in profiles], day)
    assert raised.value.diagnostics == [d for want in failing for d in want]


# -- a sweep's variants: their figures, not only the text's ------------------------------------

# Under the text's own figures (50 000 and 60 000) this condition cannot fail; under a variant
# that sets the figure to 0, it divides by zero (E401), and the reference stops there.
VARIANT_FAILS = ("when: contract_signed is not None", "when: contract_signed is not None and population / montant > 0")


@pytest.mark.parametrize("where", ["obligation", "line"])
def test_a_variant_whose_figures_make_a_formula_fail_fails_as_the_reference(tmp_path, where):
    """The columns and the variants' shared functions are built from the analysis of the text's own
    figures (plan.failing_formulas), which says the obligation (or the line's maximum) cannot fail;
    a variant's figures can make it fail: then the text goes row by row, each variant through a
    backend of its own (plan.failing_under), and the sweep gives the reference's diagnostics."""
    pytest.importorskip("numpy")
    from aci_rules.engine.plan import failing_under
    from aci_rules.engine.vector import VectorTimeline, alternatives_of

    if where == "obligation":
        ruleset = obligation_ruleset(tmp_path, *VARIANT_FAILS)
    else:
        text = MINI.replace("    amount: par_membre * 2\n",
                            "    amount: par_membre * 2\n    maximum: population / montant\n")
        path = tmp_path / "maximum.yaml"
        path.write_text(text, encoding="utf-8")
        ruleset = Library().get(str(path), DAY)
    plan = plan_of(ruleset)
    assert not failing_formulas(plan)  # the text's own figures: nothing may fail, nothing is computed
    overrides = {"montant": [None, 0, 70_000]}
    assert failing_under(plan, alternatives_of(ruleset, overrides))
    assert not failing_under(plan, alternatives_of(ruleset, {"montant": [None, 70_000]}))
    timeline = timeline_of(ruleset)
    profiles = [profile_of(data) for data in PROFILES]
    vector = VectorTimeline(timeline, overrides, 3)
    found = vector.run(profiles, DAY)
    for variant in range(3):
        variant_timeline = timeline_of(vector.variant_ruleset(ruleset, variant))
        expected = [outcome(lambda: assess(variant_timeline, profile, DAY).total) for profile in profiles]
        assert_columns_give_the_references(found, expected, variant)
    failed = {variant for _, variant, _ in found.errors}
    assert failed == {1}  # the variant that sets the figure to 0, and only it
