"""Packaging proof (DESIGN.md "Layout"): the installed command and a built wheel both work
from another directory, reading rules/ and schemas/ as package data.

The figure checked is the 2019 maximum for taille 3, 370 000 € (FACTS.md §4.2), on
``examples/cpts-2019-taille-3.yaml``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from conftest import EXAMPLES, ROOT

NETWORK_SIGNS = (
    "Could not find a version that satisfies",
    "No matching distribution found",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ProxyError",
)


def command():
    found = shutil.which("aci-rules")
    return [found] if found else [sys.executable, "-m", "aci_rules"]


def run(args, cwd, env=None, timeout=120):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_installed_command_runs_outside_the_repository(tmp_path):
    listing = run(command() + ["list"], cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "aci-2019" in listing.stdout
    assert "Traceback" not in listing.stderr

    example = (EXAMPLES / "cpts-2019-taille-3.yaml").resolve()
    result = run(command() + ["eval", str(example), "--date", "2021-03-01", "--format", "json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["total"] == "370000.00"  # FACTS.md §4.2, taille 3


def _source_copy(destination: pathlib.Path) -> pathlib.Path:
    """The repository without its build leftovers, so that building writes nothing into it."""
    ignore = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                    "tests", "*.pyc", ".venv", "venv")
    shutil.copytree(ROOT, destination, ignore=ignore)
    return destination


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    """A wheel built from a copy of the repository (skips when setuptools cannot be had)."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = _source_copy(tmp_path / "source")
    dist = tmp_path / "dist"
    build = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(source)],
                cwd=tmp_path, timeout=300)
    if build.returncode != 0:
        output = build.stdout + build.stderr
        if any(sign in output for sign in NETWORK_SIGNS):
            pytest.skip("cannot build the wheel: its build dependencies (setuptools) cannot be "
                        "downloaded (no network):\n" + output[-2000:])
        pytest.fail("pip wheel failed:\n" + output[-4000:])
    [built] = dist.glob("aci_rules-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_site(wheel, tmp_path_factory) -> pathlib.Path:
    """A folder where the wheel is installed, as ``pip install .`` would (not editable)."""
    site = tmp_path_factory.mktemp("site")
    unpack = run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site),
                  str(wheel)], cwd=site)
    assert unpack.returncode == 0, unpack.stdout + unpack.stderr
    return site


def non_editable(site: pathlib.Path) -> tuple[list, dict]:
    """An interpreter that sees the wheel in ``site`` and the dependencies, but not the editable install.

    ``-S`` skips the .pth files, so the editable install's import hook is never set up; the
    dependencies are reached through PYTHONPATH instead.
    """
    paths = sysconfig.get_paths()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), paths["purelib"], paths["platlib"]])}
    env.pop("PYTHONHOME", None)
    return [sys.executable, "-S"], env


def test_wheel_carries_the_data_and_runs_from_another_directory(wheel, wheel_site, tmp_path):
    site = wheel_site
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "aci_rules/rules/aci-2019.yaml" in names
    for schema in sorted((ROOT / "schemas").glob("*.json")):
        assert f"aci_rules/schemas/{schema.name}" in names
    assert any(name.startswith("aci_rules/schemas/") and name.endswith(".json") for name in names)
    for package in ("aci_rules", "aci_rules/engine", "aci_rules/cli"):
        assert f"{package}/__init__.py" in names
    for page in ("sources.md", "readings.md"):  # `aci-rules show --sources` prints them
        assert f"aci_rules/docs/{page}" in names

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("PYTHONHOME", None)

    where = run([sys.executable, "-c", "import aci_rules; print(aci_rules.__file__)"], cwd=outside, env=env)
    assert where.returncode == 0, where.stderr
    imported = pathlib.Path(where.stdout.strip()).resolve()
    assert imported.is_relative_to(site.resolve()), f"imported {imported}, not from {site}"

    main = "from aci_rules.cli.main import main; main()"
    listing = run([sys.executable, "-c", main, "list"], cwd=outside, env=env)
    assert listing.returncode == 0, listing.stderr
    assert "aci-2019" in listing.stdout

    example = (EXAMPLES / "cpts-2019-taille-3.yaml").resolve()
    result = run([sys.executable, "-c", main, "eval", str(example), "--date", "2021-03-01", "--format", "json"],
                 cwd=outside, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == "370000.00"  # FACTS.md §4.2, taille 3

    sources = run([sys.executable, "-c", main, "show", "--sources"], cwd=outside, env=env)
    assert sources.returncode == 0, sources.stderr
    assert sources.stdout == (ROOT / "docs" / "sources.md").read_text("utf-8")


def test_python_m_from_the_repository_root_runs_the_installed_package(wheel_site):
    """Run from the repository root, a non-editable install is the one copy imported: no folder
    of the root shadows it (an aci_rules/ folder there once did, ending in ModuleNotFoundError)."""
    python, env = non_editable(wheel_site)
    where = run(python + ["-c", "import aci_rules.cli.main, aci_rules; print(aci_rules.__file__)"],
                cwd=ROOT, env=env)
    assert where.returncode == 0, where.stderr
    assert pathlib.Path(where.stdout.strip()).resolve().is_relative_to(wheel_site.resolve()), where.stdout

    helped = run(python + ["-m", "aci_rules", "--help"], cwd=ROOT, env=env)
    assert helped.returncode == 0, helped.stderr
    assert "Traceback" not in helped.stderr and "Usage :" in helped.stdout  # French by default

    result = run(python + ["-m", "aci_rules", "eval", "examples/cpts-2019-taille-3.yaml", "--date", "2021-03-01",
                           "--format", "json"], cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == "370000.00"  # FACTS.md §4.2, taille 3


def test_pytest_from_the_repository_root_with_a_non_editable_install(wheel_site):
    """``python -m pytest`` puts the root on sys.path: conftest must still import the installed package."""
    python, env = non_editable(wheel_site)
    probe = ("import sys\nsys.path.insert(1, 'tests')\nimport aci_rules.engine.diagnostic as d, conftest\n"
             "print(d.__file__)\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('engine', 'cli', 'rules', 'schemas')))\n")
    collected = run(python + ["-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                              "tests/test_cli.py"], cwd=ROOT, env=env, timeout=300)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    seen = run(python + ["-c", probe], cwd=ROOT, env=env)
    assert seen.returncode == 0, seen.stderr
    module_file, second_copies = seen.stdout.splitlines()
    assert pathlib.Path(module_file).resolve().is_relative_to(wheel_site.resolve())
    assert second_copies == "[]"


@pytest.mark.parametrize("name", ["engine", "cli", "rules", "schemas"])
def test_importing_a_folder_by_its_own_name_makes_no_second_copy(name):
    """From the repository root, ``import engine`` would load a second engine (a second InputError
    that no ``except`` of aci_rules.engine catches): it is refused and names the right import."""
    probe = (f"import aci_rules.{name}, sys\n"
             f"try:\n    import {name}\nexcept ImportError as exc:\n    print('refused:', exc)\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('engine', 'cli', 'rules', 'schemas')))\n")
    result = run([sys.executable, "-c", probe], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    refused, second_copies = result.stdout.splitlines()
    assert refused.startswith("refused:") and f"import aci_rules.{name}" in refused, refused
    assert second_copies == "[]"


def test_the_benchmark_never_times_a_command_that_fails():
    """bench/bench_eval.py once timed a crash (ModuleNotFoundError) and reported it as an eval."""
    spec = importlib.util.spec_from_file_location("bench_eval", ROOT / "bench" / "bench_eval.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench._wall([sys.executable, "-c", "pass"], runs=1) > 0
    with pytest.raises(SystemExit) as stopped:
        bench._wall([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"], runs=1)
    assert "exit 3" in str(stopped.value) and "boom" in str(stopped.value)


def test_every_dependency_has_a_tested_range_and_the_installed_release_is_in_it():
    """pyproject.toml declares a lowest and a highest release for each dependency (the ranges the
    suite was run on), and what this environment runs is inside them."""
    import tomllib
    from importlib.metadata import version

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["test"]
                    if not text.startswith("aci-rules")]  # the report extra is checked by its own tests
    assert {r.name.lower() for r in requirements} >= {"pyyaml", "jsonschema", "simpleeval", "click", "pytest",
                                                       "hypothesis"}
    for requirement in requirements:
        operators = {spec.operator for spec in requirement.specifier}
        assert ">=" in operators and "<" in operators, f"{requirement}: no tested range"
        assert requirement.specifier.contains(version(requirement.name), prereleases=True), (
            f"{requirement.name} {version(requirement.name)} is outside the tested range {requirement.specifier}")


def test_wheel_carries_the_page_templates_and_renders_a_page_from_another_directory(wheel, wheel_site, tmp_path):
    """The HTML templates are package data (read with importlib.resources), like rules/ and schemas/."""
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in sorted((ROOT / "cli" / "templates").glob("*.j2")):
        assert f"aci_rules/cli/templates/{template.name}" in names
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(wheel_site)}
    env.pop("PYTHONHOME", None)
    example = (EXAMPLES / "cpts-2019-taille-3.yaml").resolve()
    main = "from aci_rules.cli.main import main; main()"
    result = run([sys.executable, "-c", main, "eval", str(example), "--date", "2021-03-01", "--format", "html",
                  "--output", "page.html"], cwd=outside, env=env)
    assert result.returncode == 0, result.stderr
    assert "370 000,00 €" in (outside / "page.html").read_text("utf-8")  # FACTS.md §4.2, taille 3
