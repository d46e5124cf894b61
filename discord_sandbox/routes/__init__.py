"""The fake's REST routes, one module per Discord resource; importing this package registers them all.

Each module adds its routes to ``discord_sandbox.routing.ROUTES`` as it is imported; the server mounts
``ROUTES`` from here so that no module can be left out.
"""

from discord_sandbox.routes import (
    applications,
    channels,
    commands,
    gateway,
    guilds,
    interactions,
    oauth,
    role_connections,
    users,
)
from discord_sandbox.routing import ROUTES

__all__ = [
    "ROUTES",
    "applications",
    "channels",
    "commands",
    "gateway",
    "guilds",
    "interactions",
    "oauth",
    "role_connections",
    "users",
]
