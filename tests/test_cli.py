"""The command line's contract (DESIGN.md: "`eval` output contract", "Errors").

stdout carries only the product (one JSON document with ``--format json``);
diagnostics go to stderr as ``file:line:col: CODE message``; exit 0 done, 1 the
input has problems, 2 usage errors. Never a traceback. Figures: the taille-3
example gives the 2019 maximum 370 000 € (FACTS.md §4.2).
"""

from __future__ import annotations

import pathlib
import re

import pytest

from conftest import DIAGNOSTIC, EXAMPLES, RULES, no_traceback, one_json_document

TAILLE_3 = EXAMPLES / "cpts-2019-taille-3.yaml"
DEMARRAGE = EXAMPLES / "cpts-demarrage.yaml"

TOP_KEYS = {"ruleset", "chain", "date", "size", "contract_year", "lines", "obligations", "total", "warnings",
            # DESIGN.md § Time: the parts of the contract year, the contract running, the assumptions made
            "segments", "contract", "assumptions"}
LINE_KEYS = {"id", "label", "mission", "volet", "amount", "maximum", "reference", "confidence"}
AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")




# -- eval --format json ----------------------------------------------------------------------


@pytest.mark.parametrize("profile, date", [(TAILLE_3, "2021-03-01"), (DEMARRAGE, "2021-03-01"), (DEMARRAGE, "2021-10-01")])
def test_eval_json_is_one_document_with_the_contract_keys(run_cli, profile, date):
    """DESIGN.md, eval output contract: exactly these keys, amounts as strings with two decimals."""
    result = run_cli("eval", profile, "--date", date, "--format", "json")
    no_traceback(result)
    assert result.exit_code == 0
    assert result.stderr == ""
    document = one_json_document(result.stdout)
    assert set(document) == TOP_KEYS
    assert document["date"] == date
    for segment in document["segments"]:
        assert set(segment) == {"ruleset", "from", "to", "days"}
    assert document["chain"][-1] == document["ruleset"]
    assert document["lines"]
    for line in document["lines"]:
        assert set(line) == LINE_KEYS, line["id"]
        assert isinstance(line["amount"], str) and AMOUNT.fullmatch(line["amount"]), line
        assert isinstance(line["maximum"], str) and AMOUNT.fullmatch(line["maximum"]), line
        assert line["confidence"] in {"confirmed", "derived", "unverified"}
    assert isinstance(document["total"], str) and AMOUNT.fullmatch(document["total"])
    assert isinstance(document["warnings"], list)
    assert isinstance(document["obligations"], list)


def test_eval_json_of_the_taille_3_example(run_cli):
    """FACTS.md §4.2: taille 3, every mission at 100 % -> 370 000 €."""
    result = run_cli("eval", TAILLE_3, "--date", "2021-03-01", "--format", "json")
    document = one_json_document(result.stdout)
    assert (document["ruleset"], document["chain"]) == ("aci-2019", ["aci-2019"])
    assert (document["size"], document["contract_year"], document["total"]) == (3, 1, "370000.00")


def test_eval_text_writes_amounts_the_french_way(run_cli):
    """DESIGN.md: text output for a person, amounts like '87 500,00 €' (FACTS.md §4.2: 370 000 €)."""
    result = run_cli("eval", TAILLE_3, "--date", "2021-03-01")
    no_traceback(result)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "370 000,00 €" in result.stdout
    assert "75 000,00 €" in result.stdout  # fonctionnement, taille 3 (FACTS.md §3)
    assert "aci-2019" in result.stdout
    assert not AMOUNT.search(result.stdout.replace("2021-03-01", "")), "an amount written the English way"


# -- list ----------------------------------------------------------------------------------------


def test_list_shows_the_shipped_ruleset(run_cli):
    """FACTS.md §1: ACI 2019, an accord, in force from 2019-08-25."""
    result = run_cli("list")
    no_traceback(result)
    assert result.exit_code == 0
    assert result.stderr == ""
    rows = [row for row in result.stdout.splitlines() if row.startswith("aci-2019")]
    assert len(rows) == 1
    assert all(word in rows[0] for word in ("accord", "enacted", "2019-08-25"))


def test_list_json(run_cli):
    result = run_cli("list", "--format", "json")
    no_traceback(result)
    assert result.exit_code == 0
    assert result.stderr == ""
    rulesets = one_json_document(result.stdout)
    entry = {r["id"]: r for r in rulesets}["aci-2019"]
    assert (entry["kind"], entry["status"], entry["in_force"]) == ("accord", "enacted", "2019-08-25")


# -- validate ------------------------------------------------------------------------------------


def test_validate_the_shipped_ruleset_and_the_examples(run_cli):
    examples = sorted(EXAMPLES.glob("cpts-*.yaml"))
    proposals = sorted(set(EXAMPLES.glob("*.yaml")) - set(examples))
    assert examples and proposals
    result = run_cli("validate", "--lang", "en", RULES / "aci-2019.yaml", *examples, *proposals)
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    rows = result.stdout.splitlines()

    def row_of(path):
        found = [row for row in rows if row.startswith(str(path))]
        assert len(found) == 1, (path, rows)
        return found[0]

    assert "ruleset" in row_of(RULES / "aci-2019.yaml")
    for example in examples:
        row = row_of(example)
        assert "profile" in row and "ruleset" not in row
    for proposal in proposals:
        assert ": ruleset, ok" in row_of(proposal)


def test_validate_a_bad_profile_exits_1(run_cli, write):
    path = write("bad.yaml", "name: X\npopulation: 60000\ncontract_signd: 2020-03-15\n")
    result = run_cli("validate", path)
    no_traceback(result)
    assert result.exit_code == 1
    assert "E201" in result.stderr


# -- errors in a profile -------------------------------------------------------------------------


def test_misspelt_profile_field_gives_one_diagnostic_with_a_suggestion(run_cli, write):
    path = write("bad.yaml", "name: CPTS\npopulation: 60000\ncontract_signd: 2020-03-15\n")
    result = run_cli("eval", path, "--date", "2021-03-01")
    no_traceback(result)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    match = DIAGNOSTIC.match(lines[0])
    assert match, lines[0]
    assert (match["file"], match["line"], match["col"], match["code"]) == (str(path), "3", "1", "E201")
    assert "contract_signd" in match["message"] and "contract_signed" in match["message"]


def test_every_problem_of_a_profile_is_reported(run_cli, write):
    path = write("bad.yaml", "name: CPTS\npopulation: 60000\ncontract_signd: 2020-03-15\nmembres: 40\n")
    result = run_cli("eval", path, "--date", "2021-03-01")
    no_traceback(result)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert [DIAGNOSTIC.match(line)["line"] for line in lines] == ["3", "4"]
    assert "members" in lines[1]


def test_missing_profile_file_is_an_input_error(run_cli, tmp_path):
    result = run_cli("eval", tmp_path / "absent.yaml", "--date", "2021-03-01")
    no_traceback(result)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "E001" in result.stderr


def test_json_input_error_is_one_document_on_stdout_and_diagnostics_on_stderr(run_cli, write):
    path = write("bad.yaml", "name: CPTS\npopulation: 60000\ncontract_signd: 2020-03-15\n")
    result = run_cli("eval", path, "--date", "2021-03-01", "--format", "json")
    no_traceback(result)
    assert result.exit_code == 1
    document = one_json_document(result.stdout)
    assert set(document) == {"errors"}
    [error] = document["errors"]
    assert (error["code"], error["line"], error["column"], error["file"]) == ("E201", 3, 1, str(path))
    assert "contract_signed" in error["message"]
    stderr = result.stderr.splitlines()
    assert len(stderr) == 1 and DIAGNOSTIC.match(stderr[0])
    assert "{" not in result.stderr


# -- errors in a ruleset ---------------------------------------------------------------------------

RULESET = """\
id: essai-faute
title: Ruleset d'essai avec une faute de frappe
kind: proposal
status: proposal
reference: écrit par tests/test_cli.py
dates: {{in_force: 2019-08-25}}
contract: {{duration_years: 5, reference: FACTS.md §5, confidence: confirmed}}
taille:
  basis: population
  reference: FACTS.md §2
  confidence: confirmed
  classes:
    - {{taille: 1, max: 39999}}
    - {{taille: 2, min: 40000}}
parameters:
  montant:
    by_taille: {{1: 50000, 2: 60000}}
    reference: FACTS.md §3
    confidence: confirmed
lines:
  - id: fonctionnement
    label: Fonctionnement
    volet: fonctionnement
    when: {when}
    amount: montant
    reference: FACTS.md §3
"""


@pytest.mark.parametrize("when", [
    "contract_year is not None and populaton >= 40000",
    "  contract_year is not None and populaton >= 40000",
    "'contract_year is not None and populaton >= 40000'",
    '"contract_year is not None and populaton >= 40000"',
    pytest.param("contract_year is not None and\n      populaton >= 40000", id="plain-2-lines"),
    pytest.param('"contract_year is not None and\n      populaton >= 40000"', id="quoted-2-lines"),
    pytest.param(">-\n      contract_year is not None and\n      populaton >= 40000", id="folded-block"),
    pytest.param("|-\n      contract_year is not None and (\n        populaton >= 40000)", id="literal-block"),
])
def test_misspelt_name_in_a_ruleset_points_at_the_name(run_cli, write, when):
    """STYLE.md: 'FILE:LINE:COL: E102 unknown name 'populaton' ... (did you mean 'population'?)'."""
    text = RULESET.format(when=when)
    ruleset = write("essai.yaml", text)
    profile = write("profile.yaml", "name: CPTS\npopulation: 60000\ncontract_signed: 2020-03-15\n")
    rows = text.splitlines()
    expected_line = next(i for i, row in enumerate(rows, 1) if "populaton" in row)
    expected_col = rows[expected_line - 1].index("populaton") + 1
    result = run_cli("eval", profile, "--date", "2021-03-01", "--ruleset", ruleset)
    no_traceback(result)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    match = DIAGNOSTIC.match(lines[0])
    assert match, lines[0]
    assert match["file"] == str(ruleset)
    assert (int(match["line"]), int(match["col"])) == (expected_line, expected_col)
    assert match["code"].startswith("E1")
    assert "populaton" in match["message"] and "'population'" in match["message"]


# -- --explain -------------------------------------------------------------------------------------


def test_explain_shows_formulas_values_and_why_a_line_did_not_apply(run_cli):
    """cpts-demarrage: parcours not started, so its lines do not apply on 2021-03-01."""
    result = run_cli("eval", DEMARRAGE, "--date", "2021-03-01", "--explain")
    no_traceback(result)
    assert result.exit_code == 0
    out = result.stdout
    # The formula of a line and the values it read (FACTS.md §3: fonctionnement taille 2 = 60 000).
    assert "amount: montant_fonctionnement" in out
    assert re.search(r"montant_fonctionnement \(taille 2\) = 60000\b", out)
    assert "prorata_temporis(started, contract_year_start, contract_year_end)" in out
    assert "started = 2020-12-01" in out
    # The line that did not apply, and why.
    skipped = out[out.index("Lignes qui ne s'appliquent pas"):]
    block = skipped[skipped.index("parcours_fixe"):skipped.index("parcours_variable")]
    assert "when: " in block
    assert "started = None" in block
    assert re.search(r"→.*\b(faux|fausse|false)\b", block), block


def test_explain_json_keeps_one_document(run_cli):
    result = run_cli("eval", DEMARRAGE, "--date", "2021-03-01", "--explain", "--format", "json")
    no_traceback(result)
    assert result.exit_code == 0
    assert result.stderr == ""
    document = one_json_document(result.stdout)
    assert TOP_KEYS <= set(document)
    assert document["explain"]["lines"]["parcours_fixe"]["applies"] is False


# -- usage errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("eval", str(TAILLE_3)),                                     # --date missing
    ("eval", str(TAILLE_3), "--date", "2021-13-01"),             # not a date of the calendar
    ("eval", str(TAILLE_3), "--date", "01/03/2021"),             # not YYYY-MM-DD
    ("eval", str(TAILLE_3), "--date", "2021-03-01", "--format", "xml"),
    ("eval", "--date", "2021-03-01"),                            # profile missing
    ("validate",),
    ("no-such-command",),
    ("list", "--no-such-option"),
])
def test_usage_errors_exit_2(run_cli, args):
    result = run_cli(*args)
    no_traceback(result)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Usage" in result.stderr or "Error" in result.stderr


# -- the wrong kind of file: one clear line, not a dozen field errors ----------------------------

CASES = pathlib.Path(__file__).resolve().parent / "cases"


@pytest.mark.parametrize("args, file, advice", [
    (["eval", EXAMPLES / "national-sample.csv", "--date", "2024-06-01"], EXAMPLES / "national-sample.csv",
     "'aci-rules batch FILE --date D' evaluates a table"),
    (["eval", RULES / "avenant-2.yaml", "--date", "2024-06-01"], RULES / "avenant-2.yaml",
     "this is a ruleset, not a profile: give a ruleset with --ruleset"),
    (["schedule", RULES / "aci-2019.yaml"], RULES / "aci-2019.yaml", "this is a ruleset, not a profile"),
    (["eval", CASES / "avenant-2-maxima.yaml", "--date", "2024-06-01"], CASES / "avenant-2-maxima.yaml",
     "this is a file of test cases, not a profile: run it with 'aci-rules test'"),
    (["eval", EXAMPLES / "cpts-2019-taille-3.yaml", "--date", "2021-03-01", "--ruleset",
      EXAMPLES / "cpts-demarrage.yaml"], EXAMPLES / "cpts-demarrage.yaml",
     "this is a CPTS profile, not a ruleset: give it as the profile argument"),
])
def test_the_wrong_kind_of_file_is_one_line_that_says_what_to_do(run_cli, args, file, advice):
    result = run_cli("--lang", "en", *args)
    no_traceback(result)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) < 300, result.stderr
    assert lines[0].startswith(f"{file}") and " E203 " in lines[0] and advice in lines[0], lines[0]


def test_validate_checks_test_case_files_too(run_cli, write):
    good = run_cli("validate", "--lang", "en", *sorted(CASES.glob("*.yaml")))
    no_traceback(good)
    assert good.exit_code == 0, good.stderr
    assert all(line.endswith(": test-case, ok") for line in good.stdout.splitlines()), good.stdout
    bad = write("cas.yaml", "cases:\n  - name: une date impossible\n    date: 2024-13-01\n")
    result = run_cli("validate", "--lang", "en", bad)
    no_traceback(result)
    assert result.exit_code == 1
    assert f"{bad}:3:11: E205 '2024-13-01' in cases[0].date" in result.stderr
    assert "E201" not in result.stderr  # not read as a profile ('cases' is no field of a profile)
    assert result.stdout.strip() == f"{bad}: test-case, 4 problems"


def test_a_reader_that_closes_the_pipe_early_ends_the_command_quietly():
    """``aci-rules show avenant-2 | head -1``: no 'internal error: BrokenPipeError', no traceback;
    exit 141 (128 + SIGPIPE), as a shell tool whose reader left."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "aci_rules", "show", "avenant-2", "--format", "yaml"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader goes away before the command has written anything
    stderr = process.stderr.read().decode()
    code = process.wait(timeout=60)
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr
    assert code == 141, (code, stderr)
