"""Mutation analysis of a ruleset: which of its figures and conditions no test case pins.

A *mutant* is the compiled ruleset with one small change an analyst could make by
mistake: a figure one unit off (one euro, one month, one point of a rate), a date
one day off, a comparison turned (``<=`` into ``<``, ``==`` into ``!=``), a literal
of a formula one unit off, a size-class boundary moved by one inhabitant, the
rounding point moved, an installment's share changed, a due date a month later.
Each mutant is made on the checked, compiled form (never by editing YAML text), is
still a valid ruleset (its formulas are checked again), and is applied wherever the
mutated piece is inherited (a change to aci-2019 reaches avenant-2 and the
proposals built on it). The cases then run against it: the fast path for a case on
amounts only, the reference evaluator for warnings, obligations and calendars. A
mutant some case fails on is *killed*; one every case passes on *survives*, and is
listed with its file and line and what a case would need to pin it.

A case that never touches the mutated piece (coverage, :mod:`coverage`) cannot
see the mutant, and is not run.
"""

from __future__ import annotations

import ast
import collections
import copy
import dataclasses
import datetime
import time
from decimal import Decimal

from .cases import run_case
from .compiler import FUNCTION_NAMES
from .coverage import run_with_coverage
from .diagnostic import AciError, Message, msg
from .expressions import parse_expression
from .fastpath import FastRuleset
from .library import Library
from .ruleset import Definition, Ruleset
from .sites import expression_sites, node_position, node_text, site_of

__all__ = ["Mutant", "MutationReport", "mutants_of", "document_mutants", "apply_mutant", "mutation_analysis",
           "NAME_MEANINGS"]

_ONE_DAY = datetime.timedelta(days=1)

# Comparisons and their mutation: the boundary moves by one (< and <=), or the test flips.
_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
         ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_BOUNDARY = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)

# What the names the engine provides mean, for the hints (the ruleset's own names are
# described by their labels and values).
NAME_MEANINGS = {
    "started": msg("the start of the mission"),
    "deployed": msg("the deployment of the mission"),
    "contract_year_start": msg("the first day of a contract year"),
    "contract_year_end": msg("the last day of a contract year"),
    "contract_signed": msg("the signature of the contract"),
    "contract_end": msg("the last day of the contract"),
    "letter_of_intent_validated": msg("the validation of the letter of intent"),
    "date": msg("the evaluation date"),
    "population": msg("the population"),
    "members": msg("the number of members"),
    "taille": msg("the taille"),
    "contract_year": msg("the number of the contract year"),
    "text_in_force": msg("the entry into force of the text"),
}


# Equivalent by construction: no evaluation reads what these mutants change.
_LAST_SHARE = msg("the last installment of a rule is what remains of the year's amount (engine/schedule.py): "
                  "its share is never read")
_UNREAD = msg("no formula reads this parameter (an informative value): changing it changes no result")


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One small change of a ruleset, where it is written and how to apply it.

    ``change`` is what :func:`apply_mutant` does: ("parameter", site, taille, value),
    ("node", site, ordinal, operation), ("taille", site, boundary index, new low) or
    ("quantum", site, value). ``touch`` is the coverage key a case must have touched
    to see it (None: every case of the file); ``equivalent`` the reason no case can
    kill it, when that is known by construction.
    """

    kind: str
    file: str
    line: int | None
    column: int | None
    owner: str
    description: str
    change: tuple
    touch: tuple | None
    in_payments: bool = False
    hint: Message | str = ""  # a Message: rendered in the reader's language where it is shown
    equivalent: Message | None = None
    everywhere: bool = False  # may change any case, even one that reads nothing of the file

    @property
    def where(self) -> str:
        text = self.file
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text

    def to_dict(self) -> dict:
        return {"kind": self.kind, "file": self.file, "line": self.line, "column": self.column,
                "owner": self.owner, "mutant": self.description, "hint": self.hint,
                "equivalent": self.equivalent}


@dataclasses.dataclass
class MutationReport:
    """The outcome of a mutation analysis of one ruleset file (JSON-able by :meth:`to_dict`)."""

    ruleset: str
    file: str
    mutants: int = 0
    killed: int = 0
    invalid: list = dataclasses.field(default_factory=list)  # Mutant that would not compile: not counted
    survivors: list = dataclasses.field(default_factory=list)  # Mutant
    equivalents: list = dataclasses.field(default_factory=list)  # (Mutant, reason)
    accepted: list = dataclasses.field(default_factory=list)  # (Mutant, reason) from the case files
    runs: int = 0  # case runs against mutants
    seconds: float = 0.0

    @property
    def score(self) -> float:
        counted = self.mutants - len(self.equivalents) - len(self.accepted)
        return self.killed / counted if counted else 1.0

    def to_dict(self) -> dict:
        return {
            "ruleset": self.ruleset, "file": self.file, "mutants": self.mutants, "killed": self.killed,
            "survived": len(self.survivors), "equivalent": len(self.equivalents), "accepted": len(self.accepted),
            "invalid": len(self.invalid),
            "score": round(self.score, 4), "case_runs": self.runs, "seconds": round(self.seconds, 2),
            "survivors": [m.to_dict() for m in self.survivors],
            "equivalents": [dict(m.to_dict(), reason=reason) for m, reason in self.equivalents],
            "accepted_mutants": [dict(m.to_dict(), reason=reason) for m, reason in self.accepted],
            "invalid_mutants": [m.to_dict() for m in self.invalid],
        }


# -- making the mutants -----------------------------------------------------------------

def _step(value):
    """One unit of a number as written: 1 for 12, 0.01 for 0.75.

    >>> _step(12), _step(Decimal("0.75")), _step(Decimal("0.10"))
    (1, Decimal('0.01'), Decimal('0.01'))
    """
    if isinstance(value, int):
        return 1
    return Decimal(1).scaleb(value.as_tuple().exponent)


def _is_number(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _describe(ruleset: Ruleset, name: str) -> Message | str:
    if name in NAME_MEANINGS:
        return NAME_MEANINGS[name]
    parameter = ruleset.parameters.get(name)
    if parameter is not None:
        shown = parameter.value if parameter.by_taille is None else msg("by taille")
        return msg("{label} ({shown})", label=parameter.label or name, shown=shown)
    return name


def _readers(ruleset: Ruleset, name: str) -> list:
    return [line.id for line in ruleset.lines if name in ruleset.reads.get(line.id, ())]


def mutants_of(ruleset: Ruleset) -> list[Mutant]:
    """Every mutant of the pieces of ``ruleset`` written in its own file (``ruleset.source``).

    ``ruleset`` is compiled with every provision applied (``Library.get(name)``).
    """
    file = ruleset.source
    found: list[Mutant] = []
    positions = ruleset.positions
    payment_names = set()
    for rule in ruleset.payments:
        for expression in [rule.when] + [e for i in rule.installments for e in (i.share, i.due)]:
            if expression is not None:
                payment_names |= expression.names

    read = set(payment_names)
    for names in ruleset.reads.values():
        read |= names
    for entry in expression_sites(ruleset):
        read |= entry.expression.names
    for name, parameter in ruleset.parameters.items():
        site = site_of(ruleset, parameter.path)
        if site.file != file:
            continue
        unread = None if name in read else _UNREAD
        cells = ([(taille, value) for taille, value in sorted(parameter.by_taille.items())]
                 if parameter.by_taille is not None else [(None, parameter.value)])
        for taille, value in cells:
            path = parameter.path + (("by_taille", str(taille)) if taille is not None else ("value",))
            line, column = positions.position(path)
            owner = f"parameters.{name}" + (f"[taille {taille}]" if taille is not None else "")
            readers = ", ".join(_readers(ruleset, name)) or msg("a payment rule, an obligation or the taille")
            where_taille = msg(" of taille {taille}", taille=taille) if taille is not None else ""
            touch = (site, taille)
            if isinstance(value, datetime.date):
                for delta, word in ((_ONE_DAY, "le lendemain"), (-_ONE_DAY, "la veille")):
                    new = value + delta
                    found.append(Mutant(
                        "date", site.file, line, column, owner, f"{value} → {new} ({word})",
                        ("parameter", site, taille, new), touch, name in payment_names,
                        hint=msg("no case tells {name} = {value} from {new}: add a case where the date "
                                 "compared with {name} falls on {first} or on {last}", name=name, value=value,
                                 new=new, first=min(value, new), last=max(value, new)),
                        equivalent=unread))
            elif _is_number(value):
                deltas = [_step(value)] if parameter.unit == "EUR" else [_step(value), -_step(value)]
                for delta in deltas:
                    new = value + delta
                    if new < 0:
                        continue
                    kind = "figure" if parameter.unit != "mois" else "deadline"
                    if parameter.unit == "EUR":
                        hint = msg("no case{where_taille} checks an amount that depends on {name}: "
                                   "expect the amount of {readers} in a case{where_taille}",
                                   where_taille=where_taille, name=name, readers=readers)
                    else:
                        low, high = sorted((value, new))
                        hint = msg("no case at the limit of {name} ({value}): one is needed where what it is "
                                   "compared with is {low}, and one where it is {high} (read by: {readers})",
                                   name=name, value=value, low=low, high=high, readers=readers)
                    found.append(Mutant(kind, site.file, line, column, owner, f"{value} → {new}",
                                        ("parameter", site, taille, new), touch, name in payment_names, hint=hint,
                                        equivalent=unread))

    for entry in expression_sites(ruleset):
        if entry.site.file != file:
            continue
        found += _expression_mutants(ruleset, entry)

    if ruleset.taille is not None and site_of(ruleset, ("taille",)).file == file:
        site = site_of(ruleset, ("taille",))
        classes = ruleset.taille.classes
        for index, (lower, upper) in enumerate(zip(classes, classes[1:])):
            boundary = upper.low
            position = positions.position(("taille", "classes"))
            for delta in (1, -1):
                new = boundary + delta
                if new - 1 < lower.low or (upper.high is not None and new > upper.high):
                    continue  # a class would be empty: not a valid size table
                found.append(Mutant(
                    "taille", site.file, position[0], position[1], "taille.classes",
                    f"taille {upper.taille} à partir de {new} au lieu de {boundary}",
                    ("taille", site, index, new), None,
                    hint=msg("no case with a population of {population} (the taille changes at {boundary}: "
                             "one case on each side, {below} and {boundary}, that checks its taille)",
                             population=boundary if delta > 0 else boundary - 1, boundary=boundary,
                             below=boundary - 1)))

    if positions.has(("rounding",)) and site_of(ruleset, ("rounding",)).file == file:
        site = site_of(ruleset, ("rounding",))
        line, column = positions.position(("rounding", "quantum"))
        exponent = ruleset.quantum.as_tuple().exponent
        # quantize() reads the exponent only: 0.10 rounds as 0.01 does, so step the exponent.
        for new in (Decimal(1).scaleb(exponent + 1), Decimal(1).scaleb(exponent - 1)):
            if new > 1:
                continue
            found.append(Mutant(
                "rounding", site.file, line, column, "rounding.quantum", f"{ruleset.quantum} → {new}",
                ("quantum", site, new), None,
                hint=msg("no case expects an amount that falls between two roundings (a prorata to the cent)")))
    return found


def document_mutants(document) -> list[Mutant]:
    """The mutants of the dates a ruleset file says its text and its provisions enter into force.

    These change which text, and which provisions, apply on a day: they are made on
    the loaded document (its data, never its text) and compiled again with the texts
    it amends or that amend it (see :class:`_Substituted`).
    """
    found = []
    data = document.data

    def add(path, owner, what, everywhere):
        value = document.get(path)
        if not isinstance(value, str):
            return
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            return
        line, column = document.position(path)
        for delta, word in ((_ONE_DAY, "le lendemain"), (-_ONE_DAY, "la veille")):
            new = (day + delta).isoformat()
            found.append(Mutant(
                "date", document.file_of(path), line, column, owner, f"{value} → {new} ({word})",
                ("document", path, new), None, False,
                hint=msg("no case is evaluated on {first} or on {last} with an expectation that {what} "
                         "changes that day{more}", first=min(value, new), last=max(value, new), what=what,
                         more=msg(" (the text applied that day and the day before; or W007 for a contract year "
                                  "that ends on {value} and one that begins the day before)", value=value)
                         if everywhere else ""),
                everywhere=everywhere))

    add(("dates", "in_force"), "dates.in_force", msg("the entry into force of the text"), True)
    for section in ("missions", "indicators", "lines", "obligations", "payments"):
        for index, item in enumerate(data.get(section) or []):
            add((section, index, "in_force"), f"{section}[{item.get('id')}].in_force", msg("this provision"), False)
    for section in ("parameters", "definitions"):
        for key, item in (data.get(section) or {}).items():
            if isinstance(item, dict):
                add((section, key, "in_force"), f"{section}.{key}.in_force", msg("this provision"), False)
    for section, spec in (data.get("changes") or {}).items():
        if not isinstance(spec, dict):
            continue
        for verb in ("add", "change", "remove"):
            for index, item in enumerate(spec.get(verb) or []):
                if isinstance(item, dict):
                    add(("changes", section, verb, index, "in_force"),
                        f"changes.{section}.{verb}[{item.get('id')}].in_force", msg("this provision"), False)
        for key, item in (spec.get("set") or {}).items():
            if isinstance(item, dict):
                add(("changes", section, "set", key, "in_force"), f"changes.{section}.set.{key}.in_force",
                    msg("this provision"), False)
    return found


class _Substituted(Library):
    """A library where one ruleset document is replaced by its mutant (compiled afresh)."""

    persistent = False  # its texts are not the package's: nothing to read from, or keep in, the store

    def __init__(self, base: Library, original, replacement):
        super().__init__()
        self._base, self._original, self._replacement = base, original, replacement
        # Compiled texts are keyed by the content of each file of their chain: those that do
        # not hold the mutant are the base library's own, and are not compiled again.
        self._compiled = collections.ChainMap({}, base._compiled)

    def _swap(self, document):
        return self._replacement if document.digest == self._original.digest else document

    def shipped_documents(self):
        return {key: self._swap(document) for key, document in self._base.shipped_documents().items()}

    def file_document(self, path):
        return self._swap(self._base.file_document(path))


def _substituted(library: Library, original, mutant: Mutant) -> Library:
    _, path, value = mutant.change
    data = copy.deepcopy(original.data)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    replacement = dataclasses.replace(original, data=data,
                                      digest=f"{original.digest}:{'/'.join(map(str, path))}={value}")
    return _Substituted(library, original, replacement)


def _valid(library: Library, name: str) -> bool:
    """True when the ruleset compiles on every day its provisions make different."""
    try:
        full = library.get(name)
        days = {None}
        for provision in full.provisions:
            days |= {provision.day, provision.day - _ONE_DAY}
        for day in days:
            library.get(name, day)
    except AciError:
        return False
    return True


def _expression_mutants(ruleset: Ruleset, entry) -> list[Mutant]:
    expression = entry.expression
    found = []
    nodes = list(ast.walk(expression.node))
    parents = {id(child): node for node in nodes for child in ast.iter_child_nodes(node)}

    unread_share = None
    if entry.kind == "payment" and entry.field.endswith(".share"):
        rule = next(r for r in ruleset.payments if r.id == entry.item)
        if int(entry.field.split("[")[1].split("]")[0]) == len(rule.installments) - 1:
            unread_share = _LAST_SHARE

    def mutant(kind, node, description, operation, hint, equivalent=None):
        equivalent = equivalent or unread_share
        file, line, column = node_position(ruleset, entry.where, expression, node)
        found.append(Mutant(kind, file, line, column, entry.owner, description,
                            ("node", entry.site, nodes.index(node), operation),
                            (entry.site, nodes.index(node)), entry.kind == "payment", hint=hint,
                            equivalent=equivalent))

    for node in nodes:
        if isinstance(node, ast.Compare):
            for link, operator in enumerate(node.ops):
                swapped = _SWAP[type(operator)]
                text = node_text(expression, node, link)
                new_text = node_text(expression, _with_op(node, link, swapped), link)
                left = node.left if link == 0 else node.comparators[link - 1]
                right = node.comparators[link]
                if type(operator) in _BOUNDARY:
                    hint = msg("no case where {left} falls on the day of (or equals) {right}, which tells "
                               "“{text}” from “{new_text}”", left=_side(ruleset, expression, left),
                               right=_side(ruleset, expression, right), text=text, new_text=new_text)
                else:
                    hint = msg("no case sees “{text}” true and false with an expectation on what depends on it "
                               "({owner})", text=text, owner=entry.owner)
                mutant("operator", node, f"{text} → {new_text}", ("op", link, swapped.__name__), hint)
        elif isinstance(node, ast.Constant):
            parent = parents.get(id(node))
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Pow) and parent.right is node:
                continue
            if _is_number(node.value):
                around = _segment(expression, parent or node)
                for delta in (_step(node.value), -_step(node.value)):
                    new = node.value + delta
                    mutant("literal", node, f"{_segment(expression, node)} → {new} dans « {around} »",
                           ("const", new), msg("no case depends on the number {number} in “{around}”",
                                              number=node.value, around=around))
            elif (isinstance(node.value, str) and isinstance(parent, ast.Call)
                  and getattr(parent.func, "id", None) == "as_date"):
                try:
                    day = datetime.date.fromisoformat(node.value)
                except ValueError:
                    continue
                for delta in (_ONE_DAY, -_ONE_DAY):
                    new = (day + delta).isoformat()
                    mutant("date", node, f"{node.value} → {new}", ("const", new),
                           msg("no case tells {day} from {new}", day=node.value, new=new))
    if entry.kind == "payment" and entry.field.endswith(".share"):
        index = int(entry.field.split("[")[1].split("]")[0])
        rule = next(r for r in ruleset.payments if r.id == entry.item)
        last = index == len(rule.installments) - 1
        mutant("share", expression.node, f"part « {expression.text} » + 0.01", ("add", Decimal("0.01")),
               msg("no calendar (schedule:) expects installment {number} of rule {rule}", number=index + 1,
                   rule=rule.id),
               equivalent=_LAST_SHARE if last else None)
    if entry.kind == "payment" and entry.field.endswith(".due"):
        rule = next(r for r in ruleset.payments if r.id == entry.item)
        mutant("due", expression.node, f"échéance « {expression.text} » un mois plus tard",
               ("later", 1), msg("no calendar (schedule:) expects the date of an installment of rule {rule}",
                                   rule=rule.id))
    return found


def _segment(expression, node) -> str:
    return node_text(expression, node)


def _side(ruleset, expression, node) -> Message | str:
    text = _segment(expression, node)
    if isinstance(node, ast.Name):
        return msg("{label} ({shown})", label=text, shown=_describe(ruleset, node.id))
    return text


def _with_op(node, link, operator):
    clone = copy.copy(node)
    clone.ops = list(node.ops)
    clone.ops[link] = operator()
    return clone


# -- applying a mutant ------------------------------------------------------------------

def apply_mutant(mutant: Mutant, ruleset: Ruleset) -> Ruleset:
    """``ruleset`` with ``mutant`` applied where it holds the mutated piece (else unchanged)."""
    action = mutant.change[0]
    if action == "parameter":
        _, site, taille, value = mutant.change
        for name, parameter in ruleset.parameters.items():
            if site_of(ruleset, parameter.path) == site:
                if taille is None:
                    changed = dataclasses.replace(parameter, value=value)
                else:
                    changed = dataclasses.replace(parameter, by_taille={**parameter.by_taille, taille: value})
                return dataclasses.replace(ruleset, parameters={**ruleset.parameters, name: changed})
        return ruleset
    if action == "taille":
        _, site, index, low = mutant.change
        if ruleset.taille is None or site_of(ruleset, ("taille",)) != site:
            return ruleset
        classes = list(ruleset.taille.classes)
        classes[index] = dataclasses.replace(classes[index], high=low - 1)
        classes[index + 1] = dataclasses.replace(classes[index + 1], low=low)
        return dataclasses.replace(ruleset, taille=dataclasses.replace(ruleset.taille, classes=tuple(classes)))
    if action == "quantum":
        _, site, value = mutant.change
        if not ruleset.positions.has(("rounding",)) or site_of(ruleset, ("rounding",)) != site:
            return ruleset
        return dataclasses.replace(ruleset, quantum=value)
    _, site, ordinal, operation = mutant.change
    for entry in expression_sites(ruleset):
        if entry.site == site:
            return _replace(ruleset, entry, _mutated(entry.expression, ordinal, operation))
    return ruleset


def _mutated(expression, ordinal, operation):
    root = copy.deepcopy(expression.node)
    node = list(ast.walk(root))[ordinal]
    kind = operation[0]
    if kind == "op":
        node.ops[operation[1]] = getattr(ast, operation[2])()
    elif kind == "const":
        node.value = operation[1]
    elif kind == "add":
        root = ast.BinOp(left=root, op=ast.Add(), right=ast.Constant(operation[1]))
    elif kind == "later":
        root = ast.Call(func=ast.Name(id="add_months", ctx=ast.Load()), args=[root, ast.Constant(operation[1])],
                        keywords=[])
    root = ast.fix_missing_locations(ast.Expression(root)).body
    text = _formula_text(root)
    # Still a formula of the language: checked as the compiler checks one.
    known = set(expression.names) | {"True", "False", "None"}
    _, problems = parse_expression(text, known_names=known, known_functions=set(FUNCTION_NAMES))
    if problems:
        raise ValueError(f"mutant is not a valid formula: {problems[0].message}")
    functions = expression.functions | ({"add_months"} if kind == "later" else set())
    return dataclasses.replace(expression, node=root, text=text, functions=frozenset(functions))


class _Written(Decimal):
    """A decimal that :func:`ast.unparse` writes as a number of the language (0.01), not a call."""

    def __repr__(self) -> str:
        return str(self)


def _formula_text(root) -> str:
    """The text of a mutated formula, as an analyst would write it."""
    shown = copy.deepcopy(root)
    for node in ast.walk(shown):
        if isinstance(node, ast.Constant) and isinstance(node.value, Decimal):
            node.value = _Written(node.value)
    return ast.unparse(shown)


def _replace(ruleset: Ruleset, entry, expression) -> Ruleset:
    if entry.kind == "taille":
        return dataclasses.replace(ruleset, taille=dataclasses.replace(ruleset.taille, basis=expression))
    if entry.kind in ("line", "definition"):
        old = next(item for item in ruleset.order if getattr(item, "name", None) == entry.item)
        new = dataclasses.replace(old, **{entry.field: expression})
        order = tuple(new if item is old else item for item in ruleset.order)
        if isinstance(old, Definition):
            return dataclasses.replace(ruleset, order=order, definitions={**ruleset.definitions, old.name: new})
        lines = tuple(new if line is old else line for line in ruleset.lines)
        return dataclasses.replace(ruleset, order=order, lines=lines)
    if entry.kind == "obligation":
        obligations = tuple(dataclasses.replace(o, **{entry.field: expression}) if o.id == entry.item else o
                            for o in ruleset.obligations)
        return dataclasses.replace(ruleset, obligations=obligations)
    rules = []
    for rule in ruleset.payments:
        if rule.id == entry.item:
            if entry.field == "when":
                rule = dataclasses.replace(rule, when=expression)
            else:
                index, field = int(entry.field.split("[")[1].split("]")[0]), entry.field.rsplit(".", 1)[1]
                installments = list(rule.installments)
                installments[index] = dataclasses.replace(installments[index], **{field: expression})
                rule = dataclasses.replace(rule, installments=tuple(installments))
        rules.append(rule)
    return dataclasses.replace(ruleset, payments=tuple(rules))


# -- running the cases against the mutants --------------------------------------------------

def mutation_analysis(cases, library, targets, *, accepted=(), prune=True, baseline=None):
    """Mutate each target ruleset and run the cases against every mutant.

    ``cases`` are :class:`cases.Case`; ``targets`` the ruleset names (shipped ids or
    paths) to mutate; ``accepted`` (owner, mutant description, reason) triples an
    analyst argued cannot be killed. Returns ``(baseline outcomes, reports)``: when a
    case fails without any mutant, the reports are empty (fix the cases first).
    ``prune`` False runs every case on every mutant (slower; the same result);
    ``baseline`` the ``(outcomes, recorder)`` of :func:`coverage.run_with_coverage` on
    the same cases, when the caller already has it.
    """
    outcomes, recorder = baseline or run_with_coverage(cases, library)
    if not all(outcome.passed for outcome in outcomes):
        return outcomes, []
    touched = {(case.file, case.line): recorder.touched.get((case.file, case.line), set()) for case in cases}
    files = {key: {k[0].file for k in keys} for key, keys in touched.items()}
    # Cheap first: the fast path, then the reference evaluator, then calendars.
    ordered = sorted(cases, key=lambda c: (0 if c.amounts_only else 1 if c.schedule is None else 2))
    accepted_by = {(owner, description): reason for owner, description, reason in accepted}
    reports = []
    shipped = {document.digest: key for key, document in library.shipped_documents().items()}
    for name in targets:
        started = time.perf_counter()
        # A shipped text named by its path is that text: its sites carry the shipped name.
        name = shipped.get(library.document(name).digest, name)
        full = library.get(name)
        report = MutationReport(full.id, full.source)
        document = library.document(name)
        for mutant in mutants_of(full) + document_mutants(document):
            run_library = library
            if mutant.change[0] == "document":
                run_library = _substituted(library, document, mutant)
                if not _valid(run_library, name):
                    report.invalid.append(mutant)
                    continue
            report.mutants += 1
            if mutant.equivalent:
                report.equivalents.append((mutant, mutant.equivalent))
                continue
            killed = _run_mutant(mutant, ordered, run_library, touched, files, prune, report)
            reason = accepted_by.get((mutant.owner, mutant.description))
            if killed:
                report.killed += 1
            elif reason:
                report.accepted.append((mutant, reason))
            else:
                if not any(_sees(mutant, (c.file, c.line), c, touched, files) for c in cases):
                    mutant = dataclasses.replace(mutant, hint=_unseen_hint(mutant))
                report.survivors.append(mutant)
        report.seconds = time.perf_counter() - started
        reports.append(report)
    return outcomes, reports


def _unseen_hint(mutant: Mutant) -> Message:
    if mutant.change[0] == "parameter":
        taille = mutant.change[2]
        where = msg(" of taille {taille}", taille=taille) if taille is not None else ""
        return msg("no case{where} reads this value: {hint}", where=where, hint=mutant.hint)
    return msg("no case evaluates “{owner}” at this place: {hint}", owner=mutant.owner, hint=mutant.hint)


def _sees(mutant: Mutant, key, case, touched, files) -> bool:
    if mutant.everywhere:
        return True
    if mutant.file not in files[key] and not (case.schedule is not None and mutant.in_payments):
        return False
    if mutant.touch is None:
        return True
    return mutant.touch in touched[key] or (case.schedule is not None and mutant.in_payments)


def _run_mutant(mutant, cases, library, touched, files, prune, report) -> bool:
    mutated: dict = {}
    fast: dict = {}

    def transform(ruleset):
        if mutant.change[0] == "document":
            return ruleset  # the library itself holds the mutant
        found = mutated.get(id(ruleset))
        if found is None or found[0] is not ruleset:
            found = (ruleset, apply_mutant(mutant, ruleset))
            mutated[id(ruleset)] = found
        return found[1]

    def fast_of(ruleset):
        found = fast.get(id(ruleset))
        if found is None or found[0] is not ruleset:
            found = (ruleset, FastRuleset(ruleset))
            fast[id(ruleset)] = found
        return found[1]

    for case in cases:
        if prune and not _sees(mutant, (case.file, case.line), case, touched, files):
            continue
        report.runs += 1
        try:
            outcome = run_case(case, library, transform=transform, fast=fast_of)
        except AciError:  # the mutant breaks the evaluation: the case sees it
            return True
        if not outcome.passed:
            return True
    return False

