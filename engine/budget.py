"""The budget year: what each text pays over a sample of CPTS, per calendar year.

A negotiation is held inside an annual envelope, and a contract year's money does not
fall in the calendar year it is earned in: advances, balances and variable parts paid
at the next anniversary move it across years. The budget of a text is therefore the
sum, over the sample, of every CPTS's payment calendar (:mod:`schedule`), cut by the
calendar year each payment falls due in, and split by volet and by mission.

What the profiles do not say is stated as :class:`Assumptions` (achievement rates for
the years not measured, a delay between signature and each mission's start), applied
to each profile before its calendar is built, and printed with every figure.

Two paths compute the calendars: the reference one (:func:`schedule.build_schedule`,
with its explanations), and a fast one (:mod:`fastschedule`) that gives the same
amounts to the cent, for many CPTS and many variants.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from .assumptions import Assumptions, apply_assumptions, mission_kinds
from .schedule import build_schedule

__all__ = [
    "Assumptions", "TextBudget", "Budget", "apply_assumptions", "profile_payments",
    "text_budget", "build_budget", "mission_kinds", "budget_over_sample",
]

_ZERO = Decimal(0)
# A budget runs over at most this many calendar years (a bound on every input).
MAX_YEARS = 50


def profile_payments(profile, timeline, first: int, last: int, assumptions=None) -> tuple:
    """One CPTS's payments due in the calendar years ``first``..``last``, by the reference path.

    ``timeline`` (:class:`~.timeline.Timeline`) says which text applies on each day
    and whether contracts are renewed; ``assumptions`` the payment lag, if any.
    Returns ``(cells, covered)``: cells maps (calendar year, volet, mission or None) to
    an amount; covered is the set of those calendar years in which a contract year of
    the CPTS runs.
    """
    assumptions = assumptions or Assumptions()
    schedule = build_schedule(profile, timeline, until=datetime.date(last, 12, 31))
    cells: dict = {}
    for payment in schedule.payments:
        year = assumptions.paid_on(payment.due, payment.volet).year
        if first <= year <= last:
            key = (year, payment.volet, payment.mission)
            cells[key] = cells.get(key, _ZERO) + payment.amount
    covered = set()
    for entitlement in schedule.years:
        if entitlement.number is not None:
            covered |= set(range(max(first, entitlement.start.year), min(last, entitlement.end.year) + 1))
    return cells, covered


@dataclasses.dataclass(frozen=True)
class TextBudget:
    """What one text (or stack of texts) pays over the sample, per calendar year."""

    name: str  # as the user named it: a ruleset id or a file
    ruleset: str  # the id of the ruleset named
    chain: tuple  # the ids of the texts it consolidates, from the first accord
    cells: dict  # (year, volet, mission or None) -> amount
    under_contract: dict  # year -> CPTS with a contract year running in it
    paid: dict  # year -> CPTS paid something in it
    notes: tuple = ()  # how the text is applied over time (its timeline's assumptions), for a person

    def by_year(self, years) -> dict:
        totals = {year: _ZERO for year in years}
        for (year, _, _), amount in self.cells.items():
            totals[year] += amount
        return totals

    def by(self, field: str, years) -> dict:
        """Amounts per volet (``field`` "volet") or mission ("mission"), then per year."""
        index = 1 if field == "volet" else 2
        table: dict = {}
        for key, amount in self.cells.items():
            row = table.setdefault(key[index], {year: _ZERO for year in years})
            row[key[0]] += amount
        return table


@dataclasses.dataclass(frozen=True)
class Budget:
    """The budget of a baseline and, optionally, a reform, over one sample and span of years."""

    sample: str
    profiles: int
    first: int
    last: int
    assumptions: Assumptions
    texts: tuple  # TextBudget: the baseline, then the reform if any
    path: str  # "fast" or "reference": how the calendars were computed

    @property
    def years(self) -> range:
        return range(self.first, self.last + 1)

    def rows(self):
        """Per calendar year: ``(year, CPTS under contract per text, amount per text, difference)``, the
        difference the reform's amount less the baseline's (None for one text)."""
        years = list(self.years)
        totals = [text.by_year(years) for text in self.texts]
        for year in years:
            amounts = [total[year] for total in totals]
            difference = amounts[1] - amounts[0] if len(amounts) > 1 else None
            yield year, [text.under_contract[year] for text in self.texts], amounts, difference

    def total(self) -> tuple:
        """``(amount per text over every year, difference)``: the sums of :meth:`rows`."""
        sums = [_ZERO] * len(self.texts)
        for _year, _counts, amounts, _difference in self.rows():
            sums = [total + amount for total, amount in zip(sums, amounts)]
        return sums, (sums[1] - sums[0] if len(sums) > 1 else None)

    def pivot(self, field: str) -> tuple:
        """``(keys, tables, difference)``: the volets (``field`` "volet") or missions ("mission") met in
        any text, in order (None, every volet or mission, last); per text, key -> year -> amount;
        and the reform's less the baseline's, key -> year -> amount (None for one text)."""
        years = list(self.years)
        tables = [text.by(field, years) for text in self.texts]
        keys: list = []
        for table in tables:
            keys += [k for k in table if k not in keys]
        keys.sort(key=lambda k: (k is None, k or ""))
        difference = None
        if len(tables) == 2:
            difference = {k: {y: tables[1].get(k, {}).get(y, _ZERO) - tables[0].get(k, {}).get(y, _ZERO)
                              for y in years} for k in keys}
        return keys, tables, difference


def text_budget(name: str, ruleset, profiles, timeline, first: int, last: int, calendar=None,
                assumptions: Assumptions | None = None) -> TextBudget:
    """The budget of one text over ``profiles`` (already under the assumptions).

    ``calendar(profile, timeline, first, last, assumptions)`` gives one profile's
    (cells, covered), by default :func:`profile_payments` (the reference path).
    """
    calendar = calendar or profile_payments
    cells: dict = {}
    under_contract = {year: 0 for year in range(first, last + 1)}
    paid = {year: 0 for year in range(first, last + 1)}
    for profile in profiles:
        own, covered = calendar(profile, timeline, first, last, assumptions)
        for key, amount in own.items():
            cells[key] = cells.get(key, _ZERO) + amount
        for year in covered:
            under_contract[year] += 1
        for year in {key[0] for key, amount in own.items() if amount}:
            paid[year] += 1
    return TextBudget(name, ruleset.id, tuple(ruleset.chain), cells, under_contract, paid,
                      tuple(timeline.assumptions()))


def build_budget(profiles, texts, first: int, last: int, assumptions: Assumptions, *, sample: str = "",
                 missions: dict | None = None, calendar=None, path: str = "reference") -> Budget:
    """The budget of each text of ``texts`` over ``profiles``, calendar years ``first``..``last``.

    ``texts`` is a sequence of (name, ruleset, timeline); ``missions``
    maps every mission id in play to its kind, for the start assumptions.
    Raises ValueError for a span of years out of bounds, EvaluationError when a
    formula fails for a profile.
    """
    if not (first <= last and last - first < MAX_YEARS):
        raise ValueError(f"a budget spans 1 to {MAX_YEARS} calendar years")
    profiles = list(profiles)
    span = max((last - p.contract_signed.year + 2 for p in profiles if p.contract_signed), default=0)
    adjusted = [apply_assumptions(p, assumptions, missions or {}, max(span, 0)) for p in profiles]
    budgets = tuple(text_budget(name, ruleset, adjusted, timeline, first, last, calendar,
                                assumptions)
                    for name, ruleset, timeline in texts)
    return Budget(sample, len(profiles), first, last, assumptions, budgets, path)


def _texts(library, names, renewal: bool):
    """(name, ruleset, timeline) for each text named: each applies from its own date."""
    return [(name, library.get(name), library.timeline(name, renewal=renewal)) for name in names]


def budget_over_sample(library, sources, names, first: int, last: int, assumptions: Assumptions, *,
                       sample: str = "", path: str = "fast", calendar=None, jobs: int = 1) -> Budget:
    """The budget of the texts ``names`` (ids or paths: the baseline, then a reform) over
    checked batch ``sources``, by the fast path or the reference one (``path``).

    ``calendar`` reuses a fast calendar across calls (many variants compile each text
    once). With ``jobs`` > 1 the CPTS are spread over that many processes, each with its
    own library; their sums are exact, so the budget is the same.
    Raises InputError for an unknown text, EvaluationError when a formula fails.
    """
    texts = _texts(library, names, assumptions.renewal)
    if jobs > 1 and len(sources) > 1:
        import multiprocessing

        size = max(1, -(-len(sources) // (jobs * 4)))
        chunks = [sources[i:i + size] for i in range(0, len(sources), size)]
        with multiprocessing.get_context("spawn").Pool(
                jobs, initializer=_init_worker, initargs=(list(names), first, last, assumptions, path)) as pool:
            parts = pool.map(_work, chunks)
        budgets = []
        for index, (name, ruleset, _) in enumerate(texts):
            cells: dict = {}
            under_contract = {year: 0 for year in range(first, last + 1)}
            paid = dict(under_contract)
            for part in parts:
                own = part[index]
                for key, amount in own.cells.items():
                    cells[key] = cells.get(key, _ZERO) + amount
                for year in under_contract:
                    under_contract[year] += own.under_contract[year]
                    paid[year] += own.paid[year]
            budgets.append(TextBudget(name, ruleset.id, tuple(ruleset.chain), cells, under_contract, paid,
                                      parts[0][index].notes))
        return Budget(sample, len(sources), first, last, assumptions, tuple(budgets), path)
    return _budget_of(library, texts, sources, first, last, assumptions, sample, path, calendar)


def _budget_of(library, texts, sources, first, last, assumptions, sample, path, calendar) -> Budget:
    from .profile import compile_profile

    if path == "fast" and calendar is None:
        from .fastschedule import fast_calendar

        calendar = fast_calendar()
    elif path != "fast":
        calendar = None
    profiles = [compile_profile(source.document) for source in sources]
    return build_budget(profiles, texts, first, last, assumptions, sample=sample,
                        missions=mission_kinds(library, [text[1] for text in texts]), calendar=calendar, path=path)


_WORKER: dict = {}


def _init_worker(names, first, last, assumptions, path):
    from .library import Library

    library = Library()
    _WORKER.update(library=library, texts=_texts(library, names, assumptions.renewal), first=first, last=last,
                   assumptions=assumptions, path=path, calendar=None)
    if path == "fast":
        from .fastschedule import fast_calendar

        _WORKER["calendar"] = fast_calendar()


def _work(chunk):
    w = _WORKER
    return _budget_of(w["library"], w["texts"], chunk, w["first"], w["last"], w["assumptions"], "", w["path"],
                      w["calendar"]).texts
