"""The score-events webhook accepts a request only with a live service key AND a fresh, matching signature."""

import json
import logging
import time

import pytest

from accounts.tests.factories import UserFactory
from leaderboard.models import ScoreEvent
from leaderboard.services import create_service_key, revoke_service_key
from leaderboard.signing import decrypt_secret, sign
from leaderboard.tests.factories import event_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def payload():
    return {"events": [event_document("e-1", UserFactory().pk)]}


def test_a_correctly_signed_batch_is_accepted(post_events, payload):
    response = post_events(payload)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0}
    assert ScoreEvent.objects.get().source == "platform"


def test_a_signature_made_with_another_secret_is_refused(post_events, payload):
    body = json.dumps(payload).encode()
    response = post_events(payload, signature=sign(secret="not-the-secret", body=body))
    assert response.status_code == 401
    assert "does not match" in response.json()["detail"]
    assert not ScoreEvent.objects.exists()


def test_a_body_changed_after_signing_is_refused(post_events, service_key, payload):
    _, _, secret = service_key
    signed = sign(secret=secret, body=json.dumps(payload).encode())
    payload["events"][0]["points"] = 10_000
    response = post_events(payload, signature=signed)
    assert response.status_code == 401
    assert not ScoreEvent.objects.exists()


def test_a_signature_older_than_five_minutes_is_refused(post_events, payload):
    response = post_events(payload, timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert "5-minute" in response.json()["detail"]
    assert not ScoreEvent.objects.exists()


def test_a_signature_from_more_than_five_minutes_ahead_is_refused(post_events, payload):
    response = post_events(payload, timestamp=int(time.time()) + 301)
    assert response.status_code == 401
    assert not ScoreEvent.objects.exists()


def test_a_signature_within_the_tolerance_is_accepted(post_events, payload):
    assert post_events(payload, timestamp=int(time.time()) - 290).status_code == 200


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=deadbeef", "t=1700000000"])
def test_a_missing_or_malformed_signature_is_refused(post_events, payload, header):
    response = post_events(payload, signature=header)
    assert response.status_code == 401
    assert not ScoreEvent.objects.exists()


@pytest.mark.parametrize(
    "timestamp, mac",
    [
        # str.isdigit() accepts superscripts and other scripts' digits; int() does not take them all.
        ("¹", None),
        ("{now}¹", None),
        ("١٧٠٠٠٠٠٠٠٠", None),
        (" {now}", None),
        ("+{now}", None),
        ("{now}_0", None),
        ("1" * 5000, None),
        # hmac.compare_digest raises TypeError on a non-ASCII str.
        ("{now}", "é" * 64),
        ("{now}", "{mac}é"),
        ("{now}", "g" * 64),
        ("{now}", "{mac}00"),
        ("{now}", ""),
    ],
)
def test_a_signature_header_with_anything_but_ascii_digits_and_hex_is_refused(
    post_events, service_key, payload, timestamp, mac
):
    _, _, secret = service_key
    now = int(time.time())
    good_mac = sign(secret=secret, body=json.dumps(payload).encode(), timestamp=now).partition("v1=")[2]
    mac = good_mac if mac is None else mac.format(mac=good_mac)
    response = post_events(payload, signature=f"t={timestamp.format(now=now)},v1={mac}")
    assert response.status_code == 401
    assert "X-DealScale-Signature" in response.json()["detail"]
    assert not ScoreEvent.objects.exists()


def test_a_signature_in_upper_case_hex_is_accepted(post_events, service_key, payload):
    _, _, secret = service_key
    timestamp, _, mac = sign(secret=secret, body=json.dumps(payload).encode()).partition(",v1=")
    assert post_events(payload, signature=f"{timestamp},v1={mac.upper()}").status_code == 200


def test_an_unknown_or_missing_key_is_refused_even_with_a_good_signature(post_events, payload, client):
    assert post_events(payload, key="dss_unknown").status_code == 401
    anonymous = client.post("/api/score-events", data=json.dumps(payload), content_type="application/json")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Bearer"
    assert not ScoreEvent.objects.exists()


def test_a_revoked_key_is_refused_at_once(post_events, service_key, payload):
    revoke_service_key(service_key_id=service_key[0].pk, actor=None)
    assert post_events(payload).status_code == 401
    assert not ScoreEvent.objects.exists()


def test_a_replayed_signed_request_stores_its_events_only_once(post_events, service_key, payload):
    _, _, secret = service_key
    body = json.dumps(payload).encode()
    signature = sign(secret=secret, body=body)
    first = post_events(None, body=body, signature=signature)
    replay = post_events(None, body=body, signature=signature)
    assert first.json() == {"accepted": 1, "duplicates": 0}
    assert replay.json() == {"accepted": 0, "duplicates": 1}
    assert ScoreEvent.objects.count() == 1


def test_the_secret_is_stored_encrypted_and_the_key_hashed(service_key):
    row, key, secret = service_key
    assert key not in (row.key_hash, row.prefix) and secret not in row.encrypted_secret


def test_a_key_created_before_a_secret_key_rotation_keeps_working_through_the_fallbacks(
    post_events, payload, settings
):
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-rotated-secret-key"
    assert post_events(payload).status_code == 200
    assert ScoreEvent.objects.count() == 1


def test_a_key_created_after_a_rotation_is_encrypted_with_the_new_secret_key(settings):
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-rotated-secret-key"
    row, _, secret = create_service_key(name="after-rotation")
    settings.SECRET_KEY_FALLBACKS = []
    assert decrypt_secret(row.encrypted_secret) == secret


def test_a_secret_no_key_can_decrypt_is_refused_and_logged_by_key_id_only(
    post_events, service_key, payload, settings, caplog
):
    row, _, secret = service_key
    settings.SECRET_KEY = "the-rotated-secret-key"
    settings.SECRET_KEY_FALLBACKS = ["another-unrelated-key"]
    with caplog.at_level(logging.ERROR):
        response = post_events(payload)
    assert response.status_code == 401
    assert "cannot be verified" in response.json()["detail"]
    assert not ScoreEvent.objects.exists()
    [record] = [r for r in caplog.records if "service_key_secret_undecryptable" in r.getMessage()]
    assert record.levelno == logging.ERROR and record.msg["service_key_id"] == row.pk
    assert secret not in caplog.text and row.encrypted_secret not in caplog.text
