"""Test-only settings for the hot-swap test and bench: the project's settings plus a tiny scoring endpoint."""

from creditscore.settings import *  # noqa: F403

ROOT_URLCONF = "tests.support.hotswap_urls"

# The bench reads which version each Celery worker serves, so it needs results.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None  # noqa: F405
