"""Packaging proof (DESIGN.md "Layout"): the installed command and a built wheel both work
from another directory, reading rules/ and schemas/ as package data.

The figure checked is the 2019 maximum for taille 3, 370 000 € (FACTS.md §4.2), on
``examples/cpts-2019-taille-3.yaml``.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
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


def test_wheel_carries_the_data_and_runs_from_another_directory(tmp_path):
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
    [wheel] = dist.glob("aci_rules-*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())
    assert "aci_rules/rules/aci-2019.yaml" in names
    for schema in sorted((ROOT / "schemas").glob("*.json")):
        assert f"aci_rules/schemas/{schema.name}" in names
    assert any(name.startswith("aci_rules/schemas/") and name.endswith(".json") for name in names)
    for package in ("aci_rules", "aci_rules/engine", "aci_rules/cli"):
        assert f"{package}/__init__.py" in names
    for page in ("sources.md", "readings.md"):  # `aci-rules show --sources` prints them
        assert f"aci_rules/docs/{page}" in names

    site = tmp_path / "site"
    unpack = run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site),
                  str(wheel)], cwd=tmp_path)
    assert unpack.returncode == 0, unpack.stdout + unpack.stderr

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
