"""The Linked Roles Verification URL (`/discord/linked-roles`) and the profile prompt's "Not now".

Discord's role picker sends a member here. One page walks them through whatever is missing — sign in
(or sign up) with Discord, link, grant the Linked Roles scope — each step a Discord OAuth round trip
that comes back here, and ends by showing which facts DealScale shares with Discord.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import discord_id_for, discord_integration_enabled_for, discord_oauth_configured
from linkedroles import selectors, services


def verification(request):
    user = request.user
    context = {
        "discord_ready": discord_oauth_configured() and discord_integration_enabled_for(request),
        "records": selectors.fact_descriptions(),
    }
    if not user.is_authenticated:
        return render(request, "linkedroles/verification.html", {**context, "step": "sign_in"})
    if discord_id_for(user) is None:
        return render(request, "linkedroles/verification.html", {**context, "step": "link"})
    if not selectors.granted_linked_roles(user):
        return render(request, "linkedroles/verification.html", {**context, "step": "consent"})
    shared = services.share_with_discord(user)
    return render(request, "linkedroles/verification.html", {**context, "step": "shared", "shared": shared})


@login_required
@require_POST
def dismiss_prompt(request):
    services.dismiss_consent_prompt(request.user)
    messages.info(
        request, "Your Discord link keeps working without Linked Roles. You can turn them on later."
    )
    return redirect("profile")
