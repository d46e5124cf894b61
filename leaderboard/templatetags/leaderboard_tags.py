"""Template helpers of the leaderboard: movement arrows and the rank-history chart.

Use on any page: `{% load leaderboard_tags %}{% rank_history_chart some_user days=30 %}`, or
`{% include "leaderboard/_rank_history_chart.html" %}` for the signed-in user's chart (the profile).
"""

from django import template

from leaderboard.selectors import history_chart_points

register = template.Library()


@register.inclusion_tag("leaderboard/_movement.html")
def rank_movement(entry):
    """▲ n (up), ▼ n (down), – (unchanged) or "new" for an entry's rank against the generation before."""
    if entry.previous_rank is None:
        return {"kind": "new"}
    change = entry.previous_rank - entry.rank
    if change > 0:
        return {"kind": "up", "change": change}
    if change < 0:
        return {"kind": "down", "change": -change}
    return {"kind": "same"}


@register.inclusion_tag("leaderboard/_rank_history_svg.html")
def rank_history_chart(user, days: int = 30, period: str = "all"):
    """The inline SVG chart of `user`'s daily rank over the last `days` days."""
    return {"chart": history_chart_points(user, days=days, period=period), "days": days, "member": user}
