"""The on-disk memory of the compiled shipped texts (engine/cache.py's CompiledCache).

A later command gets the shipped texts without reading their YAML, the same rulesets to the
cent; a cache file that is forged, not the user's own, or writable by others is not read.
"""

from __future__ import annotations

import ast
import datetime
import io
import os
import pickle
from unittest import mock

import pytest

from aci_rules.engine import cache as cache_module
from aci_rules.engine import library as library_module
from aci_rules.engine import plan as plan_module
from aci_rules.engine.evaluate import evaluate
from aci_rules.engine.library import Library, load_profile_document
from aci_rules.engine.profile import compile_profile

DAY = datetime.date(2024, 6, 1)
PROFILE = "examples/cpts-2019-taille-3.yaml"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A cache folder of this test's own (mode 0700, as mkdtemp makes it)."""
    path = tmp_path / "cache"
    path.mkdir(mode=0o700)
    monkeypatch.setenv("ACI_RULES_CACHE", str(path))
    return path


def amounts(ruleset) -> dict:
    profile = compile_profile(load_profile_document(PROFILE))
    return {line.id: str(line.amount) for line in evaluate(ruleset, profile, DAY).lines}


def no_yaml():
    """Reading any ruleset's YAML fails: what is computed comes from the cache."""
    return mock.patch.object(library_module, "parse_document", side_effect=AssertionError("YAML read"))


def test_a_second_library_reads_no_yaml_and_gives_the_same_rulesets(folder):
    first = Library()
    compiled = {(name, day): first.get(name, day) for name in first.known_ids() for day in (None, DAY)}
    in_force = first.in_force(DAY)
    assert list(folder.glob("compiled-*.pickle"))
    with no_yaml():
        second = Library()
        for (name, day), ruleset in compiled.items():
            again = second.get(name, day)
            assert again is second.get(name, day)  # one object per text and day, as compile gives
            assert (again.id, again.in_force, again.provisions, again.positions.marks) == (
                ruleset.id, ruleset.in_force, ruleset.provisions, ruleset.positions.marks)
        assert second.in_force(DAY).id == in_force.id
        assert amounts(second.in_force(DAY)) == amounts(in_force)
        assert second.mission_arrivals() == first.mission_arrivals()
    # Their plans too: the steps are not built again.
    with no_yaml(), mock.patch.object(plan_module._Builder, "build", side_effect=AssertionError("plan built")):
        third = Library()
        assert amounts(third.in_force(DAY)) == amounts(in_force)
    # What compile gives after reading the YAML is the very object the cache gave.
    assert second.compile(second.document("avenant-2"), DAY) is second.get("avenant-2", DAY)


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo forged > /dev/null",))


def test_a_forged_cache_file_is_not_run_and_the_texts_are_compiled_again(folder):
    Library().get("avenant-2", DAY)
    (path,) = folder.glob("compiled-*.pickle")
    path.write_bytes(pickle.dumps({"chains": {}, "rulesets": {"x": _Boom()}}))
    with mock.patch("os.system", side_effect=AssertionError("code run from the cache")):
        ruleset = Library().get("avenant-2", DAY)
    assert ruleset.id == "avenant-2"


def test_a_cache_file_others_may_write_is_not_read(folder):
    Library().get("avenant-2", DAY)
    (path,) = folder.glob("compiled-*.pickle")
    path.chmod(0o666)
    with no_yaml(), pytest.raises(AssertionError, match="YAML read"):
        Library().get("avenant-2", DAY)
    path.chmod(0o600)
    folder.chmod(0o777)
    try:
        with no_yaml(), pytest.raises(AssertionError, match="YAML read"):
            Library().get("avenant-2", DAY)
    finally:
        folder.chmod(0o700)


def test_a_forged_plan_is_not_taken(folder):
    """A plan's trees are written as Python by the fast path: a name that is no slot refuses the file."""
    Library().get("avenant-2", DAY)
    (path,) = folder.glob("compiled-*.pickle")
    content = pickle.loads(path.read_bytes())
    plan = next(iter(content["plans"].values()))
    step = next(s for s in plan.steps if s.amount is not None)
    object.__setattr__(step.amount, "tree", ast.Name(id="().__class__", ctx=ast.Load()))
    path.write_bytes(pickle.dumps(content))
    with no_yaml(), pytest.raises(AssertionError, match="YAML read"):
        Library().get("avenant-2", DAY)


def test_a_forged_table_of_positions_builds_nothing_and_is_read_as_empty(folder):
    """The positions of a cached text are a pickle inside the pickle, unpacked when first asked:
    plain data only, whatever the bytes say."""
    Library().get("avenant-2", DAY)
    (path,) = folder.glob("compiled-*.pickle")
    content = cache_module._Unpickler(io.BytesIO(path.read_bytes())).load()
    ruleset = next(r for r in content["rulesets"].values() if r.id == "avenant-2")
    assert ruleset.positions.__dict__.keys() == {"file", "_packed"}  # not unpacked by reading the file
    object.__setattr__(ruleset.positions, "_packed", pickle.dumps(_Boom()))
    path.write_bytes(pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL))
    with mock.patch("os.system", side_effect=AssertionError("code run from the cache")):
        forged = Library().get("avenant-2", DAY)
        assert forged.positions.position(("lines", 0)) == (None, None)
    assert forged.positions.file == "rules/avenant-2.yaml"
    assert Library().get("aci-2019").positions.position(("lines", 0))[0] > 1  # the others are intact


def test_a_day_after_every_dated_provision_is_the_text_with_them_all(folder):
    """Avenant 2's crisis mission enters into force on 2022-09-03: from then on the text is the one
    with every provision, compiled, stored and read once; the day before, it is another text."""
    for library in (Library(), Library()):  # compiled, then read from the cache
        assert library.get("avenant-2", DAY) is library.get("avenant-2")
        before = library.get("avenant-2", datetime.date(2022, 9, 2))
        assert set(library.get("avenant-2").missions) - set(before.missions) == {"crises_sanitaires"}
    stored = cache_module._Unpickler(io.BytesIO(next(folder.glob("compiled-*.pickle")).read_bytes())).load()
    assert sorted(signature is None for _chain, signature in stored["rulesets"]) == [False, True]  # not one for DAY


def test_a_plan_whose_tree_is_a_cycle_is_not_taken(folder):
    """A forged tree may hold itself: the check of the plan ends, and refuses the file."""
    Library().get("avenant-2", DAY)
    (path,) = folder.glob("compiled-*.pickle")
    content = pickle.loads(path.read_bytes())
    step = next(s for plan in content["plans"].values() for s in plan.steps if s.amount is not None)
    loop = ast.UnaryOp(op=ast.USub())
    loop.operand = loop
    object.__setattr__(step.amount, "tree", loop)
    path.write_bytes(pickle.dumps(content))
    with no_yaml(), pytest.raises(AssertionError, match="YAML read"):
        Library().get("avenant-2", DAY)


def test_another_engine_or_text_is_another_file(folder, monkeypatch):
    Library().get("avenant-2")
    monkeypatch.setattr(cache_module, "_engine_digest", lambda: "another engine")
    Library().get("avenant-2")
    assert len(list(folder.glob("compiled-*.pickle"))) == 2


def test_off_means_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ACI_RULES_CACHE", "off")
    Library().get("avenant-2")
    assert not list(tmp_path.glob("**/compiled-*.pickle"))


def test_a_ruleset_dropped_is_freed_with_its_plan():
    """A plan holds its ruleset, so a table of plans by ruleset (even with weak keys) kept every
    ruleset ever planned alive: mutants, variants, a test suite's texts. The plan is now kept on the
    ruleset itself."""
    import dataclasses
    import gc
    import weakref

    from aci_rules.engine.library import Library
    from aci_rules.engine.plan import plan_of

    ruleset = Library().in_force(datetime.date(2024, 6, 1))
    copies = [dataclasses.replace(ruleset) for _ in range(3)]
    plans = [plan_of(copy) for copy in copies]
    assert all(plan.ruleset is copy for plan, copy in zip(plans, copies))
    assert plan_of(copies[0]) is plans[0]  # built once
    alive = [weakref.ref(copy) for copy in copies]
    del copies, plans
    gc.collect()
    assert [ref() for ref in alive] == [None, None, None]


def test_a_pickled_ruleset_carries_no_plan():
    """A ruleset pickled (the compiled texts' cache) or copied carries an empty holder: its plan comes
    from the cache's checked plans or is built again, never from the pickle of the ruleset."""
    import copy
    import pickle

    from aci_rules.engine.library import Library
    from aci_rules.engine.plan import plan_of

    ruleset = Library().in_force(datetime.date(2024, 6, 1))
    plan = plan_of(ruleset)
    for other in (pickle.loads(pickle.dumps(ruleset)), copy.deepcopy(ruleset)):
        assert other.__dict__["_plan"].plan is None
    for other in (pickle.loads(pickle.dumps(ruleset)), copy.deepcopy(ruleset), copy.copy(ruleset)):
        assert plan_of(other) is not plan and plan_of(other).ruleset is other


def test_a_plan_already_bound_is_still_cached(tmp_path, monkeypatch):
    """A plan evaluated once holds its binder (functions made at run time, which pickle refuses): the
    cache written after it must still hold every text compiled (it held only the first, silently)."""
    import pickle

    from aci_rules.engine.bind import binder_of
    from aci_rules.engine.plan import plan_of

    monkeypatch.setenv("ACI_RULES_CACHE", str(tmp_path))
    from aci_rules.engine.library import Library

    library = Library()
    first = library.in_force(datetime.date(2024, 6, 1))
    binder_of(plan_of(first))  # what an evaluation does
    library.in_force(datetime.date(2021, 6, 1))  # another text compiled after it: the cache written again
    plan = plan_of(first)
    assert "_binder" in plan.__dict__ and "_binder" not in pickle.loads(pickle.dumps(plan)).__dict__
    files = list(tmp_path.glob("compiled-*.pickle"))
    assert files, "the compiled texts' cache was not written"
    content = pickle.loads(max(files, key=lambda path: path.stat().st_mtime).read_bytes())
    assert len(content["rulesets"]) >= 2 and len(content["plans"]) == len(content["rulesets"])
