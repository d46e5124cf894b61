"""Settings of the benchmarks' processes: the project's settings plus a bench-only URL (a bare view).

Every process of bench/mixed_load.py uses them (web, workers, beat, bot shards), so the sandbox check is
silenced too: their Discord is the fake on 127.0.0.1 by design, with DEBUG off as in production.
"""

from dealscale.settings import *  # noqa: F403

ROOT_URLCONF = "leaderboard_bench_urls"
SILENCED_SYSTEM_CHECKS = ["dealscale.E001"]
