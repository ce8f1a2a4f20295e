"""OpenAPI hooks: the score request's ``inputs`` come from the active model at schema time, errors are problems.

The same JSON Schema is served by ``GET /api/v1/models/active`` so a client can
build a valid request from the API alone.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DatabaseError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from scoring.api.serializers import JUSTIFICATION_PATTERN
from scoring.engine import CATEGORICAL, INTEGER, MAX_TEXT_LENGTH, LoadedModel
from scoring.exceptions import ModelUnavailable
from scoring.lifecycle import registry
from scoring.models import Review
from scoring.policy import registry as policy_registry

# Error statuses any operation can answer (authentication, roles, unknown query parameters, rate limits,
# outages, over-long URLs); operations add their own (409, 502) with extend_schema.
PROBLEM_STATUSES = {
    "400": "Invalid request: invalid fields or an unknown query parameter (see `errors`).",
    "401": "No or invalid credentials.",
    "403": "Authenticated, but the role does not allow this.",
    "404": "No such resource (or not visible to you).",
    "406": "The Accept header lists no media type this operation answers with.",
    "414": "The URL is longer than MAX_REQUEST_LINE_BYTES.",
    "429": "Too many requests; see the Retry-After header.",
    "503": "No active model, or the database is unavailable; nothing was recorded.",
}
# Statuses of operations that read a request body.
BODY_PROBLEM_STATUSES = {
    "413": "Body too large, or more applications than /score/many accepts (use batch jobs).",
    "415": "Unsupported request media type or charset.",
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
            # The value is what a request sends; the label is what a client shows (x-enumNames, aligned with enum).
            schema["enum"] = list(feature.choices)
            schema["x-enumNames"] = [label for _, label in feature.labelled_choices]
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
    """JSON Schema (OpenAPI 3.0 flavour) of one application's inputs for ``model``.

    The protected attributes are optional, except those the live credit policy tests: it cannot decide
    without them, so they are required here too, and the example holds a valid value for each."""
    needed = policy_required(model)
    return {
        "type": "object",
        "description": "One application: the active model's features (required) and protected attributes "
        "(optional, except where the live credit policy tests them).",
        "properties": {f.name: feature_json_schema(f) for f in model.all_fields},
        "required": [*model.feature_names, *needed],
        "additionalProperties": False,
        "example": example_inputs(model),
    }


def policy_required(model: LoadedModel) -> list[str]:
    """The protected attributes the live credit policy tests, in the model's order."""
    policy = policy_registry.get_active()
    if policy is None:
        return []
    return list(policy.required([f.name for f in model.protected]))


def example_inputs(model: LoadedModel) -> dict[str, object]:
    """The model's example application, with a valid value for each field the live credit policy needs."""
    example = dict(model.example_inputs())
    for name in policy_required(model):
        if name in example:
            continue
        feature = next(f for f in model.protected if f.name == name)
        if feature.kind == CATEGORICAL:
            example[name] = feature.choices[0] if feature.choices else ""
        else:
            low = feature.min if feature.min is not None else 0
            high = feature.max if feature.max is not None else low + 100
            middle = (low + high) / 2
            example[name] = int(middle) if feature.kind == INTEGER else float(middle)
    return example


def active_inputs_schema() -> dict[str, Any]:
    # The schema is also generated by `manage.py check --deploy`, possibly before any migration.
    try:
        return inputs_json_schema(registry.get_active().model)
    except (ModelUnavailable, DatabaseError):
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


def _problem_schema(response: dict, ref: dict) -> dict:
    """A problem the operation describes in more detail (a duplicate's ``existing``) first, else the plain one."""
    declared = [c.get("schema") for c in response.get("content", {}).values() if c.get("schema")]
    if declared and declared[0] != ref:
        # anyOf, not oneOf: the specific problem is also a plain one.
        return {"anyOf": [declared[0], ref]}
    return ref


def postprocess_schema(result, generator, request, public):
    """Document the problem responses of every operation, forbid unknown request fields, state the rules."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            statuses = PROBLEM_STATUSES | (BODY_PROBLEM_STATUSES if "requestBody" in operation else {})
            for code, description in statuses.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if int(code) >= 400:  # every error is a problem document, whatever the operation's success type
                    response["content"] = {"application/problem+json": {"schema": _problem_schema(response, ref)}}
    for name, schema in components.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    _state_score_many_rules(components)
    _state_outcome_rules(components)
    _state_review_rules(components)
    _add_score_examples(result)
    return result


def _state_score_many_rules(components: dict[str, Any]) -> None:
    """How many applications /score/many takes, and that each item is answered on its own.

    An item that is not a valid ScoreRequest (null, a number, an object with bad fields) gets its
    errors in ``results`` with a 200, so the request's schema allows any item: a schema that
    refused them would promise a 400 the server does not send.
    """
    applications = components.get("ScoreManyRequest", {}).get("properties", {}).get("applications")
    if applications is None:
        return
    applications["minItems"] = 1
    applications["maxItems"] = settings.API_SCORE_MANY_LIMIT
    applications["items"] = {
        "anyOf": [applications.get("items", {"$ref": "#/components/schemas/ScoreRequest"}), {}],
        "description": "A ScoreRequest. Any other item is answered with its errors in `results`.",
    }


def _state_outcome_rules(components: dict[str, Any]) -> None:
    """How many rows POST /outcomes takes (OUTCOMES_MAX_ROWS): more are a 400, checked before any row."""
    outcomes = components.get("OutcomesRequest", {}).get("properties", {}).get("outcomes")
    if outcomes is not None:
        outcomes["minItems"] = 1
        outcomes["maxItems"] = settings.OUTCOMES_MAX_ROWS


def _state_review_rules(components: dict[str, Any]) -> None:
    """A review agrees, or decides (approve/decline) with a reason code and a justification: two shapes."""
    review = components.get("ReviewRequest")
    if review is None:
        return
    properties = review["properties"]
    agree = {
        "type": "object",
        "title": "Agree",
        "properties": properties | {"outcome": {"type": "string", "enum": [Review.Outcome.AGREE.value]}},
        "required": ["outcome"],
        "additionalProperties": False,
    }
    decide = {
        "type": "object",
        "title": "Approve or decline",
        "properties": properties
        | {
            "outcome": {
                "type": "string",
                "enum": [v for v in Review.Outcome.values if v != Review.Outcome.AGREE],
            },
            "reason_code": {"type": "string", "enum": [v for v in Review.ReasonCode.values if v]},
            "justification": properties["justification"] | {"pattern": JUSTIFICATION_PATTERN},
        },
        "required": ["outcome", "reason_code", "justification"],
        "additionalProperties": False,
    }
    components["ReviewRequest"] = {
        "oneOf": [agree, decide],
        "description": "Agree with the model, or approve/decline with a reason code and a justification.",
    }


def _add_score_examples(result) -> None:
    """Request examples built from the active model's input example (so they are valid requests)."""
    try:
        example = registry.get_active().model.example_inputs()
    except (ModelUnavailable, DatabaseError):
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
