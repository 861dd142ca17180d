"""Benchmark: how the time and memory of one command grow with the size of a ruleset.

    python bench/bench_sizes.py            # the figures the README quotes
    python bench/bench_sizes.py --quick    # the smaller sizes only

A proposal may come from another party: the compile time must grow linearly with the
ruleset's size, or stop at a named limit. Measures, each in a fresh process (wall time
and peak memory of the child):
  1. `aci-rules validate` of rulesets of N definitions (each reads the previous one);
  2. `aci-rules eval` of a ruleset of N lines (each a line of its own);
  3. `aci-rules eval` through a chain of N amendments (each a file amending the previous).
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile
import time

from aci_rules.engine.library import MAX_AMENDMENT_CHAIN

HEAD = """\
id: {id}
title: Taille
kind: accord
status: draft
reference: Test
dates:
  in_force: 2019-08-25
taille:
  basis: population
  reference: Test
  confidence: confirmed
  classes:
    - {{taille: 1, max: 39999}}
    - {{taille: 2, min: 40000}}
parameters:
  montant:
    unit: EUR
    by_taille: {{1: 50000, 2: 60000}}
    reference: Test
    confidence: confirmed
"""
LINE = "  - {{id: l{k}, label: L{k}, volet: fonctionnement, amount: {amount}, reference: Test}}\n"
PROFILE = "name: CPTS\npopulation: 50000\nmembers: 10\ncontract_signed: 2020-03-15\n"
AMENDMENT = """\
id: a{k}
title: Amendement {k}
kind: proposal
status: proposal
reference: Test
amends: {base}
dates:
  in_force: 2019-08-25
changes:
  parameters:
    set:
      p{k}: {{value: {k}, reference: Test, confidence: confirmed}}
"""


def definitions(count: int) -> str:
    body = "definitions:\n  d0: population\n" + "".join(f"  d{k}: d{k - 1} + 1\n" for k in range(1, count))
    return HEAD.format(id="sizes") + body + "lines:\n" + LINE.format(k=0, amount=f"d{count - 1}")


def lines(count: int) -> str:
    return HEAD.format(id="sizes") + "lines:\n" + "".join(LINE.format(k=k, amount="montant") for k in range(count))


# The child reports its own peak memory: the parent's RUSAGE_CHILDREN keeps the largest child's.
_CHILD = ("import resource, sys\n"
          "from aci_rules.cli.main import main\n"
          "try:\n    main()\n"
          "finally:\n    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")


def run(args, refused=False):
    """Wall seconds and peak MB of ``aci-rules ARGS`` in a child process (and the code it
    refuses the input with, when ``refused``)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, *map(str, args)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != (1 if refused else 0):
        raise SystemExit(f"{args[0]} failed ({done.returncode}): {done.stderr[-500:]}")
    code = done.stderr.split(": ")[1].split()[0] if refused else None
    peak = int(done.stderr.strip().splitlines()[-1]) / 1024
    return seconds, peak, code


def main() -> None:
    quick = "--quick" in sys.argv
    folder = pathlib.Path(tempfile.mkdtemp(prefix="aci-bench-"))
    profile = folder / "p.yaml"
    profile.write_text(PROFILE)
    print(f"{'measure':<44} {'seconds':>8} {'peak MB':>8}")
    for count in ((1000, 5000) if quick else (1000, 5000, 20000)):
        path = folder / f"definitions-{count}.yaml"
        path.write_text(definitions(count))
        seconds, peak, _ = run(["validate", path])
        print(f"{f'validate, {count} definitions':<44} {seconds:>8.2f} {peak:>8.0f}")
    for count in ((1000, 2000) if quick else (1000, 2000, 8000)):
        path = folder / f"lines-{count}.yaml"
        path.write_text(lines(count))
        seconds, peak, _ = run(["eval", profile, "--date", "2021-01-01", "--ruleset", path])
        print(f"{f'eval, {count} lines':<44} {seconds:>8.2f} {peak:>8.0f}")
    for count in ((10, 50) if quick else (10, 50, 51, 1000)):
        chain = folder / f"chain-{count}"
        chain.mkdir()
        (chain / "a0.yaml").write_text(lines(3).replace("id: sizes", "id: a0"))
        for k in range(1, count + 1):
            (chain / f"a{k}.yaml").write_text(AMENDMENT.format(k=k, base=f"./a{k - 1}.yaml"))
        seconds, peak, code = run(["eval", profile, "--date", "2021-01-01", "--ruleset", chain / f"a{count}.yaml"],
                                  refused=count > MAX_AMENDMENT_CHAIN)
        what = f"eval through a chain of {count} amendments" + (f" ({code})" if code else "")
        print(f"{what:<44} {seconds:>8.2f} {peak:>8.0f}")


if __name__ == "__main__":
    main()
