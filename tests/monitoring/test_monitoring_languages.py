"""The monitoring page in French: a report computed (and stored) in English reads in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from scoring.monitoring import reports
from tests.support import french_catalog
from tests.support.monitoring_data import holdout_frame, record_population


@pytest.fixture
def french(settings, tmp_path):
    settings.LOCALE_PATHS = [french_catalog.install(tmp_path)]
    with translation.override("fr"):
        yield


def test_a_stored_report_reads_in_french(client, auditor, officer, active_version, settings, tmp_path):
    settings.FAIRNESS_MIN_GROUP = 20
    frame = holdout_frame(1)
    frame["duration_in_month"] = 60
    males = frame["personal_status_and_sex"].str.startswith("male").tolist()
    record_population(officer, frame, decide=lambda i: "approve" if males[i] or i % 4 == 0 else "decline")
    report = reports.create_drift_report()  # the daily task, in the default language
    assert {"act", "stable"} <= {f["level"] for f in report.features}
    assert report.fairness["tables"][0]["label"] == "Sex (from personal status and sex)"

    settings.LOCALE_PATHS = [french_catalog.install(tmp_path)]
    client.force_login(auditor)
    with translation.override("fr"):
        page = client.get("/monitoring/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "<h1>Surveillance du modèle</h1>" in page and "Volume quotidien" in page
    # The level is shown in words; the stored level still names the CSS class.
    row = re.search(
        r'<tr class="row-act">\s*<th scope="row">Durée du crédit '
        r'<code class="field-name">duration_in_month</code></th>.*?</tr>',
        page,
        re.S,
    )
    assert row and '<span class="level level-act">à traiter</span>' in row.group(0)
    assert "Sexe (d&#x27;après la situation personnelle et le sexe)" in page
    assert "sous les quatre cinquièmes" in page and "le plus favorisé" in page
    assert "Daily volume" not in page and "below four-fifths" not in page


def test_level_words_and_attribute_labels_follow_the_language(french):
    assert [reports.level_word(w) for w in ("stable", "watch", "act", "no data")] == [
        "stable",
        "à surveiller",
        "à traiter",
        "aucune donnée",
    ]
    assert reports.level_word("unheard of") == "unheard of"
    table = reports.FairnessTable.from_dict(
        {"attribute": "age_band", "label": "Age band", "not_recorded": 0, "groups": []}
    )
    assert table.label == "Tranche d'âge"
    # A bundle's own attribute keeps the label the bundle gave it.
    table = reports.FairnessTable.from_dict({"attribute": "region", "label": "Region", "not_recorded": 0, "groups": []})
    assert table.label == "Region"


def test_a_bank_bundles_attribute_reads_in_the_readers_language(french, monkeypatch):
    spec = {"name": "region", "kind": "categorical", "label": {"en": "Region", "fr": "Région"}}
    assert reports.fairness_attributes([spec]) == [("region", "Région")]
    # A stored report keeps the label of the day it was computed; the page names it as the active bundle does now.
    monkeypatch.setattr(reports, "_active_attributes", lambda: reports.fairness_attributes([spec]))
    stored = {
        "window_start": "2026-12-01T00:00:00+00:00",
        "window_end": "2026-12-02T00:00:00+00:00",
        "decisions": 0,
        "truncated": False,
        "min_group": 20,
        "tables": [{"attribute": "region", "label": "Region", "not_recorded": 0, "groups": []}],
    }
    assert [t.label for t in reports.FairnessReport.from_dict(stored).tables] == ["Région"]
