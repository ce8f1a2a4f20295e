"""Fixtures shared by the API tests: clients authenticated with real API tokens."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.tokens import issue_api_token


def token_client(user) -> APIClient:
    _, key = issue_api_token(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def officer_api(officer):
    return token_client(officer)


@pytest.fixture
def other_officer_api(other_officer):
    return token_client(other_officer)


@pytest.fixture
def auditor_api(auditor):
    return token_client(auditor)


@pytest.fixture
def model_admin_api(model_admin):
    return token_client(model_admin)
