"""The rules live in YAML: no Python module names a mission, a line, a parameter or an amount
of a shipped text (issue: 'Nothing in Python names a mission, a size or an amount of a specific
text')."""

import re
from decimal import Decimal

import pytest

from aci_rules.engine.library import Library

from conftest import ROOT

SOURCES = sorted((ROOT / "engine").glob("*.py")) + sorted((ROOT / "cli").glob("*.py"))


# The proposals of examples/ (issue 13's hypothesis among them: its aggregate, its guarantee
# and the texts it reads are YAML only) count as much as the shipped texts.
PROPOSALS = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml")
                   if "amends:" in p.read_text("utf-8"))


def _words_of_the_rulesets():
    library = Library()
    words, amounts = set(), set()
    for ruleset_id in library.known_ids() + PROPOSALS:
        ruleset = library.get(ruleset_id)
        words |= set(ruleset.missions) | {line.id for line in ruleset.lines}
        words |= {o.id for o in ruleset.obligations} | set(ruleset.definitions)
        for parameter in ruleset.parameters.values():
            words.add(parameter.name)
            for value in (parameter.by_taille or {}).values():
                if isinstance(value, (int, Decimal)) and value >= 1000:
                    amounts.add(int(value))
    return words, amounts


WORDS, AMOUNTS = _words_of_the_rulesets()


def test_the_rulesets_do_define_missions_and_amounts():
    assert {"acces_soins", "crises_sanitaires"} <= WORDS
    assert {"garantie_non_perte", "prime_resultats", "fonctionnement_par_habitant"} <= WORDS
    assert 287500 not in AMOUNTS and 55000 in AMOUNTS


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_python_names_no_mission_line_parameter_or_amount(path):
    text = path.read_text("utf-8")
    tokens = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    assert not (tokens & WORDS), f"{path.name} names {sorted(tokens & WORDS)}"
    numbers = {int(n.replace("_", "").replace(" ", "")) for n in re.findall(r"\b\d[\d_ ]{3,}\d\b", text)
               if n.replace("_", "").replace(" ", "").isdigit()}
    assert not (numbers & AMOUNTS), f"{path.name} holds amounts {sorted(numbers & AMOUNTS)}"
