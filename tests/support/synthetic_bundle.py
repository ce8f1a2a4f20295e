"""A second, tiny model bundle with other features than the German Credit one, for schema-driven pages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from catboost import CatBoostClassifier

FEATURES = [
    {
        "name": "monthly_income",
        "kind": "number",
        "label": "Net monthly income",
        "unit": "EUR",
        "min": 0,
        "max": 50000,
        "help": "Income after tax, averaged over the last three months.",
        "section": "household",
        "reasons": {
            "raises": {"code": "INCOME_LOW", "statement": "Income insufficient for amount of credit requested"},
            "lowers": {"code": "INCOME_GOOD", "statement": "Income sufficient for amount of credit requested"},
        },
    },
    {
        "name": "employment_type",
        "kind": "categorical",
        "label": "Type of employment",
        "help": "The applicant's main source of income.",
        "section": "work",
        "choices": [
            {"value": "salaried", "label": "Salaried"},
            {"value": "self-employed", "label": "Self-employed"},
            {"value": "retired", "label": "Retired"},
            {"value": "student", "label": "Student"},
        ],
        "reasons": {
            "raises": {"code": "EMPLOYMENT_TYPE", "statement": "Temporary or irregular employment"},
            "lowers": {"code": "EMPLOYMENT_TYPE_GOOD", "statement": "Regular employment"},
        },
    },
    {
        "name": "years_at_address",
        "kind": "integer",
        "label": "Years at current address",
        "unit": "years",
        "min": 0,
        "max": 60,
        "section": "household",
        "reasons": {
            "raises": {"code": "RESIDENCE_SHORT", "statement": "Too short a period of residence"},
            "lowers": {"code": "RESIDENCE_LONG", "statement": "Long period of residence"},
        },
    },
]
# Bands cut at the refer band (0.45) and the threshold (0.6), as the bundle contract asks.
RISK_BANDS = [
    {"name": "A", "label": "Low risk", "upper": 0.45},
    {"name": "B", "label": "Moderate risk", "upper": 0.6},
    {"name": "C", "label": "High risk", "upper": 1.0},
]
SIGNATURE_TYPES = {"number": "double", "integer": "long", "categorical": "string"}
SECTIONS = [{"name": "work", "label": "Work"}, {"name": "household", "label": "Household"}]
PROTECTED = [
    {
        "name": "nationality",
        "kind": "categorical",
        "label": "Nationality",
        "help": "Recorded for fairness monitoring only.",
        "section": "monitoring",
        "choices": [{"value": "domestic", "label": "Domestic"}, {"value": "foreign", "label": "Foreign"}],
    }
]


def write_synthetic_bundle(out: Path) -> Path:
    """Train a 30-tree CatBoost model on made-up data and write it as a contract-complete MLflow CatBoost directory."""
    rng = np.random.default_rng(7)
    n = 300
    frame = pd.DataFrame(
        {
            "monthly_income": rng.uniform(500, 9000, n).round(2),
            "employment_type": rng.choice([c["value"] for c in FEATURES[1]["choices"]], n),
            "years_at_address": rng.integers(0, 30, n),
        }
    )
    risk = 1.5 - frame["monthly_income"] / 3000 + (frame["employment_type"] == "student") * 1.0
    target = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-risk))).astype(int)
    model = CatBoostClassifier(
        iterations=30, depth=3, verbose=0, random_seed=7, cat_features=["employment_type"], allow_writing_files=False
    )
    model.fit(frame, target)
    out.mkdir(parents=True, exist_ok=True)
    model.save_model(str(out / "model.cb"), format="cbm")
    # Its own labelled sample: validation scores the bundle on it, since the German reference
    # sample has none of these features.
    sample = frame.assign(default=target).sample(n=120, random_state=7)
    sample.to_csv(out / "validation_sample.csv", index=False)
    mlmodel = {
        "artifact_path": "model",
        "flavors": {
            "catboost": {"data": "model.cb", "model_type": "CatBoostClassifier", "save_format": "cbm"},
        },
        "signature": {
            "inputs": json.dumps(
                [{"type": SIGNATURE_TYPES[f["kind"]], "name": f["name"], "required": True} for f in FEATURES]
            ),
            "outputs": None,
        },
        "metadata": {
            "creditscore_schema": 3,
            "name": "synthetic-household-model",
            "threshold": 0.6,
            "refer_band": {"lower": 0.45, "upper": 0.6},
            "risk_bands": RISK_BANDS,
            "sections": SECTIONS,
            "features": FEATURES,
            "protected_attributes": PROTECTED,
            "target": {"name": "default", "positive_class": "1"},
            "validation_sample": {"file": "validation_sample.csv", "target": "default", "bad_value": 1},
        },
    }
    (out / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False), encoding="utf-8")
    return out
