"""Forms of the member shop: checkout with a delivery address, refund requests, evidence.

They check what a person typed (a phone number that is a phone number, an amount that is an
amount); the services decide everything else and their refusals land on the same fields.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from quanzi.core.money import Money, MoneyError
from quanzi.members.identities import IdentityInvalid, normalise_phone
from quanzi.orders.models import AfterSaleKind
from quanzi.orders.services.fulfilment import CARRIERS

# Provincial-level divisions as shipping templates name them (短名: "浙江", not "浙江省").
PROVINCES = (
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "台湾",
    "香港",
    "澳门",
)

MAX_QUANTITY = 999
_PHONE_CHARS = re.compile(r"[\s\-()]")


def _text_input(placeholder: Any = "", **attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": placeholder, **attrs})


class CheckoutForm(forms.Form):
    """What to buy, where it goes, and the one-time token that makes a second tap harmless."""

    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    product = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    sku = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    drop = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=MAX_QUANTITY,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": MAX_QUANTITY}),
        error_messages={
            "required": _("How many?"),
            "invalid": _("Give a whole number."),
            "min_value": _("At least 1."),
            "max_value": _("At most %(limit_value)s."),
        },
    )
    name = forms.CharField(
        label=_("Recipient"),
        max_length=30,
        required=False,
        widget=_text_input(_("Who receives the parcel"), autocomplete="name"),
    )
    phone = forms.CharField(
        label=_("Recipient's phone"),
        max_length=32,
        required=False,
        widget=_text_input("138 0013 8000", type="tel", inputmode="tel", autocomplete="tel"),
    )
    region = forms.ChoiceField(
        label=_("Province"),
        choices=[("", _("Choose a province"))] + [(p, p) for p in PROVINCES],
        required=False,
    )
    address = forms.CharField(
        label=_("Address"),
        max_length=200,
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "autocomplete": "street-address",
                "placeholder": _("City, district, street, building and room"),
            }
        ),
    )
    note = forms.CharField(
        label=_("Note to the seller"),
        max_length=200,
        required=False,
        widget=_text_input(_("Optional")),
    )
    provider = forms.ChoiceField(label=_("Pay with"), choices=(), required=False)

    def __init__(
        self,
        *args: Any,
        needs_shipping: bool = True,
        providers: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.needs_shipping = needs_shipping
        provider_field = self.fields["provider"]
        assert isinstance(provider_field, forms.ChoiceField)
        provider_field.choices = providers or []

    def clean_phone(self) -> str:
        raw = str(self.cleaned_data.get("phone") or "").strip()
        if not raw:
            return ""
        try:
            normalise_phone(raw)
        except IdentityInvalid:
            raise ValidationError(
                _("Please check the number: it should look like 138 0013 8000.")
            ) from None
        return _PHONE_CHARS.sub("", raw)[:20]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.needs_shipping:
            required = {
                "name": _("Who receives the parcel?"),
                "phone": _("The courier needs a phone number."),
                "region": _("Choose the province."),
                "address": _("Where should the parcel go?"),
            }
            for field, message in required.items():
                if field not in self.errors and not str(data.get(field) or "").strip():
                    self.add_error(field, message)
        return data


class RefundForm(forms.Form):
    """A refund request (售后): refund only, or return and refund, with an optional photo."""

    kind = forms.ChoiceField(
        label=_("What do you need?"),
        choices=AfterSaleKind.choices,
        initial=AfterSaleKind.REFUND_ONLY,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose refund only, or return and refund.")},
    )
    amount = forms.CharField(
        label=_("Amount to refund (¥)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"required": _("How much should come back?")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": _("What went wrong? e.g. arrived thawed, wrong size")}
        ),
        error_messages={"required": _("Tell the seller what went wrong.")},
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )

    def __init__(
        self, *args: Any, currency: str = "CNY", kinds: list[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        if kinds is not None:
            kind_field = self.fields["kind"]
            assert isinstance(kind_field, forms.ChoiceField)
            kind_field.choices = [(k, v) for k, v in AfterSaleKind.choices if k in kinds]

    def clean_amount(self) -> int:
        text = str(self.cleaned_data.get("amount") or "").replace("¥", "").strip()
        try:
            amount = Money.parse(text, self.currency)
        except MoneyError:
            raise ValidationError(_("Write the amount like 12.50.")) from None
        if amount.minor <= 0:
            raise ValidationError(_("Ask for more than ¥0."))
        return amount.minor

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data.get("reason") or "").strip()
        if not reason:
            raise ValidationError(_("Tell the seller what went wrong."))
        return reason


class EvidenceForm(forms.Form):
    """More proof for an open case: a photo, a note, or both."""

    note = forms.CharField(
        label=_("Note"),
        max_length=500,
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("Anything the seller should know")}
        ),
    )
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not data.get("photo") and not str(data.get("note") or "").strip():
            raise ValidationError(_("Attach a photo or write a note."))
        return data


class ReturnTrackingForm(forms.Form):
    """The parcel the member sends back for a return and refund."""

    carrier = forms.CharField(
        label=_("Carrier"),
        max_length=50,
        widget=_text_input(CARRIERS[0], list="carriers"),
        error_messages={"required": _("Name the carrier.")},
    )
    tracking_no = forms.CharField(
        label=_("Tracking number"),
        max_length=50,
        widget=_text_input("SF1234567890", autocomplete="off"),
        error_messages={"required": _("Give the tracking number.")},
    )
