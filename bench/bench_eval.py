"""Benchmark: how fast aci-rules evaluates profiles, against a plain-Python evaluation.

    python bench/bench_eval.py            # the figures the README quotes

Measures, on one core:
  1. the reference evaluator (simpleeval, with warnings and obligations) on the national sample;
  2. the fast path (engine/fastpath.py) on the same profiles, best of several passes: one call
     per profile; run_all (one ruleset on one day, in one batch: a decimal context and the
     contract years of the days and contracts met kept for the batch, a fresh batch each pass;
     every line's amount and the total, as the plain Python below, not the day each line
     accrues from, which only a year cut by a text needs);
     and what `batch` itself runs per row, FastTimeline.run in a batch (the text in force on the
     day, the contract year holding it, each part of the year under its own text, a fresh batch
     each pass, so that no contract year is known before the pass);
  3. a plain-Python evaluation of the same avenant-2 rules, written here for the benchmark
     only, after checking that it gives the engine's totals for every profile;
and the wall time of one `aci-rules eval` against a bare import of the dependencies.
"""

from __future__ import annotations

import datetime
import gc
import os
import pathlib
import statistics
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal

from aci_rules.engine.batch import read_profiles
from aci_rules.engine.evaluate import assess, contract_year_of, evaluate
from aci_rules.engine.fastpath import FastRuleset, FastTimeline, batch_context
from aci_rules.engine.helpers import add_months, prorata_temporis
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile

ROOT = pathlib.Path(__file__).resolve().parent.parent
DAY = datetime.date(2024, 6, 1)
CENT = Decimal("0.01")
ZERO = Decimal(0)

# --- avenant 2, by hand (the figures of rules/*.yaml; for this benchmark only) -----------------
T = {  # taille -> amounts
    "fonctionnement": {1: 50000, 2: 60000, 3: 75000, 4: 90000},
    "acces_soins": ({1: 55000, 2: 70000, 3: 90000, 4: 110000}, {1: 25000, 2: 30000, 3: 35000, 4: 45000}),
    "parcours": ({1: 25000, 2: 35000, 3: 45000, 4: 50000},) * 2,
    "prevention": ({1: 10000, 2: 15000, 3: 17500, 4: 20000},) * 2,
    "qualite": ({1: 7500, 2: 10000, 3: 15000, 4: 20000},) * 2,
    "accompagnement": ({1: 5000, 2: 7500, 3: 10000, 4: 15000},) * 2,
    "crises": ({1: 25000, 2: 35000, 3: 45000, 4: 50000}, {1: 12500, 2: 17500, 3: 22500, 4: 25000},
               {1: 37500, 2: 52500, 3: 67500, 4: 75000}),
    "supplement": {1: 37500, 2: 45000, 3: 56250, 4: 67500},
    "accompagnement_precoce": {1: 15000, 2: 17500, 3: 25000, 4: 30000},
}
CRISIS_START = datetime.date(2022, 9, 3)


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def plain_total(profile, day) -> Decimal:
    """The avenant-2 total of one profile on one day, written straight in Python."""
    p = profile.population
    taille = 1 if p <= 39999 else 2 if p <= 80000 else 3 if p <= 175000 else 4
    year = contract_year_of(profile.contract_signed, day, 5)
    total = ZERO
    loi = profile.letter_of_intent_validated
    if loi is not None and loi <= day < add_months(loi, 9) and (
            profile.contract_signed is None or day < profile.contract_signed):
        total += T["accompagnement_precoce"][taille]
    if year is None:
        return _money(total)
    start, end = year.start, year.end
    total += T["fonctionnement"][taille]
    if year.number == 1 and profile.contract_signed < datetime.date(2022, 9, 30):
        total += T["supplement"][taille]
    missions_sum = ZERO
    for mission in ("acces_soins", "parcours", "prevention", "qualite", "accompagnement"):
        state = profile.missions.get(mission)
        if state is None or state.started is None or state.started > end:
            continue
        fixe, variable = T[mission]
        rate = state.achievement.get(year.number, ZERO)
        missions_sum += _money(fixe[taille] * prorata_temporis(state.started, start, end))
        missions_sum += _money(variable[taille] * rate)
    state = profile.missions.get("crises_sanitaires")
    if day >= CRISIS_START and state is not None and state.started is not None:
        debut = max(state.started, CRISIS_START)
        if debut <= end:
            redaction, update, survenue = T["crises"]
            plan = redaction[taille] if debut >= start else update[taille]
            missions_sum += _money(plan * prorata_temporis(debut, start, end))
            crisis = any(start <= c.declared <= end for c in profile.crises)
            if crisis:
                missions_sum += survenue[taille]
            elif profile.contract_signed < datetime.date(2021, 12, 31) and start <= CRISIS_START <= end:
                missions_sum += survenue[taille]
    total += missions_sum
    if taille == 4 and (profile.members or 0) >= 100:
        total += _money(Decimal("0.10") * missions_sum)
    return _money(total)


def _rates(passes_of, profiles, passes=9) -> list:
    """Evaluations per second of each pass function (each evaluates every profile once), best of
    ``passes`` passes.

    The functions take turns within each pass (so a slow moment of the machine hits them
    alike). The garbage collector runs as it does in `batch` (on), after a collection before
    each pass, so that no function pays for another's garbage.
    """
    best = [None] * len(passes_of)
    for _ in range(passes):
        for index, run in enumerate(passes_of):
            gc.collect()
            started = time.perf_counter()
            run(profiles)
            elapsed = time.perf_counter() - started
            best[index] = elapsed if best[index] is None else min(best[index], elapsed)
    return [len(profiles) / elapsed for elapsed in best]


def _each(function):
    """A pass calling ``function(profile, DAY)`` for each profile."""
    def run(profiles):
        for profile in profiles:
            function(profile, DAY)
    return run


def _wall(command, runs=10) -> float:
    """Median wall time of ``command``; exits when it fails, so that a crash is never timed."""
    # As a user runs it: with Python's bytecode cache (a first, unmeasured run writes it,
    # and the validation cache of engine/cache.py).
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                              env=environment)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed (exit {done.returncode}), not timed:\n"
                     f"{done.stderr.decode(errors='replace')[-2000:]}")
        if run:
            times.append(elapsed)
    return statistics.median(times)


def main() -> None:
    library = Library()
    ruleset = library.in_force(DAY)
    sources = read_profiles(str(ROOT / "examples" / "national-sample.csv"), library.mission_ids())
    profiles = [compile_profile(source.document) for source in sources]
    fast = FastRuleset(ruleset)

    mismatches = [p.name for p in profiles if plain_total(p, DAY) != evaluate(ruleset, p, DAY).total]
    if mismatches:
        sys.exit(f"plain Python disagrees with the engine on {len(mismatches)} profiles: {mismatches[:5]}")
    same = all(fast.run(p, DAY).total == evaluate(ruleset, p, DAY).total for p in profiles)

    (reference,) = _rates([_each(lambda p, d: evaluate(ruleset, p, d))], profiles, passes=2)

    def run_all(sample):  # one ruleset, one day: the profiles in one batch (a fresh one each pass)
        for _result in fast.run_all(sample, DAY):
            pass

    # What batch runs per row (engine/batch.py, _row): the timeline's fast path in a batch. The
    # FastTimeline is kept over the passes, as a batch keeps it over its rows (its generated
    # functions made, each taille's own function past its first 64 rows); the batch, and so every
    # contract year it met, is new each pass.
    timeline = FastTimeline(library.timeline())
    yearly = library.timeline()
    same_timeline = all(timeline.run(p, DAY)[1].total == assess(yearly, p, DAY).total for p in profiles)

    def as_batch(sample):
        run = timeline.run
        with batch_context():
            for profile in sample:
                run(profile, DAY)

    fast_rate, plain, fast_all, batch_rate = _rates(
        [_each(fast.run), _each(plain_total), run_all, as_batch], profiles, passes=15)
    imports = _wall([sys.executable, "-c", "import yaml, jsonschema, click, simpleeval"])
    one_eval = _wall([sys.executable, "-m", "aci_rules", "eval", "examples/cpts-avenant-2-taille-4.yaml",
                      "--date", "2024-06-01"])

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"national sample: {len(profiles)} profiles, avenant-2, on {DAY}")
    print(f"reference evaluator (simpleeval):  {reference:>9,.0f} evaluations/s")
    print(f"fast path, one call per profile:   {fast_rate:>9,.0f} evaluations/s  (same totals: {same})")
    print(f"fast path, run_all (one batch):    {fast_all:>9,.0f} evaluations/s")
    print(f"fast path, as batch runs each row: {batch_rate:>9,.0f} evaluations/s  (FastTimeline; the contract "
          f"year's totals of assess: {same_timeline})")
    print(f"plain Python, same rules:          {plain:>9,.0f} evaluations/s")
    print(f"fast path / plain Python:          {plain / fast_rate:>9.2f} x the time, one call per profile")
    print(f"                                   {plain / fast_all:>9.2f} x the time, run_all (the target: 1 or less)")
    print(f"                                   {plain / batch_rate:>9.2f} x the time, as batch runs each row")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    print(f"import yaml, jsonschema, click, simpleeval: {imports * 1000:.0f} ms (median of 10)")
    print(f"aci-rules eval of one profile:              {one_eval * 1000:.0f} ms ({one_eval / imports:.2f} x)")


if __name__ == "__main__":
    main()
