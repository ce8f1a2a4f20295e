"""Bundle texts per language: plain text for every language, or {en, fr}; the engine keeps both and reads one."""

from __future__ import annotations

import shutil

import pytest
import yaml

from scoring.engine import BundleRejected, load_bundle
from scoring.engine.labels import localized, read_labels, text_problem
from scoring.engine.schema import Feature, localized_schema
from tests.support import DEFAULT_BUNDLE


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        ({"en": "Loan amount", "fr": "Montant du crédit"}, "fr", "Montant du crédit"),
        ({"en": "Loan amount", "fr": "Montant du crédit"}, "fr-ca", "Montant du crédit"),
        ({"en": "Loan amount", "fr": "Montant du crédit"}, "en", "Loan amount"),
        ({"en": "Loan amount"}, "fr", "Loan amount"),  # no French: English
        ("Loan amount", "fr", "Loan amount"),  # one language for all
        ({"fr": "Montant"}, "en", "Montant"),  # the one language given
        (None, "fr", ""),
    ],
)
def test_a_text_is_read_in_the_language_asked_else_english_else_the_one_given(value, language, expected):
    assert localized(value, language) == expected


def test_a_text_per_language_needs_english_and_known_languages_naming_the_field():
    assert text_problem({"en": "Age", "fr": "Âge"}, "x.label") is None
    assert "unknown languages ['de']" in text_problem({"en": "Age", "de": "Alter"}, "fields.age.label")
    assert text_problem({"fr": "Âge"}, "fields.age.label").startswith("fields.age.label: a text per language needs")
    assert text_problem({"en": "", "fr": "Âge"}, "x").endswith("must be non-empty text.")


def test_the_labels_yaml_takes_texts_per_language_and_names_a_wrong_one(tmp_path):
    good = tmp_path / "labels.yaml"
    good.write_text(
        "sections: [{name: loan, label: {en: The loan, fr: Le crédit}}]\n"
        "fields:\n  amount: {label: {en: Amount, fr: Montant}, unit: DM, section: loan,\n"
        "    choices: {a: {en: A, fr: A}},\n"
        "    reasons: {raises: {code: AMOUNT_HIGH, statement: {en: Too high, fr: Trop élevé}}}}\n",
        encoding="utf-8",
    )
    problems: list[str] = []
    labels = read_labels(good, problems)
    assert problems == []
    assert labels.fields["amount"]["label"] == {"en": "Amount", "fr": "Montant"}

    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  amount: {label: {en: Amount, fn: Montant}}\n", encoding="utf-8")
    read_labels(bad, problems)
    assert problems == ["labels fields.amount.label: unknown languages ['fn']; a text per language takes ['en', 'fr']."]


def test_the_bundled_model_ships_every_text_in_english_and_french():
    model = load_bundle(DEFAULT_BUNDLE)
    english = {f.name: f for f in model.all_fields}
    french = {f.name: f for f in model.fields_in("fr")}
    assert english["credit_amount"].label == "Loan amount" and french["credit_amount"].label == "Montant du crédit"
    assert french["status_of_existing_checking_account"].label == "Solde du compte courant"
    assert french["duration_in_month"].unit == "mois" and english["duration_in_month"].unit == "months"
    assert french["savings_account_and_bonds"].reason_for(True) == ("SAVINGS_LOW", "Épargne insuffisante")
    assert english["savings_account_and_bonds"].reason_for(True) == ("SAVINGS_LOW", "Insufficient savings")
    for name, feature in french.items():  # every text differs from the English but symbols and numbers
        assert feature.label != english[name].label, name
        assert all(label for label in feature.choice_labels), name
    assert [s["label"] for s in model.sections_in("fr")][:2] == ["Le crédit", "Le demandeur"]
    # The recorded schema stays English (the audit's language); every language is read from the metadata.
    assert model.schema()["risk_bands"][0]["label"] == "Very low risk"
    schema = localized_schema(model.metadata | {"schema": model.schema()}, "fr")
    assert schema["risk_bands"][0]["label"] == "Risque très faible"
    assert schema["features"][0]["label"] == "Solde du compte courant"


def test_a_bundle_text_in_an_unknown_language_is_refused_naming_it(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    mlmodel = yaml.safe_load((bundle / "MLmodel").read_text(encoding="utf-8"))
    mlmodel["metadata"]["features"][1]["label"] = {"en": "Loan duration", "de": "Laufzeit"}
    mlmodel["metadata"]["features"][4]["label"] = {"fr": "Montant du crédit"}
    (bundle / "MLmodel").write_text(yaml.safe_dump(mlmodel, allow_unicode=True), encoding="utf-8")

    with pytest.raises(BundleRejected) as refused:
        load_bundle(bundle)

    message = str(refused.value)
    assert "metadata.features[duration_in_month].label: Additional properties are not allowed ('de'" in message
    assert "metadata.features[credit_amount].label.en: missing; a text given per language" in message


def test_a_feature_given_in_one_language_reads_the_same_in_every_language():
    feature = Feature.from_metadata({"name": "age", "kind": "integer", "label": "Age", "unit": "years"})
    assert feature.in_language("fr").label == "Age" and feature.in_language("fr").unit == "years"
