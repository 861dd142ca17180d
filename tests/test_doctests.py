"""The doctests of the pure helpers and renderers run as tests (including their failing examples)."""

import doctest
import importlib

import pytest

MODULES = [
    "aci_rules.engine.diagnostic",
    "aci_rules.engine.yaml_loader",
    "aci_rules.engine.expressions",
    "aci_rules.engine.helpers",
    "aci_rules.engine.profile",
    "aci_rules.engine.ruleset",
    "aci_rules.engine.evaluate",
    "aci_rules.engine.sites",
    "aci_rules.engine.mutate",
    "aci_rules.engine.impact",
    "aci_rules.cli.render",
    "aci_rules.cli.html",
    "aci_rules.cli.charts",
    "aci_rules.cli.reading",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name):
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0, f"{name} has no doctest"
    assert failures == 0
