"""aci-rules: the funding rules of the ACI CPTS as code.

The import package gathers four sub-packages that live at the top level of the
repository: ``engine`` (load, validate, compile, evaluate), ``cli`` (the click
commands), ``rules`` (the enacted rulesets, YAML) and ``schemas`` (JSON Schemas).
"""

import os

__all__ = ["__version__", "package_files"]

__version__ = "0.1.0"


def package_files(package: str):
    """The files of one of the package's sub-packages (``aci_rules.rules``, ``aci_rules.schemas``...).

    Takes the sub-package's dotted name; returns its folder as a :class:`pathlib.Path` when it is
    installed as files (the usual case), else what :func:`importlib.resources.files` gives (a
    package inside a zip): :mod:`importlib.resources`, with the :mod:`tempfile` and :mod:`zipfile`
    it imports, cost every command about 6 ms.
    """
    import importlib
    import pathlib

    module = importlib.import_module(package)
    folder = os.path.dirname(getattr(module, "__file__", None) or "")
    if folder and os.path.isdir(folder):
        return pathlib.Path(folder)
    import importlib.resources

    return importlib.resources.files(package)
