"""Benchmark of a model backtest: replay time and peak memory against the period's size, and its counts checked.

Fills a database (one of its own on PostgreSQL, by COPY; a scratch SQLite file otherwise) with N decisions of the
live model alone, 1 % of them without the credit amount (not replayable), and loan outcomes on a third of the
approvals; then backtests the same version with the 15-rule credit policy of bench/policy_rules.py, twice, each in
a fresh process so its peak RSS is its own: on the first tenth of the period and on all of it.

    python bench/backtest.py --rows 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/backtest.py --rows 1000000

On PostgreSQL the run fills a database of its own (``--database``, default creditscore_bench_backtest), dropped
and created again.

In the same run, the floor: the minimum work of a replay, in a fresh process of its own: the whole period's
features read by keyset chunks of the backtest's size (their JSON as text, decoded a chunk at a time) and the
version's probabilities of them, nothing else (no validation, policy, outcomes, counts or progress). The host is
shared and noisy, so the backtest's rate is also judged against the floor's, measured minutes apart (>= 0.5x,
the ratio bench/batch.py holds a batch job to), beside the absolute 90 s per million.

The counts are checked against an independent computation: the rows use a few thousand distinct applications,
so each one's backtest decision is computed once with the engine and the policy, outside the backtest, and
multiplied by how often it was written; live counts, outcomes and rows read come from SQL counts.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta

import harness

DATABASE = "creditscore_bench_backtest"


def _database_name(argv: list[str]) -> str:
    """--database NAME (or --database=NAME), read before Django starts: the settings take DATABASE_URL then."""
    for i, arg in enumerate(argv):
        if arg == "--database" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--database="):
            return arg.split("=", 1)[1]
    return DATABASE


if "--replay" not in sys.argv and "--floor" not in sys.argv:  # the parent picks the database; children inherit it
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        harness.own_database(_database_name(sys.argv))
    else:
        harness.default_to_sqlite(harness.workdir())
    os.environ.setdefault("ARTIFACT_ROOT", str(harness.workdir() / "artifacts"))
harness.start_django()

from django.db import connection, transaction  # noqa: E402

from scoring.models import Prediction  # noqa: E402

# Targets: the batch target (a million rows in 90 s, bench/README.md) and its memory ceiling; memory is flat
# when the whole period's peak is within a fifth of the peak on a tenth of it.
TARGETS = {"seconds per million": 90.0, "peak MB": 1536, "flat ratio": 1.2, "floor ratio": 0.5}
# The rate against the floor is judged from this size up: below it, fixed costs (loading the version, counting the
# period) weigh on the backtest and not on the floor.
FLOOR_MIN_ROWS = 200_000
PAYLOADS = 3000
BROKEN_SHARE = 0.01
# Every column of scoring_prediction but its id, from the model: a column added later is written too (and must
# be given a value below, or the fill stops with its name).
COLUMNS = tuple(f.column for f in Prediction._meta.concrete_fields if not f.primary_key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", default=DATABASE, help="on PostgreSQL: the database filled (dropped first)")
    parser.add_argument("--replay", type=int, help=argparse.SUPPRESS)  # the child process: run one backtest
    parser.add_argument("--floor", type=int, help=argparse.SUPPRESS)  # the child process: the floor of one
    args = parser.parse_args()
    if args.replay:
        _replay_child(args.replay)
        return
    if args.floor:
        _floor_child(args.floor)
        return
    harness.migrate()
    _run(args.rows)


# --- the fill ------------------------------------------------------------------------------------


def _payloads(model, rng):
    """Distinct applications: every feature drawn from its choices or range; a share without the credit amount."""
    example = model.validate(model.example_inputs()).features
    statuses = ["male : single", "female : divorced/separated/married", "male : married/widowed"]
    payloads = []
    for k in range(PAYLOADS):
        features = dict(example)
        for f in model.features:
            if f.choices:
                features[f.name] = f.choices[int(rng.integers(len(f.choices)))]
            elif f.min is not None and f.max is not None:
                value = rng.uniform(f.min, f.max)
                features[f.name] = round(value) if f.kind == "integer" else round(float(value), 2)
        protected = {
            "personal_status_and_sex": statuses[k % 3],
            "age_in_years": int(rng.integers(18, 76)),
            "foreign_worker": ["yes", "no"][k % 2],
        }
        payloads.append((features, protected))
    broken = max(1, int(PAYLOADS * BROKEN_SHARE))
    for features, _ in payloads[:broken]:
        features.pop("credit_amount")
    return payloads, broken


def _fill(rows: int, user, version, model) -> dict:
    """Write ``rows`` decisions; returns what the check needs: each payload's count and live decision."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(11)
    payloads, broken = _payloads(model, rng)
    frame = pd.DataFrame([f for f, _ in payloads[broken:]])[model.feature_names]
    p = np.concatenate([np.full(broken, 0.05), model.probabilities(frame)])
    decisions = model.decide(p)
    bands = model.band(p)
    texts = [(json.dumps(f), json.dumps(pr)) for f, pr in payloads]
    pick = rng.integers(0, PAYLOADS, rows)
    started = time.perf_counter()
    now = time.time()
    stamps = now - 3600 + np.arange(rows) * (3000.0 / max(rows, 1))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE scoring_prediction DISABLE TRIGGER scoring_prediction_stamped")
    chunk = 100_000
    for first in range(0, rows, chunk):
        last = min(rows, first + chunk)
        lines = []
        for i in range(first, last):
            k = pick[i]
            features, protected = texts[k]
            stamp = _iso(stamps[i])
            ref = "BROKEN" if k < broken else ""
            row = {
                "created_at": stamp,
                "user_id": user.pk,
                "channel": "api",
                "model_version_id": version.pk,
                "inputs": features,
                "input_line": "",
                "features": features,
                "protected": protected,
                "probability": float(p[k]),
                "decision": decisions[k],
                "threshold": model.threshold,
                "refer_lower": model.refer_lower,
                "risk_band": bands[k],
                "reasons": "[]",
                "external_ref": ref,
                "batch_job_id": None,
                "row_number": None,
                "idempotency_key": None,
                "latency_ms": 5.0,
                "policy_version_id": None,  # no policy then: the model's decision stands
                "model_decision": decisions[k],
                "policy_rules": "[]",
                "deciding_rule": "",
                "counter_offer_of_id": None,
            }
            lines.append(tuple(row[c] for c in COLUMNS))
        _write(lines)
        print(f"\r  wrote {last:,} / {rows:,} decisions", end="", flush=True)
    print(f"  ({time.perf_counter() - started:.0f} s)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE scoring_prediction ENABLE TRIGGER scoring_prediction_stamped")
            cursor.execute("ANALYZE scoring_prediction")
    _outcomes(user)
    return {"counts": np.bincount(pick, minlength=PAYLOADS), "live": decisions, "broken": broken, "p": p}


def _iso(stamp: float) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(stamp, tz=UTC)
    # SQLite holds Django's naive UTC text; PostgreSQL takes the ISO moment with its zone.
    return moment.isoformat() if connection.vendor == "postgresql" else moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _write(lines: list[tuple]) -> None:
    if connection.vendor == "postgresql":
        buffer = io.StringIO()
        for values in lines:
            buffer.write("\t".join("\\N" if v is None else str(v) for v in values) + "\n")
        raw = connection.connection
        with raw.cursor() as cursor, cursor.copy(f"COPY scoring_prediction ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        raw.commit()
    else:
        marks = ", ".join(["%s"] * len(COLUMNS))
        with transaction.atomic(), connection.cursor() as cursor:  # one commit, not one per row
            cursor.executemany(f"INSERT INTO scoring_prediction ({', '.join(COLUMNS)}) VALUES ({marks})", lines)


def _outcomes(user) -> None:
    """A repaid or defaulted loan for every third approval (defaults where a hash of the id falls under its PD)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO scoring_loanoutcome (prediction_id, external_ref, outcome, observed_on, days_past_due,
                                             source, source_ref, supersedes_id, reason, created_at, created_by_id)
            SELECT id, '', CASE WHEN ((id * 7919) %% 1000) < probability * 1000 THEN 'defaulted' ELSE 'repaid' END,
                   CURRENT_DATE, NULL, 'command', 'bench', NULL, '', CURRENT_TIMESTAMP, %s
            FROM scoring_prediction WHERE decision = 'approve' AND id %% 3 = 0
            """,
            [user.pk],
        )


# --- the runs ------------------------------------------------------------------------------------


def _replay_child(backtest_id: int) -> None:
    from scoring.backtests import services

    started = time.perf_counter()
    found = services.run(backtest_id=backtest_id)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "state": found.state, "error": found.error}))


def _floor_child(backtest_id: int) -> None:
    """The floor of a backtest: its period's features by keyset chunks, decoded, and the version's probabilities.

    The same reading as the replay's (the JSON as text, one decode per chunk, the keyset's moment looked up for a
    chunk's last row only), so the ratio measures what the replay does beyond it.
    """
    import pandas as pd
    from django.db.models import Q, TextField
    from django.db.models.functions import Cast

    from scoring.backtests.services import CHUNK_SIZE
    from scoring.lifecycle import registry
    from scoring.models import Backtest

    backtest = Backtest.objects.select_related("model_version").get(pk=backtest_id)
    model = registry.get_loaded(backtest.model_version)
    window = Prediction.objects.filter(created_at__gte=backtest.date_from, created_at__lt=backtest.date_to)
    window = window.order_by("created_at", "id")
    gc.freeze()  # as the backtest does while it replays: full collections would walk every object Django holds
    started = time.perf_counter()
    page, read = window, 0
    while True:
        rows = list(page.values_list("id", Cast("features", TextField()))[:CHUNK_SIZE])
        if not rows:
            break
        records = json.loads("[" + ",".join(text for _, text in rows) + "]")
        model.probabilities(pd.DataFrame.from_records(records, columns=model.feature_names))
        read += len(rows)
        if len(rows) < CHUNK_SIZE:
            break
        last = rows[-1][0]
        moment = Prediction.objects.values_list("created_at", flat=True).get(pk=last)
        page = window.filter(Q(created_at__gte=moment), Q(created_at__gt=moment) | Q(created_at=moment, id__gt=last))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": read}))


def _in_child(backtest_id: int, role: str = "--replay") -> dict:
    out = subprocess.run(
        [sys.executable, __file__, role, str(backtest_id)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    if role == "--replay" and figures["state"] != "done":
        raise SystemExit(f"the backtest failed: {figures['error']}")
    return figures


def _run(rows: int) -> None:
    import policy_rules

    from scoring.lifecycle import registry
    from scoring.models import Backtest, Prediction
    from scoring.policy import services as policies

    user = harness.user("bench-backtest", is_superuser=True)
    version = harness.activate_bundle()
    model = registry.get_active().model
    draft = policies.create_version(name="Bench policy", rules=policy_rules.RULES, user=user, model=model)
    print(f"database: {connection.vendor}, {rows:,} decisions, chunks of 20,000")
    seeded = _fill(rows, user, version, model)
    ordered = Prediction.objects.order_by("created_at", "id").values_list("created_at", flat=True)
    start = ordered.first()
    end = ordered.last() + timedelta(seconds=1)
    tenth = ordered[max(rows // 10, 1) - 1] + timedelta(microseconds=1)

    def backtest(until):
        made = Backtest.objects.create(
            model_version=version, policy_version=draft, requested_by=user, date_from=start, date_to=until
        )
        return made, _in_child(made.pk)

    small, small_figures = backtest(tenth)
    whole, figures = backtest(end)
    floor = _in_child(whole.pk, "--floor")  # the same period, straight after: the host as the backtest had it
    whole.refresh_from_db()
    report = whole.result
    _check(report, seeded, model, draft)

    seconds = figures["seconds"]
    scaled = seconds * 1_000_000 / rows
    ratio = figures["peak_mb"] / small_figures["peak_mb"]
    rate, floor_rate = report["read"] / seconds, floor["rows"] / floor["seconds"]
    full = rows >= 1_000_000
    widths = (46, 16, 12)
    print(f"backtest of {report['read']:,} decisions in {seconds:.1f} s; {report['changed']:,} would change")
    verdicts = [
        harness.verdict(scaled <= TARGETS["seconds per million"], applies=full, set_for="1,000,000 rows"),
        harness.verdict(
            rate / floor_rate >= TARGETS["floor ratio"],
            applies=rows >= FLOOR_MIN_ROWS,
            set_for=f"{FLOOR_MIN_ROWS:,} rows",
        ),
        harness.verdict(figures["peak_mb"] <= TARGETS["peak MB"]),
        harness.verdict(ratio <= TARGETS["flat ratio"], applies=rows >= 100_000, set_for="100,000 rows"),
    ]
    harness.result_line("elapsed, scaled to 1,000,000 rows", f"{scaled:.1f} s", "<= 90 s", verdicts[0], widths=widths)
    harness.result_line("rows/s", f"{rate:,.0f}", "", "", widths=widths)
    harness.result_line(
        "floor (read features + probabilities only)", f"{floor['seconds']:.1f} s", "", "", widths=widths
    )
    harness.result_line("floor rows/s", f"{floor_rate:,.0f}", "", "", widths=widths)
    harness.result_line(
        "backtest rows/s / floor rows/s", f"{rate / floor_rate:.2f}x", ">= 0.5x", verdicts[1], widths=widths
    )
    peak, small_peak = f"{figures['peak_mb']:.0f} MB", f"{small_figures['peak_mb']:.0f} MB"
    small.refresh_from_db()
    harness.result_line(f"peak RSS, {report['read']:,} rows", peak, "<= 1,536 MB", verdicts[2], widths=widths)
    harness.result_line(f"peak RSS, {small.result['read']:,} rows", small_peak, "", "", widths=widths)
    harness.result_line("peak RSS ratio, whole period / tenth", f"{ratio:.2f}x", "<= 1.2x", verdicts[3], widths=widths)
    print("counts checked against the independent computation: ok")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end (shared machine)")
    print(f"result: {harness.summary(verdicts)}")


def _check(report: dict, seeded: dict, model, draft) -> None:
    """The backtest's counts against each payload's decision computed once here, and SQL counts."""
    import numpy as np
    import pandas as pd

    from scoring.engine.policy import PROBABILITY, RISK_BAND
    from scoring.policy import registry

    counts, live, broken, p = seeded["counts"], seeded["live"], seeded["broken"], seeded["p"]
    rng = np.random.default_rng(11)
    payloads, _ = _payloads(model, rng)
    features = pd.DataFrame([f for f, _ in payloads[broken:]])[model.feature_names]
    protected = pd.DataFrame([pr for _, pr in payloads[broken:]])
    columns = {**{n: features[n].to_numpy() for n in features}, **{n: protected[n].to_numpy() for n in protected}}
    columns |= {PROBABILITY: p[broken:], RISK_BAND: model.band(p[broken:])}
    policy = registry.compiled(draft)
    after = policy.evaluate_frame({n: columns[n] for n in policy.fields}, model.decide(p[broken:])).decisions
    weights = counts[broken:]
    problems = []

    def same(name, got, want):
        if got != want:
            problems.append(f"{name}: backtest {got}, independent {want}")

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM scoring_prediction")
        same("decisions read", report["read"], cursor.fetchone()[0])
        cursor.execute("SELECT decision, count(*) FROM scoring_prediction WHERE external_ref = '' GROUP BY decision")
        sql_live = dict(cursor.fetchall())
        cursor.execute(
            "SELECT count(*) FROM scoring_loanoutcome o JOIN scoring_prediction p ON p.id = o.prediction_id "
            "WHERE p.external_ref = ''"
        )
        same("decisions with an outcome", report["outcomes"]["with_outcome"], cursor.fetchone()[0])
    same("not replayable", report["not_replayable"], int(counts[:broken].sum()))
    same("missing credit amount", report["missing_fields"].get("credit_amount"), int(counts[:broken].sum()))
    for decision in ("approve", "refer", "decline"):
        same(f"live {decision}", report["sides"]["live"]["counts"][decision], sql_live.get(decision, 0))
        want = int(weights[after == decision].sum())
        same(f"backtest {decision}", report["sides"]["backtest"]["counts"][decision], want)
    for cell in report["swap_matrix"]:
        want = int(weights[(live[broken:] == cell["live"]) & (after == cell["backtest"])].sum())
        same(f"swap {cell['live']} -> {cell['backtest']}", cell["count"], want)
    if problems:
        raise SystemExit("counts differ from the independent computation:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    main()
