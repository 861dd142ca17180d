"""Each kind of HTML page opened in headless Chromium (Debian's package), as a reader would open it.

Checked on each page, at a laptop's width and at the width of an A4 sheet: no console error, no
network request (the page's own file aside), every chart drawn with as many bars as its data table
has values, every figure tagged in the page equal to the JSON output of the same command, a
screenshot that is not blank, and an A4 PDF when printed. Without Chromium these tests are skipped
with a message that says how to run them; ``.ci/run`` installs it. Set ACI_RULES_SCREENSHOTS to a
folder to keep the screenshots and look at them.
"""

from __future__ import annotations

import os
import pathlib
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner

from aci_rules.cli.main import cli
from chromium import HOW_TO_RUN, Chromium, find_chromium, png_ink
from conftest import EXAMPLES, ROOT, one_json_document

EXECUTABLE = find_chromium()
pytestmark = pytest.mark.skipif(EXECUTABLE is None, reason=HOW_TO_RUN)

PLAN = EXAMPLES / "plan-100-cpts.yaml"
PROFILE = EXAMPLES / "cpts-avenant-2-taille-4.yaml"
PAGES = {
    "eval": ["eval", EXAMPLES / "cpts-avenant-2-taille-4.yaml", "--date", "2023-06-01"],
    "diff": ["diff", "avenant-2", PLAN, "--profiles", EXAMPLES, "--date", "2024-06-01"],
    "schedule": ["schedule", PROFILE],
    # The national sample is costed by the report; the compare page reads the example profiles.
    "compare": ["compare", EXAMPLES, "--baseline", "avenant-2", "--reform", PLAN, "--date", "2024-06-01"],
    "report": ["report", PLAN, "--baseline", "avenant-2", "--sample", EXAMPLES / "national-sample.csv",
               "--date", "2024-06-01"],
    "coverage": ["test", ROOT / "tests" / "cases", "--allow", ROOT, "--coverage"],
}
WIDTHS = {"laptop": 1366, "a4": 794}  # an A4 sheet is 210 mm: 794 CSS pixels

# What the page says of itself, read in the browser.
FIGURES = "[...document.querySelectorAll('[data-json]')].map(e => [e.dataset.json, e.textContent.trim()])"
CHARTS = """[...document.querySelectorAll('figure.chart-figure')].map(f => {
  const svg = f.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {id: f.id, expected: +f.dataset.marks, bars: f.querySelectorAll('svg [aria-roledescription="bar"]').length,
          values: f.querySelectorAll('table [data-mark]').length, width: box.width, height: box.height,
          overflow: f.scrollWidth > f.clientWidth + 1};
})"""
LAYOUT = "({page: document.documentElement.scrollWidth, window: window.innerWidth})"


def _run(args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Each page written by its command, with the JSON document of the same command."""
    folder = tmp_path_factory.mktemp("pages")
    made = {}
    for name, args in PAGES.items():
        path = folder / f"{name}.html"
        _run(args + ["--format", "html", "--output", path])
        made[name] = (path, one_json_document(_run(args + ["--format", "json"])))
    return made


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium(EXECUTABLE)
    yield chromium
    chromium.close()


def _figure(text: str):
    """A figure as the page writes it (``-1 234,50 €``, ``+12 %``, ``700``) as a Decimal, else the text."""
    plain = text.replace("\u202f", " ").replace("\u00a0", " ").replace("€", "").replace(" ", "").strip()
    if re.fullmatch(r"[+-]?\d+(,\d+)?", plain):
        return Decimal(plain.replace(",", ".").lstrip("+"))
    return text


def _lookup(document, path):
    node = document
    for key in path.split("."):
        if isinstance(node, list):
            node = node[int(key)]
        else:
            assert key in node, f"{path}: no '{key}' in the JSON document"
            node = node[key]
    return node


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_in_chromium(browser, pages, name, width):
    path, document = pages[name]
    report = browser.open(path, width=WIDTHS[width], evaluate={"figures": FIGURES, "charts": CHARTS,
                                                                "layout": LAYOUT})
    keep = os.environ.get("ACI_RULES_SCREENSHOTS")
    if keep:
        pathlib.Path(keep).mkdir(parents=True, exist_ok=True)
        (pathlib.Path(keep) / f"{name}-{width}.png").write_bytes(report.screenshot)

    assert report.errors == [], "console errors"
    assert report.other_requests == [], "network requests"

    charts = report.values["charts"]
    assert charts, "no chart on the page"
    for chart in charts:
        assert chart["bars"] == chart["expected"] == chart["values"], chart
        assert chart["width"] > 100 and chart["height"] > 50, chart
    layout = report.values["layout"]
    assert layout["page"] <= layout["window"], "the page is wider than the window"

    figures = report.values["figures"]
    assert len(figures) >= (3 if name == "coverage" else 5)  # coverage: evaluations, cases passed and failed
    for key, text in figures:
        expected = _lookup(document, key)
        shown = _figure(text)
        if isinstance(shown, Decimal):
            assert shown == Decimal(str(expected)), (key, text, expected)
        else:
            assert text == str(expected), (key, text, expected)

    pixels, ink, greys = png_ink(report.thumbnail)
    assert 0.02 < ink / pixels < 0.9, "blank (or solid) screenshot"
    assert len(greys) > 4


def test_every_json_figure_of_eval_is_on_the_page(browser, pages):
    path, document = pages["eval"]
    report = browser.open(path, evaluate={"figures": FIGURES})
    shown = {key for key, _ in report.values["figures"]}
    wanted = {"total", "size", "ruleset"} | {f"lines.{i}.{f}" for i in range(len(document["lines"]))
                                            for f in ("amount", "maximum")}
    assert wanted <= shown


def test_the_report_prints_on_a4(browser, pages):
    path, _ = pages["report"]
    report = browser.open(path, width=WIDTHS["a4"], media="print", pdf=True,
                          evaluate={"charts": CHARTS})
    pdf = report.values["pdf"]
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes, "no page in the PDF"
    for width, height in boxes:  # A4 is 595 x 842 points
        assert abs(float(width) - 595.3) < 2 and abs(float(height) - 841.9) < 2, (width, height)
    assert len(boxes) >= 4  # one section a page at least
    assert report.errors == [] and report.other_requests == []


def test_hostile_text_stays_text_in_the_browser(browser, tmp_path):
    from test_html import HOSTILE, _hostile_proposal

    def write(name, text):
        target = tmp_path / name
        target.write_text(text, encoding="utf-8")
        return target

    proposal = _hostile_proposal(write)
    page = tmp_path / "hostile.html"
    _run(["report", proposal, "--baseline", "avenant-2", "--sample", EXAMPLES, "--date", "2024-06-01",
          "--output", page])
    report = browser.open(page, evaluate={
        "elements": "document.querySelectorAll('script, img, iframe, object, embed, a, image').length",
        "title": "document.querySelector('h1').textContent"})
    assert report.errors == [] and report.other_requests == []
    assert report.values["elements"] == 0
    assert report.values["title"] == HOSTILE
