"""Benchmark: `aci-rules eval` of one profile against the bare import of its dependencies.

    python bench/bench_startup.py            # 21 runs of each, interleaved
    python bench/bench_startup.py --runs 41
    python bench/bench_startup.py --before /tmp/old/venv/bin/python   # and an older engine, interleaved

Each run is a fresh process: `python -m aci_rules eval examples/cpts-2019-taille-3.yaml
--date 2024-06-01` (the whole command: imports, the shipped texts through the validation
cache, the profile's check, the evaluation, the output) and `python -c 'import yaml,
click, simpleeval, jsonschema'`. The two are interleaved so that a change of the machine's
load hits both; the medians and their ratio are printed (the target is at most 1.2x), and the
same for the CPU time of each process (user + system), which a busy machine disturbs less than
the wall time. The first eval run fills the caches (validation, compiled texts) and is not
counted. With ``--before PYTHON``, the same eval is also run by another interpreter (one whose
``aci_rules`` is an older checkout), in the same interleaving, for a before/after under the
same load. The first line says how each interpreter has aci-rules installed: an editable
install (``pip install -e``) adds its import hook to every module looked up, a wheel does not.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVAL = [sys.executable, "-m", "aci_rules", "eval", str(ROOT / "examples" / "cpts-2019-taille-3.yaml"),
        "--date", "2024-06-01"]
IMPORTS = [sys.executable, "-c", "import yaml, click, simpleeval, jsonschema"]


# As on a user's machine, modules are read from their compiled bytecode (an environment with
# PYTHONDONTWRITEBYTECODE, as some sandboxes set, recompiles every module of the package at
# each run); the bytecode goes to a folder of its own, not into the repository.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "aci-rules-bench-pycache")


def seconds(command) -> tuple[float, float]:
    """``(wall, cpu)`` seconds of one run of ``command`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def install_kind(python: str) -> str:
    """'editable' or 'wheel': how ``python`` has aci-rules installed (where it imports it from)."""
    probe = ("import aci_rules, pathlib, sysconfig\n"
             "site = pathlib.Path(sysconfig.get_paths()['purelib']).resolve()\n"
             "print('wheel' if pathlib.Path(aci_rules.__file__).resolve().is_relative_to(site) else 'editable')")
    found = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=ENV)
    return found.stdout.strip() or "unknown"


def _line(label: str, runs: list, index: int) -> str:
    values = [run[index] for run in runs]
    return f"{label:44s} median {statistics.median(values) * 1000:6.0f} ms  (min {min(values) * 1000:.0f})"


def _ratio(label: str, first: list, second: list, index: int) -> str:
    ours, theirs = [run[index] for run in first], [run[index] for run in second]
    return (f"  {label} {statistics.median(ours) / statistics.median(theirs):.2f}x "
            f"(min/min {min(ours) / min(theirs):.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--before", metavar="PYTHON", help="also time the eval run by this interpreter")
    args = parser.parse_args()
    before = [args.before] + EVAL[1:] if args.before else None
    load = os.getloadavg()[0]
    for command in (EVAL, IMPORTS) + ((before,) if before else ()):
        seconds(command)  # fills the caches of the shipped texts, and the bytecode
    evals, imports, befores = [], [], []
    for _ in range(args.runs):
        evals.append(seconds(EVAL))
        imports.append(seconds(IMPORTS))
        if before:
            befores.append(seconds(before))
    kinds = f"aci-rules {install_kind(sys.executable)}" + (f", before: {install_kind(args.before)}" if before else "")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {load:.2f} at the start and "
          f"{os.getloadavg()[0]:.2f} at the end, {args.runs} runs each, {kinds}")
    for index, what in ((0, "wall time"), (1, "CPU time (user + system)")):
        print(what)
        print("  " + _line("aci-rules eval (one profile)", evals, index))
        print("  " + _line("import yaml, click, simpleeval, jsonschema", imports, index))
        if befores:
            print("  " + _line("before: aci-rules eval", befores, index))
        print(_ratio("ratio", evals, imports, index))
        if befores:
            print(_ratio("before: ratio", befores, imports, index))

if __name__ == "__main__":
    main()
