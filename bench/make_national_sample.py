"""Write examples/national-sample.csv: about 700 synthetic CPTS for impact simulations.

Synthetic, not real data. The figures it imitates (FACTS.md §9): about 700 CPTS under
contract by May 2025, first contracts from late 2019; the shares of each taille and the
start delays of the missions are plausible guesses, not statistics. A fixed seed makes
the file reproducible: `python bench/make_national_sample.py`.
"""

from __future__ import annotations

import csv
import datetime
import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parent.parent
COUNT = 700
SEED = 20231122
SIZES = ((1, 0.28, 15000, 39999), (2, 0.36, 40000, 80000), (3, 0.26, 80001, 175000), (4, 0.10, 175001, 450000))
MEMBERS = {1: (15, 80), 2: (30, 130), 3: (50, 200), 4: (70, 320)}
MISSIONS = ("acces_soins", "parcours", "prevention", "crises_sanitaires", "qualite", "accompagnement")
CRISIS_MISSION_START = datetime.date(2022, 9, 3)


def _day(rng, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def _after(rng, day: datetime.date, low: int, high: int) -> datetime.date:
    return day + datetime.timedelta(days=rng.randint(low, high))


def main() -> None:
    rng = random.Random(SEED)
    columns = ["name", "population", "members", "letter_of_intent_validated", "contract_signed", "crises"]
    for mission in MISSIONS:
        columns += [f"{mission}_started"] + [f"{mission}_achievement_{k}" for k in range(1, 6)]
    rows = []
    for number in range(1, COUNT + 1):
        taille = rng.choices([s[0] for s in SIZES], weights=[s[1] for s in SIZES])[0]
        _, _, low, high = SIZES[taille - 1]
        # Signatures spread from late 2019 to mid 2025, most of them in 2021-2023.
        signed = _day(rng, *rng.choices(
            [(datetime.date(2019, 10, 1), datetime.date(2020, 12, 31)),
             (datetime.date(2021, 1, 1), datetime.date(2023, 12, 31)),
             (datetime.date(2024, 1, 1), datetime.date(2025, 5, 31))], weights=[0.15, 0.6, 0.25])[0])
        row = {
            "name": f"CPTS synthétique {number:03d}",
            "population": rng.randint(low, high),
            "members": rng.randint(*MEMBERS[taille]),
            "letter_of_intent_validated": (signed - datetime.timedelta(days=rng.randint(150, 400))).isoformat(),
            "contract_signed": signed.isoformat(),
            "crises": "",
        }
        if rng.random() < 0.35:
            row["crises"] = ";".join(sorted({
                _day(rng, datetime.date(2022, 10, 1), datetime.date(2025, 3, 31)).isoformat()
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
    path = ROOT / "examples" / "national-sample.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("# Données SYNTHÉTIQUES (bench/make_national_sample.py, graine fixe) : 700 CPTS fictives,\n")
        handle.write("# réparties de façon plausible (FACTS.md §9), pour essayer `aci-rules compare` ; pas des données réelles.\n")
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path} ({len(rows)} CPTS)")


if __name__ == "__main__":
    main()
