"""`aci-rules diff` opens with a summary a memo can quote (issue 17, « Diffs that paste into a memo »).

The summary's yearly maxima are those of `aci-rules show`'s barème, both computed by the engine
from the YAML (`annual_maximum`); the figures they must reach are the official totals:
FACTS.md §4.2, ACI 2019: 220 000 / 287 000 / 370 000 / 450 000 €; §4.1, avenant 2 (Assurance
Maladie / ARS leaflet, 2022): 287 500 / 382 500 / 487 500 / 580 000 €.
"""

from __future__ import annotations

import re
import shutil
from decimal import Decimal

import pytest

from conftest import EXAMPLES, RULES, no_traceback, one_json_document

OFFICIAL = {
    "aci-2019": {1: 220000, 2: 287000, 3: 370000, 4: 450000},  # FACTS.md §4.2
    "avenant-2": {1: 287500, 2: 382500, 3: 487500, 4: 580000},  # FACTS.md §4.1
}
PAIRS = [("aci-2019", "avenant-2"), (str(EXAMPLES / "negociation-2020-seance-2.yaml"), "avenant-2"),
         ("avenant-2", str(EXAMPLES / "plan-100-cpts.yaml"))]


def run_ok(run_cli, *args):
    result = run_cli(*args)
    no_traceback(result)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def show_totals(run_cli, ruleset) -> dict:
    """The 'Total' row under `show`'s barème, per taille, as Decimals."""
    text = run_ok(run_cli, "show", ruleset)
    row = next(line for line in text.splitlines() if line.startswith("  Total "))
    cells = re.findall(r"(-?[\d ]+,\d\d) €", row)
    return {t: Decimal(c.replace(" ", "").replace(",", ".")) for t, c in enumerate(cells, start=1)}


@pytest.mark.parametrize("ruleset", sorted(OFFICIAL))
def test_show_totals_the_official_maxima(run_cli, ruleset):
    assert show_totals(run_cli, ruleset) == {t: Decimal(v) for t, v in OFFICIAL[ruleset].items()}


@pytest.mark.parametrize("old, new", PAIRS)
def test_the_summary_maxima_are_those_of_show(run_cli, old, new):
    document = one_json_document(run_ok(run_cli, "diff", old, new, "--format", "json"))
    rows = document["summary"]["annual_maximum"]["tailles"]
    before, after = show_totals(run_cli, old), show_totals(run_cli, new)
    assert [r["taille"] for r in rows] == sorted(before) == sorted(after)
    for row in rows:
        t = row["taille"]
        assert Decimal(row["old"]) == before[t] and Decimal(row["new"]) == after[t]
        assert Decimal(row["difference"]) == after[t] - before[t]
        assert Decimal(row["percent"]) == ((after[t] - before[t]) * 100 / before[t]).quantize(Decimal("0.1"))


def test_the_summary_lists_what_was_added_and_removed_and_counts_the_figures(run_cli):
    document = one_json_document(run_ok(run_cli, "diff", "aci-2019", "avenant-2", "--format", "json"))
    summary = document["summary"]
    items = document["items"]

    def ids(kind, status):
        return [i["id"] for i in items if i["kind"] == kind and i["status"] == status]

    assert [m["id"] for m in summary["missions_added"]] == ids("mission", "added") == ["crises_sanitaires"]
    assert summary["missions_removed"] == []
    assert [m["id"] for m in summary["lines_added"]] == ids("line", "added")
    assert [m["id"] for m in summary["lines_removed"]] == ["snp_specifique"]  # FACTS.md §4.2 vs §4.1
    # Each parameter value that differs, one per taille for a table, counted once.
    figures = sum(1 for i in items if i["kind"] == "parameter" for a in i["amounts"] if a["old"] != a["new"])
    figures += sum(1 for i in items if i["kind"] == "parameter" for c in i["changes"] if c["field"] == "value")
    assert summary["changed_figures"] == figures > 0


def test_text_opens_with_the_summary_then_the_detail(run_cli):
    text = run_ok(run_cli, "diff", "aci-2019", "avenant-2")
    lines = text.splitlines()
    assert lines[0] == "Comparaison : aci-2019 → avenant-2"
    summary_at = lines.index("Résumé")
    first_mission = next(i for i, line in enumerate(lines) if line.startswith("Mission "))
    assert summary_at < first_mission
    for t, (old, new) in enumerate(zip(OFFICIAL["aci-2019"].values(), OFFICIAL["avenant-2"].values()), start=1):
        money = [f"{v:,}".replace(",", " ") + ",00 €" for v in (old, new, new - old)]
        assert re.search(rf"taille {t} +{money[0]} +{money[1]} +\+{money[2]}", "\n".join(lines[summary_at:first_mission]))
    assert "« Réponse aux crises sanitaires graves » (crises_sanitaires)" in text


def test_markdown_opens_with_the_summary_table(run_cli):
    text = run_ok(run_cli, "diff", "aci-2019", "avenant-2", "--format", "markdown")
    assert text.index("### Résumé") < text.index("### Mission ")
    assert "| 4 | 450 000,00 € | 580 000,00 € | +130 000,00 € (+28,9 %) |" in text


def test_each_per_taille_table_is_shown_once(run_cli):
    """The parameter behind a line points to the line's table instead of repeating it."""
    text = run_ok(run_cli, "diff", "aci-2019", "avenant-2")
    block = text[text.index("» (montant_acces_soins_fixe) — modifié"):]
    block = block[:block.index("\n  ~ ")]
    assert "voir la ligne (acces_soins_fixe)" in block
    assert "taille 1" not in block
    flat = " ".join(text.split())
    covid = flat[flat.index("(crises_variable_covid) — ajoutée"):]
    assert "voir la ligne (crises_variable)" in covid[:covid.index(" + ")]


def test_field_names_are_french_and_formulas_read_aloud(run_cli):
    for output in ("text", "markdown"):
        text = run_ok(run_cli, "diff", "aci-2019", "avenant-2", "--format", output)
        for english in ("when:", "installments", "| when |", "| label |", "title "):
            assert english not in text, (output, english)
        assert "condition" in text and "échéancier" in text and "intitulé" in text
    text = run_ok(run_cli, "diff", "aci-2019", "avenant-2")
    assert "lecture : l'année de contrat = 1 et la signature du contrat < date_limite_supplement" in text


def test_a_copy_is_named_by_its_file(run_cli, tmp_path):
    copy = tmp_path / "copie.yaml"
    shutil.copyfile(RULES / "aci-2019.yaml", copy)
    text = run_ok(run_cli, "diff", "aci-2019", str(copy))
    assert text.splitlines()[0] == f"Comparaison : aci-2019 (texte livré) → aci-2019 ({copy})"
    english = run_ok(run_cli, "diff", "aci-2019", str(copy), "--lang", "en")
    assert english.splitlines()[0] == f"Comparison: aci-2019 (shipped text) → aci-2019 ({copy})"
    document = one_json_document(run_ok(run_cli, "diff", "aci-2019", str(copy), "--format", "json"))
    assert document["new"]["name"] == f"aci-2019 ({copy})" and document["new"]["id"] == "aci-2019"
    evaluation = run_ok(run_cli, "eval", str(EXAMPLES / "cpts-2019-taille-3.yaml"), "--date", "2021-03-01",
                        "--ruleset", str(copy))
    assert f"  Fichier           {copy}" in evaluation.splitlines()[:8]


def test_a_ruleset_without_a_yearly_maximum_has_no_maxima_in_its_summary(run_cli, write):
    base = (RULES / "aci-2019.yaml").read_text("utf-8")
    start = base.index("annual_maximum:")
    end = base.index("\ntaille:")
    path = write("sans-maximum.yaml", base[:start] + base[end + 1:])
    document = one_json_document(run_ok(run_cli, "diff", str(path), "avenant-2", "--format", "json"))
    rows = document["summary"]["annual_maximum"]["tailles"]
    assert [r["old"] for r in rows] == [None] * 4
    assert [Decimal(r["new"]) for r in rows] == [Decimal(v) for v in OFFICIAL["avenant-2"].values()]


def test_summary_alone_for_a_memo(run_cli):
    full = run_ok(run_cli, "diff", "aci-2019", "avenant-2")
    short = run_ok(run_cli, "diff", "aci-2019", "avenant-2", "--summary")
    assert full.startswith(short.rstrip("\n"))
    assert "Mission " not in short and len(short.splitlines()) < 40
    markdown = run_ok(run_cli, "diff", "aci-2019", "avenant-2", "--summary", "--format", "markdown")
    assert "### Résumé" in markdown and "### Mission" not in markdown
    document = one_json_document(run_ok(run_cli, "diff", "aci-2019", "avenant-2", "--summary", "--format", "json"))
    assert set(document) == {"old", "new", "identical", "summary"}


# An amendment whose two new lines exclude each other (c / not c) and whose third has a conditional
# maximum: the yearly maximum counts the larger of the pair and the larger branch, once each.
EXCLUSIVE = """\
id: essai-exclusion
title: Essai
kind: proposal
status: proposal
amends: avenant-2
reference: Essai
dates: {in_force: 2024-01-01}
changes:
  lines:
    add:
      - {id: essai_a, label: A, volet: fixe, when: members > 10 and taille > 0, amount: 1000,
         reference: essai}
      - {id: essai_b, label: B, volet: fixe, when: not members > 10, amount: 3000, reference: essai}
      - {id: essai_c, label: C, volet: variable, amount: "500 if members > 10 else 700", reference: essai}
      - {id: essai_d, label: D, volet: majoration, amount: 90000, reference: essai}
"""


def test_exclusive_lines_and_conditional_maxima_count_once(run_cli, write):
    path = write("essai-exclusion.yaml", EXCLUSIVE)
    document = one_json_document(run_ok(run_cli, "diff", "avenant-2", str(path), "--format", "json"))
    rows = document["summary"]["annual_maximum"]["tailles"]
    # +3000 (the larger of A and B, which exclude each other) +700 (the larger branch of C);
    # D's volet is not one the yearly maximum adds up.
    assert [Decimal(r["difference"]) for r in rows] == [Decimal(3700)] * 4
    assert show_totals(run_cli, str(path)) == {t: v + 3700 for t, v in OFFICIAL["avenant-2"].items()}
