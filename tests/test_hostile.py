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
import re
import resource
import subprocess
import sys
import threading

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
        ruleset = write("large.yaml", with_amount("montant * 1e40"))
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
        eval_refuses(run_cli, [profile, "--date", "2021-01-01", "--ruleset", ruleset],
                     str(ruleset), "E102", line=AMOUNT_LINE, col=AMOUNT_COL)

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
