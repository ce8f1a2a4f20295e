"""The API's human texts follow the reader's language; its contract does not.

A problem's title and detail and a field's messages read in French for a French reader; the problem
``type``, the field names and the OpenAPI schema stay the same whatever the language.
"""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from tests.support import french_catalog


@pytest.fixture
def french(settings, tmp_path):
    # Changing LOCALE_PATHS resets Django's translation caches (django.test.signals).
    settings.LOCALE_PATHS = [french_catalog.install(tmp_path)]
    with translation.override("fr"):
        assert translation.gettext("Bad Request") == "Requête incorrecte"  # the catalog is the one read
        yield


def test_a_validation_problem_reads_in_french_with_its_machine_fields_unchanged(officer_api, active_version, french):
    response = officer_api.post(
        "/api/v1/score", {"inputs": {}, "colour": "red"}, format="json", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "urn:creditscore:problem:validation"
    assert body["title"] == "Requête incorrecte"
    assert body["detail"] == "La requête comporte des champs invalides."
    assert body["errors"]["colour"] == ["Champ inconnu."]


def test_a_parse_problem_reads_in_french(officer_api, french):
    response = officer_api.post(
        "/api/v1/score", b'{"inputs": {}, "inputs": {}}', content_type="application/json", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"inputs": ["Cette clé est donnée plusieurs fois ; donnez chaque clé une seule fois."]}


def test_an_unknown_address_is_a_french_404_problem(officer_api, french):
    response = officer_api.get("/api/v1/nowhere", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    body = response.json()
    assert (body["type"], body["status"], body["title"]) == ("about:blank", 404, "Introuvable")
    assert body["detail"] == "Il n'y a pas de point d'accès de l'API à cette adresse ; voir /api/v1/docs/."


def test_a_refused_role_is_told_in_french(auditor, french):
    from tests.conftest import token_client

    response = token_client(auditor).post("/api/v1/score", {"inputs": {}}, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 403
    body = response.json()
    assert (body["title"], body["detail"]) == ("Interdit", "Votre rôle ne le permet pas.")


def test_the_schema_is_the_same_in_english_for_a_french_reader(officer_api, active_version, settings, tmp_path):
    english = officer_api.get("/api/v1/schema/?format=json")
    assert english.status_code == 200
    settings.LOCALE_PATHS = [french_catalog.install(tmp_path)]
    with translation.override("fr"):
        french = officer_api.get("/api/v1/schema/?format=json", HTTP_ACCEPT_LANGUAGE="fr")
        # The reader's language is French (a problem would be French); the contract is not.
        assert translation.get_language() == "fr"
    assert french.status_code == 200
    assert json.loads(french.content) == json.loads(english.content)
    assert "Requête incorrecte" not in french.content.decode()


def test_an_application_s_field_messages_read_in_french_with_french_limits(officer_api, active_version, french):
    from tests.support.applications import inputs_by_decision

    inputs = dict(inputs_by_decision()["approve"])
    inputs |= {"duration_in_month": 240, "credit_amount": "9055", "purpose": "yacht", "age_in_years": True}
    del inputs["credit_history"]
    response = officer_api.post("/api/v1/score", {"inputs": inputs}, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "urn:creditscore:problem:invalid-application"
    assert body["errors"] == {
        "inputs.duration_in_month": ["Doit être au plus 120\u00a0mois."],
        "inputs.credit_amount": [
            "Un nombre entier est attendu, pas une chaîne : envoyez un nombre JSON, sans guillemets."
        ],
        "inputs.purpose": ["« yacht » ne fait pas partie des choix possibles."],
        "inputs.age_in_years": ["Un nombre entier est attendu, pas true ou false."],
        "inputs.credit_history": ["Ce champ est obligatoire."],
    }
    english = officer_api.post("/api/v1/score", {"inputs": inputs}, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["errors"]["inputs.duration_in_month"] == ["Must be at most 120 months."]
    assert english["errors"]["inputs.credit_history"] == ["This field is required."]


def test_every_engine_message_has_its_french_wording(french):
    from scoring.display.messages import TRANSLATED
    from scoring.engine import validation

    templates = {
        value
        for name, value in vars(validation).items()
        if name.isupper() and isinstance(value, str) and value.endswith(".") and " " in value
    }
    assert templates <= set(TRANSLATED), templates - set(TRANSLATED)
    for template in templates:
        assert str(TRANSLATED[template]) != template, template
