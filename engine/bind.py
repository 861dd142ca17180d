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
from .names import FUNCTION_KINDS, MISSION_NAMES, TIME_NAMES
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

# What a formula attached to a mission reads of it: ``(absent, present)``, the value when the
# profile has no state for the mission, and Python reading the state ``_s`` for the contract year of
# key ``_n`` (None outside a contract): the rate of achievement of the year (0 when none is given),
# the tiers its indicators reached (None when the profile measures none for the year).
_MISSION = {
    "started": ("None", ["{target} = _s.started"]),
    "deployed": ("None", ["{target} = _s.deployed"]),
    # MissionState.rate, inline: the year's rate, else the state's ``otherwise``, none outside a contract.
    "achievement": ("_ZERO", ["_x = None if _n is None else _s.achievement.get(_n)",
                              "{target} = _x if _x is not None else _ZERO if _n is None or _s.otherwise is None "
                              "else _s.otherwise"]),
    "indicators_earned": ("None", ["{target} = _s.indicators_earned(_n) if _s.indicators else None"]),
}
assert tuple(_MISSION) == MISSION_NAMES

# The names every generated binding may use, beside the slots' targets and the constants.
BINDING_NAMESPACE = {}  # filled below, once the helpers exist


def _members(profile: Profile) -> int:
    return profile.members if profile.members is not None else 0


def _crises(profile: Profile) -> tuple:
    crises = profile.crises
    return tuple([c.declared for c in crises]) if crises else ()


BINDING_NAMESPACE.update({"_members": _members, "_crises": _crises, "_ZERO": _ZERO})


def binding_code(inputs, target, constant) -> list[str]:
    """The Python lines (unindented) that give each slot of ``inputs`` its value, the one statement of
    what each name an evaluation reads is bound to, used by every backend that generates code.

    The lines read ``_p`` (the profile), ``_d`` (the day), ``_tn`` (the contract-year names, in
    the order of :data:`~.names.TIME_NAMES`), ``_n`` (the contract year's key, timeline.year_key:
    a later contract never reads the first one's rates; None outside a contract) and
    ``_size`` (the taille), and the names of :data:`BINDING_NAMESPACE`. ``target(index)`` is the
    Python a slot is assigned to (a local, an item of a list); ``constant(value)`` the name of a
    constant holding ``value`` (mission ids travel as data, never as source text).
    """
    lines = [f"{target(s.index)} = {_PROFILE[s.name]}" for s in inputs if s.kind == "profile"]
    times = {s.name: s.index for s in inputs if s.kind == "time"}
    if times:
        lines.append(", ".join(target(times[name]) if name in times else "_" for name in TIME_NAMES) + ", = _tn")
    lines += [f"{target(s.index)} = _size" for s in inputs if s.kind == "taille"]
    missions: dict = {}
    for s in inputs:
        if s.kind == "mission":
            missions.setdefault(s.mission, []).append(s)
    if missions:
        lines.append("_m = _p.missions")
    for mission, slots in missions.items():
        lines.append(f"_s = _m.get({constant(mission)})")
        lines.append("if _s is None:")
        lines += [f"    {target(s.index)} = {_MISSION[s.name][0]}" for s in slots]
        lines.append("else:")
        lines += ["    " + text.format(target=target(s.index)) for s in slots for text in _MISSION[s.name][1]]
    return lines


def mission_values(profile: Profile, mission: str, key) -> dict:
    """What a formula attached to ``mission`` reads of it, for the contract year of ``key``."""
    return dict(zip(MISSION_NAMES, _MISSION_READER(profile.missions.get(mission), key)))


def _mission_reader():
    # The fields of a mission state, from the same table as every generated binding.
    lines = ["def _read(_s, _n):", "    if _s is None:",
             "        return " + ", ".join(_MISSION[name][0] for name in MISSION_NAMES), "    else:"]
    lines += ["        " + text.format(target=f"_f{index}") for index, name in enumerate(MISSION_NAMES)
              for text in _MISSION[name][1]]
    lines.append("        return " + ", ".join(f"_f{index}" for index in range(len(MISSION_NAMES))))
    namespace = {"__builtins__": {}, **BINDING_NAMESPACE}
    exec(compile("\n".join(lines) + "\n", "<bind.mission>", "exec"), namespace)  # noqa: S102 — engine text only
    return namespace["_read"]


_MISSION_READER = _mission_reader()


def mission_fields(state, key) -> tuple:
    """The fields of a mission state for the contract year of ``key``, in the order of MISSION_NAMES."""
    return _MISSION_READER(state, key)


class Binder:
    """The bind stage of one plan: what it reads, laid out once (parameters per taille included)."""

    def __init__(self, plan: Plan):
        self.plan = plan
        ruleset = plan.ruleset
        size = len(plan.slots)
        self.size = size
        inputs = plan.inputs
        profile_slots = [s for s in inputs if s.kind == "profile"]
        # The filling of the slots, written once per plan as straight-line Python (one function call
        # per evaluation, whatever the number of slots); mission ids travel as data (_K).
        constants: list = []

        def constant(value):
            constants.append(value)
            return f"_K[{len(constants) - 1}]"

        def target(index):
            return f"_v[{index}]"

        fill = ["def _fill(_v, _p, _d, _tn, _n, _size):", "    pass"] + [
            "    " + text for text in binding_code(inputs, target, constant)]
        basis = ["def _fill_basis(_v, _p, _d):", "    pass"] + [
            "    " + text for text in binding_code(profile_slots, target, constant)]
        named = ["def _named(_p, _d):", "    return {" + ", ".join(
            f"{name!r}: {code}" for name, code in _PROFILE.items()) + "}"]
        namespace = {"__builtins__": {}, **BINDING_NAMESPACE, "_K": constants}
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

    def start(self, size) -> list:
        """The slots' starting values for taille ``size``: each parameter's value (the others None)."""
        return self._start.get(size) or self._start[None]

    @property
    def basis_start(self) -> list:
        """The slots' starting values for the taille's basis: the parameters that take no taille."""
        return self._basis_start

    def functions(self, profile: Profile, key, day: datetime.date, renewal: bool, fast: bool) -> dict:
        """The functions bound to the profile that the plan calls (``f_<name>``), for the contract year
        of ``key`` (timeline.year_key, or None): those reading the profile, and what other texts give
        it on ``day``, evaluated by the asking backend's kind (``fast``)."""
        if not self._functions:
            return _NO_FUNCTIONS
        bound = profile_functions(profile, key)
        if self._texts:
            bound.update(crosstext.functions(self.plan.ruleset, profile, day, renewal, fast=fast))
        return {f"f_{name}": bound[name] for name in self._functions}

    def size_class(self, profile: Profile, compute, *args):
        """The taille class of ``profile``: ``compute(*args)`` is the backend's value of the basis.

        Raises :class:`EvaluationError` when the basis cannot be computed, gives no number, or
        falls in no taille class: the same diagnostics whatever the backend. None when the
        ruleset has no taille.
        """
        plan = self.plan
        if plan.basis is None:
            return None
        ruleset = plan.ruleset
        try:
            basis = compute(*args)
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
        return size_class

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
        key = year.key if year is not None else None  # the rates' key: contract and year
        functions = self.functions(profile, key, day, renewal, fast)
        size_class = None
        if plan.basis is not None:
            values = list(self._basis_start)
            self._fill_basis(values, profile, day)
            size_class = self.size_class(profile, compute_basis, plan.basis, values, functions)
        size = size_class.taille if size_class is not None else None
        values = list(self.start(size))
        self._fill(values, profile, day, tuple(time[name] for name in TIME_NAMES), key, size)
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
