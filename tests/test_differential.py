"""Both evaluation paths agree on generated rulesets, not only on generated profiles.

The reference evaluator (engine/evaluate.py, simpleeval) and the fast path
(engine/fastpath.py, one generated Python function) must give the same amounts to the
cent for every construct the loader accepts, or both refuse it with the reference's
diagnostic (DESIGN.md "Evaluation backends"). tests/test_fastpath.py proves it on the
shipped rulesets over generated profiles; here hypothesis writes the rulesets too: a size
table with a generated basis, parameters of each kind, definitions, and lines (with or
without a mission, a condition, a maximum) whose formulas use every operator and every
function of the grammar (README "The ruleset language"), mostly well typed, sometimes not.

The fast backend never runs the reference (a test double makes it fail if it does): when
a formula cannot be computed, both must raise the same diagnostic, each built from the
plan's step (division by zero, values of the wrong kind, a condition that is not true or
false, an amount that is no number, runs_from that is no date). The maxima (asked of the
fast backend) and the day each line accrues from are compared too. Warnings are left
aside: only the reference backend has them.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import datetime
import functools
import json
from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from aci_rules.engine import evaluate as evaluate_module
from aci_rules.engine.compiler import FUNCTION_NAMES
from aci_rules.engine.diagnostic import EvaluationError, InputError
from aci_rules.engine.evaluate import assess, evaluate
from aci_rules.engine.fastpath import FastRuleset, FastTimeline
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.timeline import Timeline
from aci_rules.engine.yaml_loader import Document, parse_document

MISSIONS = ("alpha", "beta")
VOLETS = ("fonctionnement", "fixe", "variable", "supplement")
LINE_IDS = ("l0", "l1", "l2", "l3")

# Every operator of the grammar, and every function (checked against the compiler's list below).
BINARY = ("+", "-", "*", "/")
COMPARE = ("==", "!=", "<", "<=", ">", ">=")
FUNCTIONS_USED = {
    "add_months", "add_years", "days_between", "prorata_temporis", "count_between", "as_date",
    "round_half_up", "round_down", "min", "max", "variable_part", "mission_started", "mission_deployed",
    "mission_achievement", "population_on", "sum_lines", "sum_maxima",
    # issue 13: aggregates (expanded by the compiler into count_true and sum_lines), the
    # guard every line's amount passes through, and the readings of another text
    "count_missions", "any_mission", "all_missions", "count_true", "sum_lines_except", "sum_maxima_except",
    "non_negative", "text_total", "text_line", "text_mission", "text_volet",
}

# What a condition counted over the missions may say of each (its started, deployed, achievement),
# sometimes of the wrong kind (achievement alone: both paths refuse it alike).
CONDITIONS = ("achievement >= 0.5", "achievement >= taux", "started is not None", "started is None",
              "started is not None and started <= date", "deployed is not None or achievement > 0",
              "achievement == 0", "achievement")
KINDS = ("", ", 'socle'", ", 'optionnelle'", ", 'socle', 'optionnelle'")
# The other text a generated ruleset may read (declared only when a formula reads it).
OTHER_TEXT = "other_texts: {avant: avenant-2}\n"


def test_the_generator_covers_every_function_of_the_grammar():
    assert FUNCTIONS_USED == set(FUNCTION_NAMES)


# -- formulas, by the kind of value they give ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Scope:
    """The names a formula may read where it is written."""

    mission: bool
    earlier_lines: tuple = ()
    definitions: tuple = ()


def _literal_number():
    return st.one_of(st.integers(0, 200_000).map(str),
                     st.sampled_from(["0", "1", "2", "0.5", "0.10", "1.25", "12.345", "0.005", "3"]))


@functools.cache
def numbers(scope: Scope, depth: int):
    names = ["population", "members", "taille", "montant", "taux", "delai"]
    names += [d for d in scope.definitions if d.startswith("n_")] + list(scope.earlier_lines)
    if scope.mission:
        names += ["achievement"]
    atom = st.one_of(_literal_number(), st.sampled_from(names))
    if depth <= 0:
        return atom
    n, d, b = numbers(scope, depth - 1), dates(scope, depth - 1), booleans(scope, depth - 1)
    fields = st.sampled_from([("volet", v) for v in VOLETS] + [("mission", m) for m in MISSIONS]
                             + [("id", i) for i in LINE_IDS])
    return st.one_of(
        atom,
        st.tuples(n, st.sampled_from(BINARY), n).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(n, st.integers(0, 3)).map(lambda t: f"({t[0]}) ** {t[1]}"),
        n.map(lambda e: f"-({e})"), n.map(lambda e: f"+({e})"),
        st.tuples(n, b, n).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        n.map(lambda e: f"round_half_up({e})"), n.map(lambda e: f"round_down({e})"),
        st.tuples(n, st.sampled_from(["'0.01'", "'1'", "'100'"])).map(lambda t: f"round_half_up({t[0]}, {t[1]})"),
        st.tuples(n, st.sampled_from(["'1'", "'1000'"])).map(lambda t: f"round_down({t[0]}, {t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(n, min_size=1, max_size=3))
        .map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(d, d).map(lambda t: f"days_between({t[0]}, {t[1]})"),
        st.tuples(d, d).map(lambda t: f"count_between(crises, {t[0]}, {t[1]})"),
        st.tuples(d, d, d).map(lambda t: f"prorata_temporis({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(n, n, st.one_of(n, st.just("None"))).map(lambda t: f"variable_part({t[0]}, {t[1]}, {t[2]})"),
        st.sampled_from(MISSIONS).map(lambda m: f"mission_achievement('{m}')"),
        d.map(lambda e: f"population_on({e})"),
        st.tuples(st.sampled_from(["sum_lines", "sum_maxima"]), fields)
        .map(lambda t: f"{t[0]}('{t[1][0]}', '{t[1][1]}')"),
        st.tuples(st.sampled_from(["sum_lines", "sum_maxima"]), st.sampled_from(["socle", "optionnelle"]))
        .map(lambda t: f"{t[0]}('kind', '{t[1]}')"),
        st.tuples(st.sampled_from(["sum_lines_except", "sum_maxima_except"]), fields)
        .map(lambda t: f"{t[0]}('{t[1][0]}', '{t[1][1]}')"),
        st.tuples(st.sampled_from(CONDITIONS), st.sampled_from(KINDS))
        .map(lambda t: f"count_missions('{t[0]}'{t[1]})"),
        st.lists(b, min_size=1, max_size=3).map(lambda t: f"count_true({', '.join(t)})"),
        n.map(lambda e: f"non_negative({e})"),
        st.just("text_total('avant')"),
        st.sampled_from(["fonctionnement", "acces_soins_fixe", "majoration_missions"])
        .map(lambda i: f"text_line('avant', '{i}')"),
        st.sampled_from(["acces_soins", "crises_sanitaires"]).map(lambda m: f"text_mission('avant', '{m}')"),
        st.sampled_from(["fixe", "variable", "supplement"]).map(lambda v: f"text_volet('avant', '{v}')"),
    )


@functools.cache
def dates(scope: Scope, depth: int):
    names = ["date", "contract_signed", "contract_year_start", "contract_year_end", "contract_end",
             "text_in_force", "letter_of_intent_validated", "jour"]
    names += [d for d in scope.definitions if d.startswith("d_")]
    if scope.mission:
        names += ["started", "deployed"]
    atom = st.one_of(st.sampled_from(names),
                     st.sampled_from(["as_date('2022-09-03')", "as_date('2024-02-29')", "as_date('2020-01-31')"]))
    if depth <= 0:
        return atom
    n, d, b = numbers(scope, depth - 1), dates(scope, depth - 1), booleans(scope, depth - 1)
    return st.one_of(
        atom,
        st.tuples(st.sampled_from(["add_months", "add_years"]), d, st.one_of(st.integers(-30, 30).map(str), n))
        .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.sampled_from(MISSIONS).map(lambda m: f"mission_started('{m}')"),
        st.sampled_from(MISSIONS).map(lambda m: f"mission_deployed('{m}')"),
        st.tuples(st.sampled_from(["min", "max"]), d, d).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(d, b, d).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


@functools.cache
def booleans(scope: Scope, depth: int):
    atom = st.sampled_from(["True", "False", "contract_year is not None", "contract_signed is None"]
                           + [d for d in scope.definitions if d.startswith("b_")])
    if depth <= 0:
        return atom
    n, d, b = numbers(scope, depth - 1), dates(scope, depth - 1), booleans(scope, depth - 1)
    anything = st.one_of(n, d, st.just("None"), st.just("'alpha'"))
    return st.one_of(
        atom,
        st.tuples(n, st.sampled_from(COMPARE), n).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(d, st.sampled_from(COMPARE), d).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(n, n, n).map(lambda t: f"({t[0]} <= {t[1]} < {t[2]})"),
        st.tuples(anything, st.sampled_from(["is None", "is not None"])).map(lambda t: f"({t[0]} {t[1]})"),
        st.tuples(n, st.sampled_from(["in", "not in"]), st.lists(n, min_size=1, max_size=3),
                  st.sampled_from(["()", "[]"]))
        .map(lambda t: f"({t[0]} {t[1]} {t[3][0]}{', '.join(t[2])}{',' if t[3] == '()' else ''}{t[3][1]})"),
        st.tuples(b, st.sampled_from(["and", "or"]), b).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        b.map(lambda e: f"not {e}"),
        st.tuples(st.sampled_from(["any_mission", "all_missions"]), st.sampled_from(CONDITIONS),
                  st.sampled_from(KINDS)).map(lambda t: f"{t[0]}('{t[1]}'{t[2]})"),
    )


@functools.cache
def ill_typed(scope: Scope):
    """A formula of the wrong kind somewhere: both paths must refuse it alike."""
    return st.one_of(
        st.tuples(numbers(scope, 1), st.sampled_from(BINARY), dates(scope, 0)).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(dates(scope, 0), st.sampled_from(COMPARE), st.just("'2024-01-01'")).map(lambda t: " ".join(t)),
        numbers(scope, 0).map(lambda e: f"{e} in 3"),
        st.just("'texte'"), st.just("None"), st.just("contract_year"), st.just("crises"),
        st.just("True"), numbers(scope, 0).map(lambda e: f"({e} > 3)"),
        # 'is' between values: refused by the loader (the two paths would not agree on identity)
        st.tuples(numbers(scope, 0), numbers(scope, 0)).map(lambda t: f"{t[0]} if {t[0]} is {t[1]} else 0"),
        numbers(scope, 1).map(lambda e: f"({e}, 1)"),
        numbers(scope, 1).map(lambda e: f"[{e}]"),
    )


@functools.cache
def formula(kind, scope: Scope, depth: int = 2):
    """Mostly a formula of ``kind``; one in ten of the wrong kind somewhere."""
    good = {"number": numbers, "date": dates, "bool": booleans}[kind](scope, depth)
    return st.one_of(*([good] * 9), ill_typed(scope))


BASIS = st.one_of(
    st.just("population"),
    st.sampled_from(["population_on(date)", "population + members", "max(population, members * 1000)",
                     "population if members > 10 else population / 2", "round_down(population * taux)",
                     "population * 0 + sum_lines('volet', 'fixe')", "population if mission_started('alpha') "
                     "is None else population_on(mission_started('alpha'))", "days_between(jour, date) * 100",
                     "population if date < jour else population - members",
                     # of the wrong kind: both paths must refuse them alike
                     "population > 40000", "True", "date", "None", "'40000'", "population - 100000",
                     "population / 3", "(population, 1)", "members * 0.5"]),
    numbers(Scope(mission=False), 1).filter(lambda e: all(
        name not in e for name in ("taille", "l0", "l1", "l2", "l3", "contract_", "montant",
                                   "text_in_force", "started", "deployed"))),
)


# -- rulesets -----------------------------------------------------------------------------------

HEADER = """\
id: generee
title: Ruleset généré
kind: proposal
status: proposal
reference: tests/test_differential.py (aucun texte)
dates: {in_force: 2019-08-25}
contract: {duration_years: 5, reference: essai, confidence: confirmed}
taille:
  basis: %s
  reference: essai
  confidence: confirmed
  classes:
    - {taille: 1, max: 39999}
    - {taille: 2, min: 40000, max: 79999}
    - {taille: 3, min: 80000, max: 174999}
    - {taille: 4, min: 175000}
missions:
  - {id: alpha, label: Mission alpha, kind: socle}
  - {id: beta, label: Mission beta, kind: optionnelle}
parameters:
  montant: {unit: EUR, by_taille: {1: 50000, 2: 60000.50, 3: 75000, 4: 90000}, reference: essai, confidence: confirmed}
  taux: {unit: taux, value: 0.75, reference: essai, confidence: confirmed}
  delai: {unit: mois, value: 6, reference: essai, confidence: confirmed}
  jour: {value: 2022-09-03, reference: essai, confidence: confirmed}
"""


@st.composite
def rulesets(draw):
    """The YAML text of a generated ruleset."""
    text = HEADER % json.dumps(draw(BASIS))
    definitions = {}
    for name in draw(st.lists(st.sampled_from(["n_un", "d_un", "b_un"]), unique=True, max_size=3)):
        kind = {"n": "number", "d": "date", "b": "bool"}[name[0]]
        definitions[name] = draw(formula(kind, Scope(mission=False, definitions=tuple(definitions)), 1))
    if definitions:
        text += "definitions:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in definitions.items())
    text += "lines:\n"
    count = draw(st.integers(1, len(LINE_IDS)))
    for index in range(count):
        line_id = LINE_IDS[index]
        mission = draw(st.one_of(st.none(), st.sampled_from(MISSIONS)))
        scope = Scope(mission=mission is not None, earlier_lines=LINE_IDS[:index], definitions=tuple(definitions))
        text += f"  - id: {line_id}\n    label: Ligne {index}\n    volet: {draw(st.sampled_from(VOLETS))}\n"
        text += "    reference: essai\n"
        if mission is not None:
            text += f"    mission: {mission}\n"
        if draw(st.booleans()):
            text += f"    when: {json.dumps(draw(formula('bool', scope)))}\n"
        text += f"    amount: {json.dumps(draw(formula('number', scope)))}\n"
        if draw(st.booleans()):
            text += f"    maximum: {json.dumps(draw(formula('number', scope)))}\n"
        if draw(st.integers(0, 3)) == 0:
            runs_from = draw(st.one_of(formula("date", scope, 1), st.just("None")))
            text += f"    runs_from: {json.dumps(runs_from)}\n"
        if draw(st.integers(0, 5)) == 0:
            text += "    clawback: true\n"
    if any(f"{function}(" in text for function in ("text_total", "text_line", "text_mission", "text_volet")):
        text = OTHER_TEXT + text
    return text


# -- profiles -----------------------------------------------------------------------------------

def _day(draw, low=datetime.date(2018, 1, 1), high=datetime.date(2027, 12, 31)):
    return draw(st.dates(low, high))


@st.composite
def profiles(draw):
    data = {"name": "CPTS générée", "population": draw(st.sampled_from([0, 39_999, 40_000, 80_000, 175_000])
                                                          | st.integers(0, 400_000))}
    if draw(st.booleans()):
        data["members"] = draw(st.integers(0, 300))
    signed = draw(st.one_of(st.none(), *[st.dates(datetime.date(2019, 9, 1), datetime.date(2025, 12, 31))] * 5))
    if signed is not None:
        data["contract_signed"] = signed.isoformat()
    if draw(st.booleans()):
        data["letter_of_intent_validated"] = _day(draw).isoformat()
    missions = {}
    for mission in draw(st.lists(st.sampled_from(MISSIONS), unique=True)):
        state = {}
        if draw(st.integers(0, 4)):
            state["started"] = _day(draw).isoformat()
        if draw(st.booleans()):
            state["deployed"] = _day(draw).isoformat()
        state["achievement"] = draw(st.dictionaries(
            st.sampled_from(["1", "2", "3", "4", "5"]), st.integers(0, 100).map(lambda n: Decimal(n).scaleb(-2))))
        missions[mission] = state
    if missions:
        data["missions"] = missions
    crises = draw(st.lists(st.dates(datetime.date(2019, 1, 1), datetime.date(2027, 12, 31)), max_size=3))
    if crises:
        data["crises"] = [{"declared": day.isoformat()} for day in crises]
    if draw(st.integers(0, 3)) == 0:
        data["population_history"] = [{"since": _day(draw).isoformat(), "population": draw(st.integers(0, 400_000))}]
    document = Document("<generated>", data)
    problems = [d for d in validate_profile(document, set(MISSIONS)) if d.is_error]
    assert not problems, [str(d) for d in problems]
    if signed is not None and draw(st.integers(0, 4)):
        day = signed + datetime.timedelta(days=draw(st.integers(0, 5 * 365)))  # mostly inside the contract
    else:
        day = _day(draw, datetime.date(2019, 8, 25))
    return compile_profile(document), day


# -- the property -------------------------------------------------------------------------------

def compile_text(text: str):
    """The compiled ruleset of ``text``, or None when the loader refuses it (nothing to compare)."""
    try:
        return Library().compile(parse_document(text.encode(), "generee.yaml"))
    except InputError:
        return None


def assert_both_paths_agree(text: str, profile, day, record=lambda outcome: None) -> None:
    ruleset = compile_text(text)
    if ruleset is None:
        record("refused by the loader")
        return
    fast = FastRuleset(ruleset)
    assert_the_years_agree(ruleset, profile, day, text)
    try:
        reference = evaluate(ruleset, profile, day)
    except EvaluationError as error:
        # The fast backend reports the same diagnostic by itself (never by running the reference),
        # the maxima asked or not (the reference computes every maximum: one that fails stops it).
        for maxima in (True, False):
            with no_reference_run(), pytest.raises(EvaluationError) as raised:
                computed = fast.run(profile, day, maxima=maxima)
                pytest.fail(f"the reference refuses ({error}) but the fast path computes {computed}\n{text}")
            assert [str(d) for d in raised.value.diagnostics] == [str(d) for d in error.diagnostics], text
            assert raised.value.diagnostics == error.diagnostics, text
        record(f"both refuse: {error.diagnostics[0].code}")
        return
    try:
        with no_reference_run():
            computed = fast.run(profile, day, maxima=True)
            amounts_only = fast.run(profile, day)
    except EvaluationError as exc:
        pytest.fail(f"the reference computes {reference.total} but the fast path fails: {exc}\n{text}")
    assert computed.size == reference.size, text
    assert computed.contract_year == (reference.contract_year.number if reference.contract_year else None), text
    assert {k: str(v) for k, v in computed.amounts.items()} == {l.id: str(l.amount) for l in reference.lines}, text
    assert {k: str(v) for k, v in computed.maxima.items()} == {l.id: str(l.maximum) for l in reference.lines}, text
    assert computed.runs_from == {l.id: l.runs_from for l in reference.lines if l.id in computed.runs_from}, text
    assert str(computed.total) == str(reference.total), text
    assert amounts_only.amounts == computed.amounts and amounts_only.total == computed.total, text
    record(f"both compute {len(reference.lines)} line(s)")


def assert_the_years_agree(ruleset, profile, day, text, record=lambda outcome: None) -> None:
    """Over the contract year (what batch, compare and sweep give): the reference's assess (the day
    itself, then each part of the year on its first day) and FastTimeline give the same total, or
    the same diagnostic; and so do the columns (VectorTimeline) when numpy is installed."""
    timeline = Timeline(lambda _: ruleset, [ruleset.in_force])
    try:
        expected = assess(timeline, profile, day).total
    except EvaluationError as error:
        expected = error.diagnostics
    try:
        with no_reference_run():
            found = FastTimeline(timeline).run(profile, day)[1].total
    except EvaluationError as error:
        found = error.diagnostics
    assert found == expected, text
    if _vector is not None:
        outcome = _vector.VectorTimeline(timeline).run([profile], day)
        if isinstance(expected, list):
            assert [error.diagnostics for _, _, error in outcome.errors] == [expected], text
        else:
            assert not outcome.errors and outcome.done[0, 0], text
            assert Decimal(int(outcome.totals[0, 0])).scaleb(ruleset.quantum.as_tuple().exponent) == expected, text
    record("the year: both refuse" if isinstance(expected, list) else "the year: both compute")


try:  # the vectorised backend, when numpy (the vector extra) is installed
    from aci_rules.engine import vector as _vector
    _vector.require_numpy()
except Exception:  # noqa: BLE001 — without numpy, the two scalar backends alone
    _vector = None


@contextlib.contextmanager
def no_reference_run():
    """Fails when the reference evaluator runs inside: the fast backend stands on its own."""
    real = evaluate_module._Evaluation.run

    def refuse(self):
        raise AssertionError("the fast backend ran the reference evaluator")

    with mock.patch.object(evaluate_module._Evaluation, "run", refuse):
        yield
    assert evaluate_module._Evaluation.run is real


IN_TUPLE = HEADER % json.dumps("population") + """\
lines:
  - id: l0
    label: Ligne 0
    volet: fonctionnement
    reference: essai
    when: taille in (3, 4)
    amount: montant
  - id: l1
    label: Ligne 1
    volet: fixe
    reference: essai
    when: taille not in [1]
    amount: montant * taux
"""
TAILLE_3 = (compile_profile(Document("<example>", {"name": "CPTS", "population": 92_000,
                                                  "contract_signed": "2021-10-15"})),
            datetime.date(2023, 6, 1))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
@given(text=rulesets(), case=profiles())
@example(text=IN_TUPLE, case=TAILLE_3)
@example(text=IN_TUPLE.replace('basis: "population"', 'basis: "population > 40000"'), case=TAILLE_3)
@example(text=IN_TUPLE.replace('basis: "population"', 'basis: "True"'), case=TAILLE_3)
def test_both_paths_agree_on_generated_rulesets(text, case):
    profile, day = case
    assert_both_paths_agree(text, profile, day, event)


def test_taille_in_a_tuple_evaluates_on_both_paths():
    """README: ``taille in (3, 4)`` passes validate; eval once failed on it ("Tuple is not
    available in this evaluator") while batch computed it."""
    ruleset = compile_text(IN_TUPLE)
    assert ruleset is not None
    profile, day = TAILLE_3
    result = evaluate(ruleset, profile, day)
    # taille 3: montant 75 000 on l0; l1 is 75 000 x 0.75.
    assert {line.id: line.amount for line in result.lines} == {"l0": Decimal("75000.00"), "l1": Decimal("56250.00")}
    assert_both_paths_agree(IN_TUPLE, profile, day)


# -- failing formulas: the same diagnostic from both backends ----------------------------------

FAILING = HEADER % "%s" + """\
definitions:
  un: %s
lines:
  - id: l0
    label: Ligne 0
    volet: fixe
    mission: alpha
    reference: essai
    when: %s
    amount: %s
    maximum: %s
    runs_from: %s
  - id: l1
    label: Ligne 1
    volet: supplement
    reference: essai
    amount: sum_maxima('volet', 'fixe') + sum_lines('mission', 'alpha') + un * 0
"""
# Where a failing formula goes, and what stands there otherwise.
PLACES = {"basis": "population", "definition": "montant", "when": "contract_year is not None",
          "amount": "montant * achievement", "maximum": "montant", "runs_from": "started"}
# Operands that make an operator or a function fail: a zero, a date, a text, None, true/false, a tuple.
BAD = ["(members - members)", "0", "date", "'texte'", "None", "True", "crises", "contract_signed"]
GOOD = ["montant", "population", "taux", "achievement", "started", "date", "1"]
# Formulas that fail whatever the profile: every operator and every function of the grammar,
# given a value of the wrong kind or a zero, and every check a backend makes of a result.
FAILURES = [
    "montant / (members - members)", "population / 0", "0 / 0", "taux / 0.0", "date + 1", "1 - date",
    "date * 2", "'texte' - 1", "None + 1", "-date", "+'texte'", "date ** 2", "population ** 10 * montant ** 10",
    "date < 3", "montant >= date", "3 in population", "(3 > 'a')", "(date == 1) + date", "not date + 1",
    "(1 if date else 2) + date", "(date and 1) * date", "(None or date) / 2",
    "add_months(population, 1)", "add_years(date, 'x')", "add_months(date, 1.5)", "days_between(1, date)",
    "prorata_temporis(1, date, date)", "count_between(population, date, date)", "as_date('2024-13-01')",
    "round_half_up(date)", "round_half_up(1, 'x')", "round_down('x')", "min(date, 1)", "max(1, 'a')",
    "variable_part(date, 1, None)", "mission_started('alpha') + 1", "mission_deployed('beta') * 2",
    "mission_achievement('alpha') + date", "population_on(date) + date", "sum_lines('volet', 'fixe') + date",
    "sum_maxima('volet', 'fixe') / 0",
]
# Values of the wrong kind for a place: what the place checks (a condition, an amount, a day, a number).
WRONG_KIND = {"basis": ["date", "'40000'", "None", "population > 40000"],
              "when": ["montant", "date", "None", "'oui'", "population + 1"],
              "amount": ["date", "None", "'texte'", "True", "contract_signed", "montant * 10 ** 9 * 10 ** 9"],
              "maximum": ["date", "'texte'", "False"],
              "runs_from": ["population", "'2024-01-01'", "True", "montant * 1.5"],
              "definition": []}
FAILING_PROFILE = (compile_profile(Document("<generated>", {
    "name": "CPTS générée", "population": 92_000, "members": 0, "contract_signed": "2021-10-15",
    "missions": {"alpha": {"started": "2022-01-10", "achievement": {"2": Decimal("0.5")}}},
    "crises": [{"declared": "2023-01-05"}]})), datetime.date(2023, 6, 1))


def failing_text(place: str, formula_text: str) -> str:
    values = dict(PLACES)
    values[place] = formula_text
    if place == "basis":  # the basis reads no contract year, taille, line, mission field or parameter by taille
        values[place] = formula_text.replace("achievement", "taux").replace("started", "date").replace(
            "montant", "taux").replace("contract_signed", "date")
    return FAILING % tuple(json.dumps(values[key]) for key in
                           ("basis", "definition", "when", "amount", "maximum", "runs_from"))


def _both_refuse(text: str):
    ruleset = compile_text(text)
    assert ruleset is not None, text
    profile, day = FAILING_PROFILE
    with pytest.raises(EvaluationError) as reference:
        evaluate(ruleset, profile, day)
    with no_reference_run(), pytest.raises(EvaluationError) as fast:
        FastRuleset(ruleset).run(profile, day)
    assert [str(d) for d in fast.value.diagnostics] == [str(d) for d in reference.value.diagnostics], text
    assert fast.value.diagnostics == reference.value.diagnostics
    return reference.value.diagnostics


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("formula_text", FAILURES)
def test_a_failing_formula_gets_the_same_diagnostic_from_both_backends(place, formula_text):
    """Each failure of every operator and function, at every place a formula stands."""
    text = failing_text(place, formula_text)
    if compile_text(text) is None:  # a place may not read some names (the basis, a definition)
        pytest.skip("refused by the loader at this place")
    (diagnostic,) = _both_refuse(text)
    assert diagnostic.code in ("E401", "E402"), diagnostic
    assert diagnostic.line is not None


@pytest.mark.parametrize("place, formula_text", [(p, f) for p, fs in WRONG_KIND.items() for f in fs])
def test_a_value_of_the_wrong_kind_gets_the_same_diagnostic_from_both_backends(place, formula_text):
    """A condition that is not true or false, an amount that is no number (or too large), a day
    that is no date, a basis that is no number."""
    (diagnostic,) = _both_refuse(failing_text(place, formula_text))
    assert diagnostic.code == "E402", diagnostic


@pytest.mark.parametrize("formula_text", ["-montant", "taux - 1", "0 - population", "-0.004", "-(taux)"])
def test_a_negative_amount_gets_the_same_diagnostic_from_both_backends(formula_text):
    """Below zero, before rounding (-0.004 rounds to zero but is refused), ints and decimals."""
    (diagnostic,) = _both_refuse(failing_text("amount", formula_text))
    assert diagnostic.code == "E411", diagnostic


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(place=st.sampled_from(sorted(PLACES)),
       parts=st.tuples(st.sampled_from(GOOD + BAD), st.sampled_from(BINARY + COMPARE + ("and", "or", "in")),
                       st.sampled_from(GOOD + BAD)),
       members=st.sampled_from([0, 3]))
def test_generated_operations_agree_or_fail_alike(place, parts, members):
    """An operator between values of every kind (zeros, dates, texts, None, tuples): both backends
    compute the same amounts, or both refuse with the same diagnostic."""
    left, operator_, right = parts
    if operator_ == "in":
        right = f"({right},)"
    text = failing_text(place, f"({left} {operator_} {right})")
    ruleset = compile_text(text)
    if ruleset is None:
        event("refused by the loader")
        return
    profile, day = FAILING_PROFILE
    if members:
        profile = dataclasses.replace(profile, members=members)
    assert_both_paths_agree(text, profile, day, event)


# Issue 13: every aggregate and every reading of another text in one ruleset, so that each
# generated profile exercises them all (in generated rulesets they are often refused for
# another reason). l3 is a clawback, l4 would be negative without saying so (E411) when
# fewer missions reach the threshold than the line subtracts.
AGGREGATES = HEADER % json.dumps("population") + """\
other_texts: {avant: avenant-2}
lines:
  - {id: l0, label: Ligne 0, volet: fixe, mission: alpha, reference: essai,
     amount: "montant * achievement if started is not None else 0"}
  - {id: l1, label: Ligne 1, volet: variable, mission: beta, reference: essai,
     amount: "montant * taux * achievement"}
  - id: l2
    label: Ligne 2
    volet: supplement
    reference: essai
    when: "any_mission('started is not None and started <= date') or all_missions('achievement == 0', 'socle')"
    amount: >-
      count_missions('achievement >= 0.5') * 1000 + count_missions('started is None', 'optionnelle') * 10
      + sum_lines('kind', 'socle') * 0.5 + sum_maxima('kind', 'optionnelle') * 0.25
  - {id: l3, label: Ligne 3, volet: supplement, clawback: true, reference: essai,
     amount: "-0.10 * sum_lines_except('volet', 'supplement', 'fonctionnement') + 0 * sum_maxima_except('volet', 'supplement', 'fonctionnement')"}
  - id: l4
    label: Ligne 4
    volet: fonctionnement
    reference: essai
    amount: >-
      max(0, text_total('avant') - sum_lines_except('volet', 'fonctionnement'))
      + text_line('avant', 'fonctionnement') * 0 + text_mission('avant', 'acces_soins') * 0.01
      + text_volet('avant', 'fixe') * 0.01 + count_missions('achievement >= 0.9') * 100
"""


@functools.cache
def _aggregates():
    ruleset = compile_text(AGGREGATES)
    return ruleset, FastRuleset(ruleset)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=profiles())
@example(case=TAILLE_3)
def test_both_paths_agree_on_aggregates_and_other_texts(case):
    ruleset, fast = _aggregates()  # compiled once: the other text is read through the same library
    profile, day = case
    try:
        reference = evaluate(ruleset, profile, day)
    except EvaluationError as error:
        with pytest.raises(EvaluationError) as raised:
            fast.run(profile, day)
        assert raised.value.diagnostics == error.diagnostics
        event(f"both refuse: {error.diagnostics[0].code}")
        return
    computed = fast._compute(profile, day)
    assert {k: str(v) for k, v in computed.amounts.items()} == {l.id: str(l.amount) for l in reference.lines}
    assert str(computed.total) == str(reference.total)
    event(f"both compute {len(reference.lines)} line(s)")


# A line's amount below zero is the plan's result check (plan.check_amount), not a call wrapped
# around the formula: the compiled tree is the formula as written, and the check is made by both
# backends, the fast one included where it rounds a parameter once per taille.
NEGATIVE = HEADER % json.dumps("population") + """\
  reprise: {unit: EUR, by_taille: {1: 10, 2: -20.01, 3: 0, 4: 5}, reference: essai, confidence: confirmed}
lines:
  - {id: l0, label: Ligne 0, volet: fixe, reference: essai, amount: reprise}
  - {id: l1, label: Ligne 1, volet: fixe, reference: essai, clawback: true, amount: reprise * 2}
"""


@pytest.mark.parametrize("clawback", [False, True])
def test_a_negative_amount_is_a_result_check_of_the_plan(clawback):
    text = NEGATIVE if not clawback else NEGATIVE.replace("amount: reprise}", "clawback: true, amount: reprise}")
    ruleset = compile_text(text)
    assert [ast.unparse(line.amount.node) for line in ruleset.lines] == ["reprise", "reprise * 2"]
    assert [line.clawback for line in ruleset.lines] == [clawback, True]
    profile, day = FAILING_PROFILE
    fast = FastRuleset(ruleset)
    for population, expected in ((50_000, ("-20.01", "-40.02")), (10_000, ("10.00", "20.00"))):
        sized = dataclasses.replace(profile, population=population)
        if clawback or expected[0][0] != "-":
            computed = fast.run(sized, day)
            assert [str(line.amount) for line in evaluate(ruleset, sized, day).lines] == list(expected)
            assert [str(computed.amounts[key]) for key in ("l0", "l1")] == list(expected)
            continue
        with pytest.raises(EvaluationError) as reference:
            evaluate(ruleset, sized, day)
        with no_reference_run(), pytest.raises(EvaluationError) as raised:
            fast.run(sized, day)
        assert [str(d) for d in raised.value.diagnostics] == [str(d) for d in reference.value.diagnostics] == [
            "generee.yaml:27:69: E411 the amount is negative (-20.01): a line may pay a negative amount (money "
            "paid back) only when it says clawback: true in line 'l0' (lines[l0].amount: reprise) for profile "
            "'CPTS générée'"]


# -- a maximum, or a formula reading the day, that fails (issue 14: one meaning) -----------------
#
# The reference computes every line's maximum and, over a contract year, the day itself before each
# part of the year: a maximum no sum reads that fails, or a formula that fails on the day itself but
# not on the first day of its part, stops it. The fast and vectorised backends must stop alike
# (plan.failing_formulas), never give amounts there.

# FAILING's ruleset, with no runs_from, and l0's maximum read by no sum (the test adds one at times).
ONE_MEANING = FAILING.replace("    runs_from: %s\n", "").replace(
    "amount: sum_maxima('volet', 'fixe') + sum_lines", "amount: sum_lines")
assert ONE_MEANING.count("%s") == 5 and "sum_maxima" not in ONE_MEANING
ONE_MEANING_PLACES = {"definition": "montant", "when": "contract_year is not None",
                      "amount": "montant * achievement", "maximum": "montant"}
# What fails for some generated profiles: a division by members (often 0), None in arithmetic, a date
# moved out of the calendar, a value of the wrong kind.
FAILING_NUMBERS = ["montant / members", "population / (members - 3)", "montant * taux / (population - 40000)",
                   "days_between(letter_of_intent_validated, date) + montant", "mission_started('beta') - 1",
                   "days_between(date, add_years(date, members * 10)) + 1", "montant * achievement / achievement",
                   "montant if started is None else days_between(started, date) + montant"]
FAILING_CONDITIONS = ["population / members > 0", "letter_of_intent_validated <= date", "members"]


@st.composite
def one_meaning_texts(draw):
    """A ruleset one formula of which (a maximum, an amount, a condition, a definition) may fail,
    often only from a day on (``<formula> if date < as_date(D) else <failing>``, or from some months
    into the contract year), its maximum read or not by a sum."""
    place = draw(st.sampled_from(sorted(ONE_MEANING_PLACES)))
    values = dict(ONE_MEANING_PLACES)
    failing = draw(st.sampled_from(FAILING_CONDITIONS if place == "when" else [
        f for f in FAILING_NUMBERS if place != "definition" or "achievement" not in f and "started" not in f]))
    wrap = draw(st.integers(0, 3))
    if wrap == 1:  # from a day on
        since = draw(st.dates(datetime.date(2019, 9, 1), datetime.date(2027, 12, 31)))
        failing = f"({values[place]} if date < as_date('{since.isoformat()}') else {failing})"
    elif wrap >= 2:  # from some months into the contract year: never on its first day
        months = draw(st.integers(1, 11))
        failing = (f"({values[place]} if contract_year is None or date < add_months(contract_year_start, {months}) "
                   f"else {failing})")
    values[place] = failing
    text = ONE_MEANING % tuple(json.dumps(values[key]) if key in values else json.dumps("population")
                               for key in ("basis", "definition", "when", "amount", "maximum"))
    if draw(st.booleans()):  # the maximum read by a sum (computed on every run), or not
        text = text.replace("sum_lines('mission', 'alpha') + un", "sum_maxima('mission', 'alpha') + un")
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=one_meaning_texts(), case=profiles())
def test_a_failing_maximum_or_formula_reading_the_day_fails_alike_on_every_backend(text, case):
    profile, day = case
    ruleset = compile_text(text)
    assert ruleset is not None, text
    assert_both_paths_agree(text, profile, day, event)
    assert_the_years_agree(ruleset, profile, day, text, event)
