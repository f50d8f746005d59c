"""Test data for the sharing and crystals pages, made through the services the code uses."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from quanzi.catalog.models import Sku
from quanzi.communities.models import Community
from quanzi.distribution.models import Distributor, ReferralLink
from quanzi.distribution.services.links import referral_link_get_or_create
from quanzi.distribution.tests.factories import approved, percent
from quanzi.members.models import Member
from quanzi.members.services import member_sign_in_token_create
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import community, goods


def phone() -> Client:
    """A phone: a fresh test client that reads the pages in English."""
    client = Client()
    client.cookies["quanzi_language"] = "en"
    return client


def signed_in(who: Member) -> Client:
    client = phone()
    response = client.get(f"/m/login/{member_sign_in_token_create(member=who)}/")
    assert response.status_code == 302
    return client


@dataclass
class Shop:
    home: Community
    sku: Sku
    sharer: Member
    distributor: Distributor

    @property
    def link(self) -> ReferralLink:
        return referral_link_get_or_create(
            community=self.home, sharer=self.sharer, product=self.sku.product
        )


def shop(*, rate_bp: int = 1_000) -> Shop:
    """A circle selling fish at ¥50, with an approved store sharer earning ``rate_bp``."""
    home = community(name="海鲜水果圈")
    sku = goods(home, price_minor=5_000)
    sharer = member("小林")
    distributor = approved(home, sharer)
    percent(home, rate_bp)
    return Shop(home, sku, sharer, distributor)
