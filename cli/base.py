"""What every command shares: the group, option types, and the one place exit codes are made.

Exit codes: 0 done, 1 the input has problems (every diagnostic on stderr as
``file:line:col: CODE message``), 2 the command was misused (click's own) or the
tool itself failed. No traceback ever reaches the user.
"""

from __future__ import annotations

import datetime
import functools
import importlib
import os
import re
import sys

import click

from aci_rules import __version__
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.schema import MAX_YEAR, MIN_YEAR

from .i18n import (EXAMPLES_HEADING, HelpContext, N_, _, lang_option, language_in_arguments, render, short_help,
                   use_language)
from .render import render_errors_json

__all__ = ["cli", "COMMANDS", "DateType", "guarded", "format_option", "load_rulesets", "time_options",
           "make_timeline",
           "EXIT_OK", "EXIT_INPUT", "EXIT_USAGE"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


class DateType(click.ParamType):
    """A date written YYYY-MM-DD, of the calendar, in MIN_YEAR..MAX_YEAR."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime.date):
            return value
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            self.fail(_("'{value}' is not a date written YYYY-MM-DD").format(value=value), param, ctx)
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            self.fail(_("'{value}' is not a date of the calendar").format(value=value), param, ctx)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            self.fail(_("'{value}' is outside the years {first}..{last}").format(
                value=value, first=MIN_YEAR, last=MAX_YEAR), param, ctx)
        return day


def time_options(*, ruleset_help: str = N_("A ruleset (a shipped id or a YAML file; a proposal, say): the texts "
                                            "it amends until its own in-force date, then it. Default: the texts in "
                                            "force.")):
    """The options every command that reads time shares: --ruleset, --as-if-in-force-from, --assume-renewal."""

    def decorate(command):
        command = click.option(
            "--assume-renewal", "assume_renewal", is_flag=True,
            help="Assume a new contract at each end of the last contract a profile states (five years), "
                 "under the text then in force; the results say so.")(command)
        command = click.option(
            "--as-if-in-force-from", "as_if_from", type=DateType(), metavar="YYYY-MM-DD",
            help="Apply the --ruleset text from this date instead of its own in-force date "
                 "(an explicit what-if: the results say so).")(command)
        return click.option("--ruleset", "ruleset_name", metavar="ID|PATH", help=ruleset_help)(command)

    return decorate


def make_timeline(library, ruleset_name, as_if_from, renewal):
    """The library's timeline for the time options; --as-if-in-force-from needs --ruleset."""
    if as_if_from is not None and not ruleset_name:
        raise click.UsageError("--as-if-in-force-from needs --ruleset: the text to apply from that date")
    return library.timeline(ruleset_name, as_if_from=as_if_from, renewal=renewal)


def load_rulesets(library, names, day):
    """The rulesets named (ids or paths) as in force on ``day``; every problem of every one."""
    rulesets, problems = [], []
    for name in names:
        try:
            rulesets.append(library.get(name, day))
        except InputError as error:
            problems.extend(d for d in error.diagnostics if d not in problems)
    if problems:
        raise InputError(problems)
    return rulesets


def _report(diagnostics, as_json: bool) -> None:
    for diagnostic in diagnostics:
        click.echo(render(diagnostic), err=True)
    if as_json:
        click.echo(render_errors_json(diagnostics))


# 128 + SIGPIPE: what a shell reports for a command whose reader closed the pipe.
EXIT_BROKEN_PIPE = 141


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind stdout (a test runner's buffer)
        pass


def guarded(command):
    """Run a command body; map input problems to exit 1 and failures to exit 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        as_json = kwargs.get("output_format") == "json"
        try:
            code = command(*args, **kwargs)
        except InputError as error:
            _report(error.diagnostics, as_json)
            ctx.exit(EXIT_INPUT)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo(_("aci-rules: interrupted"), err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # The reader of stdout left (``aci-rules list | head``): stop quietly, as a shell tool
            # ends on SIGPIPE, and point stdout at nothing so that the final flush cannot fail.
            _silence_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
        except Exception as error:  # a bug of ours: say so, without a traceback
            click.echo(_("aci-rules: internal error: {error} (please report it with the command and the files)")
                       .format(error=f"{type(error).__name__}: {error}"), err=True)
            ctx.exit(EXIT_USAGE)
        ctx.exit(code or EXIT_OK)

    return wrapper


format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="text for a person, json for a program (one JSON document on stdout).")


# Each command lives in a module of its own, imported only when that command runs:
# `aci-rules eval` does not pay for the imports of `batch` or `diff`.
COMMANDS = {
    "list": "rulesets:list_command",
    "validate": "rulesets:validate_command",
    "show": "rulesets:show_command",
    "eval": "evaluation:eval_command",
    "test": "evaluation:test_command",
    "diff": "compare:diff_command",
    "schedule": "calendar:schedule_command",
    "batch": "impact:batch_command",
    "compare": "impact:compare_command",
    "report": "report:report_command",
    "budget": "budget:budget_command",
    "sweep": "sweep:sweep_command",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use, each with --lang."""

    context_class = HelpContext

    def make_context(self, info_name, args, parent=None, **extra):
        # The locale's language, or the one --lang names wherever it stands: a --help read before
        # it is answered at once, in that language.
        use_language(language_in_arguments(args))
        return super().make_context(info_name, args, parent=parent, **extra)

    def format_commands(self, ctx, formatter):
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _command in commands)
            with formatter.section(_("Commands")):
                formatter.write_dl([(name, short_help(command, limit)) for name, command in commands])

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(f"aci_rules.cli.{module}"), attribute)
        if not any(param.name == "lang" for param in command.params):
            lang_option(command)
        command.context_class = HelpContext
        return command


def examples(*commands: str) -> str:
    """The epilog of a command's --help: one or two examples, kept as written."""
    return "\b\n" + EXAMPLES_HEADING + "\n" + "\n".join(f"  {command}" for command in commands)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=examples(
    "aci-rules eval examples/cpts-2019-taille-3.yaml --date 2021-03-01",
    "aci-rules diff aci-2019 avenant-2",
))
@click.version_option(__version__, prog_name="aci-rules", help=N_("Show the version and exit."))
@lang_option
def cli():
    """Evaluate, check and compare the funding rules of the ACI CPTS."""
