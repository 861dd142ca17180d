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
from . import crosstext
from .names import FUNCTION_KINDS, MISSION_NAMES
from .plan import Plan, check_number
from .profile import Profile, profile_functions
from .timeline import time_names

__all__ = ["Environment", "Binder", "binder_of"]

_ZERO = Decimal(0)
_NO_FUNCTIONS: dict = {}  # never written to: the environment of a plan that calls no profile function


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
    named: dict = dataclasses.field(default_factory=dict)  # the contract-year names, for :meth:`Binder.names`

    @property
    def size(self) -> int | None:
        return self.size_class.taille if self.size_class is not None else None

    @property
    def number(self) -> int | None:
        return self.year.number if self.year is not None else None

    @property
    def key(self):
        """The contract year's key in the profile's rates and measures (timeline.year_key), or None."""
        return self.year.key if self.year is not None else None


# What each name the taille's basis reads is, for one profile ``_p`` on one day ``_d``: Python
# the binder writes into the filling function it makes for each plan (engine text only).
_PROFILE = {
    "date": "_d",
    "population": "_p.population",
    "members": "_members(_p)",
    "contract_signed": "_p.contract_signed",
    "letter_of_intent_validated": "_p.letter_of_intent_validated",
    "crises": "_crises(_p)",
}


def _members(profile: Profile) -> int:
    return profile.members if profile.members is not None else 0


def _crises(profile: Profile) -> tuple:
    return tuple(c.declared for c in profile.crises)


def _mission_fields(state, key) -> tuple:
    """(started, deployed, achievement, indicators_earned) of a mission, for the contract year of
    ``key`` (timeline.year_key: a later contract never reads the first one's rates)."""
    if state is None:
        return None, None, _ZERO, None
    rate = state.rate(key)
    return (state.started, state.deployed, rate if rate is not None else _ZERO,
            state.indicators_earned(key) if state.indicators else None)


def mission_values(profile: Profile, mission: str, key) -> dict:
    """What a formula attached to ``mission`` reads of it, for the contract year of ``key``."""
    return dict(zip(MISSION_NAMES, _mission_fields(profile.missions.get(mission), key)))


class Binder:
    """The bind stage of one plan: what it reads, laid out once (parameters per taille included)."""

    def __init__(self, plan: Plan):
        self.plan = plan
        ruleset = plan.ruleset
        size = len(plan.slots)
        self.size = size
        inputs = plan.inputs
        profile_slots = [s for s in inputs if s.kind == "profile"]
        missions: dict = {}
        for s in inputs:
            if s.kind == "mission":
                missions.setdefault(s.mission, []).append((s.index, MISSION_NAMES.index(s.name)))
        # The filling of the slots, written once per plan as straight-line Python (one function call
        # per evaluation, whatever the number of slots); mission ids travel as data (_K).
        profile_lines = [f"    _v[{s.index}] = {_PROFILE[s.name]}" for s in profile_slots]
        fill = ["def _fill(_v, _p, _d, _time, _n, _size):", "    pass"] + profile_lines
        fill += [f"    _v[{s.index}] = _time[{s.name!r}]" for s in inputs if s.kind == "time"]
        fill += [f"    _v[{s.index}] = _size" for s in inputs if s.kind == "taille"]
        if missions:
            fill.append("    _m = _p.missions")
        for number, (mission, fields) in enumerate(missions.items()):
            fill.append(f"    _f = _fields(_m.get(_K[{number}]), _n)")
            fill += [f"    _v[{index}] = _f[{position}]" for index, position in fields]
        basis = ["def _fill_basis(_v, _p, _d):"] + profile_lines + ["    pass"]
        named = ["def _named(_p, _d):", "    return {" + ", ".join(
            f"{name!r}: {code}" for name, code in _PROFILE.items()) + "}"]
        namespace = {"__builtins__": {}, "_members": _members, "_crises": _crises, "_fields": _mission_fields,
                     "_K": tuple(missions)}
        exec(compile("\n".join(fill + basis + named) + "\n", "<bind>", "exec"), namespace)  # noqa: S102 — engine text only
        self._fill, self._fill_basis, self._named = namespace["_fill"], namespace["_fill_basis"], namespace["_named"]
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
        self._texts = any(FUNCTION_KINDS[name] == "texts" for name in self._functions)

    def bind(self, profile: Profile, day: datetime.date, renewal: bool, compute_basis, *,
             fast: bool = False) -> Environment:
        """The environment of ``profile`` on ``day``.

        ``compute_basis(formula, values, functions)`` is the backend's evaluation of the taille's
        basis over the slot values (profile names and scalar parameters). Raises
        :class:`EvaluationError` when the basis cannot be computed, gives no number, or falls
        in no taille class (the same diagnostics whatever the backend). ``fast`` says which kind
        of backend asks: another text a formula reads is evaluated by the same kind.
        """
        plan = self.plan
        ruleset = plan.ruleset
        year, time = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
        number = year.key if year is not None else None  # the rates' key: contract and year
        functions = _NO_FUNCTIONS
        if self._functions:
            bound = profile_functions(profile, number)
            if self._texts:  # what other texts give this CPTS on this day, by the asking backend's kind
                bound.update(crosstext.functions(ruleset, profile, day, renewal, fast=fast))
            functions = {f"f_{name}": bound[name] for name in self._functions}
        size_class = None
        if plan.basis is not None:
            values = list(self._basis_start)
            self._fill_basis(values, profile, day)
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
                raise EvaluationError([ruleset.positions.diagnostic(
                    "E403", msg("{value} is in no taille class of ruleset '{ruleset}'",
                                value=describe_value(basis), ruleset=ruleset.id),
                    ("taille", "classes"))])
        size = size_class.taille if size_class is not None else None
        values = list(self._start.get(size) or self._start[None])
        self._fill(values, profile, day, time, number, size)
        return Environment(profile, day, year, size_class, values, functions, time)

    def names(self, env: Environment) -> dict:
        """The names the engine provides (profile, contract year, taille) by name, for what reads
        an evaluation's environment by name (payment rules, the coverage of test cases)."""
        return {**self._named(env.profile, env.day), **env.named, "taille": env.size}


def binder_of(plan: Plan) -> Binder:
    """The binder of a plan, made once."""
    binder = plan.__dict__.get("_binder")
    if binder is None:
        binder = Binder(plan)
        object.__setattr__(plan, "_binder", binder)
    return binder
