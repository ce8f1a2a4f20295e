"""What every benchmark in bench/ does the same way: its start-up, and how it computes and prints a figure.

Start-up: the repository on ``sys.path`` (importing this module puts it there: a script in bench/
starts with ``import harness``), Django set up on the project's settings, a database (PostgreSQL
when the benchmark needs it, one of the benchmark's own, or a scratch SQLite file), migrated, the
committed default bundle registered and activated through ``scoring.lifecycle.versions`` (the one
activation path), users in their roles and their API tokens.

Figures: one percentile definition for every p50, p95, p99 and median, and one way to print a
figure beside its target with one verdict: ``ok``, ``FAIL``, or ``n/a at this size`` when the run
is smaller than the size the target is set for (the smoke tests' tiny runs).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OK = "ok"
FAIL = "FAIL"


# --- start-up -------------------------------------------------------------------------------


def start_django(**defaults: str) -> None:
    """Set up Django, after ``defaults`` (and DJANGO_SETTINGS_MODULE=creditscore.settings) fill unset variables."""
    for key, value in {"DJANGO_SETTINGS_MODULE": "creditscore.settings", **defaults}.items():
        os.environ.setdefault(key, value)
    import django

    django.setup()


def workdir(prefix: str = "creditscore-bench-") -> Path:
    """A new temporary folder for this run's files (a scratch database, artifacts, logs)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def default_to_sqlite(folder: Path) -> None:
    """Without DATABASE_URL, a scratch SQLite database in ``folder``."""
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")


def require_postgres(why: str) -> str:
    """DATABASE_URL when it names PostgreSQL; otherwise say what to set and exit with status 2."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(f"Set DATABASE_URL=postgres://... ({why}).")
        raise SystemExit(2)
    return url


def own_database(name: str, *, reuse: bool = False) -> bool:
    """Point DATABASE_URL at database ``name`` on the PostgreSQL server it names, dropped and created again.

    With ``reuse``, a database of that name that exists is kept. True when the database is new.
    """
    import psycopg

    parts = urlsplit(require_postgres("the benchmark creates its own database there"))
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not (exists and reuse):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    return not (exists and reuse)


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def activate_bundle(path: Path | None = None, *, name: str = "", note: str = "bench set-up"):
    """Register the bundle at ``path`` (default: the committed default bundle) and make it the active version.

    Registering files already registered returns their version; one already active is left as it is.
    """
    from django.conf import settings

    from scoring.lifecycle import versions
    from scoring.models import ModelVersion

    version = versions.register_bundle(path=Path(path or settings.DEFAULT_BUNDLE_DIR), name=name)
    if version.status != ModelVersion.Status.ACTIVE:
        versions.activate(version=version, user=None, note=note)
        version.refresh_from_db()
    return version


def user(username: str, role: str | None = None, **fields):
    """The user ``username`` (made, without a usable password, if missing) in the group ``role``."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    account = get_user_model().objects.filter(username=username).first()
    if account is None:
        account = get_user_model().objects.create_user(username, password=None, **fields)
    if role:
        account.groups.add(Group.objects.get(name=role))
    return account


def api_token(account, name: str = "bench") -> str:
    """A new API token's key for ``account`` (sent as ``Authorization: Token <key>``)."""
    from accounts.tokens import issue_api_token

    _, key = issue_api_token(user=account, name=name)
    return key


# --- figures --------------------------------------------------------------------------------


def percentile(samples: Iterable[float], q: int) -> float:
    """The q-th percentile (q from 1 to 99; 50 is the median) of ``samples``, nan when there are none.

    Definition: linear interpolation between the two nearest ranks, the value at position
    (n - 1) * q / 100 of the sorted samples counted from 0. It is ``statistics.quantiles(method=
    "inclusive")``, numpy's default ``percentile`` method ("linear", Hyndman and Fan's type 7) and
    a spreadsheet's PERCENTILE.INC; it never goes beyond the smallest or largest sample.
    """
    if not 1 <= q <= 99:
        raise ValueError(f"percentile {q} is not between 1 and 99")
    data = list(samples)
    if len(data) < 2:
        return float(data[0]) if data else math.nan
    return statistics.quantiles(data, n=100, method="inclusive")[q - 1]


def verdict(met: bool, *, applies: bool = True, set_for: str = "") -> str:
    """The word printed beside a figure: ``ok`` when its target is met, ``FAIL`` when it is missed.

    When the run is smaller than the size the target is set for (``applies`` false; ``set_for``
    says that size), the figure is printed but not judged: ``n/a at this size (target set for ...)``.
    Only targets a smaller run meets more easily should be judged at every size.
    """
    if not applies:
        return f"n/a at this size (target set for {set_for})" if set_for else "n/a at this size"
    return OK if met else FAIL


def summary(verdicts: Iterable[str]) -> str:
    """One line for a run's verdicts: every target met, a target missed (FAIL), or met where they apply."""
    verdicts = list(verdicts)
    if FAIL in verdicts:
        return f"{FAIL}: target missed"
    if all(v == OK for v in verdicts):
        return "all targets met"
    return "targets met where they apply (the others n/a at this size)"


def result_line(name: str, measured: str, target: str = "", verdict: str = "", *, widths: tuple[int, int, int]) -> None:
    """Print one figure: its name, the measured value and its target in columns ``widths`` wide, then the verdict."""
    name_width, measured_width, target_width = widths
    line = f"{name:<{name_width}} {measured:>{measured_width}} {target:>{target_width}}"
    print(f"{line}  {verdict}" if verdict else line.rstrip())
