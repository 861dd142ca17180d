"""The fast path (engine/fastpath.py) gives exactly what the reference evaluator gives.

``FastRuleset(ruleset).run(profile, day)`` must agree with ``evaluate(ruleset, profile, day)``
on the size, the contract year, the amount of every line that applies and the total, for
every shipped ruleset and the two modelled proposals of examples/, on generated profiles
and dates. A failing formula must be reported as the reference reports it, and the
generated function must have no way to reach a Python builtin.

No expected figure is written here: each one is the reference evaluator's.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import datetime
import re
from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aci_rules.engine import evaluate as evaluate_module
from aci_rules.engine import fastpath as fastpath_module
from aci_rules.engine.batch import read_profiles
from aci_rules.engine.bind import BINDING_NAMESPACE
from aci_rules.engine.compiler import FUNCTION_NAMES
from aci_rules.engine.diagnostic import EvaluationError, InputError
from aci_rules.engine.evaluate import assess, evaluate
from aci_rules.engine.fastpath import FastRuleset, FastTimeline
from aci_rules.engine.helpers import LINE_FUNCTIONS, PURE_FUNCTIONS
from aci_rules.engine.library import Library
from aci_rules.engine.plan import failing_obligations
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.timeline import Timeline
from aci_rules.engine.yaml_loader import Document

from conftest import EXAMPLES, invoke

LIBRARY = Library()
SHIPPED = LIBRARY.known_ids()
PROPOSALS = [str(EXAMPLES / "plan-100-cpts.yaml"), str(EXAMPLES / "negociation-2020-seance-2.yaml")]
RULESETS = SHIPPED + PROPOSALS  # library.in_force(day) is one of the shipped ones, as on that day
# Every mission a ruleset in play knows (the shipped ones, and the local-initiative
# mission that plan-100-cpts adds).
MISSIONS = sorted(LIBRARY.mission_ids() | {m for name in PROPOSALS for m in LIBRARY.get(name).missions})

# FACTS.md §2: the size classes' boundaries (40 000 is taille 2, 80 000 taille 2, 175 000 taille 3).
BOUNDARIES = [0, 39_999, 40_000, 79_999, 80_000, 80_001, 175_000, 175_001, 400_000]
FIRST_DAY, LAST_DAY = datetime.date(2019, 8, 25), datetime.date(2027, 12, 31)

_FAST: dict = {}


def fast_of(ruleset):
    """One FastRuleset per compiled ruleset (the library keeps each compiled text alive)."""
    key = id(ruleset)
    if key not in _FAST or _FAST[key][0] is not ruleset:
        _FAST[key] = (ruleset, FastRuleset(ruleset))
    return _FAST[key][1]


@contextlib.contextmanager
def counting_fallbacks():
    """Count the reference evaluations run while the fast backend runs (there must be none:
    it computes, or reports the plan's diagnostic itself)."""
    calls = []
    real = evaluate_module._Evaluation.run

    def spy(self):
        calls.append(self)
        return real(self)

    with mock.patch.object(evaluate_module._Evaluation, "run", spy):
        yield calls


def profile_of(data: dict):
    document = Document("<generated>", data)
    problems = [d for d in validate_profile(document, set(MISSIONS)) if d.is_error]
    assert not problems, [str(d) for d in problems]
    return compile_profile(document)


def assert_same(ruleset, profile, day):
    """The fast path and the reference agree, and the fast path computed it itself."""
    fast = fast_of(ruleset)
    try:
        reference = evaluate(ruleset, profile, day)
    except EvaluationError as error:
        with counting_fallbacks() as fallbacks, pytest.raises(EvaluationError) as raised:
            fast.run(profile, day)
        assert raised.value.diagnostics == error.diagnostics
        assert not fallbacks, "the fast backend ran the reference to report a failure"
        return
    with counting_fallbacks() as fallbacks:
        result = fast.run(profile, day)
    where = f"{ruleset.id} on {day}"
    assert not fallbacks, f"{where}: the fast path failed and fell back to the reference evaluator"
    assert result.size == reference.size, where
    expected_year = reference.contract_year.number if reference.contract_year else None
    assert result.contract_year == expected_year, where
    expected = {line.id: str(line.amount) for line in reference.lines}
    assert {k: str(v) for k, v in result.amounts.items()} == expected, where
    assert str(result.total) == str(reference.total), where


# -- generated profiles ----------------------------------------------------------------------

population = st.one_of(st.sampled_from(BOUNDARIES), st.integers(0, 400_000))
rate = st.integers(0, 100).map(lambda n: Decimal(n).scaleb(-2))  # 0.00 .. 1.00, two decimals
SIGNED_FROM, SIGNED_TO = datetime.date(2019, 9, 1), datetime.date(2025, 12, 31)
# Signatures on days where anniversaries and deadlines are awkward, or around the
# avenant-2 dates (FACTS.md §1, §3, §4.1: 2021-12-31, 2022-09-30).
AWKWARD_SIGNATURES = [datetime.date(2020, 2, 29), datetime.date(2021, 12, 30), datetime.date(2021, 12, 31),
                      datetime.date(2022, 9, 29), datetime.date(2022, 9, 30), datetime.date(2022, 9, 3)]
MOMENTS = [datetime.date(2022, 3, 31), datetime.date(2022, 4, 1), datetime.date(2022, 9, 2),
           datetime.date(2022, 9, 3), datetime.date(2023, 12, 31), datetime.date(2024, 1, 1)]


def _near(draw, anchor):
    """A day: anywhere in the period, or close to ``anchor`` (most contract years are then in play)."""
    if anchor is None or draw(st.booleans()):
        return draw(st.dates(datetime.date(2018, 1, 1), LAST_DAY))
    day = anchor + datetime.timedelta(days=draw(st.integers(-120, 5 * 366 + 120)))
    return min(max(day, datetime.date(2018, 1, 1)), LAST_DAY)


@st.composite
def cases(draw):
    """(profile data, evaluation day), the day often inside the contract."""
    signed = draw(st.one_of(st.none(), st.dates(SIGNED_FROM, SIGNED_TO), st.sampled_from(AWKWARD_SIGNATURES)))
    data = {"name": "CPTS générée", "population": draw(population)}
    if draw(st.booleans()):
        data["members"] = draw(st.one_of(st.integers(0, 300), st.sampled_from([99, 100, 101])))
    if signed is not None:
        data["contract_signed"] = signed.isoformat()
    if draw(st.booleans()):
        data["letter_of_intent_validated"] = _near(draw, signed - datetime.timedelta(days=300)
                                                   if signed else None).isoformat()
    missions = {}
    for mission in draw(st.lists(st.sampled_from(MISSIONS), unique=True)):
        state = {}
        if draw(st.integers(0, 5)):
            state["started"] = _near(draw, signed).isoformat()
        if draw(st.booleans()):
            state["deployed"] = _near(draw, signed).isoformat()
        state["achievement"] = draw(st.dictionaries(st.sampled_from(["1", "2", "3", "4", "5"]), rate))
        missions[mission] = state
    if missions or draw(st.booleans()):
        data["missions"] = missions
    crises = draw(st.integers(0, 3))
    if crises or draw(st.booleans()):
        data["crises"] = [{"declared": _near(draw, signed).isoformat()} for _ in range(crises)]
    history = draw(st.lists(population, max_size=3))
    if history:
        data["population_history"] = [{"since": _near(draw, signed).isoformat(), "population": count}
                                      for count in history]
    day = draw(st.one_of(st.sampled_from(MOMENTS), st.just(None)))
    if day is None:
        day = _near(draw, signed)
    return data, min(max(day, FIRST_DAY), LAST_DAY)


TAILLE_4_AT_100 = {
    "name": "CPTS générée", "population": 175_001, "members": 100, "contract_signed": "2020-02-29",
    "letter_of_intent_validated": "2019-09-01",
    "missions": {m: {"started": "2020-03-01", "achievement": {"1": Decimal("0.50"), "3": Decimal("1.00")}}
                 for m in MISSIONS},
    "crises": [{"declared": "2022-10-01"}],
    "population_history": [{"since": "2019-01-01", "population": 180_000}],
}


@settings(max_examples=350, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
@example(case=({"name": "CPTS générée", "population": 0}, FIRST_DAY))
@example(case=({"name": "CPTS générée", "population": 80_000, "contract_signed": "2019-09-01"}, LAST_DAY))
@example(case=(TAILLE_4_AT_100, datetime.date(2022, 9, 3)))
@example(case=(TAILLE_4_AT_100, datetime.date(2023, 2, 28)))
def test_the_fast_path_gives_the_reference_amounts(case):
    data, day = case
    profile = profile_of(data)
    for name in RULESETS:
        assert_same(LIBRARY.get(name, day), profile, day)


def test_the_fast_path_gives_the_reference_amounts_on_the_national_sample():
    """Every profile of examples/national-sample.csv, every ruleset, on two dates."""
    sources = read_profiles(str(EXAMPLES / "national-sample.csv"), set(MISSIONS))
    sample = [compile_profile(source.document) for source in sources]
    assert sample
    for day in (datetime.date(2022, 9, 3), datetime.date(2024, 6, 1)):
        for name in RULESETS:
            ruleset = LIBRARY.get(name, day)
            for profile in sample:
                assert_same(ruleset, profile, day)


# -- errors are reported as eval reports them ------------------------------------------------

MINI = """\
id: essai-fastpath
title: Essai du chemin rapide
kind: proposal
status: proposal
reference: tests/test_fastpath.py (aucun texte)
dates: {in_force: 2019-08-25}
rounding: {quantum: "0.01", mode: half_up}
contract: {duration_years: 5, reference: essai, confidence: confirmed}
taille:
  basis: population
  reference: essai
  confidence: confirmed
  classes:
    - {taille: 1, max: 39999}
    - {taille: 2, min: 40000}
parameters:
  montant:
    unit: EUR
    by_taille: {1: 50000, 2: 60000}
    reference: essai
    confidence: confirmed
definitions:
  par_membre: montant / 2
lines:
  - id: fonctionnement
    label: Fonctionnement
    volet: fonctionnement
    when: contract_year is not None
    amount: par_membre * 2
    reference: essai
"""
DAY = datetime.date(2022, 6, 1)
NO_MEMBERS = {"name": "CPTS sans membre", "population": 50_000, "members": 0, "contract_signed": "2021-01-15"}


def mini(tmp_path, old: str, new: str, name="essai.yaml"):
    assert old in MINI
    path = tmp_path / name
    path.write_text(MINI.replace(old, new), encoding="utf-8")
    return Library().get(str(path), DAY)


@pytest.mark.parametrize("old, new", [
    ("par_membre: montant / 2", "par_membre: montant / members"),
    ("amount: par_membre * 2", "amount: par_membre * 2 / members"),
    ("when: contract_year is not None", "when: montant / members > 0"),
    ("basis: population", "basis: population / members"),
], ids=["definition", "amount", "condition", "taille-basis"])
def test_a_division_by_zero_raises_the_reference_error(tmp_path, old, new):
    ruleset = mini(tmp_path, old, new)
    profile = profile_of(NO_MEMBERS)
    with pytest.raises(EvaluationError) as reference:
        evaluate(ruleset, profile, DAY)
    with counting_fallbacks() as fallbacks, pytest.raises(EvaluationError) as fast:
        FastRuleset(ruleset).run(profile, DAY)
    assert not fallbacks
    assert [d.code for d in reference.value.diagnostics] == ["E401"]
    assert fast.value.diagnostics == reference.value.diagnostics
    assert [str(d) for d in fast.value.diagnostics] == [str(d) for d in reference.value.diagnostics]
    # ... and with members the same ruleset computes, the same way on both paths.
    assert_same(ruleset, profile_of({**NO_MEMBERS, "members": 4}), DAY)


# -- what the fast path computes once: parameters folded per taille, non_negative of a Decimal --

# Each formula reads parameters (folded when the function of a taille is made) and the profile
# (read at run time): the two backends must agree, amounts and diagnostics, for both tailles.
FOLDED = [
    ("when: contract_year is not None", "when: montant > 55000 and contract_year is not None"),
    ("when: contract_year is not None", "when: contract_year is not None and montant"),  # gives 50000: E402
    ("when: contract_year is not None", "when: montant or members > 1"),  # gives 50000: E402
    ("when: contract_year is not None", "when: montant < 0 or members > 1"),
    ("when: contract_year is not None", "when: (montant > 55000) and members"),  # false, or a number
    ("when: contract_year is not None", "when: not montant"),
    ("when: contract_year is not None", "when: taille in (1, 3) and contract_year is not None"),
    ("when: contract_year is not None", "when: (montant if taille == 2 else None) is None"),
    ("amount: par_membre * 2", "amount: montant / 0"),  # E401 at run time, never when made
    ("amount: par_membre * 2", "amount: montant - 60000"),  # negative for taille 1: E411
    ("amount: par_membre * 2", "amount: montant * 100000000000000"),  # beyond the bound: E402
    ("amount: par_membre * 2", "amount: (montant if taille == 2 else 1) * 1.5"),
    ("amount: par_membre * 2", "amount: round_half_up(montant / 3) + members"),
    ("amount: par_membre * 2", "amount: par_membre * 2 - 100000.5"),  # a negative Decimal: E411
    ("amount: par_membre * 2", "amount: 0 - members * 1.5"),  # negative Decimal with members only
    ("amount: par_membre * 2", "amount: members * 0.001"),  # rounds to the cent half up
    ("amount: par_membre * 2", "amount: montant * 0.333"),  # a folded amount, rounded when made
    ("amount: par_membre * 2", "amount: as_date('2022-01-01')"),  # not an amount: E402
    ("amount: par_membre * 2", "amount: max(montant, members) - min(montant, 55000)"),
    ("par_membre: montant / 2", "par_membre: montant / (members - members)"),
]


@pytest.mark.parametrize("specialise_after", [0, 10 ** 9], ids=["taille's own function", "any taille's"])
@pytest.mark.parametrize("old, new", FOLDED, ids=[new for _, new in FOLDED])
def test_folded_parameters_give_the_reference_amounts_and_diagnostics(tmp_path, monkeypatch, old, new,
                                                                      specialise_after):
    monkeypatch.setattr(FastRuleset, "specialise_after", specialise_after)
    ruleset = mini(tmp_path, old, new)
    for population in (10_000, 50_000):  # taille 1, taille 2
        for members in (0, 1, 3):
            for signed in ("2021-01-15", None):
                data = {**NO_MEMBERS, "population": population, "members": members}
                if signed is None:
                    del data["contract_signed"]
                assert_same(ruleset, profile_of(data), DAY)


@pytest.mark.parametrize("specialise_after", [0, 10 ** 9])
def test_the_maxima_asked_are_the_references(tmp_path, monkeypatch, specialise_after):
    monkeypatch.setattr(FastRuleset, "specialise_after", specialise_after)
    ruleset = mini(tmp_path, "amount: par_membre * 2", "amount: members * 1000.5\n    maximum: montant * 1.5")
    for members in (0, 3, 80):
        profile = profile_of({**NO_MEMBERS, "members": members})
        reference = evaluate(ruleset, profile, DAY)
        result = FastRuleset(ruleset).run(profile, DAY, maxima=True)
        assert {k: str(v) for k, v in result.maxima.items()} == {l.id: str(l.maximum) for l in reference.lines}
        assert {k: str(v) for k, v in result.amounts.items()} == {l.id: str(l.amount) for l in reference.lines}


def test_a_batch_keeps_contract_years_without_changing_any_amount():
    """In a batch, the contract years of the days and contracts met are kept: the amounts are those
    of each profile run alone, and the reference's (profiles sharing signature dates included)."""
    sources = read_profiles(str(EXAMPLES / "national-sample.csv"), set(MISSIONS))
    sample = [compile_profile(source.document) for source in sources]
    timeline = LIBRARY.timeline(None)
    for day in (datetime.date(2022, 9, 3), datetime.date(2024, 6, 1)):
        alone = [FastTimeline(timeline).run(profile, day)[1] for profile in sample[:60]]
        fast = FastTimeline(timeline)
        with fastpath_module.batch_context():
            together = [fast.run(profile, day)[1] for profile in sample[:60] * 2]
        assert [(r.size, r.contract_year, r.amounts, r.total) for r in together] == \
            [(r.size, r.contract_year, r.amounts, r.total) for r in alone * 2]
        ruleset = LIBRARY.in_force(day)
        fast_ruleset = FastRuleset(ruleset)
        for profile, result in zip(sample, fast_ruleset.run_all(sample, day)):
            assert result.total == evaluate(ruleset, profile, day).total, profile.name
            assert result.runs_from is None  # not asked
        # Asked: the days run gives, profile by profile, and the same amounts.
        for profile, result in zip(sample, fast_ruleset.run_all(sample, day, runs_from=True)):
            alone = fast_ruleset.run(profile, day)
            assert (result.amounts, result.total, result.runs_from) == (alone.amounts, alone.total, alone.runs_from)


# -- the generated code ----------------------------------------------------------------------

# The names the generated function is made of, apart from the formulas' own names.
_PLUMBING = ({"_run", "_fn", "_mx", "_rf", "_out", "_t", "_u", "_c", "_quantum", "_money", "get",
              "_p", "_d", "_tn", "_n", "_m", "_s", "_x", "_", "_size", "_par"}
             | set(fastpath_module._HELPERS) | set(BINDING_NAMESPACE))
# What the binding (engine/bind.py) reads of the profile and of a mission's state: attributes named
# by the engine, never by a formula.
_BINDING_ATTRIBUTES = ({("_p", name) for name in ("population", "letter_of_intent_validated", "contract_signed",
                                                  "missions")}
                       | {("_s", name) for name in ("started", "deployed", "achievement", "otherwise", "indicators",
                                                    "indicators_earned")}
                       | {("_m", "get"), ("_s.achievement", "get")})


def _rulesets_for_source(tmp_path):
    found = [LIBRARY.get(name, day) for name in RULESETS
             for day in (datetime.date(2021, 6, 1), datetime.date(2024, 6, 1))]
    found.append(mini(tmp_path, "par_membre: montant / 2", "par_membre: max(montant, members) / 2"))
    found += [obligation_ruleset(tmp_path, old, new) for old, new in FAILING_OBLIGATIONS[:2]]
    return found


def _sources(fast):
    """Every generated function of a fast ruleset: for any taille and for each, with and without maxima
    and days."""
    return [fast._variant(maxima, days, size).source for size in [fastpath_module._ANY_TAILLE, *fast.tailles]
            for maxima in (False, True) for days in (False, True)]


def test_the_generated_source_has_no_attribute_or_subscript_from_a_formula(tmp_path):
    for ruleset in _rulesets_for_source(tmp_path):
        for source in _sources(FastRuleset(ruleset)):
            _check_source(ruleset, source)


def _check_source(ruleset, source):
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            # Only the lines that apply are stored (_out[_k3] = v2), keyed by constants, with the
            # day each accrues from (_rf[_k3] = ..., for a year cut by a text) and, when asked,
            # its maximum (_mx[_k3] = v4).
            assert isinstance(node.value, ast.Name) and node.value.id in ("_out", "_rf", "_mx"), ast.unparse(node)
            assert isinstance(node.slice, ast.Name) and re.fullmatch(r"_k[0-9]+", node.slice.id)
        elif isinstance(node, ast.Attribute):
            # Only the engine's own rounding, the functions bound to the profile (_fn.get(_k1)), and
            # the binding's reading of the profile.
            assert ((ast.unparse(node.value), node.attr)
                    in {("_t", "quantize"), ("_fn", "get")} | _BINDING_ATTRIBUTES), ast.unparse(node)
        elif isinstance(node, ast.Name):
            name = node.id
            assert (re.fullmatch(r"v[0-9]+|_k[0-9]+|_w[0-9]+", name) or name in _PLUMBING
                    or name[2:] in FUNCTION_NAMES), (ruleset.id, name)
        elif isinstance(node, ast.Constant):
            # No text of the user's: every text and exact decimal is a named constant.
            assert not isinstance(node.value, str), ast.unparse(node)
        elif isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name) or ast.unparse(node.func) in (
                "_t.quantize", "_fn.get", "_m.get", "_s.achievement.get", "_s.indicators_earned")
        assert not isinstance(node, (ast.Lambda, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal,
                                     ast.NamedExpr, ast.Starred)), ast.unparse(node)
    # No id, parameter or mission of the ruleset is spelt in the generated source.
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source))
    user = set(ruleset.parameters) | set(ruleset.missions) | {item.name for item in ruleset.order}
    assert not (words & user) - _PLUMBING - {f"f_{n}" for n in FUNCTION_NAMES} - {
        attribute for _, attribute in _BINDING_ATTRIBUTES}, words & user


def test_the_namespace_has_no_builtins_and_its_functions_are_the_engines():
    for name in RULESETS:
        fast = FastRuleset(LIBRARY.get(name, datetime.date(2024, 6, 1)))
        namespace = fast._run.__globals__
        assert namespace["__builtins__"] == {}
        functions = {key for key in namespace if key.startswith("f_")}
        assert functions == {f"f_{key}" for key in PURE_FUNCTIONS}
        for key in functions:  # max and min are the engine's, not Python's
            assert namespace[key] is PURE_FUNCTIONS[key[2:]]
            assert namespace[key] not in vars(builtins).values()
        # No builtin can be looked up from code run in this namespace.
        for code, error in [("len('x')", NameError), ("__import__('os')", NameError), ("open", NameError),
                            ("import os", ImportError)]:
            with pytest.raises(error):
                exec(code, dict(namespace))  # noqa: S102 — probing the sandbox


@pytest.mark.parametrize("formula", [
    "abs(montant)", "len('abc')", "round(montant)", "int(montant)", "sum([montant])", "__import__('os')",
    "open('/etc/passwd')", "getattr(montant, 'real')", "type(montant)", "eval('1')", "globals()",
    "__builtins__", "montant.real", "[montant][0]", "_div(montant, 1)", "f_max(montant, 1)", "_names",
])
def test_a_formula_that_needs_a_builtin_never_reaches_the_fast_path(tmp_path, formula):
    with pytest.raises(InputError) as refused:
        mini(tmp_path, "amount: par_membre * 2", f'amount: "{formula}"')
    assert {d.code for d in refused.value.diagnostics} <= {"E102", "E103"}


@pytest.mark.parametrize("name", ["len", "abs", "open", "type", "sum"])
def test_a_name_spelt_like_a_builtin_is_a_variable_of_the_ruleset(tmp_path, name):
    text = MINI.replace("  montant:\n", f"  {name}:\n").replace("montant / 2", f"{name} / 2")
    ruleset = Library().get(str(_write(tmp_path, text)), DAY)
    source = FastRuleset(ruleset).source
    assert name not in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source)
    assert_same(ruleset, profile_of({**NO_MEMBERS, "members": 3}), DAY)


def _write(tmp_path, text, name="nom.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_builtin_smuggled_past_the_compiler_is_still_out_of_reach(tmp_path):
    """Even a formula rewritten after the checks to call len() gets no len: the plan gives it no
    function, the compiled function fails, and the run is refused with the formula's E402."""
    ruleset = copy.deepcopy(mini(tmp_path, "amount: par_membre * 2", "amount: par_membre + members"))
    line = next(line for line in ruleset.lines if line.id == "fonctionnement")
    smuggled = ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[ast.Constant(value="abc")], keywords=[])
    object.__setattr__(line.amount, "node", smuggled)  # a frozen dataclass: past every check
    fast = FastRuleset(ruleset)
    assert "f_unknown(_k" in fast.source and "len" not in fast.source
    assert "f_unknown" not in fast._run.__globals__
    profile = profile_of({**NO_MEMBERS, "members": 3})
    with counting_fallbacks() as fallbacks, pytest.raises(EvaluationError) as refused:
        fast.run(profile, DAY)
    assert not fallbacks
    assert [d.code for d in refused.value.diagnostics] == ["E402"]


def test_a_definition_named_like_a_mission_variable_does_not_shadow_it(tmp_path):
    ruleset_text = """\
id: essai-collision
title: Essai de collision de noms
kind: proposal
status: proposal
reference: tests/test_fastpath.py (aucun texte)
dates: {in_force: 2019-08-25}
rounding: {quantum: "0.01", mode: half_up}
contract: {duration_years: 5, reference: essai, confidence: confirmed}
missions:
  - {id: parcours, label: Parcours, kind: socle, reference: essai}
parameters:
  montant:
    unit: EUR
    value: 1000
    reference: essai
    confidence: confirmed
definitions:
  started__parcours: 7
lines:
  - id: parcours_fixe
    label: Parcours
    mission: parcours
    volet: fixe
    when: started is not None
    amount: montant + started__parcours
    reference: essai
"""
    ruleset = Library().get(str(_write(tmp_path, ruleset_text, "collision.yaml")), DAY)
    # No mission parcours in the profile: 'started' is None and the line does not apply.
    assert_same(ruleset, profile_of({"name": "CPTS", "population": 1000, "contract_signed": "2021-01-01"}), DAY)


# -- indicators (FACTS.md §7) ---------------------------------------------------------------------


def _with_indicators(measured: list, achievement=None) -> Document:
    tiers = [{"max": 50, "amount": 9000}, {"min": 51, "max": 100, "amount": 6000},
             {"min": 101, "max": 219, "amount": 3000}]
    mission = {"started": "2022-10-15",
               "indicators": [{"id": f"i{n}", "tiers": tiers, "measured": values}
                              for n, values in enumerate(measured)]}
    if achievement:
        mission["achievement"] = achievement
    data = {"name": "CPTS", "population": 120000, "members": 150, "contract_signed": "2022-10-15",
            "missions": {"acces_soins": mission, "parcours": dict(mission)}}
    return Document("generated.yaml", data)


@pytest.mark.parametrize("measured, achievement", [
    ([{"1": 45}], None),
    ([{"1": 45}, {"1": 80}, {"2": 150}], {"2": Decimal("0.5")}),
    ([{"1": 10}, {"1": 20}, {"1": 30}, {"1": 40}, {"1": 500}], None),
    ([{"3": 60}], {"1": Decimal("0.7"), "2": Decimal(1)}),
])
@pytest.mark.parametrize("day", [datetime.date(2023, 6, 1), datetime.date(2024, 6, 1), datetime.date(2025, 6, 1)])
def test_indicators_give_the_same_amounts_on_both_paths(measured, achievement, day):
    """The tiers reached, capped at the variable maximum (FACTS.md §7), alike on both paths."""
    document = _with_indicators(measured, achievement)
    assert validate_profile(document) == []
    profile = compile_profile(document)
    for ruleset in (LIBRARY.in_force(day), LIBRARY.get(str(EXAMPLES / "plan-100-cpts.yaml"), day)):
        reference = evaluate(ruleset, profile, day)
        fast = FastRuleset(ruleset).run(profile, day)
        assert fast.amounts == {line.id: line.amount for line in reference.lines}
        assert fast.total == reference.total


def test_indicators_measured_for_the_year_silence_the_missing_achievement_warning():
    profile = compile_profile(_with_indicators([{"1": 45}]))
    day = datetime.date(2023, 6, 1)
    codes = [w.code for w in evaluate(LIBRARY.in_force(day), profile, day).warnings]
    assert "W002" not in codes
    later = datetime.date(2024, 6, 1)  # year 2: nothing measured, no rate given
    assert "W002" in [w.code for w in evaluate(LIBRARY.in_force(later), profile, later).warnings]


# -- obligations whose formulas may fail: the same diagnostic on every backend ------------------

OBLIGATION = """\
obligations:
  - id: rapport
    label: Rapport d'activité
    when: contract_signed is not None
    deadline: add_months(contract_signed, 12)
    done: letter_of_intent_validated
    reference: essai
"""
# Each replacement makes a formula of the obligation fail for some profiles (members 0, no letter
# of intent), on the reference path (evaluate.py computes every obligation after the lines).
FAILING_OBLIGATIONS = [
    ("when: contract_signed is not None", "when: population / members > 0"),  # E401 with no member
    ("deadline: add_months(contract_signed, 12)", "deadline: add_months(contract_signed, round_down(12 / members))"),
    ("deadline: add_months(contract_signed, 12)", "deadline: letter_of_intent_validated"),  # None: E402
    ("done: letter_of_intent_validated", "done: population"),  # a number, not a date: E402
    ("when: contract_signed is not None", "when: contract_signed is not None and members"),  # a number: E402
    # Reads the day: fails on 2022-06-01 itself, not on the first day of the year holding it.
    ("when: contract_signed is not None", "when: date >= as_date('2022-05-01') and population / members > 0"),
]
OBLIGATION_PROFILES = [NO_MEMBERS, {**NO_MEMBERS, "members": 4},
                       {**NO_MEMBERS, "members": 4, "letter_of_intent_validated": "2020-06-01"},
                       {**NO_MEMBERS, "contract_signed": "2022-06-01"},
                       {"name": "CPTS sans contrat", "population": 20_000, "members": 0}]


def obligation_ruleset(tmp_path, old=None, new=None):
    text = MINI + OBLIGATION
    if old is not None:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "obligation.yaml"
    path.write_text(text, encoding="utf-8")
    return Library().get(str(path), DAY)


def test_the_shipped_obligations_cannot_fail_so_the_fast_path_does_not_compute_them():
    for name in SHIPPED:
        for day in (datetime.date(2021, 6, 1), datetime.date(2024, 6, 1)):
            ruleset = LIBRARY.get(name, day)
            plan = fastpath_module.plan_of(ruleset)
            assert plan.obligations and not failing_obligations(plan), ruleset.id
            assert "_date(" not in FastRuleset(ruleset).source


def test_an_obligation_that_cannot_fail_costs_nothing(tmp_path):
    ruleset = obligation_ruleset(tmp_path)
    assert not failing_obligations(fastpath_module.plan_of(ruleset))
    assert "_date(" not in FastRuleset(ruleset).source


@pytest.mark.parametrize("specialise_after", [0, 10 ** 9], ids=["taille's own function", "any taille's"])
@pytest.mark.parametrize("old, new", FAILING_OBLIGATIONS, ids=[new for _, new in FAILING_OBLIGATIONS])
def test_a_failing_obligation_gives_the_reference_diagnostic_on_the_fast_path(tmp_path, monkeypatch, old, new,
                                                                            specialise_after):
    monkeypatch.setattr(FastRuleset, "specialise_after", specialise_after)
    ruleset = obligation_ruleset(tmp_path, old, new)
    assert [step.item.id for step in failing_obligations(fastpath_module.plan_of(ruleset))] == ["rapport"]
    failed = 0
    for data in OBLIGATION_PROFILES:
        profile = profile_of(data)
        for day in (DAY, datetime.date(2022, 1, 15), datetime.date(2019, 9, 1)):
            try:
                evaluate(ruleset, profile, day)
            except EvaluationError as error:
                failed += 1
                assert [d.code for d in error.diagnostics][0] in ("E401", "E402")
                assert error.diagnostics[0].path[:2] == ("obligations", 0), error.diagnostics
            assert_same(ruleset, profile, day)
            _assert_same_year(ruleset, profile, day)
    assert failed, "no profile made the obligation fail: the test proves nothing"


def _assert_same_year(ruleset, profile, day):
    """The contract year's fast path (what batch runs) and the reference's assess: the same total,
    or the same diagnostic."""
    timeline = _timeline_of(ruleset)
    try:
        expected = assess(timeline, profile, day)
    except EvaluationError as error:
        with counting_fallbacks() as fallbacks, pytest.raises(EvaluationError) as raised:
            FastTimeline(timeline).run(profile, day)
        assert raised.value.diagnostics == error.diagnostics
        assert not fallbacks
        return
    assert FastTimeline(timeline).run(profile, day)[1].total == expected.total


def assert_columns_give_the_references(found, expected, variant=0):
    """``found`` (the vectorised backend's BatchOutcome) against ``expected`` (per profile, the
    reference's total or its diagnostics) for ``variant``: one diagnostic for each failing profile,
    as the reference stops at its first, and each other profile's total."""
    errors = {index: error.diagnostics for index, v, error in found.errors if v == variant}
    assert len(errors) == sum(1 for _, v, _ in found.errors if v == variant)  # one per profile
    for index, want in enumerate(expected):
        if isinstance(want, list):
            assert errors.get(index) == want, (index, variant)
        else:
            assert index not in errors and found.done[variant, index], (index, variant)
            assert found.totals[variant, index] == int(want.scaleb(2)), (index, variant)


def assert_batch_and_compare_fail_as_the_reference(timeline, profiles, day, failing):
    """batch in columns stops with every failing profile's diagnostics (``failing``: each profile's,
    in order), and compare's columns with the first, as its reference backend does."""
    from aci_rules.engine.impact import profile_comparisons
    from aci_rules.engine.vector import batch_rows

    with pytest.raises(InputError) as raised:
        batch_rows(timeline, profiles, [p.name for p in profiles], day)
    assert raised.value.diagnostics == [d for want in failing for d in want]
    with pytest.raises(EvaluationError) as reference:
        profile_comparisons((timeline, timeline), profiles, day, backend="reference")
    with pytest.raises(EvaluationError) as columns:
        profile_comparisons((timeline, timeline), profiles, day, backend="columns")
    assert columns.value.diagnostics == reference.value.diagnostics == failing[0]


def _timeline_of(ruleset):
    return Timeline(lambda day: ruleset, [ruleset.in_force])


@pytest.mark.parametrize("old, new", FAILING_OBLIGATIONS, ids=[new for _, new in FAILING_OBLIGATIONS])
def test_a_failing_obligation_gives_the_reference_diagnostic_in_columns_and_compare(tmp_path, old, new):
    """The vectorised backend (batch in columns, compare's columns) marks the rows where such an
    obligation may fail; the scalar path computes them and reports the reference's diagnostic."""
    pytest.importorskip("numpy")
    from aci_rules.engine.vector import VectorTimeline

    ruleset = obligation_ruleset(tmp_path, old, new)
    timeline = _timeline_of(ruleset)
    profiles = [profile_of(data) for data in OBLIGATION_PROFILES] * 2
    for day in (DAY, datetime.date(2022, 1, 15)):
        expected = []
        for profile in profiles:
            try:
                expected.append(assess(timeline, profile, day).total)
            except EvaluationError as error:
                expected.append(error.diagnostics)
        assert_columns_give_the_references(VectorTimeline(timeline).run(profiles, day), expected)
        failing = [want for want in expected if isinstance(want, list)]
        if failing:
            assert_batch_and_compare_fail_as_the_reference(timeline, profiles, day, failing)
    assert any(isinstance(want, list) for want in expected) or "date" in new


def test_a_failing_obligation_gives_the_same_message_to_eval_and_batch(tmp_path):
    old, new = FAILING_OBLIGATIONS[0]
    ruleset = obligation_ruleset(tmp_path, old, new)
    folder = tmp_path / "profils"
    folder.mkdir()
    (folder / "a.yaml").write_text("name: CPTS sans membre\npopulation: 50000\nmembers: 0\n"
                                   "contract_signed: 2021-01-15\n", encoding="utf-8")
    one = invoke("eval", folder / "a.yaml", "--ruleset", ruleset.source, "--date", "2022-06-01")
    many = invoke("batch", folder, "--ruleset", ruleset.source, "--date", "2022-06-01")
    assert one[0] == many[0] == 1
    said = [line for line in one[2].splitlines() if ": E401 " in line]
    assert len(said) == 1 and "obligation.yaml:" in said[0] and "'rapport'" in said[0], one[2]
    assert [line for line in many[2].splitlines() if ": E401 " in line] == said
