"""Benchmark: POST /api/v1/score under concurrent keep-alive clients, on gunicorn and PostgreSQL.

Creates a database of its own, starts gunicorn with the project's gunicorn.conf.py
(plus a do-nothing DRF view), and drives POST /api/v1/score with N concurrent
keep-alive clients (a small asyncio HTTP/1.1 client, one connection each) for a
fixed time. Prints p50/p95/p99 latency, decisions/s and errors, and in the same
run the floors that say where a request's time goes:

- model: validate + predict_proba + SHAP reasons for one row, in-process;
- service: the same plus the database (one INSERT and the daily aggregate UPDATE, committed), in-process;
- framework: the do-nothing DRF view through the same gunicorn and the same clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/api.py --seconds 30 --clients 8
    ... python bench/api.py --sweep            # several workers x threads layouts, shorter runs

Targets (2 cores, persistence and reasons included): p50 <= 15 ms, p99 <= 50 ms at 8 clients,
>= 150 decisions/s sustained, zero errors. The latency and rate targets are set for 8 clients over
15 s or more (make bench, make bench-full); other runs print those figures as n/a at this size.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import harness

P50_TARGET_MS = 15.0
P99_TARGET_MS = 50.0
RATE_TARGET = 150.0
TARGET_CLIENTS = 8  # the latency and rate targets are set for 8 clients ...
TARGET_MIN_SECONDS = 15.0  # ... over 15 s or more
SWEEP = ((2, 1), (2, 2), (3, 1), (3, 2), (4, 1), (2, 4))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time per run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: gunicorn.conf.py)")
    parser.add_argument("--sweep", action="store_true", help=f"measure the layouts {SWEEP} (workers, threads)")
    parser.add_argument("--database", default="creditscore_bench_api")
    parser.add_argument("--floor-samples", type=int, default=2000, help="in-process decisions timed for the floors")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also profile N in-process requests")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    harness.own_database(args.database)
    workdir = harness.workdir("creditscore-bench-api-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings_api",
        "ARTIFACT_ROOT": str(workdir / "artifacts"),
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
        # Production settings, served over plain HTTP on loopback.
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "CELERY_BROKER_URL": "",
        # One integrating system sending many requests: the per-user throttle is a deployment setting.
        "API_THROTTLE_USER_RATE": "100000/second",
    }
    os.environ.update(env)
    harness.start_django()
    key, example = _prepare()
    floors = _in_process_floors(example, n=args.floor_samples)
    if args.profile:
        _profile(key, example, args.profile)

    layouts = SWEEP if args.sweep else ((args.workers, args.threads),)
    seconds = min(args.seconds, 10.0) if args.sweep else args.seconds
    results = []
    for workers, threads in layouts:
        with _Gunicorn(env, workers, threads, workdir) as server:
            # The same application each time: force records every one instead of a duplicate 409.
            score = _request("/api/v1/score", json.dumps({"inputs": example, "force": True}), key)
            noop = _request("/bench/noop", json.dumps({"inputs": example}), None)
            _load(server.port, score, clients=args.clients, seconds=2.0)  # warm: every worker loads the model
            alone = _load(server.port, score, clients=1, seconds=min(5.0, seconds))
            loaded = _load(server.port, score, clients=args.clients, seconds=seconds)
            framework = _load(server.port, noop, clients=args.clients, seconds=min(5.0, seconds))
            framework_alone = _load(server.port, noop, clients=1, seconds=min(3.0, seconds))
            memory = server.worker_memory()
        results.append((server.layout, alone, loaded, framework_alone, framework, memory))
        _report(server.layout, args.clients, seconds, floors, alone, loaded, framework_alone, framework, memory)
    if args.sweep:
        print("\nlayout (workers x threads)   decisions/s   p50 ms   p99 ms   errors")
        for layout, _, loaded, *_ in results:
            print(f"  {layout:26s} {loaded.rate:11,.0f} {loaded.p(50):8.1f} {loaded.p(99):8.1f} {loaded.errors:8d}")
    if not args.sweep:
        print("\n" + harness.summary(_verdicts(results[0][2], args.clients, args.seconds).values()))
    return 0


# --- set-up ----------------------------------------------------------------------------


def _prepare() -> tuple[str, dict]:
    from accounts.permissions import OFFICER
    from scoring.lifecycle import registry

    harness.migrate()
    harness.activate_bundle()
    key = harness.api_token(harness.user("bench-officer", OFFICER))
    return key, registry.get_active().model.example_inputs()


@dataclass
class _Floor:
    name: str
    samples: list[float]

    def p(self, q: int) -> float:
        return harness.percentile(self.samples, q) * 1000


def _in_process_floors(example: dict, n: int = 2000) -> list[_Floor]:
    """Model only, then model + database (the scoring service), one application at a time, in this process."""
    from django.conf import settings
    from django.contrib.auth.models import User

    from scoring.decisions import services
    from scoring.lifecycle import registry
    from scoring.models import Channel

    model = registry.get_active().model
    user = User.objects.get(username="bench-officer")
    variants = [example | {"duration_in_month": 6 + i % 60} for i in range(n)]
    model_times, service_times = [], []
    for inputs in variants[: min(200, n)]:  # warm caches and connections
        model.score_one(model.validate(inputs).features, reason_count=settings.SCORING_REASON_COUNT)
    for inputs in variants:
        started = time.perf_counter()
        model.score_one(model.validate(inputs).features, reason_count=settings.SCORING_REASON_COUNT)
        model_times.append(time.perf_counter() - started)
    for inputs in variants:
        started = time.perf_counter()
        services.score_application(user=user, inputs=inputs, channel=Channel.API)
        service_times.append(time.perf_counter() - started)
    return [
        _Floor("model (validate, predict, SHAP reasons)", model_times),
        _Floor("service (model + INSERT + aggregate, committed)", service_times),
    ]


def _profile(key: str, example: dict, requests: int) -> None:
    """Where a POST /api/v1/score spends its time in this process (pyinstrument, sampled), printed as a tree."""
    from django.test import Client
    from pyinstrument import Profiler

    # The host gunicorn is reached at, so production settings' ALLOWED_HOSTS accept the test client.
    client = Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_HOST="127.0.0.1")
    body = json.dumps({"inputs": example, "force": True})  # the same application each time: record each
    for _ in range(20):
        response = client.post("/api/v1/score", body, content_type="application/json")
        if response.status_code not in (200, 201):
            raise SystemExit(f"profile: POST /api/v1/score answered {response.status_code}: {response.content[:300]!r}")
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(requests):
            client.post("/api/v1/score", body, content_type="application/json")
    print(f"POST /api/v1/score, {requests} requests in process:")
    print(profiler.output_text(unicode=False, color=False))
    _profile_form(example, max(requests // 4, 20))


def _profile_form(example: dict, submissions: int) -> None:
    """An officer's form submission in this process: the form page, the POST, the decision page it leads to."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse
    from pyinstrument import Profiler

    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest production pages need
    web = Client(HTTP_HOST="127.0.0.1")
    web.force_login(User.objects.get(username="bench-officer"))
    url = reverse("scoring:application-new")
    fields = {name: str(value) for name, value in example.items()}
    # The same application again and again: without this the form would stop at the duplicate warning.
    settings.DUPLICATE_WINDOW_DAYS = 0

    steps = ("GET form page", "POST the form (scores, redirects)", "GET decision page")
    times: dict[str, list[float]] = {step: [] for step in steps}

    def submit() -> None:
        started = time.perf_counter()
        page = web.get(url, secure=True)
        token = re.search(r'name="form_token" value="([^"]+)"', page.content.decode())
        if page.status_code != 200 or token is None:
            raise SystemExit(f"profile: GET {url} answered {page.status_code} without a form token")
        posted = time.perf_counter()
        response = web.post(url, fields | {"form_token": token.group(1)}, secure=True)
        if response.status_code != 302:
            raise SystemExit(f"profile: the form POST answered {response.status_code}, not a redirect")
        shown = time.perf_counter()
        decision = web.get(response["Location"], secure=True)
        if decision.status_code != 200:
            raise SystemExit(f"profile: the decision page answered {decision.status_code}")
        ended = time.perf_counter()
        for name, seconds in zip(times, (posted - started, shown - posted, ended - shown), strict=True):
            times[name].append(seconds)

    for _ in range(5):
        submit()
    for samples in times.values():
        samples.clear()
    for _ in range(submissions):
        submit()
    print(f"officer form in process, {submissions} submissions, without the profiler: p50 / p95 ms")
    for name, samples in times.items():
        print(f"  {name:<40}{harness.percentile(samples, 50) * 1000:8.1f}{harness.percentile(samples, 95) * 1000:8.1f}")
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(submissions):
            submit()
    print(f"officer form, {submissions} submissions in process (GET form, POST, GET decision page):")
    print(profiler.output_text(unicode=False, color=False))


# --- gunicorn ------------------------------------------------------------------------------


class _Gunicorn:
    def __init__(self, env: dict, workers: int | None, threads: int | None, workdir: Path):
        self.env = env
        self.workers = workers
        self.threads = threads
        self.log = workdir / "gunicorn.log"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.layout = ""

    def __enter__(self) -> _Gunicorn:
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}"]
        if self.workers:
            command += ["--workers", str(self.workers)]
        if self.threads:
            command += ["--threads", str(self.threads)]
        command.append("creditscore.wsgi")
        self.process = subprocess.Popen(
            command,
            cwd=harness.ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start in 60 s")
        time.sleep(1.0)  # all workers up
        workers = self._workers()
        threads = self._threads_of_workers()
        self.layout = f"{len(workers)} x {threads}"
        return self

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _workers(self) -> list[int]:
        try:
            return [
                int(p) for p in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            ]
        except OSError:
            return []

    def _threads_of_workers(self) -> int:
        return self.threads or int(self.env.get("GUNICORN_THREADS", "0") or 0) or _conf_threads()

    def worker_memory(self) -> list[tuple[float, float]]:
        """(RSS, PSS) in MB of each worker: PSS splits pages shared with the master and other workers."""
        out = []
        for pid in self._workers():
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            values = {k: int(v.split()[0]) / 1024 for k, v in re.findall(r"^(\w+):\s+(.+)$", rollup, re.M)}
            out.append((values.get("Rss", 0.0), values.get("Pss", 0.0)))
        return out


def _conf_threads() -> int:
    namespace: dict = {}
    exec(compile((harness.ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    return int(namespace.get("threads", 1))


# --- the load ------------------------------------------------------------------------------


def _request(path: str, body: str, key: str | None) -> bytes:
    headers = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body.encode())}",
        "Connection: keep-alive",
    ]
    if key:
        headers.append(f"Authorization: Token {key}")
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


@dataclass
class _Run:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def p(self, q: int) -> float:
        return harness.percentile(self.latencies, q) * 1000


def _load(port: int, request: bytes, *, clients: int, seconds: float) -> _Run:
    run = _Run(seconds=seconds)
    asyncio.run(_drive(port, request, clients, seconds, run))
    return run


async def _drive(port: int, request: bytes, clients: int, seconds: float, run: _Run) -> None:
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_client(port, request, deadline, run) for _ in range(clients)))


async def _client(port: int, request: bytes, deadline: float, run: _Run) -> None:
    reader = writer = None
    while time.perf_counter() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.perf_counter()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            run.errors += 1
            writer = None
            continue
        run.latencies.append(time.perf_counter() - started)
        run.statuses[status] = run.statuses.get(status, 0) + 1
        if status >= 300:
            run.errors += 1
        if re.search(rb"(?im)^connection:\s*close", head):
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


# --- report --------------------------------------------------------------------------------


def _verdicts(loaded: _Run, clients: int, seconds: float) -> dict[str, str]:
    """Each target's verdict; errors are judged in every run, latency and rate at the size they are set for."""
    applies = clients == TARGET_CLIENTS and seconds >= TARGET_MIN_SECONDS
    set_for = f"{TARGET_CLIENTS} clients, {TARGET_MIN_SECONDS:.0f} s or more"
    return {
        "p50": harness.verdict(loaded.p(50) <= P50_TARGET_MS, applies=applies, set_for=set_for),
        "p99": harness.verdict(loaded.p(99) <= P99_TARGET_MS, applies=applies, set_for=set_for),
        "rate": harness.verdict(loaded.rate >= RATE_TARGET, applies=applies, set_for=set_for),
        "errors": harness.verdict(loaded.errors == 0),
    }


def _report(layout, clients, seconds, floors, alone, loaded, framework_alone, framework, memory) -> None:
    print(f"\ngunicorn {layout} (workers x threads), PostgreSQL, Redis cache; {os.cpu_count()} cores")
    line = functools.partial(harness.result_line, widths=(58, 12, 12))
    verdicts = _verdicts(loaded, clients, seconds)
    line("measure", "measured", "target")
    p50 = f"{loaded.p(50):.1f}"
    line(f"POST /api/v1/score, {clients} clients: p50 (ms)", p50, f"<= {P50_TARGET_MS:.0f}", verdicts["p50"])
    line("  p95 (ms)", f"{loaded.p(95):.1f}")
    line("  p99 (ms)", f"{loaded.p(99):.1f}", f"<= {P99_TARGET_MS:.0f}", verdicts["p99"])
    line("  decisions/s", f"{loaded.rate:,.0f}", f">= {RATE_TARGET:.0f}", verdicts["rate"])
    line("  errors (non-2xx or broken connections)", f"{loaded.errors}", "0", verdicts["errors"])
    line("POST /api/v1/score, 1 client: p50 (ms)", f"{alone.p(50):.1f}")
    print("where one request's time goes (p50, one client):")
    for f in floors:
        line(f"  {f.name} (ms)", f"{f.p(50):.2f}")
    line("  do-nothing DRF view through gunicorn, 1 client (ms)", f"{framework_alone.p(50):.2f}")
    model, service = floors[0].p(50), floors[1].p(50)
    line("  => model share of a request", f"{model / alone.p(50):.0%}")
    line("  => database share (service - model)", f"{(service - model) / alone.p(50):.0%}")
    line("  => framework, auth, serialisation (rest)", f"{(alone.p(50) - service) / alone.p(50):.0%}")
    line(f"do-nothing DRF view, {clients} clients: p50 (ms) / per s", f"{framework.p(50):.1f} / {framework.rate:,.0f}")
    if memory:
        rss = statistics.mean(m[0] for m in memory)
        pss = statistics.mean(m[1] for m in memory)
        line("memory per worker, RSS / PSS (MB, model loaded)", f"{rss:.0f} / {pss:.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
