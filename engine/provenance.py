"""Which results rest on figures that are not confirmed, or that a proposal sets.

A line's confidence per taille is the ruleset's own (the weakest value it reads);
a proposal's own figures are tagged ``proposed`` when its text is consolidated
(:mod:`.edits`), the weakest tag, apart from ``unverified`` (a figure of an enacted
text not confirmed). A line rests on a proposal's figures when the line itself, or
any parameter or definition it reads (directly or through others), is added or
changed by the proposal, as the semantic diff says; it then names the proposal and
its reference.
"""

from __future__ import annotations

import dataclasses

from .diff import RulesetDiff

__all__ = ["LineProvenance", "line_provenance", "proposed_names"]


@dataclasses.dataclass(frozen=True)
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
