"""prepare_bundle turns a plain MLflow CatBoost model and a labelled sample into a bundle the app loads and scores."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import mlflow.catboost
import numpy as np
import pandas as pd
import pytest
import yaml
from catboost import CatBoostClassifier
from django.core.management import CommandError, call_command

from scoring.engine import (
    APPROVE,
    DECLINE,
    REFER,
    InvalidApplication,
    bundle_file_hashes,
    drift,
    load_bundle,
    prepare,
    training,
)
from scoring.engine.prepare import prepare_bundle, risk_bands_for
from scoring.engine.schema import BundleRejected
from tests.support.plain_mlflow import (
    CATEGORIES,
    FEATURES,
    NUMERIC,
    PIP_REQUIREMENTS,
    PROTECTED,
    TARGET,
    write_plain_model,
)


def run(*args: object) -> str:
    out = io.StringIO()
    call_command("prepare_bundle", *(str(a) for a in args), stdout=out)
    return out.getvalue()


def refusal(*args: object) -> str:
    with pytest.raises(CommandError) as caught:
        run(*args)
    return str(caught.value)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return write_plain_model(tmp_path_factory.mktemp("plain"), best_threshold=0.52)


@pytest.fixture(scope="module")
def labelled(plain, tmp_path_factory):
    out = tmp_path_factory.mktemp("labelled") / "bundle"
    report = run(plain.folder, "--sample", plain.sample, "--target", TARGET, "--labels", plain.labels, "--out", out)
    return out, report


@pytest.fixture(scope="module")
def unlabelled(plain, tmp_path_factory):
    out = tmp_path_factory.mktemp("unlabelled") / "bundle"
    report = run(plain.folder, "--sample", plain.sample, "--target", TARGET, "--out", out)
    return out, report


def metadata_of(folder: Path) -> dict:
    return yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))["metadata"]


def sample_of(plain) -> pd.DataFrame:
    return pd.read_csv(plain.sample, dtype=str, keep_default_na=False)


def field(metadata: dict, name: str) -> dict:
    return next(f for f in [*metadata["features"], *metadata["protected_attributes"]] if f["name"] == name)


# --- the prepared bundle ------------------------------------------------------------


def test_prepared_bundle_loads_and_scores_the_lenders_applications(labelled, plain):
    out, _ = labelled
    model = load_bundle(out)
    assert model.feature_names == FEATURES
    assert {f.name: f.kind for f in model.features if f.name in CATEGORIES} == dict.fromkeys(CATEGORIES, "categorical")
    assert {f.name: f.kind for f in model.features if f.name in NUMERIC} == {
        n: "number" if t == "double" else "integer" for n, t in NUMERIC.items()
    }
    application = model.validate(model.example_inputs())
    score = model.score_one(application.features)
    assert 0.0 < score.probability < 1.0 and score.decision in (APPROVE, REFER, DECLINE)

    checked = model.validate_frame(sample_of(plain))
    assert checked.errors == {}
    scored = model.score_frame(checked.valid, reasons_for="none")
    assert round(float(np.mean(scored.decisions == APPROVE)), 4) == metadata_of(out)["metrics"]["approval_rate"]


def test_unknown_category_negative_amount_and_out_of_range_term_are_refused(labelled):
    model = load_bundle(labelled[0])
    inputs = model.example_inputs() | {"home_ownership": "castle", "loan_amount": -5000, "term_months": -3}
    with pytest.raises(InvalidApplication) as caught:
        model.validate(inputs)
    assert set(caught.value.errors) == {"home_ownership", "loan_amount", "term_months"}


def test_choices_are_the_sample_values_with_labels_from_the_yaml(labelled, plain):
    metadata = metadata_of(labelled[0])
    assert field(metadata, "home_ownership")["choices"] == [
        {"value": "own", "label": "Owns outright"},
        {"value": "mortgage", "label": "Owns with a mortgage"},
        {"value": "rent", "label": "Rents"},
    ]
    # Labelled choices first, in the YAML's order; the rest keep their value as label.
    assert field(metadata, "loan_purpose")["choices"] == [
        {"value": "car", "label": "Car"},
        *({"value": v, "label": v} for v in sorted(set(CATEGORIES["loan_purpose"]) - {"car"})),
    ]
    sample = sample_of(plain)
    for name in CATEGORIES:
        assert {c["value"] for c in field(metadata, name)["choices"]} == set(sample[name])


def test_labels_help_units_sections_and_protected_attributes_come_from_the_yaml(labelled):
    metadata = metadata_of(labelled[0])
    amount = field(metadata, "loan_amount")
    assert (amount["label"], amount["help"], amount["unit"], amount["section"]) == (
        "Loan amount",
        "Amount requested.",
        "EUR",
        "loan",
    )
    assert metadata["name"] == "acme-personal-loans"
    assert [s["name"] for s in metadata["sections"]] == ["loan", "applicant", "monitoring"]
    assert [f["name"] for f in metadata["protected_attributes"]] == [PROTECTED]
    gender = field(metadata, PROTECTED)
    assert gender["section"] == "monitoring"
    assert gender["choices"] == [{"value": "f", "label": "Female"}, {"value": "m", "label": "Male"}]
    assert load_bundle(labelled[0]).protected[0].name == PROTECTED


def test_the_report_says_which_labels_are_defaults(labelled, unlabelled):
    _, with_labels = labelled
    assert "Default labels (the column name, humanised) for: debt_to_income" in with_labels
    assert "loan_amount," not in with_labels.split("Default labels")[1].splitlines()[0]
    _, without = unlabelled
    line = next(line for line in without.splitlines() if line.startswith("Default labels"))
    assert all(name in line for name in FEATURES)
    assert "Default choice labels (the value itself) for some choices of: home_ownership" in without
    metadata = metadata_of(unlabelled[0])
    assert field(metadata, "debt_to_income")["label"] == "Debt to income"
    assert field(metadata, "home_ownership")["choices"][0] == {"value": "mortgage", "label": "mortgage"}


def test_reasons_come_from_the_yaml_and_the_missing_ones_are_generated_and_reported(labelled, unlabelled):
    folder, report = labelled
    metadata = metadata_of(folder)
    assert field(metadata, "loan_amount")["reasons"] == {
        "raises": {"code": "AMOUNT_HIGH", "statement": "Amount of credit requested too high"},
        "lowers": {"code": "AMOUNT_SUITED", "statement": "Amount of credit requested is suitable"},
    }
    term = field(metadata, "term_months")["reasons"]
    assert term["raises"] == {"code": "TERM_LONG", "statement": "Duration of credit requested too long"}
    assert term["lowers"] == {"code": "TERM_MONTHS_LOWERS", "statement": "Loan term supports the credit"}
    assert "reasons" not in field(metadata, PROTECTED)
    line = next(line for line in report.splitlines() if line.startswith("Reasons generated from the label"))
    assert "term_months (lowers): 'Loan term supports the credit'" in line
    assert "loan_amount" not in line and "term_months (raises)" not in line
    # Without a labels file every feature's reasons are generated, and every one is listed for review.
    _, without = unlabelled
    line = next(line for line in without.splitlines() if line.startswith("Reasons generated from the label"))
    assert all(f"{name} (raises)" in line and f"{name} (lowers)" in line for name in FEATURES)
    loaded = load_bundle(unlabelled[0])
    assert all(f.raises[0] and f.raises[1] and f.lowers[0] and f.lowers[1] for f in loaded.features)


def test_malformed_reasons_in_the_yaml_are_refused(plain, tmp_path):
    labels = tmp_path / "labels.yaml"
    reasons = {"raises": {"code": "", "statement": "Too long"}, "later": {"code": "X", "statement": "Y"}}
    labels.write_text(yaml.safe_dump({"fields": {"term_months": {"reasons": reasons}}}), encoding="utf-8")
    message = refusal(plain.folder, "--sample", plain.sample, "--target", TARGET, "--labels", labels)
    assert "labels fields.term_months.reasons has unknown keys ['later']" in message
    assert "labels fields.term_months.reasons.raises: expected {code: ..., statement: ...}, both non-empty" in message


def test_numeric_ranges_hold_the_sample_widened_and_yaml_ranges_win(labelled, plain):
    metadata = metadata_of(labelled[0])
    sample = sample_of(plain)
    for name in NUMERIC:
        values = sample[name].astype(float)
        spec = field(metadata, name)
        assert spec["min"] <= values.min() and spec["max"] > values.max(), name
    # Never negative in the sample: never negative in the form.
    assert field(metadata, "loan_amount")["min"] == 0
    assert (field(metadata, "term_months")["min"], field(metadata, "term_months")["max"]) == (6, 96)
    assert isinstance(field(metadata, "loan_amount")["max"], int)


def test_the_threshold_minimises_the_cost_on_the_sample(labelled, plain):
    metadata = metadata_of(labelled[0])
    model = load_bundle(labelled[0])
    sample = sample_of(plain)
    p = model.score_frame(model.validate_frame(sample).valid, reasons_for="none").probabilities
    y = (sample[TARGET] == "1").to_numpy(dtype=int)
    best = min(training.decision_cost(y, p, t) for t in training.threshold_candidates(p))
    assert training.decision_cost(y, p, metadata["threshold"]) == best
    refer_share = np.mean((p >= metadata["refer_band"]["lower"]) & (p < metadata["threshold"]))
    assert refer_share == pytest.approx(0.15, abs=0.01)


def test_dearer_missed_defaults_lower_the_threshold(plain, tmp_path):
    cheap = prepare_bundle(
        model_dir=plain.folder, sample_path=plain.sample, target=TARGET, cost_fn=2, out_dir=tmp_path / "a"
    )
    dear = prepare_bundle(
        model_dir=plain.folder, sample_path=plain.sample, target=TARGET, cost_fn=20, out_dir=tmp_path / "b"
    )
    assert dear.metadata["threshold"] < cheap.metadata["threshold"]
    assert dear.metadata["training"]["cost_approve_bad"] == 20.0


def test_no_band_mixes_decisions_and_no_low_risk_band_declines(labelled, unlabelled):
    for out in (labelled[0], unlabelled[0]):
        model = load_bundle(out)
        grid = np.unique(np.r_[np.linspace(0, 1, 20001), model.threshold, model.refer_lower])
        decisions, bands = model.decide(grid), model.band(grid)
        for band in model.bands:
            taken = set(decisions[bands == band["name"]])
            assert len(taken) == 1, (band, taken)
            if "low risk" in band["label"].lower():
                assert taken == {APPROVE}
        assert [b["label"] for b in model.bands] == [
            "Very low risk",
            "Low risk",
            "Moderate risk",
            "High risk",
            "Very high risk",
        ]


@pytest.mark.parametrize(
    ("threshold", "refer_lower", "labels"),
    [
        (0.3, 0.3, ["Very low risk", "Low risk", "High risk", "Very high risk"]),  # no refer band
        (1.0, 0.6, ["Very low risk", "Low risk", "Moderate risk"]),  # declines nobody
        (0.3, 0.0, ["Moderate risk", "High risk", "Very high risk"]),  # approves nobody
    ],
)
def test_risk_bands_follow_any_policy(threshold, refer_lower, labels):
    p = np.linspace(0.01, 0.99, 99)
    bands = risk_bands_for(p, threshold=threshold, refer_lower=refer_lower)
    assert [b["label"] for b in bands] == labels
    assert bands[-1]["upper"] == 1.0
    uppers = [b["upper"] for b in bands]
    assert uppers == sorted(uppers) and len(set(uppers)) == len(uppers)
    assert threshold in uppers and (refer_lower in uppers or refer_lower == 0.0)


def test_identical_scores_give_one_band_per_decision():
    bands = risk_bands_for(np.full(50, 0.2), threshold=0.5, refer_lower=0.4)
    assert [(b["label"], b["upper"]) for b in bands] == [
        ("Low risk", 0.4),
        ("Moderate risk", 0.5),
        ("Very high risk", 1.0),
    ]


# --- best_threshold ------------------------------------------------------------------


def test_an_mlflow_best_threshold_is_offered_and_used_on_request(labelled, plain, tmp_path):
    _, report = labelled
    assert "offers best_threshold 0.52" in report and "--threshold best" in report
    assert metadata_of(labelled[0])["threshold"] != 0.52

    out = tmp_path / "best"
    report = run(plain.folder, "--sample", plain.sample, "--target", TARGET, "--threshold", "best", "--out", out)
    metadata = metadata_of(out)
    assert metadata["threshold"] == 0.52 and metadata["refer_band"]["upper"] == 0.52
    assert metadata["refer_band"]["lower"] < 0.52
    assert "Threshold 0.52: it is the model's own best_threshold" in report
    assert load_bundle(out).threshold == 0.52


def test_an_explicit_threshold_is_used_and_a_missing_best_threshold_refused(plain, tmp_path):
    run(plain.folder, "--sample", plain.sample, "--target", TARGET, "--threshold", "0.3", "--out", tmp_path / "x")
    assert metadata_of(tmp_path / "x")["threshold"] == 0.3
    assert "not-a-number" in refusal(
        plain.folder, "--sample", plain.sample, "--target", TARGET, "--threshold", "not-a-number"
    )

    bare = write_plain_model(tmp_path / "bare")
    message = refusal(bare.folder, "--sample", bare.sample, "--target", TARGET, "--threshold", "best")
    assert "has no best_threshold" in message


# --- what is written beside the model ---------------------------------------------------


def test_reference_distributions_cover_every_field_and_show_no_drift_on_the_sample(labelled, plain):
    reference = metadata_of(labelled[0])["reference"]
    assert list(reference["features"]) == FEATURES
    assert list(reference["protected"]) == [PROTECTED]
    assert reference["score"]["rows"] == 600
    model = load_bundle(labelled[0])
    sample = model.validate_frame(sample_of(plain)).valid
    for name in FEATURES:
        assert drift.feature_drift(name, reference["features"][name], sample[name]).psi < 0.01, name


def test_validation_sample_and_input_example_are_shipped(labelled, plain):
    out, _ = labelled
    metadata = metadata_of(out)
    assert metadata["creditscore_schema"] == 3
    assert metadata["validation_sample"] == {"file": "validation_sample.csv", "target": TARGET, "bad_value": "1"}
    shipped = pd.read_csv(out / "validation_sample.csv", dtype=str, keep_default_na=False)
    assert list(shipped.columns) == [*FEATURES, PROTECTED, TARGET]
    assert shipped.equals(sample_of(plain)[[*FEATURES, PROTECTED, TARGET]])  # the text exactly as given
    model = load_bundle(out)
    assert list(model.input_example["columns"]) == FEATURES
    model.validate(model.example_inputs())


def test_the_plain_folder_is_left_untouched_when_writing_elsewhere(plain, labelled):
    mlmodel = yaml.safe_load((plain.folder / "MLmodel").read_text(encoding="utf-8"))
    assert mlmodel["metadata"] == {"best_threshold": 0.52}
    assert not (plain.folder / "validation_sample.csv").exists()


def test_it_prepares_in_place_and_again_identically(plain, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(plain.folder, folder)
    run(folder, "--sample", plain.sample, "--target", TARGET)
    first = bundle_file_hashes(folder)
    run(folder, "--sample", plain.sample, "--target", TARGET)
    assert bundle_file_hashes(folder) == first
    assert load_bundle(folder).metadata["best_threshold"] == 0.52


def test_a_model_saved_without_signature_gets_one(tmp_path, plain):
    model = CatBoostClassifier()
    model.load_model(str(plain.folder / "model.cb"))
    mlflow.catboost.save_model(model, str(tmp_path / "nosig"), pip_requirements=PIP_REQUIREMENTS)
    report = run(tmp_path / "nosig", "--sample", plain.sample, "--target", TARGET, "--out", tmp_path / "out")
    assert "had no signature" in report
    loaded = load_bundle(tmp_path / "out")
    assert {f.name: f.kind for f in loaded.features}["loan_amount"] == "integer"
    assert {f.name: f.kind for f in loaded.features}["debt_to_income"] == "number"


# --- refusals ---------------------------------------------------------------------------


def write_sample(plain, tmp_path: Path, change) -> Path:
    frame = change(sample_of(plain))
    path = tmp_path / "changed.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("change", "target", "expected"),
    [
        (lambda f: f, "outcome", "The sample has no target column 'outcome'"),
        (lambda f: f.assign(defaulted=np.resize(["0", "1", "2"], len(f))), TARGET, "must hold exactly two values"),
        (lambda f: f.assign(defaulted=np.resize(["paid", "late"], len(f))), TARGET, "Pass --bad-value, one of"),
        (lambda f: f.drop(columns=["loan_amount"]), TARGET, "lacks the model's features ['loan_amount']"),
        (lambda f: f.assign(term_months=f["term_months"].where(f.index != 3, "")), TARGET, "term_months: 1 empty"),
        (
            lambda f: f.assign(loan_amount=f["loan_amount"].where(f.index != 0, "1,500")),
            TARGET,
            "'1,500' on CSV line 2",
        ),
        (lambda f: f.assign(years_employed=f["years_employed"].where(f.index != 0, "2.5")), TARGET, "fractions"),
        (lambda f: f.head(40), TARGET, "has 40 rows"),
    ],
    ids=["unknown-target", "non-binary", "unknown-pair", "missing-feature", "blank", "separator", "fraction", "few"],
)
def test_bad_samples_are_refused_naming_the_problem(plain, tmp_path, change, target, expected):
    before = bundle_file_hashes(plain.folder)
    message = refusal(plain.folder, "--sample", write_sample(plain, tmp_path, change), "--target", target)
    assert expected in message
    assert bundle_file_hashes(plain.folder) == before


def test_every_problem_is_listed_at_once(plain, tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text(
        yaml.safe_dump({"fields": {"home_ownership": {"lable": "Home", "choices": {"castle": "Castle"}}}}),
        encoding="utf-8",
    )
    sample = write_sample(plain, tmp_path, lambda f: f.drop(columns=["loan_amount", "term_months"]))
    message = refusal(plain.folder, "--sample", sample, "--target", "outcome", "--labels", labels)
    assert "unknown keys ['lable']" in message
    assert "lacks the model's features ['loan_amount', 'term_months']" in message
    assert "no target column 'outcome'" in message

    labels.write_text(
        yaml.safe_dump({"fields": {"home_ownership": {"choices": {"castle": "Castle"}}, "nope": {"label": "x"}}}),
        encoding="utf-8",
    )
    message = refusal(plain.folder, "--sample", plain.sample, "--target", TARGET, "--labels", labels)
    assert "['castle'] do not occur in the sample" in message
    assert "labels fields ['nope'] are neither model features" in message


def test_a_label_given_twice_is_refused(plain, tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text("fields:\n  loan_amount:\n    label: Amount\n    label: Loan amount\n", encoding="utf-8")
    message = refusal(plain.folder, "--sample", plain.sample, "--target", TARGET, "--labels", labels)
    assert "'label' is given twice (lines 3 and 4)" in message


def test_labels_that_would_break_the_schema_are_refused(plain, tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text(
        yaml.safe_dump(
            {
                "fields": {"loan_amount": {"min": 0.5}, "annual_income": {"max": 10}, PROTECTED: {"label": "Gender"}},
                "protected_attributes": [PROTECTED],
            }
        ),
        encoding="utf-8",
    )
    sample = write_sample(plain, tmp_path, lambda f: f.assign(**{PROTECTED: ""}))
    message = refusal(plain.folder, "--sample", sample, "--target", TARGET, "--labels", labels)
    assert "'loan_amount' takes whole numbers" in message
    assert "labels fields.annual_income: the range 0 to 10 excludes sample values" in message
    assert f"{PROTECTED}: the sample has no value in this column" in message


def test_bad_value_must_occur_in_the_target(plain):
    message = refusal(plain.folder, "--sample", plain.sample, "--target", TARGET, "--bad-value", "yes")
    assert "--bad-value 'yes' does not occur in 'defaulted'; its values are ['0', '1']" in message


def test_a_named_bad_value_is_used(plain, tmp_path):
    sample = write_sample(plain, tmp_path, lambda f: f.assign(defaulted=f[TARGET].map({"0": "paid", "1": "late"})))
    out = tmp_path / "out"
    run(plain.folder, "--sample", sample, "--target", TARGET, "--bad-value", "late", "--out", out)
    assert metadata_of(out)["validation_sample"]["bad_value"] == "late"
    assert metadata_of(out)["metrics"]["positive_rate"] == pytest.approx(96 / 600, abs=1e-4)


def test_a_folder_without_mlmodel_or_a_full_out_folder_is_refused(plain, tmp_path):
    (tmp_path / "bare").mkdir()
    shutil.copy(plain.folder / "model.cb", tmp_path / "bare" / "model.cb")
    assert "has no MLmodel file" in refusal(tmp_path / "bare", "--sample", plain.sample, "--target", TARGET)
    message = refusal(plain.folder, "--sample", plain.sample, "--target", TARGET, "--out", tmp_path / "bare")
    assert "is not empty" in message


def test_a_bundle_the_app_would_refuse_leaves_the_folder_as_it_was(plain, tmp_path, monkeypatch):
    folder = tmp_path / "model"
    shutil.copytree(plain.folder, folder)
    before = bundle_file_hashes(folder)

    def refuse(path):
        raise BundleRejected("refused for the test")

    monkeypatch.setattr(prepare, "_check_written", refuse)
    assert "refused for the test" in refusal(folder, "--sample", plain.sample, "--target", TARGET)
    assert bundle_file_hashes(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging folder left behind


def test_a_best_threshold_that_is_not_a_probability_is_not_offered(plain, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(plain.folder, folder)
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    mlmodel["metadata"]["best_threshold"] = "0.52"
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel), encoding="utf-8")
    report = run(folder, "--sample", plain.sample, "--target", TARGET, "--out", tmp_path / "out")
    assert "best_threshold '0.52' is not a probability in (0, 1]: not offered" in report
