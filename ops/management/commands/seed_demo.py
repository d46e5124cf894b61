"""Load a small demo data set for `make run`: an admin, a few members and their activity."""

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from credits.demo import seed_demo_credits
from leaderboard.demo import seed_demo_scores

DEMO_MEMBERS = [
    ("alice", "Alice Moreau"),
    ("bob", "Bob Okafor"),
    ("carol", "Carol Lindqvist"),
    ("dave", "Dave Tanaka"),
    ("erin", "Erin Walsh"),
]


class Command(BaseCommand):
    help = "Create demo users (password 'demo-password'), an admin with a fresh printed password, and demo activity."

    @transaction.atomic
    def handle(self, *args, **options):
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
                user.set_password("demo-password")
                user.save()
            members.append(user)

        seed_demo_credits(members)
        seed_demo_scores(members)

        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(members)} members."))
        self.stdout.write(f"Admin login: username 'admin', password '{admin_password}'")
