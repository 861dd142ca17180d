"""Sweeps and uncertainty: the national cost of many variants of a text's figures, and its error bars.

Each :class:`Vary` gives the values of one parameter (a list, a range, or factors applied to its
value or to its whole ``by_taille`` table); the variants are every combination, each evaluated
over the profiles at each date against the text as written (the baseline). The uncertainty
draws instead every figure that is not confirmed and has a ``plausible`` range
(:mod:`plausible`), N times with a fixed seed, and gives the national cost and each CPTS's
total as a central value with an interval.

The evaluations run on the vectorised backend (:mod:`vector`, the ``vector`` extra); the rows it
cannot vouch for, and the texts it cannot vectorise, are computed by the scalar fast path: the
outcomes say how many (``_outcomes`` of a report), for the caller to say. The reports are plain
data (Decimals, ints, texts), rendered by ``aci-rules sweep`` (cli/sweep.py).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from decimal import ROUND_HALF_UP, Decimal

from .diagnostic import InputError, Message, msg, plain_decimal as plain, suggest

__all__ = ["Vary", "BadVary", "parse_vary", "variant_entry", "check_vary", "rulesets_in_play", "run_sweep",
           "run_uncertainty", "MAX_VALUES"]

# The values of one --vary.
MAX_VALUES = 10 ** 4
# A figure written on the command line: at most 15 digits, as in a ruleset (MAX_NUMBER_DIGITS).
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")
# Units whose figures are whole numbers (months, years, days, counts).
_WHOLE_UNITS = ("mois", "ans", "jours", "nombre", "heures")


class BadVary(ValueError):
    """A variation that cannot be run: its :class:`~.diagnostic.Message` says why (a usage error)."""

    def __init__(self, message: Message):
        self.message = message
        super().__init__(str(message))


@dataclasses.dataclass(frozen=True)
class Vary:
    """One --vary: a parameter, and its values or its factors."""

    name: str
    values: tuple  # Decimal
    factor: bool  # True: the values multiply the parameter's own (each taille's)
    written: str  # as the user wrote it, for the usage error that names it


def _number(text: str, spec: str) -> Decimal:
    if not _NUMBER.fullmatch(text) or len(text.replace("-", "").replace(".", "")) > 15:
        raise BadVary(msg("'{text}' in '{spec}' is not a number (at most 15 digits, a decimal point)",
                          text=text[:40], spec=spec[:80]))
    return Decimal(text)


def parse_vary(spec: str) -> Vary:
    """``name=a:b:step``, ``name=v1,v2``, or either with a leading ``x`` for factors (``name=x0.9:1.1:0.05``).

    >>> parse_vary("part=0.75,1").values
    (Decimal('0.75'), Decimal('1'))
    >>> [str(v) for v in parse_vary("m=1:2:0.5").values]
    ['1', '1.5', '2.0']
    >>> parse_vary("m=x0.9,1.1").factor
    True
    """
    name, sep, values = spec.partition("=")
    name = name.strip()
    if not sep or not _NAME.fullmatch(name):
        raise BadVary(msg("'{spec}' is not NAME=VALUES (a parameter name, then its values)", spec=spec[:80]))
    values = values.strip()
    factor = values.startswith(("x", "*"))
    if factor:
        values = values[1:]
    if values.count(":") == 2:
        low, high, step = (_number(part, spec) for part in values.split(":"))
        if step <= 0 or high < low:
            raise BadVary(msg("'{spec}': a range is FROM:TO:STEP with FROM <= TO and a STEP above 0",
                              spec=spec[:80]))
        count = int((high - low) / step) + 1
        if count > MAX_VALUES:
            raise BadVary(msg("'{spec}' gives {count} values; at most {limit}", spec=spec[:80], count=count,
                              limit=MAX_VALUES))
        found = tuple(low + step * index for index in range(count))
    elif ":" in values:
        raise BadVary(msg("'{spec}': a range is FROM:TO:STEP", spec=spec[:80]))
    else:
        parts = [part.strip() for part in values.split(",")]
        if len(parts) > MAX_VALUES:
            raise BadVary(msg("'{spec}' gives {count} values; at most {limit}", spec=spec[:80], count=len(parts),
                              limit=MAX_VALUES))
        found = tuple(_number(part, spec) for part in parts)
    if factor and any(value < 0 for value in found):
        raise BadVary(msg("'{spec}': a factor is 0 or more", spec=spec[:80]))
    return Vary(name, found, factor, spec)


def _quantum_of(parameter, ruleset, *figures) -> Decimal | None:
    """How finely a figure of ``parameter`` is written: cents for euros, whole numbers for
    months, years and counts, else as finely as its own figures (None: exact)."""
    if parameter.unit == "EUR":
        return ruleset.quantum
    if parameter.unit in _WHOLE_UNITS:
        return Decimal(1)
    exponents = [Decimal(f).as_tuple().exponent for f in figures if f is not None]
    return Decimal(1).scaleb(min([-4] + exponents))


def _fit(value: Decimal, quantum: Decimal | None, parameter):
    """``value`` rounded half up to ``quantum``, as an int for a parameter of whole numbers."""
    if quantum is not None:
        value = value.quantize(quantum, rounding=ROUND_HALF_UP)
    if parameter.unit in _WHOLE_UNITS or (parameter.value is not None and type(parameter.value) is int):
        return int(value)
    return value


def variant_entry(vary: Vary, value: Decimal):
    """The override of one variant: a value, or a function of the parameter (factors)."""
    if not vary.factor:
        def set_value(parameter):
            # A figure of whole numbers (months, counts) stays an int, as the loader reads it.
            fitted = _fit(value, None, parameter)
            if parameter.by_taille is not None:
                return {taille: fitted for taille in parameter.by_taille}
            return fitted
        return set_value

    def scaled(parameter):
        # A factor on a text's own figures, rounded half up as its unit is written (cents for euros).
        quantum = Decimal("0.01") if parameter.unit == "EUR" else (
            Decimal(1) if parameter.unit in _WHOLE_UNITS else None)
        if parameter.by_taille is not None:
            return {t: _fit(Decimal(v) * value, quantum, parameter) for t, v in parameter.by_taille.items()}
        return _fit(Decimal(parameter.value) * value, quantum, parameter)
    return scaled


def check_vary(varies, rulesets):
    """Each varied parameter exists in a text in play and holds numbers; values fit its unit."""
    known = {}
    for ruleset in rulesets:
        for name, parameter in ruleset.parameters.items():
            known.setdefault(name, (parameter, ruleset))
    for vary in varies:
        if vary.name not in known:
            guess = suggest(vary.name, known)
            hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else ""
            raise BadVary(msg("'{name}' is not a parameter of the texts evaluated{hint}", name=vary.name,
                              hint=hint))
        parameter, ruleset = known[vary.name]
        cells = list(parameter.by_taille.values()) if parameter.by_taille is not None else [parameter.value]
        if not all(isinstance(c, (int, Decimal)) and not isinstance(c, bool) for c in cells):
            raise BadVary(msg("'{name}' is not a number: only numbers are varied", name=vary.name))
        if vary.factor:
            continue
        quantum = _quantum_of(parameter, ruleset, *cells)
        for value in vary.values:
            if quantum is not None and value != value.quantize(quantum, rounding=ROUND_HALF_UP):
                raise BadVary(msg("'{name}' is written to {quantum} ({unit}): {value} is not", name=vary.name,
                                  quantum=plain(quantum), unit=parameter.unit, value=plain(value)))


def _money(quanta, quantum: Decimal) -> Decimal:
    return Decimal(int(quanta)).scaleb(quantum.as_tuple().exponent)


def _pct(part: Decimal, whole: Decimal):
    return (part * 100 / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if whole else None


def raise_errors(outcomes) -> None:
    """Raise InputError with the diagnostics of the rows that failed in ``outcomes`` (the first 20
    distinct ones), if any."""
    problems = []
    for outcome in outcomes:
        for _index, _variant, error in outcome.errors:
            problems.extend(d for d in error.diagnostics if d not in problems)
    if problems:
        raise InputError(problems[:20])


def rulesets_in_play(timeline, days) -> list:
    """The rulesets a contract year holding one of ``days`` may evaluate: the text of the day and
    of each change of text within a year around it (a cut year has parts under both)."""
    found = {}
    year = datetime.timedelta(days=366)
    for day in days:
        for when in [day] + sorted(d for d in timeline.change_days if day - year < d <= day + year):
            try:
                ruleset = timeline.resolve(when)
            except InputError:  # before the first text: nothing in force
                continue
            found.setdefault(id(ruleset), ruleset)
    return list(found.values())


def run_sweep(timeline, profiles, days, varies, combinations) -> dict:
    """The sweep's report: per date, the baseline and every variant (cost, gain, lose, by taille).

    ``varies`` are the :class:`Vary` of the run, ``combinations`` the tuples of their values (one a
    variant), ``profiles`` compiled profiles. Raises InputError when rows fail."""
    from aci_rules.engine.vector import VectorTimeline

    overrides = {vary.name: [None] + [variant_entry(vary, values[i]) for values in combinations]
                 for i, vary in enumerate(varies)}
    variants = len(combinations) + 1
    dates, outcomes = [], []
    for day in days:
        outcome = VectorTimeline(timeline, overrides, variants).run(profiles, day)
        outcomes.append(outcome)
        totals, sizes, quantum = outcome.totals, outcome.sizes[0], outcome.quantum
        cost = totals.sum(axis=1)
        gain = (totals > totals[0]).sum(axis=1)
        lose = (totals < totals[0]).sum(axis=1)
        tailles = sorted({int(s) for s in sizes})
        by_taille = {t: (sizes == t) for t in tailles}
        base = _money(cost[0], quantum)
        rows = []
        for index, values in enumerate(combinations, start=1):
            amount = _money(cost[index], quantum)
            rows.append({
                "values": {vary.name: ("x" if vary.factor else "") + plain(value)
                           for vary, value in zip(varies, values)},
                "cost": amount, "difference": amount - base, "difference_pct": _pct(amount - base, base),
                "gain": int(gain[index]), "lose": int(lose[index]),
                "by_taille": {(t if t >= 0 else None): {
                    "count": int(mask.sum()), "cost": _money(totals[index, mask].sum(), quantum),
                    "difference": _money(totals[index, mask].sum() - totals[0, mask].sum(), quantum),
                    "gain": int((totals[index, mask] > totals[0, mask]).sum()),
                    "lose": int((totals[index, mask] < totals[0, mask]).sum())} for t, mask in by_taille.items()},
            })
        dates.append({"date": day.isoformat(), "text": timeline.resolve(day).id, "baseline": base,
                      "absent": [vary.name for vary in varies
                                 if not any(vary.name in r.parameters for r in outcome.rulesets)],
                      "baseline_by_taille": {(t if t >= 0 else None): {
                          "count": int(mask.sum()), "cost": _money(totals[0, mask].sum(), quantum)}
                          for t, mask in by_taille.items()},
                      "out_of_contract": int((totals[0] == 0).sum()), "variants": rows,
                      "backend": {"vector_rows": outcome.vector_rows, "scalar_rows": outcome.scalar_rows,
                                  "not_vectorised": {k: str(v) for k, v in outcome.refused.items()}}})
    raise_errors(outcomes)
    return {"mode": "sweep", "vary": [vary.written for vary in varies], "variants": len(combinations),
            "dates": dates, "_outcomes": outcomes}


def _draws(parameter, ruleset, cells, draws_of, variant):
    """A drawn table or value for ``parameter`` under ``ruleset`` (None: nothing drawn in it)."""
    mine = [c for c in cells if c.parameter == parameter.name]
    if not mine:
        return None
    drawn = {}
    for cell in mine:
        u = draws_of[(cell.parameter, cell.taille)][variant]
        low, high = Decimal(cell.low), Decimal(cell.high)
        value = low + (high - low) * Decimal(repr(float(u)))
        drawn[cell.taille] = _fit(min(max(value, low), high),
                                  _quantum_of(parameter, ruleset, cell.low, cell.high, cell.value), parameter)
    if parameter.by_taille is None:
        return drawn[None]
    return {t: drawn.get(t, v) for t, v in parameter.by_taille.items()}


def run_uncertainty(timeline, profiles, names, days, in_play, draws, seed, interval) -> dict:
    """National cost and each CPTS's total: the value as coded, the median of the draws, and an interval."""
    import numpy as np

    from aci_rules.engine.plausible import uncertain_cells
    from aci_rules.engine.vector import VectorTimeline

    cells_of = {id(r): uncertain_cells(r) for r in in_play}
    keys = sorted({(c.parameter, c.taille if c.taille is not None else -1)
                   for cells, _ in cells_of.values() for c in cells})
    keys = [(name, None if taille == -1 else taille) for name, taille in keys]
    unranged = sorted({(n, t if t is not None else -1) for _, u in cells_of.values() for n, t in u})
    generator = np.random.default_rng(seed)
    uniform = generator.random((draws, len(keys)))
    draws_of = {key: np.concatenate([[0.0], uniform[:, index]]) for index, key in enumerate(keys)}
    cells_by_ruleset = {key: cells for key, (cells, _) in cells_of.items()}

    def entry(variant):
        def drawn(parameter):
            for ruleset in in_play:
                if ruleset.parameters.get(parameter.name) is parameter:
                    return _draws(parameter, ruleset, cells_by_ruleset[id(ruleset)], draws_of, variant)
            return None
        return drawn

    names_drawn = sorted({name for name, _ in keys})
    overrides = {name: [None] + [entry(v) for v in range(1, draws + 1)] for name in names_drawn}
    low_q, high_q = (100 - interval) / 200, 1 - (100 - interval) / 200
    dates, outcomes = [], []
    for day in days:
        outcome = VectorTimeline(timeline, overrides, draws + 1).run(profiles, day)
        outcomes.append(outcome)
        totals, quantum = outcome.totals, outcome.quantum
        national = totals.sum(axis=1)
        sample = totals[1:]

        def band(values, point):
            low, mid, high = np.quantile(values, [low_q, 0.5, high_q], method="inverted_cdf", axis=0)
            return low, mid, high

        low, mid, high = band(national[1:], national[0])
        per_low, per_mid, per_high = band(sample, totals[0])
        sizes = outcome.sizes[0]
        by_taille = {}
        for t in sorted({int(s) for s in sizes}):
            mask = sizes == t
            column = totals[:, mask].sum(axis=1)
            b = band(column[1:], column[0])
            by_taille[t if t >= 0 else None] = {
                "count": int(mask.sum()), "point": _money(column[0], quantum), "median": _money(b[1], quantum),
                "low": _money(b[0], quantum), "high": _money(b[2], quantum)}
        dates.append({
            "date": day.isoformat(), "text": timeline.resolve(day).id,
            "national": {"point": _money(national[0], quantum), "median": _money(mid, quantum),
                         "low": _money(low, quantum), "high": _money(high, quantum)},
            "by_taille": by_taille,
            "cpts": [{"name": names[i], "taille": int(sizes[i]) if sizes[i] >= 0 else None,
                      "point": _money(totals[0, i], quantum), "median": _money(per_mid[i], quantum),
                      "low": _money(per_low[i], quantum), "high": _money(per_high[i], quantum)}
                     for i in range(len(profiles))],
            "backend": {"vector_rows": outcome.vector_rows, "scalar_rows": outcome.scalar_rows,
                        "not_vectorised": {k: str(v) for k, v in outcome.refused.items()}}})
    raise_errors(outcomes)
    figures = []
    seen = set()
    for ruleset in in_play:
        for cell in cells_of[id(ruleset)][0]:
            key = (ruleset.id, cell.parameter, cell.taille)
            if key not in seen:
                seen.add(key)
                figures.append({"text": ruleset.id, "parameter": cell.parameter, "taille": cell.taille,
                                "value": cell.value, "min": cell.low, "max": cell.high,
                                "confidence": cell.confidence, "reason": cell.reason})
    return {"mode": "uncertainty", "draws": draws, "seed": seed, "interval": interval, "drawn": figures,
            "without_range": [{"parameter": n, "taille": t if t >= 0 else None} for n, t in unranged],
            "dates": dates, "_outcomes": outcomes}


