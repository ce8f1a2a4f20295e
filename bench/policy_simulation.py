"""Benchmark of a credit policy simulation: replay throughput and peak memory against the window's size.

Fills the configured database (a scratch SQLite file by default; DATABASE_URL for PostgreSQL) with N
synthetic decisions inside a transaction that is rolled back at the end, activates the default policy,
then replays the window under a draft (referral above 5,000 DM, a knock-out on education loans):

    python bench/policy_simulation.py --rows 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench python bench/policy_simulation.py --rows 1000000

Peak memory is measured with tracemalloc on a second pass (which slows it), for the whole window and
for two chunks' worth of it: with keyset chunks the two peaks are about the same.
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from datetime import timedelta

import harness

harness.default_to_sqlite(harness.workdir())
harness.start_django()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from scoring.engine.policy import AFTER_MODEL, BEFORE_MODEL, Condition, Rule  # noqa: E402
from scoring.lifecycle import registry  # noqa: E402
from scoring.models import PolicySimulation, Prediction  # noqa: E402
from scoring.policy import defaults, services, simulation  # noqa: E402

# Targets (ours): a year of a mid-sized lender's decisions (about a million) replayed in well under
# ten minutes by one worker (2,000 rows/s: 1M in about 8 minutes); memory bounded by the chunk, not the window.
TARGETS = {"rows per second": 2_000, "peak MB": 200}
DRAFT = (
    Rule(
        "EDUCATION_NOT_OFFERED",
        "Education loans not offered",
        "We do not offer credit for education.",
        "decline",
        BEFORE_MODEL,
        (Condition("purpose", '"education"'),),
    ),
    Rule(
        "AMOUNT_ABOVE_5000",
        "Amount above 5,000 DM",
        "The amount needs a credit officer's review.",
        "refer",
        AFTER_MODEL,
        (Condition("credit_amount", "> 5000"),),
    ),
)


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    harness.migrate()
    print(f"database: {connection.vendor}, {args.rows} decisions in the window, chunks of {simulation.CHUNK_SIZE}")
    try:
        with transaction.atomic():
            _run(args.rows)
            raise Rollback
    except Rollback:
        pass


def _fill(rows: int, user, version, model) -> None:
    template = model.validate(model.example_inputs())
    rng = random.Random(7)
    purposes = ["car (used)", "education", "furniture/equipment", "business", "radio/television"]
    statuses = ["male : single", "female : divorced/separated/married", "male : married/widowed"]
    batch = []
    for _ in range(rows):
        features = dict(template.features)
        features["duration_in_month"] = rng.choice([6, 12, 18, 24, 36, 48, 84])
        features["credit_amount"] = rng.randint(500, 25000)
        features["purpose"] = rng.choice(purposes)
        probability = rng.random() * 0.4
        decision = model.decide([probability])[0]
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
                decision=decision,
                model_decision=decision,
                threshold=model.threshold,
                refer_lower=model.refer_lower,
                risk_band="B",
            )
        )
        if len(batch) == 5000:
            Prediction.objects.bulk_create(batch)
            batch = []
    Prediction.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE scoring_prediction")


def _replay(draft, user, *, since) -> dict:
    # As the task's claim leaves it: the replay writes its heartbeat on a running simulation only.
    now = timezone.now()
    found = PolicySimulation.objects.create(
        version=draft,
        requested_by=user,
        date_from=since,
        date_to=now + timedelta(seconds=1),
        state=PolicySimulation.State.RUNNING,
        started_at=now,
        heartbeat_at=now,
    )
    return simulation.replay(found)


def _peak(draft, user, *, since) -> float:
    tracemalloc.start()
    _replay(draft, user, since=since)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return peak


def _run(rows: int) -> None:
    user = harness.user("bench-policy", is_superuser=True)
    version = harness.activate_bundle()
    model = registry.get_active().model
    active = services.create_version(name=defaults.NAME, rules=defaults.RULES, user=None, model=model)
    services.activate(active, user=None, model=model)
    draft = services.create_version(name="Bench draft", rules=DRAFT, user=user, model=model)
    started = timezone.now() - timedelta(seconds=1)
    _fill(rows, user, version, model)
    two = min(rows, 2 * simulation.CHUNK_SIZE)
    recent = Prediction.objects.order_by("-created_at", "-id").values_list("created_at", flat=True)[two - 1]

    began = time.perf_counter()
    report = _replay(draft, user, since=started)
    seconds = time.perf_counter() - began
    rate = report["replayed"] / seconds
    peak_all, peak_two = _peak(draft, user, since=started), _peak(draft, user, since=recent)

    print(f"replayed {report['replayed']} decisions in {seconds:.1f} s; {report['changed_count']} would change")
    widths = (44, 16, 12)
    harness.result_line(
        "replay throughput",
        f"{rate:,.0f} rows/s",
        f">= {TARGETS['rows per second']:,}",
        harness.verdict(rate >= TARGETS["rows per second"]),
        widths=widths,
    )
    harness.result_line(
        f"peak Python memory, {report['replayed']} rows",
        f"{peak_all:.0f} MB",
        f"<= {TARGETS['peak MB']}",
        harness.verdict(peak_all <= TARGETS["peak MB"]),
        widths=widths,
    )
    harness.result_line(f"peak Python memory, {two} rows", f"{peak_two:.0f} MB", "", "", widths=widths)


if __name__ == "__main__":
    main()
