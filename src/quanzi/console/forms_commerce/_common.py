"""What the commerce forms share: how options read, and setting choices and currencies."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from quanzi.console.forms_communities import MoneyField


def format_options(options: dict[str, str] | None) -> str:
    return " / ".join(f"{k}: {v}" for k, v in (options or {}).items())


def set_choices(form: forms.Form, name: str, choices: list[Any]) -> None:
    cast(forms.ChoiceField, form.fields[name]).choices = choices


def set_currency(form: forms.Form, currency: str, *names: str) -> None:
    for name in names:
        cast(MoneyField, form.fields[name]).currency = currency
