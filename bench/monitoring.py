"""Benchmark of the monitoring reads: drift report, fairness table, daily rates and the /metrics scrape.

Fills the configured database (run it against a scratch PostgreSQL database) with N synthetic
decisions inside a transaction that is rolled back at the end, then times each read.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench python bench/monitoring.py --rows 100000

Every target is judged at any size: fewer decisions make no read slower.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta

import harness

harness.start_django()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from scoring.lifecycle import registry  # noqa: E402
from scoring.models import DailyStat, DailyTotal, Prediction  # noqa: E402
from scoring.monitoring import reports  # noqa: E402

# Targets (ours): the daily task (drift + fairness) well under a minute; the page and the
# scrape, which run on demand, never scan decisions and stay fast whatever the history size.
TARGETS = {
    "drift report incl. fairness (daily task)": 30.0,
    "fairness table alone (part of the daily task)": 10.0,
    "daily rates, 90 days (aggregate table)": 0.05,
    "monitoring page, whole request": 0.3,
    "/metrics scrape": 0.1,
}


class Rollback(Exception):
    pass


def timed(label: str, fn, repeat: int = 3) -> float:
    best = min(_once(fn) for _ in range(repeat))
    target = TARGETS[label]
    measured, limit = f"{best * 1000:.1f} ms", f"<= {target * 1000:.0f} ms"
    harness.result_line(label, measured, limit, harness.verdict(best <= target), widths=(55, 13, 12))
    return best


def _once(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    harness.migrate()
    print(f"database: {connection.vendor}, {args.rows} decisions in the window")
    try:
        with transaction.atomic():
            _run(args.rows)
            raise Rollback
    except Rollback:
        pass


def _run(rows: int) -> None:
    user = harness.user("bench-auditor", is_superuser=True)
    version = harness.activate_bundle()
    model = registry.get_active().model
    template = model.validate(model.example_inputs())
    rng = random.Random(7)
    statuses = ["male : single", "female : divorced/separated/married", "male : married/widowed"]
    batch = []
    for _ in range(rows):
        features = dict(template.features)
        features["duration_in_month"] = rng.choice([6, 12, 18, 24, 36, 48])
        features["credit_amount"] = rng.randint(500, 15000)
        probability = rng.random() * 0.6
        batch.append(
            Prediction(
                user=user,
                channel="api",
                model_version=version,
                inputs=features,
                features=features,
                protected={
                    "personal_status_and_sex": rng.choice(statuses),
                    "age_in_years": rng.randint(19, 75),
                    "foreign_worker": rng.choice(["yes", "no"]),
                },
                probability=probability,
                decision="approve" if probability < 0.1 else "decline",
                threshold=model.threshold,
                risk_band="B",
            )
        )
        if len(batch) == 5000:
            Prediction.objects.bulk_create(batch)
            batch = []
    Prediction.objects.bulk_create(batch)
    today = timezone.localdate()
    cells = [
        {
            "day": today - timedelta(days=d),
            "model_version": version,
            "channel": channel,
            "decision": decision,
            "risk_band": band,
            "count": 100,
            "probability_sum": 20.0,
            f"final_{decision}": 100,
        }
        for d in range(90)
        for channel in ("web", "api", "batch")
        for decision in ("approve", "refer", "decline")
        for band in "ABCDE"
    ]
    DailyStat.objects.bulk_create(DailyStat(user=user, **c) for c in cells)
    DailyTotal.objects.bulk_create(DailyTotal(**c) for c in cells)  # one officer: the same totals
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE scoring_prediction")
    timed("drift report incl. fairness (daily task)", reports.create_drift_report, repeat=1)
    timed("fairness table alone (part of the daily task)", reports.fairness_report)
    timed("daily rates, 90 days (aggregate table)", reports.daily_rates)
    client = Client()
    client.force_login(user)
    timed("monitoring page, whole request", lambda: client.get("/monitoring/"))
    settings.METRICS_TOKEN = "bench-token-0123456789abcdef"
    timed("/metrics scrape", lambda: client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}"))


if __name__ == "__main__":
    main()
