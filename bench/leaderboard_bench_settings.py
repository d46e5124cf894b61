"""Settings of the API benchmark only: the project's settings plus a bench-only URL (a bare view)."""

from dealscale.settings import *  # noqa: F403

ROOT_URLCONF = "leaderboard_bench_urls"
