from allauth.socialaccount.forms import DisconnectForm
from django import forms
from django.contrib import messages
from ipware import get_client_ip

from accounts.errors import NotLinked
from accounts.models import AuditEvent
from accounts.services import unlink_discord


class DiscordAwareDisconnectForm(DisconnectForm):
    """allauth's disconnect form (connections page), unlinking Discord through `unlink_discord`.

    allauth's own disconnect only deletes the row; the project's unlink also revokes the tokens
    at Discord, audits and signals role sync. Installed as SOCIALACCOUNT_FORMS["disconnect"];
    allauth's `clean` still refuses to remove the last way to sign in of a password-less account.
    """

    def save(self) -> None:
        account = self.cleaned_data["account"]
        if account.provider != "discord":
            super().save()
            return
        try:
            unlink_discord(
                user=self.request.user,
                actor=self.request.user,
                source=AuditEvent.Source.WEB,
                ip_address=get_client_ip(self.request)[0],
            )
        except NotLinked:
            pass  # A second tab already unlinked it: the outcome the user asked for.
        messages.success(self.request, "Discord is unlinked and its access was revoked.")


class APITokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What the token is for, e.g. “laptop” or “CI”.",
        widget=forms.TextInput(attrs={"placeholder": "laptop", "autocomplete": "off"}),
    )
