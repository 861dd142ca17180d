"""A CPTS profile: the user's input, as the evaluator reads it."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from .diagnostic import Diagnostic, InputError, msg, suggest
from .schema import schema_diagnostics
from .timeline import year_key
from .yaml_loader import Document, load_document

__all__ = [
    "Profile", "MissionState", "Indicator", "Crisis", "load_profile", "validate_profile", "compile_profile",
    "unknown_missions",
    "parse_year_key",
    "profile_functions",
    "profile_names",
    "new_profile",
    "new_mission_state",
]


@dataclasses.dataclass(frozen=True)
class Indicator:
    """An indicator of the contract: its tiers (low, high, euros) and the values measured."""

    id: str
    label: str | None
    tiers: tuple  # (min or None, max or None, amount), both bounds included
    measured: dict  # contract year's key (timeline.year_key) -> value

    def earned_in(self, year):
        """The euros of the tier the year's value falls in; None when nothing was measured.

        ``year`` is the contract year's key (:func:`~.timeline.year_key`).

        >>> ald = Indicator("ald", None, ((None, 50, Decimal(9000)), (51, 100, Decimal(6000))), {1: 45, 2: 120})
        >>> ald.earned_in(1), ald.earned_in(2), ald.earned_in(3)
        (Decimal('9000'), Decimal('0'), None)
        """
        if year not in self.measured:
            return None
        value = self.measured[year]
        for low, high, amount in self.tiers:
            if (low is None or value >= low) and (high is None or value <= high):
                return amount
        return Decimal(0)


@dataclasses.dataclass(frozen=True, slots=True)
class MissionState:
    started: datetime.date | None
    deployed: datetime.date | None
    # The contract year's key (timeline.year_key: k for the first contract, (n, k) for contract n)
    # -> Decimal 0..1.
    achievement: dict
    indicators: tuple = ()  # Indicator
    otherwise: Decimal | None = None  # the rate of a year the map does not give (a budget's assumption)

    def rate(self, year) -> Decimal | None:
        """The rate of achievement of a contract year (its key), or None when none is given.

        >>> state = MissionState(None, None, {1: Decimal("0.8"), (2, 1): Decimal("0.5")})
        >>> state.rate(1), state.rate((2, 1)), state.rate((2, 2))
        (Decimal('0.8'), Decimal('0.5'), None)
        """
        if year is None:
            return None
        found = self.achievement.get(year)
        return found if found is not None else self.otherwise

    def indicators_earned(self, year):
        """The sum of the tiers reached in a contract year (its key), or None when the profile
        measures no indicator of this mission for that year (the rate of achievement then applies)."""
        if year is None:
            return None
        earned = [e for e in (i.earned_in(year) for i in self.indicators) if e is not None]
        return sum(earned, Decimal(0)) if earned else None


@dataclasses.dataclass(frozen=True)
class Crisis:
    declared: datetime.date
    label: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Profile:
    name: str
    population: int
    members: int | None
    letter_of_intent_validated: datetime.date | None
    contract_signed: datetime.date | None
    missions: dict  # mission id -> MissionState
    crises: tuple
    document: Document | None = None
    population_history: tuple = ()  # (since, population), sorted by date
    later_contracts: tuple = ()  # signature dates of the contracts after the first, sorted

    @property
    def signatures(self) -> tuple:
        """The signature date of every contract the profile states, in order."""
        first = (self.contract_signed,) if self.contract_signed is not None else ()
        return first + self.later_contracts

    def population_on(self, day: datetime.date) -> int:
        """The population in force on ``day``: the latest earlier entry, else the current one."""
        found = None
        for since, population in self.population_history:
            if since <= day:
                found = population
        return self.population if found is None else found

    @property
    def file(self) -> str | None:
        return self.document.file if self.document else None


def _builder(cls):
    """A function making a ``cls`` (a frozen dataclass with slots) from its fields in order, those with
    a default optional: the object ``cls(...)`` makes, each field set by its slot's own descriptor
    rather than by the frozen dataclass's ``object.__setattr__`` (a batch makes one profile and a
    few mission states per row, millions of them)."""
    fields = dataclasses.fields(cls)
    if any(field.default_factory is not dataclasses.MISSING for field in fields):
        return cls
    namespace = {"__builtins__": {}, "_new": object.__new__, "_cls": cls}
    arguments = []
    for index, field in enumerate(fields):
        namespace[f"_s{index}"] = getattr(cls, field.name).__set__  # the slot's descriptor
        if field.default is not dataclasses.MISSING:
            namespace[f"_d{index}"] = field.default
            arguments.append(f"a{index}=_d{index}")
        else:
            arguments.append(f"a{index}")
    source = "\n".join([f"def make({', '.join(arguments)}):", "    made = _new(_cls)"]
                       + [f"    _s{index}(made, a{index})" for index in range(len(fields))]
                       + ["    return made"]) + "\n"
    exec(compile(source, f"<{cls.__name__}>", "exec"), namespace)  # noqa: S102 — the engine's own classes
    return namespace["make"]


new_mission_state = _builder(MissionState)
new_profile = _builder(Profile)


def _date(value):
    return datetime.date.fromisoformat(value) if value is not None else None


def parse_year_key(text: str):
    """The key of a contract year as a profile writes it (the schema checked its shape).

    ``k`` is year k of the first contract, ``n.k`` year k of contract n (see
    :func:`~.timeline.year_key`).

    >>> parse_year_key("3"), parse_year_key("1.3"), parse_year_key("2.1")
    (3, 3, (2, 1))
    """
    contract, _, number = str(text).rpartition(".")
    return year_key(int(contract) if contract else None, int(number))


def load_profile(filename, display_name: str | None = None, known_missions=None) -> Profile:
    """Read, validate and compile a profile file; raise InputError with every problem."""
    document = load_document(filename, display_name)
    problems = validate_profile(document, known_missions)
    if problems:
        raise InputError(problems)
    return compile_profile(document)


def validate_profile(document: Document, known_missions=None) -> list:
    """Every problem of a profile document: the schema, and mission ids no ruleset knows.

    ``known_missions`` is the set of mission ids of the rulesets in play; when None,
    mission ids are not checked.
    """
    problems = schema_diagnostics(document, "profile")
    if not problems:
        problems += _contract_order(document)
        problems += _years_given_twice(document)
    if known_missions is not None:
        problems += unknown_missions(document, known_missions)
    return sorted(problems, key=lambda d: (d.line or 0, d.column or 0))


def compile_profile(document: Document) -> Profile:
    """A :class:`Profile` from a document that passed :func:`validate_profile`."""
    data = document.data
    missions = {}
    for mission_id, state in (data.get("missions") or {}).items():
        state = state or {}
        missions[mission_id] = MissionState(
            started=_date(state.get("started")),
            deployed=_date(state.get("deployed")),
            achievement={parse_year_key(k): Decimal(v) for k, v in (state.get("achievement") or {}).items()},
            indicators=tuple(
                Indicator(item["id"], item.get("label"),
                          tuple((t.get("min"), t.get("max"), Decimal(t["amount"])) for t in item["tiers"]),
                          {parse_year_key(k): v for k, v in item["measured"].items()})
                for item in state.get("indicators") or []),
        )
    crises = tuple(
        Crisis(_date(c["declared"]), c.get("label")) for c in (data.get("crises") or [])
    )
    signatures = sorted({_date(c["signed"]) for c in data.get("contracts") or []}
                        | ({_date(data["contract_signed"])} if data.get("contract_signed") else set()))
    return Profile(
        name=data["name"],
        population=data["population"],
        members=data.get("members"),
        letter_of_intent_validated=_date(data.get("letter_of_intent_validated")),
        contract_signed=signatures[0] if signatures else None,
        missions=missions,
        crises=crises,
        document=document,
        population_history=tuple(sorted(
            (_date(entry["since"]), entry["population"]) for entry in data.get("population_history") or [])),
        later_contracts=tuple(signatures[1:]),
    )


def _contract_order(document: Document) -> list[Diagnostic]:
    """A later contract signed before the first one, or twice on the same day, is an error."""
    data = document.data
    first = _date(data.get("contract_signed"))
    seen: set = set()
    problems = []
    for index, contract in enumerate(data.get("contracts") or []):
        signed = _date(contract["signed"])
        path = ("contracts", index, "signed")
        if first is not None and signed < first:
            problems.append(document.diagnostic(
                "E204", msg("a later contract signed on {signed}, before contract_signed ({first})",
                            signed=signed, first=first), path))
        elif signed in seen:
            problems.append(document.diagnostic("E204", msg("two contracts signed on {signed}", signed=signed), path))
        seen.add(signed)
    return problems


def _years_given_twice(document: Document) -> list[Diagnostic]:
    """E330: one contract year written twice in a map of rates or measures (``3`` and ``1.3``)."""
    problems = []
    for mission_id, state in (document.data.get("missions") or {}).items():
        state = state or {}
        tables = [(("missions", mission_id, "achievement"), state.get("achievement") or {})]
        tables += [(("missions", mission_id, "indicators", index, "measured"), item.get("measured") or {})
                   for index, item in enumerate(state.get("indicators") or [])]
        for path, table in tables:
            seen: dict = {}
            for text in table:
                key = parse_year_key(text)
                if key in seen:
                    problems.append(document.diagnostic("E330", msg(
                        "contract year {key} is given twice, as '{first}' and as '{second}' ('{number}' is a year of "
                        "the first contract, 'n.{number}' of contract n)", key=text, first=seen[key], second=text,
                        number=key if isinstance(key, int) else key[1]), path + (text,), key=True))
                seen.setdefault(key, text)
    return problems


def unknown_missions(document: Document, known) -> list[Diagnostic]:
    """E208 for each mission id of a profile document that no text in play knows.

    ``known`` holds the missions of every text the engine knows (the shipped ones and
    those given); a mission of a text not in force on the date is known, and the
    evaluation warns that it does not apply yet (W004). The message suggests the
    closest known id, or lists them.
    """
    problems = []
    missions = document.data.get("missions") if isinstance(document.data, dict) else None
    for mission_id in missions if isinstance(missions, dict) else ():
        if mission_id in known:
            continue
        guess = suggest(mission_id, known)
        if guess:
            message = msg("unknown mission '{mission}': no text defines it; did you mean '{guess}'?",
                          mission=mission_id, guess=guess)
        else:
            message = msg("unknown mission '{mission}': no text defines it; the missions are {missions}",
                          mission=mission_id, missions=", ".join(sorted(known)))
        problems.append(document.diagnostic("E208", message, ("missions", mission_id), key=True))
    return problems


def profile_functions(profile: Profile, year) -> dict:
    """The functions a formula may call that read the profile, for one contract year.

    ``year`` is the contract year's key (:func:`~.timeline.year_key`), or None outside a
    contract: ``mission_achievement(m, k)`` reads year k of the same contract.
    """
    missions = profile.missions
    contract = year[0] if isinstance(year, tuple) else None

    def achievement_of(mission, number=None):
        state = missions.get(mission)
        if state is None:
            return Decimal(0)
        found = state.rate(year_key(contract, number) if number is not None else year)
        return found if found is not None else Decimal(0)

    return {
        "mission_started": lambda m: missions[m].started if m in missions else None,
        "mission_deployed": lambda m: missions[m].deployed if m in missions else None,
        "mission_achievement": achievement_of,
        "population_on": profile.population_on,
    }


def profile_names(profile: Profile, day: datetime.date) -> dict:
    """What every formula may read about the CPTS and the evaluation date."""
    return {
        "date": day,
        "population": profile.population,
        "members": profile.members if profile.members is not None else 0,
        "contract_signed": profile.contract_signed,
        "letter_of_intent_validated": profile.letter_of_intent_validated,
        "crises": tuple(c.declared for c in profile.crises),
    }
