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

import simpleeval

from .evaluate import contract_end_of, contract_year_of, evaluate
from .expressions import DECIMAL_CONTEXT, OPERATORS
from .helpers import LINE_FUNCTIONS, PURE_FUNCTIONS
from .profile import Profile, profile_functions, profile_names
from .ruleset import Definition, Ruleset

__all__ = ["FastRuleset", "FastResult"]

_ZERO = Decimal(0)


@dataclasses.dataclass(frozen=True)
class FastResult:
    """The amounts of one evaluation: per line (id -> amount, for the lines that apply)."""

    size: int | None
    contract_year: int | None
    amounts: dict
    total: Decimal


def _mul(left, right):
    # Decimals first: only a text repeated needs simpleeval's length guard.
    if type(left) is Decimal or type(right) is Decimal:
        return left * right
    return simpleeval.safe_mult(left, right)


def _cond(value):
    if value is True or value is False:
        return value
    raise TypeError(f"a condition gives {type(value).__name__}, not true or false")


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
        source = "def _run(_names, _parameters, _quantum):\n    _out = {}\n" + "".join(
            f"    {text}\n" for text in prologue + body) + "    return _out\n"
        self._used = {target[2:] for target in inputs if target.startswith("v_")}
        self._missions = tuple(
            (mission, f"m_started__{mission}", f"m_deployed__{mission}", f"m_achievement__{mission}",
             f"m_indicators_earned__{mission}")
            for mission in sorted({t.split("__", 1)[1] for t in inputs if t.startswith("m_")}))
        self._profile_functions = any(t.startswith("f_") and t not in pure for t in inputs)
        namespace = {"__builtins__": {}, **_HELPERS, **constants,
                     **{f"f_{name}": function for name, function in PURE_FUNCTIONS.items()}}
        with warnings.catch_warnings():
            # "'x' is not None" is legal in a rule; Python's SyntaxWarning about a literal with
            # 'is' would reach the user's terminal from code they never wrote.
            warnings.simplefilter("ignore", SyntaxWarning)
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

    def run(self, profile: Profile, day: datetime.date) -> FastResult:
        """The amounts of ``profile`` on ``day``; a failing formula is reported as eval reports it."""
        with decimal.localcontext(DECIMAL_CONTEXT):
            return self._run_one(profile, day)

    def run_all(self, profiles, day: datetime.date):
        """:meth:`run` for many profiles, in one arithmetic context (a generator)."""
        with decimal.localcontext(DECIMAL_CONTEXT):
            for profile in profiles:
                yield self._run_one(profile, day)

    def _run_one(self, profile: Profile, day: datetime.date) -> FastResult:
        try:
            return self._compute(profile, day)
        except Exception as failure:  # noqa: BLE001 — the reference path gives the exact diagnostic
            evaluate(self.ruleset, profile, day)  # raises EvaluationError, as eval reports it
            # Never a silent fallback: a formula one path computes and the other cannot is a defect.
            raise RuntimeError(f"the fast path cannot compute what the reference evaluator computes "
                               f"(ruleset '{self.ruleset.id}', profile '{profile.name}', {day}): "
                               f"{type(failure).__name__}") from failure

    def _compute(self, profile: Profile, day: datetime.date) -> FastResult:
        ruleset = self.ruleset
        signed = profile.contract_signed
        year = contract_year_of(signed, day, ruleset.contract_years)
        number = year.number if year else None
        names = profile_names(profile, day)
        if self._profile_functions:
            names.update({f"f_{name}": f for name, f in profile_functions(profile, number).items()})
        size = None
        if self._basis is not None:
            local = {f"v_{name}": names[name] for name in self._basis_names}
            local.update({f"v_{name}": self._scalars[name] for name in self._basis_scalars})
            local.update({f"f_{name}": names[f"f_{name}"] for name in self._basis_functions})
            basis = eval(self._basis, self._basis_globals, local)  # noqa: S307
            if type(basis) is not int and type(basis) is not Decimal:
                # True would classify as 1: a basis must give a number, as on the reference path.
                raise TypeError("taille.basis gives no number")
            size_class = ruleset.taille.classify(basis)
            if size_class is None:
                raise ValueError("no taille class")
            size = size_class.taille
        names["taille"] = size
        names["contract_year"] = number
        names["contract_year_start"] = year.start if year else None
        names["contract_year_end"] = year.end if year else None
        names["text_in_force"] = ruleset.in_force
        if "contract_end" in self._used:
            names["contract_end"] = contract_end_of(signed, ruleset.contract_years)
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
        amounts = self._run(names, self._parameters[size], ruleset.quantum)
        total = sum(amounts.values(), _ZERO).quantize(ruleset.quantum, rounding=ROUND_HALF_UP)
        return FastResult(size, number, amounts, total)


def _copy(node):
    """A deep copy of a checked tree, so that the rewrite never touches the compiled ruleset."""
    return copy.deepcopy(node)
