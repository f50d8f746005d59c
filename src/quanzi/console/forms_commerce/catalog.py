"""Forms of the catalog pages: products, specs and stock, shipping templates, drops."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quanzi.catalog.models import Product, ProductKind, ShippingTemplate, Sku
from quanzi.communities.models import Group, MembershipPlan
from quanzi.console.forms_commerce._common import format_options, set_choices, set_currency
from quanzi.console.forms_communities import MoneyField
from quanzi.core.money import Money

# Which product fields each kind uses: the form shows these and no others.
PRODUCT_FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    ProductKind.COURSE: ("grants_group",),
    ProductKind.SERVICE: ("grants_group",),
    ProductKind.PAID_COLLECTION: ("grants_group",),
    ProductKind.MEMBERSHIP: ("plan", "grants_group"),
    ProductKind.PHYSICAL: (
        "weight_grams",
        "packaging",
        "cold_chain",
        "cold_chain_note",
        "shipping_template",
    ),
    ProductKind.BUNDLE: ("grants_group",),
}
PRODUCT_KIND_SPECIFIC = sorted({f for fields in PRODUCT_FIELDS_BY_KIND.values() for f in fields})
_EMPTY: dict[str, Any] = {
    "plan": None,
    "grants_group": None,
    "weight_grams": None,
    "packaging": "",
    "cold_chain": False,
    "cold_chain_note": "",
    "shipping_template": None,
}

_OPTION_SPLIT = re.compile(r"[;；\n]+")
_OPTION_PAIR = re.compile(r"^\s*([^:：=]+?)\s*[:：=]\s*(.+?)\s*$")
_REGION_SPLIT = re.compile(r"[,，、;；\s]+")
DATETIME_INPUT = "%Y-%m-%dT%H:%M"


def kinds_using(field: str) -> str:
    """``"plan"`` → ``"membership"``: the kinds that show a field, for ``data-kinds``."""
    return " ".join(kind for kind, fields in PRODUCT_FIELDS_BY_KIND.items() if field in fields)


def parse_options(text: str) -> dict[str, str]:
    """``"规格: 2斤; 产地: 舟山"`` → ``{"规格": "2斤", "产地": "舟山"}``.

    Pairs are separated by ``;`` or new lines; a name and its value by ``:``, ``：`` or ``=``.
    """
    options: dict[str, str] = {}
    for chunk in _OPTION_SPLIT.split(text or ""):
        if not chunk.strip():
            continue
        match = _OPTION_PAIR.match(chunk)
        if match is None:
            raise ValidationError(
                _("Write each option as name: value, e.g. 规格: 2斤; 产地: 舟山."), code="invalid"
            )
        options[match.group(1)] = match.group(2)
    return options


# --- Catalog -----------------------------------------------------------------------------------


class ProductForm(forms.Form):
    """Create (with a kind) or edit (kind fixed) a product; fields follow the kind."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Zhoushan hairtail, 2 jin")}),
    )
    kind = forms.ChoiceField(label=_("Product type"), choices=ProductKind.choices)
    price = MoneyField(label=_("Price"))
    category = forms.CharField(
        label=_("Category"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Seafood")}),
        help_text=_("Groups products in the shop and in commission rules."),
    )
    per_member_limit = forms.IntegerField(
        label=_("Limit per member"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("Units one member may buy in all. Empty: no limit."),
    )
    active = forms.BooleanField(label=_("On sale"), required=False, initial=True)
    plan = forms.TypedChoiceField(
        label=_("Membership plan it grants"), required=False, coerce=int, empty_value=None
    )
    grants_group = forms.TypedChoiceField(
        label=_("Group seat it grants"), required=False, coerce=int, empty_value=None
    )
    weight_grams = forms.IntegerField(
        label=_("Weight (g)"), required=False, min_value=1, max_value=1_000_000
    )
    packaging = forms.CharField(
        label=_("Packaging"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Foam box with ice packs")}),
    )
    shipping_template = forms.TypedChoiceField(
        label=_("Shipping template"), required=False, coerce=int, empty_value=None
    )
    cold_chain = forms.BooleanField(label=_("Ships in the cold chain"), required=False)
    cold_chain_note = forms.CharField(
        label=_("Cold-chain note"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Keep below -18 °C")}),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self,
        *args: Any,
        plans: list[MembershipPlan],
        groups: list[Group],
        templates: list[ShippingTemplate],
        currency: str,
        product: Product | None = None,
        **kwargs: Any,
    ) -> None:
        if product is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": product.name,
                "price": Money(product.price_minor, product.currency).as_decimal_string(),
                "category": product.category,
                "per_member_limit": product.per_member_limit,
                "active": product.active,
                "plan": product.plan_id,
                "grants_group": product.grants_group_id,
                "weight_grams": product.weight_grams,
                "packaging": product.packaging,
                "shipping_template": product.shipping_template_id,
                "cold_chain": product.cold_chain,
                "cold_chain_note": product.cold_chain_note,
                "description": product.description,
            }
        super().__init__(*args, **kwargs)
        self.product = product
        set_currency(self, currency, "price")
        set_choices(self, "plan", [("", _("Choose a plan")), *((p.pk, p.name) for p in plans)])
        set_choices(self, "grants_group", [("", _("No group")), *((g.pk, g.name) for g in groups)])
        set_choices(
            self,
            "shipping_template",
            [("", _("No shipping fee")), *((t.pk, t.name) for t in templates)],
        )
        if product is not None:
            del self.fields["kind"]  # a product's kind never changes
        else:
            self.fields["active"].help_text = _(
                "Physical goods go on sale once they have a spec with stock."
            )

    @property
    def product_kind(self) -> str:
        if self.product is not None:
            return self.product.kind
        return str(self.cleaned_data.get("kind") or self.data.get("kind") or "")

    def visible_fields_for_kind(self) -> tuple[str, ...]:
        return PRODUCT_FIELDS_BY_KIND.get(self.product_kind, ())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = self.product_kind
        if kind not in PRODUCT_FIELDS_BY_KIND:
            return data
        used = PRODUCT_FIELDS_BY_KIND[kind]
        for name in PRODUCT_KIND_SPECIFIC:
            if name not in used:
                data[name] = _EMPTY[name]  # a field of another kind, left filled in: ignored
        if self.product is None and kind == ProductKind.PHYSICAL:
            data["active"] = None  # the service keeps new physical goods off sale until a spec
        return data


class SkuForm(forms.Form):
    options = forms.CharField(
        label=_("Spec"),
        required=False,
        max_length=400,
        widget=forms.TextInput(attrs={"placeholder": "规格: 2斤; 产地: 舟山"}),
        help_text=_("Name: value pairs, separated by semicolons. Empty for a single spec."),
    )
    price = MoneyField(label=_("Price"), required=False, help_text=_("Empty: the product's price."))
    stock = forms.IntegerField(label=_("Opening stock"), min_value=0, max_value=10_000_000)

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"stock": 0})
        super().__init__(*args, **kwargs)
        set_currency(self, currency, "price")

    def clean_options(self) -> dict[str, str]:
        return parse_options(self.cleaned_data.get("options") or "")


class StockAdjustForm(forms.Form):
    delta = forms.IntegerField(
        label=_("Change"),
        min_value=-10_000_000,
        max_value=10_000_000,
        widget=forms.NumberInput(attrs={"placeholder": "+20 / -3", "inputmode": "numeric"}),
        help_text=_("Positive: goods arrived. Negative: spoiled or miscounted."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. New catch arrived")}),
    )

    def clean_delta(self) -> int:
        delta = int(self.cleaned_data["delta"])
        if delta == 0:
            raise ValidationError(_("Add or remove at least one unit."))
        return delta


class ShippingTemplateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. SF cold chain")}),
    )


class ShippingRuleForm(forms.Form):
    regions = forms.CharField(
        label=_("Regions"),
        required=False,
        max_length=400,
        widget=forms.TextInput(attrs={"placeholder": _("浙江, 上海, 江苏  or  *")}),
    )
    first_fee = MoneyField(label=_("First unit"), required=False)
    additional_fee = MoneyField(label=_("Each additional unit"), required=False)
    free_over = MoneyField(label=_("Free from"), required=False)

    def __init__(self, *args: Any, currency: str = "CNY", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_currency(self, currency, "first_fee", "additional_fee", "free_over")

    def clean_regions(self) -> list[str]:
        return [r for r in _REGION_SPLIT.split(self.cleaned_data.get("regions") or "") if r]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("regions") and data.get("first_fee") is None:
            self.add_error("first_fee", _("Give the fee for the first unit."))
        if not data.get("regions") and any(
            data.get(f) is not None for f in ("first_fee", "additional_fee", "free_over")
        ):
            self.add_error("regions", _("Name the provinces, or * for everywhere else."))
        return data


ShippingRuleFormSet = forms.formset_factory(ShippingRuleForm, extra=4, max_num=20)


class DropForm(forms.Form):
    product = forms.TypedChoiceField(label=_("Product"), coerce=int)
    sku = forms.TypedChoiceField(
        label=_("Spec"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Physical goods with several specs: the one the drop sells."),
    )
    title = forms.CharField(
        label=_("Group-buy title"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Friday seafood group-buy")}),
    )
    price = MoneyField(label=_("Drop price"))
    starts_at = forms.DateTimeField(
        label=_("Starts"),
        input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
    )
    ends_at = forms.DateTimeField(
        label=_("End time"),
        input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
    )
    units = forms.IntegerField(
        label=_("Units"),
        min_value=1,
        max_value=1_000_000,
        help_text=_("Set aside from the spec's stock now; unsold units go back at the end."),
    )
    per_member_limit = forms.IntegerField(
        label=_("Limit per member"), required=False, min_value=1, max_value=1_000_000
    )
    min_buyers = forms.IntegerField(
        label=_("Minimum buyers"),
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text=_("Fewer paying buyers at the end: the drop is cancelled and everyone refunded."),
    )

    def __init__(
        self, *args: Any, products: list[Product], skus: list[Sku], currency: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        set_currency(self, currency, "price")
        set_choices(self, "product", [(p.pk, p.name) for p in products])
        names = {p.pk: p.name for p in products}
        set_choices(
            self,
            "sku",
            [
                ("", _("Its only spec")),
                *(
                    (s.pk, f"{names.get(s.product_id, s.product_id)} · {format_options(s.options)}")
                    for s in skus
                ),
            ],
        )
        if not self.is_bound and "starts_at" not in self.initial:
            start = timezone.localtime().replace(second=0, microsecond=0) + timedelta(minutes=5)
            self.initial["starts_at"] = start
            self.initial["ends_at"] = start + timedelta(days=1)
