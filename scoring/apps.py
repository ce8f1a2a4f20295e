"""App configuration for scoring."""

from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Credit scoring"

    def ready(self) -> None:
        # Celery autodiscovery imports "scoring.tasks" in workers; importing it here too registers every
        # task, and connects the worker's metrics signal handlers, in web processes as well.
        from scoring import tasks  # noqa: F401
