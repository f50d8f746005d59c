"""``quanzi import orders``: a community keeps its past. Bad rows are reported with their line
and nothing is half-imported; importing the same file twice changes nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.utils import timezone

from quanzi.analytics.models import HistoricOrder, Purchase
from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.services.history import order_file_read, orders_import
from quanzi.cli import main
from quanzi.communities.tests.factories import community
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.models import Member
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db

GOOD = (
    "member_ref,order_ref,paid_at,amount,channel,product\n"
    "13912340001,YZ-1001,2025-11-02 10:00,12.50,youzan,大闸蟹\n"
    "13912340001,YZ-1002,2025-12-01 21:30:00,99,youzan,帝王蟹\n"
    "buyer_77,YZ-1003,2026/1/5 08:00,0.99,,\n"
)


def counts() -> tuple[int, int, int]:
    return (
        HistoricOrder.objects.count(),
        Activity.objects.filter(kind=ActivityKind.PAY).count(),
        Member.objects.count(),
    )


def run(tmp_path: Path, text: str, slug: str, *extra: str, name: str = "orders.csv") -> int:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    try:
        main(["import", "orders", str(path), "--community", slug, *extra])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def test_import_creates_members_orders_and_payments(tmp_path: Path, capsys: Any) -> None:
    circle = community()

    code = run(tmp_path, GOOD, circle.slug)

    assert code == 0
    out = capsys.readouterr().out
    assert "imported 3 orders" in out
    assert "2 new" in out
    orders = {o.order_ref: o for o in HistoricOrder.objects.all()}
    assert orders["YZ-1001"].amount_minor == 1250
    assert orders["YZ-1002"].amount_minor == 9900
    assert orders["YZ-1003"].amount_minor == 99
    assert orders["YZ-1001"].member_id == orders["YZ-1002"].member_id  # same phone, same member
    assert timezone.localtime(orders["YZ-1002"].paid_at).hour == 21  # read in the hub's zone
    pay = Activity.objects.get(kind=ActivityKind.PAY, object_id="YZ-1001")
    assert (pay.object_type, pay.amount_minor, pay.channel) == ("historic_order", 1250, "youzan")
    # The metrics count them as paid orders.
    rollup_refresh()
    assert Purchase.objects.filter(community_id=circle.pk).count() == 3


def test_a_phone_matches_an_existing_member(tmp_path: Path) -> None:
    circle = community()
    known = member(phone="13912340001")

    run(tmp_path, GOOD, circle.slug)

    assert HistoricOrder.objects.get(order_ref="YZ-1001").member_id == known.pk


def test_reimporting_the_same_file_changes_nothing(tmp_path: Path, capsys: Any) -> None:
    circle = community()
    run(tmp_path, GOOD, circle.slug)
    before = counts()

    code = run(tmp_path, GOOD, circle.slug)

    assert code == 0
    assert counts() == before
    assert "3 already imported" in capsys.readouterr().out


def test_the_same_reference_finds_the_same_member_next_time(tmp_path: Path) -> None:
    circle = community()
    run(tmp_path, GOOD, circle.slug)

    run(
        tmp_path,
        "member_ref,order_ref,paid_at,amount\nbuyer_77,YZ-2001,2026-01-06,5\n",
        circle.slug,
    )

    refs = HistoricOrder.objects.filter(member_ref="buyer_77")
    assert refs.count() == 2
    assert len({o.member_id for o in refs}) == 1


@pytest.mark.parametrize(
    ("row", "field", "says"),
    [
        ('13912340002,B-1,2025-11-02 10:00,"12,5"', "amount", "dot"),
        ("13912340002,B-1,2025-11-02 10:00,-3", "amount", "negative"),
        ("13912340002,B-1,2025-11-02 10:00,abc", "amount", "not an amount"),
        ("13912340002,B-1,2025-11-02 10:00,1.234", "amount", "two decimals"),
        ("13912340002,B-1,2025-11-02 10:00,99999999999", "amount", "10,000,000"),
        ("13912340002,B-1,2099-01-01 10:00,5", "paid_at", "future"),
        ("13912340002,B-1,last tuesday,5", "paid_at", "not a time"),
        (",B-1,2025-11-02 10:00,5", "member_ref", "empty"),
        ("13912340002,,2025-11-02 10:00,5", "order_ref", "empty"),
        ("a b c,B-1,2025-11-02 10:00,5", "member_ref", "letters"),
    ],
)
def test_bad_rows_are_reported_with_their_line_and_nothing_is_written(
    tmp_path: Path, capsys: Any, row: str, field: str, says: str
) -> None:
    circle = community()
    before = counts()
    text = GOOD + row + "\n"  # the bad row is line 5, after three good ones

    code = run(tmp_path, text, circle.slug)

    assert code == 1
    captured = capsys.readouterr()
    assert f"line 5: {field}:" in captured.out
    assert says in captured.out
    assert "nothing was imported" in captured.err
    assert counts() == before


def test_a_duplicate_order_in_the_file_names_both_lines() -> None:
    rows, errors = order_file_read(
        (GOOD + "13912340009,YZ-1001,2025-11-03 10:00,1\n").encode(), "orders.csv"
    )

    assert [(e.line, e.field) for e in errors] == [(5, "order_ref")]
    assert "line 2" in errors[0].reason
    assert len(rows) == 3


def test_an_order_imported_before_with_other_values_is_a_conflict(
    tmp_path: Path, capsys: Any
) -> None:
    circle = community()
    run(tmp_path, GOOD, circle.slug)
    before = counts()

    changed = GOOD.replace("12.50", "13.50") + "13912340003,YZ-9,2025-11-02 10:00,1\n"
    code = run(tmp_path, changed, circle.slug)

    assert code == 1
    assert "line 2: order_ref" in capsys.readouterr().out
    assert counts() == before  # not even the new YZ-9


def test_missing_columns_and_unknown_community_are_one_line(tmp_path: Path, capsys: Any) -> None:
    circle = community()

    assert run(tmp_path, "member,amount\nx,1\n", circle.slug) == 1
    err = capsys.readouterr().err
    assert "order_ref" in err
    assert err.count("\n") == 1

    assert run(tmp_path, GOOD, "no-such-circle") != 0
    assert "no-such-circle" in capsys.readouterr().err


def test_dry_run_reports_and_writes_nothing(tmp_path: Path, capsys: Any) -> None:
    circle = community()
    before = counts()

    assert run(tmp_path, GOOD, circle.slug, "--dry-run") == 0

    assert "would import 3 orders" in capsys.readouterr().out
    assert counts() == before


def test_excel_files_import_too(tmp_path: Path) -> None:
    circle = community()
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["订单号", "买家", "付款时间", "实付金额", "商品"])
    sheet.append(["T-1", "13912340005", "2025-10-01 12:00", 45.5, "脐橙"])
    sheet.append(["T-2", "13912340005", "2025-10-08 12:00", "20.00", "脐橙"])
    buffer = io.BytesIO()
    book.save(buffer)

    rows, errors = order_file_read(buffer.getvalue(), "orders.xlsx")
    report = orders_import(community=circle, rows=rows, errors=errors)

    assert errors == []
    assert report.imported == 2
    assert sorted(HistoricOrder.objects.values_list("amount_minor", flat=True)) == [2000, 4550]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_file_at_once_leave_each_order_once() -> None:
    from quanzi.members.tests.factories import in_threads

    circle = community()
    data = GOOD.encode()

    def one(_: int) -> Any:
        rows, errors = order_file_read(data, "orders.csv")
        return orders_import(community=circle, rows=rows, errors=errors)

    results = in_threads(2, one)

    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(r.imported for r in results) == [0, 3]
    assert HistoricOrder.objects.count() == 3
    assert Activity.objects.filter(kind=ActivityKind.PAY, object_type="historic_order").count() == 3


def test_api_upload_with_per_line_errors(api: Any, client: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    circle = community()
    url = f"/api/v1/communities/{circle.slug}/imports/orders"
    bad = SimpleUploadedFile("o.csv", (GOOD + "x,B-1,2025-11-02 10:00,-3\n").encode())
    good = SimpleUploadedFile("o.csv", GOOD.encode())

    refused = client.post(url, {"file": bad}, headers=api.headers)
    done = client.post(url, {"file": good}, headers=api.headers)

    assert refused.status_code == 422
    assert "line.5.amount" in refused.json()["error"]["fields"]
    assert done.status_code == 200
    assert done.json()["imported"] == 3
