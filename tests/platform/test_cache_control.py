"""No page, download or API answer of the app may be kept by a browser or a shared cache."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

# The URL map, personas and objects of the authorization matrix: a new URL is covered here as soon as it has a rule.
from tests.accounts.test_authorization_matrix import PERSONAS, _url, clients, objs, project_urls  # noqa: F401


def _uncached(response) -> bool:
    policy = response.get("Cache-Control", "")
    return "no-store" in policy and "private" in policy


def test_every_url_answers_every_persona_with_no_store(clients, objs):  # noqa: F811
    """Decisions, batch jobs and results, audit pages and exports, monitoring and the API, whatever the status."""
    failures, seen_ok = [], set()
    for name, _, params in project_urls():
        url = _url(name, params, objs)
        for persona in PERSONAS:
            response = clients[persona].get(url)
            if not _uncached(response):
                failures.append(
                    f"{persona} GET {url} ({name}): {response.status_code} {response.get('Cache-Control')!r}"
                )
            elif response.status_code == 200:
                seen_ok.add(name)
    assert not failures, "\n".join(failures)
    carrying = {"scoring:prediction-detail", "scoring:batch-detail", "audit:prediction-export", "api:prediction-list"}
    assert carrying <= seen_ok  # the check saw the pages themselves, not only refusals


def test_a_view_that_sets_its_own_policy_keeps_it(auditor):
    client = Client()
    client.force_login(auditor)
    response = client.get(reverse("health-live"))
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
