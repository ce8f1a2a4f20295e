"""Benchmark: API scoring latency, one application per request and 1,000 per /score/many request.

Runs in-process through Django's real URL routing, token authentication,
serializers and services, on a throwaway SQLite database (or the one named by
DATABASE_URL), with the committed default model. Prints each figure beside its target.

    python bench/api_scoring.py [--single 200] [--many 1000] [--repeat 3]

The single requests are timed twice in the same run, in alternating rounds: with no
challenger, and with a shadow challenger running (the default bundle under another
decision policy). Without a broker Celery runs eagerly, so the challenger's scoring of
each decision runs in the request's process after the commit and before the response:
the difference between the two is what a shadow costs a request then. With a broker the
request only queues the task.

Targets (for the 2-core development machine): one application p95 under 150 ms
end to end, with or without a challenger; 1,000 applications in one /score/many request under 3 s, i.e.
vectorised scoring at least 5x faster per application than one by one. With
fewer applications per request than 1,000 the speed-up is printed as n/a at this
size: the request's own cost is shared by fewer applications.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path

import harness

SINGLE_P95_TARGET_MS = 150.0
MANY_TARGET_S = 3.0
SPEEDUP_TARGET = 5.0
MANY_SIZE = 1000  # applications per /score/many request the targets are set for
SHADOW_SAMPLES = 100  # requests with a challenger its p95 is judged from


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=200, help="single-application requests to time")
    parser.add_argument("--many", type=int, default=1000, help="applications per /score/many request")
    parser.add_argument("--repeat", type=int, default=3, help="/score/many requests to time")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds without and with a challenger")
    args = parser.parse_args()

    workdir = harness.workdir("creditscore-bench-api-")
    harness.default_to_sqlite(workdir)
    os.environ["API_THROTTLE_USER_RATE"] = "1000000/minute"
    os.environ["API_SCORE_MANY_LIMIT"] = str(max(args.many, 1000))
    harness.start_django(ARTIFACT_ROOT=str(workdir / "artifacts"), LOG_LEVEL="WARNING")
    from django.conf import settings
    from django.test import Client

    from accounts.permissions import OFFICER
    from scoring.lifecycle import challengers, registry, versions
    from scoring.models import ShadowScore

    harness.migrate()
    harness.activate_bundle()
    challenger = versions.register_bundle(path=challenger_bundle(workdir / "challenger", settings.DEFAULT_BUNDLE_DIR))
    key = harness.api_token(harness.user("bench-officer", OFFICER))
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    example = registry.get_active().model.example_inputs()

    def post(path: str, payload: dict) -> float:
        started = time.perf_counter()
        response = client.post(path, json.dumps(payload), content_type="application/json")
        elapsed = time.perf_counter() - started
        if response.status_code not in (200, 201):
            raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
        return elapsed

    # The same few applications again and again: force records each instead of a duplicate 409.
    post("/api/v1/score", {"inputs": example, "force": True})  # warm-up: loads the model
    # Warm the shadow path too (the challenger's model, its first scoring and insert), as a process serving one has.
    challengers.start_challenger(version=challenger, user=None)
    challengers.reset()
    post("/api/v1/score", {"inputs": example, "force": True})
    challengers.stop_challenger(user=None)
    singles: list[float] = []
    shadowed: list[float] = []
    per_round = max(1, args.single // max(1, args.rounds))
    for round_number in range(max(1, args.rounds)):
        for with_challenger, samples in ((False, singles), (True, shadowed)):
            if with_challenger:
                challengers.start_challenger(version=challenger, user=None)
            challengers.reset()  # this process sees the change at once, not after its check interval
            samples.extend(
                post(
                    "/api/v1/score",
                    {"inputs": example | {"duration_in_month": 6 + (round_number + i) % 60}, "force": True},
                )
                for i in range(per_round)
            )
            if with_challenger:
                challengers.stop_challenger(user=None)
    shadow_scores = ShadowScore.objects.filter(model_version=challenger).count() - 1  # less the warm-up's
    applications = [
        {"inputs": example | {"duration_in_month": 6 + i % 60}, "external_ref": f"B-{i}", "force": True}
        for i in range(args.many)
    ]
    manys = [post("/api/v1/score/many", {"applications": applications}) for _ in range(args.repeat)]

    p50 = harness.percentile(singles, 50) * 1000
    p95 = harness.percentile(singles, 95) * 1000
    shadow_p50 = harness.percentile(shadowed, 50) * 1000
    shadow_p95 = harness.percentile(shadowed, 95) * 1000
    many = harness.percentile(manys, 50)
    per_app_many = many / args.many * 1000
    speedup = (statistics.mean(singles) * 1000) / per_app_many
    # The single requests are judged in every run, /score/many's time up to the 1,000 applications it is
    # set for (fewer make it no harder), the speed-up from 1,000 (fewer share a request's own cost).
    set_for = f"{MANY_SIZE:,} applications a request"
    verdicts = (
        harness.verdict(p95 < SINGLE_P95_TARGET_MS),
        # A p95 of a few requests is their slowest one, harder to meet than a true p95: judged from 100 up.
        harness.verdict(
            shadow_p95 < SINGLE_P95_TARGET_MS,
            applies=len(shadowed) >= SHADOW_SAMPLES,
            set_for=f"{SHADOW_SAMPLES} requests with a challenger",
        ),
        harness.verdict(shadow_scores == len(shadowed)),
        harness.verdict(many < MANY_TARGET_S, applies=args.many <= MANY_SIZE, set_for=set_for),
        harness.verdict(speedup >= SPEEDUP_TARGET, applies=args.many >= MANY_SIZE, set_for=set_for),
    )
    print(f"database: {settings.DATABASES['default']['ENGINE']}")
    shadow_mode = "eager, in the request's process" if settings.CELERY_TASK_ALWAYS_EAGER else "queued to the broker"
    print(
        f"POST /score, {len(singles)} requests, no challenger: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        f"(target p95 < {SINGLE_P95_TARGET_MS:.0f} ms) {verdicts[0]}"
    )
    print(
        f"POST /score, {len(shadowed)} requests, shadow challenger ({shadow_mode}): p50 {shadow_p50:.1f} ms, "
        f"p95 {shadow_p95:.1f} ms (target p95 < {SINGLE_P95_TARGET_MS:.0f} ms) {verdicts[1]}"
    )
    print(f"shadow scores stored: {shadow_scores} for {len(shadowed)} decisions (one each) {verdicts[2]}")
    print(f"shadow cost per decision: p50 {shadow_p50 - p50:+.1f} ms, p95 {shadow_p95 - p95:+.1f} ms")
    print(
        f"POST /score/many, {args.many} applications: median {many:.2f} s over {args.repeat} requests, "
        f"{per_app_many:.2f} ms per application (target < {MANY_TARGET_S:.1f} s) {verdicts[3]}"
    )
    print(f"vectorised speed-up per application: {speedup:.1f}x (target >= {SPEEDUP_TARGET:.0f}x) {verdicts[4]}")
    print(harness.summary(verdicts))


def challenger_bundle(target: Path, source: Path) -> Path:
    """The default bundle under a more lenient decision policy (refer from 20 %, decline from 30 %): the same
    model file, so the challenger costs what scoring with it costs, and its decisions differ."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    mlmodel = target / "MLmodel"
    text = mlmodel.read_text()
    for old, new in (
        ("threshold: 0.1695\n", "threshold: 0.3\n"),
        ("upper: 0.1695\n", "upper: 0.3\n"),
        ("lower: 0.1096\n", "lower: 0.2\n"),
        ("upper: 0.1096\n", "upper: 0.2\n"),
    ):
        if old not in text:
            raise SystemExit(f"The default bundle's MLmodel no longer has {old.strip()!r}: update challenger_bundle.")
        text = text.replace(old, new)
    mlmodel.write_text(text)
    return target


if __name__ == "__main__":
    main()
