"""Test-only settings for the hot-swap test and bench: the project's settings plus a tiny scoring endpoint."""

from creditscore.settings import *  # noqa: F403

ROOT_URLCONF = "tests.hotswap_urls"
