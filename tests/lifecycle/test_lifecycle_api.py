"""POST /api/v1/models/reload: model admins only, field errors for bad input, the load's outcome in the body."""

from __future__ import annotations

import json
from types import SimpleNamespace

import jsonschema_rs
import pytest
from rest_framework.test import APIClient

from scoring.api.lifecycle import ModelReloadApi
from scoring.lifecycle import loads
from scoring.models import ModelLoad, ModelVersion
from tests.support import DEFAULT_BUNDLE, hub_server

URL = "/api/v1/models/reload"


@pytest.fixture
def api(db):
    return APIClient()


@pytest.fixture
def api_schema(model_admin, active_version):
    client = APIClient()
    client.force_authenticate(model_admin)
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def post(api, user, data, capture):
    api.force_authenticate(user)
    with capture(execute=True):
        response = api.post(URL, data, format="json")
    return response


def test_model_admin_reloads_from_the_hub(
    api, model_admin, local_hub, hub_settings, django_capture_on_commit_callbacks
):
    sha = hub_server.commit_folder(local_hub.root, "acme/api-model", DEFAULT_BUNDLE)
    response = post(api, model_admin, {"repo": "acme/api-model"}, django_capture_on_commit_callbacks)
    # The task runs once the request commits; the body then reports it queued, the row reports the result.
    assert response.status_code in (200, 202)
    load = ModelLoad.objects.get(pk=response.json()["id"])
    assert load.state == ModelLoad.State.DONE and load.commit == sha
    assert load.version.status == ModelVersion.Status.VALIDATED and load.requested_by == model_admin


def test_bad_input_is_a_400_with_field_details(api, model_admin):
    api.force_authenticate(model_admin)
    response = api.post(URL, {}, format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"repo": ["This field is required."]}
    response = api.post(URL, {"repo": "no-slash"}, format="json")
    assert response.status_code == 400 and "owner/name" in response.json()["errors"]["repo"][0]
    assert not ModelLoad.objects.exists()


@pytest.mark.parametrize("persona", ["officer", "auditor"])
def test_only_model_admins_may_reload(api, persona, request):
    api.force_authenticate(request.getfixturevalue(persona))
    assert api.post(URL, {"repo": "acme/x"}, format="json").status_code == 403
    assert not ModelLoad.objects.exists()


def test_anonymous_is_refused(api):
    assert api.post(URL, {"repo": "acme/x"}, format="json").status_code in (401, 403)


# Repo names the Hub refuses (huggingface_hub's own rule): each is a 400 naming `repo`, never a failed load.
MALFORMED_REPOS = ["../x", "acme/x--y", "acme/x..y", "acme/x.git", "acme/-x", "acme/x.", ".acme/x", "acme/" + "x" * 97]


@pytest.mark.parametrize("repo", MALFORMED_REPOS)
def test_a_malformed_repo_name_is_a_400_naming_repo(api, model_admin, hub_settings, repo):
    api.force_authenticate(model_admin)
    response = api.post(URL, {"repo": repo}, format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == ["repo"]
    assert not ModelLoad.objects.exists()


def test_the_schema_s_repo_pattern_is_the_hub_s_rule(api_schema):
    from huggingface_hub.utils import validate_repo_id
    from huggingface_hub.utils._validators import HFValidationError

    pattern = jsonschema_rs.validator_for(api_schema["components"]["schemas"]["ModelReloadRequest"])
    for repo in [*MALFORMED_REPOS, "acme/credit-model", "a/b", "Org_1/model.v2", "acme/x-y_z.1"]:
        try:
            validate_repo_id(repo)
            hub_accepts = True
        except HFValidationError:
            hub_accepts = False
        assert pattern.is_valid({"repo": repo}) == hub_accepts, repo


@pytest.mark.parametrize(
    "body",
    [
        {"repo": "acme/x", "revison": "v2"},  # a typo must not pass for the default revision
        {"repo": "acme/x", "activate": True},
    ],
)
def test_unknown_fields_are_refused(api, model_admin, body):
    api.force_authenticate(model_admin)
    response = api.post(URL, body, format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    unknown = set(body) - {"repo"}
    assert {name: ["Unknown field."] for name in unknown}.items() <= response.json()["errors"].items()
    assert not ModelLoad.objects.exists()


def test_the_schema_refuses_unknown_fields_too(api_schema):
    assert api_schema["components"]["schemas"]["ModelReloadRequest"]["additionalProperties"] is False


@pytest.mark.parametrize(
    "field, value",
    [
        ("subfolder", "../../some/local/dir"),
        ("subfolder", "/etc"),
        ("subfolder", "models/../../x"),
        ("revision", " main"),
        ("revision", "main\n"),
        ("revision", ""),
    ],
)
def test_a_bad_subfolder_or_revision_is_a_400_naming_it(api, model_admin, field, value):
    api.force_authenticate(model_admin)
    response = api.post(URL, {"repo": "acme/x", field: value}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == [field]
    assert not ModelLoad.objects.exists()


def test_every_answer_matches_the_schema_including_its_nulls(api, model_admin, local_hub, hub_settings, api_schema):
    """A queued or failed load has no version or status: the schema must allow the nulls the server sends."""
    hub_server.commit_folder(local_hub.root, "acme/api-schema", DEFAULT_BUNDLE)
    hub_server.commit_folder(local_hub.root, "acme/api-fails", DEFAULT_BUNDLE)
    hub_server.misbehave(local_hub.root, "acme/api-fails", answer=500)
    load_schema = _json_schema(
        {**api_schema["components"]["schemas"]["ModelLoad"], "components": api_schema["components"]}
    )
    api.force_authenticate(model_admin)

    queued = api.post(URL, {"repo": "acme/api-schema"}, format="json")  # its task waits for the commit
    assert queued.status_code == 202
    assert [queued.json()[name] for name in ("version", "version_status", "rejection_reason")] == [None] * 3
    jsonschema_rs.validate(load_schema, queued.json())

    for repo in ("acme/api-schema", "acme/api-fails"):
        load = loads.run_load(load_id=loads.request_load(repo_id=repo, user=model_admin, queue=False).pk)
        body = json.loads(json.dumps(ModelReloadApi.ModelLoadSerializer(load).data))
        jsonschema_rs.validate(load_schema, body)
    assert body["state"] == "failed" and body["version"] is None and "HTTP 500" in body["error"]


def _json_schema(node):
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema says it (a validator ignores the OpenAPI keyword)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_the_schema_s_subfolder_pattern_is_the_server_s_rule(api_schema):
    from scoring.lifecycle import hub

    schema = jsonschema_rs.validator_for(api_schema["components"]["schemas"]["ModelReloadRequest"])
    samples = ["", "models", "models/credit", "models/credit/", "a b/ü", "..", ".", "../x", "x/..", "/x", "x//y"]
    samples += ["x\\y", "x\ny", "x\x7f", ".hidden/x", "x/..y", "...", "x/./y"]
    for subfolder in samples:
        try:
            hub.clean_subfolder(subfolder)
            server_accepts = True
        except ValueError:
            server_accepts = False
        assert schema.is_valid({"repo": "acme/x", "subfolder": subfolder}) == server_accepts, subfolder


@pytest.mark.django_db(transaction=True)
def test_a_hub_failure_is_a_502_problem_carrying_the_failed_load(
    api, model_admin, local_hub, hub_settings, monkeypatch
):
    """With tasks run at once (no broker), the load fails inside the request: a problem, never a bare body."""
    # Run the load task in the request, as eager Celery does; patched here rather than through the Celery
    # app's conf, which another test may have swapped for its own app by the time this one runs.
    monkeypatch.setattr(loads, "load_model_from_hub", SimpleNamespace(delay=lambda pk: loads.run_load(load_id=pk)))
    hub_server.commit_folder(local_hub.root, "acme/api-502", DEFAULT_BUNDLE)
    hub_server.misbehave(local_hub.root, "acme/api-502", answer=403)
    api.force_authenticate(model_admin)
    response = api.post(URL, {"repo": "acme/api-502"}, format="json")
    assert response.status_code == 502 and response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 502 and "HTTP 403" in body["detail"] and "HF_TOKEN" in body["detail"]
    assert body["load"]["state"] == "failed" and body["load"]["version"] is None
    assert not ModelVersion.objects.exists()
