"""Formatters: turn engine results into text for a person or JSON for a program.

They only read results; they compute nothing that the engine did not record.
"""

from __future__ import annotations

import datetime
import json
import textwrap
from decimal import Decimal

import yaml

from aci_rules.engine.diagnostic import Diagnostic, Message, plain_decimal
from aci_rules.engine.evaluate import Result
from aci_rules.engine.provenance import own_tag

from .i18n import _, language, render

__all__ = [
    "euros",
    "status",
    "render_eval_text",
    "render_eval_json",
    "render_errors_json",
    "render_ruleset_text",
    "render_ruleset_yaml",
    "json_dumps",
]

def status(code: str) -> str:
    """An obligation's status in the reader's language, its code after it when they differ
    (``tenue (met)``)."""
    words = {"met": _("met"), "late": _("late"), "missing": _("missing"), "pending": _("pending")}
    word = words.get(code, code)
    return word if word == code else f"{word} ({code})"


def euros(amount: Decimal) -> str:
    """An amount written the reader's way: the French way by default, else the English one.

    >>> euros(Decimal("87500"))
    '87 500,00 €'
    >>> euros(Decimal("-1234.5"))
    '-1 234,50 €'
    """
    if language() == "en":
        return f"{'-' if amount < 0 else ''}€{abs(amount):,.2f}"
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{' '.join(groups)},{cents} €"


def _number(value: int) -> str:
    return f"{value:,}" if language() == "en" else f"{value:,}".replace(",", " ")


def _value(value) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


_plain = plain_decimal  # a decimal without exponent or trailing zeros (the engine's, for its messages too)


def json_dumps(document) -> str:
    """JSON for a program: a message (an assumption, say) in English, as every JSON message."""
    return json.dumps(document, ensure_ascii=False, indent=2, default=_english)


def _english(value):
    if isinstance(value, Message):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def render_eval_json(result: Result, explain: bool = False) -> str:
    document = result.to_dict()
    if explain:
        document["explain"] = {
            "size_confidence": result.size_confidence,
            "lines": {line.id: {"applies": line.applies, "formulas": line.trace.formulas,
                                "values": {k: _value(v) for k, v in line.trace.values.items()},
                                "provenance": _provenance(result.ruleset, line.trace.values, result.size)}
                      for line in result.lines + result.skipped if line.trace is not None},
            "segments": {line.id: [{"ruleset": s.ruleset, "from": s.start.isoformat(), "to": s.end.isoformat(),
                                    "amount": str(amount), "share": str(share)}
                                   for s, (amount, share) in _segment_parts(line.id, result.segments)]
                         for line in result.lines},
        }
    return json_dumps(document)


def _provenance(ruleset, values, size) -> dict:
    """The tag of each parameter, and of each definition or line with a tag of its own, a line read:
    name -> {"confidence", "proposal": {"id", "reference"} of a proposal's own figure, else null}."""
    found = {}
    for name in values:
        tag = own_tag(ruleset, name, size)
        if tag is not None:
            found[name] = {"confidence": tag[0], "proposal": tag[1]}
    return found


def render_errors_json(diagnostics: list[Diagnostic]) -> str:
    return json_dumps({"errors": [d.to_dict() for d in diagnostics]})


def _wrap(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) or [indent]


def render_eval_text(result: Result, explain: bool = False, ruleset_file: str | None = None) -> str:
    """The evaluation for a person; ``ruleset_file`` names the file of a ruleset given by path."""
    ruleset, profile = result.ruleset, result.profile
    out = []
    out.append(_("{name} — evaluation on {date}").format(name=profile.name, date=result.date.isoformat()))
    out.append("")
    title = " ".join(ruleset.title.split())
    out.append(f"  {_('Text applied'):<17} " + _("{id} ({kind}, in force since {day})").format(
        id=ruleset.id, kind=ruleset.kind, day=ruleset.in_force))
    out.extend(_wrap(title, 88, " " * 20))
    if ruleset_file:
        out.append(f"  {_('File'):<17} {ruleset_file}")
    if result.size is not None:
        tag = "" if result.size_confidence == "confirmed" else f"  [{result.size_confidence}]"
        out.append(f"  {_('Taille'):<17} " + _("{size} (population {population})").format(
            size=result.size, population=_number(profile.population)) + tag)
    year = result.contract_year
    details = []
    if year is not None:
        shown = _("{number} ({start} to {end})").format(number=year.number, start=year.start, end=year.end)
        contract = year.contract
        if contract is not None and (contract.number > 1 or contract.assumed):
            said = (_("no. {number}, signed on {signed}, until {end}, assumed (renewal)") if contract.assumed
                    else _("no. {number}, signed on {signed}, until {end}"))
            details.append(f"  {_('Contract'):<17} " + said.format(number=contract.number, signed=contract.signed,
                                                                   end=contract.end))
        for index, segment in enumerate(result.segments):
            title = _("Texts of the year") if index == 0 else ""
            details.append(f"  {title:<18}" + _("{text} from {start} to {end} ({days} days)").format(
                text=segment.ruleset, start=segment.start, end=segment.end, days=segment.days))
        if len(result.segments) > 1:
            details.append(f"  {'':<18}" + _("each line counts each text for its days, on every date of the year"))
    elif profile.contract_signed is None:
        shown = _("none (no ACI contract signed)")
    else:
        shown = _("none on this date (out of contract)")
    out.append(f"  {_('Contract year'):<17} {shown}")
    out.extend(details)
    for assumption in result.assumptions:
        out.extend(_wrap(_("Assumption: {text}").format(text=render(assumption)), 96, "  "))
    out.append("")

    missions = ruleset.missions
    header = (f"  {_('Line'):<50} {_('Volet'):<15} {_('Amount'):>15} {_('Maximum'):>15}  "
              f"{_('Confidence')}")
    out.append(header)
    out.append("  " + "-" * (len(header) - 2))
    groups: dict = {}
    for line in result.lines:
        groups.setdefault(line.mission, []).append(line)
    for mission_id, lines in groups.items():
        if mission_id is not None:
            mission = missions.get(mission_id)
            kind = f" ({mission.kind})" if mission else ""
            out.append(f"  {_('Mission')} {mission_id}{kind}")
        for line in lines:
            label_lines = textwrap.wrap(line.label, 48) or [""]
            out.append(f"    {label_lines[0]:<48} {line.volet:<15} {euros(line.amount):>15} "
                       f"{euros(line.maximum):>15}  {line.confidence}")
            out.extend(f"    {rest}" for rest in label_lines[1:])
            reference = _wrap(line.reference, 84, "        ")
            out.append("      ↳ " + reference[0].strip())
            out.extend(reference[1:])
            if explain:
                out.extend(_explain_segments(line, result.segments))
                out.extend(_explain_line(line, ruleset, result.size))
    out.append("  " + "-" * (len(header) - 2))
    out.append(f"  {_('Total'):<66} {euros(result.total):>15}")
    out.append("")

    if explain and result.skipped:
        out.append(_("Lines that do not apply"))
        for line in result.skipped:
            out.append(f"  {line.id} — {line.label}")
            out.extend(_explain_line(line, ruleset, result.size))
        out.append("")

    if result.obligations:
        out.append(_("Obligations on {date}").format(date=result.date))
        out.extend(obligation_lines(result.obligations))
        out.append("")

    unverified = [line for line in result.lines if line.confidence != "confirmed"]
    if unverified:
        by_tag: dict = {}
        for line in unverified:
            by_tag.setdefault(line.confidence, []).append(line.id)
        parts = [f"{len(ids)} {tag} ({', '.join(ids)})" for tag, ids in by_tag.items()]
        out.append(_("Provenance: {parts} — see each line's reference;").format(parts="; ".join(parts)))
        if "proposed" in by_tag:  # a proposal's own figures: say whose, and that they are not law
            out.extend(_wrap(_("proposed: figures put forward by {id} ({reference}), no text in force;").format(
                id=result.ruleset.id, reference=" ".join(result.ruleset.reference.split())), 96, "  "))
        out.append("  " + _("the sources and what rests on each: aci-rules show --sources"))
        out.append("")

    if result.warnings:
        out.append(_("Warnings"))
        for warning in result.warnings:
            out.extend(_wrap(render(warning), 96, "  "))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def obligation_lines(obligations) -> list[str]:
    """One line per obligation: label, deadline, when it was done, status."""
    out = []
    for obligation in obligations:
        done = (_("done on {day}").format(day=obligation.done) if obligation.done else _("not done yet"))
        deadline = _("deadline {day}").format(day=obligation.deadline)
        out.append(f"  {obligation.label:<64} {deadline}  {done:<20} {status(obligation.status)}")
    return out


def _segment_parts(line_id, segments) -> list:
    return [(s, s.lines[line_id]) for s in segments if line_id in s.lines]


def _explain_segments(line, segments) -> list[str]:
    """How a line's year amount adds up over the parts of a cut year."""
    if len(segments) < 2:
        return []
    out = ["      " + _("amount of the year = the sum, for each text, of its amount × the share of the year it covers:")]
    for segment, (amount, share) in _segment_parts(line.id, segments):
        out.append("        · " + _("{text} from {start} to {end}: {amount} × {share}").format(
            text=segment.ruleset, start=segment.start, end=segment.end, amount=euros(amount),
            share=_plain(share.quantize(Decimal('0.0001'))).replace('.', ',')))
    return out


def _explain_line(line, ruleset, size) -> list[str]:
    trace = line.trace
    if trace is None:
        return []
    out = []
    for field, text in trace.formulas.items():
        out.extend(_wrap(f"{field}: {text}", 90, "      ") if len(text) < 80 else
                   [f"      {field}: {text}"])
    if not trace.applied and "when" in trace.formulas:
        out.append("      → " + _("does not apply: « {condition} » is false").format(condition=trace.reason))
    for name, value in trace.values.items():
        parameter = ruleset.parameters.get(name)
        if parameter is not None:
            cell = f" (taille {size})" if parameter.by_taille is not None else ""
            text = _wrap(f"{name}{cell} = {_value(value)} [{parameter.confidence_for(size)}] — "
                         f"{parameter.reference}", 90, "          ")
            out.append("        · " + text[0].strip())
            out.extend(text[1:])
        elif (tag := own_tag(ruleset, name, size)) is not None:
            # A definition or line with a tag of its own: a proposal's says whose figure it is.
            confidence, whose = tag
            said = f"{name} = {_value(value)} [{confidence}]"
            if whose is not None:
                said += " — " + _("put forward by {id} ({reference})").format(**whose)
            text = _wrap(said, 90, "          ")
            out.append("        · " + text[0].strip())
            out.extend(text[1:])
        else:
            out.append(f"        · {name} = {_value(value)}")
    return out


class _RulesetDumper(yaml.SafeDumper):
    """Writes Decimal amounts as plain numbers (exact, as written)."""


_RulesetDumper.add_representer(
    Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float", str(value)))


def render_ruleset_yaml(ruleset, data, day) -> str:
    """The consolidated ruleset (``data``: its text, from ``Library.consolidated_document``) as YAML
    that ``aci-rules validate`` accepts."""
    when = f"as in force on {day}" if day else "every provision applied"
    header = (f"# Consolidated text of {ruleset.id}: {' + '.join(ruleset.chain)}, {when}.\n"
              "# yaml-language-server: $schema=../schemas/ruleset.schema.json\n")
    body = yaml.dump(data, Dumper=_RulesetDumper, sort_keys=False,
                     allow_unicode=True, width=100)
    return header + body


def render_ruleset_text(ruleset, day) -> str:
    """The barème of a consolidated ruleset: each line's maximum for each taille."""
    from aci_rules.engine.bareme import annual_maximum, static_maximum, upper_maximum  # only `show` needs them

    tailles = sorted({c.taille for c in ruleset.taille.classes}) if ruleset.taille else [None]
    out = [f"{ruleset.id} — {' '.join(ruleset.title.split())}"]
    out.append(f"  {ruleset.kind}, {ruleset.status}; "
               + (_("in force from {start} until {end}").format(start=ruleset.in_force, end=ruleset.until)
                  if ruleset.until else _("in force since {start}").format(start=ruleset.in_force)))
    chain = " + ".join(ruleset.chain)
    out.append("  " + (_("Consolidated text: {chain}, on {day}").format(chain=chain, day=day) if day else
                       _("Consolidated text: {chain}, every provision applied").format(chain=chain)))
    out.extend(_wrap(" ".join(ruleset.reference.split()), 96, "  "))
    if ruleset.provisions:
        out.append("  " + _("Provisions with their own date of effect:"))
        for provision in ruleset.provisions:
            out.append(f"    {provision.day}  {provision.ruleset}: {provision.description}")
    out.append("")
    if ruleset.taille is not None:
        out.append(_("Tailles ({basis})").format(basis=ruleset.taille.basis.text))
        for size_class in ruleset.taille.classes:
            high = _number(size_class.high) if size_class.high is not None else "…"
            tag = "" if size_class.confidence == "confirmed" else f"  [{size_class.confidence}]"
            out.append("  " + _("taille {size}: {low} to {high}").format(
                size=size_class.taille, low=_number(size_class.low), high=high) + tag)
        out.append("")

    width = 15
    header = f"  {_('Line'):<28} {_('Volet'):<22}" + "".join(
        f"{_('Taille {size}').format(size=t):>{width}}" for t in tailles)
    out.append(_("Barème (maximum per contract year)"))
    out.append(header)
    out.append("  " + "-" * (len(header) - 2))
    for line in ruleset.lines:
        expression = line.maximum or line.amount
        values = [static_maximum(ruleset, line, t) for t in tailles]
        label = line.id if len(line.id) <= 28 else line.id[:27] + "…"
        if all(v is not None for v in values):
            out.append(f"  {label:<28} {line.volet:<22}" + "".join(f"{euros(Decimal(v)):>{width}}" for v in values))
        else:
            # The most it can reach where that is known (a conditional maximum, an amount per
            # inhabitant within the taille's bounds), else it depends on the profile.
            uppers = [v if v is not None else upper_maximum(ruleset, line, t) for v, t in zip(values, tailles)]
            cells = [_("by profile") if u is None else euros(Decimal(u)) if v is not None
                     else "≤ " + euros(Decimal(u)) for v, u in zip(values, uppers)]
            out.append(f"  {label:<28} {line.volet:<22}" + "".join(f"{c:>{width}}" for c in cells))
            out.extend(_wrap(_("formula: {formula}").format(formula=" ".join(expression.text.split())), 100, "    "))
            for name in sorted(expression.names):
                parameter = ruleset.parameters.get(name)
                if parameter is not None and parameter.by_taille is not None:
                    out.append(f"    {name:<48}" + "".join(
                        f"{euros(Decimal(parameter.value_for(t))):>{width}}" for t in tailles))
        confidences = [ruleset.confidence[line.id].get(t, "confirmed") for t in tailles]
        if any(c != "confirmed" for c in confidences):
            out.append(f"    {_('confidence'):<48}" + "".join(f"{c:>{width}}" for c in confidences))
    maxima = annual_maximum(ruleset)
    if maxima is not None:
        # The yearly maximum as the text states it: the engine adds up the declared volets.
        out.append("  " + "-" * (len(header) - 2))
        out.append(f"  {ruleset.annual_maximum.label} — " + _("volets {volets}").format(
            volets=", ".join(ruleset.annual_maximum.volets)))
        out.append(f"  {_('Total'):<51}" + "".join(
            f"{_('by profile') if maxima[t] is None else euros(maxima[t]):>{width}}" for t in tailles))
        reference = _wrap(" ".join(ruleset.annual_maximum.reference.split()), 96, "      ")
        out.append("    ↳ " + reference[0].strip())
        out.extend(reference[1:])
    out.append("")
    scalars = [p for p in ruleset.parameters.values() if p.by_taille is None]
    if scalars:
        out.append(_("Other parameters"))
        for parameter in scalars:
            if parameter.unit == "taux":
                shown = f"{_plain(Decimal(parameter.value) * 100)} %"
            elif parameter.unit in ("mois", "ans", "jours", "heures", "EUR"):
                shown = f"{_value(parameter.value)} {parameter.unit}"
            else:
                shown = _value(parameter.value)
            out.append(f"  {parameter.name:<32} {shown}  [{parameter.confidence_for(None)}]")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
