"""Benchmark of the Discord client and its rate-limit governor against the fake Discord; prints figures.

    REDIS_URL=redis://127.0.0.1:6379/<n> DEBUG=true python bench/discord_governor.py [--requests 3000]

Governor state goes to the Redis database given (its keys are deleted at the end).

Figures:
1. Governor cost per request (one reserve + one learn), on Redis (Lua) and in memory.
2. Client throughput against the fake with no limit binding: requests/s, one thread.
3. The global limit shared by two governor instances (two processes' worth) on one Redis, 4 threads each,
   every request to its own channel so only the global limit binds: achieved rate vs the limit, 429s.
4. One route bucket (5 per 0.5 s) hammered by 8 threads: achieved rate vs 10/s, 429s.
"""

import argparse
import sys
import threading
import time

from common import setup_django

setup_django()

from django.conf import settings  # noqa: E402

from dealscale.redis_client import get_redis  # noqa: E402
from discord_rest.client import DiscordClient  # noqa: E402
from discord_rest.ratelimit import Governor, MemoryStore, RedisStore, route_key  # noqa: E402
from discord_sandbox import APPLICATION_ID, BOT_TOKEN, CLIENT_SECRET, GUILD_ID, FakeDiscordServer  # noqa: E402


def governor_cost(store, count: int) -> float:
    governor = Governor(store, global_limit=10**9)
    route = route_key("GET", f"/guilds/{GUILD_ID}/roles")
    headers = {
        "X-RateLimit-Limit": str(10**9),
        "X-RateLimit-Remaining": str(10**9),
        "X-RateLimit-Reset-After": "60",
        "X-RateLimit-Bucket": "bench",
    }
    started = time.perf_counter()
    for _ in range(count):
        governor.acquire(route, identity="bot:bench")
        governor.record_response(route, identity="bot:bench", status=200, headers=headers)
    return (time.perf_counter() - started) / count * 1e6


def threaded(workers: int, work) -> float:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    redis = get_redis()
    if redis is None:
        sys.exit("Set REDIS_URL: the governor is shared through Redis.")

    print("1. governor cost per request (reserve + learn)")
    print(f"   redis : {governor_cost(RedisStore(redis, prefix='bench:rl'), args.requests):7.1f} µs")
    print(f"   memory: {governor_cost(MemoryStore(), args.requests):7.1f} µs")

    server = FakeDiscordServer().start()
    fake = server.state
    settings.DISCORD_API_BASE_URL = server.base_url
    settings.DISCORD_BOT_TOKEN = BOT_TOKEN
    settings.DISCORD_CLIENT_ID, settings.DISCORD_CLIENT_SECRET = APPLICATION_ID, CLIENT_SECRET
    try:
        fake.global_limit = 10**6
        fake.set_rate_limit("GET", "/guilds/{guild_id}/roles", limit=10**6, window=60)
        client = DiscordClient(governor=Governor(RedisStore(redis, prefix="bench:rl2"), global_limit=10**6))
        count = min(args.requests, 500)
        started = time.perf_counter()
        for _ in range(count):
            client.get_guild_roles(GUILD_ID)
        elapsed = time.perf_counter() - started
        print(
            f"2. client, one thread, no limit binding: {count / elapsed:6.0f} requests/s "
            f"({elapsed / count * 1000:.2f} ms each)"
        )

        server.reset()
        limit = settings.DISCORD_GLOBAL_RATE_LIMIT
        fake.global_limit = limit
        channels = [fake.add_channel(name=f"c{i}")["id"] for i in range(200)]
        governors = [Governor(RedisStore(redis, prefix="bench:rl3")) for _ in range(2)]

        def send(index: int) -> None:
            sender = DiscordClient(governor=governors[index % 2])
            for n in range(25):
                sender.send_message(channels[index * 25 + n], content="bench")

        elapsed = threaded(8, send)
        per_second: dict[int, int] = {}
        for request in fake.requests:
            per_second[int(request.time)] = per_second.get(int(request.time), 0) + 1
        print(
            f"3. global limit {limit}/s, 2 governors x 4 threads, 200 messages in {elapsed:.2f} s: "
            f"busiest wall-clock second {max(per_second.values())} requests, "
            f"global 429s: {fake.ratelimit_hits.get('global', 0)}"
        )

        server.reset()
        fake.set_rate_limit("GET", "/guilds/{guild_id}/roles", limit=5, window=0.5, bucket="bench")
        bucket_governor = Governor(RedisStore(redis, prefix="bench:rl4"))

        def read(index: int) -> None:
            reader = DiscordClient(governor=bucket_governor)
            for _ in range(8):
                reader.get_guild_roles(GUILD_ID)

        elapsed = threaded(8, read)
        print(
            f"4. one bucket of 5 per 0.5 s, 8 threads, 64 requests: {64 / elapsed:5.1f} requests/s (limit 10/s), "
            f"429s: {fake.ratelimit_hits.get('bench', 0)}"
        )
    finally:
        server.stop()
        for key in redis.scan_iter("bench:rl*"):
            redis.delete(key)


if __name__ == "__main__":
    main()
