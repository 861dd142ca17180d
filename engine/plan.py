"""build -> plan: a compiled ruleset as the steps of its evaluation, every name resolved.

The plan is the one intermediate form every evaluation backend is generated from: the
reference evaluator (:mod:`evaluate`: traces, warnings, obligations), the fast scalar
function (:mod:`fastpath`) and, next, the vectorised one. It is built once per compiled
ruleset (:func:`plan_of`) and holds:

* the **slots**: every value a formula reads or an evaluation produces, each of a declared
  kind (``profile``, ``time``, ``taille``, ``parameter``, ``mission`` (a field of one
  mission), ``definition``, ``line`` (an amount), ``maximum`` (a line's maximum)); the
  names the engine provides come from one table (:mod:`names`), filled by :mod:`bind`;
* the **steps** in evaluation order (definitions and lines), each formula a checked tree
  whose names are slot keys (``s<n>``, made by the engine, never a user's text), whose
  functions are ``f_<function>``, and whose ``sum_lines`` / ``sum_maxima`` are expanded to
  a sum over the slots of the lines they select; a line's condition is a value like any
  other (a backend decides how to skip what it guards);
* the **rounding points** (a line's amount and maximum, to the ruleset's quantum:
  :func:`to_money`), and the **result checks** of each formula's kind (a condition gives
  true or false, an amount a number, never below zero unless the line is a clawback
  (:func:`check_amount`), runs_from a date or None);
* for each formula, what a diagnostic needs: its path, its text and where it stands in its
  file, so that every backend reports a failing formula the same way
  (:meth:`Formula.failure`), from the ruleset's positions table (never its data).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import datetime
import decimal
import weakref
from decimal import ROUND_HALF_UP, Decimal

from .diagnostic import Diagnostic, EvaluationError, format_path, msg
from .expressions import (DECIMAL_CONTEXT, MAX_MAGNITUDE, OPERATORS, ExpressionFailure, describe_value,
                          failure_of)
from .helpers import LINE_FUNCTIONS, PURE_FUNCTIONS, non_negative
from .names import BASIS_NAMES, FUNCTION_KINDS, READABLE
from .ruleset import Definition, FundingLine, Ruleset

__all__ = [
    "Slot",
    "Formula",
    "Step",
    "ObligationStep",
    "Plan",
    "plan_of",
    "formula_of",
    "to_money",
    "check_condition",
    "check_day",
    "check_date",
    "check_number",
    "check_amount",
    "failing_obligations",
    "failing_formulas",
    "failing_maxima",
    "failing_under",
    "day_may_fail",
    "reads_day",
    "SUM",
]

SUM = "_sum"  # the function every expanded line sum calls (a sum of rounded amounts)
_ZERO = Decimal(0)


@dataclasses.dataclass(frozen=True)
class Slot:
    """A value of an evaluation: ``kind`` as in :mod:`names`, or parameter, definition, line, maximum."""

    index: int
    kind: str
    name: str
    mission: str | None = None  # for a mission field: the mission

    @property
    def key(self) -> str:
        return f"s{self.index}"


@dataclasses.dataclass(frozen=True, eq=False)
class Formula:
    """One checked formula of a step, its names resolved to slots."""

    field: str  # expression | when | amount | maximum | runs_from | basis | deadline | done
    text: str
    source: str  # the text the tree's positions refer to
    tree: ast.AST  # names are slot keys, functions f_<name>, line sums SUM(tuple of slot keys)
    reads: dict  # name as written -> Slot (a trace shows them by name)
    slots: tuple  # the slots it reads, in order, those of expanded sums included
    functions: frozenset  # the functions it calls (profile-bound ones among them)
    gives: str  # value | condition | amount (money, not below zero) | money | day | date | date_or_none | number
    subject: str  # "line", "item" or "basis": how a failure names it
    name: str  # the line or item id
    path: tuple
    where: str  # the path as a message names it
    place: tuple  # (file, line, column, source path) of a diagnostic

    def diagnostic(self, code: str, message) -> Diagnostic:
        file, line, column, path = self.place
        return Diagnostic(code, message, file, line, column, path)

    def failure(self, failure: ExpressionFailure, profile_name: str) -> EvaluationError:
        """The error every backend raises when this formula cannot be computed for a profile."""
        hint = msg("; {hint}", hint=failure.hint) if failure.hint else ""
        if self.subject == "basis":
            message = msg("{problem} in taille.basis ({formula}) for profile '{profile}'{hint}",
                          problem=failure.message, formula=self.text, profile=profile_name, hint=hint)
        else:
            where = {"problem": failure.message, "name": self.name, "path": self.where, "formula": self.text,
                     "profile": profile_name, "hint": hint}
            message = (msg("{problem} in line '{name}' ({path}: {formula}) for profile '{profile}'{hint}", **where)
                       if self.subject == "line" else
                       msg("{problem} in item '{name}' ({path}: {formula}) for profile '{profile}'{hint}", **where))
        return EvaluationError([self.diagnostic(failure.code, message)])

    def raised(self, exc: BaseException, profile_name: str) -> EvaluationError:
        """:meth:`failure` for an exception raised while computing this formula."""
        failure = exc if isinstance(exc, ExpressionFailure) else failure_of(exc)
        return self.failure(failure, profile_name)


@dataclasses.dataclass(frozen=True, eq=False)
class Step:
    """A definition or a line, in evaluation order."""

    kind: str  # definition | line
    name: str
    mission: str | None
    item: object  # the compiled Definition or FundingLine (labels, references, confidence)
    target: Slot  # the definition's value, or the line's amount
    maximum: Slot | None  # a line's maximum
    expression: Formula | None  # a definition's
    when: Formula | None
    amount: Formula | None
    maximum_formula: Formula | None
    runs_from: Formula | None
    started: Slot | None  # for a mission line without runs_from: the day it accrues from

    @property
    def formulas(self) -> tuple:
        return tuple(f for f in (self.expression, self.when, self.amount, self.maximum_formula, self.runs_from)
                     if f is not None)


@dataclasses.dataclass(frozen=True, eq=False)
class ObligationStep:
    item: object  # the compiled Obligation
    when: Formula | None
    deadline: Formula
    done: Formula


@dataclasses.dataclass(frozen=True, eq=False)
class Plan:
    """The steps of a ruleset's evaluation and the slots they read and write (see the module)."""

    ruleset: Ruleset
    slots: tuple  # Slot, by index
    inputs: tuple  # the slots the binder fills: profile, time, taille, parameter, mission
    basis: Formula | None
    steps: tuple  # Step, in evaluation order
    obligations: tuple  # ObligationStep
    lines: tuple  # the line steps, in the ruleset's order
    maxima_read: frozenset  # line ids whose maximum a sum_maxima reads
    missions_read: tuple  # missions some formula reads a field of
    profile_functions: frozenset  # functions bound to the profile (or to what other texts give it) some formula calls
    quantum: Decimal

    def slot(self, kind: str, name: str, mission: str | None = None) -> Slot | None:
        return self._by_key.get((kind, name, mission))

    def __getstate__(self):
        # The binder (bind.binder_of) holds functions made at run time: a pickle of the plan (the
        # compiled texts' cache) or a copy leaves it out, and makes it again when asked. With it, the
        # cache's pickling failed, silently, for every text compiled after a first evaluation.
        state = dict(self.__dict__)
        state.pop("_binder", None)
        return state


def to_money(value, quantum: Decimal):
    """An amount rounded half up to the quantum: the one rounding point of every line (amount and
    maximum), on every backend. Raises :class:`ExpressionFailure` for what is no amount."""
    if type(value) is Decimal and value.is_finite() or type(value) is int:
        try:
            return Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP, context=DECIMAL_CONTEXT)
        except decimal.InvalidOperation:
            raise ExpressionFailure("E402", msg("gives {value}, too large for an amount",
                                                value=describe_value(value))) from None
    raise ExpressionFailure("E402", msg("gives {value}, not an amount", value=describe_value(value)))


def check_condition(value):
    """A condition's value, which must be true or false."""
    if value is True or value is False:
        return value
    raise ExpressionFailure("E402", msg("the condition gives {value}, not true or false", value=describe_value(value)))


def check_day(value):
    """A day a line accrues from: a date, or None."""
    if value is None or isinstance(value, datetime.date):
        return value
    raise ExpressionFailure("E402", msg("gives {value}, not a date", value=describe_value(value)))


def check_date(value):
    if isinstance(value, datetime.date):
        return value
    raise ExpressionFailure("E402", msg("gives {value}, not a date", value=describe_value(value)))


def check_number(value):
    """What the taille's basis gives: a number (true/false is none)."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value
    raise ExpressionFailure("E402", msg("taille.basis gives {value}, not a number", value=describe_value(value)))


def check_amount(value):
    """A line's amount as its formula gives it, before rounding: below zero is refused (E411)
    unless the line says ``clawback: true``; what is no number is left to :func:`to_money`.
    The one check of a negative amount, on every backend: the reference and the fast path call
    it on each amount formula that ``gives`` "amount" (a line that is no clawback; a clawback's
    gives "money"); the vectorised backend hands the rows it finds below zero to the scalar path,
    which raises this diagnostic.

    >>> check_amount(Decimal("12.5"))
    Decimal('12.5')
    >>> try:
    ...     check_amount(-1)
    ... except ExpressionFailure as failure:
    ...     print(failure.code)
    E411
    """
    # The message is the one of the language's non_negative(x), which an analyst may call too.
    return non_negative(value)


class _Builder:
    def __init__(self, ruleset: Ruleset):
        self.ruleset = ruleset
        self.slots: list = []
        self.by_key: dict = {}
        self.maxima_read: set = set()
        self.missions_read: dict = {}
        self.functions: set = set()
        self.positions = ruleset.positions

    def slot(self, kind, name, mission=None) -> Slot:
        key = (kind, name, mission)
        found = self.by_key.get(key)
        if found is None:
            found = self.by_key[key] = Slot(len(self.slots), kind, name, mission)
            self.slots.append(found)
        return found

    def resolve(self, name: str, mission: str | None, basis: bool) -> Slot:
        ruleset = self.ruleset
        if basis and name in BASIS_NAMES:
            return self.slot("profile", name)
        kind = READABLE.get(name)
        if kind == "mission" and mission is not None:
            self.missions_read[mission] = True
            return self.slot("mission", name, mission)
        if name in ruleset.parameters:
            return self.slot("parameter", name)
        if name in ruleset.definitions:
            return self.slot("definition", name)
        if any(line.id == name for line in ruleset.lines):
            return self.slot("line", name)
        if kind is not None and kind != "mission":
            return self.slot(kind, name)
        # The compiler checked every name: one unknown here comes from a tree altered since.
        return self.slot("unknown", name)

    def place(self, path) -> tuple:
        positions = self.positions
        if positions is None:
            return (self.ruleset.source, None, None, tuple(path))
        line, column = positions.position(path)
        return (positions.file_of(path), line, column, positions.source_path(path))

    def formula(self, expression, field, gives, subject, name, mission, path, basis=False) -> Formula:
        reads: dict = {}
        order: list = []
        functions: set = set()
        builder = self

        class Resolve(ast.NodeTransformer):
            def visit_Name(self, node):
                slot = builder.resolve(node.id, mission, basis)
                reads.setdefault(node.id, slot)
                order.append(slot)
                return ast.copy_location(ast.Name(id=slot.key, ctx=ast.Load()), node)

            def visit_Call(self, node):
                function = node.func.id if isinstance(node.func, ast.Name) else None
                if function in LINE_FUNCTIONS:
                    field_, values = node.args[0].value, {a.value for a in node.args[1:]}
                    kind = "line" if function == "sum_lines" else "maximum"
                    terms = []
                    for line in builder.ruleset.lines:
                        if getattr(line, field_) in values:
                            slot = builder.slot(kind, line.id)
                            if kind == "maximum":
                                builder.maxima_read.add(line.id)
                            order.append(slot)
                            terms.append(ast.Name(id=slot.key, ctx=ast.Load()))
                    return ast.copy_location(ast.Call(
                        func=ast.Name(id=SUM, ctx=ast.Load()), args=[ast.Tuple(elts=terms, ctx=ast.Load())],
                        keywords=[]), node)
                node.args = [self.visit(arg) for arg in node.args]
                if FUNCTION_KINDS.get(function) not in ("pure", "profile", "texts"):
                    function = "unknown"  # a tree altered after the checks gets no function
                functions.add(function)
                node.func = ast.copy_location(ast.Name(id=f"f_{function}", ctx=ast.Load()), node.func)
                return node

        tree = Resolve().visit(copy.deepcopy(expression.node))
        ast.fix_missing_locations(tree)
        self.functions |= {f for f in functions if FUNCTION_KINDS.get(f) in ("profile", "texts")}
        where = self.positions.describe(path) if self.positions is not None else format_path(path)
        return Formula(field, expression.text, expression.source, tree, reads, tuple(dict.fromkeys(order)),
                       frozenset(functions), gives, subject, name, tuple(path), where, self.place(path))

    def build(self) -> Plan:
        ruleset = self.ruleset
        basis = None
        if ruleset.taille is not None:
            basis = self.formula(ruleset.taille.basis, "basis", "number", "basis", "taille", None,
                                 ("taille", "basis"), basis=True)
        steps = []
        for item in ruleset.order:
            mission = item.mission
            if isinstance(item, Definition):
                expression = self.formula(item.expression, "expression", "value", "item", item.name, mission,
                                          item.path)
                steps.append(Step("definition", item.name, mission, item, self.slot("definition", item.name),
                                  None, expression, None, None, None, None, None))
                continue
            line: FundingLine = item

            def formula(field, gives, line=line):
                expression = getattr(line, field)
                if expression is None:
                    return None
                return self.formula(expression, field, gives, "line", line.id, line.mission, line.path + (field,))

            when = formula("when", "condition")
            amount = formula("amount", "money" if line.clawback else "amount")
            maximum = formula("maximum", "money")
            runs_from = formula("runs_from", "day")
            started = None
            if runs_from is None and mission is not None:
                started = self.slot("mission", "started", mission)
                self.missions_read[mission] = True
            steps.append(Step("line", line.id, mission, line, self.slot("line", line.id),
                              self.slot("maximum", line.id), None, when, amount, maximum, runs_from, started))
        obligations = []
        for obligation in ruleset.obligations:
            def formula(field, gives, item=obligation):
                expression = getattr(item, field)
                if expression is None:
                    return None
                return self.formula(expression, field, gives, "item", item.id, item.mission, item.path + (field,))

            obligations.append(ObligationStep(obligation, formula("when", "condition"), formula("deadline", "date"),
                                              formula("done", "date_or_none")))
        order = {line.id: index for index, line in enumerate(ruleset.lines)}
        lines = tuple(sorted((s for s in steps if s.kind == "line"), key=lambda s: order[s.name]))
        inputs = tuple(s for s in self.slots if s.kind in ("profile", "time", "taille", "parameter", "mission"))
        plan = Plan(ruleset, tuple(self.slots), inputs, basis, tuple(steps), tuple(obligations), lines,
                    frozenset(self.maxima_read), tuple(self.missions_read), frozenset(self.functions),
                    ruleset.quantum)
        object.__setattr__(plan, "_by_key", dict(self.by_key))
        return plan


class _Held:
    """A ruleset's plan, kept on the ruleset itself (so it lives exactly as long as the ruleset: a
    table of plans by ruleset, even of weak keys, kept every ruleset alive, since a plan holds its
    ruleset). A copy or a pickle of the ruleset carries an empty one: its plan is built again, or
    taken from the compiled texts' cache, whose plans are checked (cache._safe_plan)."""

    __slots__ = ("plan",)

    def __init__(self, plan=None):
        self.plan = plan

    def __reduce__(self):
        return _Held, ()


def plan_of(ruleset: Ruleset) -> Plan:
    """The plan of a compiled ruleset, built once (kept as long as the ruleset lives)."""
    held = ruleset.__dict__.get("_plan")
    if held is not None and held.plan is not None and held.plan.ruleset is ruleset:  # not a shallow copy's
        return held.plan
    plan = _Builder(ruleset).build()
    ruleset.__dict__["_plan"] = _Held(plan)  # a frozen record: its fields unchanged, equality and hash too
    return plan


def keep_plan(plan: Plan) -> None:
    """Take a plan built by an earlier command as its ruleset's (the compiled texts' cache)."""
    plan.ruleset.__dict__["_plan"] = _Held(plan)


def formula_of(ruleset: Ruleset, expression, field: str, gives: str, name: str, path) -> Formula:
    """One checked formula of ``ruleset`` outside its steps (a payment rule's), resolved as the
    steps' are, to slots of its own: a mission field reads the mission the caller binds
    (a slot of kind "unknown" named by the field), a line the line's amount."""
    return _Builder(ruleset).formula(expression, field, gives, "item", name, None, path)


# -- Which formulas can fail -------------------------------------------------------------------
#
# The reference evaluator computes every formula of the plan it reaches for a profile: the
# taille's basis, each definition, each line's condition and, where it holds, its amount, its
# maximum and its day, then every obligation; and over time the day itself before each part of
# the contract year (evaluate.assess). It stops with the formula's diagnostic at the first that
# cannot be computed. The fast and vectorised backends give amounts only: they skip what no
# amount needs (a maximum no sum reads, the obligations, the run of the day itself), and compute
# it too when, and only when, this analysis cannot prove from the plan that it cannot fail for
# any profile, so that a text whose formulas cannot fail (the shipped ones: tests/test_one_meaning.py)
# costs them nothing.
#
# The proof is an abstract evaluation of each tree, once per taille (the parameters and the
# taille are then known figures, as in the fast path's function of one taille): every value is
# a set of kinds (date, none, int, decimal, bool, a list of dates, other), a date with the range
# of years it may fall in, a number with the interval it lies in. The dates a profile and a
# command give are within the schema's years (schema.MIN_YEAR..MAX_YEAR: the profile files, the
# CSV cells and --date are checked to them), and so are its numbers (population, members, rates
# of achievement); a contract year or a contract's end lies within a contract's length of them.
# Anything the analysis does not know may fail: arithmetic whose interval reaches a tenth of the
# engine's bound (the operator table bounds every result) or divides by an interval holding
# zero, a comparison of what may be of two kinds, a function it does not know, a result of the
# wrong kind for its check (a condition true or false, an amount a number, not below zero unless
# the line is a clawback, a day a date or None, a deadline a date, done a date or None, the basis
# a whole number some taille class holds). What another text gives is bounded by the same
# analysis of that text, in each of its consolidations.

_DATE, _NONE, _INT, _DECIMAL, _BOOL, _DATES, _OTHER = "date", "none", "int", "decimal", "bool", "dates", "other"
_NUMBERS = frozenset({_INT, _DECIMAL})
# A tenth of the engine's bound (expressions.MAX_MAGNITUDE): room for the rounding of every operation.
_LIMIT = Decimal(MAX_MAGNITUDE) / 10
# The analysis's own arithmetic on the ends of intervals: wide enough never to trap nor to lose a sign.
_WIDE = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999, traps=[])
# The bounds of what a profile gives (schemas/profile.schema.json), and of a contract year's number.
_POPULATION, _MEMBERS, _YEAR_NUMBER = Decimal(100_000_000), Decimal(1_000_000), Decimal(1000)


@dataclasses.dataclass(frozen=True)
class _Kinds:
    kinds: frozenset
    years: tuple = (None, None)  # the years a date may fall in (None: unknown)
    value: object = None  # the constant, when known
    known: bool = False
    low: object = None  # the interval a number lies in (None: unbounded that way)
    high: object = None

    def without_none(self) -> "_Kinds":
        if _NONE not in self.kinds:
            return self
        return _Kinds(self.kinds - {_NONE}, self.years, self.value, self.known, self.low, self.high)


_ANY = _Kinds(frozenset({_DATE, _NONE, _INT, _DECIMAL, _BOOL, _DATES, _OTHER}))
_ZERO_KINDS = _Kinds(frozenset({_DECIMAL}), value=_ZERO, known=True, low=_ZERO, high=_ZERO)


def _number(kinds, low, high) -> _Kinds:
    return _Kinds(frozenset(kinds), low=None if low is None else Decimal(low),
                  high=None if high is None else Decimal(high))


class _MayFail(Exception):
    """Raised by the analysis where a formula may fail."""


def _kind_of_value(value) -> _Kinds:
    if value is None:
        return _Kinds(frozenset({_NONE}), value=None, known=True)
    if value is True or value is False:
        return _Kinds(frozenset({_BOOL}), value=value, known=True)
    if type(value) is int:
        return _Kinds(frozenset({_INT}), value=value, known=True, low=Decimal(value), high=Decimal(value))
    if type(value) is Decimal:
        if not value.is_finite():
            return _Kinds(frozenset({_DECIMAL}))
        return _Kinds(frozenset({_DECIMAL}), value=value, known=True, low=value, high=value)
    if type(value) is datetime.date:
        return _Kinds(frozenset({_DATE}), (value.year, value.year), value, True)
    if type(value) is str:  # a mission id, a quantum, a date as written
        return _Kinds(frozenset({_OTHER}), value=value, known=True)
    return _Kinds(frozenset({_OTHER}))


def _union(kinds: list) -> _Kinds:
    found = frozenset().union(*(k.kinds for k in kinds))
    years = [k.years for k in kinds if _DATE in k.kinds]
    span = (None, None)
    if years and all(low is not None for low, _ in years):
        span = (min(low for low, _ in years), max(high for _, high in years))
    numbers = [k for k in kinds if k.kinds & _NUMBERS]
    low = high = None
    if numbers and all(k.low is not None for k in numbers):
        low = min(k.low for k in numbers)
    if numbers and all(k.high is not None for k in numbers):
        high = max(k.high for k in numbers)
    return _Kinds(found, span, low=low, high=high)


def _extremes(values: list) -> list:
    """The values whose kinds' union is that of all of ``values`` (see _union): the least and the
    greatest of each type of number and of the dates, and every other value once (a sweep's
    --uncertainty gives thousands of draws)."""
    by_type: dict = {}
    others = []
    for value in values:
        kind = type(value)
        if kind in (int, Decimal, datetime.date) and not (kind is Decimal and not value.is_finite()):
            low, high = by_type.get(kind, (value, value))
            by_type[kind] = (value if value < low else low, value if value > high else high)
        elif value not in others:
            others.append(value)
    return [end for low, high in by_type.values() for end in (low, high)] + others


def _is_number(kinds: _Kinds) -> bool:
    return bool(kinds.kinds) and kinds.kinds <= _NUMBERS


def _within(low, high):
    """Raise _MayFail unless [low, high] is known and inside the engine's bounds (with room)."""
    if low is None or high is None or low <= -_LIMIT or high >= _LIMIT:
        raise _MayFail


def _constant(function, *args) -> _Kinds:
    """A function of known values, computed as a run computes it (or _MayFail where it fails)."""
    try:
        with decimal.localcontext(DECIMAL_CONTEXT):
            return _kind_of_value(function(*args))
    except Exception:  # noqa: BLE001 — whatever it is, the formula may fail there
        raise _MayFail from None


class _Analysis:
    """The abstract evaluation of one plan's trees, for one taille (see above)."""

    def __init__(self, plan: "Plan", size=None, alternatives: dict | None = None):
        from .schema import MAX_YEAR, MIN_YEAR

        self.plan = plan
        ruleset = plan.ruleset
        self.size = size  # a taille, or _EVERY: each parameter the union of its values
        # Parameter name -> the other values variants give it (a value, or {taille: value}): each
        # such parameter is then the union of its own values and theirs (see failing_under).
        self.alternatives = alternatives or {}
        self.sizes = _sizes(ruleset)
        length = ruleset.contract_years or 0
        given = _Kinds(frozenset({_DATE}), (MIN_YEAR, MAX_YEAR))
        maybe = _Kinds(frozenset({_DATE, _NONE}), (MIN_YEAR, MAX_YEAR))
        # A contract year, a contract's end, lie at most one contract's length (a year, for a contract
        # of no length) past the day or a signature.
        later = _Kinds(frozenset({_DATE, _NONE}), (MIN_YEAR, MAX_YEAR + max(length, 1)))
        self.names = {
            ("profile", "date"): given, ("profile", "population"): _number({_INT}, 0, _POPULATION),
            ("profile", "members"): _number({_INT}, 0, _MEMBERS),  # bind: 0 when the profile gives none
            ("profile", "letter_of_intent_validated"): maybe, ("profile", "crises"): _Kinds(frozenset({_DATES})),
            ("profile", "contract_signed"): maybe,  # the basis reads the first signature
            ("time", "contract_signed"): maybe,  # a signature stated, or a renewal before the day
            ("time", "contract_year"): _number({_INT, _NONE}, 1, _YEAR_NUMBER),
            ("time", "contract_year_start"): later, ("time", "contract_year_end"): later,
            ("time", "contract_end"): later, ("time", "text_in_force"): _kind_of_value(ruleset.in_force)
            if isinstance(ruleset.in_force, datetime.date) else _ANY,
            ("mission", "started"): maybe, ("mission", "deployed"): maybe,
            ("mission", "achievement"): _number({_DECIMAL}, 0, 1),
            ("mission", "indicators_earned"): _number({_DECIMAL, _NONE}, 0, None),
            ("taille", "taille"): _kind_of_value(size) if size is not _EVERY else _union(
                [_kind_of_value(each) for each in self.sizes]),
        }
        # Inside a contract year (its number known), its dates and signature are known too, and the
        # contract's end when the text gives contracts a length.
        self.year = plan.slot("time", "contract_year")
        self.with_year = [plan.slot("time", name) for name in (
            "contract_signed", "contract_year_start", "contract_year_end")
            + (("contract_end",) if ruleset.contract_years is not None else ())]
        self.definitions: dict = {}  # definition slot -> _Kinds
        self.parameters: dict = {}  # parameter slot -> _Kinds, for this taille
        self.trees: dict = {}  # definition slot key -> its tree (what its truth says: narrowing)
        self.amounts: dict = {}  # line and maximum slot -> _Kinds
        self.failing: set = set()  # Formula that may fail
        self.obligations: list = []  # ObligationStep some formula of which may fail

    # -- the steps, in the reference's order ----------------------------------------------------

    def walk(self) -> "_Analysis":
        plan = self.plan
        for step in plan.steps:
            if step.kind == "definition":
                self.trees[step.target.key] = step.expression.tree
                try:
                    self.definitions[step.target.index] = self.value(step.expression.tree, {})
                except _MayFail:
                    self.failing.add(step.expression)
                    self.definitions[step.target.index] = _ANY
                continue
            narrowed: dict = {}
            if step.when is not None:
                if not self.gives(step.when, {}, lambda k: k.kinds == {_BOOL}):
                    self.failing.add(step.when)
                narrowed = self.narrowing(step.when.tree, {})
            amount = self.money(step.amount, narrowed)
            self.amounts[step.target.index] = amount
            self.amounts[step.maximum.index] = (self.money(step.maximum_formula, narrowed)
                                                if step.maximum_formula is not None else amount)
            if step.runs_from is not None and not self.gives(step.runs_from, narrowed,
                                                             lambda k: k.kinds <= {_DATE, _NONE}):
                self.failing.add(step.runs_from)
        for step in plan.obligations:
            if self.obligation_may_fail(step):
                self.obligations.append(step)
                self.failing.update(f for f in (step.when, step.deadline, step.done) if f is not None)
        return self

    def gives(self, formula: "Formula", narrowed: dict, check) -> bool:
        """Whether ``formula`` cannot fail and its value passes ``check`` (of its kinds)."""
        try:
            return bool(check(self.value(formula.tree, narrowed)))
        except _MayFail:
            return False

    def money(self, formula: "Formula", narrowed: dict) -> _Kinds:
        """What a rounding point (plan.to_money, after plan.check_amount for an amount) makes of a
        line's amount or maximum, 0 where the line does not apply; the formula noted as failing
        where it may (a number within the bounds, and not below zero unless a clawback)."""
        try:
            value = self.value(formula.tree, narrowed)
            if not _is_number(value):
                raise _MayFail
            _within(value.low, value.high)
            if formula.gives == "amount" and value.low < 0:
                raise _MayFail
        except _MayFail:
            self.failing.add(formula)
            return _Kinds(frozenset({_DECIMAL}))
        # Rounded half up to the quantum: at most a quantum further, never across zero.
        quantum = self.plan.quantum
        return _number({_DECIMAL}, min(value.low, _ZERO) - (quantum if value.low < 0 else 0),
                       max(value.high, _ZERO) + (quantum if value.high > 0 else 0))

    def basis_may_fail(self) -> bool:
        """Whether the taille's basis may fail, give no whole number, or one no taille class holds."""
        taille = self.plan.ruleset.taille
        try:
            value = self.value(self.plan.basis.tree, {})
        except _MayFail:
            return True
        if value.known and type(value.value) in (int, Decimal) and not isinstance(value.value, bool):
            return taille.classify(value.value) is None
        if not (value.kinds <= {_INT} and value.kinds) or value.low is None or value.high is None:
            return True
        at, classes = value.low, sorted(taille.classes, key=lambda c: c.low)
        while at <= value.high:  # every whole number from low to high in some class
            holding = [c for c in classes if c.low <= at and (c.high is None or at <= c.high)]
            if not holding:
                return True
            if holding[0].high is None:
                return False
            at = Decimal(holding[0].high) + 1
        return False

    # -- values ----------------------------------------------------------------------------------

    def slot(self, slot: Slot) -> _Kinds:
        if slot.kind == "parameter":
            found = self.parameters.get(slot.index)
            if found is None:
                parameter = self.plan.ruleset.parameters[slot.name]
                found = self.parameters[slot.index] = _kind_of_value(parameter.value_for(self.size)) if (
                    self.size is not _EVERY or parameter.by_taille is None) else _union(
                    [_kind_of_value(parameter.value_for(size)) for size in self.sizes])
                others = self.alternatives.get(slot.name)
                if others:
                    sizes = self.sizes if self.size is _EVERY else [self.size]
                    found = self.parameters[slot.index] = _union([found] + [_kind_of_value(value) for value in _extremes(
                        [other.get(size) if isinstance(other, dict) else other for other in others for size in sizes])])
            return found
        if slot.kind in ("line", "maximum"):
            return self.amounts.get(slot.index, _Kinds(frozenset({_DECIMAL})))
        if slot.kind == "definition":
            return self.definitions.get(slot.index, _ANY)
        return self.names.get((slot.kind, slot.name), _ANY)

    def value(self, node, narrowed: dict) -> _Kinds:
        if isinstance(node, ast.Constant):
            return _kind_of_value(node.value)
        if isinstance(node, ast.Name):
            if node.id in narrowed:
                return narrowed[node.id]
            if node.id.startswith("s") and node.id[1:].isdigit():
                return self.slot(self.plan.slots[int(node.id[1:])])
            raise _MayFail
        if isinstance(node, ast.BoolOp):
            values, inner = [], dict(narrowed)
            for operand in node.values:
                values.append(self.value(operand, inner))
                inner.update(self.narrowing(operand, inner, isinstance(node.op, ast.And)))
            return _union(values)
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand, narrowed)
            if isinstance(node.op, ast.Not):
                return _Kinds(frozenset({_BOOL}))
            if not _is_number(operand):
                raise _MayFail
            if operand.known:
                return _constant(OPERATORS[type(node.op)], operand.value)
            if isinstance(node.op, ast.USub):
                return dataclasses.replace(operand, low=None if operand.high is None else -operand.high,
                                           high=None if operand.low is None else -operand.low)
            return operand
        if isinstance(node, ast.BinOp):
            return self.arithmetic(node, narrowed)
        if isinstance(node, ast.Compare):
            left = self.value(node.left, narrowed)
            for operator, comparator in zip(node.ops, node.comparators):
                if isinstance(operator, (ast.In, ast.NotIn)):
                    if not isinstance(comparator, (ast.Tuple, ast.List)):
                        raise _MayFail
                    for element in comparator.elts:  # 'in' a tuple compares with ==: never fails
                        self.value(element, narrowed)
                    left = _ANY
                    continue
                right = self.value(comparator, narrowed)
                if isinstance(operator, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) and not (
                        left.kinds <= {_DATE} and right.kinds <= {_DATE}
                        or _is_number(left) and _is_number(right)):
                    raise _MayFail
                if not isinstance(operator, (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.Is,
                                             ast.IsNot)):
                    raise _MayFail
                left = right
            return _Kinds(frozenset({_BOOL}))
        if isinstance(node, ast.IfExp):
            self.value(node.test, narrowed)
            body = self.value(node.body, {**narrowed, **self.narrowing(node.test, narrowed)})
            orelse = self.value(node.orelse, {**narrowed, **self.narrowing(node.test, narrowed, False)})
            return _union([body, orelse])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id == SUM and len(node.args) == 1 and isinstance(node.args[0], ast.Tuple):
                terms = [self.value(term, narrowed) for term in node.args[0].elts]
                if not all(_is_number(term) for term in terms):
                    raise _MayFail
                return self.summed(terms)
            function = node.func.id[2:] if node.func.id.startswith("f_") else None
            return self.call(function, [self.value(arg, narrowed) for arg in node.args])
        raise _MayFail

    @staticmethod
    def summed(terms) -> _Kinds:
        with decimal.localcontext(_WIDE):
            low = sum((t.low for t in terms), _ZERO) if all(t.low is not None for t in terms) else None
            high = sum((t.high for t in terms), _ZERO) if all(t.high is not None for t in terms) else None
        _within(low, high)
        return _number({_DECIMAL}, low, high)

    def arithmetic(self, node, narrowed) -> _Kinds:
        left, right = self.value(node.left, narrowed), self.value(node.right, narrowed)
        operator = type(node.op)
        if operator not in OPERATORS or not (_is_number(left) and _is_number(right)):
            raise _MayFail
        if left.known and right.known:
            value = _constant(OPERATORS[operator], left.value, right.value)
            _within(value.low, value.high)
            return value
        if operator is ast.Pow:
            return self.power(left, right)
        if None in (left.low, left.high, right.low, right.high):
            raise _MayFail
        with decimal.localcontext(_WIDE):
            if operator is ast.Add:
                low, high = left.low + right.low, left.high + right.high
            elif operator is ast.Sub:
                low, high = left.low - right.high, left.high - right.low
            else:
                if operator is ast.Div and right.low <= 0 <= right.high:
                    raise _MayFail  # a division by zero, for some profile
                ends = [a * b if operator is ast.Mult else a / b
                        for a in (left.low, left.high) for b in (right.low, right.high)]
                low, high = min(ends), max(ends)
        _within(low, high)
        kinds = set()
        if operator is not ast.Div and _INT in left.kinds and _INT in right.kinds:
            kinds.add(_INT)
        if operator is ast.Div or _DECIMAL in left.kinds | right.kinds:
            kinds.add(_DECIMAL)
        return _number(kinds, low, high)

    @staticmethod
    def power(base: _Kinds, exponent: _Kinds) -> _Kinds:
        """x ** n, n a small whole literal (the compiler's rule), through Decimal (expressions._power)."""
        count = exponent.value
        if not exponent.known or type(count) is not int or count < 0 or None in (base.low, base.high):
            raise _MayFail
        if count == 0:
            if base.low <= 0 <= base.high:
                raise _MayFail  # 0 ** 0 is no number
            return _number({_DECIMAL}, 1, 1)
        with decimal.localcontext(_WIDE):
            largest = max(abs(base.low), abs(base.high))
            if largest >= _LIMIT:
                raise _MayFail
            ends = [base.low ** count, base.high ** count]
            low, high = min(ends), max(ends)
            if base.low < 0 < base.high and count % 2 == 0:
                low, high = _ZERO, largest ** count
        _within(low, high)
        return _number({_DECIMAL}, low, high)

    def call(self, function, args: list) -> _Kinds:
        if function in PURE_FUNCTIONS and args and all(a.known for a in args):
            return _constant(PURE_FUNCTIONS[function], *(a.value for a in args))
        dates = all(a.kinds <= {_DATE} for a in args)
        if function in ("add_months", "add_years") and len(args) == 2:
            return self.moved(args[0], args[1], 12 if function == "add_months" else 1)
        if function in ("min", "max") and len(args) >= 2 and (dates or all(_is_number(a) for a in args)):
            found = _union(args)
            if dates:
                return found
            lows, highs = [a.low for a in args], [a.high for a in args]
            pick = min if function == "min" else max
            # the smallest is at least the smallest of the lows, at most the smallest of the highs
            known_lows, known_highs = [x for x in lows if x is not None], [x for x in highs if x is not None]
            if function == "min":
                low = pick(lows) if None not in lows else None
                high = pick(known_highs) if known_highs else None
            else:
                low = pick(known_lows) if known_lows else None
                high = pick(highs) if None not in highs else None
            return dataclasses.replace(found, low=low, high=high)
        if function == "days_between" and len(args) == 2 and dates:
            years = [y for a in args for y in a.years]
            span = None if None in years else 366 * (max(years) - min(years) + 1)
            return _number({_INT}, None if span is None else -span, span)
        if function == "prorata_temporis" and len(args) == 3 and args[0].kinds <= {_DATE, _NONE} and all(
                a.kinds <= {_DATE} for a in args[1:]):
            return _number({_DECIMAL}, 0, 1)
        if function == "count_between" and len(args) == 3 and args[0].kinds <= {_DATES} and all(
                a.kinds <= {_DATE} for a in args[1:]):
            return _number({_INT}, 0, None)
        if function in ("round_half_up", "round_down") and len(args) in (1, 2) and _is_number(args[0]):
            return self.rounded(function, args)
        if function == "variable_part" and len(args) == 3 and _is_number(args[0]) and _is_number(args[1]) and (
                args[2].kinds <= _NUMBERS | {_NONE}):
            maximum, rate, earned = args
            found = []
            if _NONE in earned.kinds:  # maximum * rate
                if None in (maximum.low, maximum.high, rate.low, rate.high):
                    raise _MayFail
                with decimal.localcontext(_WIDE):
                    ends = [a * b for a in (maximum.low, maximum.high) for b in (rate.low, rate.high)]
                _within(min(ends), max(ends))
                found.append(_number(maximum.kinds | rate.kinds, min(ends), max(ends)))
            if earned.kinds & _NUMBERS:  # min(maximum, earned)
                found.append(self.call("min", [maximum, earned.without_none()]))
            return _union(found)
        if function == "count_true" and args and all(a.kinds == {_BOOL} for a in args):
            return _number({_INT}, 0, len(args))
        if function == "non_negative" and len(args) == 1 and _is_number(args[0]) and (
                args[0].low is not None and args[0].low >= 0):
            return args[0]
        if function == "population_on" and len(args) == 1 and args[0].kinds <= {_DATE}:
            return _number({_INT}, 0, _POPULATION)
        if function in ("mission_started", "mission_deployed") and len(args) == 1 and args[0].known:
            return self.names[("mission", "started")]
        if function == "mission_achievement" and len(args) in (1, 2) and args[0].known:
            return _number({_DECIMAL}, 0, 1)  # a rate given (0 to 1), else 0
        if FUNCTION_KINDS.get(function) == "texts" and args and all(a.known for a in args):
            return _given(self.plan.ruleset, function, [a.value for a in args])
        raise _MayFail

    @staticmethod
    def rounded(function, args) -> _Kinds:
        from .helpers import _quantum

        value = args[0]
        if len(args) == 2:
            if not args[1].known:
                raise _MayFail
            try:
                step = _quantum(function, args[1].value)
            except Exception:  # noqa: BLE001 — no power of ten
                raise _MayFail from None
        else:
            step = Decimal("0.01") if function == "round_half_up" else Decimal(1)
        # quantize() keeps 28 digits: a number within the bounds, to a step of at most ten decimals
        if step.adjusted() < -10:
            raise _MayFail
        _within(value.low, value.high)
        return _number({_DECIMAL}, value.low - step, value.high + step)

    def moved(self, day: _Kinds, count: _Kinds, per_year: int) -> _Kinds:
        """add_months / add_years of a date whose years are known, by a whole number of known size."""
        low, high = day.years
        if type(count.value) is int and count.known:
            size = abs(count.value)
        elif count.kinds <= {_INT} and count.low is not None and count.high is not None:
            size = int(max(abs(count.low), abs(count.high)))
        else:
            raise _MayFail
        if not (day.kinds <= {_DATE} and low is not None):
            raise _MayFail
        years = -(-size // per_year) + 1  # at most, whichever way the count goes
        if size > 1000 * per_year or low - years < datetime.MINYEAR or high + years > datetime.MAXYEAR:
            raise _MayFail
        return _Kinds(frozenset({_DATE}), (low - years, high + years))

    # -- what a condition says ------------------------------------------------------------------

    def narrowing(self, test, narrowed: dict, truth: bool = True) -> dict:
        """What ``test`` having the truth ``truth`` says of its names: ``x is not None`` true (``x is
        None`` false, ``x == <a value>`` true) makes x not None, through ``and`` (true), ``or``
        (false), ``not`` and definitions; and a contract year known makes its dates known."""
        found: dict = {}
        try:
            self._narrow(test, narrowed, truth, found, 0)
        except _MayFail:
            return {}
        year = self.year
        if year is not None and year.key in found:
            for slot in self.with_year:
                if slot is not None and slot.key not in found:
                    found[slot.key] = self.value(ast.Name(id=slot.key), narrowed).without_none()
        return found

    def _narrow(self, test, narrowed, truth, found, depth):
        if depth > 50:
            return
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And if truth else ast.Or):
            for part in test.values:
                self._narrow(part, {**narrowed, **found}, truth, found, depth + 1)
        elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            self._narrow(test.operand, narrowed, not truth, found, depth + 1)
        elif isinstance(test, ast.Name) and test.id in self.trees:
            self._narrow(self.trees[test.id], narrowed, truth, found, depth + 1)
        elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name):
            operator, right = test.ops[0], test.comparators[0]
            constant = isinstance(right, ast.Constant)
            if (constant and right.value is None and isinstance(operator, ast.IsNot if truth else ast.Is)
                    or truth and constant and right.value is not None and isinstance(operator, ast.Eq)):
                found[test.left.id] = self.value(test.left, {**narrowed, **found}).without_none()

    def obligation_may_fail(self, step: "ObligationStep") -> bool:
        """Whether some formula of ``step`` may fail, as the reference computes them: the condition
        (true or false), then, when it holds, the deadline (a date) and done (a date or None)."""
        try:
            narrowed: dict = {}
            if step.when is not None:
                if self.value(step.when.tree, narrowed).kinds != {_BOOL}:
                    return True
                narrowed = self.narrowing(step.when.tree, narrowed)
            if not self.value(step.deadline.tree, narrowed).kinds <= {_DATE}:
                return True
            return not self.value(step.done.tree, narrowed).kinds <= {_DATE, _NONE}
        except _MayFail:
            return True


@dataclasses.dataclass(frozen=True)
class _Failures:
    formulas: frozenset  # Formula that may fail (the basis, definitions, lines, obligations)
    obligations: tuple  # ObligationStep some formula of which may fail, in the plan's order
    amounts: dict  # line and maximum slot index -> _Kinds, over every taille
    day: bool  # some formula that may fail reads the day (day_may_fail)


# What may fail in each plan, by plan: beside it, not on it, so that a plan the compiled texts' cache
# pickles never carries it (its loader takes only a plan's own classes); no reference to the plan.
_FAILURES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# The analysis of every taille at once: each parameter and the taille the union of their values.
_EVERY = object()


def _sizes(ruleset: Ruleset) -> list:
    taille = ruleset.taille
    return sorted({c.taille for c in taille.classes}) if taille is not None else [None]


def _analyse(plan: Plan, alternatives: dict | None = None) -> tuple:
    """``(analyses, formulas, obligations)``: the analysis of every taille at once and, where it finds
    a formula that may fail, of each taille (the parameters then known figures); the formulas that
    may fail, and the ids of the obligation steps that may."""
    analyses = [_Analysis(plan, _EVERY, alternatives).walk()]
    if analyses[0].failing and len(analyses[0].sizes) > 1:
        analyses = [_Analysis(plan, size, alternatives).walk() for size in analyses[0].sizes]
    formulas = set().union(*(a.failing for a in analyses))
    if plan.basis is not None and analyses[0].basis_may_fail():
        formulas.add(plan.basis)
    return analyses, formulas, set().union(*(map(id, a.obligations) for a in analyses))


def _failures(plan: Plan) -> _Failures:
    """What may fail in ``plan`` (see above), decided once per plan: its analysis under every taille
    at once, and where that finds a formula that may fail, under each taille (more precise: the
    parameters are then known figures)."""
    found = _FAILURES.get(plan)
    if found is None:
        analyses, formulas, failing = _analyse(plan)
        amounts = {index: _union([a.amounts[index] for a in analyses]) for index in analyses[0].amounts}
        found = _FAILURES[plan] = _Failures(frozenset(formulas), tuple(s for s in plan.obligations if id(s) in failing),
                                            amounts, bool(formulas) and reads_day(plan, formulas))
    return found


def failing_under(plan: Plan, alternatives: dict) -> bool:
    """Whether the values variants give the parameters (``alternatives``: name -> the values, each a
    value or {taille: value}) may make some formula of ``plan`` fail that cannot fail under the text's
    own figures, or make the day itself fail: the analysis above with each such parameter the union
    of its values. A sweep's columns and its variants' shared functions are built from the text's
    own analysis; where this holds, they are not used (see vector.VectorRuleset)."""
    alternatives = {name: values for name, values in alternatives.items()
                    if values and name in plan.ruleset.parameters}
    if not alternatives:
        return False
    base = _failures(plan)
    _, formulas, obligations = _analyse(plan, alternatives)
    return (bool(formulas - base.formulas) or bool(obligations - set(map(id, base.obligations)))
            or bool(formulas) and not base.day and reads_day(plan, formulas))


def _given(ruleset: Ruleset, function: str, args: list) -> _Kinds:
    """What ``function`` (text_total, text_line...) of another text gives: bounded by that text's own
    analysis in each of its consolidations (its provisions enter into force one by one); _MayFail
    where some formula of one may fail (the reading runs it), or where it reads no such text."""
    other = next((o for o in getattr(ruleset, "other_texts", ()) if o.alias == args[0]), None)
    if other is None:
        raise _MayFail
    try:
        full = other.ruleset_on(None)
        days = sorted({p.day for p in full.provisions})
        texts = [full] + [other.ruleset_on(day - datetime.timedelta(days=1)) for day in days]
    except Exception:  # noqa: BLE001 — a text that cannot be read here is read by the run, which says why
        raise _MayFail from None
    found = []
    for text in texts:
        plan = plan_of(text)
        failures = _failures(plan)
        if failures.formulas:
            raise _MayFail
        lines = [line for line in text.lines
                 if function == "text_total" or function == "text_line" and line.id == args[1]
                 or function == "text_mission" and line.mission == args[1]
                 or function == "text_volet" and line.volet == args[1]]
        terms = [failures.amounts.get(plan.slot("line", line.id).index, _Kinds(frozenset({_DECIMAL})))
                 for line in lines]
        found.append(_Analysis.summed(terms) if terms else _ZERO_KINDS)
    return dataclasses.replace(_union(found), kinds=frozenset({_DECIMAL}))


def failing_obligations(plan: Plan) -> tuple:
    """The obligation steps of ``plan`` some formula of which may fail for some profile (see above),
    in the plan's order: the ones the fast and vectorised backends compute. Decided once per plan."""
    return _failures(plan).obligations


def failing_formulas(plan: Plan) -> frozenset:
    """The formulas of ``plan`` (the basis, definitions, lines' and obligations') that may fail for
    some profile (see above). Decided once per plan."""
    return _failures(plan).formulas


def failing_maxima(plan: Plan) -> frozenset:
    """The ids of the lines whose maximum formula may fail for some profile: the reference computes
    every maximum, the fast path those (and the ones asked or read by a sum)."""
    failing = _failures(plan).formulas
    return frozenset(step.name for step in plan.lines if step.maximum_formula in failing)


def day_may_fail(plan: Plan) -> bool:
    """Whether some formula of ``plan`` may fail and may give another value on the day itself than on
    the first day of the part of the contract year holding it (:func:`reads_day`): then the day
    must be run too, as the reference runs it first (evaluate.assess), for its failures."""
    return _failures(plan).day


def reads_day(plan: Plan, formulas) -> bool:
    """Whether ``formulas`` may give another value on another day of the same contract year under the
    same text: they read ``date`` or what another text gives on the day, themselves or through the
    definitions and lines they read, or the taille's basis does (the taille then may change)."""
    if plan.basis is not None and _reads_day_itself(plan.basis):
        return True
    writer = {}
    for step in plan.steps:
        writer[step.target.index] = step
        if step.maximum is not None:
            writer[step.maximum.index] = step
    seen, stack = set(), list(formulas)
    while stack:
        formula = stack.pop()
        if id(formula) in seen:
            continue
        seen.add(id(formula))
        if _reads_day_itself(formula):
            return True
        stack += [f for slot in formula.slots if slot.index in writer for f in writer[slot.index].formulas]
    return False


def _reads_day_itself(formula: Formula) -> bool:
    return (any(slot.kind == "profile" and slot.name == "date" for slot in formula.slots)
            or any(FUNCTION_KINDS.get(function) == "texts" for function in formula.functions))
