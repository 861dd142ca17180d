"""Shared fixtures: run the CLI in-process and read its three outputs apart."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import tempfile

import pytest
from click.testing import CliRunner

from aci_rules.cli.main import cli

# The tests keep the validation cache (engine/cache.py) to themselves.
os.environ.setdefault("ACI_RULES_CACHE", tempfile.mkdtemp(prefix="aci-rules-cache-"))

# The language does not depend on the machine running the tests: the locale names none of
# ours, so every command speaks French, the default, unless a test says --lang en.
os.environ.pop("LANGUAGE", None)
os.environ["LC_ALL"] = "C.UTF-8"

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
EXAMPLES = ROOT / "examples"
SEEDS = ROOT.parent / "shared" / "seeds"


# A diagnostic line on stderr: FILE:LINE:COL: CODE message.
DIAGNOSTIC = re.compile(r"^(?P<file>.+):(?P<line>[0-9]+):(?P<col>[0-9]+): (?P<code>[EW][0-9]{3}) (?P<message>.+)$")


def case_params(folder: pathlib.Path) -> list:
    """One pytest param per case of the YAML case files under ``folder``, named by file:line."""
    from aci_rules.engine.cases import collect_case_files, run_case_file
    from aci_rules.engine.library import Library

    library = Library()
    return [pytest.param(outcome, id=f"{outcome.file.rsplit('/', 1)[-1]}:{outcome.line}")
            for path in collect_case_files([str(folder)])
            for outcome in run_case_file(path, library, allow=[str(ROOT)])]


def no_traceback(result):
    """The command neither raised nor printed a traceback."""
    assert result.exception is None, repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr


def one_json_document(text):
    """The whole of stdout is exactly one JSON document."""
    document, end = json.JSONDecoder().raw_decode(text)
    assert text[end:].strip() == "", "something after the JSON document on stdout"
    return document


def invoke(*args) -> tuple:
    """Run ``aci-rules ARGS...`` in-process: (exit code, stdout, stderr); an unexpected exception is raised."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    assert "Traceback" not in result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@dataclasses.dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


@pytest.fixture
def run_cli():
    """Run ``aci-rules ARGS...`` in-process; returns exit code, stdout and stderr apart."""

    def run(*args: str) -> Run:
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
        exception = result.exception if not isinstance(result.exception, SystemExit) else None
        return Run(result.exit_code, result.stdout, result.stderr, exception)

    return run


@pytest.fixture
def write(tmp_path):
    """Write a text file under the test's temp dir and return its path."""

    def write_file(name: str, text: str) -> pathlib.Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write_file


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: a command run with --lang en by an earlier test
    must not leave the renderers (called directly by doctests) speaking English."""
    from aci_rules.cli.i18n import use_language

    use_language(None)
    yield
