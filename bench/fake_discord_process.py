"""The fake Discord (discord_sandbox) in a process of its own, for the scale-out run of bench/mixed_load.py.

    python bench/fake_discord_process.py --users-file <discord ids, one a line>

Prints one JSON line with its addresses, then obeys JSON lines on stdin, answering each with one line:
- {"cmd": "wait_shards", "count": 2, "timeout": 60}: until `count` gateway sessions are READY;
- {"cmd": "interactions", "rate": 8, "seconds": 30, "names": ["credits", ...]}: push slash commands of
  random members at that rate, in the background, each to the one session whose shard owns it (guild
  interactions: (guild_id >> 22) % shard count, as Discord routes them; the fake itself would send
  every dispatch to every session);
- {"cmd": "stats"}: what Discord saw (below), and each command's time from its dispatch to its answer (the
  interaction callback, or after a deferral the edit of the original response); {"cmd": "stop"}: exit.

Discord's global limit is per bot token and counts every request except interaction callbacks and
webhooks (the routes the sandbox marks `global_exempt`); the fake answers 429 past `global_limit`
(50) per wall-clock second. "stats" counts the bot's counted requests per wall-clock second, so the
bench can show that the processes sharing one governor never went over the limit.
"""

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from discord_sandbox import BOT_TOKEN, GUILD_ID, FakeDiscordServer  # noqa: E402
from discord_sandbox.routes import ROUTES  # noqa: E402

EXEMPT = {spec.template for spec in ROUTES if spec.global_exempt}
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
WEBHOOK = "/webhooks/{webhook_id}/{webhook_token}"
DEFERRED = 5
# A second guild, on the other shard of two: (id >> 22) % 2 differs from GUILD_ID's.
SECOND_GUILD_ID = str(int(GUILD_ID) + (1 << 22))


class Sandbox:
    def __init__(self, discord_ids: list[str]) -> None:
        self.server = FakeDiscordServer().start()
        state = self.server.state
        self.discord_ids = discord_ids
        for discord_id in discord_ids:
            state.add_user(discord_id, username=f"member{discord_id[-6:]}")
        state.add_guild(SECOND_GUILD_ID, name="Second")
        state.add_member(SECOND_GUILD_ID, state.bot_user["id"])
        self.guild_ids = [GUILD_ID, SECOND_GUILD_ID]
        self.moderation_channel = state.add_channel(GUILD_ID, name="moderation")["id"]
        self.pushed: list[tuple[str, float, int]] = []  # (token, pushed at, shard)
        self.push_errors = 0

    def sessions_by_shard(self) -> dict[int, object]:
        sessions = {}
        for session in list(self.server.gateway.sessions.values()):
            shard = session.identify.get("shard") or [0, 1]
            if session.ws is not None and not session.ws.closed:
                sessions[shard[0]] = (session, shard[1])
        return sessions

    def wait_shards(self, count: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while len(self.sessions_by_shard()) < count:
            if time.monotonic() > deadline:
                return {"ok": False, "shards": sorted(self.sessions_by_shard())}
            time.sleep(0.1)
        return {"ok": True, "shards": sorted(self.sessions_by_shard())}

    def push(self, name: str) -> None:
        sessions = self.sessions_by_shard()
        guild_id = random.choice(self.guild_ids)
        shard_count = next(iter(sessions.values()))[1]
        shard = (int(guild_id) >> 22) % shard_count
        session = sessions[shard][0]
        user_id = random.choice(self.discord_ids)
        data = {"id": self.server.state.snowflake(), "name": name, "type": 1, "guild_id": guild_id}
        payload = self.server.state.create_interaction(
            name=name, user_id=user_id, guild_id=guild_id, data=data
        )
        pushed_at = time.time()
        self.server.call(self.server.gateway._send_dispatch(session, "INTERACTION_CREATE", payload))
        self.pushed.append((payload["token"], pushed_at, shard))

    def push_for(self, *, rate: float, seconds: float, names: list[str]) -> None:
        def run() -> None:
            started = time.monotonic()
            sent = 0
            while (elapsed := time.monotonic() - started) < seconds:
                if sent < elapsed * rate:
                    try:
                        self.push(names[sent % len(names)])
                    except Exception:  # noqa: BLE001  (a bench counts its failures and goes on)
                        self.push_errors += 1
                    sent += 1
                else:
                    time.sleep(min(0.01, 1 / rate))

        threading.Thread(target=run, daemon=True).start()

    def stats(self) -> dict:
        state = self.server.state
        with state.lock:
            requests = list(state.requests)
            global_429s = state.ratelimit_hits.get("global", 0)
        bot = f"Bot {BOT_TOKEN}"
        per_second: Counter[int] = Counter()
        routes: Counter[str] = Counter()
        callbacks: dict[str, tuple[float, int]] = {}  # token -> (time, callback type)
        followups: dict[str, float] = {}  # token -> time of the first answer through the webhook
        for request in requests:
            routes[f"{request.method} {request.route} {request.status}"] += 1
            if request.route == CALLBACK:
                token = request.path.rsplit("/", 2)[-2]
                callbacks.setdefault(token, (request.time, (request.json or {}).get("type", 0)))
            elif request.route.startswith(WEBHOOK) and request.method in ("POST", "PATCH"):
                followups.setdefault(
                    request.path.split("/")[-1 if request.route == WEBHOOK else -3], request.time
                )
            elif request.route not in EXEMPT and request.headers.get("Authorization") == bot:
                per_second[int(request.time)] += 1
        latencies, acknowledged, answered_twice, unanswered = [], [], 0, 0
        by_shard: Counter[int] = Counter()
        for token, pushed_at, shard in self.pushed:
            found = callbacks.get(token)
            # A deferred callback (type 5) only acknowledges: the answer is the edit that follows it.
            answered_at = followups.get(token) if found and found[1] == DEFERRED else (found or (None,))[0]
            if answered_at is None:
                unanswered += 1
                continue
            by_shard[shard] += 1
            latencies.append(answered_at - pushed_at)
            acknowledged.append(found[0] - pushed_at)
        answered_twice = sum(
            1
            for request in requests
            if request.route == CALLBACK and request.status and request.status >= 400
        )
        return {
            "global_limit": state.global_limit,
            "counted_per_second": sorted(per_second.items()),
            "global_429s": global_429s,
            "routes": dict(routes.most_common()),
            "interactions": {
                "pushed": len(self.pushed),
                "push_errors": self.push_errors,
                "answered_by_shard": dict(by_shard),
                "unanswered": unanswered,
                "refused_callbacks": answered_twice,
                "latencies": latencies,
                "acknowledged": acknowledged,
            },
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users-file", required=True)
    parser.add_argument("--global-limit", type=int, default=50, help="requests per second per bot token")
    args = parser.parse_args()
    discord_ids = Path(args.users_file).read_text().split()
    sandbox = Sandbox(discord_ids)
    sandbox.server.state.global_limit = args.global_limit
    hello = {
        "base_url": sandbox.server.base_url,
        "moderation_channel_id": sandbox.moderation_channel,
        "guild_ids": sandbox.guild_ids,
    }
    print(json.dumps(hello), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        name = command["cmd"]
        if name == "wait_shards":
            answer = sandbox.wait_shards(command["count"], command.get("timeout", 60))
        elif name == "interactions":
            sandbox.push_for(rate=command["rate"], seconds=command["seconds"], names=command["names"])
            answer = {"ok": True}
        elif name == "stats":
            answer = sandbox.stats()
        elif name == "stop":
            break
        else:
            answer = {"error": f"unknown command {name}"}
        print(json.dumps(answer), flush=True)
    sandbox.server.stop()


if __name__ == "__main__":
    main()
