"""Forms of the console's crystal pages: the terms and earn rules, the rewards catalogue,
redemptions, growth levels, and what an operator gives a contributor (crystals, cash, a perk).

They check what was typed and say what is wrong in the operator's language; the rewards
services own every rule (caps, costs, a balance never below zero) and check again.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanzi.console.forms_commerce._common import set_choices, set_currency
from quanzi.console.forms_communities import MoneyField
from quanzi.members import selectors as members
from quanzi.members.models import Level, Member
from quanzi.rewards.models import CrystalAction, RewardKind

MAX_CRYSTALS = 1_000_000
MAX_CAP = 100_000_000

# What members do that a rule may reward; an operator's award has no rule.
RULED_ACTIONS = [(a.value, a.label) for a in CrystalAction if a != CrystalAction.MANUAL]


def new_token() -> str:
    """A one-time key a form carries, so a double click or a resent form gives once."""
    return secrets.token_hex(12)


class MemberField(forms.CharField):
    """A member by number (``123`` or ``#123``) or by a phone, email or WeChat unionid they
    hold; cleaned to the member record."""

    default_error_messages = {
        "unknown": _("No member with this number, phone or email."),
        "many": _("Several members hold this; give the member number instead."),
        "closed": _("This member record is closed (merged or anonymised)."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault(
            "help_text", _("The member number (on their page), or their phone or email.")
        )
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"placeholder": "#128 / 138…", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Member | None:
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        # "#128" is a member number; anything else is first read as a phone, email or unionid,
        # and plain digits no identity holds as a member number.
        ids = [] if text.startswith("#") else members.member_ids_by_identity_value(text)
        number = text.removeprefix("#")
        if not ids and number.isdigit() and len(number) <= 12:
            ids = [int(number)]
        found = list(Member.objects.filter(pk__in=set(ids)))
        if not found:
            raise forms.ValidationError(self.error_messages["unknown"], code="unknown")
        if len(found) > 1:
            raise forms.ValidationError(self.error_messages["many"], code="many")
        member = members.member_current(found[0])
        if not member.is_active_record:
            raise forms.ValidationError(self.error_messages["closed"], code="closed")
        return member


def _crystals(label: Any, *, low: int = 0, high: int = MAX_CAP, **kwargs: Any) -> Any:
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1"}),
        **kwargs,
    )


# --- Terms and rules ---------------------------------------------------------------------------


class RewardSettingsForm(forms.Form):
    daily_cap = _crystals(
        _("Daily cap per member"), help_text=_("Over every rule together. 0: no cap.")
    )
    weekly_cap = _crystals(_("Weekly cap per member"), help_text=_("Monday to Sunday. 0: no cap."))
    expiry_days = _crystals(
        _("Crystals expire after (days)"),
        high=3_650,
        help_text=_("Counted from when they were earned. 0: never."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        daily, weekly = data.get("daily_cap"), data.get("weekly_cap")
        if daily and weekly and weekly < daily:
            self.add_error("weekly_cap", _("The weekly cap cannot be below the daily cap."))
        return data


class CrystalRuleForm(forms.Form):
    """One action's rule, as a row of the rules table (prefixed with the action)."""

    amount = _crystals(_("Crystals"), low=1, high=MAX_CRYSTALS)
    daily_cap = _crystals(_("Daily cap"), required=False)
    weekly_cap = _crystals(_("Weekly cap"), required=False)
    active = forms.BooleanField(label=_("On"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["daily_cap"] = data.get("daily_cap") or 0
        data["weekly_cap"] = data.get("weekly_cap") or 0
        if data["daily_cap"] and data["weekly_cap"] and data["weekly_cap"] < data["daily_cap"]:
            self.add_error("weekly_cap", _("The weekly cap cannot be below the daily cap."))
        return data


# --- Rewards and redemptions -------------------------------------------------------------------


class CrystalRewardForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. A box of hairtail")}),
    )
    kind = forms.ChoiceField(label=_("Type"), choices=RewardKind.choices)
    cost = _crystals(_("Cost in crystals"), low=1, high=MAX_CRYSTALS)
    product = forms.TypedChoiceField(
        label=_("Product it gives"), required=False, coerce=int, empty_value=None
    )
    coupon_value = MoneyField(label=_("Coupon value (yuan)"), required=False)
    stock = _crystals(_("Stock"), high=1_000_000, required=False, help_text=_("Empty: unlimited."))

    def __init__(
        self, *args: Any, products: list[tuple[int, str]], currency: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        set_currency(self, currency, "coupon_value")
        set_choices(self, "product", [("", _("Choose a product")), *products])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind == RewardKind.PRODUCT and not data.get("product") and "product" not in self.errors:
            self.add_error("product", _("Choose the product it gives."))
        if kind != RewardKind.PRODUCT:
            data["product"] = None
        if kind == RewardKind.COUPON:
            if not data.get("coupon_value") and "coupon_value" not in self.errors:
                self.add_error("coupon_value", _("Give what the coupon is worth, e.g. 10."))
        else:
            data["coupon_value"] = None
        return data


class CrystalRewardUpdateForm(forms.Form):
    cost = _crystals(_("Cost"), low=1, high=MAX_CRYSTALS)
    active = forms.BooleanField(label=_("Can be redeemed"), required=False)


class RedemptionFulfilForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Shipped SF123…")}),
    )


class RedemptionCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is cancelled"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("The member sees this")}),
        error_messages={"required": _("Say why; the crystals go back to the member.")},
    )


# --- Levels ------------------------------------------------------------------------------------


class GrowthLevelForm(forms.Form):
    level = forms.ChoiceField(label=_("Level"), choices=Level.choices)
    min_earned = _crystals(
        _("Crystals earned to reach it"),
        high=2_000_000_000,
        help_text=_("Counted over time, net of clawbacks; spending never lowers a level."),
    )
    discount_percent = forms.IntegerField(
        label=_("Discount (%)"),
        min_value=0,
        max_value=50,
        initial=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("Off every order at checkout; at most 50 %."),
    )
    group = forms.TypedChoiceField(
        label=_("Group seat it brings"), required=False, coerce=int, empty_value=None
    )
    badge = forms.CharField(
        label=_("Badge"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Seafood expert")}),
    )

    def __init__(self, *args: Any, groups: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "group", [("", _("No group")), *groups])


# --- Contributors ------------------------------------------------------------------------------


class AwardForm(forms.Form):
    member = MemberField(label=_("Member"))
    amount = _crystals(_("Crystals"), low=1, high=MAX_CRYSTALS)
    note = forms.CharField(
        label=_("Why"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Wrote the best recipe this month")}),
        error_messages={"required": _("Say why; the member sees it in their history.")},
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=40)


class CashRewardForm(forms.Form):
    member = MemberField(label=_("Member"))
    amount = MoneyField(label=_("Amount (yuan)"))
    reason = forms.CharField(
        label=_("Why"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Organised the May tasting")}),
        error_messages={"required": _("Say why; it is recorded with the payment.")},
    )
    confirm = forms.BooleanField(
        label=_("Pay this with their next payout"),
        error_messages={"required": _("Tick this to confirm the amount.")},
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=40)

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_currency(self, currency, "amount")

    def clean_amount(self) -> int:
        value = self.cleaned_data.get("amount")
        if not value:
            raise forms.ValidationError(_("Give an amount of at least 0.01."))
        return int(value)


class PerkForm(forms.Form):
    member = MemberField(label=_("Member"))
    name = forms.CharField(
        label=_("Perk"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. A crab dinner for two")}),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
