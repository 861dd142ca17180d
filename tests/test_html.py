"""The HTML outputs without a browser: one self-contained file, in French, inert, and the figures
of the report equal to the commands that compute them (tests/test_browser.py opens them in Chromium).

Figures: the 2019 maximum totals 220 000 / 287 000 / 370 000 / 450 000 € per taille (FACTS.md §4.2)
and avenant 2's barème (seed 002), computed by the engine from the YAML.
"""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from conftest import EXAMPLES, no_traceback, one_json_document

PROFILE = EXAMPLES / "cpts-avenant-2-taille-4.yaml"
PLAN = EXAMPLES / "plan-100-cpts.yaml"
SAMPLE = EXAMPLES / "national-sample.csv"

COMMANDS = {
    "eval": ["eval", EXAMPLES / "cpts-2019-taille-3.yaml", "--date", "2021-03-01"],
    "diff": ["diff", "aci-2019", "avenant-2"],
    "schedule": ["schedule", PROFILE],
    "compare": ["compare", EXAMPLES, "--baseline", "avenant-2", "--reform", PLAN, "--date", "2024-06-01"],
}


class _Elements(HTMLParser):
    """Every element and attribute of a page, as a browser's parser sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes = set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def assert_self_contained(page: str, language: str = "fr"):
    """One HTML document in ``language`` (French by default) that fetches nothing and runs nothing."""
    assert page.startswith("<!DOCTYPE html>")
    assert f'<html lang="{language}">' in page
    assert page.rstrip().endswith("</html>")
    parser = _Elements()
    parser.feed(page)
    assert not parser.tags & {"script", "img", "iframe", "object", "embed", "link", "a", "image", "use",
                              "foreignobject", "form", "input", "video", "audio", "source"}
    for tag, name, value in parser.attributes:
        assert name not in ("src", "href", "xlink:href", "srcset", "action", "style") and not name.startswith("on"), \
            (tag, name)
        assert "url(" not in value or value.startswith("url(#"), (tag, name, value)
    csp = [v for t, n, v in parser.attributes if t == "meta" and n == "content" and "default-src" in v]
    assert csp and "default-src 'none'" in csp[0] and "script-src" not in csp[0]
    styles = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    assert len(styles) == 1 and "@import" not in styles[0] and "url(" not in styles[0]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_writes_one_self_contained_page(run_cli, tmp_path, name):
    target = tmp_path / f"{name}.html"
    result = run_cli(*COMMANDS[name], "--format", "html", "--output", target)
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    page = target.read_text("utf-8")
    assert_self_contained(page)
    assert page.count('class="chart-figure"') >= 1
    assert "€" in page and re.search(r"\d{1,3}( \d{3})+,\d\d €", page), "amounts written the French way"
    assert not list(tmp_path.glob(".aci-rules-*")), "a temporary file was left behind"


def test_without_output_the_page_goes_to_stdout(run_cli):
    result = run_cli(*COMMANDS["eval"], "--format", "html")
    assert result.exit_code == 0, result.stderr
    assert_self_contained(result.stdout)
    assert "370 000,00 €" in result.stdout  # FACTS.md §4.2, taille 3, 2019


def test_a_missing_report_extra_is_a_usage_error_that_says_what_to_install(run_cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # as if not installed
    target = tmp_path / "page.html"
    result = run_cli(*COMMANDS["eval"], "--format", "html", "--output", target)
    no_traceback(result)
    assert result.exit_code == 2
    assert "pip install 'aci-rules[report]'" in result.stderr
    assert "--format html a besoin de vl_convert" in result.stderr  # in the reader's language
    assert not target.exists()


# -- hostile text --------------------------------------------------------------------------

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&lt;'


def _hostile_proposal(write):
    label = HOSTILE.replace("'", "''")
    return write("hostile.yaml", f"""\
id: hostile-proposal
title: '{label}'
kind: proposal
status: proposal
amends: avenant-2
reference: '{label}'
dates:
  in_force: 2024-01-01
changes:
  parameters:
    set:
      montant_fonctionnement:
        label: '{label}'
        by_taille: {{1: 60000, 2: 70000, 3: 85000, 4: 100000}}
        reference: '{label}'
        confidence: unverified
""")


@pytest.mark.parametrize("language", ["fr", "en"])  # a catalog text is markup: .format must escape
def test_user_text_is_escaped_everywhere(run_cli, write, tmp_path, language):
    proposal = _hostile_proposal(write)
    profile = write("p.yaml", PROFILE.read_text("utf-8").replace("name: ", f"name: '{HOSTILE.replace(chr(39), chr(39) * 2)}' #", 1))
    outputs = {
        "diff": ["diff", "avenant-2", proposal],
        "eval": ["eval", profile, "--date", "2024-06-01", "--ruleset", proposal],
        "schedule": ["schedule", profile, "--ruleset", proposal],
        "report": ["report", proposal, "--baseline", "avenant-2", "--sample", EXAMPLES, "--date", "2024-06-01",
                   "--profile", profile],
    }
    for name, args in outputs.items():
        target = tmp_path / f"{name}.html"
        result = run_cli(*args, "--format", "html", "--output", target, "--lang", language)
        no_traceback(result)
        assert result.exit_code == 0, (name, result.stderr)
        page = target.read_text("utf-8")
        assert_self_contained(page, language)
        assert "<img" not in page.lower(), name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, name


def test_a_chart_keeps_only_drawing_elements():
    from aci_rules.cli.charts import sanitise_svg

    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           '<script>alert(1)</script><foreignObject><div>x</div></foreignObject>'
           '<image xlink:href="http://example.org/x.png"/><a href="http://example.org"><text>t</text></a>'
           '<rect width="2" onload="alert(1)" style="fill:url(http://example.org)" fill="url(http://e.org/#p)"/>'
           '<g clip-path="url(#clip1)"><path d="M0,0h1" aria-roledescription="bar"/></g></svg>')
    clean = sanitise_svg(svg)
    for banned in ("<script", "alert", "foreignObject", "<image", "href", "onload", "style", "http://e", "<a"):
        assert banned not in clean, banned
    assert '<rect width="2" />' in clean
    assert 'clip-path="url(#clip1)"' in clean and 'aria-roledescription="bar"' in clean


# -- the report's figures are the commands' figures ---------------------------------------------


@pytest.fixture(scope="module")
def report_2019(tmp_path_factory):
    """The dossier of the 2020 draft (examples/negociation-2020-seance-2.yaml) against aci-2019."""
    from click.testing import CliRunner

    from aci_rules.cli.main import cli

    args = ["report", str(EXAMPLES / "negociation-2020-seance-2.yaml"), "--baseline", "aci-2019",
            "--sample", str(EXAMPLES), "--date", "2021-06-01", "--profile", str(EXAMPLES / "cpts-2019-taille-3.yaml")]
    result = CliRunner().invoke(cli, args + ["--format", "json"])
    assert result.exit_code == 0, result.stderr
    return one_json_document(result.stdout)


def test_report_summary_gives_the_2019_yearly_maximum_per_taille(report_2019):
    """FACTS.md §4.2: 220 000 / 287 000 / 370 000 / 450 000 € per year at most, by taille."""
    tailles = report_2019["diff"]["summary"]["annual_maximum"]["tailles"]
    assert {entry["taille"]: entry["old"] for entry in tailles} == {
        1: "220000.00", 2: "287000.00", 3: "370000.00", 4: "450000.00"}
    for entry in tailles:
        assert Decimal(entry["new"]) - Decimal(entry["old"]) == Decimal(entry["difference"])


def test_report_sections_equal_the_commands_that_compute_them(run_cli, report_2019):
    proposal = EXAMPLES / "negociation-2020-seance-2.yaml"
    compare = run_cli("compare", EXAMPLES, "--baseline", "aci-2019", "--reform", proposal, "--date", "2021-06-01",
                      "--format", "json")
    assert report_2019["compare"] == one_json_document(compare.stdout)
    diff = run_cli("diff", "aci-2019", proposal, "--date", "2021-06-01", "--format", "json")
    assert report_2019["diff"] == one_json_document(diff.stdout)
    for key, ruleset in (("baseline", "aci-2019"), ("proposal", proposal)):
        schedule = run_cli("schedule", EXAMPLES / "cpts-2019-taille-3.yaml", "--ruleset", ruleset, "--format", "json")
        assert report_2019["example"][key] == one_json_document(schedule.stdout)
    for entry in report_2019["example"]["by_calendar_year"]:
        year = str(entry["year"])
        assert entry["baseline"] == report_2019["example"]["baseline"]["by_calendar_year"].get(year, "0.00")
        assert entry["proposal"] == report_2019["example"]["proposal"]["by_calendar_year"].get(year, "0.00")


def test_report_provenance_names_the_proposed_and_unverified_figures(report_2019):
    """The 2020 draft adds a crisis mission (seed 004): its lines rest on the proposal's figures."""
    lines = {line["id"]: line for line in report_2019["provenance"]["lines"]}
    added = [i["id"] for i in report_2019["diff"]["items"] if i["kind"] == "line" and i["status"] == "added"]
    assert added and all(lines[line]["proposed"] for line in added)
    cost = report_2019["provenance"]["cost"]
    assert sum(Decimal(v) for v in cost["proposal_by_confidence"].values()) == Decimal(cost["proposal_total"])
    assert Decimal(cost["proposal_total"]) == Decimal(report_2019["compare"]["reform_total"])
    # Every line the 2019 text leaves unverified stays so (FACTS.md: 2019 split by mission unverified).
    assert Decimal(cost["baseline_by_confidence"]["unverified"]) > 0


def test_report_of_the_plan_on_the_national_sample(run_cli, tmp_path):
    """The issue's command, on the shipped sample: the page, and a JSON twin of its figures."""
    target = tmp_path / "dossier.html"
    result = run_cli("report", PLAN, "--baseline", "avenant-2", "--sample", SAMPLE, "--date", "2024-06-01",
                     "--output", target)
    assert result.exit_code == 0, result.stderr
    page = target.read_text("utf-8")
    assert_self_contained(page)
    for title in ("1. Ce qui change", "2. Ce que cela coûte", "3. Calendrier d'une CPTS exemple", "4. Provenance"):
        assert title in page
    assert 'data-json="compare.profiles">700<' in page


@pytest.mark.parametrize("ruleset", ["aci-2019", "avenant-2", str(PLAN), str(EXAMPLES / "negociation-2020-seance-2.yaml")])
def test_the_yearly_maximum_by_mission_adds_up_to_the_yearly_maximum(ruleset):
    """The barème chart stacks the missions: its parts must add up to the declared yearly maximum
    (avenant 2: 287 500 / 382 500 / 487 500 / 580 000 €, seed 002)."""
    from aci_rules.engine.bareme import annual_maximum, annual_maximum_by_mission
    from aci_rules.engine.library import Library

    compiled = Library().get(ruleset)
    parts, total = annual_maximum_by_mission(compiled), annual_maximum(compiled)
    for taille, amount in total.items():
        assert sum(part[taille] for part in parts.values()) == amount
    if ruleset == "avenant-2":
        assert total == {1: Decimal(287500), 2: Decimal(382500), 3: Decimal(487500), 4: Decimal(580000)}


# -- the coverage of the test cases (issue 19) --------------------------------------------

WEAK_CASES = """\
cases:
  - name: aci 2019, taille 1, one date only
    source: a deliberately weak case file
    date: 2021-06-01
    profile:
      name: CPTS de taille 1
      population: 30000
      contract_signed: 2020-01-15
      missions:
        acces_soins: {started: 2020-01-15, achievement: {2: 1}}
    expect:
      ruleset: aci-2019
      size: 1
"""


def _coverage_page(run_cli, tmp_path, cases, *extra):
    path = tmp_path / "coverage.html"
    result = run_cli("test", cases, "--coverage", "--format", "html", "--output", path, *extra)
    no_traceback(result)
    return result, path.read_text(encoding="utf-8")


def test_the_coverage_page_shows_what_a_weak_case_file_leaves_untested(run_cli, write, tmp_path):
    cases = write("weak.yaml", WEAK_CASES)
    result, page = _coverage_page(run_cli, tmp_path, cases)
    assert result.exit_code == 0 and result.stdout == ""
    document = one_json_document(run_cli("test", cases, "--coverage", "--format", "json").stdout)
    files = document["coverage"]["files"]
    assert '<html lang="fr">' in page and "Couverture des cas de test" in page
    assert "Ce qu'aucun cas n'exerce" in page and "Couverture complète" not in page
    # Each ruleset file's counts, as the JSON gives them, in the chart's table.
    for entry in files:
        done, total = entry["summary"]["lines"]
        assert f">{done}/{total}<" in page, entry["file"]
    # Every gap is listed with its place: the weak file never sees a line not apply.
    gaps = [line for entry in files for line in entry["lines"] if not (line["applied"] and line["not_applied"])]
    assert gaps and all(f"rules/aci-2019.yaml:{line['line']}" in page for line in gaps if line["line"])
    assert "s&#39;applique toujours" in page or "ne s&#39;applique jamais" in page


def test_the_shipped_cases_reach_full_coverage_on_the_page_in_english(run_cli, tmp_path):
    from conftest import ROOT

    result, page = _coverage_page(run_cli, tmp_path, ROOT / "tests" / "cases", "--allow", ROOT, "--lang", "en")
    assert result.exit_code == 0
    assert '<html lang="en">' in page and "Coverage of the test cases" in page and "Full coverage." in page
    assert "Accepted gaps" in page and "Couverture" not in page and "Produit par" not in page


def test_the_coverage_page_needs_coverage_and_output_needs_the_page(run_cli, write, tmp_path):
    cases = write("weak.yaml", WEAK_CASES)
    assert run_cli("test", cases, "--format", "html").exit_code == 2
    assert run_cli("test", cases, "--coverage", "--output", tmp_path / "x.html").exit_code == 2


# Each page's own labels, French (the default) and English (--lang en): the texts of the templates
# and of the charts, never the rulesets' data (labels, references), which stay as written.
PAGE_WORDS = {
    "eval": (["Total de l'année", "Lignes de financement", "Texte appliqué", "Confiance", "Évaluation au 1er mars 2021",
              "Montant de l'année par mission"],
             ["Total of the year", "Funding lines", "Text applied", "Confidence", "Evaluation on 1 March 2021",
              "Amount of the year by mission"]),
    "diff": (["Ce qui change de", "Synthèse", "Lignes ajoutées", "Autres changements", "Montant annuel maximal par taille",
              "Avant", "Après"],
             ["What changes from", "Summary", "Lines added", "Other changes", "Yearly maximum by taille", "Before", "After"]),
    "schedule": (["Calendrier des versements", "Total versé", "Premier versement", "Année civile", "Échéance",
                  "Droits par année de contrat"],
                 ["Payment calendar", "Total paid", "First payment", "Calendar year", "Due date",
                  "Entitlements by contract year"]),
    "compare": (["comparé à", "Coût de référence", "Coût de la réforme", "Écart", "gagnent", "Plus grands écarts",
                 "Coût par taille", "hausse"],
                ["compared with", "Baseline cost", "Cost of the reform", "Difference", "gain", "Largest differences",
                 "Cost by taille", "increase"]),
    "report": (["Dossier de la proposition", "En bref", "1. Ce qui change", "2. Ce que cela coûte",
                "3. Calendrier d'une CPTS exemple", "Coût national", "Lignes qui reposent"],
               ["Dossier of the proposal", "In brief", "1. What changes", "2. What it costs",
                "3. Calendar of an example CPTS", "National cost", "Lines that rest"]),
}
PAGE_COMMANDS = dict(COMMANDS, report=["report", EXAMPLES / "negociation-2020-seance-2.yaml", "--baseline", "aci-2019",
                                       "--sample", EXAMPLES, "--date", "2021-06-01", "--profile",
                                       EXAMPLES / "cpts-2019-taille-3.yaml"])


def _visible_text(page: str) -> str:
    """What a reader sees of a page: its text without tags, entities read, spaces collapsed."""
    import html
    import re

    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("name", sorted(PAGE_WORDS))
def test_each_page_speaks_one_language(run_cli, tmp_path, name, language):
    """Every text of a page in one language, French by default, English with --lang en."""
    import re

    target = tmp_path / f"{name}.html"
    extra = ["--lang", "en"] if language == "en" else []
    if name != "report":
        extra += ["--format", "html"]
    result = run_cli(*PAGE_COMMANDS[name], *extra, "--output", target)
    assert result.exit_code == 0, result.stderr
    page = target.read_text("utf-8")
    text = _visible_text(page)
    french, english = PAGE_WORDS[name]
    shown, other = (french, english) if language == "fr" else (english, french)
    assert f'<html lang="{language}">' in page
    assert [w for w in shown if w not in text] == []
    # A word of the other language would be a text the catalogs missed (a ruleset's own wording aside).
    assert [w for w in other if w in text] == []
    if language == "en":
        assert "Made by aci-rules" in text and "Produit par" not in text
        assert not re.search(r"\d,\d\d €", text) and re.search(r"€\d", text)  # €1,234.50, not 1 234,50 €
    else:
        assert "Produit par" in text and re.search(r"\d,\d\d €", text)
