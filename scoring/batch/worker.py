"""Batch worker: score one chunk exactly once, queue chunks, finish or fail a job; the chunk task sits here.

A chunk is scored outside any transaction, then written in one: lock the chunk row
(``SKIP LOCKED``), check it is still pending, COPY its Prediction rows (``bulk_create``
on SQLite), write its row errors and daily counts, mark it done and add to the job's
counters. A worker killed before the commit leaves nothing behind; a duplicate delivery
finds the chunk done or locked and writes nothing. With the unique (batch_job, row_number)
constraint that gives exactly one Prediction per valid input line.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from scoring.batch import rows as batch_rows
from scoring.batch.rows import COPY_COLUMNS, ChunkRows, RowContext
from scoring.decisions import services
from scoring.engine import BundleRejected
from scoring.exceptions import InvalidBatchFile
from scoring.lifecycle import registry
from scoring.models import BatchChunk, BatchJob, BatchRowError, Channel, Prediction

log = logging.getLogger(__name__)

ACTIVE_STATES = (BatchJob.State.QUEUED, BatchJob.State.RUNNING)
# Rows per COPY write inside a chunk's transaction: bounds the text held in memory at once.
_COPY_ROWS = 10_000
# Publishing failures that mean "the broker is away", not "the task is wrong".
BROKER_ERRORS = (BrokerOperationalError, RedisConnectionError, ConnectionError)
TRANSIENT_ERRORS = (OperationalError, InterfaceError, *BROKER_ERRORS)


@shared_task(
    name="scoring.tasks.process_batch_chunk",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=20,
)
def process_batch_chunk(chunk_id: int) -> None:
    process_chunk(chunk_id=chunk_id)


def enqueue_chunks(chunks) -> int:
    """Queue a task per pending chunk; if the broker is down the job stays queued for the sweeper. Returns how many."""
    sent: list[int] = []
    try:
        for chunk_id in chunks.filter(state=BatchChunk.State.PENDING).values_list("pk", flat=True):
            process_batch_chunk.delay(chunk_id)
            sent.append(chunk_id)
    except BROKER_ERRORS as exc:
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
            columns = batch_rows.read_header(fh)
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
    skip_pending_chunks(job_id)


def skip_pending_chunks(job_id: int) -> None:
    """Mark the job's pending chunks skipped; a chunk being written (locked) finishes on its own."""
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
