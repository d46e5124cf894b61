"""Server-rendered leaderboard pages."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from accounts.models import User
from leaderboard import selectors
from leaderboard.periods import Period

PAGE_SIZE = 100


@login_required
def leaderboard(request):
    period = request.GET.get("period", Period.ALL)
    if period not in Period.values:
        period = Period.ALL
    generation = selectors.live_generation(period)
    entries = (
        selectors.top_entries(period=period, limit=PAGE_SIZE, generation=generation) if generation else []
    )
    own = selectors.entry_for(request.user, period=period)
    return render(
        request,
        "leaderboard/leaderboard.html",
        {
            "period": period,
            "periods": Period.choices,
            "generation": generation,
            "entries": entries,
            "own": own,
            "own_below": own is not None and own.position > PAGE_SIZE,
        },
    )


@login_required
def member(request, user_id: int):
    member = get_object_or_404(User, pk=user_id, is_active=True)
    standings = [(label, selectors.entry_for(member, period=value)) for value, label in Period.choices]
    return render(request, "leaderboard/member.html", {"member": member, "standings": standings})
