"""Every role's pages show one decision the same way: the PD, the time, the decision word and the officer's name."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import dateformat, timezone

from accounts.permissions import OFFICER
from scoring.decisions import services
from scoring.lifecycle import versions
from scoring.models import Decision
from tests.support.applications import decided
from tests.support.lifecycle_fixtures import bundle_variant


def _main(client: Client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    page = BeautifulSoup(response.content, "html.parser")
    return page.find("main") or page.find(id="content")  # the admin's pages have no <main>


def _main_text(client: Client, url: str) -> str:
    return " ".join(_main(client, url).get_text(" ").split())


@pytest.mark.parametrize("decision", [Decision.APPROVE, Decision.REFER, Decision.DECLINE])
def test_officer_and_auditor_pages_show_the_same_facts(officer, auditor, active_version, decision):
    officer.last_name = "Okafor"
    officer.save()
    prediction = decided(officer, decision, external_ref="SAME-FACTS-1")
    pd_shown = f"{prediction.probability * 100:.1f}%"  # English: "12.1%" (French "12,1 %")
    made = dateformat.format(timezone.localtime(prediction.created_at), "j M Y, H:i")
    word = str(Decision(decision).label)  # a lazy translation: the English text by default
    as_officer, as_auditor = Client(), Client()
    as_officer.force_login(officer)
    as_auditor.force_login(auditor)
    pages = {
        "officer decision": (as_officer, reverse("scoring:prediction-detail", args=[prediction.pk]), True),
        "officer list": (as_officer, reverse("scoring:prediction-mine"), False),
        "auditor list": (as_auditor, reverse("audit:prediction-list"), True),
        "auditor decision": (as_auditor, reverse("audit:prediction-detail", args=[prediction.pk]), True),
    }
    for name, (client, url, names_officer) in pages.items():
        main = _main(client, url)
        text = " ".join(main.get_text(" ").split())
        assert pd_shown in text, name
        assert made in text, name
        assert word in text, name
        # Never the raw probability, an ISO time or a decision's stored code as its name.
        assert f"{prediction.probability:.3f}" not in text, name
        assert prediction.created_at.strftime("%Y-%m-%d") not in text, name
        assert main.find_all(string=lambda s: s.strip() in Decision.values) == [], name
        if names_officer:
            assert "Olivia Okafor" in text, name
            assert " officer " not in f" {text} ", name  # the username is not how a person is shown


def test_a_reviewer_and_the_time_of_a_review_read_the_same_for_officer_and_auditor(officer, auditor, active_version):
    prediction = decided(officer, Decision.REFER)
    review = services.record_review(
        user=officer,
        prediction=prediction,
        outcome="approve",
        reason_code="collateral",
        justification="Known customer.",
    )
    reviewed = dateformat.format(timezone.localtime(review.created_at), "j M Y, H:i")
    as_officer, as_auditor = Client(), Client()
    as_officer.force_login(officer)
    as_auditor.force_login(auditor)
    for client, url in (
        (as_officer, reverse("scoring:prediction-detail", args=[prediction.pk])),
        (as_auditor, reverse("audit:prediction-detail", args=[prediction.pk])),
    ):
        text = _main_text(client, url)
        assert f"Olivia, {reviewed}" in text or f"{reviewed} Olivia" in text, url


def test_people_without_a_full_name_are_shown_by_username(client, auditor, active_version, django_user_model):
    plain = django_user_model.objects.create_user(username="jdoe", password="a-long-test-password")
    plain.groups.add(Group.objects.get(name=OFFICER))
    prediction = decided(plain, Decision.APPROVE)
    client.force_login(auditor)
    assert "jdoe" in _main_text(client, reverse("audit:prediction-detail", args=[prediction.pk]))


def test_the_admin_names_people_and_dates_as_the_pages_do(client, settings, model_admin, active_version, tmp_path):
    settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = False
    model_admin.first_name, model_admin.last_name = "Mona", "Adler"
    model_admin.save()
    candidate = versions.register_bundle(path=bundle_variant(tmp_path / "v2", threshold="0.2"), user=model_admin)
    versions.validate_version(version=candidate, user=model_admin)
    activation = versions.activate(version=candidate, user=model_admin)
    activated = dateformat.format(timezone.localtime(activation.created_at), "j M Y, H:i")
    client.force_login(model_admin)

    version_page = _main_text(client, reverse("admin:scoring_modelversion_change", args=[candidate.pk]))
    assert "Created by: Mona Adler" in version_page and "Activated by: Mona Adler" in version_page
    assert f"Activated at: {activated}" in version_page
    activations = _main_text(client, reverse("admin:scoring_modelactivation_changelist"))
    assert "Mona Adler" in activations and activated in activations
