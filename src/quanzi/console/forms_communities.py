"""Forms of the console's community pages: communities, groups, plans, memberships,
invitations. They check what was typed; the services own the rules and check again."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quanzi.communities.models import (
    CommunityKind,
    Group,
    MembershipPlan,
    MembershipStatus,
    PlanKind,
    Tier,
    Vertical,
)
from quanzi.console.labels import channel_choices
from quanzi.core.money import Money, MoneyError

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")

# Which plan fields each kind uses: the form shows these and no others (DESIGN.md, loop 4).
PLAN_FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    PlanKind.ANNUAL: ("price", "duration_days", "grace_days", "reminder_days"),
    PlanKind.LIFETIME: ("price",),
    PlanKind.FREE: (),
    PlanKind.PRODUCT_GRANT: ("product_id", "duration_days", "grace_days", "reminder_days"),
    PlanKind.FEE_GOODS: (
        "price",
        "goods_description",
        "goods_value",
        "duration_days",
        "grace_days",
        "reminder_days",
    ),
}
KIND_SPECIFIC = sorted({f for fields in PLAN_FIELDS_BY_KIND.values() for f in fields})


class MoneyField(forms.CharField):
    """An amount as a person types it (``199``, ``1,299.00``, ``¥99``), cleaned to minor units."""

    def __init__(self, *args: Any, currency: str = "CNY", **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean(self, value: Any) -> int | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            amount = Money.parse(text, self.currency)
        except MoneyError:
            raise ValidationError(
                _("Write an amount like 199 or 1,299.00."), code="invalid"
            ) from None
        if amount.minor < 0:
            raise ValidationError(_("An amount cannot be negative."), code="negative")
        return amount.minor


class CommunityCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Morning English circle")}),
    )
    slug = forms.CharField(
        label=_("Short name for links"),
        max_length=50,
        help_text=_("Lowercase letters, digits and dashes, e.g. english-circle."),
    )
    kind = forms.ChoiceField(label=_("Type"), choices=CommunityKind.choices)
    vertical = forms.ChoiceField(label=_("Field"), choices=Vertical.choices, initial="other")
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_slug(self) -> str:
        slug = str(self.cleaned_data["slug"]).strip()
        if not _SLUG.match(slug):
            raise ValidationError(
                _("Use lowercase letters, digits and dashes, e.g. english-circle.")
            )
        return slug


class GroupCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices)
    capacity = forms.IntegerField(
        label=_("Capacity"),
        min_value=1,
        max_value=100_000,
        initial=500,
        help_text=_("A WeChat group holds 500."),
    )
    required_plan = forms.TypedChoiceField(
        label=_("Only for members of"), required=False, coerce=int, empty_value=None
    )
    ends_on = forms.DateField(
        label=_("Ends on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional: the group is archived after this day."),
    )
    rules = forms.CharField(
        label=_("Group rules"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    welcome_template = forms.CharField(
        label=_("Welcome message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("{name}, {group} and {community} are filled in for each new member."),
    )
    intro_prompt = forms.CharField(
        label=_("Self-introduction prompt"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, plans: list[MembershipPlan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["required_plan"]).choices = [
            ("", _("Anyone with the link")),
            *((p.pk, p.name) for p in plans),
        ]

    def clean_ends_on(self) -> Any:
        ends_on = self.cleaned_data.get("ends_on")
        if ends_on and ends_on < timezone.localdate():
            raise ValidationError(_("The end date is in the past."))
        return ends_on


class KolSeatForm(forms.Form):
    member = forms.IntegerField(
        label=_("Member #"),
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    title = forms.CharField(
        label=_("Title"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Pronunciation coach")}),
    )


class PlanCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Membership model"), choices=PlanKind.choices)
    price = MoneyField(label=_("Price"), required=False)
    duration_days = forms.IntegerField(
        label=_("Term (days)"),
        required=False,
        min_value=1,
        max_value=3660,
        help_text=_("Empty: 365 days; for a product grant, empty means for life."),
    )
    grace_days = forms.IntegerField(
        label=_("Grace period (days)"),
        min_value=0,
        max_value=366,
        initial=0,
        required=False,
        help_text=_("Days after expiry before the member leaves paid groups."),
    )
    reminder_days = forms.IntegerField(
        label=_("Remind before expiry (days)"),
        min_value=0,
        max_value=366,
        initial=7,
        required=False,
    )
    product_id = forms.IntegerField(
        label=_("Product id"),
        required=False,
        min_value=1,
        help_text=_("Buying this product grants the membership."),
    )
    goods_description = forms.CharField(
        label=_("Goods the fee brings"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": _("e.g. Two boxes of meal-replacement shakes")}
        ),
    )
    goods_value = MoneyField(
        label=_("Value of the goods"),
        required=False,
        help_text=_("At least the fee. Empty: equal to the fee."),
    )
    groups = forms.TypedMultipleChoiceField(
        label=_("Groups it opens"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    discount_percent = forms.IntegerField(
        label=_("Member discount (%)"), min_value=0, max_value=100, initial=0, required=False
    )
    member_only_content = forms.BooleanField(label=_("Member-only content"), required=False)

    def __init__(self, *args: Any, groups: list[Group], currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedMultipleChoiceField, self.fields["groups"]).choices = [
            (g.pk, g.name) for g in groups
        ]
        for name in ("price", "goods_value"):
            cast(MoneyField, self.fields[name]).currency = currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if not kind:
            return data
        used = PLAN_FIELDS_BY_KIND[kind]
        for name in KIND_SPECIFIC:
            if name not in used:
                data[name] = None  # a field of another kind, left filled in: ignored
        if "price" in used and not data.get("price"):
            self.add_error("price", _("This membership model needs a price."))
        if kind == PlanKind.PRODUCT_GRANT and not data.get("product_id"):
            self.add_error("product_id", _("Name the product whose purchase grants it."))
        if kind == PlanKind.FEE_GOODS:
            if not (data.get("goods_description") or "").strip():
                self.add_error("goods_description", _("Say what goods the fee brings."))
            value, price = data.get("goods_value"), data.get("price")
            if value is not None and price and value < price:
                self.add_error("goods_value", _("The goods must be worth at least the fee."))
        return data


class MembershipFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *MembershipStatus.choices],
    )


class OfflinePaymentForm(forms.Form):
    amount = MoneyField(label=_("Amount received"))
    payment_ref = forms.CharField(
        label=_("Transfer reference"),
        max_length=100,
        help_text=_(
            "The transfer's number or a note you will recognise. The same reference is "
            "never counted twice."
        ),
    )
    paid_on = forms.DateField(
        label=_("Paid on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: now."),
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(MoneyField, self.fields["amount"]).currency = currency

    def clean_paid_on(self) -> Any:
        paid_on = self.cleaned_data.get("paid_on")
        if paid_on and paid_on > timezone.localdate():
            raise ValidationError(_("A payment cannot be in the future."))
        return paid_on

    def paid_at(self) -> datetime | None:
        paid_on = self.cleaned_data.get("paid_on")
        if not paid_on or paid_on == timezone.localdate():
            return None
        # A past day without an hour: noon, so the day is the same in every nearby time zone.
        return timezone.make_aware(datetime.combine(paid_on, time(12, 0)))


class InvitationCreateForm(forms.Form):
    target = forms.ChoiceField(label=_("Leads to"))
    channel = forms.ChoiceField(label=_("Shared on"))
    content = forms.CharField(
        label=_("Content piece"),
        required=False,
        max_length=128,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. the 3 May live stream")}),
        help_text=_("Optional: which post, video or live stream carries it."),
    )
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: no expiry. The link works through the whole day."),
    )
    max_uses = forms.IntegerField(
        label=_("Use limit"),
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text=_("Empty: unlimited."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(
        self,
        *args: Any,
        groups: list[Group],
        plans: list[MembershipPlan],
        channels: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices: list[Any] = []
        if plans:
            choices.append((_("Membership plans"), [(f"plan:{p.pk}", p.name) for p in plans]))
        if groups:
            choices.append((_("Groups"), [(f"group:{g.pk}", g.name) for g in groups]))
        cast(forms.ChoiceField, self.fields["target"]).choices = choices
        cast(forms.ChoiceField, self.fields["channel"]).choices = channel_choices(channels)

    def clean_valid_until(self) -> Any:
        day = self.cleaned_data.get("valid_until")
        if day and day < timezone.localdate():
            raise ValidationError(_("This day has passed."))
        return day

    def target_ids(self) -> tuple[str, int]:
        kind, _sep, pk = self.cleaned_data["target"].partition(":")
        return kind, int(pk)

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("valid_until")
        if not day:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
