"""Domain events of the credits app, each sent once by the service that causes it, after its commit.

A rolled-back transaction announces nothing, and a listener never runs while the request's locks
are held. Listeners (the Discord side, in `discordbot/receivers.py`) take ids and read what they need:
- `credit_request_created(sender=CreditRequest, credit_request_id)`: a member filed a new request
  (not sent when an idempotent retry returns the first one);
- `credit_request_decided(sender=CreditRequest, credit_request_id, status)`: the request was approved,
  denied or cancelled (by its owner or by a moderator); `status` is the new one.
"""

from django.dispatch import Signal

credit_request_created = Signal()
credit_request_decided = Signal()
