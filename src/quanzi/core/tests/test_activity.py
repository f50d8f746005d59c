"""The activity log: every fact appended once, nothing edited, nothing from the future."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity, ActivityKind
from quanzi.core.models.activity import AppendOnlyError
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record

pytestmark = pytest.mark.django_db


def test_an_activity_records_the_fact_with_its_amount_and_context() -> None:
    # Given
    moment = clock.now() - timedelta(days=2)

    # When
    activity = activity_record(
        kind=ActivityKind.PAY,
        occurred_at=moment,
        member_id=11,
        community_id=2,
        group_id=3,
        channel="douyin",
        content="video-7",
        amount=Money(9900, "CNY"),
        actor_id=5,
        source="api",
        object_type="order",
        object_id=77,
        data={"note": "first order"},
    )

    # Then
    stored = Activity.objects.get(pk=activity.pk)
    assert (stored.kind, stored.occurred_at, stored.member_id, stored.community_id) == (
        "pay",
        moment,
        11,
        2,
    )
    assert (stored.group_id, stored.channel, stored.content) == (3, "douyin", "video-7")
    assert (stored.amount_minor, stored.currency) == (9900, "CNY")
    assert (stored.actor_id, stored.source, stored.object_type, stored.object_id) == (
        5,
        "api",
        "order",
        "77",
    )
    assert stored.data == {"note": "first order"}


def test_an_activity_without_a_time_happens_now_and_without_an_amount_has_no_currency() -> None:
    # Given
    before = clock.now()

    # When
    activity = activity_record(kind="join", member_id=1)

    # Then
    assert before <= activity.occurred_at <= clock.now()
    assert (activity.amount_minor, activity.currency, activity.data) == (None, "", {})


def test_an_unknown_kind_is_refused_and_nothing_is_written() -> None:
    with pytest.raises(ApplicationError) as refused:
        activity_record(kind="teleport", member_id=1)

    assert refused.value.fields == {"kind": ["Unknown activity kind 'teleport'."]}
    assert refused.value.status == 422
    assert Activity.objects.count() == 0


def test_a_few_minutes_of_clock_skew_are_accepted() -> None:
    activity = activity_record(kind="message", occurred_at=clock.now() + timedelta(minutes=4))

    assert Activity.objects.filter(pk=activity.pk).exists()


@pytest.mark.parametrize("ahead", [timedelta(minutes=6), timedelta(hours=3), timedelta(days=400)])
def test_a_time_beyond_five_minutes_ahead_is_refused_and_nothing_is_written(ahead) -> None:
    with pytest.raises(ApplicationError) as refused:
        activity_record(kind="message", occurred_at=clock.now() + ahead)

    assert refused.value.fields == {"occurred_at": ["An activity cannot happen in the future."]}
    assert Activity.objects.count() == 0


def test_a_time_without_a_zone_is_refused_rather_than_guessed() -> None:
    naive = datetime(2024, 5, 1, 10, 0)
    assert timezone.is_naive(naive)

    with pytest.raises(ApplicationError) as refused:
        activity_record(kind="message", occurred_at=naive)

    assert refused.value.fields == {
        "occurred_at": ["The time needs a time zone, like 2024-05-01T10:00:00+08:00."]
    }
    assert Activity.objects.count() == 0


def test_the_activity_log_is_append_only_in_python() -> None:
    # Given
    activity = activity_record(kind="post", member_id=1, content="hello")
    other = activity_record(kind="post", member_id=2)

    # When / Then: an edited row cannot be saved
    activity.content = "edited"
    with pytest.raises(AppendOnlyError):
        activity.save()
    # nor deleted, one by one or in bulk
    with pytest.raises(AppendOnlyError):
        activity.delete()
    with pytest.raises(AppendOnlyError):
        Activity.objects.filter(pk=activity.pk).update(content="edited")
    with pytest.raises(AppendOnlyError):
        Activity.objects.all().delete()
    with pytest.raises(AppendOnlyError), transaction.atomic():
        Activity.objects.bulk_update([activity], ["content"])

    assert sorted(Activity.objects.values_list("pk", "content")) == sorted(
        [(activity.pk, "hello"), (other.pk, "")]
    )
