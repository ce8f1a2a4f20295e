"""Training writes a reproducible MLflow-style bundle whose threshold and bands follow the hold-out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from catboost import CatBoostClassifier

from scoring import engine
from scoring.engine import training
from tests.support import DEFAULT_BUNDLE

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "scoring" / "data" / "germancredit.csv"
FAST_ITERATIONS = 60


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, object]:
    """The same small model trained twice with one seed, plus its hold-out rows."""
    base = tmp_path_factory.mktemp("training")
    first = training.train_bundle(
        data_path=DATA,
        out_dir=base / "first",
        iterations=FAST_ITERATIONS,
        reference_sample_path=base / "reference_sample.csv",
    )
    second = training.train_bundle(data_path=DATA, out_dir=base / "second", iterations=FAST_ITERATIONS)
    return {
        "first": base / "first",
        "second": base / "second",
        "metrics": first,
        "second_metrics": second,
        "sample": base / "reference_sample.csv",
    }


def _mlmodel(bundle: Path) -> dict:
    return yaml.safe_load((bundle / "MLmodel").read_text(encoding="utf-8"))


def _holdout_scores(bundle: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predicted probabilities of default on the hold-out of the default seed."""
    frame = training.load_data(DATA)
    y = (frame[training.TARGET] == training.POSITIVE_CLASS).to_numpy(dtype=int)
    _, holdout_idx = training.stratified_split(y, holdout_fraction=0.25, seed=42)
    model = CatBoostClassifier().load_model(str(bundle / "model.cb"))
    return y[holdout_idx], model.predict_proba(frame.iloc[holdout_idx][training.FEATURE_NAMES])[:, 1]


def test_same_seed_gives_the_same_bundle(bundles):
    _, first = _holdout_scores(bundles["first"])
    _, second = _holdout_scores(bundles["second"])
    assert np.array_equal(first, second)
    for name in ("MLmodel", "model.cb", "input_example.json"):
        assert (bundles["first"] / name).read_bytes() == (bundles["second"] / name).read_bytes(), name
    assert bundles["metrics"] == bundles["second_metrics"]


def test_mlmodel_has_the_mlflow_catboost_layout(bundles):
    bundle = bundles["first"]
    mlmodel = _mlmodel(bundle)
    flavor = mlmodel["flavors"]["catboost"]
    assert flavor["data"] == "model.cb"
    assert flavor["model_type"] == "CatBoostClassifier"
    assert flavor["save_format"] == "cbm"
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.catboost"
    assert mlmodel["model_uuid"] == hashlib.sha256((bundle / "model.cb").read_bytes()).hexdigest()[:32]
    assert mlmodel["saved_input_example_info"]["pandas_orient"] == "split"

    inputs = json.loads(mlmodel["signature"]["inputs"])
    model = CatBoostClassifier().load_model(str(bundle / "model.cb"))
    assert [c["name"] for c in inputs] == list(model.feature_names_) == training.FEATURE_NAMES
    cat_names = {model.feature_names_[i] for i in model.get_cat_feature_indices()}
    assert {c["name"] for c in inputs if c["type"] == "string"} == cat_names

    example = json.loads((bundle / "input_example.json").read_text(encoding="utf-8"))
    assert example["columns"] == training.FEATURE_NAMES
    assert len(example["data"]) == 1 and len(example["data"][0]) == 17

    metadata = mlmodel["metadata"]
    assert [f["name"] for f in metadata["features"]] == training.FEATURE_NAMES
    assert {f["section"] for f in metadata["features"]} <= {s["name"] for s in metadata["sections"]}
    assert all(f["choices"] for f in metadata["features"] if f["kind"] == "categorical")
    assert metadata["refer_band"]["upper"] == metadata["threshold"]
    assert [b["name"] for b in metadata["risk_bands"]] == list("ABCDE")
    uppers = [b["upper"] for b in metadata["risk_bands"]]
    assert uppers == sorted(uppers) and uppers[-1] == 1.0


def test_the_app_engine_loads_the_bundle_and_scores_its_example(bundles):
    loaded = engine.load_bundle(bundles["first"])
    metadata = _mlmodel(bundles["first"])["metadata"]
    assert loaded.threshold == metadata["threshold"]
    assert [f.name for f in loaded.protected] == training.PROTECTED_NAMES
    example = json.loads((bundles["first"] / "input_example.json").read_text(encoding="utf-8"))
    frame = pd.DataFrame(example["data"], columns=example["columns"])
    scores = loaded.score_frame(frame)
    assert 0.0 < scores.probabilities[0] < 1.0


def test_a_trained_bundle_meets_the_contract_with_bands_cut_at_the_decisions(bundles):
    from scoring.engine.contract import check_bundle

    assert check_bundle(bundles["first"]) == []
    metadata = _mlmodel(bundles["first"])["metadata"]
    bands = {b["label"]["en"]: b["upper"] for b in metadata["risk_bands"]}  # labelled in English and French
    assert metadata["risk_bands"][0]["label"]["fr"] == "Risque très faible"
    # Approvals are low risk, referrals moderate, declines high: no "low risk" band reaches a decline.
    assert bands["Low risk"] == metadata["refer_band"]["lower"]
    assert bands["Moderate risk"] == metadata["threshold"]
    assert bands["Very low risk"] < bands["Low risk"] and metadata["threshold"] < bands["High risk"] < 1.0
    sample = pd.read_csv(bundles["first"] / "validation_sample.csv")
    assert sample.equals(pd.read_csv(bundles["sample"]))  # the hold-out, which the model never saw
    labelled = {c["value"]: c["label"] for c in metadata["features"][3]["choices"]}
    assert labelled["car (new)"] == {"en": "New car", "fr": "Voiture neuve"}


def test_threshold_minimises_the_cost_on_the_holdout(bundles):
    y, p = _holdout_scores(bundles["first"])
    threshold = _mlmodel(bundles["first"])["metadata"]["threshold"]
    best = min(training.decision_cost(y, p, t) for t in training.threshold_candidates(p))
    assert training.decision_cost(y, p, threshold) == best
    assert bundles["metrics"]["expected_cost_per_applicant"] == round(best / len(y), 4)
    assert bundles["metrics"]["expected_cost_per_applicant"] < bundles["metrics"]["cost_per_applicant_approve_all"]


def test_refer_band_holds_about_fifteen_percent_just_below_the_threshold(bundles):
    _, p = _holdout_scores(bundles["first"])
    band = _mlmodel(bundles["first"])["metadata"]["refer_band"]
    referred = (p >= band["lower"]) & (p < band["upper"])
    assert abs(referred.mean() - 0.15) <= 0.01
    assert bundles["metrics"]["refer_rate"] == round(float(referred.mean()), 4)
    # Nobody below the band scores higher than anybody in it.
    assert p[p < band["lower"]].max() < p[referred].min()
    metrics = bundles["metrics"]
    assert metrics["approval_rate"] + metrics["refer_rate"] + metrics["decline_rate"] == pytest.approx(1.0)


def test_protected_attributes_are_described_but_never_model_features(bundles):
    model = CatBoostClassifier().load_model(str(bundles["first"] / "model.cb"))
    assert not set(model.feature_names_) & set(training.PROTECTED_NAMES)
    metadata = _mlmodel(bundles["first"])["metadata"]
    assert [a["name"] for a in metadata["protected_attributes"]] == training.PROTECTED_NAMES
    assert {a["section"] for a in metadata["protected_attributes"]} == {"monitoring"}
    assert set(metadata["reference"]["protected"]) == set(training.PROTECTED_NAMES)


def test_reference_distributions_are_shares_of_their_rows(bundles):
    reference = _mlmodel(bundles["first"])["metadata"]["reference"]
    columns = {**reference["features"], **reference["protected"], "score": reference["score"]}
    assert set(reference["features"]) == set(training.FEATURE_NAMES)
    for name, dist in columns.items():
        assert sum(dist["frequencies"]) == pytest.approx(1.0, abs=1e-5), name
        if dist["kind"] == "numeric":
            assert len(dist["edges"]) == len(dist["frequencies"]) + 1, name
            assert dist["edges"] == sorted(dist["edges"]), name
        else:
            assert len(dist["categories"]) == len(dist["frequencies"]), name


def test_reference_sample_holds_the_holdout_rows(bundles):
    sample = pd.read_csv(bundles["sample"])
    assert len(sample) == bundles["metrics"]["holdout_rows"] == 250
    assert {*training.FEATURE_NAMES, *training.PROTECTED_NAMES, training.TARGET} == set(sample.columns)
    assert (sample[training.TARGET] == "bad").mean() == pytest.approx(0.3)


def test_auc_and_ks_match_hand_worked_cases():
    y = np.array([0, 0, 1, 1])
    assert training.roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert training.roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert training.roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert training.roc_auc(y, np.array([0.1, 0.6, 0.5, 0.9])) == 0.75
    assert training.ks_statistic(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert training.ks_statistic(y, np.array([0.1, 0.6, 0.5, 0.9])) == 0.5


def test_committed_default_bundle_is_intact_and_useful():
    mlmodel = _mlmodel(DEFAULT_BUNDLE)
    assert mlmodel["model_uuid"] == hashlib.sha256((DEFAULT_BUNDLE / "model.cb").read_bytes()).hexdigest()[:32]
    metrics = mlmodel["metadata"]["metrics"]
    assert metrics["auc"] >= 0.75
    assert metrics["expected_cost_per_applicant"] < metrics["cost_per_applicant_approve_all"]
    assert sum(p.stat().st_size for p in DEFAULT_BUNDLE.iterdir()) < 1_000_000
