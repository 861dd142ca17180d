"""Many profiles at once: read them from CSV, JSON Lines or a folder, evaluate them fast.

Every profile is checked like a profile file (the same schema, the same messages),
each problem located at its file, line and column (for CSV, the column of the
cell). Evaluation uses :class:`~.fastpath.FastTimeline` (the fast path over time), optionally over several
processes.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import os
import re
import signal
from decimal import Decimal

from .diagnostic import Diagnostic, EvaluationError, InputError, msg, suggest
from .fastpath import FastTimeline
from .profile import compile_profile, validate_profile
from .schema import MAX_YEAR, MIN_YEAR, load_schema
from .library import declared_missions, document_kind
from .paths import yaml_files_in
from .yaml_loader import MAX_NUMBER_DIGITS, Document, _line_col, decode_text, load_document, read_bytes, resolve_plain

__all__ = [
    "ProfileSource", "read_profiles", "csv_columns", "BatchRow", "evaluate_many", "stream_csv", "MAX_BATCH_BYTES",
    "CSV_DIALECTS", "french_cell",
]

# A national file of 1 000 CPTS is about 300 KB; 200 MB leaves room for simulations of
# many variants while refusing a runaway input before reading it.
MAX_BATCH_BYTES = 200 * 1024 * 1024

# How a profiles CSV may be written: "comma" (',' between cells, decimal point, UTF-8), the
# French Excel one ("excel-fr": ';' between cells, decimal comma, dates DD/MM/YYYY, UTF-8 with
# or without BOM or Windows-1252), or "auto": whichever the header row shows.
CSV_DIALECTS = ("auto", "comma", "excel-fr")
_DELIMITER = {"comma": ",", "excel-fr": ";"}
# What the refusal of a CSV says: the dialect found (when another one was named), or the
# separator found that no dialect of ours reads.
_DIALECT_FOUND = {
    "comma": msg("this CSV is in the comma dialect (',' between cells, decimal point): "
                 "read it with --csv-dialect comma (or auto)"),
    "excel-fr": msg("this CSV is in the French Excel dialect (';' between cells, decimal comma): "
                    "read it with --csv-dialect excel-fr (or auto)"),
}
_OTHER_DELIMITERS = {
    "\t": msg("the header row is separated by tabs: a profiles CSV is separated by ',' or, from French "
              "Excel, by ';'"),
    "|": msg("the header row is separated by '|': a profiles CSV is separated by ',' or, from French "
             "Excel, by ';'"),
}

_SIMPLE_FIELDS = ("name", "population", "members", "letter_of_intent_validated", "contract_signed")


@dataclasses.dataclass(frozen=True)
class ProfileSource:
    """One profile read from a batch input, with where it came from."""

    label: str  # file, or file:line for a row
    document: Document
    # True when a typed check derived from the profile schema proved the row valid: the
    # full check (jsonschema) then has nothing to say and is skipped.
    checked: bool = False


def csv_columns(missions, years: int = 5) -> list[str]:
    """The columns a profiles CSV may have, for these mission ids."""
    columns = list(_SIMPLE_FIELDS) + ["crises", "contracts"]
    for mission in missions:
        columns += [f"{mission}_started", f"{mission}_deployed"]
        columns += [f"{mission}_achievement_{k}" for k in range(1, years + 1)]
    return columns


def _read_text(path: str) -> str:
    # The same checks as for a YAML file (regular file, size, NUL, UTF-8), with a batch's size.
    return decode_text(read_bytes(path, path, MAX_BATCH_BYTES), path)


def read_profiles(path: str, missions, csv_dialect: str = "auto") -> list[ProfileSource]:
    """The profiles of a CSV file, a JSON Lines file, or a folder of YAML profiles.

    ``missions`` are the mission ids a CSV column may name; ``csv_dialect`` is one of
    :data:`CSV_DIALECTS` (a CSV in another dialect than the one named is refused with one
    diagnostic that names the dialect found). Reading a folder, the rulesets found beside
    the profiles are texts given with them: their missions are added to ``missions`` when
    it is a set, so that a profile of a proposal's mission is not refused as naming a
    mission no text defines. Raises InputError with every problem of the input's shape
    (unknown columns, bad JSON); the profiles' own problems are for :func:`validate_profile`.
    """
    if os.path.isdir(path):
        sources = []
        files, problems = yaml_files_in(path)
        for full in files:
            try:
                document = load_document(full)
            except InputError as error:
                problems += error.diagnostics
                continue
            kind = document_kind(document)
            if kind == "profile":
                sources.append(ProfileSource(full, document))
            elif kind == "ruleset" and isinstance(missions, set):
                missions |= declared_missions(document)
        if problems:
            raise InputError(problems)
        return sources
    if path.endswith((".jsonl", ".ndjson")):
        return _read_jsonl(path)
    if path.endswith(".csv"):
        return _read_csv(path, missions, csv_dialect)
    raise InputError([Diagnostic("E001", msg("a batch reads a .csv, a .jsonl file, or a folder of YAML profiles"),
                                 path)])


def _read_jsonl(path: str) -> list[ProfileSource]:
    sources, problems = [], []
    # Lines end at '\n' only: a U+2028 inside a JSON string is part of the string.
    for number, text in enumerate(_read_text(path).split("\n"), 1):
        text = text.rstrip("\r")
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant,
                              object_pairs_hook=_no_duplicates)
        except _DuplicateKey as error:
            problems.append(Diagnostic("E008", msg("duplicate key '{key}'", key=error.key), path, number, 1))
            continue
        except RecursionError:
            problems.append(Diagnostic("E009", msg("JSON nested too deeply to be a profile"), path, number, 1))
            continue
        except (json.JSONDecodeError, ValueError) as error:
            column = getattr(error, "colno", 1)
            problems.append(Diagnostic("E003", msg("not a JSON object: {problem}",
                                                   problem=getattr(error, "msg", str(error))),
                                       path, number, column))
            continue
        document = Document(path, data, marks={(): (number, 1)})
        sources.append(ProfileSource(f"{path}:{number}", document))
    if problems:
        raise InputError(problems)
    return sources


class _DuplicateKey(ValueError):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number")


def _header_line(raw: bytes) -> tuple[int, bytes]:
    """The number and text of the first line of ``raw`` neither blank nor a '#' comment."""
    for number, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        if line.strip() and not line.startswith(b"#"):
            return number, line.rstrip(b"\r")
    return 1, b""


def _sniff(header: bytes, known) -> str | None:
    """The dialect a header row is written in, by the separator that splits it into known
    columns: "comma", "excel-fr", a separator no dialect reads, or None (no column known)."""
    # Column names are ASCII: Latin-1 reads any byte, whatever the file's encoding.
    text = header.decode("latin-1")
    counts = {separator: sum(name.strip().strip('"') in known for name in text.split(separator))
              for separator in (",", ";", *_OTHER_DELIMITERS)}
    best = max(counts, key=lambda separator: counts[separator])
    if counts[best] == 0:
        return None
    return {",": "comma", ";": "excel-fr"}.get(best, best)


def _decode_csv(raw: bytes, path: str, windows: bool) -> str:
    """The text of a CSV: UTF-8 (a BOM is accepted), else, when ``windows``, Windows-1252,
    the encoding of French Excel's "CSV (séparateur : point-virgule)"."""
    try:
        return decode_text(raw, path)
    except InputError:
        if not windows or b"\x00" in raw:
            raise
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        line, column = _line_col(raw, exc.start)
        raise InputError([Diagnostic(
            "E002", msg("byte 0x{byte:02x} is neither UTF-8 nor Windows-1252: save the file as UTF-8",
                        byte=raw[exc.start]),
            path, line, column)]) from None


def _csv_dialect(raw: bytes, path: str, known, wanted: str) -> str:
    """The dialect to read ``raw`` in; InputError (E003, one line) when the header shows a
    dialect other than ``wanted``, or a separator no dialect reads."""
    number, header = _header_line(raw)
    found = _sniff(header, known)
    if found in _OTHER_DELIMITERS:
        raise InputError([Diagnostic(
            "E003", _OTHER_DELIMITERS[found], path, number, 1)])
    if found is None:  # no known column at all: the header's own diagnostics say more
        return "comma" if wanted == "auto" else wanted
    if wanted not in ("auto", found):
        raise InputError([Diagnostic(
            "E003", _DIALECT_FOUND[found], path, number, 1)])
    return found


def _read_csv(path: str, missions, wanted: str = "auto") -> list[ProfileSource]:
    problems: list = []
    sources = list(_csv_sources(path, missions, wanted, problems))
    if problems:
        raise InputError(problems)
    return sources


def _csv_sources(path: str, missions, wanted: str, problems: list, on_text=None):
    """The rows of a CSV file as profiles, one at a time; the problems of a row go to ``problems``.

    A row with a problem of reading (E003, E010) is still yielded, after its problems are
    added: the caller decides what it is worth. Raises InputError at once for a problem of
    the header or of the CSV syntax itself, as reading the whole file would. ``on_text``,
    if given, is called with the decoded text and its delimiter before the first row.
    """
    raw = read_bytes(path, path, MAX_BATCH_BYTES)
    known = csv_columns(sorted(missions))
    dialect = _csv_dialect(raw, path, known, wanted)
    # newline="": rows end at '\n' or '\r\n' only, and a quoted cell may hold a line break.
    text = _decode_csv(raw, path, windows=dialect == "excel-fr")
    del raw  # the text alone is held while the rows are read
    if on_text:
        on_text(text, _DELIMITER[dialect])
    stream = io.StringIO(text, newline="")
    skipped = 0
    while True:  # comment lines (a note that the data are synthetic, say) start with '#'
        position = stream.tell()
        line = stream.readline()
        if not line:
            raise InputError([Diagnostic("E004", msg("no header row"), path)])
        if line.strip() and not line.startswith("#"):
            stream.seek(position)
            break
        skipped += 1
    reader = csv.reader(stream, delimiter=_DELIMITER[dialect])
    try:
        yield from _read_csv_rows(reader, path, known, skipped, dialect == "excel-fr", problems)
    except csv.Error as error:
        # A cell over csv.field_size_limit() (128 KiB), a NUL: located at the row reached.
        raise InputError([Diagnostic("E003", msg("not a CSV row: {problem}", problem=str(error)), path,
                                     skipped + reader.line_num, 1)]) from None


def _read_csv_rows(reader, path, known, skipped, french: bool, problems: list):
    header = next(reader)
    header_line = skipped + reader.line_num
    wrong = []
    for column, name in enumerate(header, 1):
        if name in header[:column - 1]:
            wrong.append(Diagnostic("E008", msg("duplicate column '{name}', first at column {first}", name=name,
                                                   first=header.index(name) + 1), path, header_line, column))
        elif name not in known:
            guess = suggest(name, known)
            hint = msg(": did you mean '{guess}'?", guess=guess) if guess else ""
            wrong.append(Diagnostic("E201", msg("unknown column '{name}'{hint}", name=name, hint=hint),
                                       path, header_line, column))
    if wrong:
        raise InputError(wrong)
    wheres = [_csv_path(name) for name in header]  # once per column, not per cell
    checks = [_cell_check(where) for where in wheres]
    required = set(load_schema("profile").get("required", ()))
    previous = reader.line_num
    for row in reader:
        number = skipped + previous + 1  # the line the row starts on
        previous = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(Diagnostic("E003", msg("{count} cells where the header has {expected}",
                                                   count=len(row), expected=len(header)),
                                       path, number, 1))
            continue
        data, marks, styles = {}, {(): (number, 1)}, {}
        valid = True
        for column, (name, cell) in enumerate(zip(header, row), 1):
            cell = cell.strip()
            if cell == "":
                continue
            where = wheres[column - 1]
            if name == "name":
                value = cell
            else:
                value = _csv_value(french_cell(cell) if french else cell, name, path, number, column, problems)
            check = checks[column - 1]
            if valid and (check is None or not check(value)):
                valid = False
            _put(data, where, value)
            marks[where] = (number, column)
            styles[where] = "'" if name == "name" else ""
        if not required.issubset(data):
            valid = False
        yield ProfileSource(f"{path}:{number}", Document(path, data, marks=marks, styles=styles), checked=valid)


_FRENCH_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
# 92000, 92 000 (space, no-break space or narrow no-break space between thousands), 0,8, -1,5
_FRENCH_NUMBER = re.compile(r"([+-]?)([0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+|[0-9]+)(?:,([0-9]+))?")
_FRENCH_PERCENT = re.compile(r"(.+?)[ \u00a0\u202f]?%")


def french_cell(cell: str) -> str:
    """A cell of a French Excel CSV written the way a profile file writes it: a decimal comma
    becomes a point, thousands separators go, a percentage becomes its fraction (exactly,
    digits shifted, never through a float), a date DD/MM/YYYY becomes YYYY-MM-DD. Anything
    else (dates already ISO, a list of crises, a typo) is left for the usual checks.

    >>> french_cell("0,85"), french_cell("92 000"), french_cell("85 %"), french_cell("12,5%")
    ('0.85', '92000', '0.85', '0.125')
    >>> french_cell("01/06/2022"), french_cell("2022-06-01"), french_cell("1.000,5")
    ('2022-06-01', '2022-06-01', '1.000,5')
    """
    match = _FRENCH_DATE.fullmatch(cell)
    if match:
        return f"{match[3]}-{match[2]}-{match[1]}"
    percent = _FRENCH_PERCENT.fullmatch(cell)
    number = _FRENCH_NUMBER.fullmatch(percent[1] if percent else cell)
    if not number:
        return cell
    digits = re.sub(r"[ \u00a0\u202f]", "", number[2])
    text = f"{number[1]}{digits}" + (f".{number[3]}" if number[3] is not None else "")
    if percent:
        # x % is x / 100: shift the digits, as a decimal string (no float, no rounding).
        return format(Decimal(text).scaleb(-2), "f")
    return text


def _csv_path(column: str) -> tuple:
    if column in _SIMPLE_FIELDS or column in ("crises", "contracts"):
        return (column,)
    if "_achievement_" in column:
        mission, year = column.rsplit("_achievement_", 1)
        return ("missions", mission, "achievement", year)
    mission, field = column.rsplit("_", 1)
    return ("missions", mission, field)


def _csv_value(cell: str, name: str, path, line, column, problems):
    if name == "contracts":  # the later contracts' signature dates, separated by ';'
        return [{"signed": day.strip()} for day in cell.split(";") if day.strip()]
    if name == "crises":
        # Dates separated by ';' (by ',' too: a date holds neither), each ISO or DD/MM/YYYY.
        return [{"declared": _FRENCH_DATE.sub(r"\3-\2-\1", day.strip())}
                for day in re.split(r"[;,]", cell) if day.strip()]
    # The common shapes first, typed exactly as resolve_plain types them (no problem possible):
    # a plain integer or decimal of at most MAX_NUMBER_DIGITS digits, a date (kept as text).
    if _PLAIN_INT.fullmatch(cell):
        return int(cell)
    if len(cell) <= MAX_NUMBER_DIGITS + 1 and _PLAIN_DECIMAL.fullmatch(cell):
        return Decimal(cell)
    if _DATE.fullmatch(cell):
        return cell
    value, problem = resolve_plain(cell)
    if problem:
        problems.append(Diagnostic("E010", problem, path, line, column))
    return value


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PLAIN_INT = re.compile(f"0|[1-9][0-9]{{0,{MAX_NUMBER_DIGITS - 1}}}")
_PLAIN_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]+")
# The keywords a leaf of the profile schema may use for the typed check to stand for it;
# any other keyword leaves the column to jsonschema.
_UNDERSTOOD = {"type", "minimum", "maximum", "minLength", "pattern", "format", "description"}


def _schema_at(where: tuple):
    """The profile schema's node for a document path, ``$ref`` resolved; None if not found."""
    schema = load_schema("profile")
    node = schema
    for key in where:
        if "properties" in node and key in node["properties"]:
            node = node["properties"][key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
        if "$ref" in node:
            node = _resolve_ref(schema, node)
    return node


def _resolve_ref(schema, node):
    ref = node["$ref"]
    if not ref.startswith("#/"):
        return {"$ref": ref}  # not understood: left to jsonschema
    target = schema
    for part in ref[2:].split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _cell_check(where: tuple):
    """A predicate true only for a cell value the full profile check would accept, or None.

    Derived from the profile schema's node for the column. It may say False for a valid
    value (the row then goes through jsonschema, which is never wrong), never True for an
    invalid one: it is stricter than the schema (plus the calendar's year range, E205).
    """
    if where == ("crises",):
        node = _schema_at(("crises",))
        item = (node or {}).get("items", {})
        if (node or {}).get("type") != "array" or set(item.get("required", ())) != {"declared"}:
            return None
        declared = _leaf_check(_resolve_ref(load_schema("profile"), item["properties"]["declared"]))
        if declared is None:
            return None
        return lambda value: (type(value) is list
                              and all(type(c) is dict and c.keys() == {"declared"} and declared(c["declared"])
                                      for c in value))
    node = _schema_at(where)
    return None if node is None else _leaf_check(node)


def _leaf_check(node: dict):
    if not set(node) <= _UNDERSTOOD:
        return None
    kind, low, high = node.get("type"), node.get("minimum"), node.get("maximum")

    def bounded(value):
        return (low is None or value >= low) and (high is None or value <= high)

    if kind == "integer":
        return lambda value: type(value) is int and bounded(value)
    if kind == "number":
        return lambda value: (type(value) is int or (type(value) is Decimal and value.is_finite())) \
            and bounded(value)
    if kind != "string" or not set(node) <= {"type", "minLength", "pattern", "format", "description"}:
        return None
    shortest = node.get("minLength", 0)
    if "pattern" in node or "format" in node:
        if node.get("format") != "date" or node.get("pattern") != "^[0-9]{4}-[0-9]{2}-[0-9]{2}(?!\\n)$":
            return None
        return _is_date
    # A free text that looks like a date is checked for the calendar's year range: left to jsonschema.
    return lambda value: type(value) is str and len(value) >= shortest and not _DATE.fullmatch(value)


def _is_date(value) -> bool:
    if type(value) is not str or not _DATE.fullmatch(value):
        return False
    try:
        year = datetime.date.fromisoformat(value).year
    except ValueError:
        return False
    return MIN_YEAR <= year <= MAX_YEAR


def _put(data: dict, where: tuple, value):
    node = data
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = value


@dataclasses.dataclass(frozen=True)
class BatchRow:
    source: str
    name: str
    ruleset: str
    size: int | None
    contract_year: int | None
    total: Decimal
    missions: dict  # mission id (or "" for lines of no mission) -> amount
    lines: dict  # line id -> amount
    out_of_contract: str | None = None  # why there is no contract year: "not_signed" or "ended"

    def to_dict(self) -> dict:
        return {"source": self.source, "name": self.name, "ruleset": self.ruleset, "size": self.size,
                "contract_year": self.contract_year, "out_of_contract": self.out_of_contract,
                "total": str(self.total),
                "missions": {k: str(v) for k, v in self.missions.items()},
                "lines": {k: str(v) for k, v in self.lines.items()}}


def check_profiles(sources, known_missions) -> list:
    """Every problem of every profile (the same checks as for a profile file)."""
    problems = []
    for source in sources:
        if not source.checked:
            problems += validate_profile(source.document, known_missions)
    return problems


def _row(fast: FastTimeline, source: ProfileSource, day: datetime.date) -> BatchRow:
    profile = compile_profile(source.document)
    ruleset, result = fast.run(profile, day)
    missions: dict = {}
    mission_of = fast.mission_of
    for line_id, amount in result.amounts.items():
        key = mission_of.get(line_id) or ""
        missions[key] = missions.get(key, Decimal(0)) + amount
    out = None
    if result.contract_year is None:
        out = "not_signed" if profile.contract_signed is None or day < profile.contract_signed else "ended"
    return BatchRow(source.label, profile.name, ruleset.id, result.size, result.contract_year,
                    result.total, missions, result.amounts, out)


def evaluate_many(fast: FastTimeline, sources, day: datetime.date, *, jobs: int = 1, progress=None,
                  timeline_spec: tuple = (None, None, False)):
    """One row per profile, in input order. Raises InputError with every evaluation failure.

    Each row is the entitlement of the contract year holding ``day`` (see :mod:`.timeline`).
    With ``jobs`` > 1 the profiles are spread over that many processes; each builds its
    own timeline from ``timeline_spec`` (ruleset name, as-if-in-force-from date, renewal).
    """
    rows, problems = [], []

    def collect(outcomes):
        for outcome in outcomes:
            if isinstance(outcome, BatchRow):
                rows.append(outcome)
            else:
                problems.extend(outcome)
            if progress:
                progress(1)

    if jobs > 1 and len(sources) > 1:
        import multiprocessing

        chunk = max(1, len(sources) // (jobs * 8))
        # Ctrl-C reaches every process of the terminal's group: the workers start with SIGINT
        # ignored (a spawned Python then installs no KeyboardInterrupt of its own), so only this
        # process is interrupted, and leaving the pool terminates them.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            pool = multiprocessing.get_context("spawn").Pool(
                jobs, initializer=_init_worker, initargs=(timeline_spec, day))
        finally:
            signal.signal(signal.SIGINT, previous)
        try:
            collect(pool.imap(_work, sources, chunksize=chunk))
        except KeyboardInterrupt:
            _abandon(pool)
            raise
        pool.close()
        pool.join()
    else:
        collect(_evaluate_one(fast, source, day) for source in sources)
    if problems:
        raise InputError(problems)
    return rows


def stream_csv(fast: FastTimeline, path: str, known_missions, day: datetime.date, emit, *, progress=None,
               csv_dialect: str = "auto") -> None:
    """Read, check and evaluate a CSV file's profiles row by row; ``emit`` each row as it comes.

    Only the current row is held, not the file's profiles. The problems are those of
    :func:`read_profiles`, :func:`check_profiles` and :func:`evaluate_many` in turn, and
    the first kind found is raised (InputError), as when the stages run one after the
    other: after a problem no row is emitted, but reading goes on to report them all.
    ``progress(count)``, called once with the number of rows, may return a callable
    called once per row.
    """
    read, checked, failed = [], [], []
    bar = []

    def counted(text, delimiter):
        if progress:
            bar.append(progress(_count_rows(text, delimiter)))

    for source in _csv_sources(path, known_missions, csv_dialect, read, counted):
        if bar and bar[0]:
            bar[0](1)
        if read:
            continue
        if not source.checked:
            found = validate_profile(source.document, known_missions)
            if found:
                checked += found
                continue
        if checked:
            continue
        outcome = _evaluate_one(fast, source, day)
        if not isinstance(outcome, BatchRow):
            failed += outcome
        elif not failed:
            emit(outcome)
    for problems in (read, checked, failed):
        if problems:
            raise InputError(problems)


def _count_rows(text: str, delimiter: str) -> int:
    """The rows a CSV text holds past its header (a cheap pass, for a progress bar)."""
    lines = (line for line in io.StringIO(text, newline="") if line.strip() and not line.startswith("#"))
    try:
        return max(0, sum(1 for row in csv.reader(lines, delimiter=delimiter) if any(cell.strip() for cell in row)) - 1)
    except csv.Error:
        return 0  # the reading pass reports it, at its row


def _abandon(pool) -> None:
    """End an interrupted pool's workers at once and drop it.

    ``Pool.terminate`` (and the finaliser that runs it at exit) can wait forever on the
    queue lock of a worker it stopped mid-read: the workers are killed here, and the
    finaliser cancelled, so that an interrupted batch exits at once.
    """
    from multiprocessing import pool as pools

    # First stop the thread that replaces dead workers, or it would start new ones.
    pool._worker_handler._state = pools.TERMINATE  # noqa: SLF001 — no public way to stop it alone
    pool._change_notifier.put(None)  # noqa: SLF001
    pool._worker_handler.join(timeout=5)  # noqa: SLF001
    for worker in pool._pool:  # noqa: SLF001 — the pool has no public list of its processes
        worker.kill()
    for worker in pool._pool:  # noqa: SLF001
        worker.join(timeout=5)
    pool._terminate.cancel()  # noqa: SLF001


def _evaluate_one(fast, source, day):
    try:
        return _row(fast, source, day)
    except EvaluationError as error:
        return error.diagnostics


_WORKER: dict = {}


def _init_worker(timeline_spec, day):
    from .library import Library

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent is the one interrupted

    ruleset_name, as_if_from, renewal = timeline_spec
    timeline = Library().timeline(ruleset_name, as_if_from=as_if_from, renewal=renewal)
    _WORKER["fast"], _WORKER["day"] = FastTimeline(timeline), day


def _work(source):
    return _evaluate_one(_WORKER["fast"], source, _WORKER["day"])
