"""The Helm values validate against the Zero to JupyterHub chart's JSON schema (Draft 7).

Our file is an overlay on the chart's own defaults (``helm upgrade -f values.yaml``),
so keys the schema marks ``required`` come from the chart's defaults; the
schema is applied with ``required`` removed. Everything else holds: unknown
keys (``additionalProperties: false``), types and enums.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO.parent / "shared" / "k8s" / "z2jh-values.schema.yaml"

pytestmark = pytest.mark.skipif(
    not SCHEMA.exists(), reason=f"chart schema not found at {SCHEMA} (../shared absent)"
)


def _drop_required(node):
    """Remove ``required`` from object schemas (``oneOf: [{required: [data]}, ...]`` choices stay)."""
    if isinstance(node, dict):
        return {
            k: _drop_required(v) for k, v in node.items() if not (k == "required" and "properties" in node)
        }
    if isinstance(node, list):
        return [_drop_required(v) for v in node]
    return node


@pytest.fixture(scope="module")
def validator():
    schema = yaml.safe_load(SCHEMA.read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft-07/")
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(_drop_required(schema))


def test_values_validate(validator, values):
    errors = sorted(validator.iter_errors(values), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'.'.join(map(str, e.path))}: {e.message[:300]}" for e in errors)


def test_schema_catches_a_misspelt_key(validator, values):
    bad = copy.deepcopy(values)
    bad["singleuser"]["profilelist"] = bad["singleuser"].pop("profileList")
    assert any("profilelist" in e.message for e in validator.iter_errors(bad))
    bad = copy.deepcopy(values)
    bad["cull"]["timeout"] = "one hour"
    assert list(validator.iter_errors(bad))


def test_top_level_objects_we_set_have_their_required_keys_from_us_or_the_chart(values):
    """Required keys inside objects we set, which the chart's defaults do not fill, are present."""
    schema = yaml.safe_load(SCHEMA.read_text())
    storage = schema["properties"]["singleuser"]["properties"]["storage"]
    assert set(storage["required"]) <= set(values["singleuser"]["storage"])
    cm = schema["properties"]["singleuser"]["properties"]["cloudMetadata"]
    assert set(cm["required"]) <= set(values["singleuser"]["cloudMetadata"])
    img = schema["properties"]["singleuser"]["properties"]["image"]
    assert set(img["required"]) <= set(values["singleuser"]["image"])
