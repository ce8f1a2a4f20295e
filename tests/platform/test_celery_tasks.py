"""Queued messages and the beat schedule name tasks by string: those names must survive moving the code."""

from django.conf import settings

from creditscore.celery import app

# The names messages already queued in a deployed broker carry; changing one strands those messages.
PINNED = {
    "scoring.tasks.process_batch_chunk",
    "scoring.tasks.sweep_batch_jobs",
    "scoring.tasks.run_policy_simulation",
    "scoring.tasks.run_backtest",
    "scoring.tasks.shadow_score_chunk",
    "scoring.tasks.shadow_score_decisions",
    "scoring.load_model_from_hub",
    "scoring.served_model_version",
    "scoring.tasks_monitoring.drift_report",
    "scoring.tasks_monitoring.realised_performance",
}


def test_every_task_is_registered_under_its_pinned_name():
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery of scoring.tasks
    assert {name for name in app.tasks if name.startswith("scoring")} == PINNED


def test_the_beat_schedule_names_only_registered_tasks():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "scoring.tasks.sweep_batch_jobs",
        "scoring.tasks_monitoring.drift_report",
        "scoring.tasks_monitoring.realised_performance",
    }
    assert scheduled <= set(app.tasks)
