"""The rulesets the engine knows: those shipped in ``rules/``, and files named by the user.

Picks the text in force at a date (the enacted ruleset with the latest in-force
date on or before it) and resolves ``--ruleset ID|PATH``.
"""

from __future__ import annotations

import datetime
import os
from importlib import resources

from .compiler import load_ruleset
from .diagnostic import Diagnostic, InputError, suggest
from .ruleset import Ruleset

__all__ = ["Library", "shipped_ruleset_names"]


def shipped_ruleset_names() -> list[str]:
    """File names of the rulesets shipped in the package, sorted."""
    folder = resources.files("aci_rules.rules")
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def looks_like_path(text: str) -> bool:
    return text.endswith((".yaml", ".yml")) or os.sep in text or "/" in text


class Library:
    """The shipped rulesets, compiled on first use."""

    def __init__(self):
        self._shipped: dict[str, Ruleset] | None = None

    def shipped(self) -> dict[str, Ruleset]:
        """Shipped rulesets by id. Raises InputError if one of them is invalid."""
        if self._shipped is None:
            rulesets, problems = {}, []
            folder = resources.files("aci_rules.rules")
            for name in shipped_ruleset_names():
                with resources.as_file(folder.joinpath(name)) as path:
                    try:
                        ruleset = load_ruleset(path, f"rules/{name}")
                    except InputError as error:
                        problems.extend(error.diagnostics)
                        continue
                stem = name[: -len(".yaml")]
                if ruleset.id != stem:
                    problems.append(ruleset.document.diagnostic(
                        "E304", f"ruleset id '{ruleset.id}' differs from its file name '{name}'", ("id",)))
                rulesets[ruleset.id] = ruleset
            if problems:
                raise InputError(problems)
            self._shipped = rulesets
        return self._shipped

    def mission_ids(self) -> set[str]:
        """Every mission id of every shipped ruleset."""
        return {m for ruleset in self.shipped().values() for m in ruleset.missions}

    def known_ids(self) -> list[str]:
        return sorted(self.shipped())

    def get(self, id_or_path: str) -> Ruleset:
        """A ruleset by shipped id, or from a YAML file when given a path."""
        if looks_like_path(id_or_path) or os.path.exists(id_or_path):
            return load_ruleset(id_or_path)
        shipped = self.shipped()
        if id_or_path in shipped:
            return shipped[id_or_path]
        guess = suggest(id_or_path, shipped)
        hint = f"did you mean '{guess}'? " if guess else ""
        raise InputError([Diagnostic(
            "E404", f"unknown ruleset '{id_or_path}': {hint}known rulesets: {', '.join(sorted(shipped))}")])

    def in_force(self, day: datetime.date) -> Ruleset:
        """The enacted ruleset in force on ``day``."""
        candidates = [r for r in self.shipped().values() if r.status == "enacted" and r.in_force_on(day)]
        if not candidates:
            known = ", ".join(f"{r.id} (from {r.in_force})" for r in
                              sorted(self.shipped().values(), key=lambda r: r.in_force))
            raise InputError([Diagnostic(
                "E403", f"no ruleset is in force on {day}; known rulesets: {known}")])
        return max(candidates, key=lambda r: r.in_force)
