"""What an analyst assumes where the profiles are silent, and what nobody stated.

A profile measures the rates of achievement of the contract years it knows; a command that
looks further (a renewed contract under ``--assume-renewal``, a later contract, a year not
measured yet) reads no rate there, and the variable part of such a year counts as 0. The
analyst may state rates instead (:class:`Assumptions`, applied to each profile by
:func:`apply_assumptions` before any backend sees it, so that every backend reads the same
profile); what is still unstated in the years of later contracts is counted
(:class:`RateCheck`, :class:`RateGaps`) and said once, as warning W050.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from .diagnostic import Diagnostic, msg, plain_decimal
from .helpers import add_months
from .profile import MissionState, Profile
from .timeline import contract_year_on

__all__ = ["Assumptions", "apply_assumptions", "mission_kinds", "Assumed", "assumed_over", "achievement_note",
           "RateCheck", "RateGaps", "rate_gaps"]


@dataclasses.dataclass(frozen=True)
class Assumptions:
    """What an analyst assumes where the profiles are silent (``budget`` states them all; ``batch``,
    ``compare``, ``sweep`` and ``diff --profiles`` the rates of achievement).

    ``achievement`` maps a mission id (or None: every mission) to the rate of
    achievement of each contract year the profile does not measure; with
    ``achievement_replaces`` the rate replaces the profile's own (rates and
    indicators). ``start_delay`` maps a mission id (or None: every socle mission)
    to the months between the signature and the mission's start, or to None for a
    mission that never starts; it applies to missions the profile gives no start
    date, or to all with ``start_replaces``. ``renewal`` is the renewal rule of
    contracts past their last year (a new contract on the anniversary, under the
    text then in force), passed on to the calendars. ``payment_lag`` maps a volet (or
    None: every volet) to the months between a payment's due date and the day it is
    paid, which decides its calendar year.
    """

    achievement: tuple = ()  # (mission id or None, Decimal)
    achievement_replaces: bool = False
    start_delay: tuple = ()  # (mission id or None, months or None)
    start_replaces: bool = False
    renewal: bool = False
    payment_lag: tuple = ()  # (volet or None: every volet, months)

    def lag_for(self, volet: str) -> int:
        """Months between a payment's due date and the day it is paid (0 unless stated)."""
        table = dict(self.payment_lag)
        return table.get(volet, table.get(None, 0))

    def paid_on(self, due: datetime.date, volet: str) -> datetime.date:
        """The day a payment due on ``due`` is assumed paid."""
        lag = self.lag_for(volet) if self.payment_lag else 0
        return add_months(due, lag) if lag else due

    def rate_for(self, mission: str) -> Decimal | None:
        table = dict(self.achievement)
        return table.get(mission, table.get(None))

    def delay_for(self, mission: str, kind: str):
        """The months to the mission's start; ``...`` when no delay is assumed for it."""
        table = dict(self.start_delay)
        if mission in table:
            return table[mission]
        if None in table and kind == "socle":
            return table[None]
        return ...

    def to_dict(self) -> dict:
        return {
            "achievement": {(k or "*"): str(v) for k, v in self.achievement},
            "achievement_replaces_profiles": self.achievement_replaces,
            "start_delay_months": {(k or "*socle"): v for k, v in self.start_delay},
            "start_replaces_profiles": self.start_replaces,
            "renewal": self.renewal,
            "payment_lag_months": {(k or "*"): v for k, v in self.payment_lag},
        }


def apply_assumptions(profile: Profile, assumptions: Assumptions, missions: dict, contract_years: int) -> Profile:
    """``profile`` with what ``assumptions`` say where it is silent (or where they replace it).

    ``missions`` maps each mission id of the texts in play to its kind (socle or
    optional); ``contract_years`` is how many contract years the rates are given for.
    """
    if not assumptions.achievement and not assumptions.start_delay:
        return profile
    states = dict(profile.missions)
    signed = profile.contract_signed
    for mission, kind in missions.items():
        state = states.get(mission)
        started = state.started if state else None
        delay = assumptions.delay_for(mission, kind)
        if delay is not ... and signed is not None and (assumptions.start_replaces or started is None):
            started = None if delay is None else add_months(signed, delay)
        rate = assumptions.rate_for(mission)
        achievement = dict(state.achievement) if state else {}
        indicators = state.indicators if state else ()
        otherwise = state.otherwise if state else None
        if rate is not None:
            otherwise = rate  # also for the years of later contracts, keyed by contract (timeline.year_key)
            measured = {} if assumptions.achievement_replaces else achievement
            achievement = {year: rate for year in range(1, contract_years + 1)}
            achievement.update(measured)
            if assumptions.achievement_replaces:
                indicators = ()
        if state is None and started is None and rate is None:
            continue
        states[mission] = MissionState(started, state.deployed if state else None, achievement, indicators,
                                       otherwise)
    return dataclasses.replace(profile, missions=states)


def mission_kinds(library, rulesets) -> dict:
    """Each mission id of the shipped texts and of ``rulesets`` -> its kind (socle or optional)."""
    kinds: dict = {}
    for ruleset in _with_shipped(library, rulesets):
        kinds.update({mission.id: mission.kind for mission in ruleset.missions.values()})
    return kinds


def _with_shipped(library, rulesets) -> list:
    return [library.get(i) for i in library.known_ids()] + list(rulesets)


@dataclasses.dataclass(frozen=True)
class Assumed:
    """:func:`apply_assumptions` bound to the texts in play: a profile in, the profile assumed out.

    The one step every path of ``batch``, ``compare``, ``sweep`` and ``diff --profiles`` runs on a
    profile before evaluating it (picklable: the workers of ``--jobs`` receive it). ``missions``
    holds (mission id, kind) pairs; ``contract_years`` the longest contract of the texts.
    """

    assumptions: Assumptions
    missions: tuple
    contract_years: int

    def __call__(self, profile: Profile) -> Profile:
        return apply_assumptions(profile, self.assumptions, dict(self.missions), self.contract_years)

    def note(self):
        """The assumption, for a person (a :class:`~.diagnostic.Message`)."""
        return achievement_note(self.assumptions)


def assumed_over(assumptions: Assumptions, library, rulesets) -> Assumed | None:
    """:class:`Assumed` for the missions of the shipped texts and of ``rulesets``, or None when
    ``assumptions`` state no rate (the profiles are then evaluated as they are)."""
    if not assumptions.achievement and not assumptions.start_delay:
        return None
    rulesets = list(rulesets)
    longest = max((r.contract_years or 0 for r in _with_shipped(library, rulesets)), default=0)
    return Assumed(assumptions, tuple(mission_kinds(library, rulesets).items()), longest)


def achievement_note(assumptions: Assumptions):
    """The rates of achievement assumed, as a message: who they cover and that they replace or fill.

    >>> str(achievement_note(Assumptions(achievement=((None, Decimal("0.8")), ("sante_mentale", Decimal("1"))))))
    "rates of achievement assumed (--achievement) for the contract years the profiles do not measure, \
renewed contracts included: every mission 80 %, sante_mentale 100 %"
    """
    parts = [msg("{mission} {percent} %", mission=mission if mission is not None else msg("every mission"),
                 percent=plain_decimal(rate * 100)) for mission, rate in assumptions.achievement]
    if assumptions.achievement_replaces:
        return msg("rates of achievement assumed (--achievement, --replace-achievement) for every contract year, "
                   "in place of the profiles' own rates and indicators: {rates}", rates=parts)
    return msg("rates of achievement assumed (--achievement) for the contract years the profiles do not measure, "
               "renewed contracts included: {rates}", rates=parts)


# -- W050: the years of later contracts read with no rate --------------------------------------

class RateCheck:
    """Which variable parts of a contract year of a later contract (renewed, or stated after the
    first) read a rate of achievement nobody gave, under one timeline: there they count as 0.

    The condition is the reference evaluator's W002 (engine/evaluate.py): a line that applies, whose
    amount reads ``achievement``, of a mission for which the profile gives no rate and measures no
    indicator for the year. A year of the first contract is left out: a profile measures those, and
    ``eval`` warns of each gap (W002); the years of later contracts are where a command looking
    past the profile's years reads nothing.
    """

    def __init__(self, timeline):
        self.timeline = timeline
        self._reads: dict = {}  # ruleset id -> (ruleset, {line id: mission}) of the lines reading a rate
        self._fast = None

    def lines_reading(self, ruleset) -> dict:
        """``{line id: mission}`` of the lines of ``ruleset`` whose amount reads ``achievement``
        (made once per text; the columnar batch counts W050 with them too)."""
        entry = self._reads.get(ruleset.id)
        if entry is None or entry[0] is not ruleset:
            entry = self._reads[ruleset.id] = (ruleset, {
                line.id: line.mission for line in ruleset.lines
                if line.mission is not None and "achievement" in line.amount.names})
        return entry[1]

    def gaps(self, profile: Profile, day: datetime.date, lines=None) -> frozenset:
        """``{(year key, mission, assumed)}``: the variable parts of the contract year holding ``day``
        that read no rate, when that year belongs to a later contract (``assumed``: a renewal the
        profile does not state); empty otherwise. ``lines`` are the ids of the lines that apply (a
        row's), else the fast path gives them (evaluating the profile once more)."""
        timeline = self.timeline
        if not timeline.renewal and not profile.later_contracts:
            return frozenset()  # only the first contract: nothing of ours to say
        ruleset = timeline.resolve(day)
        year = contract_year_on(profile.signatures, day, ruleset.contract_years, timeline.renewal)
        if year is None or year.contract is None or year.contract.number <= 1:
            return frozenset()
        reads: dict = {}
        for segment in timeline.segments(year):
            reads.update(self.lines_reading(segment.ruleset))
        key = year.key
        unrated = {mission for mission in set(reads.values()) if not _rated(profile.missions.get(mission), key)}
        if not unrated:
            return frozenset()  # every rate read is given (or assumed): no line to look at
        if lines is None:
            if self._fast is None:
                from .fastpath import FastTimeline

                self._fast = FastTimeline(timeline)
            lines = self._fast.run(profile, day)[1].amounts
        assumed = year.contract.assumed
        return frozenset((key, reads[line_id], assumed) for line_id in lines if reads.get(line_id) in unrated)


def _rated(state, key) -> bool:
    """Whether a mission's state gives the year of ``key`` a rate or a measured indicator."""
    return state is not None and (state.rate(key) is not None or state.indicators_earned(key) is not None)


@dataclasses.dataclass
class RateGaps:
    """What W050 counts over a run: CPTS, of them in a renewed contract, their contract years and
    variable parts read with no rate. Sums of parts of a run (chunks, workers) add up."""

    cpts: int = 0
    renewed: int = 0
    years: int = 0
    parts: int = 0

    def count(self, gaps) -> None:
        """Count one CPTS's gaps (the union of :meth:`RateCheck.gaps` over its dates and texts)."""
        if gaps:
            self.cpts += 1
            self.renewed += any(assumed for _, _, assumed in gaps)
            self.years += len({key for key, _, _ in gaps})
            self.parts += len({(key, mission) for key, mission, _ in gaps})

    @classmethod
    def over(cls, *sides) -> "RateGaps":
        """The count of rows (:class:`~.batch.BatchRow`) of one or more sides, the same profiles in
        the same order: each CPTS once, with the union of its gaps on every side."""
        gaps = cls()
        for rows in zip(*sides):
            gaps.count(frozenset().union(*(row.gaps for row in rows)))
        return gaps

    def __iadd__(self, other: "RateGaps") -> "RateGaps":
        self.cpts += other.cpts
        self.renewed += other.renewed
        self.years += other.years
        self.parts += other.parts
        return self

    def warning(self, file: str | None = None) -> Diagnostic | None:
        """W050, or None when every variable part read had a rate."""
        if not self.cpts:
            return None
        return Diagnostic("W050", msg(
            "{cpts} CPTS evaluated in a year of a later contract ({renewed} of them renewed by "
            "--assume-renewal) have no rate of achievement for it: {parts} variable parts over {years} "
            "contract years count as 0. State the rate assumed with --achievement RATE (every mission) or "
            "--achievement MISSION=RATE, e.g. --achievement 0.8", cpts=self.cpts, renewed=self.renewed,
            parts=self.parts, years=self.years), file, severity="warning")


def rate_gaps(timeline, profiles, days) -> RateGaps:
    """What W050 counts of ``profiles`` evaluated under ``timeline`` on each of ``days`` (the lines
    that apply given by the fast path, only for the years of later contracts)."""
    check, gaps = RateCheck(timeline), RateGaps()
    for profile in profiles:
        gaps.count(frozenset().union(*(check.gaps(profile, day) for day in days)))
    return gaps
