"""Declined applications of the reference sample: one the bundled model has offers for, one it has none for."""

from __future__ import annotations

from functools import cache

import pandas as pd
from django.conf import settings

from scoring.engine import DECLINE, load_bundle
from scoring.engine.counterfactuals import search
from tests.support import DEFAULT_BUNDLE


@cache
def declines() -> dict[str, dict[str, object]]:
    """{'with_offers': inputs, 'without_offers': inputs}: model inputs plus protected fields, as plain values."""
    model = load_bundle(DEFAULT_BUNDLE)
    frame = pd.read_csv(settings.REFERENCE_SAMPLE_PATH)
    checked = model.validate_frame(frame)
    scores = model.score_frame(checked.valid, reasons_for=None)
    wanted = [f.name for f in model.all_fields]
    found: dict[str, dict[str, object]] = {}
    for position, decision in enumerate(scores.decisions):
        if decision != DECLINE:
            continue
        row = checked.valid.iloc[position]
        features = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        key = "with_offers" if search(model, features).alternatives else "without_offers"
        if key not in found:
            given = frame.loc[checked.valid.index[position], wanted]
            found[key] = {k: (v.item() if hasattr(v, "item") else v) for k, v in given.items()}
        if len(found) == 2:
            return found
    raise AssertionError(
        f"the reference sample lacks a decline {'with' if 'with_offers' not in found else 'without'} offers"
    )
