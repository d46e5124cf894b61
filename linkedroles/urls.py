from django.urls import path

from linkedroles import views

urlpatterns = [
    path("discord/linked-roles", views.verification, name="linked-roles"),
    path("discord/linked-roles/not-now", views.dismiss_prompt, name="linked-roles-dismiss"),
]
