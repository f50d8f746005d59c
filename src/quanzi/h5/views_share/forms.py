"""The forms of the sharing pages: applying to be a distributor, and where payouts go."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanzi.distribution.models import DistributorRole

# Roles a member may ask for here; an influencer (达人) is invited by the operator.
APPLY_ROLES = (DistributorRole.SHARER, DistributorRole.GROUP_LEADER)


class ApplyForm(forms.Form):
    role = forms.ChoiceField(
        label=_("I would like to be"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a role.")},
    )
    application = forms.CharField(
        label=_("A few words for the owner (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": _("Who you would share with, and how"),
            }
        ),
    )
    pickup_point = forms.CharField(
        label=_("Pick-up point (group leaders, optional)"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. the gate of Building 3")}),
    )

    def __init__(self, *args: Any, roles: Sequence[str] = APPLY_ROLES, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["role"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(r, DistributorRole(r).label) for r in roles]
        if len(roles) == 1:
            field.initial = roles[0]


class PayeeForm(forms.Form):
    name = forms.CharField(
        label=_("Account holder's name"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Give the account holder's name.")},
    )
    account = forms.CharField(
        label=_("Bank card number or WeChat account"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": _("Give a bank card number or a WeChat account.")},
    )
