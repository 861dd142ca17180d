"""Rebuild the gettext catalogs of cli/locale from the code: ``python tools/catalogs.py``.

1. Extract every message template of engine/, cli/ and cli/templates/ (``_("...")``): the literal first argument of
   ``msg(...)``, ``Message(...)``, ``_(...)`` and ``N_(...)``, and the --help texts (the
   ``help=`` of each option, the docstring of each command, as click shows it); write
   ``cli/locale/aci_rules.pot``.
2. Update each language's ``.po``: new templates are added (English: the template itself,
   the code's language; French: empty, for a translator), templates no longer in the code
   are dropped, translations kept.
3. Compile each ``.po`` to its ``.mo`` (what the tool reads at run time).

tests/test_i18n.py fails while a template has no French text or a ``.mo`` is stale.
Needs Babel (``pip install -e '.[test]'``).
"""

from __future__ import annotations

import ast
import datetime
import inspect
import io
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOCALE = ROOT / "cli" / "locale"
DOMAIN = "aci_rules"
SOURCES = ("engine", "cli")
# The HTML templates: their texts are written _("...") (a double-quoted literal, no escape).
TEMPLATES = "cli/templates"
TEMPLATE_CALL = re.compile(r'\b_\("([^"\\]*)"\)')
MARKERS = {"msg", "Message", "_", "N_"}
# A --help text: the help of an option or a command, the docstring of a click command.
HELP_KEYWORDS = {"help", "short_help"}
COMMAND_DECORATORS = {"command", "group"}
# The machinery itself passes templates along: the one place a template may be a variable.
MACHINERY = {"engine/diagnostic.py", "cli/i18n.py"}
# A fixed header date: the catalogs change when the messages do, not when the tool runs.
HEADER_DATE = datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc)
LANGUAGES = ("fr", "en")
SOURCE_LANGUAGE = "en"
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:[!:][^{}]*)?\}")


def placeholders(text: str) -> set[str]:
    """The names a template's ``{name}`` fields read.

    >>> sorted(placeholders("taille {size}: {low:>5} to {high!r}"))
    ['high', 'low', 'size']
    """
    return set(PLACEHOLDER.findall(text))


def extract(root: pathlib.Path = ROOT) -> tuple[dict, list]:
    """Templates found in the code -> [(file, line)], and the calls whose template is not a
    literal text (an f-string, a variable): those cannot be in a catalog."""
    found: dict[str, list] = {}
    problems = []
    for folder in SOURCES:
        for path in sorted((root / folder).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                for text, line in _help_texts(node):
                    found.setdefault(text, []).append((str(path.relative_to(root)), line))
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in MARKERS and node.args):
                    continue
                first = node.args[0]
                where = (str(path.relative_to(root)), node.lineno)
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.setdefault(first.value, []).append(where)
                elif where[0] not in MACHINERY:
                    problems.append(where)
    for path in sorted((root / TEMPLATES).glob("*.j2")):
        text = path.read_text(encoding="utf-8")
        for match in TEMPLATE_CALL.finditer(text):
            found.setdefault(match[1], []).append((str(path.relative_to(root)), text.count("\n", 0, match.start()) + 1))
    return found, problems


def _help_texts(node):
    """The --help texts a node gives: (text, line)."""
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if (keyword.arg in HELP_KEYWORDS and isinstance(keyword.value, ast.Constant)
                    and isinstance(keyword.value.value, str)):
                yield keyword.value.value, keyword.value.lineno
    if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call) and (getattr(d.func, "attr", None) or getattr(d.func, "id", None))
            in COMMAND_DECORATORS for d in node.decorator_list):
        docstring = ast.get_docstring(node, clean=False)
        if docstring:
            # As click shows it: cleaned, up to a form feed.
            yield inspect.cleandoc(docstring).partition("\f")[0], node.lineno


def _catalog_module():
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po

    return Catalog, read_po, write_po, write_mo


def po_path(language: str) -> pathlib.Path:
    return LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def compiled(po_file: pathlib.Path) -> bytes:
    """The .mo bytes of a .po file, as this tool writes them."""
    _, read_po, _, write_mo = _catalog_module()
    with po_file.open("rb") as stream:
        catalog = read_po(stream)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def main() -> int:
    Catalog, read_po, write_po, _ = _catalog_module()
    found, problems = extract()
    for file, line in problems:
        print(f"{file}:{line}: a message template must be a literal text", file=sys.stderr)
    template = Catalog(project="aci-rules", domain=DOMAIN, creation_date=HEADER_DATE, revision_date=HEADER_DATE,
                       fuzzy=False)
    for text, places in sorted(found.items()):
        template.add(text, locations=[(f, n) for f, n in places], flags=("python-brace-format",))
    LOCALE.mkdir(parents=True, exist_ok=True)
    with (LOCALE / f"{DOMAIN}.pot").open("wb") as stream:
        write_po(stream, template, omit_header=True, sort_output=True, include_lineno=False, width=100)
    for language in LANGUAGES:
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        old = {}
        if path.exists():
            with path.open("rb") as stream:
                old = {m.id: m.string for m in read_po(stream) if m.id}
        catalog = Catalog(locale=language, project="aci-rules", domain=DOMAIN, creation_date=HEADER_DATE,
                          revision_date=HEADER_DATE, fuzzy=False, copyright_holder="aci-rules")
        for text, places in sorted(found.items()):
            string = old.get(text) or (text if language == SOURCE_LANGUAGE else "")
            catalog.add(text, string, locations=places, flags=("python-brace-format",))
        with path.open("wb") as stream:
            write_po(stream, catalog, omit_header=False, sort_output=True, include_lineno=False, width=100)
        path.with_suffix(".mo").write_bytes(compiled(path))
        missing = sum(1 for text in found if not (old.get(text) or language == SOURCE_LANGUAGE))
        print(f"{path.relative_to(ROOT)}: {len(found)} messages, {missing} to translate")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
