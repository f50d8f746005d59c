"""Sharing on phones, in headless Chromium: a store sharer downloads the poster of a product;
a friend opens the link on a phone-sized screen, joins right there and buys with a bank
transfer; the shop confirms the transfer; the sharer's earnings show the pending commission.
Screenshots (and the poster) land in the artifacts folder for a person to look at."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from quanzi.catalog.models import ProductKind, Sku
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.services.shipping import RuleSpec, shipping_template_create
from quanzi.communities.models import Community
from quanzi.communities.services.setup import community_create
from quanzi.distribution.models import Commission, OrderAttribution, ReferralLink
from quanzi.distribution.services.distributors import distributor_apply, distributor_approve
from quanzi.distribution.services.rules import commission_rule_create
from quanzi.members.models import IdentityKind, Member
from quanzi.members.services import IdentityIn, member_identify, member_sign_in_token_create
from quanzi.orders.models import Order
from quanzi.orders.services.paying import order_payments
from quanzi.payments.services.payments import payment_confirm_manual

pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
# A full-page capture draws fixed and sticky bars where the viewport happened to end, over
# the content; for the picture of the whole page they sit in the flow instead.
_FLAT = ".appbar, .tabbar, .buybar { position: static !important; transform: none !important; }"


def _phone(browser: Any) -> Any:
    return browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        accept_downloads=True,
    )


def _shot(page: Any, artifacts: Path, name: str) -> None:
    style = page.add_style_tag(content=_FLAT)
    page.screenshot(path=str(artifacts / name), full_page=True)
    style.evaluate("element => element.remove()")


def _no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide in a {PHONE['width']}px viewport"


@dataclass
class Circle:
    home: Community
    fish: Sku
    sharer: Member


@pytest.fixture
def circle(transactional_db: None, settings: Any) -> Circle:
    """The seafood circle: frozen hairtail by cold chain, and 小林, an approved store sharer
    earning 10 % of what her friends pay for goods."""
    settings.QUANZI_WECHATPAY_CONFIG = None  # paid by bank transfer, confirmed by the shop
    home = community_create(
        slug="zhoushan",
        name="舟山海鲜圈",
        kind="product",
        vertical="food",
        description="渔民直供，当天捕捞。",
    )
    template = shipping_template_create(
        community=home, name="冷链", rules=[RuleSpec(["*"], 1_200, 600)]
    )
    fish = product_create(
        community=home,
        name="舟山野生带鱼",
        kind=ProductKind.PHYSICAL,
        price_minor=6_800,
        description="凌晨靠岸的带鱼，去头去尾切段，单独真空包装。",
        category="海鲜",
        weight_grams=1_000,
        cold_chain=True,
        shipping_template=template,
    )
    sku = sku_create(product=fish, options={"规格": "2斤装"}, stock=20)
    product_update(product=fish, active=True)
    sharer, _ = member_identify(
        display_name="小林", identities=[IdentityIn(IdentityKind.PHONE, "18612345678")]
    )
    distributor_approve(distributor=distributor_apply(community=home, member=sharer, role="sharer"))
    commission_rule_create(community=home, kind="percent", percent_bp=1_000)
    return Circle(home, sku, sharer)


def test_a_friend_buys_through_a_poster_link_and_the_sharer_sees_the_commission(
    live_server: Any, circle: Circle, browser: Any, artifacts: Path
) -> None:
    base = live_server.url
    errors: list[str] = []

    # The sharer opens "my links" and downloads the fish's poster.
    sharer = _phone(browser)
    page = sharer.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/m/login/{member_sign_in_token_create(member=circle.sharer)}/")
    page.goto(f"{base}/m/p/{circle.fish.product_id}/")
    with page.expect_navigation():
        page.click("#share-earn")
    assert page.url.startswith(f"{base}/m/c/{circle.home.slug}/share/")
    link = ReferralLink.objects.get(sharer=circle.sharer, product=circle.fish.product)
    card = page.locator(f"#p-{circle.fish.product_id}")
    assert card.locator(f"#url-{link.code}").input_value() == f"{base}/m/r/{link.code}/"
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=card.locator(".sh-poster img").element_handle(),
    )
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "share-links-zh-phone.png")

    with page.expect_download() as download_info:
        card.locator(".sh-download").click()
    download = download_info.value
    assert download.suggested_filename == f"poster-{link.code}.png"
    poster_path = artifacts / "share-poster.png"
    download.save_as(str(poster_path))
    data = poster_path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("PNG", (750, 1200))

    # A friend opens the link on her phone, joins right there and goes to the fish.
    friend = _phone(browser)
    phone = friend.new_page()
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    phone.goto(f"{base}/m/r/{link.code}/")
    assert "小林" in phone.locator("#sharer").inner_text()
    assert "¥68.00" in phone.locator("#ref-product").inner_text()
    _no_horizontal_overflow(phone)
    _shot(phone, artifacts, "share-landing-zh-phone.png")
    phone.fill('input[name="display_name"]', "阿芳")
    phone.fill('input[name="phone"]', "139 1234 5678")
    phone.check('input[name="consent"]')
    with phone.expect_navigation():
        phone.click("#join-button")
    assert phone.url == f"{base}/m/p/{circle.fish.product_id}/"

    # She buys two packs, to be paid by bank transfer.
    phone.locator(".qty-btn[data-step='1']").click()
    with phone.expect_navigation():
        phone.click("#buy-now")
    phone.fill('input[name="name"]', "王阿芳")
    phone.fill('input[name="phone"]', "13912345678")
    phone.select_option('select[name="region"]', "上海")
    phone.fill('textarea[name="address"]', "浦东新区世纪大道 100 号 8 楼")
    with phone.expect_navigation():
        phone.click("#place-order")
    buyer = Member.objects.get(display_name="阿芳")
    order = Order.objects.get(member=buyer)
    assert phone.url == f"{base}/m/o/{order.number}/pay/"

    # The shop sees the transfer and confirms it, as the operator would.
    payment = order_payments(order)[0]
    payment_confirm_manual(payment=payment, amount_minor=order.total_minor)
    assert OrderAttribution.objects.get(order=order).sharer == circle.sharer
    commission = Commission.objects.get(order=order)
    assert commission.amount_minor == 1_360  # 10 % of 2 × ¥68, shipping excluded

    # The sharer sees it pending.
    page.goto(f"{base}/m/c/{circle.home.slug}/earnings/")
    assert page.locator("#total-pending").inner_text() == "¥13.60"
    assert page.locator(f"#commission-{commission.pk} [data-amount]").inner_text() == "¥13.60"
    assert order.number not in page.content()
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "share-earnings-zh-phone.png")
    assert errors == []
    friend.close()
    sharer.close()


def test_a_member_redeems_crystals_on_a_phone_and_cannot_overspend(
    live_server: Any, transactional_db: None, browser: Any, artifacts: Path
) -> None:
    from quanzi.communities.tests.factories import group
    from quanzi.rewards.models import Redemption
    from quanzi.rewards.services.earning import crystals_earn
    from quanzi.rewards.services.levels import growth_level_set
    from quanzi.rewards.services.redemptions import crystal_reward_create
    from quanzi.rewards.services.rules import crystal_rule_set

    home = community_create(slug="zhoushan", name="舟山海鲜圈", kind="product", vertical="food")
    growth_level_set(community=home, level="seed", min_earned=50, discount_percent=5, badge="种子")
    growth_level_set(
        community=home, level="core", min_earned=300, group=group(home, name="核心用户群")
    )
    crystal_rule_set(community=home, action="post", amount=10)
    crystal_rule_set(community=home, action="purchase", amount=1)
    crystal_rule_set(community=home, action="check_in", amount=20)
    who, _ = member_identify(
        display_name="阿芳", identities=[IdentityIn(IdentityKind.PHONE, "13912345678")]
    )
    crystals_earn(community=home, member=who, action="post", source="post-1")
    crystals_earn(community=home, member=who, action="check_in", source="event-7")
    crystals_earn(
        community=home, member=who, action="manual", source="recipe", amount=60, note="菜谱投稿"
    )
    coupon = crystal_reward_create(
        community=home, name="¥10 无门槛券", kind="coupon", cost=40, coupon_value_minor=1_000
    )
    gift = crystal_reward_create(community=home, name="带鱼礼盒", kind="perk", cost=500, stock=5)

    base = live_server.url
    context = _phone(browser)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/m/login/{member_sign_in_token_create(member=who)}/")
    page.goto(f"{base}/m/c/{home.slug}/crystals/")
    assert page.locator("#crystal-balance").inner_text() == "90"
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "crystals-zh-phone.png")

    with page.expect_navigation():
        page.click(f"#reward-{coupon.pk}")
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "crystals-redeem-confirm-zh-phone.png")
    with page.expect_navigation():
        page.click("#redeem-button")
    redemption = Redemption.objects.get(member=who)
    assert page.locator("#crystal-balance").inner_text() == "50"
    assert page.locator(f"#redemption-{redemption.code} [data-code]").inner_text() == (
        redemption.code
    )
    _shot(page, artifacts, "crystals-redeemed-zh-phone.png")

    with page.expect_navigation():
        page.click(f"#reward-{gift.pk}")
    assert page.locator("#short").is_visible()
    assert page.locator("#redeem-button").count() == 0
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "crystals-redeem-short-zh-phone.png")
    assert Redemption.objects.count() == 1
    assert errors == []
    context.close()
