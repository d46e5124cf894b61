from django.core.management.base import BaseCommand, CommandError

from accounts.models import AuditEvent, User
from accounts.services import create_api_token


class Command(BaseCommand):
    help = "Create a personal API token for a user; the token is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="default", help="A label to tell tokens apart.")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        token, key = create_api_token(user=user, name=name, source=AuditEvent.Source.CLI)
        self.stdout.write(f"Created API token {token.name!r} for {user.username} (shown once):")
        self.stdout.write(key)
