"""The sandbox's pages as plain HTML: one layout with its stylesheet inlined, and escaping helpers.

No template engine: the pages are small, and the sandbox depends on the standard library and aiohttp only.
Every value that comes from a user, the bot or a seed goes through ``esc`` (or ``attr``) before it is shown.
"""

from __future__ import annotations

import html
import re

from aiohttp import web

STYLESHEET = """
:root { --bg: #313338; --panel: #2b2d31; --side: #1e1f22; --text: #dbdee1; --muted: #949ba4;
  --accent: #5865f2; --green: #248046; --red: #da373c; --grey: #4e5058; --line: #3f4147; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 "gg sans", "Noto Sans", Helvetica, Arial, sans-serif;
  background: var(--bg); color: var(--text); }
a { color: #00a8fc; }
code { background: var(--side); padding: 0 .25em; border-radius: 3px; }
.sandbox-note { background: #f0b232; color: #1e1f22; padding: .3em 1em; font-size: 13px; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
button, .btn { font: inherit; border: 0; border-radius: 3px; padding: .35em 1em; cursor: pointer;
  color: #fff; background: var(--grey); }
button:disabled { opacity: .5; cursor: not-allowed; }
.btn-primary, .style-1 { background: var(--accent); }
.btn-secondary, .style-2 { background: var(--grey); }
.style-3 { background: var(--green); }
.style-4 { background: var(--red); }
input, select, textarea { font: inherit; color: var(--text); background: var(--side);
  border: 1px solid var(--line); border-radius: 3px; padding: .35em .5em; }
label { display: block; font-size: 12px; text-transform: uppercase; color: var(--muted); margin: .6em 0 .2em; }
/* The consent page */
.consent { max-width: 460px; margin: 4em auto; background: var(--panel); border-radius: 8px; padding: 2em; }
.consent h1 { font-size: 20px; margin: 0 0 .2em; text-align: center; }
.consent .scopes { list-style: none; padding: 0; border-top: 1px solid var(--line); margin: 1.2em 0; }
.consent .scopes li { padding: .6em 0; border-bottom: 1px solid var(--line); }
.consent .scopes li::before { content: "\\2713"; color: var(--green); margin-right: .6em; }
.consent .who label { text-transform: none; font-size: 15px; color: var(--text); display: flex;
  gap: .6em; align-items: center; margin: .3em 0; }
.consent .actions { display: flex; justify-content: space-between; margin-top: 1.5em; }
.consent .error { background: var(--red); color: #fff; padding: .5em 1em; border-radius: 4px; }
/* The guild view */
.app { display: grid; grid-template-columns: 240px 1fr 260px; height: calc(100vh - 26px); }
.sidebar { background: var(--panel); overflow-y: auto; padding: .5em; }
.sidebar h2 { font-size: 15px; margin: .4em .3em 1em; }
.sidebar h3, .members h3 { font-size: 12px; text-transform: uppercase; color: var(--muted); margin: 1em .3em .3em; }
.sidebar a { display: block; color: var(--muted); text-decoration: none; padding: .25em .5em; border-radius: 4px; }
.sidebar a.current, .sidebar a:hover { background: var(--grey); color: #fff; }
.main { display: flex; flex-direction: column; min-width: 0; }
.main header { padding: .6em 1em; border-bottom: 1px solid var(--side); font-weight: 600; }
.messages { flex: 1; overflow-y: auto; padding: .5em 1em; }
.message { padding: .4em 0; border-bottom: 1px solid #383a40; }
.message .author { font-weight: 600; color: #fff; }
.message .bot-tag { background: var(--accent); color: #fff; font-size: 10px; padding: 0 .3em; border-radius: 3px; }
.message.ephemeral { background: #383a4f; padding-left: .5em; }
.ephemeral-note { color: var(--muted); font-size: 12px; font-style: italic; }
.interaction-line { color: var(--muted); font-size: 12px; }
.embed { border-left: 4px solid var(--side); background: var(--panel); border-radius: 4px; padding: .5em .8em;
  margin: .3em 0; max-width: 520px; }
.embed .embed-title { font-weight: 600; color: #fff; }
.embed .fields { display: flex; flex-wrap: wrap; gap: .3em 1em; }
.embed .field { flex: 1 1 100%; }
.embed .field.inline { flex: 1 1 30%; }
.embed .field-name { font-weight: 600; font-size: 13px; }
.embed .footer { color: var(--muted); font-size: 12px; margin-top: .3em; }
.components .row { display: flex; gap: .5em; margin: .3em 0; }
.composer { border-top: 1px solid var(--side); padding: .6em 1em; background: var(--panel); }
.composer form { display: flex; flex-wrap: wrap; gap: .5em; align-items: end; }
.composer .option { display: none; }
.composer .option.shown { display: block; }
.reply { margin-top: .5em; }
.reply .problem { color: #f23f42; }
.members { background: var(--panel); overflow-y: auto; padding: .5em; }
.member { padding: .3em .4em; }
.member .name { color: #fff; }
.role { display: inline-block; font-size: 11px; border: 1px solid var(--line); border-radius: 10px;
  padding: 0 .5em; margin: .15em .15em 0 0; }
.role::before { content: "\\25CF "; color: var(--role-color, var(--muted)); }
dialog { background: var(--panel); color: var(--text); border: 0; border-radius: 8px; min-width: 360px; }
dialog label input, dialog label textarea { display: block; width: 100%; margin-top: .3em; }
dialog::backdrop { background: rgba(0, 0, 0, .6); }
"""

_MENTION = re.compile(r"&lt;@!?(\d+)&gt;")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=False)


def attr(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def markdown(text: str | None, *, names: dict[str, str] | None = None) -> str:
    """The little of Discord's markdown the bot uses: bold, inline code, links, user mentions, newlines."""
    out = esc(text)
    out = _LINK.sub(
        lambda m: (
            f'<a href="{attr(html.unescape(m.group(2)))}" target="_blank" rel="noopener">{m.group(1)}</a>'
        ),
        out,
    )
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _CODE.sub(r"<code>\1</code>", out)
    if names is not None:
        out = _MENTION.sub(lambda m: f"<strong>@{esc(names.get(m.group(1), m.group(1)))}</strong>", out)
    return out.replace("\n", "<br>")


def page(title: str, body: str, *, status: int = 200, script: str = "") -> web.Response:
    document = (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLESHEET}</style></head><body>"
        '<div class="sandbox-note">Discord sandbox — a local stand-in for Discord, for development only.</div>'
        f"{body}"
        f"{f'<script>{script}</script>' if script else ''}"
        "</body></html>"
    )
    return web.Response(text=document, status=status, content_type="text/html")
