"""API v1 routes of the catalog domain: products, their SKUs and stock, shipping templates.

Group-buy drops are served by the orders API (their buyers are counted from orders).
"""

from ninja import Router

from quanzi.catalog.api import products, shipping

router = Router()
for part in (products, shipping):
    router.add_router("", part.router)
