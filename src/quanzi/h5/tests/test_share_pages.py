"""My links (with posters and applying to be a distributor) and my earnings (with the payee
form). Requests read the pages in English (the language cookie)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from quanzi.core.models import LedgerTransaction
from quanzi.distribution.models import Distributor, DistributorStatus, ReferralLink
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.services.distributors import (
    distributor_approve,
    distributor_reject,
    distributor_suspend,
)
from quanzi.distribution.services.payouts import (
    PayoutRequest,
    payout_batch_create,
    payout_batch_mark_paid,
)
from quanzi.distribution.tests.factories import received, refund, shared
from quanzi.h5.tests.kit import phone, shop, signed_in
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import goods

pytestmark = pytest.mark.django_db


# --- My links ----------------------------------------------------------------------------------


def test_my_links_are_the_circle_and_each_product_on_sale_with_posters_to_download() -> None:
    s = shop()
    other = goods(s.home, price_minor=12_800)
    client = signed_in(s.sharer)

    response = client.get(f"/m/c/{s.home.slug}/share/")

    assert response.status_code == 200
    body = response.content.decode()
    links = ReferralLink.objects.filter(sharer=s.sharer)
    assert {link.product_id for link in links} == {None, s.sku.product_id, other.product_id}
    for link in links:
        assert f"http://testserver/m/r/{link.code}/" in body  # the link, to copy
        assert f'data-copy="#url-{link.code}"' in body
        assert f'src="/m/r/{link.code}/poster.png"' in body  # the preview
        assert f'download="poster-{link.code}.png"' in body
    assert 'id="to-earnings"' in body  # approved: earnings are one tap away
    assert 'id="apply"' in body  # and may still apply to lead a group
    assert 'value="group_leader"' in body
    assert 'value="sharer"' not in body

    # Looking again makes no second link
    client.get(f"/m/c/{s.home.slug}/share/")
    assert ReferralLink.objects.filter(sharer=s.sharer).count() == 3


def test_applying_needs_no_purchase_and_shows_its_status_with_the_reason() -> None:
    s = shop()
    newcomer = member("小周")
    client = signed_in(newcomer)
    page = client.get(f"/m/c/{s.home.slug}/share/").content.decode()
    assert "no purchase or fee is needed" in page
    assert 'id="how-it-works"' in page

    response = client.post(
        f"/m/c/{s.home.slug}/share/",
        {"role": "sharer", "application": "我在三个小区群里", "pickup_point": "ignored"},
    )

    assert response.status_code == 302
    distributor = Distributor.objects.get(member=newcomer)
    assert (distributor.role, distributor.status, distributor.application) == (
        "sharer",
        DistributorStatus.APPLIED,
        "我在三个小区群里",
    )
    assert distributor.pickup_point == ""  # only a group leader keeps one
    page = client.get(f"/m/c/{s.home.slug}/share/").content.decode()
    assert "Application sent." in page
    assert "The owner will look at your application soon." in page

    distributor_reject(distributor=distributor, reason="请先在群里活跃一段时间")
    page = client.get(f"/m/c/{s.home.slug}/share/").content.decode()
    assert "Reason: 请先在群里活跃一段时间" in page
    assert 'value="sharer"' in page  # may apply again

    client.post(f"/m/c/{s.home.slug}/share/", {"role": "sharer"})
    distributor = distributor_approve(distributor=Distributor.objects.get(member=newcomer))
    distributor_suspend(distributor=distributor, reason="发广告刷屏")
    page = client.get(f"/m/c/{s.home.slug}/share/").content.decode()
    assert "Suspended" in page
    assert "Reason: 发广告刷屏" in page


def test_an_application_for_a_role_not_offered_is_refused_and_nothing_is_made() -> None:
    s = shop()
    newcomer = member("小周")
    client = signed_in(newcomer)

    response = client.post(f"/m/c/{s.home.slug}/share/", {"role": "influencer"})

    assert response.status_code == 422
    assert "Select a valid choice." in response.content.decode()
    assert not Distributor.objects.filter(member=newcomer).exists()


def test_the_sharing_pages_ask_a_stranger_to_sign_in_and_know_no_other_circle() -> None:
    s = shop()
    for path in ("share", "earnings", "crystals"):
        response = phone().get(f"/m/c/{s.home.slug}/{path}/")
        assert response.status_code == 403
        assert 'id="sign-in-needed"' in response.content.decode()
    assert signed_in(s.sharer).get("/m/c/nowhere/share/").status_code == 404


# --- My earnings -------------------------------------------------------------------------------


def _amounts(body: str) -> dict[str, str]:
    return dict(re.findall(r'id="total-([a-z-]+)">([^<]+)<', body))


def test_earnings_show_a_pending_commission_with_when_it_matures(frozen_clock: Any) -> None:
    s = shop()
    friend = member("阿芳")
    order = shared(s.sku, s.sharer, friend)
    client = signed_in(s.sharer)

    body = client.get(f"/m/c/{s.home.slug}/earnings/").content.decode()

    assert _amounts(body) == {
        "payable": "¥0.00",
        "pending": "¥5.00",
        "in-payout": "¥0.00",
        "paid": "¥0.00",
    }
    assert order.number not in body  # masked
    assert f"{order.number[:4]}****{order.number[-4:]}" in body
    assert s.sku.product.name in body
    assert "Payable 7 days after your friend receives the goods." in body

    received(order)
    body = client.get(f"/m/c/{s.home.slug}/earnings/").content.decode()
    assert "when the return window closes" in body


def test_earnings_follow_the_money_to_payable_a_payout_and_paid(frozen_clock: Any) -> None:
    s = shop()
    order = shared(s.sku, s.sharer, member("阿芳"))
    received(order)
    frozen_clock.advance(timedelta(days=8))
    assert commissions_mature_due() == 1
    client = signed_in(s.sharer)
    body = client.get(f"/m/c/{s.home.slug}/earnings/").content.decode()
    assert _amounts(body)["payable"] == "¥5.00"
    assert "Goes out with the next payout." in body

    batch = payout_batch_create(community=s.home, items=[PayoutRequest(s.sharer.pk, 500)])
    body = client.get(f"/m/c/{s.home.slug}/earnings/").content.decode()
    assert _amounts(body) == {
        "payable": "¥0.00",
        "pending": "¥0.00",
        "in-payout": "¥5.00",
        "paid": "¥0.00",
    }
    assert "On its way" in body

    payout_batch_mark_paid(batch=batch, references={s.sharer.pk: "WX-778899"})
    body = client.get(f"/m/c/{s.home.slug}/earnings/").content.decode()
    assert _amounts(body)["paid"] == "¥5.00"
    assert _amounts(body)["in-payout"] == "¥0.00"
    assert "WX-778899" in body


def test_a_refund_after_maturity_shows_what_must_be_covered_first(
    frozen_clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    s = shop()
    order = shared(s.sku, s.sharer, member("阿芳"))
    received(order)
    frozen_clock.advance(timedelta(days=8))
    commissions_mature_due()
    payout_batch_mark_paid(
        batch=payout_batch_create(community=s.home, items=[PayoutRequest(s.sharer.pk, 500)])
    )
    with django_capture_on_commit_callbacks(execute=True):
        refund(order, order.lines.get().total_minor)

    body = signed_in(s.sharer).get(f"/m/c/{s.home.slug}/earnings/").content.decode()

    assert _amounts(body)["payable"] == "-¥5.00"
    assert 'id="debt"' in body
    assert "¥5.00 to cover first" in body
    assert "¥5.00 taken back for a refund." in body


def test_the_payee_form_refuses_bad_input_and_shows_the_account_masked_once_saved() -> None:
    s = shop()
    client = signed_in(s.sharer)
    url = f"/m/c/{s.home.slug}/earnings/"
    posted = LedgerTransaction.objects.count()

    empty = client.post(url, {"name": "", "account": ""})
    assert empty.status_code == 422
    assert "Give the account holder&#x27;s name." in empty.content.decode()
    short = client.post(url, {"name": "林小姐", "account": "12"})
    assert short.status_code == 422
    assert "Give a bank card or WeChat account (4-64 characters)." in short.content.decode()
    s.distributor.refresh_from_db()
    assert (s.distributor.payee_name, s.distributor.payee_account_encrypted) == ("", "")

    saved = client.post(url, {"name": "林小姐", "account": "6222 0212 3456 7890"})

    assert saved.status_code == 302
    body = client.get(url).content.decode()
    assert "62****7890" in body
    assert "6222021234567890" not in body
    assert "6222 0212 3456 7890" not in body
    assert LedgerTransaction.objects.count() == posted


def test_a_member_who_never_applied_is_asked_to_apply_before_giving_an_account() -> None:
    s = shop()
    newcomer = member("小周")
    client = signed_in(newcomer)

    body = client.get(f"/m/c/{s.home.slug}/earnings/").content.decode()
    assert "Apply to be a store sharer first" in body
    assert "No commission yet." in body
    response = client.post(f"/m/c/{s.home.slug}/earnings/", {"name": "小周", "account": "wx-zhou"})
    assert response.status_code == 302
    assert not Distributor.objects.filter(member=newcomer).exists()
