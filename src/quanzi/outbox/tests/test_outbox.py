"""The outbox keeps members' choices: quiet hours, marketing opt-out, never the same twice."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from quanzi.core.errors import ApplicationError, Conflict
from quanzi.members.services import member_anonymise, member_set_marketing, member_update
from quanzi.members.tests.factories import member
from quanzi.outbox.models import OutboxMessage, OutboxStatus, Purpose
from quanzi.outbox.services import outbox_mark_sent
from quanzi.outbox.tests.factories import message

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("queued_at", "not_before"),
    [
        (_local(1, 21, 59, 59), _local(1, 21, 59, 59)),  # before quiet hours: at once
        (_local(1, 22, 0), _local(2, 8, 0)),  # quiet hours begin: next morning
        (_local(1, 23, 30), _local(2, 8, 0)),
        (_local(2, 0, 0), _local(2, 8, 0)),  # past midnight: the same morning
        (_local(2, 3, 15), _local(2, 8, 0)),
        (_local(2, 7, 59, 59), _local(2, 8, 0)),
        (_local(2, 8, 0), _local(2, 8, 0)),  # quiet hours over: at once
        (_local(2, 12, 0), _local(2, 12, 0)),
    ],
)
def test_quiet_hours_from_22_to_8_delay_a_message_to_8(
    frozen_clock: Any, queued_at: datetime, not_before: datetime
) -> None:
    # Given: the clock in UTC, as the server keeps it; quiet hours are in Shanghai time
    frozen_clock.set(queued_at.astimezone(UTC))
    person = member()

    # When
    queued = message(person)

    # Then
    assert queued.not_before == not_before
    assert queued.status == OutboxStatus.QUEUED


def test_a_members_own_quiet_hours_apply(frozen_clock: Any) -> None:
    # Given: a nurse on night shifts who sleeps from 9:00 to 17:00
    person = member_update(member=member(), quiet_start=time(9, 0), quiet_end=time(17, 0))
    frozen_clock.set(_local(1, 10, 0))

    # When
    queued = message(person)

    # Then
    assert queued.not_before == _local(1, 17, 0)
    frozen_clock.set(_local(1, 23, 0))
    assert message(person).not_before == _local(1, 23, 0)


def test_equal_start_and_end_mean_no_quiet_hours(frozen_clock: Any) -> None:
    person = member_update(member=member(), quiet_start=time(0, 0), quiet_end=time(0, 0))
    frozen_clock.set(_local(1, 3, 0))
    assert message(person).not_before == _local(1, 3, 0)


def test_marketing_to_an_opted_out_member_is_kept_suppressed_with_the_reason(
    frozen_clock: Any,
) -> None:
    # Given
    frozen_clock.set(_local(1, 12, 0))
    person = member_set_marketing(member=member(), opted_out=True)

    # When
    offer = message(person, purpose=Purpose.MARKETING, template="spring_sale", body="10% off")
    reminder = message(person, purpose=Purpose.SERVICE, body="Your membership ends soon")

    # Then: the offer is not sent, and says why; the service message still goes
    assert (offer.status, offer.reason) == (
        OutboxStatus.SUPPRESSED,
        "member opted out of marketing",
    )
    assert (reminder.status, reminder.reason) == (OutboxStatus.QUEUED, "")


def test_nothing_is_sent_to_a_deleted_member(frozen_clock: Any) -> None:
    frozen_clock.set(_local(1, 12, 0))
    gone = member_anonymise(member=member())
    queued = message(gone, purpose=Purpose.SERVICE)
    assert (queued.status, queued.reason) == (OutboxStatus.SUPPRESSED, "member record closed")


def test_the_same_dedupe_key_returns_the_first_message(frozen_clock: Any) -> None:
    # Given
    frozen_clock.set(_local(1, 12, 0))
    person = member()
    first = message(person, dedupe_key="welcome:42", body="Welcome!")

    # When
    again = message(person, dedupe_key="welcome:42", body="Welcome again!")

    # Then
    assert again.pk == first.pk
    assert again.body == "Welcome!"
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"purpose": "spam"}, "purpose"), ({"body": "  "}, "body")]
)
def test_bad_messages_are_refused(kwargs: dict[str, Any], field: str) -> None:
    person = member()
    with pytest.raises(ApplicationError) as refused:
        message(person, **kwargs)
    assert list(refused.value.fields) == [field]
    assert OutboxMessage.objects.count() == 0


def test_a_queued_message_is_marked_sent_once(frozen_clock: Any) -> None:
    # Given
    frozen_clock.set(_local(1, 12, 0))
    queued = message(member())

    # When
    sent = outbox_mark_sent(message=queued)
    frozen_clock.set(_local(1, 13, 0))
    again = outbox_mark_sent(message=queued)

    # Then
    assert (sent.status, sent.sent_at) == (OutboxStatus.SENT, _local(1, 12, 0))
    assert (again.status, again.sent_at) == (OutboxStatus.SENT, _local(1, 12, 0))


def test_a_suppressed_message_cannot_be_sent(frozen_clock: Any) -> None:
    frozen_clock.set(_local(1, 12, 0))
    person = member_set_marketing(member=member(), opted_out=True)
    offer = message(person, purpose=Purpose.MARKETING)
    with pytest.raises(Conflict):
        outbox_mark_sent(message=offer)
    offer.refresh_from_db()
    assert (offer.status, offer.sent_at) == (OutboxStatus.SUPPRESSED, None)
