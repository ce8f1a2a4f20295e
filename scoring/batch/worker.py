"""Batch worker: score one chunk exactly once, send chunks fairly, finish or fail a job; the chunk task sits here.

A worker claims a chunk with a conditional UPDATE that gives it a lease (``leased_until``),
renewed by a heartbeat thread while it works, so the sweeper can take back the chunk of a
worker that died within a minute. The chunk is scored outside any transaction, then
written in one: lock the chunk row (``SKIP LOCKED``), check it is still pending, COPY its
Prediction rows (``bulk_create`` on SQLite), write its row errors and daily counts, mark
it done and add to the job's counters. A worker killed before the commit leaves nothing
behind; a duplicate delivery finds the chunk leased, done or locked and writes nothing.
With the unique (batch_job, row_number) constraint that gives exactly one Prediction per
valid input line.

Chunks are sent to the broker a few per job at a time (``BATCH_CHUNKS_IN_FLIGHT_PER_JOB``),
the next one when one finishes, to the job with the fewest in flight: jobs interleave, so a
ten-row job does not queue behind the hundred chunks of another's large file.
"""

from __future__ import annotations

import gc
import heapq
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from scoring.batch import rows as batch_rows
from scoring.batch.rows import COPY_COLUMNS, ChunkRows, RowContext
from scoring.decisions import services
from scoring.engine import BundleRejected
from scoring.engine.policy import PolicyEvaluationError
from scoring.exceptions import InvalidBatchFile
from scoring.lifecycle import registry, shadow
from scoring.models import BatchChunk, BatchJob, BatchRowError, Channel, PolicyVersion, Prediction
from scoring.policy import registry as policy_registry

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


def dispatch_chunks() -> int:
    """Send waiting chunks to the broker, taking turns between active jobs; returns how many were sent.

    A job gets at most ``BATCH_CHUNKS_IN_FLIGHT_PER_JOB`` chunks sent and not finished; each turn goes to
    the job with the fewest in flight (the older job on a tie). Each send is claimed first with a
    conditional UPDATE, so dispatchers running at once never send a chunk twice (at worst they let a job
    go one or two over its share). If the broker is down the chunk waits for the sweeper.
    """
    cap = max(1, settings.BATCH_CHUNKS_IN_FLIGHT_PER_JOB)
    pending = BatchChunk.objects.filter(job__state__in=ACTIVE_STATES, state=BatchChunk.State.PENDING).order_by()
    unsent = Q(enqueued_at__isnull=True, leased_until__isnull=True)  # a held chunk counts as in flight
    in_flight = Counter(pending.exclude(unsent).values_list("job_id", flat=True))
    waiting: dict[int, deque[int]] = {}
    for job_id, chunk_id in pending.filter(unsent).order_by("job_id", "index").values_list("job_id", "pk"):
        waiting.setdefault(job_id, deque()).append(chunk_id)
    turns = [(in_flight[job_id], job_id) for job_id in waiting]
    heapq.heapify(turns)
    sent = 0
    while turns:
        count, job_id = heapq.heappop(turns)
        if count >= cap:
            break  # the job with the fewest in flight is full, so all are
        chunk_id = waiting[job_id].popleft()
        claimed = BatchChunk.objects.filter(unsent, pk=chunk_id, state=BatchChunk.State.PENDING).update(
            enqueued_at=timezone.now()
        )
        if claimed:
            try:
                process_batch_chunk.delay(chunk_id)
            except BROKER_ERRORS as exc:
                BatchChunk.objects.filter(pk=chunk_id, leased_until__isnull=True).update(enqueued_at=None)
                log.warning("broker unavailable, chunks left for the sweeper: %s", exc)
                return sent
            sent += 1
            count += 1
        if waiting[job_id]:
            heapq.heappush(turns, (count, job_id))
    return sent


# --- one chunk -----------------------------------------------------------------------


def process_chunk(*, chunk_id: int) -> None:
    """Score one chunk and record it exactly once; a no-op for a chunk already done, skipped, leased or being written.

    An unexpected error fails this start of the chunk (counted, the chunk is sent again) and, after
    ``BATCH_CHUNK_MAX_ATTEMPTS`` such failures, the job with the error as its reason; database and
    broker connection errors propagate so that the task retries.
    """
    if not claim_chunk(chunk_id):
        log.info("chunk %s is no longer pending, or another worker holds it", chunk_id)
        return
    chunk = BatchChunk.objects.select_related("job__model_version").get(pk=chunk_id)
    job = chunk.job
    now = timezone.now()
    if job.state not in ACTIVE_STATES:
        BatchChunk.objects.filter(pk=chunk_id, state=BatchChunk.State.PENDING).update(
            state=BatchChunk.State.SKIPPED, finished_at=now, leased_until=None
        )
        finish_if_complete(job_id=job.pk)
        return
    if chunk.failures >= settings.BATCH_CHUNK_MAX_ATTEMPTS:
        fail_batch_job(job_id=job.pk, error=gave_up(chunk))
        dispatch_chunks()
        return
    BatchJob.objects.filter(pk=job.pk, state=BatchJob.State.QUEUED).update(state=BatchJob.State.RUNNING, started_at=now)
    try:
        with _lease_kept(chunk_id):
            _score_and_write(chunk, job)
    except TRANSIENT_ERRORS:
        _release(chunk_id)
        raise
    except Exception as exc:  # any other error is this chunk's failure, never a job stuck running
        log.exception("chunk %s of batch %s failed", chunk_id, job.pk)
        _chunk_failed(chunk, f"{type(exc).__name__}: {exc}")
        return
    finish_if_complete(job_id=job.pk)
    dispatch_chunks()


def claim_chunk(chunk_id: int) -> bool:
    """Take a pending chunk nobody holds, with a lease; a chunk whose lease ran out had a worker that died."""
    now = timezone.now()
    lease = _lease_end()
    pending = BatchChunk.objects.filter(pk=chunk_id, state=BatchChunk.State.PENDING)
    if pending.filter(leased_until__isnull=True).update(attempts=F("attempts") + 1, claimed_at=now, leased_until=lease):
        return True
    return bool(
        pending.filter(leased_until__lt=now).update(
            attempts=F("attempts") + 1,
            failures=F("failures") + 1,
            last_error=WORKER_LOST,
            claimed_at=now,
            leased_until=lease,
        )
    )


def renew_lease(chunk_id: int) -> None:
    BatchChunk.objects.filter(pk=chunk_id, state=BatchChunk.State.PENDING).update(leased_until=_lease_end())


def _lease_end() -> datetime:
    return timezone.now() + timedelta(seconds=settings.BATCH_CHUNK_LEASE_SECONDS)


WORKER_LOST = gettext_lazy("its worker stopped (killed or lost) before finishing it")


def gave_up(chunk: BatchChunk) -> str:
    last = chunk.first_row + chunk.row_count - 1
    return gettext("Chunk %(chunk)d (rows %(first)s to %(last)s) failed %(failures)d time(s); last: %(error)s") % {
        "chunk": chunk.index + 1,
        "first": f"{chunk.first_row:,}",
        "last": f"{last:,}",
        "failures": chunk.failures,
        "error": chunk.last_error or gettext("unknown error"),
    }


def _chunk_failed(chunk: BatchChunk, reason: str) -> None:
    """Count a failed start; send the chunk again, or fail the job once the attempts are used up."""
    BatchChunk.objects.filter(pk=chunk.pk, state=BatchChunk.State.PENDING).update(
        failures=F("failures") + 1, last_error=reason[:1000], leased_until=None, enqueued_at=None
    )
    chunk.refresh_from_db()
    if chunk.state == BatchChunk.State.PENDING and chunk.failures >= settings.BATCH_CHUNK_MAX_ATTEMPTS:
        fail_batch_job(job_id=chunk.job_id, error=gave_up(chunk))
    dispatch_chunks()


def _release(chunk_id: int) -> None:
    """Give the chunk back at once (a connection error: the task retries), if the database can be reached."""
    try:
        BatchChunk.objects.filter(pk=chunk_id, state=BatchChunk.State.PENDING).update(leased_until=None)
    except TRANSIENT_ERRORS:
        log.warning("could not release chunk %s; its lease will run out", chunk_id)


@contextmanager
def _lease_kept(chunk_id: int) -> Iterator[None]:
    """Renew the chunk's lease every third of its length while the block runs (a thread with its own connection)."""
    seconds = settings.BATCH_CHUNK_LEASE_SECONDS
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(seconds / 3):
                try:
                    renew_lease(chunk_id)
                except Exception:  # a missed renewal only shortens the lease
                    log.warning("could not renew the lease of chunk %s", chunk_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's connections only

    heartbeat = threading.Thread(target=renew, name=f"chunk-{chunk_id}-lease", daemon=True)
    heartbeat.start()
    try:
        yield
    finally:
        stop.set()
        heartbeat.join()


def _score_and_write(chunk: BatchChunk, job: BatchJob) -> None:
    chunk_id = chunk.pk
    try:
        model = registry.get_loaded(job.model_version)
        policy = policy_registry.compiled(job.policy_version_id) if job.policy_version_id else None
        with job.file.storage.open(job.file.name, "rb") as fh:
            columns = batch_rows.read_header(fh)
            fh.seek(chunk.byte_start)
            data = fh.read(chunk.byte_end - chunk.byte_start)
    except (BundleRejected, InvalidBatchFile, FileNotFoundError, PolicyVersion.DoesNotExist) as exc:
        fail_batch_job(
            job_id=job.pk,
            error=gettext("Chunk %(chunk)d could not be read or scored: %(error)s")
            % {"chunk": chunk.index, "error": exc},
        )
        return
    context = RowContext(
        created_at=timezone.now(),
        user_id=job.user_id,
        model_version_id=job.model_version_id,
        batch_job_id=job.pk,
        threshold=model.threshold,
        refer_lower=model.refer_lower,
        policy_version_id=job.policy_version_id,
    )
    started = time.perf_counter()
    try:
        with _cycle_collector_paused():
            result = batch_rows.score_chunk(
                model,
                context=context,
                columns=columns,
                data=data,
                first_row=chunk.first_row,
                reason_count=settings.SCORING_REASON_COUNT,
                policy=policy,
            )
    except PolicyEvaluationError as exc:  # the pinned policy does not fit the pinned model: stop, do not guess
        fail_batch_job(
            job_id=job.pk, error=gettext("Chunk %(chunk)d: %(error)s") % {"chunk": chunk.index, "error": exc}
        )
        return
    if len(result) + len(result.errors) != chunk.row_count:
        fail_batch_job(
            job_id=job.pk,
            error=gettext("Chunk %(chunk)d no longer has %(rows)d lines.")
            % {"chunk": chunk.index, "rows": chunk.row_count},
        )
        return
    scored_at = time.perf_counter()
    # A whole lease for the write: the heartbeat cannot renew a row this transaction has locked.
    renew_lease(chunk_id)
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
            leased_until=None,
            scored=len(result),
            rejected=len(result.errors),
            counts=result.counts,
        )
        # Last, so concurrent chunks hold the job row's lock only for the commit.
        BatchJob.objects.filter(pk=job.pk).update(
            rows_scored=F("rows_scored") + len(result), rows_rejected=F("rows_rejected") + len(result.errors)
        )
        # One shadow task for the chunk's decisions, sent once they are committed (if a challenger runs).
        shadow.shadow_chunk_after_commit(chunk_id)
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
