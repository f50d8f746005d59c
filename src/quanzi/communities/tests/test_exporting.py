"""Exporting a community's members and memberships to Excel, masked unless allowed."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from quanzi.communities.exporting import ExportInvalid, members_export
from quanzi.communities.importing import members_import
from quanzi.communities.models import PlanKind
from quanzi.communities.services.joining import group_join
from quanzi.communities.tests.conftest import START
from quanzi.communities.tests.factories import community, group, member, paid, plan
from quanzi.core.models import Activity
from quanzi.members.exporting import export_operator
from quanzi.members.importing import SheetRow
from quanzi.members.models import Member
from quanzi.members.selectors import PermissionRefused
from quanzi.members.services import member_merge, member_update


def sheets(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: list(sheet.values) for sheet in book.worksheets}


def local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


@pytest.fixture
def circle(clock_at: Any) -> Any:
    """An English circle: 张三 seated and on an annual plan, 李四 imported only, and a member
    of another circle who must not appear."""
    english = community("english", name="英语圈")
    juniors = group(english, name="新手群")
    annual = plan(english, PlanKind.ANNUAL, name="年费会员")
    zhang = member("张三", phone="13812345678", channel="douyin")
    member_update(member=zhang, tags=["VIP", "老客户"])
    group_join(group=juniors, member=zhang, now=START)
    paid(zhang, annual, at=START)
    clock_at.advance(timedelta(hours=1))
    members_import(
        rows=[SheetRow(2, {"name": "李四", "email": "li@example.cn"})], community=english
    )
    other = group(community("seafood"))
    group_join(group=other, member=member("外人", phone="13900009999"))
    return english


@pytest.mark.django_db
def test_export_is_masked_by_default_and_laid_out_for_excel(circle: Any, tmp_path: Path) -> None:
    # When
    result = members_export(community=circle, output=tmp_path / "members.xlsx")

    # Then
    zhang, li = (Member.objects.get(display_name=name).pk for name in ("张三", "李四"))
    assert (result.members, result.memberships, result.masked) == (2, 1, True)
    data = sheets(tmp_path / "members.xlsx")
    assert data["members"] == [
        ("id", "name", "phone", "tags", "stage", "level", "source channel", "joined"),
        (zhang, "张三", "138****5678", "VIP, 老客户", None, "novice", "douyin", local(START)),
        (li, "李四", None, None, None, "novice", "import", local(START + timedelta(hours=1))),
    ]
    assert data["memberships"] == [
        ("member id", "member", "plan", "status", "starts", "ends"),
        (zhang, "张三", "年费会员", "active", local(START), local(START + timedelta(days=365))),
    ]
    book = openpyxl.load_workbook(tmp_path / "members.xlsx")
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet[1])
        assert not sheet["A2"].font.b
    members_sheet = book["members"]
    # "VIP, 老客户": 5 characters and 3 wide ones, plus a margin of 2
    assert members_sheet.column_dimensions["D"].width == 13
    assert members_sheet.column_dimensions["H"].width == 18
    assert members_sheet["H2"].number_format == "yyyy-mm-dd hh:mm"
    (log,) = Activity.objects.filter(data__action="members_exported")
    assert (log.actor_id, log.community_id, log.data["masked"]) == (None, circle.pk, True)


@pytest.mark.django_db
def test_unmasked_export_with_the_permission(circle: Any, operator: Any, tmp_path: Path) -> None:
    result = members_export(
        community=circle, output=tmp_path / "full.xlsx", user=operator, reveal=True
    )

    assert result.masked is False
    phones = [row[2] for row in sheets(tmp_path / "full.xlsx")["members"]]
    assert phones == ["phone", "13812345678", None]
    (log,) = Activity.objects.filter(data__action="members_exported")
    assert (log.actor_id, log.data["masked"]) == (operator.pk, False)


@pytest.mark.django_db
def test_the_permission_itself_is_enough(circle: Any, tmp_path: Path) -> None:
    # Given a staff operator who is not a superuser but holds the personal-data permission
    clerk = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_personal_data"))

    members_export(
        community=circle, output=tmp_path / "full.xlsx", user=export_operator("clerk"), reveal=True
    )

    assert sheets(tmp_path / "full.xlsx")["members"][1][2] == "13812345678"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["nobody", "staff without permission"])
def test_unmasked_export_is_refused_without_the_permission(
    circle: Any, tmp_path: Path, who: str
) -> None:
    # Given
    user = None
    if who != "nobody":
        user = get_user_model().objects.create_user("helper", password="x", is_staff=True)
    logs = Activity.objects.count()

    # When
    with pytest.raises(PermissionRefused) as refused:
        members_export(community=circle, output=tmp_path / "full.xlsx", user=user, reveal=True)

    # Then
    assert refused.value.message == (
        "An unmasked export needs --operator USERNAME: an operator with the personal-data "
        "permission."
        if user is None
        else "helper may not export phone numbers unmasked: that needs the personal-data "
        "permission (members.view_personal_data)."
    )
    assert refused.value.status == 403
    assert list(tmp_path.iterdir()) == []
    assert Activity.objects.count() == logs


@pytest.mark.django_db
def test_unknown_or_inactive_operators_are_refused(operator: Any) -> None:
    operator.is_active = False
    operator.save(update_fields=["is_active"])

    for name in ("ghost", operator.username):
        with pytest.raises(Exception, match=f"No active operator named '{name}'."):
            export_operator(name)


@pytest.mark.django_db
def test_merged_members_appear_once_under_the_record_that_absorbed_them(
    circle: Any, tmp_path: Path
) -> None:
    # Given 李四 (imported only) merged into a new record
    target = member("Li Si", phone="13912345678")
    member_merge(source=Member.objects.get(display_name="李四"), target=target)

    # When
    members_export(community=circle, output=tmp_path / "m.xlsx")

    # Then
    names = [row[1] for row in sheets(tmp_path / "m.xlsx")["members"][1:]]
    assert names == ["张三", "Li Si"]


@pytest.mark.django_db
def test_a_name_that_looks_like_a_formula_stays_text(clock_at: Any, tmp_path: Path) -> None:
    circle = community()
    group_join(group=group(circle), member=member('=HYPERLINK("http://x","y")'))

    members_export(community=circle, output=tmp_path / "m.xlsx")

    book = openpyxl.load_workbook(tmp_path / "m.xlsx")
    cell = book["members"]["B2"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://x","y")', "s")


@pytest.mark.django_db
def test_bad_output_paths_are_refused(clock_at: Any, tmp_path: Path) -> None:
    circle = community()

    with pytest.raises(ExportInvalid) as wrong_kind:
        members_export(community=circle, output=tmp_path / "members.csv")
    with pytest.raises(ExportInvalid) as no_folder:
        members_export(community=circle, output=tmp_path / "missing" / "m.xlsx")

    assert wrong_kind.value.message == "members.csv: the export is an Excel file; name it *.xlsx."
    assert no_folder.value.message == f"No folder {str(tmp_path / 'missing')!r} to write m.xlsx in."
    assert list(tmp_path.iterdir()) == []
