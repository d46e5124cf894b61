"""Signals of the accounts app, sent inside the transaction that changes the link.

A listener only writes to the database (e.g. the outbox entry of a role sync), so its writes commit or
roll back with the link; nothing leaves the database before the commit.

Role sync (and anything else keyed on a member's Discord id) connects to these:
`discord_linked(sender, user, discord_id)` and `discord_unlinked(sender, user, discord_id)`.
"""

from django.dispatch import Signal

discord_linked = Signal()
discord_unlinked = Signal()
