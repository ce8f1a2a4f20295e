"""API v1 endpoints through real routing, token authentication and serializers."""

from __future__ import annotations

import pytest
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from accounts.tokens import issue_api_token
from scoring.decisions import services
from scoring.lifecycle import registry
from scoring.models import Channel, DailyStat, ModelVersion, Prediction, Review

PROBLEM = "application/problem+json"


def build_inputs_from_schema(input_schema: dict) -> dict:
    """What a client that knows only the published JSON Schema would send: the first choice, the minimum."""
    inputs = {}
    for name in input_schema["required"]:
        field = input_schema["properties"][name]
        if "enum" in field:
            inputs[name] = field["enum"][0]
        elif field["type"] == "integer":
            inputs[name] = field.get("minimum", 0)
        elif field["type"] == "number":
            inputs[name] = float(field.get("minimum", 0))
        else:
            inputs[name] = "x"
    return inputs


def test_a_client_that_knows_only_the_active_model_endpoint_can_score(officer_api, active_version):
    described = officer_api.get("/api/v1/models/active").json()
    inputs = build_inputs_from_schema(described["input_schema"])
    assert set(inputs) == {f["name"] for f in described["features"]}

    response = officer_api.post("/api/v1/score", {"inputs": inputs, "external_ref": "LOS-1"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["decision"] in {"approve", "refer", "decline"}
    assert body["model_version"]["id"] == described["version"]["id"]
    # The published example is a valid request too.
    example = officer_api.post("/api/v1/score", {"inputs": described["input_example"]}, format="json")
    assert example.status_code == 201


def test_it_scores_stores_and_explains_one_application(officer_api, officer, active_version, example_inputs):
    response = officer_api.post("/api/v1/score", {"inputs": example_inputs, "external_ref": " LOS-7 "}, format="json")

    assert response.status_code == 201
    body = response.json()
    stored = Prediction.objects.get()
    assert body["id"] == stored.pk
    assert (stored.channel, stored.user, stored.external_ref) == (Channel.API, officer, "LOS-7")
    assert body["probability"] == pytest.approx(stored.probability)
    assert body["decision"] == stored.decision
    assert body["threshold"] == active_version.threshold
    assert body["risk_band"] == stored.risk_band
    assert body["model_version"] == {
        "id": active_version.pk,
        "name": active_version.name,
        "sha256": active_version.sha256,
    }
    assert body["created_at"]
    reason = body["reasons"][0]
    assert set(reason) == {"feature", "label", "value", "contribution", "rule", "code", "statement", "sentence"}
    assert reason["rule"] is False
    declared = next(f for f in active_version.metadata["features"] if f["name"] == reason["feature"])
    direction = "raises" if reason["contribution"] > 0 else "lowers"
    declared_reason = declared["reasons"][direction]  # the bundle gives it in English and French
    assert (reason["code"], reason["statement"]) == (declared_reason["code"], declared_reason["statement"]["en"])
    assert reason["sentence"].startswith(reason["statement"] + " \u2014 ")
    assert reason["value"] == stored.features[reason["feature"]]  # the stored value, not its label
    assert DailyStat.objects.get(channel=Channel.API).count == 1


def test_invalid_inputs_get_field_errors_and_store_nothing(officer_api, active_version, example_inputs):
    response = officer_api.post(
        "/api/v1/score",
        {"inputs": example_inputs | {"credit_amount": -5, "purpose": "yacht", "shoe_size": 44}},
        format="json",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    assert body["status"] == 400
    assert set(body["errors"]) == {"inputs.credit_amount", "inputs.purpose", "inputs.shoe_size"}
    assert Prediction.objects.count() == 0


def test_unknown_and_wrongly_typed_envelope_fields_are_rejected(officer_api, active_version, example_inputs):
    unknown = officer_api.post("/api/v1/score", {"inputs": example_inputs, "extra": 1}, format="json")
    wrong_type = officer_api.post("/api/v1/score", {"inputs": [1, 2]}, format="json")
    too_long_ref = officer_api.post(
        "/api/v1/score", {"inputs": example_inputs, "external_ref": "x" * 101}, format="json"
    )

    assert unknown.status_code == 400 and "extra" in unknown.json()["errors"]
    assert wrong_type.status_code == 400 and "inputs" in wrong_type.json()["errors"]
    assert too_long_ref.status_code == 400 and "external_ref" in too_long_ref.json()["errors"]
    assert Prediction.objects.count() == 0


# --- idempotency -----------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_stored_prediction(officer_api, active_version, example_inputs):
    payload = {"inputs": example_inputs, "external_ref": "LOS-9"}
    first = officer_api.post("/api/v1/score", payload, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    again = officer_api.post("/api/v1/score", payload, format="json", HTTP_IDEMPOTENCY_KEY="req-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Prediction.objects.count() == 1
    assert DailyStat.objects.get().count == 1


def test_reusing_a_key_for_a_different_request_is_refused(officer_api, active_version, example_inputs):
    officer_api.post("/api/v1/score", {"inputs": example_inputs}, format="json", HTTP_IDEMPOTENCY_KEY="req-2")
    other = example_inputs | {"credit_amount": example_inputs["credit_amount"] + 1}

    response = officer_api.post("/api/v1/score", {"inputs": other}, format="json", HTTP_IDEMPOTENCY_KEY="req-2")

    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    assert Prediction.objects.count() == 1


def test_idempotency_keys_belong_to_one_user(officer_api, other_officer_api, active_version, example_inputs):
    payload = {"inputs": example_inputs}
    mine = officer_api.post("/api/v1/score", payload, format="json", HTTP_IDEMPOTENCY_KEY="same")
    theirs = other_officer_api.post("/api/v1/score", payload, format="json", HTTP_IDEMPOTENCY_KEY="same")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize("key", ["", "x" * 201, "has space", "naïve"])
def test_a_malformed_idempotency_key_is_a_400(officer_api, active_version, example_inputs, key):
    response = officer_api.post("/api/v1/score", {"inputs": example_inputs}, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert Prediction.objects.count() == 0


# --- score many --------------------------------------------------------------------------


def test_score_many_stores_valid_items_and_reports_the_others(officer_api, active_version, example_inputs):
    applications = [
        {"inputs": example_inputs, "external_ref": "A"},
        {"inputs": example_inputs | {"credit_amount": "lots"}},
        "not an object",
        {"inputs": example_inputs | {"duration_in_month": 12}, "external_ref": "B"},
    ]

    response = officer_api.post("/api/v1/score/many", {"applications": applications}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["scored"], body["rejected"]) == (2, 2)
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3]
    assert body["results"][1]["errors"] == {
        "inputs.credit_amount": ["Expected a whole number, not a string: send a JSON number, without quotes."]
    }
    assert body["results"][2]["prediction"] is None and body["results"][2]["errors"]
    stored = Prediction.objects.order_by("id")
    assert [p.external_ref for p in stored] == ["A", "B"]
    assert {body["results"][0]["prediction"]["id"], body["results"][3]["prediction"]["id"]} == {p.pk for p in stored}
    assert all(p.channel == Channel.API and p.reasons for p in stored)
    assert sum(DailyStat.objects.values_list("count", flat=True)) == 2


def test_score_many_matches_scoring_one_by_one(officer, active_version, example_inputs):
    variants = [example_inputs | {"duration_in_month": d} for d in (6, 24, 48)]
    many = services.score_applications(user=officer, applications=[(v, "") for v in variants], channel=Channel.API)
    one = [services.score_application(user=officer, inputs=v, channel=Channel.API) for v in variants]

    assert [p.probability for p in many] == pytest.approx([p.probability for p in one])
    assert [p.decision for p in many] == [p.decision for p in one]
    assert [p.reasons for p in many] == [p.reasons for p in one]


def test_more_applications_than_the_limit_point_to_batch_jobs(officer_api, active_version, example_inputs, settings):
    settings.API_SCORE_MANY_LIMIT = 2
    response = officer_api.post("/api/v1/score/many", {"applications": [{"inputs": example_inputs}] * 3}, format="json")

    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert "/api/v1/batch-jobs" in response.json()["detail"]
    assert Prediction.objects.count() == 0


# --- history ----------------------------------------------------------------------------


def _score(user, inputs, **extra):
    return services.score_application(user=user, inputs=inputs, channel=Channel.API, **extra)


def test_officers_list_their_own_decisions_and_auditors_all(
    officer, other_officer, officer_api, auditor_api, active_version, example_inputs
):
    mine = _score(officer, example_inputs)
    theirs = _score(other_officer, example_inputs)

    officer_ids = [p["id"] for p in officer_api.get("/api/v1/predictions").json()["results"]]
    auditor_ids = [p["id"] for p in auditor_api.get("/api/v1/predictions").json()["results"]]

    assert officer_ids == [mine.pk]
    assert auditor_ids == [theirs.pk, mine.pk]


def test_the_history_filters_and_pages_by_cursor(officer, auditor_api, active_version, example_inputs):
    made = [_score(officer, example_inputs, external_ref=f"R{i}") for i in range(5)]

    first = auditor_api.get("/api/v1/predictions", {"page_size": 2}).json()
    second = auditor_api.get("/api/v1/predictions", {"page_size": 2, "cursor": first["next_cursor"]}).json()
    by_ref = auditor_api.get("/api/v1/predictions", {"external_ref": "R3"}).json()
    by_decision = auditor_api.get("/api/v1/predictions", {"decision": made[0].decision}).json()

    assert [p["id"] for p in first["results"]] == [made[4].pk, made[3].pk]
    assert [p["id"] for p in second["results"]] == [made[2].pk, made[1].pk]
    assert [p["id"] for p in by_ref["results"]] == [made[3].pk]
    assert len(by_decision["results"]) == 5


@pytest.mark.parametrize(
    "params", [{"cursor": "garbage"}, {"date_from": "yesterday"}, {"page_size": 0}, {"decision": "maybe"}]
)
def test_bad_history_parameters_are_a_400(auditor_api, params):
    response = auditor_api.get("/api/v1/predictions", params)

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert set(response.json()["errors"]) == set(params)


def test_a_decision_is_visible_to_its_officer_and_auditors_only(
    officer, officer_api, other_officer_api, auditor_api, active_version, example_inputs
):
    prediction = _score(officer, example_inputs)
    url = f"/api/v1/predictions/{prediction.pk}"

    assert officer_api.get(url).status_code == 200
    assert auditor_api.get(url).json()["id"] == prediction.pk
    assert other_officer_api.get(url).status_code == 404  # not 403: do not reveal that it exists
    assert officer_api.get("/api/v1/predictions/999999999999999999999").status_code == 404


# --- reviews ----------------------------------------------------------------------------


def test_the_officer_who_decided_can_override_with_a_justification(
    officer, officer_api, active_version, example_inputs, settings
):
    settings.OVERRIDE_PD_LIMIT = 1.0  # within the officer's authority: no approval needed
    prediction = _score(officer, example_inputs)
    override = "approve" if prediction.decision != "approve" else "decline"

    response = officer_api.post(
        f"/api/v1/predictions/{prediction.pk}/reviews",
        {"outcome": override, "reason_code": "collateral", "justification": "Guarantor signed the agreement."},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["final_decision"] == override and response.json()["overridden"] is True
    detail = officer_api.get(f"/api/v1/predictions/{prediction.pk}").json()
    assert detail["final_decision"] == override
    assert [r["id"] for r in detail["reviews"]] == [Review.objects.get().pk]


def test_review_rules_and_access_are_enforced(
    officer, officer_api, other_officer_api, auditor_api, active_version, example_inputs
):
    prediction = _score(officer, example_inputs)
    url = f"/api/v1/predictions/{prediction.pk}/reviews"
    override = "approve" if prediction.decision != "approve" else "decline"

    no_justification = officer_api.post(url, {"outcome": override, "reason_code": "collateral"}, format="json")
    by_auditor = auditor_api.post(url, {"outcome": "agree"}, format="json")
    by_other = other_officer_api.post(url, {"outcome": "agree"}, format="json")

    assert no_justification.status_code == 400
    assert "justification" in no_justification.json()["errors"]
    assert by_auditor.status_code == 403
    assert by_other.status_code == 404
    assert Review.objects.count() == 0


# --- models ------------------------------------------------------------------------------


def test_auditors_and_model_admins_list_model_versions(auditor_api, model_admin_api, officer_api, active_version):
    listed = auditor_api.get("/api/v1/models").json()

    assert listed[0]["id"] == active_version.pk
    assert listed[0]["status"] == "active"
    assert listed[0]["sha256"] == active_version.sha256
    assert listed[0]["metrics"]["auc"] > 0.5
    assert model_admin_api.get("/api/v1/models").status_code == 200
    assert officer_api.get("/api/v1/models").status_code == 403


def test_the_active_model_describes_its_inputs(auditor_api, active_version):
    body = auditor_api.get("/api/v1/models/active").json()
    model = registry.get_active().model

    assert body["version"]["status"] == "active"
    schema = body["input_schema"]
    assert schema["required"] == model.feature_names
    assert schema["additionalProperties"] is False
    purpose = schema["properties"]["purpose"]
    assert purpose["type"] == "string" and "car (new)" in purpose["enum"]
    # Labels to show beside the values to send, aligned with enum; the feature list carries them too.
    assert dict(zip(purpose["enum"], purpose["x-enumNames"], strict=True))["car (new)"] == "New car"
    described = next(f for f in body["features"] if f["name"] == "purpose")
    assert {"value": "car (new)", "label": "New car"} in described["choices"]
    assert schema["properties"]["credit_amount"] == schema["properties"]["credit_amount"] | {
        "type": "integer",
        "minimum": 100,
        "maximum": 100000,
    }
    assert body["input_example"] == model.example_inputs()


def test_without_an_active_model_scoring_is_a_503(officer_api, example_inputs):
    ModelVersion.objects.update(status=ModelVersion.Status.RETIRED)
    registry.reset()

    active = officer_api.get("/api/v1/models/active")
    score = officer_api.post("/api/v1/score", {"inputs": example_inputs}, format="json")

    assert (active.status_code, score.status_code) == (503, 503)
    assert score["Content-Type"] == PROBLEM
    assert Prediction.objects.count() == 0


# --- authentication, roles, throttling ------------------------------------------------------


def test_requests_without_valid_credentials_are_a_401(officer, active_version):
    anonymous = APIClient().get("/api/v1/predictions")
    wrong = APIClient(HTTP_AUTHORIZATION="Token cs_not-a-real-key").get("/api/v1/predictions")

    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous["Content-Type"] == PROBLEM
    assert anonymous["WWW-Authenticate"] == "Token"


def test_bearer_tokens_work_and_revoked_tokens_do_not(officer, active_version):
    token, key = issue_api_token(user=officer, name="los")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/predictions").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None

    token.revoked_at = token.last_used_at
    token.save()

    assert client.get("/api/v1/predictions").status_code == 401


def test_roles_without_scoring_rights_cannot_score(auditor_api, model_admin_api, active_version, example_inputs):
    for client in (auditor_api, model_admin_api):
        response = client.post("/api/v1/score", {"inputs": example_inputs}, format="json")
        assert response.status_code == 403
        assert response["Content-Type"] == PROBLEM
    assert Prediction.objects.count() == 0


def test_browser_sessions_need_the_csrf_token(officer, active_version, example_inputs):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(officer)

    without = client.post("/api/v1/score", {"inputs": example_inputs}, format="json")
    # What a browser page does: the csrftoken cookie Django set, echoed in the X-CSRFToken header.
    secret = get_random_string(32)
    client.cookies["csrftoken"] = secret
    with_token = client.post("/api/v1/score", {"inputs": example_inputs}, format="json", HTTP_X_CSRFTOKEN=secret)

    assert without.status_code == 403
    assert "CSRF" in without.json()["detail"]
    assert with_token.status_code == 201
    assert Prediction.objects.count() == 1


def test_too_many_requests_get_a_429_with_retry_after(officer_api, active_version, settings):
    settings.API_THROTTLE_USER_RATE = "2/minute"

    statuses = [officer_api.get("/api/v1/models/active").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    response = officer_api.get("/api/v1/models/active")
    assert response["Content-Type"] == PROBLEM
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.redis
def test_with_redis_requests_are_counted_there_in_one_round_trip(
    officer_api, officer, auditor, active_version, settings, monkeypatch
):
    import redis

    from scoring.api import throttling

    settings.REDIS_URL = "redis://127.0.0.1:6379/11"  # a database no other test or benchmark uses
    server = redis.Redis.from_url(settings.REDIS_URL)
    for key in server.scan_iter(f"*{throttling.KEY_PREFIX}:*"):
        server.delete(key)
    settings.API_THROTTLE_USER_RATE = "2/day"  # a window edge cannot fall inside the test
    sent = []
    real_pipeline = redis.Redis.pipeline

    def pipeline(self, *args, **kwargs):
        sent.append(1)
        return real_pipeline(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "pipeline", pipeline)
    statuses = [officer_api.get("/api/v1/models/active").status_code for _ in range(3)]
    refused = officer_api.get("/api/v1/models/active")

    assert statuses == [200, 200, 429]
    assert len(sent) == 4  # one pipeline (INCR + EXPIRE) a request
    assert refused["Content-Type"] == PROBLEM
    assert 0 < int(refused["Retry-After"]) <= 86400
    keys = [k.decode() for k in server.scan_iter(f"*{throttling.KEY_PREFIX}:*")]
    assert len(keys) == 1 and keys[0].startswith(f":1:{throttling.KEY_PREFIX}:throttle_user_{officer.pk}:")
    assert int(server.get(keys[0])) == 4 and 0 < server.ttl(keys[0]) <= 86401
    # Another user has a count of their own.
    _, key = issue_api_token(user=auditor, name="x")
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/models/active").status_code == 200
    server.delete(*server.scan_iter(f"*{throttling.KEY_PREFIX}:*"))


def test_an_unreachable_throttle_counter_lets_requests_through(officer_api, active_version, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.API_THROTTLE_USER_RATE = "1/day"

    statuses = [officer_api.get("/api/v1/models/active").status_code for _ in range(2)]

    assert statuses == [200, 200]
    assert "throttle counter unavailable" in caplog.text


def test_unknown_addresses_and_methods_are_problems(officer_api):
    missing = officer_api.post("/api/v1/nothing-here", {}, format="json")
    method = officer_api.delete("/api/v1/score")

    assert missing.status_code == 404 and missing["Content-Type"] == PROBLEM
    assert method.status_code == 405 and method["Content-Type"] == PROBLEM


# --- schema and docs ---------------------------------------------------------------------


def test_the_schema_lists_the_active_models_fields(officer_api, active_version):
    schema = officer_api.get("/api/v1/schema/?format=json").json()
    model = registry.get_active().model

    request_schema = schema["components"]["schemas"]["ScoreRequest"]
    inputs = request_schema["properties"]["inputs"]
    assert inputs["required"] == model.feature_names
    assert set(inputs["properties"]) == {f.name for f in model.all_fields}
    assert request_schema["additionalProperties"] is False
    score = schema["paths"]["/api/v1/score"]["post"]
    assert score["requestBody"]["content"]["application/json"]["examples"]
    assert "application/problem+json" in score["responses"]["400"]["content"]
    assert {"/api/v1/predictions", "/api/v1/models/active", "/api/v1/score/many"} <= set(schema["paths"])


def test_the_docs_page_uses_vendored_assets_and_no_inline_code(officer_api):
    page = officer_api.get("/api/v1/docs/")
    script = officer_api.get("/api/v1/docs/?script=")

    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<style" not in html and "<script>" not in html and "style=" not in html
    assert "cdn" not in html.lower()
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_the_direct_payload_is_what_the_documented_serializer_gives(
    officer, active_version, example_inputs, django_capture_on_commit_callbacks, settings
):
    """Scoring responses and history pages are built by prediction_data; the serializer is the contract."""
    settings.OVERRIDE_PD_LIMIT = 1.0  # within the officer's authority: the override stands at once
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.renderers import JSONRenderer

    from scoring.api.serializers import PredictionSerializer, prediction_data
    from scoring.batch import jobs
    from scoring.decisions import selectors
    from tests.support.batch_files import csv_bytes, synthetic_frame

    inputs = example_inputs
    declined = services.score_application(user=officer, inputs=inputs, channel=Channel.API, external_ref="R-1")
    plain = services.score_application(user=officer, inputs=inputs, channel=Channel.WEB)
    services.record_review(
        user=officer, prediction=plain, outcome="approve", reason_code="collateral", justification="Collateral."
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(6))))
    assert Prediction.objects.filter(batch_job=job).count() == 6
    fresh = [declined, plain]  # as the score endpoints have them, straight from the service
    listed = list(
        selectors.with_final_decision(Prediction.objects.all()).select_related("model_version", "user", "batch_job")
    )
    assert {p.channel for p in listed} == {"api", "web", "batch"}
    assert any(p.final != p.decision for p in listed if p.final)  # the override shows
    render = JSONRenderer().render
    for prediction in fresh + listed:
        assert render(prediction_data(prediction)) == render(PredictionSerializer(prediction).data), prediction.pk
