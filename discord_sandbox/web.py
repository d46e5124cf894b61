"""The guild view: the sandbox's community in a browser, and the bot driven the way Discord drives it.

- ``/channels/{channel_id}``: the channels in a sidebar, the messages of one (embeds rendered, buttons
  clickable), the members with their roles, and a box that runs the registered slash commands as a member.
- ``/dms/{user_id}``: what the bot sent one member in their DMs.
- ``POST /_sandbox/commands``, ``/_sandbox/components``, ``/_sandbox/modals``: a slash command, a button
  click, a modal submit, each sent to the bot as a real INTERACTION_CREATE through the gateway (types 2, 3
  and 5; ``interactions/receiving-and-responding.mdx``). They answer with what the bot replied, once it has.
- ``GET /_sandbox/status``: whether a bot is connected and which commands are registered (for ``make run``).

Who the visitor acts as is a cookie shared with the consent page: whoever they authorized as, they are here.
The page refreshes its messages and members every 1.5 s, so role sync and DMs show up as they happen.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from discord_sandbox.html import attr, esc, markdown, page
from discord_sandbox.routes.oauth import VISITOR_COOKIE
from discord_sandbox.server import FakeDiscordServer
from discord_sandbox.state import DEFAULT_CHANNEL_ID, GUILD_ID, FakeDiscordState

SANDBOX_SERVER = web.AppKey("sandbox_server", FakeDiscordServer)
# Interactions started from the page, by token: who ran what, to label the bot's replies.
STARTED = web.AppKey("sandbox_interactions", dict)

EPHEMERAL = 1 << 6
# Discord gives the bot 3 s to answer; the page waits a little longer before it says nobody did.
RESPONSE_WAIT_SECONDS = 5.0
# DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE and DEFERRED_UPDATE_MESSAGE: the answer follows through the webhook.
DEFERRALS = (5, 6)
# The reply box waits this long for a deferred answer; later, the channel still shows it as it lands.
DEFERRED_ANSWER_WAIT_SECONDS = 15.0
APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT = 2, 3, 5
STRING, INTEGER, BOOLEAN, USER, NUMBER = 3, 4, 5, 6, 10
BUTTON, LINK_STYLE = 2, 5


def add_guild_view(app: web.Application, server: FakeDiscordServer) -> None:
    app[SANDBOX_SERVER] = server
    app[STARTED] = {}
    app.router.add_get("/", index)
    app.router.add_get("/channels/{channel_id}", channel_view)
    app.router.add_get("/dms/{user_id}", dm_view)
    app.router.add_get("/_sandbox/status", status)
    app.router.add_post("/_sandbox/commands", run_command)
    app.router.add_post("/_sandbox/components", click_component)
    app.router.add_post("/_sandbox/modals", submit_modal)


def _server(request: web.Request) -> FakeDiscordServer:
    return request.app[SANDBOX_SERVER]


# --- pages ---------------------------------------------------------------------------------------------
async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound(f"/channels/{DEFAULT_CHANNEL_ID}")


async def channel_view(request: web.Request) -> web.Response:
    state = _server(request).state
    channel_id = request.match_info["channel_id"]
    with state.lock:
        channel = state.channels.get(channel_id)
        if channel is None or channel.get("guild_id") != GUILD_ID:
            raise web.HTTPNotFound(text="No such channel in the sandbox's guild.")
        return _guild_page(request, state, title=f"#{channel['name']}", channel_id=channel_id)


async def dm_view(request: web.Request) -> web.Response:
    state = _server(request).state
    user_id = request.match_info["user_id"]
    with state.lock:
        user = state.users.get(user_id)
        if user is None or user["bot"]:
            raise web.HTTPNotFound(text="No such user in the sandbox.")
        channel_id = state.dm_channels.get(user_id)
        return _guild_page(
            request,
            state,
            title=f"@{user['username']} — DMs from the bot",
            channel_id=channel_id,
            dm_user=user_id,
        )


def _acting_user_id(request: web.Request, state: FakeDiscordState) -> str | None:
    humans = _humans(state)
    chosen = request.cookies.get(VISITOR_COOKIE)
    if chosen in {u["id"] for u in humans}:
        return chosen
    return humans[0]["id"] if humans else None


def _humans(state: FakeDiscordState) -> list[dict]:
    members = state.members.get(GUILD_ID, {})
    return sorted(
        (m["user"] for m in members.values() if not m["user"]["bot"]), key=lambda u: u["username"].lower()
    )


def _guild_page(
    request: web.Request,
    state: FakeDiscordState,
    *,
    title: str,
    channel_id: str | None,
    dm_user: str | None = None,
) -> web.Response:
    acting = _acting_user_id(request, state)
    guild = state.guilds[GUILD_ID]
    names = {uid: u.get("global_name") or u["username"] for uid, u in state.users.items()}
    messages = state.sent_messages(channel_id) if channel_id else []
    started = _started_meta(request, state)
    rendered = "".join(_message(m, names=names, started=started) for m in messages) or (
        '<p class="muted">No messages yet.</p>'
    )
    composer = (
        _composer(state, acting=acting, channel_id=channel_id)
        if dm_user is None
        else '<div class="composer muted small">The bot’s DMs. Run commands from a server channel.</div>'
    )
    body = f"""
<div class="app" data-channel-id="{attr(channel_id or "")}">
  <nav class="sidebar" id="sidebar">{_sidebar(state, guild, current=dm_user or channel_id)}</nav>
  <section class="main">
    <header>{esc(title)}</header>
    <div class="messages" id="messages" aria-live="polite">{rendered}</div>
    {composer}
  </section>
  <aside class="members" id="members">{_members(state, acting=acting)}</aside>
</div>
<dialog id="modal"><form method="dialog" id="modal-form"></form></dialog>"""
    return page(f"{title} · {guild['name']} · Discord sandbox", body, script=SCRIPT)


def _sidebar(state: FakeDiscordState, guild: dict, *, current: str | None) -> str:
    channels = sorted(
        (c for c in state.channels.values() if c.get("guild_id") == GUILD_ID and c["type"] == 0),
        key=lambda c: c["position"],
    )
    links = "".join(
        f'<a href="/channels/{attr(c["id"])}"{" class=current" if c["id"] == current else ""}>'
        f"# {esc(c['name'])}</a>"
        for c in channels
    )
    dms = "".join(
        f'<a href="/dms/{attr(u["id"])}" data-dm-user="{attr(u["username"])}"'
        f"{' class=current' if u['id'] == current else ''}>@{esc(u['username'])}"
        f' <span class="muted small">{len(state.dms_to(u["id"])) or ""}</span></a>'
        for u in _humans(state)
    )
    return (
        f"<h2>{esc(guild['name'])}</h2><h3>Text channels</h3>{links}"
        f"<h3>Direct messages from the bot</h3>{dms}"
    )


def _members(state: FakeDiscordState, *, acting: str | None) -> str:
    roles = state.roles.get(GUILD_ID, {})
    members = sorted(
        state.members.get(GUILD_ID, {}).values(),
        key=lambda m: (not m["user"]["bot"], m["user"]["username"].lower()),
    )
    items = []
    for member in members:
        user = member["user"]
        held = sorted((roles[r] for r in member["roles"] if r in roles), key=lambda r: -r["position"])
        pills = "".join(
            f'<span class="role" data-role-id="{attr(r["id"])}" style="--role-color:#{r["color"]:06x}">'
            f"{esc(r['name'])}</span>"
            for r in held
        )
        you = ' <span class="muted small">(you)</span>' if user["id"] == acting else ""
        bot = ' <span class="bot-tag">BOT</span>' if user["bot"] else ""
        items.append(
            f'<li class="member" data-username="{attr(user["username"])}" data-user-id="{attr(user["id"])}">'
            f'<span class="name">{esc(user.get("global_name") or user["username"])}</span>{bot}{you}'
            f' <span class="muted small">@{esc(user["username"])}</span><div class="roles">{pills}</div>'
            f"{_role_connection(state, user['id'])}</li>"
        )
    return f'<h3>Members — {len(members)}</h3><ul style="list-style:none;padding:0;margin:0">{"".join(items)}</ul>'


def _role_connection(state: FakeDiscordState, user_id: str) -> str:
    """What the app pushed as the member's Linked Roles connection, as Discord shows it on their profile."""
    connection = state.role_connections.get(user_id)
    if not connection or not connection.get("metadata"):
        return ""
    names = {record["key"]: record["name"] for record in state.role_connection_metadata}
    facts = ", ".join(
        f"{esc(names.get(key, key))}: {esc(value)}" for key, value in connection["metadata"].items()
    )
    platform = esc(connection.get("platform_name") or "")
    return f'<div class="muted small" data-role-connection>Linked Roles ({platform}): {facts}</div>'


def _started_meta(request: web.Request, state: FakeDiscordState) -> dict[str, dict]:
    """Message id → who ran which command, for the messages that answer an interaction from this page."""
    found: dict[str, dict] = {}
    for token, meta in request.app[STARTED].items():
        interaction = state.interactions.get(token)
        if interaction is None:
            continue
        for message in [interaction.original_message, *interaction.followups]:
            if message is not None and message is not interaction.message:
                found[message["id"]] = dict(meta, response=interaction.response)
    return found


def _message(message: dict, *, names: dict[str, str], started: dict[str, dict]) -> str:
    author = message["author"]
    meta = started.get(message["id"])
    ephemeral = bool((message.get("flags") or 0) & EPHEMERAL)
    line = ""
    if meta:
        line = (
            f'<div class="interaction-line">{esc(names.get(meta["user_id"], meta["user_id"]))} used '
            f"<strong>{esc(meta['label'])}</strong></div>"
        )
    note = ""
    if ephemeral:
        whom = esc(names.get(meta["user_id"], "the member")) if meta else "the member"
        note = f'<div class="ephemeral-note">Only {whom} can see this · ephemeral</div>'
    content = markdown(message.get("content"), names=names)
    thinking = (
        meta and not content and not message.get("embeds") and (meta.get("response") or {}).get("type") == 5
    )
    if thinking:
        content = (
            f'<span class="muted">{esc(names.get(message["author"]["id"], "The bot"))} is thinking…</span>'
        )
    embeds = "".join(_embed(e, names=names) for e in message.get("embeds") or [])
    components = _components(message)
    edited = ' <span class="muted small">(edited)</span>' if message.get("edited_timestamp") else ""
    return (
        f'<article class="message{" ephemeral" if ephemeral else ""}" data-message-id="{attr(message["id"])}"'
        f' data-ephemeral="{str(ephemeral).lower()}">{line}'
        f'<span class="author">{esc(author.get("global_name") or author["username"])}</span>'
        f"{' <span class=bot-tag>BOT</span>' if author.get('bot') else ''}"
        f' <span class="muted small">{esc(message["timestamp"][11:19])}</span>{edited}'
        f'<div class="content">{content}</div>{embeds}{components}{note}</article>'
    )


def _embed(embed: dict, *, names: dict[str, str]) -> str:
    colour = embed.get("color")
    style = f' style="border-left-color:#{colour:06x}"' if isinstance(colour, int) else ""
    parts = []
    if author := (embed.get("author") or {}).get("name"):
        parts.append(f'<div class="small">{esc(author)}</div>')
    if title := embed.get("title"):
        title_html = esc(title)
        if embed.get("url"):
            title_html = f'<a href="{attr(embed["url"])}" target="_blank" rel="noopener">{title_html}</a>'
        parts.append(f'<div class="embed-title">{title_html}</div>')
    if embed.get("description"):
        parts.append(f'<div class="description">{markdown(embed["description"], names=names)}</div>')
    fields = "".join(
        f'<div class="field{" inline" if f.get("inline") else ""}">'
        f'<div class="field-name">{markdown(f.get("name"), names=names)}</div>'
        f"<div>{markdown(f.get('value'), names=names)}</div></div>"
        for f in embed.get("fields") or []
    )
    if fields:
        parts.append(f'<div class="fields">{fields}</div>')
    footer = [(embed.get("footer") or {}).get("text"), (embed.get("timestamp") or "")[:16].replace("T", " ")]
    if any(footer):
        parts.append(f'<div class="footer">{esc(" · ".join(p for p in footer if p))}</div>')
    return f'<div class="embed"{style}>{"".join(parts)}</div>'


def _components(message: dict) -> str:
    rows = []
    for row in message.get("components") or []:
        buttons = []
        for component in row.get("components") or []:
            if component.get("type") != BUTTON:
                continue
            label = esc(
                ((component.get("emoji") or {}).get("name", "") + " " + component.get("label", "")).strip()
            )
            disabled = " disabled" if component.get("disabled") else ""
            if component.get("style") == LINK_STYLE:
                buttons.append(
                    f'<a class="btn" href="{attr(component.get("url", "#"))}" target="_blank" rel="noopener">{label}</a>'
                )
            else:
                buttons.append(
                    f'<button type="button" class="style-{attr(component.get("style", 2))}"'
                    f' data-custom-id="{attr(component.get("custom_id", ""))}"{disabled}>{label}</button>'
                )
        if buttons:
            rows.append(f'<div class="row">{"".join(buttons)}</div>')
    return f'<div class="components">{"".join(rows)}</div>' if rows else ""


def _commands(state: FakeDiscordState) -> list[dict]:
    commands = [*state.guild_commands.get(GUILD_ID, []), *state.global_commands]
    seen, unique = set(), []
    for command in commands:
        if command.get("type", 1) == 1 and command["name"] not in seen:
            seen.add(command["name"])
            unique.append(command)
    return sorted(unique, key=lambda c: c["name"])


def _composer(state: FakeDiscordState, *, acting: str | None, channel_id: str | None) -> str:
    humans = _humans(state)
    people = "".join(
        f'<option value="{attr(u["id"])}"{" selected" if u["id"] == acting else ""}>'
        f"{esc(u.get('global_name') or u['username'])} (@{esc(u['username'])})</option>"
        for u in humans
    )
    commands = _commands(state)
    if not commands:
        return (
            f'<div class="composer"><label for="acting">Acting as</label><select id="acting">{people}</select>'
            '<p class="muted">No slash commands are registered yet: run <code>manage.py deploy_commands</code>.</p>'
            "</div>"
        )
    choices = "".join(
        f'<option value="{attr(c["name"])}">/{esc(c["name"])} — {esc(c.get("description", ""))}</option>'
        for c in commands
    )
    options = "".join(_option_inputs(c, humans) for c in commands)
    return f"""
<div class="composer">
  <form id="command-form" data-channel-id="{attr(channel_id or "")}">
    <div><label for="acting">Acting as</label><select id="acting" name="user_id">{people}</select></div>
    <div><label for="command">Slash command</label><select id="command" name="command">{choices}</select></div>
    {options}
    <div><button type="submit" class="btn-primary">Send</button></div>
  </form>
  <div class="reply" id="reply" aria-live="polite"></div>
</div>"""


def _option_inputs(command: dict, humans: list[dict]) -> str:
    inputs = []
    for option in command.get("options") or []:
        kind = option.get("type")
        name = option["name"]
        field_id = f"opt-{command['name']}-{name}"
        required = option.get("required", False)
        label = f"{esc(name)}{' *' if required else ''}"
        common = (
            f'id="{attr(field_id)}" data-option="{attr(name)}" title="{attr(option.get("description", ""))}"'
        )
        if option.get("choices"):
            values = "".join(
                f'<option value="{attr(c["value"])}">{esc(c["name"])}</option>' for c in option["choices"]
            )
            control = f"<select {common}>{'' if required else '<option value=""></option>'}{values}</select>"
        elif kind == USER:
            values = "".join(
                f'<option value="{attr(u["id"])}">@{esc(u["username"])}</option>' for u in humans
            )
            control = f'<select {common}><option value=""></option>{values}</select>'
        elif kind == BOOLEAN:
            control = f'<select {common}><option value=""></option><option>true</option><option>false</option></select>'
        elif kind in (INTEGER, NUMBER):
            bounds = "".join(
                f' {html_name}="{attr(option[key])}"'
                for key, html_name in (("min_value", "min"), ("max_value", "max"))
                if key in option
            )
            control = f'<input type="number" {common}{bounds}{" step=any" if kind == NUMBER else ""}>'
        else:
            control = f'<input type="text" {common} maxlength="{attr(option.get("max_length", 6000))}">'
        inputs.append(
            f'<div class="option" data-command="{attr(command["name"])}">'
            f'<label for="{attr(field_id)}">{label}</label>{control}</div>'
        )
    return "".join(inputs)


# --- actions --------------------------------------------------------------------------------------------
def _problem(message: str, status: int = 400) -> web.Response:
    return web.json_response({"problem": message}, status=status)


def _bot_connected(server: FakeDiscordServer) -> bool:
    return any(s.ws is not None and not s.ws.closed for s in server.gateway.sessions.values())


async def status(request: web.Request) -> web.Response:
    server = _server(request)
    state = server.state
    with state.lock:
        body = {
            "guild": state.guilds[GUILD_ID]["name"],
            "bot_connected": _bot_connected(server),
            "commands": [c["name"] for c in _commands(state)],
            "users": len(_humans(state)),
        }
    return web.json_response(body)


async def _read_json(request: web.Request) -> dict:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="Expected a JSON body.") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="Expected a JSON object.")
    return body


def _acting_member(state: FakeDiscordState, user_id: Any) -> str | web.Response:
    """The id of the guild member the visitor acts as, or the page's answer when there is none."""
    if not isinstance(user_id, str) or user_id not in state.members.get(GUILD_ID, {}):
        return _problem("Choose a member of the guild to act as.")
    return user_id


async def run_command(request: web.Request) -> web.Response:
    server = _server(request)
    state = server.state
    body = await _read_json(request)
    channel_id = str(body.get("channel_id") or DEFAULT_CHANNEL_ID)
    with state.lock:
        user_id = _acting_member(state, body.get("user_id"))
        if isinstance(user_id, web.Response):
            return user_id
        command = next((c for c in _commands(state) if c["name"] == body.get("command")), None)
        if command is None:
            return _problem("That command is not registered.")
        built = _command_options(state, command, body.get("options") or {})
        if isinstance(built, str):
            return _problem(built)
        options, resolved = built
        data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": 1}
        if options:
            data["options"] = options
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        label = "/" + " ".join([command["name"], *(f"{o['name']}:{o['value']}" for o in options)])
    return await _deliver(
        request,
        name=command["name"],
        user_id=user_id,
        channel_id=channel_id,
        interaction_type=APPLICATION_COMMAND,
        data=data,
        label=label,
    )


def _command_options(state: FakeDiscordState, command: dict, given: dict) -> tuple[list, dict] | str:
    """The interaction's ``options`` and ``resolved`` for the values typed, or what is wrong with them."""
    options: list[dict] = []
    resolved: dict[str, dict] = {}
    for option in command.get("options") or []:
        raw = given.get(option["name"])
        if raw in (None, ""):
            if option.get("required"):
                return f"The option {option['name']} is required."
            continue
        kind = option.get("type")
        try:
            if kind == INTEGER:
                value: Any = int(raw)
            elif kind == NUMBER:
                value = float(raw)
            elif kind == BOOLEAN:
                value = str(raw).lower() == "true"
            else:
                value = str(raw)
        except ValueError:
            return f"The option {option['name']} must be a number."
        if kind == USER:
            user = state.users.get(value)
            if user is None:
                return f"The option {option['name']} must be a sandbox user."
            resolved.setdefault("users", {})[value] = user
            member = state.members.get(GUILD_ID, {}).get(value)
            if member is not None:
                partial = {k: v for k, v in member.items() if k != "user"}
                resolved.setdefault("members", {})[value] = dict(partial, permissions="0")
        options.append({"name": option["name"], "type": kind, "value": value})
    return options, resolved


async def click_component(request: web.Request) -> web.Response:
    state = _server(request).state
    body = await _read_json(request)
    with state.lock:
        found = _message_for(state, body.get("channel_id"), body.get("message_id"))
        if isinstance(found, web.Response):
            return found
        custom_id = str(body.get("custom_id"))
        if not any(
            c.get("custom_id") == custom_id
            for row in found.get("components") or []
            for c in row.get("components", [])
        ):
            return _problem("That button is not on the message any more.", status=409)
        user_id = _acting_member(state, body.get("user_id"))
        if isinstance(user_id, web.Response):
            return user_id
    return await _deliver(
        request,
        name=custom_id,
        user_id=user_id,
        channel_id=found["channel_id"],
        interaction_type=MESSAGE_COMPONENT,
        data={"custom_id": custom_id, "component_type": BUTTON},
        label=f"a button ({custom_id})",
        message=found,
    )


async def submit_modal(request: web.Request) -> web.Response:
    state = _server(request).state
    body = await _read_json(request)
    values = body.get("values") or {}
    if not isinstance(values, dict) or not isinstance(body.get("custom_id"), str):
        return _problem("Expected the modal's custom_id and its values.")
    with state.lock:
        found = _message_for(state, body.get("channel_id"), body.get("message_id"))
        if isinstance(found, web.Response):
            return found
        user_id = _acting_member(state, body.get("user_id"))
        if isinstance(user_id, web.Response):
            return user_id
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": str(name), "value": str(value)}]}
        for name, value in values.items()
    ]
    return await _deliver(
        request,
        name=body["custom_id"],
        user_id=user_id,
        channel_id=found["channel_id"],
        interaction_type=MODAL_SUBMIT,
        data={"custom_id": body["custom_id"], "components": rows},
        label=f"a form ({body['custom_id']})",
        message=found,
    )


def _message_for(state: FakeDiscordState, channel_id: Any, message_id: Any) -> dict | web.Response:
    message = state.messages.get(str(channel_id), {}).get(str(message_id))
    if message is None:
        return _problem("That message is gone.", status=404)
    return message


async def _deliver(
    request: web.Request,
    *,
    name: str,
    user_id: str,
    channel_id: str,
    interaction_type: int,
    data: dict,
    label: str,
    message: dict | None = None,
) -> web.Response:
    """Send the interaction through the gateway, then wait (bounded) for the bot's answer to it."""
    server = _server(request)
    state = server.state
    if not _bot_connected(server):
        return _problem("No bot is connected to the sandbox's gateway: is `manage.py runbot` running?", 503)
    with state.lock:
        guild_id = state.channels.get(channel_id, {}).get("guild_id")
        payload = state.create_interaction(
            name=name,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            interaction_type=interaction_type,
            data=data,
        )
        interaction = state.interactions[payload["token"]]
        if message is not None:
            payload["message"] = message
            interaction.message = message
        request.app[STARTED][payload["token"]] = {"user_id": user_id, "label": label}
    await server.gateway.dispatch("INTERACTION_CREATE", payload)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RESPONSE_WAIT_SECONDS
    while not interaction.responded and loop.time() < deadline:
        await asyncio.sleep(0.05)
    if not interaction.responded:
        return _problem("The application did not respond.", status=504)
    response = interaction.response or {}
    reply = response.get("data") or {}
    if response.get("type") in DEFERRALS:
        # Acknowledged now, answered later through the interaction's webhook: wait (bounded) for that.
        answer_deadline = loop.time() + DEFERRED_ANSWER_WAIT_SECONDS
        answered = None
        while (answered := _deferred_answer(state, payload["token"], reply)) is None:
            if loop.time() > answer_deadline:
                break
            await asyncio.sleep(0.05)
        reply = answered or reply
    answer: dict[str, Any] = {
        "type": response.get("type"),
        "ephemeral": bool((reply.get("flags") or 0) & EPHEMERAL),
    }
    if response.get("type") == 9:
        answer["modal"] = reply
    else:
        names = {uid: u.get("global_name") or u["username"] for uid, u in state.users.items()}
        answer["html"] = markdown(reply.get("content"), names=names) + "".join(
            _embed(e, names=names) for e in reply.get("embeds") or []
        )
    return web.json_response(answer)


def _deferred_answer(state: FakeDiscordState, token: str, deferral: dict) -> dict | None:
    """The message that answered a deferred interaction: the last accepted edit of @original (as
    ephemeral as the deferral) or follow-up, or None while the bot is still working."""
    with state.lock:
        recorded = [r for r in state.requests if token in r.path and r.status == 200 and r.json is not None]
    for request in reversed(recorded):
        if request.method == "PATCH" and request.path.endswith("/messages/@original"):
            return {**request.json, "flags": deferral.get("flags") or 0}
        if request.method == "POST" and request.route == "/webhooks/{webhook_id}/{webhook_token}":
            return request.json
    return None


SCRIPT = r"""
(function () {
  const cookie = "discord_sandbox_user";
  const $ = (selector, root) => (root || document).querySelector(selector);
  function actingAs() { const s = $("#acting"); return s ? s.value : null; }
  const acting = $("#acting");
  if (acting) acting.addEventListener("change", () => {
    document.cookie = cookie + "=" + acting.value + "; path=/; samesite=lax";
    refresh();
  });
  function showOptions() {
    const command = $("#command");
    document.querySelectorAll(".composer .option").forEach((el) => {
      el.classList.toggle("shown", !!command && el.dataset.command === command.value);
    });
  }
  const commandSelect = $("#command");
  if (commandSelect) { commandSelect.addEventListener("change", showOptions); showOptions(); }
  function showReply(answer, status) {
    const reply = $("#reply");
    if (!reply) return;
    if (answer.problem) {
      reply.innerHTML = '<p class="problem" role="alert"></p>';
      reply.firstChild.textContent = answer.problem + (status ? " (" + status + ")" : "");
      return;
    }
    const note = answer.ephemeral ? '<div class="ephemeral-note">Only you can see this · ephemeral</div>' : "";
    reply.innerHTML = '<div class="message' + (answer.ephemeral ? ' ephemeral' : '') + '" data-reply="1">'
      + (answer.html || '<span class="muted">(answered)</span>') + note + '</div>';
  }
  async function post(url, body) {
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                        body: JSON.stringify(body) });
    let answer;
    try { answer = await response.json(); } catch (e) { answer = { problem: "The sandbox answered " + response.status }; }
    return { answer, status: response.ok ? null : response.status };
  }
  const form = $("#command-form");
  if (form) form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const command = $("#command").value;
    const options = {};
    form.querySelectorAll('.option[data-command="' + command + '"] [data-option]').forEach((el) => {
      options[el.dataset.option] = el.value;
    });
    $("#reply").innerHTML = '<p class="muted">Sent /' + command + '…</p>';
    const { answer, status } = await post("/_sandbox/commands", {
      user_id: actingAs(), channel_id: form.dataset.channelId, command, options });
    showReply(answer, status);
    refresh();
  });
  async function openModal(spec, context) {
    const dialog = $("#modal"), modalForm = $("#modal-form");
    modalForm.innerHTML = "";
    const title = document.createElement("h3"); title.textContent = spec.title || "Form"; modalForm.appendChild(title);
    const inputs = [];
    (spec.components || []).forEach((row) => {
      const parts = row.type === 18 ? [Object.assign({ label: row.label }, row.component)] : (row.components || []);
      parts.forEach((part) => {
        const label = document.createElement("label"); label.textContent = part.label || part.custom_id;
        const input = document.createElement(part.style === 2 ? "textarea" : "input");
        input.name = part.custom_id; input.required = !!part.required; input.value = part.value || "";
        if (part.min_length) input.minLength = part.min_length;
        if (part.max_length) input.maxLength = part.max_length;
        label.appendChild(input); modalForm.appendChild(label); inputs.push(input);
      });
    });
    const actions = document.createElement("p");
    actions.innerHTML = '<button value="cancel" class="btn-secondary" formnovalidate>Cancel</button> '
      + '<button value="submit" class="btn-primary">Submit</button>';
    modalForm.appendChild(actions);
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", async function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue !== "submit") return;
      const values = {}; inputs.forEach((input) => { values[input.name] = input.value; });
      const { answer, status } = await post("/_sandbox/modals", Object.assign({ custom_id: spec.custom_id, values }, context));
      showReply(answer, status);
      refresh();
    });
  }
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-custom-id]");
    if (!button) return;
    const message = button.closest("[data-message-id]");
    const context = { user_id: actingAs() || readCookie(), channel_id: $(".app").dataset.channelId,
                      message_id: message.dataset.messageId };
    button.disabled = true;
    const { answer, status } = await post("/_sandbox/components", Object.assign({ custom_id: button.dataset.customId }, context));
    button.disabled = false;
    if (answer.modal) { openModal(answer.modal, context); return; }
    showReply(answer, status);
    refresh();
  });
  function readCookie() {
    const found = document.cookie.split("; ").find((c) => c.startsWith(cookie + "="));
    return found ? found.split("=")[1] : null;
  }
  async function refresh() {
    try {
      const response = await fetch(location.href, { cache: "no-store" });
      if (!response.ok) return;
      const next = new DOMParser().parseFromString(await response.text(), "text/html");
      ["#messages", "#members", "#sidebar"].forEach((selector) => {
        const now = $(selector), then = $(selector, next);
        if (!now || !then || now.innerHTML === then.innerHTML) return;
        const atBottom = now.scrollTop + now.clientHeight >= now.scrollHeight - 20;
        now.innerHTML = then.innerHTML;
        if (atBottom) now.scrollTop = now.scrollHeight;
      });
    } catch (e) { /* the sandbox is restarting: try again at the next tick */ }
  }
  const messages = $("#messages"); if (messages) messages.scrollTop = messages.scrollHeight;
  setInterval(refresh, 1500);
})();
"""
