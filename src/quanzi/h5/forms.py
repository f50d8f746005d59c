from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from quanzi.members.identities import IdentityInvalid, normalise_phone


class JoinForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name"),
        max_length=100,
        widget=forms.TextInput(
            attrs={"autocomplete": "name", "placeholder": _("How the group should call you")}
        ),
        error_messages={"required": _("Tell us how the group should call you.")},
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel",
                "placeholder": "138 0013 8000",
            }
        ),
        error_messages={"required": _("Your mobile number is needed to join.")},
    )
    consent = forms.BooleanField(
        label=_("I have read and agree to the privacy notice."),
        error_messages={"required": _("Please agree to the privacy notice to join.")},
    )

    def clean_display_name(self) -> str:
        name = str(self.cleaned_data["display_name"]).strip()
        if not name:
            raise ValidationError(_("Tell us how the group should call you."))
        return name

    def clean_phone(self) -> str:
        try:
            return normalise_phone(self.cleaned_data["phone"])
        except IdentityInvalid:
            raise ValidationError(
                _("Please check the number: it should look like 138 0013 8000.")
            ) from None
