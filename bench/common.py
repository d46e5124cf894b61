"""What the benchmarks share: Django set-up, a scratch PostgreSQL database, latency lines.

Import it before anything from Django (it puts the project on sys.path); create the
`ScratchDatabase` first if the bench wants one (it points DATABASE_URL at it), then call
`setup_django()`, and only then import Django and the apps.
"""

import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(**env_defaults: str) -> None:
    """Set Django up: project settings, DEBUG on and `env_defaults`, unless the environment says otherwise."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealscale.settings")
    os.environ.setdefault("DEBUG", "true")
    for name, value in env_defaults.items():
        os.environ.setdefault(name, value)

    import django

    django.setup()


class ScratchDatabase:
    """A database beside the one DATABASE_URL names, for rows a bench cannot delete (the ledger's).

    Creating the object points DATABASE_URL at the scratch database, so do it before `setup_django()`;
    `created()` creates it for the duration of a `with` block and drops it afterwards.
    """

    def __init__(self, prefix: str) -> None:
        base_url = os.environ.get("DATABASE_URL", "")
        if not base_url.startswith("postgres"):
            sys.exit(
                "Set DATABASE_URL to a PostgreSQL database: the bench creates a scratch database beside it."
            )
        self.name = f"{prefix}_{os.getpid()}"
        parts = urlsplit(base_url)
        self._admin_dsn = urlunsplit(parts._replace(path="/postgres"))
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{self.name}"))

    @contextmanager
    def created(self) -> Iterator["ScratchDatabase"]:
        import psycopg
        from django.db import connections

        with psycopg.connect(self._admin_dsn, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        try:
            yield self
        finally:
            connections.close_all()
            with psycopg.connect(self._admin_dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency_line(name: str, seconds: list[float], *, name_width: int = 26) -> str:
    """`name n=… p50=… p95=… max=…` in milliseconds, for samples taken in seconds."""
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<{name_width}} n={len(ms):<5} p50={statistics.median(ms):7.1f} ms  "
        f"p95={percentile(ms, 0.95):7.1f} ms  max={max(ms):7.1f} ms"
    )
