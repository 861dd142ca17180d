"""validate -> compile: from a ruleset document to a :class:`~.ruleset.Ruleset`.

``validate_ruleset`` runs the JSON Schema; ``compile_ruleset`` then parses every
expression once, checks the names each may read, orders definitions and lines
so that each comes after what it reads (a cycle is a diagnostic), checks the
size table and the dates, and precomputes each line's confidence per taille.
Both report every problem they find, each at its line and column.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from .diagnostic import Diagnostic, InputError, suggest
from .expressions import Expression, parse_expression
from .helpers import LINE_FIELDS, LINE_FUNCTIONS, MISSION_FUNCTIONS
from .names import BASIS_NAMES, FUNCTION_NAMES, MISSION_NAMES, PROFILE_NAMES  # the one table of readable names
from .ruleset import (
    AnnualMaximum,
    Definition,
    FundingLine,
    Installment,
    Mission,
    Obligation,
    Parameter,
    PaymentRule,
    Ruleset,
    SizeClass,
    Taille,
    weakest,
)
from .schema import schema_diagnostics
from .yaml_loader import Document

__all__ = [
    "PROFILE_NAMES",
    "MISSION_NAMES",
    "BASIS_NAMES",
    "FUNCTION_NAMES",
    "load_ruleset",
    "validate_ruleset",
    "compile_ruleset",
]

_CONSTANTS = ("True", "False", "None")
_FUNCTIONS = frozenset(FUNCTION_NAMES)


def load_ruleset(filename, day: datetime.date | None = None) -> Ruleset:
    """Read, validate and compile one ruleset file, with the texts it amends.

    ``day`` None applies every provision; otherwise those in force on ``day``.
    Raises InputError with every problem.
    """
    from .library import Library  # the library resolves amendment chains

    return Library().get(str(filename), day)


def validate_ruleset(document: Document) -> list[Diagnostic]:
    """Every problem of a ruleset document against ``schemas/ruleset.schema.json``."""
    return schema_diagnostics(document, "ruleset")


def _date(value):
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def _value(value):
    """A parameter's value: a date from its text, else the number or boolean as read."""
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    return value


def _annual_maximum(spec) -> AnnualMaximum | None:
    if spec is None:
        return None
    return AnnualMaximum(spec["label"], tuple(spec["volets"]), spec["reference"], spec.get("note"))


class _Compiler:
    def __init__(self, document: Document, history=None, provisions=()):
        self.doc = document
        self.data = document.data
        self.problems: list[Diagnostic] = []
        self.history = history or ((document.data["id"], _date(document.data["dates"]["in_force"])),)
        self.provisions = tuple(provisions)

    def where(self, path) -> str:
        """How a message names a node: its path in the file it was written in."""
        return self.doc.describe(path)

    def error(self, code, message, path, *, key=False):
        self.problems.append(self.doc.diagnostic(code, message, path, key=key))

    # -- pieces ------------------------------------------------------------------

    def parameters(self) -> dict:
        result = {}
        for name, spec in (self.data.get("parameters") or {}).items():
            path = ("parameters", name)
            by_taille = None
            if "by_taille" in spec:
                by_taille = {int(k): _value(v) for k, v in spec["by_taille"].items()}
            confidence = spec["confidence"]
            if isinstance(confidence, dict):
                confidence = {int(k): v for k, v in confidence.items()}
                if by_taille is not None:
                    for taille in confidence:
                        if taille not in by_taille:
                            self.error("E303", f"parameter '{name}' gives a confidence for taille "
                                       f"{taille} but no value", path + ("confidence", str(taille)), key=True)
            self.check_cents(name, spec, path)
            result[name] = Parameter(
                name=name, label=spec.get("label"), unit=spec.get("unit"),
                value=_value(spec.get("value")), by_taille=by_taille,
                reference=spec["reference"], confidence=confidence, note=spec.get("note"), path=path,
            )
        return result

    def check_cents(self, name, spec, path):
        """Euro amounts are exact to the cent (the ruleset's rounding quantum)."""
        if spec.get("unit") not in (None, "EUR"):
            return
        quantum = Decimal((self.data.get("rounding") or {}).get("quantum", "0.01"))
        cells = [((("value",)), spec.get("value"))] if "value" in spec else []
        cells += [(("by_taille", key), value) for key, value in (spec.get("by_taille") or {}).items()]
        for where, value in cells:
            if isinstance(value, Decimal) and value != value.quantize(quantum):
                self.error("E204", f"parameter '{name}': {value} is not an amount in whole cents "
                           f"(the ruleset rounds to {quantum})", path + where)

    def taille(self, parameters: dict) -> Taille | None:
        spec = self.data.get("taille")
        if spec is None:
            return None
        path = ("taille",)
        classes = []
        for index, item in enumerate(spec["classes"]):
            item_path = path + ("classes", index)
            number = item["taille"]
            low, high = item.get("min"), item.get("max")
            if low is not None and high is not None and high < low:
                self.error("E301", f"taille {number}: max {high} is below min {low}", item_path)
            classes.append((index, SizeClass(number, low if low is not None else 0, high,
                                             item.get("confidence", spec["confidence"]), item.get("note"))))
        classes.sort(key=lambda pair: pair[1].low)
        for (index_a, a), (index_b, b) in zip(classes, classes[1:]):
            where = path + ("classes", index_b)
            if a.high is None:
                self.error("E301", f"taille {a.taille} has no max, so taille {b.taille} can never apply",
                           path + ("classes", index_a))
            elif b.low <= a.high:
                self.error("E301", f"tailles {a.taille} and {b.taille} overlap: {b.low} is in both", where)
            elif b.low > a.high + 1:
                self.error("E301", f"gap between taille {a.taille} and {b.taille}: "
                           f"{a.high + 1} to {b.low - 1} are in no class", where)
        if classes and classes[-1][1].high is not None:
            last_index, last = classes[-1]
            self.error("E301", f"taille {last.taille} has a max: values above {last.high} are in no class",
                       path + ("classes", last_index))
        scalars = {name for name, parameter in parameters.items() if parameter.by_taille is None}
        basis = self.expression(spec["basis"], path + ("basis",), set(BASIS_NAMES) | scalars)
        if basis is None:
            return None
        for function in sorted(basis.functions & set(LINE_FUNCTIONS)):
            # The taille comes first: every line's amount may depend on it.
            self.error("E103", f"{function}() reads the lines' amounts, which are computed after the "
                       f"taille: {self.where(path + ('basis',))} cannot call it", path + ("basis",))
            return None
        return Taille(basis, tuple(c for _, c in classes), spec["reference"], spec["confidence"])

    def missions(self) -> dict:
        result = {}
        for index, spec in enumerate(self.data.get("missions") or []):
            path = ("missions", index)
            if spec["id"] in result:
                self.error("E206", f"mission '{spec['id']}' is defined twice", path + ("id",))
                continue
            result[spec["id"]] = Mission(spec["id"], spec["label"], spec["kind"], spec.get("reference"))
        return result

    def expression(self, value, path, known_names, missions=None) -> Expression | None:
        if not isinstance(known_names, frozenset):  # the whole ruleset's names arrive built once
            known_names = frozenset(known_names) | frozenset(_CONSTANTS)
        expression, problems = parse_expression(value, known_names=known_names, known_functions=_FUNCTIONS)
        text = str(value)
        for problem in problems:
            # The problem's place in the stripped text, as an index into the scalar's value.
            lead = len(text) - len(text.lstrip())
            lines = text.strip().split("\n")
            index = lead + sum(len(l) + 1 for l in lines[:problem.line_offset]) + problem.column
            diagnostic = self.doc.diagnostic(
                problem.code, f"{problem.message} in {self.where(path)}", path, index=index)
            self.problems.append(dataclasses.replace(diagnostic, subject=problem.name))
        if expression is not None:
            self.check_line_calls(expression, path)
        if expression is not None and missions is not None:
            for function, argument, column in expression.literal_arguments:
                if function in MISSION_FUNCTIONS and argument not in missions:
                    guess = suggest(str(argument), missions)
                    hint = f" (did you mean '{guess}'?)" if guess else ""
                    lead = len(text) - len(text.lstrip())
                    self.problems.append(self.doc.diagnostic(
                        "E208", f"unknown mission '{argument}' in {self.where(path)}{hint}", path,
                        index=lead + column))
        return expression

    def check_line_calls(self, expression, path):
        for function, arguments, _ in expression.calls:
            if function not in LINE_FUNCTIONS:
                continue
            if not arguments or arguments[0] not in LINE_FIELDS or not all(
                    isinstance(a, str) for a in arguments):
                self.error("E103", f"{function}() takes a field ({', '.join(repr(f) for f in LINE_FIELDS)}) "
                           f"then the values to sum, all written as texts, in {self.where(path)}", path)

    def check_line_sums(self, definitions, lines):
        """sum_lines('volet', 'fixee') would silently sum nothing: each value must select a line."""
        fields: dict = {}
        formulas = [(d.path, d.expression) for d in definitions.values()]
        formulas += [(line.path + (field,), getattr(line, field)) for line in lines
                     for field in ("when", "amount", "maximum", "runs_from")]
        for path, expression in formulas:
            for function, arguments, _ in (expression.calls if expression is not None else ()):
                if function not in LINE_FUNCTIONS or not arguments or arguments[0] not in LINE_FIELDS:
                    continue
                field, values = arguments[0], arguments[1:]
                if field not in fields:
                    fields[field] = {getattr(line, field) for line in lines}
                present = fields[field]
                for value in values:
                    if value not in present:
                        guess = suggest(str(value), {str(v) for v in present if v is not None})
                        hint = f" (did you mean '{guess}'?)" if guess else ""
                        self.error("E102", f"{function}(): no line has {field} '{value}'{hint} "
                                   f"in {self.where(path)}", path)

    def check_mission(self, mission, missions, path):
        if mission is not None and mission not in missions:
            guess = suggest(mission, missions)
            hint = f" (did you mean '{guess}'?)" if guess else f"; missions: {', '.join(missions)}"
            self.error("E208", f"unknown mission '{mission}'{hint}", path)

    # -- the whole -----------------------------------------------------------------

    def compile(self) -> Ruleset:
        data = self.data
        parameters = self.parameters()
        missions = self.missions()
        taille = self.taille(parameters)
        tailles = {c["taille"] for c in (data.get("taille") or {}).get("classes", [])}
        for parameter in parameters.values():
            if parameter.by_taille is None:
                continue
            for number in sorted(tailles - set(parameter.by_taille)):
                self.error("E303", f"parameter '{parameter.name}' has no value for taille {number}",
                           parameter.path + ("by_taille",))
            for number in sorted(set(parameter.by_taille) - tailles):
                self.error("E303", f"parameter '{parameter.name}' gives taille {number}, "
                           "which the taille table does not define",
                           parameter.path + ("by_taille", str(number)), key=True)

        owners: dict[str, str] = {}
        for name in PROFILE_NAMES + MISSION_NAMES:
            owners[name] = "a name the engine provides"
        for name in FUNCTION_NAMES:
            owners[name] = "a function"

        def claim(name, what, path):
            if name in owners:
                self.error("E207", f"'{name}' is already {owners[name]}: give this {what} another name",
                           path, key=what in ("parameter", "definition"))
                return False
            owners[name] = f"the name of a {what}"
            return True

        for name, parameter in parameters.items():
            claim(name, "parameter", parameter.path)
        definition_specs = data.get("definitions") or {}
        for name in definition_specs:
            claim(name, "definition", ("definitions", name))
        line_specs = data.get("lines") or []
        line_ids = set()
        for index, spec in enumerate(line_specs):
            if spec["id"] in line_ids:
                self.error("E206", f"line '{spec['id']}' is defined twice", ("lines", index, "id"))
                continue
            line_ids.add(spec["id"])
            claim(spec["id"], "line", ("lines", index, "id"))

        computed = set(definition_specs) | line_ids
        # Built once: a copy per formula made compiling quadratic in the ruleset's size.
        common = frozenset(PROFILE_NAMES) | frozenset(parameters) | computed | frozenset(_CONSTANTS)
        with_mission = common | frozenset(MISSION_NAMES)

        definitions = {}
        for name, spec in definition_specs.items():
            path = ("definitions", name)
            if isinstance(spec, dict):
                mission, label, expr_path = spec.get("mission"), spec.get("label"), path + ("expression",)
                value = spec["expression"]
            else:
                mission, label, expr_path, value = None, None, path, spec
            self.check_mission(mission, missions, path + ("mission",))
            names = with_mission if mission else common
            expression = self.expression(value, expr_path, names, missions)
            if expression is not None:
                definitions[name] = Definition(name, expression, mission, label, path)

        lines = []
        seen = set()
        for index, spec in enumerate(line_specs):
            path = ("lines", index)
            if spec["id"] in seen:
                continue
            seen.add(spec["id"])
            mission = spec.get("mission")
            self.check_mission(mission, missions, path + ("mission",))
            names = with_mission if mission else common
            when = self.expression(spec["when"], path + ("when",), names, missions) if "when" in spec else None
            amount = self.expression(spec["amount"], path + ("amount",), names, missions)
            maximum = (self.expression(spec["maximum"], path + ("maximum",), names, missions)
                       if "maximum" in spec else None)
            runs_from = (self.expression(spec["runs_from"], path + ("runs_from",), names, missions)
                         if "runs_from" in spec else None)
            lines.append(FundingLine(
                id=spec["id"], label=spec["label"], mission=mission, volet=spec["volet"], when=when,
                amount=amount, maximum=maximum, reference=spec["reference"],
                confidence=spec.get("confidence"), note=spec.get("note"), path=path, runs_from=runs_from))

        obligations = []
        obligation_ids = set()
        for index, spec in enumerate(data.get("obligations") or []):
            path = ("obligations", index)
            if spec["id"] in obligation_ids:
                self.error("E206", f"obligation '{spec['id']}' is defined twice", path + ("id",))
                continue
            obligation_ids.add(spec["id"])
            mission = spec.get("mission")
            self.check_mission(mission, missions, path + ("mission",))
            names = with_mission if mission else common
            obligations.append(Obligation(
                id=spec["id"], label=spec["label"], mission=mission,
                when=self.expression(spec["when"], path + ("when",), names, missions) if "when" in spec else None,
                deadline=self.expression(spec["deadline"], path + ("deadline",), names, missions),
                done=self.expression(spec["done"], path + ("done",), names, missions),
                reference=spec["reference"], confidence=spec.get("confidence"), path=path))

        payments = []
        payment_ids = set()
        payment_names = with_mission
        for index, spec in enumerate(data.get("payments") or []):
            path = ("payments", index)
            if spec["id"] in payment_ids:
                self.error("E206", f"payment rule '{spec['id']}' is defined twice", path + ("id",))
                continue
            payment_ids.add(spec["id"])
            installments = []
            for number, item in enumerate(spec["installments"]):
                item_path = path + ("installments", number)
                installments.append(Installment(
                    item["label"],
                    self.expression(item["share"], item_path + ("share",), payment_names, missions),
                    self.expression(item["due"], item_path + ("due",), payment_names, missions)))
            payments.append(PaymentRule(
                id=spec["id"], label=spec["label"], volets=tuple(spec["volets"]),
                when=(self.expression(spec["when"], path + ("when",), payment_names, missions)
                      if "when" in spec else None),
                installments=tuple(installments), reference=spec["reference"],
                confidence=spec.get("confidence"), path=path))

        if payments:
            paid = {volet for rule in payments for volet in rule.volets}
            for line in lines:
                if line.volet not in paid:
                    self.error("E309", f"no payment rule pays volet '{line.volet}' of line '{line.id}': "
                               "add it to the volets of a rule under payments", line.path + ("volet",))

        self.check_line_sums(definitions, lines)

        dates = data["dates"]
        signed, published = _date(dates.get("signed")), _date(dates.get("published"))
        in_force, until = _date(dates["in_force"]), _date(dates.get("until"))
        if until is not None and until < in_force:
            self.error("E302", f"dates.until {until} precedes dates.in_force {in_force}", ("dates", "until"))
        if signed is not None and in_force < signed:
            self.error("E302", f"dates.in_force {in_force} precedes dates.signed {signed}", ("dates", "in_force"))
        if signed is not None and published is not None and published < signed:
            self.error("E302", f"dates.published {published} precedes dates.signed {signed}",
                       ("dates", "published"))

        if self.problems:
            raise InputError(self.problems)

        items = {**definitions, **{line.id: line for line in lines}}
        reads = {name: self._reads(item, lines) for name, item in items.items()}
        order = self.order(items, reads)
        if self.problems:
            raise InputError(self.problems)

        confidence, reads_taille = self.provenance(order, reads, parameters, tailles)
        indicators = tuple(
            {k: v for k, v in item.items() if k != "in_force"} for item in data.get("indicators") or [])
        rounding = data.get("rounding") or {}
        contract = data.get("contract") or {}
        return Ruleset(
            id=data["id"], title=data["title"], kind=data["kind"], status=data["status"],
            reference=data["reference"], signed=signed, published=published, in_force=in_force,
            until=until, quantum=Decimal(rounding.get("quantum", "0.01")),
            contract_years=contract.get("duration_years"), contract_reference=contract.get("reference"),
            taille=taille, parameters=parameters, missions=missions, definitions=definitions,
            lines=tuple(lines), obligations=tuple(obligations), order=tuple(order),
            confidence=confidence, reads_taille=frozenset(reads_taille), source=self.doc.file,
            chain=tuple(name for name, _ in self.history), document=self.doc,
            history=self.history, provisions=self.provisions, indicators=indicators,
            reads={name: frozenset(names) for name, names in reads.items()},
            payments=tuple(payments), annual_maximum=_annual_maximum(data.get("annual_maximum")),
        )

    @staticmethod
    def _reads(item, lines) -> set:
        """The names an item reads, with the lines its sum_lines() / sum_maxima() select."""
        expressions = [item.expression] if isinstance(item, Definition) else [
            item.when, item.amount, item.maximum, item.runs_from]
        names = set()
        for expression in expressions:
            if expression is not None:
                names |= _Compiler._reads_of(expression, lines)
        return names

    def order(self, items: dict, reads: dict) -> list:
        """Definitions and lines, each after the ones it reads (depth-first, iterative)."""
        order, state = [], {}  # state: 1 visiting, 2 done
        known = set(items)
        for root in items:
            if state.get(root):
                continue
            stack = [(root, iter(sorted(reads[root] & known)))]
            state[root] = 1
            trail = [root]
            while stack:
                name, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    trail.pop()
                    state[name] = 2
                    order.append(items[name])
                    continue
                if state.get(child) == 1:
                    cycle = trail[trail.index(child):] + [child]
                    what = "reads itself" if len(cycle) == 2 else "cycle: " + " -> ".join(cycle)
                    self.error("E105", f"'{child}' {what}", self._cycle_place(cycle, items))
                    return order
                if not state.get(child):
                    state[child] = 1
                    trail.append(child)
                    stack.append((child, iter(sorted(reads[child] & known))))
        return order

    def _cycle_place(self, cycle, items) -> tuple:
        """Where to report a cycle: the formula that closes it, preferably one written in the
        text being compiled (an amendment that made the cycle, not the accord it amends)."""
        lines = [item for item in items.values() if isinstance(item, FundingLine)]
        places = []
        for name, following in zip(cycle, cycle[1:]):
            item = items[name]
            if isinstance(item, Definition):
                places.append(item.path)
                continue
            for field in ("when", "amount", "maximum", "runs_from"):
                expression = getattr(item, field)
                if expression is not None and following in self._reads_of(expression, lines):
                    places.append(item.path + (field,))
                    break
            else:
                places.append(item.path)
        own = [path for path in places if self.doc.file_of(path) == self.doc.file]
        return (own or places)[0]

    @staticmethod
    def _reads_of(expression, lines) -> set:
        names = set(expression.names)
        for function, arguments, _ in expression.calls:
            if function in LINE_FUNCTIONS and arguments:
                field, values = arguments[0], arguments[1:]
                names |= {line.id for line in lines if getattr(line, field, None) in values}
        return names

    def provenance(self, order, all_reads, parameters, tailles):
        confidence, reads_taille = {}, set()
        for item in order:
            reads = all_reads[item.name]
            per_taille = {}
            for number in sorted(tailles) or [None]:
                tags = [getattr(item, "confidence", None)]
                tags += [parameters[n].confidence_for(number) for n in reads if n in parameters]
                tags += [confidence[n][number] for n in reads if n in confidence]
                per_taille[number] = weakest(*tags)
            confidence[item.name] = per_taille
            if ("taille" in reads or any(n in reads_taille for n in reads)
                    or any(parameters[n].by_taille is not None for n in reads if n in parameters)):
                reads_taille.add(item.name)
        return confidence, reads_taille


def compile_ruleset(document: Document, *, history=None, provisions=()) -> Ruleset:
    """A :class:`Ruleset` from a full document that passed :func:`validate_ruleset`.

    ``history`` lists (id, in-force date) from the first accord to this text, for
    a consolidated document; ``provisions`` the provisions of the chain that have
    their own in-force date. Raises :class:`InputError` with every problem found.
    """
    if "changes" in document.data:
        raise InputError([document.diagnostic(
            "E306", "an amending ruleset is compiled with the text it amends (use the library)",
            ("changes",))])
    return _Compiler(document, history, provisions).compile()
