"""Properties of the score webhook's signature (leaderboard.signing), for any secret, body and header.

A signature made for a body verifies within the tolerance, whatever the secret and the bytes; a
changed body, another secret or a timestamp outside the tolerance never verifies; and no header,
however malformed, makes `verify` fail with anything but InvalidSignature.
"""

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from leaderboard.signing import SIGNATURE_TOLERANCE_SECONDS, InvalidSignature, sign, verify

NOW = 1_800_000_000
PROPERTIES = settings(max_examples=300, deadline=None, derandomize=True, database=None)

secrets = st.text(min_size=1, max_size=64)
bodies = st.binary(max_size=2048)
fresh = st.integers(-SIGNATURE_TOLERANCE_SECONDS, SIGNATURE_TOLERANCE_SECONDS)
stale = st.one_of(
    st.integers(SIGNATURE_TOLERANCE_SECONDS + 1, 10**9), st.integers(-NOW, -SIGNATURE_TOLERANCE_SECONDS - 1)
)


def verifies(header, *, secret: str, body: bytes) -> bool:
    try:
        verify(header=header, secret=secret, body=body, now=NOW)
    except InvalidSignature:
        return False
    return True


@PROPERTIES
@given(secret=secrets, body=bodies, offset=fresh)
def test_a_body_signed_within_the_tolerance_always_verifies(secret, body, offset):
    assert verifies(sign(secret=secret, body=body, timestamp=NOW + offset), secret=secret, body=body)


@PROPERTIES
@given(secret=secrets, body=bodies, other=bodies)
def test_a_changed_body_never_verifies(secret, body, other):
    assume(other != body)
    assert not verifies(sign(secret=secret, body=body, timestamp=NOW), secret=secret, body=other)


@PROPERTIES
@given(secret=secrets, other=secrets, body=bodies)
def test_a_signature_made_with_another_secret_never_verifies(secret, other, body):
    assume(other != secret)
    assert not verifies(sign(secret=other, body=body, timestamp=NOW), secret=secret, body=body)


@PROPERTIES
@given(secret=secrets, body=bodies, offset=stale)
def test_a_stale_or_future_signature_never_verifies_even_when_it_matches(secret, body, offset):
    assert not verifies(sign(secret=secret, body=body, timestamp=NOW + offset), secret=secret, body=body)


@PROPERTIES
@given(secret=secrets, body=bodies, other_timestamp=st.integers(0, 10**12))
def test_the_mac_of_one_timestamp_never_verifies_under_another(secret, body, other_timestamp):
    assume(other_timestamp != NOW)
    mac = sign(secret=secret, body=body, timestamp=NOW).partition("v1=")[2]
    assert not verifies(f"t={other_timestamp},v1={mac}", secret=secret, body=body)


@PROPERTIES
@given(
    secret=secrets,
    body=bodies,
    swap=st.booleans(),
    upper=st.booleans(),
    padding=st.sampled_from(["", " ", "  ", "\t"]),
    extra=st.sampled_from([[], ["v0=deadbeef"], ["scheme=hmac-sha256"]]),
)
def test_a_valid_signature_verifies_in_any_order_case_spacing_or_with_unknown_keys(
    secret, body, swap, upper, padding, extra
):
    timestamp, mac = sign(secret=secret, body=body, timestamp=NOW).split(",")
    items = [timestamp, mac.upper().replace("V1=", "v1=") if upper else mac, *extra]
    if swap:
        items.reverse()
    assert verifies(",".join(f"{padding}{item}{padding}" for item in items), secret=secret, body=body)


@PROPERTIES
@given(secret=secrets, body=bodies, position=st.integers(0, 63), digit=st.sampled_from("0123456789abcdef"))
def test_any_changed_digit_of_the_mac_never_verifies(secret, body, position, digit):
    header = sign(secret=secret, body=body, timestamp=NOW)
    prefix, mac = header.split("v1=")
    assume(mac[position] != digit)
    changed = mac[:position] + digit + mac[position + 1 :]
    assert not verifies(f"{prefix}v1={changed}", secret=secret, body=body)


@PROPERTIES
@given(header=st.one_of(st.none(), st.text(max_size=300)), secret=secrets, body=bodies)
@example(header="t=1800000000,v1=" + "é" * 64, secret="s", body=b"")
@example(header="t=¹,v1=" + "0" * 64, secret="s", body=b"")
@example(header="t=" + "1" * 5000 + ",v1=" + "0" * 64, secret="s", body=b"")
@example(header=",,,===,,t=,v1=", secret="s", body=b"")
def test_any_header_is_refused_with_invalid_signature_and_nothing_else(header, secret, body):
    # A random header never carries the right MAC: it is refused, and never by a TypeError or ValueError.
    assert not verifies(header, secret=secret, body=body)


@PROPERTIES
@given(
    secret=secrets,
    body=bodies,
    garbage=st.text(alphabet=st.characters(exclude_characters=","), max_size=40).filter(
        lambda text: text.strip().partition("=")[0] not in ("t", "v1")
    ),
)
def test_a_valid_signature_survives_items_it_does_not_know_but_not_a_repeated_key(secret, body, garbage):
    header = sign(secret=secret, body=body, timestamp=NOW)
    assert verifies(f"{header},{garbage}", secret=secret, body=body)
    # A repeated key wins over the first: the header then names another moment, which never verifies.
    assert not verifies(f"{header},t={NOW - 1}", secret=secret, body=body)
