"""Create a score-webhook service key; prints `key=` and `secret=` once (stored hashed / encrypted)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug

from dealscale.errors import DomainError
from leaderboard.services import create_service_key


class Command(BaseCommand):
    help = (
        "Create a service key for POST /api/score-events and print its key and signing secret (shown once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The key's name, also the source of the events it sends (a slug).")

    def handle(self, *args, name: str, **options):
        try:
            validate_slug(name)
        except ValidationError:
            raise CommandError("The name must be a slug: letters, digits, '-' or '_'.") from None
        try:
            _, key, secret = create_service_key(name=name)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stderr.write("Store these now: they are shown only once.")
        self.stdout.write(f"key={key}")
        self.stdout.write(f"secret={secret}")
