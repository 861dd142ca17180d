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
from decimal import ROUND_HALF_UP, Decimal

from .diagnostic import Diagnostic, EvaluationError, format_path, msg
from .expressions import DECIMAL_CONTEXT, ExpressionFailure, describe_value, failure_of
from .helpers import LINE_FUNCTIONS, non_negative
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


# -- Which obligations can fail ----------------------------------------------------------------
#
# The reference evaluator computes every obligation of the plan after the lines, and stops with
# the formula's diagnostic when one cannot be computed for a profile. The fast and vectorised
# backends give amounts only; they compute an obligation too when, and only when, this analysis
# cannot prove from the plan that none of its formulas can fail for any profile, so that a text
# whose obligations cannot fail (the shipped ones) costs them nothing.
#
# The proof is an abstract evaluation of each tree: every value is a set of kinds (date, none,
# int, decimal, bool, other), a date with the range of years it may fall in. The dates a profile
# and a command give are within the schema's years (schema.MIN_YEAR..MAX_YEAR: the profile files,
# the CSV cells and --date are checked to them); a contract year or a contract's end lies within
# a contract's length of them. Anything the analysis does not know may fail: arithmetic (the
# operator table bounds every result), a comparison of what may be of two kinds, a function
# other than the date functions and min/max over dates or numbers, a result of the wrong kind
# for its check (a condition true or false, a deadline a date, done a date or None).

_DATE, _NONE, _INT, _DECIMAL, _BOOL, _OTHER = "date", "none", "int", "decimal", "bool", "other"


@dataclasses.dataclass(frozen=True)
class _Kinds:
    kinds: frozenset
    years: tuple = (None, None)  # the years a date may fall in (None: unknown)
    value: object = None  # the constant, when known
    known: bool = False

    def without_none(self) -> "_Kinds":
        return dataclasses.replace(self, kinds=self.kinds - {_NONE})


_ANY = _Kinds(frozenset({_DATE, _NONE, _INT, _DECIMAL, _BOOL, _OTHER}))


class _MayFail(Exception):
    """Raised by the analysis where a formula may fail."""


def _kind_of_value(value) -> _Kinds:
    if value is None:
        return _Kinds(frozenset({_NONE}), value=None, known=True)
    if value is True or value is False:
        return _Kinds(frozenset({_BOOL}), value=value, known=True)
    if type(value) is int:
        return _Kinds(frozenset({_INT}), value=value, known=True)
    if type(value) is Decimal:
        return _Kinds(frozenset({_DECIMAL}), value=value if value.is_finite() else None, known=value.is_finite())
    if type(value) is datetime.date:
        return _Kinds(frozenset({_DATE}), (value.year, value.year), value, True)
    return _Kinds(frozenset({_OTHER}))


def _union(kinds: list) -> _Kinds:
    found = frozenset().union(*(k.kinds for k in kinds))
    years = [k.years for k in kinds if _DATE in k.kinds]
    span = (None, None)
    if years and all(low is not None for low, _ in years):
        span = (min(low for low, _ in years), max(high for _, high in years))
    return _Kinds(found, span)


class _Analysis:
    """The abstract evaluation of one plan's trees (see above)."""

    def __init__(self, plan: "Plan"):
        from .schema import MAX_YEAR, MIN_YEAR

        self.plan = plan
        ruleset = plan.ruleset
        length = ruleset.contract_years or 0
        given = _Kinds(frozenset({_DATE}), (MIN_YEAR, MAX_YEAR))
        maybe = _Kinds(frozenset({_DATE, _NONE}), (MIN_YEAR, MAX_YEAR))
        # A contract year, a contract's end, lie at most one contract's length (a year, for a contract
        # of no length) past the day or a signature.
        later = _Kinds(frozenset({_DATE, _NONE}), (MIN_YEAR, MAX_YEAR + max(length, 1)))
        self.names = {
            ("profile", "date"): given, ("profile", "population"): _Kinds(frozenset({_INT})),
            ("profile", "members"): _Kinds(frozenset({_INT})),  # bind: 0 when the profile gives none
            ("profile", "letter_of_intent_validated"): maybe, ("profile", "crises"): _Kinds(frozenset({_OTHER})),
            ("time", "contract_signed"): maybe,  # a signature stated, or a renewal before the day
            ("time", "contract_year"): _Kinds(frozenset({_INT, _NONE})),
            ("time", "contract_year_start"): later, ("time", "contract_year_end"): later,
            ("time", "contract_end"): later, ("time", "text_in_force"): _kind_of_value(ruleset.in_force)
            if isinstance(ruleset.in_force, datetime.date) else _ANY,
            ("mission", "started"): maybe, ("mission", "deployed"): maybe,
            ("mission", "achievement"): _Kinds(frozenset({_DECIMAL})),
            ("mission", "indicators_earned"): _Kinds(frozenset({_DECIMAL, _NONE})),
            ("taille", "taille"): _Kinds(frozenset({_INT} if ruleset.taille is not None else {_NONE})),
        }
        self.definitions: dict = {}
        for step in plan.steps:
            if step.kind == "definition":
                try:
                    self.definitions[step.target.index] = self.value(step.expression.tree, {})
                except _MayFail:  # computed before any obligation: its own failure comes first
                    self.definitions[step.target.index] = _ANY

    def slot(self, slot: Slot) -> _Kinds:
        if slot.kind == "parameter":
            parameter = self.plan.ruleset.parameters[slot.name]
            values = list(parameter.by_taille.values()) if parameter.by_taille is not None else [parameter.value]
            kinds = [_kind_of_value(v) for v in values]
            if len(kinds) == 1:
                return kinds[0]
            merged = _union(kinds)
            numbers = [v for v in values if type(v) is int]
            if len(numbers) == len(values):  # whole numbers of every taille: their largest size is enough
                return dataclasses.replace(merged, value=max(numbers, key=abs), known=False)
            return merged
        if slot.kind in ("line", "maximum"):
            return _Kinds(frozenset({_DECIMAL}))
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
                if isinstance(node.op, ast.And):
                    inner.update(self.narrowing(operand, inner))
            return _union(values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.value(node.operand, narrowed)
            return _Kinds(frozenset({_BOOL}))
        if isinstance(node, ast.Compare):
            left = self.value(node.left, narrowed)
            for operator, comparator in zip(node.ops, node.comparators):
                right = self.value(comparator, narrowed)
                if isinstance(operator, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) and not (
                        left.kinds <= {_DATE} and right.kinds <= {_DATE}
                        or left.kinds <= {_INT, _DECIMAL} and right.kinds <= {_INT, _DECIMAL}):
                    raise _MayFail
                if not isinstance(operator, (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.Is,
                                             ast.IsNot)):
                    raise _MayFail
                left = right
            return _Kinds(frozenset({_BOOL}))
        if isinstance(node, ast.IfExp):
            self.value(node.test, narrowed)
            body = self.value(node.body, {**narrowed, **self.narrowing(node.test, narrowed)})
            return _union([body, self.value(node.orelse, narrowed)])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            function = node.func.id[2:] if node.func.id.startswith("f_") else None
            args = [self.value(arg, narrowed) for arg in node.args]
            if function in ("add_months", "add_years") and len(args) == 2:
                return self.moved(args[0], args[1], 12 if function == "add_months" else 1)
            if function in ("min", "max") and len(args) >= 2 and (
                    all(a.kinds <= {_DATE} for a in args) or all(a.kinds <= {_INT, _DECIMAL} for a in args)):
                return _union(args)
            if function == "days_between" and len(args) == 2 and all(a.kinds <= {_DATE} for a in args):
                return _Kinds(frozenset({_INT}))
        raise _MayFail

    def moved(self, day: _Kinds, count: _Kinds, per_year: int) -> _Kinds:
        """add_months / add_years of a date whose years are known by a whole number known in size."""
        low, high = day.years
        if not (day.kinds <= {_DATE} and low is not None and count.kinds <= {_INT} and type(count.value) is int):
            raise _MayFail
        years = -(-abs(count.value) // per_year) + 1  # at most, whichever way the count goes
        if abs(count.value) > 1000 * per_year or low - years < datetime.MINYEAR or high + years > datetime.MAXYEAR:
            raise _MayFail
        return _Kinds(frozenset({_DATE}), (low - years, high + years))

    def narrowing(self, test, narrowed: dict) -> dict:
        """What ``test`` being true says of its names: ``x is not None`` (alone or joined by and) makes x
        not None."""
        found = {}
        parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
        for part in parts:
            if (isinstance(part, ast.Compare) and len(part.ops) == 1 and isinstance(part.ops[0], ast.IsNot)
                    and isinstance(part.left, ast.Name) and isinstance(part.comparators[0], ast.Constant)
                    and part.comparators[0].value is None):
                found[part.left.id] = self.value(part.left, narrowed).without_none()
        return found

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


def failing_obligations(plan: Plan) -> tuple:
    """The obligation steps of ``plan`` some formula of which may fail for some profile (see above),
    in the plan's order: the ones the fast and vectorised backends compute. Decided once per plan."""
    found = plan.__dict__.get("_failing")
    if found is None:
        analysis = _Analysis(plan) if plan.obligations else None
        found = tuple(step for step in plan.obligations if analysis.obligation_may_fail(step))
        object.__setattr__(plan, "_failing", found)
    return found


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
