"""POST /api/v1/models/reload: model admins only, field errors for bad input, the load's outcome in the body."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from scoring.models import ModelLoad, ModelVersion
from tests.support import DEFAULT_BUNDLE, hub_server

URL = "/api/v1/models/reload"


@pytest.fixture
def api(db):
    return APIClient()


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
