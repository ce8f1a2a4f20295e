"""Drift: PSI arithmetic, and drift reports flagging exactly the features that were shifted."""

from __future__ import annotations

import math

import pytest
from django.core.management import call_command

from scoring.engine import drift
from scoring.models import DriftReport
from scoring.monitoring import reports
from tests.support.monitoring_data import holdout_frame, record_population

SHIFTED = ("duration_in_month", "credit_amount", "purpose")


def test_psi_is_zero_for_identical_shares_and_grows_with_the_shift():
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    small = drift.psi([0.5, 0.5], [0.55, 0.45])
    large = drift.psi([0.5, 0.5], [0.9, 0.1])
    assert 0 < small < drift.WATCH < drift.ACT < large
    # (0.9-0.5)ln(0.9/0.5) + (0.1-0.5)ln(0.1/0.5)
    assert large == pytest.approx(0.4 * math.log(1.8) + 0.4 * math.log(5))


def test_an_empty_bin_gives_a_finite_psi():
    value = drift.psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
    assert math.isfinite(value) and value > drift.ACT


def test_numeric_values_are_binned_like_the_reference_with_outliers_in_the_end_bins():
    reference = {"kind": "numeric", "edges": [0, 10, 20, 30], "frequencies": [0.2, 0.5, 0.3]}
    labels, expected, observed, n = drift.observed_shares(reference, [-5, 0, 9.9, 10, 29, 30, 99, None, "x"])
    assert labels == ["[0, 10)", "[10, 20)", "[20, 30]"]
    assert n == 7
    assert observed == pytest.approx([3 / 7, 1 / 7, 3 / 7])
    assert expected == [0.2, 0.5, 0.3]


def test_unknown_categories_get_their_own_bin():
    reference = {"kind": "categorical", "categories": ["a", "b"], "frequencies": [0.5, 0.5]}
    labels, expected, observed, n = drift.observed_shares(reference, ["a", "b", "c", "c"])
    assert n == 4
    assert labels == ["a", "b", drift.OTHER]
    assert expected == [0.5, 0.5, 0.0]
    assert observed == [0.25, 0.25, 0.5]


def test_levels_follow_the_watch_and_act_thresholds():
    assert [drift.level_of(v) for v in (None, 0.05, 0.1, 0.2, 0.25, 1.0)] == [
        "no data",
        "stable",
        "watch",
        "watch",
        "act",
        "act",
    ]


def _shift(frame):
    frame = frame.copy()
    frame["duration_in_month"] = (frame["duration_in_month"] + 30).clip(upper=72)
    frame["credit_amount"] = frame["credit_amount"] * 3
    frame["purpose"] = "car (new)"
    return frame


def test_it_flags_shifted_features_and_leaves_unshifted_ones_stable(officer, active_version):
    record_population(officer, _shift(holdout_frame()))

    report = reports.create_drift_report()

    psi = report.psi_by_feature()
    assert report.observed_count == 500
    assert set(psi) == set(active_version.metadata["reference"]["features"])
    for name in SHIFTED:
        assert psi[name] >= drift.ACT, (name, psi[name])
    unshifted = {name: value for name, value in psi.items() if name not in SHIFTED}
    assert max(unshifted.values()) < drift.WATCH, unshifted
    assert report.act_count == len(SHIFTED)
    # the table is sorted, worst first
    assert [f["name"] for f in report.features[:3]] == sorted(SHIFTED, key=lambda n: -psi[n])
    assert report.score["psi"] is not None


def test_an_unshifted_population_raises_no_flag(officer, active_version):
    record_population(officer, holdout_frame())

    report = reports.create_drift_report()

    assert report.act_count == 0 and report.watch_count == 0, report.psi_by_feature()
    assert report.score_psi < drift.WATCH


def test_decisions_outside_the_window_are_not_compared(officer, active_version):
    from datetime import timedelta

    from django.utils import timezone

    record_population(officer, holdout_frame(1))
    report = reports.create_drift_report(now=timezone.now() + timedelta(days=8))
    assert report.observed_count == 0
    assert all(f["psi"] is None and f["level"] == "no data" for f in report.features)


def test_the_command_writes_a_report_and_prints_the_flags(officer, active_version, capsys):
    record_population(officer, _shift(holdout_frame()))

    call_command("drift_report")

    out = capsys.readouterr().out
    assert DriftReport.objects.count() == 1
    assert "duration_in_month" in out and "ACT" in out
    assert "3 feature(s) to act on" in out


def test_the_command_explains_when_no_model_is_active(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No model version is active"):
        call_command("drift_report")
    assert not DriftReport.objects.exists()


def test_the_beat_task_is_scheduled_daily_and_writes_a_report(settings, officer, active_version):
    from scoring.monitoring.reports import drift_report

    entry = settings.CELERY_BEAT_SCHEDULE["drift-report-daily"]
    assert entry["task"] == drift_report.name
    record_population(officer, holdout_frame(1))
    report_id = drift_report.delay().get()
    assert DriftReport.objects.get(pk=report_id).observed_count == 250
