"""Discord's size limits on what the bot sends, and the one way to make text fit them.

Discord answers 400 (code 50035) to a message that breaks any of these, so a long member name or reason
would lose the whole answer. Every embed builder passes its embed through `fit_embed`; text that must
not be shortened silently (an announcement) is measured with `length` and refused before sending.

Sources (discord/discord-api-docs): docs/resources/message.mdx "Embed Limits" (title 256, description
4096, up to 25 fields, field name 256, field value 1024, footer text 2048, author name 256, and 6000 for
all of them together across the message's embeds) and "Create Message" (content up to 2000 characters);
docs/interactions/receiving-and-responding.mdx "Modal" (title up to 45 characters).
"""

from typing import Any, cast

import nextcord

CONTENT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER_TEXT = 2048
EMBED_AUTHOR_NAME = 256
EMBED_TOTAL = 6000
MODAL_TITLE = 45

# A member's name inside a list line (leaderboard rows): short enough that 25 rows always fit the
# description, long enough for any Discord name (32) and most site names (usernames go up to 150).
NAME_IN_LIST = 100

ELLIPSIS = "…"
# Discord refuses an embed field whose name or value is empty.
EMPTY_FIELD = "—"


def length(text: str) -> int:
    """The length of `text` as Discord's limits count it: in code points, as Python counts a str.

    (Discord's API is Python: discord-api-docs issue 1315, "the API calculates length based on the number
    of codepoints"; an emoji is one, however many UTF-16 units or UTF-8 bytes it takes.)
    """
    return len(text)


def truncate(text: str, limit: int) -> str:
    """`text` if it fits in `limit`, else its start and an ellipsis, `limit` long at most."""
    if length(text) <= limit:
        return text
    return text[: limit - length(ELLIPSIS)].rstrip() + ELLIPSIS


def embed_size(embed: dict[str, Any]) -> int:
    """What the embed counts towards the 6000-character total (title, description, fields, footer, author)."""
    total = length(embed.get("title") or "") + length(embed.get("description") or "")
    for field in embed.get("fields") or []:
        total += length(field.get("name") or "") + length(field.get("value") or "")
    total += length((embed.get("footer") or {}).get("text") or "")
    total += length((embed.get("author") or {}).get("name") or "")
    return total


def embed_problems(embed: dict[str, Any]) -> list[str]:
    """Every limit `embed` (Discord's JSON shape) breaks, in words; empty when Discord would accept it."""
    problems = []
    for name, value, limit in (
        ("title", embed.get("title"), EMBED_TITLE),
        ("description", embed.get("description"), EMBED_DESCRIPTION),
        ("footer.text", (embed.get("footer") or {}).get("text"), EMBED_FOOTER_TEXT),
        ("author.name", (embed.get("author") or {}).get("name"), EMBED_AUTHOR_NAME),
    ):
        if value is not None and length(value) > limit:
            problems.append(f"{name} is {length(value)} characters (at most {limit})")
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS:
        problems.append(f"{len(fields)} fields (at most {EMBED_FIELDS})")
    for index, field in enumerate(fields):
        for part, limit in (("name", EMBED_FIELD_NAME), ("value", EMBED_FIELD_VALUE)):
            value = field.get(part) or ""
            if not value:
                problems.append(f"fields[{index}].{part} is empty")
            elif length(value) > limit:
                problems.append(f"fields[{index}].{part} is {length(value)} characters (at most {limit})")
    if embed_size(embed) > EMBED_TOTAL:
        problems.append(f"the embed totals {embed_size(embed)} characters (at most {EMBED_TOTAL})")
    return problems


def fit_embed(embed: nextcord.Embed) -> nextcord.Embed:
    """`embed` cut to Discord's limits: each part truncated with an ellipsis, then the longest parts
    shortened until the whole is within 6000 characters. An embed that already fits is unchanged."""
    data = cast(dict[str, Any], embed.to_dict())
    if not embed_problems(data):
        return embed
    if data.get("title"):
        data["title"] = truncate(data["title"], EMBED_TITLE)
    if data.get("description"):
        data["description"] = truncate(data["description"], EMBED_DESCRIPTION)
    if footer := data.get("footer"):
        footer["text"] = truncate(footer.get("text") or "", EMBED_FOOTER_TEXT)
    if author := data.get("author"):
        author["name"] = truncate(author.get("name") or "", EMBED_AUTHOR_NAME)
    fields = (data.get("fields") or [])[:EMBED_FIELDS]
    for field in fields:
        field["name"] = truncate(field.get("name") or EMPTY_FIELD, EMBED_FIELD_NAME)
        field["value"] = truncate(field.get("value") or EMPTY_FIELD, EMBED_FIELD_VALUE)
    if fields:
        data["fields"] = fields
    _shrink_to_total(data)
    return nextcord.Embed.from_dict(data)


def _shrink_to_total(data: dict[str, Any]) -> None:
    # The longest part gives way first: in practice the description or a field value, which carry the
    # member data, while titles and field names stay readable. Every part keeps at least the ellipsis,
    # and 25 fields of one character each are far below the total, so the loop ends.
    while (excess := embed_size(data) - EMBED_TOTAL) > 0:
        parts: list[tuple[dict[str, Any], str]] = [(data, "title"), (data, "description")]
        parts += [(field, key) for field in data.get("fields") or [] for key in ("name", "value")]
        parts += [(data["footer"], "text")] if data.get("footer") else []
        parts += [(data["author"], "name")] if data.get("author") else []
        holder, key = max((part for part in parts if part[0].get(part[1])), key=lambda p: length(p[0][p[1]]))
        current = holder[key]
        holder[key] = truncate(current, max(length(ELLIPSIS), length(current) - excess))
