"""``aci-rules sweep``: the national cost of many variants of a text's figures, and its error bars.

Each ``--vary`` gives the values of one parameter (a list, a range, or factors applied to
its value or to its whole ``by_taille`` table); the variants are every combination, each
evaluated over the profiles at each date against the text as written (the baseline).
``--uncertainty N`` draws instead every figure that is not confirmed and has a
``plausible`` range (engine/plausible.py), N times with a fixed seed, and reports the
national cost and each CPTS's total as a central value with an interval.

The evaluations run on the vectorised backend (engine/vector.py, the ``vector`` extra);
the rows it cannot vouch for, and the texts it cannot vectorise, are computed by the
scalar fast path, and stderr says how many.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import itertools
import json
import re
from decimal import ROUND_HALF_UP, Decimal

import click

from aci_rules.engine.diagnostic import InputError, Message, suggest
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile

from .base import EXIT_OK, DateType, examples, guarded, make_timeline, time_options
from .i18n import _, language, render
from .impact import _read, _signed, csv_dialect_option
from .output import check_output, emit, spreadsheet_safe
from .render import _plain, euros

# Bounds: the variants of one run, the values of one --vary, the draws of --uncertainty, the dates.
MAX_VARIANTS = 10 ** 5
DEFAULT_MAX_VARIANTS = 10 ** 4
MAX_VALUES = 10 ** 4
MAX_DRAWS = 10 ** 5
MAX_DATES = 20
# A figure written on the command line: at most 15 digits, as in a ruleset (MAX_NUMBER_DIGITS).
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")
# Units whose figures are whole numbers (months, years, days, counts).
_WHOLE_UNITS = ("mois", "ans", "jours", "nombre", "heures")


@dataclasses.dataclass(frozen=True)
class Vary:
    """One --vary: a parameter, and its values or its factors."""

    name: str
    values: tuple  # Decimal
    factor: bool  # True: the values multiply the parameter's own (each taille's)
    written: str  # as the user wrote it, for the usage error that names it


def _number(text: str, spec: str) -> Decimal:
    if not _NUMBER.fullmatch(text) or len(text.replace("-", "").replace(".", "")) > 15:
        raise click.BadParameter(_("'{text}' in '{spec}' is not a number (at most 15 digits, a decimal point)")
                                 .format(text=text[:40], spec=spec[:80]))
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
        raise click.BadParameter(_("'{spec}' is not NAME=VALUES (a parameter name, then its values)")
                                 .format(spec=spec[:80]))
    values = values.strip()
    factor = values.startswith(("x", "*"))
    if factor:
        values = values[1:]
    if values.count(":") == 2:
        low, high, step = (_number(part, spec) for part in values.split(":"))
        if step <= 0 or high < low:
            raise click.BadParameter(_("'{spec}': a range is FROM:TO:STEP with FROM <= TO and a STEP above 0")
                                     .format(spec=spec[:80]))
        count = int((high - low) / step) + 1
        if count > MAX_VALUES:
            raise click.BadParameter(_("'{spec}' gives {count} values; at most {limit}")
                                     .format(spec=spec[:80], count=count, limit=MAX_VALUES))
        found = tuple(low + step * index for index in range(count))
    elif ":" in values:
        raise click.BadParameter(_("'{spec}': a range is FROM:TO:STEP").format(spec=spec[:80]))
    else:
        parts = [part.strip() for part in values.split(",")]
        if len(parts) > MAX_VALUES:
            raise click.BadParameter(_("'{spec}' gives {count} values; at most {limit}")
                                     .format(spec=spec[:80], count=len(parts), limit=MAX_VALUES))
        found = tuple(_number(part, spec) for part in parts)
    if factor and any(value < 0 for value in found):
        raise click.BadParameter(_("'{spec}': a factor is 0 or more").format(spec=spec[:80]))
    return Vary(name, found, factor, spec)


def _vary_callback(ctx, param, values):
    return tuple(parse_vary(value) for value in values)


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


def _variant_entry(vary: Vary, value: Decimal):
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


def _check_vary(varies, rulesets):
    """Each varied parameter exists in a text in play and holds numbers; values fit its unit."""
    known = {}
    for ruleset in rulesets:
        for name, parameter in ruleset.parameters.items():
            known.setdefault(name, (parameter, ruleset))
    for vary in varies:
        if vary.name not in known:
            guess = suggest(vary.name, known)
            hint = _(" (did you mean '{guess}'?)").format(guess=guess) if guess else ""
            raise click.BadParameter(_("'{name}' is not a parameter of the texts evaluated{hint}")
                                     .format(name=vary.name, hint=hint), param_hint="--vary")
        parameter, ruleset = known[vary.name]
        cells = list(parameter.by_taille.values()) if parameter.by_taille is not None else [parameter.value]
        if not all(isinstance(c, (int, Decimal)) and not isinstance(c, bool) for c in cells):
            raise click.BadParameter(_("'{name}' is not a number: only numbers are varied").format(name=vary.name),
                                     param_hint="--vary")
        if vary.factor:
            continue
        quantum = _quantum_of(parameter, ruleset, *cells)
        for value in vary.values:
            if quantum is not None and value != value.quantize(quantum, rounding=ROUND_HALF_UP):
                raise click.BadParameter(_("'{name}' is written to {quantum} ({unit}): {value} is not")
                                         .format(name=vary.name, quantum=_plain(quantum), unit=parameter.unit,
                                                 value=_plain(value)), param_hint="--vary")


def _money(quanta, quantum: Decimal) -> Decimal:
    return Decimal(int(quanta)).scaleb(quantum.as_tuple().exponent)


def _pct(part: Decimal, whole: Decimal):
    return (part * 100 / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if whole else None


def backend_notes(outcomes) -> None:
    """Say on stderr which texts the columns did not vectorise, and how many rows the scalar path computed."""
    refused, scalar, vector = {}, 0, 0
    for outcome in outcomes:
        refused.update(outcome.refused)
        scalar += outcome.scalar_rows
        vector += outcome.vector_rows
    for text, reason in sorted(refused.items()):
        click.echo(_("aci-rules: {text} is not vectorised ({reason}): computed by the scalar path")
                   .format(text=text, reason=render(reason)), err=True)
    if scalar:
        click.echo(_("aci-rules: {scalar} evaluations by the scalar path, {vector} by the columns")
                   .format(scalar=scalar, vector=vector), err=True)


def _errors(outcomes):
    problems = []
    for outcome in outcomes:
        for _index, _variant, error in outcome.errors:
            problems.extend(d for d in error.diagnostics if d not in problems)
    if problems:
        raise InputError(problems[:20])


@click.command("sweep", epilog=examples(
    "aci-rules sweep examples/national-sample.csv --date 2024-06-01 --vary NAME=x0.8:1.2:0.05",
    "aci-rules sweep examples/national-sample.csv --date 2024-06-01 --uncertainty 1000 --seed 1",
))
@click.argument("profiles", type=click.Path(exists=True))
@click.option("--date", "days", type=DateType(), required=True, multiple=True,
              help="An evaluation date (repeat it for several): each CPTS's entitlement for the contract year "
                   "holding it.")
@time_options()
@click.option("--vary", "varies", multiple=True, callback=_vary_callback, metavar="NAME=VALUES",
              help="A parameter and its values: FROM:TO:STEP, or V1,V2,...; a leading x makes them factors of "
                   "the text's own figures (each taille's for a by_taille table: x0.9:1.1:0.05). Repeat it: "
                   "every combination is a variant.")
@click.option("--uncertainty", "draws", type=click.IntRange(min=1, max=MAX_DRAWS), default=None,
              help="Draw every figure that is not confirmed and has a plausible range, this many times, and "
                   "report the national cost and each CPTS's total with an interval.")
@click.option("--seed", "seed", type=click.IntRange(min=0, max=2 ** 63 - 1), default=0, show_default=True,
              help="The seed of the draws: the same seed gives the same intervals.")
@click.option("--interval", "interval", type=click.IntRange(min=1, max=99), default=90, show_default=True,
              help="The interval reported with --uncertainty, in per cent of the draws (90: from the 5th to "
                   "the 95th percentile).")
@click.option("--max-variants", "max_variants", type=click.IntRange(min=1, max=MAX_VARIANTS),
              default=DEFAULT_MAX_VARIANTS, show_default=True,
              help="Refuse a sweep of more variants than this (every combination of the --vary values).")
@click.option("--format", "output_format", type=click.Choice(["text", "csv", "json"]), default="text",
              show_default=True, help="text for a person, csv for a spreadsheet, json for a program.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to this file (all at once) instead of stdout.")
@csv_dialect_option
@guarded
def sweep_command(profiles, days, ruleset_name, as_if_from, assume_renewal, varies, draws, seed, interval,
                  max_variants, output_format, output, csv_dialect):
    """The national cost of variants of a text's figures against the text, who gains and who loses, by
    taille; or (--uncertainty) the cost with the error bars of its figures not confirmed."""
    from aci_rules.engine.vector import VectorRefused, require_numpy

    try:
        require_numpy()
    except VectorRefused as missing:
        raise click.UsageError(render(missing.reason)) from None
    if bool(varies) == bool(draws):
        raise click.UsageError(_("give --vary (a sweep of values) or --uncertainty (draws), one of the two"))
    if len(set(days)) > MAX_DATES:
        raise click.UsageError(_("at most {limit} dates").format(limit=MAX_DATES))
    if output:
        check_output(output)
    days = sorted(set(days))
    library = Library()
    timeline = make_timeline(library, ruleset_name, as_if_from, assume_renewal)
    in_play = _rulesets_in_play(timeline, days)
    sources = _read(library, profiles, csv_dialect, ruleset_name)
    profiles_ = [compile_profile(source.document) for source in sources]
    names = [source.document.data.get("name") or source.label for source in sources]
    if varies:
        _check_vary(varies, in_play)
        combinations = list(itertools.product(*(vary.values for vary in varies)))
        if len(combinations) > max_variants:
            raise click.UsageError(_("{count} variants (every combination of the --vary values); at most "
                                     "{limit} (--max-variants)").format(count=len(combinations), limit=max_variants))
        report = run_sweep(timeline, profiles_, days, varies, combinations)
    else:
        report = run_uncertainty(timeline, profiles_, names, days, in_play, draws, seed, interval)
    report["profiles"] = len(profiles_)
    report["ruleset"] = ruleset_name or _("texts in force")
    report["assumptions"] = list(timeline.assumptions())
    backend_notes(report.pop("_outcomes"))
    # JSON for a program: compact, since a sweep holds thousands of variants.
    render = {"text": _text, "csv": _csv,
              "json": lambda r: json.dumps(_jsonable(r), ensure_ascii=False, separators=(",", ":"))}[output_format]
    emit(render(report), output, for_terminal=output_format == "text", final_newline=True)
    return EXIT_OK


def _rulesets_in_play(timeline, days) -> list:
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
    """The sweep's report: per date, the baseline and every variant (cost, gain, lose, by taille)."""
    import numpy as np

    from aci_rules.engine.vector import VectorTimeline

    overrides = {vary.name: [None] + [_variant_entry(vary, values[i]) for values in combinations]
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
                "values": {vary.name: ("x" if vary.factor else "") + _plain(value)
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
    _errors(outcomes)
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
    _errors(outcomes)
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


def _jsonable(node):
    # As compare's, but a taille of None (a text without tailles) is written "" and tuples are lists.
    if isinstance(node, dict):
        return {("" if k is None else str(k)): _jsonable(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_jsonable(v) for v in node]
    if isinstance(node, (Decimal, Message)):  # a message (an assumption) in English, as every JSON message
        return str(node)
    return node


def _percent(value) -> str:
    if value is None:
        return ""
    text = f"{'+' if value > 0 else ''}{_plain(value)} %"
    return text if language() == "en" else text.replace(".", ",")


def _taille(t) -> str:
    return str(t) if t is not None else "—"


def _text(r) -> str:
    out = []
    if r["mode"] == "sweep":
        out.append(_("Sweep of {ruleset} over {count} CPTS: {variants} variants ({vary})").format(
            ruleset=r["ruleset"], count=r["profiles"], variants=r["variants"], vary=", ".join(r["vary"])))
        for block in r["dates"]:
            out += ["", _("On {date} ({text}): baseline {cost}, out of contract {out}").format(
                date=block["date"], text=block["text"], cost=euros(block["baseline"]), out=block["out_of_contract"])]
            if block["absent"]:
                out.append("  " + _("Not in the texts evaluated on that date (the variants do not change it): "
                                    "{names}").format(names=", ".join(block["absent"])))
            tailles = list(block["baseline_by_taille"])
            varied = list(block["variants"][0]["values"]) if block["variants"] else []
            widths = [max([len(name)] + [len(row["values"][name]) for row in block["variants"]]) for name in varied]
            head = "  " + " ".join(f"{name:>{w}}" for name, w in zip(varied, widths))
            head += (f" {_('Cost'):>18} {_('Difference'):>17} {'%':>8} {_('Gain'):>7} {_('Lose'):>7}"
                     + "".join(f" {_('T{taille}').format(taille=_taille(t)):>15}" for t in tailles))
            out.append(head)
            for row in block["variants"]:
                line = "  " + " ".join(f"{row['values'][name]:>{w}}" for name, w in zip(varied, widths))
                line += (f" {euros(row['cost']):>18} {_signed(row['difference']):>17} "
                         f"{_percent(row['difference_pct']):>8} {row['gain']:>7} {row['lose']:>7}")
                line += "".join(f" {_signed(row['by_taille'][t]['difference']):>15}" for t in tailles)
                out.append(line)
            out.append("  " + _("T1..T4: the difference by taille (the taille under the baseline)"))
    else:
        out.append(_("Uncertainty of {ruleset} over {count} CPTS: {draws} draws (seed {seed}), interval of "
                     "{interval} % of the draws").format(ruleset=r["ruleset"], count=r["profiles"], draws=r["draws"],
                                                         seed=r["seed"], interval=r["interval"]))
        out.append("")
        out.append("  " + _("Figures drawn (not confirmed, with a plausible range):"))
        for f in r["drawn"]:
            where = f" {_('taille {size}').format(size=f['taille'])}" if f["taille"] is not None else ""
            out.append(f"    {f['text']} {f['parameter']}{where}: {_plain(Decimal(f['value']))} "
                       f"[{_plain(Decimal(f['min']))} ; {_plain(Decimal(f['max']))}] ({f['confidence']})")
        if r["without_range"]:
            out.append("  " + _("{count} figures not confirmed have no plausible range: kept as written")
                       .format(count=len(r["without_range"])))
        for block in r["dates"]:
            n = block["national"]
            out += ["", _("On {date} ({text})").format(date=block["date"], text=block["text"])]
            out.append("  " + _("National cost: {point} as written; median {median}; interval {low} to {high}")
                       .format(point=euros(n["point"]), median=euros(n["median"]), low=euros(n["low"]),
                               high=euros(n["high"])))
            out.append(f"  {_('Taille'):<8} {_('CPTS'):>6} {_('As written'):>18} {_('Median'):>18} "
                       f"{_('Low'):>18} {_('High'):>18}")
            for t, e in block["by_taille"].items():
                out.append(f"  {_taille(t):<8} {e['count']:>6} {euros(e['point']):>18} {euros(e['median']):>18} "
                           f"{euros(e['low']):>18} {euros(e['high']):>18}")
            widest = sorted(block["cpts"], key=lambda c: c["high"] - c["low"], reverse=True)[:10]
            out.append("  " + _("Widest intervals (each CPTS: --format csv or json)"))
            for c in widest:
                out.append(f"    {c['name'][:34]:<34} {_taille(c['taille']):>3} {euros(c['point']):>15} "
                           f"[{euros(c['low'])} ; {euros(c['high'])}]")
    out.extend("  " + _("Assumption: {text}").format(text=render(a)) for a in r["assumptions"])
    return "\n".join(out) + "\n"


def _csv(r) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if r["mode"] == "sweep":
        tailles = sorted({t for block in r["dates"] for t in block["baseline_by_taille"]},
                         key=lambda t: (t is None, t))
        names = list(r["dates"][0]["variants"][0]["values"]) if r["dates"] and r["dates"][0]["variants"] else []
        header = ["date", "text", "variant"] + names + ["cost", "baseline", "difference", "difference_pct", "gain",
                                                         "lose"]
        for t in tailles:
            header += [f"t{_taille(t)}_{k}" for k in ("count", "cost", "difference", "gain", "lose")]
        writer.writerow(header)
        for block in r["dates"]:
            for index, row in enumerate(block["variants"], start=1):
                line = [block["date"], block["text"], index] + [row["values"][n] for n in names] + [
                    row["cost"], block["baseline"], row["difference"],
                    row["difference_pct"] if row["difference_pct"] is not None else "", row["gain"], row["lose"]]
                for t in tailles:
                    e = row["by_taille"].get(t)
                    line += [e[k] for k in ("count", "cost", "difference", "gain", "lose")] if e else [""] * 5
                writer.writerow(line)
    else:
        writer.writerow(["date", "text", "scope", "name", "taille", "point", "median", "low", "high"])
        for block in r["dates"]:
            n = block["national"]
            writer.writerow([block["date"], block["text"], "national", "", "", n["point"], n["median"], n["low"],
                             n["high"]])
            for t, e in block["by_taille"].items():
                writer.writerow([block["date"], block["text"], "taille", "", _taille(t) if t is not None else "",
                                 e["point"], e["median"], e["low"], e["high"]])
            for c in block["cpts"]:
                writer.writerow([block["date"], block["text"], "cpts", spreadsheet_safe(c["name"]),
                                 c["taille"] if c["taille"] is not None else "", c["point"], c["median"], c["low"],
                                 c["high"]])
    return buffer.getvalue()
