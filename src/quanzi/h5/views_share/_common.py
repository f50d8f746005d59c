"""What the sharing pages share: the community by its slug, a product's price as a stranger
sees it, and the links a browser opened before this phone knew who it was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.http import Http404, HttpRequest
from django.utils.dateparse import parse_datetime

from quanzi.catalog.models import Product
from quanzi.communities import selectors as communities
from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.errors import NotFound
from quanzi.core.money import Money
from quanzi.distribution.models import ReferralLink
from quanzi.distribution.services.links import referral_link_by_code, referral_touch
from quanzi.h5.views_shop._common import TONES
from quanzi.members.models import Member

# Links opened by a visitor not signed in: [{"code": ..., "at": iso}], newest last. They become
# touches (with the time of the visit) once the visitor joins or signs in on this phone.
SESSION_REFERRALS = "h5_referrals"
KEEP_REFERRALS = 5
# Older notes are dropped: no attribution window is longer (DistributionSettings allows 90).
REMEMBER_FOR = timedelta(days=90)


def community_or_404(slug: str) -> Community:
    try:
        community = communities.community_by_slug(slug)
    except NotFound:
        raise Http404 from None
    if community.archived_at:
        raise Http404
    return community


def link_or_none(code: str) -> ReferralLink | None:
    try:
        return referral_link_by_code(code)
    except NotFound:
        return None


@dataclass(frozen=True)
class Price:
    amount: Money
    several: bool  # specs at different prices: "from ¥x"


def product_price(product: Product) -> Price:
    """The lowest price anyone pays without a membership discount, as the shop shows it."""
    prices = {
        sku.price_minor if sku.price_minor is not None else product.price_minor
        for sku in product.skus.all()
    } or {product.price_minor}
    return Price(Money(min(prices), product.currency), len(prices) > 1)


def tone(product: Product) -> int:
    return product.pk % TONES


def product_on_sale(link: ReferralLink) -> Product | None:
    product = link.product
    if product is None or not product.active:
        return None
    return product


# --- Links opened before signing in ------------------------------------------------------------


def _notes(request: HttpRequest) -> list[dict[str, str]]:
    raw = request.session.get(SESSION_REFERRALS)
    if not isinstance(raw, list):
        return []
    return [n for n in raw if isinstance(n, dict) and {"code", "at"} <= n.keys()]


def referral_remember(request: HttpRequest, link: ReferralLink, *, again: bool = True) -> None:
    """Note that this browser opened ``link`` now. A link opened again moves to the end, since
    the last link opened is the one an order is attributed to; with ``again`` False a link
    already noted keeps its time (a form sent from the page it was opened on)."""
    notes = _notes(request)
    if not again and any(n["code"] == link.code for n in notes):
        return
    notes = [n for n in notes if n["code"] != link.code]
    notes.append({"code": link.code, "at": clock.now().isoformat()})
    request.session[SESSION_REFERRALS] = notes[-KEEP_REFERRALS:]


def referrals_remembered(request: HttpRequest) -> bool:
    return bool(_notes(request))


def referrals_apply(request: HttpRequest, member: Member) -> int:
    """Record the links this browser opened before it knew ``member`` (each visit counted
    then) as their touches, at the time they were opened, oldest first (so the last one stays the last touch). Returns how
    many were recorded."""
    notes = _notes(request)
    request.session.pop(SESSION_REFERRALS, None)
    now = clock.now()
    done = 0
    for note in notes:
        at = _moment(note["at"])
        link = link_or_none(note["code"])
        if at is None or link is None or at < now - REMEMBER_FOR:
            continue
        referral_touch(link=link, member=member, at=min(at, now))
        done += 1
    return done


def _moment(text: str) -> datetime | None:
    try:
        return parse_datetime(text)
    except ValueError:
        return None
