"""The member shop (H5): shop, product, group-buy, checkout, paying and "My orders".

Requests speak English (the language cookie) so the assertions read the source strings; the
Chinese pages are the same templates through the catalogues.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from quanzi.catalog.models import ProductKind, Sku
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.services.shipping import RuleSpec
from quanzi.catalog.tests.factories import plan, template
from quanzi.communities.models import Community
from quanzi.communities.tests.factories import paid
from quanzi.core import clock
from quanzi.members.models import Member
from quanzi.members.services import member_sign_in_token_create
from quanzi.members.tests.factories import member
from quanzi.orders.models import AfterSale, Evidence, Order, OrderStatus
from quanzi.orders.services.aftersales import after_sale_approve, after_sale_reject
from quanzi.orders.services.checkout import address_of
from quanzi.orders.services.fulfilment import order_ship
from quanzi.orders.tests.factories import (
    ADDRESS,
    community,
    drop,
    goods,
    order,
    paid_order,
    pay,
    running_fake,
    virtual,
)
from quanzi.payments.models import Payment
from quanzi.payments.wechatpay.fake import FakeWeChatPay

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.QUANZI_PAYMENT_PROVIDER = "manual"
    settings.QUANZI_WECHATPAY_CONFIG = None


def browser() -> Client:
    """A phone: a fresh test client that reads the pages in English."""
    phone = Client()
    phone.cookies["quanzi_language"] = "en"
    return phone


def signed_in(who: Member) -> Client:
    phone = browser()
    response = phone.get(f"/m/login/{member_sign_in_token_create(member=who)}/")
    assert response.status_code == 302
    return phone


@pytest.fixture
def home() -> Community:
    return community(name="海鲜水果圈")


@pytest.fixture
def sku(home: Community) -> Sku:
    """带鱼, ¥50, 5 in stock; ¥10 shipping for the first unit and ¥5 for each more."""
    return goods(home, stock=5, price_minor=5_000)


@pytest.fixture
def buyer() -> Member:
    return member("小林")


@pytest.fixture
def phone(buyer: Member) -> Client:
    return signed_in(buyer)


def checkout_data(item: Sku, **overrides: Any) -> dict[str, Any]:
    data = {
        "token": "tok-1",
        "product": item.product_id,
        "sku": item.pk,
        "quantity": 1,
        "name": "王小明",
        "phone": "138 0013 8000",
        "region": "浙江",
        "address": "舟山市定海区海港路 8 号",
        "note": "",
        "provider": "manual",
    }
    data.update(overrides)
    return data


def body(response: Any) -> str:
    return str(response.content.decode())


# The shop and the product page


def test_the_shop_lists_what_is_on_sale_with_prices_and_sold_out(home: Community, sku: Sku) -> None:
    gone = goods(home, stock=0, price_minor=8_800)
    hidden = virtual(home, active=False)

    response = browser().get(f"/m/c/{home.slug}/shop/")

    assert response.status_code == 200
    page = body(response)
    assert sku.product.name in page
    assert "¥50.00" in page
    assert f'data-product="{gone.product_id}"' in page
    assert page.count("soldout-badge") == 1
    assert hidden.name not in page
    assert "Members sign in with their personal link" in page


def test_a_member_with_a_discounting_plan_sees_member_prices(
    home: Community, sku: Sku, buyer: Member
) -> None:
    paid(buyer, plan(home, discount_percent=10), at=clock.now())

    page = body(signed_in(buyer).get(f"/m/c/{home.slug}/shop/"))

    assert 'id="member-discount"' in page
    assert "¥45.00" in page  # ¥50 less 10%
    assert "¥50.00" in page  # the normal price, struck through
    product_page = body(signed_in(buyer).get(f"/m/p/{sku.product_id}/"))
    assert "¥45.00" in product_page
    assert "Member −10%" in product_page


def test_an_unknown_or_archived_shop_is_404(home: Community) -> None:
    assert browser().get("/m/c/nope/shop/").status_code == 404


def test_the_product_page_has_specs_stock_and_the_cold_chain_note(home: Community) -> None:
    product = product_create(
        community=home,
        name="舟山带鱼",
        kind=ProductKind.PHYSICAL,
        price_minor=6_800,
        description="当天捕捞，急冻锁鲜。",
        cold_chain=True,
        cold_chain_note="顺丰冷链，48 小时内送达",
        shipping_template=template(home),
        weight_grams=1_000,
    )
    small = sku_create(product=product, options={"规格": "2斤"}, stock=3)
    big = sku_create(product=product, options={"规格": "5斤"}, price_minor=15_800, stock=0)
    product_update(product=product, active=True)

    page = body(browser().get(f"/m/p/{product.pk}/"))

    assert "顺丰冷链，48 小时内送达" in page
    assert 'id="cold-chain"' in page
    assert f'value="{small.pk}" data-price="¥68.00" data-was="¥68.00" checked' in page
    assert f'value="{big.pk}" data-price="¥158.00" data-was="¥158.00" disabled' in page
    assert "Only 3 left" in page
    assert "当天捕捞" in page
    assert 'id="buy-now"' in page


def test_a_product_not_on_sale_is_404(home: Community) -> None:
    course = virtual(home, active=False)
    assert browser().get(f"/m/p/{course.pk}/").status_code == 404
    assert browser().get("/m/p/999999/").status_code == 404


# Group-buy drops


def test_a_live_drop_shows_prices_stock_and_buyers(home: Community, sku: Sku) -> None:
    group_buy = drop(sku, units=4, price_minor=3_900, min_buyers=3)
    paid_order_in_drop = order(sku, drop_id=group_buy.pk)
    pay(paid_order_in_drop)

    page = body(browser().get(f"/m/d/{group_buy.pk}/"))

    assert "¥39.00" in page
    assert "¥50.00" in page
    assert "3 left" in page
    assert "1 joined · goes ahead at 3" in page
    assert "2 more buyers needed" in page
    assert f'hx-get="/m/d/{group_buy.pk}/live/"' in page
    assert "data-countdown" in page
    assert 'id="drop-buy"' in page
    assert "Join the group-buy" in page


def test_the_drop_fragment_counts_down_the_stock_and_disables_the_button_when_sold_out(
    home: Community, sku: Sku
) -> None:
    group_buy = drop(sku, units=1, price_minor=3_900)

    live = body(browser().get(f"/m/d/{group_buy.pk}/live/"))
    assert "1 left" in live
    assert 'hx-swap-oob="true"' in live
    assert " disabled" not in live

    order(sku, drop_id=group_buy.pk)
    sold = body(browser().get(f"/m/d/{group_buy.pk}/live/"))

    assert "Sold out" in sold
    assert 'id="drop-buy" hx-swap-oob="true" disabled' in sold


def test_the_drop_button_is_disabled_before_the_start_and_after_the_end(
    home: Community, sku: Sku, frozen_clock: Any
) -> None:
    group_buy = drop(sku, units=2)
    group_buy.starts_at = clock.now() + timedelta(hours=1)
    group_buy.save(update_fields=["starts_at"])

    before = body(browser().get(f"/m/d/{group_buy.pk}/"))
    assert "Not started yet" in before
    assert 'id="drop-buy" disabled' in before

    frozen_clock.advance(timedelta(days=2))
    after = body(browser().get(f"/m/d/{group_buy.pk}/"))
    assert 'id="drop-buy" disabled' in after
    assert "This group-buy has ended" in after


# Checkout


def test_checkout_needs_a_signed_in_member(sku: Sku) -> None:
    response = browser().get(f"/m/checkout/?product={sku.product_id}&sku={sku.pk}")

    assert response.status_code == 403
    assert 'id="sign-in-needed"' in body(response)


def test_checkout_shows_the_line_and_a_live_quote(phone: Client, sku: Sku, buyer: Member) -> None:
    page = body(phone.get(f"/m/checkout/?product={sku.product_id}&sku={sku.pk}&quantity=2"))

    assert 'name="token"' in page
    assert 'value="2"' in page
    assert "choose a province" in page
    assert '<dd id="quote-total">¥100.00</dd>' in page
    assert 'name="region"' in page
    assert '<option value="新疆">' in page

    quote = body(
        phone.get(
            f"/m/checkout/quote/?product={sku.product_id}&sku={sku.pk}&quantity=2&region=浙江"
        )
    )
    assert "¥15.00" in quote  # ¥10 for the first, ¥5 for the second
    assert '<dd id="quote-total">¥115.00</dd>' in quote
    assert 'id="co-total" hx-swap-oob="true">¥115.00' in quote


def test_checkout_remembers_the_last_address(phone: Client, sku: Sku, buyer: Member) -> None:
    order(sku, buyer)

    page = body(phone.get(f"/m/checkout/?product={sku.product_id}"))

    assert 'value="王小明"' in page
    assert 'value="13800138000"' in page
    assert '<option value="浙江" selected>' in page


def test_placing_an_order_goes_to_the_pay_page(phone: Client, sku: Sku, buyer: Member) -> None:
    response = phone.post("/m/checkout/", checkout_data(sku, quantity=2, note="少放冰"))

    placed = Order.objects.get(member=buyer)
    assert response.status_code == 302
    assert response["Location"] == f"/m/o/{placed.number}/pay/"
    assert placed.total_minor == 11_500
    assert placed.shipping_minor == 1_500
    assert placed.note == "少放冰"
    assert placed.channel == "h5"
    assert placed.provider == "manual"
    assert address_of(placed) == ADDRESS.__class__(
        name="王小明", phone="13800138000", region="浙江", address="舟山市定海区海港路 8 号"
    )
    sku.refresh_from_db()
    assert (sku.stock, sku.reserved) == (3, 2)


def test_a_double_submit_with_the_same_token_places_one_order(
    phone: Client, sku: Sku, buyer: Member
) -> None:
    first = phone.post("/m/checkout/", checkout_data(sku))
    second = phone.post("/m/checkout/", checkout_data(sku))

    assert Order.objects.filter(member=buyer).count() == 1
    assert first["Location"] == second["Location"]
    third = phone.post("/m/checkout/", checkout_data(sku, token="tok-2"))
    assert third.status_code == 302
    assert Order.objects.filter(member=buyer).count() == 2


def test_a_bad_address_gets_field_messages_and_no_order(phone: Client, sku: Sku) -> None:
    response = phone.post(
        "/m/checkout/", checkout_data(sku, name="", phone="12345", region="火星", address="")
    )

    assert response.status_code == 422
    page = body(response)
    assert "Who receives the parcel?" in page
    assert "it should look like 138 0013 8000" in page
    assert "Select a valid choice." in page
    assert "Where should the parcel go?" in page
    assert Order.objects.count() == 0


def test_a_region_the_template_does_not_ship_to_is_named_on_the_province(
    phone: Client, home: Community
) -> None:
    local = goods(
        home, stock=5, shipping_template=template(home, rules=[RuleSpec(["浙江"], 800, 0)])
    )

    response = phone.post("/m/checkout/", checkout_data(local, region="新疆"))

    assert response.status_code == 422
    assert "does not ship to 新疆" in body(response)
    assert Order.objects.count() == 0


def test_sold_out_is_said_clearly_and_orders_nothing(phone: Client, sku: Sku) -> None:
    page = body(phone.get(f"/m/checkout/?product={sku.product_id}&sku={sku.pk}&quantity=6"))
    assert "Only 5 left: choose fewer." in page
    assert 'id="place-order" disabled' in page

    response = phone.post("/m/checkout/", checkout_data(sku, quantity=6))

    assert response.status_code == 409
    assert 'id="checkout-error"' in body(response)
    assert "Sold out" in body(response)
    assert Order.objects.count() == 0
    sku.refresh_from_db()
    assert (sku.stock, sku.reserved) == (5, 0)


def test_a_group_buy_order_is_placed_at_the_drop_price(
    phone: Client, sku: Sku, buyer: Member
) -> None:
    group_buy = drop(sku, units=3, price_minor=3_900)

    page = body(phone.get(f"/m/checkout/?drop={group_buy.pk}&quantity=1"))
    assert group_buy.title in page
    assert "¥39.00" in page

    data = checkout_data(sku, drop=group_buy.pk, sku="")
    response = phone.post("/m/checkout/", data)

    placed = Order.objects.get(member=buyer)
    assert response.status_code == 302
    assert (placed.drop_id, placed.subtotal_minor) == (group_buy.pk, 3_900)


def test_virtual_goods_need_no_address(phone: Client, home: Community, buyer: Member) -> None:
    course = virtual(home, price_minor=9_900)

    page = body(phone.get(f"/m/checkout/?product={course.pk}"))
    assert 'id="address"' not in page

    response = phone.post(
        "/m/checkout/",
        {"token": "t", "product": course.pk, "quantity": 1, "provider": "manual"},
    )
    placed = Order.objects.get(member=buyer)
    assert response.status_code == 302
    assert not placed.needs_shipping
    assert placed.total_minor == 9_900


# Paying


def test_the_pay_page_shows_the_transfer_instructions_and_reference(
    phone: Client, sku: Sku, buyer: Member, settings: Any
) -> None:
    settings.QUANZI_MANUAL_PAYMENT_INSTRUCTIONS = "招商银行 6214 8888 0000 1234（王老板）"
    phone.post("/m/checkout/", checkout_data(sku))
    placed = Order.objects.get(member=buyer)

    page = body(phone.get(f"/m/o/{placed.number}/pay/"))

    payment = Payment.objects.get(reference=placed.number)
    assert "¥60.00" in page
    assert "招商银行 6214 8888 0000 1234（王老板）" in page
    assert f'value="{payment.out_trade_no}"' in page
    assert 'id="paid-button"' in page
    assert "data-countdown" in page
    sent = body(phone.get(f"/m/o/{placed.number}/pay/?sent=1"))
    assert 'id="waiting"' in sent
    assert 'id="paid-button"' not in sent


def test_the_pay_page_has_a_default_text_without_instructions(
    phone: Client, sku: Sku, buyer: Member
) -> None:
    phone.post("/m/checkout/", checkout_data(sku))
    placed = Order.objects.get(member=buyer)

    page = body(phone.get(f"/m/o/{placed.number}/pay/"))

    assert "Use the account the shop shared with you" in page


def test_the_pay_status_moves_the_page_on_once_paid(phone: Client, sku: Sku, buyer: Member) -> None:
    placed = order(sku, buyer)
    assert phone.get(f"/m/o/{placed.number}/pay/status/").status_code == 204

    pay(placed)

    response = phone.get(f"/m/o/{placed.number}/pay/status/")
    assert response["HX-Redirect"] == f"/m/o/{placed.number}/"
    assert phone.get(f"/m/o/{placed.number}/pay/")["Location"] == f"/m/o/{placed.number}/"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeChatPay]:
    with running_fake() as fake:
        yield fake


def test_wechat_pay_native_shows_a_qr_code(
    fake_server: FakeWeChatPay, settings: Any, phone: Client, sku: Sku, buyer: Member
) -> None:
    fake_server.reset()
    settings.QUANZI_WECHATPAY_CONFIG = fake_server.config()
    checkout_page = body(phone.get(f"/m/checkout/?product={sku.product_id}"))
    assert 'value="wechatpay"' in checkout_page
    assert 'value="manual"' in checkout_page

    phone.post("/m/checkout/", checkout_data(sku, provider="wechatpay"))
    placed = Order.objects.get(member=buyer)
    page = body(phone.get(f"/m/o/{placed.number}/pay/"))

    payment = Payment.objects.get(reference=placed.number)
    assert payment.provider == "wechatpay"
    assert payment.checkout["mode"] == "native"
    assert '<svg class="qr"' in page
    assert 'id="native"' in page
    assert "?via=manual" in page


def test_a_lapsed_order_says_so_instead_of_taking_money(
    phone: Client, sku: Sku, buyer: Member, frozen_clock: Any
) -> None:
    placed = order(sku, buyer)
    frozen_clock.advance(timedelta(hours=1))

    page = body(phone.get(f"/m/o/{placed.number}/pay/"))

    assert "This order has lapsed" in page
    assert not Payment.objects.filter(reference=placed.number).exists()


# My orders


def test_my_orders_lists_only_mine_with_carrier_and_tracking(
    phone: Client, sku: Sku, buyer: Member
) -> None:
    mine = paid_order(sku, buyer)
    order_ship(order=mine, carrier="顺丰速运", tracking_no="SF1234567890")
    theirs = order(sku, member("别人"))

    page = body(phone.get("/m/orders/"))

    assert f'id="order-{mine.number}"' in page
    assert theirs.number not in page
    assert "顺丰速运" in page
    assert "SF1234567890" in page
    to_receive = body(phone.get("/m/orders/?s=shipped"))
    assert mine.number in to_receive
    assert mine.number not in body(phone.get("/m/orders/?s=pending"))


def test_someone_elses_order_is_404_everywhere(phone: Client, sku: Sku) -> None:
    theirs = order(sku, member("别人"))

    for path in ("", "pay/", "pay/status/", "refund/"):
        assert phone.get(f"/m/o/{theirs.number}/{path}").status_code == 404
    assert phone.post(f"/m/o/{theirs.number}/cancel/").status_code == 404
    assert phone.get(f"/m/o/{theirs.pk}/").status_code == 404  # not by primary key either
    assert Order.objects.get(pk=theirs.pk).status == OrderStatus.PENDING


def test_the_order_page_has_the_timeline_address_and_shipment(
    phone: Client, sku: Sku, buyer: Member
) -> None:
    mine = paid_order(sku, buyer)
    order_ship(order=mine, carrier="中通快递", tracking_no="ZT7788")

    page = body(phone.get(f"/m/o/{mine.number}/"))

    assert 'id="shipment"' in page
    assert "中通快递" in page
    assert "ZT7788" in page
    assert page.count("tl-step is-done") == 3  # placed, paid, shipped
    assert "中通快递 ZT7788" in page  # on the shipped step
    assert "138****8000" in page
    assert "舟山市定海区海港路 8 号" in page
    assert 'id="confirm-receipt"' in page


def test_cancelling_an_unpaid_order_puts_the_stock_back(
    phone: Client, sku: Sku, buyer: Member
) -> None:
    placed = order(sku, buyer, quantity=2)

    response = phone.post(f"/m/o/{placed.number}/cancel/")

    assert response["Location"] == f"/m/o/{placed.number}/"
    placed.refresh_from_db()
    sku.refresh_from_db()
    assert placed.status == OrderStatus.CANCELLED
    assert (sku.stock, sku.reserved) == (5, 0)
    page = body(phone.get(response["Location"]))
    assert "Order cancelled" in page
    assert "You cancelled it" in page


def test_cancelling_a_paid_order_is_refused_on_the_page(
    phone: Client, sku: Sku, buyer: Member
) -> None:
    mine = paid_order(sku, buyer)

    response = phone.post(f"/m/o/{mine.number}/cancel/")

    assert response.status_code == 409
    assert 'id="order-error"' in body(response)
    assert Order.objects.get(pk=mine.pk).status == OrderStatus.PAID


def test_confirming_receipt_completes_the_order(phone: Client, sku: Sku, buyer: Member) -> None:
    mine = paid_order(sku, buyer)
    order_ship(order=mine, carrier="顺丰速运", tracking_no="SF1")

    phone.post(f"/m/o/{mine.number}/receive/")

    mine.refresh_from_db()
    assert mine.status == OrderStatus.COMPLETED
    assert mine.received_at is not None


# Refund requests


def test_a_refund_request_with_a_photo(phone: Client, sku: Sku, buyer: Member) -> None:
    mine = paid_order(sku, buyer)
    order_ship(order=mine, carrier="顺丰速运", tracking_no="SF1")
    form = body(phone.get(f"/m/o/{mine.number}/refund/"))
    assert 'value="60.00"' in form  # the refundable amount by default
    assert 'value="return_refund"' in form

    response = phone.post(
        f"/m/o/{mine.number}/refund/",
        {
            "kind": "refund_only",
            "amount": "20",
            "reason": "到货时已经化冻",
            "photo": SimpleUploadedFile("fish.png", PNG, content_type="image/png"),
        },
    )

    case = AfterSale.objects.get(order=mine)
    assert response.status_code == 302
    assert response["Location"] == f"/m/o/{mine.number}/#case-{case.pk}"
    assert (case.kind, case.amount_minor, case.reason) == ("refund_only", 2_000, "到货时已经化冻")
    evidence = Evidence.objects.get(after_sale=case)
    assert evidence.kind == "photo"
    assert evidence.submitted_by == "member"
    assert evidence.file.read() == PNG
    page = body(phone.get(f"/m/o/{mine.number}/"))
    assert f'id="case-{case.pk}"' in page
    assert "Awaiting decision" in page
    assert 'id="ask-refund"' not in page  # one open request at a time


def test_a_refund_request_with_a_bad_file_opens_nothing(
    phone: Client, sku: Sku, buyer: Member
) -> None:
    mine = paid_order(sku, buyer)

    response = phone.post(
        f"/m/o/{mine.number}/refund/",
        {
            "kind": "refund_only",
            "amount": "60",
            "reason": "不想要了",
            "photo": SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain"),
        },
    )

    assert response.status_code == 422
    assert "Attach a photo" in body(response)
    assert not AfterSale.objects.exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "Write the amount like 12.50."),
        ("0", "Ask for more than ¥0."),
        ("61", "At most ¥60.00"),
    ],
)
def test_a_refund_amount_is_checked_on_its_field(
    phone: Client, sku: Sku, buyer: Member, amount: str, message: str
) -> None:
    mine = paid_order(sku, buyer)

    response = phone.post(
        f"/m/o/{mine.number}/refund/", {"kind": "refund_only", "amount": amount, "reason": "坏了"}
    )

    assert response.status_code == 422
    assert message in body(response)
    assert not AfterSale.objects.exists()


def test_return_and_refund_is_not_offered_before_shipping(
    phone: Client, sku: Sku, buyer: Member
) -> None:
    mine = paid_order(sku, buyer)

    form = body(phone.get(f"/m/o/{mine.number}/refund/"))
    response = phone.post(
        f"/m/o/{mine.number}/refund/", {"kind": "return_refund", "amount": "60", "reason": "x"}
    )

    assert 'value="return_refund"' not in form
    assert response.status_code == 422
    assert not AfterSale.objects.exists()


def test_the_shops_answer_and_the_return_tracking(
    phone: Client, sku: Sku, buyer: Member, django_capture_on_commit_callbacks: Any
) -> None:
    mine = paid_order(sku, buyer)
    order_ship(order=mine, carrier="顺丰速运", tracking_no="SF1")
    phone.post(
        f"/m/o/{mine.number}/refund/", {"kind": "return_refund", "amount": "60", "reason": "太小"}
    )
    case = AfterSale.objects.get(order=mine)
    with django_capture_on_commit_callbacks(execute=True):
        after_sale_approve(case=case, note="请寄回：舟山市定海区海港路 8 号")

    page = body(phone.get(f"/m/o/{mine.number}/"))
    assert "请寄回：舟山市定海区海港路 8 号" in page
    assert "Send tracking number" in page

    bad = phone.post(
        f"/m/o/{mine.number}/cases/{case.pk}/return/", {"carrier": "", "tracking_no": ""}
    )
    assert bad.status_code == 422
    assert "Name the carrier." in body(bad)
    phone.post(
        f"/m/o/{mine.number}/cases/{case.pk}/return/",
        {"carrier": "顺丰速运", "tracking_no": "SF999"},
    )
    case.refresh_from_db()
    assert (case.return_carrier, case.return_tracking_no) == ("顺丰速运", "SF999")


def test_a_rejected_request_shows_why(phone: Client, sku: Sku, buyer: Member) -> None:
    mine = paid_order(sku, buyer)
    phone.post(
        f"/m/o/{mine.number}/refund/", {"kind": "refund_only", "amount": "60", "reason": "x"}
    )
    after_sale_reject(case=AfterSale.objects.get(order=mine), note="已发货，请收货后再申请")

    page = body(phone.get(f"/m/o/{mine.number}/"))

    assert "Rejected" in page
    assert "已发货，请收货后再申请" in page


def test_adding_evidence_and_withdrawing(phone: Client, sku: Sku, buyer: Member) -> None:
    mine = paid_order(sku, buyer)
    phone.post(
        f"/m/o/{mine.number}/refund/", {"kind": "refund_only", "amount": "60", "reason": "x"}
    )
    case = AfterSale.objects.get(order=mine)

    empty = phone.post(f"/m/o/{mine.number}/cases/{case.pk}/evidence/", {"note": ""})
    assert empty.status_code == 422
    assert "Attach a photo or write a note." in body(empty)
    phone.post(f"/m/o/{mine.number}/cases/{case.pk}/evidence/", {"note": "快递员说是冷链断了"})
    assert list(case.evidence.values_list("kind", "note")) == [("note", "快递员说是冷链断了")]

    phone.post(f"/m/o/{mine.number}/cases/{case.pk}/withdraw/")
    case.refresh_from_db()
    assert case.status == "withdrawn"


# A double tap, for real: two requests at once with the same checkout token


def _post_in_threads(cookie: str, data: dict[str, Any], count: int) -> list[int]:
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def tap() -> None:
        phone = browser()
        phone.cookies["sessionid"] = cookie
        barrier.wait()
        try:
            statuses.append(phone.post("/m/checkout/", data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=tap) for _n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_taps_with_one_token_place_one_order() -> None:
    sku = goods(community(), stock=10, price_minor=5_000)
    buyer = member("小林")
    phone = signed_in(buyer)

    statuses = _post_in_threads(phone.cookies["sessionid"].value, checkout_data(sku), 4)

    assert statuses == [302, 302, 302, 302]
    assert Order.objects.filter(member=buyer).count() == 1
    sku.refresh_from_db()
    assert (sku.stock, sku.reserved) == (9, 1)
