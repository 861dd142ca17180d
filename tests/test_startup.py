"""What `aci-rules eval` imports, and the records that made its imports cheaper.

The benchmark (bench/bench_startup.py) measures the time; these tests pin the discipline
that time rests on: an `eval` of a valid profile, the compiled texts in the cache, imports
neither jsonschema, nor the YAML of the shipped texts' compiler, nor what only a failure or
a written file needs. And an engine record (engine/records.py) behaves as the frozen
dataclass it replaces.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import os
import pickle
import subprocess
import sys

import pytest

from aci_rules.engine.records import record

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- the imports of one eval -------------------------------------------------------------

# Modules an eval of a valid profile must not import, and why.
NOT_IMPORTED = {
    "jsonschema": "the full schema check, only for a document the typed check refuses (about 50 ms)",
    "aci_rules.engine.compiler": "the shipped texts come compiled from the cache",
    "aci_rules.engine.amend": "no consolidation: the cache holds the consolidated texts",
    "aci_rules.engine.fastpath": "eval runs the reference evaluator",
    "importlib.resources": "package files are read from their folder (aci_rules.package_files)",
    "tempfile": "nothing is written: the caches are warm and the output goes to stdout",
    "difflib": "no name to suggest",
    "numpy": "the vectorised backend is not eval's",
}


def _imported_by_eval(cache: str) -> tuple[set, str]:
    """The modules a fresh `python -m aci_rules eval` process holds at its end, and its output."""
    probe = ("import runpy, sys, json, atexit\n"
             "atexit.register(lambda: sys.__stderr__.write('\\nMODULES ' + json.dumps(sorted(sys.modules))))\n"
             "sys.argv = ['aci-rules', 'eval', 'examples/cpts-2019-taille-3.yaml', '--date', '2024-06-01']\n"
             "runpy.run_module('aci_rules', run_name='__main__')\n")
    env = dict(os.environ, ACI_RULES_CACHE=cache)
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    modules = json.loads(result.stderr.rsplit("MODULES ", 1)[1])
    return set(modules), result.stdout


def test_an_eval_with_the_caches_warm_imports_only_what_it_needs(tmp_path):
    cache = str(tmp_path / "cache")
    cold, cold_output = _imported_by_eval(cache)  # fills the caches: compiles the texts
    assert "aci_rules.engine.compiler" in cold  # (the probe sees what a cold run imports)
    warm, warm_output = _imported_by_eval(cache)
    assert warm_output == cold_output
    found = {name: why for name, why in NOT_IMPORTED.items() if name in warm}
    assert not found, f"imported by a warm eval: {found}"
    assert "yaml" in warm  # the profile is YAML: the one parse an eval needs


def test_an_eval_with_the_caches_off_still_gives_the_same_output(tmp_path):
    warm = _imported_by_eval(str(tmp_path / "cache"))[1]
    assert _imported_by_eval("off")[1] == warm


# -- records behave as frozen dataclasses ---------------------------------------------------

def _pair(body: dict, **options):
    """The same class made by dataclasses (frozen unless told) and by record."""
    made = []
    for decorate in (lambda c: dataclasses.dataclass(frozen=options.get("frozen", True),
                                                     eq=options.get("eq", True))(c),
                     lambda c: record(**options)(c)):
        namespace = {key: (dataclasses.field(**value) if isinstance(value, dict) else value)
                     for key, value in body.items() if key != "__annotations__"}
        namespace["__annotations__"] = dict(body["__annotations__"])
        namespace["__module__"] = __name__
        namespace["__qualname__"] = "Example"
        made.append(decorate(type("Example", (), namespace)))
    return made


def _attempt(function):
    try:
        return function()
    except TypeError as error:
        return str(error)


SHAPES = [
    {"__annotations__": {"a": "int", "b": "str"}},
    {"__annotations__": {"a": "int", "b": "str", "c": "dict"}, "b": "x", "c": {"default_factory": dict}},
    {"__annotations__": {"a": "int", "hidden": "str", "note": "str"},
     "hidden": {"default": "h", "compare": False, "repr": False}, "note": {"default": None, "kw_only": True}},
    {"__annotations__": {"only": "tuple"}},
    {"__annotations__": {}},
    {"__annotations__": {"a": "int", "later": "list"}, "later": {"default_factory": list, "init": False}},
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("options", [{}, {"eq": False}, {"frozen": False}])
def test_a_record_behaves_as_the_dataclass(shape, options):
    reference, ours = _pair(shape, **options)
    assert [(f.name, f.default, f.default_factory, f.init, f.repr, f.compare, f.kw_only)
            for f in dataclasses.fields(ours)] == [
        (f.name, f.default, f.default_factory, f.init, f.repr, f.compare, f.kw_only)
        for f in dataclasses.fields(reference)]
    assert ours.__match_args__ == reference.__match_args__
    names = [n for n in ("a", "b", "c", "only", "hidden") if n in shape["__annotations__"]]
    for arguments in ([], [1], [1, "y"], [1, "y", {"k": 2}], [1, "y", {}, 4]):
        for keywords in ({}, {"note": "n"}, {"hidden": "z"}, {"zzz": 1}, {"a": 3}):
            outcomes = []
            for cls in (reference, ours):
                try:
                    instance = cls(*arguments, **keywords)
                except TypeError as error:
                    outcomes.append(str(error))
                    continue
                other = cls(*arguments, **keywords)
                outcomes.append((repr(instance), vars(instance), instance == other, instance == copy.copy(instance),
                                 instance != object(), _attempt(lambda: hash(instance) == hash(other))))
            assert outcomes[0] == outcomes[1], (arguments, keywords)
    assert str(inspect.signature(ours)) == str(inspect.signature(reference))
    if names and options.get("frozen", True):
        arguments = {f.name: 1 for f in dataclasses.fields(ours) if f.init}
        for cls in (reference, ours):
            instance = cls(**arguments)
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(instance, names[0], 2)
            with pytest.raises(dataclasses.FrozenInstanceError):
                delattr(instance, names[0])
            changed = dataclasses.replace(instance, **{names[0]: 5})
            assert getattr(changed, names[0]) == 5 and getattr(instance, names[0]) == 1
            globals()["Example"] = cls  # where pickle looks the class up
            assert vars(pickle.loads(pickle.dumps(instance))) == vars(instance)
            assert dataclasses.asdict(instance) == dataclasses.asdict(copy.deepcopy(instance))


def test_a_record_keeps_what_the_class_writes_itself_and_calls_post_init():
    @record
    class Kept:
        """A record with a hash and a check of its own."""

        value: str
        seen: list = dataclasses.field(default_factory=list, compare=False)

        def __hash__(self):
            return 7

        def __post_init__(self):
            self.seen.append("post_init")

    first = Kept("x")
    assert hash(first) == 7 and first.seen == ["post_init"]
    assert first == Kept("x", ["other"])  # seen is not compared
    assert str(inspect.signature(Kept)) == "(value: 'str', seen: 'list' = <factory>) -> None"


def test_what_a_record_refuses():
    with pytest.raises(TypeError, match="non-default argument"):
        record(type("Bad", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 1, "__module__": __name__}))
    with pytest.raises(TypeError, match="__setattr__"):
        record(type("Bad", (), {"__annotations__": {"a": "int"}, "__setattr__": lambda s, n, v: None,
                                "__module__": __name__}))
