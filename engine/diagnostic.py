"""The one currency of every check: a :class:`Diagnostic`, and the exception tree.

A diagnostic knows where it is (file, line, column, and the path of the YAML node
at fault) and renders itself as ``file:line:col: CODE message``. Checkers yield
diagnostics relative to the node they look at; the caller fills in the file and
the position from the document's side table.

Codes, by phase:

* ``E0xx`` reading the file and its YAML;
* ``E1xx`` expressions (syntax, names, forbidden constructs, cycles);
* ``E2xx`` structure: what the JSON Schemas and the cross-field checks find;
* ``E3xx`` ruleset semantics (size table, dates, amendments, rulesets in force);
* ``E4xx`` evaluation (division by zero, type errors);
* ``W0xx`` warnings, which never change the exit code.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "Diagnostic",
    "AciError",
    "InputError",
    "EvaluationError",
    "format_path",
    "suggest",
    "excerpt",
    "printable",
    "MAX_EXCERPT",
]

# A message quotes at most this many characters of a user's text: a file that is not
# what was expected (a key, a password file) must never be echoed whole.
MAX_EXCERPT = 40


def printable(text: str) -> str:
    """``text`` with every control character (terminal escapes, line breaks) written as an escape.

    >>> print(printable("fixe" + chr(10) + chr(27) + "[31m"))
    fixe\\n\\x1b[31m
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def excerpt(text: str) -> str:
    """A short, escaped quotation of a user's text for a message.

    >>> print(excerpt("fixe" + chr(10)))
    'fixe\\n'
    >>> excerpt("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (100 characters)"
    """
    if len(text) <= MAX_EXCERPT:
        return f"'{printable(text)}'"
    return f"'{printable(text[:MAX_EXCERPT])}…' ({len(text)} characters)"

Path = tuple  # a path into a YAML document: keys (str) and list indexes (int)


def format_path(path: Sequence) -> str:
    """Render a document path the way an analyst reads it.

    >>> format_path(("lines", 3, "when"))
    'lines[3].when'
    >>> format_path(())
    ''
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt ``name``, or None.

    >>> suggest("populaton", ["population", "members"])
    'population'
    >>> suggest("zzz", ["population"]) is None
    True
    """
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.7)
    return matches[0] if matches else None


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """One problem found in one place.

    ``line`` and ``column`` are 1-based; they are None when the problem has no
    position (a file that cannot be read, a date given on the command line).
    """

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: tuple = ()
    severity: str = "error"
    subject: str | None = dataclasses.field(default=None, compare=False)  # the name at fault, if any

    def __str__(self) -> str:
        where = self.file or "aci-rules"  # a problem of the command line, not of a file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{printable(where)}: {self.code} {printable(self.message)}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": format_path(self.path),
            "severity": self.severity,
        }


class AciError(Exception):
    """Base of every error aci-rules raises on purpose."""


class InputError(AciError):
    """The input (a ruleset, a profile, an option value) has problems.

    Carries every diagnostic found, not only the first.
    """

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class EvaluationError(InputError):
    """An expression failed while a profile was evaluated (division by zero, types)."""
