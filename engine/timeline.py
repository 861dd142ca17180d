"""Time: which contract runs on a day, which text applies, and the one entitlement of a contract year.

Three rules (DESIGN.md § Time), kept here so that every command and both evaluation
paths read time alike:

- **one amount per contract year**: a contract year is cut where a text, or a provision
  with its own date, enters into force; each part is evaluated on its first day under
  the text that applies then, and each line counts each part for its days
  (:func:`year_segments`, :func:`combine`). Whatever date inside the year asks, the
  year's amount is the same;
- **a text applies from its own date**: a ruleset asked for by name applies from its
  in-force date, the texts it amends before that (:class:`Timeline`); applying it
  earlier is an explicit choice (``as_if_from``);
- **contracts last five years**: later contracts come from the profile
  (``contracts:``), or from an assumption the user states (``renewal``: a new contract
  on each fifth anniversary after the last one known, under the text then in force);
  outside a contract there is no contract year (:func:`contract_on`).

The evaluators (:func:`~.evaluate.evaluate`, :class:`~.fastpath.FastRuleset`) each
compute one ruleset on one day; this module decides which ruleset and which day, and
combines their amounts.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import math
from decimal import Decimal
from fractions import Fraction

from .diagnostic import msg
from .expressions import DECIMAL_CONTEXT
from .helpers import MAX_YEARS_MOVED, add_years

__all__ = ["Contract", "ContractYear", "year_key", "Segment", "Timeline", "contract_on", "contract_year_on",
           "contract_years_of", "year_segments", "part_weights", "combine", "time_names", "time_values", "TIME_VALUES",
           "RENEWAL_ASSUMPTION"]

_ONE_DAY = datetime.timedelta(days=1)
_date = datetime.date
_FIRST_YEAR, _LAST_YEAR = datetime.MINYEAR, datetime.MAXYEAR

RENEWAL_ASSUMPTION = msg("renewal assumed (--assume-renewal): a new contract of the same length at each end "
                         "of the last contract known, under the text then in force")


@dataclasses.dataclass(frozen=True)
class Contract:
    """One ACI contract: its rank among the profile's contracts, signature, last day."""

    number: int  # 1 for the first contract, 2 for the next...
    signed: datetime.date
    end: datetime.date | None  # last day, included; None when the ruleset gives no duration
    assumed: bool = False  # True when it comes from the renewal assumption, not the profile


def year_key(contract: int | None, number: int):
    """The key of year ``number`` of contract ``contract`` in a profile's rates and measures.

    A profile writes year k of its first contract ``k`` (as it always has) and year k of
    contract n ``n.k`` (``2.1``: the first year of the second contract); the keys are
    ``k`` and ``(n, k)``, so that a later contract never reads the first one's figures.

    >>> year_key(1, 3), year_key(None, 3), year_key(2, 1)
    (3, 3, (2, 1))
    """
    return number if contract is None or contract <= 1 else (contract, number)


@dataclasses.dataclass(frozen=True)
class ContractYear:
    number: int  # within its contract, from 1
    start: datetime.date
    end: datetime.date  # last day, included
    contract: Contract | None = None

    @property
    def key(self):
        """This year's key in a profile's achievement rates and indicator measures (:func:`year_key`)."""
        return year_key(self.contract.number if self.contract is not None else None, self.number)


def _anniversary(signed: datetime.date, years: int) -> datetime.date:
    """:func:`~.helpers.add_years` of a whole number of years, without its checks where they cannot fail
    (the same rule: 29 February becomes 28 February in a common year); outside the calendar, add_years
    itself, for its own error."""
    year = signed.year + years
    if not (_FIRST_YEAR <= year <= _LAST_YEAR and -MAX_YEARS_MOVED <= years <= MAX_YEARS_MOVED):
        return add_years(signed, years)
    day = signed.day
    if day == 29 and signed.month == 2 and (year % 4 or not year % 100 and year % 400):
        day = 28
    return _date(year, signed.month, day)


def _elapsed(signed: datetime.date, day: datetime.date) -> int:
    """The whole years from ``signed`` to ``day`` (``day`` not before ``signed``): the largest n with
    ``add_years(signed, n) <= day`` (a 29 February signature has its anniversaries on 28 February
    in common years).

    >>> d = datetime.date
    >>> _elapsed(d(2020, 2, 29), d(2021, 2, 27)), _elapsed(d(2020, 2, 29), d(2021, 2, 28))
    (0, 1)
    >>> _elapsed(d(2020, 2, 29), d(2024, 2, 28)), _elapsed(d(2020, 2, 29), d(2024, 2, 29))
    (3, 4)
    """
    year = day.year
    month, date_day = signed.month, signed.day
    if date_day == 29 and month == 2 and (year % 4 or not year % 100 and year % 400):
        date_day = 28
    elapsed = year - signed.year
    if day.month < month or day.month == month and day.day < date_day:
        elapsed -= 1
    return elapsed


def _contract(signatures, day: datetime.date, years: int | None, renewal: bool):
    """``(number, signed, end, assumed)`` of the contract running on ``day`` (see :func:`contract_on`), or None."""
    found = None
    for index, signed in enumerate(signatures):
        if signed > day:
            break
        found = index
    if found is None:
        return None
    signed = signatures[found]
    following = signatures[found + 1] if found + 1 < len(signatures) else None
    if years is None:
        return found + 1, signed, following - _ONE_DAY if following else None, False
    end = _anniversary(signed, years) - _ONE_DAY
    if following is not None and following <= end:
        end = following - _ONE_DAY
    if day <= end:
        return found + 1, signed, end, False
    if not renewal or following is not None:
        return None
    # Renewed on every fifth anniversary of the last signature (counted from it, so that a
    # 29 February signature keeps its 28 February anniversaries): the terms whole, since it.
    terms = _elapsed(signed, day) // years
    return (found + 1 + terms, _anniversary(signed, years * terms),
            _anniversary(signed, years * (terms + 1)) - _ONE_DAY, True)


def contract_on(signatures, day: datetime.date, years: int | None, renewal: bool = False) -> Contract | None:
    """The contract running on ``day``, from the signature dates a profile states.

    A contract runs from its signature to the day before its ``years``-th anniversary,
    or to the day before the next contract's signature when that comes first. With
    ``renewal``, the last contract known is followed by new ones on each of its
    ``years``-th anniversaries. None before the first signature, between contracts,
    or after the last one.

    >>> d = datetime.date
    >>> contract_on((d(2019, 10, 1),), d(2024, 9, 30), 5).end
    datetime.date(2024, 9, 30)
    >>> contract_on((d(2019, 10, 1),), d(2024, 10, 1), 5) is None
    True
    >>> contract_on((d(2019, 10, 1),), d(2027, 6, 1), 5, renewal=True)
    Contract(number=2, signed=datetime.date(2024, 10, 1), end=datetime.date(2029, 9, 30), assumed=True)
    """
    found = _contract(signatures, day, years, renewal)
    return None if found is None else Contract(*found)


def _year_parts(signatures, day: datetime.date, years: int | None, renewal: bool):
    """``(contract, number, start, end)`` of the contract year ``day`` falls in (``contract`` as
    :func:`_contract` gives it), or None: the one computation of :func:`contract_year_on` and of
    :func:`time_values`, on day numbers and a few dates, no object made."""
    contract = _contract(signatures, day, years, renewal)
    if contract is None:
        return None
    signed, last = contract[1], contract[2]
    elapsed = _elapsed(signed, day)
    start = _anniversary(signed, elapsed) if elapsed else signed
    end = _anniversary(signed, elapsed + 1) - _ONE_DAY
    if last is not None and last < end:
        end = last
    return contract, elapsed + 1, start, end


def contract_year_on(signatures, day: datetime.date, years: int | None, renewal: bool = False):
    """The contract year ``day`` falls in (see :func:`contract_on`), or None.

    Year k of a contract runs from its (k-1)-th anniversary to the day before the k-th,
    or to the contract's last day when that comes first.
    """
    parts = _year_parts(signatures, day, years, renewal)
    if parts is None:
        return None
    contract, number, start, end = parts
    return ContractYear(number, start, end, Contract(*contract))


def contract_years_of(signatures, years: int | None, renewal: bool, until: datetime.date | None):
    """Every contract year of the contracts a profile states (and assumed ones up to ``until``)."""
    found, day = [], signatures[0] if signatures else None
    while day is not None and (until is None or day <= until):
        year = contract_year_on(signatures, day, years, renewal)
        if year is None:
            later = [s for s in signatures if s > day]
            day = later[0] if later else None
            continue
        found.append(year)
        day = year.end + _ONE_DAY
        if years is None and until is None and len(found) >= 50:
            break
    return found


def time_names(profile, day: datetime.date, years: int | None, renewal: bool, in_force: datetime.date):
    """``(year, names)``: the contract year of ``day`` and what formulas read of time."""
    year = contract_year_on(profile.signatures, day, years, renewal)
    contract = year.contract if year else None
    names = {
        "contract_year": year.number if year else None,
        "contract_year_start": year.start if year else None,
        "contract_year_end": year.end if year else None,
        # The contract running on the day; before any contract, the first one the profile states.
        "contract_signed": contract.signed if contract else profile.contract_signed,
        "contract_end": contract.end if contract else _first_end(profile, years),
        "text_in_force": in_force,
    }
    return year, names


# The order of the values :func:`time_values` gives (names.TIME_NAMES, which fastpath checks against it).
TIME_VALUES = ("contract_signed", "contract_year", "contract_year_start", "contract_year_end", "contract_end",
               "text_in_force")


def time_values(profile, day: datetime.date, years: int | None, renewal: bool, in_force: datetime.date) -> tuple:
    """``(number, key, values)``: what :func:`time_names` gives, for a backend that needs no objects:
    the contract year's number and key (:func:`year_key`; None outside a contract) and the values
    of the names in the order of :data:`TIME_VALUES`. The same computation (:func:`_year_parts`)."""
    signed = profile.contract_signed
    later = profile.later_contracts
    if not later and years is not None and signed is not None and signed <= day:
        # One contract stated (most profiles): inside it, the year is the whole years elapsed (as
        # _year_parts computes it, without the walk over the signatures); a signature other than a
        # 29 February, well inside the calendar, has its anniversaries on its own day and month.
        first, month, dom = signed.year, signed.month, signed.day
        plain = dom != 29 or month != 2  # no 29 February to move to the 28th in a common year
        if plain:  # _elapsed inline
            elapsed = day.year - first
            if day.month < month or day.month == month and day.day < dom:
                elapsed -= 1
        else:
            elapsed = _elapsed(signed, day)
        if elapsed < years:  # day <= the contract's last day, the day before its years-th anniversary
            number = elapsed + 1
            if plain and 0 < years <= MAX_YEARS_MOVED and first + years <= _LAST_YEAR:
                # date(y, m, d) positionally: half the time of signed.replace(year=y), a keyword call.
                start = _date(first + elapsed, month, dom) if elapsed else signed
                end = _date(first + number, month, dom) - _ONE_DAY
                last = end if number == years else _date(first + years, month, dom) - _ONE_DAY
            else:
                start = _anniversary(signed, elapsed) if elapsed else signed
                end = _anniversary(signed, number) - _ONE_DAY
                last = end if number == years else _anniversary(signed, years) - _ONE_DAY
            return number, number, (signed, number, start, end, last, in_force)
    parts = _year_parts((signed,) + later if signed is not None else later, day, years, renewal)
    if parts is None:
        return None, None, (signed, None, None, None, _first_end(profile, years), in_force)
    (contract, contract_signed, contract_end, _), number, start, end = parts
    return number, (number if contract <= 1 else (contract, number)), (
        contract_signed, number, start, end, contract_end, in_force)


def _first_end(profile, years):
    if profile.contract_signed is None or years is None:
        return None
    first = _contract(profile.signatures, profile.contract_signed, years, False)
    return first[2] if first else None


@dataclasses.dataclass(frozen=True)
class Segment:
    """A part of a contract year under one text: its days and the ruleset that applies."""

    start: datetime.date
    end: datetime.date
    ruleset: object  # Ruleset

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class Timeline:
    """Which ruleset applies on each day, where contract years are cut, and the assumptions made.

    ``resolve(day)`` gives the ruleset of a day; ``change_days`` every day the answer of
    ``resolve`` may change (a text or a provision enters into force, a text ends the day before); ``renewal`` the renewal assumption; ``requested`` the
    id of a ruleset asked for by name (None: the texts in force), ``as_if_from`` the day
    it is applied from when the user forces it outside its own dates.
    """

    def __init__(self, resolve, change_days, *, renewal: bool = False, requested: str | None = None,
                 own_date: datetime.date | None = None, as_if_from: datetime.date | None = None,
                 enacted: bool = True):
        self.change_days = frozenset(change_days)
        self._resolve = resolve
        self._days = sorted(self.change_days)
        self._by_stretch: dict = {}
        self._segments: dict = {}
        self.renewal = renewal
        self.requested = requested
        self.own_date = own_date
        self.as_if_from = as_if_from
        self.enacted = enacted

    def mapped(self, transform) -> "Timeline":
        """The same timeline, each ruleset passed through ``transform`` (a mutant, say)."""
        return Timeline(lambda day: transform(self.resolve(day)), self.change_days, renewal=self.renewal,
                        requested=self.requested, own_date=self.own_date, as_if_from=self.as_if_from,
                        enacted=self.enacted)

    def resolve(self, day: datetime.date):
        """The ruleset that applies on ``day``.

        The text that applies changes only on a change day, so the answer is kept for each
        stretch of days between two of them (``resolve`` runs for many profiles).
        """
        stretch = bisect.bisect_right(self._days, day)
        found = self._by_stretch.get(stretch)
        if found is None:
            found = self._by_stretch[stretch] = self._resolve(day)
        return found

    def assumptions(self, applied=()) -> list:
        """What the results rest on beyond the texts and the profile, for a person to read (messages):
        the text applied outside its dates, the renewal assumed, and the own figures of each
        proposal among the rulesets ``applied`` (:func:`~.provenance.proposed_assumptions`: its
        definitions, lines, parameters... tagged ``proposed``), each once."""
        found = []
        if self.as_if_from is not None:
            found.append(msg("{text} applied as if in force from {day} (its own date: {own})", text=self.requested,
                             day=self.as_if_from, own=self.own_date))
        elif self.requested is not None and not self.enacted:
            found.append(msg("{text} from its own date of entry into force ({own}), the texts it amends before",
                             text=self.requested, own=self.own_date))
        if self.renewal:
            found.append(RENEWAL_ASSUMPTION)
        if applied:
            from .provenance import proposed_assumptions

            for ruleset in {id(r): r for r in applied}.values():
                found += [said for said in proposed_assumptions(ruleset) if said not in found]
        return found

    def segments(self, year: ContractYear) -> list[Segment]:
        """The parts of a contract year, cut at each day a text or provision enters into force
        (kept per year: many profiles share their contract years' bounds)."""
        return self.segments_between(year.start, year.end)

    def segments_between(self, start: datetime.date, end: datetime.date) -> list[Segment]:
        """:meth:`segments` of the contract year from ``start`` to ``end``."""
        key = (start, end)
        found = self._segments.get(key)
        if found is None:
            found = self._segments[key] = [Segment(a, b, self.resolve(a))
                                           for a, b in year_segments(start, end, self._days)]
        return found

    def forced_notes(self, day: datetime.date, applied) -> list[tuple]:
        """``(code, message)`` warnings on the text asked for, as they bear on ``day``."""
        notes = []
        if self.as_if_from is not None:
            notes.append(("W009", msg("{text} is applied as if in force from {day}, outside its own dates "
                                      "(in force from {own})", text=self.requested, day=self.as_if_from,
                                      own=self.own_date)))
        elif self.requested is not None and applied.id != self.requested:
            notes.append(("W008", msg("{text} enters into force on {own}: on {day} the text applied is {applied} "
                                      "(--as-if-in-force-from applies it earlier)", text=self.requested,
                                      own=self.own_date, day=day, applied=applied.id)))
        return notes


def year_segments(start: datetime.date, end: datetime.date, change_days) -> list:
    """The parts of [start, end] cut at each change day inside it (a day starts a part).

    >>> d = datetime.date
    >>> year_segments(d(2022, 3, 15), d(2023, 3, 14), [d(2022, 4, 1), d(2024, 1, 1)])
    [(datetime.date(2022, 3, 15), datetime.date(2022, 3, 31)), (datetime.date(2022, 4, 1), datetime.date(2023, 3, 14))]
    """
    cuts = sorted({day for day in change_days if start < day <= end})
    bounds = [start] + cuts
    return [(a, (bounds[i + 1] - _ONE_DAY) if i + 1 < len(bounds) else end) for i, a in enumerate(bounds)]


def _days(a: datetime.date, b: datetime.date) -> int:
    return (b - a).days + 1


def _running(runs_from, start, end, part_start, part_end) -> tuple[int, int]:
    """``(running, days)``: the share of a line's year amount, as computed under one text,
    that falls in one part, as the exact ratio ``running / days``.

    A line runs from the year's start, or from the day it accrues from when that is
    later (``runs_from`` in the ruleset, by default its mission's start: its amount is
    then already prorated from that day). The share is the part's running days over
    the year's running days, so a line evaluated alike in every part keeps its amount,
    and one that exists only from a part on counts only from there.
    """
    runs_from = max(start, runs_from) if runs_from is not None else start
    if runs_from > end:
        return 1, 1
    first = max(part_start, runs_from)
    running = _days(first, part_end) if first <= part_end else 0
    return running, _days(runs_from, end)


def part_weights(reads, lines, start, end, part_start, part_end) -> dict:
    """Each line's share of one part (see :func:`_running`); ``lines`` is (id, amount, runs_from).

    A line computed from other lines (an uplift on the missions, say) accrues as they
    do: its share is the average of theirs, weighted by their amounts in this part.
    The shares are exact ratios, given as Decimals (28 significant digits).
    """
    ratios = {line_id: _running(runs_from, start, end, part_start, part_end) for line_id, _, runs_from in lines}
    common = math.lcm(*(days for _, days in ratios.values()))
    scale = _scale(amount for _, amount, _ in lines)
    units = {line_id: _units(amount, scale) for line_id, amount, _ in lines}
    return {line_id: _decimal(numerator, denominator) for line_id, (numerator, denominator)
            in _shares(reads, lines, ratios, units, common).items()}


def _shares(reads, lines, ratios, units, common) -> dict:
    """Each line's share of one part as an exact ``(numerator, denominator)``.

    ``ratios`` gives each line's ``(running, days)`` (:func:`_running`), ``common`` a
    multiple of every ``days``, ``units`` each line's amount in the part as an integer:
    a plain share is ``(running * common / days, common)``, a line computed from other
    lines takes the average of their shares weighted by these amounts.
    """
    found = {line_id: (running * (common // days), common) for line_id, (running, days) in ratios.items()}
    for line_id, _, _ in lines:
        sources = [other for other in reads.get(line_id, ()) if other in units and other != line_id]
        if not sources:
            continue
        total = sum(units[other] for other in sources)
        if total:
            # The sources' shares are plain (over ``common``) unless a source is itself computed
            # from others: then the exact sum is taken.
            weighted = sum(Fraction(units[other] * found[other][0], found[other][1]) for other in sources)
            share = weighted / total
            found[line_id] = (share.numerator, share.denominator)
    return found


def _scale(amounts, digits: int = 0) -> int:
    """The number of decimal places that writes every amount as an integer (at least ``digits``)."""
    for amount in amounts:
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > digits:
            digits = -exponent
    return digits


def _units(amount: Decimal, scale: int) -> int:
    """``amount`` as an integer number of 10**-scale (exact: ``scale`` comes from :func:`_scale`)."""
    numerator, denominator = amount.as_integer_ratio()
    return numerator * (10 ** scale // denominator)


def _decimal(numerator: int, denominator: int) -> Decimal:
    return DECIMAL_CONTEXT.divide(Decimal(numerator), Decimal(denominator))


def _round_half_up(value: Fraction) -> int:
    """``value`` rounded to an integer, half away from zero (Decimal's ROUND_HALF_UP)."""
    if value < 0:
        return -_round_half_up(-value)
    return math.floor(value + Fraction(1, 2))


def combine(year: ContractYear, parts) -> tuple[dict, list]:
    """The year's amount of each line, and each part's share of it.

    ``parts`` is ``[(segment, lines)]`` with ``lines`` the ``(id, amount, runs_from)`` of
    the lines that apply when the segment's ruleset is evaluated on its first day.
    Returns ``(amounts, shares)``: for each part a dict line id -> (its amount there, its
    share), and the amounts, which add up exactly to the year's total.

    What is rounded where (DESIGN.md § Time, "the entitlement of contract year k is one
    figure"): each line's amount in each part is what its text's own formulas and
    rounding give; each line counts each part for its share (an exact ratio of days),
    and these products are added exactly, with no rounding, into each line's exact year
    amount. The year's total is the sum of these exact amounts, rounded **once**, half
    up, to the first ruleset's quantum. The lines then share that total out: each gets
    its exact amount rounded down to the quantum, and the quanta left over (never more
    than the number of lines) go one each to the lines with the largest remainders,
    the earlier line first on equal remainders (lines in the order met: the first
    part's, then those a later part adds). So the lines add up to the total to the
    cent, and a total that is at least another figure on the cent, exactly, stays at
    least that figure once rounded (a guarantee that no CPTS loses holds to the cent).
    """
    quantum = parts[0][0].ruleset.quantum
    digits = -quantum.as_tuple().exponent
    scale = _scale((amount for _, lines in parts for _, amount, _ in lines), digits)
    ratios = [{line_id: _running(runs_from, year.start, year.end, segment.start, segment.end)
               for line_id, _, runs_from in lines} for segment, lines in parts]
    common = math.lcm(*(days for part in ratios for _, days in part.values()))
    # Each line's exact year amount, over ``denominator`` units of 10**-scale: an integer
    # numerator for a line counted by days, a Fraction for one averaged over other lines.
    denominator = common * 10 ** (scale - digits)  # in quanta
    exact: dict = {}
    shares = []
    for (segment, lines), part in zip(parts, ratios):
        units = {line_id: _units(amount, scale) for line_id, amount, _ in lines}
        weights = _shares(segment.ruleset.reads, lines, part, units, common)
        shares.append({line_id: (amount, _decimal(*weights[line_id])) for line_id, amount, _ in lines})
        for line_id, _, _ in lines:
            numerator, over = weights[line_id]
            value = units[line_id] * numerator if over == common else Fraction(units[line_id] * numerator * common,
                                                                                  over)
            exact[line_id] = exact.get(line_id, 0) + value
    total = _round_half_up(Fraction(sum(exact.values()), denominator))
    floors, remainders = {}, []
    for position, (line_id, value) in enumerate(exact.items()):
        floors[line_id], remainder = divmod(value, denominator)  # remainder in [0, denominator)
        floors[line_id] = int(floors[line_id])
        remainders.append((-remainder, position, line_id))
    left = total - sum(floors.values())
    for _, _, line_id in sorted(remainders)[:left]:
        floors[line_id] += 1
    return {line_id: Decimal(units).scaleb(-digits) for line_id, units in floors.items()}, shares
