"""The policy simulation pages at a phone's width (390 px) and a desktop's: no sideways scroll, no serious
axe finding; the report's wide tables scroll inside their box."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from scoring.decisions.services import score_application
from scoring.lifecycle import registry
from scoring.models import Channel, PolicySimulation
from scoring.policy import defaults, services, simulation
from tests.browser.test_narrow_pages import DESKTOP, PHONE, _measure, _too_wide
from tests.browser.test_officer_flow import log_in
from tests.policy.test_simulation import DRAFT_RULES, _application
from tests.support.accessibility import install_axe, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=[PHONE, DESKTOP], ids=["390px", "1280px"])
def tab(browser, monkeypatch, request):
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    context = browser.new_context(viewport=request.param)
    install_axe(context)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    settle(tab)
    context.close()


@pytest.fixture
def simulated(live_active_version, officer, policy_manager, settings):
    settings.FAIRNESS_MIN_GROUP = 3
    model = registry.get_active().model
    policy = services.create_version(name=defaults.NAME, rules=defaults.RULES, user=None, model=model)
    services.activate(policy, user=None, model=model)
    base = model.example_inputs()
    for i in range(30):
        score_application(
            user=officer,
            inputs=_application(base, i, with_protected=True),
            channel=Channel.API,
            external_ref=f"LOAN-2026-LONG-REFERENCE-{i:04d}",
        )
    draft = services.create_version(
        name="Stricter amounts and no education loans", rules=DRAFT_RULES, user=policy_manager
    )
    found = PolicySimulation.objects.create(
        version=draft,
        requested_by=policy_manager,
        date_from=timezone.now() - timedelta(days=1),
        date_to=timezone.now(),
    )
    simulation.run_simulation(simulation_id=found.pk)
    found.refresh_from_db()
    assert found.state == PolicySimulation.State.DONE and found.report["changed_count"] > 0
    return found


def test_the_simulation_pages_fit_a_phone(tab, live_server, simulated):
    log_in(tab, live_server, "policy")
    widths = {}
    tab.goto(f"{live_server.url}/policy/{simulated.version_id}/simulate/")
    _measure(tab, "simulate", widths)
    tab.fill("#id_days", "400")
    tab.click("button.primary")
    tab.wait_for_load_state()
    _measure(tab, "simulate with an error", widths)
    tab.goto(f"{live_server.url}/policy/simulations/{simulated.pk}/")
    _measure(tab, "report", widths)
    assert _too_wide(widths) == {}
