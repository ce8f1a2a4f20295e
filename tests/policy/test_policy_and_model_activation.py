"""A model goes live only under a credit policy it can answer; the policy changes first, then the model."""

from __future__ import annotations

import pytest

from scoring.engine import BundleRejected
from scoring.lifecycle import loads, registry, versions
from scoring.models import ModelVersion
from scoring.policy import defaults
from scoring.policy import services as policy_services
from tests.lifecycle.test_own_features import with_reference
from tests.support import hub_server
from tests.support.synthetic_bundle import write_synthetic_bundle


def test_a_model_without_a_field_the_live_policy_tests_is_not_activated(
    active_version, local_hub, hub_settings, tmp_path
):
    model = registry.get_active().model
    standard = policy_services.create_version(name="Standard", rules=defaults.RULES[1:], user=None, model=model)
    policy_services.activate(standard, user=None, model=model)
    hub_server.commit_folder(local_hub.root, "acme/household", with_reference(write_synthetic_bundle(tmp_path / "b")))
    other = loads.load_from_hub(repo_id="acme/household", user=None).version
    assert other.status == ModelVersion.Status.VALIDATED

    with pytest.raises(
        BundleRejected, match="AMOUNT_ABOVE_OFFICER_LIMIT: The active model has no field 'credit_amount'"
    ):
        versions.activate(version=other, user=None)
    assert registry.get_active().version == active_version

    # A policy whose rule both models can answer (record only, on the band) lets the new model go live.
    from scoring.engine.policy import AFTER_MODEL, RECORD, Condition, Rule

    neutral = Rule("LOW_BAND", "Low band", "Recorded.", RECORD, AFTER_MODEL, (Condition("risk_band", '"A"'),))
    bridge = policy_services.create_version(name="Bridge", rules=[neutral], user=None, model=model)
    policy_services.activate(bridge, user=None, model=model)
    versions.activate(version=other, user=None)
    assert registry.get_active().version == other
