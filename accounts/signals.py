"""Signals of the accounts app, sent after the transaction that changed the link commits.

Role sync (and anything else keyed on a member's Discord id) connects to these:
`discord_linked(sender, user, discord_id)` and `discord_unlinked(sender, user, discord_id)`.
"""

from django.dispatch import Signal

discord_linked = Signal()
discord_unlinked = Signal()
