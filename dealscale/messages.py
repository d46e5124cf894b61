"""A service's refusal told on a web page or in the admin, through django.contrib.messages."""

from django.contrib import messages
from django.http import HttpRequest

from dealscale.errors import Conflict, DomainError, NotFound


def message_level_for(error: DomainError) -> int:
    """A warning when the state merely moved on (already done, gone meanwhile), else an error."""
    return messages.WARNING if isinstance(error, Conflict | NotFound) else messages.ERROR


def add_message_for_error(request: HttpRequest, error: DomainError) -> None:
    """Show `error.message` on the next page, at the level `message_level_for` gives."""
    messages.add_message(request, message_level_for(error), error.message)
