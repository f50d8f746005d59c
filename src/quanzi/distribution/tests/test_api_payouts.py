"""API v1: payout batches set payable balances aside, are exported to Excel, marked paid or
cancelled; a payout above the payable balance is refused and posts nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from quanzi.catalog.models import Sku
from quanzi.communities.models import Community
from quanzi.core.models import Activity, LedgerEntry, LedgerTransaction
from quanzi.core.services.tokens import api_token_create, operator_create
from quanzi.distribution.models import Distributor, PayoutBatch, PayoutItem
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.services.payouts import distributor_set_payee
from quanzi.distribution.tests.factories import (
    approved,
    in_payout,
    payable,
    percent,
    received,
    shared,
)
from quanzi.distribution.tests.kit import api_error
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import goods

pytestmark = pytest.mark.django_db

URL = "/api/v1/payouts"


def _posted() -> tuple[int, int, int, int]:
    return (
        PayoutBatch.objects.count(),
        PayoutItem.objects.count(),
        LedgerTransaction.objects.count(),
        LedgerEntry.objects.count(),
    )


@pytest.fixture
def earners(home: Community, frozen_clock: Any) -> tuple[Member, Member]:
    """Two sharers with matured commission: 10.00 and 20.00 payable."""
    sku: Sku = goods(home, price_minor=10_000, stock=10)
    a, b = member("阿海"), member("小红")
    approved(home, a)
    distributor = approved(home, b)
    distributor_set_payee(distributor=distributor, name="王小红", account="6222021234567890")
    percent(home, 1_000)
    received(shared(sku, a, member()))
    received(shared(sku, b, member(), quantity=2))
    frozen_clock.advance(timedelta(days=8))
    assert commissions_mature_due() == 2
    return a, b


@pytest.fixture
def plain_api(client: Client, db: None) -> Any:
    """An operator without the personal-data permission."""
    user, _ = operator_create(username="assistant", password="a-Long-enough-pass-42")
    user.is_superuser = False  # type: ignore[attr-defined]
    user.save()
    _, raw = api_token_create(username="assistant", name="tests")
    return {"Authorization": f"Bearer {raw}"}


def test_a_batch_of_everyone_payable_is_201_and_moves_the_money_aside(
    api: Any, home: Community, earners: tuple[Member, Member], operator: Any
) -> None:
    a, b = earners

    response = api.post(URL, {"community_id": home.pk, "note": "五月"})

    assert response.status_code == 201
    body = response.json()
    batch = PayoutBatch.objects.get()
    assert body == {
        "number": batch.number,
        "community_id": home.pk,
        "status": "open",
        "currency": "CNY",
        "total_minor": 3_000,
        "note": "五月",
        "created_at": body["created_at"],
        "created_by_id": operator.pk,
        "closed_at": None,
        "closed_by_id": None,
        "item_count": 2,
        "items": [
            {
                "member_id": a.pk,
                "member_name": "阿海",
                "amount_minor": 1_000,
                "reference": "",
                "payee_name": "",
                "payee_account_masked": "",
            },
            {
                "member_id": b.pk,
                "member_name": "小红",
                "amount_minor": 2_000,
                "reference": "",
                "payee_name": "王**",
                "payee_account_masked": "62****7890",
            },
        ],
    }
    assert (payable(home, a), in_payout(home, a)) == (0, 1_000)
    assert api.get(f"{URL}/{batch.number}").json() == body
    listed = api.get(f"{URL}?community_id={home.pk}&status=open").json()
    assert [(i["number"], i["item_count"]) for i in listed["items"]] == [(batch.number, 2)]


def test_explicit_items_pay_part_of_a_balance(
    api: Any, home: Community, earners: tuple[Member, Member]
) -> None:
    a, b = earners

    response = api.post(
        URL, {"community_id": home.pk, "items": [{"member_id": b.pk, "amount_minor": 1_500}]}
    )

    assert response.status_code == 201
    assert response.json()["total_minor"] == 1_500
    assert (payable(home, b), in_payout(home, b), payable(home, a)) == (500, 1_500, 1_000)


def test_a_payout_above_the_payable_balance_is_409_naming_the_item_and_posts_nothing(
    api: Any, home: Community, earners: tuple[Member, Member]
) -> None:
    a, b = earners
    before = _posted()

    response = api.post(
        URL,
        {
            "community_id": home.pk,
            "items": [
                {"member_id": a.pk, "amount_minor": 1_001},
                {"member_id": b.pk, "amount_minor": 2_000},
            ],
        },
    )

    assert response.status_code == 409
    error = api_error(response)
    assert error["code"] == "payout_exceeds_payable"
    assert list(error["fields"]) == ["items.0.amount_minor"]
    assert error["message"] == "¥10.01 is more than the ¥10.00 payable."
    assert _posted() == before
    assert (payable(home, a), payable(home, b)) == (1_000, 2_000)


@pytest.mark.parametrize(
    ("items", "status", "field"),
    [
        ([{"member_id": "A", "amount_minor": 0}], 422, "items.0.amount_minor"),
        ([{"member_id": "A", "amount_minor": -100}], 422, "items.0.amount_minor"),
        ([{"member_id": "A", "amount_minor": 2**70}], 422, "items.0.amount_minor"),
        ([{"member_id": "A", "amount_minor": "ten"}], 422, "items.0.amount_minor"),
        (
            [{"member_id": "A", "amount_minor": 100}, {"member_id": "A", "amount_minor": 100}],
            422,
            "items.1.member_id",
        ),
        (
            [{"member_id": "A", "amount_minor": 100}, {"member_id": 999_999, "amount_minor": 1}],
            404,
            "items.1.member_id",
        ),
        ([], 422, "items"),
    ],
    ids=["zero", "negative", "huge", "text", "twice", "unknown", "empty"],
)
def test_a_bad_item_refuses_the_whole_batch_naming_it(
    api: Any,
    home: Community,
    earners: tuple[Member, Member],
    items: list[dict[str, Any]],
    status: int,
    field: str,
) -> None:
    a, _b = earners
    for item in items:
        if item["member_id"] == "A":
            item["member_id"] = a.pk
    before = _posted()

    response = api.post(URL, {"community_id": home.pk, "items": items})

    assert response.status_code == status, response.json()
    assert list(api_error(response)["fields"]) == [field]
    assert _posted() == before


def test_nobody_to_pay_is_409_naming_items(api: Any, home: Community) -> None:
    response = api.post(URL, {"community_id": home.pk})

    assert response.status_code == 409
    assert list(api_error(response)["fields"]) == ["items"]
    assert PayoutBatch.objects.count() == 0


def test_a_replayed_batch_request_makes_one_batch(
    api: Any, frozen_clock: Any, home: Community, earners: tuple[Member, Member]
) -> None:
    # Idempotency records are stamped with the real time; the keys' lifetime is read on the
    # test's clock, which the fixture moved 8 days on.
    frozen_clock.set(timezone.now())
    headers = {"Idempotency-Key": "payout-may"}

    first = api.post(URL, {"community_id": home.pk}, headers=headers)
    second = api.post(URL, {"community_id": home.pk}, headers=headers)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert PayoutBatch.objects.count() == 1


def test_marking_paid_records_the_references_and_closes_the_batch(
    api: Any, home: Community, earners: tuple[Member, Member]
) -> None:
    a, b = earners
    number = api.post(URL, {"community_id": home.pk}).json()["number"]

    response = api.post(
        f"{URL}/{number}/actions/mark-paid",
        {"references": [{"member_id": b.pk, "reference": "WX20240501001"}]},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "paid"
    assert body["closed_at"] is not None
    assert [(i["member_id"], i["reference"]) for i in body["items"]] == [
        (a.pk, ""),
        (b.pk, "WX20240501001"),
    ]
    assert in_payout(home, b) == 0
    earnings = api.get(f"/api/v1/members/{b.pk}/earnings?community_id={home.pk}").json()
    assert earnings["paid_minor"] == 2_000
    again = api.post(f"{URL}/{number}/actions/mark-paid", {})
    assert (again.status_code, list(api_error(again)["fields"])) == (409, ["status"])
    cancel = api.post(f"{URL}/{number}/actions/cancel", {"reason": "弄错了"})
    assert (cancel.status_code, list(api_error(cancel)["fields"])) == (409, ["status"])


def test_a_reference_for_someone_not_in_the_batch_is_422_and_nothing_is_paid(
    api: Any, home: Community, earners: tuple[Member, Member]
) -> None:
    number = api.post(URL, {"community_id": home.pk}).json()["number"]
    before = _posted()

    response = api.post(
        f"{URL}/{number}/actions/mark-paid",
        {"references": [{"member_id": member().pk, "reference": "X"}]},
    )

    assert response.status_code == 422
    assert list(api_error(response)["fields"]) == ["references.0.member_id"]
    assert _posted() == before
    assert PayoutBatch.objects.get().status == "open"


def test_cancelling_needs_a_reason_and_puts_the_money_back(
    api: Any, home: Community, earners: tuple[Member, Member]
) -> None:
    a, _b = earners
    number = api.post(URL, {"community_id": home.pk}).json()["number"]

    no_reason = api.post(f"{URL}/{number}/actions/cancel", {"reason": " "})
    assert (no_reason.status_code, list(api_error(no_reason)["fields"])) == (422, ["reason"])
    assert in_payout(home, a) == 1_000

    response = api.post(f"{URL}/{number}/actions/cancel", {"reason": "账户信息有误"})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["note"]) == ("cancelled", "账户信息有误")
    assert (payable(home, a), in_payout(home, a)) == (1_000, 0)


def test_an_unknown_batch_is_404(api: Any) -> None:
    for response in (
        api.get(f"{URL}/PO0"),
        api.get(f"{URL}/PO0/export"),
        api.get(f"{URL}/PO%00"),
        api.post(f"{URL}/PO0/actions/mark-paid", {}),
        api.post(f"{URL}/PO0/actions/cancel", {"reason": "x"}),
    ):
        assert response.status_code == 404
        assert list(api_error(response)["fields"]) == ["number"]


def _sheet(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(BytesIO(response.content)).active
    assert isinstance(sheet, Worksheet)
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_the_export_shows_payee_accounts_whole_to_an_operator_allowed_and_records_the_look(
    api: Any, home: Community, earners: tuple[Member, Member], operator: Any
) -> None:
    a, b = earners
    number = api.post(URL, {"community_id": home.pk}).json()["number"]

    response = api.get(f"{URL}/{number}/export")

    assert f'filename="payout-{number}.xlsx"' in response["Content-Disposition"]
    assert _sheet(response) == [
        ("batch", "member id", "member", "payee name", "payee account", "amount (yuan)"),
        (number, a.pk, "阿海", None, None, 10),
        (number, b.pk, "小红", "王小红", "6222021234567890", 20),
    ]
    looks = Activity.objects.filter(data__action="personal_data_revealed", actor_id=operator.pk)
    assert [(x.member_id, x.data["what"]) for x in looks] == [(b.pk, "payout_payee")]


def test_the_export_is_masked_for_an_operator_without_the_permission(
    client: Client, api: Any, plain_api: dict[str, str], home: Community, earners: Any
) -> None:
    number = api.post(URL, {"community_id": home.pk}).json()["number"]

    rows = _sheet(client.get(f"{URL}/{number}/export", headers=plain_api))

    assert [row[3:] for row in rows[1:]] == [(None, None, 10), ("王**", "62****7890", 20)]
    assert not Activity.objects.filter(data__action="personal_data_revealed").exists()


def test_amounts_in_the_export_are_yuan_to_the_fen(
    api: Any, home: Community, earners: tuple[Member, Member]
) -> None:
    _a, b = earners
    number = api.post(
        URL, {"community_id": home.pk, "items": [{"member_id": b.pk, "amount_minor": 1_234}]}
    ).json()["number"]

    rows = _sheet(api.get(f"{URL}/{number}/export"))

    assert Decimal(str(rows[1][5])) == Decimal("12.34")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("post", URL),
        ("get", f"{URL}/NUMBER"),
        ("get", f"{URL}/NUMBER/export"),
        ("post", f"{URL}/NUMBER/actions/mark-paid"),
        ("post", f"{URL}/NUMBER/actions/cancel"),
    ],
)
def test_every_payout_endpoint_needs_a_token(
    client: Client, api: Any, home: Community, earners: Any, method: str, path: str
) -> None:
    number = api.post(URL, {"community_id": home.pk}).json()["number"]
    before = _posted()
    body = json.dumps({"community_id": home.pk, "reason": "x"})

    if method == "get":
        response = client.get(path.replace("NUMBER", number))
    else:
        response = client.post(
            path.replace("NUMBER", number), body, content_type="application/json"
        )

    assert response.status_code == 401
    assert _posted() == before
    assert PayoutBatch.objects.get().status == "open"
    assert Distributor.objects.count() == 2
