"""A sharer's link on a phone: the landing page, joining there, signing in later, and the
poster. Requests read the pages in English (the language cookie)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from quanzi.core.models import Activity
from quanzi.distribution.models import Commission, OrderAttribution, ReferralLink, ReferralTouch
from quanzi.h5 import poster
from quanzi.h5.tests.kit import phone, shop, signed_in
from quanzi.members.models import Member
from quanzi.members.services import member_sign_in_token_create
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import paid_order
from quanzi.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

JOIN = {"display_name": "阿芳", "phone": "139 1234 0001", "consent": "on"}


def test_a_signed_in_friend_leaves_a_touch_and_their_order_earns_the_sharer(
    frozen_clock: Any,
) -> None:
    # Given a sharer's product link and a friend signed in on their phone
    s = shop()
    friend = member("阿芳")
    client = signed_in(friend)

    # When the friend opens the link
    response = client.get(f"/m/r/{s.link.code}/")

    # Then the page says who recommends what, and leads to the product
    assert response.status_code == 200
    body = response.content.decode()
    assert "小林 recommends" in body
    assert s.sku.product.name in body
    assert f'href="/m/p/{s.sku.product_id}/"' in body
    touch = ReferralTouch.objects.get()
    assert (touch.member, touch.sharer, touch.link, touch.at) == (
        friend,
        s.sharer,
        s.link,
        frozen_clock.moment,
    )
    assert ReferralLink.objects.get(pk=s.link.pk).visits == 1

    # And what the friend then buys is attributed to the sharer, 10 % of ¥50
    frozen_clock.advance(timedelta(minutes=5))
    order = paid_order(s.sku, friend)
    assert OrderAttribution.objects.get(order=order).sharer == s.sharer
    assert list(Commission.objects.values_list("beneficiary", "amount_minor")) == [
        (s.sharer.pk, 500)
    ]


def test_a_visitor_joins_on_the_landing_page_and_their_visit_counts_from_when_they_came(
    frozen_clock: Any,
) -> None:
    s = shop()
    client = phone()
    opened = frozen_clock.moment
    response = client.get(f"/m/r/{s.link.code}/")
    assert response.status_code == 200
    assert 'id="join"' in response.content.decode()
    assert ReferralTouch.objects.count() == 0  # nobody known yet: only noted on this phone
    assert ReferralLink.objects.get(pk=s.link.pk).visits == 1  # but the visit counts now

    # Two minutes later they join from the same page
    frozen_clock.advance(timedelta(minutes=2))
    response = client.post(f"/m/r/{s.link.code}/", JOIN)

    assert response.status_code == 302
    assert response["Location"] == f"/m/p/{s.sku.product_id}/"
    joined = Member.objects.get(display_name="阿芳")
    assert joined.source_channel == "referral"
    assert joined.source_content == s.link.code
    assert joined.consent_version == "2026-01"
    touch = ReferralTouch.objects.get()
    assert (touch.member, touch.sharer, touch.at) == (joined, s.sharer, opened)
    assert ReferralLink.objects.get(pk=s.link.pk).visits == 1  # one visit, not counted again
    assert "阿芳" in client.get("/m/me/").content.decode()  # signed in on this phone

    # Their first order goes to the sharer
    frozen_clock.advance(timedelta(minutes=3))
    order = paid_order(s.sku, joined)
    assert OrderAttribution.objects.get(order=order).sharer == s.sharer
    assert Commission.objects.get().amount_minor == 500


def test_a_known_number_signs_nobody_in_and_the_link_sent_applies_the_visit_later(
    frozen_clock: Any,
) -> None:
    s = shop()
    known = member("老王", phone="13912340002")
    client = phone()
    opened = frozen_clock.moment
    client.get(f"/m/r/{s.link.code}/")

    # Someone types a number that is already a member's
    frozen_clock.advance(timedelta(minutes=1))
    response = client.post(f"/m/r/{s.link.code}/", {**JOIN, "phone": "139 1234 0002"})

    assert response.status_code == 200
    assert 'id="link-sent"' in response.content.decode()
    assert Member.objects.filter(display_name="阿芳").count() == 0
    assert Member.objects.get(pk=known.pk).consent_version == ""  # nobody agreed for them
    assert OutboxMessage.objects.get(member=known).template == "sign_in_link"
    assert ReferralTouch.objects.count() == 0
    assert client.get("/m/me/").content.decode().count('id="signed-out"') == 1

    # The member opens their personal link on this phone: the visit becomes theirs
    frozen_clock.advance(timedelta(minutes=10))
    response = client.get(f"/m/login/{member_sign_in_token_create(member=known)}/")
    assert response.status_code == 302
    touch = ReferralTouch.objects.get()
    assert (touch.member, touch.sharer, touch.at) == (known, s.sharer, opened)
    client.get("/m/me/")
    assert ReferralTouch.objects.count() == 1  # applied once


def test_the_join_form_refuses_without_consent_and_makes_nobody() -> None:
    s = shop()
    client = phone()
    client.get(f"/m/r/{s.link.code}/")
    before = Member.objects.count()

    response = client.post(f"/m/r/{s.link.code}/", {**JOIN, "consent": "", "phone": "12"})

    assert response.status_code == 422
    body = response.content.decode()
    assert "Please agree to the privacy notice to join." in body
    assert "Please check the number" in body
    assert Member.objects.count() == before
    assert ReferralTouch.objects.count() == 0


def test_opening_ones_own_link_counts_a_visit_and_earns_nothing(frozen_clock: Any) -> None:
    s = shop()
    client = signed_in(s.sharer)

    response = client.get(f"/m/r/{s.link.code}/")

    assert response.status_code == 200
    assert 'id="own-link"' in response.content.decode()
    assert ReferralLink.objects.get(pk=s.link.pk).visits == 1
    assert ReferralTouch.objects.count() == 0
    frozen_clock.advance(timedelta(minutes=1))
    order = paid_order(s.sku, s.sharer)
    assert not OrderAttribution.objects.filter(order=order).exists()
    assert Commission.objects.count() == 0


def test_a_community_link_leads_to_the_shop() -> None:
    s = shop()
    from quanzi.distribution.services.links import referral_link_get_or_create

    link = referral_link_get_or_create(community=s.home, sharer=s.sharer)
    response = phone().get(f"/m/r/{link.code.lower()}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="ref-community"' in body
    assert f'href="/m/c/{s.home.slug}/shop/"' in body


def test_an_unknown_code_is_a_page_that_says_so() -> None:
    response = phone().get("/m/r/NOPE2345/")

    assert response.status_code == 404
    assert 'id="unknown-link"' in response.content.decode()
    assert phone().get("/m/r/NOPE2345/poster.png").status_code == 404


# --- The poster --------------------------------------------------------------------------------


def test_the_poster_is_a_png_a_phone_can_post_and_browsers_may_keep() -> None:
    s = shop()
    client = phone()

    response = client.get(f"/m/r/{s.link.code}/poster.png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "max-age=3600" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.size == (750, 1200)
    assert 20_000 < len(response.content) < 1_000_000

    # Asked again with its ETag: not modified, nothing drawn
    again = client.get(f"/m/r/{s.link.code}/poster.png", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert not Activity.objects.filter(data__link=s.link.code).exists()  # a poster is no visit


def test_the_poster_changes_its_etag_when_what_it_says_changes() -> None:
    s = shop()
    client = phone()
    first = client.get(f"/m/r/{s.link.code}/poster.png")["ETag"]
    s.sharer.display_name = "林姐"
    s.sharer.save(update_fields=["display_name"])

    assert client.get(f"/m/r/{s.link.code}/poster.png")["ETag"] != first


@pytest.fixture
def fonts() -> Any:
    poster.font_path.cache_clear()
    poster.font.cache_clear()
    yield
    poster.font_path.cache_clear()
    poster.font.cache_clear()


def test_the_poster_font_is_configurable(fonts: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not __import__("os").path.exists(path):
        pytest.skip("no DejaVu font to point at")
    monkeypatch.setenv(poster.FONT_ENV, path)

    assert poster.font_path() == path


def test_the_poster_draws_with_pillows_font_when_there_is_no_cjk_font(
    fonts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(poster.FONT_ENV, "/nowhere/font.ttf")
    monkeypatch.setattr(poster, "FONT_DIRS", ())
    content = poster.Poster(
        title="舟山野生带鱼",
        subtitle="海鲜",
        price="¥50.00",
        sharer="小林",
        recommends="推荐给你",
        community="海鲜水果圈",
        hint="长按识别二维码",
        url="https://example.com/m/r/ABCD2345/",
        initial="舟",
        tone=3,
        badge="海鲜水果圈",
    )

    assert poster.font_path() is None
    image = Image.open(io.BytesIO(poster.render(content)))
    assert image.size == (750, 1200)
