"""`manage.py rotate_token_key`: re-encrypt every stored Discord token under the first key.

Rotation: prepend the new key to DISCORD_TOKEN_ENCRYPTION_KEY (new,old), deploy, run this command,
then remove the old key.
"""

import getpass

from django.core.management.base import BaseCommand, CommandError

from accounts.crypto import TokenDecryptionError
from accounts.services import rotate_token_encryption


class Command(BaseCommand):
    help = "Re-encrypt every stored Discord token under the first key of DISCORD_TOKEN_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        try:
            # The shell user who ran the command: the CLI has no signed-in actor.
            count = rotate_token_encryption(actor=getpass.getuser())
        except TokenDecryptionError as error:
            raise CommandError(f"{error} Nothing was changed.") from error
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {count} Discord token row(s) under the first key.")
        )
