"""Benchmark: `aci-rules batch` on the vectorised backend (a CSV read in columns), whole process.

    python bench/bench_columnar.py                     # N = 1 000 000, 3 runs, one core and --jobs 2
    python bench/bench_columnar.py 100000 --runs 1     # another size
    python bench/bench_columnar.py --jobs 1            # one core only
    python bench/bench_columnar.py --readers           # and the readers of the file alone
    python bench/bench_columnar.py --numpy             # and each run again without the compiled reader
    python bench/bench_columnar.py --threshold         # where the columns start to pay

A CSV of N rows is generated from examples/national-sample.csv (its rows repeated, names
numbered, populations perturbed) in a temporary folder, never committed. Each run measures:
  1. `aci-rules batch FILE --date D --output OUT --jobs J` as a whole process, for each J of
     --jobs (1: pinned to one core when the system allows it; more: free to use every core):
     the CPU time of all its processes (user + system), its wall time, profiles per second of
     wall time and per CPU second, the peak memory of its largest process (ru_maxrss) and of
     all its processes together (sampled from /proc every 20 ms), and the load average before
     and after (the machine may be shared: then wall time measures the other jobs too). The
     batch reads with the compiled reader when it was built (engine/_columnar.c; the first line
     says which), and with --numpy each run is made again without it, in turn. The children run
     as a user's Python does, caching the bytecode it compiles (PYTHONDONTWRITEBYTECODE left
     out), after one run not counted;
  2. with --readers, in this process, the CPU time of reading the same file with the `csv`
     module (csv.reader, and csv.DictReader summing a column: the floor of a row-by-row
     design), with numpy alone (the bytes, line breaks and commas found), and with pyarrow's CSV
     reader when it is installed (it is not a dependency: this says whether it would pay).
``--threshold`` times both paths (columns, and the row path) on small files, whole process, to
place COLUMNAR_FROM_BYTES.
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_batch import DAY, PROBE, make_csv, one_core  # noqa: E402 — the same rows and probe as the row path's bench
# The row path forced (the same command, the columns' threshold out of reach).
ROW_PATH = ("import sys;import aci_rules.engine.columnar as c;c.COLUMNAR_FROM_BYTES=1<<60;"
            "from aci_rules.cli.main import main;sys.argv[0]='aci-rules';main()")


def _tree_rss(pid: int) -> int:
    """The resident memory (KB) of a process and all its descendants, now (Linux's /proc)."""
    total, stack = 0, [pid]
    while stack:
        here = stack.pop()
        try:
            with open(f"/proc/{here}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
            with open(f"/proc/{here}/task/{here}/children") as children:
                stack += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue
    return total


def _environment(numpy_alone: bool) -> dict:
    """The children's environment: a user's (Python caches the bytecode it compiles, whatever this
    shell says: PYTHONDONTWRITEBYTECODE would make every run compile again the modules changed
    since their cache was written), and with ``numpy_alone`` the compiled reader left out."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "ACI_RULES_NO_NATIVE")}
    if numpy_alone:
        environment["ACI_RULES_NO_NATIVE"] = "1"
    return environment


def reader_in_use(numpy_alone: bool) -> str:
    """Which reader of the chunks the batch runs: the compiled one (engine/_columnar.c) or numpy alone."""
    probe = "from aci_rules.engine.columnar_native import native;print(native() is not None)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_environment(numpy_alone))
    return "compiled (engine/_columnar.c)" if out.stdout.strip() == "True" else "numpy alone"


def run_batch(path: pathlib.Path, output: pathlib.Path, rows_path: bool = False, jobs: int = 1,
              numpy_alone: bool = False) -> tuple:
    """(wall s, CPU s, peak MB of the largest process, peak MB of all its processes together, stderr)
    of one `aci-rules batch` child; with ``jobs`` > 1 its processes are free to use every core, else
    pinned to one. The CPU time sums every process's. ``numpy_alone``: without the compiled reader."""
    if rows_path:
        command = [sys.executable, "-c", ROW_PATH]
    else:
        command = [str(pathlib.Path(sys.executable).with_name("aci-rules"))]
    command = (one_core() if jobs == 1 else []) + command + ["batch", str(path), "--date", DAY, "--output",
                                                             str(output), "--jobs", str(jobs)]
    child = subprocess.Popen([sys.executable, "-c", PROBE, *command], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_environment(numpy_alone))
    peak = 0
    while child.poll() is None:  # every process of the batch together (ru_maxrss is the largest one's)
        peak = max(peak, _tree_rss(child.pid))
        time.sleep(0.02)
    out, err = child.communicate()
    code, wall, cpu, rss = out.split()
    if code != "0":
        raise SystemExit(f"batch failed ({code}): {err}")
    return float(wall), float(cpu), int(rss) / 1024, peak / 1024, err.strip()


def _cpu(work) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def readers(path: pathlib.Path) -> dict:
    """CPU seconds of reading the file by other means, in this process."""
    def plain():
        with path.open(encoding="utf-8", newline="") as stream:
            for _ in csv.reader(stream):
                pass

    def dict_sum():
        with path.open(encoding="utf-8", newline="") as stream:
            total = sum(int(row["population"]) for row in csv.DictReader(stream))
        assert total > 0

    found = {"csv.reader": _cpu(plain), "csv.DictReader + sum": _cpu(dict_sum)}
    try:
        import numpy as np

        def numpy_cells():
            # The columnar path's first step alone: chunks of 4 MB split into the cells' bounds.
            with path.open("rb") as stream:
                carry = b""
                while True:
                    block = stream.read(4 << 20)
                    data = carry + block
                    cut = data.rfind(b"\n") + 1 if block else len(data)
                    data, carry = data[:cut], data[cut:]
                    if data:
                        buffer = np.frombuffer(data, dtype=np.uint8)
                        separators = np.flatnonzero((buffer == 44) | (buffer == 10))
                        breaks = buffer[separators] == 10
                        np.concatenate([[0], separators[breaks][:-1] + 1])
                    if not block:
                        break
        found["numpy: chunks split into cells"] = _cpu(numpy_cells)
    except ImportError:
        pass
    try:
        import pyarrow
        import pyarrow.csv as pacsv

        def arrow():
            options = pacsv.ReadOptions(use_threads=False, skip_rows=0)
            pacsv.read_csv(path, read_options=options)
        found[f"pyarrow {pyarrow.__version__} read_csv (one thread)"] = _cpu(arrow)
    except ImportError:
        pass
    return found


def _thousands(number: float) -> str:
    return f"{number:9,.0f}".replace(",", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threshold", action="store_true", help="time both paths on small files")
    parser.add_argument("--jobs", type=lambda text: [int(n) for n in text.split(",")], default=[1, 2],
                        help="the --jobs values to run, e.g. 1,2 (1: pinned to one core; more: every core)")
    parser.add_argument("--readers", action="store_true",
                        help="also time reading the file with csv, numpy alone, and pyarrow when installed")
    parser.add_argument("--numpy", action="store_true",
                        help="also run each batch with numpy alone (without the compiled reader), in turn")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, one core: {bool(one_core())}; "
          f"reader: {reader_in_use(False)}")
    variants = [False, True] if args.numpy else [False]
    with tempfile.TemporaryDirectory() as folder:
        output = pathlib.Path(folder) / "rows.csv"
        if args.threshold:
            for count in (100, 300, 700, 1500, 3000):
                path = pathlib.Path(folder) / f"small-{count}.csv"
                make_csv(path, count)
                _, columns, *_ = run_batch(path, output)
                _, rows, *_ = run_batch(path, output, rows_path=True)
                print(f"  N = {count:5d} ({path.stat().st_size / 1024:6.0f} KB): columns {columns:5.2f} s, "
                      f"row path {rows:5.2f} s of CPU (load {os.getloadavg()[0]:.1f})")
            return
        for count in args.sizes:
            path = pathlib.Path(folder) / f"profiles-{count}.csv"
            make_csv(path, count)
            print(f"\nN = {count:,} ({path.stat().st_size / 1e6:.0f} MB of CSV)".replace(",", " "))
            run_batch(path, output)  # a first run, not counted: the file in the page cache, the bytecode cached
            for run in range(args.runs):
                for jobs, numpy_alone in [(j, n) for j in args.jobs for n in variants]:
                    load = os.getloadavg()[0]
                    wall, cpu, rss, together, said = run_batch(path, output, jobs=jobs, numpy_alone=numpy_alone)
                    where = ("one core" if jobs == 1 else f"--jobs {jobs}") + (", numpy alone" if numpy_alone else "")
                    print(f"  run {run + 1}, {where}: batch {cpu:6.2f} s of CPU, {wall:6.2f} s wall: "
                          f"{_thousands(count / wall)} profiles per second, {_thousands(count / cpu)} per CPU "
                          f"second; peak {rss:5.0f} MB (all its processes: {together:5.0f} MB), "
                          f"load {load:.1f} before, {os.getloadavg()[0]:.1f} after")
                    if said:
                        print(f"    stderr: {said}")
                if args.readers:
                    for name, seconds in readers(path).items():
                        print(f"    {name:<40} {seconds:6.2f} s of CPU")


if __name__ == "__main__":
    main()
