"""A policy rule's applicant statement in English and French: edited in the admin, carried by the ZEN export,
stored on the decision's reason when the rule decides, and shown in the reader's language."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from scoring.decisions import services
from scoring.decisions.presentation import reason_rows
from scoring.engine.policy import BEFORE_MODEL, Condition, PolicyRejected, Rule, from_jdm, reason_statement, to_jdm
from scoring.engine.schema import APPROVE, DECLINE, localized_schema
from scoring.lifecycle import registry
from scoring.models import Channel, PolicyRule
from scoring.notices import services as notice_services
from scoring.policy import defaults
from scoring.policy import services as policy_services
from tests.support import french_catalog
from tests.support.applications import inputs_by_decision

pytestmark = pytest.mark.django_db

ENGLISH = "The amount requested is above this product's maximum."
FRENCH = "Le montant demandé dépasse le maximum de ce produit."


def _knock_out(amount: int, *, statement_fr: str) -> Rule:
    return Rule(
        code="AMOUNT_ABOVE_MAXIMUM",
        name=f"Amount of {amount} DM or more",
        statement=ENGLISH,
        statement_fr=statement_fr,
        outcome=DECLINE,
        stage=BEFORE_MODEL,
        conditions=(Condition("credit_amount", f">= {amount}"),),
    )


def _activate(rules):
    model = registry.get_active().model
    version = policy_services.create_version(name="Bilingual policy", rules=rules, user=None, model=model)
    policy_services.activate(version, user=None, model=model)
    return version


@pytest.fixture
def approved_inputs(active_version):
    return dict(inputs_by_decision()[APPROVE])


def test_the_default_policy_ships_every_statement_in_both_languages():
    for rule in defaults.RULES:
        assert rule.statement.strip() and rule.statement_fr.strip(), rule.code
        assert rule.statement_fr != rule.statement, rule.code


def test_the_zen_export_carries_the_french_statement_and_imports_it_back():
    document = json.loads(json.dumps(to_jdm(defaults.RULES)))
    carried = {r["code"]: r["statement_fr"] for r in document["creditscore"]["rules"]}
    assert carried == {r.code: r.statement_fr for r in defaults.RULES}
    # The decision table a GoRules tool runs is unchanged: statements are not among its columns.
    table = document["nodes"][1]["content"]
    assert [o["field"] for o in table["outputs"]] == ["code", "outcome", "stage"]
    assert all("statement" not in json.dumps(row) for row in table["rules"])
    assert from_jdm(document) == list(defaults.RULES)


def test_a_decision_model_without_french_statements_imports_with_them_blank():
    document = to_jdm(defaults.RULES)
    for extra in document["creditscore"]["rules"]:
        del extra["statement_fr"]
    rules = from_jdm(document)
    assert [r.statement_fr for r in rules] == ["", "", ""]
    assert [r.statement for r in rules] == [r.statement for r in defaults.RULES]


def test_the_policy_editor_saves_and_shows_the_french_statement(active_version, policy_manager):
    draft = policy_services.create_version(name="Spring policy", rules=defaults.RULES[1:], user=policy_manager)
    client = Client()
    client.force_login(policy_manager)
    form = client.get(reverse("admin:scoring_policyrule_add") + f"?version={draft.pk}")
    assert b'name="statement_fr"' in form.content and b"Statement in French" in form.content
    response = client.post(
        reverse("admin:scoring_policyrule_add"),
        {
            "version": draft.pk,
            "position": 40,
            "code": "CAR_NEW_ABOVE_LIMIT",
            "name": "New car above the limit",
            "statement": "A new car loan of this size is reviewed by an officer.",
            "statement_fr": "Un crédit pour une voiture neuve de ce montant est examiné par un chargé de crédit.",
            "outcome": "refer",
            "stage": "after_model",
            "legal_basis": "",
            "conditions-TOTAL_FORMS": 1,
            "conditions-INITIAL_FORMS": 0,
            "conditions-MIN_NUM_FORMS": 0,
            "conditions-MAX_NUM_FORMS": 1000,
            "conditions-0-field": "credit_amount",
            "conditions-0-test": "> 15000",
        },
    )
    assert response.status_code == 302, response.content
    rule = PolicyRule.objects.get(version=draft, code="CAR_NEW_ABOVE_LIMIT")
    assert rule.statement_fr.startswith("Un crédit pour une voiture neuve")
    page = client.get(reverse("admin:scoring_policyversion_change", args=[draft.pk])).content.decode()
    assert 'lang="fr">Un crédit pour une voiture neuve de ce montant' in page
    # A copy keeps both languages.
    copy = policy_services.copy_to_draft(draft, user=policy_manager)
    assert copy.rules.get(code="CAR_NEW_ABOVE_LIMIT").statement_fr == rule.statement_fr


def test_the_deciding_rule_stores_both_statements_on_the_decision(officer, approved_inputs):
    _activate([_knock_out(approved_inputs["credit_amount"], statement_fr=FRENCH)])
    prediction = services.score_application(user=officer, inputs=approved_inputs, channel=Channel.WEB)
    first = prediction.reasons[0]
    assert (prediction.decision, first["code"], first["rule"]) == (DECLINE, "AMOUNT_ABOVE_MAXIMUM", True)
    assert (first["statement"], first["statement_fr"]) == (ENGLISH, FRENCH)
    schema = prediction.model_version.metadata
    with translation.override("fr"):
        assert reason_rows(prediction.reasons, schema)[0].statement == FRENCH
    with translation.override("en-gb"):
        assert reason_rows(prediction.reasons, schema)[0].statement == ENGLISH
    # The model's own reasons read in the bundle's French, by their code.
    french_schema = localized_schema(schema, "fr")
    with translation.override("fr"):
        rest_fr = [r.statement for r in reason_rows(prediction.reasons, french_schema)[1:]]
    french = {
        reason["code"]: reason["statement"]
        for feature in french_schema["features"]
        for reason in (feature.get("reasons") or {}).values()
    }
    assert rest_fr == [french[r["code"]] for r in prediction.reasons[1:]]


def test_the_notice_gives_the_rule_statement_in_the_language_it_is_issued_in(officer, approved_inputs):
    _activate([_knock_out(approved_inputs["credit_amount"], statement_fr=FRENCH)])
    prediction = services.score_application(user=officer, inputs=approved_inputs, channel=Channel.WEB)
    with translation.override("fr"):
        assert notice_services.applicant_reasons(prediction)[0] == FRENCH
    with translation.override("en"):
        assert notice_services.applicant_reasons(prediction)[0] == ENGLISH


def test_a_rule_without_a_french_statement_gives_french_readers_the_statement(officer, approved_inputs):
    _activate([_knock_out(approved_inputs["credit_amount"], statement_fr="")])
    prediction = services.score_application(user=officer, inputs=approved_inputs, channel=Channel.WEB)
    first = prediction.reasons[0]
    assert "statement_fr" not in first
    assert reason_statement(first, "fr") == ENGLISH
    with translation.override("fr"):
        assert reason_rows(prediction.reasons, prediction.model_version.metadata)[0].statement == ENGLISH


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", FRENCH), ("fr-fr", FRENCH), ("FR-CA", FRENCH), ("en-gb", ENGLISH), ("de", ENGLISH), (None, ENGLISH)],
)
def test_a_reason_statement_is_chosen_by_the_language_family(language, expected):
    assert reason_statement({"statement": ENGLISH, "statement_fr": FRENCH}, language) == expected


def test_the_audit_page_gives_the_rule_statement_in_the_reader_s_language(
    client, auditor, officer, approved_inputs, settings, tmp_path
):
    _activate([_knock_out(approved_inputs["credit_amount"], statement_fr=FRENCH)])
    prediction = services.score_application(user=officer, inputs=approved_inputs, channel=Channel.WEB)
    client.force_login(auditor)
    english = client.get(f"/audit/predictions/{prediction.pk}/").content.decode()
    settings.LOCALE_PATHS = [french_catalog.install(tmp_path)]
    with translation.override("fr"):
        french = client.get(f"/audit/predictions/{prediction.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<h2>Reasons</h2>" in english and ENGLISH.replace("'", "&#x27;") in english and FRENCH not in english
    assert "<h2>Motifs</h2>" in french and FRENCH in french
    assert "Règle décisive" in french and "AMOUNT_ABOVE_MAXIMUM" in french


def test_a_rule_that_does_not_fit_is_explained_in_the_reader_s_language(active_version, settings, tmp_path):
    model = registry.get_active().model
    bad = Rule(
        code="BOAT",
        name="Boats",
        statement="Boats are reviewed.",
        outcome="refer",
        stage=BEFORE_MODEL,
        conditions=(Condition("purpose", '"boat"'), Condition("probability", "> 0.5")),
    )
    english = policy_services.problems([bad], model)["BOAT"]
    assert english[0].startswith("The condition on ") and "names 'boat', which is not one of its choices" in english[0]
    assert english[1] == "A rule before the model cannot test the model's probability."
    settings.LOCALE_PATHS = [french_catalog.install(tmp_path)]
    with translation.override("fr"):
        french = policy_services.problems([bad], model)["BOAT"]
        with pytest.raises(PolicyRejected) as refused:
            policy_services.import_jdm({"nodes": []}, name="Empty", user=None, model=model)
    assert french[0].startswith("La condition sur ") and "cite 'boat', qui ne fait pas partie de ses choix" in french[0]
    assert french[1] == "Une règle avant le modèle ne peut pas tester le résultat du modèle (probability)."
    assert refused.value.errors == {"policy": ["Le modèle de décision doit contenir exactement une table de décision."]}
