"""Writing a command's product to a file without ever leaving half a file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile

from aci_rules.engine.diagnostic import Diagnostic, InputError, msg

__all__ = ["write_atomically", "atomic_output", "write_bytes_atomically"]


@contextlib.contextmanager
def atomic_output(path: str):
    """Yield a text file to write; on success it replaces ``path`` in one rename.

    The temporary file sits beside the target (same file system, so the rename is
    atomic); on any error or interruption it is removed and the target is untouched.
    Raises InputError when the folder does not exist or cannot be written.
    """
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise InputError([Diagnostic("E011", msg("cannot write {path}: the folder {folder} does not exist",
                                                 path=path, folder=folder))])
    if os.path.isdir(target):
        raise InputError([Diagnostic("E011", msg("cannot write {path}: it is a folder", path=path))])
    try:
        handle, temporary = tempfile.mkstemp(prefix=".aci-rules-", suffix=".tmp", dir=folder)
    except OSError as error:
        raise InputError([Diagnostic("E011", msg("cannot write {path}: {reason}", path=path,
                                                 reason=error.strerror or str(error)))]) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
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
