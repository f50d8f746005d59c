"""The console's navigation: the domains of DESIGN.md's capability map, in the order an owner
thinks of them. A domain that is not built yet is listed, disabled, with a "soon" badge."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    label: str | Promise
    icon: str
    url_name: str = ""
    href: str = ""
    external: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.url_name or self.href)

    @property
    def url(self) -> str:
        if self.url_name:
            return reverse(self.url_name)
        return self.href


@dataclass(frozen=True, slots=True)
class NavSection:
    title: str | Promise
    items: tuple[NavItem, ...]


SECTIONS = (
    NavSection(
        _("Business"),
        (
            NavItem("home", _("Overview"), "home", url_name="console:home"),
            NavItem("members", _("Members"), "members", url_name="console:members"),
            NavItem(
                "communities",
                _("Communities & groups"),
                "communities",
                url_name="console:communities",
            ),
            NavItem("catalog", _("Catalog"), "products", url_name="console:catalog_home"),
            NavItem("orders", _("Orders"), "orders", url_name="console:orders_home"),
            NavItem("shipping", _("Shipping"), "gift", url_name="console:shipping_home"),
            NavItem("after_sales", _("After-sales"), "chat", url_name="console:after_sales_home"),
            NavItem(
                "distribution",
                _("Distribution"),
                "distribution",
                url_name="console:distribution_home",
            ),
            NavItem("crystals", _("Crystals"), "crystals", url_name="console:crystals_home"),
            NavItem("events", _("Events"), "events"),
            NavItem("campaigns", _("Campaigns"), "campaigns"),
            NavItem("channels", _("Channels"), "channels"),
            NavItem("analytics", _("Analytics"), "analytics", url_name="console:analytics_home"),
        ),
    ),
    NavSection(
        _("System"),
        (
            NavItem("activity", _("Activity log"), "activity", url_name="console:activity"),
            NavItem("outbox", _("Outbox"), "outbox", url_name="console:outbox"),
            NavItem("jobs", _("Jobs"), "jobs", url_name="console:jobs"),
            NavItem("tokens", _("API tokens"), "tokens", url_name="console:tokens"),
            NavItem("api_docs", _("API docs"), "api_docs", href="/api/v1/docs", external=True),
            NavItem("admin", _("Back-office"), "admin", href="/admin/", external=True),
        ),
    ),
)
