"""Activation races and roll back: the loser of two activations is told so, roll back follows the history."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from scoring.api.problems import problem_exception_handler
from scoring.exceptions import ActivationConflict, NotAllowed
from scoring.lifecycle import versions
from scoring.models import ModelActivation, ModelVersion
from tests.support.lifecycle_fixtures import bundle_variant

CONFLICT = "Another activation happened at the same time; reload and try again."


@pytest.fixture
def candidates(active_version, tmp_path):
    """The live default version (v1) and three validated variants (v2, v3, v4)."""
    made = [active_version]
    for n, threshold in enumerate(["0.2", "0.25", "0.3"], start=2):
        made.append(versions.register_bundle(path=bundle_variant(tmp_path / f"v{n}", threshold=threshold)))
    return made


def live() -> ModelVersion:
    return ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE)


def race_on_save(monkeypatch, winner: ModelVersion) -> None:
    """Make ``winner`` go live (as a concurrent, committed activation would) just before the loser's switch."""
    real_save = ModelVersion.save

    def save(self, *args, **kwargs):
        if self.status == ModelVersion.Status.ACTIVE and self.pk != winner.pk:
            ModelVersion.objects.filter(pk=winner.pk).update(status=ModelVersion.Status.ACTIVE)
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ModelVersion, "save", save)


# --- two activations at the same time ------------------------------------------


@pytest.mark.django_db
def test_the_loser_of_a_simulated_race_gets_a_clear_error_and_changes_nothing(candidates, monkeypatch):
    _, v2, v3, _ = candidates
    race_on_save(monkeypatch, winner=v3)
    before = ModelActivation.objects.count()
    with pytest.raises(ActivationConflict, match="reload and try again"):
        versions.activate(version=v2, user=None)
    assert ModelActivation.objects.count() == before
    v2.refresh_from_db()
    assert v2.status == ModelVersion.Status.VALIDATED


@pytest.mark.django_db
def test_admin_shows_the_conflict_instead_of_an_error_page(client, model_admin, candidates, monkeypatch):
    _, v2, v3, _ = candidates
    race_on_save(monkeypatch, winner=v3)
    client.force_login(model_admin)
    response = client.post(reverse("admin:scoring_modelversion_activate", args=[v2.pk]), follow=True)
    assert response.status_code == 200
    assert CONFLICT in response.content.decode()


def test_the_api_answers_a_conflict_as_a_409_problem():
    response = problem_exception_handler(ActivationConflict(), {})
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["detail"] == CONFLICT and body["type"].endswith("activation-conflict")


@pytest.mark.django_db
def test_a_rollback_decided_on_a_stale_page_changes_nothing(candidates):
    _, v2, v3, _ = candidates
    versions.activate(version=v2, user=None)
    versions.activate(version=v3, user=None)  # someone else, after the page showing v2 was rendered
    with pytest.raises(ActivationConflict):
        versions.roll_back(user=None, current=v2)
    assert live() == v3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_activations_on_postgresql_one_wins_one_is_told(candidates, monkeypatch):
    _, v2, v3, _ = candidates
    real_save = ModelVersion.save

    def slow_save(self, *args, **kwargs):
        time.sleep(0.3)  # keep both transactions open at once, holding their row locks
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ModelVersion, "save", slow_save)
    start = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def activate(version):
        try:
            start.wait()
            outcomes[version.pk] = versions.activate(version=version, user=None)
        except Exception as exc:  # the outcome is what the test checks
            outcomes[version.pk] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=activate, args=(v,)) for v in (v2, v3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    won = [pk for pk, o in outcomes.items() if isinstance(o, ModelActivation)]
    lost = [o for o in outcomes.values() if not isinstance(o, ModelActivation)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], ActivationConflict) and str(lost[0]) == CONFLICT
    assert live().pk == won[0]
    assert ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).count() == 1
    assert ModelActivation.objects.filter(version_id__in=[v2.pk, v3.pk]).count() == 1


# --- roll back follows the activation history ------------------------------------


# Each case: the steps after v1 went live ("v2" activates v2, "back" rolls back), then which version is
# live and which one "Roll back to previous" offers (None: nothing to roll back to).
ROLLBACK_SEQUENCES = {
    "two roll backs walk down the history, never back up": (["v2", "v3", "back", "back"], "v1", None),
    "after one roll back the next goes further down, not to the version just withdrawn": (
        ["v2", "v3", "back"],
        "v2",
        "v1",
    ),
    "a new activation after a roll back is undone first": (["v2", "v3", "back", "v4"], "v4", "v2"),
    "putting back the previous version by hand counts as a roll back": (["v2", "v3", "v2"], "v2", "v1"),
    "re-activating an older version is a step forward": (["v2", "v3", "v1"], "v1", "v3"),
    "rolling back that step returns to where it started": (["v2", "v3", "v1", "back"], "v3", "v2"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("steps", "live_after", "offered"), ROLLBACK_SEQUENCES.values(), ids=ROLLBACK_SEQUENCES)
def test_roll_back_follows_the_activation_history(candidates, steps, live_after, offered):
    named = {f"v{n}": version for n, version in enumerate(candidates, start=1)}
    for step in steps:
        if step == "back":
            versions.roll_back(user=None)
        else:
            versions.activate(version=named[step], user=None)
    assert live() == named[live_after]
    assert versions.rollback_target() == (named[offered] if offered else None)
    if offered is None:
        with pytest.raises(NotAllowed, match="no previous version"):
            versions.roll_back(user=None)
    else:
        versions.roll_back(user=None)
        assert live() == named[offered]


@pytest.mark.django_db
def test_the_version_page_offers_the_roll_back_the_history_gives(client, model_admin, candidates):
    v1, v2, v3, _ = candidates
    versions.activate(version=v2, user=None)
    versions.activate(version=v3, user=None)
    client.force_login(model_admin)
    response = client.post(reverse("admin:scoring_modelversion_rollback", args=[v3.pk]), follow=True)
    assert live() == v2
    assert f"Roll back to previous (#{v1.pk})" in response.content.decode()
