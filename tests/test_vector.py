"""The vectorised backend gives the reference path's amounts to the cent, or hands the row over.

engine/vector.py computes with columns of floats carrying error bounds, and marks every row
whose cent, comparison or taille the bounds cannot vouch for, and every row where a formula
fails; those rows go to the scalar path. The property checked here, on the rulesets,
formulas and profiles tests/test_differential.py generates: for each row, either the
columns mark it, or they give exactly the reference's amounts, lines, taille and total; a
row the reference refuses is always marked (never computed silently). A ruleset the
backend cannot vectorise is refused when it is built, with a reason.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, example, given, settings

np = pytest.importorskip("numpy")

from aci_rules.engine.batch import read_profiles  # noqa: E402
from aci_rules.engine.diagnostic import EvaluationError  # noqa: E402
from aci_rules.engine.evaluate import evaluate  # noqa: E402
from aci_rules.engine.fastpath import FastTimeline  # noqa: E402
from aci_rules.engine.library import Library  # noqa: E402
from aci_rules.engine.profile import compile_profile  # noqa: E402
from aci_rules.engine.vector import VectorRefused, VectorRuleset, VectorTimeline, build_columns  # noqa: E402
from aci_rules.engine.yaml_loader import Document  # noqa: E402
from test_differential import IN_TUPLE, TAILLE_3, compile_text, profiles, rulesets  # noqa: E402

OTHERS = [
    compile_profile(Document("<a>", {"name": "A", "population": 45_000, "contract_signed": "2020-02-29",
                                     "missions": {"alpha": {"started": "2020-05-01", "achievement": {"1": 0.5}}}})),
    compile_profile(Document("<b>", {"name": "B", "population": 0})),
]


def assert_vector_agrees(text: str, profile, day, record=lambda outcome: None) -> None:
    ruleset = compile_text(text)
    if ruleset is None:
        record("refused by the loader")
        return
    try:
        vector = VectorRuleset(ruleset)
    except VectorRefused as refusal:
        assert str(refusal.reason).strip()
        record("not vectorised (scalar backend)")
        return
    # The generated row among others: a failure in one row never spoils another.
    rows = [(OTHERS[0], day, 0), (profile, day, 0), (OTHERS[1], day, 0)]
    outcome = vector.run(build_columns(ruleset, rows, False))
    for index, (each, each_day, _) in enumerate(rows):
        try:
            reference = evaluate(ruleset, each, each_day)
        except EvaluationError:
            assert outcome.uncertain[index], f"the reference refuses row {index}, the columns compute it\n{text}"
            if index == 1:
                record("refused by the reference, handed over")
            continue
        if outcome.uncertain[index]:
            if index == 1:
                record("handed to the scalar path")
            continue
        exponent = ruleset.quantum.as_tuple().exponent
        # Compared as numbers: a whole number of quanta has no sign of zero, where the reference
        # may write -0.00 (round_down(-0.5)); the amount is the same cent.
        amounts = {line_id: Decimal(int(column[index])).scaleb(exponent)
                   for line_id, column in outcome.amounts.items() if outcome.applies[line_id][index]}
        assert amounts == {line.id: line.amount for line in reference.lines}, text
        assert (int(outcome.size[index]) if outcome.size[index] >= 0 else None) == reference.size, text
        assert Decimal(int(outcome.total()[index])).scaleb(exponent) == reference.total, text
        if index == 1:
            record("identical amounts")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
@given(text=rulesets(), case=profiles())
@example(text=IN_TUPLE, case=TAILLE_3)
def test_the_columns_agree_with_the_reference_on_generated_rulesets(text, case):
    profile, day = case
    assert_vector_agrees(text, profile, day, event)


def _sample():
    library = Library()
    missions = set(library.get("avenant-2").missions)
    return [compile_profile(s.document) for s in read_profiles("examples/national-sample.csv", missions)]


@pytest.mark.parametrize("text", [None, "examples/plan-100-cpts.yaml", "examples/negociation-2020-seance-2.yaml"])
def test_the_national_sample_gives_the_fast_paths_totals_on_every_date(text):
    """The shipped texts and the example proposals, 700 CPTS, dates across cut years."""
    library = Library()
    timeline = library.timeline(text)
    profiles_ = _sample()
    for day in ("2020-06-01", "2022-06-01", "2023-06-01", "2024-06-01", "2027-06-01"):
        day = datetime.date.fromisoformat(day)
        fast = FastTimeline(timeline)
        expected = [fast.run(p, day)[1] for p in profiles_]
        outcome = VectorTimeline(timeline).run(profiles_, day)
        assert not outcome.errors and not outcome.refused
        assert [str(Decimal(int(t)).scaleb(-2)) for t in outcome.totals[0]] == [str(r.total) for r in expected]
        assert list(outcome.sizes[0]) == [r.size if r.size is not None else -1 for r in expected]
        # The columns vouch for nearly every row; the few others were computed by the scalar path.
        assert outcome.scalar_rows <= 0.01 * len(profiles_) + 2, outcome.scalar_rows


def test_a_construct_it_cannot_vectorise_is_refused_when_built_with_a_reason():
    text = IN_TUPLE.replace("amount: montant * taux", "amount: montant if contract_signed == 3 else 0")
    ruleset = compile_text(text)
    with pytest.raises(VectorRefused) as refused:
        VectorRuleset(ruleset)
    assert "date" in str(refused.value) and "number" in str(refused.value)


def test_a_variants_scalar_rows_run_the_texts_compiled_function_with_the_variants_figures():
    """The rows the columns hand over under a variant of a sweep run the text's FastRuleset (no
    compile per variant) through a binder that sets the variant's figures: the same amounts as the
    fast backend built from the variant's ruleset, on every line."""
    from aci_rules.engine.sweep import parse_vary, variant_entry
    from aci_rules.engine.fastpath import FastRuleset

    library = Library()
    ruleset = library.get("avenant-2")
    varies = [parse_vary("montant_acces_soins_fixe=x0.9,1.1"), parse_vary("taux_majoration=0,0.05")]
    combinations = [(a, b) for a in varies[0].values for b in varies[1].values]
    overrides = {vary.name: [None] + [variant_entry(vary, values[i]) for values in combinations]
                 for i, vary in enumerate(varies)}
    vector = VectorTimeline(library.timeline(None), overrides, len(combinations) + 1)
    base = vector.scalar(ruleset, 0)
    day = datetime.date(2024, 6, 1)
    profiles_ = _sample()[:120]
    for variant in range(1, len(combinations) + 1):
        shared = vector.scalar(ruleset, variant)
        assert shared._run is base._run  # the text's compiled function
        rebuilt = FastRuleset(vector.variant_ruleset(ruleset, variant))
        for profile in profiles_:
            a, b = shared.run(profile, day, maxima=True), rebuilt.run(profile, day, maxima=True)
            assert (a.amounts, a.total, a.size, a.maxima) == (b.amounts, b.total, b.size, b.maxima)
    assert vector.rebuilt == 0
    # A rate the compiled function holds as a Decimal, set to a whole number: that variant is built.
    whole = VectorTimeline(library.timeline(None), {"taux_majoration": [None, 0]}, 2)
    assert whole.scalar(ruleset, 1)._run is not whole.scalar(ruleset, 0)._run and whole.rebuilt == 1
    for profile in profiles_:
        assert whole.scalar(ruleset, 1).run(profile, day).total == FastRuleset(
            whole.variant_ruleset(ruleset, 1)).run(profile, day).total


def test_a_guarantee_reading_another_text_is_evaluated_by_the_columns():
    """examples/hypothese-avenant-france-sante.yaml pays what avenant 2 would give when it gives
    less (text_total): vectorised, not refused, and the fast path's totals on the sample, on the
    day it cuts contract years and a year later."""
    library = Library()
    timeline = library.timeline("examples/hypothese-avenant-france-sante.yaml")
    profiles_ = _sample()
    for day in (datetime.date(2027, 6, 1), datetime.date(2028, 6, 1)):
        fast = FastTimeline(timeline)
        expected = [fast.run(p, day)[1] for p in profiles_]
        outcome = VectorTimeline(timeline).run(profiles_, day)
        assert not outcome.refused and not outcome.errors and outcome.scalar_rows == 0
        assert [str(Decimal(int(t)).scaleb(-2)) for t in outcome.totals[0]] == [str(r.total) for r in expected]
    ruleset = timeline.resolve(datetime.date(2028, 6, 1))
    assert {"text_total"} <= {f for step in __import__("aci_rules.engine.plan", fromlist=["plan_of"]).plan_of(
        ruleset).steps for formula in step.formulas for f in formula.functions}
    # The guarantee pays some CPTS something (it is not a line that is always 0).
    rows = VectorTimeline(timeline).run(profiles_, datetime.date(2028, 6, 1), lines=True).lines
    assert any(amount > 0 for row in rows for line, amount in row.items() if line == "garantie_non_perte")


@pytest.mark.parametrize("figure, since", [
    ("0.015", "2023-01-03"),  # 1/3 of 0.015: a tie exactly (0.005), a third that does not end
    ("0.0075", "2023-01-02"),  # 2/3 of 0.0075: a tie exactly (0.005)
    ("0.03", "2023-01-02"),  # 2/3 of 0.03 = 0.02: a whole number of cents
    ("1000.01", "2023-01-02"),
    ("-0.015", "2023-01-03"),
])
@pytest.mark.parametrize("rounding", ["amount: {a}", "amount: round_down({a}, '0.01')", "amount: round_half_up({a})"])
def test_a_pro_rata_share_is_rounded_exactly_or_handed_over(figure, since, rounding):
    """A share of a period times a figure is num / den exactly: its cent by integer division. A
    tie, or a whole number of cents when rounding down, is where the reference's 28-digit Decimal
    may land on either side: those rows are handed over, never guessed."""
    share = f"{figure} * prorata_temporis(as_date('{since}'), as_date('2023-01-01'), as_date('2023-01-03'))"
    text = IN_TUPLE.replace("amount: montant * taux", rounding.format(a=share) + "\n    clawback: true")
    assert compile_text(text) is not None, text
    outcomes = []
    assert_vector_agrees(text, TAILLE_3[0], TAILLE_3[1], outcomes.append)
    assert outcomes and outcomes[0] in ("identical amounts", "handed to the scalar path"), outcomes
