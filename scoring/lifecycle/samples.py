"""A bundle's own labelled validation sample: read it, score it, hold it to the floors in settings, compare on it.

Every bundle is validated on the sample it ships (metadata ``validation_sample``: file, target,
bad_value), never on a file of ours: a model with other features than the German-credit one
is judged on data it can score. Comparison with the active version uses the candidate's sample,
and the active version's own sample as well when each model can score the other's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings

from scoring.engine import BundleRejected, LoadedModel
from scoring.engine.performance import measure, outcomes

# Share of the bundle's own sample that must be valid input for its own schema.
MIN_SAMPLE_COVERAGE = 0.9
FIX_COMMAND = "manage.py prepare_bundle DIR --sample CSV --target COLUMN --bad-value VALUE"


@dataclass(frozen=True)
class LabelledSample:
    file: str
    target: str
    bad_value: object
    frame: pd.DataFrame


@dataclass(frozen=True)
class SampleScores:
    index: pd.Index
    p: np.ndarray
    decisions: np.ndarray
    summary: dict[str, Any]


def read_sample(metadata: Mapping[str, Any], folder: Path) -> LabelledSample:
    """The labelled sample the metadata names, or BundleRejected listing every problem with it at once."""
    spec = metadata.get("validation_sample")
    if not isinstance(spec, Mapping):
        raise BundleRejected(
            "The metadata names no validation_sample (file, target, bad_value): the model cannot be validated "
            f"on its own data. Add one with {FIX_COMMAND}."
        )
    problems = [
        f"validation_sample.{key} is missing" for key in ("file", "target", "bad_value") if spec.get(key) in (None, "")
    ]
    name, target = str(spec.get("file") or ""), str(spec.get("target") or "")
    frame = None
    if name:
        root = folder.resolve()
        path = (folder / name).resolve()
        if not path.is_relative_to(root) or path == root:
            problems.append(f"the validation sample {name!r} is not a file inside the bundle")
        elif not path.is_file():
            problems.append(f"the validation sample {name!r} named in the metadata is not among the bundle's files")
        elif path.suffix.lower() != ".csv":
            problems.append(f"the validation sample {name!r} is not a .csv file")
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if frame is not None and target:
        if target not in frame.columns:
            problems.append(f"the validation sample has no target column {target!r}")
        elif spec.get("bad_value") not in (None, ""):
            y = outcomes(frame[target], spec["bad_value"])
            if not 0 < int(y.sum()) < len(y):
                problems.append(
                    f"the target column {target!r} must hold both outcomes: {int(y.sum())} of {len(y)} rows "
                    f"are {spec['bad_value']!r} (bad)"
                )
    if problems:
        raise BundleRejected(f"The validation sample is unusable: {'; '.join(problems)}. Fix it with {FIX_COMMAND}.")
    return LabelledSample(file=name, target=target, bad_value=spec["bad_value"], frame=frame)


def score_sample(model: LoadedModel, sample: LabelledSample) -> SampleScores:
    """Score the sample's valid rows; InvalidApplication when the model cannot read it at all (other features)."""
    checked = model.validate_frame(sample.frame)
    valid = checked.valid
    scored = model.score_frame(valid, reasons_for="none") if len(valid) else None
    p = scored.probabilities if scored is not None else np.array([])
    decisions = scored.decisions if scored is not None else np.array([], dtype=object)
    y = outcomes(sample.frame.loc[valid.index, sample.target], sample.bad_value)
    return SampleScores(
        index=valid.index,
        p=p,
        decisions=decisions,
        summary={
            "file": sample.file,
            "target": sample.target,
            "rows": len(sample.frame),
            "rows_scored": len(valid),
            "rows_invalid": len(checked.errors),
            **measure(y, p, decisions).as_dict(),
            "min_probability": round(float(p.min()), 6) if len(p) else None,
            "max_probability": round(float(p.max()), 6) if len(p) else None,
        },
    )


def sample_checks(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each check on the scored sample with its value and the limit from settings (``ok`` False when missing)."""
    low, high = settings.VALIDATION_APPROVAL_RATE_RANGE
    coverage = summary["rows_scored"] / max(summary["rows"], 1)
    probabilities = (summary.get("min_probability"), summary.get("max_probability"))
    in_range = None not in probabilities and probabilities[0] >= 0 and probabilities[1] <= 1
    return [
        _check("sample scores within [0, 1]", in_range, f"{summary['rows_scored']} rows"),
        _limit("share of sample rows that are valid input", coverage, ">=", MIN_SAMPLE_COVERAGE),
        _limit("AUC", summary.get("auc"), ">=", settings.VALIDATION_MIN_AUC),
        _limit("KS", summary.get("ks"), ">=", settings.VALIDATION_MIN_KS),
        _limit("Brier score (calibration)", summary.get("brier"), "<=", settings.VALIDATION_MAX_BRIER),
        _limit("approval rate", summary.get("approval_rate"), "between", [low, high]),
    ]


def _check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "detail": detail}


def _limit(name: str, value: float | None, op: str, limit: float | list[float]) -> dict[str, Any]:
    if value is None:
        ok = False
    elif op == "between":
        ok = limit[0] <= value <= limit[1]
    else:
        ok = value >= limit if op == ">=" else value <= limit
    shown = f"{limit[0]:.4g} to {limit[1]:.4g}" if op == "between" else f"{op} {limit:.4g}"
    value_text = "n/a" if value is None else f"{value:.4g}"
    return {
        "name": f"{name} on the bundle's sample",
        "ok": ok,
        "detail": f"{value_text} (required {shown})",
        "value": None if value is None else round(float(value), 4),
        "limit": limit,
        "op": op,
    }
