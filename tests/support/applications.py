"""Real applications from the reference sample, one per decision of the committed model (for page tests)."""

from __future__ import annotations

from functools import cache

import pandas as pd
from django.conf import settings

from scoring.decisions import services
from scoring.engine import load_bundle
from scoring.models import Channel, Prediction
from tests.support import DEFAULT_BUNDLE


@cache
def inputs_by_decision() -> dict[str, dict[str, object]]:
    """{'approve': {...}, 'refer': {...}, 'decline': {...}}: model inputs plus protected fields, as plain values."""
    model = load_bundle(DEFAULT_BUNDLE)
    frame = pd.read_csv(settings.REFERENCE_SAMPLE_PATH)
    checked = model.validate_frame(frame)
    scores = model.score_frame(checked.valid)
    wanted = [f.name for f in model.all_fields]
    found: dict[str, dict[str, object]] = {}
    for position, decision in enumerate(scores.decisions):
        if decision not in found:
            row = frame.loc[checked.valid.index[position], wanted]
            found[str(decision)] = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    return found


def as_post(inputs: dict[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in inputs.items()}


def decided(officer, decision: str, **kwargs) -> Prediction:
    """A decision of the kind asked for, made by ``officer`` through the web channel."""
    return services.score_application(
        user=officer, inputs=inputs_by_decision()[decision], channel=Channel.WEB, **kwargs
    )
