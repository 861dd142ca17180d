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


# -- later contracts read their own achievements -------------------------------------------------
#
# A profile writes year k of its first contract ``k`` and year k of contract n ``n.k``: contract
# 2's year 1 never reads contract 1's year 1 (it did until issue 13: the map was keyed by the
# year's number alone, which starts again at 1 in each contract).
#
# A taille-2 CPTS (60 000 inhabitants) under avenant 2 (FACTS.md §4.1, taille 2): fonctionnement
# 60 000; accès aux soins 70 000 fixed + 30 000 variable; parcours 35 000 + 35 000. On 2025-06-01
# it is in year 1 of its second contract (signed 2024-10-01):
#   accès aux soins variable  30 000 x 0.9 (2.1: contract 2, year 1)  = 27 000
#   parcours variable         nothing given for contract 2 -> 0, W002 naming the contract
#                             (it read contract 1's 0.4 -> 14 000 before)
#   total 60 000 + 70 000 + 27 000 + 35 000 + 0                       = 192 000
# On 2020-06-01, year 1 of the first contract, aci-2019 (FACTS.md §4.2, taille 2: accès aux soins
# variable 40 000): 40 000 x 0.5 (key 1)                              = 20 000.

from decimal import Decimal  # noqa: E402

from aci_rules.engine.budget import Assumptions, apply_assumptions  # noqa: E402
from aci_rules.engine.evaluate import assess  # noqa: E402
from aci_rules.engine.fastpath import FastTimeline  # noqa: E402
from aci_rules.engine.library import Library  # noqa: E402
from aci_rules.engine.profile import compile_profile, profile_functions, validate_profile  # noqa: E402
from aci_rules.engine.yaml_loader import parse_document  # noqa: E402

TWO_CONTRACTS = """\
name: CPTS à deux contrats
population: 60000
contract_signed: 2019-10-01
contracts: [{signed: 2024-10-01}]
missions:
  acces_soins: {started: 2019-10-01, achievement: {1: 0.5, 2.1: 0.9}}
  parcours: {started: 2019-10-01, achievement: {1: 0.4}}
"""


def _two_contracts(text=TWO_CONTRACTS):
    document = parse_document(text.encode("utf-8"), "profil.yaml")
    assert validate_profile(document) == []
    return compile_profile(document)


def _lines(result):
    return {line.id: line.amount for line in result.lines}


@pytest.mark.parametrize("renewal", [False, True])
def test_the_second_contract_reads_its_own_rates_on_every_backend(renewal):
    text = TWO_CONTRACTS if not renewal else TWO_CONTRACTS.replace("contracts: [{signed: 2024-10-01}]\n", "")
    profile = _two_contracts(text)
    timeline = Library().timeline(None, renewal=renewal)  # contract 2 stated, or assumed on 2024-10-01
    day = D(2025, 6, 1)
    result = assess(timeline, profile, day)
    assert (result.contract_year.contract.number, result.contract_year.number) == (2, 1)
    lines = _lines(result)
    assert lines["acces_soins_variable"] == Decimal("27000.00")
    assert lines["parcours_variable"] == Decimal("0.00")
    assert result.total == Decimal("192000.00")
    warnings = [w for w in result.warnings if w.code == "W002"]
    assert len(warnings) == 1 and "contract 2" in str(warnings[0].message) and "'2.1'" in str(warnings[0].message)
    _, fast = FastTimeline(timeline).run(profile, day)
    assert dict(fast.amounts) == lines and fast.total == result.total
    first = assess(timeline, profile, D(2020, 6, 1))
    assert _lines(first)["acces_soins_variable"] == Decimal("20000.00")


def test_the_vectorised_backend_reads_the_same_rates():
    pytest.importorskip("numpy")
    from aci_rules.engine.vector import VectorTimeline

    profile = _two_contracts()
    outcome = VectorTimeline(Library().timeline(None)).run([profile], D(2025, 6, 1))
    assert not outcome.errors and int(outcome.totals[0][0]) == 192000_00


def test_a_later_contract_keeps_its_own_indicator_measures():
    """Indicators (FACTS.md §7) measured in contract 1 year 1 are not contract 2's year 1."""
    tiers = "[{max: 50, amount: 9000}, {min: 51, amount: 6000}]"
    text = TWO_CONTRACTS.replace(
        "  acces_soins: {started: 2019-10-01, achievement: {1: 0.5, 2.1: 0.9}}",
        f"  acces_soins:\n    started: 2019-10-01\n    indicators:\n"
        f"      - {{id: delai, tiers: {tiers}, measured: {{1: 40, 2.1: 80}}}}")
    profile = _two_contracts(text)
    timeline = Library().timeline(None)
    # Contract 2, year 1: 80 is in the 6 000 tier (it read 40 -> 9 000 before).
    result = assess(timeline, profile, D(2025, 6, 1))
    assert _lines(result)["acces_soins_variable"] == Decimal("6000.00")
    assert FastTimeline(timeline).run(profile, D(2025, 6, 1))[1].amounts["acces_soins_variable"] == Decimal("6000.00")


def test_mission_achievement_of_a_year_reads_the_same_contract():
    profile = _two_contracts(TWO_CONTRACTS.replace("2.1: 0.9}", "2.1: 0.9, 2.2: 0.7}"))
    # In contract 2, year 2: year 1 is 2.1, not the first contract's 1.
    read = profile_functions(profile, (2, 2))["mission_achievement"]
    assert read("acces_soins", 1) == Decimal("0.9") and read("acces_soins") == Decimal("0.7")
    assert profile_functions(profile, 3)["mission_achievement"]("acces_soins", 1) == Decimal("0.5")


def test_a_budgets_assumed_rate_covers_later_contracts():
    profile = _two_contracts()
    kinds = {"acces_soins": "socle", "parcours": "socle"}
    assumed = apply_assumptions(profile, Assumptions(achievement=((None, Decimal("0.6")),)), kinds, 5)
    assert assumed.missions["parcours"].rate((2, 1)) == Decimal("0.6")  # nothing measured: the assumption
    assert assumed.missions["acces_soins"].rate((2, 1)) == Decimal("0.9")  # measured: kept


@pytest.mark.parametrize("achievement, where", [("{3: 0.5, 1.3: 0.6}", "1.3"), ("{2.1: 0.5, 2.1: 0.6}", None)])
def test_a_year_given_twice_is_an_error(run_cli, write, achievement, where):
    path = write("profil.yaml", TWO_CONTRACTS.replace("{1: 0.5, 2.1: 0.9}", achievement))
    result = run_cli("eval", path, "--date", "2025-06-01")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    if where is not None:  # '3' and '1.3' are the same year of the first contract
        assert "E330" in result.stderr and f"'{where}'" in result.stderr
    else:  # the same key twice: the YAML reader's own error
        assert "E008" in result.stderr and "E330" not in result.stderr


def test_a_key_beyond_the_shapes_says_how_to_write_a_later_contracts_year(run_cli, write):
    path = write("profil.yaml", TWO_CONTRACTS.replace("2.1: 0.9", "6: 0.9"))
    result = run_cli("eval", path, "--date", "2025-06-01", "--lang", "en")
    assert result.exit_code == 1
    assert "profil.yaml:6:" in result.stderr and "n.k" in result.stderr and "2.1" in result.stderr


def test_batch_reads_a_later_contracts_rates_from_its_own_columns(run_cli, write):
    header = "name,population,contract_signed,contracts,acces_soins_started,acces_soins_achievement_1," \
             "acces_soins_achievement_2.1"
    path = write("cpts.csv", f"{header}\nA,60000,2019-10-01,2024-10-01,2019-10-01,0.5,0.9\n")
    result = run_cli("batch", path, "--date", "2025-06-01", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    (row,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    # fonctionnement 60 000 + accès aux soins 70 000 + 30 000 x 0.9 = 157 000 (no parcours column).
    assert Decimal(row["total"]) == Decimal("157000.00")
    twice = write("deux.csv", "name,population,contract_signed,acces_soins_achievement_2,acces_soins_achievement_1.2\n"
                              "A,60000,2019-10-01,0.5,0.9\n")
    result = run_cli("batch", twice, "--date", "2025-06-01")
    assert result.exit_code == 1 and "E330" in result.stderr and "deux.csv:1:5:" in result.stderr


# -- the helpers' inline common cases against their general statement --------------------------

from decimal import Decimal  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aci_rules.engine import helpers  # noqa: E402

_DAYS = st.dates(D(1900, 1, 1), D(2100, 12, 31))


@settings(max_examples=400, deadline=None)
@given(_DAYS, st.integers(-2400, 2400))
def test_add_months_is_the_month_index_moved_and_clamped(day, months):
    """add_months' inline path (a whole number of months, the leap year inline) against the rule
    written plainly: the month index moved, the day clamped to the month's last day."""
    import calendar
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    expected = D(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
    assert add_months(day, months) == expected
    assert add_months(day, Decimal(months)) == expected  # the general path (_whole) agrees


_VALUES = st.one_of(_DAYS, st.integers(-10**6, 10**6),
                    st.decimals(-10**6, 10**6, places=2, allow_nan=False, allow_infinity=False))


@settings(max_examples=400, deadline=None)
@given(_VALUES, _VALUES)
def test_min_and_max_of_two_values_are_pythons_or_its_refusal(first, second):
    """smallest/largest of two values of one type compared inline: Python's min and max (the first
    of equal values, as 3 and Decimal('3.0')); of two kinds, the refusal of _comparable."""
    for function, builtin in ((helpers.smallest, min), (helpers.largest, max)):
        try:
            expected = builtin(helpers._comparable(function.__name__, (first, second)))
        except Exception as refused:  # noqa: BLE001 — the same refusal, whatever it is
            with pytest.raises(type(refused)):
                function(first, second)
            continue
        found = function(first, second)
        assert found == expected and type(found) is type(expected) and str(found) == str(expected)


def test_min_and_max_keep_the_first_of_equal_values():
    assert str(helpers.largest(Decimal("3.0"), Decimal("3"))) == "3.0"
    assert str(helpers.smallest(Decimal("3"), Decimal("3.0"))) == "3"


def test_count_between_of_no_day_is_zero_and_of_a_number_still_refused():
    assert helpers.count_between((), D(2022, 1, 1), D(2022, 12, 31)) == 0
    assert helpers.count_between([], D(2022, 1, 1), D(2022, 12, 31)) == 0
    with pytest.raises(TypeError):
        helpers.count_between(Decimal(0), D(2022, 1, 1), D(2022, 12, 31))
