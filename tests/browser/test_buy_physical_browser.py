"""Buying a physical product on a phone, in headless Chromium: sign in with a personal link,
pick a spec, give an address, order with an offline transfer; the shop confirms the transfer
and ships; "My orders" shows the carrier and the tracking number. Screenshots land in the
artifacts folder for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from quanzi.catalog.models import ProductKind, Sku
from quanzi.catalog.services.drops import drop_create
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.services.shipping import RuleSpec, shipping_template_create
from quanzi.communities.models import Community
from quanzi.communities.services.memberships import membership_pay, membership_start
from quanzi.communities.services.setup import community_create, plan_create
from quanzi.core import clock
from quanzi.members.models import IdentityKind, Member
from quanzi.members.services import IdentityIn, member_identify, member_sign_in_token_create
from quanzi.orders.models import Order, OrderStatus
from quanzi.orders.services.aftersales import after_sale_reject
from quanzi.orders.services.fulfilment import order_ship
from quanzi.orders.services.paying import order_payments
from quanzi.orders.tests.factories import running_fake
from quanzi.payments.services.payments import payment_confirm_manual, payment_reconcile

pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


def _phone(browser: Any) -> Any:
    return browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )


# A full-page capture draws fixed and sticky bars where the viewport happened to end, over
# the content; for the picture of the whole page they sit in the flow instead.
_FLAT = ".appbar, .tabbar, .buybar { position: static !important; transform: none !important; }"


def _shot(page: Any, artifacts: Path, name: str, *, full: bool = True) -> None:
    if not full:
        page.screenshot(path=str(artifacts / name))
        return
    style = page.add_style_tag(content=_FLAT)
    page.screenshot(path=str(artifacts / name), full_page=True)
    style.evaluate("element => element.remove()")


def _no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide in a {PHONE['width']}px viewport"


@pytest.fixture
def shop(transactional_db: None) -> tuple[Community, Sku, Member]:
    """The seafood family's circle: fish by cold chain, a sold-out fish, a course, a drop."""
    home = community_create(
        slug="zhoushan",
        name="舟山海鲜圈",
        kind="product",
        vertical="food",
        description="渔民直供，当天捕捞。",
    )
    template = shipping_template_create(
        community=home,
        name="冷链",
        rules=[
            RuleSpec(["浙江", "上海", "江苏"], 800, 400, free_over_minor=19_900),
            RuleSpec(["*"], 1_500, 800),
        ],
    )
    fish = product_create(
        community=home,
        name="舟山野生带鱼",
        kind=ProductKind.PHYSICAL,
        price_minor=6_800,
        description="凌晨靠岸的带鱼，去头去尾切段，单独真空包装。\n解冻后清蒸、红烧都好吃。",
        category="海鲜",
        weight_grams=1_000,
        packaging="泡沫箱 + 冰袋",
        cold_chain=True,
        cold_chain_note="顺丰冷链，江浙沪次日达，请当天签收冷冻。",
        shipping_template=template,
    )
    small = sku_create(product=fish, options={"规格": "2斤装"}, stock=12)
    big = sku_create(product=fish, options={"规格": "5斤家庭装"}, price_minor=15_800, stock=3)
    sku_create(product=fish, options={"规格": "10斤礼盒"}, price_minor=29_800, stock=0)
    product_update(product=fish, active=True)
    croaker = product_create(
        community=home,
        name="东海大黄鱼",
        kind=ProductKind.PHYSICAL,
        price_minor=12_800,
        category="海鲜",
        weight_grams=800,
        shipping_template=template,
    )
    sku_create(product=croaker, options={"规格": "1条"}, stock=0)
    product_update(product=croaker, active=True)
    product_create(
        community=home,
        name="海鲜家常菜 12 讲",
        kind=ProductKind.COURSE,
        price_minor=9_900,
        category="课程",
    )
    now = clock.now()
    drop_create(
        product=fish,
        sku=small,
        title="周五带鱼团",
        price_minor=4_900,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=26),
        units=6,
        min_buyers=3,
    )
    vip = plan_create(
        community=home, name="年度会员", kind="annual", price_minor=19_900, discount_percent=10
    )
    buyer, _ = member_identify(
        display_name="小林", identities=[IdentityIn(IdentityKind.PHONE, "18612345678")]
    )
    membership = membership_start(member=buyer, plan=vip)
    membership_pay(membership=membership, amount_minor=19_900, payment_ref="transfer-1")
    return home, big, buyer


def test_buy_a_physical_product_with_a_transfer_on_a_phone(
    live_server: Any, shop: tuple[Community, Sku, Member], browser: Any, artifacts: Path
) -> None:
    home, big, buyer = shop
    base = live_server.url
    context = _phone(browser)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Signed in through the personal link the owner sent.
    page.goto(f"{base}/m/login/{member_sign_in_token_create(member=buyer)}/")
    assert page.url == f"{base}/m/me/"
    with page.expect_navigation():
        page.locator(f'a[href="/m/c/{home.slug}/shop/"]').first.click()
    assert page.locator("#member-discount").is_visible()
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "shop-zh-phone.png")

    drop_link = page.locator(".drop-card").first
    with page.expect_navigation():
        drop_link.click()
    assert "¥49.00" in page.locator("#drop").inner_text()
    page.wait_for_function("document.querySelector('#drop-clock time').textContent.length > 0")
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "drop-zh-phone.png")
    page.go_back()

    # The product: the 5-jin family pack.
    with page.expect_navigation():
        page.locator(f'a[data-product="{big.product_id}"]').click()
    assert "顺丰冷链" in page.locator("#cold-chain").inner_text()
    page.locator(".spec", has_text="5斤家庭装").click()
    assert page.locator(f'input[name="sku"][value="{big.pk}"]').is_checked()
    assert page.locator(".buybar [data-buy-price]").inner_text() == "¥142.20"  # 10% off ¥158
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "product-zh-phone.png")
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, artifacts, "product-zh-phone-top.png", full=False)

    with page.expect_navigation():
        page.click("#buy-now")
    assert page.url.startswith(f"{base}/m/checkout/")
    assert "5斤家庭装" in page.locator("#line").inner_text()

    # Address, then the quote follows the province.
    page.fill('input[name="name"]', "林小姐")
    page.fill('input[name="phone"]', "186 1234 5678")
    page.select_option('select[name="region"]', "上海")
    page.fill('textarea[name="address"]', "浦东新区世纪大道 100 号 8 楼")
    page.wait_for_function(
        "document.querySelector('#quote-shipping dd').textContent.includes('¥8.00')"
    )
    assert page.locator("#co-total").inner_text() == "¥150.20"  # ¥142.20 + ¥8.00
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "checkout-zh-phone.png")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    _shot(page, artifacts, "checkout-zh-phone-bottom.png", full=False)

    with page.expect_navigation():
        page.click("#place-order")
    placed = Order.objects.get(member=buyer)
    assert page.url == f"{base}/m/o/{placed.number}/pay/"
    assert page.locator("#pay-amount").inner_text() == "¥150.20"
    reference = page.locator("#pay-reference").input_value()
    assert reference == order_payments(placed)[0].out_trade_no
    page.wait_for_function("document.querySelector('[data-countdown]').textContent.length > 0")
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "pay-transfer-zh-phone.png")
    with page.expect_navigation():
        page.click("#paid-button")
    assert page.locator("#waiting").is_visible()

    # The shop sees the transfer, confirms it, and ships.
    payment = order_payments(placed)[0]
    payment_confirm_manual(payment=payment, amount_minor=placed.total_minor)
    order_ship(order=placed, carrier="顺丰速运", tracking_no="SF1428573690")
    placed.refresh_from_db()
    assert placed.status == OrderStatus.SHIPPED

    page.goto(f"{base}/m/orders/")
    card = page.locator(f"#order-{placed.number}")
    assert "顺丰速运" in card.inner_text()
    assert "SF1428573690" in card.inner_text()
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "orders-zh-phone.png")

    with page.expect_navigation():
        card.locator(".order-card-link").click()
    assert page.locator("#tracking-no").inner_text() == "SF1428573690"
    assert page.locator(".tl-step.is-done").count() == 3
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "order-shipped-zh-phone.png")

    page.goto(f"{base}/m/o/{placed.number}/refund/")
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "refund-form-zh-phone.png")
    assert errors == []
    context.close()


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def test_mistakes_refunds_and_wechat_pay_on_a_phone(
    live_server: Any,
    shop: tuple[Community, Sku, Member],
    browser: Any,
    artifacts: Path,
    settings: Any,
    tmp_path: Path,
) -> None:
    _home, big, buyer = shop
    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url
    context = _phone(browser)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # A stranger's phone is asked to sign in before buying.
    page.goto(f"{base}/m/p/{big.product_id}/")
    with page.expect_navigation():
        page.click("#buy-now")
    assert page.locator("#sign-in-needed").is_visible()
    _shot(page, artifacts, "checkout-sign-in-zh-phone.png")

    # Signed in: an empty address is refused field by field.
    page.goto(f"{base}/m/login/{member_sign_in_token_create(member=buyer)}/")
    page.goto(f"{base}/m/checkout/?product={big.product_id}&sku={big.pk}")
    page.fill('input[name="phone"]', "123")
    with page.expect_navigation():
        page.click("#place-order")
    assert page.locator(".m-error").count() == 4
    assert Order.objects.count() == 0
    _shot(page, artifacts, "checkout-errors-zh-phone.png")

    # Paid and shipped; the parcel arrives thawed: refund only, with a photo.
    page.fill('input[name="name"]', "林小姐")
    page.fill('input[name="phone"]', "18612345678")
    page.select_option('select[name="region"]', "江苏")
    page.fill('textarea[name="address"]', "苏州市工业园区星湖街 328 号")
    with page.expect_navigation():
        page.click("#place-order")
    placed = Order.objects.get(member=buyer)
    payment_confirm_manual(payment=order_payments(placed)[0], amount_minor=placed.total_minor)
    order_ship(order=placed, carrier="顺丰速运", tracking_no="SF1428573690")
    page.goto(f"{base}/m/o/{placed.number}/")
    with page.expect_navigation():
        page.click("#ask-refund")
    page.fill('input[name="amount"]', "50")
    page.fill('textarea[name="reason"]', "到货时冰袋已化，鱼有异味。")
    page.set_input_files(
        'input[name="photo"]', files=[{"name": "fish.png", "mimeType": "image/png", "buffer": PNG}]
    )
    with page.expect_navigation():
        page.click("#send-refund")
    case = placed.after_sales.get()
    assert case.evidence.count() == 1
    assert page.locator(f"#case-{case.pk}").is_visible()
    _shot(page, artifacts, "order-refund-requested-zh-phone.png")

    after_sale_reject(case=case, note="照片里的鱼完好，冰袋化了属正常；如有异味请拍近照再申请。")
    page.reload()
    assert "照片里的鱼完好" in page.locator(f"#case-{case.pk} [data-decision]").inner_text()
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "order-refund-rejected-zh-phone.png")
    assert errors == []
    context.close()


def test_wechat_pay_shows_a_qr_code_on_a_phone(
    live_server: Any,
    shop: tuple[Community, Sku, Member],
    browser: Any,
    artifacts: Path,
    settings: Any,
) -> None:
    home, _big, buyer = shop
    base = live_server.url
    context = _phone(browser)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with running_fake() as fake:
        settings.QUANZI_WECHATPAY_CONFIG = fake.config()
        page.goto(f"{base}/m/login/{member_sign_in_token_create(member=buyer)}/")
        course = home.products.get(kind=ProductKind.COURSE)
        page.goto(f"{base}/m/checkout/?product={course.pk}")
        assert page.locator('input[name="provider"][value="manual"]').is_checked()
        page.locator(".pay-option", has_text="微").click()
        _shot(page, artifacts, "checkout-virtual-zh-phone.png")
        with page.expect_navigation():
            page.click("#place-order")
        assert page.locator("#native svg.qr").is_visible()
        _no_horizontal_overflow(page)
        _shot(page, artifacts, "pay-wechat-native-zh-phone.png")

        # WeChat says paid; the page notices by itself and moves on to the order.
        placed = Order.objects.get(member=buyer)
        fake.pay(order_payments(placed)[0].out_trade_no)
        payment_reconcile(payment=order_payments(placed)[0])
        page.wait_for_url(f"{base}/m/o/{placed.number}/", timeout=15_000)
        assert page.locator(".status-banner h1").is_visible()
        _shot(page, artifacts, "order-virtual-paid-zh-phone.png")
    assert errors == []
    context.close()
