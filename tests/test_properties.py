"""Properties of the engine over generated CPTS profiles (hypothesis).

Profiles are generated as YAML text, read by the same loader, schema check and compiler as
the CLI's, then evaluated with the engine API: ``evaluate`` for one day, ``build_schedule``
for the whole contract under the texts in force (``Library.resolver()``).

a. The payments of each contract year add up to its entitlement, and all payments to all
   entitlements, exactly to the cent (FACTS.md §6: each year's amount is paid in
   installments, the last one being the balance).
b. ``eval`` is the oracle of each contract year's entitlement (FACTS.md §5: year k runs from
   the (k-1)-th anniversary to the day before the k-th). A year in which no text or provision
   enters into force equals ``eval`` on its first day; a year cut by one (FACTS.md §1:
   avenant 2 on 2022-04-01, its crisis mission on 2022-09-03) counts each part prorata
   temporis, line by line, recomputed here from the part dates and the line's start
   (FACTS.md §5: a mission's fixed part runs from its start date).
   Also (b'): avenant 2's uplift is 10 % of the year's socle and optional missions on the days
   it applies (FACTS.md §4.1).
c. ``eval`` at any date: each line between 0 and its maximum, the total the sum of the lines,
   a mission's variable part never lower for a higher taux d'atteinte (FACTS.md §4, §7).
d. No input makes the CLI crash (HOSTILE_INPUTS.md items 11-22): hostile profile texts through
   ``eval`` and ``validate``, generated formulas in a small ruleset through ``eval --ruleset``:
   exit 0, 1 or 2 (2 only for a bad command line), no traceback, no internal error, and on
   exit 1 diagnostics of the form ``FILE:LINE:COL: CODE message``.

Concrete inputs on which the engine was once wrong stay as examples (the uplift of a cut year
with a crisis mission; the date helpers given a number; in test_schedule.py, a letter of intent
before any text was in force).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aci_rules.engine.evaluate import evaluate
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.schedule import build_schedule
from aci_rules.engine.yaml_loader import parse_document

LIBRARY = Library()
RESOLVE, CHANGE_DAYS = LIBRARY.resolver()
KNOWN_MISSIONS = LIBRARY.mission_ids()

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)
CENT = Decimal("0.01")
MISSIONS = ("acces_soins", "parcours", "prevention", "qualite", "accompagnement", "crises_sanitaires")

# FACTS.md §1: the days a text or a provision enters into force.
ACI_2019 = D(2019, 8, 25)
AVENANT_2 = D(2022, 4, 1)
CRISIS_MISSION = D(2022, 9, 3)  # the crisis mission of avenant 2, and what it pays
FACTS_CHANGE_DAYS = {ACI_2019, AVENANT_2, CRISIS_MISSION}

PROPERTY = settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
CLI_PROPERTY = settings(deadline=None, max_examples=100,
                        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# -- generated profiles ----------------------------------------------------------------------

# Days where something changes: class boundaries of dates, texts, leap days.
_SPECIAL_DAYS = [D(2019, 9, 1), D(2020, 2, 29), D(2021, 4, 1), D(2021, 9, 3), D(2021, 12, 30),
                 D(2022, 3, 31), D(2022, 4, 1), D(2022, 4, 2), D(2022, 9, 2), D(2022, 9, 3),
                 D(2022, 9, 29), D(2022, 9, 30), D(2022, 10, 15), D(2024, 2, 29), D(2025, 12, 31)]
_SPECIAL_POPULATIONS = [0, 39999, 40000, 79999, 80000, 80001, 175000, 175001, 400000]


def _rate(hundredths: int) -> Decimal:
    return Decimal(hundredths) / 100  # 0, 0.01 .. 0.99, 1: at most 2 decimals


@st.composite
def profile_data(draw, contract=True):
    """A valid profile as a dict of YAML scalars (dates as ISO texts)."""
    signed = None
    if contract or draw(st.integers(0, 9)) > 0:
        signed = draw(st.sampled_from(_SPECIAL_DAYS) | st.dates(D(2019, 9, 1), D(2025, 12, 31)))
    data = {
        "name": "CPTS générée",
        "population": draw(st.sampled_from(_SPECIAL_POPULATIONS) | st.integers(0, 400_000)),
    }
    if draw(st.booleans()):
        data["members"] = draw(st.sampled_from([0, 99, 100, 300]) | st.integers(0, 300))
    anchor = signed or D(2022, 6, 1)
    if draw(st.integers(0, 3)) == 0:  # a validated letter of intent, before the contract
        # Not before aci-2019 is in force: see test_schedule.py's
        # test_letter_of_intent_before_any_text_still_gives_the_contract_calendar (engine bug).
        earliest = max(ACI_2019, anchor - datetime.timedelta(days=400))
        data["letter_of_intent_validated"] = draw(st.dates(earliest, anchor)).isoformat()
    if signed is not None:
        data["contract_signed"] = signed.isoformat()
    missions = {}
    for mission in draw(st.lists(st.sampled_from(MISSIONS), unique=True, max_size=6)):
        state = {}
        if draw(st.integers(0, 5)) > 0:
            shift = draw(st.sampled_from([0, 0, -30, 1]) | st.integers(-300, 1000))
            started = anchor + datetime.timedelta(days=shift)
            state["started"] = started.isoformat()
            if draw(st.booleans()):
                state["deployed"] = (started + datetime.timedelta(days=draw(st.integers(0, 900)))).isoformat()
        years = draw(st.lists(st.integers(1, 5), unique=True, max_size=5))
        if years:
            state["achievement"] = {year: _rate(draw(st.integers(0, 100))) for year in sorted(years)}
        missions[mission] = state
    if missions:
        data["missions"] = missions
    crises = draw(st.lists(st.dates(D(2019, 9, 1), D(2031, 12, 31)), max_size=3))
    if crises:
        data["crises"] = [{"declared": day.isoformat(), "label": "crise"} for day in crises]
    return data


def _scalar(value) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def to_yaml(data: dict) -> str:
    """Block-style YAML of a generated profile (no anchors, no tags)."""
    out = []
    for key, value in data.items():
        if key == "missions":
            out.append("missions:")
            for mission, state in value.items():
                if not state:
                    out.append(f"  {mission}: {{}}")
                    continue
                out.append(f"  {mission}:")
                for field, item in state.items():
                    if field == "achievement":
                        out.append("    achievement: {" + ", ".join(f"{k}: {v}" for k, v in item.items()) + "}")
                    else:
                        out.append(f"    {field}: {item}")
        elif key == "crises":
            out.append("crises:")
            out.extend(f"  - {{declared: {c['declared']}, label: {c['label']}}}" for c in value)
        else:
            out.append(f"{key}: {_scalar(value)}")
    return "\n".join(out) + "\n"


def load(data: dict):
    text = to_yaml(data)
    document = parse_document(text.encode("utf-8"), "generated.yaml")
    problems = validate_profile(document, KNOWN_MISSIONS)
    assert not problems, (text, [str(p) for p in problems])
    return compile_profile(document)


def schedule_of(profile):
    return build_schedule(profile, RESOLVE, CHANGE_DAYS)


def _round(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _days(a: D, b: D) -> int:
    return (b - a).days + 1


# -- a. payments add up to the entitlements ------------------------------------------------------


def check_payments_add_up(schedule):
    for year in schedule.years:
        paid = sum((p.amount for p in schedule.payments if p.contract_year == year.number), Decimal(0))
        assert paid == year.total, (year.number, paid, year.total)
        for line, amount in year.lines.items():
            line_paid = sum((p.amount for p in schedule.payments
                             if p.contract_year == year.number and p.line == line), Decimal(0))
            assert line_paid == amount, (year.number, line, line_paid, amount)
    for payment in schedule.payments:
        assert payment.amount == payment.amount.quantize(CENT), payment  # whole cents
        assert payment.amount > 0, payment
    assert schedule.total == sum((year.total for year in schedule.years), Decimal(0))
    assert sum(schedule.by_contract_year().values(), Decimal(0)) == schedule.total
    assert sum(schedule.by_calendar_year().values(), Decimal(0)) == schedule.total


@PROPERTY
@given(profile_data(contract=False))
def test_payments_of_each_year_add_up_to_its_entitlement(data):
    """FACTS.md §6: installments of a year's amount, the last one the balance, to the cent."""
    check_payments_add_up(schedule_of(load(data)))


# -- b. eval is the oracle of each year's entitlement ------------------------------------------


def expected_parts(start: D, end: D) -> list:
    """The parts of a contract year, cut where FACTS.md §1 says a text or provision starts."""
    cuts = sorted(day for day in FACTS_CHANGE_DAYS if start < day <= end)
    bounds = [start] + cuts
    return [(a, bounds[i + 1] - ONE_DAY if i + 1 < len(bounds) else end) for i, a in enumerate(bounds)]


def line_runs_from(profile, line, start: D) -> D:
    """The day a line's year starts running: the year's start, or its mission's start when later
    (FACTS.md §5); the crisis mission is paid from its start, but not before it exists
    (avenant 2, crises_debut = max(started, 2022-09-03))."""
    state = profile.missions.get(line.mission) if line.mission else None
    if state is None or state.started is None:
        return start
    started = state.started
    if line.mission == "crises_sanitaires":
        started = max(started, CRISIS_MISSION)
    return max(start, started)


def oracle_lines(profile, start: D, end: D) -> dict:
    """Each line's amount for the contract year [start, end], from eval on each part's first day.

    A line computed from other lines (the uplift on the missions) accrues as they do: its share
    of a part is the average of theirs, weighted by their amounts in that part."""
    amounts: dict = {}
    for a, b in expected_parts(start, end):
        ruleset = LIBRARY.in_force(a)
        result = evaluate(ruleset, profile, a)
        shares = {}
        for line in result.lines:
            runs_from = line_runs_from(profile, line, start)
            if runs_from > end:
                shares[line.id] = Decimal(1)
            else:
                first = max(a, runs_from)
                running = _days(first, b) if first <= b else 0
                shares[line.id] = Decimal(running) / Decimal(_days(runs_from, end))
        part = {line.id: line.amount for line in result.lines}
        for line in result.lines:
            sources = [o for o in ruleset.reads.get(line.id, ()) if o in part and o != line.id]
            weight = sum((part[o] for o in sources), Decimal(0))
            if weight:
                shares[line.id] = sum((part[o] * shares[o] for o in sources), Decimal(0)) / weight
            amounts[line.id] = amounts.get(line.id, Decimal(0)) + line.amount * shares[line.id]
    # The year's total is rounded once; each line gets its amount rounded down to the cent and
    # the cents left go to the largest remainders, the earlier line first (DESIGN.md § Time,
    # timeline.combine): so the lines add up to the total, and a guarantee holds to the cent.
    floors = {line: amount.quantize(CENT, rounding=ROUND_DOWN) for line, amount in amounts.items()}
    left = int((_round(sum(amounts.values(), Decimal(0))) - sum(floors.values(), Decimal(0))) / CENT)
    by_remainder = sorted(amounts, key=lambda line: (floors[line] - amounts[line], list(amounts).index(line)))
    for line in by_remainder[:left]:
        floors[line] += CENT
    return floors


def check_entitlements_against_eval(profile, schedule):
    years = [y for y in schedule.years if y.number is not None]
    signed = profile.contract_signed
    assert len(years) == (5 if signed else 0)  # FACTS.md §5: a 5-year contract
    for year in years:
        assert year.start == _anniversary(signed, year.number - 1)
        assert year.end == _anniversary(signed, year.number) - ONE_DAY
        parts = expected_parts(year.start, year.end)
        assert [(a, b) for a, b, _ in year.segments] == parts
        assert [rid for _, _, rid in year.segments] == [LIBRARY.in_force(a).id for a, _ in parts]
        if len(parts) == 1:
            result = evaluate(LIBRARY.in_force(year.start), profile, year.start)
            assert year.total == result.total, (year.number, year.total, result.total)
            assert year.lines == {line.id: line.amount for line in result.lines}
        else:
            expected = oracle_lines(profile, year.start, year.end)
            assert year.lines == expected, (year.number, year.segments)
    before = [y for y in schedule.years if y.number is None]
    if before:  # the time before the contract: what eval gives on the letter of intent's day
        (year,) = before
        result = evaluate(LIBRARY.in_force(year.start), profile, year.start)
        assert year.start == profile.letter_of_intent_validated
        assert year.lines == {line.id: line.amount for line in result.lines}


def _anniversary(signed: D, years: int) -> D:
    """FACTS.md §5; a 29 February signature has its anniversaries on 28 February."""
    try:
        return signed.replace(year=signed.year + years)
    except ValueError:
        return D(signed.year + years, 2, 28)


@PROPERTY
@given(profile_data(contract=False))
def test_entitlements_follow_eval_prorata_temporis(data):
    """FACTS.md §1, §5: eval on the year's first day, or each text for its days of the year."""
    profile = load(data)
    check_entitlements_against_eval(profile, schedule_of(profile))


# A taille-3 CPTS signed 2021-10-01 whose crisis mission started 2022-05-01, before the
# mission existed (2022-09-03, FACTS.md §1, §4.1). Its year 1 (2021-10-01 to 2022-09-30) holds
# 28 days of the mission, from 2022-09-03: eval on 2022-09-03 gives the fixed part already
# prorated from there, 45 000 x 28/365 = 3 452.05, and the COVID variable part 67 500; the
# schedule must not prorate them again by the days from the mission's own start (it did, giving
# 631.75 and 12 352.94, until commit 9de3f5d added the lines' runs_from).
CRISIS_BEFORE_IT_EXISTS = {
    "name": "CPTS crise anticipée", "population": 120000, "contract_signed": "2021-10-01",
    "missions": {"crises_sanitaires": {"started": "2022-05-01"}},
}


def test_crisis_mission_started_before_it_exists_is_paid_once():
    profile = load(CRISIS_BEFORE_IT_EXISTS)
    schedule = schedule_of(profile)
    year = schedule.years[0]
    assert year.lines["crises_fixe"] == Decimal("3452.05")
    assert year.lines["crises_variable_covid"] == Decimal("67500.00")
    check_entitlements_against_eval(profile, schedule)


# -- b'. the uplift of avenant 2 ----------------------------------------------------------------


def _share(profile, line, start: D, end: D, a: D, b: D) -> Decimal:
    runs_from = line_runs_from(profile, line, start)
    if runs_from > end:
        return Decimal(1)
    first = max(a, runs_from)
    return Decimal(_days(first, b) if first <= b else 0) / Decimal(_days(runs_from, end))


def oracle_uplift(profile, start: D, end: D):
    """FACTS.md §4.1: the uplift is taux_majoration of the socle and optional missions' funding
    (fixe and variable lines) of the days it applies on, each part counted prorata temporis as in
    b. None when it applies on no day of the year."""
    total, taux = Decimal(0), None
    for a, b in expected_parts(start, end):
        ruleset = LIBRARY.in_force(a)
        result = evaluate(ruleset, profile, a)
        missions = [line for line in result.lines if line.volet in ("fixe", "variable")]
        applies = any(line.id == "majoration_missions" for line in result.lines)
        if applies:
            taux = ruleset.parameters["taux_majoration"].value_for(result.size)
            total += sum((line.amount * _share(profile, line, start, end, a, b) for line in missions), Decimal(0))
    return None if taux is None else _round(taux * total)


@PROPERTY
@given(profile_data(), st.integers(175_001, 400_000), st.integers(100, 300))
def test_uplift_is_ten_percent_of_the_missions_of_its_days(data, population, members):
    """FACTS.md §4.1: a taille-4 CPTS with at least 100 members gets +10 % on all socle and
    optional missions, on the days it applies: checked on every contract year, to a cent per part
    of the year (each part's uplift is rounded to the cent before it is weighted)."""
    data.update(population=population, members=members)
    profile = load(data)
    for year in schedule_of(profile).years:
        if year.number is None:
            continue
        expected = oracle_uplift(profile, year.start, year.end)
        found = year.lines.get("majoration_missions")
        if expected is None:
            assert found is None, (year.number, found)
        else:
            # Each part's uplift is rounded to the cent before it is weighted: a cent per part.
            assert abs(found - expected) <= CENT * len(year.segments), (year.number, year.segments, expected, found)


# A taille-4 CPTS with 120 members signed on 2022-04-01: every day of its year 1 is under
# avenant 2, which applies the uplift. The year's missions: accès aux soins 110 000 + 45 000,
# crises 50 000 x 182/365 = 24 931.51 (from 2022-10-01) + 75 000 (a crisis on 2023-01-15),
# 254 931.51 in all: the uplift is 25 493.15. The schedule weights the uplift of the part
# from 2022-09-03 by that part's 210 days out of 365, although the crisis lines it counts are
# already the whole year's: 15 500 + 9 993.15 x 210/365 = 21 249.48.
UPLIFT_WITH_A_CRISIS_MISSION = {
    "name": "CPTS taille 4", "population": 200000, "members": 120, "contract_signed": "2022-04-01",
    "missions": {"acces_soins": {"started": "2022-04-01", "achievement": {1: 1}},
                 "crises_sanitaires": {"started": "2022-10-01"}},
    "crises": [{"declared": "2023-01-15", "label": "crise"}],
}


def test_uplift_counts_the_crisis_mission_of_a_cut_year_once():
    profile = load(UPLIFT_WITH_A_CRISIS_MISSION)
    year = schedule_of(profile).years[0]
    missions = sum((v for k, v in year.lines.items() if k.startswith(("acces_soins_", "crises_"))), Decimal(0))
    assert missions == Decimal("254931.51")
    assert year.lines["majoration_missions"] == _round(Decimal("0.10") * missions) == Decimal("25493.15")
    assert oracle_uplift(profile, year.start, year.end) == Decimal("25493.15")


# -- c. eval's results ----------------------------------------------------------------------------


@st.composite
def profile_and_day(draw):
    data = draw(profile_data())
    signed = D.fromisoformat(data["contract_signed"])
    day = draw(st.sampled_from([signed, signed + datetime.timedelta(days=364), AVENANT_2, CRISIS_MISSION])
               | st.dates(max(ACI_2019, signed - datetime.timedelta(days=60)), signed + datetime.timedelta(days=2000)))
    return data, day


@PROPERTY
@given(profile_and_day(), st.data())
def test_eval_lines_within_their_maximum_and_monotonic_in_achievement(case, more):
    """FACTS.md §4, §7: a line pays from 0 to its maximum; the variable part grows with the taux."""
    data, day = case
    profile = load(data)
    ruleset = LIBRARY.in_force(day)
    result = evaluate(ruleset, profile, day)
    for line in result.lines:
        assert Decimal(0) <= line.amount <= line.maximum, (line.id, line.amount, line.maximum)
        assert line.amount == line.amount.quantize(CENT)
    for line in result.skipped:
        assert line.amount == 0
    assert result.total == sum((line.amount for line in result.lines), Decimal(0))

    year = result.contract_year
    missions = [m for m in profile.missions if m in ruleset.missions]
    if year is None or not missions:
        return
    mission = more.draw(st.sampled_from(missions))
    state = profile.missions[mission]
    low = state.achievement.get(year.number, Decimal(0))
    high = more.draw(st.integers(int(low * 100), 100).map(_rate))
    raised = dataclasses.replace(profile, missions={
        **profile.missions,
        mission: dataclasses.replace(state, achievement={**state.achievement, year.number: high})})
    after = evaluate(ruleset, raised, day)
    amounts = {line.id: line.amount for line in after.lines}
    for line in result.lines:
        if line.mission == mission and line.volet == "variable":
            assert amounts.get(line.id, Decimal(0)) >= line.amount, (line.id, low, high)
    assert after.total >= result.total


# -- d. the CLI never crashes ----------------------------------------------------------------------

DIAGNOSTIC = re.compile(r"^(?P<file>[^\s:][^:]*?)(?::(?P<line>\d+):(?P<column>\d+))?: (?P<code>[EW]\d{3}) \S")

_HOSTILE_INTEGERS = ["-1", "-400000", "1.5", "true", "NO", "on", "'120000'", "1e3", "010", "0x10",
                     "1_000", ".inf", ".nan", "~", "[]", "{}", "99999999999999999999", "12,50"]
_HOSTILE_DATES = ["2023-02-30", "1899-12-31", "2101-01-01", "2023-1-1", "01/02/2023", "2022-10-15T10:00:00",
                  "'2022-10-15'", "NO", "20221015", "~", "9999-12-31", "0000-01-01"]
_HOSTILE_RATES = ["1.5", "-0.1", "1.01", ".nan", "'0.5'", "true", "0.333", "1e-2"]


def _mostly(draw, valid, hostile):
    """A valid value three times in four, else a hostile one."""
    return draw(hostile) if draw(st.integers(0, 3)) == 3 else draw(valid)


@st.composite
def hostile_profile_text(draw):
    """A profile text, each value valid three times in four, else hostile (HOSTILE_INPUTS.md 11-16)."""
    iso = st.dates(D(2017, 1, 1), D(2032, 12, 31)).map(datetime.date.isoformat)
    date = lambda: _mostly(draw, iso, st.sampled_from(_HOSTILE_DATES))  # noqa: E731
    lines = []
    if draw(st.integers(0, 19)) < 19:
        lines.append("name: " + _mostly(draw, st.just("CPTS hostile"), st.sampled_from(["''", "42", "~", "[a, b]"])))
    if draw(st.integers(0, 19)) < 19:
        population = _mostly(draw, st.integers(0, 400_000).map(str),
                             st.sampled_from(_HOSTILE_INTEGERS) | st.integers(-10**7, 10**10).map(str))
        lines.append(f"population: {population}")
    if draw(st.booleans()):
        lines.append("members: " + _mostly(draw, st.integers(0, 300).map(str),
                                           st.sampled_from(_HOSTILE_INTEGERS) | st.integers(-5, -1).map(str)))
    for field in ("letter_of_intent_validated", "contract_signed"):
        if draw(st.booleans()):
            lines.append(f"{field}: {date()}")
    if draw(st.booleans()):
        lines.append("missions:")
        known = st.sampled_from(MISSIONS)
        for mission in draw(st.lists(st.just(None), min_size=1, max_size=4)):
            mission = _mostly(draw, known, st.sampled_from(["acces_soin", "crises", "Parcours"]))
            if any(line == f"  {mission}:" for line in lines):
                continue
            lines.append(f"  {mission}:")
            if draw(st.booleans()):
                lines.append(f"    started: {date()}")
            if draw(st.booleans()):
                lines.append(f"    deployed: {date()}")
            if draw(st.booleans()):
                keys = draw(st.lists(st.sampled_from(["1", "2", "3", "4", "5"]), unique=True, min_size=1, max_size=3))
                if draw(st.integers(0, 3)) == 3:
                    keys.append(draw(st.sampled_from(["0", "9", "one", "'6'"])))
                rates = [_mostly(draw, st.integers(0, 100).map(lambda n: str(_rate(n))), st.sampled_from(_HOSTILE_RATES))
                         for _ in keys]
                lines.append("    achievement: {" + ", ".join(f"{k}: {v}" for k, v in zip(keys, rates)) + "}")
            if draw(st.integers(0, 7)) == 7:
                lines.append("    startd: 2023-01-01")
    if draw(st.booleans()):
        lines.append("crises:")
        for _ in range(draw(st.integers(1, 3))):
            lines.append(f"  - {{declared: {date()}}}")
    if draw(st.integers(0, 5)) == 5:
        lines.append(draw(st.sampled_from(["contract_signd: 2022-01-01", "populaton: 3", "extra: {a: 1}",
                                           "taille: 4"])))
    return "\n".join(lines) + "\n"


def check_clean(run, files, allow_usage=False):
    """Exit 0 / 1 (2 only for a bad command line), no traceback, diagnostics FILE:LINE:COL: CODE."""
    text = run.stdout + run.stderr
    assert run.exception is None, repr(run.exception)
    assert "Traceback" not in text
    assert "internal error" not in run.stderr, run.stderr
    assert run.exit_code in ((0, 1, 2) if allow_usage else (0, 1)), (run.exit_code, run.stderr)
    if run.exit_code == 1:
        problems = [line for line in run.stderr.splitlines() if line.strip()]
        assert problems, "exit 1 with nothing on stderr"
        for line in problems:
            match = DIAGNOSTIC.match(line)
            assert match, line
            if match["file"] in files and match["code"] != "E004":  # all but "the file is empty"
                assert match["line"] and match["column"], line
            elif match["file"] not in files:  # about the command line (a date with no text in force)
                assert match["file"] == "aci-rules", line


@CLI_PROPERTY
@given(hostile_profile_text(),
       st.dates(ACI_2019, D(2031, 12, 31)).map(datetime.date.isoformat)
       | st.sampled_from(["2019-08-24", "2023-02-30", "1899-12-31", "2101-01-01", "2022-13-01", "demain"]))
def test_hostile_profiles_never_crash_eval_or_validate(run_cli, tmp_path, text, day):
    """HOSTILE_INPUTS.md items 11-16: every problem reported, exit 1 for data, 2 for usage."""
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    valid_day = re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) and _is_date(day) and "1900" <= day[:4] <= "2100"
    result = run_cli("eval", path, "--date", day)
    check_clean(result, {str(path)}, allow_usage=not valid_day)
    if not valid_day:
        assert result.exit_code == 2
    result = run_cli("validate", path)
    check_clean(result, {str(path)})


def _is_date(text: str) -> bool:
    try:
        D.fromisoformat(text)
    except ValueError:
        return False
    return True


# Formulas from a small grammar, with the bits the checker must refuse (HOSTILE_INPUTS.md 17-19).
_NAMES = ["population", "members", "taille", "montant", "contract_year", "date"]
_FORBIDDEN_SUFFIXES = [".__class__", "[0]", ".real", "()"]
_FORBIDDEN_ATOMS = ["lambda: 1", "(x := 3)", "__import__('os')", "open('/etc/passwd')", "'%d' % 1",
                    "().__class__", "9**9**9", "4000000**4000000", "'a' * 10", "[1, 2]", "{1: 2}", "f'{1}'"]


# Functions of dates called with dates (with numbers, see test_date_function_given_a_number_*).
_DATES = ["date", "as_date('2022-10-15')", "as_date('2023-02-30')", "as_date('9999-12-31')", "contract_signed"]


def _expressions():
    atom = (st.sampled_from(_NAMES)
            | st.integers(0, 10**6).map(str)
            | st.sampled_from(["0", "0.5", "1.10", "0.0", "1e3", "True", "None", "'acces_soins'", "'x'"]))
    forbidden = st.sampled_from(_FORBIDDEN_ATOMS)
    day = st.sampled_from(_DATES)

    def extend(inner):
        return (st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "<", "and", "or", "%", "//", "=="]),
                          inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
                | inner.map(lambda e: f"({e})")
                | inner.map(lambda e: f"not {e}")
                | inner.map(lambda e: f"-{e}")
                | st.tuples(inner, st.sampled_from(_FORBIDDEN_SUFFIXES)).map(lambda t: f"({t[0]}){t[1]}")
                | st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}")
                | st.tuples(st.sampled_from(["max", "min", "round_half_up", "round_down", "as_date", "count_between",
                                             "unknown_function"]), st.lists(inner, min_size=1, max_size=3))
                .map(lambda t: f"{t[0]}({', '.join(t[1])})")
                | st.tuples(st.sampled_from(["add_months", "add_years"]), day, inner)
                .map(lambda t: f"{t[0]}({t[1]}, {t[2]})")
                | st.tuples(day, day).map(lambda t: f"days_between({t[0]}, {t[1]})")
                | st.tuples(day, day, day).map(lambda t: f"prorata_temporis({t[0]}, {t[1]}, {t[2]})"))

    return st.recursive(atom | forbidden, extend, max_leaves=8)


RULESET = """\
id: mini
title: Minimal ruleset
kind: accord
status: draft
reference: Test
dates:
  in_force: 2019-08-25
contract:
  duration_years: 5
  reference: Test
  confidence: confirmed
taille:
  basis: population
  reference: Test
  confidence: confirmed
  classes:
    - {taille: 1, max: 39999}
    - {taille: 2, min: 40000}
parameters:
  montant:
    unit: EUR
    by_taille: {1: 50000, 2: 60000}
    reference: Test
    confidence: confirmed
lines:
  - id: fonctionnement
    label: Fonctionnement
    volet: fonctionnement
    amount: montant
    reference: Test
  - id: generee
    label: Ligne générée
    volet: fonctionnement
    amount: %s
    reference: Test
"""


@CLI_PROPERTY
@given(_expressions(), st.sampled_from([0, 39999, 40000, 400000]), st.integers(0, 300),
       st.sampled_from(["2019-08-25", "2022-10-15", "2030-01-01"]))
def test_generated_formulas_never_crash(run_cli, tmp_path, expression, population, members, day):
    """HOSTILE_INPUTS.md items 17-22: refused at load with its column, or failing cleanly at eval."""
    ruleset = tmp_path / "mini.yaml"
    ruleset.write_text(RULESET % json.dumps(expression), encoding="utf-8")
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"name: P\npopulation: {population}\nmembers: {members}\ncontract_signed: 2020-01-15\n",
                       encoding="utf-8")
    result = run_cli("eval", profile, "--ruleset", ruleset, "--date", day)
    check_clean(result, {str(ruleset)})
    if result.exit_code == 1:
        for line in result.stderr.splitlines():
            match = DIAGNOSTIC.match(line)
            assert match["file"] == str(ruleset) and match["line"] and match["column"], line


@pytest.mark.parametrize("expression", ["add_months(population, 1)", "add_years(members, 1)",
                                        "days_between(1, 2)", "prorata_temporis(5, 1, 10)"])
def test_date_function_given_a_number_fails_cleanly(run_cli, tmp_path, expression):
    """HOSTILE_INPUTS.md item 22: a type error at evaluation names the line and the expression."""
    ruleset = tmp_path / "mini.yaml"
    ruleset.write_text(RULESET % json.dumps(expression), encoding="utf-8")
    profile = tmp_path / "profile.yaml"
    profile.write_text("name: P\npopulation: 50000\ncontract_signed: 2020-01-15\n", encoding="utf-8")
    result = run_cli("eval", profile, "--ruleset", ruleset, "--date", "2022-10-15")
    check_clean(result, {str(ruleset)})
    assert result.exit_code == 1
    assert re.match(rf"^{re.escape(str(ruleset))}:\d+:\d+: E402 .*'generee'", result.stderr), result.stderr
