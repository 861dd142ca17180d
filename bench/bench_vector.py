"""Benchmark: the vectorised backend (engine/vector.py), `sweep` and `sweep --uncertainty`.

    python bench/bench_vector.py             # everything, 3 runs each
    python bench/bench_vector.py --runs 1

Measures, on examples/national-sample.csv (700 CPTS) and avenant 2 at 2024-06-01:
  1. evaluation alone, in process: N = 100 000 rows already in columns (the sample's rows
     repeated), in passes of CHUNK_ROWS rows as a sweep runs them, CPU time (the best of 5),
     per profile;
     for comparison, the scalar fast path (FastRuleset) on 2 000 of the same rows;
  2. `aci-rules sweep` of the 700 CPTS over 1 000 variants at one date, whole process (wall
     and CPU time of the child, peak memory);
  3. `aci-rules sweep --uncertainty 10000`, whole process;
  4. how far one machine goes: profiles x variants x dates evaluated per minute, from a sweep
     of 700 CPTS x 1 000 variants x 3 dates (whole process, CPU time);
  5. where the columns pay (`--thresholds`): the rows of `compare` (one text, the scalar fast
     path against the columns, each building its backend as a command does) and the
     comparisons of `diff --profiles` (the reference evaluator against the columns), in process,
     CPU time, at several N, and what importing numpy costs a process.
Children are pinned to one core when taskset exists. The machine may be shared (load
average printed): run it several times and quote the range; CPU time is steadier than wall.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import resource
import subprocess
import sys
import time

from bench_batch import PROBE, one_core  # noqa: E402 — run as a script, bench/ is on the path

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "national-sample.csv"
DAY = datetime.date(2024, 6, 1)


def child(arguments: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MB) of one `aci-rules` run, measured by a fresh probe; it must succeed."""
    done = subprocess.run([sys.executable, "-c", PROBE, *one_core(), sys.executable, "-m", "aci_rules", *arguments],
                          capture_output=True, text=True, check=True)
    code, wall, cpu, rss = done.stdout.split()
    if code != "0":
        raise SystemExit(f"aci-rules {' '.join(arguments)} failed ({code}): {done.stderr[-500:]}")
    return float(wall), float(cpu), int(rss) / 1024


def evaluation_alone(count: int = 100_000) -> dict:
    from aci_rules.engine.batch import read_profiles
    from aci_rules.engine.fastpath import FastRuleset
    from aci_rules.engine.library import Library
    from aci_rules.engine.profile import compile_profile
    from aci_rules.engine.timeline import time_names
    from aci_rules.engine.vector import CHUNK_ROWS, VectorRuleset, build_columns, tile

    ruleset = Library().get("avenant-2")
    profiles = [compile_profile(s.document) for s in read_profiles(str(SAMPLE), set(ruleset.missions))]
    rows = []
    for profile in profiles:  # each on the first day of its contract year, as the timeline evaluates it
        year, _ = time_names(profile, DAY, ruleset.contract_years, False, ruleset.in_force)
        rows.append((profile, year.start if year else DAY, 0))
    # In passes of CHUNK_ROWS rows, as VectorTimeline runs them (the sample's rows repeated).
    per_chunk = max(1, CHUNK_ROWS // len(rows))
    columns = tile(build_columns(ruleset, rows, False), per_chunk)
    columns.variant[:] = 0
    chunks = -(-count // columns.size)
    vector = VectorRuleset(ruleset)
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(chunks):
            outcome = vector.run(columns)
        best = min(best, time.process_time() - start)
    fast = FastRuleset(ruleset)
    sample = [rows[i % len(rows)] for i in range(2000)]
    start = time.process_time()
    for profile, day, _ in sample:
        fast.run(profile, day)
    scalar = (time.process_time() - start) / len(sample)
    return {"rows": columns.size * chunks, "seconds": best, "us_per_profile": best / (columns.size * chunks) * 1e6,
            "handed_to_scalar": int(outcome.uncertain.sum()) * chunks, "fast_path_us_per_profile": scalar * 1e6}


def _cpu(function) -> float:
    start = time.process_time()
    function()
    return time.process_time() - start


def thresholds() -> None:
    """Where the columns pay: compare's rows and diff --profiles' comparisons, both backends."""
    from aci_rules.engine.batch import read_profiles
    from aci_rules.engine.impact import evaluate_rows, profile_comparisons
    from aci_rules.engine.library import Library
    from aci_rules.engine.profile import compile_profile

    bare = min(child_cpu(["-c", "pass"]) for _ in range(5))
    numpy = min(child_cpu(["-c", "import numpy"]) for _ in range(5))
    print(f"importing numpy: {(numpy - bare) * 1000:.0f} ms CPU (a bare python: {bare * 1000:.0f} ms)")
    library = Library()
    sources = read_profiles(str(SAMPLE), library.mission_ids())
    for text, day in ((None, DAY), (None, datetime.date(2022, 6, 1))):
        timeline = library.timeline(text)
        for count in (200, 700, 2000, 7000):
            chosen = [sources[i % len(sources)] for i in range(count)]
            # Each run builds its backend afresh, as one command does.
            scalar = min(_cpu(lambda: evaluate_rows(library.timeline(text), chosen, day, backend="scalar"))
                         for _ in range(3))
            columns = min(_cpu(lambda: evaluate_rows(library.timeline(text), chosen, day, backend="columns"))
                          for _ in range(3))
            print(f"compare rows, {day}, N = {count}: scalar {scalar * 1000:.0f} ms, columns "
                  f"{columns * 1000:.0f} ms CPU")
    timelines = (library.timeline("aci-2019"), library.timeline("avenant-2"))
    profiles = [compile_profile(s.document) for s in sources]
    for count in (50, 200, 700):
        chosen = [profiles[i % len(profiles)] for i in range(count)]
        reference = _cpu(lambda: profile_comparisons(timelines, chosen, DAY, backend="reference"))
        columns = min(_cpu(lambda: profile_comparisons(timelines, chosen, DAY, backend="columns")) for _ in range(3))
        print(f"diff --profiles, N = {count}: reference {reference * 1000:.0f} ms, columns {columns * 1000:.0f} ms CPU")


def child_cpu(arguments: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(one_core() + [sys.executable, *arguments], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--thresholds", action="store_true", help="only where the columns pay (5.)")
    options = parser.parse_args()
    if options.thresholds:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        thresholds()
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    try:
        import numpy
        print(f"numpy {numpy.__version__}")
    except ImportError:
        raise SystemExit("numpy is missing: pip install -e '.[vector]'") from None
    for run in range(options.runs):
        e = evaluation_alone()
        print(f"[{run + 1}] evaluation alone, N = {e['rows']}: {e['seconds'] * 1000:.0f} ms CPU, "
              f"{e['us_per_profile']:.2f} µs/profile ({1 / e['us_per_profile']:.2f} M/s), "
              f"{e['handed_to_scalar']} rows handed to the scalar path; scalar fast path "
              f"{e['fast_path_us_per_profile']:.1f} µs/profile")
        sweep = ["sweep", str(SAMPLE), "--date", DAY.isoformat(), "--vary", "taux_majoration=0:0.099:0.001",
                 "--vary", "montant_acces_soins_fixe=x0.9,1.0,1.1,1.2,1.3,1.4,1.5,1.6,1.7,1.8", "--format", "json"]
        wall, cpu, memory = child(sweep)
        print(f"[{run + 1}] sweep 700 CPTS x 1000 variants, 1 date, whole process: {wall:.2f} s wall, "
              f"{cpu:.2f} s CPU, {memory:.0f} MB")
        wall, cpu, memory = child(["sweep", str(SAMPLE), "--date", DAY.isoformat(), "--uncertainty", "10000",
                                   "--seed", "1", "--format", "json"])
        print(f"[{run + 1}] uncertainty 700 CPTS x 10000 draws, whole process: {wall:.2f} s wall, "
              f"{cpu:.2f} s CPU, {memory:.0f} MB")
        dates = ["--date", "2023-06-01", "--date", "2024-06-01", "--date", "2025-06-01"]
        wall, cpu, memory = child(sweep[:2] + dates + sweep[4:])
        evaluations = 700 * 1000 * 3
        print(f"[{run + 1}] 700 CPTS x 1000 variants x 3 dates: {wall:.2f} s wall, {cpu:.2f} s CPU, "
              f"{memory:.0f} MB: {evaluations / cpu * 60 / 1e6:.0f} M profile-variant-dates per CPU minute")


if __name__ == "__main__":
    main()
