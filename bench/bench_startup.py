"""Benchmark: `aci-rules eval` of one profile against the bare import of its dependencies.

    python bench/bench_startup.py            # 21 runs of each, interleaved
    python bench/bench_startup.py --runs 41
    python bench/bench_startup.py --before /tmp/old/venv/bin/python   # and an older engine, interleaved

Each run is a fresh process: `python -m aci_rules eval examples/cpts-2019-taille-3.yaml
--date 2024-06-01` (the whole command: imports, the shipped texts through the validation
cache, the profile's check, the evaluation, the output) and `python -c 'import yaml,
click, simpleeval, jsonschema'`. The two are interleaved so that a change of the machine's
load hits both; the medians and their ratio are printed (the target is at most 1.2x). The
first eval run fills the caches (validation, compiled texts) and is not counted. With
``--before PYTHON``, the same eval is also run by another interpreter (one whose ``aci_rules``
is an older checkout), in the same interleaving, for a before/after under the same load.
"""

from __future__ import annotations

import argparse
import os
import pathlib
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


def seconds(command) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=ENV)
    return time.perf_counter() - start


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
    first, second = statistics.median(evals), statistics.median(imports)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {load:.2f} at the start and "
          f"{os.getloadavg()[0]:.2f} at the end, {args.runs} runs each")
    print(f"  aci-rules eval (one profile)         median {first * 1000:6.0f} ms  (min {min(evals) * 1000:.0f})")
    print(f"  import yaml, click, simpleeval, jsonschema  median {second * 1000:6.0f} ms  "
          f"(min {min(imports) * 1000:.0f})")
    print(f"  ratio {first / second:.2f}x (min/min {min(evals) / min(imports):.2f}x)")
    if befores:
        third = statistics.median(befores)
        print(f"  before: aci-rules eval               median {third * 1000:6.0f} ms  (min {min(befores) * 1000:.0f})")
        print(f"  before: ratio {third / second:.2f}x (min/min {min(befores) / min(imports):.2f}x)")


if __name__ == "__main__":
    main()
