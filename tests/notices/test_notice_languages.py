"""A notice is written in the issuing officer's language, kept with it, and shown as issued to any reader."""

from __future__ import annotations

import hashlib

from django.urls import reverse
from django.utils import translation

from accounts.models import Profile
from scoring.engine.german_credit import FRENCH
from scoring.models import AdverseActionNotice
from scoring.notices import services
from tests.support.applications import decided

ADDRESS = "Hauptstrasse 5\n10115 Berlin"


def test_an_officer_reading_french_issues_a_french_notice(officer, active_version, settings):
    settings.ADVERSE_ACTION_STATUTORY_TEXT_FR = "Vous pouvez demander les motifs.\n\nVous pouvez contester."
    prediction = decided(officer, "decline")

    with translation.override("fr"):
        notice = services.issue_notice(
            user=officer, prediction=prediction, applicant_name="Anna Schmidt", applicant_address=ADDRESS
        )

    content = notice.content
    assert content["language"] == "fr"
    assert content["action"] == "Votre demande de crédit de 7\u202f882\u00a0DM sur 42 mois a été refusée."
    assert content["statutory_text"] == ["Vous pouvez demander les motifs.", "Vous pouvez contester."]
    # The version's reason library gives each recorded code's statement in French.
    english = [r["statement"] for r in prediction.reasons][:4]
    assert content["reasons"] == [FRENCH[statement] for statement in english]
    months = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ]
    assert content["date_text"].split()[1] in months  # "2 décembre 2026"
    for text in ("Principaux motifs de notre décision", "Vos droits", 'lang="fr"', "Bonjour Anna Schmidt,"):
        assert text in notice.body_html
    assert "Principal reasons" not in notice.body_html
    assert notice.sha256 == hashlib.sha256(notice.body_html.encode()).hexdigest()


def test_an_issued_notice_reads_as_issued_whatever_the_readers_language(client, officer, active_version):
    prediction = decided(officer, "decline")
    notice = services.issue_notice(
        user=officer, prediction=prediction, applicant_name="Anna Schmidt", applicant_address=ADDRESS
    )
    assert notice.content["language"] == "en"
    Profile.objects.create(user=officer, language="fr")
    client.force_login(officer)

    page = client.get(reverse("scoring:notice-detail", args=[notice.pk])).content.decode()

    assert notice.body_html in page  # the English letter, unchanged
    assert "Télécharger le PDF" in page  # around it, the reader's own language
    assert AdverseActionNotice.objects.get(pk=notice.pk).body_html == notice.body_html
