"""Failed API authentications are limited per client address: guessing keys gets 429s, other clients go on."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.tokens import issue_api_token
from scoring.api import auth_failures

PROBLEM = "application/problem+json"
URL = "/api/v1/models/active"


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_800_000_000.0}  # the start of a minute, so a window edge cannot fall inside a test
    monkeypatch.setattr(auth_failures, "_now", lambda: now["t"])
    return now


def _bad(address: str, header: str | None = "Token cs_not-a-real-key"):
    client = APIClient(REMOTE_ADDR=address)
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(URL)


def test_too_many_bad_tokens_from_one_address_get_429_and_others_are_served(officer, active_version, settings, clock):
    settings.API_AUTH_FAILURE_RATE = "3/minute"
    _, key = issue_api_token(user=officer, name="los")

    statuses = [_bad("10.0.0.66").status_code for _ in range(3)]
    refused = _bad("10.0.0.66")

    assert statuses == [401, 401, 401]
    assert refused.status_code == 429
    assert refused["Content-Type"] == PROBLEM
    body = refused.json()
    assert body["status"] == 429 and body["type"].endswith(":throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    # A right key from the refused address is refused too, or guessing would go on at full speed.
    assert APIClient(REMOTE_ADDR="10.0.0.66", HTTP_AUTHORIZATION=f"Token {key}").get(URL).status_code == 429
    # A good client elsewhere is not affected, and neither is a bad one that has not used up its own count.
    assert APIClient(REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION=f"Token {key}").get(URL).status_code == 200
    assert _bad("10.0.0.8").status_code == 401
    # The next window starts afresh.
    clock["t"] += 60
    assert APIClient(REMOTE_ADDR="10.0.0.66", HTTP_AUTHORIZATION=f"Token {key}").get(URL).status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "Token cs_revoked-or-wrong", "Bearer x", "Basic dXNlcjpwYXNz", "Token"],
    ids=["missing", "invalid", "bearer", "basic", "malformed"],
)
def test_every_kind_of_authentication_failure_counts(db, settings, clock, header):
    settings.API_AUTH_FAILURE_RATE = "2/minute"
    assert [_bad("10.0.0.66", header).status_code for _ in range(2)] == [401, 401]
    assert _bad("10.0.0.66", header).status_code == 429


def test_successful_requests_do_not_count(officer_api, active_version, settings, clock):
    settings.API_AUTH_FAILURE_RATE = "2/minute"
    assert [officer_api.get(URL).status_code for _ in range(5)] == [200] * 5


def test_the_address_behind_our_proxies_is_the_one_counted(officer, active_version, settings, clock):
    settings.API_AUTH_FAILURE_RATE = "2/minute"
    settings.TRUSTED_PROXY_COUNT = 1
    _, key = issue_api_token(user=officer, name="los")

    def via_proxy(client_address: str, auth: str):
        # A forged left-most entry must not give the attacker a fresh count per request.
        forwarded = f"6.6.6.{len(auth)}, {client_address}"
        return APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded, HTTP_AUTHORIZATION=auth).get(URL)

    assert [via_proxy("2.2.2.2", "Token " + "x" * n).status_code for n in (1, 2, 3)] == [401, 401, 429]
    # Another client behind the same proxy is its own address.
    assert via_proxy("3.3.3.3", f"Token {key}").status_code == 200


def test_web_pages_are_not_counted_or_refused(client, db, settings, clock):
    settings.API_AUTH_FAILURE_RATE = "1/minute"
    for _ in range(3):
        _bad("10.0.0.66")
    assert client.get("/accounts/login/", REMOTE_ADDR="10.0.0.66").status_code == 200


def test_a_rate_that_is_not_a_rate_is_refused():
    with pytest.raises(ValueError, match="API_AUTH_FAILURE_RATE"):
        auth_failures.parse_rate("twenty a minute")
    assert auth_failures.parse_rate("20/minute") == (20, 60)
