"""The fast backend: a ruleset's plan (:mod:`plan`) turned into one Python function.

The formulas are the plan's trees: checked once by the compiler, their names resolved to
slots, their line sums expanded. Each tree is written as Python whose names are local
variables (``v<n>``, one per slot), whose ``+ - * / **`` call the operator table's
functions (the reference's), and whose texts and exact decimals are named constants;
the steps are laid out in their evaluation order as the body of a single function,
compiled once per ruleset and run with no builtins at all, over the environment the
bind stage (:mod:`bind`) gives, as the reference backend reads it.

It gives the amounts of the lines (and their maxima when asked), not the explanations:
warnings, obligations and traces are the reference backend's; it computes an obligation only
when one of its formulas may fail (:func:`~.plan.failing_obligations`), for the reference's
diagnostic, as the reference stops there. When a formula fails, the
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
import warnings
from decimal import ROUND_HALF_UP, Decimal

from .bind import BINDING_NAMESPACE, binder_of, binding_code
from .expressions import DECIMAL_CONTEXT, OPERATORS, ExpressionFailure
from .helpers import PURE_FUNCTIONS
from .names import TIME_NAMES
from .plan import (SUM, check_amount, check_condition, check_date, check_day, day_may_fail, failing_formulas,
                   failing_maxima, failing_obligations, plan_of, to_money)
from .profile import Profile
from .ruleset import Ruleset
from .timeline import TIME_VALUES, Timeline, combine, contract_year_on, time_values

__all__ = ["FastRuleset", "FastResult", "FastTimeline", "batch_context"]

_ZERO = Decimal(0)


@dataclasses.dataclass(slots=True)  # not frozen: a frozen dataclass is slow to make, and batch makes millions
class FastResult:
    """The amounts of one evaluation: per line (id -> amount, for the lines that apply)."""

    size: int | None
    contract_year: int | None
    amounts: dict
    total: Decimal
    runs_from: dict | None = dataclasses.field(default_factory=dict)  # line id -> the day it accrues from (None: not asked)
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
    "_date": check_date,
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
        # Only true/false, None and whole numbers are written as Python; a value folded from the
        # parameters (a date, a list of values) is a named constant too.
        if node.value is None or type(node.value) in (bool, int):
            return node
        return ast.copy_location(ast.Name(id=self.names.constant(node.value), ctx=ast.Load()), node)


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


def _not_negative(node) -> bool:
    """Whether a plan's tree (its parameters folded) is never below zero when it gives a value: numbers
    of at least zero, ``prorata_temporis`` (a share, from 0 to 1), and sums, products and choices of
    such values (an amount formula that is, needs no check of its sign)."""
    if isinstance(node, ast.Constant):
        value = node.value
        return (type(value) is int or type(value) is Decimal and value.is_finite()) and value >= 0
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id == "f_prorata_temporis"
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Add, ast.Mult)) and _not_negative(node.left) and _not_negative(node.right)
    if isinstance(node, ast.IfExp):
        return _not_negative(node.body) and _not_negative(node.orelse)
    return False


# Where one operand is a Decimal, the table's +, - and * compute Python's own (expressions._add...).
_DECIMAL_NATIVE = (ast.Add, ast.Sub, ast.Mult)
_DECIMAL_FUNCTIONS = frozenset({"f_prorata_temporis", "f_round_half_up", "f_round_down", SUM})


class _Fold(ast.NodeTransformer):
    """A plan's tree for one taille: the parameters and the taille are their values, and what
    depends on nothing else is computed once, when the function is made (constant folding).

    A part is folded only when computing it succeeds, by the very code the run would execute
    (the operator table, the engine's pure functions, under the decimal context): a part that
    fails is left in place, so the run fails there with the formula's diagnostic, as before.
    ``and`` / ``or`` keep Python's meaning (the value of an operand, not true or false).
    """

    def __init__(self, plan, values: list | None, size, compute):
        self.plan, self.values, self.size, self.compute = plan, values, size, compute

    def visit_Name(self, node):
        if self.values is not None and node.id.startswith("s") and node.id[1:].isdigit():
            slot = self.plan.slots[int(node.id[1:])]
            if slot.kind == "parameter":
                return ast.copy_location(ast.Constant(value=self.values[slot.index]), node)
            if slot.kind == "taille":
                return ast.copy_location(ast.Constant(value=self.size), node)
        return node

    def generic_fold(self, node):
        node = self.generic_visit(node)
        if all(isinstance(child, ast.Constant) for child in _operands(node)):
            return self.folded(node)
        return node

    visit_BinOp = visit_UnaryOp = visit_Compare = visit_Tuple = visit_List = generic_fold

    def visit_Call(self, node):
        node = self.generic_visit(node)
        function = node.func.id if isinstance(node.func, ast.Name) else None
        if (function is not None and function[2:] in PURE_FUNCTIONS and function.startswith("f_")
                and not node.keywords and all(isinstance(arg, ast.Constant) for arg in node.args)):
            return self.folded(node)
        return node

    def visit_IfExp(self, node):
        node = self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            try:
                chosen = node.body if node.test.value else node.orelse
            except Exception:  # noqa: BLE001 — a truth value that cannot be read: the run says why
                return node
            return chosen
        return node

    def visit_BoolOp(self, node):
        node = self.generic_visit(node)
        stop = isinstance(node.op, ast.Or)  # the truth value that ends the evaluation
        kept = []
        for index, value in enumerate(node.values):
            if isinstance(value, ast.Constant):
                try:
                    truth = bool(value.value)
                except Exception:  # noqa: BLE001 — as above
                    kept.append(value)
                    continue
                if truth is stop:  # the evaluation ends here, with this value
                    kept.append(value)
                    break
                if index < len(node.values) - 1:  # passed over: its value is never the result
                    continue
            kept.append(value)
        if len(kept) == 1:
            return kept[0]
        node.values = kept
        return node

    def folded(self, node):
        try:
            value = self.compute(node)
        except Exception:  # noqa: BLE001 — left to fail at run time, with the formula's diagnostic
            return node
        return ast.copy_location(ast.Constant(value=value), node)


def _operands(node) -> list:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators]
    return list(node.elts)



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


# A batch: one decimal context for many runs, and what depends only on the day and the contracts
# a profile states (the contract year, its names, its parts), kept for the batch (a dict, or
# None outside a batch).
_BATCH = contextvars.ContextVar("aci_rules_fast_batch", default=None)
# What a batch keeps of the days and contracts it met: bounded, as the input is not.
_BATCH_MEMO = 1 << 16
_NO_FUNCTIONS: dict = {}  # never written to


@contextlib.contextmanager
def batch_context(memo: dict | None = None):
    """One decimal context for many runs (a batch): each run inside it skips entering its own, and
    the contract years of the days and contracts met are kept for the batch (in ``memo``, which
    a caller running a batch in parts passes to each part)."""
    with decimal.localcontext(DECIMAL_CONTEXT):
        token = _BATCH.set({} if memo is None else memo)
        try:
            yield
        finally:
            _BATCH.reset(token)


# The fast path reads the contract-year names as time_values gives them.
assert TIME_VALUES == TIME_NAMES, "timeline.TIME_VALUES must follow names.TIME_NAMES"


@dataclasses.dataclass(frozen=True)
class _Compiled:
    """One generated function of a ruleset: its source, and what a failure on each line of it means."""

    function: object
    source: str
    where: dict  # line of the source -> (formula, check)
    parameters: tuple = ()  # for the function of any taille: the parameter slots it reads from _par, in order


# The function of any taille: parameters and taille read at run time (see FastRuleset).
_ANY_TAILLE = object()


class FastRuleset:
    """The fast backend of one compiled ruleset: its plan turned into one Python function.
    Build once, run many times.

    Two tiers: a function for any taille, which reads the parameters of the run's taille from a
    tuple, runs first; once a taille has been run ``specialise_after`` times, a function of that
    taille alone, its parameters folded in, is made and runs from then on (making it costs more
    than a few runs: a mutant of a text runs a handful of cases, a batch thousands of rows).
    """

    specialise_after = 64

    def __init__(self, ruleset: Ruleset):
        self.ruleset = ruleset
        plan = self.plan = plan_of(ruleset)
        self._binder = binder_of(plan)
        self.mission_of = {line.id: line.mission for line in ruleset.lines}
        self._names = _Names()
        self._decimal_slots = _decimal_slots(plan)
        # The maxima a formula computed on every run reads (sum_maxima in an amount, a condition or a
        # definition): computed on every run. The others only when the maxima are asked.
        self._always_maxima = {slot.name for step in plan.steps for formula in step.formulas
                               if formula is not step.maximum_formula for slot in formula.slots
                               if slot.kind == "maximum"}
        self._asked_maxima = set(plan.maxima_read) - self._always_maxima
        self._variants: dict = {}  # (maxima, runs_from, taille) -> _Compiled; never replaced (runner binds it)
        self._runners: dict = {}  # (renewal, maxima, runs_from) -> the function of one run (see runner)
        taille = ruleset.taille
        self.tailles = sorted({c.taille for c in taille.classes}) if taille is not None else [None]
        self._classes = tuple((c.low, c.high, c.taille) for c in taille.classes) if taille is not None else ()
        self._fold_namespace = None  # the names the code of a folded part may read
        self._functions = bool(plan.profile_functions)  # functions bound to the profile, some formula calls
        self._counts: dict = {}  # (maxima, runs_from, taille) -> runs on the function of any taille
        self._by_size: dict = {}  # (maxima, runs_from, taille) -> the parameters' values it reads (_par)
        self._basis = None
        if plan.basis is not None:
            names, used = _Names(), set()
            expression = ast.unparse(_Generate(names, self._decimal_slots, used).visit(copy.deepcopy(plan.basis.tree)))
            start = self._binder.basis_start
            slots = [plan.slots[index] for index in sorted(used)]
            lines = ["def _basis(_p, _d, _fn):"] + [
                "    " + text for text in binding_code([s for s in slots if s.kind == "profile"], _local,
                                                       names.constant)]
            lines += [f"    v{s.index} = {names.constant(start[s.index])}" for s in slots if s.kind != "profile"]
            lines += ["    " + text for text in self._functions_code(names)] + [f"    return {expression}"]
            namespace = self._namespace(names)
            exec(compile("\n".join(lines) + "\n", "<taille.basis>", "exec"), namespace)  # noqa: S102 — engine text only
            self._basis = namespace["_basis"]

    def __copy__(self):
        """A copy (a sweep's variant: vector._variant_fast sets its own ruleset, binder and functions on
        it): its run functions are made anew, as :meth:`runner` binds what it reads of the ruleset."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._runners = {}
        return clone

    @property
    def source(self) -> str:
        """The generated function of any taille, amounts and days (what a reader looks at)."""
        return self._variant(False, True, _ANY_TAILLE).source

    @property
    def _run(self):
        return self._variant(False, True, _ANY_TAILLE).function

    def _tiered(self, maxima: bool, runs_from: bool, size) -> tuple:
        """``(function, parameters)`` for a run of taille ``size`` that has no function of its own yet:
        the function of any taille and the values it reads, or, past ``specialise_after`` runs, the
        taille's own function (then used directly) and None."""
        key = (maxima, runs_from, size)
        count = self._counts[key] = self._counts.get(key, 0) + 1
        if count > self.specialise_after:
            return self._variant(maxima, runs_from, size), None
        compiled = self._variant(maxima, runs_from, _ANY_TAILLE)
        values = self._by_size.get(key)
        if values is None:
            start = self._binder.start(size)
            values = self._by_size[key] = tuple(start[index] for index in compiled.parameters)
        return compiled, values

    def _variant(self, maxima: bool, runs_from: bool, size) -> _Compiled:
        """The function computing the amounts for taille ``size`` (``_ANY_TAILLE``: any), the maxima
        too when ``maxima``, and the day each line accrues from when ``runs_from`` (made on first
        use: at most ten tailles)."""
        key = (maxima, runs_from, size)
        found = self._variants.get(key)
        if found is None:
            found = self._variants[key] = self._generate(maxima, runs_from, size)
        return found

    def _constant(self, node):
        """The value of a tree of constants, computed by the code a run would execute."""
        names = _Names()
        text = ast.unparse(_Generate(names, set(), set()).visit(_clone(node)))
        code = _FOLDS.get(text)
        if code is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)  # 'x is None' (see _generate)
                code = compile(text, "<fold>", "eval")
            if len(_FOLDS) >= _FOLDS_KEPT:
                _FOLDS.clear()
            _FOLDS[text] = code
        namespace = self._fold_namespace
        if namespace is None:
            namespace = self._fold_namespace = self._namespace(_Names())
        with decimal.localcontext(DECIMAL_CONTEXT):
            return eval(code, {**namespace, **names.constants})  # noqa: S307 — engine names only

    def _generate(self, maxima: bool, runs_from: bool, size) -> _Compiled:
        plan, names, decimal_slots = self.plan, self._names, self._decimal_slots
        failing = failing_maxima(plan)
        # A maximum computed for its failure reads the maxima its sums read: computed on every run too.
        always_maxima, asked_maxima = self._always_maxima | _maxima_read_by(plan, failing), self._asked_maxima
        specialised = size is not _ANY_TAILLE
        fold = _Fold(plan, self._binder.start(size) if specialised else None, size, self._constant)
        used: set = set()
        body: list = []  # (text, formula, check): what a failure on that line of the source means
        conditions: dict = {}  # the Python of a line's condition -> the local holding its value

        def tree_of(formula):
            return fold.visit(_clone(formula.tree))

        def code(tree):
            return ast.unparse(_Generate(names, decimal_slots, used).visit(tree))

        def is_decimal(tree) -> bool:
            return _Generate(names, decimal_slots, set()).is_decimal(tree)

        def rounded(formula, target):
            tree = tree_of(formula)
            signed = formula.gives != "amount"  # else below zero is E411 (plan.check_amount), before rounding
            if isinstance(tree, ast.Constant):  # checked and rounded once, here, when it passes
                try:
                    with decimal.localcontext(DECIMAL_CONTEXT):
                        value = tree.value if signed else check_amount(tree.value)
                        return [(f"{target} = {names.constant(to_money(value, plan.quantum))}", formula, None)]
                except ExpressionFailure:
                    pass  # the run fails there, with its diagnostic
            if not signed and _not_negative(tree):
                signed = True  # never below zero: nothing to check
            if is_decimal(tree):
                return [(f"_t = {code(tree)}", formula, None)] + (
                    [] if signed else [("if _t < _ZERO: _amount(_t)", formula, None)]) + [
                        (f"{target} = _t.quantize(_quantum, _HALF_UP)", formula, _MONEY)]
            return [(f"_t = {code(tree)}", formula, None)] + (
                [] if signed else [("if (_type(_t) is _Decimal or _type(_t) is _int) and _t < 0: _amount(_t)",
                                    formula, None)]) + [
                    (f"{target} = _t.quantize(_quantum, _HALF_UP) if _type(_t) is _Decimal else _money(_t)",
                     formula, _MONEY)]

        for step in plan.steps:
            target = f"v{step.target.index}"
            if step.kind == "definition":
                body.append((f"{target} = {code(tree_of(step.expression))}", step.expression, None))
                continue
            key = names.constant(step.name)
            maximum = f"v{step.maximum.index}"
            # A maximum is computed when asked (eval's table), or when a sum of maxima reads it.
            computed = step.name in always_maxima or maxima and step.name in asked_maxima
            block = rounded(step.amount, target)
            if step.maximum_formula is not None:
                # The reference computes every maximum: one that may fail is computed on every run
                # too, for its failure (plan.failing_maxima; none in the shipped texts).
                if maxima or computed or step.name in failing:
                    block += rounded(step.maximum_formula, maximum)
                if maxima:
                    block.append((f"_mx[{key}] = {maximum}", None, None))
            else:
                if computed:
                    block.append((f"{maximum} = {target}", None, None))
                if maxima:
                    block.append((f"_mx[{key}] = {target}", None, None))
            block.append((f"_out[{key}] = {target}", None, None))
            # The day its amount accrues from, as the reference computes it (for a cut year); a
            # formula of it is computed (and checked) on every run, its failure being the reference's.
            if step.runs_from is not None:
                day = f"_day({code(tree_of(step.runs_from))})"
                block.append((f"_rf[{key}] = {day}" if runs_from else day, step.runs_from, None))
            elif step.started is not None and runs_from:
                used.add(step.started.index)
                block.append((f"_rf[{key}] = v{step.started.index}", None, None))
            zero = [(f"{target} = _ZERO", None, None)] + ([(f"{maximum} = _ZERO", None, None)] if computed else [])
            when = tree_of(step.when) if step.when is not None else ast.Constant(value=True)
            if isinstance(when, ast.Constant) and when.value is True:
                body += block
            elif isinstance(when, ast.Constant) and when.value is False:
                body += zero
            else:
                # The condition is a value like any other; it must be true or false. Every slot is
                # written once and every function is pure, so a condition written alike earlier (a
                # mission's fixed and variable parts) has the same value: it is read, not computed again
                # (the earlier one was computed and checked, on every run, at the top level).
                text = code(when)
                name = conditions.get(text)
                if name is None:
                    name = conditions[text] = f"_w{len(conditions)}"
                    body.append((f"{name} = {text}", step.when, None))
                body.append((f"if {name} is True:", None, None))
                body += [("    " + text, formula, check) for text, formula, check in block]
                body.append((f"elif {name} is False:", None, None))
                body += [("    " + text, formula, check) for text, formula, check in zero]
                body.append(("else:", None, None))
                body.append((f"    _cond({name})", step.when, None))
        body += self._obligations_code(tree_of, code)
        slots = [plan.slots[index] for index in sorted(used)]
        bound = _BOUND_KINDS if specialised else _BOUND_KINDS + ("taille",)
        prologue = binding_code([s for s in slots if s.kind in bound], _local, names.constant)
        parameters = () if specialised else tuple(s.index for s in slots if s.kind == "parameter")
        if parameters:  # the values for the run's taille, one tuple
            prologue.append(", ".join(_local(index) for index in parameters) + ", = _par")
        prologue += self._functions_code(names)
        lines = ["def _run(_p, _d, _tn, _n, _fn, _mx, _rf, _size, _par):", "    _out = {}"] + [
            "    " + text for text in prologue]
        where: dict = {}
        for text, formula, check in body:
            lines.append("    " + text)
            if formula is not None:
                where[len(lines)] = (formula, check)
        lines.append("    return _out")
        source = "\n".join(lines) + "\n"
        namespace = self._namespace(names)
        with warnings.catch_warnings():
            # "'x' is not None" is legal in a rule; Python's SyntaxWarning about a literal with
            # 'is' would reach the user's terminal from code they never wrote.
            warnings.simplefilter("ignore", SyntaxWarning)
            exec(compile(source, "<ruleset>", "exec"), namespace)  # noqa: S102 — checked trees, engine names only
        return _Compiled(namespace["_run"], source, where, parameters)

    def _obligations_code(self, tree_of, code) -> list:
        """The obligations whose formulas may fail (:func:`~.plan.failing_obligations`), computed after
        the lines as the reference computes them: the condition (true or false), then, when it
        holds, the deadline and done, then their checks (a date; done a date or None). Only their
        failures matter here: the reference says what an obligation's status is."""
        body: list = []
        for step in failing_obligations(self.plan):
            block = [(f"_t = {code(tree_of(step.deadline))}", step.deadline, None),
                     (f"_u = {code(tree_of(step.done))}", step.done, None),
                     ("_date(_t)", step.deadline, None),
                     ("if _u is not None: _date(_u)", step.done, None)]
            when = tree_of(step.when) if step.when is not None else ast.Constant(value=True)
            if isinstance(when, ast.Constant) and when.value is True:
                body += block
            elif not (isinstance(when, ast.Constant) and when.value is False):
                body.append((f"_c = {code(when)}", step.when, None))
                body.append(("if _c is True:", None, None))
                body += [("    " + text, formula, check) for text, formula, check in block]
                body.append(("elif _c is not False:", None, None))
                body.append(("    _cond(_c)", step.when, None))
        return body

    def _functions_code(self, names) -> list:
        """Reading the functions bound to the profile from ``_fn``."""
        return [f"f_{function} = _fn.get({names.constant('f_' + function)})"
                for function in sorted(self.plan.profile_functions)]

    def _namespace(self, names) -> dict:
        quantum = self.plan.quantum
        return {"__builtins__": {}, **_HELPERS, **BINDING_NAMESPACE, **names.constants,
                **{f"f_{name}": function for name, function in PURE_FUNCTIONS.items()},
                "_quantum": quantum, "_money": _money_of(quantum)}

    def run(self, profile: Profile, day: datetime.date, renewal: bool = False, *, maxima: bool = False,
            runs_from: bool = True) -> FastResult:
        """The amounts of ``profile`` under this one ruleset on ``day`` (see :func:`~.evaluate.evaluate`),
        the maxima of the lines too when asked, and the day each line accrues from unless
        ``runs_from`` is false. A formula that cannot be computed raises :class:`EvaluationError`,
        the reference evaluator's diagnostic, built from the plan."""
        memo = _BATCH.get()
        if memo is not None:
            return self._compute(profile, day, renewal, maxima, runs_from, memo)
        with decimal.localcontext(DECIMAL_CONTEXT):
            return self._compute(profile, day, renewal, maxima, runs_from, None)

    def run_all(self, profiles, day: datetime.date, renewal: bool = False, *, runs_from: bool = False):
        """:meth:`run` for many profiles, in one arithmetic context (a generator). The day each line
        accrues from only when ``runs_from`` is true: a batch of one text on one day has no parts
        of a year to combine."""
        run = self.runner(renewal, False, runs_from)
        with batch_context():
            memo = _BATCH.get()
            for profile in profiles:
                yield run(profile, day, memo)

    def _compute(self, profile: Profile, day: datetime.date, renewal: bool = False, maxima: bool = False,
                 runs_from: bool = True, memo=None, time=None):
        """One run (in a decimal context already); ``time`` is what :func:`~.timeline.time_values` gives
        for ``day`` under this ruleset, when the caller knows it (a part of a contract year)."""
        runner = self._runners.get((renewal, maxima, runs_from))
        if runner is None:
            runner = self.runner(renewal, maxima, runs_from)
        return runner(profile, day, memo, time)

    def runner(self, renewal: bool = False, maxima: bool = False, runs_from: bool = True):
        """The function ``(profile, day, memo, time) -> FastResult`` of :meth:`_compute` for these options:
        one run in a decimal context already, ``memo`` the batch's (or None), ``time`` what
        :func:`~.timeline.time_values` gives for ``day`` under this ruleset when the caller knows it
        (a part of a contract year), else None. Made once per options: what a run reads of the
        ruleset is bound into it, not looked up on every row."""
        key = (renewal, maxima, runs_from)
        found = self._runners.get(key)
        if found is not None:
            return found
        ruleset = self.ruleset
        years, in_force, quantum = ruleset.contract_years, ruleset.in_force, ruleset.quantum
        variants, tiered, basis_of, classes = self._variants, self._tiered, self._basis, self._classes
        bound = self._binder.functions if self._functions else None
        size_of, failure = self._size_of, self._failure

        def run(profile: Profile, day: datetime.date, memo=None, time=None,
                _tv=time_values, _result=FastResult, _zero=_ZERO, _up=ROUND_HALF_UP, _kept=_BATCH_MEMO):
            if time is None:
                if memo is None:
                    time = _tv(profile, day, years, renewal, in_force)
                else:
                    contracts = (profile.contract_signed, profile.later_contracts, day, years, renewal, in_force)
                    time = memo.get(contracts)
                    if time is None:
                        if len(memo) >= _kept:
                            memo.clear()
                        time = memo[contracts] = _tv(profile, day, years, renewal, in_force)
            number, key, names = time
            functions = _NO_FUNCTIONS if bound is None else bound(profile, key, day, renewal, True)
            size = None
            if basis_of is not None:  # size_of, its common case inline (a batch runs it for every row)
                try:
                    basis = basis_of(profile, day, functions)
                except Exception:  # noqa: BLE001 — size_of computes it again and says why it fails
                    basis = None
                if type(basis) is int:
                    for low, high, taille in classes:
                        if low <= basis and (high is None or basis <= high):
                            size = taille
                            break
                if size is None:
                    size = size_of(profile, day, functions)
            compiled, parameters = variants.get((maxima, runs_from, size)), None
            if compiled is None:
                compiled, parameters = tiered(maxima, runs_from, size)
            found = {} if maxima else None
            days = {} if runs_from else None
            try:
                amounts = compiled.function(profile, day, names, key, functions, found, days, size, parameters)
            except Exception as exc:  # noqa: BLE001 — the plan's diagnostic of the formula that failed
                raise failure(exc, profile, compiled) from None
            total = sum(amounts.values(), _zero).quantize(quantum, _up)
            return _result(size, number, amounts, total, days, found)

        self._runners[key] = run
        return run

    def _size_of(self, profile: Profile, day: datetime.date, functions) -> int:
        """The taille of ``profile``: a whole number as basis is looked up in the classes here; anything
        else (a failure, a decimal, a number in no class) goes to :meth:`~.bind.Binder.size_class`,
        the one statement of the classification and of its diagnostics."""
        try:
            basis = self._basis(profile, day, functions)
        except Exception:  # noqa: BLE001 — the binder computes it again and says why it fails
            basis = None
        if type(basis) is int:
            for low, high, taille in self._classes:  # the order of Taille.classify: the first that holds it
                if low <= basis and (high is None or basis <= high):
                    return taille
        return self._binder.size_class(profile, self._basis, profile, day, functions).taille

    def _failure(self, exc: Exception, profile: Profile, compiled: _Compiled) -> Exception:
        """The diagnostic of the formula on whose line of the generated source ``exc`` was raised."""
        frame, line, tb = None, None, exc.__traceback__
        code = compiled.function.__code__
        while tb is not None:
            if tb.tb_frame.f_code is code:
                frame, line = tb.tb_frame, tb.tb_lineno
            tb = tb.tb_next
        entry = compiled.where.get(line)
        if entry is None:  # not a formula's failure: a defect of the engine, never hidden
            return exc
        formula, check = entry
        if check is not None and not isinstance(exc, ExpressionFailure):
            try:
                check(frame.f_locals.get("_t"), self.plan.quantum)
            except ExpressionFailure as failure:
                exc = failure
        return formula.raised(exc, profile.name)


# The code of a part folded when a function is made, by its text: the text names its constants
# (_k0, _k1...), so one text serves every value, in every ruleset. Bounded.
_FOLDS: dict = {}
_FOLDS_KEPT = 4096


def _clone(node):
    """A copy of a checked tree (the rewrite never touches the compiled ruleset); the values of its
    constants and its contexts (Load) are shared, as they are never changed. Faster than
    copy.deepcopy, made per formula and per taille."""
    kind = type(node)
    copied = kind.__new__(kind)
    fields = dict(node.__dict__)
    for key, value in fields.items():
        if isinstance(value, ast.AST) and not isinstance(value, ast.expr_context):
            fields[key] = _clone(value)
        elif type(value) is list:
            fields[key] = [_clone(item) if isinstance(item, ast.AST) else item for item in value]
    copied.__dict__.update(fields)
    return copied


def _local(index: int) -> str:
    return f"v{index}"


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


def _maxima_read_by(plan, lines) -> set:
    """The ids of the lines whose maximum the maximum formulas of ``lines`` read (sum_maxima), and those
    the maximum formulas of these read, and so on."""
    formulas = {step.name: step.maximum_formula for step in plan.lines}
    found, stack = set(), [formulas[name] for name in lines if formulas.get(name) is not None]
    while stack:
        for slot in stack.pop().slots:
            if slot.kind == "maximum" and slot.name not in found:
                found.add(slot.name)
                if formulas.get(slot.name) is not None:
                    stack.append(formulas[slot.name])
    return found


def _point_needed(ruleset: Ruleset, day: datetime.date, segments) -> bool:
    """Whether the run of ``day`` itself is needed, for its failures, beside the parts of the contract
    year ``segments`` (each run on its first day).

    The reference (evaluate.assess) evaluates the day itself first, then each part, and stops at the
    first failure. A part starting on the day under the day's text is that run. Else the day's run
    can fail only where a formula of its text may fail (:func:`~.plan.failing_formulas`); it fails
    as the part holding the day fails, and first, unless such a formula may give another value on
    the day (:func:`~.plan.day_may_fail`), or an earlier part, run first here, may fail before it,
    or the part holding the day is under another text. None of this for a text whose formulas
    cannot fail (the shipped ones)."""
    plan = plan_of(ruleset)
    if not failing_formulas(plan):  # first: decided once per text, and a batch asks for every contract year
        return False
    held = next((n for n, s in enumerate(segments) if s.start <= day <= s.end), None)
    if held is not None and segments[held].start == day and segments[held].ruleset is ruleset:
        return False
    return held is None or held > 0 or segments[held].ruleset is not ruleset or day_may_fail(plan)


# Bound from the profile and the day; the parameters and the taille are folded into a taille's
# function, and read from _par and _size by the function of any taille.
_BOUND_KINDS = ("profile", "time", "mission")
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

    def _year(self, profile: Profile, day: datetime.date) -> tuple:
        """``(ruleset, single, point, parts)``: the text in force on ``day``, and what to run: ``single``
        (a year under one text, or no contract year) the fast ruleset, its day, whether it gives
        the days lines accrue from, and what it reads of time, :func:`~.timeline.time_values`'s;
        else ``parts``, each part of the cut year with its fast ruleset and time; ``point`` the
        run of the day itself, for the failures of its obligations (see below), or None.

        A part lies inside the year, so its first day gives the same year, under the same
        contract length: only the text in force differs (None: computed by the run)."""
        timeline = self.timeline
        ruleset = timeline.resolve(day)
        years = ruleset.contract_years
        time = time_values(profile, day, years, timeline.renewal, ruleset.in_force)
        number, key, names = time
        fast = self.fast(ruleset)
        if number is None:
            return ruleset, (fast, day, True, time), None, None
        segments = timeline.segments_between(names[2], names[3])
        point = (fast, time) if _point_needed(ruleset, day, segments) else None
        if len(segments) == 1 and segments[0].ruleset is ruleset:  # most years: the day's text throughout
            return ruleset, (fast, segments[0].start, False, time), point, None
        parts = [(s, self.fast(s.ruleset), time if s.ruleset is ruleset else (
            number, key, names[:5] + (s.ruleset.in_force,)) if s.ruleset.contract_years == years else None)
                 for s in segments]
        if len(parts) == 1:
            # One text for the whole year: nothing to combine, so no day a line accrues from.
            segment, part_fast, part_time = parts[0]
            return ruleset, (part_fast, segment.start, False, part_time), point, None
        return ruleset, None, point, parts

    def run(self, profile: Profile, day: datetime.date):
        """``(ruleset, result)``: the text in force on ``day`` and the year's amounts (a :class:`FastResult`)."""
        memo = _BATCH.get()
        if memo is None:
            with batch_context():
                return self.run(profile, day)
        renewal = self.timeline.renewal
        key = (self, profile.contract_signed, profile.later_contracts, day)
        found = memo.get(key)
        if found is None:
            if len(memo) >= _BATCH_MEMO:
                memo.clear()
            ruleset, single, point, parts = self._year(profile, day)
            if single is not None:  # its run function, kept with the year (see FastRuleset.runner)
                fast, start, runs_from, time = single
                single = (fast.runner(renewal, False, runs_from), start, time)
            found = memo[key] = (ruleset, single, point, parts)
        ruleset, single, point, parts = found
        if point is not None:
            point[0]._compute(profile, day, renewal, False, False, memo, point[1])
        if single is not None:
            run, start, time = single
            return ruleset, run(profile, start, memo, time)
        results, held = [], None
        for segment, fast, time in parts:
            part = fast._compute(profile, segment.start, renewal, False, True, memo, time)
            if segment.start <= day <= segment.end:
                held = part
            results.append((segment, [(k, v, part.runs_from.get(k)) for k, v in part.amounts.items()]))
        year = contract_year_on(profile.signatures, day, ruleset.contract_years, renewal)
        amounts, _ = combine(year, results)
        total = sum(amounts.values(), _ZERO).quantize(ruleset.quantum, rounding=ROUND_HALF_UP)
        return ruleset, FastResult(held.size, year.number, amounts, total)
