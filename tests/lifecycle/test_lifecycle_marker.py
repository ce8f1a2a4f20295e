"""The cheap "which version is active" marker: a shared Redis key read by every process, the database behind it."""

from __future__ import annotations

import uuid

import pytest

from scoring.lifecycle import registry, versions
from scoring.models import ModelVersion
from tests.support.lifecycle_fixtures import bundle_variant

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/8",
            "KEY_PREFIX": f"marker-test-{uuid.uuid4().hex}",
        }
    }
    yield
    from django.core.cache import cache

    cache.clear()


def test_processes_follow_the_shared_marker_not_a_query_per_check(redis_cache, active_version, tmp_path):
    from django.core.cache import cache

    assert registry.get_active().version == active_version
    assert cache.get("creditscore:active-model-version") == active_version.pk  # refilled from the database
    candidate = versions.register_bundle(path=bundle_variant(tmp_path / "c", threshold="0.2"))
    # The database changes but nobody published yet: processes keep trusting the marker (one cache read).
    ModelVersion.objects.filter(pk=active_version.pk).update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.filter(pk=candidate.pk).update(status=ModelVersion.Status.ACTIVE)
    assert registry.get_active().version == active_version
    registry.publish_active(candidate.pk)
    assert registry.get_active().version == candidate


def test_activation_publishes_the_marker_once_committed(
    redis_cache, active_version, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    registry.get_active()
    candidate = versions.register_bundle(path=bundle_variant(tmp_path / "c", threshold="0.2"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        versions.activate(version=candidate, user=None)
        assert cache.get("creditscore:active-model-version") == active_version.pk  # not before the commit
    assert callbacks and cache.get("creditscore:active-model-version") == candidate.pk
    assert registry.get_active().version == candidate


def test_without_a_shared_cache_the_database_is_the_marker(settings, active_version, tmp_path):
    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    registry.get_active()
    candidate = versions.register_bundle(path=bundle_variant(tmp_path / "c", threshold="0.2"))
    versions.activate(version=candidate, user=None)
    assert registry.get_active().version == candidate


def test_checks_are_rate_limited_by_the_interval(settings, active_version, tmp_path, django_assert_num_queries):
    settings.MODEL_CHECK_INTERVAL = 60
    registry.get_active()
    with django_assert_num_queries(0):
        for _ in range(50):
            registry.get_active()
