"""A fast payment calendar for budgets over many CPTS: the same payments as :mod:`schedule`.

:func:`schedule.build_schedule` runs the reference evaluator for each part of each
contract year and simpleeval for each payment rule of each line: right for one CPTS
and its explanations, too slow for a national sample over ten years and many
variants. This module walks the same contract years, parts and payment rules, with
the amounts of the fast evaluation path (:class:`fastpath.FastRuleset`) and the
payment rules' checked formulas resolved by the plan and written by the fast path's one
generator, as the lines are (no builtins).

It keeps no explanations, warnings or obligations. Its amounts are those of the
reference calendar to the cent: a test runs both on the national sample and on
generated profiles. When anything fails for a profile, the reference calendar is
run on it, so that an input problem is reported exactly as ``schedule`` reports
it; if the reference then succeeds, the disagreement is raised, never hidden.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import datetime
import decimal
from decimal import ROUND_HALF_UP, Decimal

from .compiler import MISSION_NAMES
from .diagnostic import InputError
from .evaluate import mission_names
from .expressions import DECIMAL_CONTEXT
from .fastpath import _HELPERS, FastRuleset, _Generate, _Names
from .helpers import PURE_FUNCTIONS, check_shares
from .plan import formula_of
from .profile import Profile, profile_functions, profile_names
from .ruleset import Definition, Ruleset
from .timeline import combine, contract_years_of, time_names

__all__ = ["FastCalendar", "FastPathUnsupported", "fast_calendar"]

_ZERO = Decimal(0)
_MISSION_FIELDS = MISSION_NAMES
_BOUND = "\0mission"  # the mission whose names an environment holds (no formula can spell it)
_YEAR = "\0year"  # the contract year it was evaluated in (its rates are read by contract and year)


class FastPathUnsupported(Exception):
    """A ruleset uses something the fast calendar does not compute (say so; use the reference path)."""


def _compile(expression, ruleset: Ruleset, label: str, path):
    """A checked formula as a Python function of the names it reads (a dict).

    The formula is resolved by the plan (:func:`plan.formula_of`) and written by the fast
    path's one generator (:class:`fastpath._Generate`), as the lines are. Returns the function
    and the names it reads; a function that reads the profile (``mission_started``...) is read
    from the dict as ``f_<name>``. The generated code spells no user text: names and constants
    travel as data.
    """
    formula = formula_of(ruleset, expression, path[-1], "value", label, path)
    names = _Names()
    used: set = set()
    body = ast.unparse(_Generate(names, set(), used).visit(copy.deepcopy(formula.tree)))
    slots = {slot.index: slot for slot in formula.slots}
    prologue, read = [], set()
    for index in sorted(used):
        slot = slots[index]
        if slot.kind == "maximum":
            raise FastPathUnsupported(f"{label} reads the maxima of lines (sum_maxima)")
        prologue.append(f"v{index} = _names[{names.constant(slot.name)}]")
        read.add(slot.name)
    for function in sorted(f for f in formula.functions if f not in PURE_FUNCTIONS):
        prologue.append(f"f_{function} = _names[{names.constant('f_' + function)}]")
        read.add(f"f_{function}")
    source = "def _f(_names):\n" + "".join(f"    {line}\n" for line in prologue) + f"    return {body}\n"
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
            when = (_compile(rule.when, ruleset, f"payment rule {rule.id}.when", rule.path + ("when",))
                    if rule.when is not None else None)
            installments = [(installment.label,
                             _compile(installment.share, ruleset, f"payment rule {rule.id}.share",
                                      rule.path + ("installments", index, "share")),
                             _compile(installment.due, ruleset, f"payment rule {rule.id}.due",
                                      rule.path + ("installments", index, "due")))
                            for index, installment in enumerate(rule.installments)]
            self.rules.append((rule, frozenset(rule.volets), when, installments))
        read = set()
        for _, _, when, installments in self.rules:
            read |= when[1] if when else set()
            for _, share, due in installments:
                read |= share[1] | due[1]
        # The definitions, in evaluation order, each with the mission it is bound to: computed
        # only when a payment rule reads one.
        self.definitions = []
        if read & definitions:
            for item in ruleset.order:
                if isinstance(item, Definition):
                    function = _compile(item.expression, ruleset, f"definition {item.name}", item.path)
                    self.definitions.append((item.name, item.mission, function))
                else:
                    self.definitions.append((None, item.mission, None))
        self._parameters: dict = {}  # taille -> {parameter: value}
        self.rules_read_missions = bool(read & set(_MISSION_FIELDS))
        # What the reference leaves bound to the mission names after an evaluation: the
        # last mission an obligation, else an item, was bound to (read by a rule of a line
        # without a mission).
        self.last_mission = None
        for item in list(ruleset.order) + list(ruleset.obligations):
            if item.mission is not None:
                self.last_mission = item.mission

    def environment(self, profile: Profile, day: datetime.date, amounts: dict, size, renewal: bool) -> dict:
        """The names an evaluation on ``day`` leaves for the payment rules (the reference's
        environment), the definitions included when a payment rule reads one."""
        ruleset = self.ruleset
        year, time = time_names(profile, day, ruleset.contract_years, renewal, ruleset.in_force)
        names = profile_names(profile, day)
        parameters = self._parameters.get(size)
        if parameters is None:
            parameters = {name: parameter.value_for(size) for name, parameter in ruleset.parameters.items()}
            self._parameters[size] = parameters
        names.update(parameters)
        names.update(time)
        names["taille"] = size
        names.update({line_id: amounts.get(line_id, _ZERO) for line_id in self.lines})
        if self.definitions:
            key = year.key if year else None
            names.update({f"f_{name}": function for name, function in profile_functions(profile, key).items()})
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
        names[_YEAR] = year
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

    def __call__(self, profile: Profile, timeline, first: int, last: int, assumptions=None):
        try:
            return self.payments(profile, timeline, first, last, assumptions)
        except FastPathUnsupported:
            raise
        except Exception as error:  # noqa: BLE001 — the reference path gives the exact diagnostic
            from .budget import profile_payments

            profile_payments(profile, timeline, first, last, assumptions)
            raise RuntimeError(f"the fast calendar failed for profile '{profile.name}' where the "
                               f"reference succeeded: {type(error).__name__}: {error}") from error

    def payments(self, profile: Profile, timeline, first: int, last: int, assumptions=None):
        """``(cells, covered)`` of one profile, as :func:`budget.profile_payments` gives them."""
        paid_on = assumptions.paid_on if assumptions is not None and assumptions.payment_lag else None
        resolve, renewal = timeline.resolve, timeline.renewal
        until = datetime.date(last, 12, 31)
        cells: dict = {}
        covered: set = set()

        def add(due, volet, mission, amount):
            if due > until:
                return
            year = (paid_on(due, volet) if paid_on else due).year
            if first <= year <= last:
                key = (year, volet, mission)
                cells[key] = cells.get(key, _ZERO) + amount

        day = profile.letter_of_intent_validated
        if day is not None and (profile.contract_signed is None or day < profile.contract_signed):
            try:
                ruleset = resolve(day)
            except InputError:
                ruleset = None  # as the reference: no text in force yet on that day, nothing owed
            if ruleset is not None:
                text = self.text(ruleset)
                result = text.fast.run(profile, day, renewal)
                if result.amounts:
                    names = text.environment(profile, day, result.amounts, result.size, renewal)
                    details = {line_id: (text, names) for line_id in result.amounts}
                    self._pay(profile, dict(result.amounts), details, add)

        signed = profile.contract_signed
        if signed is not None:
            duration = resolve(signed).contract_years or 0
            for year in contract_years_of(profile.signatures, duration, renewal, until):
                covered |= set(range(max(first, year.start.year), min(last, year.end.year) + 1))
                segments = timeline.segments(year)
                evaluated = []
                for segment in segments:
                    text = self.text(segment.ruleset)
                    evaluated.append((text, text.fast.run(profile, segment.start, renewal), segment))
                if len(segments) == 1:
                    amounts = dict(evaluated[0][1].amounts)  # one part: each line keeps its amount
                else:
                    amounts, _ = combine(year, [(segment, [(k, v, result.runs_from.get(k))
                                                           for k, v in result.amounts.items()])
                                                for _, result, segment in evaluated])
                # Each line is paid by the rules of the first part of the year it appears in.
                details = {}
                for text, result, segment in reversed(evaluated):
                    if result.amounts:
                        names = text.environment(profile, segment.start, result.amounts, result.size, renewal)
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
            check_shares([share for share, _ in computed])  # else the reference path says why (E410)
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
    return names.get(_YEAR)


def fast_calendar() -> FastCalendar:
    """A fresh fast calendar (it compiles each ruleset it meets once)."""
    return FastCalendar()
