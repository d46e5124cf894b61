"""Signals of the accounts app, sent inside the transaction that changes the link.

A listener only writes to the database (e.g. the outbox entry of a role sync), so its writes commit or
roll back with the link; nothing leaves the database before the commit.

Role sync (and anything else keyed on a member's Discord id) connects to these:
`discord_linked(sender, user, discord_id)` and `discord_unlinked(sender, user, discord_id)`.

`discord_unlinking(sender, user, discord_id)` is sent before anything is revoked or deleted, outside any
transaction, while the member's tokens still work: the last chance to undo what the app set at Discord
with them (Linked Roles clears the member's role connection). A listener's failure never blocks an unlink.

`member_deactivated(sender, user)` is sent by every save that leaves a member inactive (the admin's
"active" box, a script), inside that save's transaction: roles granted for being a member must go.
"""

from django.dispatch import Signal

discord_linked = Signal()
discord_unlinked = Signal()
discord_unlinking = Signal()
member_deactivated = Signal()
