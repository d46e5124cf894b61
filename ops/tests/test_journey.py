"""The seed's user journey, end to end, in a real headless browser against the product as `make run` runs it.

`manage.py run_local --discord sandbox` (what `make run` runs) starts the web app, worker, beat, bot and the
Discord sandbox on free ports with the test database; Playwright drives Debian's chromium through the seed's
eight steps, then Linked Roles. Each step leaves a screenshot in .run/journey/ (kept when the test fails, with the run's log).
"""

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from waffle.models import Flag

from accounts.selectors import DISCORD_INTEGRATION_FLAG
from leaderboard.signing import SIGNATURE_HEADER, sign

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(settings.BASE_DIR)
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = BASE_DIR / ".run" / "journey"
START_TIMEOUT = 240  # the whole product booting on a loaded 2-core machine
STEP_TIMEOUT_MS = 60_000  # what a page waits for a worker, the bot or role sync to show its effect
USERNAME = "journey-sam"
DISCORD_USERNAME = "journeysam"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Product:
    """The product started by run_local: its addresses, its run directory and log, and its manage.py."""

    def __init__(self, *, tmp_path: Path):
        self.web_port, self.discord_port = free_port(), free_port()
        self.site = f"http://127.0.0.1:{self.web_port}"
        self.sandbox = f"http://127.0.0.1:{self.discord_port}"
        self.run_dir = tmp_path / "run"
        self.log_path = tmp_path / "run_local.log"
        db = connection.settings_dict
        # What `make run` gets: DEBUG on, no Redis (file cache, filesystem broker), no Discord configured;
        # only the database is the test one.
        self.env = {
            name: value
            for name, value in os.environ.items()
            if name not in {"REDIS_URL", "CELERY_BROKER_URL", "PORT", "SITE_URL"}
            and not name.startswith("DISCORD_")
        }
        self.env.update(
            {
                "DEBUG": "true",
                "SECRET_KEY": settings.SECRET_KEY,
                "DATABASE_URL": (
                    f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
                ),
                "FILE_CACHE_DIR": str(tmp_path / "cache"),
                "CELERY_FILESYSTEM_BROKER_DIR": str(tmp_path / "broker"),
                "LOG_FORMAT": "console",
            }
        )
        (tmp_path / "broker").mkdir()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "run_local",
                "--port",
                str(self.web_port),
                "--discord-port",
                str(self.discord_port),
                "--discord",
                "sandbox",
                "--run-dir",
                str(self.run_dir),
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            # Its own process group: honcho and every process it starts are stopped together.
            start_new_session=True,
        )
        banner = self.run_dir / "banner.txt"
        deadline = time.monotonic() + START_TIMEOUT
        while not banner.exists():
            if self.process.poll() is not None:
                pytest.fail(f"run_local exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"No banner within {START_TIMEOUT} s:\n{self.log_tail()}")
            time.sleep(0.5)
        text = banner.read_text()
        assert "Not up" not in text, text + self.log_tail()
        self.banner = text

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # What Ctrl-C does in a terminal: SIGINT to the whole foreground group.
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env={**self.env, "DEALSCALE_RUN_DIR": str(self.run_dir)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def admin_password(self) -> str:
        return (self.run_dir / "admin-password").read_text().strip()

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def product(tmp_path):
    # Earlier transactional tests flush every table, migration data included: the flag as migrate made it.
    Flag.objects.get_or_create(
        name=DISCORD_INTEGRATION_FLAG,
        defaults={"everyone": None, "percent": 0, "staff": True, "superusers": True},
    )
    connection.close()
    running = Product(tmp_path=tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"The journey test drives Debian's chromium at {CHROMIUM}, which is missing: "
            "install it with `apt-get install -y chromium` (.ci/run does)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


class Journey:
    """The browser page, with a screenshot per step."""

    def __init__(self, page):
        self.page = page
        self.step = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()

    def shot(self, name: str) -> None:
        self.step += 1
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.step:02d}-{name}.png"), full_page=True)


def test_a_newcomer_links_discord_requests_credits_and_earns_a_milestone_role(product, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    journey = Journey(page)
    try:
        _journey(product, page, journey, expect)
    except BaseException:
        page.screenshot(path=str(SCREENSHOTS / "failure.png"), full_page=True)
        print(f"Screenshots in {SCREENSHOTS}; the run's log:\n{product.log_tail(150)}")
        raise
    finally:
        context.close()


def _journey(product: Product, page, journey: Journey, expect) -> None:
    site, sandbox = product.site, product.sandbox

    # 1. Sign up on the site.
    page.goto(f"{site}/accounts/signup/")
    page.fill("#id_email", "sam@example.com")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password1", "a-long-journey-password")
    page.fill("#id_password2", "a-long-journey-password")
    page.click("button:has-text('Create account')")
    expect(page.locator("h1")).to_contain_text(USERNAME)
    journey.shot("signed-up")

    # 2. Connect Discord: the sandbox's consent page, as a new sandbox user.
    page.click("button:has-text('Connect Discord')")
    expect(page.locator("h1")).to_have_text("Authorize DealScale Discord")
    expect(page.locator(".scopes")).to_contain_text("Access your email address")
    expect(page.locator(".scopes")).to_contain_text("Update your connection and metadata for this app")
    page.check("input[name=user_id][value=new]")
    page.fill("input[name=new_username]", DISCORD_USERNAME)
    journey.shot("consent-page")
    page.click("button:has-text('Authorize')")
    expect(page.locator("#discord-heading + .identity")).to_contain_text(f"@{DISCORD_USERNAME}")
    journey.shot("discord-linked")

    # 3. The leaderboard.
    page.goto(f"{site}/leaderboard")
    expect(page.locator("main")).to_contain_text("Alice Moreau")
    journey.shot("leaderboard")

    # 4. /request-credits from the sandbox's guild view, as the Discord user just linked.
    page.goto(f"{sandbox}/")
    expect(page.locator("#acting")).to_have_value(re.compile(r"\d+"))
    expect(page.locator("#acting option:checked")).to_contain_text(DISCORD_USERNAME)
    page.select_option("#command", "request-credits")
    page.fill("#opt-request-credits-amount", "250")
    page.fill("#opt-request-credits-reason", "Ran the journey through the sandbox")
    page.click("#command-form button[type=submit]")
    reply = page.locator("#reply [data-reply]")
    expect(reply).to_contain_text("Credit request #", timeout=STEP_TIMEOUT_MS)
    expect(reply).to_contain_text("ephemeral")
    request_id = re.search(r"Credit request #(\d+)", reply.inner_text()).group(1)
    journey.shot("request-credits-reply")
    page.click("a:has-text('# moderators')")
    expect(page.locator("#messages")).to_contain_text(
        f"Credit request #{request_id}", timeout=STEP_TIMEOUT_MS
    )
    journey.shot("request-in-moderators-channel")

    # 5. Approve it in the Django admin.
    page.goto(f"{site}/admin/login/?next=/admin/credits/creditrequest/{request_id}/change/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", product.admin_password())
    page.click("input[type=submit]")
    page.click("a:has-text('Approve…')")
    journey.shot("admin-confirm-approval")
    page.click("input[type=submit][value^='Yes, approve']")
    expect(page.locator(".messagelist")).to_contain_text("pproved")
    page.context.clear_cookies()  # back to being the member

    # 6. The member's balance shows the credits, and the bot's DM shows in the sandbox.
    page.goto(f"{site}/accounts/login/")
    page.fill("#id_login", USERNAME)
    page.fill("#id_password", "a-long-journey-password")
    page.click("button:has-text('Log in'):not(.btn-discord)")
    page.goto(f"{site}/profile/")
    expect(page.locator("#credits-heading + .stat .stat-value")).to_have_text("250")
    journey.shot("balance")
    page.goto(f"{sandbox}/")
    page.click(f"a[data-dm-user='{DISCORD_USERNAME}']")
    dm = page.locator("#messages article").last
    expect(dm).to_contain_text("Credit request approved", timeout=STEP_TIMEOUT_MS)
    expect(dm).to_contain_text(f"#{request_id}")
    journey.shot("dm-in-sandbox")

    # 7. Points pushed through the signed score webhook, then the leaderboard recalculated.
    me = page.request.get(f"{site}/api/me")
    assert me.ok, me.text()
    user_id = me.json()["id"]
    keys = dict(line.split("=", 1) for line in product.manage("create_service_key", "journey").split())
    body = json.dumps(
        {
            "events": [
                {
                    "external_id": f"journey-{hashlib.sha1(USERNAME.encode()).hexdigest()[:8]}",
                    "user_id": user_id,
                    "points": 5000,
                    "kind": "deal_closed",
                    "occurred_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
                }
            ]
        }
    ).encode()
    answer = page.request.post(
        f"{site}/api/score-events",
        data=body,
        headers={
            "Authorization": f"Bearer {keys['key']}",
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret=keys["secret"], body=body),
        },
    )
    assert answer.status in (200, 201, 202), answer.text()
    product.manage("recalculate_leaderboard", "--force")
    page.goto(f"{site}/leaderboard")
    top = page.locator("main tbody tr").first
    expect(top).to_contain_text("5,000")
    expect(top).to_contain_text("you")
    journey.shot("points-on-leaderboard")

    # 8. Role sync (started through the staff API, not waited for): the member holds the Champion role.
    token = product.manage("create_api_token", "admin", "--name", "journey").split()[-1]
    started = page.request.post(
        f"{site}/admin/discord/sync-roles",
        data="{}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert started.status == 202, started.text()
    page.goto(f"{sandbox}/")
    member = page.locator(f"li.member[data-username='{DISCORD_USERNAME}']")
    expect(member.locator(".roles")).to_contain_text("Champion", timeout=STEP_TIMEOUT_MS)
    journey.shot("milestone-role-in-sandbox")

    # 9. Linked Roles: after the recalculation the worker pushed the member's facts to the sandbox, which
    # shows them under the member; the Verification URL says what was shared.
    expect(member.locator("[data-role-connection]")).to_contain_text(
        "Points (all time): 5000", timeout=STEP_TIMEOUT_MS
    )
    expect(member.locator("[data-role-connection]")).to_contain_text("Credits earned: 250")
    page.goto(f"{site}/discord/linked-roles")
    expect(page.locator("#shared-heading")).to_have_text("Shared with Discord")
    expect(page.locator(".facts")).to_contain_text("5000")
    journey.shot("linked-roles")
