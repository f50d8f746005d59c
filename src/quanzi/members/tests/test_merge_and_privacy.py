"""Merging two records of one person; the person's rights over their data (PIPL).

What other apps hold (memberships, seats, goods) is re-pointed by their merge hooks and tested
in those apps; here: what the members domain itself owns.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from quanzi.core import clock
from quanzi.core.errors import Conflict
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.models import Identity, IdentityKind, Member
from quanzi.members.selectors import member_current, member_data_export, member_ids_for
from quanzi.members.services import (
    IdentityIn,
    MemberError,
    member_anonymise,
    member_identify,
    member_merge,
    member_record_consent,
    member_set_marketing,
    member_update,
)
from quanzi.members.tests.factories import member, members_state, record

pytestmark = pytest.mark.django_db


def test_merge_moves_identities_tags_and_preferences_and_keeps_the_source_row() -> None:
    # Given
    source = member("from douyin", phone="13812345678", channel="douyin")
    target = member("from wechat", unionid="oUnion_target")
    member_update(member=source, tags=["vip", "seafood"], interests=["fruit", "fish"])
    member_update(member=target, tags=["vip"], interests=["fish", "tea"])

    # When
    merged = member_merge(source=source, target=target, actor_id=7)

    # Then
    assert merged.pk == target.pk
    # The target's own phone, the source's phone and the target's unionid.
    assert sorted(Identity.objects.filter(member=target).values_list("kind", flat=True)) == [
        IdentityKind.PHONE,
        IdentityKind.PHONE,
        IdentityKind.WECHAT_UNIONID,
    ]
    assert Identity.objects.filter(member=source).count() == 0
    assert sorted(merged.tags.values_list("name", flat=True)) == ["seafood", "vip"]
    assert merged.interests == ["fish", "tea", "fruit"]
    assert merged.source_channel == "douyin"  # the target had none
    source.refresh_from_db()
    assert (source.merged_into_id, source.merged_at is not None) == (target.pk, True)
    assert member_current(source).pk == target.pk
    log = Activity.objects.get(kind=ActivityKind.MEMBER, data__action="merged")
    assert (log.member_id, log.target_member_id, log.actor_id) == (target.pk, source.pk, 7)


def test_after_a_merge_the_sources_phone_finds_the_survivor() -> None:
    # Given
    source = member("a", phone="13812345678")
    target = member("b")
    member_merge(source=source, target=target)

    # When
    found, created = member_identify(
        display_name="again", identities=[IdentityIn(IdentityKind.PHONE, "138 1234 5678")]
    )

    # Then
    assert (found.pk, created) == (target.pk, False)


def test_the_activity_of_both_records_counts_for_the_survivor() -> None:
    # Given
    source, target = member("a"), member("b")
    earlier = clock.now() - timedelta(days=3)
    record(source, ActivityKind.MESSAGE, earlier)
    record(target, ActivityKind.POST, earlier)
    absorbed_before = member("c")
    member_merge(source=absorbed_before, target=source)

    # When
    member_merge(source=source, target=target)

    # Then: the chain is flattened, so one hop finds every old id
    assert sorted(member_ids_for(target)) == sorted([target.pk, source.pk, absorbed_before.pk])
    assert Member.objects.get(pk=absorbed_before.pk).merged_into_id == target.pk
    kinds = [a["kind"] for a in member_data_export(target)["activity"]]
    assert kinds.count(ActivityKind.MESSAGE) == 1
    assert kinds.count(ActivityKind.POST) == 1


def test_the_survivor_keeps_the_earlier_joining_date() -> None:
    # Given
    source, target = member("old"), member("new")
    Member.objects.filter(pk=source.pk).update(created_at=clock.now() - timedelta(days=400))
    source.refresh_from_db()

    # When
    merged = member_merge(source=source, target=target)

    # Then
    assert merged.created_at == source.created_at


def test_merging_a_member_into_itself_is_refused() -> None:
    # Given
    one = member()
    before = members_state()

    # When
    with pytest.raises(MemberError) as refused:
        member_merge(source=one, target=one)

    # Then
    assert refused.value.fields == {"target": ["A member cannot be merged into itself."]}
    assert members_state() == before


@pytest.mark.parametrize("closed", ["source", "target"])
def test_merging_with_a_merged_member_is_refused(closed: str) -> None:
    # Given
    a, b, c = member("a"), member("b"), member("c")
    member_merge(source=a, target=c)
    a.refresh_from_db()
    before = members_state()

    source, target = (a, b) if closed == "source" else (b, a)

    # When
    with pytest.raises(Conflict) as refused:
        member_merge(source=source, target=target)

    # Then
    assert refused.value.message == f"Member #{a.pk} was merged into #{c.pk}."
    assert members_state() == before


def test_merging_an_anonymised_member_is_refused() -> None:
    # Given
    gone, other = member("gone"), member("other")
    member_anonymise(member=gone)
    before = members_state()

    # When
    with pytest.raises(Conflict) as refused:
        member_merge(source=other, target=gone)

    # Then
    assert refused.value.message == f"Member #{gone.pk} was deleted at their request."
    assert members_state() == before


def test_data_export_holds_identities_unmasked_and_the_activity() -> None:
    # Given
    person = member("Li Lei", phone="138 1234 5678", unionid="oUnion_export", channel="weibo")
    person = member_set_marketing(member=person, opted_out=True)
    record(person, ActivityKind.PAY, clock.now() - timedelta(days=1), channel="weibo")

    # When
    data = member_data_export(person)

    # Then
    assert data["member"]["display_name"] == "Li Lei"
    assert data["member"]["source_channel"] == "weibo"
    assert data["member"]["marketing_opt_out"] is True
    assert data["member"]["quiet_hours"] == ["22:00:00", "08:00:00"]
    assert sorted((i["kind"], i["value"], i["masked"]) for i in data["identities"]) == [
        ("phone", "+8613812345678", False),
        ("wechat_unionid", "oUnion_export", False),
    ]
    # Oldest first: yesterday's payment, then today's record creation and opt-out.
    assert [a["kind"] for a in data["activity"]] == ["pay", "member", "member"]
    pay = data["activity"][0]
    assert (pay["channel"], pay["amount_minor"], pay["currency"]) == ("weibo", 9900, "CNY")


def test_anonymise_deletes_identities_and_profile_but_keeps_the_activity() -> None:
    # Given
    person = member("Li Lei", phone="13812345678", unionid="oUnion_forget")
    member_update(member=person, note="likes durian", tags=["vip"], interests=["fruit"])
    record(person, ActivityKind.PAY, clock.now() - timedelta(days=1))
    activities = Activity.objects.filter(member_id=person.pk).count()

    # When
    gone = member_anonymise(member=person, actor_id=3)

    # Then
    assert Identity.objects.filter(member=person).count() == 0
    assert (gone.display_name, gone.note, gone.interests, gone.categories) == (
        f"#{person.pk}",
        "",
        [],
        [],
    )
    assert list(gone.tags.all()) == []
    assert gone.marketing_opt_out is True
    assert gone.anonymised_at is not None
    assert Activity.objects.filter(member_id=person.pk).count() == activities + 1
    assert Activity.objects.filter(member_id=person.pk, kind=ActivityKind.PAY).count() == 1
    # The phone no longer leads to anyone: identifying with it makes a new member.
    found, created = member_identify(
        display_name="new", identities=[IdentityIn(IdentityKind.PHONE, "13812345678")]
    )
    assert created is True
    assert found.pk != person.pk


def test_an_anonymised_member_cannot_be_changed_or_anonymised_again() -> None:
    # Given
    gone = member()
    member_anonymise(member=gone)
    before = members_state()

    # When / Then
    with pytest.raises(Conflict):
        member_update(member=gone, display_name="back")
    with pytest.raises(Conflict):
        member_anonymise(member=gone)
    assert members_state() == before


def test_opting_out_of_marketing_is_recorded_once() -> None:
    # Given
    person = member()
    moment = clock.now()

    # When
    member_set_marketing(member=person, opted_out=True, source="h5")
    again = member_set_marketing(member=person, opted_out=True, source="h5")

    # Then
    assert again.marketing_opt_out is True
    assert again.opt_out_at is not None
    assert again.opt_out_at >= moment
    logs = Activity.objects.filter(member_id=person.pk, data__action="opted_out")
    assert [(a.source, a.kind) for a in logs] == [("h5", ActivityKind.MEMBER)]


def test_opting_back_in_clears_the_opt_out() -> None:
    # Given
    person = member()
    member_set_marketing(member=person, opted_out=True)

    # When
    back = member_set_marketing(member=person, opted_out=False)

    # Then
    assert (back.marketing_opt_out, back.opt_out_at) == (False, None)
    assert Activity.objects.filter(member_id=person.pk, data__action="opted_in").count() == 1


def test_consent_is_recorded_with_its_version() -> None:
    # Given
    person = member()

    # When
    agreed = member_record_consent(member=person, version="2025-01")

    # Then
    assert agreed.consent_version == "2025-01"
    assert agreed.consent_at is not None
    with pytest.raises(MemberError):
        member_record_consent(member=person, version="")
