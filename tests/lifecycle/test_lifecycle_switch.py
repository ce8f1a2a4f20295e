"""Switching the served version inside one process: a cold switch loads in the background, no call waits for it."""

from __future__ import annotations

import threading
import time

import pytest

from scoring.engine import BundleRejected
from scoring.lifecycle import registry, versions
from tests.support.lifecycle_fixtures import bundle_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def background(settings):
    settings.MODEL_SWITCH_IN_BACKGROUND = True


@pytest.fixture
def held_load(monkeypatch):
    """Once ``release`` is cleared, loads in the registry block until it is set again (a slow model file)."""
    started, release = threading.Event(), threading.Event()
    release.set()
    real = registry.load_bundle

    def slow_load(path, **options):
        started.set()
        assert release.wait(20), "the test never released the load"
        return real(path, **options)

    monkeypatch.setattr(registry, "load_bundle", slow_load)
    yield started, release
    release.set()


def served_id() -> int:
    return registry.get_active().version.pk


def wait_for(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_cold_switch_serves_the_old_version_until_the_new_one_is_loaded(
    background, active_version, tmp_path, held_load
):
    started, release = held_load
    assert served_id() == active_version.pk  # the process start: nothing loaded, so loaded inline
    new = versions.register_bundle(path=bundle_variant(tmp_path / "new", threshold="0.2"))
    versions.activate(version=new, user=None)
    started.clear()
    release.clear()

    began = time.monotonic()
    assert served_id() == active_version.pk  # the first call after the switch does not load it
    assert started.wait(10)
    calls = [served_id() for _ in range(20)]
    assert time.monotonic() - began < 2.0  # while the load is held, calls answer at once
    assert set(calls) == {active_version.pk}
    assert registry.status()["switching_to"] == new.pk

    release.set()
    assert wait_for(lambda: served_id() == new.pk)
    assert registry.get_active().model.threshold == pytest.approx(0.2)
    assert registry.status()["ok"] is True and registry.status()["switching_to"] is None


def test_a_version_that_fails_its_smoke_test_in_the_background_is_never_served(
    background, active_version, tmp_path, monkeypatch
):
    assert served_id() == active_version.pk
    new = versions.register_bundle(path=bundle_variant(tmp_path / "new", threshold="0.2"))

    def broken(model):
        raise BundleRejected("The input example scored 1.7, outside [0, 1].")

    monkeypatch.setattr(registry, "smoke_test", broken)
    versions.activate(version=new, user=None)
    assert served_id() == active_version.pk
    assert wait_for(lambda: registry.status()["failed_version_id"] == new.pk)
    assert served_id() == active_version.pk
    status = registry.status()
    assert status["ok"] is False and "outside [0, 1]" in status["load_error"]


def test_a_process_with_nothing_loaded_loads_inline(background, active_version):
    assert served_id() == active_version.pk
    assert registry.status()["switching_to"] is None


def test_a_switch_back_to_a_version_still_in_memory_is_immediate(background, active_version, tmp_path, held_load):
    started, release = held_load
    assert served_id() == active_version.pk
    new = versions.register_bundle(path=bundle_variant(tmp_path / "new", threshold="0.2"))
    versions.activate(version=new, user=None)
    served_id()
    assert wait_for(lambda: served_id() == new.pk)
    release.clear()
    started.clear()
    versions.roll_back(user=None)
    assert served_id() == active_version.pk  # no load (it would block on the cleared event)
    assert not started.is_set()


def test_an_unexpected_error_in_the_loading_thread_does_not_pin_the_old_version(
    background, active_version, tmp_path, monkeypatch
):
    assert served_id() == active_version.pk
    broken = versions.register_bundle(path=bundle_variant(tmp_path / "broken", threshold="0.2"))
    fine = versions.register_bundle(path=bundle_variant(tmp_path / "fine", threshold="0.25"))
    real = registry.load_bundle

    def load(path, **options):
        if str(path).endswith(broken.artifact_path):
            raise RuntimeError("out of memory")
        return real(path, **options)

    monkeypatch.setattr(registry, "load_bundle", load)
    versions.activate(version=broken, user=None)
    served_id()
    assert wait_for(lambda: registry.status()["failed_version_id"] == broken.pk)
    assert "out of memory" in registry.status()["load_error"]
    versions.activate(version=fine, user=None)
    assert wait_for(lambda: served_id() == fine.pk)
