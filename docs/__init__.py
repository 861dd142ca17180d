"""The project's pages a user reads from the installed package (sources.md, readings.md)."""

# As for aci_rules.rules: run from the repository root, ``import docs`` must not make a second copy.
if __name__ != "aci_rules.docs":
    raise ImportError(f"{__name__!r} is part of aci-rules: import aci_rules.docs instead")
