"""API v1: commissions as they accrue and mature, a member's earnings, the maturation run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from quanzi.catalog.models import Sku
from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community
from quanzi.distribution.models import Commission
from quanzi.distribution.services.payouts import (
    PayoutRequest,
    payout_batch_create,
    payout_batch_mark_paid,
)
from quanzi.distribution.tests.factories import approved, percent, received, refund, shared
from quanzi.distribution.tests.kit import api_error
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.models import Order
from quanzi.orders.tests.factories import goods

pytestmark = pytest.mark.django_db

URL = "/api/v1/commissions"


@pytest.fixture
def sku(home: Community) -> Sku:
    return goods(home, price_minor=10_000)


@pytest.fixture
def sharer(home: Community) -> Member:
    who = member("阿海")
    approved(home, who)
    percent(home, 1_000)  # 10 %
    return who


def _earnings(api: Any, home: Community, who: Member) -> dict[str, Any]:
    response = api.get(f"/api/v1/members/{who.pk}/earnings?community_id={home.pk}")
    assert response.status_code == 200
    return dict(response.json())


def test_a_shared_sale_shows_its_pending_commission(
    api: Any, frozen_clock: Any, home: Community, sku: Sku, sharer: Member
) -> None:
    friend = member()
    order = shared(sku, sharer, friend, quantity=2)

    response = api.get(f"{URL}?beneficiary_id={sharer.pk}")

    assert response.status_code == 200
    commission = Commission.objects.get()
    assert response.json()["items"] == [
        {
            "id": commission.pk,
            "community_id": home.pk,
            "order_number": order.number,
            "line_id": order.lines.get().pk,
            "buyer_id": friend.pk,
            "beneficiary_id": sharer.pk,
            "distributor_id": commission.distributor_id,
            "level": 1,
            "rule_id": commission.rule_id,
            "rule_kind": "percent",
            "percent_bp": 1_000,
            "fixed_minor": 0,
            "quantity": 2,
            "base_minor": 20_000,
            "amount_minor": 2_000,
            "reversed_minor": 0,
            "clawed_minor": 0,
            "net_minor": 2_000,
            "currency": "CNY",
            "status": "pending",
            "window_days": 7,
            "accrued_at": response.json()["items"][0]["accrued_at"],
            "matured_at": None,
        }
    ]
    assert _earnings(api, home, sharer) == {
        "community_id": home.pk,
        "member_id": sharer.pk,
        "currency": "CNY",
        "pending_minor": 2_000,
        "payable_minor": 0,
        "in_payout_minor": 0,
        "paid_minor": 0,
    }


def test_the_list_filters_by_order_status_and_community(
    api: Any, frozen_clock: Any, home: Community, sku: Sku, sharer: Member
) -> None:
    first = shared(sku, sharer, member())
    second = shared(sku, sharer, member())

    def numbers(query: str) -> list[str]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return [item["order_number"] for item in response.json()["items"]]

    assert numbers(f"order={first.number}") == [first.number]
    assert numbers(f"community_id={home.pk}") == [second.number, first.number]
    assert numbers("status=matured") == []
    assert numbers(f"community_id={community().pk}") == []
    bad = api.get(f"{URL}?status=paid")
    assert (bad.status_code, list(api_error(bad)["fields"])) == (422, ["status"])


def test_the_maturation_run_moves_due_commission_to_payable_once(
    api: Any, frozen_clock: Any, home: Community, sku: Sku, sharer: Member
) -> None:
    order = received(shared(sku, sharer, member()))
    frozen_clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert api.post(f"{URL}/actions/mature", {}).json() == {"matured": 0}

    frozen_clock.advance(timedelta(seconds=1))
    ran = api.post(f"{URL}/actions/mature", {})
    again = api.post(f"{URL}/actions/mature", {})

    assert ran.status_code == 200
    assert (ran.json(), again.json()) == ({"matured": 1}, {"matured": 0})
    earnings = _earnings(api, home, sharer)
    assert (earnings["pending_minor"], earnings["payable_minor"]) == (0, 1_000)
    assert api.get(f"{URL}?order={order.number}").json()["items"][0]["status"] == "matured"


def test_earnings_follow_the_money_to_paid_and_show_a_clawback(
    api: Any,
    frozen_clock: Any,
    django_capture_on_commit_callbacks: Any,
    home: Community,
    sku: Sku,
    sharer: Member,
) -> None:
    orders: list[Order] = [received(shared(sku, sharer, member())) for _ in range(3)]
    frozen_clock.advance(timedelta(days=8))
    api.post(f"{URL}/actions/mature", {})
    paid = payout_batch_create(community=home, items=[PayoutRequest(sharer.pk, 1_000)])
    payout_batch_mark_paid(batch=paid)
    payout_batch_create(community=home, items=[PayoutRequest(sharer.pk, 1_500)])

    assert _earnings(api, home, sharer) | {"community_id": 0, "member_id": 0} == {
        "community_id": 0,
        "member_id": 0,
        "currency": "CNY",
        "pending_minor": 0,
        "payable_minor": 500,
        "in_payout_minor": 1_500,
        "paid_minor": 1_000,
    }

    with django_capture_on_commit_callbacks(execute=True):
        refund(orders[0], 10_000)

    assert _earnings(api, home, sharer)["payable_minor"] == -500


def test_earnings_of_an_unknown_member_or_community_are_404(
    api: Any, home: Community, sharer: Member
) -> None:
    no_member = api.get(f"/api/v1/members/999999/earnings?community_id={home.pk}")
    no_community = api.get(f"/api/v1/members/{sharer.pk}/earnings?community_id=999999")
    no_filter = api.get(f"/api/v1/members/{sharer.pk}/earnings")

    assert (no_member.status_code, list(api_error(no_member)["fields"])) == (404, ["member_id"])
    assert (no_community.status_code, list(api_error(no_community)["fields"])) == (
        404,
        ["community_id"],
    )
    assert (no_filter.status_code, list(api_error(no_filter)["fields"])) == (422, ["community_id"])


def test_a_member_who_earned_nothing_reads_zero_and_no_account_is_made(
    api: Any, home: Community
) -> None:
    from quanzi.core.models import LedgerAccount

    who = member()
    before = LedgerAccount.objects.count()

    earnings = _earnings(api, home, who)

    assert [earnings[k] for k in earnings if k.endswith("_minor")] == [0, 0, 0, 0]
    assert LedgerAccount.objects.count() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("get", "/api/v1/members/1/earnings?community_id=1"),
        ("post", f"{URL}/actions/mature"),
    ],
)
def test_every_commission_endpoint_needs_a_token(
    client: Client, frozen_clock: Any, sku: Sku, sharer: Member, method: str, path: str
) -> None:
    received(shared(sku, sharer, member()))
    frozen_clock.advance(timedelta(days=8))

    response = client.get(path) if method == "get" else client.post(path)

    assert response.status_code == 401
    assert Commission.objects.get().status == "pending"
