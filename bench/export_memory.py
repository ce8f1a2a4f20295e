"""Memory and speed of the streamed CSV export: 10,000 vs 100,000 decisions through the real view.

Usage:  python bench/export_memory.py [--rows 100000] [--small 10000]
SQLite in a temporary file by default; with DATABASE_URL=postgres://... it uses a
throw-away test database (test_<name>) on that server and drops it afterwards.

Target: memory flat in the number of rows, i.e. the peak growth while streaming
100,000 rows is about the same as for 10,000 (well under 2x), and a few MB at most.
It is judged when the small export has 10,000 rows or more: below that, the
export's working set (a chunk of rows and their reviews) is still filling up,
so a smaller run prints the ratio as n/a at this size.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from datetime import date, timedelta

import harness

WORKDIR = harness.workdir("cs-bench-")
harness.default_to_sqlite(WORKDIR)
harness.start_django(ARTIFACT_ROOT=str(WORKDIR / "artifacts"), LOG_LEVEL="WARNING")

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.permissions import AUDITOR, OFFICER  # noqa: E402
from scoring.decisions import services  # noqa: E402
from scoring.lifecycle import registry  # noqa: E402
from scoring.models import Prediction, Review  # noqa: E402

FLAT_TARGET_RATIO = 2.0
FLAT_FROM_ROWS = 10_000  # rows in the small export from which the flat-memory target is judged


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_history(rows: int, small: int) -> None:
    harness.activate_bundle()
    officer = harness.user("bench-officer", OFFICER)
    harness.user("bench-auditor", AUDITOR)
    inputs = registry.get_active().model.example_inputs()
    template = services.score_application(user=officer, inputs=inputs, channel="web")
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Prediction._meta.concrete_fields
        if f.attname not in ("id", "created_at", "channel", "external_ref", "idempotency_key")
    }
    batch = 5000
    made = 1
    while made < rows:
        n = min(batch, rows - made)
        # The newest `small` rows are API decisions: the small export filters on channel=api.
        Prediction.objects.bulk_create(
            [
                Prediction(**fields, channel="api" if made + i >= rows - small else "web", external_ref=f"B-{made + i}")
                for i in range(n)
            ]
        )
        made += n
    # One decision in twenty has a review, so the export's review summary has work to do.
    ids = list(Prediction.objects.values_list("id", flat=True)[::20])
    Review.objects.bulk_create(
        [
            Review(
                prediction_id=pk,
                user=officer,
                outcome="approve",
                final_decision="approve",
                overridden=True,
                reason_code="collateral",
                justification="Bench override",
            )
            for pk in ids
        ],
        batch_size=5000,
    )


def export(client: Client, query: dict, *, traced: bool) -> dict[str, float]:
    """Stream one export, keeping nothing but counters; measure time, RSS and traced peak."""
    if traced:
        tracemalloc.start()
        base_traced = tracemalloc.get_traced_memory()[0]
    base_rss = peak_rss = rss_mb()
    started = time.perf_counter()
    response = client.get(reverse("audit:prediction-export"), query)
    assert response.status_code == 200 and response.streaming
    lines = size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
        if lines % 2000 == 0:
            peak_rss = max(peak_rss, rss_mb())
    elapsed = time.perf_counter() - started
    result = {
        "rows": lines - 1,
        "seconds": elapsed,
        "mb": size / 2**20,
        "rss_growth": max(peak_rss, rss_mb()) - base_rss,
    }
    if traced:
        result["traced_peak"] = (tracemalloc.get_traced_memory()[1] - base_traced) / 2**20
        tracemalloc.stop()
    return result


def explain_history_pages(auditor) -> None:
    """EXPLAIN ANALYZE of the first and a deep history page per filter: each should walk an index."""
    from scoring.decisions import selectors

    officer = get_user_model().objects.get(username="bench-officer")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    filters = {
        "none": selectors.PredictionFilters(),
        "channel": selectors.PredictionFilters(channel="api"),
        "officer": selectors.PredictionFilters(user_id=officer.pk),
        "decision": selectors.PredictionFilters(decision="decline"),
        "external_ref": selectors.PredictionFilters(external_ref="B-500"),
        "overridden": selectors.PredictionFilters(overridden=True),
        "final_decision": selectors.PredictionFilters(final_decision="approve"),
        "date range": selectors.PredictionFilters(date_from=date.today() - timedelta(days=7), date_to=date.today()),
    }
    print("history page (50 rows) on PostgreSQL, EXPLAIN ANALYZE:")
    for label, f in filters.items():
        qs = selectors.with_final_decision(selectors.prediction_list(user=auditor, filters=f))
        middle = qs[qs.count() // 2 : qs.count() // 2 + 1].first() if label == "none" else None
        pages = [("first", qs)]
        if middle is not None:
            pages.append(("middle", qs.filter(selectors.after_position(middle.created_at, middle.pk))))
            # The same page with the cursor as a bare OR, for comparison.
            bare_or = Q(created_at__lt=middle.created_at) | Q(created_at=middle.created_at, id__lt=middle.pk)
            pages.append(("mid/OR", qs.filter(bare_or)))
        for page_label, page_qs in pages:
            plan = page_qs[:51].explain(analyze=True)
            lines = plan.splitlines()
            scan = next((line.strip() for line in lines if "Scan" in line), lines[0].strip())
            took = next((line for line in lines if line.startswith("Execution Time")), "")
            print(f"  {label:>15} {page_label:>6}: {took:<28} {scan[:90]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    args = parser.parse_args()
    setup_test_environment()
    postgres = connection.vendor == "postgresql"
    if postgres:
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    else:
        harness.migrate()
    try:
        t = time.perf_counter()
        make_history(args.rows, args.small)
        print(f"database: {connection.vendor}; made {args.rows:,} decisions in {time.perf_counter() - t:.1f} s")
        client = Client()
        client.force_login(get_user_model().objects.get(username="bench-auditor"))
        export(client, {"channel": "api"}, traced=False)  # warm-up: imports, first query plans
        small = export(client, {"channel": "api"}, traced=False)
        large = export(client, {}, traced=False)
        small_t = export(client, {"channel": "api"}, traced=True)
        large_t = export(client, {}, traced=True)
        header = ("export", "rows", "seconds", "rows/s", "CSV MB", "RSS growth MB", "traced peak MB")
        print("{:>12} {:>9} {:>8} {:>9} {:>7} {:>14} {:>15}".format(*header))
        for label, plain, traced in (("small", small, small_t), ("large", large, large_t)):
            print(
                f"{label:>12} {plain['rows']:>9,} {plain['seconds']:>8.2f} {plain['rows'] / plain['seconds']:>9,.0f} "
                f"{plain['mb']:>7.1f} {plain['rss_growth']:>14.1f} {traced['traced_peak']:>15.2f}"
            )
        ratio = large_t["traced_peak"] / max(small_t["traced_peak"], 1e-9)
        print(
            f"traced peak, {large['rows']:,} vs {small['rows']:,} rows: {ratio:.2f}x "
            f"(target: flat, under {FLAT_TARGET_RATIO:.0f}x; rows grew {large['rows'] / max(small['rows'], 1):.0f}x)"
        )
        print(
            f"RSS growth while streaming {large['rows']:,} rows: {large['rss_growth']:.1f} MB "
            "(target: bounded by a chunk, not proportional to rows)"
        )
        flat = harness.verdict(
            ratio < FLAT_TARGET_RATIO,
            applies=small["rows"] >= FLAT_FROM_ROWS,
            set_for=f"a small export of {FLAT_FROM_ROWS:,} rows or more",
        )
        print("result:", flat)
        if postgres:
            explain_history_pages(get_user_model().objects.get(username="bench-auditor"))
    finally:
        connection.close()
        if postgres:
            connection.creation.destroy_test_db(settings.DATABASES["default"]["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
