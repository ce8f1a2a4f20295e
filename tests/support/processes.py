"""Helpers for tests that start other processes (gunicorn, Celery, the local Hub): ports, environment, metrics."""

from __future__ import annotations

import os
import re
import socket

from django.conf import settings


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child Django process, without inherited Prometheus settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    env.update({"DJANGO_SETTINGS_MODULE": "creditscore.settings", "PYTHONPATH": str(settings.BASE_DIR)}, **extra)
    return env


def metric_value(body: str, sample: str) -> float:
    """The value of one sample line (name and labels exactly as printed) in a Prometheus text exposition."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", body, re.MULTILINE)
    assert match, f"{sample} not in output"
    return float(match.group(1))
