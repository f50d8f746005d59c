"""Forms of the console's distribution pages: the applications queue, commission rules and the
distribution terms, settlement filters and payout batches.

They check what was typed and say what is wrong in the operator's language; the distribution
services own every rule (two levels at most, 100 % at most, a payout never above the payable
balance) and check again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanzi.console.forms_commerce._common import set_choices, set_currency
from quanzi.console.forms_communities import MoneyField
from quanzi.distribution.models import (
    CommissionKind,
    CommissionLevel,
    CommissionStatus,
    DistributorRole,
    DistributorStatus,
)

# --- Applications ------------------------------------------------------------------------------


class DistributorFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "status", [("", _("All statuses")), *DistributorStatus.choices])
        set_choices(self, "role", [("", _("All roles")), *DistributorRole.choices])

    def filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return {"status": data.get("status") or "", "role": data.get("role") or ""}


class ApproveDistributorForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("Optional")}),
    )


class ReasonForm(forms.Form):
    """Reject or suspend a distributor: the reason is required, and the member sees it."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("The member sees this")}),
        error_messages={"required": _("Say why; the member sees it.")},
    )


# --- Rules and terms ---------------------------------------------------------------------------


class CommissionRuleForm(forms.Form):
    """A commission rule. The level offers the direct referrer and the one above, nothing
    further; a percentage is typed as a percent (12.5) and stored in basis points, a fixed
    amount in yuan and stored in fen."""

    level = forms.TypedChoiceField(
        label=_("Who earns"),
        coerce=int,
        choices=CommissionLevel.choices,
        initial=CommissionLevel.DIRECT,
    )
    kind = forms.ChoiceField(
        label=_("Commission"),
        choices=[
            (CommissionKind.PERCENT, _("Percentage of the amount paid")),
            (CommissionKind.FIXED, _("Fixed amount per unit")),
        ],
    )
    percent = forms.DecimalField(
        label=_("Percentage (%)"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": "10"}),
        help_text=_("Of what the buyer actually paid for the line, after discounts."),
    )
    fixed = MoneyField(
        label=_("Fixed amount (yuan)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "5.00"}),
        help_text=_("Per unit sold, never more than the line's amount."),
    )
    role = forms.ChoiceField(label=_("For role"), required=False)
    product = forms.TypedChoiceField(
        label=_("Product"), required=False, coerce=int, empty_value=None
    )
    category = forms.CharField(
        label=_("Category"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Seafood")}),
        help_text=_("Empty with no product: every sale in the community."),
    )

    def __init__(
        self, *args: Any, products: list[tuple[int, str]], currency: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        set_currency(self, currency, "fixed")
        set_choices(self, "role", [("", _("Every role")), *DistributorRole.choices])
        set_choices(self, "product", [("", _("Any product")), *products])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind == CommissionKind.PERCENT:
            if data.get("percent") is None and "percent" not in self.errors:
                self.add_error("percent", _("Give the percentage, e.g. 10 for 10 %."))
            data["fixed"] = None
        elif kind == CommissionKind.FIXED:
            fixed = data.get("fixed")
            if fixed is None and "fixed" not in self.errors:
                self.add_error("fixed", _("Give the amount per unit, e.g. 5.00."))
            elif fixed is not None and fixed < 1:
                self.add_error("fixed", _("A fixed commission is at least 0.01."))
            data["percent"] = None
        if data.get("product") and (data.get("category") or "").strip():
            self.add_error("category", _("A rule is for one product or one category, not both."))
        return data

    @property
    def percent_bp(self) -> int:
        percent = self.cleaned_data.get("percent")
        return int(percent * 100) if percent is not None else 0

    @property
    def fixed_minor(self) -> int:
        return int(self.cleaned_data.get("fixed") or 0)


class DistributionSettingsForm(forms.Form):
    attribution_days = forms.IntegerField(
        label=_("Attribution window (days)"),
        min_value=1,
        max_value=90,
        help_text=_("An order goes to the last sharer whose link the buyer opened this recently."),
    )
    binding_days = forms.IntegerField(
        label=_("Customer binding (days)"),
        min_value=0,
        max_value=365,
        help_text=_("锁客: a new member stays with whoever brought them this long. 0: no binding."),
    )
    return_window_days = forms.IntegerField(
        label=_("Return window (days)"),
        min_value=0,
        max_value=90,
        help_text=_("Commission becomes payable this long after the goods are received."),
    )
    min_payout = MoneyField(
        label=_("Smallest payout (yuan)"),
        help_text=_("A payout batch leaves out anyone with less than this payable."),
    )
    second_level = forms.BooleanField(
        label=_("Also pay the one who brought the sharer (second level)"), required=False
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_currency(self, currency, "min_payout")

    def clean_min_payout(self) -> int:
        value = self.cleaned_data.get("min_payout")
        if not value:
            raise forms.ValidationError(_("The smallest payout is at least 0.01."))
        return int(value)

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "attribution_days": data["attribution_days"],
            "binding_days": data["binding_days"],
            "return_window_days": data["return_window_days"],
            "min_payout_minor": data["min_payout"],
            "second_level": bool(data["second_level"]),
        }


# --- Settlement --------------------------------------------------------------------------------


class CommissionFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    beneficiary = forms.TypedChoiceField(
        label=_("Earned by"), required=False, coerce=int, empty_value=None
    )
    order = forms.CharField(
        label=_("Order number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Q2405…"}),
    )

    def __init__(self, *args: Any, beneficiaries: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "status", [("", _("All statuses")), *CommissionStatus.choices])
        set_choices(self, "beneficiary", [("", _("Everyone")), *beneficiaries])

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "status": data.get("status") or "",
            "beneficiary": data.get("beneficiary"),
            "order": (data.get("order") or "").strip(),
        }

    @property
    def active(self) -> bool:
        return any(v not in ("", None) for v in self.filters().values())


class PayoutCreateForm(forms.Form):
    """The confirm step of a new batch: the total the operator saw, so a balance that changed
    in between is noticed instead of paid blindly."""

    expected_total = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. May commission, bank transfer")}),
    )


class PayoutPaidForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I have made every transfer in this batch"),
        error_messages={"required": _("Tick this once every transfer has been made.")},
    )


class PayoutCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is cancelled"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Bank details were wrong")}),
        error_messages={"required": _("Say why the batch is cancelled.")},
    )
