"""A plain MLflow CatBoost model of a made-up lender (its own ten features) and a labelled hold-out sample.

What a bank's data scientist hands over: ``mlflow.catboost.save_model`` output with a signature
and no creditscore metadata, plus a CSV of applications with their outcome. ``prepare_bundle``
turns the pair into a bundle; tests of the contract, the Hub and the pages start from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import catboost
import mlflow.catboost
import numpy as np
import pandas as pd
import yaml
from catboost import CatBoostClassifier
from mlflow.models import infer_signature

NUMERIC = {
    "annual_income": "double",
    "loan_amount": "long",
    "term_months": "long",
    "debt_to_income": "double",
    "credit_utilisation": "double",
    "years_employed": "long",
    "open_credit_lines": "long",
    "recent_inquiries": "long",
}
CATEGORIES = {
    "home_ownership": ["own", "mortgage", "rent"],
    "loan_purpose": ["car", "home_improvement", "debt_consolidation", "medical"],
    "employment_status": ["employed", "self_employed", "retired"],
}
FEATURES = [*NUMERIC, *CATEGORIES]
# Given rather than inferred: MLflow's inference scans the whole environment (about 12 s).
PIP_REQUIREMENTS = [f"catboost=={catboost.__version__}"]
TARGET = "defaulted"
PROTECTED = "applicant_gender"

LABELS = {
    "name": "acme-personal-loans",
    "sections": [{"name": "loan", "label": "The loan"}, {"name": "applicant", "label": "The applicant"}],
    "fields": {
        "loan_amount": {
            "label": "Loan amount",
            "unit": "EUR",
            "section": "loan",
            "help": "Amount requested.",
            "reasons": {
                "raises": {"code": "AMOUNT_HIGH", "statement": "Amount of credit requested too high"},
                "lowers": {"code": "AMOUNT_SUITED", "statement": "Amount of credit requested is suitable"},
            },
        },
        "term_months": {
            "label": "Loan term",
            "unit": "months",
            "section": "loan",
            "min": 6,
            "max": 96,
            # The other direction is left to prepare_bundle, which generates and reports it.
            "reasons": {"raises": {"code": "TERM_LONG", "statement": "Duration of credit requested too long"}},
        },
        "annual_income": {"label": "Annual income", "unit": "EUR", "section": "applicant"},
        "home_ownership": {
            "label": "Home ownership",
            "section": "applicant",
            "choices": {"own": "Owns outright", "mortgage": "Owns with a mortgage", "rent": "Rents"},
        },
        "loan_purpose": {"label": "Purpose of the loan", "section": "loan", "choices": {"car": "Car"}},
        PROTECTED: {"label": "Gender", "choices": {"f": "Female", "m": "Male"}},
    },
    "protected_attributes": [PROTECTED],
}


@dataclass(frozen=True)
class PlainModel:
    folder: Path
    sample: Path
    labels: Path


def lender_frame(n: int, seed: int) -> pd.DataFrame:
    """Applications with a default outcome driven mostly by debt-to-income, utilisation and inquiries."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "annual_income": rng.lognormal(10.6, 0.4, n).round(2),
            "loan_amount": rng.integers(1_000, 40_001, n),
            "term_months": rng.choice([12, 24, 36, 48, 60], n),
            "debt_to_income": rng.uniform(0.0, 0.6, n).round(3),
            "credit_utilisation": rng.uniform(0.0, 1.0, n).round(3),
            "years_employed": rng.integers(0, 31, n),
            "open_credit_lines": rng.integers(0, 16, n),
            "recent_inquiries": rng.integers(0, 9, n),
            **{name: rng.choice(values, n) for name, values in CATEGORIES.items()},
        }
    )
    risk = (
        -7.0
        + 8.0 * frame["debt_to_income"]
        + 2.0 * frame["credit_utilisation"]
        + 0.35 * frame["recent_inquiries"]
        - 0.04 * frame["years_employed"]
        + 0.8 * (frame["home_ownership"] == "rent")
        + 0.6 * (frame["loan_purpose"] == "debt_consolidation")
    )
    frame[TARGET] = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-risk))).astype(int)
    return frame


def write_plain_model(
    base: Path, *, best_threshold: float | None = None, sample_rows: int = 600, seed: int = 11
) -> PlainModel:
    """Train a small CatBoost model, save it with MLflow as a data scientist would, and write its sample."""
    train = lender_frame(1500, seed)
    model = CatBoostClassifier(
        iterations=60,
        depth=3,
        learning_rate=0.1,
        random_seed=seed,
        verbose=0,
        thread_count=1,
        cat_features=list(CATEGORIES),
        allow_writing_files=False,
    )
    model.fit(train[FEATURES], train[TARGET])
    folder = base / "plain-model"
    features = train[FEATURES].astype({n: "float64" if t == "double" else "int64" for n, t in NUMERIC.items()})
    mlflow.catboost.save_model(
        model,
        str(folder),
        signature=infer_signature(features, model.predict_proba(features)[:, 1]),
        input_example=features.head(2),
        metadata={"best_threshold": best_threshold} if best_threshold is not None else None,
        pip_requirements=PIP_REQUIREMENTS,
    )
    holdout = lender_frame(sample_rows, seed + 1)
    holdout.insert(0, "application_id", [f"A{i:05d}" for i in range(sample_rows)])
    holdout[PROTECTED] = np.random.default_rng(seed + 2).choice(["f", "m"], sample_rows)
    sample = base / "sample.csv"
    holdout.to_csv(sample, index=False, lineterminator="\n")
    labels = base / "labels.yaml"
    labels.write_text(yaml.safe_dump(LABELS, sort_keys=False), encoding="utf-8")
    return PlainModel(folder=folder, sample=sample, labels=labels)
