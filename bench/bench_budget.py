"""Benchmark: how fast `aci-rules budget` computes the payments of the national sample over ten years.

    python bench/bench_budget.py          # the figures the README quotes

Measures, on one core, for the national sample (examples/national-sample.csv) and the calendar
years 2022 to 2031 under avenant 2 (achievement 0.8 for the years the profiles do not measure):
  1. the reference calendars (engine/schedule.py, simpleeval, with explanations), one pass;
  2. the fast calendars (engine/fastschedule.py), best and median of several passes, after
     checking that they give the reference's amounts to the cent for every cell;
  3. a budget with a reform (avenant 2 against the Plan « 100 % CPTS »), fast path.
Contracts are renewed (--assume-renewal). Wall and CPU times are both printed: the build machine
is shared, and under load the wall time grows while the CPU time stays what the work costs.
"""

from __future__ import annotations

import gc
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
from decimal import Decimal

from aci_rules.engine.batch import read_profiles
from aci_rules.engine.budget import Assumptions, budget_over_sample
from aci_rules.engine.library import Library

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIRST, LAST = 2022, 2031
PASSES = 5


def _machine() -> str:
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model or 'unknown CPU'}), Python {platform.python_version()}"


def _timed(function):
    """(wall seconds, value, CPU seconds of this process): on a shared machine the CPU time
    says what the work costs, the wall time what a user waits."""
    gc.collect()
    gc.disable()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        value = function()
        return time.perf_counter() - start, value, time.process_time() - cpu
    finally:
        gc.enable()


def main() -> None:
    library = Library()
    sources = read_profiles(str(ROOT / "examples" / "national-sample.csv"), library.mission_ids())
    assumptions = Assumptions(achievement=((None, Decimal("0.8")),), renewal=True)
    years = LAST - FIRST + 1
    print(f"machine: {_machine()}")
    print(f"sample: {len(sources)} CPTS, calendar years {FIRST}-{LAST} ({years} years), avenant-2, "
          "contracts renewed")
    print(f"load average before the run: {os.getloadavg()[0]:.1f}")

    def run(names, path):
        return budget_over_sample(library, sources, names, FIRST, LAST, assumptions, path=path)

    run(["avenant-2"], "fast")  # compile the rulesets once, as a run of many variants does
    reference_time, reference, reference_cpu = _timed(lambda: run(["avenant-2"], "reference"))
    times, cpus, fast = [], [], None
    for _ in range(PASSES):
        elapsed, fast, cpu = _timed(lambda: run(["avenant-2"], "fast"))
        times.append(elapsed)
        cpus.append(cpu)
    if fast.texts[0].cells != reference.texts[0].cells:
        sys.exit("the fast and reference calendars differ: not measured")
    best, median = min(times), statistics.median(times)
    print(f"reference calendars: {reference_time:6.2f} s per text ({reference_cpu:.2f} s CPU)")
    print(f"fast calendars:      {best:6.2f} s best, {median:.2f} s median of {PASSES} "
          f"({min(cpus):.2f} s CPU at best; {reference_cpu / min(cpus):.1f} x less CPU than the reference; "
          f"identical amounts in all {len(fast.texts[0].cells)} cells)")
    print(f"                     {len(sources) * years / min(cpus):,.0f} CPTS-years per CPU second; "
          f"{60 / min(cpus):.0f} variants (one text) per CPU minute")
    reform_time, budget, reform_cpu = _timed(
        lambda: run(["avenant-2", str(ROOT / "examples" / "plan-100-cpts.yaml")], "fast"))
    print(f"baseline + reform:   {reform_time:6.2f} s ({reform_cpu:.2f} s CPU; avenant-2 and "
          "examples/plan-100-cpts.yaml)")
    total = sum(budget.texts[0].by_year(budget.years).values())
    print(f"check: avenant-2 pays {total:,.2f} EUR over {FIRST}-{LAST} on this sample")


if __name__ == "__main__":
    main()
