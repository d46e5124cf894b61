"""Discord's permission arithmetic (discord_rest.permissions), case by case of developers/topics/permissions.mdx."""

from discord_rest import permissions as p

GUILD = {"id": "1", "owner_id": "99"}
EVERYONE = {"id": "1", "permissions": str(p.VIEW_CHANNEL | p.SEND_MESSAGES)}
MODS = {"id": "2", "permissions": str(p.EMBED_LINKS)}
ADMINS = {"id": "3", "permissions": str(p.ADMINISTRATOR)}
ROLES = [EVERYONE, MODS, ADMINS]
BOT = "50"


def base(*role_ids: str, user_id: str = BOT) -> int:
    return p.base_permissions(guild=GUILD, roles=ROLES, member_role_ids=role_ids, user_id=user_id)


def in_channel(overwrites: list[dict], *role_ids: str) -> int:
    channel = {"id": "7", "permission_overwrites": overwrites}
    return p.channel_permissions(
        base(*role_ids), channel=channel, guild_id="1", member_role_ids=role_ids, user_id=BOT
    )


def overwrite(target: str, *, allow: int = 0, deny: int = 0, kind: int = 0) -> dict:
    return {"id": target, "type": kind, "allow": str(allow), "deny": str(deny)}


def test_base_permissions_are_everyone_s_or_the_member_s_roles():
    assert base() == p.VIEW_CHANNEL | p.SEND_MESSAGES
    assert base("2") == p.VIEW_CHANNEL | p.SEND_MESSAGES | p.EMBED_LINKS


def test_the_owner_and_administrators_have_everything():
    assert base(user_id="99") == p.ALL
    assert base("3") == p.ALL
    assert in_channel([overwrite("1", deny=p.VIEW_CHANNEL)], "3") == p.ALL


def test_role_overwrites_apply_after_everyone_s_and_allows_win_over_denies_among_roles():
    everyone_denies = overwrite("1", deny=p.SEND_MESSAGES)
    assert not in_channel([everyone_denies], "2") & p.SEND_MESSAGES
    mods_allow = overwrite("2", allow=p.SEND_MESSAGES)
    assert in_channel([everyone_denies, mods_allow], "2") & p.SEND_MESSAGES
    other_role_denies = overwrite("4", deny=p.SEND_MESSAGES)
    assert in_channel([mods_allow, other_role_denies], "2", "4") & p.SEND_MESSAGES


def test_the_member_s_own_overwrite_comes_last():
    mods_allow = overwrite("2", allow=p.SEND_MESSAGES)
    member_denies = overwrite(BOT, deny=p.SEND_MESSAGES, kind=1)
    assert not in_channel([mods_allow, member_denies], "2") & p.SEND_MESSAGES


def test_without_view_channel_nothing_counts_and_without_send_messages_no_embeds():
    assert p.effective_in_text_channel(p.SEND_MESSAGES | p.EMBED_LINKS) == 0
    assert p.effective_in_text_channel(p.VIEW_CHANNEL | p.EMBED_LINKS) == p.VIEW_CHANNEL


def test_missing_names_the_lacking_permissions():
    wanted = p.VIEW_CHANNEL | p.SEND_MESSAGES | p.EMBED_LINKS
    assert p.missing(p.VIEW_CHANNEL, wanted) == ["Send Messages", "Embed Links"]
    assert p.missing(wanted, wanted) == []
