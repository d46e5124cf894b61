"""Run ORM code from the bot's event loop without blocking it or keeping dead connections.

Django recycles connections (CONN_MAX_AGE, broken sockets) only around HTTP requests; a bot that runs for
weeks never sees one, so a connection the database dropped overnight would fail every later command. Like
channels' `database_sync_to_async`, every call here runs in a worker thread between two
`close_old_connections()`: an expired or unusable connection is closed and the next query opens a fresh one.
"""

from asgiref.sync import SyncToAsync
from django.db import close_old_connections


class DatabaseSyncToAsync(SyncToAsync):
    """`sync_to_async` that closes expired or broken connections before and after each call."""

    def thread_handler(self, loop, *args, **kwargs):
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            close_old_connections()


def database_sync_to_async(func=None, *, thread_sensitive: bool = True):
    """Wrap a sync function using the ORM so that it can be awaited from the event loop.

    Usable bare (`@database_sync_to_async`) or called (`database_sync_to_async(fn)(...)`).
    """
    if func is None:
        return lambda f: DatabaseSyncToAsync(f, thread_sensitive=thread_sensitive)
    return DatabaseSyncToAsync(func, thread_sensitive=thread_sensitive)
