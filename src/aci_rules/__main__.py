"""Allow ``python -m aci_rules``."""

from aci_rules.cli.main import main

main()
