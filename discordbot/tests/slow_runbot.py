"""`manage.py runbot` with some functions slowed past Discord's 3-second deadline (test_e2e_runbot).

Run as `python -m discordbot.tests.slow_runbot [runbot options]` with SLOWED (comma-separated
`module:function` names) and SLOWED_SECONDS in the environment. Each named function sleeps, runs, and when
it returns tells the fake Discord with a `GET /gateway` carrying an `X-Slowed: <name>` header: the fake's
request log then shows what the bot sent before the slow work was over, with no clock in the test.
BROKEN names functions that raise RuntimeError instead of running (a bug behind the command; slowed too
when also in SLOWED). The functions are replaced on their module, so callers that look them up at call
time get the replacement.
"""

import functools
import importlib
import os
import sys
import time

import requests

MARKER_HEADER = "X-Slowed"


def broken(function, name: str):
    @functools.wraps(function)
    def fail(*args, **kwargs):
        raise RuntimeError(f"{name} broken by slow_runbot")

    return fail


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
    for variable, replacement in (("BROKEN", broken), ("SLOWED", slowed)):
        for name in filter(None, os.environ.get(variable, "").split(",")):
            module_name, _, attribute = name.partition(":")
            module = importlib.import_module(module_name)
            setattr(module, attribute, replacement(getattr(module, attribute), name))

    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", "runbot", *sys.argv[1:]])


if __name__ == "__main__":
    main()
