"""Benchmark: API scoring latency, one application per request and 1,000 per /score/many request.

Runs in-process through Django's real URL routing, token authentication,
serializers and services, on a throwaway SQLite database (or the one named by
DATABASE_URL), with the committed default model. Prints each figure beside its target.

    python bench/api_scoring.py [--single 200] [--many 1000] [--repeat 3]

Targets (set in issue 6, for the 2-core development machine): one application
p95 under 150 ms end to end; 1,000 applications in one /score/many request under
3 s, i.e. vectorised scoring at least 5x faster per application than one by one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SINGLE_P95_TARGET_MS = 150.0
MANY_TARGET_S = 3.0
SPEEDUP_TARGET = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=200, help="single-application requests to time")
    parser.add_argument("--many", type=int, default=1000, help="applications per /score/many request")
    parser.add_argument("--repeat", type=int, default=3, help="/score/many requests to time")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="creditscore-bench-api-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("ARTIFACT_ROOT", str(workdir / "artifacts"))
    os.environ["API_THROTTLE_USER_RATE"] = "1000000/minute"
    os.environ["API_SCORE_MANY_LIMIT"] = str(max(args.many, 1000))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditscore.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from accounts.permissions import OFFICER
    from accounts.tokens import issue_api_token
    from scoring.lifecycle import registry, versions
    from scoring.models import ModelVersion

    call_command("migrate", verbosity=0)
    if not ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists():
        version = versions.register_bundle(path=settings.DEFAULT_BUNDLE_DIR)
        versions.activate(version=version, user=None)
    user, _ = User.objects.get_or_create(username="bench-officer")
    user.groups.add(Group.objects.get(name=OFFICER))
    _, key = issue_api_token(user=user, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    example = registry.get_active().model.example_inputs()

    def post(path: str, payload: dict) -> float:
        started = time.perf_counter()
        response = client.post(path, json.dumps(payload), content_type="application/json")
        elapsed = time.perf_counter() - started
        if response.status_code not in (200, 201):
            raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
        return elapsed

    post("/api/v1/score", {"inputs": example})  # warm-up: loads the model
    singles = [
        post("/api/v1/score", {"inputs": example | {"duration_in_month": 6 + i % 60}}) for i in range(args.single)
    ]
    applications = [
        {"inputs": example | {"duration_in_month": 6 + i % 60}, "external_ref": f"B-{i}"} for i in range(args.many)
    ]
    manys = [post("/api/v1/score/many", {"applications": applications}) for _ in range(args.repeat)]

    p50 = statistics.median(singles) * 1000
    p95 = statistics.quantiles(singles, n=20)[18] * 1000
    many = statistics.median(manys)
    per_app_many = many / args.many * 1000
    speedup = (statistics.mean(singles) * 1000) / per_app_many
    print(f"database: {settings.DATABASES['default']['ENGINE']}")
    print(
        f"POST /score, {args.single} requests: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        f"(target p95 < {SINGLE_P95_TARGET_MS:.0f} ms)"
    )
    print(
        f"POST /score/many, {args.many} applications: median {many:.2f} s over {args.repeat} requests, "
        f"{per_app_many:.2f} ms per application (target < {MANY_TARGET_S:.1f} s)"
    )
    print(f"vectorised speed-up per application: {speedup:.1f}x (target >= {SPEEDUP_TARGET:.0f}x)")
    ok = p95 < SINGLE_P95_TARGET_MS and many < MANY_TARGET_S and speedup >= SPEEDUP_TARGET
    print("all targets met" if ok else "TARGET MISSED")


if __name__ == "__main__":
    main()
