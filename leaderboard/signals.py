"""Domain events of the leaderboard.

`leaderboard_recalculated(sender, generations)`: a recalculation published new standings; `generations`
maps each recalculated period to its new generation id. Sent after the generations commit, outside any
transaction: a listener writes what must follow (an outbox entry) in its own.
"""

from django.dispatch import Signal

leaderboard_recalculated = Signal()
