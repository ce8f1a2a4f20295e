"""What could be offered passes the live credit policy too: an offer a rule would decline or refer is never shown."""

from __future__ import annotations

from scoring.decisions import services
from scoring.engine.policy import AFTER_MODEL, Condition, Rule
from scoring.engine.schema import APPROVE, DECLINE, REFER
from scoring.lifecycle import registry
from scoring.models import Channel
from scoring.offers.alternatives import offers_for
from scoring.policy import services as policy_services
from tests.offers.cases import declines


def test_every_offer_shown_is_approved_by_the_model_and_the_policy(officer, active_version):
    inputs = declines()["with_offers"]
    prediction = services.score_application(user=officer, inputs=inputs, channel=Channel.WEB)
    unrestricted = offers_for(prediction).alternatives
    assert unrestricted
    # A policy that refers every amount the unrestricted offers would lend, and declines short terms.
    amounts = sorted({a.features["credit_amount"] for a in unrestricted})
    model = registry.get_active().model
    rules = [
        Rule("SHORT_TERM", "Short term", "Too short.", DECLINE, AFTER_MODEL, (Condition("duration_in_month", "< 12"),)),
        Rule(
            "AMOUNT_SEEN",
            "Amount",
            "Review.",
            REFER,
            AFTER_MODEL,
            (Condition("credit_amount", f"[{amounts[0]}..{amounts[-1]}]"),),
        ),
    ]
    version = policy_services.create_version(name="Strict", rules=rules, user=None, model=model)
    policy_services.activate(version, user=None, model=model)

    offered = offers_for(prediction)
    for alternative in offered.alternatives:
        assert alternative.decision == APPROVE
        assert alternative.features["duration_in_month"] >= 12
        assert not amounts[0] <= alternative.features["credit_amount"] <= amounts[-1]
        # Scored as a new application, it is approved by the model and the policy.
        again = services.score_application(
            user=officer, inputs={**inputs, **alternative.features}, channel=Channel.WEB, counter_offer_of=prediction
        )
        assert again.decision == APPROVE and again.policy_version_id == version.pk
    assert offered.message
