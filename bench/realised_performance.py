"""Benchmark of realised performance: computing a version's figures over all its outcomes, and the reads that use them.

Fills the database with N decisions of the active version, each with a reported loan outcome, inside a
transaction rolled back at the end (run it against a scratch PostgreSQL database; without DATABASE_URL it
uses a scratch SQLite file), then times the computation (what the beat task and a cold cache pay) and the
/metrics scrape and monitoring page with the figures cached (what every scrape and page view pays).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench python bench/realised_performance.py --rows 100000

The computation's target is set for 100,000 outcomes; the cached reads' targets are judged at any size.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import harness

if not os.environ.get("DATABASE_URL"):
    os.environ.pop("DATABASE_URL", None)  # set but empty counts as unset
    harness.default_to_sqlite(harness.workdir())
harness.start_django()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from scoring.models import DailyTotal, LoanOutcome, Prediction  # noqa: E402
from scoring.monitoring import performance  # noqa: E402

TARGET_ROWS = 100_000
# Targets (ours): the computation runs in a beat task, or once per cache lifetime on a cold cache; the scrape
# and the page read the cached figures and must not grow with the number of outcomes.
TARGETS = {
    "realised performance, computed (beat task)": 10.0,
    "/metrics scrape, figures cached": 0.1,
    "monitoring page, figures cached": 0.3,
}
WIDTHS = (48, 13, 12)


class Rollback(Exception):
    pass


def timed(label: str, fn, *, rows: int, repeat: int = 3, at_any_size: bool = True) -> float:
    best = min(_once(fn) for _ in range(repeat))
    target = TARGETS[label]
    applies = at_any_size or rows >= TARGET_ROWS
    verdict = harness.verdict(best <= target, applies=applies, set_for=f"{TARGET_ROWS:,} outcomes")
    harness.result_line(label, f"{best * 1000:.1f} ms", f"<= {target * 1000:.0f} ms", verdict, widths=WIDTHS)
    return best


def _once(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=TARGET_ROWS, help="Decisions, each with an outcome.")
    args = parser.parse_args()
    harness.migrate()
    print(f"database: {connection.vendor}, {args.rows} decisions with an outcome")
    try:
        with transaction.atomic():
            _run(args.rows)
            raise Rollback
    except Rollback:
        pass


def _run(rows: int) -> None:
    user = harness.user("bench-auditor", is_superuser=True)
    version = harness.activate_bundle()
    rng = random.Random(7)
    created = []
    batch = []
    for _ in range(rows):
        probability = rng.betavariate(2, 5)
        batch.append(
            Prediction(
                user=user,
                channel="batch",
                model_version=version,
                inputs={},
                features={},
                probability=probability,
                decision="approve" if probability < 0.45 else "decline",
                threshold=0.45,
                risk_band="B",
            )
        )
        if len(batch) == 5000:
            created += Prediction.objects.bulk_create(batch)
            batch = []
    created += Prediction.objects.bulk_create(batch)
    today = timezone.localdate()
    outcomes = [
        LoanOutcome(
            prediction=p,
            outcome="defaulted" if rng.random() < p.probability else "repaid",
            observed_on=today,
            source="command",
            created_by=user,
        )
        for p in created
    ]
    LoanOutcome.objects.bulk_create(outcomes, batch_size=5000)
    approved = sum(1 for p in created if p.decision == "approve")
    DailyTotal.objects.bulk_create(
        [
            DailyTotal(day=today, model_version=version, channel="batch", decision="approve", risk_band="B",
                       count=approved, final_approve=approved),
            DailyTotal(day=today, model_version=version, channel="batch", decision="decline", risk_band="B",
                       count=rows - approved, final_decline=rows - approved),
        ]
    )  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE scoring_prediction; ANALYZE scoring_loanoutcome")
    timed(
        "realised performance, computed (beat task)",
        lambda: performance.realised_performance(version),
        rows=rows,
        repeat=1,
        at_any_size=False,
    )
    cache.clear()
    performance.refresh_realised_performance()
    settings.METRICS_TOKEN = "bench-token-0123456789abcdef"
    client = Client()
    client.force_login(user)
    timed(
        "/metrics scrape, figures cached",
        lambda: client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}"),
        rows=rows,
    )
    timed("monitoring page, figures cached", lambda: client.get("/monitoring/"), rows=rows)


if __name__ == "__main__":
    main()
