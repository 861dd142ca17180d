"""A small on-disk memory of the ruleset files already found valid, to skip re-checking them.

Checking a ruleset against its JSON Schema is the largest cost of one ``aci-rules eval``.
The shipped rulesets rarely change, so the digest of each file found valid (its bytes,
the schema's text and the engine's version) is kept in ``validated.json`` under the cache
folder: ``$ACI_RULES_CACHE``, else ``$XDG_CACHE_HOME/aci-rules``, else
``~/.cache/aci-rules``. ``ACI_RULES_CACHE=off`` turns it off. It holds digests only,
never code or data to load; a cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile

from aci_rules import __version__

__all__ = ["ValidationCache", "cache_folder"]

# The cache keeps at most this many digests (a few per edited version of a ruleset).
MAX_ENTRIES = 512


def cache_folder() -> pathlib.Path | None:
    setting = os.environ.get("ACI_RULES_CACHE")
    if setting is not None:
        return None if setting.strip().lower() in ("", "0", "off", "no", "false") else pathlib.Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "aci-rules"


class ValidationCache:
    """Digests of ruleset texts known to satisfy the schema."""

    def __init__(self, schema_text: str):
        self.folder = cache_folder()
        self.salt = (schema_text + "\0" + __version__).encode("utf-8")
        self.known: list[str] = []
        self.changed = False
        if self.folder is not None:
            try:
                known = json.loads((self.folder / "validated.json").read_text("utf-8"))
                self.known = [d for d in known if isinstance(d, str)] if isinstance(known, list) else []
            except (OSError, ValueError):
                self.known = []

    def digest(self, raw: bytes) -> str:
        return hashlib.sha256(self.salt + b"\0" + raw).hexdigest()

    def __contains__(self, digest: str) -> bool:
        return digest in self.known

    def add(self, digest: str) -> None:
        if digest not in self.known:
            self.known = (self.known + [digest])[-MAX_ENTRIES:]
            self.changed = True

    def save(self) -> None:
        if self.folder is None or not self.changed:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".validated-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(self.known, stream)
            os.replace(temporary, self.folder / "validated.json")
        except OSError:
            pass  # a cache is a convenience: never fail a command for it
