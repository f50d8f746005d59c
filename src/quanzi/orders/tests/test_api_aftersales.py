"""API v1: refund requests, their evidence and decisions, and the after-sales queue."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from quanzi.catalog.models import Sku
from quanzi.communities.models import Community
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.models import AfterSale, Evidence, Order
from quanzi.orders.services.fulfilment import order_ship
from quanzi.orders.tests.factories import community, goods, paid_order
from quanzi.orders.tests.factories import order as place
from quanzi.payments.models import Payment, Refund

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])


@pytest.fixture
def home() -> Community:
    return community()


@pytest.fixture
def sku(home: Community) -> Sku:
    return goods(home, stock=5, price_minor=5_000)


@pytest.fixture
def buyer() -> Member:
    return member()


@pytest.fixture
def paid(sku: Sku, buyer: Member) -> Order:
    return paid_order(sku, buyer, 2)  # 2 x 50.00 + 15.00 shipping


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def _open(api: Any, order: Order, **body: Any) -> Any:
    body.setdefault("kind", "refund_only")
    body.setdefault("amount_minor", order.total_minor)
    body.setdefault("reason", "不想要了")
    return api.post(f"/api/v1/orders/{order.number}/refunds", body)


def _stock(sku: Sku) -> tuple[int, int]:
    sku.refresh_from_db()
    return sku.stock, sku.reserved


# Opening a case


def test_a_refund_is_opened_201_and_shows_in_the_queue(api: Any, paid: Order) -> None:
    response = _open(api, paid, amount_minor=5_000, reason="少了一条")

    assert response.status_code == 201
    body = response.json()
    case = AfterSale.objects.get()
    assert body == {
        "id": case.pk,
        "refund_no": f"{paid.number}R1",
        "order_id": paid.pk,
        "order_number": paid.number,
        "kind": "refund_only",
        "status": "requested",
        "line_id": None,
        "quantity": None,
        "amount_minor": 5_000,
        "currency": "CNY",
        "reason": "少了一条",
        "restock": True,  # not shipped yet: the units go back on the shelf
        "opened_by": "operator",
        "extra_payment": False,
        "return_carrier": "",
        "return_tracking_no": "",
        "decision_note": "",
        "decided_at": None,
        "refunded_at": None,
        "created_at": body["created_at"],
        "evidence": [],
        "refund": None,
    }
    queue = api.get(f"/api/v1/refunds?community_id={paid.community_id}").json()
    assert [c["refund_no"] for c in queue["items"]] == [case.refund_no]
    assert queue["count"] == 1
    assert api.get(f"/api/v1/refunds/{case.refund_no}").json() == body


def test_a_replayed_refund_request_opens_one_case(api: Any, paid: Order) -> None:
    url = f"/api/v1/orders/{paid.number}/refunds"
    body = {"kind": "refund_only", "amount_minor": 100, "reason": "x"}

    first = api.post(url, body, headers={"Idempotency-Key": "r-1"})
    again = api.post(url, body, headers={"Idempotency-Key": "r-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert AfterSale.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"amount_minor": 11_501}, 422, "order_invalid", "amount_minor"),
        ({"amount_minor": 0}, 422, "order_invalid", "amount_minor"),
        ({"amount_minor": "all"}, 422, "invalid", "amount_minor"),
        ({"kind": "exchange"}, 422, "order_invalid", "kind"),
        ({"kind": "return_refund"}, 422, "order_invalid", "kind"),  # nothing shipped yet
        ({"reason": ""}, 422, "order_invalid", "reason"),
        ({"line_id": 999_999}, 404, "not_found", "line_id"),
        ({"quantity": "some"}, 422, "invalid", "quantity"),
    ],
)
def test_a_bad_refund_request_is_refused_naming_the_field(
    api: Any, paid: Order, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    response = _open(api, paid, **body)

    assert response.status_code == status
    assert (_error(response)["code"], list(_error(response)["fields"])) == (code, [field])
    assert AfterSale.objects.count() == 0


def test_an_unpaid_order_has_nothing_to_refund(api: Any, sku: Sku, buyer: Member) -> None:
    pending = place(sku, buyer)

    response = _open(api, pending)

    assert response.status_code == 409
    assert _error(response)["code"] == "wrong_state"
    assert AfterSale.objects.count() == 0


def test_a_refund_for_an_unknown_order_is_404(api: Any) -> None:
    response = api.post(
        "/api/v1/orders/Q0000000000000000/refunds",
        {"kind": "refund_only", "amount_minor": 1, "reason": "x"},
    )

    assert response.status_code == 404
    assert list(_error(response)["fields"]) == ["number"]


# Deciding


def test_approving_refunds_once_and_counts_it_against_the_order(
    api: Any, paid: Order, sku: Sku, django_capture_on_commit_callbacks: Any
) -> None:
    refund_no = _open(api, paid).json()["refund_no"]
    assert _stock(sku) == (3, 0)

    with django_capture_on_commit_callbacks(execute=True):
        approved = api.post(f"/api/v1/refunds/{refund_no}/approve", {"note": "同意"})

    assert approved.status_code == 200
    assert approved.json()["decision_note"] == "同意"
    case = api.get(f"/api/v1/refunds/{refund_no}").json()
    assert case["status"] == "refunded"
    assert case["refund"] == {
        "out_refund_no": refund_no,
        "amount_minor": paid.total_minor,
        "status": "succeeded",
        "provider_refund_id": "",
        "failure": "",
        "created_at": case["refund"]["created_at"],
        "succeeded_at": case["refund"]["succeeded_at"],
    }
    order = api.get(f"/api/v1/orders/{paid.number}").json()
    assert (order["status"], order["refunded_minor"]) == ("refunded", paid.total_minor)
    assert _stock(sku) == (5, 0)  # never shipped: back on sale

    # A second approval is refused, and refunds nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"/api/v1/refunds/{refund_no}/approve", {})
    assert again.status_code == 409
    assert _error(again)["code"] == "wrong_state"
    assert Refund.objects.count() == 1
    assert Payment.objects.get().refunded_minor == paid.total_minor


def test_the_queue_shows_open_cases_unless_asked_otherwise(
    api: Any, home: Community, sku: Sku, django_capture_on_commit_callbacks: Any
) -> None:
    done = paid_order(sku, member())
    waiting = paid_order(sku, member())
    done_no = _open(api, done).json()["refund_no"]
    waiting_no = _open(api, waiting, amount_minor=100).json()["refund_no"]
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v1/refunds/{done_no}/approve", {})

    def listed(query: str) -> list[str]:
        response = api.get(f"/api/v1/refunds?community_id={home.pk}{query}")
        assert response.status_code == 200, response.content
        return [c["refund_no"] for c in response.json()["items"]]

    assert listed("") == [waiting_no]
    assert listed("&open=false") == [done_no, waiting_no]
    assert listed("&status=refunded") == [done_no]
    assert api.get("/api/v1/refunds?status=lost").status_code == 422
    assert api.get(f"/api/v1/refunds?community_id={community().pk}").json()["items"] == []


def test_rejecting_needs_a_reason_and_refunds_nothing(api: Any, paid: Order) -> None:
    refund_no = _open(api, paid).json()["refund_no"]

    missing = api.post(f"/api/v1/refunds/{refund_no}/reject", {})
    empty = api.post(f"/api/v1/refunds/{refund_no}/reject", {"note": " "})
    rejected = api.post(f"/api/v1/refunds/{refund_no}/reject", {"note": "已发货，请走退货"})

    assert (missing.status_code, list(_error(missing)["fields"])) == (422, ["note"])
    assert (empty.status_code, list(_error(empty)["fields"])) == (422, ["note"])
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["decision_note"]) == (
        "rejected",
        "已发货，请走退货",
    )
    assert Refund.objects.count() == 0
    assert Order.objects.get().refunded_minor == 0


def test_a_return_waits_for_the_goods_then_refunds_and_restocks(
    api: Any, paid: Order, sku: Sku, django_capture_on_commit_callbacks: Any
) -> None:
    order_ship(order=paid, carrier="顺丰速运", tracking_no="SF1")
    line = paid.lines.get()
    refund_no = _open(
        api, paid, kind="return_refund", amount_minor=5_000, line_id=line.pk, quantity=1
    ).json()["refund_no"]

    approved = api.post(f"/api/v1/refunds/{refund_no}/approve", {"restock": True})
    assert approved.json()["status"] == "awaiting_return"
    assert Refund.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        returned = api.post(f"/api/v1/refunds/{refund_no}/returned", {})

    assert returned.status_code == 200
    case = api.get(f"/api/v1/refunds/{refund_no}").json()
    assert (case["status"], case["line_id"], case["quantity"]) == ("refunded", line.pk, 1)
    assert case["refund"]["status"] == "succeeded"
    order = api.get(f"/api/v1/orders/{paid.number}").json()
    assert (order["status"], order["refunded_minor"]) == ("shipped", 5_000)
    assert order["lines"][0]["refunded_minor"] == 5_000
    assert order["lines"][0]["restocked"] == 1
    assert _stock(sku) == (4, 0)


def test_marking_returned_before_approval_is_409(api: Any, paid: Order) -> None:
    refund_no = _open(api, paid).json()["refund_no"]

    response = api.post(f"/api/v1/refunds/{refund_no}/returned", {})

    assert response.status_code == 409
    assert AfterSale.objects.get().status == "requested"


@pytest.mark.parametrize("action", ["approve", "reject", "returned"])
def test_an_unknown_refund_is_404(api: Any, action: str) -> None:
    response = api.post(f"/api/v1/refunds/QX/{action}", {"note": "x"})

    assert response.status_code == 404
    assert list(_error(response)["fields"]) == ["refund_no"]
    assert api.get("/api/v1/refunds/QX").status_code == 404


# Evidence


def _upload(client: Client, token: str, refund_no: str, data: dict[str, Any], **kw: Any) -> Any:
    return client.post(
        f"/api/v1/refunds/{refund_no}/evidence",
        data,
        headers={"Authorization": f"Bearer {token}", **kw},
    )


def test_a_photo_is_attached_as_evidence_and_listed_with_the_case(
    client: Client, api: Any, api_token: str, paid: Order
) -> None:
    refund_no = _open(api, paid).json()["refund_no"]
    photo = SimpleUploadedFile("broken.png", PNG, content_type="image/png")

    response = _upload(
        client, api_token, refund_no, {"kind": "photo", "note": "箱子压坏了", "file": photo}
    )

    assert response.status_code == 201
    evidence = Evidence.objects.get()
    assert response.json() == {
        "id": evidence.pk,
        "kind": "photo",
        "note": "箱子压坏了",
        "file_url": evidence.file.url,
        "submitted_by": "operator",
        "created_at": response.json()["created_at"],
    }
    assert evidence.file.read() == PNG
    case = api.get(f"/api/v1/refunds/{refund_no}").json()
    assert case["evidence"] == [response.json()]

    note_only = _upload(client, api_token, refund_no, {"kind": "note", "note": "客户来电"})
    assert note_only.status_code == 201
    assert note_only.json()["file_url"] is None


def test_a_replayed_upload_attaches_the_evidence_once(
    client: Client, api: Any, api_token: str, paid: Order
) -> None:
    refund_no = _open(api, paid).json()["refund_no"]

    def send() -> Any:
        photo = SimpleUploadedFile("a.png", PNG, content_type="image/png")
        return client.post(
            f"/api/v1/refunds/{refund_no}/evidence",
            {"kind": "photo", "file": photo},
            headers={"Authorization": f"Bearer {api_token}", "Idempotency-Key": "ev-1"},
        )

    first, again = send(), send()

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Evidence.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"kind": "video", "note": "x"}, "order_invalid", "kind"),
        ({"note": "x"}, "invalid", "kind"),
        ({"kind": "photo"}, "order_invalid", "file"),
        (
            {"kind": "photo", "file": ("a.exe", b"MZ", "application/octet-stream")},
            "order_invalid",
            "file",
        ),
        ({"kind": "note", "note": "x" * 501}, "invalid", "note"),
    ],
)
def test_bad_evidence_is_refused_naming_the_field(
    client: Client,
    api: Any,
    api_token: str,
    paid: Order,
    data: dict[str, Any],
    code: str,
    field: str,
) -> None:
    refund_no = _open(api, paid).json()["refund_no"]
    if "file" in data:
        name, content, kind = data["file"]
        data = {**data, "file": SimpleUploadedFile(name, content, content_type=kind)}

    response = _upload(client, api_token, refund_no, data)

    assert response.status_code == 422
    assert (_error(response)["code"], list(_error(response)["fields"])) == (code, [field])
    assert Evidence.objects.count() == 0


def test_evidence_for_an_unknown_refund_is_404(client: Client, api_token: str) -> None:
    response = _upload(client, api_token, "QX", {"kind": "note", "note": "x"})

    assert response.status_code == 404
    assert list(_error(response)["fields"]) == ["refund_no"]


def test_evidence_on_a_closed_case_is_409(
    client: Client, api: Any, api_token: str, paid: Order
) -> None:
    refund_no = _open(api, paid).json()["refund_no"]
    api.post(f"/api/v1/refunds/{refund_no}/reject", {"note": "no"})

    response = _upload(client, api_token, refund_no, {"kind": "note", "note": "late"})

    assert response.status_code == 409
    assert Evidence.objects.count() == 0
