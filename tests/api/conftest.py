"""Fixtures of the API tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    """Each API test starts with no requests counted against its throttle."""
    cache.clear()
