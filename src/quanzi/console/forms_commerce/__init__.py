"""Forms of the console's commerce pages: catalog, orders, shipping, after-sales.

They check what was typed and say what is wrong in the operator's language; the catalog, orders
and payments services own every rule and check again.
"""

# The forms, in parts: catalog, and orders with shipping and after-sales.
from quanzi.console.forms_commerce._common import format_options
from quanzi.console.forms_commerce.catalog import (
    DATETIME_INPUT,
    PRODUCT_FIELDS_BY_KIND,
    PRODUCT_KIND_SPECIFIC,
    DropForm,
    ProductForm,
    ShippingRuleForm,
    ShippingRuleFormSet,
    ShippingTemplateForm,
    SkuForm,
    StockAdjustForm,
    kinds_using,
    parse_options,
)
from quanzi.console.forms_commerce.orders import (
    OTHER_CARRIER,
    RESTOCK_CHOICES,
    ApproveForm,
    CancelOrderForm,
    ConfirmTransferForm,
    MarkReturnedForm,
    OrderFilterForm,
    RefundOpenForm,
    RejectForm,
    ShipForm,
    ShippingExportForm,
)

__all__ = [
    "DATETIME_INPUT",
    "OTHER_CARRIER",
    "PRODUCT_FIELDS_BY_KIND",
    "PRODUCT_KIND_SPECIFIC",
    "RESTOCK_CHOICES",
    "ApproveForm",
    "CancelOrderForm",
    "ConfirmTransferForm",
    "DropForm",
    "MarkReturnedForm",
    "OrderFilterForm",
    "ProductForm",
    "RefundOpenForm",
    "RejectForm",
    "ShipForm",
    "ShippingExportForm",
    "ShippingRuleForm",
    "ShippingRuleFormSet",
    "ShippingTemplateForm",
    "SkuForm",
    "StockAdjustForm",
    "format_options",
    "kinds_using",
    "parse_options",
]
