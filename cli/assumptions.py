"""The analyst's assumptions on the command line, one definition for every command that states them.

``--achievement RATE|MISSION=RATE`` and ``--replace-achievement`` mean the same in ``budget``,
``batch``, ``compare``, ``sweep`` and ``diff --profiles``: the rate of achievement of the
contract years the profiles do not measure (renewed contracts included), or of every year with
``--replace-achievement``. This module holds their options, their parsing and checks, and how
a command says what it assumed and what nobody stated (W050).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import click

from aci_rules.engine.assumptions import Assumptions, RateGaps, assumed_over
from aci_rules.engine.diagnostic import Diagnostic, InputError, msg, suggest

from .i18n import _, render

__all__ = ["PerMission", "rate", "check_missions", "achievement_options", "stated_rates", "say_gaps"]


class PerMission(click.ParamType):
    """``VALUE`` for every mission, or ``MISSION=VALUE`` for one."""

    def __init__(self, name, parse):
        self.name = name
        self.parse = parse

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        mission, _equals, text = value.rpartition("=")
        mission = mission.strip() or None
        if mission is not None and not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", mission):
            self.fail(_("'{value}': a mission id is written in lower case, e.g. MISSION=0.8").format(
                value=value[:80]), param, ctx)
        try:
            return mission, self.parse(text.strip())
        except ValueError as error:
            self.fail(_("'{value}': {error}").format(value=value[:80], error=error), param, ctx)


def rate(text: str) -> Decimal:
    """A rate of achievement written on the command line: 0 to 1, at most 6 decimals."""
    try:
        found = Decimal(text) if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,6})?", text) else None
    except InvalidOperation:
        found = None
    if found is None or not 0 <= found <= 1:
        raise ValueError(_("a rate of achievement is a number from 0 to 1, e.g. 0.8"))
    return found


def check_missions(specs, known, option, what="mission") -> list:
    """E208 for each mission (or volet) an option names that no text in play knows."""
    problems = []
    for mission, _value in specs:
        if mission is not None and mission not in known:
            guess = suggest(mission, known)
            hint = (msg(": did you mean '{guess}'?", guess=guess) if guess else
                    msg("; known: {names}", names=", ".join(sorted(known))))
            problems.append(Diagnostic("E208", msg("{option}: unknown {what} '{name}'{hint}", option=option,
                                                   what=what, name=mission, hint=hint)))
    return problems


def achievement_options(command):
    """--achievement and --replace-achievement (keyword arguments ``achievement`` and
    ``achievement_replaces``), as every command that states rates has them."""
    command = click.option(
        "--replace-achievement", "achievement_replaces", is_flag=True,
        help="The --achievement rates replace the profiles' own rates and indicators.")(command)
    return click.option(
        "--achievement", "achievement", type=PerMission("RATE|MISSION=RATE", rate), multiple=True,
        help="Rate of achievement (0..1) of the contract years the profiles do not measure: for every "
             "mission, or MISSION=RATE for one (repeatable).")(command)


def check_replace(achievement, achievement_replaces) -> None:
    """The usage error of --replace-achievement without --achievement (exit 2)."""
    if achievement_replaces and not achievement:
        raise click.UsageError(_("--replace-achievement needs --achievement"))


def stated_rates(library, rulesets, achievement, achievement_replaces, known=None):
    """The rates the command line states, bound to the texts in play (an
    :class:`~aci_rules.engine.assumptions.Assumed`), or None when it states none.

    ``rulesets`` are the texts named (their missions are known beside the shipped ones'),
    ``known`` the mission ids a rate may name (by default those of ``rulesets`` and of the
    library). Raises the usage error of a lone --replace-achievement, and InputError (E208) for
    a mission no text knows.
    """
    check_replace(achievement, achievement_replaces)
    if not achievement:
        return None
    if known is None:
        known = library.mission_ids()
        for ruleset in rulesets:
            known |= set(ruleset.missions)
    problems = check_missions(achievement, known, "--achievement")
    if problems:
        raise InputError(problems)
    return assumed_over(Assumptions(tuple(achievement), achievement_replaces), library, rulesets)


def say_assumed(assumed) -> None:
    """The rates assumed, on stderr, as batch says its other assumptions."""
    if assumed is not None:
        click.echo(_("aci-rules: assumption: {text}").format(text=render(assumed.note())), err=True)


def say_gaps(gaps: RateGaps, file: str | None) -> None:
    """W050 on stderr, once, when a later contract's year read no rate (stdout is the product's)."""
    warning = gaps.warning(file)
    if warning is not None:
        click.echo(render(warning), err=True)
