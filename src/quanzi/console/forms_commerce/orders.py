"""Forms of the order, shipping and after-sales pages."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quanzi.console.forms_commerce._common import set_choices, set_currency
from quanzi.console.forms_communities import MoneyField
from quanzi.orders.models import AfterSaleKind, OrderLine, OrderStatus
from quanzi.orders.services.fulfilment import CARRIERS

# --- Orders ------------------------------------------------------------------------------------


class OrderFilterForm(forms.Form):
    number = forms.CharField(
        label=_("Order number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Q2405…"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    drop = forms.TypedChoiceField(
        label=_("Group-buy"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, drops: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "status", [("", _("All statuses")), *OrderStatus.choices])
        set_choices(self, "drop", [("", _("All orders")), *drops])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``order_list``; a field that did not validate filters nothing."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "status": data.get("status") or "",
            "number": data.get("number") or "",
            "drop_id": data.get("drop"),
            "since": _day_start(data.get("date_from")),
            "until": _day_start(data["date_to"] + timedelta(days=1))
            if data.get("date_to")
            else None,
        }

    @property
    def active(self) -> bool:
        return any(v not in ("", None) for v in self.filters().values())


def _day_start(day: date | None) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


class CancelOrderForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. The member asked to cancel")}),
    )


class ConfirmTransferForm(forms.Form):
    amount = MoneyField(
        label=_("Amount received"),
        help_text=_("Exactly what arrived in your account; it must be the order's total."),
    )
    note = forms.CharField(
        label=_("Transfer reference"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. last 4 digits, payer name")}),
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_currency(self, currency, "amount")


OTHER_CARRIER = "other"


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(label=_("Carrier"))
    carrier_other = forms.CharField(
        label=_("Other carrier"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("Carrier name")}),
    )
    tracking_no = forms.CharField(
        label=_("Tracking number"),
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "SF1234567890", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(
            self,
            "carrier",
            [*((c, c) for c in CARRIERS), (OTHER_CARRIER, _("Other (type it in)"))],
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("carrier") == OTHER_CARRIER:
            other = (data.get("carrier_other") or "").strip()
            if not other:
                self.add_error("carrier_other", _("Type the carrier's name."))
            data["carrier"] = other
        return data


class RefundOpenForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=AfterSaleKind.choices)
    amount = MoneyField(label=_("Amount to refund"))
    line = forms.TypedChoiceField(label=_("Product"), required=False, coerce=int, empty_value=None)
    quantity = forms.IntegerField(
        label=_("Units returned"), required=False, min_value=1, max_value=999
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Arrived thawed")}),
    )

    def __init__(self, *args: Any, lines: list[OrderLine], currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_currency(self, currency, "amount")
        set_choices(
            self,
            "line",
            [
                ("", _("The whole order")),
                *((line.pk, f"{line.name} × {line.quantity}") for line in lines),
            ],
        )


# --- After-sales -------------------------------------------------------------------------------

RESTOCK_CHOICES = [
    ("", _("Default")),
    ("yes", _("Put the units back on sale")),
    ("no", _("Do not restock")),
]


def _restock(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class ApproveForm(forms.Form):
    restock = forms.ChoiceField(label=_("Stock"), required=False, choices=RESTOCK_CHOICES)
    note = forms.CharField(
        label=_("Note to the member"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("Optional")}),
    )

    def restock_choice(self) -> bool | None:
        return _restock(self.cleaned_data.get("restock") or "")


class MarkReturnedForm(forms.Form):
    restock = forms.ChoiceField(label=_("Stock"), required=False, choices=RESTOCK_CHOICES)

    def restock_choice(self) -> bool | None:
        return _restock(self.cleaned_data.get("restock") or "")


class RejectForm(forms.Form):
    note = forms.CharField(
        label=_("Why it is refused"),
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("The member sees this")}),
        error_messages={"required": _("Say why the request is refused; the member sees it.")},
    )


class ShippingExportForm(forms.Form):
    addresses = forms.BooleanField(label=_("Include full addresses"), required=False)
