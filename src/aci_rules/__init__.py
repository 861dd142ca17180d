"""aci-rules: the funding rules of the ACI CPTS as code.

The import package gathers four sub-packages that live at the top level of the
repository: ``engine`` (load, validate, compile, evaluate), ``cli`` (the click
commands), ``rules`` (the enacted rulesets, YAML) and ``schemas`` (JSON Schemas).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
