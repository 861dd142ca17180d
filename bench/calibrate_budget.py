"""Check `aci-rules budget` against what the Assurance Maladie paid: fit on 2022-2023, predict 2024.

    python bench/calibrate_budget.py                  # the figures the README quotes
    python bench/calibrate_budget.py --sample FILE    # another sample

The published totals (FACTS.md §9) are press and parliamentary figures, not a dataset:
105.8 M€ paid to CPTS in 2022 and 121 M€ in 2023 (Sénat, report r25-032), 170 M€ in 2024
(head of the CNAM, Le Quotidien du médecin). The sample is SYNTHETIC
(bench/make_national_sample.py): no public file lists every CPTS with its population and
signature date, so its CPTS only imitate the published counts and sizes.

Two free assumptions are fitted on 2022 and 2023 only, then 2024 is predicted, under two
models (contracts renewed after five years unless --no-renewal):
  - the rate of achievement of every mission's variable part, every year (replacing the
    sample's own rates), in both models;
  - model A: the months between the signature and the start of each socle mission
    (replacing the sample's start dates; optional missions keep the sample's);
  - model B: the months between a payment's due date and the day it is paid, every volet
    (the sample's own start dates).
For each value on a grid, the payments of a year are affine in the rate (the variable parts
are the maximum times the rate, to the cent), so two budgets (rate 0 and rate 1) give the
best rate in closed form (least squares on the relative errors of 2022 and 2023, the rate
kept in 0..1); the best pair is then run once more, exactly, and 2024 is read from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import shlex
import sys
from decimal import Decimal

from aci_rules.engine.batch import check_profiles, read_profiles
from aci_rules.engine.budget import Assumptions, budget_over_sample
from aci_rules.engine.diagnostic import EvaluationError, InputError
from aci_rules.engine.fastschedule import fast_calendar
from aci_rules.engine.library import Library

ROOT = pathlib.Path(__file__).resolve().parent.parent
PUBLISHED = {2022: Decimal("105.8e6"), 2023: Decimal("121e6"), 2024: Decimal("170e6")}
FIT_YEARS = (2022, 2023)


def _millions(amount) -> str:
    return f"{Decimal(amount) / Decimal(1_000_000):7.1f} M€"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", default=str(ROOT / "examples" / "national-sample.csv"))
    parser.add_argument("--baseline", default="avenant-2")
    parser.add_argument("--no-renewal", dest="assume_renewal", action="store_false",
                        help="do not renew contracts past their fifth year (renewed by default: the CPTS signed "
                             "in 2019 were still paid in 2024)")
    options = parser.parse_args(argv)

    library = Library()
    known = library.mission_ids()
    sources = read_profiles(options.sample, known)
    problems = check_profiles(sources, known)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    calendar = fast_calendar()
    first, last = min(PUBLISHED), max(PUBLISHED)

    def totals(assumptions: Assumptions) -> tuple:
        budget = budget_over_sample(library, sources, [options.baseline], first, last, assumptions,
                                    calendar=calendar)
        return budget.texts[0].by_year(budget.years), budget

    print(f"Échantillon : {options.sample} ({len(sources)} CPTS, SYNTHÉTIQUE) ; texte : {options.baseline}"
          f"{' ; renouvellement supposé' if options.assume_renewal else ''}")
    print("Versé (publié, FACTS.md §9, chiffres de presse et parlementaires) : "
          + ", ".join(f"{y} {_millions(v).strip()}" for y, v in PUBLISHED.items()))
    own, _ = totals(Assumptions(renewal=options.assume_renewal))
    print("Sans ajustement (dates de démarrage et taux de l'échantillon) : "
          + ", ".join(f"{y} {_millions(v).strip()}" for y, v in own.items()))
    results = []
    for model in MODELS:
        results.append(_fit(model, options, totals))
    print()
    print("Résumé (ajusté sur 2022 et 2023, prévision 2024 contre 170 M€) :")
    for model, rate, value, exact in results:
        gap = (exact[2024] - PUBLISHED[2024]) / PUBLISHED[2024] * 100
        fitted = ", ".join(f"{y} {(exact[y] - PUBLISHED[y]) / PUBLISHED[y] * 100:+.1f} %" for y in FIT_YEARS)
        print(f"  {model.name}: taux {rate}, {model.unit} {value} ; écarts {fitted} ; "
              f"2024 {_millions(exact[2024]).strip()} ({gap:+.1f} %)")
    return 0


@dataclasses.dataclass(frozen=True)
class Model:
    """A second free assumption, beside the rate of achievement: its grid and how it is stated."""

    name: str
    unit: str
    grid: range
    assumptions: object  # (rate, value, renewal) -> Assumptions
    option: object  # value -> the command line's options


MODELS = (
    Model("A, démarrage des missions socle", "mois après la signature", range(0, 13),
          lambda rate, value, renewal: Assumptions(
              achievement=((None, rate),), achievement_replaces=True, start_delay=((None, value),),
              start_replaces=True, renewal=renewal),
          lambda value: ["--start-delay", str(value), "--replace-starts"]),
    Model("B, retard de paiement de tout volet", "mois après l'échéance", range(0, 13),
          lambda rate, value, renewal: Assumptions(
              achievement=((None, rate),), achievement_replaces=True, payment_lag=((None, value),),
              renewal=renewal),
          lambda value: ["--payment-lag", str(value)]),
)


def _fit(model: Model, options, totals):
    """The best (rate, value) of a model on 2022-2023, its table, and its exact run."""
    print()
    print(f"Modèle {model.name} ({model.unit}), taux d'atteinte de toute mission")
    print(f"{'valeur':>7} {'taux':>6} {'2022':>10} {'2023':>10} {'2024':>10}  écart 2022-23 (rms)")
    fits = []
    for value in model.grid:
        low, _ = totals(model.assumptions(Decimal(0), value, options.assume_renewal))
        high, _ = totals(model.assumptions(Decimal(1), value, options.assume_renewal))
        slope = {y: high[y] - low[y] for y in PUBLISHED}
        # Least squares on relative errors: minimise sum(((low + rate * slope - published) / published)^2).
        weights = {y: 1 / PUBLISHED[y] ** 2 for y in FIT_YEARS}
        denominator = sum(weights[y] * slope[y] ** 2 for y in FIT_YEARS)
        rate = sum(weights[y] * slope[y] * (PUBLISHED[y] - low[y]) for y in FIT_YEARS) / denominator \
            if denominator else Decimal(0)
        rate = min(Decimal(1), max(Decimal(0), rate)).quantize(Decimal("0.01"))
        predicted = {y: low[y] + rate * slope[y] for y in PUBLISHED}
        error = (sum(((predicted[y] - PUBLISHED[y]) / PUBLISHED[y]) ** 2 for y in FIT_YEARS) / 2).sqrt()
        fits.append((error, value, rate))
        print(f"{value:>7} {rate:>6} {_millions(predicted[2022]):>10} {_millions(predicted[2023]):>10} "
              f"{_millions(predicted[2024]):>10}  {error * 100:5.1f} %")
    _, value, rate = min(fits)
    exact, budget = totals(model.assumptions(rate, value, options.assume_renewal))
    print(f"Ajustement : taux d'atteinte {rate}, {model.unit} {value}")
    for year in FIT_YEARS:
        gap = (exact[year] - PUBLISHED[year]) / PUBLISHED[year] * 100
        print(f"  {year} : calculé {_millions(exact[year])}, versé {_millions(PUBLISHED[year])}, écart {gap:+.1f} %")
    gap = (exact[2024] - PUBLISHED[2024]) / PUBLISHED[2024] * 100
    print(f"  Prévision 2024 : {_millions(exact[2024])}, versé {_millions(PUBLISHED[2024])}, "
          f"erreur {exact[2024] - PUBLISHED[2024]:+,.0f} € ({gap:+.1f} %)")
    text = budget.texts[0]
    print("  CPTS sous contrat : " + ", ".join(f"{y} {text.under_contract[y]}" for y in budget.years))
    by_volet = text.by("volet", budget.years)
    print("  Par volet : " + "; ".join(f"{v} " + "/".join(f"{_millions(a).strip()[:-3]}" for a in row.values())
                                        for v, row in sorted(by_volet.items())) + " (M€, 2022/2023/2024)")
    first, last = min(PUBLISHED), max(PUBLISHED)
    command = ["aci-rules", "budget", options.sample, "--baseline", options.baseline, "--from", str(first),
               "--to", str(last), "--achievement", str(rate), "--replace-achievement"] + model.option(value) \
        + (["--assume-renewal"] if options.assume_renewal else [])
    print(f"  Pour refaire le calcul : {shlex.join(command)}")
    return model, rate, value, exact


def _main() -> int:
    try:
        return main()
    except (InputError, EvaluationError) as error:  # a bad sample or ruleset: say where, no traceback
        for diagnostic in error.diagnostics:
            print(diagnostic, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(_main())
