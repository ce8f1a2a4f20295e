"""score_application, reviews and activation: every decision has its record, nothing invalid is written."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from scoring.decisions import services
from scoring.exceptions import InvalidApplication, InvalidReview, ModelUnavailable, NotAllowed
from scoring.lifecycle import registry, versions
from scoring.models import Channel, DailyStat, ModelActivation, ModelVersion, Prediction, Review
from tests.support import DEFAULT_BUNDLE


def test_it_records_every_decision_with_what_explains_it(officer, active_version, example_inputs):
    inputs = example_inputs | {"foreign_worker": "yes"}
    prediction = services.score_application(user=officer, inputs=inputs, channel=Channel.WEB, external_ref=" A-1 ")
    stored = Prediction.objects.get()
    assert stored.pk == prediction.pk
    assert stored.inputs == inputs
    assert stored.features == {k: example_inputs[k] for k in registry.get_active().model.feature_names}
    assert stored.protected == {"foreign_worker": "yes"}
    assert stored.model_version == active_version
    assert stored.threshold == active_version.threshold
    assert stored.decision in {"approve", "refer", "decline"}
    assert stored.reasons and stored.reasons[0]["sentence"]
    assert stored.external_ref == "A-1"
    assert stored.latency_ms > 0
    stat = DailyStat.objects.get()
    assert (stat.count, stat.decision, stat.risk_band) == (1, stored.decision, stored.risk_band)
    assert stat.probability_sum == pytest.approx(stored.probability)


def test_invalid_input_writes_nothing(officer, active_version, example_inputs):
    with pytest.raises(InvalidApplication) as caught:
        services.score_application(
            user=officer, inputs=example_inputs | {"credit_amount": -5, "purpose": "yacht"}, channel=Channel.WEB
        )
    assert set(caught.value.errors) == {"credit_amount", "purpose"}
    assert Prediction.objects.count() == 0
    assert DailyStat.objects.count() == 0


def test_no_decision_is_returned_when_its_record_cannot_be_written(
    officer, active_version, example_inputs, failing_write
):
    failing_write("prediction")
    with pytest.raises(DatabaseError, match="no space left"):
        services.score_application(user=officer, inputs=example_inputs, channel=Channel.API)
    assert Prediction.objects.count() == 0
    assert DailyStat.objects.count() == 0


def test_aggregate_failure_rolls_back_the_prediction(officer, active_version, example_inputs, failing_write):
    failing_write("aggregates")
    with pytest.raises(DatabaseError, match="no space left"):
        services.score_application(user=officer, inputs=example_inputs, channel=Channel.API)
    assert Prediction.objects.count() == 0
    assert DailyStat.objects.count() == 0


def test_without_an_active_model_scoring_is_unavailable(officer):
    with pytest.raises(ModelUnavailable):
        services.score_application(user=officer, inputs={}, channel=Channel.WEB)


def test_override_needs_reason_and_justification(officer, active_version, example_inputs, settings):
    settings.OVERRIDE_PD_LIMIT = 1.0  # within the officer's authority: it counts at once
    prediction = services.score_application(user=officer, inputs=example_inputs, channel=Channel.WEB)
    opposite = "decline" if prediction.decision == "approve" else "approve"
    with pytest.raises(InvalidReview) as caught:
        services.record_review(user=officer, prediction=prediction, outcome=opposite)
    assert set(caught.value.errors) == {"reason_code", "justification"}
    review = services.record_review(
        user=officer,
        prediction=prediction,
        outcome=opposite,
        reason_code=Review.ReasonCode.COLLATERAL,
        justification="Guarantor signed the loan agreement.",
    )
    assert review.overridden and review.final_decision == opposite
    assert Prediction.objects.get().decision == prediction.decision  # the decision itself is never edited
    stat = DailyStat.objects.get()
    assert (stat.reviewed, stat.overridden) == (1, 1)


def test_only_the_deciding_officer_reviews(officer, other_officer, active_version, example_inputs):
    prediction = services.score_application(user=officer, inputs=example_inputs, channel=Channel.WEB)
    with pytest.raises(NotAllowed):
        services.record_review(user=other_officer, prediction=prediction, outcome="agree")
    assert Review.objects.count() == 0


def test_activation_retires_the_previous_version_and_is_recorded(model_admin, active_version, tmp_path):
    import shutil

    import yaml

    bundle = tmp_path / "b2"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    mlmodel = yaml.safe_load((bundle / "MLmodel").read_text())
    mlmodel["metadata"]["threshold"] = 0.8
    mlmodel["metadata"]["refer_band"] = {"lower": 0.7, "upper": 0.8}
    mlmodel["metadata"]["risk_bands"] = [
        {"name": "A", "label": "Low risk", "upper": 0.7},
        {"name": "B", "label": "Moderate risk", "upper": 0.8},
        {"name": "C", "label": "High risk", "upper": 1.0},
    ]
    (bundle / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    # the same weights with other metadata: a different version
    second = versions.register_bundle(path=bundle, name="stricter")
    assert second != active_version and second.sha256 == active_version.sha256
    activation = versions.activate(version=second, user=model_admin)
    active_version.refresh_from_db()
    assert active_version.status == ModelVersion.Status.RETIRED
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE) == second
    assert (activation.previous, activation.version, activation.user) == (active_version, second, model_admin)
    assert ModelActivation.objects.count() == 2
    assert registry.get_active().version == second
    assert registry.get_active().model.threshold == 0.8


def test_database_allows_only_one_active_version(active_version):
    clone = ModelVersion.objects.create(name="x", sha256="0" * 64, status=ModelVersion.Status.VALIDATED)
    clone.status = ModelVersion.Status.ACTIVE
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()


def test_registering_the_same_bundle_twice_returns_the_same_version(db):
    first = versions.register_bundle(path=DEFAULT_BUNDLE)
    assert versions.register_bundle(path=DEFAULT_BUNDLE) == first
    assert ModelVersion.objects.count() == 1


def test_deciding_a_referral_is_not_an_override(officer, active_version):
    from tests.support.applications import inputs_by_decision

    prediction = services.score_application(user=officer, inputs=inputs_by_decision()["refer"], channel=Channel.WEB)
    assert prediction.decision == "refer"
    with pytest.raises(InvalidReview) as caught:
        services.record_review(user=officer, prediction=prediction, outcome="agree")
    assert "outcome" in caught.value.errors
    review = services.record_review(
        user=officer,
        prediction=prediction,
        outcome="approve",
        reason_code=Review.ReasonCode.ADDITIONAL_INCOME,
        justification="Payslips show a second income.",
    )
    assert review.final_decision == "approve" and not review.overridden
