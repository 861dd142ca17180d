"""plan -> bind: a plan, a profile, a day -> the one environment every formula reads.

Both backends (:mod:`evaluate`, :mod:`fastpath`) evaluate over what :func:`Binder.bind`
gives: the contract year holding the day, the taille (the basis computed by the backend,
classified here), and a value for each input slot of the plan: what the profile says,
the contract-year names, the parameters for the taille (converted once per taille), and
the fields of each mission a formula reads for that contract year. The names are those
of :mod:`names`; nothing else binds them.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from .diagnostic import EvaluationError, msg
from .expressions import describe_value
from .plan import Plan, check_number
from .profile import Profile, profile_functions
from .timeline import time_names

__all__ = ["Environment", "Binder", "binder_of"]

_ZERO = Decimal(0)


@dataclasses.dataclass
class Environment:
    """What one evaluation reads: ``values`` holds a value per slot of the plan (the inputs
    filled, the definitions and lines left to the backend), ``functions`` the functions
    bound to the profile (``f_<name>``)."""

    profile: Profile
    day: datetime.date
    year: object  # ContractYear | None
    size_class: object  # SizeClass | None
    values: list
    functions: dict
    named: tuple = ((), ())  # (profile names, contract-year names) as dicts, for :meth:`Binder.names`

    @property
    def size(self) -> int | None:
        return self.size_class.taille if self.size_class is not None else None

    @property
    def number(self) -> int | None:
        return self.year.number if self.year is not None else None


def _profile_values(profile: Profile, day: datetime.date) -> dict:
    return {
        "date": day,
        "population": profile.population,
        "members": profile.members if profile.members is not None else 0,
        "contract_signed": profile.contract_signed,
        "letter_of_intent_validated": profile.letter_of_intent_validated,
        "crises": tuple(c.declared for c in profile.crises),
    }


def mission_values(profile: Profile, mission: str, number: int | None) -> dict:
    """What a formula attached to ``mission`` reads of it, for contract year ``number``."""
    state = profile.missions.get(mission)
    if state is None:
        return {"started": None, "deployed": None, "achievement": _ZERO, "indicators_earned": None}
    rate = state.achievement.get(number) if number is not None else None
    return {
        "started": state.started,
        "deployed": state.deployed,
        "achievement": rate if rate is not None else _ZERO,
        "indicators_earned": state.indicators_earned(number) if state.indicators else None,
    }


class Binder:
    """The bind stage of one plan: what it reads, laid out once (parameters per taille included)."""

    def __init__(self, plan: Plan):
        self.plan = plan
        ruleset = plan.ruleset
        size = len(plan.slots)
        self.size = size
        self._profile = [(s.index, s.name) for s in plan.inputs if s.kind == "profile"]
        self._time = [(s.index, s.name) for s in plan.inputs if s.kind == "time"]
        self._taille = [s.index for s in plan.inputs if s.kind == "taille"]
        missions: dict = {}
        for s in plan.inputs:
            if s.kind == "mission":
                missions.setdefault(s.mission, []).append((s.index, s.name))
        self._missions = tuple((mission, tuple(fields)) for mission, fields in missions.items())
        parameters = [s for s in plan.inputs if s.kind == "parameter"]
        scalars = [(s.index, ruleset.parameters[s.name].value) for s in parameters
                   if ruleset.parameters[s.name].by_taille is None]
        # The values of the parameters, converted once per taille: the slots' starting values.
        tailles = sorted({c.taille for c in ruleset.taille.classes}) if ruleset.taille is not None else []
        self._start: dict = {}
        for taille in tailles + [None]:
            values = [None] * size
            for s in parameters:
                values[s.index] = ruleset.parameters[s.name].value_for(taille)
            self._start[taille] = values
        self._basis_start = [None] * size
        for index, value in scalars:
            self._basis_start[index] = value
        self._functions = tuple(sorted(plan.profile_functions))

    def bind(self, profile: Profile, day: datetime.date, renewal: bool, compute_basis) -> Environment:
        """The environment of ``profile`` on ``day``.

        ``compute_basis(formula, values, functions)`` is the backend's evaluation of the taille's
        basis over the slot values (profile names and scalar parameters). Raises
        :class:`EvaluationError` when the basis cannot be computed, gives no number, or falls
        in no taille class (the same diagnostics whatever the backend).
        """
        plan = self.plan
        ruleset = plan.ruleset
        profile_values = _profile_values(profile, day)
        year, time = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
        number = year.number if year is not None else None
        functions = {}
        if self._functions:
            bound = profile_functions(profile, number)
            functions = {f"f_{name}": bound[name] for name in self._functions}
        size_class = None
        if plan.basis is not None:
            values = list(self._basis_start)
            for index, name in self._profile:
                values[index] = profile_values[name]
            try:
                basis = compute_basis(plan.basis, values, functions)
            except Exception as exc:  # noqa: BLE001 — the plan's one diagnostic of a failing basis
                raise plan.basis.raised(exc, profile.name) from None
            try:
                check_number(basis)
            except Exception as failure:  # noqa: BLE001 — the check's own diagnostic, at the basis
                raise EvaluationError([plan.basis.diagnostic(failure.code, failure.message)]) from None
            size_class = ruleset.taille.classify(basis)
            if size_class is None:
                raise EvaluationError([ruleset.document.diagnostic(
                    "E403", msg("{value} is in no taille class of ruleset '{ruleset}'",
                                value=describe_value(basis), ruleset=ruleset.id),
                    ("taille", "classes"))])
        size = size_class.taille if size_class is not None else None
        values = list(self._start.get(size) or self._start[None])
        for index, name in self._profile:
            values[index] = profile_values[name]
        for index, name in self._time:
            values[index] = time[name]
        for index in self._taille:
            values[index] = size
        for mission, fields in self._missions:
            found = mission_values(profile, mission, number)
            for index, name in fields:
                values[index] = found[name]
        return Environment(profile, day, year, size_class, values, functions, (profile_values, time))

    @staticmethod
    def names(env: Environment) -> dict:
        """The names the engine provides (profile, contract year, taille) by name, for what reads
        an evaluation's environment by name (payment rules, the coverage of test cases)."""
        profile_values, time = env.named
        return {**profile_values, **time, "taille": env.size}


def binder_of(plan: Plan) -> Binder:
    """The binder of a plan, made once."""
    binder = plan.__dict__.get("_binder")
    if binder is None:
        binder = Binder(plan)
        object.__setattr__(plan, "_binder", binder)
    return binder
