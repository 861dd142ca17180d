"""What a reform does over many CPTS: cost, gainers and losers, where the money moves.

Consumes the rows of :func:`~.batch.evaluate_many` under two rulesets (same
profiles, same order) and aggregates them; it reads no file and renders nothing.
Every sum is exact (Decimal). The comparison's dictionary is the ``compare
--format json`` document once its Decimals are written as strings.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from .ruleset import CONFIDENCE_ORDER, Ruleset

__all__ = ["NO_MISSION", "OUT_OF_CONTRACT", "compare_rows", "HistogramBin", "change_histogram", "nice_step",
           "cost_by_confidence", "cost_of_lines", "amounts_by_mission"]

# The key of the amounts of lines that belong to no mission.
NO_MISSION = "hors_mission"
# Why a CPTS has no contract year on the date (its amount is then 0), as a batch row says it.
OUT_OF_CONTRACT = {"not_signed": "pas encore signé", "ended": "contrat échu"}
_ZERO = Decimal("0.00")


def compare_rows(rulesets, before, after, day, top) -> dict:
    """Cost, gainers / losers / unchanged, CPTS out of contract (apart, under each text, with the
    reason), splits by taille and by mission, the largest changes.

    Takes the (baseline, reform) rulesets, their rows in the same order, the date and
    how many of the largest changes to keep. Returns a dict of Decimals and counts.
    """
    pairs = list(zip(before, after))
    # A CPTS out of contract under both texts is neither a gainer, a loser nor unchanged: it is
    # counted apart, with the reason its amount is 0 (DESIGN.md § Time).
    outside = [(a, b) for a, b in pairs if a.out_of_contract and b.out_of_contract]
    differences = [(b.total - a.total, a, b) for a, b in pairs if not (a.out_of_contract and b.out_of_contract)]
    by_size: dict = {}
    for a, b in pairs:
        entry = by_size.setdefault(a.size, {"count": 0, "baseline": Decimal(0), "reform": Decimal(0)})
        entry["count"] += 1
        entry["baseline"] += a.total
        entry["reform"] += b.total
    # Missions in the order of the baseline, then the reform's own, then what has no mission.
    order = list(rulesets[0].missions) + [m for m in rulesets[1].missions if m not in rulesets[0].missions] + [""]
    missions: dict = {}
    for key in order:
        old = sum((a.missions.get(key, Decimal(0)) for a, _ in pairs), _ZERO)
        new = sum((b.missions.get(key, Decimal(0)) for _, b in pairs), _ZERO)
        if old or new:
            missions[key or NO_MISSION] = [old, new]
    largest = sorted(differences, key=lambda item: (-abs(item[0]), item[1].source))[:top]
    baseline_total = sum((a.total for a in before), Decimal(0))
    reform_total = sum((b.total for b in after), Decimal(0))
    return {
        "baseline": rulesets[0].id, "reform": rulesets[1].id, "date": day.isoformat(),
        "profiles": len(pairs), "baseline_total": baseline_total, "reform_total": reform_total,
        "difference": reform_total - baseline_total,
        "out_of_contract": {side: {reason: sum(1 for row in rows if row.out_of_contract == reason)
                                   for reason in OUT_OF_CONTRACT}
                            for side, rows in (("baseline", before), ("reform", after))},
        "out_of_contract_both": len(outside),
        "gain": sum(1 for d, _, _ in differences if d > 0),
        "lose": sum(1 for d, _, _ in differences if d < 0),
        "unchanged": sum(1 for d, _, _ in differences if d == 0),
        "by_size": {size: {**entry, "difference": entry["reform"] - entry["baseline"]}
                    for size, entry in sorted(by_size.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))},
        "by_mission": {key: {"baseline": a, "reform": b, "difference": b - a} for key, (a, b) in missions.items()},
        "largest": [{"source": a.source, "name": a.name, "size": a.size, "baseline": a.total,
                     "reform": b.total, "difference": d} for d, a, b in largest],
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
