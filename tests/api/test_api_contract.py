"""The API does what its schema says: every error is a problem document, the CSV result is negotiated as
text/csv, and what the server enforces (query parameters, list sizes, cursors, reviews) is stated in the schema."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, reverse

from scoring.api import batch_urls
from scoring.api import urls as api_urls
from scoring.batch import jobs
from scoring.decisions import services
from scoring.models import BatchJob, Channel, Prediction
from tests.conftest import token_client
from tests.support.batch_files import csv_bytes, synthetic_frame

PROBLEM = "application/problem+json"


def _api_urls() -> list[str]:
    """Every route under /api/ (ids filled in), so a new endpoint is in the error tests without editing them."""
    found = ["/api/v1/no-such-endpoint"]
    for pattern in [*api_urls.urlpatterns, *batch_urls.urlpatterns]:
        if isinstance(pattern, URLPattern) and pattern.name != "not-found":
            found.append(reverse(f"api:{pattern.name}", kwargs=dict.fromkeys(pattern.pattern.converters, 1)))
    return found


API_URLS = _api_urls()


def assert_problem(response, status: int | None = None) -> dict:
    assert response.status_code >= 400, response.content[:300]
    if status is not None:
        assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM, (response.status_code, response.content[:300])
    body = json.loads(response.content)
    assert body["status"] == response.status_code
    assert body["type"] and body["title"] and isinstance(body["detail"], str)
    return body


def test_the_route_list_covers_the_api():
    assert len(API_URLS) >= 13
    assert "/api/v1/schema/" in API_URLS and "/api/v1/docs/" in API_URLS


@pytest.mark.parametrize("url", API_URLS)
def test_anonymous_requests_get_a_401_problem_on_every_route(client, active_version, url):
    for method in ("get", "post"):
        response = getattr(client, method)(url, HTTP_ACCEPT="application/problem+json")
        assert_problem(response, 404 if url.endswith("no-such-endpoint") else None)
        assert response.status_code in (401, 404, 405)


@pytest.mark.parametrize("url", API_URLS)
@pytest.mark.parametrize("role", ["officer", "auditor", "model_admin"])
def test_errors_of_every_kind_are_problems_on_every_route(active_version, url, role, request):
    api = token_client(request.getfixturevalue(role))
    requests = [
        api.delete(url),  # a method no route takes
        api.put(url, b"{}", content_type="application/json"),
        api.get(url, {"no_such_parameter": "1"}),
        api.get(url, HTTP_ACCEPT="application/x-nothing-we-answer"),
        api.post(url, b"{", content_type="application/json", HTTP_ACCEPT="application/problem+json"),
        api.get(url + "?q=" + "x" * 9000),
    ]
    for response in requests:
        assert_problem(response)


def test_an_auditor_s_write_refused_by_middleware_is_a_problem(auditor_api, active_version, example_inputs):
    response = auditor_api.post("/api/v1/score", {"inputs": example_inputs}, format="json")

    assert_problem(response, 403)
    assert Prediction.objects.count() == 0


def test_the_schema_and_docs_refuse_anonymous_visitors_with_a_json_problem(client, db):
    for url in ("/api/v1/schema/", "/api/v1/schema/?format=json", "/api/v1/docs/"):
        body = assert_problem(client.get(url), 401)
        assert "credentials" in body["detail"].lower()


def test_a_client_accepting_only_problems_gets_its_error_not_a_406(officer_api, active_version):
    headers = {"HTTP_ACCEPT": "application/problem+json"}

    invalid = officer_api.post("/api/v1/score", {"inputs": {}}, format="json", **headers)
    missing = officer_api.get("/api/v1/predictions/999999", **headers)
    answered = officer_api.get("/api/v1/models/active", **headers)

    assert "inputs.credit_amount" in assert_problem(invalid, 400)["errors"]
    assert_problem(missing, 404)
    # A successful answer it cannot read is still refused, as a problem it can read.
    assert_problem(answered, 406)


def test_an_over_long_url_is_a_414_problem_and_the_limit_is_a_setting(officer_api, active_version, settings):
    settings.MAX_REQUEST_LINE_BYTES = 100

    long_one = officer_api.get("/api/v1/predictions?external_ref=" + "x" * 100)
    short_one = officer_api.get("/api/v1/predictions?external_ref=x")

    assert "100" in assert_problem(long_one, 414)["detail"]
    assert short_one.status_code == 200


def test_gunicorn_leaves_the_request_line_limit_to_the_app():
    import runpy
    from pathlib import Path

    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))

    assert config["limit_request_line"] == 0


# --- the batch result as CSV ----------------------------------------------------------------


@pytest.fixture
def finished_job(officer, active_version, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit_batch_job(user=officer, upload=SimpleUploadedFile("a.csv", csv_bytes(synthetic_frame(3))))
    job.refresh_from_db()
    assert job.state == BatchJob.State.SUCCEEDED
    return job


@pytest.mark.parametrize("accept", ["text/csv", "text/*", "*/*", "text/csv, application/problem+json"])
def test_the_result_is_negotiated_as_csv(officer_api, finished_job, accept):
    response = officer_api.get(f"/api/v1/batch-jobs/{finished_job.pk}/result", HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert len(b"".join(response.streaming_content).splitlines()) == 4  # header and three rows


def test_the_result_refuses_json_with_a_406_problem(officer_api, finished_job):
    response = officer_api.get(f"/api/v1/batch-jobs/{finished_job.pk}/result", HTTP_ACCEPT="application/json")

    assert_problem(response, 406)


def test_an_unfinished_job_s_result_is_a_documented_409(officer_api, finished_job, api_schema_json):
    BatchJob.objects.filter(pk=finished_job.pk).update(state=BatchJob.State.RUNNING)

    response = officer_api.get(f"/api/v1/batch-jobs/{finished_job.pk}/result", HTTP_ACCEPT="text/csv")

    assert_problem(response, 409)
    responses = api_schema_json["paths"]["/api/v1/batch-jobs/{job_id}/result"]["get"]["responses"]
    assert list(responses["200"]["content"]) == ["text/csv"]
    assert responses["200"]["content"]["text/csv"]["schema"]["type"] == "string"
    assert list(responses["409"]["content"]) == [PROBLEM]


# --- the schema states what the server enforces ---------------------------------------------


@pytest.fixture
def api_schema_json(officer_api, active_version):
    response = officer_api.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_every_error_status_in_the_schema_is_a_problem(api_schema_json):
    for path, item in api_schema_json["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"400", "401", "403", "404", "406", "414", "429", "503"} <= codes, (method, path)
            if "requestBody" in operation:
                assert {"413", "415"} <= codes, (method, path)
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == [PROBLEM], (method, path, code)


def test_unknown_query_parameters_are_refused_naming_them(officer_api, active_version):
    response = officer_api.get("/api/v1/predictions", {"decison": "approve", "page_size": 5})

    body = assert_problem(response, 400)
    assert body["errors"] == {"decison": ["Unknown query parameter."]}


def test_unknown_query_parameters_are_refused_only_after_authentication(client, active_version):
    assert_problem(client.get("/api/v1/predictions", {"decison": "approve"}), 401)


def test_the_idempotency_key_rule_is_in_the_schema_and_enforced(
    officer_api, active_version, example_inputs, api_schema_json
):
    parameters = api_schema_json["paths"]["/api/v1/score"]["post"]["parameters"]
    schema = next(p["schema"] for p in parameters if p["name"] == "Idempotency-Key")
    assert schema == {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"}

    for bad in ("x" * 201, "has space"):
        response = officer_api.post(
            "/api/v1/score", {"inputs": example_inputs}, format="json", HTTP_IDEMPOTENCY_KEY=bad
        )
        assert "Idempotency-Key" in assert_problem(response, 400)["errors"]
    ok = officer_api.post("/api/v1/score", {"inputs": example_inputs}, format="json", HTTP_IDEMPOTENCY_KEY="~" * 200)
    assert ok.status_code == 201


def test_score_many_states_its_item_limits(api_schema_json, settings):
    applications = api_schema_json["components"]["schemas"]["ScoreManyRequest"]["properties"]["applications"]

    assert applications["minItems"] == 1
    assert applications["maxItems"] == settings.API_SCORE_MANY_LIMIT


@pytest.mark.parametrize("item", [None, 1, [], "text", {"inputs": None}])
def test_every_kind_of_bad_item_in_score_many_gets_its_own_error(officer_api, active_version, example_inputs, item):
    response = officer_api.post(
        "/api/v1/score/many", {"applications": [{"inputs": example_inputs}, item]}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["scored"], body["rejected"]) == (1, 1)
    assert body["results"][1]["prediction"] is None and body["results"][1]["errors"]


def test_the_cursor_format_is_in_the_schema_and_every_cursor_it_allows_is_read(
    officer_api, officer, active_version, example_inputs, api_schema_json
):
    import re

    for _ in range(3):
        services.score_application(user=officer, inputs=example_inputs, channel=Channel.API)
    parameters = api_schema_json["paths"]["/api/v1/predictions"]["get"]["parameters"]
    pattern = next(p["schema"]["pattern"] for p in parameters if p["name"] == "cursor")

    first = officer_api.get("/api/v1/predictions", {"page_size": 2}).json()
    assert re.fullmatch(pattern.strip("^$"), first["next_cursor"])
    second = officer_api.get("/api/v1/predictions", {"page_size": 2, "cursor": first["next_cursor"]}).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1
    # Any text of the stated shape is a position: far in the future gives the newest rows, at zero none.
    assert len(officer_api.get("/api/v1/predictions", {"cursor": "99999999999999999.1"}).json()["results"]) == 3
    assert officer_api.get("/api/v1/predictions", {"cursor": "0.0"}).json()["results"] == []
    assert_problem(officer_api.get("/api/v1/predictions", {"cursor": "eyJhIjogMX0"}), 400)


def test_the_schema_says_an_override_needs_a_reason_code_and_the_server_agrees(
    officer_api, officer, active_version, example_inputs, api_schema_json, settings
):
    settings.OVERRIDE_PD_LIMIT = 1.0  # within the officer's authority: recorded at once (201)
    shapes = api_schema_json["components"]["schemas"]["ReviewRequest"]["oneOf"]
    decide = next(shape for shape in shapes if "agree" not in shape["properties"]["outcome"]["enum"])
    assert set(decide["required"]) == {"outcome", "reason_code", "justification"}
    assert "" not in decide["properties"]["reason_code"]["enum"]

    prediction = services.score_application(user=officer, inputs=example_inputs, channel=Channel.API)
    assert prediction.decision == "decline"  # the bundle's example application
    url = f"/api/v1/predictions/{prediction.pk}/reviews"
    justified = {"reason_code": "collateral", "justification": "Guarantor signed today."}

    no_reason = officer_api.post(url, {"outcome": "approve", "justification": "Guarantor signed today."}, format="json")
    spaced = officer_api.post(
        url, {"outcome": "approve", "reason_code": "collateral", "justification": "a b c d e f g"}, format="json"
    )
    same = officer_api.post(url, {"outcome": "decline", **justified}, format="json")

    assert "reason_code" in assert_problem(no_reason, 400)["errors"]
    assert "justification" in assert_problem(spaced, 400)["errors"]
    # The model's own decision given as an override: the request is well formed but conflicts with the decision.
    assert "outcome" in assert_problem(same, 409)["errors"]
    assert prediction.reviews.count() == 0
    assert officer_api.post(url, {"outcome": "approve", **justified}, format="json").status_code == 201
