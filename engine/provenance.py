"""Which results rest on figures that are not confirmed, or that a proposal sets.

A line's confidence per taille is the ruleset's own (the weakest value it reads);
a proposal's own figures are tagged ``proposed`` when its text is consolidated
(:mod:`.amend`, :mod:`.edits`: a parameter it sets or edits, a definition it sets or
replaces, a line, obligation or payment rule it adds or whose formula it changes), the
weakest tag, apart from ``unverified`` (a figure of an enacted text not confirmed).
What reads a ``proposed`` figure is ``proposed`` too. A line rests on a proposal's
figures when the line itself, or any parameter or definition it reads (directly or
through others), is added or changed by the proposal, as the semantic diff says; it
then names the proposal and its reference. :func:`proposed_figures` lists a
consolidated proposal's own figures, which every command states among its
assumptions (:func:`proposed_assumptions`) and ``eval --explain`` marks where read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .diagnostic import msg
from .records import record

if TYPE_CHECKING:  # the diff is the caller's: eval reads this module without loading the diff
    from .diff import RulesetDiff

__all__ = ["LineProvenance", "line_provenance", "proposed_names", "proposed_figures", "proposed_assumptions",
           "own_tag", "PROPOSED_KINDS"]

_PROPOSED = "proposed"
# The kinds of figures a proposal puts forward, in the order they are told.
PROPOSED_KINDS = ("definitions", "lines", "parameters", "obligations", "payments")


@record
class LineProvenance:
    """One line of the proposal: its confidence per taille and the proposal's figures it reads."""

    id: str
    label: str
    mission: str | None
    reference: str
    confidence: dict  # taille -> tag
    proposed: tuple  # names (the line, parameters, definitions) the proposal adds or changes
    proposal: dict | None = None  # {"id", "reference"} of the text those names come from; None when none

    @property
    def weakest(self) -> str:
        from .ruleset import weakest

        return weakest(*self.confidence.values())

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "mission": self.mission, "reference": self.reference,
                "confidence": {str(k): v for k, v in self.confidence.items()},
                "proposed": list(self.proposed), "proposal": self.proposal}


def proposed_names(diff: RulesetDiff) -> set:
    """The lines, parameters and definitions the new ruleset adds or changes."""
    return {item.id for item in diff.items
            if item.kind in ("line", "parameter", "definition") and item.status in ("added", "changed")}


def line_provenance(diff: RulesetDiff) -> list[LineProvenance]:
    """The provenance of every line of the diff's new ruleset, in its order."""
    ruleset = diff.new
    changed = proposed_names(diff)
    proposal = {"id": ruleset.id, "reference": " ".join(ruleset.reference.split())}
    memo: dict = {}

    def reached(name) -> frozenset:
        # Iterative depth-first walk: a deep chain of definitions must not hit the recursion limit.
        if name in memo:
            return memo[name]
        seen, stack = set(), [name]
        while stack:
            current = stack.pop()
            for other in ruleset.reads.get(current, ()):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        memo[name] = frozenset(seen)
        return memo[name]

    result = []
    for line in ruleset.lines:
        names = ({line.id} | reached(line.id)) & changed
        result.append(LineProvenance(line.id, line.label, line.mission, " ".join(line.reference.split()),
                                     dict(ruleset.confidence.get(line.id, {})), tuple(sorted(names)),
                                     proposal if names else None))
    return result


def proposed_figures(ruleset) -> dict:
    """A consolidated ruleset's figures tagged ``proposed``, by kind (see :data:`PROPOSED_KINDS`).

    Takes a compiled ruleset; returns kind -> names in the text's order, the kinds that
    have none left out (an enacted text gives ``{}``).
    """
    def tagged(confidence) -> bool:
        if isinstance(confidence, dict):
            return _PROPOSED in confidence.values()
        return confidence == _PROPOSED

    found = {
        "definitions": [d.name for d in ruleset.definitions.values() if tagged(d.confidence)],
        "lines": [line.id for line in ruleset.lines if tagged(line.confidence)],
        "parameters": [name for name, p in ruleset.parameters.items() if tagged(p.confidence)],
        "obligations": [o.id for o in ruleset.obligations if tagged(o.confidence)],
        "payments": [rule.id for rule in ruleset.payments if tagged(rule.confidence)],
    }
    return {kind: names for kind, names in found.items() if names}


def proposed_assumptions(ruleset) -> list:
    """What results resting on a proposal assume: its own figures, by kind, and whose they are
    (one message; none for a text without ``proposed`` figures)."""
    figures = proposed_figures(ruleset)
    parts = []
    for kind, names in figures.items():
        names = ", ".join(names)
        if kind == "definitions":
            parts.append(msg("definitions {names}", names=names))
        elif kind == "lines":
            parts.append(msg("lines {names}", names=names))
        elif kind == "parameters":
            parts.append(msg("parameters {names}", names=names))
        elif kind == "obligations":
            parts.append(msg("obligations {names}", names=names))
        else:
            parts.append(msg("payment rules {names}", names=names))
    if not parts:
        return []
    told = parts[0]
    for part in parts[1:]:
        told = msg("{first}; {second}", first=told, second=part)
    return [msg("figures put forward by {text}, tagged proposed (no text in force; {reference}): {figures}",
                text=ruleset.id, reference=" ".join(ruleset.reference.split()), figures=told)]


def own_tag(ruleset, name: str, taille=None):
    """``(tag, proposal)`` of a parameter a formula reads (its cell for ``taille``), or of a
    definition or line when it carries a tag of its own; ``proposal`` is ``{"id",
    "reference"}`` for a ``proposed`` one, else None. None for a name with no tag (a definition
    is then as strong as what it reads)."""
    parameter = ruleset.parameters.get(name)
    if parameter is not None:
        confidence = parameter.confidence_for(taille)
    elif name in ruleset.definitions:
        confidence = ruleset.definitions[name].confidence
    else:
        confidence = next((line.confidence for line in ruleset.lines if line.id == name), None)
    if confidence is None:
        return None
    whose = ({"id": ruleset.id, "reference": " ".join(ruleset.reference.split())} if confidence == _PROPOSED
             else None)
    return confidence, whose
