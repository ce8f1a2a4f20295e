"""Shadow scoring: the challenger scores recorded live decisions after they commit; its tasks sit here.

A decision is made and recorded by the champion alone. Once its transaction commits, the ids of the
new decisions (or a batch chunk's id) go to a Celery task with the challenger's version id, pinned
when the decision was made. The task reads the features each decision recorded (the validated values
the champion scored), validates them against the challenger's schema, scores them at once with
the challenger's own threshold, refer band and risk bands (no credit policy), and stores one
ShadowScore per decision with a bulk insert that skips any already stored: a retried or repeated task
stores nothing twice. Nothing here can change or delay a recorded decision: every failure is logged
and counted (``creditscore_shadow_failures_total``), never raised to the code that decided.

Without a broker (``CELERY_TASK_ALWAYS_EAGER``: ``make run``, tests), the task runs in the request's
process right after the commit, before the response is sent; bench/api_scoring.py measures that cost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import partial

import numpy as np
import pandas as pd
from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction

from scoring.engine import InvalidApplication, LoadedModel
from scoring.lifecycle import registry
from scoring.lifecycle.challengers import current_challenger_id
from scoring.models import BatchChunk, Prediction, ShadowScore
from scoring.monitoring import metrics

log = logging.getLogger(__name__)

# Decisions read, validated and scored at once: bounds a batch chunk's memory in the task.
SLICE = 2_000
# Up to this many, rows are validated one by one and scored without a DataFrame (cheaper for a request's few).
FEW_ROWS = 20
# A task retries on these (the database went away for a moment), never on a bad model or bad rows.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    name="scoring.tasks.shadow_score_decisions",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def shadow_score_decisions(prediction_ids: list[int], version_id: int) -> None:
    _guarded(score_in_shadow, prediction_ids=prediction_ids, version_id=version_id)


@shared_task(
    name="scoring.tasks.shadow_score_chunk",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def shadow_score_chunk(chunk_id: int, version_id: int) -> None:
    _guarded(score_chunk_in_shadow, chunk_id=chunk_id, version_id=version_id)


def _guarded(service, **kwargs) -> None:
    """Run a shadow service; a transient error retries the task, any other is logged and counted, never raised."""
    try:
        service(**kwargs)
    except TRANSIENT_ERRORS:
        raise
    except Exception:
        what = {
            k: (f"{len(v)} decisions from #{min(v)}" if isinstance(v, list) and v else v) for k, v in kwargs.items()
        }
        log.exception("shadow scoring failed (%s); the decisions are unaffected", what)
        metrics.record_shadow_failure("task")


# --- queueing, after the decision commits ---------------------------------------------


def shadow_after_commit(prediction_ids: Iterable[int]) -> None:
    """Have the current challenger (if any) score these new decisions once their transaction commits."""
    ids = [int(pk) for pk in prediction_ids]
    version_id = _challenger_or_none()
    if version_id is None or not ids:
        return
    transaction.on_commit(partial(_send, shadow_score_decisions, ids, version_id), robust=True)


def shadow_chunk_after_commit(chunk_id: int) -> None:
    """Have the current challenger (if any) score a batch chunk's decisions once the chunk's transaction commits."""
    version_id = _challenger_or_none()
    if version_id is None:
        return
    transaction.on_commit(partial(_send, shadow_score_chunk, chunk_id, version_id), robust=True)


def _challenger_or_none() -> int | None:
    try:
        return current_challenger_id()
    except Exception:  # the marker cannot be read: no shadow score, but the decision goes ahead
        log.warning("could not read the current challenger; no shadow score", exc_info=True)
        metrics.record_shadow_failure("queue")
        return None


def _send(task, *args) -> None:
    try:
        task.delay(*args)
    except Exception:  # the broker is away, or (eager) the task itself raised: the decision stands
        log.warning("could not run shadow scoring %s for challenger %s", task.name, args[-1], exc_info=True)
        metrics.record_shadow_failure("queue")


# --- the shadow scoring itself ----------------------------------------------------------


def score_in_shadow(*, prediction_ids: Sequence[int], version_id: int) -> int:
    """Score these recorded decisions with challenger ``version_id`` and store the new ShadowScores.

    Decisions the challenger itself made (it was made active meanwhile) are left out, and so are those
    already scored by it. Returns the number of decisions scored.
    """
    model = registry.get_loaded_by_id(version_id)
    ids = sorted(set(prediction_ids))
    scored = 0
    for start in range(0, len(ids), SLICE):
        rows = list(
            Prediction.objects.filter(pk__in=ids[start : start + SLICE])
            .exclude(model_version_id=version_id)
            .exclude(pk__in=ShadowScore.objects.filter(model_version_id=version_id).values("prediction_id"))
            .order_by("pk")
            .values_list("pk", "features")
        )
        scored += _score_rows(model, version_id, rows)
    return scored


def score_chunk_in_shadow(*, chunk_id: int, version_id: int) -> int:
    """Score a batch chunk's decisions (its rows' unique (job, row number) index finds them)."""
    chunk = BatchChunk.objects.get(pk=chunk_id)
    last_row = chunk.first_row + chunk.row_count - 1
    ids = Prediction.objects.filter(
        batch_job_id=chunk.job_id, row_number__gte=chunk.first_row, row_number__lte=last_row
    ).values_list("pk", flat=True)
    return score_in_shadow(prediction_ids=list(ids), version_id=version_id)


def _score_rows(model: LoadedModel, version_id: int, rows: list[tuple[int, dict]]) -> int:
    """Validate and score one slice; rows the challenger's schema refuses get no score (logged and counted)."""
    if not rows:
        return 0
    if len(rows) <= FEW_ROWS:
        ids, probabilities = _few(model, rows)
    else:
        ids, probabilities = _many(model, rows)
    refused = len(rows) - len(ids)
    if refused:
        log.warning("challenger %s cannot score %d of %d decisions", version_id, refused, len(rows))
        metrics.record_shadow_failure("row", refused)
    if not ids:
        return 0
    decisions, bands = model.decide(probabilities), model.band(probabilities)
    ShadowScore.objects.bulk_create(
        [
            ShadowScore(
                prediction_id=pk,
                model_version_id=version_id,
                probability=float(probabilities[k]),
                decision=str(decisions[k]),
                threshold=model.threshold,
                refer_lower=model.refer_lower,
                risk_band=str(bands[k]),
            )
            for k, pk in enumerate(ids)
        ],
        ignore_conflicts=True,
    )
    metrics.record_shadow_scores(model_version=version_id, count=len(ids))
    return len(ids)


def _few(model: LoadedModel, rows: list[tuple[int, dict]]) -> tuple[list[int], np.ndarray]:
    """A few decisions (one form or API request): each validated as a dict, scored without a DataFrame, which
    would cost more than the prediction."""
    ids, valid = [], []
    for pk, features in rows:
        try:
            # A feature the decision did not record is missing here, which validation refuses: never a guess.
            application = model.validate({n: features[n] for n in model.feature_names if n in features})
        except InvalidApplication as exc:
            log.info("challenger cannot score decision %s: %s", pk, exc)
            continue
        ids.append(pk)
        valid.append(application.features)
    return ids, model.probabilities_of(valid) if valid else np.empty(0)


def _many(model: LoadedModel, rows: list[tuple[int, dict]]) -> tuple[list[int], np.ndarray]:
    """Many decisions (an API many request, a batch chunk): validated and scored as one frame."""
    names = model.feature_names
    frame = pd.DataFrame([[features.get(n) for n in names] for _, features in rows], columns=names)
    checked = model.validate_frame(frame)
    if checked.valid.empty:
        return [], np.empty(0)
    return [rows[i][0] for i in checked.valid.index.tolist()], model.probabilities(checked.valid)
