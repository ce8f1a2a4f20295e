"""Batch scoring services: submit a CSV, plan its chunks, score each chunk exactly once, finish, cancel, sweep.

A job's file is stored through Django's default storage and cut at submission
into chunks of whole lines (byte ranges), so any worker on any host can score
chunk k alone. A chunk is scored outside any transaction, then written in one:
lock the chunk row (``SKIP LOCKED``), check it is still pending, COPY its
Prediction rows (``bulk_create`` on SQLite), write its row errors and daily
counts, mark it done and add to the job's counters. A worker killed before the
commit leaves nothing behind; a duplicate delivery finds the chunk done or
locked and writes nothing. With the unique (batch_job, row_number) constraint
that gives exactly one Prediction per valid input line.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath
from typing import IO

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from scoring import registry, services
from scoring.engine import INTEGER, BundleRejected, LoadedModel
from scoring.exceptions import BatchJobFinished, InvalidBatchFile
from scoring.models import BatchChunk, BatchJob, BatchRowError, Channel, Prediction

log = logging.getLogger(__name__)

EXTERNAL_REF = "external_ref"
ACTIVE_STATES = (BatchJob.State.QUEUED, BatchJob.State.RUNNING)
# Rows per COPY statement inside a chunk's transaction: bounds the size of the text built in memory.
_COPY_ROWS = 10_000
_COPY_COLUMNS = (
    "created_at",
    "user_id",
    "channel",
    "model_version_id",
    "inputs",
    "features",
    "protected",
    "probability",
    "decision",
    "threshold",
    "refer_lower",
    "risk_band",
    "reasons",
    "external_ref",
    "batch_job_id",
    "row_number",
)


# --- submission ------------------------------------------------------------------


@dataclass
class ChunkPlan:
    row_count: int = 0
    chunks: list[tuple[int, int, int, int]] = field(default_factory=list)  # first_row, rows, byte_start, byte_end


def submit_batch_job(*, user: AbstractBaseUser, upload: File, original_name: str = "") -> BatchJob:
    """Check an uploaded CSV, store it, record the job and its chunks pinned to the active model, queue them.

    Raises InvalidBatchFile (nothing is stored or queued) or ModelUnavailable.
    """
    active = registry.get_active()
    name = PurePath(original_name or getattr(upload, "name", "") or "upload.csv").name[:255]
    size = upload.size
    if size is not None and size > settings.BATCH_MAX_BYTES:
        raise InvalidBatchFile(
            {"file": [f"The file is {_megabytes(size)}; the limit is {_megabytes(settings.BATCH_MAX_BYTES)}."]}
        )
    upload.open("rb")
    upload.seek(0)
    columns = read_header(upload)
    check_header(active.model, columns)
    plan = plan_chunks(upload, chunk_rows=settings.BATCH_CHUNK_ROWS, max_rows=settings.BATCH_MAX_ROWS)
    if plan.row_count == 0:
        raise InvalidBatchFile({"file": ["The file has a header but no rows to score."]})
    upload.seek(0)
    with transaction.atomic():
        job = BatchJob(user=user, model_version=active.version, original_name=name, row_count=plan.row_count)
        job.file.save(_storage_name(name), upload, save=False)
        job.save()
        BatchChunk.objects.bulk_create(
            BatchChunk(job=job, index=i, first_row=first, row_count=rows, byte_start=start, byte_end=end)
            for i, (first, rows, start, end) in enumerate(plan.chunks)
        )
        job_id = job.pk
        transaction.on_commit(lambda: enqueue_chunks(BatchChunk.objects.filter(job_id=job_id)))
    return job


def read_header(fh: IO[bytes]) -> list[str]:
    """The column names of a CSV's first line (a UTF-8 byte-order mark is ignored)."""
    first = fh.readline()
    if not first.strip():
        raise InvalidBatchFile({"file": ["The file is empty: the first line must name the columns."]})
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidBatchFile({"file": ["The header is not UTF-8 text: is this a CSV file?"]}) from exc
    return [name.strip() for name in next(csv.reader([text.rstrip("\r\n")]))]


def check_header(model: LoadedModel, columns: list[str]) -> None:
    """Every model feature must be a column; every column must be a feature, protected attribute or external_ref."""
    allowed = {*model.feature_names, *(f.name for f in model.protected), EXTERNAL_REF}
    errors: dict[str, list[str]] = {}
    missing = [name for name in model.feature_names if name not in columns]
    unknown = [name for name in columns if name not in allowed]
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if missing:
        errors["missing_columns"] = [f"Missing column(s): {', '.join(missing)}."]
    if unknown:
        shown = ", ".join(repr(n[:60]) for n in unknown[:10])
        errors["unknown_columns"] = [
            f"Unknown column(s): {shown}. Allowed are the model's features, "
            f"its protected attributes and {EXTERNAL_REF}."
        ]
    if duplicated:
        errors["duplicate_columns"] = [f"Column(s) named twice: {', '.join(duplicated)}."]
    if errors:
        raise InvalidBatchFile(errors)


def plan_chunks(fh: IO[bytes], *, chunk_rows: int, max_rows: int) -> ChunkPlan:
    """Count the data lines after the header and cut them into chunks of ``chunk_rows`` lines (byte ranges)."""
    fh.seek(0)
    offset = len(fh.readline())
    plan = ChunkPlan()
    start, in_chunk = offset, 0
    for line in iter(fh.readline, b""):
        plan.row_count += 1
        in_chunk += 1
        offset += len(line)
        if plan.row_count > max_rows:
            raise InvalidBatchFile({"file": [f"The file has more than {max_rows:,} rows, the limit per job."]})
        if in_chunk == chunk_rows:
            plan.chunks.append((plan.row_count - in_chunk + 1, in_chunk, start, offset))
            start, in_chunk = offset, 0
    if in_chunk:
        plan.chunks.append((plan.row_count - in_chunk + 1, in_chunk, start, offset))
    return plan


def enqueue_chunks(chunks) -> int:
    """Queue a task per pending chunk; if the broker is down the job stays queued for the sweeper. Returns how many."""
    from scoring import tasks  # tasks import this module

    sent: list[int] = []
    try:
        for chunk_id in chunks.filter(state=BatchChunk.State.PENDING).values_list("pk", flat=True):
            tasks.process_batch_chunk.delay(chunk_id)
            sent.append(chunk_id)
    except tasks.BROKER_ERRORS as exc:
        log.warning("broker unavailable, %d chunk(s) left for the sweeper: %s", chunks.count() - len(sent), exc)
    finally:
        if sent:
            BatchChunk.objects.filter(pk__in=sent).update(enqueued_at=timezone.now())
    return len(sent)


# --- one chunk -----------------------------------------------------------------------


@dataclass
class ChunkResult:
    """A chunk scored in memory, ready to be written: the rows to record and the errors of the others."""

    rows: pd.DataFrame  # one line per valid row, the Prediction columns as text/numbers
    errors: dict[int, dict[str, list[str]]]
    counts: dict[str, int]
    probability_sums: dict[str, float]
    error_refs: dict[int, str] = field(default_factory=dict)  # external_ref of rejected rows that have one


def process_chunk(*, chunk_id: int) -> None:
    """Score one chunk and record it exactly once; a no-op for a chunk already done, skipped or being written."""
    now = timezone.now()
    if not BatchChunk.objects.filter(pk=chunk_id, state=BatchChunk.State.PENDING).update(
        attempts=F("attempts") + 1, claimed_at=now
    ):
        log.info("chunk %s is no longer pending", chunk_id)
        return
    chunk = BatchChunk.objects.select_related("job__model_version").get(pk=chunk_id)
    job = chunk.job
    if job.state not in ACTIVE_STATES:
        BatchChunk.objects.filter(pk=chunk_id, state=BatchChunk.State.PENDING).update(
            state=BatchChunk.State.SKIPPED, finished_at=now
        )
        finish_if_complete(job_id=job.pk)
        return
    BatchJob.objects.filter(pk=job.pk, state=BatchJob.State.QUEUED).update(state=BatchJob.State.RUNNING, started_at=now)
    try:
        model = registry.get_loaded(job.model_version)
        with job.file.storage.open(job.file.name, "rb") as fh:
            columns = read_header(fh)
            fh.seek(chunk.byte_start)
            data = fh.read(chunk.byte_end - chunk.byte_start)
    except (BundleRejected, InvalidBatchFile, FileNotFoundError) as exc:
        fail_batch_job(job_id=job.pk, error=f"Chunk {chunk.index} could not be read or scored: {exc}")
        return
    result = score_chunk(model, job=job, columns=columns, data=data, first_row=chunk.first_row)
    if len(result.rows) + len(result.errors) != chunk.row_count:
        fail_batch_job(job_id=job.pk, error=f"Chunk {chunk.index} no longer has {chunk.row_count} lines.")
        return
    with transaction.atomic():
        # of=self and no ordering: the model's default ordering joins the job row, which concurrent chunks lock.
        locked = (
            BatchChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=chunk_id, state=BatchChunk.State.PENDING)
            .order_by()
            .values_list("pk", flat=True)
            .first()
        )
        if locked is None:  # done by another delivery meanwhile, being written by one, or cancelled
            log.info("chunk %s of batch %s was done, cancelled or locked by another worker", chunk_id, job.pk)
            return
        _write_predictions(result.rows)
        BatchRowError.objects.bulk_create(
            (
                BatchRowError(job_id=job.pk, row_number=n, errors=e, external_ref=result.error_refs.get(n, ""))
                for n, e in result.errors.items()
            ),
            batch_size=5000,
        )
        _count_chunk(job, result)
        if settings.BATCH_FAULT_PAUSE_SECONDS:
            time.sleep(settings.BATCH_FAULT_PAUSE_SECONDS)
        BatchChunk.objects.filter(pk=chunk_id).update(
            state=BatchChunk.State.DONE,
            finished_at=timezone.now(),
            scored=len(result.rows),
            rejected=len(result.errors),
            counts=result.counts,
        )
        # Last, so concurrent chunks hold the job row's lock only for the commit.
        BatchJob.objects.filter(pk=job.pk).update(
            rows_scored=F("rows_scored") + len(result.rows), rows_rejected=F("rows_rejected") + len(result.errors)
        )
    log.info("chunk %s of batch %s: %d scored, %d rejected", chunk_id, job.pk, len(result.rows), len(result.errors))
    finish_if_complete(job_id=job.pk)


def parse_lines(data: bytes, *, columns: list[str], first_row: int) -> tuple[pd.DataFrame, dict[int, dict]]:
    """A chunk's lines as a frame of text indexed by row number, and the errors of lines that are not rows."""
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if first_row == 1 and lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    width = len(columns)
    errors: dict[int, dict[str, list[str]]] = {}
    good: list[str] = []
    numbers: list[int] = []
    for offset, line in enumerate(lines):
        number = first_row + offset
        line = line.removesuffix("\r")
        if not line.strip():
            errors[number] = {"row": ["Empty line."]}
            continue
        if '"' in line:
            if line.count('"') % 2:
                errors[number] = {"row": ["Unbalanced quotes."]}
                continue
            found = len(next(csv.reader([line])))
        else:
            found = line.count(",") + 1
        if found != width:
            errors[number] = {"row": [f"Expected {width} columns, found {found}."]}
            continue
        good.append(line)
        numbers.append(number)
    if not good:
        return pd.DataFrame(columns=columns, dtype=object), errors
    frame = pd.read_csv(
        io.StringIO("\n".join(good)),
        header=None,
        names=columns,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        engine="c",
    )
    if len(frame) != len(good):  # a quoting corner pandas reads differently: fall back to the csv module
        frame = pd.DataFrame(list(csv.reader(good)), columns=columns, dtype=object)
    frame.index = pd.Index(numbers, dtype="int64")
    return frame, errors


def score_chunk(model: LoadedModel, *, job: BatchJob, columns: list[str], data: bytes, first_row: int) -> ChunkResult:
    """Parse, validate and score a chunk vectorised; bad rows become per-row errors, never a failed job."""
    frame, errors = parse_lines(data, columns=columns, first_row=first_row)
    checked = model.validate_frame(frame)
    errors.update({int(n): e for n, e in checked.errors.items()})
    refs: dict[int, str] = {}
    if checked.errors and EXTERNAL_REF in frame.columns:
        bad = frame.loc[list(checked.errors), EXTERNAL_REF].str.strip().str.slice(0, 100)
        refs = {int(n): ref for n, ref in bad.items() if ref}
    valid = checked.valid
    if valid.empty:
        empty = pd.DataFrame(columns=_COPY_COLUMNS)
        return ChunkResult(rows=empty, errors=errors, counts={}, probability_sums={}, error_refs=refs)
    scores = model.score_frame(valid, reasons_for="decline", reason_count=settings.SCORING_REASON_COUNT)
    typed = valid.copy()
    for f in model.features:
        if f.kind == INTEGER:
            typed[f.name] = typed[f.name].astype("int64")
    protected = checked.protected
    rows = pd.DataFrame(
        {
            "created_at": timezone.now().isoformat(),
            "user_id": job.user_id,
            "channel": Channel.BATCH.value,
            "model_version_id": job.model_version_id,
            "inputs": _json_lines(frame.loc[valid.index]),
            "features": _json_lines(typed),
            "protected": _json_lines(protected) if len(protected.columns) else "{}",
            "probability": scores.probabilities,
            "decision": scores.decisions,
            "threshold": model.threshold,
            "refer_lower": model.refer_lower,
            "risk_band": scores.risk_bands,
            "reasons": [json.dumps([r.as_dict() for r in rs]) if rs else "[]" for rs in scores.reasons],
            "external_ref": (
                frame.loc[valid.index, EXTERNAL_REF].str.strip().str.slice(0, 100).to_numpy()
                if EXTERNAL_REF in frame.columns
                else ""
            ),
            "batch_job_id": job.pk,
            "row_number": valid.index.to_numpy(),
        },
        index=valid.index,
    )
    keys = pd.Series(scores.decisions, dtype=object) + "/" + pd.Series(scores.risk_bands, dtype=object)
    grouped = pd.Series(scores.probabilities).groupby(keys.to_numpy())
    counts = {str(k): int(v) for k, v in grouped.size().items()}
    sums = {str(k): float(v) for k, v in grouped.sum().items()}
    return ChunkResult(rows=rows, errors=errors, counts=counts, probability_sums=sums, error_refs=refs)


def _json_lines(frame: pd.DataFrame) -> np.ndarray:
    """One JSON object per row, built by pandas in C rather than json.dumps per row."""
    if frame.empty:
        return np.array([], dtype=object)
    return np.array(frame.to_json(orient="records", lines=True).rstrip("\n").split("\n"), dtype=object)


def _write_predictions(rows: pd.DataFrame) -> None:
    if rows.empty:
        return
    if connection.vendor == "postgresql":
        _copy_predictions(rows)
        return
    Prediction.objects.bulk_create(
        (
            Prediction(**{**r, **{k: json.loads(r[k]) for k in ("inputs", "features", "protected", "reasons")}})
            for r in rows.to_dict("records")
        ),
        batch_size=2000,
    )


def _copy_predictions(rows: pd.DataFrame) -> None:
    """COPY in CSV format through the Django connection's psycopg 3 connection, inside the caller's transaction."""
    connection.ensure_connection()
    statement = (
        f"COPY {Prediction._meta.db_table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN "
        "WITH (FORMAT csv, FORCE_NOT_NULL (external_ref))"
    )
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, len(rows), _COPY_ROWS):
            copy.write(rows.iloc[start : start + _COPY_ROWS].to_csv(header=False, index=False, columns=_COPY_COLUMNS))


def _count_chunk(job: BatchJob, result: ChunkResult) -> None:
    """Add the chunk's decisions to the daily aggregate, in the chunk's transaction."""
    now = timezone.now()
    for key, count in result.counts.items():
        decision, band = key.split("/", 1)
        row = Prediction(
            created_at=now,
            user_id=job.user_id,
            model_version_id=job.model_version_id,
            channel=Channel.BATCH,
            decision=decision,
            risk_band=band,
        )
        services._count(row, count=count, probability_sum=result.probability_sums[key])


# --- job life cycle ------------------------------------------------------------------


def finish_if_complete(*, job_id: int) -> bool:
    """Mark the job finished once no chunk is pending; safe to call any number of times, from any worker."""
    if BatchChunk.objects.filter(job_id=job_id, state=BatchChunk.State.PENDING).exists():
        return False
    now = timezone.now()
    BatchJob.objects.filter(pk=job_id, state__in=ACTIVE_STATES).update(state=BatchJob.State.SUCCEEDED, finished_at=now)
    BatchJob.objects.filter(pk=job_id, finished_at__isnull=True).update(finished_at=now)
    return True


def fail_batch_job(*, job_id: int, error: str) -> None:
    """Stop a job that cannot go on (its model or file is gone): remaining chunks are skipped, rows kept."""
    log.error("batch job %s failed: %s", job_id, error)
    BatchJob.objects.filter(pk=job_id, state__in=ACTIVE_STATES).update(
        state=BatchJob.State.FAILED, error=error[:2000], finished_at=timezone.now()
    )
    _skip_pending_chunks(job_id)


def cancel_batch_job(*, job: BatchJob) -> BatchJob:
    """Stop a queued or running job: chunks not yet started are skipped, chunks being written finish."""
    if not BatchJob.objects.filter(pk=job.pk, state__in=ACTIVE_STATES).update(state=BatchJob.State.CANCELLED):
        raise BatchJobFinished(f"{job} has already finished.")
    _skip_pending_chunks(job.pk)
    finish_if_complete(job_id=job.pk)
    job.refresh_from_db()
    return job


def _skip_pending_chunks(job_id: int) -> None:
    with transaction.atomic():
        free = list(
            BatchChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(job_id=job_id, state=BatchChunk.State.PENDING)
            .order_by()
            .values_list("pk", flat=True)
        )
        BatchChunk.objects.filter(pk__in=free, state=BatchChunk.State.PENDING).update(
            state=BatchChunk.State.SKIPPED, finished_at=timezone.now()
        )


def sweep_batch_jobs() -> int:
    """Re-queue pending chunks nobody picked up in time (broker down, lost message) and finish complete jobs.

    Returns how many chunks were queued again.
    """
    stale = timezone.now() - timedelta(seconds=settings.BATCH_STALE_SECONDS)
    for job_id in BatchJob.objects.filter(state__in=ACTIVE_STATES).values_list("pk", flat=True):
        finish_if_complete(job_id=job_id)
    chunks = BatchChunk.objects.filter(
        job__state__in=ACTIVE_STATES,
        state=BatchChunk.State.PENDING,
    ).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale),
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale),
    )
    return enqueue_chunks(chunks)


def _storage_name(name: str) -> str:
    stem = PurePath(name).stem[:80] or "upload"
    return f"{stem}.csv"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"
