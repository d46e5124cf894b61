"""Settings for DealScale Discord, read from the environment (see .env.example).

One file for every environment: development, tests and production differ only by variables.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class NonEmptyEnviron(Mapping):
    """os.environ without its empty values: `VAR=` (as in a copied .env.example) means "use the default"."""

    def __getitem__(self, name: str) -> str:
        value = os.environ[name]
        if value == "":
            raise KeyError(name)
        return value

    def __iter__(self):
        return (name for name, value in os.environ.items() if value != "")

    def __len__(self) -> int:
        return sum(1 for _ in self)


environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
env = environ.Env()
env.ENVIRON = NonEmptyEnviron()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set it in the environment or in .env "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"
# Previous SECRET_KEYs (comma-separated) that still verify sessions, signed values and decrypt the
# leaderboard service keys' signing secrets while SECRET_KEY is rotated.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "waffle",
    "django_structlog",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.discord",
    "dealscale.apps.DealScaleConfig",
    "accounts",
    "leaderboard",
    "credits",
    "discordbot",
    "rolesync",
    "linkedroles",
    "portal",
    "ops",
]

MIDDLEWARE = [
    # First and last: request count and latency for /metrics (django-prometheus).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A lost database connection answers 503 + Retry-After (pages; DRF views answer it themselves).
    "dealscale.middleware.DatabaseOutageMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "waffle.middleware.WaffleMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

ROOT_URLCONF = "dealscale.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "dealscale.wsgi.application"
ASGI_APPLICATION = "dealscale.asgi.application"

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is the embedded default of `make run`: several processes (web, worker, beat) share
    # the file, so wait for the write lock instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Redis, cache, Celery -------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # A dead Redis must cost milliseconds, not a hung request.
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                # The cache only saves work (flags, pages, cooldowns, throttles): with Redis down,
                # reads miss and fall back to the database instead of failing the request.
                "IGNORE_EXCEPTIONS": True,
            },
            "KEY_PREFIX": "dealscale",
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    # No Redis: a file cache is shared by the web, worker and beat processes of `make run`.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env("FILE_CACHE_DIR", default=str(BASE_DIR / ".run" / "cache")),
        }
    }

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # The broker of the embedded mode: kombu's filesystem transport needs no server.
    _broker_dir = env("CELERY_FILESYSTEM_BROKER_DIR", default=str(BASE_DIR / ".run" / "broker"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _broker_dir,
        "data_folder_out": _broker_dir,
        "processed_folder": _broker_dir,
        # Without it kombu writes its exchange table to ./control in the working directory.
        "control_folder": f"{_broker_dir}/control",
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    from dealscale import broker  # noqa: E402

    if CELERY_BROKER_URL.startswith("redis://"):
        # kombu's Redis transport, with a worker that reconnects instead of exiting when Redis goes away.
        CELERY_BROKER_TRANSPORT = broker.TRANSPORT
    CELERY_BROKER_TRANSPORT_OPTIONS = broker.transport_options(
        visibility_timeout=env.int("CELERY_VISIBILITY_TIMEOUT", default=120)
    )
# One message reserved per worker process: a killed worker takes no queue of prefetched tasks with it.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True

# --- Outbox (dealscale/outbox.py; docs/operations.md) ------------------------------------------
# Attempts of one side effect before it is marked failed (the admin's "retry now" gives one more).
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=12)
# Backoff after a failed attempt: doubling from the first delay up to the cap (seconds).
OUTBOX_FIRST_BACKOFF_SECONDS = env.float("OUTBOX_FIRST_BACKOFF_SECONDS", default=5.0)
OUTBOX_MAX_BACKOFF_SECONDS = env.float("OUTBOX_MAX_BACKOFF_SECONDS", default=600.0)
# An entry handed to the broker but not taken by a worker after this long is handed again.
OUTBOX_HANDOFF_TIMEOUT_SECONDS = env.int("OUTBOX_HANDOFF_TIMEOUT_SECONDS", default=180)
# Without PostgreSQL's advisory locks (SQLite), a claim older than this is taken over by another worker.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=300)
# Delivered entries are deleted after this many days (daily beat task).
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=30)

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Documents every error status of each operation in the API's one error shape (dealscale.openapi).
    "DEFAULT_SCHEMA_CLASS": "dealscale.openapi.AutoSchema",
    # ?limit= (20 by default; above 100 gives 100) and ?offset=: anything else is a 400 (dealscale.api).
    "DEFAULT_PAGINATION_CLASS": "dealscale.api.LimitOffsetPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "dealscale.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "dealscale.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DealScale Discord API",
    "DESCRIPTION": "Credits, leaderboard and Discord account linking for the DealScale community.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies are documented apart from responses (read-only fields are not inputs).
    "COMPONENT_SPLIT_REQUEST": True,
    # The API's contract is JSON; the form parsers stay for the browsable API only.
    "PARSER_WHITELIST": ["dealscale.parsers.JSONParser", "rest_framework.parsers.JSONParser"],
    # Self-hosted Swagger UI / ReDoc assets: the docs page works with no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Discord --------------------------------------------------------------------------------
# Discord's own API; every Discord call is built on DISCORD_API_BASE_URL, never on this constant.
DISCORD_API_DEFAULT_BASE_URL = "https://discord.com/api/v10"
DISCORD_API_BASE_URL = env("DISCORD_API_BASE_URL", default=DISCORD_API_DEFAULT_BASE_URL).rstrip("/")
DISCORD_CLIENT_ID = env("DISCORD_CLIENT_ID", default="")
DISCORD_CLIENT_SECRET = env("DISCORD_CLIENT_SECRET", default="")
DISCORD_REDIRECT_URI = env("DISCORD_REDIRECT_URI", default="")
DISCORD_BOT_TOKEN = env("DISCORD_BOT_TOKEN", default="")
DISCORD_GUILD_ID = env("DISCORD_GUILD_ID", default="")
DISCORD_TOKEN_ENCRYPTION_KEY = env.list("DISCORD_TOKEN_ENCRYPTION_KEY", default=[])
DISCORD_HTTP_TIMEOUT = env.float("DISCORD_HTTP_TIMEOUT", default=10.0)
# The Discord client and its shared rate-limit governor (discordbot/client.py, discordbot/ratelimit.py).
DISCORD_RETRY_BACKOFF_SECONDS = env.float("DISCORD_RETRY_BACKOFF_SECONDS", default=1.0)
DISCORD_MAX_RETRY_AFTER = env.float("DISCORD_MAX_RETRY_AFTER", default=60.0)
DISCORD_GLOBAL_RATE_LIMIT = env.int("DISCORD_GLOBAL_RATE_LIMIT", default=50)
DISCORD_INVALID_REQUEST_CEILING = env.int("DISCORD_INVALID_REQUEST_CEILING", default=5000)
# The bot writes a heartbeat every 30 s; older than this and /health/discord reports it offline.
BOT_HEARTBEAT_MAX_AGE_SECONDS = env.int("BOT_HEARTBEAT_MAX_AGE_SECONDS", default=120)
# --- The bot (manage.py runbot) ---
# Seconds between two heartbeats of the running bot (read by /health/discord).
BOT_HEARTBEAT_INTERVAL_SECONDS = env.float("BOT_HEARTBEAT_INTERVAL_SECONDS", default=30.0)
# Seconds without any gateway frame (a HEARTBEAT_ACK included) before the bot takes its connection for a
# zombie, closes it and RESUMEs (nextcord's heartbeat_timeout; Discord heartbeats every ~41 s). Keep it well
# above 5: before a new IDENTIFY nextcord waits 5 s reading nothing, and would take that for a zombie.
BOT_GATEWAY_TIMEOUT_SECONDS = env.float("BOT_GATEWAY_TIMEOUT_SECONDS", default=60.0)
# Per-member cooldown of each slash command, and the longer one of /request-credits (0 disables).
BOT_COOLDOWN_SECONDS = env.float("BOT_COOLDOWN_SECONDS", default=3.0)
BOT_REQUEST_CREDITS_COOLDOWN_SECONDS = env.float("BOT_REQUEST_CREDITS_COOLDOWN_SECONDS", default=30.0)
# How long the Deny button waits for its checks before opening the reason modal anyway: a modal must be
# the first response, due within Discord's 3 s (the submit checks again). See docs/bot.md.
BOT_MODAL_CHECK_BUDGET_SECONDS = env.float("BOT_MODAL_CHECK_BUDGET_SECONDS", default=1.5)
# Channel where new credit requests are posted with Approve / Deny buttons (empty: not posted).
DISCORD_MOD_CHANNEL_ID = env("DISCORD_MOD_CHANNEL_ID", default="")
# Channel `manage.py announce` posts to when no --channel is given (empty: --channel is required).
DISCORD_ANNOUNCEMENTS_CHANNEL_ID = env("DISCORD_ANNOUNCEMENTS_CHANNEL_ID", default="")
# OAuth is "not working" when this many callbacks failed in the window and none succeeded since.
OAUTH_FAILURE_WINDOW_SECONDS = env.int("OAUTH_FAILURE_WINDOW_SECONDS", default=300)
OAUTH_FAILURE_THRESHOLD = env.int("OAUTH_FAILURE_THRESHOLD", default=5)
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=1.0)

# --- Discord Linked Roles (linkedroles; docs/linked_roles.md) ----------------------
# Off pauses every push of members' role connections (the kill switch pauses them too).
LINKED_ROLES_ENABLED = env.bool("LINKED_ROLES_ENABLED", default=True)
# One delivery pushes at most this many members, then hands the rest to a fresh delivery.
LINKED_ROLES_PUSH_BATCH = env.int("LINKED_ROLES_PUSH_BATCH", default=500)

# --- Discord role sync (rolesync) ------------------------------------------------
# Off pauses every role sync run (scheduled, targeted, API); runs are recorded as "paused".
ROLE_SYNC_ENABLED = env.bool("ROLE_SYNC_ENABLED", default=True)
# Safety brake: a run changing more than this share of the members in scope AND at least this many
# roles applies nothing and waits for staff to confirm it in the admin.
ROLE_SYNC_BRAKE_SHARE = env.float("ROLE_SYNC_BRAKE_SHARE", default=0.10)
ROLE_SYNC_BRAKE_MIN_CHANGES = env.int("ROLE_SYNC_BRAKE_MIN_CHANGES", default=25)
# Prefix of the X-Audit-Log-Reason sent with every role change (Discord's audit log shows it).
ROLE_SYNC_AUDIT_REASON = env("ROLE_SYNC_AUDIT_REASON", default="DealScale role sync")

# --- Credits --------------------------------------------------------------------------------
# Largest amount one credit request may ask for.
CREDITS_MAX_REQUEST = env.int("CREDITS_MAX_REQUEST", default=10_000)
# How many pending requests one member may have at a time.
CREDITS_MAX_PENDING = env.int("CREDITS_MAX_PENDING", default=1)
# Sum of the amounts one member may request per UTC day (cancelled requests do not count).
CREDITS_DAILY_CAP = env.int("CREDITS_DAILY_CAP", default=20_000)

# --- Accounts / allauth ---------------------------------------------------------------------
# Sign-in by email or username with a password, or with Discord (accounts.discord_provider).
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
# No mail server is required to run the site: addresses are verified when the member wants to.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/profile/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_FORMS = {"disconnect": "accounts.forms.DiscordAwareDisconnectForm"}
# Starting a Discord login is a POST (CSRF-protected); allauth keeps OAuth `state` in the session.
SOCIALACCOUNT_LOGIN_ON_GET = False
# allauth would store tokens in clear; accounts.DiscordToken keeps them encrypted instead.
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = DISCORD_HTTP_TIMEOUT
SOCIALACCOUNT_PROVIDERS = {
    "discord": {
        # accounts.discord_provider derives every Discord URL from DISCORD_API_BASE_URL.
        "provider_class": "accounts.discord_provider.provider.DealScaleDiscordProvider",
        # role_connections.write: Linked Roles (linkedroles/); members may link without it (docs/linked_roles.md).
        "SCOPE": ["identify", "email", "role_connections.write"],
        # The OAuth app comes from the environment: no SocialApp row to create in the admin.
        "APPS": (
            [{"client_id": DISCORD_CLIENT_ID, "secret": DISCORD_CLIENT_SECRET, "key": ""}]
            if DISCORD_CLIENT_ID
            else []
        ),
    }
}
# Mail (password reset, address verification) goes through EMAIL_URL (django-environ syntax, e.g.
# smtp+tls://user:password@smtp.example.com:587). Unset, mails are written to the console/log, so
# a site with no mail server still signs members up instead of failing on the SMTP connection.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="DealScale <no-reply@dealscale.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# --- end Accounts / allauth ------------------------------------------------------------------

# --- Security (production) ------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^health/"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Logging --------------------------------------------------------------------------------
from dealscale.logconfig import build_logging_config, configure_structlog  # noqa: E402

LOG_FORMAT = env("LOG_FORMAT", default="console" if DEBUG else "json")
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = build_logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
configure_structlog()
DJANGO_STRUCTLOG_CELERY_ENABLED = True

# --- Sentry ---------------------------------------------------------------------------------
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from dealscale.observability import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
        release=env("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- Operations (alerts, metrics, API throttles; see docs/operations.md) --------------------
# Alert rules, evaluated every minute by beat (dealscale.tasks.evaluate_alerts).
ALERT_BOT_OFFLINE_SECONDS = env.int("ALERT_BOT_OFFLINE_SECONDS", default=120)
ALERT_ERROR_RATE_THRESHOLD = env.float("ALERT_ERROR_RATE_THRESHOLD", default=0.05)
ALERT_ERROR_RATE_WINDOW_SECONDS = env.int("ALERT_ERROR_RATE_WINDOW_SECONDS", default=300)
ALERT_ERROR_RATE_MIN_COMMANDS = env.int("ALERT_ERROR_RATE_MIN_COMMANDS", default=5)
ALERT_OAUTH_FAILURES_THRESHOLD = env.int("ALERT_OAUTH_FAILURES_THRESHOLD", default=10)
ALERT_OAUTH_FAILURES_WINDOW_SECONDS = env.int("ALERT_OAUTH_FAILURES_WINDOW_SECONDS", default=60)
ALERT_REPEAT_MINUTES = env.int("ALERT_REPEAT_MINUTES", default=30)
# An outbox entry due for longer than this means no worker delivers (ops.rules.outbox_backlog).
ALERT_OUTBOX_LAG_SECONDS = env.int("ALERT_OUTBOX_LAG_SECONDS", default=300)
# Full webhook URLs (not routed through DISCORD_API_BASE_URL); empty = that channel is off.
ALERT_DISCORD_WEBHOOK_URL = env("ALERT_DISCORD_WEBHOOK_URL", default="")
ALERT_SLACK_WEBHOOK_URL = env("ALERT_SLACK_WEBHOOK_URL", default="")
ALERT_WEBHOOK_TIMEOUT_SECONDS = env.float("ALERT_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
ALERT_WEBHOOK_MAX_RETRIES = env.int("ALERT_WEBHOOK_MAX_RETRIES", default=5)
ALERT_WEBHOOK_RETRY_BACKOFF_SECONDS = env.int("ALERT_WEBHOOK_RETRY_BACKOFF_SECONDS", default=10)

# /metrics answers a bearer token equal to METRICS_TOKEN, or a staff session; empty = staff only.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Several gunicorn workers: a folder (emptied before start) where prometheus_client merges their counters.
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")
if not PROMETHEUS_MULTIPROC_DIR:
    # prometheus_client switches to multiprocess mode when the variable merely exists, even empty.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
# Prometheus scrapes over the internal network, often in plain http.
SECURE_REDIRECT_EXEMPT += [r"^metrics$"]

# API throttles (DRF, counted in the default cache: Redis when REDIS_URL is set). "N/second|minute|hour|day".
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "dealscale.throttling.UserThrottle",
    "dealscale.throttling.IPThrottle",
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "user": env("API_THROTTLE_USER_RATE", default="120/minute"),
    "ip": env("API_THROTTLE_IP_RATE", default="300/minute"),
    "score_events": env("API_THROTTLE_SCORE_EVENTS_RATE", default="600/minute"),
}
# Proxies in front of the app that append to X-Forwarded-For (0 = trust only REMOTE_ADDR).
REST_FRAMEWORK["NUM_PROXIES"] = env.int("API_NUM_PROXIES", default=0)
# allauth's limits on the login and signup forms ("N/period/key" with key ip, user or key; allauth
# keeps its defaults for the actions not named here). Over "login"/"signup" a POST gets a 429; over
# "login_failed" the form refuses further attempts ("Too many failed login attempts").
ACCOUNT_RATE_LIMITS = {
    "login": env("ACCOUNT_RATE_LIMIT_LOGIN", default="30/m/ip"),
    "login_failed": env("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
    "signup": env("ACCOUNT_RATE_LIMIT_SIGNUP", default="20/m/ip"),
}
