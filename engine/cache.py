"""Small on-disk memories of the shipped rulesets, to spare each command their cost.

Both live in the cache folder: ``$ACI_RULES_CACHE``, else ``$XDG_CACHE_HOME/aci-rules``,
else ``~/.cache/aci-rules``; ``ACI_RULES_CACHE=off`` turns them off. A cache that cannot be
read, written or trusted is ignored: never a failure, only the cost of doing the work.

* :class:`ValidationCache` (``validated.json``): the digests of ruleset files found valid
  (their bytes, the schema's text and the engine's version). Digests only.
* :class:`CompiledCache` (``compiled-<key>.pickle``): the shipped texts compiled, as
  ``Library.get`` gives them, so that ``aci-rules eval`` neither parses nor compiles them
  at every run. Its key is the digest of every shipped file's bytes, of the engine's own
  source files and of the Python version: any change to a text or to the engine is another
  file. It is a pickle, read under two guards (see :meth:`CompiledCache._trusted` and
  :class:`_Unpickler`): the file and its folder must belong to the user and be writable
  by no one else (the user's own trust domain, as Python's own bytecode cache, which the
  same user's ``python`` executes); and the unpickler builds only the engine's compiled
  classes, ``Decimal``, ``date`` and the syntax nodes the formula language allows, so that
  even a forged file can make no object that runs code.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import pathlib
import pickle
import stat
import sys
from decimal import Decimal

from aci_rules import __version__

__all__ = ["ValidationCache", "CompiledCache", "cache_folder"]

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
            import tempfile  # only to write: a command the caches serve does not import it

            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".validated-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(self.known, stream)
            os.replace(temporary, self.folder / "validated.json")
        except OSError:
            pass  # a cache is a convenience: never fail a command for it


# At most this many compiled caches are kept (one per version of the texts and the engine met).
MAX_COMPILED_FILES = 16
# A compiled cache larger than this is not read (the shipped texts compile to about 0.3 MB).
MAX_COMPILED_BYTES = 32 * 1024 * 1024


def _engine_digest() -> str:
    """The digest of the engine's own source files, its version and Python's: what a compiled
    text depends on besides the texts (an edited engine, even at the same version, is new)."""
    digest = hashlib.sha256(f"{__version__}\0{sys.version}".encode())
    folder = pathlib.Path(__file__).resolve().parent
    # Each file's size and time of change, not its bytes: an edit changes them, and reading
    # the 40 files at every command would cost more than the rest of the key.
    for path in sorted(folder.glob("*.py")):
        try:
            info = path.stat()
            digest.update(f"{path.name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
        except OSError:
            digest.update(f"{path.name}\0unreadable\0".encode())
    return digest.hexdigest()


class _Unpickler(pickle.Unpickler):
    """Builds only what a compiled ruleset is made of; any other global refuses the file."""

    def find_class(self, module, name):
        from .expressions import _ALLOWED_NODES

        allowed = _COMPILED_CLASSES.get(module)
        if allowed is not None and name in allowed:
            return super().find_class(module, name)
        if module == "ast":
            node = getattr(ast, name, None)
            if isinstance(node, type) and issubclass(node, _ALLOWED_NODES + (ast.Load,)):
                return node
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a compiled ruleset")


_COMPILED_CLASSES = {
    "aci_rules.engine.ruleset": {"Ruleset", "Parameter", "SizeClass", "Taille", "Mission", "Definition",
                                 "FundingLine", "Obligation", "Installment", "PaymentRule", "AnnualMaximum",
                                 "DatedProvision"},
    "aci_rules.engine.expressions": {"Expression"},
    "aci_rules.engine.yaml_loader": {"Positions", "_packed_positions"},
    "aci_rules.engine.plan": {"Plan", "Step", "ObligationStep", "Formula", "Slot", "_Held"},
    "decimal": {"Decimal"},
    "datetime": {"date"},
}


def _safe_plan(plan, ruleset) -> bool:
    """Whether a plan read from the cache is one the plan builder could have made for ``ruleset``:
    its trees name only slots (``s<n>``), the engine's functions (``f_<name>``) and the line sum,
    and hold only constants of the formula language.
    (The fast path writes a plan's trees as Python: a name is never a user's, nor a forger's, text.)"""
    from .names import FUNCTION_KINDS
    from .plan import SUM, Plan

    if not isinstance(plan, Plan) or plan.ruleset is not ruleset:
        return False
    formulas = [plan.basis] + [f for step in plan.steps for f in step.formulas] + [
        f for step in plan.obligations for f in (step.when, step.deadline, step.done)]
    functions = {f"f_{kind}" for kind in FUNCTION_KINDS} | {"f_unknown"}
    # The nodes ast.walk would give, walked here without its generators (4 times faster: this
    # runs on every tree of every plan at each command the cache serves).
    nodes = [formula.tree for formula in formulas if formula is not None]
    budget = MAX_PLAN_NODES  # a forged tree may be a cycle, or share its nodes over and over
    while nodes:
        budget -= 1
        if budget < 0:
            return False
        node = nodes.pop()
        if isinstance(node, ast.Name):
            name = node.id
            if not (isinstance(name, str) and (name == SUM or name in functions
                                               or name[:1] == "s" and name[1:].isdigit())):
                return False
        elif isinstance(node, ast.Constant) and type(node.value) not in _CONSTANT_TYPES:
            return False
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, ast.AST):
                nodes.append(value)
            elif isinstance(value, list):
                nodes.extend(item for item in value if isinstance(item, ast.AST))
    return True


_CONSTANT_TYPES = (int, str, bool, type(None), Decimal)
# The shipped texts' plans hold about 2 000 nodes in all; a plan with more than this is not one of ours.
MAX_PLAN_NODES = 1_000_000


class CompiledCache:
    """The shipped texts compiled, by the key ``Library.compile`` gives them, and for each text
    what that key is made of (its chain's files and the days of its dated provisions).

    ``shipped`` maps each shipped file's name to the digest of its bytes.
    """

    def __init__(self, shipped: dict):
        self.folder = cache_folder()
        key = hashlib.sha256(_engine_digest().encode())
        for name, digest in sorted(shipped.items()):
            key.update(f"\0{name}\0{digest}".encode())
        self.path = self.folder / f"compiled-{key.hexdigest()[:40]}.pickle" if self.folder is not None else None
        self.chains: dict = {}  # ruleset id -> (the content keys of its chain, the days of its provisions)
        self.rulesets: dict = {}  # Library.compile's key -> Ruleset
        self.plans: dict = {}  # the same key -> the ruleset's plan (plan.plan_of)
        if self.path is not None and self._trusted(self.path):
            self._read()

    @staticmethod
    def _trusted(path: pathlib.Path) -> bool:
        """Whether the file and its folder are the user's own and writable by no one else."""
        try:
            for info in (os.stat(path.parent), os.lstat(path)):
                if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                    return False
            return stat.S_ISREG(os.lstat(path).st_mode)
        except (OSError, AttributeError):  # absent; or no geteuid (Windows): not read
            return False

    def _read(self) -> None:
        try:
            raw = self.path.read_bytes()
            if len(raw) > MAX_COMPILED_BYTES:
                return
            content = _Unpickler(io.BytesIO(raw)).load()
            from .ruleset import Ruleset

            if not (isinstance(content, dict) and isinstance(content.get("chains"), dict)
                    and isinstance(content.get("rulesets"), dict) and isinstance(content.get("plans"), dict)
                    and all(isinstance(r, Ruleset) for r in content["rulesets"].values())
                    and all(_safe_plan(plan, content["rulesets"].get(key))
                            for key, plan in content["plans"].items())):
                return
        except Exception:  # noqa: BLE001 — a cache that cannot be read (or trusted) is no cache
            return
        self.chains, self.rulesets, self.plans = content["chains"], content["rulesets"], content["plans"]

    def chain(self, ruleset_id: str):
        """``(chain keys, provision days)`` of a shipped text, or None when not known yet."""
        return self.chains.get(ruleset_id)

    def put(self, ruleset_id: str, chain: tuple, days: tuple, key, ruleset) -> None:
        """Keep a compiled shipped text, and write the cache (a new file replaces the old at once)."""
        if self.path is None:
            return
        from .plan import plan_of

        self.chains[ruleset_id] = (chain, days)
        self.rulesets[key] = ruleset
        self.plans[key] = plan_of(ruleset)
        try:
            data = pickle.dumps({"chains": self.chains, "rulesets": self.rulesets, "plans": self.plans},
                                protocol=pickle.HIGHEST_PROTOCOL)
            import tempfile

            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".compiled-", suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:  # mkstemp: readable and writable by the user only
                stream.write(data)
            os.replace(temporary, self.path)
            self._prune()
        except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
            pass  # a cache is a convenience: never fail a command for it

    def _prune(self) -> None:
        """Keep the newest :data:`MAX_COMPILED_FILES` compiled caches (old texts or engines)."""
        found = []
        for path in self.folder.glob("compiled-*.pickle"):
            try:
                found.append((path.stat().st_mtime, path))
            except OSError:
                continue
        for _, path in sorted(found, reverse=True)[MAX_COMPILED_FILES:]:
            try:
                path.unlink()
            except OSError:
                pass
