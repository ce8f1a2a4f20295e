"""Celery tasks of the model lifecycle: thin wrappers that take ids and call ``scoring.lifecycle``.

Celery's autodiscovery only imports modules named ``tasks``; this one is imported
from ``ScoringConfig.ready()`` so workers register it (see scoring/apps.py).
"""

import os

from celery import shared_task

from scoring import lifecycle, registry


# No automatic retry: the service claims the load first and records every failure on it,
# so a retry would find nothing to do; a new load is one click away.
@shared_task(name="scoring.load_model_from_hub")
def load_model_from_hub(load_id: int) -> str:
    load = lifecycle.run_load(load_id=load_id)
    return load.state


@shared_task(name="scoring.served_model_version")
def served_model_version() -> dict:
    """Which version this worker serves now (readiness checks, the hot-swap bench)."""
    active = registry.get_active()
    return {"version_id": active.version.pk, "pid": os.getpid(), **registry.status()}
