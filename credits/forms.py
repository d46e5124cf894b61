"""Forms of the credits pages and admin: they parse types; the services own the rules."""

from django import forms

from accounts.models import User
from credits.services import NOTE_MAX_LENGTH, REASON_MAX_LENGTH


class CreditRequestForm(forms.Form):
    amount = forms.IntegerField(
        min_value=1, label="Amount", widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the credits are for (10 to 500 characters).",
    )


class DecisionForm(forms.Form):
    """The confirmation step of an approval: an optional note for the member."""

    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Optional; the member sees it.",
    )


class DenialForm(DecisionForm):
    """The confirmation step of a denial: the reason is required and shown to the member."""

    note = forms.CharField(
        label="Reason",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required; the member sees it.",
    )


class BalanceAdjustmentForm(forms.Form):
    username = forms.CharField(label="Member (username)", max_length=150)
    amount = forms.IntegerField(
        label="Amount",
        help_text="Signed: 500 credits the member, -500 debits them. Never below a zero balance.",
    )
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise forms.ValidationError(f"No member with the username {username!r}.")
        return user
