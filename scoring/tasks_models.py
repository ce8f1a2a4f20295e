"""Celery tasks of the model lifecycle: thin wrappers that take ids and call ``scoring.lifecycle``.

Celery's autodiscovery only imports modules named ``tasks``; this one is imported
from ``ScoringConfig.ready()`` so workers register it (see scoring/apps.py).
"""

from celery import shared_task
from django.db import OperationalError

from scoring import lifecycle


@shared_task(
    name="scoring.load_model_from_hub",
    autoretry_for=(OperationalError,),  # database hiccups only; Hub and bundle errors are recorded on the load
    retry_backoff=True,
    max_retries=3,
)
def load_model_from_hub(load_id: int) -> str:
    load = lifecycle.run_load(load_id=load_id)
    return load.state
