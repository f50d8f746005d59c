from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from quanzi.console.labels import channel_label
from quanzi.console.selectors import ActivityFilters
from quanzi.core.models import ActivityKind


class OperatorLoginForm(AuthenticationForm):
    """Only operators (staff) sign in to the console; members never get this far."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The username or password is not right. Both are case-sensitive."),
        "not_staff": _("This account is not an operator account and cannot use the console."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise ValidationError(self.error_messages["not_staff"], code="not_staff")


class ActivityFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, channels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = cast(forms.ChoiceField, self.fields["kind"])
        kind.choices = [("", _("All kinds")), *ActivityKind.choices]
        channel = cast(forms.ChoiceField, self.fields["channel"])
        channel.choices = [("", _("All channels")), *((c, channel_label(c)) for c in channels)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> ActivityFilters:
        """What was asked for; a field that did not validate filters nothing."""
        data = self.cleaned_data if self.is_valid() else {}
        return ActivityFilters(
            kind=data.get("kind") or "",
            channel=data.get("channel") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, so you know which one to revoke later."),
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Order sync from my shop")}),
    )
