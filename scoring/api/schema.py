"""OpenAPI hooks: the score request's ``inputs`` come from the active model at schema time, errors are problems.

The same JSON Schema is served by ``GET /api/v1/models/active`` so a client can
build a valid request from the API alone.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from scoring import registry
from scoring.engine import CATEGORICAL, INTEGER, MAX_TEXT_LENGTH, LoadedModel
from scoring.exceptions import ModelUnavailable

PROBLEM_STATUSES = {
    "400": "Invalid request: malformed JSON or invalid fields (see `errors`).",
    "401": "No or invalid credentials.",
    "403": "Authenticated, but the role does not allow this.",
    "404": "No such resource (or not visible to you).",
    "405": "Method not allowed.",
    "406": "Only application/json responses are offered.",
    "413": "Body too large, or more applications than /score/many accepts (use batch jobs).",
    "415": "Only application/json in UTF-8 is accepted.",
    "422": "The Idempotency-Key was already used for a different request.",
    "429": "Too many requests; see the Retry-After header.",
    "503": "No active model, or the database is unavailable; nothing was recorded.",
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Field name (dotted for nested fields) to messages.",
        },
    },
    "required": ["type", "title", "status", "detail"],
}


def feature_json_schema(feature) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": feature.label}
    if feature.help:
        schema["description"] = feature.help + (f" ({feature.unit})" if feature.unit else "")
    if feature.kind == CATEGORICAL:
        schema["type"] = "string"
        if feature.choices:
            schema["enum"] = list(feature.choices)
        else:
            schema["maxLength"] = MAX_TEXT_LENGTH
    else:
        schema["type"] = "integer" if feature.kind == INTEGER else "number"
        if feature.min is not None:
            schema["minimum"] = int(feature.min) if feature.kind == INTEGER else feature.min
        if feature.max is not None:
            schema["maximum"] = int(feature.max) if feature.kind == INTEGER else feature.max
    if feature.protected:
        schema["nullable"] = True
        schema["description"] = (schema.get("description", "") + " Monitoring only, never scored; optional.").strip()
    return schema


def inputs_json_schema(model: LoadedModel) -> dict[str, Any]:
    """JSON Schema (OpenAPI 3.0 flavour) of one application's inputs for ``model``."""
    return {
        "type": "object",
        "description": "One application: the active model's features (required) and protected attributes (optional).",
        "properties": {f.name: feature_json_schema(f) for f in model.all_fields},
        "required": list(model.feature_names),
        "additionalProperties": False,
        "example": model.example_inputs(),
    }


def active_inputs_schema() -> dict[str, Any]:
    try:
        return inputs_json_schema(registry.get_active().model)
    except ModelUnavailable:
        return {
            "type": "object",
            "description": "No model is active: see GET /api/v1/models/active once one is.",
            "additionalProperties": True,
        }


class ApplicationInputsFieldExtension(OpenApiSerializerFieldExtension):
    """The ``inputs`` object is described by the model active when the schema is generated."""

    target_class = "scoring.api.serializers.ApplicationInputsField"

    def map_serializer_field(self, auto_schema, direction):
        return active_inputs_schema()


def postprocess_schema(result, generator, request, public):
    """Document the problem responses on every operation and forbid unknown request fields."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in PROBLEM_STATUSES.items():
                responses.setdefault(code, {"description": description})
                responses[code]["content"] = {"application/problem+json": {"schema": ref}}
    for name, schema in components.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    _add_score_examples(result)
    return result


def _add_score_examples(result) -> None:
    """Request examples built from the active model's input example (so they are valid requests)."""
    try:
        example = registry.get_active().model.example_inputs()
    except ModelUnavailable:
        return
    one = {"inputs": example, "external_ref": "LOS-2026-000123"}
    many = {"applications": [one, {"inputs": example, "external_ref": "LOS-2026-000124"}]}
    for path_item in result.get("paths", {}).values():
        post = path_item.get("post") or {}
        value = {"score": one, "score_many": many}.get(post.get("operationId"))
        if value is not None:
            content = post.get("requestBody", {}).get("content", {}).get("application/json")
            if content is not None:
                content["examples"] = {"Application": {"value": value}}
