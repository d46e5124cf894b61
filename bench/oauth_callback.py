"""Benchmark of the Discord OAuth callback through allauth's real views, against the fake Discord.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        DEBUG=true python bench/oauth_callback.py [--rounds 200]

Each round starts a login (POST /accounts/discord/login/), lets the fake Discord on 127.0.0.1
consent and redirect, then times only the callback request: state check, code exchange and
profile fetch over loopback HTTP, user lookup or creation, token encryption, login. Half the
rounds are first sign-ins (a user is created), half are returning members. The database is
migrated, then every round runs inside one transaction rolled back at the end: no rows are left.
Target: p95 <= 100 ms.
"""

import argparse
import time
from urllib.parse import urlsplit

from common import latency_line, percentile, setup_django

# Request logs to the console would be part of the measure; the bench prints its own figures.
setup_django(LOG_LEVEL="WARNING")

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from waffle.models import Flag  # noqa: E402

from accounts.models import DiscordToken  # noqa: E402
from accounts.selectors import DISCORD_INTEGRATION_FLAG  # noqa: E402
from discord_sandbox import APPLICATION_ID, CLIENT_SECRET, FakeDiscordServer  # noqa: E402


class Rollback(Exception):
    pass


def configure(server: FakeDiscordServer) -> None:
    settings.DISCORD_API_BASE_URL = server.base_url
    settings.DISCORD_CLIENT_ID = APPLICATION_ID
    settings.DISCORD_CLIENT_SECRET = CLIENT_SECRET
    settings.DISCORD_REDIRECT_URI = ""
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.SOCIALACCOUNT_PROVIDERS = {
        "discord": {
            **settings.SOCIALACCOUNT_PROVIDERS["discord"],
            "APPS": [{"client_id": APPLICATION_ID, "secret": CLIENT_SECRET, "key": ""}],
        }
    }
    settings.ALLOWED_HOSTS = ["testserver"]
    flag, _ = Flag.objects.get_or_create(name=DISCORD_INTEGRATION_FLAG)
    flag.everyone = True
    flag.save()
    flag.flush()


def one_round(server: FakeDiscordServer, discord_id: str) -> float:
    """One full login; returns the seconds spent in the callback request alone."""
    client = Client()
    server.state.oauth_consent_user_id = discord_id
    start = client.post("/accounts/discord/login/", {"process": "login"})
    assert start.status_code == 302, start.status_code
    consent = requests.get(start["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(consent.headers["Location"])
    began = time.perf_counter()
    response = client.get(f"{callback.path}?{callback.query}")
    elapsed = time.perf_counter() - began
    assert response.status_code == 302 and response["Location"] == "/profile/", response.status_code
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    setup_test_environment()
    call_command("migrate", verbosity=0)
    server = FakeDiscordServer().start()
    first, returning = [], []
    try:
        with transaction.atomic():
            configure(server)
            half = max(1, args.rounds // 2)
            members = [server.state.add_user(username=f"bench{n}")["id"] for n in range(half)]
            for discord_id in members:  # first sign-in: creates the account
                first.append(one_round(server, discord_id))
            for n in range(args.rounds - half):  # returning member: lookup, token update
                returning.append(one_round(server, members[n % half]))
            assert DiscordToken.objects.filter(social_account__uid__in=members).count() == half
            raise Rollback
    except Rollback:
        pass
    finally:
        server.stop()

    print(
        f"OAuth callback against the fake Discord at {server.origin} ({settings.DATABASES['default']['ENGINE']})"
    )
    print(latency_line("first sign-in", first, name_width=22))
    print(latency_line("returning member", returning, name_width=22))
    print(latency_line("all callbacks", first + returning, name_width=22))
    p95 = percentile([s * 1000 for s in first + returning], 0.95)
    print(f"target p95 <= 100 ms: {'met' if p95 <= 100 else 'NOT met'} ({p95:.1f} ms)")


if __name__ == "__main__":
    main()
