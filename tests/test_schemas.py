"""The published JSON Schemas are valid draft 2020-12 schemas, and the shipped files satisfy them."""

import json

import jsonschema
import pytest
import yaml

from conftest import EXAMPLES, ROOT, RULES

SCHEMAS = sorted((ROOT / "schemas").glob("*.schema.json"))


def test_there_are_schemas_for_rulesets_and_profiles():
    names = {path.name for path in SCHEMAS}
    assert {"ruleset.schema.json", "profile.schema.json"} <= names


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_is_valid_against_its_metaschema(path):
    schema = json.loads(path.read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _as_json_types(node):
    """What an editor's YAML 1.2 reader sees: dates as text, mapping keys as text."""
    if isinstance(node, dict):
        return {str(k): _as_json_types(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_as_json_types(v) for v in node]
    if hasattr(node, "isoformat"):
        return node.isoformat()
    return node


@pytest.mark.parametrize("path", sorted(RULES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_rulesets_satisfy_the_schema_as_an_editor_reads_them(path):
    schema = json.loads((ROOT / "schemas" / "ruleset.schema.json").read_text("utf-8"))
    data = _as_json_types(yaml.safe_load(path.read_text("utf-8")))
    jsonschema.Draft202012Validator(schema).validate(data)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("cpts-*.yaml")), ids=lambda p: p.name)
def test_example_profiles_satisfy_the_schema_as_an_editor_reads_them(path):
    schema = json.loads((ROOT / "schemas" / "profile.schema.json").read_text("utf-8"))
    data = _as_json_types(yaml.safe_load(path.read_text("utf-8")))
    jsonschema.Draft202012Validator(schema).validate(data)
