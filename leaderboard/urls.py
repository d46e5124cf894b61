from django.urls import path

from leaderboard import views

urlpatterns = [
    path("leaderboard", views.leaderboard, name="leaderboard"),
    path("leaderboard/users/<int:user_id>", views.member, name="leaderboard-member"),
]
