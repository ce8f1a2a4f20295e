"""The credit policy editor and lifecycle in Django admin: rules with conditions checked on save, frozen
versions read-only, four-eyes activation, export and import of ZEN decision models."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from scoring.engine.policy import Condition, Rule
from scoring.lifecycle import registry as model_registry
from scoring.models import PolicyActivation, PolicyRule, PolicyVersion
from scoring.policy import defaults, services
from scoring.policy import registry as policy_registry

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def draft(active_version, policy_manager):
    return services.create_version(name="Spring policy", rules=defaults.RULES[1:], user=policy_manager)


def _rule_post(
    version, *, code="CAR_NEW_ABOVE_LIMIT", conditions=(), legal_basis="", outcome="refer", stage="after_model"
):
    data = {
        "version": version.pk,
        "position": 40,
        "code": code,
        "name": "New car above the limit",
        "statement": "A new car loan of this size is reviewed by an officer.",
        "outcome": outcome,
        "stage": stage,
        "legal_basis": legal_basis,
        "conditions-TOTAL_FORMS": len(conditions),
        "conditions-INITIAL_FORMS": 0,
        "conditions-MIN_NUM_FORMS": 0,
        "conditions-MAX_NUM_FORMS": 1000,
    }
    for k, (field, test) in enumerate(conditions):
        data[f"conditions-{k}-field"] = field
        data[f"conditions-{k}-test"] = test
    return data


def _messages(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


# --- the editor ---------------------------------------------------------


def test_the_editor_creates_a_rule_with_its_conditions(draft, policy_manager):
    client = _client(policy_manager)
    form = client.get(reverse("admin:scoring_policyrule_add") + f"?version={draft.pk}")
    assert form.status_code == 200
    # The field select offers the active model's fields by label, and the model's own results.
    assert b"Loan amount (DM)" in form.content and b"Probability of default" in form.content
    assert b"Risk band" in form.content
    response = client.post(
        reverse("admin:scoring_policyrule_add"),
        _rule_post(draft, conditions=[("purpose", '"car (new)"'), ("credit_amount", "> 15000")]),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:scoring_policyversion_change", args=[draft.pk])
    rule = PolicyRule.objects.get(version=draft, code="CAR_NEW_ABOVE_LIMIT")
    assert sorted((c.field, c.test) for c in rule.conditions.all()) == [
        ("credit_amount", "> 15000"),
        ("purpose", '"car (new)"'),
    ]
    page = client.get(reverse("admin:scoring_policyversion_change", args=[draft.pk]))
    # The version page reads the rule in words, with a link to edit it.
    assert "Purpose of the loan &quot;car (new)&quot;" in page.content.decode()
    assert reverse("admin:scoring_policyrule_change", args=[rule.pk]).encode() in page.content


@pytest.mark.parametrize(
    ("conditions", "legal_basis", "expected"),
    [
        ([("purpose", '"boat"')], "", "names &#x27;boat&#x27;, which is not one of its choices"),
        ([("age_in_years", "< 21")], "", "Age is a protected attribute"),
        ([("credit_amount", "> > 3")], "", "is not a valid expression"),
        ([], "", "A rule needs at least one condition."),
    ],
    ids=["unknown-choice", "protected-without-legal-basis", "bad-expression", "no-condition"],
)
def test_an_invalid_rule_is_refused_with_an_error_naming_it(draft, policy_manager, conditions, legal_basis, expected):
    response = _client(policy_manager).post(
        reverse("admin:scoring_policyrule_add"), _rule_post(draft, conditions=conditions, legal_basis=legal_basis)
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Rule CAR_NEW_ABOVE_LIMIT (New car above the limit):" in body
    assert expected in body
    assert not PolicyRule.objects.filter(code="CAR_NEW_ABOVE_LIMIT").exists()


def test_an_unknown_field_is_refused_naming_the_field(draft, policy_manager):
    response = _client(policy_manager).post(
        reverse("admin:scoring_policyrule_add"), _rule_post(draft, conditions=[("shoe_size", "> 40")])
    )
    assert response.status_code == 200
    assert "The active model has no field shoe_size: choose one from the list." in response.content.decode()
    assert not PolicyRule.objects.filter(code="CAR_NEW_ABOVE_LIMIT").exists()


def test_a_rule_written_for_another_model_is_refused_naming_the_rule(active_version, policy_manager):
    """A draft copied from a version of an older model keeps its field in the editor, and the check names it."""
    older = Rule(
        code="SHOE_SIZE",
        name="Large shoes",
        statement="Shoes of this size are reviewed.",
        outcome="refer",
        stage="after_model",
        conditions=(Condition(field="shoe_size", test="> 46"),),
    )
    version = services.create_version(name="Older model's policy", rules=[older], user=policy_manager)
    rule = version.rules.get()
    condition = rule.conditions.get()
    url = reverse("admin:scoring_policyrule_change", args=[rule.pk])
    client = _client(policy_manager)
    assert "Not in the active model" in client.get(url).content.decode()
    data = {
        **_rule_post(version, code="SHOE_SIZE", conditions=[("shoe_size", "> 40")]),
        "name": "Large shoes",
        "conditions-INITIAL_FORMS": 1,
        "conditions-0-id": condition.pk,
        "conditions-0-rule": rule.pk,
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert (
        "Rule SHOE_SIZE (Large shoes): The active model has no field &#x27;shoe_size&#x27;."
        in response.content.decode()
    )
    condition.refresh_from_db()
    assert condition.test == "> 46"  # nothing half-saved


def test_a_protected_attribute_with_its_legal_basis_is_accepted(draft, policy_manager):
    response = _client(policy_manager).post(
        reverse("admin:scoring_policyrule_add"),
        _rule_post(
            draft,
            code="UNDER_AGE",
            conditions=[("age_in_years", "< 18")],
            legal_basis=defaults.AGE_OF_MAJORITY_BASIS,
            outcome="decline",
            stage="before_model",
        ),
    )
    assert response.status_code == 302
    assert PolicyRule.objects.get(code="UNDER_AGE").legal_basis == defaults.AGE_OF_MAJORITY_BASIS


def test_a_duplicate_code_is_refused(draft, policy_manager):
    response = _client(policy_manager).post(
        reverse("admin:scoring_policyrule_add"),
        _rule_post(draft, code="AMOUNT_ABOVE_OFFICER_LIMIT", conditions=[("credit_amount", "> 1")]),
    )
    assert response.status_code == 200
    assert "already has the code AMOUNT_ABOVE_OFFICER_LIMIT" in response.content.decode()
    assert draft.rules.filter(code="AMOUNT_ABOVE_OFFICER_LIMIT").count() == 1


def test_a_frozen_version_is_read_only_and_never_a_server_error(draft, policy_manager):
    client = _client(policy_manager)
    services.submit(draft, user=policy_manager, model=model_registry.get_active().model)
    rule = draft.rules.first()
    page = client.get(reverse("admin:scoring_policyrule_change", args=[rule.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    version_page = client.get(reverse("admin:scoring_policyversion_change", args=[draft.pk]))
    assert version_page.status_code == 200 and b'name="_save"' not in version_page.content
    assert b"Add a rule" not in version_page.content
    data = _rule_post(draft, code=rule.code, conditions=[("credit_amount", "> 1")])
    assert client.post(reverse("admin:scoring_policyrule_change", args=[rule.pk]), data).status_code == 403
    assert client.post(reverse("admin:scoring_policyrule_delete", args=[rule.pk]), {"post": "yes"}).status_code == 403
    # Adding a rule to it: the version is not offered, and naming it anyway is a form error.
    added = client.post(
        reverse("admin:scoring_policyrule_add"), _rule_post(draft, conditions=[("credit_amount", "> 1")])
    )
    assert added.status_code == 200 and b"Select a valid choice" in added.content
    assert [r.code for r in draft.engine_rules()] == [r.code for r in defaults.RULES[1:]]


def test_a_draft_rule_can_be_deleted_back_to_its_version(draft, policy_manager):
    rule = draft.rules.first()
    response = _client(policy_manager).post(reverse("admin:scoring_policyrule_delete", args=[rule.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:scoring_policyversion_change", args=[draft.pk])
    assert not PolicyRule.objects.filter(pk=rule.pk).exists()


# --- check, submit, four-eyes activation ------------------------------------


def _post(user, name, version):
    return _client(user).post(reverse(f"admin:scoring_policyversion_{name}", args=[version.pk]), follow=True)


def test_check_records_the_model_it_fits(draft, policy_manager, active_version):
    response = _post(policy_manager, "check", draft)
    assert "fits the active model" in _messages(response)
    draft.refresh_from_db()
    assert draft.checked_against == active_version and draft.checked_at is not None


def test_the_submitter_cannot_activate_and_another_policy_manager_can(draft, policy_manager, other_policy_manager):
    assert "is submitted" in _messages(_post(policy_manager, "submit", draft))
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.SUBMITTED and draft.submitted_by == policy_manager

    refused = _post(policy_manager, "activate", draft)
    assert "Four-eyes rule" in _messages(refused)
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.SUBMITTED

    activated = _post(other_policy_manager, "activate", draft)
    assert "is now the live credit policy" in _messages(activated)
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.ACTIVE and draft.activated_by == other_policy_manager
    activation = PolicyActivation.objects.get(version=draft)
    assert (activation.requested_by, activation.user) == (policy_manager, other_policy_manager)
    # Every process picks it up: the registry answers with the new version.
    policy_registry.reset()
    assert policy_registry.get_active().version_id == draft.pk


def test_a_credit_manager_can_approve_and_activate(draft, policy_manager, credit_manager):
    credit_manager.is_staff = True  # a credit manager who approves policies works in admin
    credit_manager.save()
    _post(policy_manager, "submit", draft)
    page = _client(credit_manager).get(reverse("admin:scoring_policyversion_change", args=[draft.pk]))
    assert page.status_code == 200 and b"Approve and activate" in page.content
    assert b"Submit for activation" not in page.content  # drafting is the policy manager's
    _post(credit_manager, "activate", draft)
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.ACTIVE and draft.activated_by == credit_manager


@pytest.mark.parametrize("persona", ["officer", "auditor", "model_admin"])
def test_other_roles_cannot_activate(draft, policy_manager, persona, request):
    user = request.getfixturevalue(persona)
    user.is_staff = True  # even with admin access, the role decides
    user.save()
    _post(policy_manager, "submit", draft)
    response = _client(user).post(reverse("admin:scoring_policyversion_activate", args=[draft.pk]))
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.SUBMITTED


def test_withdraw_makes_it_a_draft_again(draft, policy_manager):
    _post(policy_manager, "submit", draft)
    _post(policy_manager, "withdraw", draft)
    draft.refresh_from_db()
    assert draft.is_draft and draft.submitted_by is None


def test_submit_reports_each_rule_that_does_not_fit(active_version, policy_manager):
    version = services.create_version(
        name="Bad",
        rules=[defaults.RULES[0].__class__(**{**defaults.RULES[0].as_dict(), "conditions": (), "legal_basis": ""})],
        user=policy_manager,
    )
    text = _messages(_post(policy_manager, "submit", version))
    assert "Rule UNDER_AGE_OF_MAJORITY: A rule needs at least one condition." in text
    version.refresh_from_db()
    assert version.is_draft


def test_copy_makes_a_new_draft_with_the_same_rules(draft, policy_manager):
    _post(policy_manager, "submit", draft)
    response = _post(policy_manager, "copy", draft)
    copy = PolicyVersion.objects.exclude(pk=draft.pk).get()
    assert copy.is_draft and copy.created_by == policy_manager
    assert copy.engine_rules() == draft.engine_rules()
    assert response.redirect_chain[-1][0] == reverse("admin:scoring_policyversion_change", args=[copy.pk])


# --- export and import ----------------------------------------------------


def test_export_then_import_round_trips_the_rules(active_version, policy_manager):
    version = services.create_version(name="Standard", rules=defaults.RULES, user=policy_manager)
    client = _client(policy_manager)
    exported = client.get(reverse("admin:scoring_policyversion_export", args=[version.pk]))
    assert exported.status_code == 200
    assert exported["Content-Disposition"] == f'attachment; filename="policy-{version.pk}.json"'
    document = json.loads(exported.content)
    assert document["contentType"] == "application/vnd.gorules.decision"

    upload = SimpleUploadedFile("policy.json", exported.content, content_type="application/json")
    response = client.post(reverse("admin:scoring_policyversion_import"), {"name": "Re-imported", "file": upload})
    assert response.status_code == 302
    imported = PolicyVersion.objects.get(name="Re-imported")
    assert imported.is_draft and imported.created_by == policy_manager
    assert imported.engine_rules() == version.engine_rules()


def test_import_shows_json_and_rule_errors_and_stores_nothing(active_version, policy_manager):
    client = _client(policy_manager)
    url = reverse("admin:scoring_policyversion_import")
    broken = client.post(url, {"name": "x", "file": SimpleUploadedFile("p.json", b"{not json")})
    assert broken.status_code == 400 and "The file is not valid JSON" in broken.content.decode()

    version = services.create_version(name="Standard", rules=defaults.RULES, user=policy_manager)
    document = services.export_jdm(version)
    document["creditscore"]["rules"][0]["legal_basis"] = ""  # the age rule loses its legal basis
    upload = SimpleUploadedFile("p.json", json.dumps(document).encode())
    refused = client.post(url, {"name": "No basis", "file": upload})
    body = refused.content.decode()
    assert refused.status_code == 400
    assert "Rule UNDER_AGE_OF_MAJORITY: Age is a protected attribute" in body
    assert not PolicyVersion.objects.filter(name="No basis").exists()


def test_import_refuses_a_file_over_the_limit(active_version, policy_manager, settings):
    settings.POLICY_IMPORT_MAX_BYTES = 100
    upload = SimpleUploadedFile("p.json", b"{" + b" " * 300_000 + b"}")
    response = _client(policy_manager).post(
        reverse("admin:scoring_policyversion_import"), {"name": "big", "file": upload}
    )
    assert response.status_code == 413
    assert "at most 100 bytes" in response.content.decode()
    assert not PolicyVersion.objects.filter(name="big").exists()


def test_the_version_list_shows_status_rules_and_people(draft, policy_manager):
    page = _client(policy_manager).get(reverse("admin:scoring_policyversion_changelist"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Spring policy" in body and "Import a ZEN decision model" in body
    assert "Not checked yet" in body


# --- start page, top bar, demo user ---------------------------------------


def test_the_policy_manager_starts_with_the_policy_and_what_waits(draft, policy_manager, other_policy_manager):
    _post(policy_manager, "submit", draft)
    mine = _client(policy_manager).get(reverse("scoring:home")).content.decode()
    assert reverse("admin:scoring_policyversion_changelist") in mine  # the top bar and the start button
    assert "No credit policy is active" in mine
    assert "Spring policy (policy #" in mine and "someone else approves it" in mine
    theirs = _client(other_policy_manager).get(reverse("scoring:home")).content.decode()
    assert "you can approve it" in theirs


def test_a_credit_manager_without_admin_access_gets_the_policy_timeline(credit_manager):
    page = _client(credit_manager).get(reverse("scoring:home"))
    links = {link["label"]: link["url"] for link in page.context["nav_links"]}
    assert links["Credit policy"] == reverse("audit:policy-timeline")


def test_officers_see_no_policy_link(officer):
    page = _client(officer).get(reverse("scoring:home"))
    assert "Credit policy" not in {link["label"] for link in page.context["nav_links"]}


def test_the_demo_policy_manager_is_made_with_admin_access(db, settings, django_user_model):
    settings.DEMO_MODE = True
    call_command("create_demo_users", stdout=io.StringIO())
    paula = django_user_model.objects.get(username="policy")
    assert paula.get_full_name() == "Paula Policy" and paula.is_staff
    assert paula.groups.filter(name="credit_policy_manager").exists()
    assert django_user_model.objects.get(username="manager").is_staff  # the second person approves in admin
