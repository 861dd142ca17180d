"""Writing a command's product to a file without ever leaving half a file behind.

The file is written to a temporary beside the target and renamed into place. Only a
regular file is ever replaced: ``--output /dev/null`` or a FIFO would otherwise be
swapped for a plain file (as root, destroying the device node). A new file gets the
mode any file the user creates gets (0666 less the umask), an existing one keeps its
own. A temporary left by a run that was killed (``kill -9``) is removed by the next
write into the same folder.
"""

from __future__ import annotations

import contextlib
import os
import stat

import click

from aci_rules.engine.diagnostic import Diagnostic, InputError, msg, printable

__all__ = ["emit", "write_atomically", "atomic_output", "check_output", "remove_stale_temporaries", "TEMPORARY_PREFIX",
           "spreadsheet_safe", "terminal_safe", "write_bytes_atomically"]

# A spreadsheet reads a cell starting with one of these as a formula (=HYPERLINK(...),
# +cmd|..., @SUM, a tab or carriage return before one): OWASP's advice is a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A CSV cell that no spreadsheet runs: a text starting like a formula gets a leading '.

    Numbers (amounts, tailles) are written as they are.

    >>> spreadsheet_safe("=HYPERLINK(\"http://x\")"), spreadsheet_safe("CPTS"), spreadsheet_safe(-5)
    ('\'=HYPERLINK("http://x")', 'CPTS', -5)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def terminal_safe(text: str) -> str:
    """Text for a terminal: every control character but the line break written as an escape,
    so that a name cannot move the cursor, recolour or retitle the user's terminal.

    >>> terminal_safe("CPTS" + chr(27) + "[2J" + chr(10))
    'CPTS\\x1b[2J\n'
    """
    return "\n".join(printable(part) for part in text.split("\n"))

# Temporaries are named .aci-rules-<pid>-<random>.tmp: the process id tells a stale one
# (its process is gone) from one another run is still writing.
TEMPORARY_PREFIX = ".aci-rules-"
_SUFFIX = ".tmp"


def _refuse(path: str, reason):
    raise InputError([Diagnostic("E011", msg("cannot write {path}: {reason}", path=path, reason=reason))])


def check_output(path: str) -> str:
    """Check, before any work, that ``path`` can be written; return its absolute form.

    Raises InputError (E011) when its folder does not exist or cannot be written, or
    when it names something other than a regular file (a folder, a device, a FIFO).
    """
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        _refuse(path, msg("the folder {folder} does not exist", folder=folder))
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as error:
        _refuse(path, error.strerror or str(error))
    if info is not None and stat.S_ISDIR(info.st_mode):
        _refuse(path, msg("it is a folder"))
    if info is not None and not stat.S_ISREG(info.st_mode):
        _refuse(path, msg("it is not a regular file (a device, a FIFO or a socket): aci-rules writes only files"))
    if not os.access(folder, os.W_OK | os.X_OK):
        _refuse(path, msg("the folder {folder} is not writable", folder=folder))
    return target


def _is_stale(name: str) -> bool:
    # .aci-rules-<pid>-<random>.tmp whose process no longer runs.
    middle = name[len(TEMPORARY_PREFIX):-len(_SUFFIX)]
    pid, _, _ = middle.partition("-")
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, under another user
        return False
    return False


def remove_stale_temporaries(folder: str) -> None:
    """Remove the temporaries that killed runs left in ``folder`` (never one still being written)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if name.startswith(TEMPORARY_PREFIX) and name.endswith(_SUFFIX) and _is_stale(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))


def _mode_for(target: str) -> int:
    try:
        info = os.stat(target)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
    return stat.S_IMODE(info.st_mode)


@contextlib.contextmanager
def atomic_output(path: str):
    """Yield a text file to write; on success it replaces ``path`` in one rename.

    The temporary file sits beside the target (same file system, so the rename is
    atomic); on any error or interruption it is removed and the target is untouched.
    Raises InputError (E011) when the target cannot be written (see :func:`check_output`).
    """
    target = check_output(path)
    folder = os.path.dirname(target)
    remove_stale_temporaries(folder)
    import tempfile  # here: a command writing to stdout does not pay its import

    try:
        handle, temporary = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-", suffix=_SUFFIX,
                                             dir=folder)
    except OSError as error:
        _refuse(path, error.strerror or str(error))
    try:
        os.fchmod(handle, _mode_for(target))
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        check_output(path)  # a FIFO made at the target while we wrote is not replaced either
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` all at once (see :func:`atomic_output`)."""
    with atomic_output(path) as stream:
        stream.write(text)


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Write ``data`` (an xlsx workbook, say) to ``path`` all at once (see :func:`atomic_output`)."""
    with atomic_output(path) as stream:
        stream.flush()
        stream.buffer.write(data)


def emit(text: str, output: str | None, *, for_terminal: bool = False, final_newline: bool = False) -> None:
    """A command's product: into ``output`` all at once (ending with a line break when
    ``final_newline``), else on stdout; ``for_terminal`` text, written for a person, has its
    control characters escaped on stdout (:func:`terminal_safe`)."""
    if output:
        write_atomically(output, text if not final_newline or text.endswith("\n") else text + "\n")
    else:
        click.echo(terminal_safe(text) if for_terminal else text, nl=False)
