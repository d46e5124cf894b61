"""``python -m discord_sandbox [--port 8001] [--seed FILE]``: run the Discord sandbox in the foreground.

It serves Discord's REST API under ``/api/v10``, the gateway, the OAuth consent page and the guild view on
127.0.0.1 only, and refuses to start unless ``DEBUG`` is on: it is a development tool, never a Discord for
production. See docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import os
import sys

from discord_sandbox.community import InvalidSeed, load_seed, seed_community
from discord_sandbox.sandbox import SandboxServer

# django-environ's spelling of a true boolean, so DEBUG means here what it means to the project's settings.
TRUE_VALUES = {"true", "on", "ok", "y", "yes", "1"}
EXIT_REFUSED = 2


def debug_is_on(environ: dict[str, str]) -> bool:
    return environ.get("DEBUG", "").strip().lower() in TRUE_VALUES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m discord_sandbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (default: 8001)")
    parser.add_argument(
        "--seed", help="community seed file (JSON; manage.py seed_demo --discord-sandbox-seed)"
    )
    args = parser.parse_args(argv)
    if not debug_is_on(dict(os.environ)):
        print(
            "The Discord sandbox refuses to start: DEBUG is off. It stands in for Discord during development "
            "only (make run sets DEBUG=true); production talks to discord.com.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    server = SandboxServer()
    if args.seed:
        try:
            seed_community(server.state, load_seed(args.seed))
        except InvalidSeed as problem:
            print(f"The Discord sandbox cannot load its seed: {problem}", file=sys.stderr)
            return EXIT_REFUSED
    with server.state.lock:
        people = sum(1 for u in server.state.users.values() if not u["bot"])
    print(
        f"Discord sandbox on http://127.0.0.1:{args.port}/ (API /api/v10, gateway /gateway-ws), "
        f"{people} users",
        flush=True,
    )
    server.serve(port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
