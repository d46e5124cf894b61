"""Discord tokens at rest: encrypted in the table and in dumps, rotated by `rotate_token_key`."""

import getpass
import io

import pytest
from allauth.socialaccount.models import SocialAccount
from cryptography.fernet import Fernet
from django.core import serializers
from django.core.checks import Error
from django.core.management import CommandError, call_command
from django.db import connection

from accounts import crypto
from accounts.checks import check_token_encryption_key
from accounts.models import AuditEvent, DiscordToken
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCESS = "clear-access-token-9f8e7d"
REFRESH = "clear-refresh-token-1a2b3c"


@pytest.fixture
def stored_token(token_key):
    user = UserFactory()
    account = SocialAccount.objects.create(
        user=user, provider="discord", uid="4242", extra_data={"username": "x"}
    )
    return DiscordToken.objects.create(
        social_account=account,
        access_token_encrypted=ACCESS,
        refresh_token_encrypted=REFRESH,
        scope="identify email",
    )


def raw_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token_encrypted, refresh_token_encrypted FROM accounts_discordtoken")
        return cursor.fetchall()


def test_a_database_dump_contains_no_token_in_clear(stored_token):
    out = io.StringIO()
    call_command("dumpdata", "accounts.discordtoken", "socialaccount", stdout=out)
    dump = out.getvalue()
    assert "accounts.discordtoken" in dump
    assert ACCESS not in dump and REFRESH not in dump
    for row in raw_rows():
        assert ACCESS not in "".join(row) and REFRESH not in "".join(row)
        assert all(value.startswith("gAAAAA") for value in row)


def test_a_dump_loads_back_into_the_same_tokens(stored_token):
    out = io.StringIO()
    call_command("dumpdata", "accounts.discordtoken", stdout=out)
    DiscordToken.objects.all().delete()

    for obj in serializers.deserialize("json", out.getvalue()):
        obj.save()
    reloaded = DiscordToken.objects.get()
    assert (reloaded.access_token_encrypted, reloaded.refresh_token_encrypted) == (ACCESS, REFRESH)


def test_a_token_under_an_unknown_key_raises_instead_of_returning_ciphertext(stored_token, settings):
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.TokenDecryptionError, match="cannot be decrypted"):
        DiscordToken.objects.get(pk=stored_token.pk)


def test_rotate_token_key_reencrypts_every_row_under_the_first_key(stored_token, settings, token_key):
    new_key = Fernet.generate_key().decode()
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = [new_key, token_key]
    before = raw_rows()
    out = io.StringIO()

    call_command("rotate_token_key", stdout=out)

    assert "Re-encrypted 1 Discord token row(s)" in out.getvalue()
    event = AuditEvent.objects.get(action="token_key.rotated")
    assert (event.source, event.actor, event.data["rows"]) == ("cli", None, 1)
    assert event.data["operator"] == getpass.getuser()
    after = raw_rows()
    assert after != before
    only_new = Fernet(new_key.encode())
    assert [only_new.decrypt(value.encode()).decode() for value in after[0]] == [ACCESS, REFRESH]
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = [new_key]
    assert DiscordToken.objects.get().access_token_encrypted == ACCESS


def test_rotate_token_key_changes_nothing_when_a_row_opens_under_no_key(stored_token, settings):
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    before = raw_rows()
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("rotate_token_key", stdout=io.StringIO())
    assert raw_rows() == before
    assert not AuditEvent.objects.filter(action="token_key.rotated").exists()


def test_production_without_a_key_fails_the_system_check_and_refuses_to_store_tokens(settings):
    settings.DEBUG = False
    settings.DISCORD_CLIENT_ID = "123"
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = []
    errors = check_token_encryption_key(None)
    assert [type(e) for e in errors] == [Error] and errors[0].id == "accounts.E001"
    with pytest.raises(crypto.TokenKeyMissing):
        crypto.encrypt("token")


def test_a_malformed_key_fails_the_system_check(settings):
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = ["not-a-fernet-key"]
    errors = check_token_encryption_key(None)
    assert errors and errors[0].id == "accounts.E002"


def test_debug_without_a_key_derives_one_from_the_secret_key_with_a_warning(settings):
    settings.DEBUG = True
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = []
    settings.SECRET_KEY = "another-secret-for-this-test"
    with pytest.warns(RuntimeWarning, match="derived"):
        ciphertext = crypto.encrypt("token")
    assert (
        Fernet(crypto.derived_development_key(settings.SECRET_KEY)).decrypt(ciphertext.encode()) == b"token"
    )
