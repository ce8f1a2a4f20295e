"""Teams, the referral queue and dual control: authority limits, credit managers' answers, the final outcome."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import Team
from accounts.permissions import CREDIT_MANAGER, OFFICER
from scoring.decisions import selectors, services
from scoring.decisions.presentation import DecisionView
from scoring.exceptions import InvalidReview, NotAllowed
from scoring.models import DailyStat, OverrideApproval, Prediction, ReferralAssignment, Review
from tests.support.applications import decided

QUEUE = reverse("scoring:referral-queue")
OVERRIDE = {"outcome": "approve", "reason_code": "collateral", "justification": "Guarantor signed the agreement."}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def detail_url(prediction) -> str:
    return reverse("scoring:prediction-detail", args=[prediction.pk])


def view_of(prediction) -> DecisionView:
    prediction = Prediction.objects.select_related("model_version").get(pk=prediction.pk)
    return DecisionView(prediction, list(selectors.review_list(prediction=prediction)))


@pytest.fixture
def team(officer, other_officer, credit_manager):
    """officer, officer2 and the credit manager in one team."""
    team = Team.objects.get(members=credit_manager)
    team.members.add(other_officer)
    return team


@pytest.fixture
def outsider(django_user_model):
    user = django_user_model.objects.create_user(username="outsider", password="a-long-test-password")
    user.groups.add(Group.objects.get(name=OFFICER))
    return user


def login(client, user):
    client.force_login(user)
    return client


# --- authority limits -------------------------------------------------------------------


def test_an_override_within_the_limit_stands_at_once(officer, active_version, settings):
    prediction = decided(officer, "decline")
    settings.OVERRIDE_PD_LIMIT = prediction.probability  # at the limit: still the officer's call
    review = services.record_review(user=officer, prediction=prediction, **OVERRIDE)
    assert not review.needs_approval
    view = view_of(prediction)
    assert (view.final_decision, view.pending_review, view.deciding_review) == ("approve", None, review)
    stat = DailyStat.objects.get()
    assert (stat.overridden, stat.final_approve, stat.final_decline) == (1, 1, 0)


def test_an_override_above_the_limit_waits_for_a_credit_manager(officer, active_version, settings):
    prediction = decided(officer, "decline")
    settings.OVERRIDE_PD_LIMIT = prediction.probability - 0.01
    review = services.record_review(user=officer, prediction=prediction, **OVERRIDE)
    assert review.needs_approval
    view = view_of(prediction)
    # Pending: the decline stands (the change is away from decline), shown as "Pending approval".
    assert (view.final_decision, view.pending_review, view.final_decision_label) == (
        "decline",
        review,
        "Pending approval",
    )
    listed = selectors.with_final_decision(Prediction.objects.filter(pk=prediction.pk)).get()
    assert (listed.final, listed.pending) == ("decline", True)
    stat = DailyStat.objects.get()
    assert (stat.reviewed, stat.overridden, stat.final_approve, stat.final_decline) == (1, 0, 0, 1)
    with pytest.raises(InvalidReview) as caught:
        services.record_review(user=officer, prediction=prediction, outcome="agree")
    assert "waiting for a credit manager" in caught.value.errors["outcome"][0]
    assert Review.objects.count() == 1


def test_a_change_of_ones_own_override_needs_approval_even_within_the_limit(officer, active_version, settings):
    settings.OVERRIDE_PD_LIMIT = 1.0
    prediction = decided(officer, "decline")
    first = services.record_review(user=officer, prediction=prediction, **OVERRIDE)
    back = services.record_review(user=officer, prediction=prediction, outcome="agree")
    assert (first.needs_approval, back.needs_approval) == (False, True)
    view = view_of(prediction)
    assert (view.final_decision, view.pending_review) == ("approve", back)


def test_approval_makes_the_change_final_and_counts_it(officer, credit_manager, active_version, settings):
    prediction = decided(officer, "decline")
    settings.OVERRIDE_PD_LIMIT = 0.0
    review = services.record_review(user=officer, prediction=prediction, **OVERRIDE)
    approval = services.decide_approval(
        user=credit_manager, prediction=prediction, approved=True, note="  Guarantee checked.  "
    )
    assert (approval.review, approval.user, approval.approved, approval.note) == (
        review,
        credit_manager,
        True,
        "Guarantee checked.",
    )
    view = view_of(prediction)
    assert (view.final_decision, view.pending_review, view.deciding_review) == ("approve", None, review)
    stat = DailyStat.objects.get()
    assert (stat.reviewed, stat.overridden, stat.final_approve, stat.final_decline) == (1, 1, 1, 0)
    with pytest.raises(InvalidReview):  # answered already: nothing waits
        services.decide_approval(user=credit_manager, prediction=prediction, approved=False, note="Changed my mind.")
    assert OverrideApproval.objects.count() == 1


def test_rejection_keeps_the_previous_outcome_and_reopens_the_case(officer, credit_manager, active_version, settings):
    prediction = decided(officer, "decline")
    settings.OVERRIDE_PD_LIMIT = 0.0
    services.record_review(user=officer, prediction=prediction, **OVERRIDE)
    services.decide_approval(user=credit_manager, prediction=prediction, approved=False, note="Guarantor too weak.")
    view = view_of(prediction)
    assert (view.final_decision, view.pending_review, view.deciding_review) == ("decline", None, None)
    assert selectors.with_final_decision(Prediction.objects.filter(pk=prediction.pk)).get().final == "decline"
    stat = DailyStat.objects.get()
    assert (stat.overridden, stat.final_approve, stat.final_decline) == (0, 0, 1)
    agreed = services.record_review(user=officer, prediction=prediction, outcome="agree")
    assert not agreed.needs_approval  # the rejected override is not "their own override" that stands


def test_nobody_answers_their_own_request_nor_another_teams(
    officer, credit_manager, active_version, settings, django_user_model
):
    prediction = decided(officer, "decline")
    settings.OVERRIDE_PD_LIMIT = 0.0
    services.record_review(user=officer, prediction=prediction, **OVERRIDE)
    officer.groups.add(Group.objects.get(name=CREDIT_MANAGER))  # an officer who is also a credit manager
    officer.__dict__.pop("_creditscore_roles", None)
    with pytest.raises(NotAllowed):
        services.decide_approval(user=officer, prediction=prediction, approved=True, note="My own case.")
    elsewhere = django_user_model.objects.create_user(username="manager2", password="a-long-test-password")
    elsewhere.groups.add(Group.objects.get(name=CREDIT_MANAGER))
    with pytest.raises(NotAllowed):
        services.decide_approval(user=elsewhere, prediction=prediction, approved=True, note="Not my team.")
    with pytest.raises(InvalidReview) as caught:
        services.decide_approval(user=credit_manager, prediction=prediction, approved=True, note="   ")
    assert list(caught.value.errors) == ["note"]
    assert OverrideApproval.objects.count() == 0


def test_approvals_and_assignments_are_append_only_audit_tables():
    from scoring.append_only import APPEND_ONLY_TABLES, STAMPED_TABLES

    # The PostgreSQL trigger tests (tests/audit/test_audit_triggers.py) run over these lists.
    for model in (OverrideApproval, ReferralAssignment):
        assert model._meta.db_table in APPEND_ONLY_TABLES and model._meta.db_table in STAMPED_TABLES


# --- the referral queue -------------------------------------------------------------------


def test_the_queue_holds_the_teams_open_referrals_oldest_first(
    client, officer, other_officer, outsider, team, active_version
):
    mine = decided(officer, "refer")
    theirs = decided(other_officer, "refer")
    decided(outsider, "refer")
    closed = decided(other_officer, "refer")
    services.record_review(user=other_officer, prediction=closed, outcome="approve", **_basis())
    page = soup(login(client, officer).get(QUEUE))
    links = [a["href"] for a in page.select("tbody a")]
    assert links == [detail_url(mine), detail_url(theirs)]  # oldest first; the outsider's and the decided one absent
    row = page.select("tbody tr")[1].get_text(" ")
    assert "officer2" in row  # who referred it (no full name given)
    assert "minute" in row  # its age


def test_an_officer_without_a_team_sees_only_their_own(client, outsider, officer, active_version):
    own = decided(outsider, "refer")
    decided(officer, "refer")
    page = soup(login(client, outsider).get(QUEUE))
    assert [a["href"] for a in page.select("tbody a")] == [detail_url(own)]


def test_the_queue_pages_through_every_referral_without_a_silent_cut(client, officer, team, active_version):
    made = [decided(officer, "refer").pk for _ in range(23)]
    login(client, officer)
    first = soup(client.get(QUEUE))
    assert "23 match" in first.get_text()
    seen = [int(a["href"].rstrip("/").rsplit("/", 1)[1]) for a in first.select("tbody td:first-child a")]
    newer = first.find("a", {"rel": "next"})["href"]
    second = soup(client.get(newer))
    seen += [int(a["href"].rstrip("/").rsplit("/", 1)[1]) for a in second.select("tbody td:first-child a")]
    assert seen == made  # oldest first, each once
    assert second.find("a", {"rel": "next"}) is None


def test_take_assigns_to_oneself_latest_wins_and_filters_follow(client, officer, other_officer, team, active_version):
    first, second, third = (decided(officer, "refer") for _ in range(3))
    login(client, officer)
    response = client.post(reverse("scoring:referral-take", args=[first.pk]), {"next": QUEUE + "?assignee=all"})
    assert response["Location"] == QUEUE + "?assignee=all"
    services.take_referral(user=other_officer, prediction=second)
    services.take_referral(user=other_officer, prediction=first)  # taken over: the latest row wins
    assert ReferralAssignment.objects.filter(prediction=first).count() == 2

    def shown(assignee: str) -> list[int]:
        page = soup(client.get(QUEUE, {"assignee": assignee}))
        return [int(a["href"].rstrip("/").rsplit("/", 1)[1]) for a in page.select("tbody td:first-child a")]

    services.take_referral(user=officer, prediction=third)
    assert shown("me") == [third.pk]
    assert shown(str(other_officer.pk)) == [first.pk, second.pk]
    assert shown("unassigned") == []
    assert shown("all") == [first.pk, second.pk, third.pk]
    assert client.get(QUEUE, {"assignee": "99999"}).status_code == 200  # unknown: a form error, not a 500


def test_take_is_refused_outside_the_team_and_after_a_decision(client, officer, outsider, team, active_version):
    referral = decided(officer, "refer")
    assert login(client, outsider).post(reverse("scoring:referral-take", args=[referral.pk])).status_code == 404
    services.record_review(user=officer, prediction=referral, outcome="decline", **_basis())
    with pytest.raises(NotAllowed):
        services.take_referral(user=officer, prediction=referral)
    assert ReferralAssignment.objects.count() == 0


def test_the_home_badge_counts_every_open_referral_of_the_team_and_links_to_the_queue(
    client, officer, other_officer, team, active_version
):
    for _ in range(4):
        decided(officer, "refer")
    for _ in range(3):
        decided(other_officer, "refer")
    page = soup(login(client, officer).get(reverse("scoring:home")))
    section = page.find("section", {"aria-labelledby": "referrals-title"})
    assert section.find("span", {"class": "count"}).get_text() == "7"
    assert len(section.select("ul li")) == 5
    assert section.find("a", string=lambda s: s and "See all 7" in s)["href"] == QUEUE


def test_a_teammate_opens_and_decides_an_open_referral_an_outsider_cannot(
    client, officer, other_officer, outsider, team, active_version
):
    referral = decided(officer, "refer")
    assert login(client, outsider).get(detail_url(referral)).status_code == 404
    page = soup(login(client, other_officer).get(detail_url(referral)))
    assert page.find("form", {"class": "review-form"}) is not None
    response = client.post(reverse("scoring:prediction-review", args=[referral.pk]), {"outcome": "approve", **_basis()})
    assert response.status_code == 302
    assert Review.objects.get().user == other_officer
    assert client.get(detail_url(referral)).status_code == 200  # the officer who decided still sees it
    # A teammate's decided referral or other decisions stay the officer's own.
    assert client.get(detail_url(decided(officer, "decline"))).status_code == 404


# --- the pages of dual control ------------------------------------------------------------


def test_the_pending_case_page_and_the_managers_answer(client, officer, credit_manager, active_version, settings):
    prediction = decided(officer, "decline")
    settings.OVERRIDE_PD_LIMIT = 0.0
    login(client, officer)
    response = client.post(reverse("scoring:prediction-review", args=[prediction.pk]), OVERRIDE)
    assert response.status_code == 302
    page = soup(client.get(detail_url(prediction)))
    card = page.find("section", {"class": "decision"})
    assert "decision-pending" in card["class"] and "Pending approval" in card.get_text()
    assert "Model: Decline, PD" in card.get_text()
    assert page.find("form", {"class": "review-form"}) is None and page.find("form", {"class": "approval-form"}) is None
    forged = client.post(reverse("scoring:override-approve", args=[prediction.pk]), {"note": "Fine by me."})
    assert forged.status_code == 403 and OverrideApproval.objects.count() == 0

    login(client, credit_manager)
    home = soup(client.get(reverse("scoring:home")))
    assert home.find("section", {"aria-labelledby": "approvals-title"}).find("a")["href"] == detail_url(prediction)
    page = soup(client.get(detail_url(prediction)))
    assert page.find("form", {"class": "approval-form"}) is not None
    empty = client.post(reverse("scoring:override-approve", args=[prediction.pk]), {"note": ""})
    assert empty.status_code == 200 and "Write a note" in soup(empty).find(id="approval-errors").get_text()
    done = client.post(reverse("scoring:override-approve", args=[prediction.pk]), {"note": "Guarantee verified."})
    assert done.status_code == 302
    card = soup(client.get(detail_url(prediction))).find("section", {"class": "decision"})
    text = card.get_text(" ")
    assert "decision-approve" in card["class"] and "Approve" in text
    assert "Decided by Olivia" in text and "approved by Mia Manager" in text


def test_the_reasons_heading_follows_the_final_outcome(client, officer, active_version, settings):
    settings.OVERRIDE_PD_LIMIT = 1.0
    prediction = decided(officer, "decline")
    login(client, officer)
    assert "Main reasons for the decline" in client.get(detail_url(prediction)).content.decode()
    services.record_review(user=officer, prediction=prediction, **OVERRIDE)
    assert "Main reasons for the decline" not in client.get(detail_url(prediction)).content.decode()


def test_the_audit_detail_shows_approval_states(client, auditor, officer, credit_manager, active_version, settings):
    prediction = decided(officer, "decline")
    settings.OVERRIDE_PD_LIMIT = 0.0
    services.record_review(user=officer, prediction=prediction, **OVERRIDE)
    login(client, auditor)
    url = reverse("audit:prediction-detail", args=[prediction.pk])
    assert "pending approval" in client.get(url).content.decode()
    services.decide_approval(user=credit_manager, prediction=prediction, approved=False, note="Guarantor too weak.")
    text = soup(client.get(url)).get_text(" ")
    assert "rejected by manager" in text and "Guarantor too weak." in text
    export = b"".join(client.get(reverse("audit:prediction-export")).streaming_content).decode()
    assert "rejected by manager" in export


# --- the API --------------------------------------------------------------------------------


def test_the_api_answers_a_change_beyond_authority_with_202_and_its_pending_state(
    officer, officer_api, active_version, settings
):
    prediction = decided(officer, "decline")
    settings.OVERRIDE_PD_LIMIT = 0.0
    url = f"/api/v1/predictions/{prediction.pk}/reviews"
    response = officer_api.post(url, OVERRIDE, format="json")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["approval"]) == ("pending_approval", None)
    detail = officer_api.get(f"/api/v1/predictions/{prediction.pk}").json()
    assert (detail["final_decision"], detail["pending_approval"]) == ("decline", True)
    again = officer_api.post(url, {"outcome": "agree"}, format="json")
    assert again.status_code == 409 and "outcome" in again.json()["errors"]


def _basis() -> dict[str, str]:
    return {"reason_code": "relationship", "justification": "Long client, always repaid on time."}
