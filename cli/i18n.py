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
import importlib.resources
import os

import click

from aci_rules.engine.diagnostic import Diagnostic, Message

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "DOMAIN", "_", "language", "use_language", "language_from_environment",
           "render", "lang_option"]

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
        resource = importlib.resources.files("aci_rules.cli").joinpath("locale", code, "LC_MESSAGES", f"{DOMAIN}.mo")
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
    help="The language of reports, warnings and errors: fr (default) or en. Default: the locale "
         "(LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else fr.")
