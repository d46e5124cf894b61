"""The guild view: the community in a browser, and a real nextcord bot driven through the gateway from it."""

import asyncio

import aiohttp
import nextcord
import pytest
import requests

from discord_sandbox import APPLICATION_ID, BOT_TOKEN, DEFAULT_CHANNEL_ID, GUILD_ID, nextcord_pointed_at
from discord_sandbox.community import seed_community
from discord_sandbox.sandbox import SandboxServer

MODERATORS = "1300000000000000012"
SEED = {
    "guild": {"name": "DealScale Community"},
    "channels": [{"id": MODERATORS, "name": "moderators"}],
    "roles": [{"id": "1400000000000000011", "name": "Champion", "color": 0xF1C40F}],
    "users": [
        {"id": "1600000000000000001", "username": "alice", "global_name": "Alice Moreau"},
        {"id": "1600000000000000002", "username": "bob", "roles": ["1400000000000000011"]},
    ],
}
COMMANDS = [
    {
        "name": "give",
        "description": "Give points",
        "options": [
            {"type": 4, "name": "amount", "description": "How many", "required": True, "min_value": 1},
            {"type": 6, "name": "member", "description": "To whom"},
            {
                "type": 3,
                "name": "period",
                "description": "When",
                "choices": [{"name": "Week", "value": "week"}],
            },
        ],
    },
    {"name": "ping", "description": "Is the bot there?"},
]


@pytest.fixture(scope="module")
def sandbox_server():
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server):
    sandbox_server.reset()
    seed_community(sandbox_server.state, SEED)
    answer = requests.put(
        f"{sandbox_server.base_url}/applications/{APPLICATION_ID}/commands",
        json=COMMANDS,
        headers={"Authorization": f"Bot {BOT_TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 200
    return sandbox_server


class Bot(nextcord.Client):
    """Answers the way the DealScale bot does: an ephemeral embed, a message edit, a modal."""

    def __init__(self) -> None:
        super().__init__(intents=nextcord.Intents(guilds=True), guild_ready_timeout=0.1)
        self.ready = asyncio.Event()
        self.received: list[nextcord.Interaction] = []

    async def on_connect(self) -> None:
        return  # no command sync with the sandbox

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_interaction(self, interaction: nextcord.Interaction) -> None:
        self.received.append(interaction)
        data = interaction.data or {}
        if interaction.type is nextcord.InteractionType.application_command:
            options = {o["name"]: o["value"] for o in data.get("options", [])}
            embed = nextcord.Embed(
                title=f"{data['name']} for {interaction.user.name}", description=str(options)
            )
            await interaction.response.send_message(embed=embed, ephemeral=data["name"] == "give")
        elif data.get("custom_id") == "form":
            modal = nextcord.ui.Modal(title="Why?", custom_id="why", auto_defer=False)
            modal.add_item(nextcord.ui.TextInput(label="Reason", custom_id="reason"))
            await interaction.response.send_modal(modal)
        elif interaction.type is nextcord.InteractionType.modal_submit:
            await interaction.response.edit_message(
                content=f"submitted by {interaction.user.name}", view=None
            )
        else:
            await interaction.response.edit_message(content=f"clicked by {interaction.user.name}", view=None)


@pytest.fixture
async def bot(sandbox):
    with nextcord_pointed_at(sandbox.base_url):
        client = Bot()
        runner = asyncio.create_task(client.start(BOT_TOKEN))
        await asyncio.wait_for(client.ready.wait(), 10)
        yield client
        await client.close()
        await asyncio.wait_for(runner, 10)


async def post(sandbox, path: str, body: dict) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sandbox.origin}{path}", json=body) as answer,
    ):
        return answer.status, await answer.json()


def page(sandbox, path: str, **cookies) -> str:
    answer = requests.get(f"{sandbox.origin}{path}", cookies=cookies, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_page_shows_channels_members_with_their_roles_and_the_commands(sandbox):
    html = page(sandbox, f"/channels/{DEFAULT_CHANNEL_ID}")

    assert "DealScale Community" in html
    assert "# general" in html and "# moderators" in html
    assert 'data-username="bob"' in html and "Champion" in html
    assert 'data-username="DealScale"' in html and "BOT" in html
    assert "/give — Give points" in html and 'id="opt-give-amount"' in html and 'min="1"' in html
    assert '<option value="week">Week</option>' in html


def test_each_member_shows_the_linked_roles_connection_the_app_pushed(sandbox):
    sandbox.state.role_connection_metadata = [
        {"key": "points_all_time", "name": "Points (all time)", "description": "Points", "type": 2}
    ]
    sandbox.state.store_role_connection(
        "1600000000000000001",
        {"platform_name": "DealScale", "platform_username": "Alice", "metadata": {"points_all_time": "120"}},
    )

    html = page(sandbox, f"/channels/{DEFAULT_CHANNEL_ID}")

    assert "Linked Roles (DealScale): Points (all time): 120" in html
    assert html.count("data-role-connection") == 1


def test_messages_show_their_embeds_and_buttons(sandbox):
    state = sandbox.state
    state.make_message(
        MODERATORS,
        {
            "embeds": [
                {
                    "title": "Credit request #7",
                    "color": 0xF1C40F,
                    "fields": [{"name": "Amount", "value": "**250**"}],
                }
            ],
            "components": [
                {
                    "type": 1,
                    "components": [
                        {"type": 2, "style": 3, "label": "Approve", "custom_id": "credits:approve:7"}
                    ],
                }
            ],
        },
    )

    html = page(sandbox, f"/channels/{MODERATORS}")

    assert "Credit request #7" in html and "<strong>250</strong>" in html
    assert 'data-custom-id="credits:approve:7"' in html and "Approve" in html
    assert "border-left-color:#f1c40f" in html


def test_a_members_dms_from_the_bot_have_their_own_page(sandbox):
    channel = sandbox.state.dm_channel_for("1600000000000000001")
    sandbox.state.make_message(channel["id"], {"content": "Your request was approved"})

    html = page(sandbox, "/dms/1600000000000000001")

    assert "Your request was approved" in html
    assert "@alice" in html


def test_the_page_escapes_what_users_and_the_bot_wrote(sandbox):
    sandbox.state.make_message(DEFAULT_CHANNEL_ID, {"content": "<script>alert(1)</script>"})

    html = page(sandbox, f"/channels/{DEFAULT_CHANNEL_ID}")

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_a_slash_command_reaches_the_bot_as_an_interaction_and_its_ephemeral_reply_comes_back(
    sandbox, bot
):
    status, answer = await post(
        sandbox,
        "/_sandbox/commands",
        {
            "user_id": "1600000000000000001",
            "channel_id": DEFAULT_CHANNEL_ID,
            "command": "give",
            "options": {"amount": "250", "member": "1600000000000000002", "period": ""},
        },
    )

    assert status == 200, answer
    assert answer["type"] == 4 and answer["ephemeral"] is True
    assert "give for alice" in answer["html"]
    interaction = bot.received[-1]
    assert interaction.type is nextcord.InteractionType.application_command
    assert interaction.data["options"] == [
        {"name": "amount", "type": 4, "value": 250},
        {"name": "member", "type": 6, "value": "1600000000000000002"},
    ]
    assert interaction.data["resolved"]["users"]["1600000000000000002"]["username"] == "bob"
    assert interaction.guild_id == int(GUILD_ID) and interaction.channel_id == int(DEFAULT_CHANNEL_ID)
    html = page(sandbox, f"/channels/{DEFAULT_CHANNEL_ID}")
    assert "Alice Moreau used <strong>/give amount:250 member:1600000000000000002</strong>" in html
    assert "Only Alice Moreau can see this" in html


async def test_a_missing_required_option_is_refused_before_the_bot_sees_it(sandbox, bot):
    status, answer = await post(
        sandbox, "/_sandbox/commands", {"user_id": "1600000000000000001", "command": "give", "options": {}}
    )

    assert status == 400 and "amount is required" in answer["problem"]
    assert bot.received == []


async def test_a_button_click_is_a_message_component_interaction_and_update_message_edits_it(sandbox, bot):
    message = sandbox.state.make_message(
        MODERATORS,
        {
            "content": "A request",
            "components": [
                {
                    "type": 1,
                    "components": [
                        {"type": 2, "style": 3, "label": "Approve", "custom_id": "credits:approve:7"}
                    ],
                }
            ],
        },
    )

    status, answer = await post(
        sandbox,
        "/_sandbox/components",
        {
            "user_id": "1600000000000000002",
            "channel_id": MODERATORS,
            "message_id": message["id"],
            "custom_id": "credits:approve:7",
        },
    )

    assert status == 200, answer
    assert answer["type"] == 7
    interaction = bot.received[-1]
    assert interaction.type is nextcord.InteractionType.component
    assert interaction.data == {"custom_id": "credits:approve:7", "component_type": 2}
    assert interaction.message.id == int(message["id"])
    assert message["content"] == "clicked by bob" and message["components"] == []


async def test_a_button_that_opens_a_modal_answers_its_form_and_the_submit_is_a_modal_submit(sandbox, bot):
    message = sandbox.state.make_message(
        MODERATORS,
        {
            "content": "Deny?",
            "components": [
                {"type": 1, "components": [{"type": 2, "style": 4, "label": "Deny", "custom_id": "form"}]}
            ],
        },
    )
    context = {"user_id": "1600000000000000002", "channel_id": MODERATORS, "message_id": message["id"]}

    status, answer = await post(sandbox, "/_sandbox/components", {**context, "custom_id": "form"})
    assert status == 200 and answer["type"] == 9
    assert answer["modal"]["custom_id"] == "why"

    status, answer = await post(
        sandbox, "/_sandbox/modals", {**context, "custom_id": "why", "values": {"reason": "no"}}
    )

    assert status == 200, answer
    submitted = bot.received[-1]
    assert submitted.type is nextcord.InteractionType.modal_submit
    assert submitted.data["components"][0]["components"][0] == {
        "type": 4,
        "custom_id": "reason",
        "value": "no",
    }
    assert message["content"] == "submitted by bob"


async def test_without_a_connected_bot_the_page_says_so(sandbox):
    status, answer = await post(
        sandbox, "/_sandbox/commands", {"user_id": "1600000000000000001", "command": "ping", "options": {}}
    )

    assert status == 503 and "No bot is connected" in answer["problem"]


async def test_the_status_tells_whether_the_bot_is_connected_and_which_commands_exist(sandbox, bot):
    async with aiohttp.ClientSession() as session, session.get(f"{sandbox.origin}/_sandbox/status") as answer:
        status = await answer.json()

    assert status == {
        "guild": "DealScale Community",
        "bot_connected": True,
        "commands": ["give", "ping"],
        "users": 2,
    }
