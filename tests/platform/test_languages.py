"""The language of a page or an API answer: profile, else Accept-Language, else English; formats per language."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import translation

from accounts.languages import SESSION_KEY, from_accept_language
from accounts.models import Profile
from scoring import display
from tests.support.applications import decided

HOME = reverse("scoring:home")
LOGIN = reverse("login")
SWITCH = reverse("accounts:language")
PROFILE = reverse("accounts:profile")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["12.1%", "9,055 DM", "9,055", "2 Dec 2026", "2 Dec 2026, 01:58", "1,234.5"]),
        (
            "fr",
            ["12,1\u202f%", "9\u202f055\u00a0DM", "9\u202f055", "2 déc. 2026", "2 déc. 2026, 01:58", "1\u202f234,5"],
        ),
    ],
)
def test_one_format_per_kind_of_value_and_language(language, expected, settings):
    settings.TIME_ZONE = "UTC"
    moment = dt.datetime(2026, 12, 2, 1, 58, tzinfo=dt.UTC)
    with translation.override(language):
        shown = [
            display.percent(0.121),
            display.money(9055, "DM"),
            display.integer(9055),
            display.date(dt.date(2026, 12, 2)),
            display.moment(moment),
            display.number(1234.5),
        ]
    assert shown == expected


def test_a_percentage_is_rounded_not_cut():
    with translation.override("en"):
        assert (display.percent(0.12345), display.percent(0.12355), display.percent(0.99999)) == (
            "12.3%",
            "12.4%",
            "100.0%",
        )


@pytest.mark.parametrize(
    ("header", "expected"),
    [("fr-FR,fr;q=0.9,en;q=0.8", "fr"), ("de,en;q=0.5", "en"), ("en;q=0.2,fr;q=0.8", "fr"), ("de", None), ("", None)],
)
def test_accept_language_picks_the_best_language_the_app_has(header, expected):
    assert from_accept_language(header) == expected


def test_the_login_page_follows_the_browser_and_the_switcher(client):
    assert client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="fr")["Content-Language"] == "fr"
    english = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")
    assert english["Content-Language"] == "en" and "Accept-Language" in english["Vary"]

    response = client.post(SWITCH, {"language": "fr", "next": LOGIN}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302 and response["Location"] == LOGIN
    page = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "fr"
    assert BeautifulSoup(page.content, "html.parser").html["lang"] == "fr"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_the_switcher_goes_back_only_to_this_site(client, target):
    response = client.post(SWITCH, {"language": "fr", "next": target})

    assert response.status_code == 302 and response["Location"] == HOME


def test_the_switcher_refuses_a_language_the_app_does_not_have(client, officer):
    client.force_login(officer)

    response = client.post(SWITCH, {"language": "de", "next": HOME})

    assert response.status_code == 400 and b"Choose one of the languages offered." in response.content
    assert not Profile.objects.filter(user=officer).exists()


def test_a_signed_in_users_profile_language_wins_over_the_browser(client, officer, active_version):
    client.force_login(officer)
    assert client.get(HOME, HTTP_ACCEPT_LANGUAGE="fr")["Content-Language"] == "fr"  # no choice yet: browser

    response = client.post(SWITCH, {"language": "en", "next": HOME}, HTTP_ACCEPT_LANGUAGE="fr")

    assert response["Location"] == HOME
    assert Profile.objects.get(user=officer).language == "en"
    assert client.session[SESSION_KEY] == "en"
    assert client.get(HOME, HTTP_ACCEPT_LANGUAGE="fr")["Content-Language"] == "en"


def test_the_profile_page_shows_name_and_roles_and_saves_the_language(client, officer):
    officer.first_name, officer.last_name = "Olivia", "Okafor"
    officer.save()
    client.force_login(officer)

    page = BeautifulSoup(client.get(PROFILE).content, "html.parser")
    assert "Olivia Okafor" in page.get_text() and "Loan officer" in page.get_text()
    assert [o["value"] for o in page.find("select", {"name": "language"}).find_all("option")] == ["", "en", "fr"]

    response = client.post(PROFILE, {"language": "fr"}, follow=True)

    assert Profile.objects.get(user=officer).language == "fr"
    assert response["Content-Language"] == "fr"
    assert "Votre langue est enregistrée." in response.content.decode()
    client.post(PROFILE, {"language": "xx"})
    assert Profile.objects.get(user=officer).language == "fr"  # refused, unchanged


def test_an_auditor_may_choose_their_language(client, auditor):
    client.force_login(auditor)

    assert client.post(SWITCH, {"language": "fr", "next": HOME}).status_code == 302
    assert Profile.objects.get(user=auditor).language == "fr"


def test_the_api_follows_accept_language_else_the_token_users_profile(officer, officer_api, active_version):
    english = officer_api.get("/api/v1/predictions?unknown=1")
    assert english.status_code == 400 and english["Content-Language"] == "en"
    assert english.json()["errors"] == {"unknown": ["Unknown query parameter."]}
    assert "Accept-Language" in english["Vary"]

    french = officer_api.get("/api/v1/predictions?unknown=1", HTTP_ACCEPT_LANGUAGE="fr")
    assert french["Content-Language"] == "fr"
    assert french.json()["errors"] == {"unknown": ["Paramètre de requête inconnu."]}

    Profile.objects.create(user=officer, language="fr")
    by_profile = officer_api.get("/api/v1/predictions?unknown=1")
    assert by_profile["Content-Language"] == "fr"
    assert officer_api.get("/api/v1/predictions?unknown=1", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en"


def test_api_reasons_and_labels_read_in_the_requested_language(officer, officer_api, active_version):
    prediction = decided(officer, "decline")
    url = f"/api/v1/predictions/{prediction.pk}"

    english = officer_api.get(url).json()["reasons"]
    french = officer_api.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()["reasons"]

    assert [r["statement"] for r in english] == [r["statement"] for r in prediction.reasons]
    assert [r["code"] for r in french] == [r["code"] for r in english]  # codes never translate
    assert [r["value"] for r in french] == [r["value"] for r in english]
    assert all(
        f["statement"] != e["statement"] and f["label"] != e["label"] for f, e in zip(french, english, strict=True)
    )


def test_the_audit_export_is_byte_identical_in_both_languages(client, auditor, officer, active_version):
    decided(officer, "decline")
    decided(officer, "approve")
    client.force_login(auditor)
    export = reverse("audit:prediction-export")

    english = b"".join(client.get(export, HTTP_ACCEPT_LANGUAGE="en").streaming_content)
    client.post(SWITCH, {"language": "fr", "next": HOME})
    french_page = client.get(reverse("audit:prediction-list"))
    assert french_page["Content-Language"] == "fr"
    french = b"".join(client.get(export).streaming_content)

    assert english.splitlines()[0].startswith(b"id,created_at,officer,")  # machine column names
    assert french == english
