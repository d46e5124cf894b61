"""Discord's permission arithmetic: a member's permissions in the guild and in one channel.

Implements the algorithm of Discord's docs (``developers/topics/permissions.mdx``, "Permission Overwrites"):
the guild owner and ADMINISTRATOR have everything; otherwise @everyone's permissions OR the member's
roles', then the channel's @everyone overwrite, the member's role overwrites (all denies, then all
allows) and the member's own overwrite. Permissions travel as decimal strings (API v8+).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
ADMINISTRATOR = 1 << 3
MANAGE_ROLES = 1 << 28
# Every bit defined today and any Discord adds later: what the owner and administrators hold.
ALL = (1 << 64) - 1

NAMES = {
    ADMINISTRATOR: "Administrator",
    VIEW_CHANNEL: "View Channel",
    SEND_MESSAGES: "Send Messages",
    EMBED_LINKS: "Embed Links",
    READ_MESSAGE_HISTORY: "Read Message History",
    MANAGE_ROLES: "Manage Roles",
}


def _bits(value: Any) -> int:
    return int(value or 0)


def base_permissions(
    *,
    guild: Mapping[str, Any],
    roles: Iterable[Mapping[str, Any]],
    member_role_ids: Iterable[str],
    user_id: str,
) -> int:
    """The member's guild-level permissions (``compute_base_permissions`` in Discord's docs)."""
    if str(guild.get("owner_id")) == str(user_id):
        return ALL
    by_id = {str(role["id"]): role for role in roles}
    everyone = by_id.get(str(guild["id"]))
    permissions = _bits(everyone["permissions"]) if everyone else 0
    for role_id in member_role_ids:
        role = by_id.get(str(role_id))
        if role is not None:
            permissions |= _bits(role["permissions"])
    if permissions & ADMINISTRATOR:
        return ALL
    return permissions


def channel_permissions(
    base: int, *, channel: Mapping[str, Any], guild_id: str, member_role_ids: Iterable[str], user_id: str
) -> int:
    """The member's permissions in ``channel`` once its overwrites apply (``compute_overwrites``)."""
    if base & ADMINISTRATOR:
        return ALL
    overwrites = {str(o["id"]): o for o in channel.get("permission_overwrites") or []}
    permissions = base
    everyone = overwrites.get(str(guild_id))
    if everyone:
        permissions &= ~_bits(everyone.get("deny"))
        permissions |= _bits(everyone.get("allow"))
    allow = deny = 0
    for role_id in member_role_ids:
        overwrite = overwrites.get(str(role_id))
        if overwrite:
            allow |= _bits(overwrite.get("allow"))
            deny |= _bits(overwrite.get("deny"))
    permissions &= ~deny
    permissions |= allow
    member = overwrites.get(str(user_id))
    if member:
        permissions &= ~_bits(member.get("deny"))
        permissions |= _bits(member.get("allow"))
    return permissions


def effective_in_text_channel(permissions: int) -> int:
    """What the member can actually do in a text channel: Discord's implicit denials applied.

    Without View Channel nothing else counts; without Send Messages neither do Embed Links
    (``permissions.mdx``, "Implicit Permissions").
    """
    if not permissions & VIEW_CHANNEL:
        return 0
    if not permissions & SEND_MESSAGES:
        permissions &= ~EMBED_LINKS
    return permissions


def missing(permissions: int, wanted: int) -> list[str]:
    """The names of the bits of ``wanted`` that ``permissions`` lacks, lowest bit first."""
    return [
        NAMES.get(1 << bit, f"1 << {bit}")
        for bit in range(64)
        if wanted >> bit & 1 and not permissions >> bit & 1
    ]
