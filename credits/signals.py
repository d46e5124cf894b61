"""Domain events of the credits app, each sent once by the service that causes it, inside its transaction.

A listener runs while the change is not yet committed (and the request's locks are held): it only writes
to the database, e.g. the outbox entries of its side effects (`dealscale.outbox.add`), which then commit
or roll back with the change. Nothing may leave the database from a listener: the outbox delivers it
after the commit. Listeners (the Discord side, in `discordbot/receivers.py`) take ids and read what they need:
- `credit_request_created(sender=CreditRequest, credit_request_id)`: a member filed a new request
  (not sent when an idempotent retry returns the first one);
- `credit_request_decided(sender=CreditRequest, credit_request_id, status)`: the request was approved,
  denied or cancelled (by its owner or by a moderator); `status` is the new one.
"""

from django.dispatch import Signal

credit_request_created = Signal()
credit_request_decided = Signal()
