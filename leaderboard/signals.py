"""Signals other apps hook (role sync, notifications).

`ranks_changed(sender=SnapshotGeneration, period, generation, changes)` is sent after a new
generation of `period` commits. `changes` is a lazy queryset of that generation's
LeaderboardSnapshot rows whose rank differs from `previous_rank` (new entrants have
previous_rank None): filter it (e.g. `rank__lte=10`) rather than loading a million rows.
"""

from django.dispatch import Signal

ranks_changed = Signal()
