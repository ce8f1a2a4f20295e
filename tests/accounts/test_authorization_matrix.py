"""Who gets what: every URL in the project x every persona, against the expected status.

The URL list comes from the resolver, so a new URL without a rule below fails
this test. Adding a rule is one line in RULES (and, for a new path parameter,
one line in URL_KWARGS). Django admin is one group: its pages are checked
through the admin index and every registered model's changelist (ADMIN_RULES),
so a newly registered model without a rule fails too.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from scoring.batch import jobs
from scoring.decisions import services
from scoring.models import Backtest, ModelVersion, PolicySimulation
from scoring.notices import services as notices
from scoring.policy import defaults as policy_defaults
from scoring.policy import services as policy_services
from tests.support.batch_files import csv_bytes, synthetic_frame

LOGIN = "302 to login"  # redirected to the login page
ADMIN_LOGIN = "302 to admin login"
PERSONAS = ("anonymous", "officer", "other_officer", "auditor", "model_admin", "credit_manager", "policy_manager")

# URL name: expected GET status for (anonymous, officer, other_officer, auditor, model_admin, credit_manager,
# policy_manager). The credit manager shares a team with `officer` (not with `other_officer`); like the
# demo users, the credit manager and the credit policy manager have admin access (the policy editor and
# its approve button are there).
RULES: dict[str, tuple] = {
    "login": (200, 302, 302, 302, 302, 302, 302),
    "logout": (405, 405, 405, 405, 405, 405, 405),  # POST only
    "password_change": (LOGIN, 200, 200, 200, 200, 200, 200),  # every signed-in user, their own password
    "password_change_done": (LOGIN, 200, 200, 200, 200, 200, 200),
    "accounts:profile": (LOGIN, 200, 200, 200, 200, 200, 200),  # every signed-in user, their own settings
    "accounts:language": (405, 405, 405, 405, 405, 405, 405),  # POST only; anonymous too (the login page)
    "admin-password-change": (302, 302, 302, 302, 302, 302, 302),  # a redirect to password_change, which checks
    "scoring:home": (LOGIN, 200, 200, 200, 200, 200, 200),
    "health-live": (200, 200, 200, 200, 200, 200, 200),
    "health-ready": (200, 200, 200, 200, 200, 200, 200),
    "prometheus-metrics": (401, 401, 401, 401, 401, 401, 401),  # a bearer token (or an allowed address), not a user
    "favicon": (302, 302, 302, 302, 302, 302, 302),  # a redirect to the static icon, for everyone
    # officer web app
    "scoring:application-new": (LOGIN, 200, 200, 403, 403, 403, 403),
    "scoring:prediction-mine": (LOGIN, 200, 200, 403, 403, 403, 403),
    "scoring:prediction-detail": (LOGIN, 200, 404, 200, 404, 200, 404),
    "scoring:prediction-review": (LOGIN, 405, 405, 405, 405, 405, 405),  # POST only
    # adverse-action notices (the decision is `officer`'s model decline; the notice was issued by them)
    "scoring:notice-new": (LOGIN, 200, 404, 403, 404, 403, 404),
    "scoring:notice-detail": (LOGIN, 200, 404, 200, 404, 200, 404),
    "scoring:notice-pdf": (LOGIN, 200, 404, 200, 404, 200, 404),
    # batch jobs (the job is `officer`'s and still queued, so its result is not ready: 409)
    "scoring:batch-list": (LOGIN, 200, 200, 200, 403, 403, 403),
    "scoring:batch-new": (LOGIN, 200, 200, 403, 403, 403, 403),
    "scoring:batch-detail": (LOGIN, 200, 404, 200, 404, 404, 404),
    "scoring:batch-progress": (LOGIN, 200, 404, 200, 404, 404, 404),
    "scoring:batch-result": (LOGIN, 409, 404, 409, 404, 404, 404),
    "scoring:batch-cancel": (LOGIN, 405, 405, 405, 405, 405, 405),  # POST only
    "scoring:monitoring": (LOGIN, 403, 403, 200, 200, 403, 403),
    "scoring:monitoring-challenger": (LOGIN, 403, 403, 200, 200, 403, 403),
    # credit policy simulations: credit managers and auditors read (credit policy managers also ask, and ask
    # again for one that failed or stopped: POST only)
    "scoring:policy-simulate": (LOGIN, 403, 403, 200, 403, 200, 200),
    "scoring:policy-simulation": (LOGIN, 403, 403, 200, 403, 200, 200),
    "scoring:policy-simulation-rerun": (LOGIN, 405, 405, 405, 405, 405, 405),
    # model backtests: model administrators ask and run again (POST only), auditors read
    "scoring:backtests": (LOGIN, 403, 403, 200, 200, 403, 403),
    "scoring:backtest-detail": (LOGIN, 403, 403, 200, 200, 403, 403),
    "scoring:backtest-rerun": (LOGIN, 405, 405, 405, 405, 405, 405),
    # referral queue and dual control (take, approve and reject are POST only)
    "scoring:referral-queue": (LOGIN, 200, 200, 403, 403, 200, 403),
    "scoring:referral-take": (LOGIN, 405, 405, 405, 405, 405, 405),
    "scoring:override-approve": (LOGIN, 405, 405, 405, 405, 405, 405),
    "scoring:override-reject": (LOGIN, 405, 405, 405, 405, 405, 405),
    # API v1 (anonymous: 401 problem; POST-only endpoints answer GET with 405 once allowed)
    "api:score": (401, 405, 405, 403, 403, 403, 403),
    "api:score-many": (401, 405, 405, 403, 403, 403, 403),
    "api:prediction-list": (401, 200, 200, 200, 403, 403, 403),
    "api:prediction-detail": (401, 200, 404, 200, 403, 403, 403),
    "api:review-create": (401, 405, 405, 403, 403, 403, 403),
    "api:model-list": (401, 403, 403, 200, 200, 403, 403),
    "api:model-active": (401, 200, 200, 200, 200, 200, 200),
    "api:model-reload": (401, 403, 403, 403, 405, 403, 403),
    "api:batch-job-create": (401, 405, 405, 403, 403, 403, 403),
    "api:batch-job-detail": (401, 200, 404, 200, 404, 404, 404),
    "api:batch-job-result": (401, 409, 404, 409, 404, 404, 404),
    "api:schema": (401, 200, 200, 200, 200, 200, 200),
    "api:docs": (401, 200, 200, 200, 200, 200, 200),
    "api:not-found": (404, 404, 404, 404, 404, 404, 404),
    "api:prediction-notice": (401, 200, 404, 200, 403, 403, 403),
    "api:prediction-alternatives": (401, 200, 404, 200, 403, 403, 403),  # as reading the decision
    # loan outcomes: auditors and model administrators report them; auditors alone export every row
    "scoring:outcome-upload": (LOGIN, 403, 403, 200, 200, 403, 403),
    "scoring:outcome-template": (LOGIN, 403, 403, 200, 200, 403, 403),
    "scoring:outcome-upload-list": (LOGIN, 403, 403, 200, 200, 403, 403),
    "scoring:outcome-export": (LOGIN, 403, 403, 200, 403, 403, 403),
    "api:outcome-create": (401, 403, 403, 405, 405, 403, 403),  # POST only
    "api:model-card": (401, 403, 403, 200, 200, 403, 403),
    "api:model-active-performance": (401, 403, 403, 200, 200, 403, 403),
    "api:model-performance": (401, 403, 403, 200, 200, 403, 403),
    # auditor pages
    "audit:prediction-list": (LOGIN, 403, 403, 200, 403, 403, 403),
    "audit:prediction-export": (LOGIN, 403, 403, 200, 403, 403, 403),
    "audit:prediction-detail": (LOGIN, 403, 403, 200, 403, 403, 403),
    "audit:model-timeline": (LOGIN, 403, 403, 200, 200, 403, 403),
    "audit:model-card": (LOGIN, 403, 403, 200, 200, 403, 403),
    "audit:model-card-pdf": (LOGIN, 403, 403, 200, 200, 403, 403),
    "audit:policy-timeline": (LOGIN, 403, 403, 200, 403, 200, 200),
    "audit:access-log": (LOGIN, 403, 403, 200, 403, 403, 403),
}

# Path parameters by URL name (default: by parameter name). ``objs`` holds the objects made below.
URL_KWARGS = {
    "pk": lambda objs: objs["prediction"].pk,  # a decision made by `officer`
    "job_id": lambda objs: objs["batch_job"].pk,  # a batch job submitted by `officer`
    "notice_id": lambda objs: objs["notice"].pk,  # a notice `officer` issued for that decision
    "version_id": lambda objs: objs["policy_simulation"].version_id,  # a draft credit policy version
    "simulation_id": lambda objs: objs["policy_simulation"].pk,  # a queued simulation of it
    "backtest_id": lambda objs: objs["backtest"].pk,  # a queued backtest of the active model version
    "model_version_id": lambda objs: objs["prediction"].model_version_id,  # the model version of that decision
}

# Django admin: the index and each registered model's changelist.
ADMIN_RULES: dict[str, tuple] = {
    "index": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),
    "auth.user": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "auth.group": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "accounts.team": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),  # superusers edit teams
    "accounts.apitoken": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),  # superusers issue tokens
    "scoring.modelload": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 403, 403),
    "scoring.modelversion": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 403, 403),
    "scoring.modelactivation": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 403, 403),
    "scoring.challengerassignment": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 403, 403),
    "scoring.prediction": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "scoring.review": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "scoring.overrideapproval": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "scoring.referralassignment": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "scoring.exportlog": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "accounts.accessevent": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "axes.accessattempt": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "axes.accesslog": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "axes.accessfailurelog": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    "scoring.adverseactionnotice": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
    # Credit policy: drafted by the policy manager, approved by the credit manager; auditors read /audit/policies/.
    "scoring.policyversion": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),
    "scoring.policyrule": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),
    "scoring.policyactivation": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),
}

# The only URLs an anonymous visitor may reach (static files are served outside the URL map).
PUBLIC = {"login", "health-live", "health-ready"}

# Unsafe methods a read-only auditor may still use: their own session, password and page language, and
# reporting loan outcomes (an observed fact appended, never an edit: docs/outcomes.md).
AUDITOR_MAY_POST = {
    "login",
    "logout",
    "password_change",
    "accounts:profile",
    "accounts:language",
    "scoring:outcome-upload",
    "api:outcome-create",
}


def project_urls():
    """(name, route, path parameter names) for every URL pattern outside Django admin."""

    def walk(patterns, prefix="", namespace=None):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = ":".join(part for part in (namespace, entry.namespace) if part) or None
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                yield name, prefix + str(entry.pattern), list(entry.pattern.converters)

    return [u for u in walk(get_resolver().url_patterns) if not (u[0] or "").startswith("admin:")]


@pytest.fixture
def objs(officer, example_inputs):
    upload = ContentFile(csv_bytes(synthetic_frame(3)), name="three.csv")
    prediction = services.score_application(user=officer, inputs=example_inputs, channel="web")
    return {
        "prediction": prediction,
        "batch_job": jobs.submit_batch_job(user=officer, upload=upload, original_name="three.csv"),
        "notice": notices.issue_notice(
            user=officer, prediction=prediction, applicant_name="A. Person", applicant_address="1 Road"
        ),
        "backtest": Backtest.objects.create(
            model_version=ModelVersion.objects.get(status="active"), date_from=timezone.now(), date_to=timezone.now()
        ),
        "policy_simulation": PolicySimulation.objects.create(
            version=policy_services.create_version(name="Draft", rules=policy_defaults.RULES, user=None),
            date_from=timezone.now(),
            date_to=timezone.now(),
        ),
    }


@pytest.fixture
def clients(officer, other_officer, auditor, model_admin, credit_manager, policy_manager):
    credit_manager.is_staff = True  # as the demo user: the policy approval is in admin
    credit_manager.save()
    made = {"anonymous": Client()}
    users = (officer, other_officer, auditor, model_admin, credit_manager, policy_manager)
    for persona, user in zip(PERSONAS[1:], users, strict=True):
        made[persona] = Client()
        made[persona].force_login(user)
    return made


def _url(name, params, objs):
    missing = [p for p in params if p not in URL_KWARGS]
    assert not missing, f"{name}: add a value for path parameter(s) {missing} to URL_KWARGS"
    return reverse(name, kwargs={p: URL_KWARGS[p](objs) for p in params})


def _outcome(response):
    if response.status_code == 302:
        target = response["Location"]
        if target.startswith(reverse("admin:login")):
            return ADMIN_LOGIN
        if target.startswith(reverse("login")):
            return LOGIN
    return response.status_code


def test_every_url_has_a_rule():
    names = [name for name, _, _ in project_urls()]
    unnamed = [route for name, route, _ in project_urls() if not name]
    assert not unnamed, f"URL patterns need a name to get a rule: {unnamed}"
    missing = sorted(set(names) - set(RULES))
    assert not missing, f"URLs without an authorization rule (add a line to RULES): {missing}"
    stale = sorted(set(RULES) - set(names))
    assert not stale, f"Rules for URLs that no longer exist: {stale}"


def test_every_url_answers_each_persona_as_expected(clients, objs):
    failures = []
    for name, _, params in project_urls():
        url = _url(name, params, objs)
        for persona, expected in zip(PERSONAS, RULES[name], strict=True):
            got = _outcome(clients[persona].get(url))
            if got != expected:
                failures.append(f"{persona} GET {url} ({name}): expected {expected}, got {got}")
    assert not failures, "\n".join(failures)


def test_every_admin_model_has_a_rule_and_answers_as_expected(clients):
    registered = {model._meta.label_lower: model for model in admin.site._registry}
    missing = sorted(set(registered) - set(ADMIN_RULES) - {"index"})
    assert not missing, f"Admin models without an authorization rule (add a line to ADMIN_RULES): {missing}"
    failures = []
    for key, expected_row in ADMIN_RULES.items():
        if key == "index":
            url = reverse("admin:index")
        else:
            meta = registered[key]._meta
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        for persona, expected in zip(PERSONAS, expected_row, strict=True):
            got = _outcome(clients[persona].get(url))
            if got != expected:
                failures.append(f"{persona} GET {url}: expected {expected}, got {got}")
    assert not failures, "\n".join(failures)


def test_audit_records_cannot_be_changed_or_deleted_in_admin(clients, objs, model_admin, django_user_model):
    superuser = django_user_model.objects.create_superuser("root", "root@example.com", "a-long-test-password")
    client = Client()
    client.force_login(superuser)
    prediction = objs["prediction"]
    change = client.get(reverse("admin:scoring_prediction_change", args=[prediction.pk]))
    assert change.status_code == 200 and b'name="_save"' not in change.content
    changelist = client.get(reverse("admin:scoring_prediction_changelist"))
    assert b"delete_selected" not in changelist.content
    assert client.post(reverse("admin:scoring_prediction_delete", args=[prediction.pk])).status_code == 403
    assert client.get(reverse("admin:scoring_prediction_add")).status_code == 403


def test_auditors_cannot_post_anything(clients, objs):
    failures = []
    for name, _, params in project_urls():
        if name in AUDITOR_MAY_POST:
            continue
        url = _url(name, params, objs)
        got = clients["auditor"].post(url, {"any": "thing"}).status_code
        if got != 403:
            failures.append(f"auditor POST {url} ({name}): expected 403, got {got}")
    for url in (reverse("admin:index"), reverse("admin:scoring_modelversion_changelist")):
        got = clients["auditor"].post(url, {"any": "thing"}).status_code
        if got != 403:
            failures.append(f"auditor POST {url}: expected 403, got {got}")
    assert not failures, "\n".join(failures)


def test_anonymous_users_reach_only_public_urls(clients, objs):
    reachable = []
    for name, _, params in project_urls():
        url = _url(name, params, objs)
        if _outcome(clients["anonymous"].get(url)) == 200:
            reachable.append(name)
    assert set(reachable) == PUBLIC
