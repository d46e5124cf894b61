"""The one error model at the Django doors: the DRF handler, the admin message, forms and page messages."""

import json

import pytest
from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ValidationError as DjangoValidationError
from django.test import RequestFactory
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.models import AuditEvent
from dealscale.admin_mixins import message_user_for_error
from dealscale.errors import Conflict, DomainError, NotFound, PermissionDenied, Unavailable
from dealscale.forms import add_error_to_form
from dealscale.messages import add_message_for_error


class SeatTaken(Conflict):
    """A made-up refusal: the handler knows nothing of it but its base."""

    code = "seat_taken"


class RaisingView(APIView):
    authentication_classes = []
    permission_classes = []
    error: Exception | None = None

    def get(self, request):
        raise self.error


def api_answer(error: Exception) -> tuple[int, dict]:
    response = RaisingView.as_view(error=error)(APIRequestFactory().get("/"))
    response.render()
    return response.status_code, json.loads(response.content)


def test_a_domain_error_answers_with_its_status_code_message_and_extra_keys():
    assert api_answer(SeatTaken("Seat 4 is taken.", seat=4)) == (
        409,
        {"detail": "Seat 4 is taken.", "code": "seat_taken", "seat": 4},
    )


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFound("No seat 9."), 404, "not_found"),
        (PermissionDenied("Ushers only."), 403, "permission_denied"),
        (Unavailable("The box office is closed."), 503, "unavailable"),
        (DomainError("Bad seat number."), 400, "invalid"),
        (DomainError("Gone for good.", code="gone", status=410), 410, "gone"),
    ],
)
def test_each_base_sets_its_status_and_code_and_a_raise_may_override_them(error, status, code):
    assert api_answer(error) == (status, {"detail": error.message, "code": code})


def test_field_errors_answer_as_drf_validation_errors_do():
    error = DomainError("seat: Taken.", fields={"seat": ["Taken."], "row": ["Closed.", "Too far."]})

    assert api_answer(error) == (400, {"seat": ["Taken."], "row": ["Closed.", "Too far."]})


def test_drf_and_django_errors_keep_their_bodies_with_the_code_beside_detail():
    assert api_answer(exceptions.NotFound()) == (404, {"detail": "Not found.", "code": "not_found"})
    assert api_answer(DjangoValidationError({"seat": ["Taken."]})) == (400, {"seat": ["Taken."]})


def request_with_messages():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


LEVELS = [
    (SeatTaken("Seat 4 is taken."), messages.WARNING),
    (NotFound("No seat 9."), messages.WARNING),
    (PermissionDenied("Ushers only."), messages.ERROR),
    (DomainError("Bad seat number."), messages.ERROR),
]


@pytest.mark.parametrize(("error", "level"), LEVELS)
def test_the_admin_tells_a_refusal_by_its_message_a_warning_when_the_state_moved_on(error, level):
    request = request_with_messages()

    message_user_for_error(ModelAdmin(AuditEvent, AdminSite()), request, error)

    assert [(m.message, m.level) for m in messages.get_messages(request)] == [(error.message, level)]


@pytest.mark.parametrize(("error", "level"), LEVELS)
def test_a_page_tells_a_refusal_the_same_way(error, level):
    request = request_with_messages()

    add_message_for_error(request, error)

    assert [(m.message, m.level) for m in messages.get_messages(request)] == [(error.message, level)]


class SeatForm(forms.Form):
    seat = forms.IntegerField()


def test_a_form_shows_field_errors_under_their_field_and_any_other_on_top():
    form = SeatForm({"seat": "4"})
    assert form.is_valid()

    add_error_to_form(form, DomainError("…", fields={"seat": ["Taken."], "row": ["Closed."]}))

    assert form.errors == {"seat": ["Taken."], "__all__": ["Closed."]}


def test_a_form_shows_a_refusal_without_fields_on_top():
    form = SeatForm({"seat": "4"})
    assert form.is_valid()

    add_error_to_form(form, SeatTaken("Seat 4 is taken."))

    assert form.errors == {"__all__": ["Seat 4 is taken."]}
