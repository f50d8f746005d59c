"""Field checks shared by the catalog services."""

from __future__ import annotations

from django.utils.translation import gettext as _

from quanzi.catalog.services.errors import CatalogError

MAX_PRICE_MINOR = 10**12  # ¥10 billion: anything above is a typo in fen, not a price.


def text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CatalogError(
            _("%(field)s is required.") % {"field": field.replace("_", " ").capitalize()},
            field=field,
        )
    if len(value) > limit:
        raise CatalogError(
            _("%(field)s is at most %(limit)s characters.") % {"field": field, "limit": limit},
            field=field,
        )
    return value


def price(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogError(_("A price is a whole number of fen."), field=field)
    if value < 0:
        raise CatalogError(_("A price cannot be negative."), field=field)
    if value > MAX_PRICE_MINOR:
        raise CatalogError(_("That price is too large."), field=field)
    return value
