"""Every page of every role at a desktop's and a phone's width: no serious or critical axe finding, no sideways
scroll; and printed copies carry the lender header and the printed-by line, never the fairness answers."""

from __future__ import annotations

import io
import json
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import override_settings
from django.utils import timezone
from pypdf import PdfReader

from scoring.backtests import services as backtests
from scoring.batch import jobs, worker
from scoring.decisions import services
from scoring.lifecycle import challengers, shadow, versions
from scoring.lifecycle import registry as model_registry
from scoring.models import Backtest, BatchJob, Decision, LoanOutcome, ModelLoad, Prediction
from scoring.monitoring import reports
from scoring.notices import services as notices
from scoring.outcomes.services import record_outcomes
from scoring.policy import defaults as policy_defaults
from scoring.policy import services as policy_services
from scoring.policy import simulation
from tests.browser.conftest import screenshot
from tests.browser.test_languages import english_left_behind
from tests.browser.test_narrow_pages import STICKING_OUT
from tests.browser.test_officer_flow import PASSWORD, log_in
from tests.support.accessibility import axe_check, install_axe, settle
from tests.support.applications import decided, inputs_by_decision
from tests.support.batch_files import csv_bytes, synthetic_frame
from tests.support.lifecycle_fixtures import bundle_variant
from tests.support.outcomes_history import report
from tests.support.reviews import credit_manager_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})


def _open_tab(browser, monkeypatch, locale: str):
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    context = browser.new_context(viewport=WIDTHS[0], locale=locale)  # the browser's Accept-Language
    install_axe(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture(params=["en", "fr"])
def tab(browser, monkeypatch, request):
    """One tab per role and language: logged in once, then every page at each width. axe runs on every load.

    The browser asks for English or French (users without a profile language get the browser's); in French,
    a visible text that is an English message the catalog translates, or an English text of the model
    bundle (a label, a choice, a reason), is reported as left untranslated."""
    page = _open_tab(browser, monkeypatch, {"en": "en-GB", "fr": "fr-FR"}[request.param])
    page.language = request.param
    yield page
    settle(page)
    page.context.close()


@pytest.fixture
def english_tab(browser, monkeypatch):
    page = _open_tab(browser, monkeypatch, "en-GB")
    yield page
    settle(page)
    page.context.close()


@pytest.fixture
def history(officer, other_model_admin, model_admin, live_active_version, tmp_path):
    """Something on every page: decisions of each kind (one reviewed), batch jobs, a drift report,
    a validated version waiting for activation and a failed Hub load."""
    officer.last_name = "Okafor"
    officer.save()
    made = {d: decided(officer, d, external_ref=f"LOAN-2026-LONG-REFERENCE-{d.upper()}") for d in Decision.values}
    services.record_review(
        user=officer,
        prediction=decided(officer, Decision.DECLINE),
        outcome="approve",
        reason_code="collateral",
        justification="A house as collateral.",
    )
    # An override beyond the officer's authority, waiting for the credit manager of the team.
    with override_settings(OVERRIDE_PD_LIMIT=0.0):
        pending = services.record_review(
            user=officer,
            prediction=decided(officer, Decision.DECLINE, external_ref="LOAN-2026-PENDING"),
            outcome="approve",
            reason_code="relationship",
            justification="Twenty years with the bank, never late.",
        )
    manager = credit_manager_of(officer)
    manager.set_password(PASSWORD)
    manager.save()
    notice = notices.issue_notice(
        user=officer,
        prediction=made["decline"],
        applicant_name="Anna Schmidt-Lindqvist",
        applicant_address="Lange Strasse 12\n10115 Berlin",
    )
    with mock.patch.object(worker.process_batch_chunk, "delay"):
        job = jobs.submit_batch_job(
            user=officer,
            upload=SimpleUploadedFile("a-portfolio-with-a-rather-long-file-name.csv", csv_bytes(synthetic_frame(20))),
        )
        failed = jobs.submit_batch_job(
            user=officer, upload=SimpleUploadedFile("april.csv", csv_bytes(synthetic_frame(3)))
        )
    BatchJob.objects.filter(pk=failed.pk).update(state=BatchJob.State.FAILED, error="The worker lost the file.")
    reports.create_drift_report()
    report(made["approve"], "defaulted", user=officer)  # the monitoring page's realised performance, with a loan
    candidate = versions.register_bundle(path=bundle_variant(tmp_path / "v2", threshold="0.2"), user=other_model_admin)
    versions.validate_version(version=candidate, user=other_model_admin)
    # The candidate in shadow: its scores of the decisions above, and outcomes for a few of them.
    challengers.start_challenger(version=candidate, user=other_model_admin)
    decided_ids = list(Prediction.objects.values_list("pk", flat=True))
    shadow.score_in_shadow(prediction_ids=decided_ids, version_id=candidate.pk)
    reported_elsewhere = {made["approve"].pk, made["decline"].pk}  # their outcomes come from the lines around
    unreported = [pk for pk in decided_ids if pk not in reported_elsewhere]
    for pk, outcome in zip(unreported, ("repaid", "defaulted", "repaid", "withdrawn"), strict=False):
        LoanOutcome.objects.create(
            prediction_id=pk, outcome=outcome, observed_on=timezone.localdate(), source="api", created_by=officer
        )
    ModelLoad.objects.create(
        repo_id="acme/credit-model", state=ModelLoad.State.FAILED, error="The Hub did not answer in time."
    )
    # A loan outcome and its correction, so the decision page and the uploads list have them.
    today = timezone.localdate()
    for outcome, reason in (("defaulted", ""), ("repaid", "The servicer reported the default in error.")):
        row = {"decision_id": made["decline"].pk, "outcome": outcome, "observed_on": today, "reason": reason}
        assert record_outcomes([row], user=model_admin, source="upload", source_ref="june-outcomes.csv").ok
    # A backtest of the candidate on this history, run here (the task is not sent), and one left queued.
    with mock.patch.object(backtests.run_backtest, "delay"):
        done = backtests.request_backtest(model_version=candidate, user=model_admin, date_from=today, date_to=today)
        queued = backtests.request_backtest(model_version=candidate, user=model_admin, date_from=today, date_to=today)
    backtests.run(backtest_id=done.pk)
    assert Backtest.objects.get(pk=done.pk).state == Backtest.State.DONE
    return {
        "made": made,
        "job": job,
        "candidate": candidate,
        "pending": pending,
        "notice": notice,
        "backtest": done,
        "queued_backtest": queued,
    }


def _submit(selector: str, before=None):
    """A page reached by submitting its form (to see its error summary)."""

    def visit(page, url):
        page.goto(url)
        if before:
            before(page)
        page.click(selector)
        page.wait_for_load_state()

    return visit


def _walk(page, base: str, pages: dict) -> dict[str, object]:
    """Each page at each width: what axe finds, what sticks out sideways and (in French) English left on the
    page; {} when all is well."""
    problems: dict[str, object] = {}
    english = english_left_behind() if page.language == "fr" else None
    for name, target in pages.items():
        page.set_viewport_size(WIDTHS[0])
        url, visit = (target, None) if isinstance(target, str) else target
        if visit:
            visit(page, base + url)
        else:
            page.goto(base + url)
            page.wait_for_load_state()
        for size in WIDTHS:
            page.set_viewport_size(size)
            # axe checks structure, names and contrast, the same in both languages: once, in English.
            findings = axe_check(page) if english is None else []
            too_wide = page.evaluate("document.documentElement.scrollWidth") > size["width"]
            if findings or too_wide:
                problems[f"{name} at {size['width']} px"] = findings + (page.evaluate(STICKING_OUT) if too_wide else [])
                screenshot(page, f"every-page-{page.language}-{size['width']}-{name.replace(' ', '-')}")
        if english is not None:
            leftovers = english(page)
            if leftovers:
                problems[f"{name}: English on a French page"] = leftovers
    return problems


def _assert_clean(page, base: str, pages: dict) -> None:
    problems = _walk(page, base, pages)
    assert not problems, "\n" + json.dumps(problems, ensure_ascii=False, indent=1)


def test_every_page_of_the_officer(tab, live_server, history):
    made = history["made"]
    log_in(tab, live_server, "officer")
    pages = {
        "home": "/",
        "application form": "/applications/new/",
        "application form with errors": ("/applications/new/", _submit("button.primary")),
        "declined decision": f"/predictions/{made['decline'].pk}/",
        "referred decision": f"/predictions/{made['refer'].pk}/",
        "review with errors": (f"/predictions/{made['refer'].pk}/", _submit(".review-form button[type=submit]")),
        "approved decision": f"/predictions/{made['approve'].pk}/",
        "printable decision": f"/predictions/{made['decline'].pk}/?print=1",
        "decision waiting for approval": f"/predictions/{history['pending'].prediction_id}/",
        "referral queue": "/referrals/",
        "notice form": f"/predictions/{made['decline'].pk}/notice/",
        "notice form with errors": (f"/predictions/{made['decline'].pk}/notice/", _submit("main button[type=submit]")),
        "issued notice": f"/notices/{history['notice'].pk}/",
        "my decisions": "/predictions/mine/",
        "my decisions by reference": "/predictions/mine/?reference=LOAN-2026",
        "batch list": "/batches/",
        "batch upload": "/batches/new/",
        "batch upload with errors": (
            "/batches/new/",
            _submit(
                "main button[type=submit]",
                lambda p: p.set_input_files(
                    "#id_file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a csv"}]
                ),
            ),
        ),
        "batch job": f"/batches/{history['job'].pk}/",
        "password change": "/accounts/password_change/",
        "password change with errors": ("/accounts/password_change/", _submit("main button[type=submit]")),
        "not allowed": "/audit/predictions/",
        "not found": "/predictions/999999/",
    }
    _assert_clean(tab, live_server.url, pages)


def test_every_page_of_the_auditor(tab, live_server, auditor, history):
    made = history["made"]
    log_in(tab, live_server, "auditor")
    at = timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")
    pages = {
        "home": "/",
        "audit list": "/audit/predictions/",
        "audit list filtered": "/audit/predictions/?final_decision=refer&order=oldest",
        "audit list with a bad filter": "/audit/predictions/?date_from=yesterday",
        "audit detail": f"/audit/predictions/{made['decline'].pk}/",
        "audit detail waiting for approval": f"/audit/predictions/{history['pending'].prediction_id}/",
        "issued notice": f"/notices/{history['notice'].pk}/",
        "decision page": f"/predictions/{made['refer'].pk}/",
        "model timeline": "/audit/models/",
        "model timeline at a moment": f"/audit/models/?at={at}",
        "model card": f"/audit/models/{made['decline'].model_version_id}/card/",
        "credit policy timeline": "/audit/policies/",
        "credit policy at a moment": f"/audit/policies/?at={at}",
        "access log": "/audit/access/",
        "monitoring": "/monitoring/",
        "challenger comparison": "/monitoring/challenger/",
        "challenger comparison, bad choice": "/monitoring/challenger/?version=999999",
        "batch list": "/batches/",
        "batch job": f"/batches/{history['job'].pk}/",
        "outcome upload": "/outcomes/upload/",
        "outcome upload with errors": (
            "/outcomes/upload/",
            _submit(
                "main button[type=submit]",
                lambda p: p.set_input_files(
                    "#id_file",
                    files=[
                        {
                            "name": "june.csv",
                            "mimeType": "text/csv",
                            "buffer": b"external_ref,outcome,observed_on\nNOPE,Repaid,2999-01-01\n",
                        }
                    ],
                ),
            ),
        ),
        "outcome uploads": "/outcomes/uploads/",
        "backtests": "/monitoring/backtests/",
        "backtest report": f"/monitoring/backtests/{history['backtest'].pk}/",
        "not allowed": "/applications/new/",
        "not found": "/audit/predictions/999999/",
    }
    _assert_clean(tab, live_server.url, pages)


def test_every_page_of_the_model_administrator(tab, live_server, model_admin, history):
    version = history["candidate"]
    log_in(tab, live_server, "modeladmin")
    pages = {
        "home": "/",
        "admin index": "/admin/",
        "model versions": "/admin/scoring/modelversion/",
        "active version": f"/admin/scoring/modelversion/{history['made']['approve'].model_version_id}/change/",
        "validated version": f"/admin/scoring/modelversion/{version.pk}/change/",
        "model card of the validated version": f"/audit/models/{version.pk}/card/",
        "Hub load form": "/admin/scoring/modelversion/load/",
        "Hub load with errors": ("/admin/scoring/modelversion/load/", _submit("input[type=submit]")),
        "Hub loads": "/admin/scoring/modelload/",
        "activations": "/admin/scoring/modelactivation/",
        "challenger changes": "/admin/scoring/challengerassignment/",
        "challenger comparison": "/monitoring/challenger/",
        "model timeline": "/audit/models/",
        "monitoring": "/monitoring/",
        "outcome upload": "/outcomes/upload/",
        "outcome uploads": "/outcomes/uploads/",
        "backtests": "/monitoring/backtests/",
        "backtests, form with errors": ("/monitoring/backtests/", _submit("main form button[type=submit]")),
        "backtest report": f"/monitoring/backtests/{history['backtest'].pk}/",
        "backtest waiting for a worker": f"/monitoring/backtests/{history['queued_backtest'].pk}/",
        "password change": "/accounts/password_change/",
        "not allowed": "/applications/new/",
        "not found in the admin": "/admin/scoring/modelversion/999999/change/",
    }
    _assert_clean(tab, live_server.url, pages)


def test_every_page_of_the_credit_manager(tab, live_server, history):
    log_in(tab, live_server, "manager")
    pages = {
        "home": "/",
        "referral queue": "/referrals/",
        "decision waiting for approval": f"/predictions/{history['pending'].prediction_id}/",
        "approval with errors": (
            f"/predictions/{history['pending'].prediction_id}/",
            _submit(".approval-form button.primary"),
        ),
        "decision of the team": f"/predictions/{history['made']['approve'].pk}/",
        "password change": "/accounts/password_change/",
        "not allowed": "/applications/new/",
        "not found": "/predictions/999999/",
    }
    _assert_clean(tab, live_server.url, pages)


def test_every_page_of_the_credit_policy_manager(tab, live_server, policy_manager, other_policy_manager, history):
    model = model_registry.get_active().model
    live = policy_services.create_version(
        name="Standard policy", rules=policy_defaults.RULES, user=other_policy_manager
    )
    policy_services.submit(live, user=other_policy_manager, model=model)
    policy_services.activate(live, user=policy_manager, model=model)
    draft = policy_services.copy_to_draft(live, user=policy_manager, name="Spring update with a rather long name")
    submitted = policy_services.create_version(name="Stricter", rules=policy_defaults.RULES[1:], user=policy_manager)
    policy_services.submit(submitted, user=policy_manager, model=model)
    rule = draft.rules.order_by("position").first()  # the age rule: a protected attribute with its legal basis
    with mock.patch.object(simulation.run_policy_simulation, "delay"):
        simulated = simulation.request_simulation(version=draft, user=policy_manager, days=1)
    simulation.run_simulation(simulation_id=simulated.pk)
    at = timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")
    log_in(tab, live_server, "policy")
    pages = {
        "home": "/",
        "policy versions": "/admin/scoring/policyversion/",
        "draft version": f"/admin/scoring/policyversion/{draft.pk}/change/",
        "submitted version": f"/admin/scoring/policyversion/{submitted.pk}/change/",
        "active version": f"/admin/scoring/policyversion/{live.pk}/change/",
        "rule editor": f"/admin/scoring/policyrule/{rule.pk}/change/",
        "new rule": f"/admin/scoring/policyrule/add/?version={draft.pk}",
        "new rule with errors": (f"/admin/scoring/policyrule/add/?version={draft.pk}", _submit("input[name=_save]")),
        "import": "/admin/scoring/policyversion/import/",
        "import with errors": ("/admin/scoring/policyversion/import/", _submit("input[type=submit]")),
        "activations": "/admin/scoring/policyactivation/",
        "credit policy timeline": f"/audit/policies/?at={at}",
        "simulation form": f"/policy/{draft.pk}/simulate/",
        "simulation report": f"/policy/simulations/{simulated.pk}/",
        "not allowed": "/applications/new/",
    }
    _assert_clean(tab, live_server.url, pages)


def test_the_pages_before_logging_in(tab, live_server, officer):
    def wrong_password(page, url):
        page.goto(url)
        page.fill("#id_username", "officer")
        page.fill("#id_password", "not-" + PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state()

    pages = {
        "login": "/accounts/login/",
        "login failed": ("/accounts/login/", wrong_password),
        "not found": "/no-such-page/",
    }
    _assert_clean(tab, live_server.url, pages)


# --- print ------------------------------------------------------------------------------


def _printed_text(page) -> str:
    """The page as Chromium prints it to PDF (print CSS applied), as text."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(page.pdf(format="A4"))).pages).split())


def test_printed_decisions_carry_the_lender_and_the_printer_and_leave_out_the_fairness_answers(
    english_tab, live_server, officer, auditor, live_active_version, settings
):
    tab = english_tab
    officer.last_name = "Okafor"
    officer.save()
    prediction = decided(officer, Decision.DECLINE, external_ref="LOAN-PRINT-1")
    protected = {k: inputs_by_decision()["decline"][k] for k in ("personal_status_and_sex", "age_in_years")}
    assert prediction.protected  # the fairness answers were recorded, so leaving them out is a choice

    log_in(tab, live_server, "officer")
    tab.goto(f"{live_server.url}/predictions/{prediction.pk}/")
    on_screen = " ".join(tab.locator("main").inner_text().split())
    assert "Personal status and sex" in on_screen and "Foreign worker" in on_screen
    assert f"{protected['age_in_years']} years" in on_screen

    printed = _printed_text(tab)
    assert settings.LENDER_NAME in printed and settings.LENDER_ADDRESS in printed
    assert "Printed by Olivia Okafor on " in printed
    assert "LOAN-PRINT-1" in printed and f"{prediction.probability * 100:.1f}%" in printed
    for hidden in (
        "Personal status and sex",
        "Foreign worker",
        "Fairness monitoring",
        f"{protected['age_in_years']} years",
    ):
        assert hidden not in printed, hidden

    tab.context.clear_cookies()
    log_in(tab, live_server, "auditor")
    tab.goto(f"{live_server.url}/audit/predictions/{prediction.pk}/")
    on_screen = tab.locator("main").inner_text()
    assert "Personal status and sex" in on_screen and protected["personal_status_and_sex"] in on_screen
    printed = _printed_text(tab)
    assert settings.LENDER_NAME in printed and "Printed by auditor on " in printed
    assert "LOAN-PRINT-1" in printed
    for hidden in (
        "Personal status and sex",
        protected["personal_status_and_sex"],
        "Foreign worker",
        "Monitoring-only",
    ):
        assert hidden not in printed, hidden
