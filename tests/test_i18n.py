"""One language for a reader: French by default, English on request, codes unchanged.

The catalogs (cli/locale) are checked against the code: every template the code uses is in
both languages, with the same named fields; no catalog keeps a template the code dropped;
each compiled .mo says what its .po says. A message written as an f-string (which no
catalog can hold) fails here too.
"""

from __future__ import annotations

import ast
import gettext
import json
import pathlib
import subprocess
import sys

import pytest

from aci_rules.engine.mutate import NAME_MEANINGS
from conftest import EXAMPLES, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import catalogs  # noqa: E402  (tools/catalogs.py: the extractor the catalogs are built with)

babel = pytest.importorskip("babel")  # the test extra installs it
from babel.messages.pofile import read_po  # noqa: E402

PROFILE = EXAMPLES / "cpts-2019-taille-3.yaml"


def po_entries(language: str) -> dict:
    with catalogs.po_path(language).open("rb") as stream:
        return {m.id: m for m in read_po(stream) if m.id}


TEMPLATES, NOT_LITERAL = catalogs.extract()


# -- the catalogs and the code -----------------------------------------------------------

def test_every_message_template_is_a_literal_text():
    assert NOT_LITERAL == [], "a template given as a variable or an f-string cannot be translated"


@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_every_template_of_the_code_is_translated(language):
    entries = po_entries(language)
    missing = sorted(t for t in TEMPLATES if t not in entries or not entries[t].string)
    assert missing == [], f"no {language} text for: {missing[:10]} (run python tools/catalogs.py, translate)"
    fuzzy = sorted(t for t in TEMPLATES if entries[t].fuzzy)
    assert fuzzy == []


@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_no_catalog_keeps_a_template_the_code_dropped(language):
    assert sorted(set(po_entries(language)) - set(TEMPLATES)) == []


@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_each_translation_fills_the_same_fields(language):
    for template, entry in po_entries(language).items():
        assert catalogs.placeholders(entry.string) == catalogs.placeholders(template), template


@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_each_compiled_catalog_is_fresh(language):
    """The .mo the tool reads holds exactly the .po's texts (python tools/catalogs.py rebuilds it)."""
    with catalogs.po_path(language).with_suffix(".mo").open("rb") as stream:
        compiled = gettext.GNUTranslations(stream)._catalog
    written = {template: entry.string for template, entry in po_entries(language).items()}
    assert {k: v for k, v in compiled.items() if k} == written


def test_the_pot_lists_the_templates_of_the_code():
    with (catalogs.LOCALE / "aci_rules.pot").open("rb") as stream:
        assert {m.id for m in read_po(stream) if m.id} == set(TEMPLATES)


def _message_arguments(tree):
    """The message argument of each call that names a diagnostic code first: ('E201', msg)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            first = node.args[0]
            if (isinstance(first, ast.Constant) and isinstance(first.value, str) and len(first.value) == 4
                    and first.value[0] in "EW" and first.value[1:].isdigit()):
                yield node.lineno, node.args[1]


@pytest.mark.parametrize("path", sorted(
    str(p.relative_to(ROOT)) for folder in ("engine", "cli") for p in (ROOT / folder).glob("*.py")))
def test_diagnostics_are_built_from_templates(path):
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    plain = [line for line, argument in _message_arguments(tree)
             if isinstance(argument, ast.JoinedStr) or (isinstance(argument, ast.Constant)
                                                         and isinstance(argument.value, str))]
    assert plain == [], f"{path}: messages at lines {plain} are plain texts: write msg('...', name=value)"


# -- what a reader sees ------------------------------------------------------------------

def test_french_is_the_default(run_cli):
    result = run_cli("eval", PROFILE, "--date", "2021-03-01")
    assert "évaluation au 2021-03-01" in result.stdout and "Texte appliqué" in result.stdout
    assert "Année de contrat" in result.stdout and "370 000,00 €" in result.stdout  # 2019, taille 3


def test_english_on_request(run_cli):
    result = run_cli("eval", PROFILE, "--date", "2021-03-01", "--lang", "en")
    assert result.exit_code == 0
    assert "evaluation on 2021-03-01" in result.stdout and "Text applied" in result.stdout
    assert "Contract year" in result.stdout and "évaluation" not in result.stdout
    assert "€370,000.00" in result.stdout  # the 2019 taille-3 total, written the English way


def test_the_group_takes_lang_too(run_cli):
    assert "Text applied" in run_cli("--lang", "en", "eval", PROFILE, "--date", "2021-03-01").stdout


@pytest.mark.parametrize("environment, expected", [
    ({"LANG": "en_GB.UTF-8"}, "en"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"),
    ({"LANGUAGE": "en", "LC_ALL": "C.UTF-8"}, "en"),
    ({"LANGUAGE": "de:en"}, "en"),
    ({"LANG": "fr_FR.UTF-8"}, "fr"),
    ({"LC_ALL": "C.UTF-8", "LANG": "en_US.UTF-8"}, "fr"),  # the first set is the one read
    ({"LANG": "de_DE.UTF-8"}, "fr"),
    ({}, "fr"),
])
def test_the_locale_chooses_the_language(environment, expected):
    from aci_rules.cli.i18n import language_from_environment

    assert language_from_environment(environment) == expected


def test_the_locale_of_the_process_is_read_and_lang_overrides_it(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    command = [sys.executable, "-m", "aci_rules", "eval", str(PROFILE), "--date", "2021-03-01"]
    english = subprocess.run(command, env={**env, "LANG": "en_US.UTF-8"}, capture_output=True, text=True,
                             cwd=tmp_path)
    assert "Text applied" in english.stdout, english.stderr
    french = subprocess.run(command + ["--lang", "fr"], env={**env, "LANG": "en_US.UTF-8"}, capture_output=True,
                            text=True, cwd=tmp_path)
    assert "Texte appliqué" in french.stdout, french.stderr


def test_warnings_are_in_the_language_of_the_report_with_their_codes(run_cli, write):
    # A mission of a text not in force yet on the date (avenant 2's crisis mission, from 2022-09-03).
    # Its contract year 1 (2021-06-01 to 2022-05-31) ends before the mission's text enters into force.
    profile = write("p.yaml", "name: CPTS A\npopulation: 92000\ncontract_signed: 2021-06-01\n"
                              "missions:\n  crises_sanitaires: {started: 2021-06-01}\n")
    french = " ".join(run_cli("eval", profile, "--date", "2022-05-01").stdout.split())  # lines are wrapped
    assert ("W004 la mission 'crises_sanitaires' n'est pas en vigueur le 2022-05-01 : elle s'applique à "
            "partir du 2022-09-03 (avenant-2) ; ignorée jusque-là") in french
    english = " ".join(run_cli("eval", profile, "--date", "2022-05-01", "--lang", "en").stdout.split())
    assert ("W004 mission 'crises_sanitaires' is not in force on 2022-05-01: it applies from 2022-09-03 "
            "(avenant-2); ignored until then") in english


def test_errors_on_stderr_follow_the_language_and_json_keeps_english(run_cli, write):
    path = write("rows.csv", "name,populaton\nCPTS A,30000\n")
    french = run_cli("batch", path, "--date", "2024-06-01")
    assert f"{path}:1:2: E201 colonne inconnue 'populaton' : vouliez-vous dire 'population' ?" in french.stderr
    english = run_cli("batch", path, "--date", "2024-06-01", "--lang", "en")
    assert f"{path}:1:2: E201 unknown column 'populaton': did you mean 'population'?" in english.stderr
    document = json.loads(run_cli("eval", write("bad.yaml", "name: A\npopulaton: 3\n"), "--date", "2022-06-01",
                                  "--format", "json").stdout)
    assert all(error["code"].startswith("E") for error in document["errors"])
    assert any("population" in error["message"] and "champ" not in error["message"] for error in document["errors"])


def test_command_line_errors_speak_the_language(run_cli):
    french = run_cli("eval", PROFILE, "--date", "2022-13-01")
    assert french.exit_code == 2 and "n'est pas une date du calendrier" in french.stderr
    english = run_cli("eval", PROFILE, "--date", "2022-13-01", "--lang", "en")
    assert english.exit_code == 2 and "is not a date of the calendar" in english.stderr


def test_schedule_shows_the_statuses_eval_shows(run_cli):
    profile = EXAMPLES / "cpts-avenant-2-taille-4.yaml"
    schedule = run_cli("schedule", profile).stdout
    assert "tenue (met)" in schedule and "manquée (missing)" in schedule
    assert " met\n" not in schedule and " missing\n" not in schedule
    english = run_cli("schedule", profile, "--lang", "en").stdout
    obligations = english.split("Obligations on", 1)[1].split("\n\n", 1)[0]
    assert obligations.rstrip().endswith(("met", "missing", "late", "pending")), obligations


def test_the_codes_do_not_change_with_the_language(run_cli, write):
    profile = write("p.yaml", "name: A\npopulation: 92000\nmissions:\n  crises_sanitaires: {started: 2022-06-01}\n")
    codes = []
    for language in ("fr", "en"):
        output = run_cli("eval", profile, "--date", "2022-06-01", "--lang", language).stdout
        codes.append(sorted(word for word in output.split() if word[:1] in "EW" and word[1:].isdigit()))
    assert codes[0] == codes[1] and "W004" in codes[0]


PROPOSAL = ("id: essai\ntitle: Essai\nkind: proposal\nstatus: proposal\namends: avenant-2\nreference: Essai\n"
            "dates:\n  in_force: 2024-01-01\nchanges:\n")


@pytest.mark.parametrize("changes, french, english", [
    # engine/amend.py
    ("  lines:\n    remove: [fonctionnement_fixe]\n",
     "E307 retire 'fonctionnement_fixe' (ligne), absent de avenant-2 (vouliez-vous dire 'fonctionnement' ?)",
     "E307 removes line 'fonctionnement_fixe', which avenant-2 does not have (did you mean 'fonctionnement'?)"),
    # engine/expressions.py, placed by engine/compiler.py
    ("  definitions:\n    set:\n      essai: populaton * 2\n",
     "E102 nom inconnu 'populaton' (vouliez-vous dire 'population' ?) dans changes.definitions.set.essai",
     "E102 unknown name 'populaton' (did you mean 'population'?) in changes.definitions.set.essai"),
    ("  definitions:\n    set:\n      essai: population % 2\n",
     "E103 '%' (modulo, mise en forme de texte) n'est pas permis dans changes.definitions.set.essai",
     "E103 '%' (modulo, string formatting) is not allowed in changes.definitions.set.essai"),
    # engine/compiler.py
    ("  definitions:\n    set:\n      essai: essai + 1\n",
     "E105 'essai' se lit lui-même", "E105 'essai' reads itself"),
])
def test_the_ruleset_author_reads_the_diagnostics_in_the_language(run_cli, write, changes, french, english):
    path = write("essai.yaml", PROPOSAL + changes)
    assert french in " ".join(run_cli("validate", path).stderr.split())
    assert english in " ".join(run_cli("validate", path, "--lang", "en").stderr.split())


def test_a_text_applied_out_of_its_dates_is_said_in_the_language(run_cli):
    args = ("eval", PROFILE, "--date", "2021-03-01", "--ruleset", "avenant-2")
    assert ("W008 avenant-2 entre en vigueur le 2022-04-01 : le 2021-03-01, le texte appliqué est aci-2019"
            in " ".join(run_cli(*args).stdout.split()))
    assert ("W008 avenant-2 enters into force on 2022-04-01: on 2021-03-01 the text applied is aci-2019"
            in " ".join(run_cli(*args, "--lang", "en").stdout.split()))
    forced = args + ("--as-if-in-force-from", "2021-01-01")
    assert ("W009 avenant-2 est appliqué comme s'il était en vigueur depuis le 2021-01-01"
            in " ".join(run_cli(*forced).stdout.split()))
    assert ("W009 avenant-2 is applied as if in force from 2021-01-01, outside its own dates"
            in " ".join(run_cli(*forced, "--lang", "en").stdout.split()))


def test_an_evaluation_error_is_said_in_the_language(run_cli, write):
    path = write("essai.yaml", PROPOSAL + "  definitions:\n    set:\n      essai: population / (members - members)\n"
                 "  lines:\n    change:\n      - id: fonctionnement\n        amount: essai\n")
    french = " ".join(run_cli("eval", PROFILE, "--date", "2024-06-01", "--ruleset", path).stderr.split())
    english = " ".join(run_cli("eval", PROFILE, "--date", "2024-06-01", "--ruleset", path, "--lang", "en").stderr.split())
    assert "E401 division par zéro" in french and "E401 division by zero" in english, (french, english)


def test_a_helper_s_reason_is_said_in_the_language(run_cli, write):
    """The reason a helper gives inside an E402 follows the language too (not English inside French)."""
    path = write("essai.yaml", PROPOSAL + "  definitions:\n    set:\n      essai: add_months(date, members / 3)\n"
                 "  lines:\n    change:\n      - id: fonctionnement\n        runs_from: essai\n")
    french = " ".join(run_cli("eval", PROFILE, "--date", "2024-06-01", "--ruleset", path).stderr.split())
    english = " ".join(run_cli("eval", PROFILE, "--date", "2024-06-01", "--ruleset", path, "--lang", "en").stderr.split())
    assert "E402" in french and "prend un nombre entier de mois" in french and "takes" not in french, french
    assert "takes a whole number of months" in english, english


# -- --help ------------------------------------------------------------------------------

def _help_commands():
    import click

    from aci_rules.cli.base import cli

    return [None] + sorted(cli.list_commands(click.Context(cli)))


@pytest.mark.parametrize("name", _help_commands())
def test_help_speaks_the_language_wherever_lang_stands(run_cli, name):
    """Every --help text (the command's, each option's, click's own words) is in the catalogs:
    French by default, English with --lang en, before or after --help."""
    import click

    from aci_rules.cli.base import cli
    from aci_rules.cli.i18n import _, use_language

    command = cli.get_command(click.Context(cli), name) if name else cli
    words = [name] if name else []
    french = run_cli(*words, "--help").stdout
    english = [run_cli(*words, "--help", "--lang", "en").stdout, run_cli(*words, "--lang", "en", "--help").stdout]
    assert french.startswith("Usage :") and "Exemples :" in french and "Afficher cette aide et quitter." in french
    for text in english:
        assert text.startswith("Usage:") and "Examples:" in text and "Show this message and exit." in text
    flat = {language: " ".join(text.split()) for language, text in (("fr", french), ("en", english[0]))}
    for param in command.params:
        if getattr(param, "help", None):
            use_language("fr")
            assert " ".join(_(param.help).split()) in flat["fr"], param.help
            assert param.help != _(param.help) or param.help in CLICK_SAME, param.help  # translated
            use_language("en")
            assert " ".join(param.help.split()) in flat["en"], param.help
    use_language(None)


CLICK_SAME = set()  # help texts written alike in both languages (none today)


def test_click_s_own_errors_follow_the_language(run_cli):
    french = run_cli("eval", "--format", "foo", "x")
    assert french.exit_code == 2 and "Erreur : Valeur invalide pour '--format'" in french.stderr
    english = run_cli("eval", "--format", "foo", "x", "--lang", "en")
    assert "Error: Invalid value for '--format'" in english.stderr
    assert "Argument manquant 'PROFILE'" in run_cli("eval").stderr


# -- one language per output --------------------------------------------------------------

def _catalog_texts(language: str) -> set:
    """Whole texts of a language that the other does not share: long enough and without fields
    to be recognised inside an output, and written differently in the other language."""
    texts = set()
    # What a name of the profile means (``the last day of a contract year``), said by test --mutate's
    # hints: a ruleset's or a case file's own text says it in its own words too.
    meanings = {meaning.template for meaning in NAME_MEANINGS.values()}
    for template, entry in po_entries("fr").items():
        text = entry.string if language == "fr" else template
        other = template if language == "fr" else entry.string
        if template in meanings:
            continue
        if len(text) >= 20 and not catalogs.placeholders(text) and text != other and "\n" not in text:
            texts.add(text.strip())
    return texts


ONE_LANGUAGE_OUTPUTS = {
    "eval": ["eval", EXAMPLES / "cpts-avenant-2-taille-4.yaml", "--date", "2023-06-01", "--explain"],
    "schedule": ["schedule", EXAMPLES / "cpts-avenant-2-taille-4.yaml"],
    "diff": ["diff", "aci-2019", "avenant-2"],
    "diff markdown": ["diff", "aci-2019", "avenant-2", "--format", "markdown"],
    "diff proposal": ["diff", "avenant-2", EXAMPLES / "plan-100-cpts.yaml", "--profiles", EXAMPLES,
                      "--date", "2024-06-01"],
    "budget": ["budget", ROOT / "tests" / "budget" / "deux-cpts.csv", "--baseline", "avenant-2", "--reform",
               ROOT / "tests" / "budget" / "avance-100.yaml", "--from", "2022", "--to", "2024"],
    "budget markdown": ["budget", ROOT / "tests" / "budget" / "deux-cpts.csv", "--baseline", "avenant-2",
                        "--from", "2022", "--to", "2023", "--format", "markdown"],
    "test": ["test", ROOT / "tests" / "cases", "--allow", ROOT / "tests", "--verbose"],
    "test coverage": ["test", ROOT / "tests" / "cases", "--allow", ROOT / "tests", "--coverage"],
    "show": ["show", "avenant-2"],
    "list": ["list"],
}


@pytest.mark.parametrize("name", sorted(ONE_LANGUAGE_OUTPUTS))
@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_each_output_is_in_one_language(run_cli, name, language):
    """No text of the other language's catalog appears in an output (the YAML's own texts aside)."""
    other = "en" if language == "fr" else "fr"
    result = run_cli(*ONE_LANGUAGE_OUTPUTS[name], "--lang", language)
    assert result.exit_code in (0, 1), result.stderr
    output = " ".join((result.stdout + result.stderr).split())
    strays = sorted(text for text in _catalog_texts(other) if " ".join(text.split()) in output)
    assert strays == [], f"{name} --lang {language} shows {other} texts: {strays[:8]}"
