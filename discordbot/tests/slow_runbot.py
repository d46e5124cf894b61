"""`manage.py runbot` with some functions slowed past Discord's 3-second deadline (test_e2e_runbot).

Run as `python -m discordbot.tests.slow_runbot [runbot options]` with SLOWED (comma-separated
`module:function` names) and SLOWED_SECONDS in the environment. Each named function sleeps, runs, and when
it returns tells the fake Discord with a `GET /gateway` carrying an `X-Slowed: <name>` header: the fake's
request log then shows what the bot sent before the slow work was over, with no clock in the test.
The functions are replaced on their module, so callers that look them up at call time get the slow one.
"""

import functools
import importlib
import os
import sys
import time

import requests

MARKER_HEADER = "X-Slowed"


def slowed(function, name: str):
    @functools.wraps(function)
    def slow(*args, **kwargs):
        time.sleep(float(os.environ["SLOWED_SECONDS"]))
        try:
            return function(*args, **kwargs)
        finally:
            requests.get(
                f"{os.environ['DISCORD_API_BASE_URL']}/gateway", headers={MARKER_HEADER: name}, timeout=5
            )

    return slow


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealscale.settings")
    import django

    django.setup()
    for name in os.environ["SLOWED"].split(","):
        module_name, _, attribute = name.partition(":")
        module = importlib.import_module(module_name)
        setattr(module, attribute, slowed(getattr(module, attribute), name))

    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", "runbot", *sys.argv[1:]])


if __name__ == "__main__":
    main()
