"""Benchmark: how long `aci-rules test tests/cases --coverage --mutate` takes on the shipped texts.

    python bench/bench_mutate.py [PASSES]     # the figures the README quotes

Runs, in process and as the command does, the shipped cases with coverage, then the
mutation analysis of every ruleset they exercise (the two shipped texts and the two
example proposals), PASSES times (default 3). Prints, per ruleset and in total, the
wall time and the CPU time of the process (the machine is shared: the CPU time is
what the work costs, the wall time what a user waits), the number of mutants and of
case runs, and the machine's cores.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time

from aci_rules.engine.cases import accepted_of, collect_case_files, load_case_file
from aci_rules.engine.coverage import run_with_coverage
from aci_rules.engine.library import Library
from aci_rules.engine.mutate import mutation_analysis

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGETS = ["aci-2019", "avenant-2", str(ROOT / "examples" / "plan-100-cpts.yaml"),
           str(ROOT / "examples" / "negociation-2020-seance-2.yaml")]


def one_pass() -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    library = Library()
    cases, accepted = [], []
    for path in collect_case_files([str(ROOT / "tests" / "cases")]):
        cases += load_case_file(path, library, [str(ROOT)])[0]
        accepted += accepted_of(path)
    outcomes, _ = run_with_coverage(cases, library)
    assert all(o.passed for o in outcomes), "a shipped case fails"
    coverage = (time.perf_counter() - wall, time.process_time() - cpu)
    _, reports = mutation_analysis(cases, library, TARGETS, accepted=accepted)
    assert all(not r.survivors for r in reports), "a shipped mutant survives"
    return {"cases": len(cases), "coverage": coverage, "reports": reports,
            "total": (time.perf_counter() - wall, time.process_time() - cpu)}


def main() -> int:
    passes = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}")
    for number in range(passes):
        result = one_pass()
        print(f"pass {number + 1}: {result['cases']} cases; coverage {result['coverage'][0]:.1f} s wall, "
              f"{result['coverage'][1]:.1f} s CPU")
        for report in result["reports"]:
            print(f"  {report.ruleset:28} {report.mutants:4} mutants {report.runs:5} case runs "
                  f"{report.seconds:6.1f} s wall")
        print(f"  total {result['total'][0]:.1f} s wall, {result['total'][1]:.1f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
