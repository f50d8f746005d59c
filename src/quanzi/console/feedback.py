"""Turning a service's refusal into something an operator sees next to what they typed."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from quanzi.core.errors import ApplicationError


def form_error(
    form: forms.Form, exc: ApplicationError, aliases: Mapping[str, str] | None = None
) -> None:
    """Put each of ``exc``'s messages on the form field it names (``aliases`` maps a service's
    field name to the form's), the rest above the form. Never raises: the page always renders."""
    aliases = aliases or {}
    placed = False
    for field, messages in exc.fields.items():
        name = aliases.get(field, field)
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)
