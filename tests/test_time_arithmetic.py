"""The contract year's arithmetic (engine/timeline.py) against its definition, stated here once more.

timeline computes the contract running on a day and the contract year holding it on day
numbers (:func:`~aci_rules.engine.timeline._elapsed`, ``_anniversary``), without walking the
anniversaries. The reference below is the definition the engine used before, written with
:func:`~aci_rules.engine.helpers.add_years` and loops (DESIGN.md § Time: a contract runs from
its signature to the day before its fifth anniversary, or to the day before the next
signature; a 29 February signature has its anniversaries on 28 February in common years;
with the renewal assumption, a new contract on each fifth anniversary of the last one).
Every generated case, and the edge dates (29 February, month ends, a contract cut by the next
signature, years beyond five), must give the same contract, year, bounds and names.
"""

from __future__ import annotations

import datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from aci_rules.engine.helpers import add_years
from aci_rules.engine.names import TIME_NAMES
from aci_rules.engine.profile import Profile
from aci_rules.engine.timeline import (Contract, ContractYear, TIME_VALUES, _elapsed, contract_on, contract_year_on,
                                       time_names, time_values)

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)


def reference_contract(signatures, day, years, renewal=False):
    """The contract running on ``day``, by the definition (add_years, anniversaries walked)."""
    started = [s for s in signatures if s <= day]  # the signatures are sorted
    if not started:
        return None
    found, signed = len(started) - 1, started[-1]
    following = signatures[found + 1] if found + 1 < len(signatures) else None
    if years is None:
        return Contract(found + 1, signed, following - ONE_DAY if following else None)
    end = add_years(signed, years) - ONE_DAY
    if following is not None and following <= end:
        end = following - ONE_DAY
    if day <= end:
        return Contract(found + 1, signed, end)
    if not renewal or following is not None:
        return None
    terms = 1
    while add_years(signed, years * (terms + 1)) <= day:
        terms += 1
    return Contract(found + 1 + terms, add_years(signed, years * terms),
                    add_years(signed, years * (terms + 1)) - ONE_DAY, assumed=True)


def reference_year(signatures, day, years, renewal=False):
    """The contract year holding ``day``, by the definition."""
    contract = reference_contract(signatures, day, years, renewal)
    if contract is None:
        return None
    number = 1
    while add_years(contract.signed, number) <= day:
        number += 1
    end = add_years(contract.signed, number) - ONE_DAY
    if contract.end is not None and contract.end < end:
        end = contract.end
    return ContractYear(number, add_years(contract.signed, number - 1), end, contract)


# Days that the arithmetic treats apart: 29 February, the ends of months, the turn of a year.
EDGES = [D(2020, 2, 29), D(2024, 2, 29), D(2000, 2, 29), D(2021, 2, 28), D(2021, 3, 1), D(2019, 12, 31),
         D(2020, 1, 1), D(2022, 1, 31), D(2022, 4, 30), D(2023, 6, 30), D(2100, 2, 28), D(1900, 3, 1)]
days = st.one_of(st.dates(D(1990, 1, 1), D(2060, 12, 31)), st.sampled_from(EDGES))
signatures = st.lists(days, min_size=0, max_size=3, unique=True).map(lambda found: tuple(sorted(found)))
durations = st.one_of(st.none(), st.integers(1, 20), st.just(5))


@settings(max_examples=600, deadline=None)
@given(signatures, days, durations, st.booleans())
@example((D(2020, 2, 29),), D(2021, 2, 28), 5, False)  # the 28 February anniversary of a 29 February
@example((D(2020, 2, 29),), D(2021, 2, 27), 5, False)
@example((D(2020, 2, 29),), D(2024, 2, 28), 5, False)  # a leap year: the anniversary is the 29th
@example((D(2020, 2, 29),), D(2025, 2, 28), 5, True)  # renewed on 28 February
@example((D(2020, 2, 29),), D(2040, 2, 29), 5, True)  # three terms later, a leap year
@example((D(2019, 1, 31),), D(2023, 1, 30), 5, False)  # a month end
@example((D(2019, 10, 1), D(2022, 3, 15)), D(2022, 3, 14), 5, False)  # cut by the next signature
@example((D(2019, 10, 1), D(2022, 3, 15)), D(2026, 1, 1), 5, False)  # the second contract's years
@example((D(2010, 5, 1),), D(2031, 4, 30), None, False)  # no duration: years beyond five
@example((D(2010, 5, 1),), D(2031, 4, 30), 5, True)  # the fifth term, its fifth year
def test_contract_and_year_follow_the_definition(found, day, years, renewal):
    assert contract_on(found, day, years, renewal) == reference_contract(found, day, years, renewal)
    year = contract_year_on(found, day, years, renewal)
    assert year == reference_year(found, day, years, renewal)
    if year is not None:  # every day of the year gives the year (the fast path runs a part on its first day)
        assert year.start <= day <= year.end
        assert contract_year_on(found, year.start, years, renewal) == year
        assert contract_year_on(found, year.end, years, renewal) == year


@settings(max_examples=300, deadline=None)
@given(signatures, days, durations, st.booleans(), days)
def test_time_values_are_the_time_names(found, day, years, renewal, in_force):
    profile = Profile("p", 10000, None, None, found[0] if found else None, {}, (), later_contracts=found[1:])
    year, names = time_names(profile, day, years, renewal, in_force)
    number, key, values = time_values(profile, day, years, renewal, in_force)
    assert values == tuple(names[name] for name in TIME_VALUES)
    assert (number, key) == ((year.number, year.key) if year is not None else (None, None))


@given(days, days)
def test_elapsed_is_the_last_anniversary_reached(signed, day):
    if day < signed:
        signed, day = day, signed
    elapsed = _elapsed(signed, day)
    assert add_years(signed, elapsed) <= day < add_years(signed, elapsed + 1)


def test_the_fast_path_reads_the_names_in_their_declared_order():
    assert TIME_VALUES == TIME_NAMES
