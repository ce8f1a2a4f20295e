"""Batch scoring: CSV files cut into chunks, scored exactly once by Celery workers, with a result file."""
