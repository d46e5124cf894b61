"""Structured logging: JSON lines in production, a readable console in development.

django-structlog binds `request_id` (and the user) to every line logged during a request, and
`task_id` inside Celery tasks; plain `logging` calls from Django and libraries go through the same
structlog formatter so every line has one shape.
"""

import re

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

# Fields that carry a URL: django-structlog's `request` ("GET /path?query"), and our own `path`/`url`.
# `event` is there for foreign lines (django.request's "Not Found: /path"), whose message is the event.
URL_FIELDS = ("request", "path", "url", "event")
SENSITIVE_QUERY_VALUE = re.compile(
    r"(?P<name>[?&;](?:code|state|token|access_token|refresh_token|key|secret|password)=)[^&;#\s]*",
    re.IGNORECASE,
)
# allauth's password-reset link is `/accounts/password/reset/key/<uidb36>-<key>/`: the key is the secret.
RESET_KEY_SEGMENT = re.compile(r"(/password/reset/key/)[^/?#\s]+")
REDACTED = "[redacted]"


def redact_url_secrets(_logger: WrappedLogger, _method_name: str, event_dict: EventDict) -> EventDict:
    """Blank OAuth codes/states, tokens and password-reset keys in the URL-carrying fields of a log line."""
    for field in URL_FIELDS:
        value = event_dict.get(field)
        if isinstance(value, str):
            value = SENSITIVE_QUERY_VALUE.sub(rf"\g<name>{REDACTED}", value)
            event_dict[field] = RESET_KEY_SEGMENT.sub(rf"\g<1>{REDACTED}", value)
    return event_dict


SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
    redact_url_secrets,
]


def build_logging_config(*, log_format: str, level: str) -> dict:
    """Return a `LOGGING` dict whose root handler renders `log_format` ("json" or "console")."""
    renderer = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": SHARED_PROCESSORS,
            },
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structured"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "django_structlog": {"level": level},
            "nextcord": {"level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS,
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
