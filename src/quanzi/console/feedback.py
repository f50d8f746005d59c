"""Turning a service's refusal into something an operator sees next to what they typed, and
its success into a message on the page the operator is sent to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from quanzi.core.errors import ApplicationError


def form_error(
    form: forms.Form, exc: ApplicationError, aliases: Mapping[str, str] | None = None
) -> None:
    """Put each of ``exc``'s messages on the form field it names (``aliases`` maps a service's
    field name to the form's), the rest above the form. Never raises: the page always renders."""
    aliases = aliases or {}
    placed = False
    for field, texts in exc.fields.items():
        name = aliases.get(field, field)
        if name in form.fields:
            for message in texts:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


_T = TypeVar("_T")


def form_saved(
    request: HttpRequest,
    form: forms.Form,
    write: Callable[[], _T],
    *,
    success: str | Callable[[_T], str],
    to: str,
    aliases: Mapping[str, str] | None = None,
    **url_kwargs: Any,
) -> HttpResponse | None:
    """Call the service in ``write`` for a valid ``form``. Done: flash ``success`` (or
    ``success(its result)``) and redirect to the URL named ``to``. Refused: the refusal goes on the form (see
    ``form_error``) and None comes back, so the view shows its page again with the form."""
    try:
        result = write()
    except ApplicationError as exc:
        form_error(form, exc, aliases)
        return None
    messages.success(request, success(result) if callable(success) else success)
    response: HttpResponse = redirect(to, **url_kwargs)
    return response
