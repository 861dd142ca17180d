"""Where a path written inside a file may point (``amends:``, a test case's ``profile:``).

A ruleset or a case file may come from another organisation. A path it writes is
followed only when it names a YAML file (``.yaml`` / ``.yml``) that lies, once every
symbolic link is resolved, under the folder the user allowed: the folder of the file
named on the command line (for a chain of amendments), or of the case file. Absolute
paths are refused, so are ``..`` and links that lead out of it: such a file could be
``/etc/passwd`` or a private key, and its content must never reach a message.
"""

from __future__ import annotations

import os

from .diagnostic import Diagnostic, InputError, excerpt, msg

__all__ = ["YAML_SUFFIXES", "allowed_folder", "confine", "yaml_files_in"]

YAML_SUFFIXES = (".yaml", ".yml")


def allowed_folder(filename: str) -> str:
    """The folder a file's own paths may point under: its folder, symbolic links resolved."""
    return os.path.realpath(os.path.dirname(os.path.abspath(filename)))


def confine(written: str, document, path: tuple, folders) -> str:
    """The file that ``written`` (a path read at ``path`` in ``document``) names, if allowed.

    Takes the text as written, the document holding it (relative paths start from its
    folder), the path of the node for the diagnostic, and the allowed folder (or a
    tuple of them, symbolic links resolved). Returns the path to open. Raises
    InputError (E012, at the node) for an absolute path, a name that is not a YAML
    file, or a file under none of the folders.

    >>> confine("base.yaml", None, (), "/srv/rules") == "/srv/rules/base.yaml"
    True
    """
    folders = (folders,) if isinstance(folders, str) else tuple(folders)

    def refuse(reason: str):
        message = (f"{excerpt(written)} {reason}; a path in a file may only name a YAML file under "
                   + " or ".join(folders))
        if document is None:
            raise ValueError(message)
        raise InputError([document.diagnostic("E012", message, path)])

    if os.path.isabs(written) or written.startswith("~"):
        refuse("is an absolute path")
    if not written.endswith(YAML_SUFFIXES):
        refuse("is not a .yaml or .yml file")
    start = os.path.dirname(os.path.abspath(document.file)) if document is not None else folders[0]
    target = os.path.normpath(os.path.join(start, written))
    if not any(_under(os.path.realpath(target), folder) for folder in folders):
        through_link = any(_under(target, folder) for folder in folders)
        refuse("leads out of the allowed folder" + (" through a symbolic link" if through_link else ""))
    return target


def _under(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def yaml_files_in(folder: str) -> tuple[list[str], list[Diagnostic]]:
    """The YAML files of a folder, sorted, and an E012 for each symbolic link that leads out of it.

    A link in a folder of profiles must not make the tool read a file elsewhere (a key,
    a password file).
    """
    real = os.path.realpath(folder)
    files, problems = [], []
    for name in sorted(os.listdir(folder)):
        full = os.path.join(folder, name)
        if not name.endswith(YAML_SUFFIXES) or os.path.isdir(full):
            continue
        if os.path.dirname(os.path.realpath(full)) != real:
            problems.append(Diagnostic("E012", msg("is a symbolic link that leads out of {folder}: not read",
                                                   folder=folder), full))
            continue
        files.append(full)
    return files, problems
