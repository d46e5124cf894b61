"""`manage.py run_local`: what `make run` runs — the whole product on this machine, in the foreground.

- `run_local [start]`: migrate, load the demo, then hand over to honcho (Procfile.dev), which runs the web
  app, a Celery worker, Celery beat, the bot and a banner; with no Discord application configured
  (no DISCORD_CLIENT_ID / DISCORD_BOT_TOKEN in the environment or .env) also the Discord sandbox, with every
  process pointed at it. Ctrl-C stops them all (honcho).
- `run_local bot`: Procfile.dev's bot: waits for the Discord API, registers the slash commands, then runs
  `manage.py runbot`.
- `run_local banner`: Procfile.dev's banner: waits until everything answers, then prints the first screen.

The journey test (ops/tests/test_journey.py) starts the product with this same command.
"""

import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from discord_sandbox import APPLICATION_ID, BOT_TOKEN, CLIENT_SECRET, GUILD_ID
from discordbot.selectors import bot_is_online
from ops.demo_community import MODERATORS_CHANNEL_ID
from ops.management.commands.seed_demo import DEMO_MEMBERS, DEMO_PASSWORD
from rolesync.models import RoleSyncRun
from rolesync.selectors import last_finished_run
from rolesync.services import queue_full_sync

# What the processes started by `start` learn about the run (Procfile.dev and `bot` / `banner` read them).
RUN_DIR = "DEALSCALE_RUN_DIR"
RUN_DISCORD = "DEALSCALE_RUN_DISCORD"  # "sandbox" or "discord"
RUN_STARTED_AT = "DEALSCALE_RUN_STARTED_AT"
SANDBOX, DISCORD = "sandbox", "discord"
BOT_FAILED = "bot-failed"  # in the run directory: why the bot process gave up
WAIT_SECONDS = 180.0
POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = "Run the whole product on this machine (what `make run` does); Ctrl-C stops it."
    # runserver reports the system checks once; the bot and banner processes repeating them bury the banner.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["start", "bot", "banner"], default="start")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000), help="web port")
        parser.add_argument(
            "--discord-port", type=int, default=8001, help="the Discord sandbox's port (default 8001)"
        )
        parser.add_argument(
            "--discord",
            choices=["auto", SANDBOX, DISCORD],
            default="auto",
            help="auto (default): the sandbox unless a Discord application is configured.",
        )
        parser.add_argument(
            "--run-dir",
            type=Path,
            default=Path(settings.BASE_DIR) / ".run",
            help="Where the run keeps its files: admin password, sandbox seed, banner (default .run/).",
        )

    def handle(self, *args, action: str, **options):
        if action == "bot":
            self._bot()
        elif action == "banner":
            self._banner()
        else:
            self._start(**options)

    # --- start ----------------------------------------------------------------------------------------
    def _start(self, *, port: int, discord_port: int, discord: str, run_dir: Path, **options) -> None:
        configured = bool(settings.DISCORD_CLIENT_ID or settings.DISCORD_BOT_TOKEN)
        mode = discord if discord != "auto" else (DISCORD if configured else SANDBOX)
        if mode == SANDBOX and not settings.DEBUG:
            raise CommandError("The Discord sandbox runs with DEBUG on only (make run sets DEBUG=true).")
        run_dir = run_dir.resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "banner.txt").unlink(missing_ok=True)
        env = {
            **os.environ,
            RUN_DIR: str(run_dir),
            RUN_DISCORD: mode,
            RUN_STARTED_AT: str(time.time()),
            "WEB_PORT": str(port),
            "SITE_URL": os.environ.get("SITE_URL") or f"http://127.0.0.1:{port}",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
        call_command("migrate", interactive=False)
        seed_options: dict = {"admin_password_file": run_dir / "admin-password"}
        processes = ["web", "worker", "beat"]
        if mode == SANDBOX:
            seed = run_dir / "sandbox" / "community.json"
            seed_options["discord_sandbox_seed"] = seed
            env.update(self._sandbox_environment(port=discord_port, seed=seed, run_dir=run_dir))
            processes = ["discord", *processes, "bot"]
        elif settings.DISCORD_BOT_TOKEN:
            processes.append("bot")
        else:
            self.stderr.write("DISCORD_CLIENT_ID is set but DISCORD_BOT_TOKEN is not: starting no bot.")
        call_command("seed_demo", **seed_options)
        connections.close_all()
        honcho = Path(sys.executable).parent / "honcho"
        argv = [
            str(honcho),
            "--procfile",
            str(Path(settings.BASE_DIR) / "Procfile.dev"),
            "--app-root",
            str(settings.BASE_DIR),
            # Our environment as is: honcho's .env would override it (settings.py reads .env itself).
            "--env",
            os.devnull,
            "start",
            *processes,
            "banner",
        ]
        sys.stdout.flush()
        os.execve(argv[0], argv, env)

    def _sandbox_environment(self, *, port: int, seed: Path, run_dir: Path) -> dict[str, str]:
        """Every Discord setting of the app, pointed at the sandbox."""
        env = {
            "DISCORD_SANDBOX_PORT": str(port),
            "DISCORD_SANDBOX_SEED": str(seed),
            "DISCORD_API_BASE_URL": f"http://127.0.0.1:{port}/api/v10",
            "DISCORD_CLIENT_ID": APPLICATION_ID,
            "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
            "DISCORD_BOT_TOKEN": BOT_TOKEN,
            "DISCORD_GUILD_ID": GUILD_ID,
            "DISCORD_MOD_CHANNEL_ID": MODERATORS_CHANNEL_ID,
            # allauth builds the callback from the request, as the sandbox's redirect check expects.
            "DISCORD_REDIRECT_URI": "",
        }
        if not settings.DISCORD_TOKEN_ENCRYPTION_KEY:
            # A key of its own, kept with the run, so linked accounts' tokens survive restarts.
            key_file = run_dir / "discord-token-key"
            if not key_file.exists():
                key_file.write_text(Fernet.generate_key().decode())
                key_file.chmod(0o600)
            env["DISCORD_TOKEN_ENCRYPTION_KEY"] = key_file.read_text().strip()
        return env

    # --- bot ------------------------------------------------------------------------------------------
    def _bot(self) -> None:
        failed = _run_dir() / BOT_FAILED
        failed.unlink(missing_ok=True)
        try:
            self._deploy_and_run_bot(sandbox=os.environ.get(RUN_DISCORD) == SANDBOX)
        except (CommandError, OSError) as error:
            # honcho would stop everything when this process ends: a bot Discord refuses (a wrong token)
            # or cannot reach (no network; aiohttp's and requests' errors are OSErrors) must not take the
            # site down with it. The banner reports it.
            failed.write_text(str(error))
            self.stderr.write(f"The bot is not running: {error} The rest of make run keeps going.")
            _pause_until_stopped()

    def _deploy_and_run_bot(self, *, sandbox: bool) -> None:
        if sandbox:
            url = f"{settings.DISCORD_API_BASE_URL}/gateway"
            if not _wait_until(lambda: _answers(url), timeout=60):
                raise CommandError(f"The Discord sandbox did not answer at {url} within 60 s.")
        # The sandbox starts empty, so it always needs the commands; a real application only when they changed.
        call_command("deploy_commands", force=sandbox)
        try:
            call_command("register_role_metadata", force=sandbox)
        except CommandError as error:
            # Linked Roles are an extra: the bot and role sync run without the schema.
            self.stderr.write(f"Linked Roles metadata not registered: {error}")
        if sandbox:
            # Its members hold no roles yet: a first sync now, not at beat's next 5-minute tick.
            queue_full_sync(trigger=RoleSyncRun.Trigger.COMMAND)
        connections.close_all()
        # In this process: a second Django start-up would only delay the bot by seconds.
        call_command("runbot")

    # --- banner ---------------------------------------------------------------------------------------
    def _banner(self) -> None:
        run_dir = _run_dir()
        sandbox = os.environ.get(RUN_DISCORD) == SANDBOX
        site = settings.SITE_URL
        started = datetime.fromtimestamp(float(os.environ.get(RUN_STARTED_AT) or time.time()), tz=UTC)
        waits = {"the web app": lambda: _answers(f"{site}/health")}
        if sandbox or settings.DISCORD_BOT_TOKEN:
            # Not waited for once its process gave up (it said why in the log).
            waits["the bot"] = lambda: bot_is_online() or (run_dir / BOT_FAILED).exists()
        if sandbox:
            sandbox_url = f"http://127.0.0.1:{os.environ.get('DISCORD_SANDBOX_PORT', '8001')}"
            waits["the Discord sandbox"] = lambda: _sandbox_ready(sandbox_url)

            def synced() -> bool:
                run = last_finished_run()
                return run is not None and run.created_at >= started

            waits["the worker (first role sync)"] = synced
        deadline = time.monotonic() + WAIT_SECONDS
        late = [name for name, ready in waits.items() if not _wait_until(ready, deadline=deadline)]
        if (run_dir / BOT_FAILED).exists():
            late.append("the bot")
        connections.close_all()
        password_file = run_dir / "admin-password"
        password = password_file.read_text().strip() if password_file.exists() else f"(see {password_file})"
        members = ", ".join(username for username, _ in DEMO_MEMBERS)
        lines = [
            "DealScale Discord is running." + (" Discord is the local sandbox." if sandbox else ""),
            "",
            f"  Site       {site}/",
            f"  Admin      {site}/admin/   user admin   password {password}",
            f"  Members    {members}   password {DEMO_PASSWORD}",
        ]
        if sandbox:
            lines.append(
                f"  Discord    {sandbox_url}/   the sandbox's guild: channels, members, slash commands"
            )
        else:
            lines.append(
                f"  Discord    your application, guild {settings.DISCORD_GUILD_ID or '(DISCORD_GUILD_ID unset)'}"
            )
        lines += [f"  API docs   {site}/api/docs/", ""]
        if late:
            lines.append(f"  Not up: {', '.join(late)} (see the log above).")
        lines.append(f"Ctrl-C stops everything. This screen again: cat {run_dir / 'banner.txt'}")
        width = max(len(line) for line in lines) + 4
        text = "\n".join(["=" * width, *(f"  {line}" for line in lines), "=" * width])
        (run_dir / "banner.txt").write_text(text + "\n")
        self.stdout.write(text)
        self.stdout.flush()
        # honcho stops everything when one process ends: the banner stays until Ctrl-C.
        _pause_until_stopped()


def _run_dir() -> Path:
    return Path(os.environ.get(RUN_DIR) or Path(settings.BASE_DIR) / ".run")


def _pause_until_stopped() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _sandbox_ready(url: str) -> bool:
    try:
        status = requests.get(f"{url}/_sandbox/status", timeout=2).json()
    except (requests.RequestException, ValueError):
        return False
    return bool(status.get("bot_connected") and status.get("commands"))


def _wait_until(ready, *, timeout: float | None = None, deadline: float | None = None) -> bool:
    deadline = deadline if deadline is not None else time.monotonic() + (timeout or 0)
    while True:
        try:
            if ready():
                return True
        except DatabaseError:
            pass  # e.g. SQLite busy while the worker writes: not ready yet
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
