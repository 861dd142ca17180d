"""The reader's language: French by default, English on request, through gettext catalogs.

Every text a person reads (reports, warnings, errors) is written in the code as an
English template, the gettext msgid; ``cli/locale/<lang>/LC_MESSAGES/aci_rules.mo``
holds each language's texts (the ``.po`` beside it is their source, ``aci_rules.pot`` the
list of msgids; ``python tools/catalogs.py`` rebuilds all three from the code, and a test
checks that they are complete and fresh). Codes (E201, W004), JSON keys and JSON messages
do not change with the language.

The language is, first found: ``--lang``, then the locale (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``, as gettext reads them), then French. A locale that names no
language of ours (``C``, ``de_DE``) leaves French.
"""

from __future__ import annotations

import gettext
import inspect
import os

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.types

from aci_rules import package_files
from aci_rules.engine.diagnostic import Diagnostic, Message

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "DOMAIN", "_", "N_", "language", "use_language",
           "language_from_environment", "render", "lang_option", "language_in_arguments", "HelpContext",
           "help_text", "short_help", "EXAMPLES_HEADING"]

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
DOMAIN = "aci_rules"
_LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_catalogs: dict[str, gettext.NullTranslations] = {}
_current = {"language": DEFAULT_LANGUAGE}


def language_from_environment(environ=None) -> str:
    """The first language of ours the locale variables name, else French.

    >>> language_from_environment({"LANG": "en_GB.UTF-8"})
    'en'
    >>> language_from_environment({"LANGUAGE": "de:en", "LANG": "fr_FR.UTF-8"})
    'en'
    >>> language_from_environment({"LC_ALL": "C.UTF-8", "LANG": "en_US.UTF-8"})
    'fr'
    """
    environ = os.environ if environ is None else environ
    # As gettext: the first variable set is the one read, a ':'-separated list of preferences.
    value = next((environ[v] for v in _LOCALE_VARIABLES if environ.get(v)), "")
    for entry in value.split(":"):
        code = entry.split(".")[0].split("@")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def _catalog(code: str) -> gettext.NullTranslations:
    if code not in _catalogs:
        resource = package_files("aci_rules.cli").joinpath("locale", code, "LC_MESSAGES", f"{DOMAIN}.mo")
        with resource.open("rb") as stream:
            _catalogs[code] = gettext.GNUTranslations(stream)
    return _catalogs[code]


def use_language(code: str | None = None) -> str:
    """Speak ``code`` from now on (None: the locale's language); returns the language chosen."""
    _current["language"] = code if code in LANGUAGES else language_from_environment()
    return _current["language"]


def language() -> str:
    return _current["language"]


def _(template: str) -> str:
    """``template`` (an English msgid) in the current language."""
    return _catalog(_current["language"]).gettext(template)


def N_(template: str) -> str:
    """Mark ``template`` for the catalogs and keep it English: a text translated later, where it
    is shown (a --help text is written when the module is imported, before --lang is read)."""
    return template


def render(item) -> str:
    """A Diagnostic (``file:line:col: CODE message``), a Message or a text, in the current language."""
    if isinstance(item, Diagnostic):
        return item.render(_)
    if isinstance(item, Message):
        return item.render(_)
    return _(item)


def _set_language(ctx, param, value):
    if value is not None:
        use_language(value)
    return value


lang_option = click.option(
    "--lang", type=click.Choice(LANGUAGES), expose_value=False, is_eager=True, callback=_set_language,
    help="The language of reports, warnings and errors, and of this help: fr or en. Default: the locale "
         "(LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else fr.")


def language_in_arguments(args) -> str | None:
    """The language a command line asks for with --lang, wherever it stands (``--help`` may come
    before it, and is answered as soon as it is read).

    >>> language_in_arguments(["eval", "--help", "--lang", "en"]), language_in_arguments(["--lang=fr"])
    ('en', 'fr')
    >>> language_in_arguments(["eval", "--", "--lang", "en"]) is None
    True
    """
    for index, argument in enumerate(args):
        if argument == "--":
            return None
        value = args[index + 1] if argument == "--lang" and index + 1 < len(args) else (
            argument.partition("=")[2] if argument.startswith("--lang=") else None)
        if value in LANGUAGES:
            return value
    return None


# --- click's own words (usage, headings, its errors) and the --help texts -----------------------
#
# click asks gettext for its words; they are sent to our catalogs instead, so that "Usage:",
# "Options" or "Missing argument" follow --lang as the rest does. These are click's msgids we
# translate (the others stay as click writes them).
CLICK_TEXTS = (
    N_("Usage:"), N_("Options"), N_("Commands"), N_("Show this message and exit."), N_("Show the version and exit."),
    N_("default: {default}"), N_("required"), N_("Error: {message}"), N_("Try '{command} {option}' for help."),
    N_("Invalid value for {param_hint}: {message}"), N_("Invalid value: {message}"), N_("Missing argument"),
    N_("Missing option"), N_("Missing parameter"), N_("Missing {param_type}"), N_("No such option {name!r}."),
    N_("No such command {name!r}."), N_("Missing command."), N_("Aborted!"),
    N_("Got unexpected extra argument ({args})"), N_("Got unexpected extra arguments ({args})"),
    N_("Option {name!r} requires an argument."), N_("Option {name!r} requires {nargs} arguments."),
    N_("Option {name!r} does not take a value."), N_("{value!r} is not {choice}."),
    N_("{value!r} is not one of {choices}."), N_("Did you mean {possibility}?"),
    N_("(Did you mean one of: {possibilities}?)"), N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."), N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a directory."), N_("{name} {filename!r} is a file."), N_("file"), N_("directory"),
    N_("path"), N_("Missing parameter: {param_name}"),
)
EXAMPLES_HEADING = N_("Examples:")


def _click_gettext(text: str) -> str:
    return _(text)


def _click_ngettext(singular: str, plural: str, count: int) -> str:
    return _(singular if count == 1 else plural)


for _module in (click.core, click.exceptions, click.formatting, click.parser, click.types):
    if getattr(_module, "_", None) is gettext.gettext:
        _module._ = _click_gettext
    if getattr(_module, "ngettext", None) is gettext.ngettext:
        _module.ngettext = _click_ngettext
# click's decorators write their help texts once, when an option is made (a command's --help
# option is made once per process): kept English there, they are translated where shown.
if getattr(click.decorators, "_", None) is gettext.gettext:
    click.decorators._ = N_


def help_text(text: str) -> str:
    """A --help text (a command's docstring, an option's help, an epilog) in the current language."""
    if text.startswith("\b\n" + EXAMPLES_HEADING):
        return "\b\n" + _(EXAMPLES_HEADING) + text[len(EXAMPLES_HEADING) + 2:]
    return _(text)


class _HelpFormatter(click.HelpFormatter):
    """click's formatter, writing each help text in the current language."""

    def write_text(self, text: str) -> None:
        super().write_text(help_text(text))

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}" + _("{heading}:").format(heading=heading) + "\n")

    def write_dl(self, rows, *args, **kwargs) -> None:
        translated = []
        for term, description in rows:
            # An option's help ends with click's "  [default: ...]", translated on its own.
            cut = description.rfind("  [") if description.endswith("]") else -1
            if cut < 0 and description.startswith("[") and description.endswith("]"):
                cut = 0
            main, extras = (description[:cut], description[cut:]) if cut >= 0 else (description, "")
            translated.append((term, (help_text(main) if main else "") + extras))
        super().write_dl(translated, *args, **kwargs)


class HelpContext(click.Context):
    """A context whose --help speaks the current language."""

    formatter_class = _HelpFormatter


def short_help(command, limit: int) -> str:
    """A command's one-line help in the group's list, in the current language."""
    if command.short_help:
        return help_text(command.short_help)
    text = inspect.cleandoc(command.help or "").partition("\f")[0]
    return click.Command(command.name, help=help_text(text)).get_short_help_str(limit)
