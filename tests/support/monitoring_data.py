"""Builders of synthetic decision populations for the monitoring tests (hold-out rows, optionally shifted)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from django.conf import settings

from scoring.lifecycle import registry
from scoring.models import Channel, Prediction

PROTECTED = ("personal_status_and_sex", "age_in_years", "foreign_worker")


def holdout_frame(copies: int = 2) -> pd.DataFrame:
    """The 250 hold-out rows the model never saw, repeated (same distribution, more rows)."""
    frame = pd.read_csv(settings.REFERENCE_SAMPLE_PATH).drop(columns=["creditability"])
    return pd.concat([frame] * copies, ignore_index=True)


def record_population(
    user, frame: pd.DataFrame, *, decide: Callable[[int], str] | None = None, protected: bool = True
) -> list[Prediction]:
    """Score ``frame`` with the active model and store one Prediction per row (fixture data, bulk)."""
    active = registry.get_active()
    model = active.model
    validation = model.validate_frame(frame)
    assert not validation.errors, validation.errors
    scores = model.score_frame(validation.valid)
    rows = []
    for i, (index, features) in enumerate(validation.valid.iterrows()):
        fields = {k: (v.item() if hasattr(v, "item") else v) for k, v in features.items()}
        rows.append(
            Prediction(
                user=user,
                channel=Channel.BATCH,
                model_version=active.version,
                inputs=fields,
                features=fields,
                protected={k: _plain(frame.loc[index, k]) for k in PROTECTED} if protected else {},
                probability=float(scores.probabilities[i]),
                decision=decide(i) if decide else str(scores.decisions[i]),
                threshold=model.threshold,
                refer_lower=model.refer_lower,
                risk_band=str(scores.risk_bands[i]),
            )
        )
    return Prediction.objects.bulk_create(rows)


def _plain(value):
    return value.item() if hasattr(value, "item") else value
