"""Benchmark-only settings for bench/api.py: the project's settings plus the do-nothing DRF view."""

from creditscore.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
