"""A fast payment calendar for budgets over many CPTS: the same payments as :mod:`schedule`.

:func:`schedule.build_schedule` runs the reference evaluator for each part of each
contract year and simpleeval for each payment rule of each line: right for one CPTS
and its explanations, too slow for a national sample over ten years and many
variants. This module walks the same contract years, parts and payment rules, with
the amounts of the fast evaluation path (:class:`fastpath.FastRuleset`) and the
payment rules' checked formulas compiled once into Python functions the way the
fast path compiles the lines (same rewrite, no builtins).

It keeps no explanations, warnings or obligations. Its amounts are those of the
reference calendar to the cent: a test runs both on the national sample and on
generated profiles. When anything fails for a profile, the reference calendar is
run on it, so that an input problem is reported exactly as ``schedule`` reports
it; if the reference then succeeds, the disagreement is raised, never hidden.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import decimal
from decimal import ROUND_HALF_UP, Decimal

from .evaluate import contract_end_of, contract_year_of, mission_names
from .compiler import MISSION_NAMES
from .diagnostic import InputError
from .expressions import DECIMAL_CONTEXT
from .fastpath import _HELPERS, FastRuleset, _copy, _Names, _Rewrite
from .helpers import PURE_FUNCTIONS, add_years
from .profile import Profile, profile_functions, profile_names
from .ruleset import Definition, Ruleset
from .schedule import _weights, year_segments

__all__ = ["FastCalendar", "FastPathUnsupported", "fast_calendar"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_ONE_DAY = datetime.timedelta(days=1)
_MISSION_FIELDS = MISSION_NAMES
_BOUND = "\0mission"  # the mission whose names an environment holds (no formula can spell it)


class FastPathUnsupported(Exception):
    """A ruleset uses something the fast calendar does not compute (say so; use the reference path)."""


@dataclasses.dataclass(frozen=True)
class _Line:
    """What the weights of a cut year read of a line: its id, amount and first running day."""

    id: str
    amount: Decimal
    runs_from: datetime.date | None


@dataclasses.dataclass(frozen=True)
class _Part:
    lines: tuple


def _compile(expression, ruleset: Ruleset, label: str):
    """A checked formula as a Python function of the names it reads (a dict).

    Returns the function and the names it reads; a function that reads the profile
    (``mission_started``...) is read from the dict as ``f_<name>``. As in the fast
    path, the generated code spells no user text: names and constants travel as data.
    """
    names = _Names()
    used: set = set()
    tree = _Rewrite(None, ruleset, names, used).visit(_copy(expression.node))
    prologue, read = [], set()
    for (prefix, key), generated in list(names.slots.items()):
        if prefix != "v":
            raise FastPathUnsupported(f"{label} reads the maxima of lines (sum_maxima)")
        prologue.append(f"{generated} = _names[{names.constant(key)}]")
        read.add(key)
    for target in sorted(t for t in used if t.startswith("f_") and t[2:] not in PURE_FUNCTIONS):
        prologue.append(f"{target} = _names[{names.constant(target)}]")
        read.add(target)
    source = "def _f(_names):\n" + "".join(f"    {line}\n" for line in prologue) + \
        f"    return {ast.unparse(tree)}\n"
    namespace = {"__builtins__": {}, **_HELPERS, **names.constants,
                 **{f"f_{name}": function for name, function in PURE_FUNCTIONS.items()}}
    exec(compile(source, "<payment rule>", "exec"), namespace)  # noqa: S102 — checked trees, engine names only
    return namespace["_f"], frozenset(read)


class _FastText:
    """One consolidated ruleset for the fast calendar: its fast lines and compiled payment rules."""

    def __init__(self, ruleset: Ruleset):
        self.ruleset = ruleset
        self.fast = FastRuleset(ruleset)
        self.lines = {line.id: line for line in ruleset.lines}
        definitions = {item.name for item in ruleset.order if isinstance(item, Definition)}
        self.rules = []
        for rule in ruleset.payments:
            when = _compile(rule.when, ruleset, f"payment rule {rule.id}.when") if rule.when is not None else None
            installments = [(installment.label,
                             _compile(installment.share, ruleset, f"payment rule {rule.id}.share"),
                             _compile(installment.due, ruleset, f"payment rule {rule.id}.due"))
                            for installment in rule.installments]
            self.rules.append((rule, frozenset(rule.volets), when, installments))
        self.runs_from = {line.id: _compile(line.runs_from, ruleset, f"line {line.id}.runs_from")
                          for line in ruleset.lines if line.runs_from is not None}
        read = set()
        for _, _, when, installments in self.rules:
            read |= when[1] if when else set()
            for _, share, due in installments:
                read |= share[1] | due[1]
        for _, names in self.runs_from.values():
            read |= names
        # The definitions, in evaluation order, each with the mission it is bound to: computed
        # only when a payment rule or a runs_from reads one.
        self.definitions = []
        if read & definitions:
            for item in ruleset.order:
                if isinstance(item, Definition):
                    function = _compile(item.expression, ruleset, f"definition {item.name}")
                    self.definitions.append((item.name, item.mission, function))
                else:
                    self.definitions.append((None, item.mission, None))
        self._parameters: dict = {}  # taille -> {parameter: value}
        self.rules_read_missions = any(
            set(_MISSION_FIELDS) & ((when[1] if when else set()) | set().union(*(share[1] | due[1]
                                                                                  for _, share, due in installments)))
            for _, _, when, installments in self.rules)
        self.payments_read_definitions = bool(set().union(*(
            (when[1] if when else set()) | set().union(*(share[1] | due[1] for _, share, due in installments))
            for _, _, when, installments in self.rules)) & definitions) if self.rules else False
        # What the reference leaves bound to the mission names after an evaluation: the
        # last mission an obligation, else an item, was bound to (read by a rule of a line
        # without a mission).
        self.last_mission = None
        for item in list(ruleset.order) + list(ruleset.obligations):
            if item.mission is not None:
                self.last_mission = item.mission

    def environment(self, profile: Profile, day: datetime.date, amounts: dict, size,
                    definitions: bool = False) -> dict:
        """The names an evaluation on ``day`` leaves for the payment rules (the reference's
        environment), with the definitions when ``definitions`` or a payment rule reads them."""
        ruleset = self.ruleset
        signed = profile.contract_signed
        year = contract_year_of(signed, day, ruleset.contract_years)
        names = profile_names(profile, day)
        parameters = self._parameters.get(size)
        if parameters is None:
            parameters = {name: parameter.value_for(size) for name, parameter in ruleset.parameters.items()}
            self._parameters[size] = parameters
        names.update(parameters)
        names.update({
            "taille": size,
            "contract_year": year.number if year else None,
            "contract_year_start": year.start if year else None,
            "contract_year_end": year.end if year else None,
            "contract_end": contract_end_of(signed, ruleset.contract_years),
            "text_in_force": ruleset.in_force,
        })
        names.update({line_id: amounts.get(line_id, _ZERO) for line_id in self.lines})
        if self.definitions and (definitions or self.payments_read_definitions):
            number = year.number if year else None
            names.update({f"f_{name}": function for name, function in profile_functions(profile, number).items()})
            with decimal.localcontext(DECIMAL_CONTEXT):
                for name, mission, function in self.definitions:
                    # As the reference: an item binds its mission's names, and they stay bound.
                    if mission is not None:
                        names.update(mission_names(profile, mission, year))
                    if function is not None:
                        names[name] = function[0](names)
        if self.last_mission is not None:
            names.update(mission_names(profile, self.last_mission, year))
        names[_BOUND] = self.last_mission
        return names

    def bind(self, names: dict, profile: Profile, line) -> None:
        """Bind ``line``'s mission names in ``names``, as the reference does for its payment rules.

        The environment is shared by the lines of a part: the binding is changed in
        place, and a line without a mission sees what the evaluation left bound.
        """
        if not self.rules_read_missions:
            return
        wanted = line.mission if line.mission is not None else self.last_mission
        if names.get(_BOUND) != wanted:
            if wanted is None:
                for field in _MISSION_FIELDS:
                    names.pop(field, None)
            else:
                names.update(mission_names(profile, wanted, _year_of(names)))
            names[_BOUND] = wanted

    def run_from(self, line_id, profile, names):
        line = self.lines[line_id]
        if line_id in self.runs_from:
            if line.mission is not None:  # read as the line's own formulas read it
                names = dict(names)
                names.update(mission_names(profile, line.mission, _year_of(names)))
            with decimal.localcontext(DECIMAL_CONTEXT):
                value = self.runs_from[line_id][0](names)
            if value is not None and not isinstance(value, datetime.date):
                raise TypeError("runs_from is not a date")
            return value
        if line.mission is not None:
            state = profile.missions.get(line.mission)
            return state.started if state else None
        return None


class FastCalendar:
    """A calendar function for :func:`budget.text_budget`: one profile's payments by year,
    volet and mission, and the calendar years its contract runs in."""

    def __init__(self):
        self._texts: dict = {}  # id(ruleset) -> (ruleset, _FastText); the ruleset kept alive

    def text(self, ruleset: Ruleset) -> _FastText:
        entry = self._texts.get(id(ruleset))
        if entry is None or entry[0] is not ruleset:
            entry = (ruleset, _FastText(ruleset))
            self._texts[id(ruleset)] = entry
        return entry[1]

    def __call__(self, profile: Profile, resolve, change_days, first: int, last: int):
        try:
            return self.payments(profile, resolve, change_days, first, last)
        except FastPathUnsupported:
            raise
        except Exception as error:  # noqa: BLE001 — the reference path gives the exact diagnostic
            from .budget import profile_payments

            profile_payments(profile, resolve, change_days, first, last)
            raise RuntimeError(f"the fast calendar failed for profile '{profile.name}' where the "
                               f"reference succeeded: {type(error).__name__}: {error}") from error

    def payments(self, profile: Profile, resolve, change_days, first: int, last: int):
        until = datetime.date(last, 12, 31)
        cells: dict = {}
        covered: set = set()

        def add(due, volet, mission, amount):
            if first <= due.year and due <= until:
                key = (due.year, volet, mission)
                cells[key] = cells.get(key, _ZERO) + amount

        day = profile.letter_of_intent_validated
        if day is not None and (profile.contract_signed is None or day < profile.contract_signed):
            try:
                ruleset = resolve(day)
            except InputError:
                ruleset = None  # as the reference: no text in force yet on that day, nothing owed
            if ruleset is not None:
                text = self.text(ruleset)
                result = text.fast.run(profile, day)
                if result.amounts:
                    names = text.environment(profile, day, result.amounts, result.size)
                    details = {line_id: (text, names) for line_id in result.amounts}
                    self._pay(profile, dict(result.amounts), details, add)

        signed = profile.contract_signed
        if signed is not None:
            duration = resolve(signed).contract_years or 0
            for number in range(1, duration + 1):
                start = add_years(signed, number - 1)
                if start > until:
                    break
                end = add_years(signed, number) - _ONE_DAY
                covered |= set(range(max(first, start.year), min(last, end.year) + 1))
                parts = year_segments(start, end, change_days)
                evaluated = []
                for a, _ in parts:
                    text = self.text(resolve(a))
                    result = text.fast.run(profile, a)
                    evaluated.append((text, result, a))
                if len(parts) == 1:
                    amounts = dict(evaluated[0][1].amounts)
                else:
                    amounts = {}
                    for (text, result, a), (_, b) in zip(evaluated, parts):
                        names = text.environment(profile, a, result.amounts, result.size, definitions=True)
                        lines = tuple(_Line(line_id, amount, text.run_from(line_id, profile, names))
                                      for line_id, amount in result.amounts.items())
                        weights = _weights(text.ruleset, _Part(lines), start, end, a, b)
                        for line in lines:
                            amounts[line.id] = amounts.get(line.id, _ZERO) + line.amount * weights[line.id]
                quantum = evaluated[0][0].ruleset.quantum
                amounts = {k: v.quantize(quantum, rounding=ROUND_HALF_UP, context=DECIMAL_CONTEXT)
                           for k, v in amounts.items()}
                # Each line is paid by the rules of the first part of the year it appears in.
                details = {}
                for text, result, a in reversed(evaluated):
                    if result.amounts:
                        names = text.environment(profile, a, result.amounts, result.size)
                        details.update({line_id: (text, names) for line_id in result.amounts})
                self._pay(profile, amounts, details, add)
        return cells, covered

    @staticmethod
    def _pay(profile, amounts: dict, details: dict, add):
        """The installments of each line, by the first payment rule that matches it (see schedule._pay)."""
        for line_id, amount in amounts.items():
            text, names = details[line_id]
            line = text.lines[line_id]
            text.bind(names, profile, line)
            chosen = None
            with decimal.localcontext(DECIMAL_CONTEXT):
                for rule, volets, when, installments in text.rules:
                    if line.volet in volets and (when is None or when[0](names) is True):
                        chosen = (rule, installments)
                        break
                if chosen is None:
                    raise LookupError(f"no payment rule pays line '{line_id}'")
                computed = [(share[0](names), due[0](names)) for _, share, due in chosen[1]]
            paid = _ZERO
            for index, (share, due) in enumerate(computed):
                if not isinstance(due, datetime.date):
                    raise TypeError("a due date is not a date")
                if index == len(computed) - 1:
                    part = amount - paid
                else:
                    part = (amount * Decimal(share)).quantize(text.ruleset.quantum, rounding=ROUND_HALF_UP,
                                                              context=DECIMAL_CONTEXT)
                paid += part
                if part:
                    add(due, line.volet, line.mission, part)


def _year_of(names: dict):
    """The contract year an environment was evaluated in, as :func:`mission_names` takes it."""
    number = names.get("contract_year")
    if number is None:
        return None
    return _Year(number)


@dataclasses.dataclass(frozen=True)
class _Year:
    number: int


def fast_calendar() -> FastCalendar:
    """A fresh fast calendar (it compiles each ruleset it meets once)."""
    return FastCalendar()
