"""Benchmark: `aci-rules batch` on the vectorised backend (a CSV read in columns), whole process.

    python bench/bench_columnar.py                     # N = 1 000 000, 3 runs
    python bench/bench_columnar.py 100000 --runs 1     # another size
    python bench/bench_columnar.py --threshold         # where the columns start to pay

A CSV of N rows is generated from examples/national-sample.csv (its rows repeated, names
numbered, populations perturbed) in a temporary folder, never committed. Each run, pinned to
one core when the system allows it, measures:
  1. `aci-rules batch FILE --date D --output OUT` as a whole process: the CPU time of the child
     (user + system: the machine may be shared, so wall time measures the other jobs too), its
     wall time, profiles per CPU second, and its peak memory (ru_maxrss);
  2. in the same run, in this process, the CPU time of reading the same file with the `csv`
     module (csv.reader, and csv.DictReader summing a column: the floor of a row-by-row
     design), with numpy alone (the bytes, line breaks and commas found), and with pyarrow's CSV
     reader when it is installed (it is not a dependency: this says whether it would pay).
``--threshold`` times both paths (columns, and the row path) on small files, whole process, to
place COLUMNAR_FROM_BYTES. The load average is printed with each run.
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
from bench_batch import DAY, make_csv, one_core  # noqa: E402 — the same generated rows as the row path's bench
# A child that runs the command and prints its return code, wall and CPU seconds, and peak RSS.
PROBE = ("import resource,subprocess,sys,time;t=time.perf_counter();"
         "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
         "w=time.perf_counter()-t;u=resource.getrusage(resource.RUSAGE_CHILDREN);"
         "sys.stderr.write(r.stderr.decode()[-2000:]);"
         "print(r.returncode,w,u.ru_utime+u.ru_stime,u.ru_maxrss)")
# The row path forced (the same command, the columns' threshold out of reach).
ROW_PATH = ("import sys;import aci_rules.engine.columnar as c;c.COLUMNAR_FROM_BYTES=1<<60;"
            "from aci_rules.cli.main import main;sys.argv[0]='aci-rules';main()")


def run_batch(path: pathlib.Path, output: pathlib.Path, rows_path: bool = False) -> tuple:
    """(wall s, CPU s, peak MB, stderr) of one `aci-rules batch` child."""
    if rows_path:
        command = [sys.executable, "-c", ROW_PATH]
    else:
        command = [str(pathlib.Path(sys.executable).with_name("aci-rules"))]
    command = one_core() + command + ["batch", str(path), "--date", DAY, "--output", str(output)]
    done = subprocess.run([sys.executable, "-c", PROBE, *command], capture_output=True, text=True, check=True)
    code, wall, cpu, rss = done.stdout.split()
    if code != "0":
        raise SystemExit(f"batch failed ({code}): {done.stderr}")
    return float(wall), float(cpu), int(rss) / 1024, done.stderr.strip()


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threshold", action="store_true", help="time both paths on small files")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, one core: {bool(one_core())}")
    with tempfile.TemporaryDirectory() as folder:
        output = pathlib.Path(folder) / "rows.csv"
        if args.threshold:
            for count in (100, 300, 700, 1500, 3000):
                path = pathlib.Path(folder) / f"small-{count}.csv"
                make_csv(path, count)
                _, columns, _, _ = run_batch(path, output)
                _, rows, _, _ = run_batch(path, output, rows_path=True)
                print(f"  N = {count:5d} ({path.stat().st_size / 1024:6.0f} KB): columns {columns:5.2f} s, "
                      f"row path {rows:5.2f} s of CPU (load {os.getloadavg()[0]:.1f})")
            return
        for count in args.sizes:
            path = pathlib.Path(folder) / f"profiles-{count}.csv"
            make_csv(path, count)
            print(f"\nN = {count:,} ({path.stat().st_size / 1e6:.0f} MB of CSV)".replace(",", " "))
            for run in range(args.runs):
                wall, cpu, rss, said = run_batch(path, output)
                print(f"  run {run + 1}: batch {cpu:6.2f} s of CPU ({wall:6.2f} s wall), "
                      f"{count / cpu:9,.0f} profiles per CPU second, peak {rss:5.0f} MB, "
                      f"output {output.stat().st_size / 1e6:.0f} MB, load {os.getloadavg()[0]:.1f}".replace(",", " "))
                if said:
                    print(f"    stderr: {said}")
                for name, seconds in readers(path).items():
                    print(f"    {name:<40} {seconds:6.2f} s of CPU ({seconds / cpu:4.2f} x the whole batch)")


if __name__ == "__main__":
    main()
