"""My crystals: balance, level, history, debt, rewards and redeeming with a confirm step.
Requests read the pages in English (the language cookie)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.tests.factories import community, group
from quanzi.core.models import LedgerEntry, LedgerTransaction
from quanzi.h5.tests.kit import signed_in
from quanzi.rewards.models import CrystalReward, Redemption, RedemptionStatus
from quanzi.rewards.selectors import crystal_balance
from quanzi.rewards.services.clawback import crystal_grant_claw
from quanzi.rewards.services.expiry import crystals_expire
from quanzi.rewards.services.levels import growth_level_set
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.services.rules import crystal_rule_set, reward_settings_update
from quanzi.rewards.tests.factories import award, member

pytestmark = pytest.mark.django_db


def _token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found is not None, "the confirm page carries a one-time token"
    return found.group(1)


def _coupon(home: Any, cost: int, **kwargs: Any) -> CrystalReward:
    kwargs.setdefault("name", "¥10 优惠券")
    return crystal_reward_create(
        community=home, kind="coupon", cost=cost, coupon_value_minor=1_000, **kwargs
    )


def test_the_crystals_page_shows_balance_level_benefits_history_and_how_to_earn(
    frozen_clock: Any,
) -> None:
    home = community(name="海鲜水果圈")
    vip = group(home, name="核心用户群")
    growth_level_set(community=home, level="seed", min_earned=50, discount_percent=5, badge="种子")
    growth_level_set(community=home, level="core", min_earned=200, group=vip)
    crystal_rule_set(community=home, action="post", amount=10)
    crystal_rule_set(community=home, action="purchase", amount=1)
    who = member("阿芳")
    award(home, who, 80)
    coupon = _coupon(home, 30)
    redemption_place(reward=coupon, member=who)

    body = signed_in(who).get(f"/m/c/{home.slug}/crystals/").content.decode()

    assert '<span id="crystal-balance">50</span>' in body
    assert "Seed user · 种子" in body
    assert "120 more crystals earned to reach Core member" in body
    assert "5% off in the shop" in body
    assert "a seat in “核心用户群”" in body
    assert "Purchase (per yuan)" in body
    assert "Awarded by the operator" in body  # the earn, in words
    assert "¥10 优惠券" in body
    assert "+80" in body
    assert "-30" in body
    code = Redemption.objects.get(member=who).code
    assert f'id="redemption-{code}"' in body
    assert "Show this code to the owner to receive it." in body


def test_expired_and_clawed_back_crystals_and_debt_are_told_plainly(frozen_clock: Any) -> None:
    home = community()
    reward_settings_update(community=home, daily_cap=0, weekly_cap=0, expiry_days=30)
    who = member()
    old = award(home, who, 20, source="old")
    frozen_clock.advance(timedelta(days=31))
    crystals_expire()
    fresh = award(home, who, 60, source="fresh")
    redemption_place(reward=_coupon(home, 40), member=who)
    # A refund takes the 60 back: 20 from the wallet, the 40 already spent become debt
    crystal_grant_claw(grant=fresh, crystals=60, reference="RF1")

    body = signed_in(who).get(f"/m/c/{home.slug}/crystals/").content.decode()

    assert old.pk
    assert "Expired" in body
    assert "-20" in body
    assert "Taken back (order refunded)" in body
    assert 'id="crystal-debt"' in body
    assert "40 crystals owed" in body
    assert '<span id="crystal-balance">0</span>' in body


def test_redeeming_goes_through_a_confirm_step_and_gives_a_code() -> None:
    home = community()
    who = member()
    award(home, who, 100)
    coupon = _coupon(home, 40, stock=3)
    client = signed_in(who)
    url = f"/m/c/{home.slug}/crystals/redeem/{coupon.pk}/"

    confirm = client.get(url)
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "40 crystals" in page
    assert "60 crystals" in page  # left after
    assert 'id="redeem-button"' in page
    assert Redemption.objects.count() == 0  # looking spends nothing

    response = client.post(url, {"token": _token(page)})

    redemption = Redemption.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/m/c/{home.slug}/crystals/#redemption-{redemption.code}"
    assert (redemption.member, redemption.crystals, redemption.status) == (
        who,
        40,
        RedemptionStatus.PLACED,
    )
    assert crystal_balance(home, who) == 60
    body = client.get(f"/m/c/{home.slug}/crystals/").content.decode()
    assert f"Your code is {redemption.code}" in body


def test_redeeming_more_than_held_is_refused_clearly_and_nothing_is_spent() -> None:
    home = community()
    who = member()
    award(home, who, 30)
    coupon = _coupon(home, 40, stock=3)
    client = signed_in(who)
    url = f"/m/c/{home.slug}/crystals/redeem/{coupon.pk}/"
    page = client.get(url).content.decode()
    assert 'id="short"' in page
    assert 'id="redeem-button"' not in page
    transactions, entries = LedgerTransaction.objects.count(), LedgerEntry.objects.count()

    # Sent anyway (an old page, a crafted form)
    response = client.post(url, {"token": "an-old-page"})

    assert response.status_code == 409
    body = response.content.decode()
    assert "This costs 40 crystals; you hold 30." in body
    assert "Nothing was spent." in body
    assert Redemption.objects.count() == 0
    assert crystal_balance(home, who) == 30
    assert CrystalReward.objects.get(pk=coupon.pk).stock == 3
    assert (LedgerTransaction.objects.count(), LedgerEntry.objects.count()) == (
        transactions,
        entries,
    )


def test_a_reward_of_another_circle_is_not_found_here() -> None:
    home, elsewhere = community(), community()
    who = member()
    award(home, who, 100)
    coupon = _coupon(elsewhere, 10)

    response = signed_in(who).post(f"/m/c/{home.slug}/crystals/redeem/{coupon.pk}/", {"token": "t"})

    assert response.status_code == 404
    assert Redemption.objects.count() == 0


def test_a_double_tap_redeems_once_and_a_form_without_its_page_redeems_nothing() -> None:
    home = community()
    who = member()
    award(home, who, 100)
    coupon = _coupon(home, 40)
    client = signed_in(who)
    url = f"/m/c/{home.slug}/crystals/redeem/{coupon.pk}/"

    bare = client.post(url)
    assert bare.status_code == 302
    assert bare["Location"] == url
    assert Redemption.objects.count() == 0

    token = _token(client.get(url).content.decode())
    first = client.post(url, {"token": token})
    second = client.post(url, {"token": token})

    redemption = Redemption.objects.get()
    assert first["Location"] == second["Location"]
    assert second["Location"].endswith(f"#redemption-{redemption.code}")
    assert crystal_balance(home, who) == 60


def test_the_crystals_tab_lists_every_circle_of_the_member_with_their_crystals() -> None:
    # Given: a member with a seat in one circle and crystals earned there
    from quanzi.communities.services.joining import group_join

    home, other = community(name="海鲜水果圈"), community(name="英语圈")
    who = member("阿芳")
    group_join(group=group(home), member=who, check_gate=False)
    group_join(group=group(other), member=who, check_gate=False)
    award(home, who, 35)

    # When
    response = signed_in(who).get("/m/crystals/")

    # Then: both circles, with what is held in each, and the way to each circle's pages
    body = response.content.decode()
    assert response.status_code == 200
    assert "海鲜水果圈" in body
    assert "英语圈" in body
    assert "35 crystals" in body
    assert f"/m/c/{home.slug}/crystals/" in body
    assert f"/m/c/{other.slug}/earnings/" in body
    assert 'aria-current="page"' in body


def test_the_crystals_tab_asks_a_stranger_to_sign_in(client: Any) -> None:
    response = client.get("/m/crystals/")

    assert response.status_code == 403
