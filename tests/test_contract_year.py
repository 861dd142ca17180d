"""Contract years and month arithmetic (FACTS.md §5).

FACTS.md §5: the contract lasts 5 years; contract year k runs from the (k-1)-th
anniversary of the signature to the day before the k-th. A signature on 29 February
has its anniversaries on 28 February in common years (the month-end clamp that
``add_months`` / ``add_years`` apply). Checked on the pure function and through
``aci-rules eval --format json`` (its ``contract_year``).
"""

from __future__ import annotations

import datetime
import json

import pytest

from aci_rules.engine.evaluate import contract_year_of
from aci_rules.engine.helpers import add_months, add_years

D = datetime.date
YEARS = 5  # FACTS.md §5: a 5-year contract (rules/aci-2019.yaml contract.duration_years)


# -- contract_year_of ---------------------------------------------------------------------


@pytest.mark.parametrize("signed, day, number, start, end", [
    (D(2020, 3, 15), D(2020, 3, 15), 1, D(2020, 3, 15), D(2021, 3, 14)),   # the signature day
    (D(2020, 3, 15), D(2021, 3, 14), 1, D(2020, 3, 15), D(2021, 3, 14)),   # day before 1st anniversary
    (D(2020, 3, 15), D(2021, 3, 15), 2, D(2021, 3, 15), D(2022, 3, 14)),   # the 1st anniversary
    (D(2020, 3, 15), D(2025, 3, 14), 5, D(2024, 3, 15), D(2025, 3, 14)),   # last day of the contract
    (D(2019, 12, 31), D(2020, 12, 30), 1, D(2019, 12, 31), D(2020, 12, 30)),
    (D(2019, 12, 31), D(2020, 12, 31), 2, D(2020, 12, 31), D(2021, 12, 30)),
    (D(2020, 1, 1), D(2022, 6, 30), 3, D(2022, 1, 1), D(2022, 12, 31)),
])
def test_contract_year_runs_from_anniversary_to_the_day_before_the_next(signed, day, number, start, end):
    """FACTS.md §5: year k from the (k-1)-th anniversary to the day before the k-th."""
    year = contract_year_of(signed, day, YEARS)
    assert (year.number, year.start, year.end) == (number, start, end)


@pytest.mark.parametrize("day, number, start, end", [
    (D(2020, 2, 29), 1, D(2020, 2, 29), D(2021, 2, 27)),
    (D(2021, 2, 27), 1, D(2020, 2, 29), D(2021, 2, 27)),
    (D(2021, 2, 28), 2, D(2021, 2, 28), D(2022, 2, 27)),   # anniversary clamped to 28 February
    (D(2021, 3, 1), 2, D(2021, 2, 28), D(2022, 2, 27)),
    (D(2024, 2, 28), 4, D(2023, 2, 28), D(2024, 2, 28)),   # year 4 ends the day before 29 Feb 2024
    (D(2024, 2, 29), 5, D(2024, 2, 29), D(2025, 2, 27)),   # year 5 starts on the real 29 February
    (D(2025, 2, 27), 5, D(2024, 2, 29), D(2025, 2, 27)),
])
def test_signature_on_29_february(day, number, start, end):
    """FACTS.md §5 with a leap-day signature: anniversaries on 28 February in common years."""
    year = contract_year_of(D(2020, 2, 29), day, YEARS)
    assert (year.number, year.start, year.end) == (number, start, end)


@pytest.mark.parametrize("signed, day", [
    (D(2020, 3, 15), D(2025, 3, 15)),   # the 5th anniversary: the contract is over
    (D(2020, 3, 15), D(2031, 1, 1)),
    (D(2020, 2, 29), D(2025, 2, 28)),
])
def test_no_contract_year_after_the_fifth(signed, day):
    """FACTS.md §5: a 5-year contract has no 6th year."""
    assert contract_year_of(signed, day, YEARS) is None


def test_without_a_duration_the_years_go_on():
    assert contract_year_of(D(2020, 3, 15), D(2031, 1, 1), None).number == 11


@pytest.mark.parametrize("signed, day", [(D(2020, 3, 15), D(2020, 3, 14)), (None, D(2020, 3, 14))])
def test_no_contract_year_before_the_signature_or_without_one(signed, day):
    assert contract_year_of(signed, day, YEARS) is None


def test_every_day_of_a_contract_falls_in_exactly_one_year_in_order():
    """Walk every day of two contracts: years are contiguous, 1..5, each a year long."""
    for signed in (D(2020, 2, 29), D(2019, 8, 31)):
        day, previous = signed, None
        while (year := contract_year_of(signed, day, YEARS)) is not None:
            assert year.start <= day <= year.end
            if previous is not None and year.number != previous.number:
                assert year.number == previous.number + 1
                assert year.start == previous.end + datetime.timedelta(days=1)
            previous = year
            day += datetime.timedelta(days=1)
        assert previous.number == YEARS
        assert day == add_years(signed, YEARS)


# -- through the CLI ---------------------------------------------------------------------------


def _eval(run_cli, write, date, signed="2020-02-29"):
    path = write("profile.yaml", f"name: CPTS bissextile\npopulation: 60000\ncontract_signed: {signed}\n")
    # Contract years are counted the same way under every text; naming one keeps these
    # checks about the arithmetic, not about which text is in force at each date.
    result = run_cli("eval", path, "--date", date, "--ruleset", "aci-2019", "--format", "json")
    assert result.exception is None, result.exception
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


@pytest.mark.parametrize("date, number", [
    ("2021-02-27", 1), ("2021-02-28", 2), ("2024-02-28", 4), ("2024-02-29", 5), ("2025-02-27", 5),
])
def test_eval_reports_the_contract_year(run_cli, write, date, number):
    """FACTS.md §5, signature 2020-02-29: year 2 starts 2021-02-28, year 5 starts 2024-02-29."""
    document = _eval(run_cli, write, date)
    assert document["contract_year"] == number
    assert "W003" not in [w["code"] for w in document["warnings"]]


@pytest.mark.parametrize("date", ["2025-02-28", "2026-06-01"])
def test_eval_after_the_fifth_year_has_no_contract_year_and_warns(run_cli, write, date):
    """FACTS.md §5: after 5 years there is no contract year; the engine says so (W003)."""
    document = _eval(run_cli, write, date)
    assert document["contract_year"] is None
    assert "W003" in [w["code"] for w in document["warnings"]]
    assert document["lines"] == []
    assert document["total"] == "0.00"


def test_eval_before_the_signature_has_no_contract_year_and_warns(run_cli, write):
    document = _eval(run_cli, write, "2020-02-28")
    assert document["contract_year"] is None
    assert "W003" in [w["code"] for w in document["warnings"]]
    assert document["total"] == "0.00"


# -- month arithmetic ----------------------------------------------------------------------------


@pytest.mark.parametrize("day, months, expected", [
    (D(2022, 1, 31), 1, D(2022, 2, 28)),
    (D(2024, 1, 31), 1, D(2024, 2, 29)),
    (D(2022, 3, 31), 1, D(2022, 4, 30)),
    (D(2022, 8, 31), 6, D(2023, 2, 28)),
    (D(2023, 8, 31), 6, D(2024, 2, 29)),
    (D(2022, 3, 15), 18, D(2023, 9, 15)),
    (D(2022, 12, 15), 1, D(2023, 1, 15)),
    (D(2022, 3, 31), -1, D(2022, 2, 28)),
    (D(2023, 1, 15), -1, D(2022, 12, 15)),
    (D(2022, 5, 31), 0, D(2022, 5, 31)),
])
def test_add_months_clamps_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_add_months_refuses_a_fraction_of_a_month():
    with pytest.raises(ValueError):
        add_months(D(2022, 3, 15), 1.5)


@pytest.mark.parametrize("day, years, expected", [
    (D(2020, 2, 29), 1, D(2021, 2, 28)),
    (D(2020, 2, 29), 4, D(2024, 2, 29)),
    (D(2020, 2, 29), 5, D(2025, 2, 28)),
    (D(2021, 2, 28), 3, D(2024, 2, 28)),
    (D(2020, 3, 15), 5, D(2025, 3, 15)),
])
def test_add_years_clamps_29_february(day, years, expected):
    assert add_years(day, years) == expected
