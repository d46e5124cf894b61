from django.urls import path

from credits import views

urlpatterns = [
    path("credits/", views.credits_page, name="credits"),
    path("credits/<int:request_id>/cancel/", views.cancel_request_view, name="credits-cancel"),
]
