"""The rulesets the engine knows: those shipped in ``rules/``, and files named by the user.

Resolves amendment chains (an avenant applied to the accord it amends, a proposal
to the avenant), picks the text in force at a date (the enacted ruleset with the
latest in-force date on or before it), and compiles each consolidated text once
per set of provisions in force.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os

from aci_rules import package_files

from .diagnostic import Diagnostic, InputError, format_path, msg, suggest
from .paths import allowed_folder, confine
from .plan import keep_plan
from .ruleset import Ruleset
from .cache import CompiledCache, ValidationCache
from .schema import load_schema
from .timeline import Timeline
from .yaml_loader import MAX_FILE_BYTES, Document, load_document, parse_document

__all__ = ["Library", "shipped_ruleset_names", "looks_like_path", "document_kind", "wrong_kind",
           "table_file_problem", "load_profile_document", "declared_missions", "MAX_AMENDMENT_CHAIN"]

# An avenant amends the accord, a proposal the avenant: real chains have a handful of
# links. Each link consolidates the whole text again, so a chain of a thousand hostile
# links would take minutes; past this many, the chain is refused (E310).
MAX_AMENDMENT_CHAIN = 50


def shipped_ruleset_names() -> list[str]:
    """File names of the rulesets shipped in the package, sorted."""
    folder = package_files("aci_rules.rules")
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def looks_like_path(text: str) -> bool:
    """True when a --ruleset or amends value names a file rather than an id."""
    return text.endswith((".yaml", ".yml")) or os.sep in text or "/" in text


# Keys that only a ruleset has; a document with none of them is read as a profile.
_RULESET_KEYS = frozenset({"lines", "kind", "dates", "amends", "parameters", "obligations", "status",
                           "title", "taille", "definitions", "changes", "payments"})


# Keys only a profile has: a document with one of them and 'cases' is a misspelt profile.
_PROFILE_KEYS = frozenset({"name", "population", "members", "contract_signed", "missions", "crises",
                           "letter_of_intent_validated", "population_history"})
TABLE_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".ndjson")


def document_kind(document: Document) -> str:
    """'ruleset', 'test-case' or 'profile', from the keys the document has."""
    data = document.data
    if isinstance(data, dict):
        if _RULESET_KEYS & set(data):
            return "ruleset"
        if "cases" in data and not _PROFILE_KEYS & set(data):
            return "test-case"
    return "profile"


_KIND_ADVICE = {
    ("ruleset", "profile"): "this is a ruleset, not a profile: give a ruleset with --ruleset, and a CPTS "
                            "profile (name, population, ...) as the argument",
    ("test-case", "profile"): "this is a file of test cases, not a profile: run it with 'aci-rules test'",
    ("profile", "ruleset"): "this is a CPTS profile, not a ruleset: give it as the profile argument; "
                            "--ruleset takes a ruleset id (see 'aci-rules list') or a ruleset file",
    ("test-case", "ruleset"): "this is a file of test cases, not a ruleset: run it with 'aci-rules test'",
}


def table_file_problem(path: str, expected: str = "profile") -> Diagnostic | None:
    """One diagnostic for a table of profiles (CSV, JSON Lines) given where one YAML file goes."""
    if not os.fspath(path).lower().endswith(TABLE_EXTENSIONS):
        return None
    return Diagnostic("E203", msg("this is a table of profiles ({extension}), not a YAML {expected}: "
                                  "'aci-rules batch FILE --date D' evaluates a table, one row per CPTS",
                                  extension=os.path.splitext(path)[1], expected=expected), path)


def wrong_kind(document: Document, expected: str) -> Diagnostic | None:
    """One diagnostic when ``document`` is plainly another kind of file than ``expected``
    ('profile' or 'ruleset'), instead of a dozen field errors."""
    kind = document_kind(document)
    if expected == "ruleset" and kind == "profile" and not (
            isinstance(document.data, dict) and _PROFILE_KEYS & set(document.data)):
        return None  # not recognisably a profile either: the schema says what is wrong
    advice = _KIND_ADVICE.get((kind, expected))
    return document.diagnostic("E203", advice, ()) if advice else None


def declared_missions(document: Document) -> set[str]:
    """The mission ids a ruleset document defines or adds (its own, not its base's)."""
    data = document.data if isinstance(document.data, dict) else {}
    changes = (data.get("changes") or {}).get("missions") or {}
    return {m["id"] for m in (data.get("missions") or []) + (changes.get("add") or [])
            if isinstance(m, dict) and isinstance(m.get("id"), str)}


def load_profile_document(path: str) -> Document:
    """A profile file, for a command that reads one (eval, schedule).

    Raises InputError: with one diagnostic when the file is a table of profiles, a ruleset or
    a file of test cases, else whatever reading it finds.
    """
    return load_document_of_kind(path, "profile")


def load_document_of_kind(path: str, expected: str) -> Document:
    """A file read as a document of the ``expected`` kind ("profile" or "ruleset"), not yet checked
    against its schema.

    Raises InputError: with one diagnostic when the file is a table of profiles or a document of
    another kind, else whatever reading it finds.
    """
    problem = table_file_problem(path, expected)
    if problem:
        raise InputError([problem])
    document = load_document(path)
    problem = wrong_kind(document, expected)
    if problem:
        raise InputError([problem])
    return document


# Reading, consolidating and compiling a text are imported when a text is compiled, not when
# every text comes from the compiled cache (aci-rules eval: see engine/cache.py).
def validate_ruleset(document: Document) -> list[Diagnostic]:
    """:func:`.compiler.validate_ruleset`."""
    from .compiler import validate_ruleset as validate

    return validate(document)


def _date(value) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if isinstance(value, str) else None


def _at_removal(diagnostic: Diagnostic, removals: dict) -> Diagnostic:
    """An unknown name that an amendment removed is reported where it was removed."""
    if diagnostic.code != "E102" or diagnostic.subject not in removals:
        return diagnostic
    amendment, path = removals[diagnostic.subject]
    where = f"{diagnostic.file}:{diagnostic.line}:{diagnostic.column}" if diagnostic.line else diagnostic.file
    return amendment.diagnostic(
        "E307", msg("removes '{name}', which is still read at {where} ({path}): change or remove what reads it "
                    "too", name=diagnostic.subject, where=where, path=format_path(diagnostic.path)), path)


def _content_key(document: Document) -> tuple:
    """What a compiled ruleset depends on: the file's name and its content.

    Never ``id(document)``: once a document is freed, the next one read can get its id
    and be handed the earlier file's compiled ruleset (``validate c.yaml a.yaml c.yaml
    b.yaml`` once said "ok" to a b.yaml with an unknown name).
    """
    if document.digest is not None:
        return (document.file, document.digest)
    # A document built in memory, not read from bytes: its data and positions are its content.
    content = repr((document.data, sorted(document.marks.items()), sorted(document.origins.items())))
    return (document.file, hashlib.sha256(content.encode()).hexdigest())


def _in_force_signature(days, day: datetime.date | None) -> tuple | None:
    """Which of a chain's dated provisions are in force on ``day``: the part of a compiled text's
    key that depends on the day. None when every one is (or no day is given): the text is then
    the same as with every provision applied, and is compiled, cached and read once, not once
    for the text and again for each day after its last provision."""
    if day is None or all(d <= day for d in days):
        return None
    return tuple(d <= day for d in days)


class Library:
    """The shipped rulesets and the files loaded through it, read and compiled on first use.

    The shipped texts, once compiled, are kept on disk (:class:`~.cache.CompiledCache`):
    a later command gets them without reading their YAML (``persistent``; off for a library
    whose texts are not the package's own, as mutation's).
    """

    persistent = True

    def __init__(self):
        self._shipped: dict[str, Document] | None = None
        self._files: dict[str, Document] = {}
        self._compiled: dict[tuple, Ruleset] = {}
        self._raw: dict[str, bytes] = {}  # shipped file name -> its bytes, read once
        self._store: CompiledCache | None = None

    def _shipped_bytes(self, name: str) -> bytes:
        raw = self._raw.get(name)
        if raw is None:
            raw = self._raw[name] = package_files("aci_rules.rules").joinpath(name).read_bytes()
        return raw

    def _compiled_store(self) -> CompiledCache | None:
        """The on-disk memory of the compiled shipped texts, keyed by their bytes and the engine."""
        if not self.persistent:
            return None
        if self._store is None:
            try:
                digests = {name: hashlib.sha256(self._shipped_bytes(name)).hexdigest()
                           for name in shipped_ruleset_names()}
            except OSError:
                return None
            self._store = CompiledCache(digests)
        return self._store

    def _stored(self, ruleset_id: str, day: datetime.date | None) -> Ruleset | None:
        """A shipped text as compiled by an earlier command, when the store holds it."""
        store = self._compiled_store()
        entry = store.chain(ruleset_id) if store is not None else None
        if entry is None:
            return None
        chain, days = entry
        key = (chain, _in_force_signature(days, day))
        found = self._compiled.get(key)
        if found is None:
            found = store.rulesets.get(key)
            if found is not None:
                self._compiled[key] = found
                if key in store.plans:
                    keep_plan(store.plans[key])
        return found

    # -- documents ---------------------------------------------------------------

    def shipped_documents(self) -> dict[str, Document]:
        """Shipped ruleset documents by id, schema-checked. Raises InputError if one is invalid."""
        if self._shipped is None:
            documents, problems = {}, []
            cache = ValidationCache(json.dumps(load_schema("ruleset"), sort_keys=True, default=str))
            for name in shipped_ruleset_names():
                display = f"rules/{name}"
                try:
                    raw = self._shipped_bytes(name)
                    if len(raw) > MAX_FILE_BYTES:
                        raise InputError([Diagnostic("E001", msg("is over the limit of {limit} bytes",
                                                                 limit=MAX_FILE_BYTES), display)])
                    document = parse_document(raw, display)
                except InputError as error:
                    problems.extend(error.diagnostics)
                    continue
                digest = cache.digest(raw)
                if digest not in cache:
                    found = validate_ruleset(document)
                    if found:
                        problems.extend(found)
                        continue
                    cache.add(digest)
                stem = name[: -len(".yaml")]
                if document.data["id"] != stem:
                    problems.append(document.diagnostic(
                        "E304", msg("ruleset id '{id}' differs from its file name '{name}'", id=document.data["id"],
                                    name=name),
                        ("id",)))
                documents[document.data["id"]] = document
            cache.save()
            if problems:
                raise InputError(problems)
            self._shipped = documents
        return self._shipped

    def file_document(self, path: str) -> Document:
        """A ruleset document read from a file, schema-checked."""
        key = os.path.abspath(path)
        if key not in self._files:
            document = load_document_of_kind(path, "ruleset")
            problems = validate_ruleset(document)
            if problems:
                raise InputError(problems)
            self._files[key] = document
        return self._files[key]

    def document(self, id_or_path: str) -> Document:
        """A ruleset document by shipped id, or from a YAML file when given a path."""
        if looks_like_path(id_or_path) or os.path.exists(id_or_path):
            return self.file_document(id_or_path)
        shipped = self.shipped_documents()
        if id_or_path in shipped:
            return shipped[id_or_path]
        raise InputError([Diagnostic("E404", msg("unknown ruleset '{name}': {hint}", name=id_or_path,
                                                 hint=self._known_hint(id_or_path)))])

    def _known_hint(self, name: str):
        shipped = self.shipped_documents()
        guess = suggest(name, shipped)
        known = ", ".join(sorted(shipped))
        if guess:
            return msg("did you mean '{guess}'? known rulesets: {known}", guess=guess, known=known)
        return msg("known rulesets: {known}", known=known)

    def known_ids(self) -> list[str]:
        """The ids of the shipped texts: their file names (E304 holds the two equal)."""
        return [name[: -len(".yaml")] for name in shipped_ruleset_names()]

    def _enacted(self) -> list[Ruleset]:
        """The shipped enacted texts, compiled with every provision, in the order of their ids."""
        return [ruleset for ruleset in (self.get(name) for name in self.known_ids()) if ruleset.status == "enacted"]

    def listing(self) -> list:
        """The shipped texts for ``aci-rules list``, in order of entry into force: for each,
        ``(ruleset, applies_until, successor)``, where an enacted text applies until the day
        before the next enacted text that amends it enters into force (else both are None)."""
        rulesets = sorted((self.get(name) for name in self.known_ids()), key=lambda r: r.in_force)
        found = []
        for ruleset in rulesets:
            later = [r for r in rulesets if r.status == "enacted" and r.id != ruleset.id
                     and ruleset.id in r.chain and r.in_force > ruleset.in_force]
            if later:
                successor = min(later, key=lambda r: r.in_force)
                found.append((ruleset, successor.in_force - datetime.timedelta(days=1), successor.id))
            else:
                found.append((ruleset, None, None))
        return found

    def mission_ids(self) -> set[str]:
        """Every mission id that a shipped ruleset defines or adds (from the compiled texts)."""
        found = set()
        for name in self.known_ids():
            found |= set(self.get(name).missions)
        return found

    def mission_arrivals(self) -> dict[str, tuple[datetime.date, str]]:
        """When each mission of the shipped enacted texts first applies, and with which text.

        A mission applies from its text's entry into force, or from its own ``in_force``
        when it has a later one (avenant 2's crisis mission, from 2022-09-03). Read from the
        compiled texts: a consolidated text holds the missions of the texts it amends too, and
        the earliest day wins (the first text on a tie).
        """
        arrivals: dict = {}
        for ruleset in self._enacted():
            for mission in ruleset.missions.values():
                own = mission.in_force
                day = max(ruleset.in_force, own) if own else ruleset.in_force
                if mission.id not in arrivals or day < arrivals[mission.id][0]:
                    arrivals[mission.id] = (day, ruleset.id)
        return arrivals

    # -- chains ------------------------------------------------------------------

    def _base_of(self, document: Document, folder: str | None) -> Document:
        name = document.data["amends"]
        if looks_like_path(name):
            if folder is None:  # a shipped text names its base by id
                raise InputError([document.diagnostic(
                    "E012", msg("amends '{name}': a shipped ruleset amends another by its id", name=name),
                    ("amends",))])
            path = confine(name, document, ("amends",), folder)
            if not os.path.exists(path):
                raise InputError([document.diagnostic(
                    "E306", msg("amends '{name}': no such file ({path})", name=name, path=path), ("amends",))])
            return self.file_document(path)
        shipped = self.shipped_documents()
        if name not in shipped:
            raise InputError([document.diagnostic(
                "E306", msg("amends '{name}', which is not a known ruleset: {hint}", name=name,
                            hint=self._known_hint(name)),
                ("amends",))])
        return shipped[name]

    def _identity(self, document: Document) -> str:
        shipped = self._shipped or {}
        if shipped.get(document.data.get("id")) is document:
            return f"shipped:{document.data['id']}"
        return os.path.realpath(document.file)

    def chain_of(self, document: Document) -> list[Document]:
        """The documents from the first accord to ``document``; a cycle is a diagnostic.

        The cycle is told in the direction of ``amends``: a -> b -> a reads
        "a amends b, which amends a".
        """
        chain = [document]
        seen = {self._identity(document): 0}  # identity -> place in the chain (one realpath per link)
        # Paths in the chain stay under the folder of the file the user named.
        folder = None if self._identity(document).startswith("shipped:") else allowed_folder(document.file)
        while "amends" in chain[-1].data:
            if len(chain) > MAX_AMENDMENT_CHAIN:
                raise InputError([document.diagnostic(
                    "E310", msg("a chain of more than {limit} amending texts from this file: the limit is {limit} "
                                "(each link consolidates the whole text again)", limit=MAX_AMENDMENT_CHAIN),
                    ("amends",))])
            base = self._base_of(chain[-1], folder)
            identity = self._identity(base)
            if identity in seen:
                names = [d.data["id"] for d in chain[seen[identity]:]] + [base.data["id"]]
                raise InputError([document.diagnostic(
                    "E305", msg("amendment cycle: {chain}", chain=" -> ".join(names)), ("amends",))])
            seen[identity] = len(chain)
            chain.append(base)
        return list(reversed(chain))

    def compile(self, document: Document, day: datetime.date | None = None) -> Ruleset:
        """The ruleset of ``document`` consolidated with its bases, as in force on ``day``.

        ``day`` None applies every provision, whatever its own in-force date.
        """
        chain = self.chain_of(document)
        from .amend import dated_provisions
        from .compiler import compile_ruleset
        from .crosstext import attach as attach_other_texts

        provisions: list = []
        for link in chain:
            provisions += dated_provisions(link, link.data["id"])
        key = (tuple(_content_key(link) for link in chain), _in_force_signature([p.day for p in provisions], day))
        if key not in self._compiled:
            text, notes, removals = self._consolidated(chain, day)
            # Each link was checked against the schema (an addition as a whole item, a
            # change field by field), so the consolidated text needs no second check.
            history = tuple((link.data["id"], _date(link.data["dates"]["in_force"])) for link in chain)
            try:
                self._compiled[key] = dataclasses.replace(attach_other_texts(self, compile_ruleset(
                    text, history=history, provisions=tuple(provisions)), document, text), notes=notes)
            except InputError as error:
                raise InputError([_at_removal(d, removals) for d in error.diagnostics]) from None
            compiled = self._compiled[key]
            if (self.persistent and not compiled.other_texts and not compiled.notes
                    and all(self._identity(link).startswith("shipped:") for link in chain)):
                store = self._compiled_store()  # read only for the shipped texts: never for a user's file
                if store is not None:
                    store.put(document.data["id"], key[0], tuple(p.day for p in provisions), key, compiled)
        return self._compiled[key]

    def dated_problems(self, document: Document) -> list[Diagnostic]:
        """The errors of ``document`` as in force on each date a provision of it enters into
        force (and on its own date), each said once, with the first such date.

        :meth:`compile` with no day consolidates every provision at once, so it cannot see an
        item that reads, before its date, something that enters into force later; ``eval``
        at that date would fail. Takes a document that :meth:`compile` accepts as a whole; returns
        the diagnostics, raises nothing else.
        """
        own = _date((document.data.get("dates") or {}).get("in_force"))
        if own is None:
            return []
        days = sorted({own} | {p.day for p in self.compile(document).provisions if p.day > own})
        found, seen = [], set()
        for day in days:
            try:
                self.compile(document, day)
            except InputError as error:
                for diagnostic in error.diagnostics:
                    key = (diagnostic.code, diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.message)
                    if diagnostic.is_error and key not in seen:
                        seen.add(key)
                        found.append(dataclasses.replace(diagnostic, text=None, message=msg(
                            "{problem} (in the text as in force on {day})", problem=diagnostic.text,
                            day=day.isoformat())))
        return found

    @staticmethod
    def _consolidated(chain: list, day: datetime.date | None) -> tuple:
        """``(document, notes, removals)``: the chain's texts applied in turn, as in force on ``day``;
        InputError with the errors found."""
        from .amend import consolidate, in_force_view, mission_date_problems

        full, problems, removals = chain[0], [], {}
        for link in chain[1:]:
            full, found, removed = consolidate(full, link, day)
            problems += found
            removals.update({name: (link, path) for name, path in removed.items()})
        problems += mission_date_problems(full)
        notes = tuple(p for p in problems if not p.is_error)  # warnings about the text (W020)
        problems = [p for p in problems if p.is_error]
        if problems:
            raise InputError(problems)
        return in_force_view(full, day), notes, removals

    def consolidated_document(self, id_or_path: str, day: datetime.date | None = None) -> Document:
        """The consolidated text of a ruleset as a document (what ``show --format yaml`` prints);
        the compiled ruleset keeps no document."""
        document = self.document(id_or_path)
        self.compile(document, day)  # every diagnostic of the text, as for any other use
        return self._consolidated(self.chain_of(document), day)[0]

    # -- what the commands ask ---------------------------------------------------------

    def get(self, id_or_path: str, day: datetime.date | None = None) -> Ruleset:
        """A ruleset by shipped id or path, consolidated, as in force on ``day``."""
        if not (looks_like_path(id_or_path) or os.path.exists(id_or_path)):
            found = self._stored(id_or_path, day)
            if found is not None:
                return found
        return self.compile(self.document(id_or_path), day)

    def resolver(self, ruleset_name: str | None = None):
        """``(resolve, change_days)`` of :meth:`timeline` (kept for the callers that need no more)."""
        timeline = self.timeline(ruleset_name)
        return timeline.resolve, timeline.change_days

    def timeline(self, ruleset_name: str | None = None, *, as_if_from: datetime.date | None = None,
                 renewal: bool = False) -> Timeline:
        """Which ruleset applies on each day (see :mod:`.timeline`).

        Without ``ruleset_name``, the enacted text in force on the day. With it, each text
        of its chain from its own in-force date: the texts it amends until its date, then
        it (a proposal amending a proposal: the enacted texts, the first proposal from its
        date, the second from its own). ``as_if_from`` applies the named text from that day
        instead of its own date, an explicit choice the results report. ``renewal`` assumes
        a new contract at each end of the last one a profile states.
        """
        enacted_days = set()
        for ruleset_id in self.known_ids():
            ruleset = self.get(ruleset_id)
            if ruleset.status == "enacted":
                enacted_days |= {start for _, start in ruleset.history} | {p.day for p in ruleset.provisions}
                if ruleset.until is not None:
                    enacted_days.add(ruleset.until + datetime.timedelta(days=1))
        if not ruleset_name:
            return Timeline(self.in_force, enacted_days, renewal=renewal)
        document = self.document(ruleset_name)
        chain = self.chain_of(document)
        full = self.compile(document)
        starts = [start for _, start in full.history]  # the in-force date of each text of the chain
        own = starts[-1]
        if as_if_from is not None:
            starts[-1] = as_if_from
        requested = full.id

        def resolve(day: datetime.date) -> Ruleset:
            # The latest text of the chain in force on the day (a later link may have an
            # earlier date: the latest start wins, the named text on a tie).
            index = max((i for i, start in enumerate(starts) if start <= day),
                        key=lambda i: (starts[i], i), default=None)
            if index is None:
                return self.in_force(day)
            ruleset = self.compile(chain[index], day)
            if index == len(chain) - 1 and as_if_from is not None:
                return self._shifted(ruleset, as_if_from)
            return ruleset

        # Before the chain's first text, the enacted texts: their days count too.
        change_days = set(starts) | {p.day for p in full.provisions} | {d for d in enacted_days if d < min(starts)}
        return Timeline(resolve, change_days, renewal=renewal, requested=requested, own_date=own,
                        as_if_from=as_if_from, enacted=full.status == "enacted")

    def _shifted(self, ruleset: Ruleset, day: datetime.date) -> Ruleset:
        """``ruleset`` read as if in force from ``day`` (one object per pair, for the caches)."""
        key = ("shifted", id(ruleset), day)
        if key not in self._compiled:
            history = ruleset.history[:-1] + ((ruleset.id, day),)
            self._compiled[key] = dataclasses.replace(ruleset, in_force=day, history=history)
        return self._compiled[key]

    def in_force(self, day: datetime.date) -> Ruleset:
        """The enacted ruleset in force on ``day``, consolidated (chosen from the compiled texts)."""
        candidates = [ruleset for ruleset in self._enacted() if ruleset.in_force_on(day)]
        if not candidates:
            known = [msg("{id} (from {day})", id=r.id, day=r.in_force.isoformat()) for r in
                     sorted((self.get(name) for name in self.known_ids()), key=lambda r: r.in_force)]
            raise InputError([Diagnostic("E403", msg("no ruleset is in force on {day}; known rulesets: {known}",
                                                     day=day, known=known))])
        return self.get(max(candidates, key=lambda ruleset: ruleset.in_force).id, day)
