"""Policy versions: drafted, checked, submitted, activated by a second person, frozen once submitted."""

from __future__ import annotations

import pytest

from scoring.engine.policy import AFTER_MODEL, Condition, PolicyRejected, Rule
from scoring.engine.schema import REFER
from scoring.exceptions import NotAllowed
from scoring.lifecycle import registry
from scoring.models import PolicyActivation, PolicyIsFrozen, PolicyVersion
from scoring.policy import defaults, services
from scoring.policy import registry as policy_registry


@pytest.fixture
def model(active_version):
    return registry.get_active().model


@pytest.fixture
def submitted(model, policy_manager):
    version = services.create_version(name="Standard", rules=defaults.RULES, user=policy_manager, model=model)
    return services.submit(version, user=policy_manager, model=model)


def test_activation_needs_a_second_person(submitted, model, policy_manager, officer, other_policy_manager):
    with pytest.raises(NotAllowed, match="Four-eyes rule"):
        services.activate(submitted, user=policy_manager, model=model)
    with pytest.raises(NotAllowed, match="credit policy manager or a credit manager"):
        services.activate(submitted, user=officer, model=model)
    assert not PolicyActivation.objects.exists() and policy_registry.get_active() is None

    activation = services.activate(submitted, user=other_policy_manager, model=model, note="Approved in committee")
    submitted.refresh_from_db()
    assert submitted.status == PolicyVersion.Status.ACTIVE and submitted.activated_by == other_policy_manager
    assert (activation.requested_by, activation.user, activation.previous) == (
        policy_manager,
        other_policy_manager,
        None,
    )
    assert policy_registry.get_active().version_id == submitted.pk


def test_a_credit_manager_is_a_second_person_and_the_previous_version_retires(
    submitted, model, policy_manager, credit_manager, other_policy_manager
):
    services.activate(submitted, user=credit_manager, model=model)
    newer = services.copy_to_draft(submitted, user=other_policy_manager, name="Standard, v2")
    services.submit(newer, user=other_policy_manager, model=model)
    services.activate(newer, user=policy_manager, model=model)
    submitted.refresh_from_db()
    assert submitted.status == PolicyVersion.Status.RETIRED
    assert list(PolicyActivation.objects.order_by("id").values_list("version_id", "previous_id")) == [
        (submitted.pk, None),
        (newer.pk, submitted.pk),
    ]
    assert policy_registry.get_active().version_id == newer.pk


def test_a_draft_must_be_submitted_first(model, policy_manager, other_policy_manager):
    draft = services.create_version(name="Draft", rules=defaults.RULES, user=policy_manager, model=model)
    with pytest.raises(NotAllowed, match="must be submitted"):
        services.activate(draft, user=other_policy_manager, model=model)


def test_a_submitted_version_is_frozen(submitted):
    rule = submitted.rules.first()
    rule.name = "Changed"
    with pytest.raises(PolicyIsFrozen):
        rule.save()
    with pytest.raises(PolicyIsFrozen):
        rule.conditions.first().delete()


def test_a_draft_whose_rule_does_not_fit_the_model_is_not_submitted(model, policy_manager):
    draft = services.create_version(name="Draft", rules=defaults.RULES, user=policy_manager)
    rule = draft.rules.get(code="AMOUNT_ABOVE_OFFICER_LIMIT")
    condition = rule.conditions.get()
    condition.field = "monthly_income"
    condition.save()
    with pytest.raises(PolicyRejected) as refused:
        services.submit(draft, user=policy_manager, model=model)
    assert refused.value.errors == {"AMOUNT_ABOVE_OFFICER_LIMIT": ["The active model has no field 'monthly_income'."]}
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.DRAFT


def test_create_refuses_rules_that_do_not_fit(model, policy_manager):
    bad = Rule("CARS", "Cars", "x", REFER, AFTER_MODEL, (Condition("purpose", '"yacht"'),))
    with pytest.raises(PolicyRejected, match="CARS"):
        services.create_version(name="Bad", rules=[bad], user=policy_manager, model=model)
    assert not PolicyVersion.objects.exists()


def test_the_default_policy_command(active_version):
    from django.core.management import call_command

    call_command("activate_default_policy", "--if-none")
    call_command("activate_default_policy", "--if-none")  # a second run changes nothing
    live = PolicyVersion.objects.get(status=PolicyVersion.Status.ACTIVE)
    assert live.name == defaults.NAME and PolicyVersion.objects.count() == 1
    assert [r.code for r in live.engine_rules()] == [r.code for r in defaults.RULES]
