from django.urls import path

from leaderboard import api

urlpatterns = [
    path("score-events", api.ScoreEventsApi.as_view(), name="api-score-events"),
    path("leaderboard", api.LeaderboardApi.as_view(), name="api-leaderboard"),
    path("leaderboard/me", api.MyLeaderboardEntryApi.as_view(), name="api-leaderboard-me"),
    path(
        "leaderboard/users/<int:user_id>/history",
        api.UserRankHistoryApi.as_view(),
        name="api-leaderboard-user-history",
    ),
]
