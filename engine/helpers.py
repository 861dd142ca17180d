"""The functions a ruleset's formulas may call: small, pure, generic.

Nothing here knows a mission, a taille or an amount of any text: those are data
in the rulesets. Dates are :class:`datetime.date`; shares and amounts
:class:`decimal.Decimal`.
"""

from __future__ import annotations

import calendar
import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from .diagnostic import msg
from .expressions import ExpressionFailure

__all__ = [
    "add_months",
    "add_years",
    "days_between",
    "prorata_temporis",
    "count_between",
    "as_date",
    "round_half_up",
    "round_down",
    "smallest",
    "largest",
    "variable_part",
    "count_true",
    "non_negative",
    "check_shares",
    "PURE_FUNCTIONS",
    "MISSION_FUNCTIONS",
    "PROFILE_FUNCTIONS",
    "LINE_FUNCTIONS",
    "LINE_FIELDS",
]


_ZERO = Decimal(0)
_ONE = Decimal(1)
_MONTH_DAYS = (None, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_date = datetime.date
_COMPARABLE = (datetime.date, int, Decimal)  # exact types: a bool or a datetime is none of them

# A date moved by more than this many years leaves the calendar the engine knows
# (schema.MIN_YEAR..MAX_YEAR is far narrower): refused before any arithmetic.
MAX_YEARS_MOVED = 1000
_MONTHS_MOVED = 12 * MAX_YEARS_MOVED


# The units a date moves by, in the reader's language.
_UNITS = {"months": msg("months"), "years": msg("years")}


def _not_a_power_of_ten(function: str, text):
    return msg("{function} rounds to a power of ten such as '0.01', 1 or 100, not {value}", function=function,
               value=repr(text))


def _whole(function: str, value, unit: str, limit: int) -> int:
    """``value`` as a whole number of ``unit`` within ±``limit``; ValueError otherwise.

    >>> _whole("add_years", Decimal("2.0"), "years", 1000)
    2
    >>> _whole("add_years", 1.5, "years", 1000)
    Traceback (most recent call last):
    ...
    ValueError: add_years takes a whole number of years, not 1.5
    """
    if type(value) is int and -limit <= value <= limit:  # the common case, checked the same way below
        return value
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        raise TypeError(f"{function} takes a number of {unit}, not {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite() or not -limit <= value <= limit:
        raise ValueError(msg("{function} moves a date by at most {limit} {unit}", function=function, limit=limit,
                             unit=_UNITS[unit]))
    if int(value) != value:
        raise ValueError(msg("{function} takes a whole number of {unit}, not {value}", function=function,
                             unit=_UNITS[unit], value=value))
    return int(value)


def _amount(function: str, value) -> Decimal:
    """A finite number (never a text, a NaN or an infinity) as a Decimal."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise TypeError(f"{function} takes a number, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(msg("{function} takes a number, not {value}", function=function, value=value))
    return value


def _quantum(function: str, text) -> Decimal:
    """The quantum of a rounding: a positive power of ten such as '0.01' or 1."""
    try:
        value = _amount(function, Decimal(text) if isinstance(text, str) and len(text) <= 20 else text)
    except (TypeError, ValueError, ArithmeticError):
        raise ValueError(_not_a_power_of_ten(function, text)) from None
    if value <= 0 or value.normalize().as_tuple().digits != (1,) or abs(value.adjusted()) > 18:
        raise ValueError(_not_a_power_of_ten(function, text))
    return value


def add_months(day: datetime.date, months) -> datetime.date:
    """``day`` moved by whole ``months``; the 31st becomes the month's last day.

    >>> add_months(datetime.date(2022, 1, 31), 1)
    datetime.date(2022, 2, 28)
    >>> add_months(datetime.date(2022, 3, 15), 18)
    datetime.date(2023, 9, 15)
    >>> add_months(datetime.date(2022, 3, 15), 1.5)
    Traceback (most recent call last):
    ...
    ValueError: add_months takes a whole number of months, not 1.5
    """
    if not (type(months) is int and -_MONTHS_MOVED <= months <= _MONTHS_MOVED):  # _whole's common case inline
        months = _whole("add_months", months, "months", _MONTHS_MOVED)
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        last = calendar.monthrange(year, month)[1]  # its own error, as before
    elif month == 2:
        last = 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28  # calendar.isleap
    else:
        last = _MONTH_DAYS[month]
    dom = day.day
    return _date(year, month, dom if dom <= last else last)


def add_years(day: datetime.date, years) -> datetime.date:
    """``day`` moved by whole ``years``; 29 February becomes 28 February.

    >>> add_years(datetime.date(2020, 2, 29), 1)
    datetime.date(2021, 2, 28)
    >>> add_years(datetime.date(2020, 2, 29), 4)
    datetime.date(2024, 2, 29)
    """
    year = day.year + _whole("add_years", years, "years", MAX_YEARS_MOVED)
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        raise ValueError(msg("add_years gives the year {year}, outside the calendar", year=year))
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a common year
        return day.replace(year=year, day=28)


def days_between(start: datetime.date, end: datetime.date) -> int:
    """Days from ``start`` to ``end`` (negative when ``end`` comes first).

    >>> days_between(datetime.date(2022, 3, 15), datetime.date(2023, 3, 15))
    365
    """
    return (end - start).days


def prorata_temporis(since, period_start: datetime.date, period_end: datetime.date) -> Decimal:
    """The share of a period (both ends included) that runs from ``since`` on.

    1 when ``since`` is on or before the start, 0 when it is after the end or None.

    >>> prorata_temporis(datetime.date(2022, 9, 15), datetime.date(2022, 3, 15), datetime.date(2023, 3, 14))
    Decimal('0.4958904109589041095890410959')
    >>> prorata_temporis(None, datetime.date(2022, 3, 15), datetime.date(2023, 3, 14))
    Decimal('0')
    """
    if since is None or since > period_end:
        return _ZERO
    if since <= period_start:
        return _ONE
    end = period_end.toordinal()
    return Decimal(end - since.toordinal() + 1) / Decimal(end - period_start.toordinal() + 1)


def count_between(days, start: datetime.date, end: datetime.date) -> int:
    """How many of ``days`` fall from ``start`` to ``end``, both included.

    >>> count_between([datetime.date(2023, 1, 15)], datetime.date(2022, 3, 15), datetime.date(2023, 3, 14))
    1
    """
    if (type(days) is tuple or type(days) is list) and not days:  # most profiles state no crisis
        return 0
    return sum(1 for day in days if start <= day <= end)


def as_date(text: str) -> datetime.date:
    """A date written YYYY-MM-DD in a formula.

    >>> as_date("2022-09-30")
    datetime.date(2022, 9, 30)
    """
    return datetime.date.fromisoformat(text)


def _round(function: str, amount, quantum, rounding) -> Decimal:
    value = _amount(function, amount)
    step = _quantum(function, quantum)
    if step >= 1:  # to the ten, the hundred euros: quantize() alone would keep the euro
        return (value / step).quantize(Decimal(1), rounding=rounding) * step
    return value.quantize(step, rounding=rounding)


def round_half_up(amount, quantum="0.01") -> Decimal:
    """``amount`` rounded half up to ``quantum``: the cent by default, 1 for the euro,
    100 for the hundred euros (a power of ten, as a number or a text).

    >>> round_half_up(Decimal("2.345"))
    Decimal('2.35')
    >>> round_half_up(Decimal("1250"), 100)
    Decimal('1300')
    >>> round_half_up(Decimal("1250"), 3)
    Traceback (most recent call last):
    ...
    ValueError: round_half_up rounds to a power of ten such as '0.01', 1 or 100, not 3
    """
    return _round("round_half_up", amount, quantum, ROUND_HALF_UP)


def round_down(amount, quantum="1") -> Decimal:
    """``amount`` rounded towards zero to ``quantum``: the euro by default, '0.01' for the
    cent, 100 for the hundred euros (a power of ten, as a number or a text).

    >>> round_down(Decimal("7.9"))
    Decimal('7')
    >>> round_down(Decimal("12345.67"), 100)
    Decimal('12300')
    >>> round_down(Decimal("7.999"), "0.01")
    Decimal('7.99')
    """
    return _round("round_down", amount, quantum, ROUND_DOWN)


def variable_part(maximum, rate, earned):
    """A mission's variable part: the tiers its indicators reached, capped at the maximum,
    when the contract measures them (``earned`` not None); else the maximum times the
    rate of achievement (FACTS.md §7).

    >>> variable_part(Decimal(1000), Decimal("0.5"), None)
    Decimal('500.0')
    >>> variable_part(Decimal(1000), Decimal("0.5"), Decimal(400))
    Decimal('400')
    >>> variable_part(Decimal(1000), Decimal(0), Decimal(1200))
    Decimal('1000')
    """
    return min(maximum, earned) if earned is not None else maximum * rate


def _comparable(function: str, values) -> tuple:
    """Two or more numbers, or two or more dates: what min and max compare."""
    if len(values) == 2 and type(values[0]) is type(values[1]) and type(values[0]) in _COMPARABLE:
        return values  # two dates, two whole numbers, two decimals: what the checks below accept
    if len(values) < 2:
        raise ExpressionFailure("E402", msg("{function}() compares two values or more, not {count}",
                                            function=function, count=len(values)))
    numbers = all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in values)
    dates = all(isinstance(v, datetime.date) for v in values)
    if not (numbers or dates):
        raise ExpressionFailure("E402", msg("{function}() compares numbers with numbers or dates with dates, "
                                            "not {kinds}", function=function,
                                            kinds=", ".join(_kind(v) for v in values)))
    return values


def _kind(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, (int, Decimal)):
        return "number"
    return type(value).__name__


def smallest(*values):
    """The smallest of two or more numbers (or dates): ``min(plafond, population * 0.80)``.

    >>> smallest(3, Decimal("2.5"))
    Decimal('2.5')
    """
    if len(values) == 2:  # as largest
        first, second = values
        if type(first) is type(second) and type(first) in _COMPARABLE:
            return second if second < first else first  # min's choice: the first of equal values
    return min(_comparable("min", values))


def largest(*values):
    """The largest of two or more numbers (or dates): ``max(plancher, ...)``.

    >>> largest(3, Decimal("2.5"))
    3
    """
    if len(values) == 2:  # two values of one exact type (two dates...): what _comparable accepts, compared inline
        first, second = values
        if type(first) is type(second) and type(first) in _COMPARABLE:
            return second if second > first else first  # max's choice: the first of equal values
    return max(_comparable("max", values))


def count_true(*conditions) -> int:
    """How many of the conditions hold; each must be true or false (what count_missions expands to).

    >>> count_true(True, False, True)
    2
    """
    for value in conditions:
        if value is not True and value is not False:
            raise ExpressionFailure("E402", msg("a condition counted over the missions gives {value}, not "
                                                "true or false", value=_kind(value)))
    return sum(1 for value in conditions if value)


def non_negative(amount):
    """``amount``, refused (E411) when below zero. Every line's amount passes through it,
    unless the line says ``clawback: true`` (an amount the CPTS pays back).

    >>> non_negative(Decimal("12.5"))
    Decimal('12.5')
    """
    if isinstance(amount, (int, Decimal)) and not isinstance(amount, bool) and amount < 0:
        raise ExpressionFailure("E411", msg("the amount is negative ({value}): a line may pay a negative "
                                            "amount (money paid back) only when it says clawback: true",
                                            value=amount))
    return amount


def check_shares(shares) -> None:
    """The shares of a payment rule's installments: numbers from 0 to 1 adding up to 1.

    Raises ExpressionFailure (E410) otherwise: the last installment pays what the
    others leave (to absorb the cents of rounding), so shares of 0.5 + 0.3 would
    silently pay 0.5 + 0.5.

    >>> check_shares([Decimal("0.75"), Decimal("0.25")])
    >>> check_shares([Decimal("0.5"), Decimal("0.3")])
    Traceback (most recent call last):
    ...
    aci_rules.engine.expressions.ExpressionFailure: the installments add up to 0.8, not 1 (100 %)
    """
    for share in shares:
        if isinstance(share, bool) or not isinstance(share, (int, Decimal)) or not 0 <= share <= 1:
            raise ExpressionFailure("E410", msg("an installment's share gives {value}, not a number from 0 to 1",
                                                value=share if isinstance(share, (int, Decimal)) else _kind(share)))
    total = sum(shares, Decimal(0))
    if total != 1:
        raise ExpressionFailure("E410", msg("the installments add up to {total}, not 1 (100 %)", total=total))


# What a formula can call, by the name it uses. The mission functions are bound
# to the profile at evaluation time (see evaluate.py).
PURE_FUNCTIONS = {
    "add_months": add_months,
    "add_years": add_years,
    "days_between": days_between,
    "prorata_temporis": prorata_temporis,
    "count_between": count_between,
    "as_date": as_date,
    "round_half_up": round_half_up,
    "round_down": round_down,
    "min": smallest,
    "max": largest,
    "variable_part": variable_part,
    "count_true": count_true,
    "non_negative": non_negative,
}

# Functions whose first argument is a mission id, checked against the ruleset's
# missions when it is compiled.
MISSION_FUNCTIONS = ("mission_started", "mission_deployed", "mission_achievement")

# Functions that read the profile, bound to it when it is evaluated.
PROFILE_FUNCTIONS = ("population_on",)

# Functions that sum other lines: sum_lines('volet', 'fixe', 'variable') adds the
# amounts (sum_maxima the maxima) of the lines whose volet is fixe or variable.
# Their arguments are literal, so the lines they read are known when the ruleset
# is compiled and ordered before the line that sums them.
LINE_FUNCTIONS = ("sum_lines", "sum_maxima")
# 'kind' selects the lines of the missions of a kind (socle, optionnelle); the compiler
# turns it into the ids of those lines.
LINE_FIELDS = ("volet", "mission", "id", "kind")
