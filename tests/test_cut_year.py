"""A contract year cut where a text enters into force: its entitlement is one figure, rounded once.

DESIGN.md § Time: "the entitlement of contract year k is one figure". Each line counts each
part of the year for its share of days (exact ratios), the products are added exactly, the
year's total is rounded once (half up, to the cent), and the lines share that total out by
largest remainder (ties: the earlier line). So

a. the lines add up to the total, and the total is the exact sum rounded once (checked against
   a computation of our own, in fractions, on generated years);
b. a guarantee that no CPTS loses (``text_total``) holds to the cent in cut years: on the
   national sample, on dates inside years cut by the example proposal's entry into force, every
   CPTS gets at least what avenant 2 gives it (before this, 32 CPTS of 700 got one cent less on
   2027-06-01, and 48 with --assume-renewal);
c. the reference path, the fast path and the vectorised path give the same amounts on those
   years (the vectorised path combines cut years as columns from 16 variants on).
"""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aci_rules.engine.batch import read_profiles
from aci_rules.engine.evaluate import assess
from aci_rules.engine.fastpath import FastTimeline
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile
from aci_rules.engine.timeline import ContractYear, Segment, combine, contract_year_on

from conftest import EXAMPLES

D = datetime.date
CENT = Decimal("0.01")
PROPOSAL = EXAMPLES / "hypothese-avenant-france-sante.yaml"
# Dates inside contract years the proposal's entry into force (2027-01-01) cuts, for every CPTS
# whose year straddles it: the day before, the day itself, and the day measured last session.
CUT_DAYS = (D(2026, 12, 31), D(2027, 1, 1), D(2027, 6, 1))


class _Text:
    """The little a ruleset gives combine(): its quantum, and which lines each line reads."""

    def __init__(self, reads=None):
        self.quantum = CENT
        self.reads = reads or {}


def _exact(year, parts):
    """Each line's exact year amount, from the definition (DESIGN.md § Time), in fractions."""
    found = {}
    for segment, lines in parts:
        weights = {}
        for line_id, _, runs_from in lines:
            runs = max(year.start, runs_from) if runs_from is not None else year.start
            if runs > year.end:
                weights[line_id] = Fraction(1)
                continue
            first = max(segment.start, runs)
            running = (segment.end - first).days + 1 if first <= segment.end else 0
            weights[line_id] = Fraction(running, (year.end - runs).days + 1)
        amounts = {line_id: Fraction(amount) for line_id, amount, _ in lines}
        for line_id, _, _ in lines:
            sources = [o for o in segment.ruleset.reads.get(line_id, ()) if o in amounts and o != line_id]
            if sum(amounts[o] for o in sources):
                weights[line_id] = sum(amounts[o] * weights[o] for o in sources) / sum(amounts[o] for o in sources)
        for line_id, _, _ in lines:
            found[line_id] = found.get(line_id, 0) + amounts[line_id] * weights[line_id]
    return found


@st.composite
def cut_years(draw):
    start = D(2021, 1, 1) + datetime.timedelta(days=draw(st.integers(0, 3000)))
    end = start.replace(year=start.year + 1) - datetime.timedelta(days=1) if start.month != 2 or start.day != 29 \
        else D(start.year + 1, 2, 28)
    length = (end - start).days
    cuts = sorted(set(draw(st.lists(st.integers(1, length), min_size=1, max_size=3))))
    bounds = [start] + [start + datetime.timedelta(days=c) for c in cuts]
    count = draw(st.integers(1, 7))
    ids = [f"l{i}" for i in range(count)]
    # The last line reads the others (an uplift on them, a guarantee): its share is their average.
    reads = {ids[-1]: tuple(ids[:-1])} if count > 1 and draw(st.booleans()) else {}
    text = _Text(reads)
    cents = st.integers(-50_000_00, 500_000_00) if draw(st.booleans()) else st.integers(0, 500_000_00)
    parts = []
    for i, a in enumerate(bounds):
        b = bounds[i + 1] - datetime.timedelta(days=1) if i + 1 < len(bounds) else end
        lines = []
        for line_id in ids:
            if draw(st.integers(0, 5)) == 0:
                continue  # a line this part's text does not have
            runs_from = None
            if draw(st.booleans()):
                runs_from = start + datetime.timedelta(days=draw(st.integers(-30, length + 30)))
            lines.append((line_id, Decimal(draw(cents)).scaleb(-2), runs_from))
        parts.append((Segment(a, b, text), lines))
    if not any(lines for _, lines in parts):
        parts[0] = (parts[0][0], [("l0", Decimal("0.01"), None)])
    return ContractYear(1, start, end), parts


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2)) if value >= 0 else -math.floor(-value + Fraction(1, 2))


@settings(max_examples=400, deadline=None)
@given(cut_years())
def test_the_year_is_rounded_once_and_shared_by_largest_remainder(case):
    year, parts = case
    amounts, shares = combine(year, parts)
    exact = _exact(year, parts)
    assert list(amounts) == list(exact)  # every line met, in the order met
    cents = {line_id: value * 100 for line_id, value in exact.items()}
    total = sum(amounts.values(), Decimal(0))
    # The lines add up to the year's total, which is their exact sum rounded once.
    assert total * 100 == _half_up(sum(cents.values()))
    # Each line is its exact amount rounded down or up to the cent, and those rounded up are the
    # ones with the largest remainders, the earlier line first on equal remainders.
    order = sorted(cents, key=lambda k: (-(cents[k] - math.floor(cents[k])), list(cents).index(k)))
    raised = int(total * 100) - sum(math.floor(v) for v in cents.values())
    assert 0 <= raised <= len(cents)
    for line_id, value in cents.items():
        assert amounts[line_id] * 100 == math.floor(value) + (line_id in order[:raised])
        assert amounts[line_id] == amounts[line_id].quantize(CENT)
    assert len(shares) == len(parts)


def test_three_lines_of_a_third_of_a_cent_more_pay_the_total_rounded_once():
    """The shape of the defect, in figures: a year of 3 days cut after its first; three lines of
    100.00 in the first part, 0 in the second. Each is 100 x 1/3 = 33.333... (33.33 on its own,
    99.99 for the three); the year's exact total is 100 -> 100.00, and the cent left goes to the
    first line (equal remainders: the earlier line)."""
    year = ContractYear(1, D(2027, 1, 1), D(2027, 1, 3))
    text = _Text()
    lines = [(name, Decimal("100.00"), None) for name in ("a", "b", "c")]
    parts = [(Segment(D(2027, 1, 1), D(2027, 1, 1), text), lines),
             (Segment(D(2027, 1, 2), D(2027, 1, 3), text), [(k, Decimal(0), None) for k, _, _ in lines])]
    amounts, _ = combine(year, parts)
    # 100 x 1/3 = 33.333... each; total 99.999... -> 100.00; cents left: 100.00 - 3 x 33.33 = 1.
    assert amounts == {"a": Decimal("33.34"), "b": Decimal("33.33"), "c": Decimal("33.33")}


@pytest.fixture(scope="module")
def sample():
    library = Library()
    missions = set(library.get("avenant-2").missions)
    return library, [compile_profile(s.document) for s in read_profiles(str(EXAMPLES / "national-sample.csv"),
                                                                       missions)]


@pytest.mark.parametrize("renewal", [False, True])
def test_the_guarantee_holds_to_the_cent_in_every_cut_year_of_the_national_sample(sample, renewal):
    """examples/hypothese-avenant-france-sante.yaml: garantie_non_perte = what avenant 2 gives, at least."""
    library, profiles = sample
    proposal = FastTimeline(library.timeline(str(PROPOSAL), renewal=renewal))
    baseline = FastTimeline(library.timeline(None, renewal=renewal))
    cut = 0
    for day in CUT_DAYS:
        for profile in profiles:
            _, given_ = proposal.run(profile, day)
            _, before = baseline.run(profile, day)
            assert given_.total >= before.total, (profile.name, day, given_.total, before.total)
            year = contract_year_on(profile.signatures, day, 5, renewal)
            cut += year is not None and len(proposal.timeline.segments(year)) > 1
    # The dates are inside cut years for many CPTS (else the test would prove nothing).
    assert cut >= 300, cut


def test_the_reference_and_fast_paths_give_the_same_cut_years_to_the_cent(sample):
    """Line by line, on every 7th CPTS of the sample (the reference path is the slow one)."""
    library, profiles = sample
    timeline = library.timeline(str(PROPOSAL), renewal=True)
    fast = FastTimeline(timeline)
    compared = 0
    for day in CUT_DAYS:
        for profile in profiles[::7]:
            result = assess(timeline, profile, day)
            _, quick = fast.run(profile, day)
            amounts = {line.id: line.amount for line in result.lines}
            assert amounts == dict(quick.amounts), (profile.name, day)
            assert result.total == quick.total == sum(amounts.values(), Decimal(0))
            compared += len(result.segments) > 1
    assert compared >= 40, compared


# A proposal of our own whose measures leave fractions of a cent on several lines of a cut year:
# the fixed parts of the socle missions x 0.97 and fonctionnement + 1.3 %, from 2027-01-01.
SCALED = """\
id: essai-coupe
title: Proposition de test — volets fixes x 0,97 et fonctionnement + 1,3 % en 2027
kind: proposal
status: proposal
amends: avenant-2
reference: Hypothèse de test (tests/test_cut_year.py)
dates:
  in_force: 2027-01-01
changes:
  parameters:
    edit:
      montant_acces_soins_fixe: {scale: 0.97, reference: essai, confidence: proposed}
      montant_parcours_fixe: {scale: 0.97, reference: essai, confidence: proposed}
      montant_prevention_fixe: {scale: 0.97, reference: essai, confidence: proposed}
  lines:
    change:
      - id: fonctionnement
        amount: montant_fonctionnement * 1.013
"""


def test_the_vectorised_path_combines_cut_years_as_the_scalar_paths_do(sample, tmp_path):
    """From 16 variants on, the parts of a cut year are combined as columns (vector._combine).

    18 variants of avenant 2's majoration rate over a proposal in force from 2027-01-01: every
    variant's totals equal the fast path's, run on the same text with the variant's figures, on
    dates inside the cut years.
    """
    pytest.importorskip("numpy")
    from aci_rules.engine.sweep import parse_vary, variant_entry
    from aci_rules.engine.vector import VectorTimeline

    library, profiles = sample
    profiles = profiles[:80]
    proposal = tmp_path / "essai-coupe.yaml"
    proposal.write_text(SCALED, encoding="utf-8")
    timeline = library.timeline(str(proposal), renewal=True)
    vary = parse_vary("taux_majoration=0.083:0.099:0.001")  # rates whose cents do not fall round
    overrides = {vary.name: [None] + [variant_entry(vary, rate) for rate in vary.values]}
    variants = len(vary.values) + 1
    vector = VectorTimeline(timeline, overrides, variants)
    for day in CUT_DAYS[1:]:
        outcome = vector.run(profiles, day)
        assert not outcome.errors and not outcome.refused
        for variant in range(variants):
            fast = FastTimeline(timeline.mapped(lambda r, v=variant: vector.variant_ruleset(r, v)))
            expected = [str(fast.run(p, day)[1].total) for p in profiles]
            got = [str(Decimal(int(t)).scaleb(-2)) for t in outcome.totals[variant]]
            assert got == expected, (day, variant)
        # The columns vouched for nearly every cut year (the scalar path ran only for uncertain rows).
        assert outcome.scalar_rows <= 0.05 * len(profiles) * variants, outcome.scalar_rows
