"""The console's commerce pages in headless Chromium: an operator ships an order paid by
transfer from the Shipping page, and the order shows as shipped. Screenshots of the catalog,
orders, shipping and after-sales pages land in ``artifacts`` for a person to look at."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from quanzi.catalog.models import ProductKind, Sku
from quanzi.catalog.services.drops import drop_create
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.services.shipping import RuleSpec, shipping_template_create
from quanzi.communities.models import Community
from quanzi.communities.services.setup import community_create
from quanzi.core import clock
from quanzi.members.models import IdentityKind, Member
from quanzi.members.services import IdentityIn, member_identify
from quanzi.orders.models import Order
from quanzi.orders.services.aftersales import after_sale_add_evidence, after_sale_open
from quanzi.orders.services.checkout import Address, LineIn, order_create
from quanzi.orders.services.fulfilment import order_ship
from quanzi.orders.services.paying import order_pay_start
from quanzi.payments.services.payments import payment_confirm_manual

pytestmark = [pytest.mark.browser]

PASSWORD = "a-Long-enough-pass-42"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _photo(width: int = 160, height: int = 120) -> bytes:
    """A small PNG that looks like a photo of a parcel: sky, a brown box, a shadow."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            if 40 <= x < 120 and 35 <= y < 100:
                shade = 150 + (x - 40) // 4
                pixel = (shade, 105 + (y - 35) // 6, 60)
            elif y >= 100:
                pixel = (120, 120, 125)
            else:
                pixel = (200 - y // 2, 220 - y // 3, 240)
            row.extend(pixel)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _person(name: str, phone: str) -> Member:
    member, _ = member_identify(
        display_name=name,
        identities=[IdentityIn(IdentityKind.PHONE, phone)],
        source_channel="douyin",
    )
    return member


def _address(name: str, phone: str, region: str, street: str) -> Address:
    return Address(name=name, phone=phone, region=region, address=street)


def _paid(member: Member, home: Community, sku: Sku, quantity: int, address: Address) -> Order:
    placed = order_create(
        member=member,
        community=home,
        lines=[LineIn(product_id=sku.product_id, sku_id=sku.pk, quantity=quantity)],
        address=address,
    )
    payment = order_pay_start(order=placed)
    payment_confirm_manual(payment=payment, amount_minor=placed.total_minor, note="尾号 8812")
    placed.refresh_from_db()
    return placed


@pytest.fixture
def shop(transactional_db: None, settings: Any, tmp_path: Path) -> dict[str, Any]:
    """A seafood circle with goods, a course, a live group-buy, paid orders (one by transfer,
    waiting to ship), an unpaid order and a refund-only dispute with a photo."""
    settings.MEDIA_ROOT = tmp_path
    home = community_create(
        slug="seafood",
        name="舟山海鲜圈",
        kind="product",
        vertical="food",
        description="渔船直发的海鲜与当季水果",
    )
    community_create(slug="english", name="晨读英语圈", kind="resource", vertical="education")
    cold = shipping_template_create(
        community=home,
        name="顺丰冷链",
        rules=[
            RuleSpec(["浙江", "上海", "江苏"], 1_200, 500, 19_900),
            RuleSpec(["*"], 2_000, 800, None),
        ],
    )
    fish = product_create(
        community=home,
        name="舟山带鱼",
        kind=ProductKind.PHYSICAL,
        price_minor=8_800,
        weight_grams=1_000,
        packaging="泡沫箱加冰袋",
        cold_chain=True,
        cold_chain_note="-18°C 冷冻",
        category="海鲜",
        shipping_template=cold,
        per_member_limit=10,
    )
    small = sku_create(product=fish, options={"规格": "2斤"}, stock=40)
    large = sku_create(product=fish, options={"规格": "5斤"}, price_minor=19_800, stock=3)
    product_update(product=fish, active=True)
    oranges = product_create(
        community=home,
        name="象山红美人柑橘",
        kind=ProductKind.PHYSICAL,
        price_minor=6_800,
        weight_grams=2_500,
        category="水果",
        shipping_template=cold,
    )
    orange_box = sku_create(product=oranges, options={"规格": "5斤装"}, stock=0)
    product_update(product=oranges, active=True)
    product_create(
        community=home,
        name="海鲜家常做法课",
        kind=ProductKind.COURSE,
        price_minor=1_990,
        category="课程",
    )
    now = clock.now()
    drop_create(
        product=fish,
        sku=small,
        title="周五带鱼团购",
        price_minor=6_600,
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(days=1),
        units=10,
        per_member_limit=2,
        min_buyers=5,
    )

    wang = _person("王小明", "13800138000")
    li = _person("李娜", "13900139000")
    zhao = _person("赵敏", "13700137000")
    transfer = _paid(
        wang, home, small, 2, _address("王小明", "13800138000", "浙江", "舟山市定海区海港路 8 号")
    )
    _paid(li, home, large, 1, _address("李娜", "13900139000", "上海", "浦东新区世纪大道 100 号"))
    disputed = _paid(
        zhao, home, small, 1, _address("赵敏", "13700137000", "江苏", "苏州市姑苏区平江路 5 号")
    )
    order_ship(order=disputed, carrier="顺丰速运", tracking_no="SF7788990011")
    case = after_sale_open(
        order=disputed, kind="refund_only", amount_minor=8_800, reason="到货时已经化冻，有异味"
    )
    after_sale_add_evidence(
        case=case,
        kind="photo",
        note="开箱照片：冰袋全化了",
        file=SimpleUploadedFile("unboxing.png", _photo(), content_type="image/png"),
    )
    order_create(
        member=li,
        community=home,
        lines=[LineIn(product_id=fish.pk, sku_id=small.pk, quantity=1)],
        address=_address("李娜", "13900139000", "上海", "浦东新区世纪大道 100 号"),
    )
    assert orange_box.stock == 0
    return {"home": home, "transfer": transfer, "case": case}


def _shot(page: Any, artifacts: Path, name: str, *, full: bool = True) -> Path:
    path = artifacts / name
    page.screenshot(path=str(path), full_page=full)
    return path


def _no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} is {width}px wide in a {viewport}px viewport"


def _sign_in(page: Any, base: str) -> None:
    page.goto(base + "/console/login/")
    page.fill('input[name="username"]', "owner")
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('.auth-form button[type="submit"]')


def test_operator_ships_an_order_paid_by_transfer(
    live_server: Any, operator: Any, shop: dict[str, Any], browser: Any, artifacts: Path
) -> None:
    base = live_server.url
    transfer: Order = shop["transfer"]
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"{req.url} {req.failure}"))
    _sign_in(page, base)

    # The nav leads to the commerce pages; with two communities the first visit asks which.
    page.click('#nav a[href="/console/shipping/"]')
    page.click('.tile[href="/console/shipping/seafood/"]')
    assert page.url == base + "/console/shipping/seafood/"
    pick = page.locator("#pick-table tbody tr")
    assert pick.count() == 2
    assert "冷链" in pick.first.inner_text() or "Cold chain" in pick.first.inner_text()
    card = page.locator(f"#ship-{transfer.number}")
    assert "王小明" in card.inner_text()
    _shot(page, artifacts, "console-commerce-shipping-zh-desktop.png")

    card.locator('select[name$="-carrier"]').select_option("顺丰速运")
    card.locator('input[name$="-tracking_no"]').fill("SF1234567890")
    with page.expect_navigation():
        card.locator('button[type="submit"]').click()
    assert page.locator(".flash-success").count() == 1
    assert page.locator(f"#ship-{transfer.number}").count() == 0

    page.goto(f"{base}/console/orders/seafood/{transfer.number}/")
    status = page.locator(".page-title h1 .status").inner_text()
    assert status in ("已发货", "Shipped")
    shipment = page.locator("#shipment").inner_text()
    assert "SF1234567890" in shipment
    assert "顺丰速运" in shipment
    address = page.locator("#address").inner_text()
    assert "王**" in address
    assert "海港路" not in address
    _shot(page, artifacts, "console-commerce-order-shipped-zh-desktop.png")

    page.click("#address button[type=submit]")
    page.wait_for_selector("#address .address.revealed")
    assert "海港路" in page.locator("#address").inner_text()

    page.goto(base + "/console/orders/")
    assert page.url == base + "/console/orders/seafood/"
    assert page.locator(".kpi").count() == 5
    assert page.locator("#order-table tbody tr").count() == 4
    page.select_option('select[name="status"]', "pending")
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr').length === 1")
    assert "status=pending" in page.url
    page.goto(base + "/console/orders/seafood/")
    _shot(page, artifacts, "console-commerce-orders-zh-desktop.png")

    page.goto(base + "/console/catalog/")
    assert page.url == base + "/console/catalog/seafood/"
    assert page.locator("#product-table tbody tr").count() == 3
    _shot(page, artifacts, "console-commerce-catalog-zh-desktop.png")
    page.click("#product-table a.product-link >> nth=2")
    page.wait_for_selector("#sku-table")
    _shot(page, artifacts, "console-commerce-product-zh-desktop.png")
    page.goto(base + "/console/catalog/seafood/drops/")
    _shot(page, artifacts, "console-commerce-drops-zh-desktop.png")
    page.goto(base + "/console/catalog/seafood/shipping-templates/")
    page.click("#template-create summary")
    _shot(page, artifacts, "console-commerce-templates-zh-desktop.png")

    # A new product: the form shows the fields of the chosen type only.
    page.goto(base + "/console/catalog/seafood/products/new/")
    page.select_option('select[name="kind"]', "physical")
    assert not page.locator('select[name="plan"]').is_visible()
    assert page.locator('input[name="weight_grams"]').is_visible()
    page.fill('input[name="name"]', "东海小黄鱼")
    page.fill('input[name="price"]', "59.9")
    page.fill('input[name="weight_grams"]', "750")
    page.check('input[name="cold_chain"]')
    _shot(page, artifacts, "console-commerce-product-new-zh-desktop.png")
    with page.expect_navigation():
        page.click("#product-form button[type=submit]")
    page.fill('#sku-form input[name="options"]', "规格: 1斤")
    page.fill('#sku-form input[name="stock"]', "12")
    with page.expect_navigation():
        page.click("#sku-form button[type=submit]")
    row = page.locator("#sku-table tbody tr").first
    row.locator('input[name$="-delta"]').fill("-50")
    row.locator('input[name$="-reason"]').fill("盘点")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert page.locator("#sku-table .field-error").count() == 1
    assert page.locator("#product-form .field-error").count() == 0
    assert page.locator('#product-form input[name="name"]').input_value() == "东海小黄鱼"
    _shot(page, artifacts, "console-commerce-product-error-zh-desktop.png")
    row = page.locator("#sku-table tbody tr").first
    row.locator('input[name$="-delta"]').fill("8")
    row.locator('input[name$="-reason"]').fill("新到一批")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert page.locator("#sku-table .stock-figure").first.inner_text() == "20"

    page.goto(base + "/console/after-sales/")
    assert page.url == base + "/console/after-sales/seafood/"
    thumb = page.locator(".evidence-thumb img")
    thumb.wait_for()
    # Attached is not loaded: on a busy machine the thumbnail may still be on its way.
    loaded = (
        "img => img.complete ? img.naturalWidth : new Promise(done =>"
        " img.addEventListener('load', () => done(img.naturalWidth)))"
    )
    assert thumb.evaluate(loaded) == 160
    _shot(page, artifacts, "console-commerce-aftersales-zh-desktop.png")

    phone = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        storage_state=context.storage_state(),
    )
    mobile = phone.new_page()
    mobile.on("pageerror", lambda exc: errors.append(str(exc)))
    for path, name in [
        ("/console/shipping/seafood/", "console-commerce-shipping-zh-phone.png"),
        ("/console/after-sales/seafood/", "console-commerce-aftersales-zh-phone.png"),
        (f"/console/orders/seafood/{transfer.number}/", "console-commerce-order-zh-phone.png"),
        ("/console/catalog/seafood/", "console-commerce-catalog-zh-phone.png"),
    ]:
        mobile.goto(base + path)
        _no_horizontal_overflow(mobile)
        _shot(mobile, artifacts, name)

    assert errors == []
    phone.close()
    context.close()
