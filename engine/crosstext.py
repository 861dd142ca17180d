"""What another text gives the same CPTS on the same date: the values a guarantee reads.

A ruleset names the texts it compares itself with (``other_texts: {before: <ruleset id>}``)
and its formulas read them: ``text_total('before')``, ``text_line('before', '<line id>')``,
``text_mission('before', '<mission id>')``, ``text_volet('before', '<volet>')``. A guarantee
that no CPTS loses is then one line of its own volet::

    amount: max(0, text_total('before') - sum_lines_except('volet', '<its volet>'))

What "the other text gives" means, exactly: the other text, consolidated as on the
date (its provisions with their own later in-force date left out), applied to the same
profile on the same date as if it were in force then, whatever its own dates; for the
contract year holding that date, under the same contract and renewal assumption. Its
lines are yearly entitlements, computed as its own formulas compute them, so they
compare with this text's lines, which are too. When a contract year is cut where this
text enters into force, each part is evaluated on its first day (see
:mod:`.timeline`): the other text is read on that same day, and the guarantee line
counts for that part's days like every other line.

The other texts are resolved when the ruleset is loaded (:func:`attach`: unknown
texts, lines, missions and volets, and cycles between texts, are diagnostics there);
the evaluation paths receive the values as functions (:func:`functions`), computed
once per evaluation by the same kind of path (reference or fast) that asks.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from .diagnostic import InputError, msg, suggest
from .records import record

__all__ = ["CROSS_TEXT_FUNCTIONS", "OtherText", "attach", "functions", "companions"]

CROSS_TEXT_FUNCTIONS = ("text_total", "text_line", "text_mission", "text_volet")
# What the second argument of each function names in the other text.
_TARGETS = {"text_line": "line", "text_mission": "mission", "text_volet": "volet"}

_ZERO = Decimal(0)

# The documents being resolved, innermost last: a text met again while it is being
# resolved closes a cycle between texts.
_RESOLVING: list = []


@record(eq=False)
class OtherText:
    """Another text a ruleset reads: the name formulas use, the id or file written, and how to load it."""

    alias: str
    name: str
    ruleset_id: str
    document: object  # the other text's Document
    library: object  # the Library that resolved it (its caches serve every evaluation)

    def ruleset_on(self, day: datetime.date | None):
        """The other text consolidated as on ``day`` (every provision when None)."""
        return self.library.compile(self.document, day)


def _formulas(ruleset):
    """(path, expression) of every formula of a compiled ruleset."""
    for definition in ruleset.definitions.values():
        yield definition.path, definition.expression
    for line in ruleset.lines:
        for field in ("when", "amount", "maximum", "runs_from"):
            yield line.path + (field,), getattr(line, field)
    for obligation in ruleset.obligations:
        for field in ("when", "deadline", "done"):
            yield obligation.path + (field,), getattr(obligation, field)
    for rule in ruleset.payments:
        yield rule.path + ("when",), rule.when
        for index, item in enumerate(rule.installments):
            yield rule.path + ("installments", index, "share"), item.share
            yield rule.path + ("installments", index, "due"), item.due


def _known(other, target) -> set:
    if target == "line":
        return {line.id for line in other.lines}
    if target == "mission":
        return set(other.missions)
    return {line.volet for line in other.lines}


def attach(library, ruleset, document, consolidated):
    """``ruleset`` with the other texts it declares resolved and checked (see the module's doc).

    ``document`` is the file the user named (an amendment, not yet consolidated): its
    identity detects cycles; ``consolidated`` the text ``ruleset`` was compiled from. Raises
    InputError: an unknown text (E321), a cycle between texts (E320), a line, mission or volet
    the other text does not have (E102).
    """
    declared = (consolidated.data.get("other_texts") or {}) if consolidated is not None else {}
    if not declared:
        return ruleset
    from .library import looks_like_path
    from .paths import allowed_folder, confine

    identity = library._identity(document)
    shipped = identity.startswith("shipped:")
    problems, resolved = [], []
    _RESOLVING.append((identity, document.data.get("id")))
    try:
        for alias, name in declared.items():
            path = ("other_texts", alias)
            if looks_like_path(name):
                if shipped:
                    problems.append(consolidated.diagnostic("E012", msg(
                        "other_texts: a shipped ruleset names another by its id, not by a path ({name})",
                        name=name), path))
                    continue
                try:
                    target = confine(name, consolidated, path, allowed_folder(document.file))
                    other_document = library.file_document(target)
                except InputError as error:
                    problems.extend(error.diagnostics)
                    continue
            else:
                known = library.shipped_documents()
                if name not in known:
                    guess = suggest(name, known)
                    hint = (msg("did you mean '{guess}'?", guess=guess) if guess
                            else msg("known rulesets: {known}", known=", ".join(sorted(known))))
                    problems.append(consolidated.diagnostic("E321", msg(
                        "other_texts: '{alias}' names '{name}', which is not a known ruleset: {hint}",
                        alias=alias, name=name, hint=hint), path))
                    continue
                other_document = known[name]
            other_identity = library._identity(other_document)
            if other_identity in [entry[0] for entry in _RESOLVING]:
                start = [entry[0] for entry in _RESOLVING].index(other_identity)
                cycle = _Cycle(other_identity, [entry[1] for entry in _RESOLVING[start:]] + [other_document.data["id"]])
                if other_identity != identity:
                    raise cycle  # told where it starts: in the file the user named
                problems.append(cycle.diagnostic(consolidated, path))
                continue
            try:
                other = library.compile(other_document, None)
            except _Cycle as cycle:
                if cycle.start != identity:
                    raise
                problems.append(cycle.diagnostic(consolidated, path))
                continue
            resolved.append(OtherText(alias, name, other.id, other_document, library))
            for where, expression in _formulas(ruleset):
                for function, arguments, _ in (expression.calls if expression is not None else ()):
                    if function not in _TARGETS or not arguments or arguments[0] != alias:
                        continue
                    target = _TARGETS[function]
                    present = _known(other, target)
                    if arguments[1] not in present:
                        guess = suggest(str(arguments[1]), present)
                        hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else ""
                        problems.append(consolidated.diagnostic("E102", msg(
                            "{function}(): text '{text}' ({ruleset}) has no {target} '{name}'{hint} in {where}",
                            function=function, text=alias, ruleset=other.id, target=target, name=arguments[1],
                            hint=hint, where=consolidated.describe(where)), where))
    finally:
        _RESOLVING.pop()
    if problems:
        raise InputError(problems)
    return dataclasses.replace(ruleset, other_texts=tuple(resolved))


class _Cycle(Exception):
    """A cycle between texts found inside, carried out to the text where it starts."""

    def __init__(self, start: str, names: list):
        super().__init__(" -> ".join(names))
        self.start, self.names = start, names

    def diagnostic(self, document, path):
        return document.diagnostic("E320", msg(
            "other_texts: a cycle between texts, each reading what the next gives: {cycle}",
            cycle=" -> ".join(self.names)), path)


@record
class _Given:
    """What another text gives: its total, each line's amount, and the lines' missions and volets."""

    total: Decimal
    lines: dict
    missions: dict
    volets: dict

    def of(self, table: dict, key) -> Decimal:
        return sum((amount for line, amount in self.lines.items() if table.get(line) == key), _ZERO)


_FAST: dict = {}  # id(ruleset) -> (ruleset, FastRuleset); the ruleset is kept, so its id is not reused


def _given(other: OtherText, profile, day, renewal, fast) -> _Given:
    ruleset = other.ruleset_on(day)
    if fast:
        from .fastpath import FastRuleset

        entry = _FAST.get(id(ruleset))
        if entry is None or entry[0] is not ruleset:
            entry = _FAST[id(ruleset)] = (ruleset, FastRuleset(ruleset))
        result = entry[1].run(profile, day, renewal)
        amounts, total = result.amounts, result.total
    else:
        from .evaluate import evaluate

        result = evaluate(ruleset, profile, day, renewal=renewal)
        amounts, total = {line.id: line.amount for line in result.lines}, result.total
    return _Given(total, dict(amounts), {line.id: line.mission for line in ruleset.lines},
                  {line.id: line.volet for line in ruleset.lines})


def functions(ruleset, profile, day: datetime.date, renewal: bool = False, *, fast: bool = False) -> dict:
    """The functions a formula calls to read other texts, bound to one profile and date.

    Each other text is evaluated once, on first use, by the fast path when ``fast`` is
    true and by the reference evaluator otherwise. Empty when the ruleset reads none.
    """
    texts = {other.alias: other for other in getattr(ruleset, "other_texts", ())}
    if not texts:
        return {}
    memo: dict = {}

    def given(alias) -> _Given:
        if alias not in memo:
            memo[alias] = _given(texts[alias], profile, day, renewal, fast)
        return memo[alias]

    return {
        "text_total": lambda alias: given(alias).total,
        "text_line": lambda alias, line: given(alias).lines.get(line, _ZERO),
        "text_mission": lambda alias, mission: given(alias).of(given(alias).missions, mission),
        "text_volet": lambda alias, volet: given(alias).of(given(alias).volets, volet),
    }


def companions(result) -> list:
    """For ``eval --explain``: each other text the evaluation read, evaluated (with its
    explanations) on each day this text was evaluated: ``(alias, ruleset id, day, Result)``."""
    from .evaluate import evaluate

    points = [(segment.start, segment.ruleset) for segment in result.segments] or [(result.date, result.ruleset.id)]
    rulesets = {result.ruleset.id: result.ruleset}
    found = []
    for day, ruleset_id in points:
        ruleset = rulesets.get(ruleset_id, result.ruleset if ruleset_id == result.ruleset.id else None)
        if ruleset is None:
            continue
        for other in getattr(ruleset, "other_texts", ()):
            renewal = bool(result.contract_year and result.contract_year.contract
                           and result.contract_year.contract.assumed)
            found.append((other.alias, other.ruleset_id, day,
                          evaluate(other.ruleset_on(day), result.profile, day, explain=True, renewal=renewal)))
    return found
