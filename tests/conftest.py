"""Shared fixtures: run the CLI in-process and read its three outputs apart."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import tempfile

import pytest
from click.testing import CliRunner

from aci_rules.cli.main import cli

# The tests keep the validation cache (engine/cache.py) to themselves.
os.environ.setdefault("ACI_RULES_CACHE", tempfile.mkdtemp(prefix="aci-rules-cache-"))

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
EXAMPLES = ROOT / "examples"
SEEDS = ROOT.parent / "shared" / "seeds"


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
