"""A service's refusal shown on the form that submitted it."""

from django import forms

from dealscale.errors import DomainError


def add_error_to_form(form: forms.Form, error: DomainError) -> None:
    """Each field error under its field (the form's top when it has no such field), else the message on top."""
    if not error.fields:
        form.add_error(None, error.message)
        return
    for field, field_messages in error.fields.items():
        form.add_error(field if field in form.fields else None, field_messages)
