"""The credit policy on the audit pages: the activation timeline and "which credit policy was live at T",
with each rule's legal basis where it tests a protected attribute."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scoring.lifecycle import registry as model_registry
from scoring.policy import defaults, services

pytestmark = pytest.mark.django_db


def _live(version, *, submitter, approver):
    model = model_registry.get_active().model
    services.submit(version, user=submitter, model=model)
    return services.activate(version, user=approver, model=model, note="quarterly review")


@pytest.fixture
def two_activations(active_version, policy_manager, other_policy_manager):
    """The standard policy, then a stricter copy replacing it at least a whole second later (the form asks
    to the second; history is append-only, so the moments are waited for, never back-dated)."""
    first = services.create_version(name="Standard", rules=defaults.RULES, user=policy_manager)
    first_activation = _live(first, submitter=policy_manager, approver=other_policy_manager)
    between = _second_after(first_activation.created_at)
    time.sleep(max(0.0, (between - timezone.now()).total_seconds() + 0.05))
    second = services.create_version(name="Stricter", rules=defaults.RULES[1:], user=policy_manager)
    second_activation = _live(second, submitter=policy_manager, approver=other_policy_manager)
    return first_activation, second_activation, between


def _second_after(moment):
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def _at(moment) -> dict[str, str]:
    return {"at": timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")}


def test_live_at_t_answers_with_the_version_its_activation_and_its_rules(client, auditor, two_activations):
    first, second, between = two_activations
    client.force_login(auditor)
    url = reverse("audit:policy-timeline")

    before_any = client.get(url, _at(first.created_at.replace(microsecond=0) - timedelta(seconds=1)))
    assert before_any.context["live"] is None
    assert "No credit policy had been activated" in before_any.content.decode()

    during_first = client.get(url, _at(between))
    assert during_first.context["live"] == first
    text = during_first.content.decode()
    assert "the live credit policy was <strong>Standard</strong>" in text
    assert "submitted by Paula Policy" in text  # the four eyes: who asked and who approved
    # The age rule tests a protected attribute: its legal basis is on the page.
    assert "Tests a protected attribute." in text
    assert "Contractual capacity: a minor cannot enter a binding credit agreement" in text
    assert "Age (years) &lt; 18" in text
    assert "Loan amount (DM) &gt; 20000" in text

    now = client.get(url, _at(_second_after(second.created_at)))
    assert now.context["live"] == second
    assert "replacing Standard" in now.content.decode()
    assert "Tests a protected attribute." not in now.content.decode()


def test_the_timeline_lists_every_activation_newest_first(client, auditor, two_activations):
    first, second, _ = two_activations
    client.force_login(auditor)
    page = client.get(reverse("audit:policy-timeline"))
    assert page.status_code == 200
    assert page.context["activations"] == [second, first]
    assert "quarterly review" in page.content.decode()


def test_a_bad_moment_is_a_form_error(client, auditor):
    client.force_login(auditor)
    response = client.get(reverse("audit:policy-timeline"), {"at": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date/time." in response.content.decode()


def test_the_audit_menu_links_the_policy_timeline(client, auditor):
    client.force_login(auditor)
    page = client.get(reverse("audit:model-timeline")).content.decode()
    assert reverse("audit:policy-timeline") in page
