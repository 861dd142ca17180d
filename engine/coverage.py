"""What the test cases exercise of the rulesets: lines, parts of conditions, parameter cells.

:class:`CoverageRecorder` listens to the evaluations the cases make (see
:mod:`recording`) and, for each, walks the formulas again over the values the
evaluation bound, with an evaluator that notes what every node gave. It records,
by the site each piece was written at (:mod:`sites`):

* each funding line: evaluations where it applied, and where it did not;
* each part of each condition (operands of ``and`` / ``or`` / ``not``, each
  comparison, each ``if`` test): evaluations where it was true, and false;
* each parameter cell (a value for one taille, or a single value): reads;
* each obligation: the statuses seen; each payment rule: the installments it gave;
* each provision with its own in-force date: evaluations before it and from it.

It also keeps, per case, every node and cell the case touched, so that a mutation
of a node no case evaluates is known to survive without running it
(:mod:`mutate`). :meth:`CoverageRecorder.report` gives one JSON-able document;
the CLI renders it.
"""

from __future__ import annotations

import ast
import dataclasses

import simpleeval

from .cases import run_case
from .evaluate import Result, mission_names
from .expressions import OPERATORS, ExpressionFailure, evaluate_expression
from .helpers import PURE_FUNCTIONS
from .profile import profile_functions
from .ruleset import Definition
from .recording import observing
from .schedule import Schedule
from .sites import condition_parts, expression_sites, node_position, node_text, ordinals, site_of

__all__ = ["CoverageRecorder", "coverage_gaps", "complete", "run_with_coverage"]

_ZERO = 0


class _Recorder(simpleeval.SimpleEval):
    """simpleeval that notes the truth of every node it computes and each comparison link."""

    def __init__(self, names, functions):
        super().__init__(operators=OPERATORS, functions=functions, names=names)
        self.truth: dict = {}  # id(node) -> {True, False}
        self.links: dict = {}  # (id(node), link) -> {True, False}
        self.visited: set = set()  # id(node)
        self.read: set = set()  # names read

    def _eval(self, node):
        result = super()._eval(node)
        self.visited.add(id(node))
        if type(node) is ast.Name:
            self.read.add(node.id)
        self.truth.setdefault(id(node), set()).add(bool(result))
        return result

    def _eval_compare(self, node):
        right = self._eval(node.left)
        result = True
        for link, (operation, comparator) in enumerate(zip(node.ops, node.comparators)):
            if not result:
                break
            left, right = right, self._eval(comparator)
            result = self.operators[type(operation)](left, right)
            self.links.setdefault((id(node), link), set()).add(bool(result))
        return result


@dataclasses.dataclass
class _Indexed:
    """One compiled ruleset, its formulas by (kind, item, field), and their parts."""

    ruleset: object
    formulas: dict  # (kind, item, field) -> ExpressionSite
    ordinals: dict  # id(ExpressionSite) -> {id(node): ordinal}
    parts: dict  # id(ExpressionSite) -> [(node, link, key)]


class CoverageRecorder:
    """Listens to evaluations (pass it to :func:`recording.observing`); see the module."""

    def __init__(self):
        self._indexed: dict = {}
        self.lines: dict = {}
        self.conditions: dict = {}
        self.cells: dict = {}
        self.obligations: dict = {}
        self.payments: dict = {}
        self.provisions: dict = {}
        self.files: list = []
        self.touched: dict = {}  # case key -> set of (Site, ordinal) and (Site, taille)
        self.evaluations = 0
        self._case = None
        self._results: list = []

    # -- listening ------------------------------------------------------------------

    def start_case(self, key) -> None:
        """Attribute what follows to the case ``key``."""
        self._case = key
        self._results = []
        self.touched.setdefault(key, set())

    def __call__(self, event) -> None:
        if isinstance(event, Result):
            self._results.append(event)
            self._result(event)
        elif isinstance(event, Schedule):
            self._schedule(event)

    def _touch(self, key) -> None:
        if self._case is not None:
            self.touched[self._case].add(key)

    # -- what a ruleset holds -------------------------------------------------------

    def _index(self, ruleset) -> _Indexed:
        known = self._indexed.get(id(ruleset))
        if known is not None and known.ruleset is ruleset:
            return known
        formulas, ordinal_maps, parts = {}, {}, {}
        for entry in expression_sites(ruleset):
            formulas[(entry.kind, entry.item, entry.field)] = entry
            ordinal_maps[id(entry)] = ordinals(entry.expression)
            parts[id(entry)] = []
            for node, link in condition_parts(entry.expression):
                key = (entry.site, ordinal_maps[id(entry)][id(node)], link)
                parts[id(entry)].append((node, link, key))
                if key not in self.conditions:
                    file, line, column = node_position(ruleset, entry.where, entry.expression, node)
                    self.conditions[key] = {"file": file, "line": line, "column": column, "owner": entry.owner,
                                            "text": node_text(entry.expression, node, link), "true": 0,
                                            "false": 0}
                    self._file(file)
        positions = ruleset.positions
        for line in ruleset.lines:
            site = site_of(ruleset, line.path)
            if site not in self.lines:
                self.lines[site] = {"file": site.file, "line": positions.position(line.path)[0], "id": line.id,
                                    "applied": 0, "not_applied": 0}
                self._file(site.file)
        tailles = sorted({c.taille for c in ruleset.taille.classes}) if ruleset.taille else [None]
        read = set()
        for entry in expression_sites(ruleset):
            read |= entry.expression.names
        for name, parameter in ruleset.parameters.items():
            site = site_of(ruleset, parameter.path)
            for taille in (tailles if parameter.by_taille is not None else [None]):
                key = (site, taille)
                if key not in self.cells:
                    path = parameter.path + (("by_taille", str(taille)) if taille is not None else ())
                    self.cells[key] = {"file": site.file, "line": positions.position(path)[0], "name": name,
                                       "taille": taille, "reads": 0, "informative": name not in read}
                    self._file(site.file)
        for obligation in ruleset.obligations:
            site = site_of(ruleset, obligation.path)
            self.obligations.setdefault(site, {"file": site.file, "line": positions.position(obligation.path)[0],
                                               "id": obligation.id, "statuses": {}})
        for rule in ruleset.payments:
            site = site_of(ruleset, rule.path)
            self.payments.setdefault(site, {"file": site.file, "line": positions.position(rule.path)[0],
                                            "id": rule.id, "installments": 0})
        for provision in ruleset.provisions:
            self.provisions.setdefault((provision.ruleset, provision.description, provision.day),
                                       {"ruleset": provision.ruleset, "description": provision.description,
                                        "day": provision.day.isoformat(), "before": 0, "in_force": 0})
        indexed = _Indexed(ruleset, formulas, ordinal_maps, parts)
        self._indexed[id(ruleset)] = indexed
        return indexed

    def _file(self, file) -> None:
        if file not in self.files:
            self.files.append(file)

    # -- one evaluation -------------------------------------------------------------

    def _evaluator(self, result: Result, names: dict) -> _Recorder:
        ruleset = result.ruleset
        year = result.contract_year
        maxima = {line.id: line.maximum for line in result.lines}

        def sum_of(table, field, *values):
            return sum((table.get(line.id, _ZERO) for line in ruleset.lines if getattr(line, field) in values),
                       _ZERO)

        functions = dict(PURE_FUNCTIONS)
        functions.update(profile_functions(result.profile, year.key if year else None))
        functions["sum_lines"] = lambda field, *values: sum_of(names, field, *values)
        functions["sum_maxima"] = lambda field, *values: sum_of(maxima, field, *values)
        return _Recorder(names, functions)

    def _run(self, indexed: _Indexed, evaluator: _Recorder, key, *, taille=None):
        """Compute one formula again, noting its parts; its value (None when it fails)."""
        entry = indexed.formulas.get(key)
        if entry is None:
            return None
        evaluator.visited = set()
        try:
            value = evaluate_expression(evaluator, entry.expression)
        except ExpressionFailure:  # the evaluation itself computed it: a part alone may not be
            value = None
        ordinal_map = indexed.ordinals[id(entry)]
        for node_id in evaluator.visited:
            self._touch((entry.site, ordinal_map[node_id]))
        for node, link, part in indexed.parts[id(entry)]:
            seen = evaluator.links.get((id(node), link)) if link is not None else evaluator.truth.get(id(node))
            if id(node) in evaluator.visited:
                for truth in seen or ():
                    self.conditions[part]["true" if truth else "false"] += 1
        evaluator.truth.clear()
        evaluator.links.clear()
        return value

    def _result(self, result: Result) -> None:
        ruleset = result.ruleset
        indexed = self._index(ruleset)
        self.evaluations += 1
        names = dict(result.environment)
        evaluator = self._evaluator(result, names)
        year = result.contract_year
        if ruleset.taille is not None:
            self._run(indexed, evaluator, ("taille", None, "basis"))
        applied = {line.id for line in result.lines}
        for item in ruleset.order:
            if item.mission is not None:
                names.update(mission_names(result.profile, item.mission, year))
            if isinstance(item, Definition):
                self._run(indexed, evaluator, ("definition", item.name, "expression"))
                continue
            self._run(indexed, evaluator, ("line", item.id, "when"))
            site = site_of(ruleset, item.path)
            self.lines[site]["applied" if item.id in applied else "not_applied"] += 1
            if item.id in applied:
                for field in ("amount", "maximum", "runs_from"):
                    self._run(indexed, evaluator, ("line", item.id, field))
        statuses = {o.id: o.status for o in result.obligations}
        for obligation in ruleset.obligations:
            if obligation.mission is not None:
                names.update(mission_names(result.profile, obligation.mission, year))
            holds = self._run(indexed, evaluator, ("obligation", obligation.id, "when"))
            if obligation.when is None or holds:
                self._run(indexed, evaluator, ("obligation", obligation.id, "deadline"))
                self._run(indexed, evaluator, ("obligation", obligation.id, "done"))
            if obligation.id in statuses:
                seen = self.obligations[site_of(ruleset, obligation.path)]["statuses"]
                seen[statuses[obligation.id]] = seen.get(statuses[obligation.id], 0) + 1
        self._cells(ruleset, evaluator.read, result.size)
        for provision in ruleset.provisions:
            entry = self.provisions[(provision.ruleset, provision.description, provision.day)]
            entry["in_force" if result.date >= provision.day else "before"] += 1

    def _cells(self, ruleset, read, size) -> None:
        for name in read:
            parameter = ruleset.parameters.get(name)
            if parameter is None:
                continue
            key = (site_of(ruleset, parameter.path), size if parameter.by_taille is not None else None)
            if key in self.cells:
                self.cells[key]["reads"] += 1
                self._touch(key)

    def _schedule(self, schedule: Schedule) -> None:
        """The payment rules a calendar used, computed again on the evaluation each line was paid from."""
        done = set()
        for payment in schedule.payments:
            if (payment.contract_year, payment.line) in done:
                continue
            done.add((payment.contract_year, payment.line))
            found = next(((r, line) for r in self._results
                          if (r.contract_year.number if r.contract_year else None) == payment.contract_year
                          for line in r.lines if line.id == payment.line), None)
            if found is None:
                continue
            result, line = found
            ruleset = result.ruleset
            indexed = self._index(ruleset)
            names = dict(result.environment)
            if line.mission is not None:
                names.update(mission_names(result.profile, line.mission, result.contract_year))
            evaluator = self._evaluator(result, names)
            for rule in ruleset.payments:
                if line.volet not in rule.volets:
                    continue
                if rule.when is not None and self._run(indexed, evaluator, ("payment", rule.id, "when")) is not True:
                    continue
                for index in range(len(rule.installments)):
                    self._run(indexed, evaluator, ("payment", rule.id, f"installments[{index}].share"))
                    self._run(indexed, evaluator, ("payment", rule.id, f"installments[{index}].due"))
                self.payments[site_of(ruleset, rule.path)]["installments"] += 1
                break
            self._cells(ruleset, evaluator.read, result.size)

    # -- the report -----------------------------------------------------------------

    def report(self) -> dict:
        """The coverage as one JSON-able document, by file, in the order the files were met."""
        files = []
        for file in self.files:
            lines = [dict(v) for v in self.lines.values() if v["file"] == file]
            conditions = [dict(v) for v in self.conditions.values() if v["file"] == file]
            cells = [dict(v) for v in self.cells.values() if v["file"] == file]
            obligations = [dict(v) for v in self.obligations.values() if v["file"] == file]
            payments = [dict(v) for v in self.payments.values() if v["file"] == file]
            for collection in (lines, conditions, cells, obligations, payments):
                collection.sort(key=lambda v: (v["line"] or 0, v.get("column") or 0))
            files.append({
                "file": file, "lines": lines, "conditions": conditions, "parameters": cells,
                "obligations": obligations, "payments": payments,
                "summary": {
                    "lines": [sum(1 for v in lines if v["applied"] and v["not_applied"]), len(lines)],
                    "conditions": [sum(1 for v in conditions if v["true"] and v["false"]), len(conditions)],
                    "parameters": [sum(1 for v in cells if v["reads"] and not v["informative"]),
                                   sum(1 for v in cells if not v["informative"])],
                    "payments": [sum(1 for v in payments if v["installments"]), len(payments)],
                },
            })
        provisions = sorted(self.provisions.values(), key=lambda v: (v["day"], v["ruleset"], v["description"]))
        return {"evaluations": self.evaluations, "files": files, "provisions": provisions,
                "complete": not coverage_gaps({"files": files, "provisions": provisions})}


def complete(report: dict, accepted=()) -> bool:
    """True when every gap of the report is an argued, accepted one."""
    return all(gap.get("accepted") for gap in coverage_gaps(report, accepted))


def coverage_gaps(report: dict, accepted=()) -> list:
    """Every gap of a coverage report: dicts with file, line, kind, subject and what is missing.

    ``kind`` is line (``missing``: applies / does not apply), condition (true /
    false), parameter (read) or provision (before / in_force). A condition part
    that ``accepted`` (in, what, reason) names carries its ``accepted`` reason.
    """
    reasons = {(where, what): reason for where, what, reason in accepted}
    gaps = []
    for entry in report["files"]:
        for line in entry["lines"]:
            missing = [side for side, key in (("applies", "applied"), ("does_not_apply", "not_applied"))
                       if not line[key]]
            if missing:
                gaps.append({"file": entry["file"], "line": line["line"], "kind": "line", "subject": line["id"],
                             "missing": missing})
        for part in entry["conditions"]:
            missing = [side for side in ("true", "false") if not part[side]]
            if missing:
                gaps.append({"file": entry["file"], "line": part["line"], "column": part["column"],
                             "kind": "condition", "subject": part["text"], "owner": part["owner"],
                             "missing": missing, "accepted": reasons.get((part["owner"], part["text"]))})
        for cell in entry["parameters"]:
            if not cell["reads"] and not cell.get("informative"):
                gaps.append({"file": entry["file"], "line": cell["line"], "kind": "parameter",
                             "subject": cell["name"], "taille": cell["taille"], "missing": ["read"]})
    for provision in report["provisions"]:
        missing = [side for side in ("before", "in_force") if not provision[side]]
        if missing:
            gaps.append({"file": None, "line": None, "kind": "provision", "subject": provision["description"],
                         "ruleset": provision["ruleset"], "day": provision["day"], "missing": missing})
    return gaps


def run_with_coverage(cases, library):
    """Run cases (see :func:`cases.run_case`) while recording their coverage.

    Returns ``(outcomes, recorder)``; each case is keyed ``(file, line)`` in
    ``recorder.touched``.
    """
    recorder = CoverageRecorder()
    outcomes = []
    with observing(recorder):
        for case in cases:
            recorder.start_case((case.file, case.line))
            outcomes.append(run_case(case, library))
    return outcomes, recorder
