"""A vectorised evaluation backend: every profile of a batch as columns, one pass per ruleset.

The formulas are the compiled ruleset's checked trees, as on the two other paths; the
whole translation from a tree to column operations is :class:`_Columns` (one method per
node kind), so that it can be retargeted to another intermediate form. No code is
generated: ids and texts of the ruleset stay data, looked up in dicts.

How amounts stay those of the reference path, to the cent
----------------------------------------------------------
Money is held as whole numbers of the ruleset's quantum (integer cents). A number is a
column of binary floats ``v`` with, when it is known, an **exact decimal form** -- whole
numbers ``ints`` and a power of ten ``k``, every row exactly ``ints / 10**k`` as the
reference's Decimal holds it (figures of the texts and profiles, sums and products of
them) -- on which sums, products, comparisons and roundings are integer arithmetic, exact.
What goes through a division (a pro rata) has no exact form: it carries **a column of error
bounds** ``e``, ``|v - D| <= e`` where ``D`` is the Decimal the reference path computes for
that row (its 28-digit rounding included); each operation widens ``e`` by what it may lose
(:data:`EPS`). Whenever a decision depends on digits the bound cannot vouch for -- rounding
to the cent, round_half_up/round_down, a comparison, a taille boundary -- the row is
marked *uncertain* instead of guessed. Amounts come out as whole numbers of quanta (whole
floats below 2**53, then int64), rounded half up (away from zero, as Decimal's
ROUND_HALF_UP).

Rows the columns cannot vouch for -- uncertain ones, those where a formula fails (a
division by zero, a None where a number is read: the reference path reports them), or
beyond 2**53 cents or near the engine's 10**18 bound -- are handed to the scalar fast
path (:class:`~.fastpath.FastRuleset`), one by one, by the caller (:class:`VectorTimeline`);
their number is reported. A failure in a row a condition masks out never marks it: each
operation only marks the rows where it is evaluated (``active``).

What cannot be vectorised is refused when the backend is built, with a reason
(:class:`VectorRefused`): a construct whose kind of value varies, lists of dates
(``'=='`` between a date and a number), a computed quantum, a mission function of a
computed mission. The caller then evaluates that ruleset with the scalar backend and
says so. Tests: tests/test_vector.py (identical amounts on the shipped texts and on
generated rulesets, formulas and profiles).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import datetime
from decimal import Decimal

from .bind import mission_fields
from .diagnostic import msg
from .helpers import MAX_YEARS_MOVED
from .names import MISSION_NAMES
from .plan import SUM, day_may_fail, failing_formulas, failing_obligations, failing_under, plan_of, reads_day
from .ruleset import Ruleset
from .timeline import combine, time_names

try:  # numpy is an optional extra (pip install 'aci-rules[vector]'): the core never needs it
    import numpy as np
except ImportError:  # pragma: no cover - said to the user by require_numpy()
    np = None

__all__ = ["VectorRefused", "VectorRuleset", "VectorTimeline", "BatchOutcome", "require_numpy", "numpy_available",
           "batch_rows", "year_lines"]

# Each operation's result may be off by its rounding in binary (2**-53 relative) and the
# reference's 28-digit Decimal rounding (1e-27 relative); bounds are also computed in
# floats. 2**-50 per operation covers the three with room to spare.
EPS = 2.0 ** -50
# Whole numbers below this are exact in a binary float.
EXACT = 2.0 ** 53
# The engine's bound on every number (expressions.MAX_MAGNITUDE), less a margin: a row
# that comes near it goes to the scalar path, which computes it or refuses it (E402).
LIMIT = 0.999 * 1e18
# From this many variants the parts of years cut by a text entering into force are combined as
# columns (:meth:`VectorTimeline._combine`); below, numpy's cost per call outweighs them.
_COMBINED_FROM = 16
# Rows per pass of the columns: a few hundred kilobytes per column, so that a pass works in
# the processor's cache (measured: 20 % faster per row than 100 000 rows at once) and the
# memory of a sweep of thousands of variants stays small.
CHUNK_ROWS = 2 ** 15
# The key of the profile's first signature among a batch's columns (the basis reads it as
# contract_signed; every other formula reads the contract running on the day).
_FIRST_SIGNED = " first contract_signed"
_ZERO = Decimal(0)
# Day numbers are date.toordinal(); numpy's calendar counts from 1970-01-01.
_EPOCH = datetime.date(1970, 1, 1).toordinal()


def numpy_available() -> bool:
    """True when numpy (the ``vector`` extra) is installed."""
    return np is not None


def require_numpy():
    """Raise :class:`VectorRefused` saying how to install numpy when it is missing."""
    if np is None:
        raise VectorRefused(msg("the vectorised backend needs numpy: pip install 'aci-rules[vector]'"))


# The calendar's tables for add_months / add_years (built on first use): for each day of the years
# from 1900 to 2199, its month (counted from January 1900) and its day in the month (from 0);
# for each month, the day number of its first day and its length.
_CALENDAR_FROM = datetime.date(1900, 1, 1).toordinal()
_CALENDAR_YEARS = 300
_CALENDAR = []


def _calendar():
    if not _CALENDAR:
        days = np.arange(_CALENDAR_FROM, datetime.date(1900 + _CALENDAR_YEARS, 1, 1).toordinal(), dtype=np.int64)
        calendar = (days - _EPOCH).astype("datetime64[D]")
        months = calendar.astype("datetime64[M]")
        day_of_month = (calendar - months.astype("datetime64[D]")).astype(np.int64)
        since = (1900 - 1970) * 12
        month = months.astype(np.int64) - since
        starts = (np.arange(_CALENDAR_YEARS * 12 + 1, dtype=np.int64) + since).astype("datetime64[M]")
        first = starts.astype("datetime64[D]").astype(np.int64) + _EPOCH
        _CALENDAR.extend([month, day_of_month, first[:-1], np.diff(first)])
    return _CALENDAR


class VectorRefused(Exception):
    """The ruleset holds a construct the vectorised backend does not handle; ``reason`` says which."""

    def __init__(self, reason):
        super().__init__(str(reason))
        self.reason = reason


# -- values: columns of one kind ----------------------------------------------------------------

@dataclasses.dataclass
class Num:
    v: object  # float64 column
    # float64 column: bound on |v - the reference's Decimal| (read as ``e``). None where the exact
    # form is known: the bound is then computed from it only if something reads it (most values
    # never lose their exact form, and their bounds would cost a pass over the rows each).
    e_: object
    null: object = None  # bool column (None where a row holds None), or None: no row does
    # Known when the column is made: every row is a whole number below 2**53, held exactly
    # (e is 0). Sums, products and comparisons of such columns are exact and need no bound.
    whole: bool = False
    # When known: (whole numbers as floats below 2**53, k) with every row exactly ints / 10**k,
    # as the reference's Decimal holds it. Sums, products, comparisons and roundings of such
    # columns are computed on the whole numbers, exactly: a rate of 0.0311 times 262 550.00 is a
    # half cent that the bounds alone could not settle.
    exact: object = None

    @property
    def e(self):
        if self.e_ is None:
            ints, k = self.exact
            # x = ints / 10**k is one correctly rounded division (10**k is exact for k <= 22): within
            # |x| 2**-52 of the exact value, which is the reference's Decimal (see ``exact``).
            x = ints / 10.0 ** k
            self.e_ = (np.abs(self.v - x) + np.abs(x) * EPS) * (1 + EPS)
        return self.e_


MAX_DECIMALS = 15


def _exact_of(value: "Num"):
    """``value``'s exact decimal form (ints, k), or None."""
    if value.exact is not None:
        return value.exact
    if value.whole:
        return value.v, 0
    return None


def _exact_from(values):
    """(ints, k) for Python numbers (None counts as 0), or None when they do not fit."""
    k = 0
    for x in values:
        if isinstance(x, Decimal):
            exponent = x.as_tuple().exponent
            if not isinstance(exponent, int) or not x.is_finite():
                return None
            k = max(k, -exponent)
    if k > MAX_DECIMALS:
        return None
    ints = [int(Decimal(x).scaleb(k)) if x is not None else 0 for x in values]
    if any(abs(i) >= EXACT for i in ints):
        return None
    return np.array(ints, dtype=np.float64), k


def _fits(ints) -> bool:
    return not ints.size or bool(np.abs(ints).max() < EXACT)


def _align(a, b):
    """Two exact forms at one k, or None when a whole number would reach 2**53."""
    (ia, ka), (ib, kb) = a, b
    k = max(ka, kb)
    # Only a form scaled up may reach 2**53: the other is already below it.
    if k != ka:
        ia = ia * 10.0 ** (k - ka)
        if not _fits(ia):
            return None
    if k != kb:
        ib = ib * 10.0 ** (k - kb)
        if not _fits(ib):
            return None
    return ia, ib, k


def _exact_op(op, a, b):
    """The exact form of a + b, a - b or a * b, or None."""
    if a is None or b is None:
        return None
    if op is np.multiply:
        if a[1] + b[1] > MAX_DECIMALS:
            return None
        ints = a[0] * b[0]
        return (ints, a[1] + b[1]) if _fits(ints) else None
    aligned = _align(a, b)
    if aligned is None:
        return None
    ints = op(aligned[0], aligned[1])
    return (ints, aligned[2]) if _fits(ints) else None


@dataclasses.dataclass
class Day:
    d: object  # int64 column of day numbers (date.toordinal())
    null: object = None


@dataclasses.dataclass
class Flag:
    b: object  # bool column


@dataclasses.dataclass
class Days:
    """A list of days per row (the crises declared): a matrix padded with ``present`` False."""

    d: object  # int64 matrix (rows, longest list)
    present: object  # bool matrix


@dataclasses.dataclass
class Nothing:
    """The literal None."""


@dataclasses.dataclass
class Text:
    value: str  # a literal text (a quantum, a mission id): never a column


def _exact_float(value) -> tuple[float, float]:
    """A Decimal or int as a float, with the bound of its conversion error (0 when exact)."""
    f = float(value)
    if Decimal(f) == Decimal(value):
        return f, 0.0
    return f, abs(f) * EPS


def _kind(value):
    """The kind of a value, said in the rule's terms (for a refusal's reason)."""
    kinds = {Num: msg("a number"), Day: msg("a date"), Flag: msg("true/false"), Nothing: msg("nothing (None)"),
             Text: msg("a text"), Days: msg("a list of dates")}
    return kinds.get(type(value), msg("a value of another kind"))


def _or(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a | b


# -- the translation of a checked tree into column operations -------------------------------------

_COMPARE_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


class _Columns:
    """Evaluates the plan's checked trees (:mod:`plan`) over columns, marking the rows it cannot vouch for.

    One instance serves one batch of one plan: ``values`` holds a column per slot of the
    plan (the inputs filled by the caller, definitions as they are computed), ``names``
    the profile's columns by name (what profile-bound functions read), ``missions`` each
    mission id's four fields, ``texts`` gives what another text gives each row (see
    :class:`_Given`). Line amounts are kept in whole quanta (``amounts``, ``maxima``).
    ``uncertain`` collects the rows to hand to the scalar path. Every construct it meets
    and cannot translate raises :class:`VectorRefused`.
    """

    def __init__(self, size: int, plan, values: list, names: dict, missions: dict, texts=None):
        self.n = size
        self.plan = plan
        self.values = values
        self.names = names
        self.missions = missions
        self.texts = texts
        self.uncertain = np.zeros(size, dtype=bool)
        self.amounts: dict = {}  # line id -> float column of whole quanta
        self.maxima: dict = {}
        exponent = plan.quantum.as_tuple().exponent
        self.scale = 10.0 ** -exponent if exponent <= 0 else 1.0
        # One column of zeros shared by every value that needs one (bounds of exact values, most):
        # read-only, so that no operation can change it in place.
        self.zeros = np.zeros(size)
        self.zeros.flags.writeable = False
        self.constants: dict = {}

    # marking
    def mark(self, rows, active):
        self.uncertain |= rows & active

    def bound(self, value: Num, active) -> Num:
        """Rows beyond the engine's bound, or not finite, go to the scalar path."""
        beyond = ~np.isfinite(value.v) | ~np.isfinite(value.e) | (np.abs(value.v) + value.e >= LIMIT)
        if value.null is not None:
            beyond &= ~value.null
        self.mark(beyond, active)
        return value

    def no_null(self, value, active):
        """A None read where a number or a date is needed fails on the reference path."""
        if isinstance(value, Nothing):
            self.mark(np.ones(self.n, dtype=bool), active)
        elif getattr(value, "null", None) is not None:
            self.mark(value.null, active)

    # dispatch
    def expr(self, node, active):
        method = getattr(self, "node_" + type(node).__name__, None)
        if method is None:
            raise VectorRefused(msg("{construct} is not vectorised", construct=type(node).__name__))
        return method(node, active)

    def node_Constant(self, node, active):
        value = node.value
        if value is None:
            return Nothing()
        if value is True or value is False:
            return Flag(np.full(self.n, value))
        if isinstance(value, str):
            return Text(value)
        f, e = _exact_float(value)
        whole = e == 0 and f == int(f) and abs(f) < EXACT
        exact = _exact_from([value])
        return Num(self.full(f), self.zeros if whole else self.full(e), whole=whole,
                   exact=None if exact is None else (self.full(float(exact[0][0])), exact[1]))

    def full(self, number: float):
        """A column holding ``number`` on every row, made once per batch (read-only: shared)."""
        column = self.constants.get(number)
        if column is None:
            column = self.constants[number] = np.full(self.n, number)
            column.flags.writeable = False
        return column

    def slot(self, key: str):
        """The plan's slot a tree's name stands for (``s<n>``: made by the plan, never a user's text)."""
        if key[:1] != "s" or not key[1:].isdigit() or int(key[1:]) >= len(self.plan.slots):
            raise VectorRefused(msg("the name '{name}' is not vectorised", name=key))
        return self.plan.slots[int(key[1:])]

    def node_Name(self, node, active):
        slot = self.slot(node.id)
        kind = slot.kind
        if kind == "line" or kind == "maximum":
            column = (self.amounts if kind == "line" else self.maxima).get(slot.name)
            if column is None:  # never: the plan orders the steps before what reads them
                raise VectorRefused(msg("the name '{name}' is not vectorised", name=slot.name))
            return self.from_quanta(column)
        value = self.values[slot.index]
        if value is None or isinstance(value, tuple):
            raise VectorRefused(msg("the name '{name}' is not vectorised", name=slot.name))
        return value

    def numbers(self, node, active, *operands):
        values = [self.expr(o, active) for o in operands]
        for value in values:
            if not isinstance(value, Num):
                raise VectorRefused(msg("arithmetic on {kind} is not vectorised", kind=_kind(value)))
            self.no_null(value, active)
        return values

    def node_BinOp(self, node, active):
        if isinstance(node.op, ast.Pow):
            (base,) = self.numbers(node, active, node.left)
            return self.power(base, node.right.value, active)
        a, b = self.numbers(node, active, node.left, node.right)
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            op = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply}[type(node.op)]
            v = op(a.v, b.v)
            if a.whole and b.whole:
                exact = self.whole_result(v, active)
                if exact is not None:
                    return exact
            exact = _exact_op(op, _exact_of(a), _exact_of(b))
            if exact is not None:  # below 2**53 / 10**k: within the engine's bound, its error bound lazy
                return Num(v, None, exact=exact)
            if isinstance(node.op, ast.Mult):
                e = (np.abs(a.v) * b.e + np.abs(b.v) * a.e + a.e * b.e + np.abs(v) * EPS) * (1 + EPS)
            else:
                e = (a.e + b.e + np.abs(v) * EPS) * (1 + EPS)
        elif isinstance(node.op, ast.Div):
            # Division by zero (or by a value that may be zero) is the reference's E401.
            zero = np.abs(b.v) <= b.e * (1 + EPS)
            self.mark(zero, active)
            divisor = np.where(zero, 1.0, b.v)
            v = a.v / divisor
            margin = np.maximum(np.abs(divisor) - b.e, np.abs(divisor) * 0.5)
            e = ((a.e + np.abs(v) * b.e) / margin + np.abs(v) * EPS) * (1 + EPS)
        else:
            raise VectorRefused(msg("{construct} is not vectorised", construct=type(node.op).__name__))
        return self.bound(Num(v, e), active)

    def whole_result(self, v, active):
        """A whole column from whole operands: exact while below 2**53, else None (bounded as any)."""
        if not v.size or np.abs(v).max() < EXACT:
            return Num(v, self.zeros, whole=True)
        return None

    def power(self, base: Num, exponent: int, active) -> Num:
        if exponent == 0:
            # Decimal 0 ** 0 has no exact result on the reference path (E402).
            self.mark(np.abs(base.v) <= base.e, active)
            return Num(np.ones(self.n), self.zeros)
        result = base
        for _ in range(exponent - 1):
            v = result.v * base.v
            if result.whole and base.whole:
                exact = self.whole_result(v, active)
                if exact is not None:
                    result = exact
                    continue
            e = (np.abs(result.v) * base.e + np.abs(base.v) * result.e + result.e * base.e
                 + np.abs(v) * EPS) * (1 + EPS)
            result = self.bound(Num(v, e), active)
        return result

    def node_UnaryOp(self, node, active):
        operand = self.expr(node.operand, active)
        if isinstance(node.op, ast.Not):
            if not isinstance(operand, Flag):
                raise VectorRefused(msg("'not' on {kind} is not vectorised", kind=_kind(operand)))
            return Flag(~operand.b)
        if not isinstance(operand, Num):
            raise VectorRefused(msg("arithmetic on {kind} is not vectorised", kind=_kind(operand)))
        self.no_null(operand, active)
        exact = _exact_of(operand)
        if exact is not None and isinstance(node.op, ast.USub):
            exact = (-exact[0], exact[1])
        return Num(-operand.v if isinstance(node.op, ast.USub) else operand.v, operand.e, whole=operand.whole,
                   exact=exact)

    def node_BoolOp(self, node, active):
        result = None
        going = active
        for part in node.values:
            value = self.expr(part, going)
            if not isinstance(value, Flag):
                raise VectorRefused(msg("'and' / 'or' on {kind} is not vectorised", kind=_kind(value)))
            if isinstance(node.op, ast.And):
                result = value.b if result is None else result & value.b
                going = going & value.b
            else:
                result = value.b if result is None else result | value.b
                going = going & ~value.b
        return Flag(result)

    def node_IfExp(self, node, active):
        test = self.expr(node.test, active)
        if not isinstance(test, Flag):
            raise VectorRefused(msg("a condition giving {kind} is not vectorised", kind=_kind(test)))
        chosen = test.b
        return self.merge(chosen, self.expr(node.body, active & chosen), self.expr(node.orelse, active & ~chosen))

    def merge(self, chosen, a, b):
        """Row by row ``a`` where ``chosen``, else ``b``: both computed, the mask selects."""
        if isinstance(a, Nothing) and isinstance(b, Nothing):
            return a
        if isinstance(a, Nothing) or isinstance(b, Nothing):
            value, none_where = (b, chosen) if isinstance(a, Nothing) else (a, ~chosen)
            if isinstance(value, (Num, Day)):
                null = none_where if value.null is None else (none_where | value.null)
                return dataclasses.replace(value, null=null)  # whole stays: a None row holds 0
            raise VectorRefused(msg("a value that is {kind} or None is not vectorised", kind=_kind(value)))
        if type(a) is not type(b) or isinstance(a, Text):
            raise VectorRefused(msg("'x if c else y' giving {a} or {b} is not vectorised", a=_kind(a), b=_kind(b)))
        if isinstance(a, Flag):
            return Flag(np.where(chosen, a.b, b.b))
        null = None
        if a.null is not None or b.null is not None:
            null = np.where(chosen, a.null if a.null is not None else False, b.null if b.null is not None else False)
        if isinstance(a, Num):
            exact = None
            if _exact_of(a) is not None and _exact_of(b) is not None:
                aligned = _align(_exact_of(a), _exact_of(b))
                if aligned is not None:
                    exact = (np.where(chosen, aligned[0], aligned[1]), aligned[2])
            whole = a.whole and b.whole
            e = self.zeros if whole else None if exact is not None else np.where(chosen, a.e, b.e)
            return Num(np.where(chosen, a.v, b.v), e, null, whole=whole, exact=exact)
        return Day(np.where(chosen, a.d, b.d), null)

    # comparisons
    def node_Compare(self, node, active):
        left = self.expr(node.left, active)
        result = None
        going = active
        for operator_, right_node in zip(node.ops, node.comparators):
            if isinstance(operator_, (ast.In, ast.NotIn)):
                if not isinstance(right_node, (ast.Tuple, ast.List)):
                    raise VectorRefused(msg("'in' on a value that is not a list is not vectorised"))
                found = np.zeros(self.n, dtype=bool)
                for item in right_node.elts:
                    found |= self.equal(left, self.expr(item, going), going)
                outcome = found if isinstance(operator_, ast.In) else ~found
                right = None
            else:
                right = self.expr(right_node, going)
                outcome = self.compare(operator_, left, right, going)
            result = outcome if result is None else result & outcome
            going = going & outcome
            left = right
        return Flag(result)

    def identity(self, value, constant):
        """``value is constant`` for a constant None, True or False."""
        if constant is None:
            if isinstance(value, Nothing):
                return np.ones(self.n, dtype=bool)
            null = getattr(value, "null", None)
            return null.copy() if null is not None else np.zeros(self.n, dtype=bool)
        if isinstance(value, Flag):
            return value.b if constant else ~value.b
        return np.zeros(self.n, dtype=bool)

    def compare(self, operator_, left, right, active):
        if isinstance(operator_, (ast.Is, ast.IsNot)):
            if isinstance(right, (Nothing, Flag)) and isinstance(left, (Nothing, Flag)) and not (
                    isinstance(right, Nothing) or isinstance(left, Nothing)):
                raise VectorRefused(msg("'is' between two conditions is not vectorised"))
            constant = None if isinstance(right, Nothing) else self.constant_flag(right)
            subject = left
            if constant == "?":
                constant = None if isinstance(left, Nothing) else self.constant_flag(left)
                subject = right
            if constant == "?":
                raise VectorRefused(msg("'is' compares with None, True or False"))
            found = self.identity(subject, constant)
            return found if isinstance(operator_, ast.Is) else ~found
        if isinstance(operator_, ast.Eq):
            return self.equal(left, right, active)
        if isinstance(operator_, ast.NotEq):
            return ~self.equal(left, right, active)
        symbol = _COMPARE_OPS[type(operator_)]
        if isinstance(left, Nothing) or isinstance(right, Nothing):
            self.mark(np.ones(self.n, dtype=bool), active)  # None < x fails on the reference path
            return np.zeros(self.n, dtype=bool)
        if type(left) is not type(right) or isinstance(left, (Flag, Text, Days)):
            raise VectorRefused(msg("'{op}' between {a} and {b} is not vectorised", op=symbol,
                                    a=_kind(left), b=_kind(right)))
        self.no_null(left, active)
        self.no_null(right, active)
        if isinstance(left, Day):
            a, b = left.d, right.d
        else:
            aligned = self.exactly(left, right)
            if aligned is not None:
                a, b = aligned
            else:
                a, b = left.v, right.v
                self.mark(self.close(left, right), active)
        return {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[symbol](a, b)

    @staticmethod
    def constant_flag(value):
        if isinstance(value, Flag) and (value.b.all() or not value.b.any()) and value.b.size:
            return bool(value.b[0])
        return "?"

    @staticmethod
    def exactly(left: Num, right: Num):
        """Two numbers as whole numbers of one scale, to compare exactly, or None."""
        if left.whole and right.whole:
            return left.v, right.v
        if _exact_of(left) is None or _exact_of(right) is None:
            return None
        aligned = _align(_exact_of(left), _exact_of(right))
        return None if aligned is None else aligned[:2]

    def close(self, left: Num, right: Num):
        """Rows where the bounds cannot tell the order of two numbers."""
        if left.whole and right.whole:
            return np.zeros(self.n, dtype=bool)
        tolerance = (left.e + right.e) * (1 + 4 * EPS)
        return (tolerance > 0) & (np.abs(left.v - right.v) <= tolerance)

    def equal(self, left, right, active):
        """``left == right`` row by row, as Python compares (None equals only None)."""
        if isinstance(left, Nothing) and isinstance(right, Nothing):
            return np.ones(self.n, dtype=bool)
        if isinstance(left, Nothing) or isinstance(right, Nothing):
            other = right if isinstance(left, Nothing) else left
            return self.identity(other, None)
        if type(left) is not type(right) or isinstance(left, (Text, Days)):
            raise VectorRefused(msg("'==' between {a} and {b} is not vectorised", a=_kind(left), b=_kind(right)))
        if isinstance(left, Flag):
            return left.b == right.b
        if isinstance(left, Day):
            same = left.d == right.d
        else:
            aligned = self.exactly(left, right)
            if aligned is not None:
                same = aligned[0] == aligned[1]
            else:
                same = left.v == right.v
                self.mark(self.close(left, right), active & ~_or(left.null, right.null) if (
                    left.null is not None or right.null is not None) else active)
        if left.null is None and right.null is None:
            return same
        ln = left.null if left.null is not None else np.zeros(self.n, dtype=bool)
        rn = right.null if right.null is not None else np.zeros(self.n, dtype=bool)
        return np.where(ln | rn, ln & rn, same)

    # calls
    def node_Call(self, node, active):
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if name == SUM:
            return self.line_sum(node.args, active)
        method = getattr(self, "call_" + name[2:], None) if name.startswith("f_") else None
        if method is None:
            raise VectorRefused(msg("the function {function}() is not vectorised", function=name[2:] or name))
        return method(node.args, active)

    def literal(self, node, what):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            raise VectorRefused(msg("{function}() with a computed argument is not vectorised", function=what))
        return node.value

    def line_sum(self, args, active):
        """The plan's expanded sum_lines / sum_maxima: a sum of rounded amounts, in whole quanta."""
        if len(args) != 1 or not isinstance(args[0], ast.Tuple):
            raise VectorRefused(msg("{function}() with a computed argument is not vectorised", function="sum_lines"))
        total = None
        for term in args[0].elts:
            slot = self.slot(term.id) if isinstance(term, ast.Name) else None
            column = None
            if slot is not None:
                column = (self.amounts if slot.kind == "line" else self.maxima if slot.kind == "maximum"
                          else {}).get(slot.name)
            if column is None:  # never: the plan orders the steps before what reads them
                raise VectorRefused(msg("sum_lines() before the lines it sums"))
            total = column if total is None else total + column
        if total is None:
            return Num(self.zeros, self.zeros, whole=True)
        self.mark(np.abs(total) >= EXACT, active)  # whole floats stay exact below 2**53
        return self.from_quanta(total)

    def from_quanta(self, units) -> Num:
        if self.scale == 1.0:
            return Num(units, self.zeros, whole=bool(not units.size or np.abs(units).max() < EXACT))
        v = units / self.scale
        return Num(v, np.abs(v) * EPS, exact=(units, round(np.log10(self.scale))))

    def dates(self, args, active, count):
        if len(args) != count:
            raise VectorRefused(msg("a call with {count} arguments is not vectorised", count=len(args)))
        return [self.expr(a, active) for a in args]

    def call_days_between(self, args, active):
        start, end = self.dates(args, active, 2)
        for value in (start, end):
            if not isinstance(value, Day):
                raise VectorRefused(msg("days_between() of {kind} is not vectorised", kind=_kind(value)))
            self.no_null(value, active)
        return Num((end.d - start.d).astype(np.float64), self.zeros, whole=True)

    def call_prorata_temporis(self, args, active):
        since, start, end = self.dates(args, active, 3)
        for value in (start, end) + ((since,) if not isinstance(since, Nothing) else ()):
            if not isinstance(value, Day):
                raise VectorRefused(msg("prorata_temporis() of {kind} is not vectorised", kind=_kind(value)))
        if isinstance(since, Nothing):
            return Num(self.zeros, self.zeros, whole=True)
        # As the helper: None or after the period -> 0; on or before its start -> 1 (compared
        # before the period's bounds are read, so a None bound fails only past that).
        given = ~since.null if since.null is not None else np.ones(self.n, dtype=bool)
        after = since.d > end.d
        if end.null is not None:
            self.mark(given & end.null, active)
        before = since.d <= start.d
        if start.null is not None:
            self.mark(given & ~after & start.null, active)
        covered = np.subtract(end.d, since.d, dtype=np.float64) + 1
        total = np.subtract(end.d, start.d, dtype=np.float64) + 1
        v = np.where(after, 0.0, np.where(before, 1.0, covered / total))
        if since.null is not None:
            v = np.where(given, v, 0.0)
        # 0 and 1 are exact; a share in between is one rounded division.
        return Num(v, v * (2 * EPS))

    def call_count_between(self, args, active):
        days, start, end = self.dates(args, active, 3)
        if not isinstance(days, Days) or not isinstance(start, Day) or not isinstance(end, Day):
            raise VectorRefused(msg("count_between() takes a list of dates and two dates"))
        # The helper compares only when the list holds a day: a None bound fails only then.
        missing = _or(start.null, end.null)
        if missing is not None:
            self.mark(days.present.any(axis=1) & missing, active)
        # Lists are short (a CPTS declares a crisis or two): one pass per position, over the rows.
        count = self.zeros
        for position in range(days.d.shape[1]):
            d = days.d[:, position]
            count = count + (days.present[:, position] & (d >= start.d) & (d <= end.d))
        return Num(count, self.zeros, whole=True)

    def call_population_on(self, args, active):
        (day,) = self.dates(args, active, 1)
        if not isinstance(day, Day):
            raise VectorRefused(msg("population_on() of {kind} is not vectorised", kind=_kind(day)))
        since, counts = self.names["population_history"]
        population = self.names["population"]
        if since.d.shape[1] == 0:
            return population
        # As Profile.population_on: the latest entry from on or before the day, else the population.
        self.mark(since.present.any(axis=1) & _or(day.null, np.zeros(self.n, dtype=bool)), active)
        reached = since.present & (since.d <= day.d[:, None])
        width = reached.shape[1]
        last = width - 1 - np.argmax(reached[:, ::-1], axis=1)
        found = counts.v[np.arange(self.n), last]
        return Num(np.where(reached.any(axis=1), found, population.v), self.zeros, whole=population.whole)

    def call_as_date(self, args, active):
        text = self.literal(args[0], "as_date") if len(args) == 1 else None
        try:
            day = datetime.date.fromisoformat(text)
        except (TypeError, ValueError):
            raise VectorRefused(msg("as_date() of a text that is not a date is not vectorised")) from None
        return Day(np.full(self.n, day.toordinal(), dtype=np.int64))

    def call_add_months(self, args, active, factor=1):
        day, count = self.dates(args, active, 2)
        if not isinstance(day, Day) or not isinstance(count, Num):
            raise VectorRefused(msg("add_months() / add_years() take a date and a number"))
        self.no_null(day, active)
        self.no_null(count, active)
        # A whole number within the helper's bound, known exactly, or the scalar path decides.
        bounded = np.abs(count.v) <= MAX_YEARS_MOVED * 12 / factor
        whole = bounded if count.whole else (count.e == 0) & (count.v == np.round(count.v)) & bounded
        months = np.where(whole, count.v, 0).astype(np.int64)
        if factor != 1:
            months *= factor
        # As helpers.add_months, through the calendar's tables: the month of the day and its day in
        # the month, then that day in the month moved to, or the month's last day. A day outside
        # the tables' years goes to the scalar path (which computes it, or refuses it).
        month, day_of_month, first, length = _calendar()
        offset = day.d - _CALENDAR_FROM
        inside = (offset >= 0) & (offset < month.shape[0])
        offset = np.clip(offset, 0, month.shape[0] - 1)
        target = month[offset] + months
        inside &= (target >= 0) & (target < length.shape[0])
        self.mark(~(whole & inside), active)
        target = np.clip(target, 0, length.shape[0] - 1)
        return Day(first[target] + np.minimum(day_of_month[offset], length[target] - 1))

    def call_add_years(self, args, active):
        return self.call_add_months(args, active, 12)

    def call_min(self, args, active, pick=None):
        # pick: np.minimum unless call_max says otherwise; not a default written np.minimum, which
        # Python evaluates as the module is imported, and numpy is an optional extra.
        pick = np.minimum if pick is None else pick
        values = [self.expr(a, active) for a in args]
        if len(values) < 2:  # the helper compares two values or more (E402)
            self.mark(np.ones(self.n, dtype=bool), active)
        if all(isinstance(v, Day) for v in values):
            for value in values:
                self.no_null(value, active)
            result = values[0].d
            for value in values[1:]:
                result = pick(result, value.d)
            return Day(result)
        if not all(isinstance(v, Num) for v in values):
            raise VectorRefused(msg("min() / max() of values of several kinds is not vectorised"))
        for value in values:
            self.no_null(value, active)
        v, e = values[0].v, values[0].e
        for value in values[1:]:
            # Whichever the reference picks, its value is within the larger bound of this one.
            v, e = pick(v, value.v), np.maximum(e, value.e)
        exact = _exact_of(values[0])
        for value in values[1:]:
            aligned = None if exact is None or _exact_of(value) is None else _align(exact, _exact_of(value))
            exact = None if aligned is None else (pick(aligned[0], aligned[1]), aligned[2])
        return Num(v, e, whole=all(value.whole for value in values), exact=exact)

    def call_max(self, args, active):
        return self.call_min(args, active, np.maximum)

    def call_variable_part(self, args, active):
        maximum, rate, earned = [self.expr(a, active) for a in args] if len(args) == 3 else (None,) * 3
        if not isinstance(maximum, Num) or not isinstance(rate, Num) or not isinstance(earned, (Num, Nothing)):
            raise VectorRefused(msg("variable_part() of values of other kinds is not vectorised"))
        self.no_null(maximum, active)
        if isinstance(earned, Nothing) or (earned.null is not None and earned.null.all()):
            measured = np.zeros(self.n, dtype=bool)
            earned = Nothing()
        else:
            measured = ~earned.null if earned.null is not None else np.ones(self.n, dtype=bool)
        self.no_null(rate, active & ~measured)
        v = maximum.v * rate.v
        product = _exact_op(np.multiply, _exact_of(maximum), _exact_of(rate))
        if product is None:
            e = (np.abs(maximum.v) * rate.e + np.abs(rate.v) * maximum.e + maximum.e * rate.e
                 + np.abs(v) * EPS) * (1 + EPS)
        if isinstance(earned, Nothing):  # no row measures its indicators: the rate applies everywhere
            return Num(v, None, exact=product) if product is not None else self.bound(Num(v, e), active)
        exact = None
        if product is not None and _exact_of(maximum) is not None and _exact_of(earned) is not None:
            capped = _align(_exact_of(maximum), _exact_of(earned))
            if capped is not None:
                least = (np.minimum(capped[0], capped[1]), capped[2])
                both = _align(least, product)
                if both is not None:
                    exact = (np.where(measured, both[0], both[1]), both[2])
        if exact is not None:
            return Num(np.where(measured, np.minimum(maximum.v, earned.v), v), None, exact=exact)
        if product is not None:
            e = Num(v, None, exact=product).e
        result = Num(np.where(measured, np.minimum(maximum.v, earned.v), v),
                     np.where(measured, np.maximum(maximum.e, earned.e), e), exact=exact)
        return self.bound(result, active)

    def rounding(self, args, active, default, down):
        value = self.expr(args[0], active) if args else None
        if not isinstance(value, Num) or len(args) > 2:
            raise VectorRefused(msg("round_half_up() / round_down() of {kind} is not vectorised",
                                    kind=_kind(value)))
        self.no_null(value, active)
        written = args[1] if len(args) == 2 else ast.Constant(default)
        if not (isinstance(written, ast.Constant) and type(written.value) in (str, int, Decimal)):
            raise VectorRefused(msg("{function}() with a computed argument is not vectorised", function="round"))
        try:
            quantum = Decimal(written.value)
        except ArithmeticError:
            raise VectorRefused(msg("rounding to {quantum} is not vectorised", quantum=written.value)) from None
        if quantum >= 1:
            # As helpers._round: to the ten, the hundred... (value / step, to the unit, times step).
            quantum = Decimal(1).scaleb(quantum.adjusted())
        return self.to_quantum(value, quantum, active, down)[1]

    def call_non_negative(self, args, active):
        """The language's non_negative(x): below zero is E411 (see :meth:`negative`)."""
        (value,) = [self.expr(a, active) for a in args] if len(args) == 1 else (None,)
        if value is None:
            raise VectorRefused(msg("a call with {count} arguments is not vectorised", count=len(args)))
        return self.negative(value, active)

    def negative(self, value, active):
        """Marks the rows where ``value`` is below zero (or may be): E411 on the scalar path, whose
        plan.check_amount says it (a line's amount, unless a clawback; non_negative(x))."""
        if not isinstance(value, Num):
            return value  # not a number: the amount's own check refuses it
        exact = _exact_of(value)
        if exact is not None:
            negative = exact[0] < 0
        else:
            negative = value.v < 0
            self.mark((value.e > 0) & (np.abs(value.v) <= value.e), active)
        if value.null is not None:
            negative &= ~value.null
        self.mark(negative, active)
        return value

    def call_count_true(self, args, active):
        values = [self.expr(a, active) for a in args]
        if not all(isinstance(v, Flag) for v in values):
            raise VectorRefused(msg("count_true() of values that are not conditions is not vectorised"))
        count = self.zeros
        for value in values:
            count = count + value.b
        return Num(count, self.zeros, whole=True)

    def call_round_half_up(self, args, active):
        return self.rounding(args, active, "0.01", down=False)

    def call_round_down(self, args, active):
        return self.rounding(args, active, "1", down=True)

    def to_quantum(self, value: Num, quantum: Decimal, active, down=False, rounded=True):
        """``value`` rounded to ``quantum`` (half up away from zero, or towards zero):
        ``(whole number of quanta, as whole floats, the rounded value as a Num)`` (None for the
        latter unless ``rounded``); rows whose rounding the bound cannot vouch for are marked."""
        # Decimal.quantize keeps the quantum's exponent as written: '100' rounds to units, like '1'.
        exponent = quantum.as_tuple().exponent
        if quantum <= 0 or quantum.normalize().as_tuple().digits != (1,) or not -15 <= exponent <= 15:
            raise VectorRefused(msg("rounding to {quantum} is not vectorised", quantum=quantum))
        multiplier = 10.0 ** -exponent  # exact for these exponents in the multiplying direction
        if value.whole and exponent <= 0 and (not value.v.size or np.abs(value.v).max() * multiplier < EXACT):
            # A whole number is a whole number of quanta: nothing to round, nothing to doubt.
            return value.v * multiplier, Num(value.v, value.e, value.null, whole=True)
        exact = _exact_of(value)
        if exact is not None:
            return self.exact_quanta(value, exact, exponent, active, down, rounded)
        w = value.v * multiplier if exponent <= 0 else value.v / (10.0 ** exponent)
        magnitude = np.abs(w)
        ew = value.e * multiplier
        ew += magnitude * (2 * EPS)
        ew *= 1 + EPS
        if down:
            # A whole value held exactly is its own floor; another near a whole number is doubtful.
            exact = (value.e == 0) & (value.v == np.floor(value.v)) & (magnitude < EXACT) & (exponent <= 0)
            ew = np.where(exact, 0.0, ew)
            units = np.floor(magnitude)
            distance = magnitude - units
            doubtful = (ew > 0) & (np.minimum(distance, 1 - distance) <= ew)
        else:
            # Half up: doubtful when the bound reaches the half-quantum on either side (a value
            # held exactly is never at distance 0: that would be 0.5 quanta from its rounding).
            units = np.floor(magnitude + 0.5)
            distance = magnitude + 0.5 - units
            doubtful = np.minimum(distance, 1 - distance) <= ew
        self.mark(doubtful | ~(magnitude < EXACT), active)
        quanta = signed = np.copysign(units, w)
        if not rounded:
            return quanta, None
        if exponent < 0:
            v = quanta / multiplier
            return quanta, Num(v, np.abs(v) * EPS)
        v = signed * (10.0 ** exponent)
        whole = bool(not v.size or np.abs(v).max() < EXACT)
        return quanta, Num(v, self.zeros if whole else np.abs(v) * EPS, whole=whole)

    def exact_quanta(self, value, exact, exponent, active, down, rounded=True):
        """:meth:`to_quantum` of an exact decimal column: integer arithmetic, nothing to doubt."""
        ints, k = exact
        shift = k + exponent  # digits to drop
        if shift <= 0:
            quanta = ints * 10.0 ** -shift
            self.mark(~(np.abs(quanta) < EXACT), active)
        else:
            # Whole floats below 2**53 divided by a power of ten: numpy's divmod of floats is exact
            # there (its remainder is fmod's, exact; the quotient, a whole float, then too).
            step = 10.0 ** shift
            units, rest = np.divmod(np.abs(ints), step)
            if not down:
                units += 2 * rest >= step  # half up, away from zero as Decimal
            quanta = np.copysign(units, ints)
        if not rounded:
            return quanta, None
        if exponent <= 0:
            v = quanta / 10.0 ** -exponent
            return quanta, Num(v, np.abs(v) * EPS, value.null, exact=(quanta, -exponent))
        v = quanta * 10.0 ** exponent  # whole hundreds, thousands...
        whole = _fits(v)
        self.mark(~(np.abs(v) < EXACT), active)
        return quanta, Num(v, self.zeros, value.null, whole=whole, exact=(v, 0) if whole else None)

    def mission_of(self, args, what):
        if len(args) != 1:
            raise VectorRefused(msg("{function}() with {count} arguments is not vectorised", function=what,
                                    count=len(args)))
        mission = self.literal(args[0], what)
        fields = self.missions.get(mission)
        if fields is None:
            raise VectorRefused(msg("{function}() of a mission the ruleset does not define", function=what))
        return fields

    def call_mission_started(self, args, active):
        return self.mission_of(args, "mission_started")["started"]

    def call_mission_deployed(self, args, active):
        return self.mission_of(args, "mission_deployed")["deployed"]

    def call_mission_achievement(self, args, active):
        return self.mission_of(args, "mission_achievement")["achievement"]

    # lines
    def money(self, value, active, what):
        if not isinstance(value, Num):
            raise VectorRefused(msg("{field} giving {kind} is not vectorised", field=what, kind=_kind(value)))
        self.no_null(value, active)
        quanta, _ = self.to_quantum(value, self.plan.quantum, active, rounded=False)
        return np.where(active, quanta, 0.0)

    # what other texts give (engine/crosstext.py), read from columns the caller computed
    def given(self, args, active, what, count):
        if self.texts is None or len(args) != count:
            raise VectorRefused(msg("the function {function}() is not vectorised", function=what))
        given = self.texts(self.literal(args[0], what))
        self.mark(given.uncertain, active)  # the other text's row is computed by the scalar path
        return given

    def call_text_total(self, args, active):
        return self.from_quanta(self.given(args, active, "text_total", 1).total)

    def call_text_line(self, args, active):
        given = self.given(args, active, "text_line", 2)
        return self.from_quanta(given.line(self.literal(args[1], "text_line")))

    def call_text_mission(self, args, active):
        given = self.given(args, active, "text_mission", 2)
        return self.from_quanta(given.of("mission", self.literal(args[1], "text_mission")))

    def call_text_volet(self, args, active):
        given = self.given(args, active, "text_volet", 2)
        return self.from_quanta(given.of("volet", self.literal(args[1], "text_volet")))

    def run(self):
        """Evaluate the plan's steps in order; returns (amounts, applies, runs_from), line by line."""
        plan = self.plan
        everyone = np.ones(self.n, dtype=bool)
        if plan.quantum.as_tuple().exponent > 0:
            raise VectorRefused(msg("rounding to {quantum} is not vectorised", quantum=plan.quantum))
        applies, runs_from = {}, {}
        for step in plan.steps:
            if step.kind == "definition":
                self.values[step.target.index] = self.expr(step.expression.tree, everyone)
                continue
            name = step.name
            if step.when is not None:
                condition = self.expr(step.when.tree, everyone)
                if not isinstance(condition, Flag):  # the result check of a condition: true or false
                    raise VectorRefused(msg("a condition giving {kind} is not vectorised", kind=_kind(condition)))
                on = condition.b
            else:
                on = everyone
            # The rounding point of every line: its amount (and a maximum a sum reads) to the quantum,
            # after the plan's result check of an amount (plan.check_amount: below zero is E411 unless
            # the line is a clawback; the rows are handed to the scalar path, which says it).
            value = self.expr(step.amount.tree, on)
            if step.amount.gives == "amount":
                self.negative(value, on)
            amount = self.money(value, on, "amount")
            if step.maximum_formula is None:
                maximum = amount
            elif name in plan.maxima_read:
                maximum = self.money(self.expr(step.maximum_formula.tree, on), on, "maximum")
            else:
                # A maximum no sum reads is checked, not rounded.
                value = self.expr(step.maximum_formula.tree, on)
                if not isinstance(value, Num):
                    raise VectorRefused(msg("{field} giving {kind} is not vectorised", field="maximum",
                                            kind=_kind(value)))
                self.no_null(value, on)
                self.bound(value, on)
                maximum = None
            self.amounts[name] = amount
            self.maxima[name] = maximum
            applies[name] = on
            if step.runs_from is not None:
                day = self.expr(step.runs_from.tree, on)
                if isinstance(day, Nothing):
                    day = Day(np.zeros(self.n, dtype=np.int64), everyone)
                if not isinstance(day, Day):
                    raise VectorRefused(msg("runs_from giving {kind} is not vectorised", kind=_kind(day)))
                runs_from[name] = day
            elif step.started is not None:
                runs_from[name] = self.values[step.started.index]
        self.obligations(everyone)
        if day_may_fail(plan):
            # A formula that may fail reading the day (plan.day_may_fail): the reference computes it on
            # the day itself too, the columns on the first day of the year; the scalar path runs both.
            self.mark(everyone, everyone)
        return self.amounts, applies, runs_from

    def obligations(self, everyone):
        """The obligations whose formulas may fail (:func:`~.plan.failing_obligations`; none for most
        texts): computed after the lines, as the reference computes them, only to mark the rows
        where one may fail, which the scalar path then computes (and reports). One that reads the
        day (:func:`~.plan.reads_day`) marks every row: the reference computes it on the day
        itself, the columns on the first day of the year."""
        plan = self.plan
        for step in failing_obligations(plan):
            if reads_day(plan, [f for f in (step.when, step.deadline, step.done) if f is not None]):
                self.mark(everyone, everyone)
                continue
            on = everyone
            if step.when is not None:
                condition = self.expr(step.when.tree, everyone)
                if not isinstance(condition, Flag):  # the result check of a condition: true or false
                    raise VectorRefused(msg("a condition giving {kind} is not vectorised", kind=_kind(condition)))
                on = condition.b
            deadline = self.expr(step.deadline.tree, on)
            done = self.expr(step.done.tree, on)
            # The result checks (plan.check_date): the deadline a date, done a date or None.
            if isinstance(deadline, Nothing):
                self.mark(everyone, on)
            elif isinstance(deadline, Day):
                self.no_null(deadline, on)
            else:
                raise VectorRefused(msg("{field} giving {kind} is not vectorised", field="deadline",
                                        kind=_kind(deadline)))
            if not isinstance(done, (Day, Nothing)):
                raise VectorRefused(msg("{field} giving {kind} is not vectorised", field="done", kind=_kind(done)))


def alternatives_of(ruleset, overrides: dict) -> dict:
    """Parameter name -> the values the variants of ``overrides`` give it in ``ruleset`` (those that
    change it), for :func:`~.plan.failing_under`."""
    found = {}
    for name, entries in overrides.items():
        parameter = ruleset.parameters.get(name)
        if parameter is not None:
            values = [resolve_override(entry, parameter) for entry in entries if entry is not None]
            found[name] = [value for value in values if value is not None]
    return found


def resolve_override(entry, parameter):
    """What a variant sets a parameter to: None (its own value), a value, a {taille: value}
    table, or what a function of the parameter gives (a factor, a draw: it depends on the
    text, since two texts may give the same parameter different values)."""
    return entry(parameter) if callable(entry) else entry


# -- one ruleset over a batch ---------------------------------------------------------------------

@dataclasses.dataclass
class Columns:
    """The inputs of a batch of rows for one ruleset: what formulas read, as columns."""

    size: int
    names: dict  # name -> Num/Day/Flag: what the profile says and the contract-year names
    missions: dict  # mission id -> {started, deployed, achievement, indicators_earned}
    variant: object  # int64 column: the row's variant (index into the parameter tables)
    # The rows of the batch before :func:`tile` repeated them ``repeat`` times: (profile, day),
    # for what another text gives them (engine/crosstext.py), computed once in ``given``.
    rows: list = dataclasses.field(default_factory=list)
    repeat: int = 1
    renewal: bool = False
    given: dict = dataclasses.field(default_factory=dict)


def _nullable_days(days, size):
    null = np.fromiter((d is None for d in days), dtype=bool, count=size)
    values = np.fromiter((d.toordinal() if d is not None else 0 for d in days), dtype=np.int64, count=size)
    return Day(values, null if null.any() else None)


def _numbers(values, size, nullable=False):
    """A column of numbers (ints, Decimals; None where ``nullable``). Each distinct value is
    converted once: a batch's figures repeat (rates of achievement, counts)."""
    distinct: dict = {}
    codes = np.fromiter((distinct.setdefault(x, len(distinct)) for x in values), dtype=np.int64, count=size)
    keys = list(distinct)
    null = None
    if nullable and None in distinct:
        null = codes == distinct[None]
    pairs = [_exact_float(x) if x is not None else (0.0, 0.0) for x in keys]
    v = np.array([p[0] for p in pairs], dtype=np.float64)[codes]
    e = np.array([p[1] for p in pairs], dtype=np.float64)[codes]
    whole = bool(not (e != 0).any() and (v == np.floor(v)).all() and (not size or np.abs(v).max() < EXACT))
    exact = None
    if not whole:
        exact = _exact_from(keys)
        if exact is not None:
            exact = (exact[0][codes], exact[1])
    return Num(v, e, null, whole=whole, exact=exact)


def build_columns(ruleset: Ruleset, rows, renewal: bool, known=None) -> Columns:
    """Columns for ``rows`` = [(profile, day, variant)] evaluated under ``ruleset`` on ``day``:
    the values :mod:`bind` gives one evaluation, for every row at once. ``known`` may give, row
    by row, the contract year and time names :func:`~.timeline.time_names` gave the same profile
    on another day (with the same contract length and renewal): reused when the day falls in
    that year (every day of a contract year has the same)."""
    size = len(rows)
    years, times = [], []
    for index, (profile, day, _) in enumerate(rows):
        found = known[index] if known is not None else None
        if found is not None and found[0] is not None and found[0].start <= day <= found[0].end:
            year, time = found[0], dict(found[1], text_in_force=ruleset.in_force)
        else:
            year, time = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
        years.append(year)
        times.append(time)
    names = {
        "date": _nullable_days([day for _, day, _ in rows], size),
        "population": _numbers([p.population for p, _, _ in rows], size),
        "members": _numbers([p.members if p.members is not None else 0 for p, _, _ in rows], size),
        "letter_of_intent_validated": _nullable_days([p.letter_of_intent_validated for p, _, _ in rows], size),
        # What the taille's basis reads as contract_signed: the first contract's signature (names.py).
        _FIRST_SIGNED: _nullable_days([p.contract_signed for p, _, _ in rows], size),
        "contract_year": _numbers([t["contract_year"] for t in times], size, nullable=True),
        "text_in_force": Day(np.full(size, ruleset.in_force.toordinal(), dtype=np.int64)),
    }
    for field in ("contract_signed", "contract_year_start", "contract_year_end", "contract_end"):
        names[field] = _nullable_days([t[field] for t in times], size)
    missions = {}
    numbers = [y.key if y else None for y in years]  # the rates' keys: contract and year
    wanted = dict.fromkeys(ruleset.missions)
    wanted.update(dict.fromkeys(s.mission for s in plan_of(ruleset).inputs if s.kind == "mission"))
    for mission in wanted:
        # The binder's own reading of a mission's fields for a contract year (bind.py), row by row.
        fields = list(zip(*[mission_fields(p.missions.get(mission), k) for (p, _, _), k in zip(rows, numbers)]))
        if not fields:
            fields = [()] * len(MISSION_NAMES)
        started, deployed, achievement, earned = (fields[MISSION_NAMES.index(name)] for name in
                                                  ("started", "deployed", "achievement", "indicators_earned"))
        missions[mission] = {
            "started": _nullable_days(started, size),
            "deployed": _nullable_days(deployed, size),
            "achievement": _numbers(achievement, size),
            "indicators_earned": _numbers(earned, size, nullable=True),
        }
    longest = max((len(p.crises) for p, _, _ in rows), default=0)
    matrix = np.zeros((size, longest), dtype=np.int64)
    present = np.zeros((size, longest), dtype=bool)
    for index, (profile, _, _) in enumerate(rows):
        for position, crisis in enumerate(profile.crises):
            matrix[index, position] = crisis.declared.toordinal()
            present[index, position] = True
    names["crises"] = Days(matrix, present)
    longest = max((len(p.population_history) for p, _, _ in rows), default=0)
    since = np.zeros((size, longest), dtype=np.int64)
    counts = np.zeros((size, longest), dtype=np.float64)
    present = np.zeros((size, longest), dtype=bool)
    for index, (profile, _, _) in enumerate(rows):
        for position, (day, population) in enumerate(profile.population_history):
            since[index, position], counts[index, position] = day.toordinal(), float(population)
            present[index, position] = True
    names["population_history"] = (Days(since, present), Num(counts, np.zeros_like(counts), whole=True))
    variant = np.fromiter((v for _, _, v in rows), dtype=np.int64, count=size)
    return Columns(size, names, missions, variant, [(p, d) for p, d, _ in rows], 1, renewal)


def tile(columns: Columns, variants: int) -> Columns:
    """The same rows repeated for each of ``variants`` variants (variant-major)."""
    def rep(value):
        if isinstance(value, Num):
            return Num(np.tile(value.v, variants), None if value.e_ is None else np.tile(value.e_, variants),
                       None if value.null is None else np.tile(value.null, variants), whole=value.whole,
                       exact=None if value.exact is None else (np.tile(value.exact[0], variants), value.exact[1]))
        if isinstance(value, Day):
            return Day(np.tile(value.d, variants), None if value.null is None else np.tile(value.null, variants))
        if isinstance(value, Days):
            return Days(np.tile(value.d, (variants, 1)), np.tile(value.present, (variants, 1)))
        if isinstance(value, tuple):
            return (rep(value[0]), Num(np.tile(value[1].v, (variants, 1)), np.tile(value[1].e, (variants, 1)),
                                       whole=value[1].whole))
        return Flag(np.tile(value.b, variants))
    return Columns(columns.size * variants, {k: rep(v) for k, v in columns.names.items()},
                   {m: {k: rep(v) for k, v in f.items()} for m, f in columns.missions.items()},
                   np.repeat(np.arange(variants, dtype=np.int64), columns.size),
                   columns.rows, columns.repeat * variants, columns.renewal, columns.given)


@dataclasses.dataclass
class Outcome:
    """What a batch of one ruleset gives, row by row."""

    size: object  # int64 column: the taille (-1 when none)
    amounts: dict  # line id -> column of whole numbers of quanta, as floats (0 where the line does not apply)
    applies: dict  # line id -> bool column
    runs_from: dict  # line id -> Day column
    uncertain: object  # bool column: rows the scalar path must compute
    quantum: Decimal

    def total(self):
        """Each row's total, in quanta (int64); rows beyond 2**53 quanta are marked uncertain."""
        total = np.zeros(self.uncertain.shape[0])
        for column in self.amounts.values():
            total = total + column
        return np.where(np.abs(total) < EXACT, total, 0).astype(np.int64)


class VectorRuleset:
    """One compiled ruleset's plan (:mod:`plan`) as column operations. Build once (it may refuse),
    run many batches.

    ``overrides`` (parameter name -> one entry per variant, see :func:`resolve_override`)
    gives the parameters of each variant of a sweep; without it, the ruleset itself. What the
    columns compute of what may fail is the text's own figures' (plan.failing_formulas): a caller
    giving variants checks first that theirs make nothing else fail (VectorTimeline.may_fail).
    """

    def __init__(self, ruleset: Ruleset, overrides: dict | None = None, variants: int = 1):
        require_numpy()
        self.ruleset = ruleset
        plan = self.plan = plan_of(ruleset)
        self.variants = variants
        self.tailles = sorted({c.taille for c in ruleset.taille.classes}) if ruleset.taille else [None]
        # Only the parameters some formula reads become columns.
        read = {s.name for s in plan.inputs if s.kind == "parameter"}
        if plan.basis is not None:
            read |= {s.name for s in plan.basis.slots if s.kind == "parameter"}
        self.tables = {}
        for name in read:
            parameter = ruleset.parameters[name]
            values = (overrides or {}).get(name)
            # A parameter no variant changes has one row, shared by every variant.
            per_variant = values if values is not None else [None]
            table = []
            for entry in per_variant:
                value = resolve_override(entry, parameter)
                if value is None:
                    table.append([parameter.value_for(t) for t in self.tailles])
                elif isinstance(value, dict):
                    table.append([value.get(t) for t in self.tailles])
                else:
                    table.append([value] * len(self.tailles))
            self.tables[name] = self._columns_of(name, table)
        self.scalars = {name for name, p in ruleset.parameters.items() if p.by_taille is None}
        self.others = {other.alias: other for other in getattr(ruleset, "other_texts", ())}
        self._stack()
        # Refused constructs show at build: a dry run over one blank row.
        with np.errstate(all="ignore"):
            self._dry_run()

    def _dry_run(self):
        day = datetime.date(2000, 1, 1)
        from .profile import Profile
        blank = Profile("", 0, None, None, None, {}, ())
        columns = build_columns(self.ruleset, [(blank, day, 0)], False)
        # What other texts give is computed for real rows only: zeros here (the constructs are the point).
        columns.given = {alias: _Given.nothing(1) for alias in self.others}
        self.run(columns)

    @staticmethod
    def _columns_of(name, table):
        """A parameter's values per (variant, taille) as arrays, with their kind."""
        flat = [x for row in table for x in row]
        kinds = {type(x) for x in flat}
        if kinds <= {int, Decimal, type(None)}:
            pairs = [_exact_float(x) if x is not None else (0.0, 0.0) for x in flat]
            null = np.array([x is None for x in flat])
            values = np.array([p[0] for p in pairs])
            errors = np.array([p[1] for p in pairs])
            whole = bool(not null.any() and not errors.any() and (values == np.floor(values)).all()
                         and (not values.size or np.abs(values).max() < EXACT))
            return ("number", values, errors, null if null.any() else None, whole, not errors.any(),
                    None if whole else _exact_from(flat))
        if kinds <= {datetime.date}:
            return ("date", np.array([x.toordinal() for x in flat], dtype=np.int64))
        if kinds <= {bool}:
            return ("flag", np.array(flat, dtype=bool))
        return ("other", name)

    def _stack(self):
        """The numbers no variant changes, as one table (parameter x taille), so that a batch
        reads them all for each row's taille in one gather rather than one per parameter."""
        shared = [name for name, (kind, *arrays) in self.tables.items()
                  if kind == "number" and arrays[0].shape[0] == len(self.tailles)]
        self._row = {name: index for index, name in enumerate(shared)}
        if not shared:
            return
        tables = [self.tables[name][1:] for name in shared]
        self._values = np.array([t[0] for t in tables]).reshape(len(shared), len(self.tailles))
        # Bounds and exact forms only for the parameters that have them (rates, amounts with cents).
        inexact = [name for name in shared if not self.tables[name][5]]
        decimal = [name for name in shared if self.tables[name][6] is not None]
        self._error_row = {name: index for index, name in enumerate(inexact)}
        self._int_row = {name: index for index, name in enumerate(decimal)}
        width = len(self.tailles)
        self._errors = np.array([self.tables[name][2] for name in inexact]).reshape(len(inexact), width)
        self._ints = np.array([self.tables[name][6][0] for name in decimal]).reshape(len(decimal), width)

    def _gather(self, taille_index) -> dict:
        """Every shared number's column for the rows' tailles (see :meth:`_stack`)."""
        if not self._row:
            return {}
        gathered = {"values": np.take(self._values, taille_index, axis=1, mode="clip"),
                    "zeros": np.zeros(taille_index.shape[0])}
        gathered["zeros"].flags.writeable = False
        if self._int_row:
            gathered["ints"] = np.take(self._ints, taille_index, axis=1, mode="clip")
        if self._error_row:
            gathered["errors"] = np.take(self._errors, taille_index, axis=1, mode="clip")
        return gathered

    def parameter(self, name, variant, taille_index, gathered=None):
        """A parameter's column, from each row's variant and taille (an index in its table)."""
        kind, *arrays = self.tables[name]
        row = self._row.get(name)
        if gathered and row is not None:
            _, errors, null, whole, exact, decimal = arrays
            return Num(gathered["values"][row], gathered["zeros"] if exact else gathered["errors"][self._error_row[name]],
                       None if null is None else np.take(null, taille_index, mode="clip"), whole=whole,
                       exact=None if decimal is None else (gathered["ints"][self._int_row[name]], decimal[1]))
        cell = taille_index if arrays[0].shape[0] == len(self.tailles) else variant * len(self.tailles) + taille_index
        if kind == "number":
            values, errors, null, whole, exact, decimal = arrays
            return Num(np.take(values, cell), np.zeros(cell.shape[0]) if exact else np.take(errors, cell),
                       None if null is None else np.take(null, cell), whole=whole,
                       exact=None if decimal is None else (np.take(decimal[0], cell), decimal[1]))
        if kind == "date":
            return Day(np.take(arrays[0], cell))
        if kind == "flag":
            return Flag(np.take(arrays[0], cell))
        raise VectorRefused(msg("the parameter '{name}' holds values the backend does not handle", name=name))

    def run(self, columns: Columns) -> Outcome:
        """Evaluate the ruleset over ``columns``; see :class:`Outcome`."""
        with np.errstate(all="ignore"):
            return self._run(columns)

    def texts(self, columns: Columns):
        """What each other text gives the rows of ``columns``: alias -> :class:`_Given` (a function)."""
        def given(alias):
            found = columns.given.get(alias)
            if found is None:
                other = self.others.get(alias)
                if other is None:  # checked at load (E321): a tree altered since
                    raise VectorRefused(msg("the function {function}() is not vectorised", function="text_total"))
                found = columns.given[alias] = _Given.compute(other, columns.rows, columns.renewal)
            return found.tiled(columns.repeat)
        return given

    def _run(self, columns: Columns) -> Outcome:
        ruleset, plan, n = self.ruleset, self.plan, columns.size
        variant = columns.variant
        names = columns.names
        missions = columns.missions
        texts = self.texts(columns)
        size = np.full(n, -1, dtype=np.int64)
        taille_index = np.zeros(n, dtype=np.int64)
        uncertain = np.zeros(n, dtype=bool)
        everyone = np.ones(n, dtype=bool)
        if plan.basis is not None:
            # As the binder: the basis reads the profile and the parameters without a taille.
            values = [None] * len(plan.slots)
            for slot in plan.basis.slots:
                if slot.kind == "profile":
                    values[slot.index] = names[_FIRST_SIGNED if slot.name == "contract_signed" else slot.name]
                elif slot.kind == "parameter" and slot.name in self.scalars:
                    values[slot.index] = self.parameter(slot.name, variant, taille_index)
            basis = _Columns(n, plan, values, names, missions, texts)
            value = basis.expr(plan.basis.tree, everyone)
            if not isinstance(value, Num):  # the result check of the basis: a number
                raise VectorRefused(msg("taille.basis giving {kind} is not vectorised", kind=_kind(value)))
            basis.no_null(value, everyone)
            found = np.zeros(n, dtype=bool)
            for size_class in ruleset.taille.classes:
                low = Num(np.full(n, float(size_class.low)), basis.zeros, whole=type(size_class.low) is int)
                inside = value.v >= low.v
                basis.mark(basis.close(value, low), everyone)
                if size_class.high is not None:
                    high = Num(np.full(n, float(size_class.high)), basis.zeros, whole=type(size_class.high) is int)
                    inside &= value.v <= high.v
                    basis.mark(basis.close(value, high), everyone)
                take = inside & ~found
                size = np.where(take, size_class.taille, size)
                found |= inside
            basis.mark(~found, everyone)  # in no class: E403 on the reference path
            uncertain |= basis.uncertain
            for index, taille in enumerate(self.tailles):
                taille_index = np.where(size == taille, index, taille_index)
        values = [None] * len(plan.slots)
        gathered = self._gather(taille_index)
        for slot in plan.inputs:
            kind = slot.kind
            if kind == "parameter":
                values[slot.index] = self.parameter(slot.name, variant, taille_index, gathered)
            elif kind == "mission":
                values[slot.index] = missions[slot.mission][slot.name]
            elif kind == "taille":
                values[slot.index] = (Num(size.astype(np.float64), np.zeros(n), whole=True)
                                      if ruleset.taille is not None else Nothing())
            else:  # profile, time
                values[slot.index] = names[slot.name]
        columns_ = _Columns(n, plan, values, names, missions, texts)
        amounts, applies, runs_from = columns_.run()
        total = np.zeros(n)
        for column in amounts.values():
            total = total + column
        uncertain |= columns_.uncertain | ~(np.abs(total) < EXACT)
        return Outcome(size, amounts, applies, runs_from, uncertain, ruleset.quantum)


@dataclasses.dataclass
class _Given:
    """What another text gives each row, as :func:`~.crosstext.functions` reads it: its total and
    its lines' amounts in whole quanta (0 where a line does not apply), and the rows the columns
    could not vouch for (a guarantee read there is computed by the scalar path)."""

    total: object
    lines: dict
    fields: dict  # "mission" / "volet" -> {line id: its mission / volet}
    uncertain: object

    @classmethod
    def nothing(cls, size):
        return cls(np.zeros(size), {}, {"mission": {}, "volet": {}}, np.zeros(size, dtype=bool))

    @classmethod
    def compute(cls, other, rows, renewal):
        """The other text (``other``, an :class:`~.crosstext.OtherText`) over ``rows`` = [(profile,
        day)]: consolidated as on each row's day, evaluated on it, by the columns. Raises
        :class:`VectorRefused` when that text cannot be vectorised."""
        size = len(rows)
        found = cls.nothing(size)
        by_text: dict = {}
        texts: dict = {}
        for index, (_, day) in enumerate(rows):
            ruleset = texts.get(day)
            if ruleset is None:
                ruleset = texts[day] = other.ruleset_on(day)
            by_text.setdefault(id(ruleset), (ruleset, []))[1].append(index)
        for ruleset, indices in by_text.values():
            vector = _vector_of(ruleset)
            outcome = vector.run(build_columns(ruleset, [(rows[i][0], rows[i][1], 0) for i in indices], renewal))
            where = np.array(indices, dtype=np.int64)
            found.uncertain[where] = outcome.uncertain
            total = np.zeros(len(indices))
            for line_id, column in outcome.amounts.items():
                amount = np.where(outcome.applies[line_id], column, 0.0)
                found.lines.setdefault(line_id, np.zeros(size))[where] = amount
                total = total + amount
            found.total[where] = total
            for line in ruleset.lines:
                found.fields["mission"].setdefault(line.id, line.mission)
                found.fields["volet"].setdefault(line.id, line.volet)
        return found

    def tiled(self, repeat):
        if repeat == 1:
            return self
        return _Given(np.tile(self.total, repeat), {k: np.tile(v, repeat) for k, v in self.lines.items()},
                      self.fields, np.tile(self.uncertain, repeat))

    def line(self, line_id):
        column = self.lines.get(line_id)
        return column if column is not None else np.zeros(self.total.shape[0])

    def of(self, field, key):
        """The sum of the lines of one mission or volet (as crosstext's ``_Given.of``)."""
        table = self.fields[field]
        total = np.zeros(self.total.shape[0])
        for line_id, column in self.lines.items():
            if table.get(line_id) == key:
                total = total + column
        return total


# The vectorised backend of each other text a guarantee reads, built once (the ruleset is kept, so
# its id is not reused): (ruleset, VectorRuleset or the refusal).
_OTHERS: dict = {}


def _vector_of(ruleset):
    entry = _OTHERS.get(id(ruleset))
    if entry is None or entry[0] is not ruleset:
        try:
            built = VectorRuleset(ruleset)
        except VectorRefused as refusal:
            built = VectorRefused(msg("the text read ({ruleset}) is not vectorised: {reason}",
                                      ruleset=ruleset.id, reason=refusal.reason))
        entry = _OTHERS[id(ruleset)] = (ruleset, built)
    if isinstance(entry[1], VectorRefused):
        raise entry[1]
    return entry[1]


class _Money:
    """Whole quanta (a float column's cell) as the Decimal amount the scalar path writes, remembered
    (amounts repeat: most are figures of the texts)."""

    def __init__(self, quantum: Decimal):
        self.exponent = quantum.as_tuple().exponent
        self.known: dict = {}

    def __call__(self, quanta) -> Decimal:
        found = self.known.get(quanta)
        if found is None:
            found = Decimal(int(quanta)).scaleb(self.exponent)
            if len(self.known) < 65536:
                self.known[quanta] = found
        return found


class _VariantBinder:
    """The text's binder (:mod:`bind`), then a variant's parameter values in their slots."""

    def __init__(self, binder, values: dict):
        self.binder = binder
        self.values = values  # slot index -> {taille: value}

    def start(self, size) -> list:
        start = list(self.binder.start(size))
        for index, by_size in self.values.items():
            start[index] = by_size[size] if size in by_size else by_size[None]
        return start

    def bind(self, profile, day, renewal, compute_basis, *, fast=False):
        env = self.binder.bind(profile, day, renewal, compute_basis, fast=fast)
        size = env.size
        for index, by_size in self.values.items():
            env.values[index] = by_size[size] if size in by_size else by_size[None]
        return env

    def __getattr__(self, name):
        return getattr(self.binder, name)  # what no parameter changes: functions, the taille's basis


class _SharedFunctions(dict):
    """A variant's compiled functions: the text's functions of any taille, which read the
    parameters' values the binder starts from (so they run every variant); a variant never
    gets functions of its own taille, whose parameters would be the text's, folded in."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def get(self, key, default=None):
        from .fastpath import _ANY_TAILLE
        return self.base._variant(*key) if key[2] is _ANY_TAILLE else default


def _all_decimal(parameter) -> bool:
    values = parameter.by_taille.values() if parameter.by_taille is not None else [parameter.value]
    return bool(values) and all(type(v) is Decimal for v in values)


def _variant_fast(base, ruleset, changed):
    """``base`` (the FastRuleset of ``ruleset``) running ``changed`` (the same text, other parameter
    values), without compiling its function again; None where that function cannot take the values."""
    from .expressions import DECIMAL_CONTEXT, ExpressionFailure
    import decimal

    if not all(hasattr(base, name) for name in ("_binder", "_variants", "_counts", "_by_size", "specialise_after",
                                                "ruleset", "plan")):
        return None  # the fast backend changed shape: the caller builds the variant's in full
    plan = base.plan
    names = {name for name, parameter in changed.parameters.items() if parameter is not ruleset.parameters.get(name)}
    if plan.basis is not None and any(s.kind == "parameter" and s.name in names for s in plan.basis.slots):
        return None  # the taille itself moves with the figure: the binder classifies it
    tailles = sorted({c.taille for c in ruleset.taille.classes}) if ruleset.taille is not None else []
    values = {}
    try:
        with decimal.localcontext(DECIMAL_CONTEXT):
            for slot in plan.inputs:
                if slot.kind != "parameter" or slot.name not in names:
                    continue
                before, after = ruleset.parameters[slot.name], changed.parameters[slot.name]
                table = {size: after.value_for(size) for size in tailles + [None]}
                # The compiled code writes Python's own operators for a figure that is a Decimal
                # for every taille; a variant's whole number there would not be computed the same way.
                if _all_decimal(before) and not _all_decimal(after):
                    return None
                values[slot.index] = table
    except (ExpressionFailure, TypeError):
        return None
    fast = copy.copy(base)
    fast.ruleset = changed
    fast._binder = _VariantBinder(base._binder, values)
    # The functions of any taille read the parameters at run time: shared with the text. The
    # variant never specialises (a taille's own function folds the text's figures in).
    fast._variants = _SharedFunctions(base)
    fast._counts, fast._by_size = {}, {}
    fast.specialise_after = float("inf")
    return fast


# -- many profiles over time: the contract year's entitlement, as FastTimeline computes it ----------

@dataclasses.dataclass
class BatchOutcome:
    """Totals of profiles x variants, in quanta, and how they were computed."""

    totals: object  # int64 array (variants, profiles): each contract year's total, in quanta
    sizes: object  # int64 array (variants, profiles): the taille (-1 when none)
    quantum: Decimal
    scalar_rows: int  # evaluations the scalar path made (uncertain rows, cut years, refused rulesets)
    vector_rows: int  # evaluations the columns made and vouched for
    refused: dict  # ruleset id -> the reason it was not vectorised
    errors: list  # (profile index, variant, EvaluationError)
    done: object = None  # bool array (variants, profiles): False where an error left no total
    rulesets: tuple = ()  # the rulesets evaluated (a cut year evaluates two)
    # When asked (one variant): per profile, the amounts of the lines that apply (line id -> Decimal,
    # in the order the fast path gives them), and the contract year (None outside one).
    lines: list | None = None
    years: list | None = None


class VectorTimeline:
    """Totals of many profiles on one day, with the texts of a :class:`~.timeline.Timeline`.

    Each profile's contract year is evaluated as :class:`~.fastpath.FastTimeline` does: the
    text in force at the year's start on that day; a year cut by a text entering into force
    is computed part by part and combined by :func:`~.timeline.combine`. ``overrides``
    (parameter name -> values per variant) applies to every text that has the parameter.
    """

    def __init__(self, timeline, overrides: dict | None = None, variants: int = 1):
        require_numpy()
        self.timeline = timeline
        self.overrides = overrides or {}
        self.variants = variants
        self._vector: dict = {}
        self._scalar: dict = {}
        self._may_fail: dict = {}  # id(ruleset) -> (ruleset, whether the variants may make it fail: may_fail)
        self.refused: dict = {}
        self.rebuilt = 0  # variants whose scalar backend had to be compiled again (see scalar())

    def may_fail(self, ruleset) -> bool:
        """Whether the variants' figures may make a formula of ``ruleset`` fail that its own cannot
        (:func:`~.plan.failing_under`), decided once per text."""
        entry = self._may_fail.get(id(ruleset))
        if entry is None or entry[0] is not ruleset:  # the ruleset is kept, so its id is not reused
            entry = self._may_fail[id(ruleset)] = (ruleset, bool(self.overrides) and failing_under(
                plan_of(ruleset), alternatives_of(ruleset, self.overrides)))
        return entry[1]

    def vector(self, ruleset):
        key = id(ruleset)
        if key not in self._vector:
            try:
                if self.may_fail(ruleset):
                    # The columns compute what may fail under the text's own figures (plan.failing_formulas);
                    # a variant's may make another formula fail: each row then goes to the scalar path,
                    # which builds that variant's own backend (scalar()).
                    raise VectorRefused(msg("the figures of a variant may make a formula of the text fail"))
                self._vector[key] = (ruleset, VectorRuleset(ruleset, self.overrides, self.variants))
            except VectorRefused as refusal:
                self._vector[key] = (ruleset, None)
                self.refused[ruleset.id] = refusal.reason
        return self._vector[key][1]

    def variant_ruleset(self, ruleset, variant: int):
        """``ruleset`` with the parameters of ``variant`` (for the scalar path)."""
        changed = {}
        for name, values in self.overrides.items():
            parameter = ruleset.parameters.get(name)
            if parameter is None:
                continue
            value = resolve_override(values[variant], parameter)
            if value is None:
                continue
            if isinstance(value, dict):
                changed[name] = dataclasses.replace(parameter, by_taille=value, value=None)
            else:
                changed[name] = dataclasses.replace(parameter, value=value, by_taille=None)
        if not changed:
            return ruleset
        return dataclasses.replace(ruleset, parameters={**ruleset.parameters, **changed})

    def scalar(self, ruleset, variant: int):
        """The scalar fast backend of ``ruleset``'s plan under ``variant``'s parameters.

        A variant differs from the text only by parameter values, which the fast backend
        reads from what its binder gives: the text's FastRuleset (its one compiled function)
        runs every variant, through a binder that sets the variant's values
        (:class:`_VariantBinder`). It is built again from the variant's ruleset only where
        that function could not take the values: a figure the taille's basis reads, a
        parameter the compiled code holds as a Decimal given as a whole number, a value too
        large to round (:attr:`rebuilt` counts them).
        """
        from .fastpath import FastRuleset
        key = (id(ruleset), variant)
        if key in self._scalar:
            return self._scalar[key][1]
        changed = self.variant_ruleset(ruleset, variant)
        base_key = (id(ruleset), None)
        if base_key not in self._scalar:
            self._scalar[base_key] = (ruleset, FastRuleset(ruleset))
        base = self._scalar[base_key][1]
        # A variant whose figures may make a formula fail that the text's cannot: its own backend,
        # whose analysis computes that formula (the text's shared functions skip it).
        fast = base if changed is ruleset else None if self.may_fail(ruleset) else _variant_fast(
            base, ruleset, changed)
        if fast is None:
            fast = FastRuleset(changed)
            self.rebuilt += 1
        self._scalar[key] = (ruleset, fast)
        return fast

    def run(self, profiles, day: datetime.date, chunk_rows: int = CHUNK_ROWS, *, lines: bool = False) -> BatchOutcome:
        """Totals of each profile (and each variant) for the contract year holding ``day``.

        Rows are evaluated by the columns in chunks of at most ``chunk_rows`` rows (memory);
        the rows they cannot vouch for, the parts of cut years and the rulesets they refuse
        go through the scalar path, counted in the outcome. ``lines`` (one variant only)
        also gives each profile's line amounts, as :class:`~.fastpath.FastTimeline` does.
        """
        from .diagnostic import EvaluationError
        timeline, renewal = self.timeline, self.timeline.renewal
        V, P = self.variants, len(profiles)
        if lines and V != 1:
            raise ValueError("line amounts are given for one variant only")
        line_amounts = [None] * P if lines else None
        money = _Money(timeline.resolve(day).quantum)
        exponent = timeline.resolve(day).quantum.as_tuple().exponent
        tasks: dict = {}  # id(ruleset) -> (ruleset, [(profile index, part index, first day)])
        plans = []  # per profile: (contract year or None, [(ruleset, first day, segment or None)])
        known = {}  # (profile, contract years) -> (year, names): the same for every day of that year
        for index, profile in enumerate(profiles):
            ruleset = timeline.resolve(day)
            year, names = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
            known[(index, ruleset.contract_years)] = (year, names)
            parts = [(ruleset, day, None)] if year is None else [
                (s.ruleset, s.start, s) for s in timeline.segments(year)]
            plans.append((year, parts))
            for part_index, (part_ruleset, start, _) in enumerate(parts):
                tasks.setdefault(id(part_ruleset), (part_ruleset, []))[1].append((index, part_index, start))
        totals = np.zeros((V, P), dtype=np.int64)
        sizes = np.full((V, P), -1, dtype=np.int64)
        done = np.zeros((V, P), dtype=bool)
        cut: dict = {}  # (profile, part, variant) -> (lines, size) for the parts of cut years, row by row
        parts_of: dict = {}  # (profile, part) -> the columns of that part over the variants
        pending = []  # (ruleset, profile, part, first day, variant): rows for the scalar path
        vector_rows = 0
        for ruleset, rows in tasks.values():
            vector = self.vector(ruleset)
            if vector is None:
                pending += [(ruleset, i, n, start, v) for i, n, start in rows for v in range(V)]
                continue
            R = len(rows)
            profile_index = np.array([i for i, _, _ in rows], dtype=np.int64)
            single = np.array([len(plans[i][1]) == 1 for i, _, _ in rows], dtype=bool)
            base = build_columns(ruleset, [(profiles[i], start, 0) for i, _, start in rows], renewal,
                                 [known.get((i, ruleset.contract_years)) for i, _, _ in rows])
            step = max(1, chunk_rows // R)
            for first in range(0, V, step):
                count = min(step, V - first)
                columns = tile(base, count)
                columns.variant = columns.variant + first
                try:
                    outcome = vector.run(columns)
                except VectorRefused as refusal:  # the dry run at build time should have seen it
                    self.refused[ruleset.id] = refusal.reason
                    pending += [(ruleset, i, n, start, v) for i, n, start in rows for v in range(first, first + count)]
                    continue
                sure = ~outcome.uncertain.reshape(count, R)
                total = outcome.total().reshape(count, R)
                size = outcome.size.reshape(count, R)
                take = sure & single[None, :]
                variant_index, row = np.nonzero(take)
                totals[variant_index + first, profile_index[row]] = total[variant_index, row]
                sizes[variant_index + first, profile_index[row]] = size[variant_index, row]
                done[variant_index + first, profile_index[row]] = True
                vector_rows += int(sure.sum())
                if lines:
                    self._lines_of(outcome, row, profile_index, line_amounts, money)
                cut_rows = np.nonzero(~single)[0]
                if len(cut_rows) and V >= _COMBINED_FROM:
                    self._keep_parts(outcome, cut_rows, rows, sure, size, first, count, R, V, parts_of)
                elif len(cut_rows):
                    self._cut_parts(outcome, cut_rows, rows, sure, size, first, count, R, cut, money)
                for k, r in zip(*np.nonzero(~sure)):
                    i, n, start = rows[r]
                    pending.append((ruleset, i, n, start, first + k))
        errors = []
        # The reference evaluates the day itself before the parts of its year (evaluate.assess), and
        # stops at its first failure: where the day's text has formulas that may fail, the day is run
        # too, by the scalar path, for the profiles FastTimeline runs it for (fastpath._point_needed).
        failed, points = self._points(profiles, day, plans, errors)
        # One failure per profile and variant, as the reference stops at its first: the day's, else the
        # earliest part's (the pending rows come text by text, not in the order of the parts).
        first_failure: dict = {}  # (profile, variant) -> (part, error)
        for ruleset, i, n, start, variant in pending:
            if (i, variant) in failed:
                continue
            try:
                result = self._scalar_run(ruleset, variant, profiles[i], start)
            except EvaluationError as error:
                if (i, variant) not in first_failure or n < first_failure[(i, variant)][0]:
                    first_failure[(i, variant)] = (n, error)
                continue
            size = result.size if result.size is not None else -1
            if len(plans[i][1]) == 1:
                totals[variant, i] = int(result.total.scaleb(-exponent))
                sizes[variant, i] = size
                done[variant, i] = True
                if lines:
                    line_amounts[i] = dict(result.amounts)
            else:
                cut[(i, n, variant)] = ([(k, v, result.runs_from.get(k)) for k, v in result.amounts.items()], size)
        errors += [(i, variant, error) for (i, variant), (_, error) in first_failure.items()]
        for index, (year, parts) in enumerate(plans):
            if len(parts) == 1:
                continue
            held = next(n for n, (_, _, s) in enumerate(parts) if s.start <= day <= s.end)
            columns = [parts_of.get((index, n)) for n in range(len(parts))]
            vouched = np.zeros(V, dtype=bool)
            # Over a few variants, numpy's cost per call outweighs the columns: row by row then.
            if V >= _COMBINED_FROM and all(c is not None for c in columns):
                vouched = self._combine(year, parts, columns, totals, sizes, index, held)
                done[:, index] |= vouched
            for variant in np.nonzero(~vouched)[0]:
                found = []
                for n, column in enumerate(columns):
                    entry = cut.get((index, n, variant))
                    if entry is None and column is not None and column["sure"][variant]:
                        entry = (self._part_lines(column, variant, exponent), int(column["size"][variant]))
                    found.append(entry)
                if any(entry is None for entry in found):
                    continue  # a part failed: its error is reported
                amounts, _ = combine(year, [(segment, entry[0]) for (_, _, segment), entry in zip(parts, found)])
                totals[variant, index] = int(sum(amounts.values(), Decimal(0)).scaleb(-exponent))
                sizes[variant, index] = found[held][1]
                done[variant, index] = True
                if lines:
                    line_amounts[index] = amounts
        for i, variant in failed:
            done[variant, i] = False
        return BatchOutcome(totals, sizes, timeline.resolve(day).quantum, len(pending) + points, vector_rows,
                            dict(self.refused), errors, done, tuple(ruleset for ruleset, _ in tasks.values()),
                            line_amounts, [year.number if year is not None else None for year, _ in plans]
                            if lines else None)

    def _scalar_run(self, ruleset, variant: int, profile, day: datetime.date):
        """The scalar run of one profile under ``variant``. The text's own figures were analysed for
        what may fail (plan.failing_maxima: the maxima its run computes); a variant's were not, so
        its run computes every maximum, as the reference does, for their failures."""
        fast = self.scalar(ruleset, variant)
        return fast.run(profile, day, self.timeline.renewal, maxima=fast.ruleset is not ruleset)

    def _points(self, profiles, day, plans, errors) -> tuple:
        """``(failed, runs)``: the scalar runs of the day itself (see :meth:`run`), their failures added
        to ``errors`` and given as (profile, variant) pairs, and how many runs were made."""
        from .diagnostic import EvaluationError
        from .fastpath import _point_needed
        ruleset = self.timeline.resolve(day)
        failed: set = set()
        # Under variants whose figures may make a formula fail, the day is run as the reference runs
        # it, always (the analysis of the text's own figures does not hold for theirs).
        always = self.may_fail(ruleset)
        if not always and not failing_formulas(plan_of(ruleset)):
            return failed, 0
        runs = 0
        for index, (year, parts) in enumerate(plans):
            # Outside a year the day is the part; else as FastTimeline decides it (a part starting
            # that day under its text is the day).
            segments = [segment for _, _, segment in parts]
            if year is None or always and any(s.start == day and s.ruleset is ruleset for s in segments) or (
                    not always and not _point_needed(ruleset, day, segments)):
                continue
            for variant in range(self.variants):
                runs += 1
                try:
                    self._scalar_run(ruleset, variant, profiles[index], day)
                except EvaluationError as error:
                    errors.append((index, variant, error))
                    failed.add((index, variant))
        return failed, runs

    @staticmethod
    def _lines_of(outcome, rows, profile_index, line_amounts, money):
        """The amounts of the lines that apply in the rows ``rows`` of ``outcome`` (one variant),
        in the plan's order of the steps, as Decimals, into ``line_amounts`` by profile."""
        for r in rows:
            line_amounts[profile_index[r]] = {}
        for line_id, column in outcome.amounts.items():
            applies = outcome.applies[line_id]
            for r in rows[applies[rows]]:
                line_amounts[profile_index[r]][line_id] = money(column[r])

    @staticmethod
    def _keep_parts(outcome, cut_rows, rows, sure, size, first, count, R, V, parts_of):
        """The parts of cut years in one pass, kept as columns over the variants for combining."""
        where = slice(first, first + count)
        amounts = {k: (v.reshape(count, R), outcome.applies[k].reshape(count, R)) for k, v in outcome.amounts.items()}
        runs = {k: (d.d.reshape(count, R), d.null.reshape(count, R) if d.null is not None else None)
                for k, d in outcome.runs_from.items()}
        for r in cut_rows:
            i, n, _ = rows[r]
            part = parts_of.get((i, n))
            if part is None:
                part = parts_of[(i, n)] = {"sure": np.zeros(V, dtype=bool), "size": np.full(V, -1, dtype=np.int64),
                                           "amounts": {}, "applies": {}, "runs": {}}
            part["sure"][where] = sure[:, r]
            part["size"][where] = size[:, r]
            for line_id, (column, applies) in amounts.items():
                if line_id not in part["amounts"]:
                    part["amounts"][line_id] = np.zeros(V)
                    part["applies"][line_id] = np.zeros(V, dtype=bool)
                part["amounts"][line_id][where] = column[:, r]
                part["applies"][line_id][where] = applies[:, r]
            for line_id, (days, null) in runs.items():
                if line_id not in part["runs"]:
                    part["runs"][line_id] = (np.zeros(V, dtype=np.int64), np.zeros(V, dtype=bool))
                held_days, held_null = part["runs"][line_id]
                held_days[where] = days[:, r]
                held_null[where] = null[:, r] if null is not None else False

    @staticmethod
    def _cut_parts(outcome, cut_rows, rows, sure, size, first, count, R, cut, money):
        """The parts of cut years in one pass, as the scalar path gives them to combine(): (line id,
        amount, runs_from) of the lines that apply, by (profile, part, variant)."""
        days: dict = {}
        for k in range(count):
            vouched = cut_rows[sure[k, cut_rows]]
            if not len(vouched):
                continue
            per_line = []
            for line_id, column in outcome.amounts.items():
                held = outcome.runs_from.get(line_id)
                per_line.append((line_id, column.reshape(count, R)[k].tolist(),
                                 outcome.applies[line_id].reshape(count, R)[k].tolist(),
                                 None if held is None else held.d.reshape(count, R)[k].tolist(),
                                 None if held is None or held.null is None else held.null.reshape(count, R)[k].tolist()))
            sizes = size[k].tolist()
            for r in vouched.tolist():
                lines = []
                for line_id, amounts, applies, runs, null in per_line:
                    if not applies[r]:
                        continue
                    day = None
                    if runs is not None and not (null is not None and null[r]):
                        day = days.get(runs[r])
                        if day is None:
                            day = days[runs[r]] = datetime.date.fromordinal(runs[r])
                    lines.append((line_id, money(amounts[r]), day))
                i, n, _ = rows[r]
                cut[(i, n, first + k)] = (lines, sizes[r])

    @staticmethod
    def _part_lines(part: dict, variant: int, exponent: int) -> list:
        """(line id, amount, runs_from) of the lines that apply in one part, for combine()."""
        lines = []
        for line_id, column in part["amounts"].items():
            if not part["applies"][line_id][variant]:
                continue
            runs = part["runs"].get(line_id)
            day = None
            if runs is not None and not runs[1][variant]:
                day = datetime.date.fromordinal(int(runs[0][variant]))
            lines.append((line_id, Decimal(int(column[variant])).scaleb(exponent), day))
        return lines

    @staticmethod
    def _combine(year, parts, columns, totals, sizes, index, held):
        """:func:`~.timeline.combine` over the variants of one cut year, as columns.

        Each line counts each part for the share of its running days (:func:`~.timeline._running`);
        a line computed from other lines, the average of theirs weighted by their amounts there
        (:func:`~.timeline.part_weights`); the year's total is their sum, rounded once. Floats
        with error bounds as in :class:`_Columns`: returns the variants whose rounding of the
        total is vouched for (their totals and tailles are written); the others are combined
        row by row, exactly, by the caller.
        """
        V = totals.shape[0]
        start, end = year.start.toordinal(), year.end.toordinal()
        sure = np.ones(V, dtype=bool)
        acc, err = {}, {}
        for (ruleset, _, segment), part in zip(parts, columns):
            sure &= part["sure"]
            part_start, part_end = segment.start.toordinal(), segment.end.toordinal()
            weights, errors = {}, {}
            for line_id in part["amounts"]:
                runs = part["runs"].get(line_id)
                if runs is None:
                    runs_from = np.full(V, start, dtype=np.int64)
                else:
                    runs_from = np.where(runs[1], start, np.maximum(runs[0], start))
                first = np.maximum(part_start, runs_from)
                running = np.where(first <= part_end, part_end - first + 1, 0).astype(np.float64)
                days = (end - runs_from + 1).astype(np.float64)
                w = np.where(runs_from > end, 1.0, running / np.where(days > 0, days, 1.0))
                weights[line_id], errors[line_id] = w, w * (2 * EPS)
            amounts = {k: np.where(part["applies"][k], v, 0.0) for k, v in part["amounts"].items()}
            for line_id in part["amounts"]:
                sources = [o for o in ruleset.reads.get(line_id, ()) if o in amounts and o != line_id]
                if not sources:
                    continue
                total = sum(amounts[o] for o in sources)
                weighted = sum(amounts[o] * weights[o] for o in sources)
                weighted_error = sum(np.abs(amounts[o]) * errors[o] for o in sources) + np.abs(weighted) * (4 * EPS)
                average = weighted / np.where(total != 0, total, 1.0)
                average_error = weighted_error / np.where(total != 0, np.abs(total), 1.0) + np.abs(average) * EPS
                weights[line_id] = np.where(total != 0, average, weights[line_id])
                errors[line_id] = np.where(total != 0, average_error, errors[line_id])
            for line_id, amount in amounts.items():
                product = amount * weights[line_id]
                acc[line_id] = acc.get(line_id, 0.0) + product
                err[line_id] = err.get(line_id, 0.0) + np.abs(amount) * errors[line_id] + np.abs(product) * (2 * EPS)
        # The year's total is the lines' exact amounts added, rounded once (timeline.combine): the
        # sum's error is the lines' errors plus one rounding per addition, on at most the sum of
        # the magnitudes.
        exact = np.zeros(V)
        bound = np.zeros(V)
        magnitudes = np.zeros(V)
        for line_id, value in acc.items():
            exact += value
            bound += err[line_id]
            magnitudes += np.abs(value)
        bound = (bound + magnitudes * ((len(acc) + 2) * EPS)) * (1 + EPS)
        magnitude = np.abs(exact)
        units = np.floor(magnitude + 0.5)
        distance = magnitude + 0.5 - units
        sure &= (np.minimum(distance, 1 - distance) > bound) & (magnitudes < EXACT)
        total = np.copysign(units, exact)
        totals[sure, index] = total[sure].astype(np.int64)
        sizes[sure, index] = columns[held]["size"][sure]
        return sure


def batch_rows(timeline, profiles, labels, day: datetime.date):
    """The rows :func:`~.batch.evaluate_many` gives (:class:`~.batch.BatchRow`, in input order),
    computed by the columns: ``(rows, outcome)``, the outcome saying how many evaluations the
    scalar path made and which texts it could not vectorise. Raises InputError with every
    evaluation failure, in input order, as evaluate_many does."""
    from .batch import BatchRow
    from .diagnostic import InputError

    outcome = VectorTimeline(timeline).run(profiles, day, lines=True)
    if outcome.errors:
        problems = []
        for _, _, error in sorted(outcome.errors, key=lambda entry: entry[0]):
            problems.extend(error.diagnostics)
        raise InputError(problems)
    ruleset = timeline.resolve(day)
    mission_of: dict = {}
    for text in outcome.rulesets:
        mission_of.update({line.id: line.mission for line in text.lines})
    exponent = outcome.quantum.as_tuple().exponent
    rows = []
    for index, (profile, label) in enumerate(zip(profiles, labels)):
        amounts = outcome.lines[index]
        missions: dict = {}
        for line_id, amount in amounts.items():
            key = mission_of.get(line_id) or ""
            missions[key] = missions.get(key, _ZERO) + amount
        size = int(outcome.sizes[0, index])
        year = outcome.years[index]
        out = None
        if year is None:
            out = "not_signed" if profile.contract_signed is None or day < profile.contract_signed else "ended"
        rows.append(BatchRow(label, profile.name, ruleset.id, size if size >= 0 else None, year,
                             Decimal(int(outcome.totals[0, index])).scaleb(exponent), missions, amounts, out))
    return rows, outcome


@dataclasses.dataclass
class YearLines:
    """Each profile's contract year as :func:`~.evaluate.assess` gives its lines: ``lines[i]`` the
    (line id, amount) of the lines that apply, in the reference's order; ``totals[i]``; and
    ``errors`` (profile index -> EvaluationError) for the profiles that fail."""

    lines: list
    totals: list
    mission_of: dict
    errors: dict
    outcome: BatchOutcome
    sizes: list = dataclasses.field(default_factory=list)  # the taille (None when none)


def year_lines(timeline, profiles, day: datetime.date) -> YearLines:
    """The lines and totals of ``profiles`` under ``timeline`` on ``day``, computed by the columns,
    in the order the reference evaluator lists them (the texts' order of lines; across a cut
    year, the last text's, see :func:`~.evaluate.assess`)."""
    from .evaluate import _line_order

    outcome = VectorTimeline(timeline).run(profiles, day, lines=True)
    errors = {}
    for index, _, error in outcome.errors:
        errors.setdefault(index, error)
    renewal = timeline.renewal
    orders: dict = {}
    mission_of: dict = {}
    lines, totals = [], []
    exponent = outcome.quantum.as_tuple().exponent
    for index, profile in enumerate(profiles):
        if index in errors:
            lines.append(())
            totals.append(None)
            continue
        ruleset = timeline.resolve(day)
        year, _ = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
        texts = (ruleset,) if year is None else tuple(s.ruleset for s in timeline.segments(year))
        key = tuple(id(text) for text in texts)
        order = orders.get(key)
        if order is None:
            order = orders[key] = {line_id: n for n, line_id in enumerate(_line_order(list(texts)))}
            for text in texts:
                mission_of.update({line.id: line.mission for line in text.lines})
        amounts = outcome.lines[index]
        lines.append(sorted(amounts.items(), key=lambda item: order[item[0]]))
        totals.append(Decimal(int(outcome.totals[0, index])).scaleb(exponent))
    sizes = [int(size) if size >= 0 else None for size in outcome.sizes[0]]
    return YearLines(lines, totals, mission_of, errors, outcome, sizes)
