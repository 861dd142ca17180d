"""Sources a reader can find (issue 17): every reference of a shipped ruleset or example cites a
public document, never a file the user does not have (`seed 002_….txt`, `FACTS.md §4.2`,
`DESIGN.md`); the project's own pages (docs/sources.md, docs/readings.md) ship with the package
and `aci-rules show --sources` / `--readings` print them."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import yaml

from conftest import EXAMPLES, ROOT, RULES, no_traceback

RULESETS = sorted(RULES.glob("*.yaml")) + [
    p for p in sorted(EXAMPLES.glob("*.yaml")) if "amends" in p.read_text("utf-8") or "lines:" in p.read_text("utf-8")]
# What a shipped file may name: the pages and data installed with the package.
SHIPPED = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")} | {f"rules/{p.name}" for p in RULES.glob("*.yaml")}
FILE_NAME = re.compile(r"[\w./-]+\.(?:txt|md|yaml|yml|json|csv|pdf|docx?)\b")
INTERNAL = ("seed ", "FACTS", "DESIGN", "shared/", "STYLE.md", "HOSTILE")


def texts(node, path=()):
    """Every text of a YAML document with where it sits."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from texts(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from texts(value, path + (index,))
    elif isinstance(node, str):
        yield path, node


def test_there_are_rulesets_to_check():
    names = {p.name for p in RULESETS}
    assert {"aci-2019.yaml", "avenant-2.yaml", "plan-100-cpts.yaml", "negociation-2020-seance-2.yaml"} <= names


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.name)
def test_no_reference_names_a_file_that_is_not_shipped(path):
    document = yaml.safe_load(path.read_text("utf-8"))
    for where, text in texts(document):
        for name in FILE_NAME.findall(text):
            assert name in SHIPPED, f"{path.name} {'.'.join(map(str, where))} names {name!r}"
        for word in INTERNAL:
            assert word not in text, f"{path.name} {'.'.join(map(str, where))}: {text!r}"


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.name)
def test_no_comment_cites_an_internal_file_either(path):
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        for word in INTERNAL:
            assert word not in line, f"{path.name}:{number}: {line.strip()}"
        for name in FILE_NAME.findall(line):
            # A comment may show a command on an example of the repository, or the schema modeline.
            allowed = name in SHIPPED or name.startswith("../schemas/") or (EXAMPLES / name.split("/")[-1]).exists()
            assert allowed, f"{path.name}:{number}: {name}"


def test_every_ruleset_reference_cites_a_source_listed_in_docs_sources():
    """Each public document a reference cites appears in docs/sources.md."""
    page = " ".join((ROOT / "docs" / "sources.md").read_text("utf-8").split())
    cited = {
        "URPS": "Infos conseils",
        "dépliant": "mon patient, au bon endroit, au bon moment",
        "Plan « 100 % CPTS »": "Plan « 100 % CPTS »",
        "séance 2": "post-Ségur — séance 2",
        "éléments de contexte": "éléments de contexte et documents types",
        "JORF n°0196": "n° 0196 du 24 août 2019",
        "31 mars 2022": "JORFTEXT000045443303",
    }
    seen = set()
    for path in RULESETS:
        for _, text in texts(yaml.safe_load(path.read_text("utf-8"))):
            seen |= {key for key in cited if key in text}
    assert seen == set(cited)
    for key in seen:
        assert cited[key] in page, key


@pytest.mark.parametrize("page", ["sources", "readings"])
def test_show_prints_the_installed_page(run_cli, page):
    result = run_cli("show", f"--{page}")
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == resources.files("aci_rules.docs").joinpath(f"{page}.md").read_text("utf-8")
    assert result.stdout == (ROOT / "docs" / f"{page}.md").read_text("utf-8")


def test_show_needs_a_ruleset_or_a_page(run_cli):
    result = run_cli("show")
    no_traceback(result)
    assert result.exit_code == 2 and result.stdout == ""
    assert "--sources" in result.stderr


def test_eval_points_to_the_sources(run_cli):
    result = run_cli("eval", EXAMPLES / "cpts-2019-taille-3.yaml", "--date", "2021-03-01")
    assert result.exit_code == 0, result.stderr
    assert "aci-rules show --sources" in result.stdout


def test_the_readme_lists_every_code_the_engine_emits():
    """README « Diagnostics and exit codes »: one row per code, none left inside a range."""
    emitted = set()
    for folder in ("engine", "cli"):
        for path in (ROOT / folder).glob("*.py"):
            emitted |= set(re.findall(r'"([EW]\d{3})"', path.read_text("utf-8")))
    readme = (ROOT / "README.md").read_text("utf-8")
    listed = set(re.findall(r"^\| ([EW]\d{3}) \|", readme, flags=re.MULTILINE))
    assert "E309" in emitted and emitted <= listed, sorted(emitted - listed)
    assert listed <= emitted, sorted(listed - emitted)
