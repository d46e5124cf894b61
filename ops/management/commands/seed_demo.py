"""Load a small demo data set for `make run`: an admin, a few members and their activity.

With `--discord-sandbox-seed FILE` the demo also gets its Discord community, for the Discord sandbox: demo
milestones (unless milestones are configured), each demo member and the admin linked to a sandbox Discord
user, and FILE written for `python -m discord_sandbox --seed FILE`.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import link_demo_discord_account
from accounts.discord_integration import FlagMissing, discord_integration_state, set_discord_integration
from accounts.models import User
from credits.demo import seed_demo_credits
from leaderboard.demo import seed_demo_scores
from ops.demo_community import demo_discord_user, write_community_seed
from rolesync.demo import seed_demo_milestones

DEMO_MEMBERS = [
    ("alice", "Alice Moreau"),
    ("bob", "Bob Okafor"),
    ("carol", "Carol Lindqvist"),
    ("dave", "Dave Tanaka"),
    ("erin", "Erin Walsh"),
]
DEMO_PASSWORD = "demo-password"
# The admin's sandbox Discord user comes after the members'.
ADMIN_DISCORD_INDEX = 99


class Command(BaseCommand):
    help = (
        f"Create demo users (password '{DEMO_PASSWORD}'), an admin with a fresh password written to a file, "
        "and demo activity; with --discord-sandbox-seed, the Discord sandbox's community too."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-password-file",
            type=Path,
            default=Path(settings.BASE_DIR) / ".run" / "admin-password",
            help="Where the admin's new password is written, readable by you only (default: .run/admin-password).",
        )
        parser.add_argument(
            "--discord-sandbox-seed",
            type=Path,
            metavar="FILE",
            help="Also link the demo to the Discord sandbox and write its community seed to FILE.",
        )

    @transaction.atomic
    def handle(self, *args, admin_password_file: Path, discord_sandbox_seed: Path | None = None, **options):
        admin_password = secrets.token_urlsafe(12)
        admin, _ = User.objects.get_or_create(
            username="admin", defaults={"email": "admin@example.com", "display_name": "Admin"}
        )
        admin.is_staff = admin.is_superuser = True
        admin.set_password(admin_password)
        admin.save()

        members = []
        for username, display_name in DEMO_MEMBERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@example.com", "display_name": display_name},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            members.append(user)

        self._open_discord_integration()
        if discord_sandbox_seed is not None:
            if seed_demo_milestones():
                self.stdout.write("Loaded the demo milestones (Rank tiers, Point badges).")
            # Linked before the credits are decided, so the decisions' DMs reach the sandbox's users.
            for index, member in enumerate(members):
                link_demo_discord_account(user=member, discord_user=demo_discord_user(member, index=index))
            link_demo_discord_account(
                user=admin, discord_user=demo_discord_user(admin, index=ADMIN_DISCORD_INDEX)
            )

        seed_demo_credits(members)
        seed_demo_scores(members)

        if discord_sandbox_seed is not None:
            write_community_seed(discord_sandbox_seed)
            self.stdout.write(f"Wrote the Discord sandbox's community to {discord_sandbox_seed}.")
        _write_private(admin_password_file, admin_password + "\n")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(members)} members."))
        # The password stays out of the log: make run's banner reads the file.
        self.stdout.write(f"Admin login: username 'admin', password in {admin_password_file}")

    def _open_discord_integration(self) -> None:
        """Open Discord linking to everyone, unless someone already decided the rollout."""
        try:
            current = discord_integration_state()
        except FlagMissing:
            self.stderr.write("The discord_integration flag is missing: Discord linking stays closed.")
            return
        # The migration's state: a rollout to nobody. A demo with nobody allowed to link shows nothing.
        if current.mode == "rollout" and not current.percent:
            set_discord_integration(mode="on", actor="seed_demo")
            self.stdout.write("Opened Discord linking to every member (discord_integration on).")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    # An existing file keeps its mode through O_CREAT: make sure it is ours only.
    os.chmod(path, 0o600)
