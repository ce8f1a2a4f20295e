"""Turn a plain MLflow CatBoost model directory and a labelled sample into a complete (contract version 3) bundle.

Pure code, no Django: ``manage.py prepare_bundle`` wraps it. The feature schema comes from the
model's signature and the sample (``sample_schema``), labels from an optional YAML
(``labels``), the decision policy is fitted on the sample (threshold, refer band, risk bands
consistent with both), and the sample itself ships in the bundle as its validation sample.
Every problem with the inputs is collected and refused at once (``PreparationRefused``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from catboost import CatBoostClassifier, Pool

from scoring.engine import training
from scoring.engine.bundle import load_bundle
from scoring.engine.contract import SCHEMA_VERSION, SIGNATURE_TYPES, read_classifier
from scoring.engine.labels import FALLBACK_LANGUAGE, localized, read_labels
from scoring.engine.sample_schema import (
    PreparationRefused,
    SampleSchema,
    infer_schema,
    read_sample,
    target_vector,
)
from scoring.engine.schema import BundleRejected

SAMPLE_FILE = "validation_sample.csv"
EXAMPLE_FILE = "input_example.json"
DEFAULT_REFER_SHARE = 0.15
FITTED = "fitted"
BEST = "best"
BAND_NAMES = "ABCDEFGH"

__all__ = ["BEST", "FITTED", "Preparation", "PreparationRefused", "prepare_bundle", "risk_bands_for"]


@dataclass
class Preparation:
    """What was written and what an administrator should read about it."""

    out_dir: Path
    metadata: dict[str, Any]
    report: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Source:
    folder: Path
    mlmodel: dict[str, Any]
    model: CatBoostClassifier
    columns: list[dict[str, Any]]  # the signature's inputs
    signature_written: bool  # True when the folder had none and we derived it


def prepare_bundle(
    *,
    model_dir: Path,
    sample_path: Path,
    target: str,
    bad_value: str | None = None,
    cost_fn: float = training.COST_APPROVE_BAD,
    cost_fp: float = training.COST_DECLINE_GOOD,
    labels_path: Path | None = None,
    threshold: float | str = FITTED,
    refer_share: float = DEFAULT_REFER_SHARE,
    out_dir: Path | None = None,
) -> Preparation:
    """Write the bundle into ``out_dir`` (a new or empty folder; the model folder itself when None)."""
    problems = _check_options(cost_fn=cost_fn, cost_fp=cost_fp, refer_share=refer_share, out_dir=out_dir)
    source = _read_source(Path(model_dir), problems)
    labels = read_labels(labels_path, problems)
    raw = read_sample(Path(sample_path), problems)
    if source is None or raw is None:
        raise PreparationRefused(problems)
    # Everything else is checked before refusing, so one run lists every problem.
    schema = infer_schema(
        raw=raw, model=source.model, columns=source.columns, target=target, labels=labels, problems=problems
    )
    y, bad = target_vector(raw, target=target, bad_value=bad_value, problems=problems)
    if problems:
        raise PreparationRefused(problems)
    frame = schema.typed
    p = source.model.predict_proba(Pool(frame[schema.feature_names], cat_features=schema.cat_indices))[:, 1]
    offered, offer_note = _offered_threshold(source.mlmodel)
    chosen, how = _threshold(threshold, y=y, p=p, cost_fn=cost_fn, cost_fp=cost_fp, offered=offered)
    refer_lower = training.choose_refer_lower(p, chosen, refer_share)
    own = _kept_metadata(source.mlmodel)
    metadata = {
        **own,
        "creditscore_schema": SCHEMA_VERSION,
        "name": labels.name or str(own.get("name") or source.folder.name),
        "description": labels.description
        or str(own.get("description") or "")
        or (
            f"CatBoost probability of default prepared from {source.folder.name} with a labelled sample of "
            f"{len(y)} rows; the threshold {how}."
        ),
        "target": {"name": target, "positive_class": bad, "meaning": "probability of default"},
        "threshold": chosen,
        "refer_band": {"lower": refer_lower, "upper": chosen},
        "risk_bands": risk_bands_for(p, threshold=chosen, refer_lower=refer_lower),
        "sections": schema.sections,
        "features": schema.features,
        "protected_attributes": schema.protected,
        "reference": _reference(schema, p),
        "validation_sample": {"file": SAMPLE_FILE, "target": target, "bad_value": bad},
        "metrics": training.decision_metrics(y, p, chosen, refer_lower, cost_fn=cost_fn, cost_fp=cost_fp),
        "training": _training_record(
            source.model, cost_fn=cost_fn, cost_fp=cost_fp, refer_share=refer_share, how=how, rows=len(y)
        ),
    }
    out = Path(out_dir) if out_dir is not None else source.folder
    _write(source, out, metadata, schema=schema, raw=raw, target=target)
    report = _report(metadata, schema=schema, how=how, y=y, source=source)
    if offered is not None and offered != chosen:
        cost = training.decision_cost(y, p, offered, cost_fn=cost_fn, cost_fp=cost_fp) / len(y)
        offer_note = (
            f"The model's MLmodel metadata offers best_threshold {offered:g} (cost per applicant {cost:.4g} "
            "on this sample): pass --threshold best to use it."
        )
    if offer_note:
        report.insert(3, offer_note)
    return Preparation(out_dir=out, metadata=metadata, report=report)


def _check_options(*, cost_fn: float, cost_fp: float, refer_share: float, out_dir: Path | None) -> list[str]:
    problems = []
    if not (cost_fn > 0 and cost_fp > 0):
        problems.append("--cost-fn and --cost-fp must both be positive numbers.")
    if not 0.0 <= refer_share < 1.0:
        problems.append("--refer-share must be at least 0 and below 1.")
    if out_dir is not None and Path(out_dir).exists() and any(Path(out_dir).iterdir()):
        problems.append(f"--out {out_dir} is not empty: give a new or empty folder, nothing is overwritten.")
    return problems


# --- the model folder ----------------------------------------------------------------


def _read_source(folder: Path, problems: list[str]) -> _Source | None:
    mlmodel_path = folder / "MLmodel"
    if not mlmodel_path.is_file():
        problems.append(f"{folder} has no MLmodel file: give the folder mlflow.catboost.save_model wrote.")
        return None
    try:
        mlmodel = yaml.safe_load(mlmodel_path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"MLmodel is not valid YAML: {exc}")
        return None
    flavor = (mlmodel.get("flavors") or {}).get("catboost") if isinstance(mlmodel, dict) else None
    if not isinstance(flavor, dict):
        problems.append("MLmodel has no catboost flavor: only CatBoost models saved by MLflow can be prepared.")
        return None
    if flavor.get("model_type", "CatBoostClassifier") != "CatBoostClassifier":
        problems.append(f"Only a CatBoostClassifier can score applications, not {flavor['model_type']}.")
        return None
    model = read_classifier(folder, mlmodel, problems)
    if model is None:
        return None
    columns, derived = _signature_columns(mlmodel, model, problems)
    return _Source(folder=folder, mlmodel=mlmodel, model=model, columns=columns, signature_written=derived)


def _signature_columns(
    mlmodel: Mapping[str, Any], model: CatBoostClassifier, problems: list[str]
) -> tuple[list[dict[str, Any]], bool]:
    """The signature's input columns; without a signature, the model's own feature names (typed later)."""
    names = list(model.feature_names_ or [])
    signature = mlmodel.get("signature") or {}
    if not (isinstance(signature, dict) and signature.get("inputs")):
        return [{"name": n, "type": None, "required": True} for n in names], True
    try:
        columns = json.loads(signature["inputs"])
    except (TypeError, ValueError) as exc:
        problems.append(f"The MLmodel signature inputs are not valid JSON: {exc}")
        return [], False
    declared = [str(c.get("name")) for c in columns]
    if declared != names:
        problems.append(f"The signature's columns {declared} are not the model's features {names} (in order).")
    unknown = sorted({str(c.get("type")) for c in columns} - SIGNATURE_TYPES)
    if unknown:
        problems.append(f"The signature has column types the app cannot take: {unknown}.")
    return columns, False


def _offered_threshold(mlmodel: Mapping[str, Any]) -> tuple[float | None, str]:
    """The MLmodel metadata's best_threshold when it is a probability, else None and why it is not offered."""
    metadata = mlmodel.get("metadata") or {}
    if not isinstance(metadata, dict) or "best_threshold" not in metadata:
        return None, ""
    value = metadata["best_threshold"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < float(value) <= 1.0:
        return None, f"The MLmodel metadata's best_threshold {value!r} is not a probability in (0, 1]: not offered."
    return float(value), ""


def _kept_metadata(mlmodel: Mapping[str, Any]) -> dict[str, Any]:
    """The data scientist's own metadata (such as best_threshold) stays in the bundle, beside ours."""
    metadata = mlmodel.get("metadata") or {}
    return dict(metadata) if isinstance(metadata, dict) else {}


# --- the decision policy --------------------------------------------------------------


def _threshold(
    wanted: float | str, *, y: np.ndarray, p: np.ndarray, cost_fn: float, cost_fp: float, offered: float | None
) -> tuple[float, str]:
    """The threshold and a sentence saying where it comes from."""
    if wanted == BEST:
        if offered is None:
            raise PreparationRefused(
                ["--threshold best: the model's MLmodel metadata has no best_threshold in (0, 1]."]
            )
        return (
            offered,
            f"is the model's own best_threshold {offered:g} (MLmodel metadata), chosen with --threshold best",
        )
    if wanted == FITTED:
        chosen = training.choose_threshold(y, p, cost_fn=cost_fn, cost_fp=cost_fp)
        return chosen, (
            f"minimises {cost_fn:g} x approved defaults + {cost_fp:g} x declined good applicants on the sample"
        )
    value = float(wanted)
    if not 0.0 < value <= 1.0:
        raise PreparationRefused([f"--threshold {wanted}: a threshold is a probability above 0 and at most 1."])
    return value, f"is {value:g}, given with --threshold"


def risk_bands_for(p: np.ndarray, *, threshold: float, refer_lower: float) -> list[dict[str, Any]]:
    """Risk bands whose edges include the refer band's: no band mixes approvals, referrals and declines.

    Approved scores (below the refer band) are split at their median into "Very low risk" and
    "Low risk", the refer band is one "Moderate risk" band, and declined scores (at or above the
    threshold) are split at their median into "High risk" and "Very high risk". A range holding no
    sample score is not split ("Low risk", "Very high risk"); an empty range gets no band.
    """
    p = np.asarray(p, dtype=float)
    ranges: list[tuple[float, str]] = []
    if refer_lower > 0.0:
        ranges += _split(p[p < refer_lower], 0.0, refer_lower, ("Very low risk", "Low risk"), single="Low risk")
    if refer_lower < threshold:
        ranges.append((threshold, "Moderate risk"))
    if threshold < 1.0:
        ranges += _split(p[p >= threshold], threshold, 1.0, ("High risk", "Very high risk"), single="Very high risk")
    return [{"name": BAND_NAMES[i], "label": label, "upper": upper} for i, (upper, label) in enumerate(ranges)]


def _split(
    scores: np.ndarray, low: float, high: float, labels: tuple[str, str], *, single: str
) -> list[tuple[float, str]]:
    """Two bands cut at the scores' median when it falls strictly inside (low, high), else one."""
    if len(scores):
        ordered = np.sort(scores)
        middle = len(ordered) // 2
        if 0 < middle < len(ordered) and ordered[middle - 1] < ordered[middle]:
            cut = training._separating_value(float(ordered[middle - 1]), float(ordered[middle]))
            if low < cut < high:
                return [(cut, labels[0]), (high, labels[1])]
    return [(high, single)]


# --- reference distributions and records ----------------------------------------------


def _reference(schema: SampleSchema, p: np.ndarray) -> dict[str, Any]:
    def one(spec: Mapping[str, Any]) -> dict[str, Any]:
        column = schema.typed[spec["name"]]
        if spec["kind"] == "categorical":
            column = column[column != ""]
            return training.categorical_reference(column, [c["value"] for c in spec["choices"]])
        return training.numeric_reference(column.dropna().to_numpy())

    return {
        "rows": len(schema.typed),
        "binning": training.BINNING_RULE,
        "features": {spec["name"]: one(spec) for spec in schema.features},
        "protected": {spec["name"]: one(spec) for spec in schema.protected},
        # The sample stands in for live applications; it should be a hold-out, never the training rows.
        "score": {**training.numeric_reference(p), "source": "validation sample", "rows": len(p)},
    }


def _training_record(
    model: CatBoostClassifier, *, cost_fn: float, cost_fp: float, refer_share: float, how: str, rows: int
) -> dict[str, Any]:
    params = model.get_all_params()
    return {
        "iterations": int(model.tree_count_),
        "depth": params.get("depth"),
        "learning_rate": params.get("learning_rate"),
        "cost_approve_bad": float(cost_fn),
        "cost_decline_good": float(cost_fp),
        "refer_share": float(refer_share),
        "threshold_rule": f"the threshold {how}",
        "prepared_by": "manage.py prepare_bundle",
        "sample_rows": rows,
    }


# --- writing --------------------------------------------------------------------------


def _write(
    source: _Source, out: Path, metadata: dict[str, Any], *, schema: SampleSchema, raw: pd.DataFrame, target: str
) -> None:
    """Stage the whole bundle beside ``out``, check that the app loads it, then move it into place.

    A refusal or a crash leaves ``out`` (the model folder itself when preparing in place) as it was.
    """
    in_place = out.resolve() == source.folder.resolve()
    out.resolve().parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-preparing-", dir=out.resolve().parent))
    try:
        shutil.copytree(source.folder, staging, dirs_exist_ok=True)
        written = _write_files(source, staging, metadata, schema=schema, raw=raw, target=target)
        _check_written(staging)
        if in_place:
            for name in written:  # MLmodel last: until it is replaced the folder reads as before
                os.replace(staging / name, out / name)
        else:
            if out.exists():
                out.rmdir()  # checked empty before anything was read
            os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_files(
    source: _Source, folder: Path, metadata: dict[str, Any], *, schema: SampleSchema, raw: pd.DataFrame, target: str
) -> list[str]:
    """Write the sample, the input example and MLmodel into ``folder``; their names, MLmodel last."""
    columns = [*schema.feature_names, *(s["name"] for s in schema.protected), target]
    # The rows exactly as given (text), so validation reads the same values the policy was fitted on.
    raw[columns].to_csv(folder / SAMPLE_FILE, index=False, lineterminator="\n")
    first = schema.typed.iloc[0]
    example = {"columns": schema.feature_names, "data": [[training._plain(first[n]) for n in schema.feature_names]]}
    (folder / EXAMPLE_FILE).write_text(json.dumps(example, indent=2) + "\n", encoding="utf-8")
    written = [SAMPLE_FILE, EXAMPLE_FILE]
    mlmodel = dict(source.mlmodel)
    info = dict(mlmodel.get("saved_input_example_info") or {})
    serving = str(info.get("serving_input_path") or "")
    if serving and (folder / serving).is_file():  # keep MLflow's serving copy in step with ours
        (folder / serving).write_text(json.dumps({"dataframe_split": example}, indent=2) + "\n", encoding="utf-8")
        written.append(serving)
    mlmodel["saved_input_example_info"] = {**info, "artifact_path": EXAMPLE_FILE, "pandas_orient": "split"}
    mlmodel["saved_input_example_info"]["type"] = "dataframe"
    if source.signature_written:
        mlmodel["signature"] = {"inputs": json.dumps(schema.signature), "outputs": None, "params": None}
    mlmodel["metadata"] = metadata
    text = yaml.safe_dump(mlmodel, sort_keys=False, allow_unicode=True, width=120)
    (folder / "MLmodel").write_text(text, encoding="utf-8")
    return [*written, "MLmodel"]


def _check_written(out: Path) -> None:
    """The app must load what was written and accept every sample row: anything else is our bug."""
    model = load_bundle(out)
    checked = model.validate_frame(pd.read_csv(out / SAMPLE_FILE, dtype=str, keep_default_na=False))
    if checked.errors:
        first = next(iter(checked.errors.items()))
        raise BundleRejected(f"The prepared bundle refuses {len(checked.errors)} sample rows, e.g. {first}.")


# --- the report -------------------------------------------------------------------------


def _report(
    metadata: Mapping[str, Any],
    *,
    schema: SampleSchema,
    how: str,
    y: np.ndarray,
    source: _Source,
) -> list[str]:
    m = metadata["metrics"]
    threshold, lower = metadata["threshold"], metadata["refer_band"]["lower"]
    lines = [
        f"Sample: {len(y)} rows, {int(y.sum())} bad ({metadata['target']['name']} = "
        f"{metadata['target']['positive_class']!r}, {m['positive_rate']:.1%}).",
        f"Threshold {threshold:g}: it {how}.",
        f"Cost per applicant on the sample: {m['expected_cost_per_applicant']:g} "
        f"(approving everyone: {m['cost_per_applicant_approve_all']:g}).",
    ]
    lines.append(f"Refer band: {lower:g} <= probability < {threshold:g}.")
    bands = ", ".join(
        f"{b['name']} {localized(b['label'], FALLBACK_LANGUAGE)} up to {b['upper']:g} "
        f"({_band_decision(b['upper'], lower, threshold)})"
        for b in metadata["risk_bands"]
    )
    lines.append(f"Risk bands: {bands}.")
    lines.append(
        f"Approval rate {m['approval_rate']:.1%}, refer {m['refer_rate']:.1%}, decline {m['decline_rate']:.1%}; "
        f"AUC {m['auc']:g}, KS {m['ks']:g}, Brier {m['brier']:g}."
    )
    if source.signature_written:
        lines.append("The MLmodel had no signature: one was written from the model's features and the sample.")
    lines.extend(schema.notes)
    return lines


def _band_decision(upper: float, refer_lower: float, threshold: float) -> str:
    if upper <= refer_lower:
        return "approve"
    return "refer" if upper <= threshold else "decline"
