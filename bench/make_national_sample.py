"""Write examples/national-sample.csv: 700 synthetic CPTS for impact simulations.

Synthetic, not real data: no public file lists every CPTS with its population and signature
date. The sample is calibrated on the published aggregates of FACTS.md §9:

- signature dates follow the published count of signed contracts: 0 before the ACI's entry
  into force (2019-08-25), 134 by June 2021, 173 by December 2021, 252 by 1 April 2022, 306
  by July 2022, 530 by 1 February 2024, 624 by October 2024, 700 by May 2025 (linear between
  two counts; each count is met exactly);
- populations from 8 500 to 354 193 inhabitants (the smallest and largest of 2019), mean
  about 82 000 (February 2024), drawn from a lognormal law and rescaled to that mean; the
  taille follows from the population (FACTS.md §2).

The members, mission start delays and rates of achievement are plausible guesses, not
statistics. A fixed seed makes the file reproducible: `python bench/make_national_sample.py`.
"""

from __future__ import annotations

import csv
import datetime
import math
import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parent.parent
COUNT = 700
SEED = 20231122
D = datetime.date
# FACTS.md §9: the published number of CPTS that had signed the ACI, by date.
SIGNED_BY = ((D(2019, 8, 25), 0), (D(2021, 6, 30), 134), (D(2021, 12, 31), 173), (D(2022, 4, 1), 252),
             (D(2022, 7, 31), 306), (D(2024, 2, 1), 530), (D(2024, 10, 31), 624), (D(2025, 5, 31), 700))
POPULATION_RANGE = (8500, 354193)  # FACTS.md §9, September 2019
POPULATION_MEAN = 82000  # FACTS.md §9, February 2024
TAILLES = ((1, 0, 39999), (2, 40000, 80000), (3, 80001, 175000), (4, 175001, None))  # FACTS.md §2
MEMBERS = {1: (15, 80), 2: (30, 130), 3: (50, 200), 4: (70, 320)}
MISSIONS = ("acces_soins", "parcours", "prevention", "crises_sanitaires", "qualite", "accompagnement")
CRISIS_MISSION_START = D(2022, 9, 3)


def signature_dates(rng) -> list:
    """COUNT signature dates whose running count meets each published count of SIGNED_BY."""
    dates = []
    for rank in range(1, COUNT + 1):
        position = rank - rng.random()  # inside (rank - 1, rank]
        for (start, low), (end, high) in zip(SIGNED_BY, SIGNED_BY[1:]):
            if low < position <= high or (position <= high and low == 0):
                offset = (position - low) / (high - low) * (end - start).days
                dates.append(start + datetime.timedelta(days=max(1, math.ceil(offset))))
                break
    return dates


def populations(rng) -> list:
    """COUNT populations in POPULATION_RANGE, the extremes included, with a mean of POPULATION_MEAN."""
    low, high = POPULATION_RANGE
    drawn = [rng.lognormvariate(math.log(62000), 0.7) for _ in range(COUNT)]
    scale = 1.0
    for _ in range(50):  # rescale to the mean, the clipping moves it a little each time
        values = [min(high, max(low, v * scale)) for v in drawn]
        mean = sum(values) / COUNT
        if abs(mean - POPULATION_MEAN) < 50:
            break
        scale *= POPULATION_MEAN / mean
    values = [round(v) for v in values]
    values[values.index(min(values))] = low
    values[values.index(max(values))] = high
    return values


def taille(population: int) -> int:
    return next(t for t, low, high in TAILLES if population >= low and (high is None or population <= high))


def _day(rng, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def _after(rng, day: datetime.date, low: int, high: int) -> datetime.date:
    return day + datetime.timedelta(days=rng.randint(low, high))


def main() -> None:
    rng = random.Random(SEED)
    columns = ["name", "population", "members", "letter_of_intent_validated", "contract_signed", "crises"]
    for mission in MISSIONS:
        columns += [f"{mission}_started"] + [f"{mission}_achievement_{k}" for k in range(1, 6)]
    signatures = signature_dates(rng)
    sizes = populations(rng)
    rng.shuffle(sizes)  # no link between the size of a territory and the date it signed
    rows = []
    for number, (signed, population) in enumerate(zip(signatures, sizes), 1):
        row = {
            "name": f"CPTS synthétique {number:03d}",
            "population": population,
            "members": rng.randint(*MEMBERS[taille(population)]),
            "letter_of_intent_validated": (signed - datetime.timedelta(days=rng.randint(150, 400))).isoformat(),
            "contract_signed": signed.isoformat(),
            "crises": "",
        }
        if rng.random() < 0.35:
            row["crises"] = ";".join(sorted({
                _day(rng, D(2022, 10, 1), D(2025, 3, 31)).isoformat()
                for _ in range(rng.randint(1, 2))}))
        plans = {"acces_soins": (0.95, 0, 180), "parcours": (0.85, 30, 365), "prevention": (0.85, 30, 365),
                 "crises_sanitaires": (0.8, 0, 180), "qualite": (0.4, 60, 540), "accompagnement": (0.3, 60, 540)}
        for mission, (share, low_delay, high_delay) in plans.items():
            started = ""
            if rng.random() < share:
                base = max(signed, CRISIS_MISSION_START) if mission == "crises_sanitaires" else signed
                started = _after(rng, base, low_delay, high_delay).isoformat()
            row[f"{mission}_started"] = started
            for k in range(1, 6):
                achieved = started and mission != "crises_sanitaires" and rng.random() < 0.9
                row[f"{mission}_achievement_{k}"] = f"{rng.randint(40, 100) / 100:.2f}" if achieved else ""
        rows.append(row)
    mean = f"{round(sum(row['population'] for row in rows) / len(rows)):,}".replace(",", " ")
    path = ROOT / "examples" / "national-sample.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("# Données SYNTHÉTIQUES, pas des données réelles : 700 CPTS fictives (bench/make_national_sample.py,\n"
                     "# graine fixe), calibrées sur les chiffres publiés (FACTS.md §9) : dates de signature suivant le\n"
                     "# nombre de contrats signés (134 en juin 2021, 173 en décembre 2021, 252 au 1er avril 2022, 306 en\n"
                     "# juillet 2022, 530 au 1er février 2024, 624 en octobre 2024, 700 en mai 2025) ; populations de\n"
                     f"# 8 500 à 354 193 habitants, moyenne {mean} (publiée : environ 82 000).\n")
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path} ({len(rows)} CPTS)")


if __name__ == "__main__":
    main()
