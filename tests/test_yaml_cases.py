"""The analysts' YAML cases (tests/cases/) run under pytest, one test per case, and the
`aci-rules test` command reports failures with the case's file and line, expected vs got."""

import pytest

from aci_rules.engine.cases import collect_case_files

from conftest import ROOT, case_params

CASES_DIR = ROOT / "tests" / "cases"
@pytest.mark.parametrize("outcome", case_params(CASES_DIR))
def test_case(outcome):
    assert outcome.passed, outcome.report()


def test_the_case_files_cover_both_texts():
    names = {p.rsplit("/", 1)[-1] for p in collect_case_files([str(CASES_DIR)])}
    assert {"aci-2019-maxima.yaml", "avenant-2-maxima.yaml", "avenant-2-crises.yaml",
            "avenant-2-majoration.yaml", "avenant-2-fonctionnement.yaml"} <= names


def test_command_passes_on_the_shipped_cases(run_cli):
    run = run_cli("test", CASES_DIR, "--allow", ROOT, "--lang", "en")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")


FAILING_CASE = """\
cases:
  - name: a wrong expectation
    source: made up for the test
    date: 2023-06-01
    profile:
      name: CPTS de taille 1
      population: 30000
      contract_signed: 2022-10-15
    expect:
      total: 12345
      lines: {fonctionnement: 50001}
"""


def test_a_failing_case_names_its_file_and_line_and_shows_expected_and_got(run_cli, write):
    path = write("cases/wrong.yaml", "# a comment line\n" + FAILING_CASE)
    run = run_cli("test", path.parent, "--lang", "en")
    assert run.exit_code == 1
    assert f"FAIL {path}:3: a wrong expectation" in run.stdout
    assert "total: expected 12345, got 50000.00" in run.stdout
    assert "line fonctionnement: expected 50001, got 50000.00" in run.stdout
    assert run.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"
    assert "Traceback" not in run.stdout + run.stderr


def test_an_invalid_inline_profile_is_reported_at_its_line_in_the_case_file(run_cli, write):
    path = write("bad.yaml", FAILING_CASE.replace("population: 30000", "populaton: 30000"))
    run = run_cli("test", path, "--lang", "en")
    assert run.exit_code == 1
    assert f"{path}:7:7: E201 unknown field 'populaton': did you mean 'population'?" in run.stdout


def test_a_case_file_that_is_not_valid_is_reported(run_cli, write):
    path = write("bad.yaml", "cases:\n  - name: x\n")
    run = run_cli("test", path)
    assert run.exit_code == 1
    assert "E202" in run.stdout


def test_the_report_of_a_failing_case_is_in_french_by_default(run_cli, write):
    path = write("cases/wrong.yaml", "# a comment line\n" + FAILING_CASE)
    run = run_cli("test", path.parent)
    assert f"ÉCHEC {path}:3: a wrong expectation" in run.stdout  # the case's name is the author's text
    assert "total : attendu 12345, obtenu 50000.00" in run.stdout
    assert "ligne fonctionnement : attendu 50001, obtenu 50000.00" in run.stdout
    assert run.stdout.strip().splitlines()[-1] == "0 réussis, 1 en échec"
