"""Importing a member list into a community: dry run, all-or-nothing, seating, re-import."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import pytest

from quanzi.communities import importing
from quanzi.communities.importing import members_import
from quanzi.communities.models import GroupMembership, SeatStatus
from quanzi.communities.tests.factories import community, group, member, seated, state
from quanzi.core import clock
from quanzi.core.errors import Conflict
from quanzi.core.models import Activity
from quanzi.members.importing import RowError, SheetRow
from quanzi.members.models import Identity, Member
from quanzi.members.tests.factories import members_state

T = TypeVar("T")


def rows(*lines: dict[str, str]) -> list[SheetRow]:
    return [SheetRow(line, values) for line, values in enumerate(lines, start=2)]


def everything() -> tuple[Any, ...]:
    return (members_state(), state(), list(Identity.objects.values_list("pk", flat=True)))


def seats_of(group_pk: int) -> list[tuple[str, str, str]]:
    return list(
        GroupMembership.objects.filter(group_id=group_pk)
        .order_by("member__display_name")
        .values_list("member__display_name", "status", "channel")
    )


GOOD = (
    {
        "name": "张三",
        "phone": "138 1234 5678",
        "tags": "VIP",
        "channel": "douyin",
        "group": "新手群",
    },
    {"name": "李四", "email": "li@example.cn", "group": "新手群"},
    {"name": "王五", "unionid": "union-wangwu-1"},
)


@pytest.mark.django_db
def test_dry_run_lists_every_bad_line_and_writes_nothing() -> None:
    # Given
    circle = community()
    group(circle, name="新手群")
    before = everything()

    # When
    report = members_import(
        rows=rows(
            *GOOD,
            {"name": "坏", "phone": "123"},
            {"name": "没群", "phone": "13912340001", "group": "不存在的群"},
            {"name": "", "phone": "+8613812345678"},
        ),
        community=circle,
        dry_run=True,
    )

    # Then
    assert report.errors == (
        RowError(5, "'123' is not a valid phone number"),
        RowError(6, "no group named '不存在的群' in this community"),
        RowError(7, "the name is empty; the same phone as line 2"),
    )
    assert (report.rows, report.dry_run, report.ok, report.written) == (6, True, False, False)
    assert everything() == before


@pytest.mark.django_db
def test_a_clean_dry_run_forecasts_what_the_real_run_does() -> None:
    # Given a group with one seat left and a member already known by phone
    circle = community()
    newcomers = group(circle, name="新手群", capacity=2)
    seated(newcomers, 1)
    member("张三", phone="13812345678")
    before = everything()

    # When
    dry = members_import(rows=rows(*GOOD), community=circle, dry_run=True)
    after_dry = everything()
    real = members_import(rows=rows(*GOOD), community=circle)

    # Then
    assert after_dry == before
    assert (dry.created, dry.matched, dry.seated, dry.waiting) == (2, 1, 1, 1)
    assert (real.created, real.matched, real.seated, real.waiting) == (2, 1, 1, 1)
    assert real.written


@pytest.mark.django_db
def test_a_real_run_with_one_bad_row_writes_nothing() -> None:
    circle = community()
    group(circle, name="新手群")
    before = everything()

    report = members_import(
        rows=rows(*GOOD, {"name": "坏", "email": "@@"}), community=circle, dry_run=False
    )

    assert report.errors == (RowError(5, "'@@' is not an e-mail address"),)
    assert (report.created, report.matched) == (3, 0)  # what the good rows would have done
    assert not report.written
    assert everything() == before


@pytest.mark.django_db
def test_a_clean_file_imports_seats_and_tags_and_a_second_run_creates_nothing() -> None:
    # Given
    circle = community()
    newcomers = group(circle, name="新手群")

    # When
    first = members_import(rows=rows(*GOOD), community=circle)
    after_first = (members_state().members, state().seats, state().outbox)
    second = members_import(rows=rows(*GOOD), community=circle)

    # Then
    assert (first.created, first.matched, first.seated, first.waiting) == (3, 0, 2, 0)
    assert (second.created, second.matched, second.seated, second.waiting) == (0, 3, 0, 0)
    assert (members_state().members, state().seats, state().outbox) == after_first
    assert seats_of(newcomers.pk) == [
        ("张三", SeatStatus.ACTIVE, "douyin"),
        ("李四", SeatStatus.ACTIVE, "import"),
    ]
    zhang = Member.objects.get(display_name="张三")
    assert zhang.source_channel == "douyin"
    assert [t.name for t in zhang.tags.all()] == ["VIP"]
    imports = Activity.objects.filter(community_id=circle.pk, source="import")
    assert (
        sorted(imports.values_list("data__action", flat=True))
        == ["imported"] * 6 + ["members_imported"] * 2
    )


@pytest.mark.django_db
def test_matching_an_existing_member_adds_to_them_and_seats_them() -> None:
    # Given a member known by a phone typed with spaces, with a tag of their own
    circle = community()
    newcomers = group(circle, name="新手群")
    known = member("Zhang San", phone="138 1234 5678")
    members_import(
        rows=rows({"name": "x", "phone": "13812345678", "tags": "老客户"}), community=circle
    )

    # When the list writes the phone as +86-138-1234-5678
    report = members_import(
        rows=rows({"name": "张三", "phone": "+86-138-1234-5678", "tags": "VIP", "group": "新手群"}),
        community=circle,
    )

    # Then the same member is seated and keeps their name and earlier tags
    assert (report.created, report.matched, report.seated) == (0, 1, 1)
    known.refresh_from_db()
    assert known.display_name == "Zhang San"
    assert sorted(t.name for t in known.tags.all()) == ["VIP", "老客户"]
    assert seats_of(newcomers.pk) == [("Zhang San", SeatStatus.ACTIVE, "import")]


@pytest.mark.django_db
def test_archived_groups_and_communities_are_refused() -> None:
    circle = community()
    old = group(circle, name="旧群")
    old.archived_at = clock.now()
    old.save(update_fields=["archived_at"])

    report = members_import(
        rows=rows({"name": "a", "phone": "13812345678", "group": "旧群"}), community=circle
    )
    circle.archived_at = clock.now()
    circle.save(update_fields=["archived_at"])
    with pytest.raises(Conflict) as refused:
        members_import(rows=rows({"name": "a", "phone": "13812345678"}), community=circle)

    assert report.errors == (RowError(2, "group '旧群' is archived"),)
    assert refused.value.message == f"{circle.name} is archived."


@pytest.mark.django_db
def test_a_failure_while_writing_undoes_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a join that fails on the second row, as if the group were archived meanwhile
    circle = community()
    group(circle, name="新手群")
    before = everything()
    real_join = importing.group_join
    calls = []

    def flaky_join(**kwargs: Any) -> Any:
        calls.append(kwargs["member"].display_name)
        if len(calls) == 2:
            raise Conflict("新手群 is archived.", field="group")
        return real_join(**kwargs)

    monkeypatch.setattr(importing, "group_join", flaky_join)

    # When
    with pytest.raises(Conflict) as refused:
        members_import(rows=rows(*GOOD), community=circle)

    # Then
    assert refused.value.message == "line 3: 新手群 is archived; nothing was imported."
    assert calls == ["张三", "李四"]
    assert everything() == before


@pytest.mark.django_db
def test_long_steps_are_tracked_for_a_progress_bar() -> None:
    circle = community()
    seen: list[tuple[str, int]] = []

    def track(items: Sequence[T], /, *, desc: str) -> Iterable[T]:
        seen.append((desc, len(items)))
        return items

    members_import(rows=rows(*GOOD[2:]), community=circle, track=track)

    assert seen == [("Reading", 1), ("Importing", 1)]
