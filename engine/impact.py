"""What a reform does over many CPTS: cost, gainers and losers, where the money moves.

Consumes the rows of :func:`~.batch.evaluate_many` under two rulesets (same
profiles, same order) and aggregates them; it reads no file and renders nothing.
Every sum is exact (Decimal). The comparison's dictionary is the ``compare
--format json`` document once its Decimals are written as strings.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal

from .ruleset import CONFIDENCE_ORDER, Ruleset

__all__ = ["COLUMNS_FROM", "DIFF_COLUMNS_FROM", "evaluate_rows", "profile_comparisons", "NO_MISSION", "OUT_OF_CONTRACT", "STATUSES", "compare_rows", "compare_cpts", "percent", "HistogramBin", "change_histogram", "nice_step",
           "cost_by_confidence", "cost_of_lines", "amounts_by_mission"]

# From this many profiles, the rows of a comparison are computed by the vectorised backend
# (engine/vector.py) when numpy is installed: importing numpy costs a process about 0.11 s of
# CPU, which the columns win back, over the two texts of a comparison, from about a thousand
# profiles (bench/bench_vector.py --thresholds, README "Performance"). Below, the scalar fast
# path. Most of a row's time on either backend is then reading it and building its profile and
# line amounts (Decimals), which no backend removes.
COLUMNS_FROM = 1000

# From this many profiles, `diff --profiles` evaluates them on the vectorised backend. Its other
# backend is the reference evaluator (2.5 - 4 ms a profile under both texts, cut years included,
# measured by bench/bench_vector.py --thresholds), so the 0.1 - 0.15 s the columns cost to start
# (importing numpy, building each text's columns) are won back from about 30 profiles.
DIFF_COLUMNS_FROM = 50

# The key of the amounts of lines that belong to no mission.
NO_MISSION = "hors_mission"
# Why a CPTS has no contract year on the date (its amount is then 0), as a batch row says it.
OUT_OF_CONTRACT = {"not_signed": "pas encore signé", "ended": "contrat échu"}
_ZERO = Decimal("0.00")


# What becomes of a CPTS under the reform, next to the baseline (the ``status`` of a row of
# :func:`compare_cpts`). A CPTS out of contract under a text is never gaining, losing or unchanged:
# its amount there is 0 for want of a contract, not by the texts' rules (DESIGN.md § Time).
STATUSES = ("gain", "lose", "unchanged", "out_of_contract_both", "out_of_contract_baseline",
            "out_of_contract_reform")
_PERCENT = Decimal("0.1")


def evaluate_rows(timeline, sources, day, *, backend: str = "auto", jobs: int = 1, progress=None,
                  timeline_spec: tuple = (None, None, False), assume=None):
    """The rows of ``sources`` (checked profile sources) under ``timeline`` on ``day``, as
    :func:`~.batch.evaluate_many` gives them, and how they were computed: ``(rows, backend)``,
    ``backend`` None for the scalar fast path, else the vectorised outcome (its counts of rows
    the scalar path computed and of texts it could not vectorise, which the caller says).

    ``backend``: ``auto`` (the columns from :data:`COLUMNS_FROM` profiles, numpy permitting),
    ``columns`` or ``scalar``. Both give the same rows to the cent (tests/test_compare.py).
    ``assume`` (an :class:`~.assumptions.Assumed`) is applied to every profile first, on either
    backend; each row's ``gaps`` say which variable parts of a later contract's year read no rate.
    Raises InputError with every evaluation failure, in input order.
    """
    from .batch import evaluate_many
    from .fastpath import FastTimeline

    if backend == "auto":
        from .vector import numpy_available

        backend = "columns" if len(sources) >= COLUMNS_FROM and numpy_available() else "scalar"
    if backend == "columns":
        from .profile import compile_profile
        from .vector import batch_rows

        from .assumptions import RateCheck

        profiles = [compile_profile(source.document) for source in sources]
        if assume is not None:
            profiles = [assume(profile) for profile in profiles]
        rows, outcome = batch_rows(timeline, profiles, [source.label for source in sources], day)
        check = RateCheck(timeline)
        for index, (row, profile) in enumerate(zip(rows, profiles)):
            gaps = check.gaps(profile, day, row.lines) if row.contract_year is not None else None
            if gaps:
                rows[index] = dataclasses.replace(row, gaps=gaps)
        if progress:
            progress(len(rows))
        return rows, outcome
    return evaluate_many(FastTimeline(timeline), sources, day, jobs=jobs, progress=progress,
                         timeline_spec=timeline_spec, assume=assume), None


def profile_comparisons(timelines, profiles, day, *, backend: str = "auto", outcomes: list | None = None,
                        assume=None, gaps=None) -> list:
    """What each profile receives under each of two timelines on ``day``: one
    :class:`~.diff.ProfileComparison` a profile, in order, each text from its own date.

    ``backend``: ``auto`` (the columns from :data:`DIFF_COLUMNS_FROM` profiles, numpy
    permitting), ``columns`` or ``reference`` (:func:`~.evaluate.assess`). Both give the same
    comparisons to the cent (tests/test_compare.py). Raises the EvaluationError of the first
    profile that fails (under the old text first). On the columns, each side's vectorised outcome
    (the rows it left to the scalar path, the texts it refused) is appended to ``outcomes`` when
    given, for the caller to say. ``assume`` (an :class:`~.assumptions.Assumed`) is applied to
    every profile first, on either backend; ``gaps`` (a :class:`~.assumptions.RateGaps`), when
    given, counts the CPTS whose later contract's year reads no rate under either text (W050).
    """
    from .assumptions import RateCheck
    from .diff import ProfileComparison, compare_profile
    from .evaluate import assess

    if assume is not None:
        profiles = [assume(profile) for profile in profiles]
    checks = [RateCheck(timeline) for timeline in timelines] if gaps is not None else ()

    if backend == "auto":
        from .vector import numpy_available

        backend = "columns" if len(profiles) >= DIFF_COLUMNS_FROM and numpy_available() else "reference"
    if backend != "columns":
        out = [compare_profile(assess(timelines[0], p, day), assess(timelines[1], p, day)) for p in profiles]
        for profile in profiles if checks else ():
            gaps.count(checks[0].gaps(profile, day) | checks[1].gaps(profile, day))
        return out
    from .vector import year_lines

    sides = [year_lines(timeline, profiles, day) for timeline in timelines]
    if outcomes is not None:
        outcomes.extend(side.outcome for side in sides)
    failed = [index for side in sides for index in side.errors]
    if failed:
        first = min(failed)
        raise sides[0].errors.get(first) or sides[1].errors[first]
    out = []
    for index, profile in enumerate(profiles):
        missions: dict = {}
        for number, side in enumerate(sides):
            for line_id, amount in side.lines[index]:
                pair = missions.setdefault(side.mission_of[line_id], [Decimal("0.00"), Decimal("0.00")])
                pair[number] += amount
        out.append(ProfileComparison(profile.name, profile.file, day, sides[0].totals[index],
                                     sides[1].totals[index], {m: (a, b) for m, (a, b) in missions.items()},
                                     sides[0].sizes[index], sides[1].sizes[index]))
        if checks:
            gaps.count(frozenset().union(*(check.gaps(profile, day, [line for line, _ in side.lines[index]])
                                           for check, side in zip(checks, sides))))
    return out


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` as a percentage of ``whole``, to a tenth, half up (None when ``whole`` is zero).

    >>> percent(Decimal(-5000), Decimal(287500)), percent(Decimal(1), Decimal(0))
    (Decimal('-1.7'), None)
    """
    if not whole:
        return None
    return (part * 100 / whole).quantize(_PERCENT, rounding=ROUND_HALF_UP)


def _status(a, b) -> str:
    if a.out_of_contract and b.out_of_contract:
        return "out_of_contract_both"
    if a.out_of_contract:
        return "out_of_contract_baseline"
    if b.out_of_contract:
        return "out_of_contract_reform"
    difference = b.total - a.total
    return "gain" if difference > 0 else "lose" if difference < 0 else "unchanged"


def compare_cpts(before, after) -> list[dict]:
    """One entry per CPTS, in input order: its taille and contract under each text (the reason it
    has none: ``not_signed`` or ``ended``), both totals, the difference, its percentage and its
    status (one of STATUSES). Takes the rows of both texts, same profiles, same order."""
    out = []
    for a, b in zip(before, after):
        difference = b.total - a.total
        out.append({"source": a.source, "name": a.name, "baseline_size": a.size, "reform_size": b.size,
                    "baseline_out_of_contract": a.out_of_contract, "reform_out_of_contract": b.out_of_contract,
                    "baseline": a.total, "reform": b.total, "difference": difference,
                    "percent": percent(difference, a.total), "status": _status(a, b)})
    return out


def _size_key(size):
    return (size is None, size or 0)


def _cost(entries) -> dict:
    """Count, both totals, the difference and its percentage of a group of :func:`compare_cpts` entries."""
    baseline = sum((e["baseline"] for e in entries), _ZERO)
    reform = sum((e["reform"] for e in entries), _ZERO)
    return {"count": len(entries), "baseline": baseline, "reform": reform, "difference": reform - baseline,
            "percent": percent(reform - baseline, baseline)}


def _grouped(entries, key) -> dict:
    groups: dict = {}
    for entry in entries:
        groups.setdefault(key(entry), []).append(entry)
    return groups


def compare_rows(rulesets, before, after, day, top, *, assumptions=(), renewal_assumed=False) -> dict:
    """Cost, gainers / losers / unchanged, CPTS out of contract (apart, under each text, with the
    reason, and listed), splits by the baseline's taille, by the reform's taille, by the move from
    one to the other (transitions) and by mission, the largest changes.

    Takes the (baseline, reform) rulesets, their rows in the same order, the date, how many of
    the largest changes to keep, the timelines' assumptions (said once each) and whether renewal
    was assumed. Returns a dict of Decimals and counts (the ``compare --format
    json`` document once its Decimals are strings); every figure of it is a sum of the rows'.
    """
    entries = compare_cpts(before, after)
    by_size = {size: _cost(group) for size, group in sorted(
        _grouped(entries, lambda e: e["baseline_size"]).items(), key=lambda kv: _size_key(kv[0]))}
    by_reform_size = {size: _cost(group) for size, group in sorted(
        _grouped(entries, lambda e: e["reform_size"]).items(), key=lambda kv: _size_key(kv[0]))}
    transitions = [
        {"baseline_size": old, "reform_size": new, **_cost(group)}
        for (old, new), group in sorted(_grouped(entries, lambda e: (e["baseline_size"], e["reform_size"])).items(),
                                        key=lambda kv: (_size_key(kv[0][0]), _size_key(kv[0][1])))]
    # Missions in the order of the baseline, then the reform's own, then what has no mission.
    order = list(rulesets[0].missions) + [m for m in rulesets[1].missions if m not in rulesets[0].missions] + [""]
    missions: dict = {}
    for key in order:
        old = sum((a.missions.get(key, _ZERO) for a in before), _ZERO)
        new = sum((b.missions.get(key, _ZERO) for b in after), _ZERO)
        if old or new:
            missions[key or NO_MISSION] = {"baseline": old, "reform": new, "difference": new - old,
                                           "percent": percent(new - old, old)}
    changed = [e for e in entries if e["status"] in ("gain", "lose")]
    largest = sorted(changed, key=lambda e: (-abs(e["difference"]), e["source"]))[:top]
    counts = {status: sum(1 for e in entries if e["status"] == status) for status in STATUSES}
    total = _cost(entries)
    return {
        "baseline": rulesets[0].id, "reform": rulesets[1].id, "date": day.isoformat(),
        "profiles": len(entries), "baseline_total": total["baseline"], "reform_total": total["reform"],
        "difference": total["difference"], "percent": total["percent"],
        "out_of_contract": {side: {reason: sum(1 for row in rows if row.out_of_contract == reason)
                                   for reason in OUT_OF_CONTRACT}
                            for side, rows in (("baseline", before), ("reform", after))},
        "out_of_contract_both": counts["out_of_contract_both"],
        "out_of_contract_baseline_only": counts["out_of_contract_baseline"],
        "out_of_contract_reform_only": counts["out_of_contract_reform"],
        "gain": counts["gain"], "lose": counts["lose"], "unchanged": counts["unchanged"],
        "taille_changed": sum(1 for e in entries if e["baseline_size"] != e["reform_size"]),
        "by_size": by_size,
        "by_reform_size": by_reform_size,
        "transitions": transitions,
        "by_mission": missions,
        "out_of_contract_cpts": [
            {"source": e["source"], "name": e["name"], "baseline": e["baseline_out_of_contract"],
             "reform": e["reform_out_of_contract"], "baseline_amount": e["baseline"],
             "reform_amount": e["reform"]}
            for e in entries if e["status"].startswith("out_of_contract")],
        "largest": [{"source": e["source"], "name": e["name"], "size": e["baseline_size"],
                     "reform_size": e["reform_size"], "baseline": e["baseline"], "reform": e["reform"],
                     "difference": e["difference"], "percent": e["percent"]} for e in largest],
        "assumptions": list(dict.fromkeys(assumptions)),
        "renewal_assumed": renewal_assumed,
    }


@dataclasses.dataclass(frozen=True)
class HistogramBin:
    """CPTS whose change lies in [low, high)."""

    low: Decimal
    high: Decimal
    count: int


def nice_step(span: Decimal, bins: int) -> Decimal:
    """A round bin width (1, 2, 2.5 or 5 times a power of ten) giving at most about ``bins`` bins.

    >>> nice_step(Decimal(700), 10), nice_step(Decimal(230), 10), nice_step(Decimal("0.3"), 10)
    (Decimal('100'), Decimal('25'), Decimal('0.05'))
    """
    if span <= 0:
        return Decimal(1)
    raw = span / bins
    power = Decimal(10) ** (raw.adjusted())
    step = next(power * factor for factor in (1, 2, Decimal("2.5"), 5, 10) if power * factor >= raw)
    # Written without exponent, so that the bins' edges print as amounts.
    return step.quantize(Decimal(1)) if step >= 1 else step.normalize()


def change_histogram(before, after, bins: int = 12) -> list[HistogramBin]:
    """The distribution of the change per CPTS whose total changes, in round bins.

    Bins are aligned on multiples of their width (so 0 is an edge) and empty bins
    inside the range are kept, so that the histogram reads as a continuous axis.

    >>> from types import SimpleNamespace as Row
    >>> old = [Row(total=Decimal(v)) for v in (100, 100, 100, 100)]
    >>> new = [Row(total=Decimal(v)) for v in (90, 100, 130, 135)]
    >>> [(b.low, b.high, b.count) for b in change_histogram(old, new, bins=5)]
    [(Decimal('-10'), Decimal('0'), 1), (Decimal('0'), Decimal('10'), 0), (Decimal('10'), Decimal('20'), 0), \
(Decimal('20'), Decimal('30'), 0), (Decimal('30'), Decimal('40'), 2)]
    """
    changes = [b.total - a.total for a, b in zip(before, after)]
    changes = [c for c in changes if c != 0]
    if not changes:
        return []
    low, high = min(changes), max(changes)
    # When every change is the same, bins as wide as a tenth of it rather than of one euro.
    step = nice_step(high - low if high != low else abs(high), bins)
    first = int((low / step).to_integral_value(rounding="ROUND_FLOOR")) * step
    counts: dict = {}
    for change in changes:
        index = int((change - first) // step)
        counts[index] = counts.get(index, 0) + 1
    last = max(counts)
    return [HistogramBin(first + i * step, first + (i + 1) * step, counts.get(i, 0)) for i in range(last + 1)]


def cost_of_lines(rows, lines: set) -> Decimal:
    """What the rows receive from the lines named (the cost resting on them)."""
    return sum((amount for row in rows for line, amount in row.lines.items() if line in lines), _ZERO)


def cost_by_confidence(ruleset: Ruleset, rows) -> dict:
    """The rows' total split by the confidence of each line for each row's taille.

    Returns {tag: amount} for every tag of CONFIDENCE_ORDER (zero when none).
    """
    split = {tag: _ZERO for tag in CONFIDENCE_ORDER}
    for row in rows:
        for line, amount in row.lines.items():
            tag = ruleset.confidence.get(line, {}).get(row.size, "confirmed")
            split[tag] += amount
    return split


def amounts_by_mission(lines) -> dict:
    """{mission id or NO_MISSION: (amount, maximum)} summed over line results, in their order."""
    result: dict = {}
    for line in lines:
        amount, maximum = result.get(line.mission or NO_MISSION, (_ZERO, _ZERO))
        result[line.mission or NO_MISSION] = (amount + line.amount, maximum + line.maximum)
    return result
