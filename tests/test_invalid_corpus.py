"""Every file of ``tests/invalid/`` fails cleanly, with the diagnostics its header announces.

One YAML file per failure mode (HOSTILE_INPUTS.md). Each file opens with comment lines:

    # <what the file breaks>
    # expect: E008 line 5           one line per expected diagnostic (code, 1-based line)
    # expect: E102 line 30 col 19   'col N' when the column matters (a name inside an expression)
    # expect: E004                  no 'line': the diagnostic has no position (the whole file)
    # expect-message: did you mean 'contract_signed'   a text one of the messages must contain

``aci-rules validate FILE`` must then: exit 1; write on stderr only lines
``FILE:LINE:COL: CODE message`` (``FILE: CODE message`` for a problem of the whole file);
report exactly the expected diagnostics, one per problem, no more; write on stdout only the
one-line summary; never show a traceback. With ``--format json`` stdout is exactly one JSON
document whose diagnostics carry the expected codes.

A case on which the engine does not yet behave as HOSTILE_INPUTS.md requires is listed in
``ENGINE_BUGS`` (text output) or ``ENGINE_BUGS_JSON``: the test keeps asserting the right
behaviour and is marked ``xfail(strict=True)``, so it turns red the day the engine is fixed
and the entry must be removed.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest

CORPUS = pathlib.Path(__file__).resolve().parent / "invalid"
FILES = sorted(CORPUS.glob("*.yaml"))

_EXPECT = re.compile(r"# expect: (?P<code>[EW][0-9]{3})(?: line (?P<line>[0-9]+)(?: col (?P<col>[0-9]+))?)?")
_MESSAGE = re.compile(r"# expect-message: (?P<text>.+)")

# name of the corpus file (without .yaml) -> what the engine does wrong today.
ENGINE_BUGS: dict[str, str] = {}
# The JSON test checks codes and lines (not columns, not the count of diagnostics).
ENGINE_BUGS_JSON: dict[str, str] = {}


def header(path: pathlib.Path):
    """The expected diagnostics and message fragments of a corpus file."""
    expects, messages = [], []
    for text in path.read_text(encoding="utf-8").splitlines():
        if not text.startswith("#"):
            break
        if match := _EXPECT.fullmatch(text.rstrip()):
            line = int(match["line"]) if match["line"] else None
            col = int(match["col"]) if match["col"] else None
            expects.append((match["code"], line, col))
        elif match := _MESSAGE.fullmatch(text.rstrip()):
            messages.append(match["text"])
        elif text.startswith("# expect"):
            raise AssertionError(f"{path.name}: malformed header line {text!r}")
    return expects, messages


def parse_stderr(stderr: str, filename: str):
    """(code, line, col, message) of each stderr line; fails on any line of another form."""
    form = re.compile(
        re.escape(filename)
        + r"(?::(?P<line>[0-9]+)(?::(?P<col>[0-9]+))?)?: (?P<code>[EW][0-9]{3}) (?P<message>\S.*)")
    found = []
    for text in stderr.splitlines():
        match = form.fullmatch(text)
        assert match, f"stderr line not of the form FILE:LINE:COL: CODE message: {text!r}"
        found.append((match["code"], int(match["line"]) if match["line"] else None,
                      int(match["col"]) if match["col"] else None, match["message"]))
    return found


def _params(bugs: dict):
    return [
        pytest.param(path, id=path.stem,
                     marks=[pytest.mark.xfail(strict=True, reason=f"engine bug: {bugs[path.stem]}")]
                     if path.stem in bugs else [])
        for path in FILES
    ]


def test_the_corpus_is_there_and_every_file_announces_its_diagnostics():
    assert len(FILES) >= 60
    for path in FILES:
        expects, _ = header(path)
        assert expects, f"{path.name} has no '# expect:' line"
        assert re.fullmatch(r"(yaml|profile|ruleset)-[a-z0-9-]+\.yaml", path.name), path.name
    stems = {path.stem for path in FILES}
    assert set(ENGINE_BUGS) <= stems and set(ENGINE_BUGS_JSON) <= stems


@pytest.mark.parametrize(
    "required",
    [
        # YAML and files (HOSTILE 1-10)
        "yaml-anchor", "yaml-alias-bomb-small", "yaml-merge-key", "yaml-python-tag", "yaml-two-documents",
        "yaml-comments-only", "yaml-tab-indent", "yaml-unclosed-bracket", "profile-duplicate-key",
        "ruleset-duplicate-line-id", "ruleset-duplicate-mission-id", "ruleset-duplicate-parameter-id",
        "profile-yaml11-no-value", "profile-yaml11-on-key", "profile-yaml11-octal", "profile-yaml11-octal-long",
        "profile-yaml11-sexagesimal", "ruleset-yaml11-version-id", "ruleset-yaml11-exponent-amount",
        # values (11-16)
        "profile-date-invalid-day", "profile-date-no-padding", "profile-date-slashes", "profile-datetime",
        "profile-population-negative", "profile-population-fractional", "profile-population-boolean",
        "profile-population-string", "profile-members-negative", "profile-achievement-above-one",
        "profile-contract-year-zero", "profile-contract-year-nine", "ruleset-amount-comma", "ruleset-amount-nan",
        "ruleset-amount-inf", "ruleset-amount-negative-zero", "ruleset-amount-thirteen-digits",
        "profile-misspelt-field", "profile-missing-required", "profile-date-after-2100",
        "profile-date-before-1900",
        # rulesets (17-24)
        "ruleset-escape-class", "ruleset-escape-bases", "ruleset-escape-format", "ruleset-escape-import",
        "ruleset-escape-open", "ruleset-escape-lambda", "ruleset-escape-walrus", "ruleset-exhaust-power-tower",
        "ruleset-exhaust-big-power", "ruleset-exhaust-format-width", "ruleset-exhaust-ljust",
        "ruleset-exhaust-unary-minus", "ruleset-statement-assign", "ruleset-statement-semicolon",
        "ruleset-statement-import", "ruleset-unknown-name", "ruleset-unknown-function", "ruleset-cycle",
        "ruleset-self-reference", "ruleset-taille-gap", "ruleset-taille-overlap",
        "ruleset-until-before-in-force",
        # amendments (23)
        "ruleset-amends-unknown", "ruleset-amendment-cycle-self", "ruleset-amendment-cycle-a",
        "ruleset-amendment-cycle-b", "ruleset-change-unknown-line",
        # a proposal from another party (28-32)
        "ruleset-amends-absolute-path", "ruleset-amends-parent-path", "ruleset-amends-private-key",
        "ruleset-amends-parent-yaml", "ruleset-exhaust-add-months-huge", "ruleset-exhaust-tiny-literal",
        "ruleset-exhaust-list-repeat", "ruleset-id-trailing-newline", "ruleset-by-taille-newline-key",
        "profile-achievement-newline-key", "ruleset-name-fullwidth", "ruleset-name-math-bold",
        "ruleset-is-number", "ruleset-formula-comment-only", "ruleset-sum-lines-unknown-volet",
        "ruleset-cycle-made-by-amendment",
    ],
)
def test_the_corpus_covers(required):
    assert (CORPUS / f"{required}.yaml").is_file()


@pytest.mark.parametrize("path", _params(ENGINE_BUGS))
def test_invalid_file_fails_cleanly_with_its_diagnostics(run_cli, path):
    expects, messages = header(path)
    filename = str(path)
    result = run_cli("validate", "--lang", "en", filename)

    assert result.exception is None, repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    summary = re.escape(filename) + r": (ruleset|profile|unreadable), [0-9]+ problems?"
    assert re.fullmatch(summary, result.stdout.rstrip("\n")), f"stdout is not the summary: {result.stdout!r}"

    found = parse_stderr(result.stderr, filename)
    left = list(found)
    for code, line, col in expects:
        match = next((d for d in left if d[0] == code and d[1] == line and (col is None or d[2] == col)),
                     None)
        assert match, f"expected {code} line {line} col {col}; stderr:\n{result.stderr}"
        left.remove(match)
    extra = [d for d in left if d[0].startswith("E")]
    assert not extra, f"one diagnostic per problem: unexpected {extra}"
    for text in messages:
        assert any(text in d[3] for d in found), f"no message contains {text!r}; stderr:\n{result.stderr}"


@pytest.mark.parametrize("path", _params(ENGINE_BUGS_JSON))
def test_invalid_file_fails_cleanly_in_json(run_cli, path):
    expects, _ = header(path)
    filename = str(path)
    result = run_cli("validate", "--format", "json", filename)

    assert result.exception is None, repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    document = json.loads(result.stdout)  # exactly one JSON document, nothing around it
    assert isinstance(document, dict)
    diagnostics = [d for entry in document["files"] for d in entry["diagnostics"]]
    assert all(not entry["valid"] for entry in document["files"])
    codes = {d["code"] for d in diagnostics}
    assert {code for code, _, _ in expects} <= codes, (codes, expects)
    for code, line, _ in expects:
        assert any(d["code"] == code and d["line"] == line for d in diagnostics), (code, line, diagnostics)
    for d in diagnostics:
        assert d["file"] == filename
