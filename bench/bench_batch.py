"""Benchmark: `aci-rules batch` over N profiles, against the floor of any row-by-row design.

    python bench/bench_batch.py                 # N = 10 000 and 100 000, 3 runs each
    python bench/bench_batch.py 10000 --runs 1  # one size, one run

For each N, a CSV of N rows is generated (the rows of examples/national-sample.csv,
repeated, names numbered, populations perturbed) in a temporary folder, never committed.
Each run measures, pinned to one core when the system allows it:
  1. `aci-rules batch FILE --date D --output OUT` as a whole process, with Python's bytecode
     cache as a user has it: CPU time of the child (and wall time), profiles per CPU second,
     peak memory of the child (ru_maxrss);
  2. in the same run, reading the same CSV with the `csv` module and summing the population
     column in plain Python (the floor of a row-by-row design), its CPU time, and the ratio;
  3. once per N, in process, the CPU time per row of each stage: the CSV reader, the typed
     parse into profiles, the evaluation (in one batch, as batch runs it), the output's text.
The machine may be shared: run it several times and quote the range; on a loaded machine the
CPU time is the figure to read.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import pathlib
import random
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "national-sample.csv"
DAY = "2024-06-01"


def make_csv(path: pathlib.Path, count: int) -> None:
    """N rows from the sample, repeated with numbered names and perturbed populations."""
    lines = [line for line in SAMPLE.read_text("utf-8").splitlines() if not line.startswith("#")]
    header, rows = lines[0], list(csv.reader(lines[1:]))
    rng = random.Random(14)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        stream.write(header + "\n")
        for index in range(count):
            row = list(rows[index % len(rows)])
            row[0] = f"CPTS {index + 1:07d}"
            row[1] = str(max(0, int(row[1]) + rng.randint(-5000, 5000)))
            writer.writerow(row)


def one_core() -> list[str]:
    """A prefix that pins a child to one core, where taskset exists."""
    try:
        subprocess.run(["taskset", "-c", "0", "true"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return ["taskset", "-c", "0"]


# A helper process that runs a command (its arguments) and prints the command's return code, wall
# and CPU seconds and peak RSS (KB), and its stderr's end on stderr. Every benchmark runs each child
# through a fresh one: ru_maxrss of RUSAGE_CHILDREN is the largest child so far, so read in the
# benchmark's own process it would carry an earlier, bigger run's peak into the next one's.
PROBE = ("import resource,subprocess,sys,time;t=time.perf_counter();"
         "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
         "w=time.perf_counter()-t;u=resource.getrusage(resource.RUSAGE_CHILDREN);"
         "sys.stderr.write(r.stderr.decode()[-2000:]);"
         "print(r.returncode,w,u.ru_utime+u.ru_stime,u.ru_maxrss)")


def run_batch(path: pathlib.Path, output: pathlib.Path, jobs: int) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user and system, of the child and its own children) and peak RSS
    (MB) of one `aci-rules batch` child. On a shared machine the CPU time is the figure to read."""
    exe = pathlib.Path(sys.executable).with_name("aci-rules")
    command = ([] if jobs > 1 else one_core()) + [str(exe), "batch", str(path), "--date", DAY,
                                                   "--output", str(output), "--jobs", str(jobs)]
    # As a user runs it: with Python's bytecode cache (some sandboxes set PYTHONDONTWRITEBYTECODE,
    # which compiles every module of the package again at each run: 0.3 s of CPU).
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", PROBE, *command], capture_output=True, text=True, check=True,
                          env=environment)
    code, wall, cpu, rss = done.stdout.split()
    if code != "0":
        raise SystemExit(f"batch failed ({code}): {done.stderr}")
    return float(wall), float(cpu), int(rss) / 1024


def plain_csv(path: pathlib.Path) -> float:
    """CPU seconds to read the CSV with csv.DictReader and sum the population column."""
    start = time.process_time()
    with path.open(encoding="utf-8", newline="") as stream:
        total = 0
        for row in csv.DictReader(stream):
            total += int(row["population"])
    assert total > 0
    return time.process_time() - start


def stages(path: pathlib.Path, count: int) -> dict:
    """CPU microseconds per row of each stage, in this process (the best of three)."""
    from aci_rules.cli.impact import _render_rows
    from aci_rules.engine import batch
    from aci_rules.engine.fastpath import FastTimeline, batch_context
    from aci_rules.engine.library import Library

    day = datetime.date.fromisoformat(DAY)
    timeline = Library().timeline(None)
    fast = FastTimeline(timeline)
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    header, rows = rows[0], rows[1:]
    row_type = batch._CsvRowType(header, False)  # noqa: SLF001 — the stage measured
    missions = tuple(batch.batch_missions(timeline, day))
    profiles = [row_type.profile(row) for row in rows]
    assert all(profiles)
    with batch_context():
        results = [batch._row(fast, p, "f.csv:1", day) for p in profiles]  # noqa: SLF001

    def evaluation():
        # As batch runs them: in one batch (a decimal context, the contract years kept).
        with batch_context():
            for profile in profiles:
                batch._row(fast, profile, "f.csv:1", day)  # noqa: SLF001

    def reader():
        with path.open(encoding="utf-8", newline="") as stream:
            for _ in csv.reader(stream):
                pass

    timed = {
        "CSV reader alone (csv.reader)": reader,
        "typed parse of the cells into profiles": lambda: [row_type.profile(row) for row in rows],
        "evaluation (FastTimeline.run, totals by mission)": evaluation,
        "output text (csv)": lambda: _render_rows(results, missions, "csv"),
    }
    found = {}
    for name, work in timed.items():
        best = min(_seconds(work) for _ in range(3))
        found[name] = best * 1e6 / count
    return found


def _seconds(work) -> float:
    # CPU time: on a shared machine the wall time measures the other jobs as much as this one.
    start = time.process_time()
    work()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1, help="also time --jobs N (N > 1)")
    parser.add_argument("--no-stages", action="store_true")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, one core: {bool(one_core())}, "
          f"load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        warm = pathlib.Path(folder) / "warm.csv"
        make_csv(warm, 10)
        run_batch(warm, pathlib.Path(folder) / "warm-rows.csv", 1)  # writes the bytecode cache, untimed
        for count in args.sizes:
            path = pathlib.Path(folder) / f"profiles-{count}.csv"
            make_csv(path, count)
            output = pathlib.Path(folder) / "rows.csv"
            print(f"\nN = {count:,} ({path.stat().st_size / 1e6:.1f} MB of CSV)".replace(",", " "))
            for run in range(args.runs):
                wall, cpu, rss = run_batch(path, output, 1)
                floor = plain_csv(path)
                line = (f"  run {run + 1}: batch {cpu:7.2f} s CPU ({wall:.2f} s wall)  {count / cpu:9,.0f} profiles "
                        f"per CPU s  peak {rss:6.0f} MB | DictReader+sum {floor:5.3f} s CPU  ratio {cpu / floor:5.1f}x")
                if args.jobs > 1:
                    parallel, pcpu, prss = run_batch(path, output, args.jobs)
                    line += (f" | --jobs {args.jobs} {parallel:6.2f} s wall, {pcpu:.2f} s CPU ({wall / parallel:.2f}x, "
                             f"peak {prss:.0f} MB)")
                print(line.replace(",", " "))
            if not args.no_stages:
                for name, micro in stages(path, count).items():
                    print(f"  {name:<42} {micro:8.1f} µs/row")


if __name__ == "__main__":
    main()
