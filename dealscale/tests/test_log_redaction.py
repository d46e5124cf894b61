"""Secrets in request URLs (OAuth codes, password-reset keys) never reach a log line."""

import io
import json
import logging

import pytest
import structlog

from dealscale.logconfig import build_logging_config, redact_url_secrets


@pytest.fixture
def captured_json_lines():
    """The JSON lines the production formatter writes for django-structlog and Django's own loggers."""
    formatter_config = build_logging_config(log_format="json", level="INFO")["formatters"]["structured"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=formatter_config["processors"],
            foreign_pre_chain=formatter_config["foreign_pre_chain"],
        )
    )
    loggers = [logging.getLogger(name) for name in ("django_structlog", "django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.mark.django_db
def test_oauth_code_and_state_query_values_are_redacted_from_the_request_log(client, captured_json_lines):
    client.get("/health?code=SECRETCODE&state=SECRETSTATE&other=kept")

    lines = captured_json_lines()
    started = next(line for line in lines if line["event"] == "request_started")
    assert started["request"] == ("GET /health?code=[redacted]&state=[redacted]&other=kept")
    assert not any("SECRET" in json.dumps(line) for line in lines)


@pytest.mark.django_db
def test_the_password_reset_key_is_redacted_from_structlog_and_foreign_log_lines(client, captured_json_lines):
    client.get("/accounts/password/reset/key/1-SECRETKEY/")
    logging.getLogger("django.request").warning("Not Found: /accounts/password/reset/key/1-SECRETKEY/")

    lines = captured_json_lines()
    started = next(line for line in lines if line["event"] == "request_started")
    assert started["request"] == "GET /accounts/password/reset/key/[redacted]/"
    assert "Not Found: /accounts/password/reset/key/[redacted]/" in [line["event"] for line in lines]
    assert not any("SECRETKEY" in json.dumps(line) for line in lines)


def test_only_the_values_of_sensitive_query_parameters_are_redacted():
    line = redact_url_secrets(
        None,
        "info",
        {
            "event": "x",
            "url": "https://h/cb?Token=t1&page=2&refresh_token=r1#frag",
            "path": "/a?secret=s&key=k",
        },
    )

    assert line["url"] == "https://h/cb?Token=[redacted]&page=2&refresh_token=[redacted]#frag"
    assert line["path"] == "/a?secret=[redacted]&key=[redacted]"
