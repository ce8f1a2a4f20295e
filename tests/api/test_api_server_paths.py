"""No API answer shows a server path to a role with no use for it; model administrators see a bundle's source."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.support import DEFAULT_BUNDLE


def _strings(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _server_paths(body) -> list[str]:
    roots = {str(DEFAULT_BUNDLE), str(settings.BASE_DIR), str(settings.ARTIFACT_ROOT), str(settings.MEDIA_ROOT)}
    return [text for text in _strings(body) if text.startswith(("/", "file:")) or any(r in text for r in roots)]


@pytest.mark.parametrize(
    ("api", "urls"),
    [
        ("officer_api", ["/api/v1/models/active"]),
        ("auditor_api", ["/api/v1/models/active", "/api/v1/models"]),
    ],
)
def test_officers_and_auditors_see_no_server_path_in_any_field(api, urls, request, active_version):
    client = request.getfixturevalue(api)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        assert _server_paths(response.json()) == [], url
    assert client.get("/api/v1/models/active").json()["version"]["source_uri"] == ""


def test_model_admins_see_where_a_local_bundle_was_registered_from(model_admin_api, active_version):
    active = model_admin_api.get("/api/v1/models/active").json()
    listed = model_admin_api.get("/api/v1/models").json()

    assert active["version"]["source_uri"] == str(DEFAULT_BUNDLE)
    assert listed[0]["source_uri"] == str(DEFAULT_BUNDLE)
    # The source path is the only one: the artifact store's layout is not part of any answer.
    assert _server_paths(active) == [str(DEFAULT_BUNDLE)]
