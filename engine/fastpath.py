"""A fast evaluation path for many profiles: a compiled ruleset turned into one Python function.

The formulas are the same checked trees the reference evaluator (simpleeval, in
:mod:`evaluate`) walks: nothing is re-parsed, and only the restricted grammar the
compiler accepted reaches this module. Each tree is rewritten so that its names
become local variables (``v_<name>``), ``/`` exact division, ``**`` the bounded
Decimal power, ``+`` and ``*`` simpleeval's length-guarded operators; the lines and
definitions are then laid out in their evaluation order as the body of a single
function, compiled once per ruleset and run with no builtins at all.

It gives the amounts of the lines, not the explanations: warnings, obligations
and traces stay with the reference path. When a formula fails, :meth:`FastRuleset.run`
runs the reference evaluator on the same profile, so errors are reported exactly
as ``aci-rules eval`` reports them; should the reference compute it, the run fails
loudly instead of falling back. Tests prove both paths give identical amounts on
generated profiles (tests/test_fastpath.py) and generated rulesets
(tests/test_differential.py).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import datetime
import decimal
import warnings
from decimal import ROUND_HALF_UP, Decimal

from . import crosstext
from .evaluate import evaluate
from .expressions import DECIMAL_CONTEXT, OPERATORS, _add, _multiply, _subtract
from .compiler import FUNCTION_NAMES, MISSION_NAMES as MISSION_FIELDS
from .helpers import LINE_FUNCTIONS, PURE_FUNCTIONS
from .profile import Profile, profile_functions, profile_names
from .ruleset import Definition, Ruleset
from .timeline import Timeline, combine, time_names

__all__ = ["FastRuleset", "FastResult", "FastTimeline"]

_ZERO = Decimal(0)


@dataclasses.dataclass(frozen=True)
class FastResult:
    """The amounts of one evaluation: per line (id -> amount, for the lines that apply)."""

    size: int | None
    contract_year: int | None
    amounts: dict
    total: Decimal
    runs_from: dict = dataclasses.field(default_factory=dict)  # line id -> the day it accrues from, or None


# Decimals first in each operator: DECIMAL_CONTEXT bounds them (its Emax traps an overflow);
# only whole numbers and texts need the engine's own bound and simpleeval's length guard.
def _mul(left, right):
    if type(left) is Decimal or type(right) is Decimal:
        return left * right
    return _multiply(left, right)


def _plus(left, right):
    if type(left) is Decimal or type(right) is Decimal:
        return left + right
    return _add(left, right)


def _minus(left, right):
    if type(left) is Decimal or type(right) is Decimal:
        return left - right
    return _subtract(left, right)


def _sum(values):
    # Line amounts: Decimals already rounded to the quantum, so the context bounds the sum.
    return sum(values, _ZERO)


def _cond(value):
    if value is True or value is False:
        return value
    raise TypeError(f"a condition gives {type(value).__name__}, not true or false")


def _day_or_none(value):
    if value is None or type(value) is datetime.date:
        return value
    raise TypeError(f"runs_from gives {type(value).__name__}, not a date")


def _money(value, quantum):
    if type(value) is Decimal:
        return value.quantize(quantum, rounding=ROUND_HALF_UP)
    if type(value) is int:
        return Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)
    raise TypeError(f"an amount gives {type(value).__name__}, not a number")


_HELPERS = {
    "_div": OPERATORS[ast.Div],
    "_pow": OPERATORS[ast.Pow],
    "_mul": _mul,
    "_add": _plus,
    "_sub": _minus,
    "_sum": _sum,
    "_cond": _cond,
    "_day_or_none": _day_or_none,
    "_money": _money,
    "_ZERO": _ZERO,
    "_Decimal": Decimal,
    "_type": type,
    "_HALF_UP": ROUND_HALF_UP,
}
_CALLS = {ast.Div: "_div", ast.Pow: "_pow", ast.Mult: "_mul", ast.Add: "_add", ast.Sub: "_sub"}


class _Names:
    """The generated names: every one made by the engine from an index, never from a user's text.

    ``v<n>`` holds a name a formula reads (a parameter, a definition, a line, a profile
    name), ``x<n>`` a line's maximum, ``m<n>`` what a mission line reads of its mission,
    ``f_<function>`` a helper of the engine (its name is the engine's own), ``_k<n>`` a
    constant (an exact decimal, a text): the user's ids and texts travel as data.
    """

    def __init__(self):
        self.slots: dict = {}  # key -> generated name
        self.constants: dict = {}  # _k<n> -> value

    def slot(self, prefix: str, key) -> str:
        name = self.slots.get((prefix, key))
        if name is None:
            name = self.slots[(prefix, key)] = f"{prefix}{len(self.slots)}"
        return name

    def constant(self, value) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name


class _Rewrite(ast.NodeTransformer):
    """Names to local variables; guarded operators to calls; line sums to one flat sum."""

    def __init__(self, mission: str | None, ruleset: Ruleset, names: _Names, used: set):
        self.mission = mission
        self.ruleset = ruleset
        self.names = names
        self.used = used

    def visit_Constant(self, node):
        # Exact decimals and texts become named constants: the generated text never spells them.
        if isinstance(node.value, (Decimal, str)):
            return ast.copy_location(ast.Name(id=self.names.constant(node.value), ctx=ast.Load()), node)
        return node

    def variable(self, name: str) -> str:
        if name in MISSION_FIELDS and self.mission is not None:
            target = self.names.slot("m", (name, self.mission))
        else:
            target = self.names.slot("v", name)
        self.used.add(target)
        return target

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id=self.variable(node.id), ctx=ast.Load()), node)

    def visit_BinOp(self, node):
        node = self.generic_visit(node)
        helper = _CALLS.get(type(node.op))
        if helper is None:
            return node
        return ast.copy_location(
            ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[node.left, node.right], keywords=[]), node)

    def visit_Call(self, node):
        name = node.func.id
        if name in LINE_FUNCTIONS:
            field, values = node.args[0].value, {a.value for a in node.args[1:]}
            prefix = "v" if name == "sum_lines" else "x"
            # One flat call over a tuple: a sum over hundreds of lines nests nothing.
            terms = [ast.Name(id=self.names.slot(prefix, line.id), ctx=ast.Load())
                     for line in self.ruleset.lines if getattr(line, field) in values]
            return ast.copy_location(ast.Call(
                func=ast.Name(id="_sum", ctx=ast.Load()), args=[ast.Tuple(elts=terms, ctx=ast.Load())],
                keywords=[]), node)
        node.args = [self.visit(arg) for arg in node.args]
        if name not in FUNCTION_NAMES:  # checked by the compiler; a tree altered since gets no function
            name = "unknown"
        self.used.add(f"f_{name}")
        node.func = ast.Name(id=f"f_{name}", ctx=ast.Load())
        return node


class FastRuleset:
    """One compiled ruleset, turned into one Python function. Build once, run many times."""

    def __init__(self, ruleset: Ruleset):
        self.ruleset = ruleset
        self.mission_of = {line.id: line.mission for line in ruleset.lines}
        used: set = set()
        names = _Names()
        body = []

        def code(expression, mission):
            tree = _Rewrite(mission, ruleset, names, used).visit(_copy(expression.node))
            return ast.unparse(tree)

        computed = set()
        for item in ruleset.order:
            target = names.slot("v", item.name)
            computed.add(target)
            if isinstance(item, Definition):
                body.append(f"{target} = {code(item.expression, item.mission)}")
                continue
            line = item
            maximum = names.slot("x", line.id)
            # Rounded to the cent inline when the value is a Decimal (the common case).
            steps = [f"_t = {code(line.amount, line.mission)}",
                     f"{target} = _t.quantize(_quantum, _HALF_UP) if _type(_t) is _Decimal else _money(_t, _quantum)"]
            if line.maximum is not None:
                steps += [f"_t = {code(line.maximum, line.mission)}",
                          f"{maximum} = _t.quantize(_quantum, _HALF_UP) if _type(_t) is _Decimal "
                          "else _money(_t, _quantum)"]
            else:
                steps.append(f"{maximum} = {target}")
            steps.append(f"_out[{names.constant(line.id)}] = {target}")
            # The day its amount accrues from, as the reference path computes it (for cut years).
            if line.runs_from is not None:
                steps.append(f"_rf[{names.constant(line.id)}] = _day_or_none({code(line.runs_from, line.mission)})")
            elif line.mission is not None:
                started = names.slot("m", ("started", line.mission))
                used.add(started)
                steps.append(f"_rf[{names.constant(line.id)}] = {started}")
            if line.when is not None:
                # A condition must give true or false: anything else is the reference path's E402.
                body.append(f"_c = {code(line.when, line.mission)}")
                body.append("if _c is True:")
                body += [f"    {step}" for step in steps]
                body.append("else:")
                body.append("    if _c is not False:")
                body.append("        _cond(_c)")
                body.append(f"    {target} = _ZERO")
                body.append(f"    {maximum} = _ZERO")
            else:
                body += steps
        key_of = {generated: key for key, generated in names.slots.items()}
        inputs = sorted(target for target in used if target not in computed and not target.startswith("f_"))
        pure = {f"f_{name}" for name in PURE_FUNCTIONS}
        # The functions that read the profile (mission_achievement, population_on...) come with
        # each run's names; the pure ones are globals of the generated module.
        prologue = [f"{target} = _names[{names.constant(target)}]"
                    for target in sorted(t for t in used if t.startswith("f_") and t not in pure)]
        for target in inputs:
            prefix, key = key_of[target]
            source_table = "_parameters" if prefix == "v" and key in ruleset.parameters else "_names"
            prologue.append(f"{target} = {source_table}[{names.constant(key if prefix == 'v' else target)}]")
        source = "def _run(_names, _parameters, _quantum, _rf):\n    _out = {}\n" + "".join(
            f"    {text}\n" for text in prologue + body) + "    return _out\n"
        self._used = {key_of[t][1] for t in inputs if key_of[t][0] == "v"}
        # (mission, then the generated names of its started, deployed, achievement, indicators_earned)
        bound = {}
        for target in inputs:
            prefix, key = key_of[target]
            if prefix == "m":
                field, mission = key
                bound.setdefault(mission, {})[field] = target
        self._missions = tuple(
            (mission, *(fields.get(field, "_unused") for field in MISSION_FIELDS))
            for mission, fields in sorted(bound.items()))
        self._profile_functions = any(t.startswith("f_") and t not in pure for t in used)
        namespace = {"__builtins__": {}, **_HELPERS, **names.constants,
                     **{f"f_{name}": function for name, function in PURE_FUNCTIONS.items()}}
        with warnings.catch_warnings():
            # "'x' is not None" is legal in a rule; Python's SyntaxWarning about a literal with
            # 'is' would reach the user's terminal from code they never wrote.
            warnings.simplefilter("ignore", SyntaxWarning)
            exec(compile(source, "<ruleset>", "exec"), namespace)  # noqa: S102 — checked trees, engine names only
        self._run = namespace["_run"]
        self.source = source
        self._parameters = {}
        for size in sorted({c.taille for c in ruleset.taille.classes}) if ruleset.taille else [None]:
            self._parameters[size] = {name: p.value_for(size) for name, p in ruleset.parameters.items()}
        self._scalars = {name: p.value for name, p in ruleset.parameters.items() if p.by_taille is None}
        self._basis = None
        if ruleset.taille is not None:
            basis_names = _Names()
            basis_used: set = set()
            tree = _Rewrite(None, ruleset, basis_names, basis_used).visit(_copy(ruleset.taille.basis.node))
            self._basis = compile(ast.fix_missing_locations(ast.Expression(tree)), "<taille.basis>", "eval")
            self._basis_globals = {"__builtins__": {}, **_HELPERS, **basis_names.constants,
                                   **{f"f_{name}": function for name, function in PURE_FUNCTIONS.items()}}
            basis_keys = {generated: key[1] for key, generated in basis_names.slots.items()}
            self._basis_scalars = sorted((t, basis_keys[t]) for t in basis_used
                                         if t in basis_keys and basis_keys[t] in self._scalars)
            self._basis_names = sorted((t, basis_keys[t]) for t in basis_used
                                       if t in basis_keys and basis_keys[t] not in self._scalars)
            self._basis_functions = sorted(t for t in basis_used if t.startswith("f_") and t not in pure)
            if self._basis_functions:
                self._profile_functions = True

    def run(self, profile: Profile, day: datetime.date, renewal: bool = False) -> FastResult:
        """The amounts of ``profile`` under this one ruleset on ``day`` (see :func:`~.evaluate.evaluate`);
        a failing formula is reported as eval reports it."""
        with decimal.localcontext(DECIMAL_CONTEXT):
            return self._run_one(profile, day, renewal)

    def run_all(self, profiles, day: datetime.date, renewal: bool = False):
        """:meth:`run` for many profiles, in one arithmetic context (a generator)."""
        with decimal.localcontext(DECIMAL_CONTEXT):
            for profile in profiles:
                yield self._run_one(profile, day, renewal)

    def _run_one(self, profile: Profile, day: datetime.date, renewal: bool) -> FastResult:
        try:
            return self._compute(profile, day, renewal)
        except Exception as failure:  # noqa: BLE001 — the reference path gives the exact diagnostic
            evaluate(self.ruleset, profile, day, renewal=renewal)  # raises EvaluationError, as eval reports it
            # Never a silent fallback: a formula one path computes and the other cannot is a defect.
            raise RuntimeError(f"the fast path cannot compute what the reference evaluator computes "
                               f"(ruleset '{self.ruleset.id}', profile '{profile.name}', {day}): "
                               f"{type(failure).__name__}") from failure

    def _compute(self, profile: Profile, day: datetime.date, renewal: bool = False) -> FastResult:
        ruleset = self.ruleset
        year, time = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
        number = year.number if year else None
        names = profile_names(profile, day)
        if self._profile_functions:
            names.update({f"f_{name}": f for name, f in profile_functions(profile, number).items()})
            names.update({f"f_{name}": f for name, f in  # other texts (13b)
                          crosstext.functions(ruleset, profile, day, renewal, fast=True).items()})
        size = None
        if self._basis is not None:
            local = {target: names[name] for target, name in self._basis_names}
            local.update({target: self._scalars[name] for target, name in self._basis_scalars})
            local.update({target: names[target] for target in self._basis_functions})
            basis = eval(self._basis, self._basis_globals, local)  # noqa: S307
            if type(basis) is not int and type(basis) is not Decimal:
                # True would classify as 1: a basis must give a number, as on the reference path.
                raise TypeError("taille.basis gives no number")
            size_class = ruleset.taille.classify(basis)
            if size_class is None:
                raise ValueError("no taille class")
            size = size_class.taille
        names["taille"] = size
        names.update(time)
        missions = profile.missions
        for mission, started, deployed, achievement, earned in self._missions:
            state = missions.get(mission)
            if state is None:
                names[started] = names[deployed] = names[earned] = None
                names[achievement] = _ZERO
                continue
            names[started] = state.started
            names[deployed] = state.deployed
            rate = state.achievement.get(number) if number is not None else None
            names[achievement] = rate if rate is not None else _ZERO
            names[earned] = state.indicators_earned(number) if state.indicators else None
        runs_from: dict = {}
        amounts = self._run(names, self._parameters[size], ruleset.quantum, runs_from)
        total = sum(amounts.values(), _ZERO).quantize(ruleset.quantum, rounding=ROUND_HALF_UP)
        if not total.is_finite():  # never a NaN in an output: the reference path says which line
            raise ArithmeticError("an amount is not a number")
        return FastResult(size, number, amounts, total, runs_from)


class FastTimeline:
    """The fast path over time: the entitlement of the contract year holding a day (see :func:`~.evaluate.assess`).

    Each part of the year is run by the fast ruleset of the text that applies then, on the
    part's first day; the parts are combined by :func:`~.timeline.combine`, as the reference
    path combines them. Fast rulesets are built once per ruleset.
    """

    def __init__(self, timeline: Timeline, fast=None):
        self.timeline = timeline
        self._build = fast or FastRuleset  # a function of a ruleset giving its FastRuleset
        self._fast: dict = {}
        self.mission_of: dict = {}  # line id -> mission id, over every ruleset run so far

    def fast(self, ruleset: Ruleset) -> FastRuleset:
        key = id(ruleset)
        entry = self._fast.get(key)
        if entry is None or entry[0] is not ruleset:  # the ruleset is kept, so its id is not reused
            entry = self._fast[key] = (ruleset, self._build(ruleset))
            self.mission_of.update(entry[1].mission_of)
        return entry[1]

    def run(self, profile: Profile, day: datetime.date):
        """``(ruleset, result)``: the text in force on ``day`` and the year's amounts (a :class:`FastResult`)."""
        timeline, renewal = self.timeline, self.timeline.renewal
        ruleset = timeline.resolve(day)
        year, _ = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
        if year is None:
            return ruleset, self.fast(ruleset).run(profile, day, renewal)
        segments = timeline.segments(year)
        if len(segments) == 1:
            (segment,) = segments
            return ruleset, self.fast(segment.ruleset).run(profile, segment.start, renewal)
        parts, held = [], None
        for segment in segments:
            part = self.fast(segment.ruleset).run(profile, segment.start, renewal)
            if segment.start <= day <= segment.end:
                held = part
            parts.append((segment, [(k, v, part.runs_from.get(k)) for k, v in part.amounts.items()]))
        amounts, _ = combine(year, parts)
        total = sum(amounts.values(), _ZERO).quantize(ruleset.quantum, rounding=ROUND_HALF_UP)
        return ruleset, FastResult(held.size, year.number, amounts, total)


def _copy(node):
    """A deep copy of a checked tree, so that the rewrite never touches the compiled ruleset."""
    return copy.deepcopy(node)
