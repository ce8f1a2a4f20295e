"""The bundle contract: what a model directory must hold, and how a refusal reads."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from catboost import CatBoostClassifier

from scoring.engine import BundleRejected, load_bundle
from scoring.engine.contract import FIX_COMMAND, check_bundle, check_metadata
from tests.support import DEFAULT_BUNDLE
from tests.support.synthetic_bundle import write_synthetic_bundle

REQUIRED = ("creditscore_schema", "name", "threshold", "refer_band", "risk_bands", "features", "validation_sample")


def _plain_mlflow_model(out: Path) -> Path:
    """What a data scientist has after mlflow.catboost.save_model: MLmodel, model.cb, no creditscore metadata."""
    import mlflow.catboost  # test-only dependency (mlflow-skinny)
    from mlflow.models import infer_signature

    frame = pd.DataFrame(
        {
            "income": [1200, 3400, 560, 8000, 4300, 2500, 610, 7200] * 5,
            "region": ["north", "south", "east", "west"] * 10,
        }
    )
    target = [0, 1, 1, 0, 0, 1, 1, 0] * 5
    model = CatBoostClassifier(iterations=10, depth=2, verbose=0, cat_features=["region"], allow_writing_files=False)
    model.fit(frame, target)
    signature = infer_signature(frame, model.predict_proba(frame)[:, 1])
    mlflow.catboost.save_model(model, str(out), signature=signature, input_example=frame.head(2))
    return out


def _refusal(folder: Path) -> str:
    with pytest.raises(BundleRejected) as refused:
        load_bundle(folder)
    return str(refused.value)


def _edited(tmp_path: Path, edit: Callable[[dict], None]) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    mlmodel = yaml.safe_load((bundle / "MLmodel").read_text())
    edit(mlmodel)
    (bundle / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    return bundle


def test_the_bundled_model_meets_the_contract():
    assert check_bundle(DEFAULT_BUNDLE) == []
    model = load_bundle(DEFAULT_BUNDLE)
    assert model.metadata["creditscore_schema"] == 3
    assert model.metadata["validation_sample"] == {
        "file": "validation_sample.csv",
        "target": "creditability",
        "bad_value": "bad",
    }


def test_the_synthetic_test_bundle_meets_the_contract(tmp_path):
    assert check_bundle(write_synthetic_bundle(tmp_path / "synthetic")) == []


def test_a_plain_mlflow_model_is_refused_listing_every_missing_item(tmp_path):
    message = _refusal(_plain_mlflow_model(tmp_path / "plain"))
    for key in REQUIRED:
        assert f"metadata.{key}: missing" in message
    assert message.count("\n- ") == len(REQUIRED)  # each once, nothing else: the model files are fine
    assert message.endswith(f"Complete it with: {FIX_COMMAND}")


def test_a_folder_holding_only_model_cb_is_refused(tmp_path):
    shutil.copy(DEFAULT_BUNDLE / "model.cb", tmp_path / "model.cb")
    message = _refusal(tmp_path)
    assert "MLmodel: missing" in message
    assert "metadata.threshold: missing" in message
    assert message.endswith(FIX_COMMAND)


def test_a_model_file_on_its_own_is_refused(tmp_path):
    shutil.copy(DEFAULT_BUNDLE / "model.cb", tmp_path / "model.cb")
    assert "not a single file" in _refusal(tmp_path / "model.cb")


def _set(path: str, value: object) -> Callable[[dict], None]:
    def edit(mlmodel: dict) -> None:
        node = mlmodel["metadata"]
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return edit


def _drop(key: str) -> Callable[[dict], None]:
    return lambda mlmodel: mlmodel.pop(key)


def _plain_choices(mlmodel: dict) -> None:
    purpose = mlmodel["metadata"]["features"][3]
    purpose["choices"] = [c["value"] for c in purpose["choices"]]


def _without_choice(mlmodel: dict) -> None:
    mlmodel["metadata"]["features"][3]["choices"].pop()  # "retraining", which the sample and the model hold


@pytest.mark.parametrize(
    "edit, named",
    [
        (_set("creditscore_schema", 1), "metadata.creditscore_schema: is 1"),
        (_plain_choices, "metadata.features[purpose].choices: 10 item(s) of the wrong type"),
        (_without_choice, "metadata.features[purpose].choices: the validation sample has ['retraining']"),
        (_set("features.3.choices.0", {"value": "business"}), "metadata.features[purpose].choices[0].label: missing"),
        (_set("features.3.kind", "text"), "metadata.features[purpose].kind"),
        (_set("features.12.kind", "integer"), "metadata.features[housing]: a categorical feature needs choices"),
        (_set("features.1.min", 200), "metadata.features[duration_in_month]: min 200 is above max 120"),
        (_set("threshold", 1.5), "metadata.threshold: 1.5 is greater than the maximum of 1"),
        (_set("refer_band.upper", 0.3), "metadata.refer_band.upper: 0.3 differs from the threshold"),
        (_set("validation_sample.target", "outcome"), "lacks the target column 'outcome'"),
        (_set("validation_sample.bad_value", "default"), "needs both defaults ('default') and repaid loans"),
        (_set("validation_sample.file", "holdout.csv"), "validation sample 'holdout.csv': missing"),
        (_set("features.0.section", "elsewhere"), "'elsewhere' is not one of metadata.sections"),
        (_drop("signature"), "MLmodel signature.inputs: missing"),
        (_drop("flavors"), "MLmodel flavors.catboost: missing"),
    ],
)
def test_each_wrong_item_is_named(tmp_path, edit, named):
    message = _refusal(_edited(tmp_path, edit))
    assert named in message
    assert message.endswith(FIX_COMMAND)


def test_a_kind_the_model_disagrees_with_is_named(tmp_path):
    def housing_as_number(mlmodel: dict) -> None:
        housing = mlmodel["metadata"]["features"][12]
        del housing["choices"]
        housing["kind"] = "number"
        del mlmodel["metadata"]["reference"]["features"]["housing"]

    message = _refusal(_edited(tmp_path, housing_as_number))
    assert "metadata.features[housing].kind: number, but the model treats it as categorical." in message
    assert "the signature types the column 'string'" in message


def test_every_problem_is_listed_at_once(tmp_path):
    def many(mlmodel: dict) -> None:
        metadata = mlmodel["metadata"]
        metadata["creditscore_schema"] = 1
        del metadata["threshold"]
        metadata["features"][3]["label"] = ""
        (tmp_path / "bundle" / "validation_sample.csv").unlink()

    problems = check_bundle(_edited(tmp_path, many))
    assert len(problems) == 4
    assert sorted(p.split(":")[0] for p in problems) == [
        "metadata.creditscore_schema",
        "metadata.features[purpose].label",
        "metadata.threshold",
        "validation sample 'validation_sample.csv'",
    ]


OLD_BANDS = [
    {"name": "A", "label": "Very low risk", "upper": 0.096},
    {"name": "B", "label": "Low risk", "upper": 0.195},
    {"name": "C", "label": "Moderate risk", "upper": 0.319},
    {"name": "D", "label": "High risk", "upper": 0.506},
    {"name": "E", "label": "Very high risk", "upper": 1.0},
]


def test_a_low_risk_band_holding_declines_is_refused(tmp_path):
    # The bands the bundled model shipped with: "Low risk" up to 0.195 over a threshold of 0.1695.
    message = _refusal(_edited(tmp_path, _set("risk_bands", OLD_BANDS)))
    assert "no band ends at the threshold 0.1695" in message
    assert "no band ends at the refer_band.lower 0.1096" in message
    assert "metadata.risk_bands[B]: labelled 'Low risk' but ends above the threshold" in message


@pytest.mark.parametrize(
    "bands, named",
    [
        # Cut at the threshold and refer band, but the top band still promises low risk.
        (
            [("A", "Low risk", 0.1096), ("B", "Moderate risk", 0.1695), ("C", "Lower risk", 0.5), ("D", "Low", 1.0)],
            "metadata.risk_bands[D]: labelled 'Low' but ends above the threshold",
        ),
        ([("A", "Low risk", 0.1096), ("B", "Moderate risk", 0.1695), ("C", "High risk", 0.9)], "must end at 1.0"),
        ([("A", "Low risk", 0.1695), ("B", "Moderate risk", 0.1096), ("C", "High", 1.0)], "must strictly increase"),
        ([("A", "High risk", 0.1096), ("B", "Moderate", 0.1695), ("C", "Very high", 1.0)], "holds approvals only"),
        ([("A", "Low", 0.1096), ("A", "Moderate", 0.1695), ("C", "High", 1.0)], "band names must be unique"),
    ],
)
def test_bands_inconsistent_with_the_decision_are_refused(tmp_path, bands, named):
    raw = [{"name": n, "label": label, "upper": upper} for n, label, upper in bands]
    assert named in _refusal(_edited(tmp_path, _set("risk_bands", raw)))


def test_bands_cut_at_the_threshold_and_refer_band_are_accepted(tmp_path):
    bands = [
        {"name": "A", "label": "Low risk", "upper": 0.1096},
        {"name": "B", "label": "Moderate risk", "upper": 0.1695},
        {"name": "C", "label": "High risk", "upper": 1.0},
    ]
    model = load_bundle(_edited(tmp_path, _set("risk_bands", bands)))
    assert list(model.band([0.05, 0.1096, 0.15, 0.1695, 0.9])) == ["A", "B", "B", "C", "C"]
    assert list(model.decide([0.05, 0.1096, 0.15, 0.1695, 0.9])) == [
        "approve",
        "refer",
        "refer",
        "decline",
        "decline",
    ]


def test_check_metadata_judges_the_metadata_given_not_the_files(tmp_path):
    """prepare_bundle checks the metadata it is about to write against the folder it will write it to."""
    metadata = yaml.safe_load((DEFAULT_BUNDLE / "MLmodel").read_text())["metadata"]
    assert check_metadata(metadata, DEFAULT_BUNDLE) == []
    assert check_metadata({**metadata, "threshold": "high"}, DEFAULT_BUNDLE) == [
        "metadata.threshold: 'high' is not of type 'number' "
        "(the probability of default at or above which an application is declined)."
    ]


def test_a_signature_that_is_not_json_is_named(tmp_path):
    def broken(mlmodel: dict) -> None:
        mlmodel["signature"]["inputs"] = "[not json"

    assert "MLmodel signature.inputs: not a JSON list of named columns" in _refusal(_edited(tmp_path, broken))


def _without_reasons(mlmodel: dict) -> None:
    del mlmodel["metadata"]["features"][5]["reasons"]  # savings_account_and_bonds


def _empty_statement(mlmodel: dict) -> None:
    mlmodel["metadata"]["features"][1]["reasons"]["raises"]["statement"] = ""


def _no_lowering_code(mlmodel: dict) -> None:
    del mlmodel["metadata"]["features"][1]["reasons"]["lowers"]["code"]


@pytest.mark.parametrize(
    "edit, named",
    [
        (_without_reasons, "metadata.features[savings_account_and_bonds].reasons: missing; {raises: {code, statement}"),
        (_empty_statement, "metadata.features[duration_in_month].reasons.raises.statement: '' should be non-empty"),
        (_no_lowering_code, "metadata.features[duration_in_month].reasons.lowers.code: missing; the reason code"),
        (_set("creditscore_schema", 2), "metadata.creditscore_schema: is 2; set it to 3"),
    ],
)
def test_every_feature_needs_its_reasons(tmp_path, edit, named):
    message = _refusal(_edited(tmp_path, edit))
    assert named in message
    assert message.endswith(FIX_COMMAND)


def test_features_may_share_a_reason_code():
    metadata = load_bundle(DEFAULT_BUNDLE).metadata
    codes = [f["reasons"]["raises"]["code"] for f in metadata["features"]]
    assert len(codes) == 17 and len(set(codes)) < len(codes)  # two kinds of obligations share one
    statements = [f["reasons"][d]["statement"] for f in metadata["features"] for d in ("raises", "lowers")]
    assert all(statements)


def _earlier_contract(mlmodel: dict) -> None:
    """The same bundle as written under contract version 2: no reasons on its features."""
    mlmodel["metadata"]["creditscore_schema"] = 2
    for feature in mlmodel["metadata"]["features"]:
        del feature["reasons"]


def test_a_version_registered_under_the_earlier_contract_still_serves(tmp_path):
    bundle = _edited(tmp_path, _earlier_contract)
    assert "metadata.creditscore_schema: is 2; set it to 3" in _refusal(bundle)  # never registered anew
    model = load_bundle(bundle, registered=True)  # but a live version keeps scoring after an upgrade
    reasons = model.score_one(model.validate(model.example_inputs()).features).reasons
    assert reasons and all(r.code and r.statement for r in reasons)  # generated from the labels


def test_registered_files_of_the_current_contract_are_still_checked(tmp_path):
    with pytest.raises(BundleRejected, match=r"reasons\.raises\.statement"):
        load_bundle(_edited(tmp_path, _empty_statement), registered=True)
