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
as ``aci-rules eval`` reports them. A test proves both paths give identical
amounts on generated profiles.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import datetime
import decimal
from decimal import ROUND_HALF_UP, Decimal

import simpleeval

from .evaluate import evaluate
from .expressions import DECIMAL_CONTEXT, OPERATORS
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


def _mul(left, right):
    # Decimals first: only a text repeated needs simpleeval's length guard.
    if type(left) is Decimal or type(right) is Decimal:
        return left * right
    return simpleeval.safe_mult(left, right)


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
    "_add": simpleeval.safe_add,
    "_cond": _cond,
    "_day_or_none": _day_or_none,
    "_money": _money,
    "_ZERO": _ZERO,
    "_Decimal": Decimal,
    "_type": type,
    "_HALF_UP": ROUND_HALF_UP,
}
_CALLS = {ast.Div: "_div", ast.Pow: "_pow", ast.Mult: "_mul", ast.Add: "_add"}


class _Rewrite(ast.NodeTransformer):
    """Names to local variables; guarded operators to calls; line sums to additions."""

    def __init__(self, mission: str | None, ruleset: Ruleset, used: set, constants: dict):
        self.mission = mission
        self.ruleset = ruleset
        self.used = used
        self.constants = constants

    def visit_Constant(self, node):
        # Exact decimals become named constants: the generated text never spells a Decimal.
        if isinstance(node.value, Decimal):
            name = f"_k{len(self.constants)}"
            self.constants[name] = node.value
            return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)
        return node

    def variable(self, name: str) -> str:
        # Three name spaces that cannot meet: v_<name> for the ruleset's and the profile's
        # names, m_<field>__<mission> for what a mission line reads of its mission, f_<name>
        # for functions (a ruleset name never starts with m_ or f_ once prefixed with v_).
        if name in ("started", "deployed", "achievement", "indicators_earned") and self.mission is not None:
            target = f"m_{name}__{self.mission}"
        else:
            target = f"v_{name}"
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
            suffix = "" if name == "sum_lines" else "__max"
            terms = [ast.Name(id=f"v_{line.id}{suffix}", ctx=ast.Load())
                     for line in self.ruleset.lines if getattr(line, field) in values]
            result = ast.Name(id="_ZERO", ctx=ast.Load())
            for term in terms:
                result = ast.Call(func=ast.Name(id="_add", ctx=ast.Load()), args=[result, term], keywords=[])
            return ast.copy_location(result, node)
        node.args = [self.visit(arg) for arg in node.args]
        self.used.add(f"f_{name}")
        node.func = ast.Name(id=f"f_{name}", ctx=ast.Load())
        return node


class FastRuleset:
    """One compiled ruleset, turned into one Python function. Build once, run many times."""

    def __init__(self, ruleset: Ruleset):
        self.ruleset = ruleset
        self.mission_of = {line.id: line.mission for line in ruleset.lines}
        used: set = set()
        constants: dict = {}
        body = []

        def code(expression, mission):
            tree = _Rewrite(mission, ruleset, used, constants).visit(_copy(expression.node))
            return ast.unparse(tree)

        for item in ruleset.order:
            if isinstance(item, Definition):
                body.append(f"v_{item.name} = {code(item.expression, item.mission)}")
                continue
            line = item
            # Rounded to the cent inline when the value is a Decimal (the common case).
            steps = [f"_t = {code(line.amount, line.mission)}",
                     f"v_{line.id} = _t.quantize(_quantum, _HALF_UP) if _type(_t) is _Decimal else _money(_t, _quantum)"]
            if line.maximum is not None:
                steps += [f"_t = {code(line.maximum, line.mission)}",
                          f"v_{line.id}__max = _t.quantize(_quantum, _HALF_UP) if _type(_t) is _Decimal "
                          "else _money(_t, _quantum)"]
            else:
                steps.append(f"v_{line.id}__max = v_{line.id}")
            steps.append(f"_out[{line.id!r}] = v_{line.id}")
            # The day its amount accrues from, as the reference path computes it (for cut years).
            if line.runs_from is not None:
                steps.append(f"_rf[{line.id!r}] = _day_or_none({code(line.runs_from, line.mission)})")
            elif line.mission is not None:
                used.add(f"m_started__{line.mission}")
                steps.append(f"_rf[{line.id!r}] = m_started__{line.mission}")
            if line.when is not None:
                # A condition must give true or false: anything else is the reference path's E402.
                body.append(f"_c = {code(line.when, line.mission)}")
                body.append("if _c is True:")
                body += [f"    {step}" for step in steps]
                body.append("else:")
                body.append("    if _c is not False:")
                body.append("        _cond(_c)")
                body.append(f"    v_{line.id} = _ZERO")
                body.append(f"    v_{line.id}__max = _ZERO")
            else:
                body += steps
        computed = {f"v_{item.name}" for item in ruleset.order}
        inputs = sorted(target for target in used if target not in computed)
        pure = {f"f_{name}" for name in PURE_FUNCTIONS}
        prologue = []
        for target in inputs:
            if target in pure:
                continue  # a global of the generated module
            if target.startswith("v_") and target[2:] in ruleset.parameters:
                prologue.append(f"{target} = _parameters[{target[2:]!r}]")
            elif target.startswith("v_"):
                prologue.append(f"{target} = _names[{target[2:]!r}]")
            else:
                prologue.append(f"{target} = _names[{target!r}]")
        source = "def _run(_names, _parameters, _quantum, _rf):\n    _out = {}\n" + "".join(
            f"    {text}\n" for text in prologue + body) + "    return _out\n"
        self._used = {target[2:] for target in inputs if target.startswith("v_")}
        self._missions = tuple(
            (mission, f"m_started__{mission}", f"m_deployed__{mission}", f"m_achievement__{mission}",
             f"m_indicators_earned__{mission}")
            for mission in sorted({t.split("__", 1)[1] for t in inputs if t.startswith("m_")}))
        self._profile_functions = any(t.startswith("f_") and t not in pure for t in inputs)
        namespace = {"__builtins__": {}, **_HELPERS, **constants,
                     **{f"f_{name}": function for name, function in PURE_FUNCTIONS.items()}}
        exec(compile(source, f"<ruleset {ruleset.id}>", "exec"), namespace)  # noqa: S102 — checked trees only
        self._run = namespace["_run"]
        self.source = source
        self._parameters = {}
        for size in sorted({c.taille for c in ruleset.taille.classes}) if ruleset.taille else [None]:
            self._parameters[size] = {name: p.value_for(size) for name, p in ruleset.parameters.items()}
        self._scalars = {name: p.value for name, p in ruleset.parameters.items() if p.by_taille is None}
        self._basis = None
        if ruleset.taille is not None:
            basis_constants: dict = {}
            basis_used: set = set()
            tree = _Rewrite(None, ruleset, basis_used, basis_constants).visit(_copy(ruleset.taille.basis.node))
            self._basis = compile(ast.fix_missing_locations(ast.Expression(tree)), "<taille.basis>", "eval")
            self._basis_globals = {"__builtins__": {}, **_HELPERS, **basis_constants,
                                   **{f"f_{name}": function for name, function in PURE_FUNCTIONS.items()}}
            self._basis_scalars = sorted(t[2:] for t in basis_used if t.startswith("v_") and t[2:] in self._scalars)
            self._basis_functions = sorted(t[2:] for t in basis_used
                                           if t.startswith("f_") and t[2:] not in PURE_FUNCTIONS)
            self._basis_names = sorted(t[2:] for t in basis_used
                                       if t.startswith("v_") and t[2:] not in self._scalars)
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
        except Exception:  # noqa: BLE001 — the reference path gives the exact diagnostic
            result = evaluate(self.ruleset, profile, day, renewal=renewal)
            amounts = {line.id: line.amount for line in result.lines}
            return FastResult(result.size, result.contract_year.number if result.contract_year else None,
                              amounts, result.total, {line.id: line.runs_from for line in result.lines})

    def _compute(self, profile: Profile, day: datetime.date, renewal: bool) -> FastResult:
        ruleset = self.ruleset
        year, time = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
        number = year.number if year else None
        names = profile_names(profile, day)
        if self._profile_functions:
            names.update({f"f_{name}": f for name, f in profile_functions(profile, number).items()})
        size = None
        if self._basis is not None:
            local = {f"v_{name}": names[name] for name in self._basis_names}
            local.update({f"v_{name}": self._scalars[name] for name in self._basis_scalars})
            local.update({f"f_{name}": names[f"f_{name}"] for name in self._basis_functions})
            size_class = ruleset.taille.classify(eval(self._basis, self._basis_globals, local))  # noqa: S307
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
        return FastResult(size, number, amounts, total, runs_from)


class FastTimeline:
    """The fast path over time: the entitlement of the contract year holding a day (see :func:`~.evaluate.assess`).

    Each part of the year is run by the fast ruleset of the text that applies then, on the
    part's first day; the parts are combined by :func:`~.timeline.combine`, as the reference
    path combines them. Fast rulesets are built once per ruleset.
    """

    def __init__(self, timeline: Timeline):
        self.timeline = timeline
        self._fast: dict = {}
        self.mission_of: dict = {}  # line id -> mission id, over every ruleset run so far

    def fast(self, ruleset: Ruleset) -> FastRuleset:
        key = id(ruleset)
        entry = self._fast.get(key)
        if entry is None or entry[0] is not ruleset:  # the ruleset is kept, so its id is not reused
            entry = self._fast[key] = (ruleset, FastRuleset(ruleset))
            self.mission_of.update(entry[1].mission_of)
        return entry[1]

    def run(self, profile: Profile, day: datetime.date):
        """``(ruleset, result)``: the text in force on ``day`` and the year's amounts (a :class:`FastResult`)."""
        timeline, renewal = self.timeline, self.timeline.renewal
        ruleset = timeline.resolve(day)
        point = self.fast(ruleset)
        result = point.run(profile, day, renewal)
        if result.contract_year is None:
            return ruleset, result
        year, _ = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
        segments = timeline.segments(year)
        if len(segments) == 1 and segments[0].ruleset is ruleset and segments[0].start == day:
            return ruleset, result
        parts, held = [], None
        for segment in segments:
            part = self.fast(segment.ruleset).run(profile, segment.start, renewal)
            if segment.start <= day <= segment.end:
                held = part
            parts.append((segment, [(k, v, part.runs_from.get(k)) for k, v in part.amounts.items()]))
        amounts, _ = combine(year, parts)
        ordered = {}
        for line in ruleset.lines:
            if line.id in amounts:
                ordered[line.id] = amounts[line.id]
        ordered.update(amounts)
        total = sum(ordered.values(), _ZERO).quantize(ruleset.quantum, rounding=ROUND_HALF_UP)
        return ruleset, FastResult(held.size, year.number, ordered, total)


def _copy(node):
    """A deep copy of a checked tree, so that the rewrite never touches the compiled ruleset."""
    return copy.deepcopy(node)
