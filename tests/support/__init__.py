"""Helpers shared by the test packages: bundles, files, a local Hub, data builders, settings for subprocesses."""

from pathlib import Path

# The committed model bundle that `make run` activates.
DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "scoring" / "bundles" / "default"
