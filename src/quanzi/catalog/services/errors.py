from __future__ import annotations

from quanzi.core.errors import ApplicationError, Conflict


class CatalogError(ApplicationError):
    code = "catalog_invalid"


class OutOfStock(Conflict):
    code = "out_of_stock"


class NotReserved(Conflict):
    """A release of more units than are reserved: a double release, or a wrong quantity."""

    code = "not_reserved"


class NoShipping(ApplicationError):
    """The template has no rule for the region and no ``*`` rule."""

    code = "no_shipping"
