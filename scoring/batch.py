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
import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from scoring import batch_rows, registry, services
from scoring.batch_rows import COPY_COLUMNS, EXTERNAL_REF, ChunkRows, RowContext
from scoring.engine import BundleRejected, LoadedModel
from scoring.exceptions import BatchJobFinished, InvalidBatchFile
from scoring.models import BatchChunk, BatchJob, BatchRowError, Channel, Prediction

log = logging.getLogger(__name__)

ACTIVE_STATES = (BatchJob.State.QUEUED, BatchJob.State.RUNNING)
# Rows per COPY write inside a chunk's transaction: bounds the text held in memory at once.
_COPY_ROWS = 10_000


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
        job = BatchJob(
            user=user, model_version=active.version, original_name=name, row_count=plan.row_count, columns=columns
        )
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
    context = RowContext(
        created_at=timezone.now(),
        user_id=job.user_id,
        model_version_id=job.model_version_id,
        batch_job_id=job.pk,
        threshold=model.threshold,
        refer_lower=model.refer_lower,
    )
    started = time.perf_counter()
    with _cycle_collector_paused():
        result = batch_rows.score_chunk(
            model,
            context=context,
            columns=columns,
            data=data,
            first_row=chunk.first_row,
            reason_count=settings.SCORING_REASON_COUNT,
        )
    if len(result) + len(result.errors) != chunk.row_count:
        fail_batch_job(job_id=job.pk, error=f"Chunk {chunk.index} no longer has {chunk.row_count} lines.")
        return
    scored_at = time.perf_counter()
    with _cycle_collector_paused(), transaction.atomic():
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
        _write_predictions(result)
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
            scored=len(result),
            rejected=len(result.errors),
            counts=result.counts,
        )
        # Last, so concurrent chunks hold the job row's lock only for the commit.
        BatchJob.objects.filter(pk=job.pk).update(
            rows_scored=F("rows_scored") + len(result), rows_rejected=F("rows_rejected") + len(result.errors)
        )
        written_at = time.perf_counter()
    log.info(
        "chunk %s of batch %s: %d scored, %d rejected; scoring %.2f s, writing %.2f s, commit %.2f s",
        chunk_id,
        job.pk,
        len(result),
        len(result.errors),
        scored_at - started,
        written_at - scored_at,
        time.perf_counter() - written_at,
    )
    finish_if_complete(job_id=job.pk)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """A chunk makes millions of short-lived objects and no cycles worth chasing; Python's cycle
    collector would walk them over and over (about 15% of a chunk's time, measured). Refcounting
    still frees everything; collection resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_predictions(rows: ChunkRows) -> None:
    if not len(rows):
        return
    if connection.vendor == "postgresql":
        _copy_predictions(rows)
        return
    Prediction.objects.bulk_create((Prediction(**record) for record in rows.records()), batch_size=2000)


def _copy_predictions(rows: ChunkRows) -> None:
    """COPY in text format through the Django connection's psycopg 3 connection, inside the caller's transaction."""
    connection.ensure_connection()
    statement = f"COPY {Prediction._meta.db_table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for block in rows.copy_blocks(_COPY_ROWS):
            copy.write(block)


def _count_chunk(job: BatchJob, result: ChunkRows) -> None:
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
        services.count_decisions(row, count=count, probability_sum=result.probability_sums[key])


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
