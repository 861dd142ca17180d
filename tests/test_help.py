"""Every command's --help ends with one or two examples that name real files and options
(issue 17: « --help of every command ends with one or two examples »)."""

from __future__ import annotations

import shlex

import click
import pytest

from aci_rules.cli.base import cli

from conftest import ROOT, no_traceback

COMMANDS = sorted(cli.list_commands(click.Context(cli)))


def examples_of(text: str) -> list[str]:
    lines = text.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.strip() in ("Examples:", "Exemples :"))
    return [line.strip() for line in lines[start + 1:]]


def test_every_command_is_covered():
    assert {"eval", "diff", "show", "schedule", "batch", "compare", "validate", "list", "test"} <= set(COMMANDS)


@pytest.mark.parametrize("name", [None] + COMMANDS)
def test_help_ends_with_one_or_two_examples_that_parse(run_cli, name):
    args = ([name] if name else []) + ["--help"]
    result = run_cli(*args)
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    found = examples_of(result.stdout)
    assert 1 <= len(found) <= 2, found
    for example in found:
        words = shlex.split(example.split(" > ")[0])
        assert words[0] == "aci-rules"
        if name:
            assert words[1] == name
        command = cli.get_command(click.Context(cli), words[1])
        # The options and arguments exist: click parses them without running the command.
        context = command.make_context(words[1], words[2:], resilient_parsing=True)
        assert not context.args, example
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert all(word in options for word in words[2:] if word.startswith("--")), example
        for word in words[2:]:
            if word.startswith(("examples/", "tests/cases/")) and "*" not in word:
                assert (ROOT / word).exists(), f"{example}: {word} does not exist"
