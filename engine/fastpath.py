"""The fast backend: a ruleset's plan (:mod:`plan`) turned into one Python function.

The formulas are the plan's trees: checked once by the compiler, their names resolved to
slots, their line sums expanded. Each tree is written as Python whose names are local
variables (``v<n>``, one per slot), whose ``+ - * / **`` call the operator table's
functions (the reference's), and whose texts and exact decimals are named constants;
the steps are laid out in their evaluation order as the body of a single function,
compiled once per ruleset and run with no builtins at all, over the environment the
bind stage (:mod:`bind`) gives, as the reference backend reads it.

It gives the amounts of the lines (and their maxima when asked), not the explanations:
warnings, obligations and traces are the reference backend's. When a formula fails, the
line of the generated source it failed on names the plan's formula, whose diagnostic is
the one the reference reports (:meth:`plan.Formula.failure`): the reference is never run
in its place. Tests prove both backends give identical amounts and identical diagnostics
on generated profiles (tests/test_fastpath.py) and generated rulesets and formulas
(tests/test_differential.py).
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import copy
import dataclasses
import datetime
import decimal
import operator
import warnings
from decimal import ROUND_HALF_UP, Decimal

from .bind import binder_of
from .expressions import DECIMAL_CONTEXT, OPERATORS, ExpressionFailure
from .helpers import PURE_FUNCTIONS
from .plan import SUM, check_amount, check_condition, check_day, plan_of, to_money
from .profile import Profile
from .ruleset import Ruleset
from .timeline import Timeline, combine, contract_year_on

__all__ = ["FastRuleset", "FastResult", "FastTimeline", "batch_context"]

_ZERO = Decimal(0)


@dataclasses.dataclass(slots=True)  # not frozen: a frozen dataclass is slow to make, and batch makes millions
class FastResult:
    """The amounts of one evaluation: per line (id -> amount, for the lines that apply)."""

    size: int | None
    contract_year: int | None
    amounts: dict
    total: Decimal
    runs_from: dict = dataclasses.field(default_factory=dict)  # line id -> the day it accrues from, or None
    maxima: dict | None = None  # line id -> maximum, for the lines that apply, when asked


def _sum(values):
    # Line amounts: Decimals already rounded to the quantum, so the context bounds the sum.
    return sum(values, _ZERO)


# The operator table is expressions.OPERATORS, the reference's: + - * / ** are its functions
# (bounds, exact division); comparisons, not, -x, in and is are Python's own operators there,
# which the generated code writes as Python.
_HELPERS = {
    "_div": OPERATORS[ast.Div],
    "_pow": OPERATORS[ast.Pow],
    "_mul": OPERATORS[ast.Mult],
    "_add": OPERATORS[ast.Add],
    "_sub": OPERATORS[ast.Sub],
    SUM: _sum,
    "_cond": check_condition,
    "_amount": check_amount,
    "_day": check_day,
    "_ZERO": _ZERO,
    "_Decimal": Decimal,
    "_int": int,
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


class _Constants(ast.NodeTransformer):
    """Exact decimals and texts become named constants (``self.names``): the generated text never
    spells them."""

    names: _Names

    def visit_Constant(self, node):
        if isinstance(node.value, (Decimal, str)):
            return ast.copy_location(ast.Name(id=self.names.constant(node.value), ctx=ast.Load()), node)
        return node


class _Generate(_Constants):
    """A plan's tree as Python source: slot keys become locals (``v<n>``), exact decimals and texts
    named constants (``_k<n>``), and ``+ - * / **`` the operator table's functions (Python's own
    operator where one operand is known to be a Decimal: the table's function does just that then)."""

    def __init__(self, names: _Names, decimal_slots: set, used: set):
        self.names = names
        self.decimal_slots = decimal_slots
        self.used = used

    def visit_Name(self, node):
        if node.id.startswith("s") and node.id[1:].isdigit():  # a slot of the plan
            self.used.add(int(node.id[1:]))
            return ast.copy_location(ast.Name(id="v" + node.id[1:], ctx=ast.Load()), node)
        return node  # f_<function> and the sum: the engine's own names

    def visit_BinOp(self, node):
        decimal_operand = self.is_decimal(node.left) or self.is_decimal(node.right)
        node = self.generic_visit(node)
        helper = _CALLS.get(type(node.op))
        if helper is None or decimal_operand and type(node.op) in _DECIMAL_NATIVE:
            return node
        return ast.copy_location(
            ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[node.left, node.right], keywords=[]), node)

    def is_decimal(self, node) -> bool:
        """Whether ``node`` gives a Decimal whenever it gives anything (read from the plan's slots)."""
        if isinstance(node, ast.Constant):
            return type(node.value) is Decimal
        if isinstance(node, ast.Name):
            return node.id.startswith("s") and node.id[1:].isdigit() and int(node.id[1:]) in self.decimal_slots
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id in _DECIMAL_FUNCTIONS
        if isinstance(node, ast.BinOp):
            return type(node.op) in (ast.Div, ast.Pow) or (
                type(node.op) in _DECIMAL_NATIVE and (self.is_decimal(node.left) or self.is_decimal(node.right)))
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, (ast.USub, ast.UAdd)) and self.is_decimal(node.operand)
        if isinstance(node, ast.IfExp):
            return self.is_decimal(node.body) and self.is_decimal(node.orelse)
        return False


# Where one operand is a Decimal, the table's +, - and * compute Python's own (expressions._add...).
_DECIMAL_NATIVE = (ast.Add, ast.Sub, ast.Mult)
_DECIMAL_FUNCTIONS = frozenset({"f_prorata_temporis", "f_round_half_up", "f_round_down", SUM})


def _decimal_slots(plan) -> set:
    """The slots that hold a Decimal whatever the profile: amounts and maxima (rounded), rates of
    achievement, parameters that are Decimals for every taille, definitions of such values."""
    ruleset = plan.ruleset
    found = set()
    for slot in plan.slots:
        if slot.kind in ("line", "maximum") or slot.kind == "mission" and slot.name == "achievement":
            found.add(slot.index)
        elif slot.kind == "parameter":
            parameter = ruleset.parameters[slot.name]
            values = parameter.by_taille.values() if parameter.by_taille is not None else [parameter.value]
            if values and all(type(v) is Decimal for v in values):
                found.add(slot.index)
    probe = _Generate(_Names(), found, set())
    for step in plan.steps:
        if step.kind == "definition" and probe.is_decimal(step.expression.tree):
            found.add(step.target.index)
    return found


_BATCH = contextvars.ContextVar("aci_rules_fast_batch", default=False)


@contextlib.contextmanager
def batch_context():
    """One decimal context for many runs (a batch): each run inside it skips entering its own."""
    with decimal.localcontext(DECIMAL_CONTEXT):
        token = _BATCH.set(True)
        try:
            yield
        finally:
            _BATCH.reset(token)


class FastRuleset:
    """The fast backend of one compiled ruleset: its plan turned into one Python function.
    Build once, run many times."""

    def __init__(self, ruleset: Ruleset):
        self.ruleset = ruleset
        plan = self.plan = plan_of(ruleset)
        self._binder = binder_of(plan)
        self.mission_of = {line.id: line.mission for line in ruleset.lines}
        names = _Names()
        decimal_slots = _decimal_slots(plan)
        used: set = set()
        body: list = []  # (text, formula, check): what a failure on that line of the source means

        def code(formula):
            return ast.unparse(_Generate(names, decimal_slots, used).visit(copy.deepcopy(formula.tree)))

        # The maxima a formula computed on every run reads (sum_maxima in an amount, a condition or a
        # definition): computed on every run. The others only when the maxima are asked.
        always_maxima = {slot.name for step in plan.steps for formula in step.formulas
                         if formula is not step.maximum_formula for slot in formula.slots if slot.kind == "maximum"}
        asked_maxima = set(plan.maxima_read) - always_maxima
        # A line whose amount or maximum is a parameter alone: rounded once per taille (_r[n]).
        self._rounded_names: list = []

        def rounded(formula, target):
            tree = formula.tree
            signed = formula.gives != "amount"  # else below zero is E411 (plan.check_amount), before rounding
            if isinstance(tree, ast.Name) and tree.id[1:].isdigit():
                slot = plan.slots[int(tree.id[1:])]
                if slot.kind == "parameter" and self._roundable(slot.name) and (
                        signed or self._never_negative(slot.name)):
                    if slot.name not in self._rounded_names:
                        self._rounded_names.append(slot.name)
                    return [(f"{target} = _r[{self._rounded_names.index(slot.name)}]", formula, None)]
            if _Generate(names, decimal_slots, set()).is_decimal(tree):
                return [(f"_t = {code(formula)}", formula, None)] + (
                    [] if signed else [("if _t < _ZERO: _amount(_t)", formula, None)]) + [
                        (f"{target} = _t.quantize(_quantum, _HALF_UP)", formula, _MONEY)]
            return [(f"_t = {code(formula)}", formula, None)] + (
                [] if signed else [("if (_type(_t) is _Decimal or _type(_t) is _int) and _t < 0: _amount(_t)",
                                    formula, None)]) + [
                    (f"{target} = _t.quantize(_quantum, _HALF_UP) if _type(_t) is _Decimal else _money(_t)",
                     formula, _MONEY)]

        for step in plan.steps:
            target = f"v{step.target.index}"
            if step.kind == "definition":
                body.append((f"{target} = {code(step.expression)}", step.expression, None))
                continue
            key = names.constant(step.name)
            maximum = f"v{step.maximum.index}"
            always = step.name in always_maxima
            block = rounded(step.amount, target)
            if step.maximum_formula is not None:
                # A maximum only when asked (eval's table), or when a sum of maxima reads it.
                pad = "" if always else "    "
                if not always:
                    block.append(("if _mx is not None:", None, None))
                block += [(pad + text, formula, check) for text, formula, check in
                          rounded(step.maximum_formula, maximum)]
                block.append((f"{pad}_mx[{key}] = {maximum}" if not always else
                              f"if _mx is not None: _mx[{key}] = {maximum}", None, None))
            else:
                if always:
                    block.append((f"{maximum} = {target}", None, None))
                elif step.name in asked_maxima:
                    block.append((f"if _mx is not None: {maximum} = {target}", None, None))
                block.append((f"if _mx is not None: _mx[{key}] = {target}", None, None))
            block.append((f"_out[{key}] = {target}", None, None))
            # The day its amount accrues from, as the reference computes it (for a cut year).
            if step.runs_from is not None:
                block.append((f"_rf[{key}] = _day({code(step.runs_from)})", step.runs_from, None))
            elif step.started is not None:
                used.add(step.started.index)
                block.append((f"_rf[{key}] = v{step.started.index}", None, None))
            if step.when is None:
                body += block
                continue
            # The condition is a value like any other; it must be true or false.
            body.append((f"_c = {code(step.when)}", step.when, None))
            body.append(("if _c is True:", None, None))
            body += [("    " + text, formula, check) for text, formula, check in block]
            body.append(("elif _c is False:", None, None))
            body.append((f"    {target} = _ZERO", None, None))
            if always:
                body.append((f"    {maximum} = _ZERO", None, None))
            elif step.name in asked_maxima:
                body.append((f"    if _mx is not None: {maximum} = _ZERO", None, None))
            body.append(("else:", None, None))
            body.append(("    _cond(_c)", step.when, None))
        inputs = sorted(index for index in used if plan.slots[index].kind in _INPUT_KINDS)
        prologue = self._prologue(inputs, plan, names)
        lines = ["def _run(_in, _fn, _mx, _rf, _r):", "    _out = {}"] + ["    " + text for text in prologue]
        self._where: dict = {}
        for text, formula, check in body:
            lines.append("    " + text)
            if formula is not None:
                self._where[len(lines)] = (formula, check)
        lines.append("    return _out")
        self.source = "\n".join(lines) + "\n"
        namespace = self._namespace(names, inputs)
        with warnings.catch_warnings():
            # "'x' is not None" is legal in a rule; Python's SyntaxWarning about a literal with
            # 'is' would reach the user's terminal from code they never wrote.
            warnings.simplefilter("ignore", SyntaxWarning)
            exec(compile(self.source, "<ruleset>", "exec"), namespace)  # noqa: S102 — checked trees, engine names only
        self._run = namespace["_run"]
        self._rounded: dict = {}  # taille -> the rounded parameters (_r)
        self._basis = None
        if plan.basis is not None:
            basis_names, basis_used = _Names(), set()
            expression = ast.unparse(_Generate(basis_names, decimal_slots, basis_used).visit(
                copy.deepcopy(plan.basis.tree)))
            basis_inputs = sorted(basis_used)
            source = "\n".join(["def _basis(_in, _fn):"] + [
                "    " + text for text in self._prologue(basis_inputs, plan, basis_names)] + [
                f"    return {expression}"]) + "\n"
            basis_namespace = self._namespace(basis_names, basis_inputs)
            exec(compile(source, "<taille.basis>", "exec"), basis_namespace)  # noqa: S102 — as above
            self._basis = basis_namespace["_basis"]

    def _tailles(self) -> list:
        taille = self.ruleset.taille
        return sorted({c.taille for c in taille.classes}) if taille is not None else [None]

    def _roundable(self, name) -> bool:
        """Whether a parameter rounds to an amount for every taille a run may have: then it is
        rounded once per taille, not on every run."""
        parameter = self.ruleset.parameters[name]
        try:
            with decimal.localcontext(DECIMAL_CONTEXT):
                for size in self._tailles():
                    to_money(parameter.value_for(size), self.plan.quantum)
        except ExpressionFailure:
            return False
        return True

    def _never_negative(self, name) -> bool:
        """Whether a parameter is not below zero for any taille (then, as an amount, it needs no check)."""
        parameter = self.ruleset.parameters[name]
        return not any(type(value) in (int, Decimal) and value < 0
                       for value in (parameter.value_for(size) for size in self._tailles()))

    def _rounded_for(self, size):
        quantum = self.plan.quantum
        with decimal.localcontext(DECIMAL_CONTEXT):
            found = self._rounded[size] = tuple(to_money(self.ruleset.parameters[name].value_for(size), quantum)
                                                for name in self._rounded_names)
        return found

    @staticmethod
    def _prologue(inputs, plan, names) -> list:
        """Reading the slots the binder filled, and the functions bound to the profile."""
        texts = []
        if len(inputs) > 1:
            texts.append(", ".join(f"v{index}" for index in inputs) + " = _pick(_in)")
        elif inputs:
            texts.append(f"v{inputs[0]} = _pick(_in)")
        for function in sorted(plan.profile_functions):
            texts.append(f"f_{function} = _fn.get({names.constant('f_' + function)})")
        return texts

    def _namespace(self, names, inputs) -> dict:
        quantum = self.plan.quantum
        return {"__builtins__": {}, **_HELPERS, **names.constants,
                **{f"f_{name}": function for name, function in PURE_FUNCTIONS.items()},
                "_pick": operator.itemgetter(*inputs) if inputs else None, "_quantum": quantum,
                "_money": _money_of(quantum)}

    def run(self, profile: Profile, day: datetime.date, renewal: bool = False, *, maxima: bool = False) -> FastResult:
        """The amounts of ``profile`` under this one ruleset on ``day`` (see :func:`~.evaluate.evaluate`),
        the maxima of the lines too when asked. A formula that cannot be computed raises
        :class:`EvaluationError`, the reference evaluator's diagnostic, built from the plan."""
        if _BATCH.get():
            return self._compute(profile, day, renewal, maxima)
        with decimal.localcontext(DECIMAL_CONTEXT):
            return self._compute(profile, day, renewal, maxima)

    def run_all(self, profiles, day: datetime.date, renewal: bool = False):
        """:meth:`run` for many profiles, in one arithmetic context (a generator)."""
        with batch_context():
            for profile in profiles:
                yield self._compute(profile, day, renewal, False)

    def _basis_of(self, formula, values, functions):
        return self._basis(values, functions)

    def _compute(self, profile: Profile, day: datetime.date, renewal: bool = False, maxima: bool = False):
        env = self._binder.bind(profile, day, renewal, self._basis_of, fast=True)
        runs_from: dict = {}
        found = {} if maxima else None
        size_class = env.size_class
        size = size_class.taille if size_class is not None else None
        rounded = self._rounded.get(size) or self._rounded_for(size)
        try:
            amounts = self._run(env.values, env.functions, found, runs_from, rounded)
        except Exception as exc:  # noqa: BLE001 — the plan's diagnostic of the formula that failed
            raise self._failure(exc, profile) from None
        quantum = self.plan.quantum
        total = sum(amounts.values(), _ZERO).quantize(quantum, rounding=ROUND_HALF_UP)
        year = env.year
        return FastResult(size, year.number if year is not None else None, amounts, total, runs_from, found)

    def _failure(self, exc: Exception, profile: Profile) -> Exception:
        """The diagnostic of the formula on whose line of the generated source ``exc`` was raised."""
        frame, line, tb = None, None, exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code is self._run.__code__:
                frame, line = tb.tb_frame, tb.tb_lineno
            tb = tb.tb_next
        entry = self._where.get(line)
        if entry is None:  # not a formula's failure: a defect of the engine, never hidden
            return exc
        formula, check = entry
        if check is not None and not isinstance(exc, ExpressionFailure):
            try:
                check(frame.f_locals.get("_t"), self.plan.quantum)
            except ExpressionFailure as failure:
                exc = failure
        return formula.raised(exc, profile.name)


def _money_of(quantum):
    """:func:`~.plan.to_money` for the values that are not Decimals, whole numbers (amounts of
    parameters, mostly) remembered once rounded: a few hundred distinct ones in a ruleset."""
    rounded: dict = {}

    def money(value):
        if type(value) is int:
            found = rounded.get(value)
            if found is None:
                found = to_money(value, quantum)
                if len(rounded) < 4096:
                    rounded[value] = found
            return found
        return to_money(value, quantum)

    return money


_INPUT_KINDS = ("profile", "time", "taille", "parameter", "mission")
_MONEY = to_money  # a failure at a rounding point: what the rounding says of the value


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
        if not _BATCH.get():
            with batch_context():
                return self.run(profile, day)
        timeline, renewal = self.timeline, self.timeline.renewal
        ruleset = timeline.resolve(day)
        year = contract_year_on(profile.signatures, day, ruleset.contract_years, renewal)
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
