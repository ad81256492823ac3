"""The JSON Schemas every JSON output of the tests is validated against.

``validated(document)`` picks the schema by the document's ``schema`` field
(check and gate documents), ``validated_sarif(log)`` uses the shipped SARIF
2.1.0 schema. The check and gate schemas refer to each other by ``$id``; a
registry of the shipped files resolves them without any download.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
from referencing import Registry, Resource

from orchestrator.gate.document import SCHEMA_DIR, SCHEMA_FILES

SARIF_SCHEMA_FILE = SCHEMA_DIR / "sarif-2.1.0.schema.json"


@functools.cache
def _registry() -> Registry:
    resources = [Resource.from_contents(json.loads(path.read_text())) for path in SCHEMA_FILES.values()]
    return Registry().with_resources((resource.id(), resource) for resource in resources)


@functools.cache
def _validator(schema_name: str) -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILES[schema_name].read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=_registry(), format_checker=cls.FORMAT_CHECKER)


def validated(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` after checking it against the schema it names (raises ``ValidationError``)."""
    _validator(document["schema"]).validate(document)
    return document


@functools.cache
def _sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA_FILE.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def validated_sarif(log: dict[str, Any]) -> dict[str, Any]:
    _sarif_validator().validate(log)
    return log
