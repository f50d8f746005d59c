"""The console's distribution pages through Django's test client: the overview's figures, the
applications queue, rules and terms, commissions, balances and payout batches.

Data is made through the services. Every action is checked for what it changed; every refusal
for the message beside its field and for having changed nothing; every money move for needing
a POST with its CSRF token and an explicit confirmation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from quanzi.communities.models import Community, Group
from quanzi.communities.services.setup import community_create, group_create
from quanzi.core.models import Activity, LedgerAccount
from quanzi.distribution.models import (
    CommissionRule,
    Distributor,
    DistributorStatus,
    PayoutBatch,
    PayoutStatus,
)
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.services.distributors import distributor_apply
from quanzi.distribution.services.payouts import distributor_set_payee
from quanzi.distribution.services.settings import distribution_settings_get
from quanzi.distribution.tests.factories import (
    approved,
    in_payout,
    payable,
    pending,
    percent,
    received,
    refund,
    shared,
)
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.models import Order
from quanzi.orders.tests.factories import goods

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-enough-pass-42"
ACCOUNT = "6222021234567890123"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def staff(client: Client, operator: Any) -> Client:
    """An operator with every permission, reading English."""
    client.force_login(operator)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def helper(db: None) -> Client:
    """Staff without the personal-data permission, reading English."""
    user = get_user_model().objects.create_user(username="helper", password=PASSWORD, is_staff=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@dataclass
class Shop:
    home: Community
    group: Group
    leader: Member  # 王团长: group leader, one sale matured (payable ¥10.00)
    sharer: Member  # 李分享: store sharer, one sale pending (¥20.00)
    applicant: Member  # 赵小美: applied as influencer
    leader_row: Distributor
    sharer_row: Distributor
    applied_row: Distributor
    matured_order: Order
    pending_order: Order


@pytest.fixture
def shop(frozen_clock: Any) -> Shop:
    """A seafood circle: a group leader whose friend's ¥100 order matured (10 %: ¥10 payable),
    a sharer whose friend's ¥200 order is still pending (¥20), and an influencer's application."""
    frozen_clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI))
    home = community_create(slug="seafood", name="舟山海鲜圈", kind="product", vertical="food")
    group = group_create(community=home, name="定海一群")
    fish = goods(home, price_minor=10_000, stock=50)
    leader, sharer = member("王团长"), member("李分享")
    applicant = member("赵小美")
    leader_row = approved(
        home, leader, "group_leader", group=group, pickup_point="海港路 8 号便利店"
    )
    sharer_row = approved(home, sharer, "sharer")
    applied_row = distributor_apply(
        community=home, member=applicant, role="influencer", application="我有 2 万粉丝，做海鲜测评"
    )
    distributor_set_payee(distributor=leader_row, name="王大海", account=ACCOUNT)
    percent(home, 1_000)
    matured_order = shared(fish, leader, member("老顾客"))
    received(matured_order)
    frozen_clock.advance(timedelta(days=8))
    assert commissions_mature_due() == 1
    pending_order = shared(fish, sharer, member("新朋友"), quantity=2)
    return Shop(
        home=home,
        group=group,
        leader=leader,
        sharer=sharer,
        applicant=applicant,
        leader_row=leader_row,
        sharer_row=sharer_row,
        applied_row=applied_row,
        matured_order=matured_order,
        pending_order=pending_order,
    )


def _text(response: Any) -> str:
    return str(response.content.decode())


def _status(row: Distributor) -> str:
    return str(Distributor.objects.get(pk=row.pk).status)


# --- access ------------------------------------------------------------------------------------


def _pages(shop: Shop) -> list[str]:
    return [
        "/console/distribution/",
        "/console/distribution/seafood/",
        "/console/distribution/seafood/applications/",
        "/console/distribution/seafood/rules/",
        "/console/distribution/seafood/commissions/",
        "/console/distribution/seafood/payouts/",
        "/console/distribution/seafood/payouts/new/",
    ]


def test_anonymous_is_sent_to_login(client: Client, shop: Shop) -> None:
    for url in _pages(shop):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/console/login/?next="), url


def test_every_page_opens_for_an_operator(staff: Client, shop: Shop) -> None:
    assert staff.get("/console/distribution/")["Location"] == "/console/distribution/seafood/"
    for url in _pages(shop)[1:]:
        response = staff.get(url)
        assert response.status_code == 200, url
        assert 'aria-current="page"' in _text(response)


def test_the_nav_leads_to_distribution(staff: Client, shop: Shop) -> None:
    page = _text(staff.get("/console/"))
    assert 'href="/console/distribution/"' in page


def test_pages_read_chinese_by_default(client: Client, operator: Any, shop: Shop) -> None:
    client.force_login(operator)
    page = _text(client.get("/console/distribution/seafood/"))
    assert '<html lang="zh-hans">' in page


def test_a_page_of_another_community_is_404(staff: Client, shop: Shop) -> None:
    assert staff.get("/console/distribution/nowhere/").status_code == 404
    assert staff.get("/console/distribution/seafood/payouts/PO000/").status_code == 404


# --- overview ----------------------------------------------------------------------------------


def test_overview_shows_the_figures_chart_and_leaders(staff: Client, shop: Shop) -> None:
    response = staff.get("/console/distribution/seafood/")
    assert response.status_code == 200
    kpis = response.context["kpis"]
    assert kpis["approved"] == 2
    assert kpis["pending"] == "¥20.00"
    assert kpis["payable"] == "¥10.00"
    assert kpis["paid"] == "¥0.00"
    assert kpis["sales_month"] == "¥300.00"  # goods only: shipping is not a sale
    page = _text(response)
    assert 'id="commission-figure"' in page
    figure = response.context["figure"]
    assert sum(figure["data"][0]["y"]) == 30.0
    assert len(figure["data"][0]["x"]) == 12
    leaders = response.context["leaders"]
    assert [(r["member"].display_name, r["value"]) for r in leaders["sales"]] == [
        ("李分享", "¥200.00"),
        ("王团长", "¥100.00"),
    ]
    assert [(r["member"].display_name, r["value"]) for r in leaders["commission"]] == [
        ("李分享", "¥20.00"),
        ("王团长", "¥10.00"),
    ]
    assert "1 distributor application is waiting for your decision." in page


def test_overview_period_selector_narrows_the_leaderboard(staff: Client, shop: Shop) -> None:
    week = staff.get("/console/distribution/seafood/?days=7")
    assert week.context["days"] == 7
    # The leader's sale was 8 days ago: only the sharer's is in the last 7 days.
    assert [r["member"].display_name for r in week.context["leaders"]["sales"]] == ["李分享"]
    assert staff.get("/console/distribution/seafood/?days=13").context["days"] == 30
    assert staff.get("/console/distribution/seafood/?days=x").context["days"] == 30


def test_overview_of_a_new_community_shows_the_empty_state(staff: Client, db: None) -> None:
    community_create(slug="fresh", name="新圈子", kind="resource", vertical="education")
    response = staff.get("/console/distribution/fresh/")
    assert response.status_code == 200
    assert response.context["figure"] is None
    page = _text(response)
    assert "No commission in the last 12 weeks" in page
    assert "Nobody’s link sold anything in this period." in page


# --- applications ------------------------------------------------------------------------------


def test_the_queue_shows_applications_waiting(staff: Client, shop: Shop) -> None:
    response = staff.get("/console/distribution/seafood/applications/")
    rows = response.context["rows"]
    assert [row["d"].pk for row in rows] == [shop.applied_row.pk]
    page = _text(response)
    assert "赵小美" in page
    assert "我有 2 万粉丝，做海鲜测评" in page
    assert "王团长" not in page


def test_the_list_filters_by_status_and_role(staff: Client, shop: Shop) -> None:
    response = staff.get("/console/distribution/seafood/applications/?status=")
    assert {row["d"].pk for row in response.context["rows"]} == {
        shop.applied_row.pk,
        shop.leader_row.pk,
        shop.sharer_row.pk,
    }
    response = staff.get("/console/distribution/seafood/applications/?status=&role=group_leader")
    page = _text(response)
    assert [row["d"].pk for row in response.context["rows"]] == [shop.leader_row.pk]
    assert "定海一群" in page
    assert "海港路 8 号便利店" in page
    response = staff.get("/console/distribution/seafood/applications/?status=approved")
    assert {row["d"].pk for row in response.context["rows"]} == {
        shop.leader_row.pk,
        shop.sharer_row.pk,
    }


def test_approve_an_application(staff: Client, shop: Shop) -> None:
    url = f"/console/distribution/seafood/distributors/{shop.applied_row.pk}/approve/"
    assert staff.get(url).status_code == 405
    response = staff.post(url, follow=True)
    assert response.redirect_chain[-1][0] == "/console/distribution/seafood/applications/"
    assert _status(shop.applied_row) == DistributorStatus.APPROVED
    assert "赵小美 is approved as Influencer" in _text(response)
    activity = Activity.objects.filter(object_type="distributor").latest("pk")
    assert activity.data["action"] == "approve"
    assert activity.actor_id is not None


def test_reject_needs_a_reason_and_changes_nothing_without_one(staff: Client, shop: Shop) -> None:
    url = f"/console/distribution/seafood/distributors/{shop.applied_row.pk}/reject/"
    prefix = f"reject{shop.applied_row.pk}"
    response = staff.post(url, {f"{prefix}-reason": "  "})
    assert response.status_code == 422
    assert "Say why; the member sees it." in _text(response)
    assert _status(shop.applied_row) == DistributorStatus.APPLIED

    response = staff.post(url, {f"{prefix}-reason": "粉丝数据无法核实"})
    assert response.status_code == 302
    row = Distributor.objects.get(pk=shop.applied_row.pk)
    assert (row.status, row.reason) == (DistributorStatus.REJECTED, "粉丝数据无法核实")


def test_suspend_needs_a_reason_then_reinstate(staff: Client, shop: Shop) -> None:
    pk = shop.sharer_row.pk
    url = f"/console/distribution/seafood/distributors/{pk}/suspend/"
    response = staff.post(url, {})
    assert response.status_code == 422
    assert _status(shop.sharer_row) == DistributorStatus.APPROVED

    response = staff.post(url + "?status=approved", {f"suspend{pk}-reason": "刷单"})
    assert response["Location"] == "/console/distribution/seafood/applications/?status=approved"
    assert _status(shop.sharer_row) == DistributorStatus.SUSPENDED

    # Suspending twice (a second tab) is refused by the service, said, and changes nothing.
    response = staff.post(url, {f"suspend{pk}-reason": "again"})
    assert response.status_code == 409
    assert "A distributor who is Suspended cannot be Suspended." in _text(response)
    assert Distributor.objects.get(pk=pk).reason == "刷单"

    response = staff.post(f"/console/distribution/seafood/distributors/{pk}/reinstate/")
    assert response.status_code == 302
    assert _status(shop.sharer_row) == DistributorStatus.APPROVED


def test_reinstate_is_only_for_the_suspended(staff: Client, shop: Shop) -> None:
    pk = shop.applied_row.pk
    response = staff.post(f"/console/distribution/seafood/distributors/{pk}/reinstate/")
    assert response.status_code == 422
    assert "Only a suspended distributor is reinstated." in _text(response)
    assert _status(shop.applied_row) == DistributorStatus.APPLIED
    assert (
        staff.post(f"/console/distribution/seafood/distributors/{pk}/promote/").status_code == 404
    )


# --- rules and terms ---------------------------------------------------------------------------


def _rule_post(staff: Client, **data: str) -> Any:
    fields = {"level": "1", "kind": "percent", "percent": "", "fixed": "", "role": ""}
    fields.update(data)
    return staff.post("/console/distribution/seafood/rules/", fields)


def _rules() -> list[tuple[int, str, int, int, str, bool]]:
    return list(
        CommissionRule.objects.order_by("pk").values_list(
            "level", "kind", "percent_bp", "fixed_minor", "role", "active"
        )
    )


def test_rules_page_lists_rules_in_percent_and_yuan(staff: Client, shop: Shop) -> None:
    _rule_post(staff, kind="fixed", fixed="5", role="group_leader", level="2")
    response = staff.get("/console/distribution/seafood/rules/")
    page = _text(response)
    assert "10%" in page
    assert "¥5.00" in page
    assert "Not paid: the second level is off" in page
    assert "禁止传销条例" in page
    # The form offers two levels and no third.
    levels = response.context["rule_form"].fields["level"].choices
    assert [value for value, _label in levels] == [1, 2]


def test_create_a_percentage_rule_stored_in_basis_points(staff: Client, shop: Shop) -> None:
    response = _rule_post(staff, percent="12.5", role="sharer")
    assert response.status_code == 302
    assert _rules()[-1] == (1, "percent", 1_250, 0, "sharer", True)


def test_create_a_fixed_rule_stored_in_fen(staff: Client, shop: Shop) -> None:
    response = _rule_post(staff, kind="fixed", fixed="5.50", level="2")
    assert response.status_code == 302
    assert _rules()[-1] == (2, "fixed", 0, 550, "", True)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"level": "3", "percent": "10"}, "level", "Select a valid choice."),
        ({"percent": "150"}, "percent", "less than or equal to 100"),
        ({"percent": ""}, "percent", "Give the percentage"),
        ({"kind": "fixed", "fixed": "abc"}, "fixed", "Write an amount like 199"),
        ({"kind": "fixed", "fixed": ""}, "fixed", "Give the amount per unit"),
    ],
)
def test_a_bad_rule_shows_field_errors_and_saves_nothing(
    staff: Client, shop: Shop, data: dict[str, str], field: str, message: str
) -> None:
    before = _rules()
    response = _rule_post(staff, **data)
    assert response.status_code == 422
    form = response.context["rule_form"]
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    assert _rules() == before


def test_deactivate_a_rule(staff: Client, shop: Shop) -> None:
    rule = CommissionRule.objects.get()
    url = f"/console/distribution/seafood/rules/{rule.pk}/deactivate/"
    assert staff.get(url).status_code == 405
    response = staff.post(url, follow=True)
    assert response.status_code == 200
    assert CommissionRule.objects.get().active is False
    assert "no longer pays on new sales" in _text(response)


def _settings_post(staff: Client, **data: str) -> Any:
    fields = {
        "attribution_days": "7",
        "binding_days": "0",
        "return_window_days": "7",
        "min_payout": "1.00",
    }
    fields.update(data)
    return staff.post("/console/distribution/seafood/settings/", fields)


def test_save_the_terms(staff: Client, shop: Shop) -> None:
    response = _settings_post(
        staff,
        attribution_days="14",
        binding_days="30",
        return_window_days="10",
        min_payout="50",
        second_level="on",
    )
    assert response.status_code == 302
    terms = distribution_settings_get(shop.home)
    assert (
        terms.attribution_days,
        terms.binding_days,
        terms.return_window_days,
        terms.min_payout_minor,
        terms.second_level,
    ) == (14, 30, 10, 5_000, True)
    page = _text(staff.get("/console/distribution/seafood/rules/"))
    assert 'name="min_payout" value="50.00"' in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"attribution_days": "0"}, "attribution_days"),
        ({"binding_days": "400"}, "binding_days"),
        ({"return_window_days": "-1"}, "return_window_days"),
        ({"min_payout": "0"}, "min_payout"),
        ({"min_payout": "1.005"}, "min_payout"),
    ],
)
def test_bad_terms_show_field_errors_and_change_nothing(
    staff: Client, shop: Shop, data: dict[str, str], field: str
) -> None:
    response = _settings_post(staff, second_level="on", **data)
    assert response.status_code == 422
    assert field in response.context["settings_form"].errors
    terms = distribution_settings_get(shop.home)
    assert terms.pk is None  # still the defaults, never saved
    assert terms.second_level is False


# --- commissions -------------------------------------------------------------------------------


def test_commissions_table_shows_amounts_and_filters(
    staff: Client, shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        refund(shop.pending_order, 5_000)  # ¥50 of ¥200 back: ¥5 of the ¥20 reversed
    response = staff.get("/console/distribution/seafood/commissions/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(r["c"].amount_minor, r["c"].reversed_minor, r["c"].status) for r in rows] == [
        (2_000, 500, "pending"),
        (1_000, 0, "matured"),
    ]
    page = _text(response)
    assert "−¥5.00 <small>reversed</small>" in page
    assert shop.matured_order.number in page

    matured = staff.get("/console/distribution/seafood/commissions/?status=matured")
    assert [r["c"].order_id for r in matured.context["rows"]] == [shop.matured_order.pk]
    by_leader = staff.get(
        f"/console/distribution/seafood/commissions/?beneficiary={shop.leader.pk}"
    )
    assert [r["c"].beneficiary_id for r in by_leader.context["rows"]] == [shop.leader.pk]
    by_order = staff.get(
        f"/console/distribution/seafood/commissions/?order={shop.pending_order.number[-4:]}"
    )
    assert [r["c"].order_id for r in by_order.context["rows"]] == [shop.pending_order.pk]


# --- payouts -----------------------------------------------------------------------------------


def _new_batch(staff: Client, total: int, note: str = "") -> Any:
    return staff.post(
        "/console/distribution/seafood/payouts/new/", {"expected_total": str(total), "note": note}
    )


def test_balances_show_pending_payable_and_who_is_paid_next(staff: Client, shop: Shop) -> None:
    response = staff.get("/console/distribution/seafood/payouts/")
    rows = {row["b"].member_id: row for row in response.context["rows"]}
    assert (rows[shop.leader.pk]["b"].payable, rows[shop.leader.pk]["ready"]) == (1_000, True)
    assert (rows[shop.sharer.pk]["b"].pending, rows[shop.sharer.pk]["ready"]) == (2_000, False)
    page = _text(response)
    assert "王大海" in page
    assert "62****0123" in page
    assert ACCOUNT not in page
    assert "Pay 1 person ¥10.00" in page


def test_the_confirm_step_shows_the_total_and_creates_nothing(staff: Client, shop: Shop) -> None:
    response = staff.get("/console/distribution/seafood/payouts/new/")
    assert response.status_code == 200
    assert response.context["total"] == "¥10.00"
    assert [row["b"].member_id for row in response.context["rows"]] == [shop.leader.pk]
    assert 'data-confirm="Create a payout batch of ¥10.00?"' in _text(response)
    assert PayoutBatch.objects.count() == 0


def test_a_payout_batch_needs_post_and_csrf(shop: Shop, operator: Any) -> None:
    guarded = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    guarded.force_login(operator)
    response = guarded.post(
        "/console/distribution/seafood/payouts/new/", {"expected_total": "1000"}
    )
    assert response.status_code == 403
    assert PayoutBatch.objects.count() == 0
    assert payable(shop.home, shop.leader) == 1_000


def test_a_stale_total_is_refused_and_nothing_is_paid(staff: Client, shop: Shop) -> None:
    response = _new_batch(staff, 2_500)
    assert response.status_code == 409
    assert "the total is now ¥10.00" in _text(response)
    assert PayoutBatch.objects.count() == 0
    assert payable(shop.home, shop.leader) == 1_000

    response = _new_batch(staff, 0)
    assert response.status_code == 422
    assert PayoutBatch.objects.count() == 0


def test_create_a_batch_export_it_and_mark_it_paid(staff: Client, shop: Shop) -> None:
    response = _new_batch(staff, 1_000, note="五月佣金")
    batch = PayoutBatch.objects.get()
    assert response["Location"] == f"/console/distribution/seafood/payouts/{batch.number}/"
    assert (batch.total_minor, batch.note, batch.status) == (1_000, "五月佣金", PayoutStatus.OPEN)
    assert (payable(shop.home, shop.leader), in_payout(shop.home, shop.leader)) == (0, 1_000)

    page = staff.get(response["Location"])
    assert page.status_code == 200
    assert page.context["total"] == "¥10.00"
    assert "王团长" in _text(page)

    export_url = f"/console/distribution/seafood/payouts/{batch.number}/export/"
    assert staff.get(export_url).status_code == 405
    export = staff.post(export_url)
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == [
        "No.",
        "Batch",
        "Member",
        "Payee name",
        "Payee account",
        "Amount (yuan)",
        "Transfer reference",
    ]
    assert rows[1][:6] == [1, batch.number, "王团长", "王大海", ACCOUNT, 10]
    revealed = Activity.objects.filter(data__action="personal_data_revealed").get()
    assert (revealed.member_id, revealed.data["what"]) == (shop.leader.pk, "payout_export")

    paid_url = f"/console/distribution/seafood/payouts/{batch.number}/paid/"
    assert staff.get(paid_url).status_code == 405
    refused = staff.post(paid_url, {})
    assert refused.status_code == 422
    assert "Tick this once every transfer has been made." in _text(refused)
    assert PayoutBatch.objects.get().status == PayoutStatus.OPEN

    assert staff.post(paid_url, {"confirm": "on"}).status_code == 302
    assert PayoutBatch.objects.get().status == PayoutStatus.PAID
    assert in_payout(shop.home, shop.leader) == 0
    paid = LedgerAccount.objects.get(code=f"commission:{shop.home.pk}:paid")
    assert paid.balance == 1_000
    overview = staff.get("/console/distribution/seafood/")
    assert overview.context["kpis"]["paid"] == "¥10.00"

    # Paid is final: paying again or cancelling is refused.
    assert staff.post(paid_url, {"confirm": "on"}).status_code == 422
    cancel_url = f"/console/distribution/seafood/payouts/{batch.number}/cancel/"
    assert staff.post(cancel_url, {"reason": "x"}).status_code == 422
    assert PayoutBatch.objects.get().status == PayoutStatus.PAID


def test_the_export_masks_accounts_without_the_personal_data_permission(
    staff: Client, helper: Client, shop: Shop
) -> None:
    _new_batch(staff, 1_000)
    batch = PayoutBatch.objects.get()
    export = helper.post(f"/console/distribution/seafood/payouts/{batch.number}/export/")
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    row = [list(r) for r in sheet.iter_rows(values_only=True)][1]
    assert row[4] == "62****0123"
    assert not Activity.objects.filter(data__action="personal_data_revealed").exists()
    page = _text(helper.get(f"/console/distribution/seafood/payouts/{batch.number}/"))
    assert "need the personal-data permission" in page


def test_cancel_a_batch_needs_a_reason_and_puts_the_money_back(staff: Client, shop: Shop) -> None:
    _new_batch(staff, 1_000)
    batch = PayoutBatch.objects.get()
    url = f"/console/distribution/seafood/payouts/{batch.number}/cancel/"
    refused = staff.post(url, {"reason": ""})
    assert refused.status_code == 422
    assert "Say why the batch is cancelled." in _text(refused)
    assert in_payout(shop.home, shop.leader) == 1_000

    assert staff.post(url, {"reason": "银行卡号有误"}).status_code == 302
    batch.refresh_from_db()
    assert batch.status == PayoutStatus.CANCELLED
    assert (payable(shop.home, shop.leader), in_payout(shop.home, shop.leader)) == (1_000, 0)


def test_a_negative_balance_is_flagged_and_left_out_of_batches(
    staff: Client, shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    _new_batch(staff, 1_000)
    # A refund after maturity claws ¥4 back from a payable balance already set aside.
    with django_capture_on_commit_callbacks(execute=True):
        refund(shop.matured_order, 4_000)
    assert payable(shop.home, shop.leader) == -400
    response = staff.get("/console/distribution/seafood/payouts/")
    row = next(r for r in response.context["rows"] if r["b"].member_id == shop.leader.pk)
    assert row["b"].blocked is True
    assert response.context["blocked_count"] == 1
    page = _text(response)
    assert "Blocked: owes back" in page
    assert "-¥4.00" in page
    assert response.context["books"]["owed_back"] == "¥4.00"
    commissions = _text(staff.get("/console/distribution/seafood/commissions/?status=matured"))
    assert "−¥4.00 <small>clawed back</small>" in commissions
    confirm = staff.get("/console/distribution/seafood/payouts/new/")
    assert confirm.context["rows"] == []
    assert "Nobody to pay right now" in _text(confirm)
    assert pending(shop.home, shop.sharer) == 2_000
