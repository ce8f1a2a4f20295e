"""Settings for creditscore: one module, every deployment knob an environment variable.

With nothing set it runs as a local demo: SQLite in the project folder, Celery
tasks executed in-process, DEBUG on and a generated development secret. Set
DATABASE_URL, CELERY_BROKER_URL and friends for a real deployment (see
.env.example and docs/configuration.md).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is convenient for development; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core ----------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Demo mode: demo users with a documented password may exist. Never in production.
DEMO_MODE = env.bool("CREDITSCORE_DEMO", default=DEBUG)

if DEBUG:
    # A stable per-checkout secret so sessions survive a restart of `make run`.
    _secret_file = BASE_DIR / ".dev-secret-key"
    if not _secret_file.exists():
        _secret_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = env.str("SECRET_KEY", default=_secret_file.read_text().strip())
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("SECRET_KEY must be set (at least 32 characters) when DJANGO_DEBUG=false.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_DEBUG=false.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # API: keys live hashed in accounts.ApiToken, not in DRF's authtoken table.
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "accounts",
    "scoring",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files keep their caching), before the rest (their refusals are covered too).
    "creditscore.cache_control.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware, as Django asks: the language cookie, else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, the first code that reads a form body: oversized uploads are refused unread.
    "scoring.files.uploads.UploadLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a signed-in user's profile language wins over the browser's; API requests
    # follow their Accept-Language header first (creditscore/languages.py).
    "accounts.languages.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "creditscore.urls"
WSGI_APPLICATION = "creditscore.wsgi.application"
ASGI_APPLICATION = "creditscore.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # Officer web app: navigation by role.
                "accounts.context_processors.navigation",
                # The lender's name and address for print headers.
                "accounts.context_processors.lender",
            ],
        },
    },
]

# Pages in English or French (docs/languages.md): the user's profile language, else the browser's
# Accept-Language, else English. The API follows Accept-Language, else the token user's profile.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "creditscore_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# One format per kind of value and language (creditscore/formats/{en,fr}): "2 Dec 2026", "9,055 DM",
# "12.1%" in English; "2 déc. 2026", "9 055 DM", "12,1 %" in French. API and CSV keep machine formats.
FORMAT_MODULE_PATH = ["creditscore.formats"]
# Off: a bare {{ number }} in a template stays plain (ids, counts in attributes such as <progress max>);
# amounts and counts people read go through scoring/display/values.py, which groups digits in each language.
USE_THOUSAND_SEPARATOR = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database ------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # JIT compilation pays off for long analytical queries; the app's are short page reads and streamed
    # exports, where it added 30-70 ms to a 10 ms page at 10 million decisions (bench/README.md).
    if not env.bool("DATABASE_JIT", default=False):
        given = DATABASES["default"]["OPTIONS"].get("options", "")
        DATABASES["default"]["OPTIONS"]["options"] = f"{given} -c jit=off".strip()
    # A test database of its own per DATABASE_URL, so parallel runs never collide.
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.sqlite3"
    # Wait for a writer instead of failing with "database is locked" under light concurrency.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DATABASE_IS_POSTGRES = "postgresql" in DATABASES["default"]["ENGINE"]
# PostgreSQL: the schema owner's connection, for what the app's own role may not do (create and
# migrate the test database; deploy/postgres-roles.sql). ``?assume_role=creditscore_owner`` makes a
# login SET ROLE to the owner. The app never connects with it; production runs `migrate` with it.
DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default="")

# --- Cache and Celery ----------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker, tasks run in-process when queued: the demo needs no Redis.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Security ------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # the age above is an inactivity timeout
# Activity extends a session by the idle timeout; this caps it however busy it is (accounts.middleware).
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Behind N trusted proxies the client address is the Nth from the right in X-Forwarded-For.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# X-Forwarded-Proto says "this request came in over HTTPS". Without a proxy of ours in front, any client
# can send it and have a plain-HTTP request treated as secure, so it is believed only behind one.
if TRUSTED_PROXY_COUNT > 0 and env.bool("USE_X_FORWARDED_PROTO", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Static and media ----------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "staticfiles")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- REST framework / API -------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["scoring.api.problems.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "scoring.api.problems.DeferredNotAcceptable",
    "DEFAULT_THROTTLE_CLASSES": ["scoring.api.throttling.UserThrottle", "scoring.api.throttling.AnonThrottle"],
    "EXCEPTION_HANDLER": "scoring.api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Requests per user (authenticated) and per client address (anonymous): "<n>/<second|minute|hour|day>".
API_THROTTLE_USER_RATE = env.str("API_THROTTLE_USER_RATE", default="600/minute")
API_THROTTLE_ANON_RATE = env.str("API_THROTTLE_ANON_RATE", default="60/minute")
# Failed API authentications (missing, invalid or revoked token) per client address: beyond this, every
# API request from that address is a 429 until the window ends. The throttles above run only after
# authentication succeeded, so without this a key could be guessed at full speed.
API_AUTH_FAILURE_RATE = env.str("API_AUTH_FAILURE_RATE", default="20/minute")
# POST /api/v1/score/many: more applications than this get a 413 pointing to batch jobs.
API_SCORE_MANY_LIMIT = env.int("API_SCORE_MANY_LIMIT", default=1000)
# Largest JSON body the API reads (bytes); 1,000 applications are about 1 MB.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=4 * 1024 * 1024)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=20)
# Longest request target (path and query string, bytes) any page or endpoint reads; longer ones get a 414
# (a problem+json under /api/). gunicorn does not limit the line itself, so its HTML 414 never answers.
MAX_REQUEST_LINE_BYTES = env.int("MAX_REQUEST_LINE_BYTES", default=8190)
# Under /api/ every error is problem+json, whichever layer answered: it wraps sessions, auth, CSRF and role checks.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "scoring.api.middleware.ApiProblemMiddleware"
)
SPECTACULAR_SETTINGS = {
    "TITLE": "creditscore API",
    "DESCRIPTION": (
        "Credit decisions from the active CatBoost model, the decision history and the model registry. "
        "Authenticate with `Authorization: Token <key>`; errors are RFC 9457 problem details."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The contract is for signed-in users and API clients; anonymous visitors reach only login and health.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "DecisionEnum": "scoring.models.Decision",
        "LoanOutcomeEnum": "scoring.models.LoanOutcome.Outcome",
        # A review's outcome keeps the name it had before loan outcomes came (generated clients use it).
        "OutcomeEnum": "scoring.models.Review.Outcome",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "scoring.api.schema.postprocess_schema",
    ],
}

# --- Logging -------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}},
}

# --- Scoring -------------------------------------------------------------------

# Where validated model bundles are kept (one folder per bundle sha256).
ARTIFACT_ROOT = env.path("ARTIFACT_ROOT", default=BASE_DIR / "var" / "artifacts")
DEFAULT_BUNDLE_DIR = BASE_DIR / "scoring" / "bundles" / "default"
REFERENCE_SAMPLE_PATH = BASE_DIR / "scoring" / "data" / "reference_sample.csv"
# How many reasons a decision lists (an adverse-action notice lists four).
SCORING_REASON_COUNT = env.int("SCORING_REASON_COUNT", default=4)
# Days within which scoring an application the officer already decided (same reference or same inputs)
# asks before recording it again; 0 turns the check off.
# The lender as applicants and printed copies name it (adverse-action notices, print headers).
LENDER_NAME = env.str("LENDER_NAME", default="Creditscore Demo Bank")
LENDER_ADDRESS = env.str("LENDER_ADDRESS", default="1 Example Street, 10115 Berlin, Germany")
# The statutory part of an adverse-action notice, printed under the reasons. Blank lines separate
# paragraphs; have the lender's counsel word it for the lender's jurisdiction.
ADVERSE_ACTION_STATUTORY_TEXT = env.str(
    "ADVERSE_ACTION_STATUTORY_TEXT",
    default=(
        "You have the right to a statement of the specific reasons for this decision. The principal reasons "
        "are listed above; if you would like more detail, write to us at the address above within 60 days "
        "of the date of this notice and we will answer within 30 days.\n\n"
        "This decision was made with the help of an automated credit scoring model. You have the right to "
        "obtain human intervention: to have the decision reviewed by a member of our staff, to express your "
        "point of view, and to contest the decision. To do so, write to us at the address above, quoting "
        "the date of this notice.\n\n"
        "The law prohibits creditors from discriminating against credit applicants on the basis of race, "
        "colour, religion, national origin, sex, marital status or age (provided the applicant has the "
        "capacity to contract), because all or part of the applicant's income derives from any public "
        "assistance programme, or because the applicant has in good faith exercised any right under "
        "consumer credit law."
    ),
)
# The same in French, for notices issued in French (an officer whose pages are in French).
ADVERSE_ACTION_STATUTORY_TEXT_FR = env.str(
    "ADVERSE_ACTION_STATUTORY_TEXT_FR",
    default=(
        "Vous avez le droit de connaître les motifs précis de cette décision. Les principaux motifs figurent "
        "ci-dessus ; si vous souhaitez plus de précisions, écrivez-nous à l'adresse ci-dessus dans les 60 jours "
        "suivant la date de la présente lettre et nous vous répondrons dans les 30 jours.\n\n"
        "Cette décision a été prise à l'aide d'un modèle automatisé d'évaluation du risque de crédit. Vous avez "
        "le droit d'obtenir une intervention humaine : faire réexaminer la décision par un membre de notre "
        "personnel, exprimer votre point de vue et contester la décision. Pour cela, écrivez-nous à l'adresse "
        "ci-dessus en rappelant la date de la présente lettre.\n\n"
        "La loi interdit aux prêteurs toute discrimination envers les demandeurs de crédit fondée sur l'origine, "
        "la couleur de peau, la religion, la nationalité, le sexe, la situation de famille ou l'âge (dès lors que "
        "le demandeur a la capacité de contracter), sur le fait que tout ou partie de ses revenus provient d'une "
        "aide publique, ou sur le fait qu'il a exercé de bonne foi un droit que lui confère le droit de la "
        "consommation."
    ),
)
# Officers may override a decision alone up to this probability of default; above it (and any change
# of their own override) a credit manager approves first.
OVERRIDE_PD_LIMIT = env.float("OVERRIDE_PD_LIMIT", default=0.30)
if not 0.0 <= OVERRIDE_PD_LIMIT <= 1.0:
    raise ImproperlyConfigured("OVERRIDE_PD_LIMIT is a probability between 0 and 1.")
DUPLICATE_WINDOW_DAYS = env.int("DUPLICATE_WINDOW_DAYS", default=30)
if DUPLICATE_WINDOW_DAYS < 0:  # not quietly "off": 0 says that
    raise ImproperlyConfigured("DUPLICATE_WINDOW_DAYS must be 0 (no check) or more days.")
# Decisions must be kept at least this long (months); nothing in the app deletes earlier.
RETENTION_MONTHS = env.int("RETENTION_MONTHS", default=25)

# --- Model lifecycle --------------------------------------------------

# The Hugging Face Hub (or a mirror) model bundles are loaded from and published to.
HF_ENDPOINT = env.str("HF_ENDPOINT", default="https://huggingface.co")
HF_TOKEN = env.str("HF_TOKEN", default="") or None
# Seconds before a Hub request (metadata or file download) is given up.
HF_TIMEOUT = env.float("HF_TIMEOUT", default=10.0)
# Seconds a whole load may spend on the Hub (every request and retry of it) before it is given up.
HF_LOAD_DEADLINE_SECONDS = env.float("HF_LOAD_DEADLINE_SECONDS", default=120.0)
# How often (seconds) each process checks which version is active; the check is one cache read.
MODEL_CHECK_INTERVAL = env.float("MODEL_CHECK_INTERVAL", default=1.0)
# A process already serving a version loads the next one in a background thread, so no request waits
# for a load; false loads it inside the request that notices the switch (the test suite, to see it at once).
MODEL_SWITCH_IN_BACKGROUND = env.bool("MODEL_SWITCH_IN_BACKGROUND", default=True)
# Four-eyes: the admin who loaded or asked for a version cannot also activate it.
MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = env.bool("MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN", default=not DEBUG)
# What a model must reach on its bundle's own labelled sample before it can be activated.
# A coin toss has AUC 0.5, KS 0 and Brier 0.25 (always saying 0.5); the bundled German-credit
# model scores about 0.78, 0.44 and 0.17 on its sample.
VALIDATION_MIN_AUC = env.float("VALIDATION_MIN_AUC", default=0.65)
VALIDATION_MIN_KS = env.float("VALIDATION_MIN_KS", default=0.2)
VALIDATION_MAX_BRIER = env.float("VALIDATION_MAX_BRIER", default=0.25)
# The share of the sample approved must fall inside this range ("lowest,highest"): a model
# approving nearly everyone or nobody is a broken threshold, not a credit policy.
VALIDATION_APPROVAL_RATE_RANGE = tuple(env.list("VALIDATION_APPROVAL_RATE_RANGE", cast=float, default=[0.05, 0.95]))
if not (
    len(VALIDATION_APPROVAL_RATE_RANGE) == 2
    and 0 <= VALIDATION_APPROVAL_RATE_RANGE[0] <= VALIDATION_APPROVAL_RATE_RANGE[1] <= 1
):
    raise ImproperlyConfigured("VALIDATION_APPROVAL_RATE_RANGE must be two shares, lowest first, e.g. 0.05,0.95.")

# --- Monitoring: metrics, drift, fairness -----------------------------------

# /metrics answers a request with `Authorization: Bearer <METRICS_TOKEN>` or from an address in
# METRICS_ALLOWED_IPS (addresses or CIDR networks, matched against REMOTE_ADDR); nobody otherwise.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# Prometheus and container healthchecks talk plain HTTP inside the deployment network.
SECURE_REDIRECT_EXEMPT = [r"^metrics$", r"^health/"]
# Multiprocess metrics (gunicorn.conf.py and the Celery worker set it): prometheus_client opens
# files there as soon as a metric is created, so the folder must exist before any app loads.
if env.str("PROMETHEUS_MULTIPROC_DIR", default=""):
    Path(env.str("PROMETHEUS_MULTIPROC_DIR")).mkdir(parents=True, exist_ok=True)
# Drift: decisions of the last DRIFT_WINDOW_DAYS against the bundle's training reference.
DRIFT_WINDOW_DAYS = env.int("DRIFT_WINDOW_DAYS", default=7)
DRIFT_MIN_OBSERVATIONS = env.int("DRIFT_MIN_OBSERVATIONS", default=30)
DRIFT_MAX_ROWS = env.int("DRIFT_MAX_ROWS", default=50_000)
DRIFT_REPORT_HOUR = env.int("DRIFT_REPORT_HOUR", default=2)
# Fairness: decisions of the last FAIRNESS_WINDOW_DAYS (at most FAIRNESS_MAX_ROWS, newest first);
# groups with fewer than FAIRNESS_MIN_GROUP decisions are shown as too few to judge.
FAIRNESS_WINDOW_DAYS = env.int("FAIRNESS_WINDOW_DAYS", default=30)
FAIRNESS_MIN_GROUP = env.int("FAIRNESS_MIN_GROUP", default=30)
FAIRNESS_MAX_ROWS = env.int("FAIRNESS_MAX_ROWS", default=100_000)
# A queued or running backtest with no progress for this long had a worker that died: it can be run again.
BACKTEST_STALE_SECONDS = env.int("BACKTEST_STALE_SECONDS", default=600)
# The same for a policy simulation: one with no progress for this long can be run again.
POLICY_SIMULATION_STALE_SECONDS = env.int("POLICY_SIMULATION_STALE_SECONDS", default=600)
# Days of daily volume and rates on the monitoring page.
MONITORING_DAYS = env.int("MONITORING_DAYS", default=90)
# Realised performance against reported loan outcomes: a version's AUC or KS more than these margins below its
# validation figures, or an observed default rate more than PERFORMANCE_CALIBRATION_MARGIN (relative) above its
# mean predicted PD, is flagged, once at least PERFORMANCE_MIN_OUTCOMES booked loans have an outcome.
PERFORMANCE_AUC_MARGIN = env.float("PERFORMANCE_AUC_MARGIN", default=0.05)
PERFORMANCE_KS_MARGIN = env.float("PERFORMANCE_KS_MARGIN", default=0.05)
PERFORMANCE_CALIBRATION_MARGIN = env.float("PERFORMANCE_CALIBRATION_MARGIN", default=0.25)
PERFORMANCE_MIN_OUTCOMES = env.int("PERFORMANCE_MIN_OUTCOMES", default=100)
# The figures are computed at most once per this many seconds and version (shared cache), and refreshed by beat.
PERFORMANCE_CACHE_SECONDS = env.int("PERFORMANCE_CACHE_SECONDS", default=900)

# Other sections may add their own entries to CELERY_BEAT_SCHEDULE; this one adds the daily drift report.
CELERY_BEAT_SCHEDULE = globals().get("CELERY_BEAT_SCHEDULE", {}) | {
    "drift-report-daily": {
        "task": "scoring.tasks_monitoring.drift_report",
        "schedule": crontab(minute=0, hour=DRIFT_REPORT_HOUR),
    },
    # Well within the cache's lifetime, so pages and scrapes find the figures computed.
    "realised-performance": {
        "task": "scoring.tasks_monitoring.realised_performance",
        "schedule": float(max(60, PERFORMANCE_CACHE_SECONDS // 2)),
    },
}

# --- Logging, structured ----------------------------------------------------

# JSON lines in production (one per request, one per decision, ids only), readable text in debug.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware"), "creditscore.request_log.RequestLogMiddleware"
)
LOGGING["filters"] = {"request_id": {"()": "creditscore.request_log.RequestIdFilter"}}
LOGGING["formatters"]["plain"] = {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
LOGGING["formatters"]["json"] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
LOGGING["handlers"]["console"]["filters"] = ["request_id"]

# --- Credit policy ----------------------------------------------------

# The largest ZEN decision model (JSON) the policy import takes; refused before the body is read.
POLICY_IMPORT_MAX_BYTES = env.int("POLICY_IMPORT_MAX_BYTES", default=1024 * 1024)

# --- Loan outcomes ----------------------------------------------------

# One set of outcomes (a CSV file, an API request, a command run) is checked and stored in one
# transaction, all or nothing: these bound its size. The file limit is checked before the body is read.
OUTCOMES_MAX_ROWS = env.int("OUTCOMES_MAX_ROWS", default=10_000)
OUTCOMES_MAX_BYTES = env.int("OUTCOMES_MAX_BYTES", default=5 * 1024 * 1024)

# --- Batch scoring ----------------------------------------------------

# Upload limits, checked before any work is queued.
BATCH_MAX_BYTES = env.int("BATCH_MAX_BYTES", default=200 * 1024 * 1024)
BATCH_MAX_ROWS = env.int("BATCH_MAX_ROWS", default=5_000_000)
# Rows per chunk: one Celery task and one database transaction each.
BATCH_CHUNK_ROWS = env.int("BATCH_CHUNK_ROWS", default=50_000)
# A chunk whose task was sent but that no worker started this long after is sent again (lost message).
BATCH_STALE_SECONDS = env.int("BATCH_STALE_SECONDS", default=15 * 60)
# A worker holds a chunk for this long and renews the hold every third of it while it works; the
# sweeper takes back a chunk whose hold ran out (its worker is gone). With the sweep interval below,
# a dead worker's chunk is running again within LEASE + SWEEP seconds (under a minute by default).
BATCH_CHUNK_LEASE_SECONDS = env.int("BATCH_CHUNK_LEASE_SECONDS", default=30)
BATCH_SWEEP_SECONDS = env.int("BATCH_SWEEP_SECONDS", default=20)
# A chunk that fails this many times for an unexpected reason (an error, or its worker lost) fails its
# job with that reason, rather than being retried for ever.
BATCH_CHUNK_MAX_ATTEMPTS = env.int("BATCH_CHUNK_MAX_ATTEMPTS", default=3)
# Chunks of one job sent to the broker at once; the next is sent when one finishes, to the job with the
# fewest in flight, so a small job never waits behind a large one. Set it to about the worker count.
BATCH_CHUNKS_IN_FLIGHT_PER_JOB = env.int("BATCH_CHUNKS_IN_FLIGHT_PER_JOB", default=2)
# Test-only fault injection: seconds a worker sleeps after writing a chunk's rows, before its commit,
# so the crash test can SIGKILL it mid-chunk. Always 0 in deployments.
BATCH_FAULT_PAUSE_SECONDS = env.float("BATCH_FAULT_PAUSE_SECONDS", default=0.0)
# Uploads larger than this go to a temporary file, not memory; big CSVs never sit in RAM.
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=None)
# A task killed with its worker is redelivered after this many seconds (Redis keeps it unacknowledged
# until then); longer than a chunk takes, shorter than anyone would wait.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)}
CELERY_BEAT_SCHEDULE = CELERY_BEAT_SCHEDULE | {
    "sweep-stale-batch-jobs": {"task": "scoring.tasks.sweep_batch_jobs", "schedule": float(BATCH_SWEEP_SECONDS)},
}

# --- Security hardening: login throttling, CSP, access log -------------

INSTALLED_APPS += ["axes", "csp"]
MIDDLEWARE += [
    "csp.middleware.CSPMiddleware",
    # A session ends SESSION_ABSOLUTE_SECONDS after its login, however active it is.
    "accounts.middleware.SessionLifetimeMiddleware",
    # Auditors change nothing: any unsafe method from a read-only role is refused here, once.
    "accounts.middleware.ReadOnlyRoleMiddleware",
    # Axes last, as its docs require: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]
# Failed API authentications per address (API_AUTH_FAILURE_RATE): before sessions, so a refused
# address costs no session or token lookup.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
    "scoring.api.auth_failures.AuthFailureLimitMiddleware",
)
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five failed logins for one username, or from one IP address, lock it for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The client address is the one accounts.backends.client_ip finds (TRUSTED_PROXY_COUNT, above).
AXES_CLIENT_IP_CALLABLE = "accounts.backends.client_ip"

# No 'unsafe-inline' anywhere: templates carry no inline scripts, styles or style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Audit history pages and exports.
AUDIT_PAGE_SIZE = env.int("AUDIT_PAGE_SIZE", default=50)
AUDIT_EXPORT_CHUNK_SIZE = env.int("AUDIT_EXPORT_CHUNK_SIZE", default=500)
