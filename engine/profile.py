"""A CPTS profile: the user's input, as the evaluator reads it."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from .diagnostic import Diagnostic, InputError, suggest
from .schema import schema_diagnostics
from .yaml_loader import Document, load_document

__all__ = [
    "Profile", "MissionState", "Crisis", "load_profile", "validate_profile", "compile_profile",
    "unknown_missions",
]


@dataclasses.dataclass(frozen=True)
class MissionState:
    started: datetime.date | None
    deployed: datetime.date | None
    achievement: dict  # contract year (int) -> Decimal 0..1


@dataclasses.dataclass(frozen=True)
class Crisis:
    declared: datetime.date
    label: str | None


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    population: int
    members: int | None
    letter_of_intent_validated: datetime.date | None
    contract_signed: datetime.date | None
    missions: dict  # mission id -> MissionState
    crises: tuple
    document: Document | None = None

    @property
    def file(self) -> str | None:
        return self.document.file if self.document else None


def _date(value):
    return datetime.date.fromisoformat(value) if value is not None else None


def load_profile(filename, display_name: str | None = None) -> Profile:
    """Read, validate and compile a profile file; raise InputError with every problem."""
    document = load_document(filename, display_name)
    problems = validate_profile(document)
    if problems:
        raise InputError(problems)
    return compile_profile(document)


def validate_profile(document: Document) -> list:
    """Every problem of a profile document against ``schemas/profile.schema.json``."""
    return schema_diagnostics(document, "profile")


def compile_profile(document: Document) -> Profile:
    """A :class:`Profile` from a document that passed :func:`validate_profile`."""
    data = document.data
    missions = {}
    for mission_id, state in (data.get("missions") or {}).items():
        state = state or {}
        missions[mission_id] = MissionState(
            started=_date(state.get("started")),
            deployed=_date(state.get("deployed")),
            achievement={int(k): Decimal(v) for k, v in (state.get("achievement") or {}).items()},
        )
    crises = tuple(
        Crisis(_date(c["declared"]), c.get("label")) for c in (data.get("crises") or [])
    )
    return Profile(
        name=data["name"],
        population=data["population"],
        members=data.get("members"),
        letter_of_intent_validated=_date(data.get("letter_of_intent_validated")),
        contract_signed=_date(data.get("contract_signed")),
        missions=missions,
        crises=crises,
        document=document,
    )


def unknown_missions(profile: Profile, known) -> list[Diagnostic]:
    """A diagnostic for each mission id of ``profile`` that no known ruleset defines."""
    problems = []
    for mission_id in profile.missions:
        if mission_id in known:
            continue
        guess = suggest(mission_id, known)
        hint = f": did you mean '{guess}'?" if guess else f"; known missions: {', '.join(sorted(known))}"
        problems.append(profile.document.diagnostic(
            "E208", f"unknown mission '{mission_id}'{hint}", ("missions", mission_id), key=True))
    return problems
