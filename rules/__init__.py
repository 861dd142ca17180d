"""The enacted rulesets (YAML), read as package data with importlib.resources."""

# This folder is the package aci_rules.rules. Run from the repository root, ``import rules``
# would find it as a top-level package of its own and load a second copy of every module
# (a second InputError class that no ``except`` of the first copy catches): refuse that.
if __name__ != "aci_rules.rules":
    raise ImportError(f"{__name__!r} is part of aci-rules: import aci_rules.rules instead")
