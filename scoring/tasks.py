"""Celery tasks: thin wrappers taking ids, retried only on transient database or broker errors.

Every task's ``name=`` is pinned, so queued messages and the beat schedule survive moving the code.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from scoring import batch

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
    batch.process_chunk(chunk_id=chunk_id)


@shared_task(name="scoring.tasks.sweep_batch_jobs")
def sweep_batch_jobs() -> int:
    return batch.sweep_batch_jobs()
