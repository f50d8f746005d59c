"""The console's crystal pages through Django's test client: the overview's figures and
leaderboard, earn rules and terms, the rewards catalogue, redemptions, growth levels, and what
an operator gives a contributor.

Data is made through the services. Every action is checked for what it changed; every refusal
for the message beside its field and for having changed nothing (``rewards_state``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from quanzi.communities.models import Community, Group
from quanzi.communities.services.setup import community_create, group_create
from quanzi.distribution.tests.factories import payable
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.rewards.models import (
    CrystalReward,
    CrystalRule,
    GrowthLevel,
    MemberLevel,
    Redemption,
    RedemptionStatus,
)
from quanzi.rewards.selectors import crystal_balance
from quanzi.rewards.services.levels import growth_level_set
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.services.rules import reward_settings_get
from quanzi.rewards.tests.factories import award, rewards_state, rule

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = "/console/crystals/seafood"


@pytest.fixture
def staff(client: Client, operator: Any) -> Client:
    client.force_login(operator)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@dataclass
class Circle:
    home: Community
    group: Group
    lin: Member  # 林小厨: 120 crystals, 60 spent on a placed redemption
    he: Member  # 何大姐: 40 crystals, earned 20 days ago
    reward: CrystalReward
    placed: Redemption


@pytest.fixture
def circle(frozen_clock: Any) -> Circle:
    frozen_clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI))
    home = community_create(slug="seafood", name="舟山海鲜圈", kind="product", vertical="food")
    group = group_create(community=home, name="核心会员群")
    rule(home, "post", 10, daily_cap=30)
    growth_level_set(community=home, level="seed", min_earned=100, discount_percent=5)
    lin, he = member("林小厨", phone="13800138001"), member("何大姐")
    award(home, he, 40, note="整理了团购攻略")
    frozen_clock.advance(timedelta(days=20))
    award(home, lin, 120, note="最佳菜谱")
    reward = crystal_reward_create(
        community=home, name="带鱼一盒", kind="coupon", cost=60, coupon_value_minor=1_000, stock=5
    )
    placed = redemption_place(reward=reward, member=lin)
    return Circle(home=home, group=group, lin=lin, he=he, reward=reward, placed=placed)


def _text(response: Any) -> str:
    return str(response.content.decode())


PAGES = ["/", "/rules/", "/rewards/", "/redemptions/", "/levels/", "/contributors/"]


def test_anonymous_is_sent_to_login(client: Client, circle: Circle) -> None:
    for page in ["/console/crystals/", *(BASE + p for p in PAGES)]:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/console/login/?next="), page


def test_every_page_opens_and_the_nav_leads_there(staff: Client, circle: Circle) -> None:
    assert staff.get("/console/crystals/")["Location"] == f"{BASE}/"
    for page in PAGES:
        assert staff.get(BASE + page).status_code == 200, page
    assert 'href="/console/crystals/"' in _text(staff.get("/console/"))


def test_overview_shows_the_figures_and_the_leaderboard(staff: Client, circle: Circle) -> None:
    response = staff.get(f"{BASE}/")
    kpis = response.context["kpis"]
    assert (kpis["held"], kpis["holders"], kpis["earned"], kpis["spent"], kpis["owed"]) == (
        100,
        2,
        160,
        60,
        0,
    )
    leaders = response.context["leaders"]
    assert [(x["row"].display_name, x["row"].crystals, x["level"]) for x in leaders] == [
        ("林小厨", 120, "Seed user"),
        ("何大姐", 40, "Novice"),
    ]
    page = _text(response)
    assert "最佳菜谱" not in page  # notes stay in the history, the feed shows who and how many
    assert "+120" in page

    week = staff.get(f"{BASE}/?days=7")
    assert [x["row"].display_name for x in week.context["leaders"]] == ["林小厨"]
    assert week.context["kpis"]["earned"] == 120


# --- rules and terms ---------------------------------------------------------------------------


def test_save_the_caps_and_expiry(staff: Client, circle: Circle) -> None:
    response = staff.post(
        f"{BASE}/rules/", {"daily_cap": "50", "weekly_cap": "200", "expiry_days": "365"}
    )
    assert response.status_code == 302
    terms = reward_settings_get(circle.home)
    assert (terms.daily_cap, terms.weekly_cap, terms.expiry_days) == (50, 200, 365)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"daily_cap": "50", "weekly_cap": "20", "expiry_days": "0"}, "weekly_cap"),
        ({"daily_cap": "-1", "weekly_cap": "0", "expiry_days": "0"}, "daily_cap"),
        ({"daily_cap": "0", "weekly_cap": "0", "expiry_days": "5000"}, "expiry_days"),
    ],
)
def test_bad_terms_show_field_errors_and_change_nothing(
    staff: Client, circle: Circle, data: dict[str, str], field: str
) -> None:
    before = rewards_state()
    response = staff.post(f"{BASE}/rules/", data)
    assert response.status_code == 422
    assert field in response.context["settings_form"].errors
    assert reward_settings_get(circle.home).pk is None
    assert rewards_state() == before


def test_set_an_earn_rule_with_caps(staff: Client, circle: Circle) -> None:
    response = staff.post(
        f"{BASE}/rules/purchase/",
        {
            "purchase-amount": "2",
            "purchase-daily_cap": "",
            "purchase-weekly_cap": "500",
            "purchase-active": "on",
        },
    )
    assert response.status_code == 302
    found = CrystalRule.objects.get(community=circle.home, action="purchase")
    assert (found.amount, found.daily_cap, found.weekly_cap, found.active) == (2, 0, 500, True)
    page = _text(staff.get(f"{BASE}/rules/"))
    assert "per yuan" in page

    # Turning a rule off keeps it, inactive.
    staff.post(f"{BASE}/rules/post/", {"post-amount": "10", "post-daily_cap": "30"})
    assert CrystalRule.objects.get(community=circle.home, action="post").active is False


def test_a_bad_rule_shows_its_errors_and_changes_nothing(staff: Client, circle: Circle) -> None:
    before = rewards_state()
    response = staff.post(
        f"{BASE}/rules/post/",
        {"post-amount": "0", "post-daily_cap": "40", "post-weekly_cap": "10", "post-active": "on"},
    )
    assert response.status_code == 422
    row = next(r for r in response.context["rows"] if r["action"] == "post")
    assert set(row["form"].errors) == {"amount", "weekly_cap"}
    assert CrystalRule.objects.get(action="post").amount == 10
    assert rewards_state() == before
    assert staff.post(f"{BASE}/rules/manual/", {}).status_code == 404


# --- rewards and redemptions -------------------------------------------------------------------


def test_add_a_coupon_reward(staff: Client, circle: Circle) -> None:
    response = staff.post(
        f"{BASE}/rewards/",
        {"name": "满 100 减 20 券", "kind": "coupon", "cost": "200", "coupon_value": "20"},
    )
    assert response.status_code == 302
    found = CrystalReward.objects.latest("pk")
    assert (found.name, found.kind, found.cost, found.coupon_value_minor, found.stock) == (
        "满 100 减 20 券",
        "coupon",
        200,
        2_000,
        None,
    )
    page = _text(staff.get(f"{BASE}/rewards/"))
    assert "unlimited" in page
    assert "worth ¥20.00" in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "带鱼", "kind": "product", "cost": "100"}, "product"),
        ({"name": "券", "kind": "coupon", "cost": "100"}, "coupon_value"),
        ({"name": "券", "kind": "perk", "cost": "0"}, "cost"),
        ({"name": "", "kind": "perk", "cost": "10"}, "name"),
    ],
)
def test_a_bad_reward_shows_field_errors_and_adds_nothing(
    staff: Client, circle: Circle, data: dict[str, str], field: str
) -> None:
    before = rewards_state()
    response = staff.post(f"{BASE}/rewards/", data)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert rewards_state() == before


def test_change_a_rewards_cost_and_take_it_off(staff: Client, circle: Circle) -> None:
    prefix = f"r{circle.reward.pk}"
    response = staff.post(f"{BASE}/rewards/{circle.reward.pk}/", {f"{prefix}-cost": "80"})
    assert response.status_code == 302
    circle.reward.refresh_from_db()
    assert (circle.reward.cost, circle.reward.active) == (80, False)


def test_hand_over_a_redemption(staff: Client, circle: Circle) -> None:
    page = staff.get(f"{BASE}/redemptions/")
    assert [row["r"].pk for row in page.context["rows"]] == [circle.placed.pk]
    assert circle.placed.code in _text(page)
    url = f"{BASE}/redemptions/{circle.placed.pk}/fulfil/"
    assert staff.get(url).status_code == 405
    response = staff.post(url, {f"f{circle.placed.pk}-note": "顺丰 SF123"})
    assert response.status_code == 302
    circle.placed.refresh_from_db()
    assert (circle.placed.status, circle.placed.note) == (RedemptionStatus.FULFILLED, "顺丰 SF123")
    assert crystal_balance(circle.home, circle.lin) == 60
    closed = staff.get(f"{BASE}/redemptions/?tab=closed")
    assert [row["r"].pk for row in closed.context["rows"]] == [circle.placed.pk]
    # Handed over is final: cancelling it now is refused, said, and changes nothing.
    before = rewards_state()
    refused = staff.post(
        f"{BASE}/redemptions/{circle.placed.pk}/cancel/", {f"c{circle.placed.pk}-reason": "x"}
    )
    assert refused.status_code == 409
    assert "it cannot be cancelled" in _text(refused)
    assert rewards_state() == before


def test_cancel_a_redemption_needs_a_reason_and_gives_the_crystals_back(
    staff: Client, circle: Circle
) -> None:
    url = f"{BASE}/redemptions/{circle.placed.pk}/cancel/"
    before = rewards_state()
    refused = staff.post(url, {f"c{circle.placed.pk}-reason": ""})
    assert refused.status_code == 422
    assert "Say why; the crystals go back to the member." in _text(refused)
    assert rewards_state() == before

    assert staff.post(url, {f"c{circle.placed.pk}-reason": "缺货"}).status_code == 302
    circle.placed.refresh_from_db()
    assert circle.placed.status == RedemptionStatus.CANCELLED
    assert crystal_balance(circle.home, circle.lin) == 120
    circle.reward.refresh_from_db()
    assert circle.reward.stock == 5


# --- levels ------------------------------------------------------------------------------------


def test_levels_show_who_holds_them_and_a_level_is_set(staff: Client, circle: Circle) -> None:
    page = staff.get(f"{BASE}/levels/")
    rows = {row["level"]: row for row in page.context["rows"]}
    assert rows["seed"]["members"] == 1
    assert rows["seed"]["growth"].discount_percent == 5
    response = staff.post(
        f"{BASE}/levels/",
        {
            "level": "core",
            "min_earned": "500",
            "discount_percent": "10",
            "group": str(circle.group.pk),
            "badge": "🐟 海鲜达人",
        },
    )
    assert response.status_code == 302
    core = GrowthLevel.objects.get(community=circle.home, level="core")
    assert (core.min_earned, core.discount_percent, core.group_id, core.badge) == (
        500,
        10,
        circle.group.pk,
        "🐟 海鲜达人",
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"level": "core", "min_earned": "50", "discount_percent": "0"}, "min_earned"),
        ({"level": "core", "min_earned": "500", "discount_percent": "60"}, "discount_percent"),
        ({"level": "boss", "min_earned": "500", "discount_percent": "0"}, "level"),
    ],
)
def test_a_bad_level_shows_field_errors_and_changes_nothing(
    staff: Client, circle: Circle, data: dict[str, str], field: str
) -> None:
    before = rewards_state()
    response = staff.post(f"{BASE}/levels/", data)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert rewards_state() == before
    assert not GrowthLevel.objects.filter(level="core").exists()


# --- contributors ------------------------------------------------------------------------------


def test_award_crystals_by_phone_once_per_form(staff: Client, circle: Circle) -> None:
    form = staff.get(f"{BASE}/contributors/").context["award"]
    token = form.initial["token"]
    data = {"member": "13800138001", "amount": "25", "note": "拍了开箱视频", "token": token}
    response = staff.post(f"{BASE}/award/", data)
    assert response.status_code == 302, response.context["award"].errors
    assert crystal_balance(circle.home, circle.lin) == 60 + 25
    # The same form sent again (a double click) gives nothing more.
    assert staff.post(f"{BASE}/award/", data).status_code == 302
    assert crystal_balance(circle.home, circle.lin) == 85
    # By member number.
    data = {"member": f"#{circle.he.pk}", "amount": "5", "note": "谢谢", "token": "another"}
    assert staff.post(f"{BASE}/award/", data).status_code == 302
    assert crystal_balance(circle.home, circle.he) == 45
    assert MemberLevel.objects.get(member=circle.lin).earned_total == 145


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"member": "13999999999", "amount": "5", "note": "x"}, "member"),
        ({"member": "#999999", "amount": "5", "note": "x"}, "member"),
        ({"member": "13800138001", "amount": "0", "note": "x"}, "amount"),
        ({"member": "13800138001", "amount": "5", "note": ""}, "note"),
    ],
)
def test_a_bad_award_shows_field_errors_and_gives_nothing(
    staff: Client, circle: Circle, data: dict[str, str], field: str
) -> None:
    before = rewards_state()
    response = staff.post(f"{BASE}/award/", {**data, "token": "t1"})
    assert response.status_code == 422
    assert field in response.context["award"].errors
    assert rewards_state() == before


def test_a_cash_reward_needs_confirmation_and_is_paid_once(staff: Client, circle: Circle) -> None:
    data = {"member": f"#{circle.he.pk}", "amount": "88.80", "reason": "组织试吃会", "token": "c1"}
    refused = staff.post(f"{BASE}/cash-reward/", data)
    assert refused.status_code == 422
    assert "Tick this to confirm the amount." in _text(refused)
    assert payable(circle.home, circle.he) == 0

    assert staff.post(f"{BASE}/cash-reward/", {**data, "confirm": "on"}).status_code == 302
    assert payable(circle.home, circle.he) == 8_880
    assert staff.post(f"{BASE}/cash-reward/", {**data, "confirm": "on"}).status_code == 302
    assert payable(circle.home, circle.he) == 8_880  # the same form twice pays once
    payouts = staff.get("/console/distribution/seafood/payouts/")
    assert payouts.context["eligible_total"] == "¥88.80"


def test_a_cash_reward_needs_post_and_csrf(circle: Circle, operator: Any) -> None:
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(operator)
    data = {
        "member": f"#{circle.he.pk}",
        "amount": "10",
        "reason": "x",
        "token": "c2",
        "confirm": "on",
    }
    assert guarded.post(f"{BASE}/cash-reward/", data).status_code == 403
    assert guarded.get(f"{BASE}/cash-reward/").status_code == 405
    assert payable(circle.home, circle.he) == 0


def test_give_a_perk(staff: Client, circle: Circle) -> None:
    response = staff.post(
        f"{BASE}/perk/", {"member": f"#{circle.he.pk}", "name": "螃蟹晚餐双人份", "note": ""}
    )
    assert response.status_code == 302
    perk = Redemption.objects.get(reward__isnull=True)
    assert (perk.member_id, perk.name, perk.crystals, perk.status) == (
        circle.he.pk,
        "螃蟹晚餐双人份",
        0,
        RedemptionStatus.PLACED,
    )
    page = _text(staff.get(f"{BASE}/redemptions/"))
    assert "螃蟹晚餐双人份" in page
    refused = staff.post(f"{BASE}/perk/", {"member": f"#{circle.he.pk}", "name": ""})
    assert refused.status_code == 422
    assert Redemption.objects.filter(reward__isnull=True).count() == 1
